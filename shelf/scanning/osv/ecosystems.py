"""OSV ecosystem names: their canonical form, their version rules (dpkg, rpm, apk) and the keys records are indexed by."""

from __future__ import annotations

import re
from functools import lru_cache

from shelf.scanning.osv.model import InstalledPackage

_ECOSYSTEM_NAMES = {
    "debian": "Debian",
    "ubuntu": "Ubuntu",
    "alpine": "Alpine",
    "wolfi": "Wolfi",
    "chainguard": "Chainguard",
    "almalinux": "AlmaLinux",
    "alma": "AlmaLinux",
    "rocky linux": "Rocky Linux",
    "rockylinux": "Rocky Linux",
    "rocky": "Rocky Linux",
    "red hat": "Red Hat",
    "redhat": "Red Hat",
    "rhel": "Red Hat",
    "suse": "SUSE",
    "opensuse": "openSUSE",
    "mageia": "Mageia",
    "openeuler": "openEuler",
}
FAMILIES = {
    "Debian": "dpkg",
    "Ubuntu": "dpkg",
    "Alpine": "apk",
    "Wolfi": "apk",
    "Chainguard": "apk",
    "AlmaLinux": "rpm",
    "Rocky Linux": "rpm",
    "Red Hat": "rpm",
    "SUSE": "rpm",
    "openSUSE": "rpm",
    "Mageia": "rpm",
    "openEuler": "rpm",
}
# Ecosystems whose records name the source (origin) package rather than the binary one.
_SOURCE_KEYED = frozenset({"Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard"})
_DEBIAN_CODENAMES = {
    "jessie": "8",
    "stretch": "9",
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}
_MAJOR = re.compile(r"(\d+)(?:\.\d+)*")
_MAJOR_MINOR = re.compile(r"(\d+)\.(\d+)(?:\.\d+)*")


@lru_cache(maxsize=4096)
def normalize_ecosystem(ecosystem: str) -> str:
    """The canonical form of an OSV ecosystem string, used for index keys.

    * base names are matched case-insensitively (``debian:12`` -> ``Debian:12``,
      ``Rocky:9`` -> ``Rocky Linux:9``, ``RHEL:9`` -> ``Red Hat:enterprise_linux:9``);
    * Debian: the major release, codenames accepted (``Debian:12.5``,
      ``Debian:bookworm`` -> ``Debian:12``);
    * Ubuntu: the ``:LTS`` marker is dropped (``Ubuntu:22.04:LTS`` ->
      ``Ubuntu:22.04``; ``Ubuntu:Pro:18.04:LTS`` -> ``Ubuntu:Pro:18.04``, a
      separate stream);
    * Alpine: ``v`` + major.minor (``Alpine:3.19.1`` -> ``Alpine:v3.19``);
    * AlmaLinux, Rocky Linux: the major release (``AlmaLinux:9.3`` -> ``AlmaLinux:9``);
    * Red Hat: the repository after ``::`` is dropped
      (``Red Hat:enterprise_linux:9::appstream`` -> ``Red Hat:enterprise_linux:9``)
      and a bare release means RHEL (``Red Hat:9`` -> ``Red Hat:enterprise_linux:9``);
    * anything else is kept as written.
    """
    base, _, rest = ecosystem.strip().partition(":")
    base = _ECOSYSTEM_NAMES.get(base.strip().lower(), base.strip())
    rest = rest.strip()
    if not rest:
        return base
    if base == "Debian":
        release = _DEBIAN_CODENAMES.get(rest.lower(), rest)
        m = _MAJOR.fullmatch(release)
        rest = m.group(1) if m else release
    elif base == "Ubuntu":
        parts = [p for p in rest.split(":") if p]
        if parts and parts[-1].upper() == "LTS":
            parts.pop()
        rest = ":".join(parts)
    elif base == "Alpine":
        m = _MAJOR_MINOR.fullmatch(rest.lstrip("vV"))
        if m:
            rest = f"v{m.group(1)}.{m.group(2)}"
    elif base in ("AlmaLinux", "Rocky Linux"):
        m = _MAJOR.fullmatch(rest)
        if m:
            rest = m.group(1)
    elif base == "Red Hat":
        rest = rest.split("::", 1)[0]
        m = _MAJOR.fullmatch(rest)
        if m:
            rest = f"enterprise_linux:{m.group(1)}"
    return f"{base}:{rest}" if rest else base


def ecosystem_base(ecosystem: str) -> str:
    return ecosystem.partition(":")[0]


def ecosystem_family(ecosystem: str) -> str | None:
    """``"dpkg"``, ``"rpm"``, ``"apk"``, or ``None`` when this module has no version rules for the ecosystem."""
    return FAMILIES.get(ecosystem_base(normalize_ecosystem(ecosystem)))


def matched_name_version(package: InstalledPackage, base: str, family: str | None) -> tuple[str, str]:
    """The (name, version) a package is looked up and compared with in its ecosystem's records."""
    if base in _SOURCE_KEYED:
        name = package.source_name or package.name
        version = package.source_version or package.version
        if family == "dpkg" and not package.source_version:
            # A binNMU rebuilds the binary as "<source version>+bN"; the records speak of the source.
            version = _BINNMU.sub("", version)
        return name, version
    return package.name, package.version


_BINNMU = re.compile(r"\+b\d+$")


def package_lookup_keys(package: InstalledPackage) -> list[tuple[str, str]]:
    """The ``(ecosystem, name)`` keys under which records that may affect ``package`` are stored.

    The same form as ``affected_index_keys``: the Django side can select the
    candidate records with these and hand them to ``OsvIndex``.
    """
    ecosystem = normalize_ecosystem(package.ecosystem)
    base = ecosystem_base(ecosystem)
    name, _ = matched_name_version(package, base, FAMILIES.get(base))
    if not name:
        return []
    keys = [(ecosystem, name)]
    if base != ecosystem:
        keys.append((base, name))
    return keys
