"""A small disk image that really boots, built from Debian packages: for the compute tests, the demo and the KVM canary.

The disk has an MBR (syslinux's mbr.bin) and two partitions: a FAT boot partition holding syslinux, Debian's cloud
kernel and an initramfs; and an ext4 root with a Debian-like /etc/os-release and dpkg status, so Shelf's scanner
accepts the image as an operating system. The initramfs's /init (busybox sh) mounts proc, sys and dev, loads the
few modules it needs (virtio, vfat, the ACPI button), finds the cloud-init NoCloud seed (volume label `cidata`),
prints what it read on the serial console on lines marked `SHELF-SEED`, shows a login-like prompt and stays up;
an ACPI power-button press (QMP system_powerdown) powers it off.

No root and no loop devices: `mkfs.vfat` + mtools `mcopy` + the mtools-based `syslinux` installer write the FAT
partition inside an image file, `mkfs.ext4 -d` the root, `sfdisk` the table. Built once per set of inputs (this
module's source, the package versions) into SHELF_BOOT_CACHE (default /var/cache/shelf-boot or ~/.cache/shelf-boot).
Django-free: usable from tests, the benchmarks and the demo alike.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MiB = 1024**2
KERNEL_META = "linux-image-cloud-amd64"
PACKAGES_NEEDED = ("busybox-static",)
# Modules the guest needs beyond what the cloud kernel builds in; their dependencies are read from the .ko files.
MODULES = ("virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "vfat", "nls_cp437", "nls_ascii", "button", "evdev")
SYSLINUX_DIR = Path("/usr/lib/syslinux")
TOOLS = ("apt-get", "apt-cache", "dpkg-deb", "mkfs.vfat", "mcopy", "syslinux", "mkfs.ext4", "sfdisk", "cpio")
SEED_MARK = "SHELF-SEED"
BOOT_MARK = "SHELF-BOOT"  # the initramfs's first line: the canary and the tests look for it

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /mnt/seed /tmp /etc
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
echo "@BOOT@ init started"
for m in $(cat /modules.load); do insmod "/modules/$m" || echo "@BOOT@ insmod $m failed"; done
seed=""
n=0
while [ -z "$seed" ] && [ $n -lt 50 ]; do
  seed=$(findfs LABEL=cidata 2>/dev/null || findfs LABEL=CIDATA 2>/dev/null)
  [ -z "$seed" ] && { sleep 0.1; n=$((n+1)); }
done
hostname="localhost"
if [ -n "$seed" ] && mount -o ro "$seed" /mnt/seed 2>/dev/null; then
  echo "@SEED@ found $seed"
  iid=$(sed -n 's/^instance-id:[[:space:]]*//p' /mnt/seed/meta-data | tr -d '"'"'"'\r')
  h=$(sed -n 's/^local-hostname:[[:space:]]*//p' /mnt/seed/meta-data | tr -d '"'"'"'\r')
  [ -n "$h" ] && hostname="$h"
  echo "@SEED@ instance-id=$iid"
  echo "@SEED@ hostname=$hostname"
  # ssh_authorized_keys entries: "  - ssh-ed25519 AAAA... comment" lines in the #cloud-config
  sed -n '/^ssh_authorized_keys:/,/^[^ -]/p' /mnt/seed/user-data | sed -n 's/^[[:space:]]*-[[:space:]]*//p' \
    | tr -d '"'"'"'\r' | while read -r key; do echo "@SEED@ ssh-key=$key"; done
else
  echo "@SEED@ none"
fi
hostname "$hostname"
# Power off on the ACPI power button (QMP system_powerdown): one watcher per "Power Button" input device.
for ev in /sys/class/input/event*; do
  [ -e "$ev/device/name" ] || continue
  case "$(cat "$ev/device/name")" in
    *"Power Button"*)
      node="/dev/input/$(basename "$ev")"
      [ -c "$node" ] && (dd if="$node" bs=24 count=1 >/dev/null 2>&1 && { echo "@BOOT@ power button: powering off"; poweroff -f; }) & ;;
  esac
done
echo "@BOOT@ ready"
echo
echo "$hostname login: "
while true; do sleep 3600; done
""".replace("@BOOT@", BOOT_MARK).replace("@SEED@", SEED_MARK)

SYSLINUX_CFG = """DEFAULT shelf
TIMEOUT 0
PROMPT 0
LABEL shelf
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND console=ttyS0,115200 panic=-1
"""

OS_RELEASE = """PRETTY_NAME="Shelf boot test image (Debian 12 kernel, busybox)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"""


