"""A full Debian 12 (bookworm) cloud image for the optional slow test: systemd, real cloud-init and openssh-server.

mmdebstrap installs Debian's packages (from the mirrors apt is configured with) into a directory; the disk is laid
out like the small boot image (bootimage.py): an MBR with syslinux's boot code, a FAT boot partition holding
syslinux, the kernel and the initramfs Debian's initramfs-tools generated, and an ext4 root filled from the
directory with `mkfs.ext4 -d`. The result is converted to qcow2, so the image is what a provider would upload.

Needs root (mmdebstrap's root mode; the files' owners must be real), mmdebstrap and the boot image's tools.
Cached like the boot image: one build per set of inputs (this module's source, the package versions apt would
install) under SHELF_BOOT_CACHE/full-<key>/disk.qcow2. Django-free.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from shelf.compute import bootimage

SUITE = "bookworm"
# The kernel meta-package, a real init, cloud-init with the network stack it renders for on Debian (ifupdown +
# DHCP client), sshd, and growpart so cloud-init can grow the root into the disk the buyer chose.
KERNEL = bootimage.KERNEL_META
PACKAGES = (
    KERNEL,
    "systemd-sysv",
    "udev",
    "initramfs-tools",
    "cloud-init",
    "cloud-guest-utils",
    "openssh-server",
    "ifupdown",
    "isc-dhcp-client",
    "netbase",
    "iproute2",
    "sudo",
)
TOOLS = ("mmdebstrap", "qemu-img", *bootimage.TOOLS)
ROOT_LABEL = "rootfs"

SYSLINUX_CFG = f"""DEFAULT debian
TIMEOUT 0
PROMPT 0
LABEL debian
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND root=LABEL={ROOT_LABEL} ro console=tty0 console=ttyS0,115200 net.ifnames=0
"""

# Run inside the target after the packages are installed ($1 is the target directory).
CUSTOMIZE = f"""set -e
root="$1"
echo 'LABEL={ROOT_LABEL} / ext4 defaults,errors=remount-ro 0 1' > "$root/etc/fstab"
echo localhost > "$root/etc/hostname"
# Each instance gets its own identity: systemd makes a machine-id and cloud-init the SSH host keys on first boot.
: > "$root/etc/machine-id"
rm -f "$root"/etc/ssh/ssh_host_*
printf 'auto lo\\niface lo inet loopback\\nsource /etc/network/interfaces.d/*\\n' > "$root/etc/network/interfaces"
mkdir -p "$root/etc/network/interfaces.d"
# The seed is a NoCloud disk: skip probing for other clouds' metadata services.
printf 'datasource_list: [ NoCloud, None ]\nlocale: C.UTF-8\n' > "$root/etc/cloud/cloud.cfg.d/90-shelf.cfg"
# glibc's built-in C.UTF-8, so cloud-init's locale module has nothing to generate (no `locales` package needed).
echo 'LANG=C.UTF-8' > "$root/etc/default/locale"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages
"""


@dataclass(frozen=True)
class FullImage:
    disk: Path  # qcow2, bootable by itself
    key: str
    build_seconds: float  # 0 when it came from the cache


def tools_missing() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not (bootimage.SYSLINUX_DIR / "mbr" / "mbr.bin").exists():
        missing.append("syslinux-common (mbr.bin)")
    if os.geteuid() != 0:
        missing.append("root (mmdebstrap's root mode)")
    return missing


def _key(packages: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256(Path(__file__).read_bytes() + Path(bootimage.__file__).read_bytes())
    for name, version in packages:
        digest.update(f"{name}={version}\n".encode())
    return digest.hexdigest()[:16]


def _candidates() -> list[tuple[str, str]]:
    """(package, version) of each of PACKAGES apt would install now, in one apt-cache call (one each takes ~2 s).

    The named packages' versions decide the cache key; their dependencies follow the same mirror state."""
    names = [bootimage._candidate(KERNEL)[0] if p == KERNEL else p for p in PACKAGES]
    shown = bootimage._run("apt-cache", "show", "--no-all-versions", *names)
    found = dict(re.findall(r"^Package: (\S+)\n(?:.*\n)*?Version: (\S+)", shown, re.M))
    if missing := [name for name in names if name not in found]:
        raise RuntimeError(f"apt knows no version of {', '.join(missing)}")
    return [(name, found[name]) for name in names]


def _root_mib(tree: Path) -> int:
    used = sum(p.lstat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())
    return int(used * 1.3) // bootimage.MiB + 256  # ext4's metadata and some room before growpart runs


def build(cache: Path | None = None) -> FullImage:
    """The full image for the current package versions, built on first use (minutes) and kept in the cache."""
    if missing := tools_missing():
        raise RuntimeError(f"cannot build the full Debian image: missing {', '.join(missing)}")
    cache = cache or bootimage.cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    packages = _candidates()
    key = _key(packages)
    target = cache / f"full-{key}"
    if (target / "disk.qcow2").exists():
        return FullImage(disk=target / "disk.qcow2", key=key, build_seconds=0.0)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=cache, prefix="build-full-") as tmp:
        work = Path(tmp)
        tree = work / "root"
        hook = work / "customize.sh"
        hook.write_text(CUSTOMIZE)
        bootimage._run(
            "mmdebstrap",
            "--mode=root",
            "--variant=minbase",
            "--quiet",
            f"--include={','.join(PACKAGES)}",
            f'--customize-hook=sh {hook} "$1"',
            SUITE,
            tree,
            timeout=3600,
        )
        boot = tree / "boot"
        vmlinuz = next(boot.glob("vmlinuz-*"))
        initrd = next(boot.glob("initrd.img-*"))
        staged = work / "out"
        staged.mkdir()
        raw = staged / "disk.raw"
        bootimage._disk(
            vmlinuz, initrd, tree, raw, work, root_mib=_root_mib(tree), root_label=ROOT_LABEL, config=SYSLINUX_CFG
        )
        bootimage._run("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", raw, staged / "disk.qcow2")
        raw.unlink()
        # The tree holds device nodes and root-owned files; remove it here rather than through TemporaryDirectory.
        subprocess.run(["rm", "-rf", "--one-file-system", str(tree)], check=False)
        try:
            staged.rename(target)
        except OSError:
            if not (target / "disk.qcow2").exists():
                raise
    return FullImage(disk=target / "disk.qcow2", key=key, build_seconds=time.monotonic() - started)
