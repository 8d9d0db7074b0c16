"""The scan engine's result types: plain dataclasses, JSON-friendly through `to_dict()`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from shelf.scanning.engine.severity import SEVERITY_RANK

#: Recorded with every result and SBOM, so a stored scan says which engine produced it.
ENGINE_VERSION = "1"


@dataclass
class Evidence:
    """Where a finding was seen: a path inside the image, the 1-based line if it applies, and a short text.

    The text never carries a secret: checks mask what they quote.
    """

    path: str
    line: int | None = None
    text: str = ""


@dataclass
class Finding:
    check_id: str
    severity: str
    title: str
    evidence: list[Evidence]
    fix: str
    family: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITY_RANK:
            raise ValueError(f"unknown severity {self.severity!r}")


@dataclass
class Package:
    name: str
    version: str
    arch: str
    ecosystem: str
    source_name: str
    source_version: str
    purl: str


@dataclass
class OsInfo:
    family: str
    distro: str
    version: str
    pretty_name: str
    arch: str
    eol: bool | None
    eol_date: str | None


@dataclass
class ScanResult:
    os: OsInfo | None
    packages: list[Package]
    findings: list[Finding]
    incomplete: list[str]
    stats: dict[str, Any]

    @property
    def passed(self) -> bool:
        """No finding and nothing left unchecked. The caller decides what severities block a listing."""
        return not self.findings and not self.incomplete

    def to_dict(self) -> dict[str, Any]:
        return {
            "engine_version": ENGINE_VERSION,
            "os": asdict(self.os) if self.os else None,
            "packages": [asdict(p) for p in self.packages],
            "findings": [asdict(f) for f in self.findings],
            "incomplete": list(self.incomplete),
            "stats": dict(self.stats),
        }

    def sbom(self) -> dict[str, Any]:
        from shelf.scanning.engine.sbom import cyclonedx

        return cyclonedx(self)