@dataclass(frozen=True)
class BootImage:
    disk: Path  # raw disk image, bootable by itself
    kernel: Path  # vmlinuz and the initramfs alone, for the KVM canary (-kernel/-initrd)
    initrd: Path
    key: str


def tools_missing() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not (SYSLINUX_DIR / "mbr" / "mbr.bin").exists():
        missing.append("syslinux-common (mbr.bin)")
    return missing


def _run(*args, cwd: Path | None = None, stdin: bytes | None = None, timeout: int = 600) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, input=stdin, capture_output=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return done.stdout.decode(errors="replace")


def cache_dir() -> Path:
    if configured := os.environ.get("SHELF_BOOT_CACHE"):
        return Path(configured)
    system = Path("/var/cache/shelf-boot")
    try:
        system.mkdir(parents=True, exist_ok=True)
        if os.access(system, os.W_OK):
            return system
    except OSError:
        pass
    return Path.home() / ".cache" / "shelf-boot"


def _candidate(package: str) -> tuple[str, str]:
    """(package, version) apt would download; the kernel meta-package resolves to the versioned image package."""
    if package == KERNEL_META:
        depends = _run("apt-cache", "depends", package)
        found = re.search(r"Depends: (linux-image-\S+-cloud-amd64)", depends)
        if not found:
            raise RuntimeError(f"cannot resolve {package}: {depends}")
        package = found.group(1)
    shown = _run("apt-cache", "show", "--no-all-versions", package)
    version = re.search(r"^Version: (\S+)", shown, re.M)
    if not version:
        raise RuntimeError(f"apt knows no version of {package}")
    return package, version.group(1)


