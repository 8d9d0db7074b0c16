from collections import defaultdict
from datetime import date

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import operator_required, provider_required
from shelf.audit.selectors import audit_events_for
from shelf.catalog.selectors import regions_active
from shelf.errors import Conflict, RuleViolations
from shelf.forms import message_error
from shelf.images.models import Image
from shelf.images.selectors import images_for, images_owned_by
from shelf.scanning.downloads import sbom_response
from shelf.scanning.engine.severity import VULN_SEVERITIES
from shelf.scanning.forms import ExceptionForm
from shelf.scanning.models import Scan, ScanPolicy
from shelf.scanning.selectors import (
    exceptions_for,
    exceptions_of,
    findings_by_severity,
    latest_scan,
    latest_scans,
    scans_for,
    scans_of,
    yara_rule_sets_for,
)
from shelf.scanning.services import exception_grant, exception_revoke, policy_update, scan_request
from shelf.scanning.signals import image_page_panels
from shelf.scanning.vulndb import vulndb_updated_at
from shelf.scanning.yara_rules import yara_rule_save, yara_rule_set_active


def _visible_scan(request, scan_id) -> Scan:
    if not request.user.is_authenticated:
        raise Http404
    return get_object_or_404(scans_for(request.user), pk=scan_id)


def scan_report(request, scan_id):
    """The report: verdict, findings by severity with evidence and fixes, exceptions, SBOM, history."""
    scan = _visible_scan(request, scan_id)
    return render(
        request,
        "scanning/report.html",
        {
            "scan": scan,
            "image": scan.image,
            "groups": findings_by_severity(scan),
            "history": scans_of(scan.image)[:20],
            "exceptions": exceptions_of(image=scan.image),
            "vulndb_updated_at": scan.vulndb_updated_at or vulndb_updated_at(),
            "today": date.today(),
        },
    )


def scan_sbom(request, scan_id):
    scan = _visible_scan(request, scan_id)
    return sbom_response(scan)


@require_POST
def image_rescan(request, image_id):
    if not request.user.is_authenticated:
        raise Http404
    image = get_object_or_404(images_for(request.user), pk=image_id)
    try:
        scan = scan_request(image=image, actor=request.user)
    except Conflict as exc:
        message_error(request, exc)
        return redirect("images:detail", image_id=image.pk)
    messages.success(request, _("Scan queued."))
    return redirect("scanning:report", scan_id=scan.pk)


@operator_required
@require_POST
def exception_new(request, scan_id):
    scan = _visible_scan(request, scan_id)
    form = ExceptionForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("scanning:report", scan_id=scan.pk)
    try:
        exception_grant(actor=request.user, image=scan.image, **form.cleaned_data)
    except RuleViolations as exc:
        for violation in exc.violations:
            messages.error(request, violation.message)
    else:
        messages.success(request, _("Exception granted; it applies from the next scan. Rescan to see the new verdict."))
    return redirect("scanning:report", scan_id=scan.pk)


@operator_required
@require_POST
def exception_remove(request, exception_id: int):
    exception = get_object_or_404(exceptions_for(user=request.user), pk=exception_id)
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
    return render(
        request,
        "scanning/policy.html",
        {
            "policy": policy,
            "errors": errors,
            "severities": list(VULN_SEVERITIES),
        },
    )


# ---- operators' malware rule sets (YARA) --------------------------------------------------------------


@operator_required
def yara_rules(request):
    """List the rule sets and add one; a rule set that does not compile is shown with its line and not saved (422)."""
    errors, form = [], {"name": "", "source": "", "is_active": True}
    if request.method == "POST":
        form = {
            "name": request.POST.get("name", ""),
            "source": request.POST.get("source", ""),
            "is_active": bool(request.POST.get("is_active")),
        }
        try:
            rule_set = yara_rule_save(actor=request.user, **form)
        except RuleViolations as exc:
            errors = exc.violations
        else:
            messages.success(request, _("Rule set “%(name)s” saved; the next scans use it.") % {"name": rule_set.name})
            return redirect("scanning:yara_rules")
    return render(
        request,
        "scanning/yara_rules.html",
        {
            "rule_sets": yara_rule_sets_for(user=request.user),
            "errors": errors,
            "form": form,
            "editing": None,
        },
        status=422 if errors else 200,
    )


@operator_required
def yara_rule_edit(request, rule_set_id: int):
    rule_set = get_object_or_404(yara_rule_sets_for(user=request.user), pk=rule_set_id)
    errors = []
    form = {"name": rule_set.name, "source": rule_set.source, "is_active": rule_set.is_active}
    if request.method == "POST":
        form = {
            "name": request.POST.get("name", ""),
            "source": request.POST.get("source", ""),
            "is_active": bool(request.POST.get("is_active")),
        }
        try:
            yara_rule_save(actor=request.user, rule_set=rule_set, **form)
        except RuleViolations as exc:
            errors = exc.violations
            rule_set.refresh_from_db()
        else:
            messages.success(request, _("Rule set “%(name)s” saved; the next scans use it.") % {"name": rule_set.name})
            return redirect("scanning:yara_rules")
    return render(
        request,
        "scanning/yara_rules.html",
        {
            "rule_sets": yara_rule_sets_for(user=request.user),
            "errors": errors,
            "form": form,
            "editing": rule_set,
        },
        status=422 if errors else 200,
    )


@operator_required
@require_POST
def yara_rule_active(request, rule_set_id: int):
    rule_set = get_object_or_404(yara_rule_sets_for(user=request.user), pk=rule_set_id)
    active = request.POST.get("active") == "1"
    yara_rule_set_active(actor=request.user, rule_set=rule_set, active=active)
    if active:
        messages.success(request, _("Rule set “%(name)s” is active again.") % {"name": rule_set.name})
    else:
        messages.success(
            request, _("Rule set “%(name)s” deactivated; scans no longer use it.") % {"name": rule_set.name}
        )
    return redirect("scanning:yara_rules")


# The provider's image pages show each image with its latest scan, so they live here, in the layer that knows
# both (images sits below scanning); their URLs keep the `images` namespace (shelf/scanning/image_urls.py).


@provider_required
def image_list(request):
    """The provider's images grouped by region, every active region shown so empty ones invite an import."""
    by_region = defaultdict(list)
    images = list(images_owned_by(request.user).select_related("upload"))
    latest = latest_scans(images=images)
    for image in images:
        image.latest_scan = latest.get(image.pk)
        by_region[image.region_id].append(image)
    regions = [(region, by_region.get(region.pk, [])) for region in regions_active()]
    return render(request, "images/list.html", {"regions": regions})


@provider_required
def image_detail(request, image_id):
    image = get_object_or_404(images_owned_by(request.user), pk=image_id)
    return render(
        request,
        "images/detail.html",
        {
            "image": image,
            "copy_regions": regions_active().exclude(pk=image.region_id),
            "copies": images_owned_by(request.user).filter(source_image=image),
            "audit_events": audit_events_for(target=image),
            "latest_scan": latest_scan(image),
            "panels": [html for _r, html in image_page_panels.send(sender=Image, image=image, request=request) if html],
        },
    )
