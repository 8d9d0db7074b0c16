"""CycloneDX 1.5 JSON SBOM of a scan's package inventory, built by hand (no extra dependency)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shelf.scanning.engine.model import ENGINE_VERSION

if TYPE_CHECKING:
    from shelf.scanning.engine.model import ScanResult

NAMESPACE = uuid.UUID("6b2f3c9e-5d1a-4f0e-9a51-8a0c6a1f5e42")


def cyclonedx(result: ScanResult, *, timestamp: datetime | None = None) -> dict[str, Any]:
    components = []
    refs: set[str] = set()
    for pkg in result.packages:
        ref = pkg.purl
        n = 1
        while ref in refs:
            n += 1
            ref = f"{pkg.purl}#{n}"
        refs.add(ref)
        properties = [
            {"name": "shelf:source_name", "value": pkg.source_name},
            {"name": "shelf:source_version", "value": pkg.source_version},
            {"name": "shelf:ecosystem", "value": pkg.ecosystem},
        ]
        if pkg.arch:
            properties.append({"name": "shelf:arch", "value": pkg.arch})
        components.append(
            {
                "type": "library",
                "bom-ref": ref,
                "name": pkg.name,
                "version": pkg.version,
                "purl": pkg.purl,
                "properties": properties,
            }
        )
    metadata: dict[str, Any] = {
        "timestamp": (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tools": {"components": [{"type": "application", "name": "shelf-scan-engine", "version": ENGINE_VERSION}]},
    }
    if result.os:
        metadata["component"] = {
            "type": "operating-system",
            "bom-ref": "os",
            "name": result.os.distro,
            "version": result.os.version,
            "description": result.os.pretty_name,
            "properties": [{"name": "shelf:arch", "value": result.os.arch}] if result.os.arch else [],
        }
    serial = uuid.uuid5(NAMESPACE, "\n".join(sorted(refs)) + metadata["timestamp"])
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": metadata,
        "components": components,
    }
    if result.os:
        bom["dependencies"] = [{"ref": "os", "dependsOn": sorted(refs)}]
    return bom
