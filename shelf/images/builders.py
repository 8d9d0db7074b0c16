"""Real Debian-like disk images built from directory trees with mkfs, sfdisk/sgdisk and qemu-img: no root, no loop
devices. The tests, the benchmarks and the demo data (`demo_data` lists a product on a real, scanned image) build
their images here.

`debian12_tree` is a benign Debian 12 root: ext4 is populated with `mkfs.ext4 -d`, xfs with a generated
`mkfs.xfs -p` protofile; partition tables are written with sfdisk (MBR) or sgdisk (GPT) and the filesystem copied in
at 1 MiB; containers with qemu-img. Django-free, so the benchmarks use it without a project.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

MiB = 1024**2
TREE_TOOLS = ("mkfs.ext4", "mkfs.xfs", "sfdisk", "sgdisk", "qemu-img")  # images from directory trees
QEMU_FORMATS = {"qcow2": "qcow2", "vmdk": "vmdk", "vhd": "vpc", "vhdx": "vhdx", "raw": "raw"}


def tools_missing(tools: tuple[str, ...] = TREE_TOOLS) -> list[str]:
    """The commands of `tools` not on PATH (tests skip when any is missing)."""
    return [tool for tool in tools if shutil.which(tool) is None]


def run(*args: str | os.PathLike, stdin: bytes | None = None, timeout: int = 600) -> None:
    done = subprocess.run([str(a) for a in args], input=stdin, capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr.decode(errors='replace')}")


def tree_size(tree: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(tree):
        for name in files:
            p = Path(dirpath, name)
            if not p.is_symlink():
                total += p.stat().st_size
    return total


def ext4_from_tree(tree: Path, image: Path, size_mib: int | None = None) -> Path:
    size_mib = size_mib or max(32, tree_size(tree) * 12 // 10 // MiB + 32)
    image.unlink(missing_ok=True)
    with open(image, "wb") as fh:
        fh.truncate(size_mib * MiB)
    run("mkfs.ext4", "-q", "-F", "-E", "root_owner=0:0", "-d", tree, image, f"{size_mib}M")
    return image


def _proto_mode(st: os.stat_result) -> str:
    kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "-"
    suid = "u" if st.st_mode & stat.S_ISUID else "-"
    sgid = "g" if st.st_mode & stat.S_ISGID else "-"
    return f"{kind}{suid}{sgid}{stat.S_IMODE(st.st_mode) & 0o777:03o}"


def xfs_protofile(tree: Path) -> str:
    """mkfs.xfs(8) prototype file for `tree` (regular files, directories, symlinks; names without spaces)."""
    lines = ["/dev/null", "0 0", "d--755 0 0"]

    def walk(directory: Path, depth: int) -> None:
        for entry in sorted(directory.iterdir(), key=lambda p: p.name):
            st = entry.lstat()
            indent = " " * depth
            if " " in entry.name:
                raise ValueError(f"protofile cannot hold names with spaces: {entry}")
            if stat.S_ISDIR(st.st_mode):
                lines.append(f"{indent}{entry.name} {_proto_mode(st)} {st.st_uid} {st.st_gid}")
                walk(entry, depth + 1)
                lines.append(f"{indent}$")
            elif stat.S_ISLNK(st.st_mode):
                lines.append(f"{indent}{entry.name} {_proto_mode(st)} {st.st_uid} {st.st_gid} {os.readlink(entry)}")
            elif stat.S_ISREG(st.st_mode):
                lines.append(f"{indent}{entry.name} {_proto_mode(st)} {st.st_uid} {st.st_gid} {entry}")

    walk(tree, 1)
    lines.append("$")
    return "\n".join(lines) + "\n"


def xfs_from_tree(tree: Path, image: Path, size_mib: int = 320) -> Path:
    """xfsprogs refuses filesystems under 300 MiB; the file stays sparse."""
    proto = image.with_name(image.name + ".proto")
    proto.write_text(xfs_protofile(tree))
    image.unlink(missing_ok=True)
    with open(image, "wb") as fh:
        fh.truncate(size_mib * MiB)
    run("mkfs.xfs", "-q", "-f", "-p", proto, image)
    proto.unlink()
    return image


def partitioned(fs_image: Path, disk: Path, table: str = "gpt") -> Path:
    """A disk with one partition at 1 MiB holding `fs_image` (MBR via sfdisk, GPT via sgdisk)."""
    fs_size = fs_image.stat().st_size
    size = MiB + (fs_size + MiB - 1) // MiB * MiB + MiB
    disk.unlink(missing_ok=True)
    with open(disk, "wb") as fh:
        fh.truncate(size)
    sectors = (fs_size + 511) // 512
    if table == "mbr":
        run("sfdisk", "-q", disk, stdin=f"label: dos\nstart=2048, size={sectors}, type=83\n".encode())
    elif table == "gpt":
        run("sgdisk", "-n", f"1:2048:{2048 + sectors - 1}", "-t", "1:8300", disk)
    else:
        raise ValueError(table)
    with open(fs_image, "rb") as src, open(disk, "r+b") as dst:
        for start, end in _data_ranges(src.fileno(), fs_size):  # copy only the data, keep the disk sparse
            src.seek(start)
            dst.seek(MiB + start)
            left = end - start
            while left:
                chunk = src.read(min(left, 8 * MiB))
                dst.write(chunk)
                left -= len(chunk)
    return disk


def _data_ranges(fd: int, size: int) -> list[tuple[int, int]]:
    ranges = []
    offset = 0
    try:
        while offset < size:
            start = os.lseek(fd, offset, os.SEEK_DATA)
            end = os.lseek(fd, start, os.SEEK_HOLE)
            ranges.append((start, end))
            offset = end
    except OSError:  # ENXIO: no more data; or SEEK_DATA unsupported -> copy everything
        if not ranges and offset == 0:
            return [(0, size)] if size else []
    return ranges


def convert(raw: Path, out: Path, disk_format: str) -> Path:
    out.unlink(missing_ok=True)
    run("qemu-img", "convert", "-f", "raw", "-O", QEMU_FORMATS[disk_format], raw, out)
    return out


def write(tree: Path, path: str, content: str | bytes, mode: int | None = None) -> Path:
    target = tree / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    target.write_bytes(content)
    if mode is not None:
        target.chmod(mode)
    return target


def link(tree: Path, path: str, points_to: str) -> None:
    target = tree / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    os.symlink(points_to, target)


ELF_X86_64 = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00" + b"\x01\x00\x00\x00" + b"\x00" * 40

DPKG_STATUS = """\
Package: base-files
Status: install ok installed
Priority: required
Essential: yes
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files

Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: openssl (3.0.11-1~deb12u2)
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries

