"""Reads of scans, filtered by who may see them: the image's organisation and operators."""

from django.db.models import F, QuerySet

from shelf.images.selectors import images_for
from shelf.scanning.engine.severity import SEVERITIES
from shelf.scanning.models import FindingException, Scan, YaraRuleSet


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


def latest_scans(*, images) -> dict:
    """image id -> its most recent scan, for a list of images already filtered for the reader (one query)."""
    latest: dict = {}
    for scan in Scan.objects.filter(image__in=images).order_by("image_id", "-created_at"):
        latest.setdefault(scan.image_id, scan)
    return latest


def latest_finished_scans(*, image_ids) -> dict:
    """image id -> its most recent finished scan (verdict, OS, package inventory), for images the caller may show
    (one query). The SBOM stored in `stats` is left unread: `latest_finished_scan` fetches it for its download."""
    latest: dict = {}
    scans = Scan.objects.filter(image_id__in=image_ids, status=Scan.Status.DONE).defer("stats")
    for scan in scans.order_by("image_id", F("finished_at").desc(nulls_last=True), "-created_at"):
        latest.setdefault(scan.image_id, scan)
    return latest


def latest_finished_scan(*, image_id) -> Scan | None:
    """The most recent finished scan of an image the caller may show, whole (with its SBOM)."""
    scans = Scan.objects.filter(image_id=image_id, status=Scan.Status.DONE)
    return scans.order_by(F("finished_at").desc(nulls_last=True), "-created_at").first()


def exceptions_of(*, image, in_force: bool = False) -> QuerySet[FindingException]:
    """The finding exceptions granted for an image (of a scan the reader may see); `in_force`: not revoked."""
    exceptions = FindingException.objects.filter(image=image).select_related("granted_by")
    return exceptions.filter(revoked_at__isnull=True) if in_force else exceptions


def exceptions_for(*, user) -> QuerySet[FindingException]:
    """Every finding exception, for operators (who grant and revoke them); none for anyone else, so a 404."""
    if user.is_authenticated and user.is_operator:
        return FindingException.objects.select_related("image")
    return FindingException.objects.none()


def yara_rule_sets_for(*, user) -> QuerySet[YaraRuleSet]:
    """The operators' malware rule sets, for operators only."""
    if user.is_authenticated and user.is_operator:
        return YaraRuleSet.objects.select_related("updated_by")
    return YaraRuleSet.objects.none()
