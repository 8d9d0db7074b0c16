from datetime import date

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import operator_required
from shelf.errors import Conflict, RuleViolations
from shelf.images.selectors import images_for
from shelf.scanning.models import FindingException, Scan, ScanPolicy
from shelf.scanning.selectors import findings_by_severity, scans_for, scans_of
from shelf.scanning.services import exception_grant, exception_revoke, policy_update, scan_request
from shelf.scanning.vulndb import vulndb_updated_at


def _visible_scan(request, scan_id) -> Scan:
    if not request.user.is_authenticated:
        raise Http404
    return get_object_or_404(scans_for(request.user), pk=scan_id)


def scan_report(request, scan_id):
    """The report: verdict, findings by severity with evidence and fixes, exceptions, SBOM, history."""
    scan = _visible_scan(request, scan_id)
    return render(request, "scanning/report.html", {
        "scan": scan, "image": scan.image, "groups": findings_by_severity(scan), "history": scans_of(scan.image)[:20],
        "exceptions": FindingException.objects.filter(image=scan.image).select_related("granted_by"),
        "vulndb_updated_at": scan.vulndb_updated_at or vulndb_updated_at(), "today": date.today(),
    })


def scan_sbom(request, scan_id):
    scan = _visible_scan(request, scan_id)
    response = JsonResponse((scan.stats or {}).get("sbom") or {}, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="sbom-{scan.image_id}.cdx.json"'
    return response


@require_POST
def image_rescan(request, image_id):
    if not request.user.is_authenticated:
        raise Http404
    image = get_object_or_404(images_for(request.user), pk=image_id)
    try:
        scan = scan_request(image=image, actor=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("images:detail", image_id=image.pk)
    messages.success(request, _("Scan queued."))
    return redirect("scanning:report", scan_id=scan.pk)


@operator_required
@require_POST
def exception_new(request, scan_id):
    scan = _visible_scan(request, scan_id)
    try:
        expires = date.fromisoformat(request.POST.get("expires_at", ""))
    except ValueError:
        expires = None
    try:
        exception_grant(actor=request.user, image=scan.image, check_id=request.POST.get("check_id", ""),
                        key=request.POST.get("key", ""), justification=request.POST.get("justification", ""), expires_at=expires)
    except RuleViolations as exc:
        for violation in exc.violations:
            messages.error(request, violation.message)
    else:
        messages.success(request, _("Exception granted; it applies from the next scan. Rescan to see the new verdict."))
    return redirect("scanning:report", scan_id=scan.pk)


@operator_required
@require_POST
def exception_remove(request, exception_id: int):
    exception = get_object_or_404(FindingException, pk=exception_id)
    exception_revoke(actor=request.user, exception=exception)
    messages.success(request, _("Exception revoked."))
    latest = scans_of(exception.image).first()
    return redirect("scanning:report", scan_id=latest.pk) if latest else redirect("console:operator_home")


@operator_required
def policy_edit(request):
    policy = ScanPolicy.current()
    errors = []
    if request.method == "POST":
        try:
            policy_update(
                actor=request.user,
                fail_checks=[line.strip() for line in request.POST.get("fail_checks", "").splitlines() if line.strip()],
                fail_vuln_severities=request.POST.getlist("fail_vuln_severities"),
                fail_unfixed_vulns=bool(request.POST.get("fail_unfixed_vulns")),
                require_vulndb=bool(request.POST.get("require_vulndb")),
            )
        except RuleViolations as exc:
            errors = exc.violations
        else:
            messages.success(request, _("Scan policy saved; it applies to the next scans."))
            return redirect("scanning:policy")
    return render(request, "scanning/policy.html", {
        "policy": policy, "errors": errors, "severities": ["critical", "high", "medium", "low", "unknown"],
    })