Package: openssl
Status: install ok installed
Architecture: amd64
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - cryptographic utility

Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: openssh-server
Status: install ok installed
Architecture: amd64
Source: openssh
Version: 1:9.2p1-2+deb12u2
Description: secure shell (SSH) server

Package: cloud-init
Status: install ok installed
Architecture: all
Version: 22.4.2-1+deb12u1
Description: initialization and customization tool for cloud instances

Package: nftables
Status: install ok installed
Architecture: amd64
Version: 1.0.6-2+deb12u2
Description: Program to control packet filtering rules by Netfilter project

Package: removed-thing
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
Description: only its configuration files are left
"""

NFTABLES_CONF = """\
#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		ct state established,related accept
		iif "lo" accept
		tcp dport 22 accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter;
	}
}
"""


def debian12_tree(tree: Path) -> Path:
    """A benign Debian 12 cloud image root: locked passwords, key-only SSH, cloud-init and nftables enabled."""
    write(
        tree,
        "etc/os-release",
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
        'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
    )
    write(tree, "etc/debian_version", "12.5\n")
    write(tree, "usr/bin/dash", ELF_X86_64, 0o755)
    link(tree, "bin", "usr/bin")
    link(tree, "usr/bin/sh", "dash")
    write(
        tree,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        "debian:x:1000:1000:Debian:/home/debian:/bin/bash\n",
    )
    write(
        tree,
        "etc/shadow",
        "root:*:19700:0:99999:7:::\ndaemon:*:19700:0:99999:7:::\nnobody:*:19700:0:99999:7:::\n"
        "debian:!:19700:0:99999:7:::\n",
        0o640,
    )
    write(tree, "root/.profile", "# ~/.profile\n")
    (tree / "root").chmod(0o700)
    write(tree, "home/debian/.bashrc", "# ~/.bashrc\nalias ll='ls -l'\n")
    (tree / "home/debian/.ssh").mkdir(parents=True, exist_ok=True)
    (tree / "home/debian/.ssh").chmod(0o700)
    write(
        tree,
        "etc/ssh/sshd_config",
        "# sshd_config of a Debian cloud image\nInclude /etc/ssh/sshd_config.d/*.conf\n\n"
        "PermitRootLogin prohibit-password\nKbdInteractiveAuthentication no\nUsePAM yes\n"
        "Subsystem sftp /usr/lib/openssh/sftp-server\n",
    )
    write(tree, "etc/ssh/sshd_config.d/10-hardening.conf", "PasswordAuthentication no\nPermitEmptyPasswords no\n")
    write(tree, "usr/sbin/sshd", ELF_X86_64, 0o755)
    write(tree, "var/lib/dpkg/status", DPKG_STATUS)
    write(tree, "usr/bin/cloud-init", "#!/usr/bin/python3\n", 0o755)
    write(tree, "etc/cloud/cloud.cfg", "users:\n  - default\ndisable_root: true\nssh_pwauth: false\n")
    for unit in ("cloud-init-local.service", "cloud-init.service", "cloud-config.service", "cloud-final.service"):
        write(tree, f"lib/systemd/system/{unit}", "[Unit]\n")
        link(tree, f"etc/systemd/system/cloud-init.target.wants/{unit}", f"/lib/systemd/system/{unit}")
    write(tree, "etc/nftables.conf", NFTABLES_CONF)
    write(tree, "lib/systemd/system/nftables.service", "[Unit]\n")
    link(tree, "etc/systemd/system/sysinit.target.wants/nftables.service", "/lib/systemd/system/nftables.service")
    (tree / "var/log/apt").mkdir(parents=True, exist_ok=True)
    write(tree, "var/log/lastlog", b"")
    write(tree, "var/log/wtmp", b"", 0o664)  # login records ship empty, not deleted
    write(tree, "var/log/btmp", b"", 0o660)
    write(tree, "lib/systemd/systemd-journald", ELF_X86_64, 0o755)
    write(tree, "etc/systemd/journald.conf", "[Journal]\n#Storage=auto\n#Compress=yes\n")
    (tree / "var/log/journal").mkdir(parents=True, exist_ok=True)  # Storage=auto keeps the journal on disk
    write(tree, "etc/ssl/certs/ca-certificates.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    write(tree, "opt/app/config.ini", "[app]\nlisten = 0.0.0.0:8080\n")
    return tree
