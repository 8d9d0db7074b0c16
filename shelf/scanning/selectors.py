"""Reads of scans, filtered by who may see them: the image's organisation and operators."""

from django.db.models import QuerySet

from shelf.images.selectors import images_for
from shelf.scanning.engine.severity import SEVERITIES
from shelf.scanning.models import Scan


def latest_scan(image) -> Scan | None:
    """The most recent scan of the image, finished or not."""
    return Scan.objects.filter(image=image).order_by("-created_at").first()


def scans_of(image) -> QuerySet[Scan]:
    return Scan.objects.filter(image=image).order_by("-created_at")


def scans_for(user) -> QuerySet[Scan]:
    return Scan.objects.filter(image__in=images_for(user)).select_related("image__region", "image__organization")


def findings_by_severity(scan: Scan) -> list[tuple[str, str, list]]:
    """(severity, its translated label, findings) for each severity that has findings, most severe first."""
    from shelf.scanning.models import Finding

    findings = list(scan.findings.select_related("excepted_by"))
    labels = dict(Finding.Severity.choices)
    return [
        (severity, labels[severity], [f for f in findings if f.severity == severity])
        for severity in SEVERITIES
        if any(f.severity == severity for f in findings)
    ]
