"""The "verified by scan" panel of a listed product: what Shelf itself found in the images it sells.

For each image a listed revision delivers: the operating system and version the scan read from the image, the date
and verdict of its latest finished scan, and whether its SBOM can be downloaded; for the revision, the integrated
software the provider claimed next to the installed packages that provide it (the review's cross-check, run on
the same scan inventories the reviewer saw).

Public, so it carries only what a buyer needs to trust the product and nothing that helps an attacker: no
findings, no evidence, no paths, no counts of problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shelf.products.models import Revision
from shelf.reviews import crosscheck
from shelf.scanning.models import Scan
from shelf.scanning.selectors import latest_finished_scans


@dataclass(frozen=True)
class ImageFacts:
    """One delivered image as the scan saw it, with the regions it is delivered to."""

    regions: list  # catalog Regions, in delivery order
    sbom_region: str  # the region code the public SBOM URL names (the first region delivering this image)
    os_name: str  # "Debian GNU/Linux 12 (bookworm)", or "" when the scan could not tell
    os_distro: str
    os_version: str
    scanned_at: datetime | None
    verdict: str  # passed | failed | incomplete | "" (never scanned to the end)
    verdict_label: str


@dataclass(frozen=True)
class SoftwareRow:
    declared: str
    result: str  # found | found_as | not_found | unknown
    package: str
    version: str


@dataclass(frozen=True)
class VerifiedPanel:
    images: list[ImageFacts]
    software: list[SoftwareRow]

    @property
    def scanned(self) -> bool:
        return any(facts.scanned_at for facts in self.images)


def verified_panel(*, revision: Revision) -> VerifiedPanel:
    """The panel for a listed revision the caller already reached (its deliveries prefetched with region and image)."""
    by_image: dict = {}
    for delivery in revision.deliveries.all():
        by_image.setdefault(delivery.image_id, []).append(delivery.region)
    scans = latest_finished_scans(image_ids=list(by_image))
    verdicts = dict(Scan.Verdict.choices)
    images, packages = [], []
    for image_id, regions in by_image.items():
        scan = scans.get(image_id)
        os_info = (scan.os or {}) if scan else {}
        if scan is not None:
            packages += scan.packages or []
        images.append(
            ImageFacts(
                regions=regions,
                sbom_region=regions[0].code,
                os_name=os_info.get("pretty_name") or "",
                os_distro=os_info.get("distro") or "",
                os_version=os_info.get("version") or "",
                scanned_at=(scan.finished_at or scan.created_at) if scan else None,
                verdict=scan.verdict if scan else "",
                verdict_label=str(verdicts.get(scan.verdict, "")) if scan else "",
            )
        )
    checks = crosscheck.crosscheck(revision.software or [], packages if scans else None)
    return VerifiedPanel(
        images=images,
        software=[SoftwareRow(c.declared, c.result, c.package, c.version) for c in checks],
    )