def _download(package: str, version: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    for deb in into.glob(f"{package}_*.deb"):
        return deb
    _run("apt-get", "download", f"{package}={version}", cwd=into)
    return next(into.glob(f"{package}_*.deb"))


def _extract(deb: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    _run("dpkg-deb", "-x", deb, into)
    return into


def _module_order(root: Path) -> list[Path]:
    """MODULES and what they depend on (the `depends=` of each .ko's modinfo), dependencies first."""
    paths: dict[str, Path] = {}
    for ko in root.glob("lib/modules/*/kernel/**/*.ko"):
        paths[ko.stem.replace("-", "_")] = ko
    order: list[Path] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        name = name.replace("-", "_")
        if name in seen or name not in paths:
            return  # built in, or already placed
        seen.add(name)
        found = re.search(rb"\x00depends=([^\x00]*)\x00", b"\x00" + paths[name].read_bytes())
        for dep in found.group(1).decode().split(",") if found and found.group(1) else []:
            visit(dep)
        order.append(paths[name])

    for module in MODULES:
        visit(module)
    return order


def _initramfs(kernel_root: Path, busybox: Path, out: Path, work: Path) -> Path:
    tree = work / "initramfs"
    (tree / "bin").mkdir(parents=True)
    (tree / "modules").mkdir()
    shutil.copy2(busybox, tree / "bin" / "busybox")
    os.chmod(tree / "bin" / "busybox", 0o755)  # noqa: S103 - an executable in the guest
    (tree / "init").write_text(INIT)
    os.chmod(tree / "init", 0o755)  # noqa: S103 - the guest's init
    names = []
    for ko in _module_order(kernel_root):
        shutil.copy2(ko, tree / "modules" / ko.name)
        names.append(ko.name)
    (tree / "modules.load").write_text("\n".join(names) + "\n")
    listing = "\n".join(sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))).encode() + b"\n"
    archive = _run_bytes(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=tree, stdin=listing)
    with open(out, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
        gz.write(archive)
    return out


def _run_bytes(args: list[str], cwd: Path, stdin: bytes) -> bytes:
    done = subprocess.run(args, cwd=cwd, input=stdin, capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def _root_tree(tree: Path, busybox: Path, packages: list[tuple[str, str]]) -> Path:
    files = {
        "etc/os-release": OS_RELEASE,
        "etc/debian_version": "12.12\n",
        "etc/hostname": "localhost\n",
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
        "etc/group": "root:x:0:\n",
        "etc/shadow": "root:*:20000:0:99999:7:::\n",
        "etc/fstab": "# the guest runs from its initramfs; nothing is mounted from this disk\n",
        "var/lib/dpkg/status": "".join(
            f"Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n\n"
            for name, version in packages
        ),
    }
    for rel, text in files.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    os.chmod(tree / "etc/shadow", 0o640)
    (tree / "bin").mkdir(exist_ok=True)
    shutil.copy2(busybox, tree / "bin" / "busybox")
    os.chmod(tree / "bin" / "busybox", 0o755)  # noqa: S103 - an executable in the guest
    os.symlink("busybox", tree / "bin" / "sh")
    (tree / "root").mkdir(mode=0o700)
    (tree / "tmp").mkdir(mode=0o1777)
    os.chmod(tree / "tmp", 0o1777)  # noqa: S103 - the guest's sticky /tmp
    return tree


def _disk(
    kernel: Path,
    initrd: Path,
    root_tree: Path,
    out: Path,
    work: Path,
    *,
    root_mib: int = 16,
    root_label: str = "rootfs",
    config: str = SYSLINUX_CFG,
) -> Path:
    """MBR + FAT boot partition (syslinux, kernel, initramfs) + ext4 root filled from root_tree; fullimage.py too."""
    boot_mib = (kernel.stat().st_size + initrd.stat().st_size) // MiB + 8
    boot, root = work / "boot.fat", work / "root.ext4"
    with open(boot, "wb") as fh:
        fh.truncate(boot_mib * MiB)
    _run("mkfs.vfat", "-n", "SHELFBOOT", boot)
    cfg = work / "syslinux.cfg"
    cfg.write_text(config)
    env_copy = ["mcopy", "-i", boot]
    _run(*env_copy, kernel, "::/vmlinuz")
    _run(*env_copy, initrd, "::/initrd.img")
    _run(*env_copy, cfg, "::/syslinux.cfg")
    _run("syslinux", "--install", boot)  # ldlinux.sys + ldlinux.c32 into the FAT, its boot sector patched
    with open(root, "wb") as fh:
        fh.truncate(root_mib * MiB)
    _run("mkfs.ext4", "-q", "-F", "-L", root_label, "-E", "root_owner=0:0", "-d", root_tree, root, f"{root_mib}M")
    boot_sectors, root_sectors = boot_mib * 2048, root_mib * 2048
    root_start = 2048 + boot_sectors
    total = (root_start + root_sectors + 2048) * 512
    with open(out, "wb") as fh:
        fh.truncate(total)
    table = f"label: dos\nstart=2048, size={boot_sectors}, type=c, bootable\nstart={root_start}, size={root_sectors}, type=83\n"
    _run("sfdisk", "-q", out, stdin=table.encode())
    mbr = (SYSLINUX_DIR / "mbr" / "mbr.bin").read_bytes()[:440]
    with open(out, "r+b") as dst:
        dst.write(mbr)  # the boot code only; the partition table after byte 440 stays
        for source, start in ((boot, 2048), (root, root_start)):
            dst.seek(start * 512)
            with open(source, "rb") as src:
                shutil.copyfileobj(src, dst, 8 * MiB)
    return out


def _key(packages: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name, version in packages:
        digest.update(f"{name}={version}\n".encode())
    for name in ("mbr/mbr.bin", "ldlinux.sys"):
        path = SYSLINUX_DIR / name if (SYSLINUX_DIR / name).exists() else None
        if path:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build(cache: Path | None = None) -> BootImage:
    """The boot image for the current package versions, built on first use and kept in the cache."""
    if missing := tools_missing():
        raise RuntimeError(f"missing tools to build the boot image: {', '.join(missing)} (make system-deps)")
    cache = cache or cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    packages = [_candidate(KERNEL_META), *(_candidate(p) for p in PACKAGES_NEEDED)]
    key = _key(packages)
    target = cache / key
    image = BootImage(disk=target / "disk.raw", kernel=target / "vmlinuz", initrd=target / "initrd.img", key=key)
    if image.disk.exists():
        return image
    with tempfile.TemporaryDirectory(dir=cache, prefix="build-") as tmp:
        work = Path(tmp)
        debs = {name: _download(name, version, cache / "debs") for name, version in packages}
        kernel_pkg = packages[0][0]
        kernel_root = _extract(debs[kernel_pkg], work / "kernel")
        busybox_root = _extract(debs["busybox-static"], work / "busybox")
        busybox = busybox_root / "bin" / "busybox"
        vmlinuz = next((kernel_root / "boot").glob("vmlinuz-*"))
        staged = work / "out"
        staged.mkdir()
        shutil.copy2(vmlinuz, staged / "vmlinuz")
        _initramfs(kernel_root, busybox, staged / "initrd.img", work)
        _root_tree(work / "root", busybox, packages)
        _disk(staged / "vmlinuz", staged / "initrd.img", work / "root", staged / "disk.raw", work)
        try:
            staged.rename(target)  # atomic: a concurrent builder's result wins, ours is dropped with tmp
        except OSError:
            if not image.disk.exists():
                raise
    return image
