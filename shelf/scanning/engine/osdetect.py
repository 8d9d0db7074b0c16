"""Which distribution, release and architecture the image holds, read from its own files (no dissect plugin)."""

from __future__ import annotations

import re
import shlex
import struct
from typing import TYPE_CHECKING

from shelf.scanning.engine import eol
from shelf.scanning.engine.model import OsInfo

if TYPE_CHECKING:
    from shelf.scanning.engine.context import ScanContext

DEBIAN_LIKE = {"debian", "ubuntu", "raspbian", "linuxmint", "pop", "kali", "deepin", "uos"}
RHEL_LIKE = {
    "rhel",
    "centos",
    "fedora",
    "almalinux",
    "rocky",
    "ol",
    "amzn",
    "anolis",
    "opencloudos",
    "tencentos",
    "alinux",
    "openeuler",
}
SUSE_LIKE = {"sles", "opensuse", "opensuse-leap", "opensuse-tumbleweed", "suse"}

ELF_MACHINES = {
    0x03: "i686",
    0x28: "armv7l",
    0x3E: "x86_64",
    0xB7: "aarch64",
    0xF3: "riscv64",
    0x16: "s390x",
    0x102: "loongarch64",
}


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5): KEY=value lines, values possibly shell-quoted."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        if not re.fullmatch(r"[A-Za-z0-9_]+", key):
            continue
        try:
            parts = shlex.split(raw, comments=False, posix=True)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key] = " ".join(parts) if parts else ""
    return values


def _family(distro: str, like: list[str]) -> str:
    names = [distro, *like]
    if any(n in DEBIAN_LIKE for n in names):
        return "debian"
    if distro == "alpine":
        return "alpine"
    if any(n in SUSE_LIKE or n.startswith("opensuse") for n in names):
        return "suse"
    if any(n in RHEL_LIKE for n in names):
        return "rhel"
    return distro or "unknown"


def detect_arch(ctx: ScanContext) -> str:
    for candidate in (
        "/bin/sh",
        "/usr/bin/sh",
        "/bin/busybox",
        "/usr/bin/env",
        "/sbin/init",
        "/usr/lib/systemd/systemd",
    ):
        header = ctx.read_bytes(candidate, 20)
        if not header or len(header) < 20 or header[:4] != b"\x7fELF":
            continue
        endian = "<" if header[5] == 1 else ">"
        machine = struct.unpack(endian + "H", header[18:20])[0]
        if machine == 0x15:  # PowerPC 64
            return "ppc64le" if endian == "<" else "ppc64"
        if machine in ELF_MACHINES:
            return ELF_MACHINES[machine]
        return f"elf-machine-{machine:#x}"
    return ""


def _fallback_release(ctx: ScanContext) -> dict[str, str] | None:
    """Old releases without os-release: the distribution's own release files."""
    alpine = ctx.read_text("/etc/alpine-release", 256)
    if alpine:
        ctx.cache["os_release_path"] = "/etc/alpine-release"
        return {"ID": "alpine", "VERSION_ID": alpine.strip(), "PRETTY_NAME": f"Alpine Linux v{alpine.strip()}"}
    for path in ("/etc/centos-release", "/etc/redhat-release"):
        text = ctx.read_text(path, 256)
        if text:
            ctx.cache["os_release_path"] = path
            m = re.search(r"release (\d+(?:\.\d+)*)", text)
            distro = "centos" if "CentOS" in text else "rhel"
            return {"ID": distro, "VERSION_ID": m.group(1) if m else "", "PRETTY_NAME": text.strip()}
    lsb = ctx.read_text("/etc/lsb-release", 4096)
    if lsb:
        values = parse_os_release(lsb)
        if values.get("DISTRIB_ID"):
            ctx.cache["os_release_path"] = "/etc/lsb-release"
            return {
                "ID": values["DISTRIB_ID"].lower(),
                "VERSION_ID": values.get("DISTRIB_RELEASE", ""),
                "PRETTY_NAME": values.get("DISTRIB_DESCRIPTION", ""),
            }
    debian = ctx.read_text("/etc/debian_version", 256)
    if debian:
        ctx.cache["os_release_path"] = "/etc/debian_version"
        return {"ID": "debian", "VERSION_ID": debian.strip(), "PRETTY_NAME": f"Debian GNU/Linux {debian.strip()}"}
    return None


def detect_os(ctx: ScanContext) -> OsInfo | None:
    ctx.cache["os_release_path"] = "/etc/os-release"
    text = ctx.read_text("/etc/os-release", 64 * 1024)
    if text is None:
        ctx.cache["os_release_path"] = "/usr/lib/os-release"
        text = ctx.read_text("/usr/lib/os-release", 64 * 1024)
    values = parse_os_release(text) if text else None
    if not values or not values.get("ID"):
        values = _fallback_release(ctx)
    if not values:
        return None
    distro = values.get("ID", "").lower()
    like = values.get("ID_LIKE", "").lower().split()
    version = values.get("VERSION_ID", "")
    if distro == "debian":
        # os-release says "12"; debian_version has the point release or "trixie/sid" on testing.
        if not version:
            dv = (ctx.read_text("/etc/debian_version", 256) or "").strip()
            version = dv.split(".")[0] if dv[:1].isdigit() else ""
        else:
            version = version.split(".")[0]
    table_key = distro
    if distro == "centos" and "stream" in values.get("NAME", "").lower():
        table_key = "centos-stream"
    if distro == "alpine" and version.count(".") >= 2:
        pass  # keep the full 3.19.1; the EOL table matches the branch
    is_eol, eol_date = eol.lookup(table_key, version, ctx.today)
    return OsInfo(
        family=_family(distro, like),
        distro=distro,
        version=version,
        pretty_name=values.get("PRETTY_NAME") or values.get("NAME") or distro,
        arch=detect_arch(ctx),
        eol=is_eol,
        eol_date=eol_date,
    )


def ecosystem(os_info: OsInfo | None) -> str:
    """OSV ecosystem name for packages of this release."""
    if os_info is None:
        return ""
    d, v = os_info.distro, os_info.version
    major = v.split(".")[0]
    if d == "debian":
        return f"Debian:{major}" if major else "Debian"
    if d == "ubuntu":
        return f"Ubuntu:{'.'.join(v.split('.')[:2])}"
    if d == "alpine":
        return f"Alpine:v{'.'.join(v.split('.')[:2])}"
    if d == "almalinux":
        return f"AlmaLinux:{major}"
    if d == "rocky":
        return f"Rocky Linux:{major}"
    if d == "rhel":
        return "Red Hat"
    if d == "openeuler":
        return f"openEuler:{v}"
    names = {"centos": "CentOS", "ol": "Oracle Linux", "amzn": "Amazon Linux", "fedora": "Fedora"}
    if d in names:
        return f"{names[d]}:{major}"
    if d.startswith("opensuse"):
        return f"openSUSE:{v}"
    if d == "sles":
        return f"SUSE:{v}"
    return f"{d}:{v}" if v else d


def purl_distro(os_info: OsInfo | None) -> str:
    if os_info is None:
        return ""
    v = os_info.version
    if os_info.distro == "alpine":
        v = ".".join(v.split(".")[:2])
    return f"{os_info.distro}-{v}" if v else os_info.distro
