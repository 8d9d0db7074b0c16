"""The local back end: each instance is a daemonized qemu-system-x86_64 process on this host.

Everything an instance has lives in SHELF_DATA_DIR/instances/<ref>/:
    spec.json     what it was launched with, its forwarded ports and memory (the budget counts it)
    disk.qcow2    a copy-on-write overlay on the image (never written), grown to the chosen disk size
    seed.img      the cloud-init NoCloud seed: vfat labelled `cidata` with meta-data and user-data
    qemu.pid      the process (qemu -daemonize -pidfile), qmp.sock its QMP socket
    console.log   the serial console, bounded (console.1 keeps the previous segment, console.json the offsets)
    boot.json     the console offset at which the current boot began (running = the guest printed since)
The images the overlays rest on are kept once per content hash in SHELF_DATA_DIR/compute/bases/.

qemu runs with -daemonize: it does not depend on the worker that started it, nor on Shelf, so a restart of the
web server or the worker leaves guests running; `list` reads these directories back and reconciliation compares.
Networking is qemu's user mode: SSH and the product's ports are forwarded from free loopback ports.
"""

from __future__ import annotations

import contextlib
import email.mime.multipart
import email.mime.text
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from shelf.compute.backends import accel as accel_module
from shelf.compute.backends.base import BackendError, BackendInstance, InsufficientCapacity, LaunchSpec, NotFound
from shelf.compute.backends.qmp import Qmp, QmpError

log = logging.getLogger(__name__)
QEMU = "qemu-system-x86_64"
QEMU_FORMATS = {"vhd": "vpc"}  # Shelf's format names → qemu's driver names
REF_RE = re.compile(r"^[A-Za-z0-9-]{1,64}$")
CONSOLE_MAX = 1024 * 1024  # bytes kept in console.log before it moves to console.1
EXPORT_TIMEOUT = 3600  # seconds for qemu-img to flatten a disk into an image (tens of GiB at disk speed)


