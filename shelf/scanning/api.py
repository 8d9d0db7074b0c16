from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Router, Status

from shelf.images.selectors import images_for
from shelf.scanning.downloads import sbom_response
from shelf.scanning.models import Scan
from shelf.scanning.schemas import ScanOut, ScanReportOut
from shelf.scanning.selectors import latest_scan, scans_for
from shelf.scanning.services import scan_request

router = Router(tags=["scans"])


def scan_out(scan: Scan) -> dict:
    findings = list(scan.findings.all())
    counts: dict[str, int] = {}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return {
        "id": scan.id,
        "image": scan.image_id,
        "status": scan.status,
        "verdict": scan.verdict,
        "trigger": scan.trigger,
        "created_at": scan.created_at,
        "started_at": scan.started_at,
        "finished_at": scan.finished_at,
        "error": scan.error,
        "vulndb_updated_at": scan.vulndb_updated_at,
        "counts": counts,
        "blocking": sum(f.blocking for f in findings),
    }


def report_out(scan: Scan) -> dict:
    stats = {k: v for k, v in (scan.stats or {}).items() if k != "sbom"}
    return {
        **scan_out(scan),
        "os": scan.os or {},
        "incomplete": scan.incomplete or [],
        "packages": len(scan.packages or []),
        "stats": stats,
        "findings": [
            {
                "check_id": f.check_id,
                "family": f.family,
                "severity": f.severity,
                "title": f.title,
                "evidence": f.evidence,
                "fix": f.fix,
                "key": f.key,
                "blocking": f.blocking,
                "excepted": f.excepted_by_id is not None,
                "exception_expires_at": f.excepted_by.expires_at if f.excepted_by_id else None,
                "data": f.data,
            }
            for f in scan.findings.select_related("excepted_by")
        ],
    }


@router.post("/images/{uuid:image_id}/scans", response={202: ScanOut})
def scan_start(request, image_id):
    """Scan the image now (rescan). An already queued or running scan is returned instead of a second one."""
    image = get_object_or_404(images_for(request.user), pk=image_id)
    return Status(202, scan_out(scan_request(image=image, actor=request.user)))


@router.get("/images/{uuid:image_id}/scans/latest", response=ScanOut)
def scan_latest(request, image_id):
    scan = latest_scan(get_object_or_404(images_for(request.user), pk=image_id))
    if scan is None:
        raise Http404
    return scan_out(scan)


@router.get("/scans/{uuid:scan_id}", response=ScanReportOut)
def scan_report(request, scan_id):
    return report_out(get_object_or_404(scans_for(request.user), pk=scan_id))


@router.get("/scans/{uuid:scan_id}/sbom", response={200: dict})
def scan_sbom(request, scan_id):
    """The image's software bill of materials (CycloneDX JSON)."""
    scan = get_object_or_404(scans_for(request.user), pk=scan_id, status=Scan.Status.DONE)
    return sbom_response(scan)
