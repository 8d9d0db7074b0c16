"""Whether guests get KVM or TCG, decided by booting a tiny canary under KVM, never by /dev/kvm existing.

On some hosts /dev/kvm opens and yet no guest gets going (`-cpu host` aborts with "failed to set MSR 0x10a",
other CPU models print nothing for minutes): only a guest reaching its first console line proves KVM works.
The canary is the boot image's kernel and initramfs (shelf.compute.bootimage) with a short timeout; the decision
and its reason are cached in a file in the data directory and logged.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)
CANARY_TIMEOUT = 20.0


def _kvm_openable() -> str:
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
    except OSError as exc:
        return f"/dev/kvm cannot be opened ({exc.strerror})"
    os.close(fd)
    return ""


def canary(qemu: str = "qemu-system-x86_64", timeout: float = CANARY_TIMEOUT) -> tuple[bool, str]:
    """Boot the canary under KVM; (worked, why)."""
    if problem := _kvm_openable():
        return False, problem
    from shelf.compute import bootimage

    try:
        image = bootimage.build()
    except Exception as exc:  # offline, tools missing: no proof, so no KVM
        return False, f"the canary image could not be built: {exc}"
    with tempfile.TemporaryDirectory(prefix="shelf-canary-") as tmp:
        console = Path(tmp, "console.log")
        args = [
            qemu,
            *("-accel", "kvm", "-cpu", "host", "-m", "128", "-smp", "1"),
            *("-display", "none", "-nodefaults", "-no-user-config", "-no-reboot"),
            *("-serial", f"file:{console}", "-kernel", str(image.kernel), "-initrd", str(image.initrd)),
            *("-append", "console=ttyS0 panic=-1 quiet"),
        ]
        started = time.monotonic()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            while time.monotonic() - started < timeout:
                if console.exists() and bootimage.BOOT_MARK.encode() in console.read_bytes():
                    return True, f"a KVM guest reached its first console line in {time.monotonic() - started:.1f} s"
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
                    return False, f"the KVM guest exited: {err[-1] if err else proc.returncode}"
                time.sleep(0.1)
            return False, f"the KVM guest printed nothing on its console within {timeout:.0f} s"
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def decide(data_dir: Path, forced: str = "auto", recheck: bool = False) -> dict:
    """{"accel": "kvm"|"tcg", "reason": ..., "checked_at": ...}, cached in data_dir/compute/accel.json."""
    if forced in ("kvm", "tcg"):
        return {"accel": forced, "reason": f"SHELF_COMPUTE_ACCEL={forced}", "checked_at": ""}
    cache = data_dir / "compute" / "accel.json"
    if not recheck:
        try:
            return json.loads(cache.read_text())
        except (OSError, ValueError):
            pass
    worked, why = canary()
    decision = {
        "accel": "kvm" if worked else "tcg",
        "reason": why if worked else f"KVM does not work here: {why}; guests run under TCG (emulation)",
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    log.warning("compute acceleration: %s (%s)", decision["accel"], decision["reason"])
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(decision))
    tmp.replace(cache)
    return decision


def cached(data_dir: Path) -> dict | None:
    try:
        return json.loads((data_dir / "compute" / "accel.json").read_text())
    except (OSError, ValueError):
        return None
