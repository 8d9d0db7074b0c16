"""Operator console: the review queue, the review page, decisions and metrics."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import operator_required
from shelf.accounts.models import Organization, User
from shelf.audit.models import AuditEvent
from shelf.catalog.models import Category
from shelf.errors import Conflict, RuleViolations
from shelf.prereview.checks import prereview
from shelf.products import rules
from shelf.products.models import Revision
from shelf.products.selectors import business_days_left, due_label
from shelf.products.services import product_delist
from shelf.reviews import crosscheck as software
from shelf.reviews.selectors import review_metrics, review_queue
from shelf.reviews.services import (
    CHECKLIST,
    REJECTABLE_FIELDS,
    review_approve,
    review_claim,
    review_reassign,
    review_reject,
    review_release,
)
from shelf.scanning.models import FindingException
from shelf.scanning.selectors import latest_scan


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
            "categories": Category.objects.filter(parent__isnull=True),
            "providers": Organization.objects.order_by("name"),
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
    for delivery in revision.deliveries.select_related("image", "region"):
        scan = latest_scan(delivery.image)
        if scan is not None and scan.status == "done":
            packages += scan.packages or []
        deliveries.append(
            {
                "delivery": delivery,
                "scan": scan,
                "exceptions": FindingException.objects.filter(image=delivery.image, revoked_at__isnull=True),
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
            revision.software, packages if any(d["scan"] and d["scan"].status == "done" for d in deliveries) else None
        ),
        "checklist": CHECKLIST,
        "fields": REJECTABLE_FIELDS,
        "due": due_label(revision),
        "operators": User.objects.filter(kind=User.Kind.OPERATOR, is_active=True),
        "audit_events": AuditEvent.objects.for_object(revision.product)[:30],
        "listed": revision.product.revisions.filter(status=Revision.Status.LISTED).exclude(pk=revision.pk).first(),
    }


@operator_required
def review_page(request, revision_id: int):
    revision = get_object_or_404(
        Revision.objects.select_related("product__organization", "category__parent"), pk=revision_id
    )
    return render(request, "reviews/review.html", _review_context(revision))


def _act(request, revision_id, action):
    revision = get_object_or_404(Revision, pk=revision_id)
    try:
        action(revision)
    except (Conflict, RuleViolations) as exc:
        messages.error(request, getattr(exc, "message", None) or "; ".join(v.message for v in exc.violations))
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
    to = get_object_or_404(User, username=request.POST.get("operator", ""), kind=User.Kind.OPERATOR)
    failed = _act(request, revision_id, lambda r: review_reassign(operator=request.user, revision=r, to=to))
    return failed or redirect("reviews:review", revision_id=revision_id)


def _checklist(request) -> dict:
    return {key: bool(request.POST.get(f"check-{key}")) for key, _label in CHECKLIST}


@operator_required
@require_POST
def approve(request, revision_id: int):
    checklist = _checklist(request)
    if not all(checklist.values()):
        messages.error(request, _("Tick every item of the checklist before approving, or reject with reasons."))
        return redirect("reviews:review", revision_id=revision_id)
    failed = _act(
        request, revision_id, lambda r: review_approve(operator=request.user, revision=r, checklist=checklist)
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
    revisions = Revision.objects.filter(status=Revision.Status.LISTED).select_related(
        "product__organization", "category"
    )
    return render(request, "reviews/listed.html", {"revisions": revisions.order_by("-decided_at")})


@operator_required
@require_POST
def delist(request, revision_id: int):
    revision = get_object_or_404(Revision, pk=revision_id, status=Revision.Status.LISTED)
    try:
        product_delist(actor=request.user, product=revision.product, reason=request.POST.get("reason", ""))
    except (Conflict, RuleViolations) as exc:
        messages.error(request, getattr(exc, "message", None) or exc.violations[0].message)
    else:
        messages.success(request, _("Delisted; the provider is notified."))
    return redirect("reviews:listed")