class LocalQemuBackend:
    name = "local"
    directory_name = "instances"

    def __init__(self, *, data_dir: str, memory_mib: int, accel: str = "auto", **_options):
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / self.directory_name
        self.bases = self.data_dir / "compute" / "bases"
        self.memory_mib = memory_mib
        self.accel_setting = accel

    # --- helpers -----------------------------------------------------------------------------------------------

    def _dir(self, ref: str) -> Path:
        if not REF_RE.match(ref or ""):
            raise NotFound(f"not an instance reference: {ref!r}")
        return self.root / ref

    @contextlib.contextmanager
    def _lock(self, name: str = ".lock"):
        """Host-wide for the budget (".lock"), per instance otherwise; works across workers and processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / name, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _spec(self, ref: str) -> dict:
        try:
            return json.loads((self._dir(ref) / "spec.json").read_text())
        except (OSError, ValueError) as exc:
            raise NotFound(f"instance {ref} is not on this host") from exc

    def _write_json(self, path: Path, value: dict) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(value))
        tmp.replace(path)

    def _pid(self, ref: str) -> int | None:
        """The qemu process of `ref` if it runs: the pidfile's pid, checked against its command line."""
        try:
            pid = int((self._dir(ref) / "qemu.pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        if f"shelf-{ref}".encode() not in cmdline:
            return None  # the pid was reused by something else
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rsplit(")", 1)[1].split()[0] == "Z":
                return None
        except OSError:
            return None
        return pid

    def _alive(self, ref: str) -> bool:
        return self._pid(ref) is not None

    def _used_memory(self, exclude: str = "") -> int:
        used = 0
        for directory in self.root.iterdir() if self.root.exists() else ():
            if directory.name.startswith(".") or directory.name == exclude or not directory.is_dir():
                continue
            if self._alive(directory.name):
                with contextlib.suppress(NotFound):
                    used += int(self._spec(directory.name).get("memory_mib", 0))
        return used

    def _check_budget(self, ref: str, memory_mib: int) -> None:
        used = self._used_memory(exclude=ref)
        if used + memory_mib > self.memory_mib:
            raise InsufficientCapacity(
                f"This host has no room for {memory_mib} MiB of memory: {used} of its {self.memory_mib} MiB "
                "for instances are in use."
            )

    def _base(self, spec: LaunchSpec) -> Path:
        """The image file overlays rest on, kept once per content (a hard link to the stored object if possible)."""
        if spec.image_path is None:
            raise BackendError("the local back end needs the image as a local file")
        digest = spec.image_sha256 or hashlib.sha256(spec.image_key.encode()).hexdigest()
        self.bases.mkdir(parents=True, exist_ok=True)
        base = self.bases / f"{digest}.{spec.image_format}"
        if not base.exists():
            tmp = base.with_name(f".{base.name}.{os.getpid()}")
            tmp.unlink(missing_ok=True)
            try:
                os.link(spec.image_path, tmp)
            except OSError:
                shutil.copyfile(spec.image_path, tmp)
            os.chmod(tmp, 0o444)
            tmp.replace(base)
        return base

    @staticmethod
    def _free_port() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def _seed(self, directory: Path, spec: LaunchSpec, ref: str) -> Path:
        meta = f"instance-id: {ref}\nlocal-hostname: {spec.hostname}\n"
        config = (
            "#cloud-config\n"
            f"hostname: {spec.hostname}\n"
            "ssh_authorized_keys:\n"
            f"  - {spec.ssh_public_key.strip()}\n"
            "disable_root: false\n"
        )
        if spec.user_data.strip():
            # The buyer's own user-data rides along as a second part; cloud-init runs both.
            message = email.mime.multipart.MIMEMultipart()
            message.attach(email.mime.text.MIMEText(config, "cloud-config"))
            subtype = "cloud-config" if spec.user_data.startswith("#cloud-config") else "x-shellscript"
            message.attach(email.mime.text.MIMEText(spec.user_data, subtype))
            user_data = message.as_string()
        else:
            user_data = config
        work = directory / "seed"
        work.mkdir(exist_ok=True)
        (work / "meta-data").write_text(meta)
        (work / "user-data").write_text(user_data)
        seed = directory / "seed.img"
        with open(seed, "wb") as fh:
            fh.truncate(2 * 1024 * 1024)
        _run("mkfs.vfat", "-n", "cidata", seed)
        _run("mcopy", "-i", seed, work / "meta-data", work / "user-data", "::")
        shutil.rmtree(work)
        return seed

    def accel(self) -> dict:
        return accel_module.decide(self.data_dir, self.accel_setting)

    def acceleration(self) -> dict:
        return accel_module.cached(self.data_dir) or (
            accel_module.decide(self.data_dir, self.accel_setting)
            if self.accel_setting in ("kvm", "tcg")
            else {"accel": "", "reason": "not decided yet: the first launch boots the canary"}
        )

    # --- console ----------------------------------------------------------------------------------------------

    def _console_state(self, directory: Path) -> dict:
        try:
            return json.loads((directory / "console.json").read_text())
        except (OSError, ValueError):
            return {"base": 0, "previous_base": 0}

    def _console_end(self, directory: Path) -> int:
        state = self._console_state(directory)
        try:
            size = (directory / "console.log").stat().st_size
        except OSError:
            size = 0
        return state["base"] + size

    def _console_trim(self, directory: Path) -> None:
        """Move a full console.log to console.1. qemu appends (append=on), so after the truncate it goes on at 0."""
        log_file = directory / "console.log"
        try:
            if log_file.stat().st_size <= CONSOLE_MAX:
                return
        except OSError:
            return
        state = self._console_state(directory)
        with open(log_file, "r+b") as fh:
            data = fh.read()
            fh.truncate(0)
        (directory / "console.1").write_bytes(data)
        self._write_json(
            directory / "console.json", {"base": state["base"] + len(data), "previous_base": state["base"]}
        )

    def console(self, ref: str, offset: int = 0, limit: int = 65536) -> tuple[bytes, int]:
        directory = self._dir(ref)
        if not directory.exists():
            raise NotFound(f"instance {ref} is not on this host")
        with self._lock(f".{ref}.lock"):
            self._console_trim(directory)
            state = self._console_state(directory)
            chunks = []
            offset = max(offset, state["previous_base"] if (directory / "console.1").exists() else state["base"])
            if offset < state["base"]:
                with open(directory / "console.1", "rb") as fh:
                    fh.seek(offset - state["previous_base"])
                    chunks.append(fh.read(min(limit, state["base"] - offset)))
            current = max(offset, state["base"]) - state["base"]
            left = limit - sum(map(len, chunks))
            with contextlib.suppress(FileNotFoundError), open(directory / "console.log", "rb") as fh:
                fh.seek(current)
                chunks.append(fh.read(left))
        data = b"".join(chunks)
        return data, offset + len(data)

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def _args(self, ref: str, directory: Path, spec: dict, accel: str) -> list[str]:
        forwards = ",".join(
            f"hostfwd=tcp:127.0.0.1:{host}-:{guest}" for guest, host in sorted(spec["forwarded_ports"].items())
        )
        cpu = ["-cpu", "host"] if accel == "kvm" else []
        return [
            QEMU,
            *("-name", f"shelf-{ref},debug-threads=off"),
            *("-accel", accel, *cpu, "-m", str(spec["memory_mib"]), "-smp", str(spec["vcpus"])),
            *("-display", "none", "-nodefaults", "-no-user-config"),
            *("-daemonize", "-pidfile", str(directory / "qemu.pid")),
            *("-qmp", "unix:qmp.sock,server=on,wait=off"),  # relative: cwd is the directory (socket path limit)
            *(
                "-chardev",
                f"file,id=console0,path={directory / 'console.log'},append=on",
                "-serial",
                "chardev:console0",
            ),
            *("-drive", f"file={directory / 'disk.qcow2'},if=virtio,format=qcow2,discard=unmap"),
            *("-drive", f"file={directory / 'seed.img'},if=virtio,format=raw,readonly=on"),
            *(
                "-netdev",
                f"user,id=net0,hostname={spec['hostname']},{forwards}",
                "-device",
                "virtio-net-pci,netdev=net0",
            ),
        ]

    def _spawn(self, ref: str, directory: Path, spec: dict) -> dict:
        """Start qemu for `ref` (daemonized); a forwarded port someone took meanwhile gets a new one."""
        accel = self.accel()["accel"] or "tcg"
        error = ""
        for _attempt in range(3):
            (directory / "qmp.sock").unlink(missing_ok=True)
            (directory / "qemu.pid").unlink(missing_ok=True)
            if spec.pop("last_stop", None) is not None:
                self._write_json(directory / "spec.json", spec)
            boot_offset = self._console_end(directory)
            self._write_json(directory / "boot.json", {"boot_offset": boot_offset, "accel": accel})
            error = self._start_process(ref, directory, spec, accel)
            if not error:
                return spec
            if "hostfwd" not in error and "Could not set up host forwarding" not in error:
                break
            spec["forwarded_ports"] = {guest: self._free_port() for guest in spec["forwarded_ports"]}
            self._write_json(directory / "spec.json", spec)
        raise BackendError(f"qemu did not start: {error.splitlines()[-1] if error else 'no reason given'}")

    def _start_process(self, ref: str, directory: Path, spec: dict, accel: str) -> str:
        """Start the guest; "" once it runs, else qemu's complaint."""
        done = subprocess.run(
            self._args(ref, directory, spec, accel), cwd=directory, capture_output=True, timeout=60, check=False
        )
        return "" if done.returncode == 0 else (done.stderr.decode(errors="replace").strip() or "qemu failed")

    def _exit(self, ref: str, directory: Path, spec: dict) -> tuple[str, str]:
        """How a guest that is not running ended: ("clean" | "died", detail)."""
        # qemu removes its pidfile when it exits (the guest powered off, QMP quit); killed, it cannot.
        if (directory / "qemu.pid").exists():
            return "died", "the qemu process died (killed or crashed, or the host went down)"
        return "clean", spec.get("last_stop", "") or "the guest powered off"

    def _describe(self, ref: str, directory: Path) -> BackendInstance:
        spec = self._spec(ref)
        alive = self._alive(ref)
        end = self._console_end(directory)
        try:
            boot = json.loads((directory / "boot.json").read_text())
        except (OSError, ValueError):
            boot = {"boot_offset": 0}
        exit_how, detail = "", ""
        if not alive:
            state = "stopped"
            exit_how, detail = self._exit(ref, directory, spec)
        else:
            state = "running" if end > boot["boot_offset"] else "booting"
        return BackendInstance(
            ref=ref,
            state=state,
            forwarded_ports={k: int(v) for k, v in spec["forwarded_ports"].items()},
            console_size=end,
            boot_offset=boot["boot_offset"],
            memory_mib=int(spec["memory_mib"]),
            detail=detail,
            exit=exit_how,
        )

    def launch(self, spec: LaunchSpec, idempotency_key: str) -> BackendInstance:
        ref = idempotency_key
        directory = self._dir(ref)
        with self._lock():
            if (directory / "spec.json").exists():
                return self._describe(ref, directory)  # launched already: the same instance
            self._check_budget(ref, spec.memory_mib)
            base = self._base(spec)
            staging = self.root / f".new-{ref}"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            fmt = QEMU_FORMATS.get(spec.image_format, spec.image_format)
            _run(
                "qemu-img",
                *("create", "-q", "-f", "qcow2", "-b", base, "-F", fmt),
                staging / "disk.qcow2",
                f"{spec.disk_gib}G",
            )
            self._seed(staging, spec, ref)
            ports = {"22": self._free_port(), **{str(p): self._free_port() for p in spec.ports}}
            stored = {
                "instance_id": spec.instance_id,
                "hostname": spec.hostname,
                "vcpus": spec.vcpus,
                "memory_mib": spec.memory_mib,
                "disk_gib": spec.disk_gib,
                "base": str(base),
                "forwarded_ports": ports,
            }
            self._write_json(staging / "spec.json", stored)
            staging.rename(directory)
            try:
                self._spawn(ref, directory, stored)
            except BackendError:
                self._forget(ref)
                shutil.rmtree(directory, ignore_errors=True)
                raise
            return self._describe(ref, directory)

    def describe(self, ref: str) -> BackendInstance:
        directory = self._dir(ref)
        if not (directory / "spec.json").exists():
            return BackendInstance(ref=ref, state="absent")
        return self._describe(ref, directory)

    def start(self, ref: str) -> BackendInstance:
        directory = self._dir(ref)
        with self._lock():
            spec = self._spec(ref)
            if not self._alive(ref):
                self._check_budget(ref, int(spec["memory_mib"]))
                self._spawn(ref, directory, spec)
            return self._describe(ref, directory)

    def _wait_gone(self, ref: str, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._pid(ref) != pid:
                return True
            time.sleep(0.1)
        return self._pid(ref) != pid

    def _qmp(self, directory: Path, command: str) -> bool:
        try:
            with Qmp(directory) as qmp:
                qmp.execute(command)
            return True
        except (OSError, QmpError) as exc:
            log.info("QMP %s on %s: %s", command, directory.name, exc)
            return False

    def _halt(self, ref: str, directory: Path, timeout: float) -> str:
        """ACPI powerdown, `timeout` seconds for the guest, then quit over QMP, then SIGKILL. Says how it ended."""
        pid = self._pid(ref)
        if pid is None:
            return ""
        if timeout > 0 and self._qmp(directory, "system_powerdown") and self._wait_gone(ref, pid, timeout):
            how = "powered off by the guest (ACPI)"
        elif self._qmp(directory, "quit") and self._wait_gone(ref, pid, 5):
            how = f"stopped hard after {timeout:.0f} s (QMP quit)" if timeout > 0 else "stopped hard (QMP quit)"
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_gone(ref, pid, 5)
            how = "killed (SIGKILL)"
        (directory / "qmp.sock").unlink(missing_ok=True)
        (directory / "qemu.pid").unlink(missing_ok=True)
        return how

    def stop(self, ref: str, timeout: float) -> BackendInstance:
        directory = self._dir(ref)
        spec = self._spec(ref)
        with self._lock(f".{ref}.run.lock"):
            how = self._halt(ref, directory, timeout)
            if how:
                spec["last_stop"] = how
                self._write_json(directory / "spec.json", spec)
        return self._describe(ref, directory)

    def reboot(self, ref: str) -> BackendInstance:
        directory = self._dir(ref)
        self._spec(ref)
        if not self._alive(ref):
            raise NotFound(f"instance {ref} is not running")
        end = self._console_end(directory)
        boot = json.loads((directory / "boot.json").read_text())
        self._write_json(directory / "boot.json", {**boot, "boot_offset": end})
        self._reset(ref, directory)
        return self._describe(ref, directory)

    def _reset(self, ref: str, directory: Path) -> None:
        if not self._qmp(directory, "system_reset"):
            raise BackendError("the instance did not accept the reset")

    def terminate(self, ref: str) -> None:
        directory = self._dir(ref)
        if directory.exists():
            with self._lock(f".{ref}.run.lock"):
                self._halt(ref, directory, timeout=0)
                self._forget(ref)
                shutil.rmtree(directory, ignore_errors=True)
        for name in (f".{ref}.lock", f".{ref}.run.lock"):
            (self.root / name).unlink(missing_ok=True)
        shutil.rmtree(self.root / f".new-{ref}", ignore_errors=True)

    def export_disk(self, ref: str, destination: Path) -> None:
        """qemu-img convert of the overlay (with its base) into a new qcow2; the overlay is opened read-only.

        Under the instance's run lock and only while no process holds the disk, so a guest never writes to it
        while it is read. Written next to `destination` first, so a half-written file is never taken for a disk.
        """
        directory = self._dir(ref)
        self._spec(ref)
        with self._lock(f".{ref}.run.lock"):
            if self._alive(ref):
                raise BackendError("the instance is running: stop it before making an image of its disk")
            partial = destination.with_name(f".{destination.name}.part")
            partial.unlink(missing_ok=True)
            try:
                done = subprocess.run(
                    [
                        "qemu-img",
                        "convert",
                        "-q",
                        "-f",
                        "qcow2",
                        "-O",
                        "qcow2",
                        str(directory / "disk.qcow2"),
                        str(partial),
                    ],
                    capture_output=True,
                    timeout=EXPORT_TIMEOUT,
                    check=False,
                )
            except subprocess.TimeoutExpired as exc:
                partial.unlink(missing_ok=True)
                raise BackendError(f"copying the disk took longer than {EXPORT_TIMEOUT} s") from exc
            if done.returncode != 0:
                partial.unlink(missing_ok=True)
                raise BackendError(f"qemu-img convert failed: {done.stderr.decode(errors='replace').strip()[-500:]}")
            partial.replace(destination)

    def _forget(self, ref: str) -> None:
        """What the hypervisor keeps of a terminated instance beyond its directory (nothing for bare qemu)."""

    def list(self) -> list[BackendInstance]:
        if not self.root.exists():
            return []
        found = []
        for directory in sorted(self.root.iterdir()):
            if directory.is_dir() and not directory.name.startswith(".") and (directory / "spec.json").exists():
                found.append(self._describe(directory.name, directory))
        return found


def _run(*args) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        raise BackendError(f"{Path(str(args[0])).name} failed: {done.stderr.decode(errors='replace').strip()[-500:]}")
    return done.stdout.decode(errors="replace")
