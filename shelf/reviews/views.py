"""Operator console: the review queue, the review page, decisions and metrics."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import operator_required
from shelf.accounts.selectors import operators, organizations_all
from shelf.audit.selectors import audit_events_for
from shelf.catalog.selectors import categories_top_level
from shelf.compute.selectors import latest_boot_check
from shelf.compute.services import boot_check_rerun as compute_boot_check_rerun
from shelf.forms import ServiceError, message_error
from shelf.prereview.checks import prereview
from shelf.products import rules
from shelf.products.models import Revision
from shelf.products.selectors import business_days_left, due_label, listed_revision, revision_deliveries
from shelf.products.services import product_delist
from shelf.reviews import crosscheck as software
from shelf.reviews.selectors import (
    listed_revisions,
    review_metrics,
    review_queue,
    revisions_for_review,
)
from shelf.reviews.services import (
    CHECKLIST,
    REJECTABLE_FIELDS,
    review_approve,
    review_claim,
    review_reassign,
    review_reject,
    review_release,
)
from shelf.scanning.models import Scan
from shelf.scanning.selectors import exceptions_of, latest_scan


@operator_required
def queue(request):
    category, provider = request.GET.get("category") or None, request.GET.get("provider") or None
    rows = [
        (r, due_label(r), (business_days_left(r) or 0) < 0) for r in review_queue(category=category, provider=provider)
    ]
    return render(
        request,
        "reviews/queue.html",
        {
            "rows": rows,
            "category": category,
            "provider": provider,
            "categories": categories_top_level(),
            "providers": organizations_all(),
        },
    )


def _review_context(revision: Revision) -> dict:
    violations = rules.revision_violations(revision)
    rule_rows = []
    for key, label, fields in rules.STEPS[:-1]:
        failing = [v for v in violations if rules.step_of(v.field) == key]
        rule_rows.append({"step": label, "fields": fields, "violations": failing})
    deliveries = []
    packages: list[dict] = []
    for delivery in revision_deliveries(revision=revision):
        scan = latest_scan(delivery.image)
        if scan is not None and scan.status == Scan.Status.DONE:
            packages += scan.packages or []
        deliveries.append(
            {
                "delivery": delivery,
                "scan": scan,
                "boot_check": latest_boot_check(delivery.image),
                "exceptions": exceptions_of(image=delivery.image, in_force=True),
            }
        )
    hits = prereview(revision)
    return {
        "revision": revision,
        "product": revision.product,
        "rule_rows": rule_rows,
        "violations": violations,
        "deliveries": deliveries,
        "hits": hits,
        "software": software.crosscheck(
            revision.software,
            packages if any(d["scan"] and d["scan"].status == Scan.Status.DONE for d in deliveries) else None,
        ),
        "checklist": CHECKLIST,
        "fields": REJECTABLE_FIELDS,
        "due": due_label(revision),
        "operators": operators(active=True),
        "audit_events": audit_events_for(target=revision.product, limit=30),
        "listed": listed_revision(product=revision.product, other_than=revision),
        # The product page as buyers see it, and the decision form, compare statuses and show limits through these.
        "rules": rules,
        "RevisionStatus": Revision.Status,
        "BillingMode": Revision.BillingMode,
    }


@operator_required
def review_page(request, revision_id: int):
    revision = get_object_or_404(revisions_for_review(user=request.user), pk=revision_id)
    return render(request, "reviews/review.html", _review_context(revision))


def _act(request, revision_id, action):
    revision = get_object_or_404(revisions_for_review(user=request.user), pk=revision_id)
    try:
        action(revision)
    except ServiceError as exc:
        message_error(request, exc)
        return redirect("reviews:review", revision_id=revision.pk)
    return None


@operator_required
@require_POST
def claim(request, revision_id: int):
    failed = _act(request, revision_id, lambda r: review_claim(operator=request.user, revision=r))
    return failed or redirect("reviews:review", revision_id=revision_id)


@operator_required
@require_POST
def release(request, revision_id: int):
    _act(request, revision_id, lambda r: review_release(operator=request.user, revision=r))
    return redirect("reviews:queue")


@operator_required
@require_POST
def reassign(request, revision_id: int):
    to = get_object_or_404(operators(), username=request.POST.get("operator", ""))
    failed = _act(request, revision_id, lambda r: review_reassign(operator=request.user, revision=r, to=to))
    return failed or redirect("reviews:review", revision_id=revision_id)


def _checklist(request) -> dict:
    """The ticked boxes; review_approve decides whether that is every item."""
    return {key: bool(request.POST.get(f"check-{key}")) for key, _label in CHECKLIST}


@operator_required
@require_POST
def approve(request, revision_id: int):
    failed = _act(
        request,
        revision_id,
        lambda r: review_approve(
            operator=request.user,
            revision=r,
            checklist=_checklist(request),
            boot_check_exception=request.POST.get("boot_check_exception", ""),
        ),
    )
    if failed:
        return failed
    messages.success(request, _("Approved: the product is listed."))
    return redirect("reviews:queue")


@operator_required
@require_POST
def reject(request, revision_id: int):
    reasons = {field: request.POST.get(f"reason-{field}", "") for field in REJECTABLE_FIELDS}
    failed = _act(
        request,
        revision_id,
        lambda r: review_reject(operator=request.user, revision=r, reasons=reasons, checklist=_checklist(request)),
    )
    if failed:
        return failed
    messages.success(request, _("Rejected; the provider sees your reasons next to the fields."))
    return redirect("reviews:queue")


@operator_required
def metrics(request):
    data = review_metrics()
    peak = max([w["approved"] + w["rejected"] for _k, w in data["weeks"]] or [1])
    return render(request, "reviews/metrics.html", {"m": data, "peak": peak})


@operator_required
def listed(request):
    return render(request, "reviews/listed.html", {"revisions": listed_revisions(user=request.user)})


@operator_required
@require_POST
def delist(request, revision_id: int):
    revision = get_object_or_404(listed_revisions(user=request.user), pk=revision_id)
    try:
        product_delist(actor=request.user, product=revision.product, reason=request.POST.get("reason", ""))
    except ServiceError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("Delisted; the provider is notified."))
    return redirect("reviews:listed")


@operator_required
@require_POST
def boot_check_rerun(request, revision_id: int, image_id):
    """Boot one of the revision's delivered images again after its boot check failed."""
    revision = get_object_or_404(revisions_for_review(user=request.user), pk=revision_id)
    delivery = get_object_or_404(revision.deliveries.select_related("image"), image_id=image_id)
    try:
        compute_boot_check_rerun(actor=request.user, image=delivery.image)
    except ServiceError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("Boot check queued."))
    return redirect("reviews:review", revision_id=revision.pk)
