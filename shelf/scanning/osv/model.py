"""What OSV matching works with: an installed package, a vulnerability match, a skipped record; `blocking()`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from shelf.scanning.osv.severity import DEFAULT_FAILING_SEVERITIES


@dataclass(frozen=True)
class InstalledPackage:
    """A package installed in an image.

    ``ecosystem`` is the OSV ecosystem of the image's distribution release, e.g.
    ``"Debian:12"``, ``"Ubuntu:22.04"`` (``"Ubuntu:22.04:LTS"`` too),
    ``"Alpine:v3.19"``, ``"AlmaLinux:9"``, ``"Rocky Linux:9"``,
    ``"Red Hat:enterprise_linux:9"``; see ``normalize_ecosystem`` for the
    spellings accepted. ``name``/``version`` are the binary package's;
    ``source_name``/``source_version`` the source (Debian, Ubuntu) or origin
    (Alpine) package's, where they differ or are known. For RPM ecosystems
    ``version`` is ``[epoch:]version-release``.
    """

    ecosystem: str
    name: str
    version: str
    source_name: str = ""
    source_version: str = ""


@dataclass(frozen=True)
class VulnMatch:
    """One vulnerability affecting one installed package.

    ``package`` is the binary package; ``source`` the package name the record
    was matched on (the source package for Debian/Ubuntu, the origin for
    Alpine, the binary for RPM). ``installed_version`` is the version that was
    compared (the source version for Debian/Ubuntu), so it is directly
    comparable with ``fixed_version``; ``fixed_version`` is ``None`` when no
    fix is published yet.
    """

    vuln_id: str
    aliases: tuple[str, ...]
    package: str
    source: str
    installed_version: str
    fixed_version: str | None
    severity: str
    summary: str
    references: tuple[str, ...]
    modified: str

    @property
    def fix_available(self) -> bool:
        return self.fixed_version is not None


@dataclass(frozen=True)
class RecordError:
    """A file, archive member or record that was skipped, and why."""

    source: str
    reason: str


def blocking(matches: Iterable[VulnMatch], severities: Iterable[str] = DEFAULT_FAILING_SEVERITIES) -> list[VulnMatch]:
    """The matches that fail a policy: a fix is published and the severity is one of ``severities``."""
    wanted = frozenset(severities)
    return [m for m in matches if m.fix_available and m.severity in wanted]
