"""The product wizard in the provider console. Views parse the form, call one service and render."""

import re

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from shelf.accounts.access import provider_required
from shelf.accounts.selectors import organization_for_write
from shelf.audit.selectors import audit_events_for
from shelf.catalog.selectors import agreements_for_organization, category_tree, regions_active
from shelf.errors import RuleViolations
from shelf.forms import ServiceError, message_error, message_field_errors, violations_of
from shelf.images.models import Image
from shelf.images.selectors import images_for_delivery
from shelf.products import rules
from shelf.products.forms import NEW_AGREEMENT, AgreementChoiceForm
from shelf.products.models import Revision
from shelf.products.selectors import (
    due_label,
    product_list_for,
    products_for,
    revision_deliveries,
    revision_pictures,
    working_revision,
)
from shelf.products.services import (
    REVIEW_BUSINESS_DAYS,
    StaleDraft,
    document_set,
    picture_add,
    picture_delete,
    product_create,
    product_delist,
    product_revision_new,
    product_save_draft,
    product_submit,
    product_withdraw,
)
from shelf.products.signals import revision_review_panels
from shelf.scanning.selectors import latest_scan
from shelf.uploads import uploaded_file

# Rules and statuses the product templates show and compare, so no template repeats a limit or a status value.
TEMPLATE_RULES = {
    "rules": rules,
    "RevisionStatus": Revision.Status,
    "BillingMode": Revision.BillingMode,
    "AccessType": Revision.AccessType,
    "ImageStatus": Image.Status,
}


def _own(request, product_id):
    product = get_object_or_404(products_for(request.user), pk=product_id)
    return product, working_revision(product)


@provider_required
def product_list(request):
    status = request.GET.get("status") or None
    rows = product_list_for(request.user, status=status)
    for _product, revision in rows:
        revision.due = due_label(revision) if revision.status == Revision.Status.IN_REVIEW else ""
    return render(
        request,
        "products/list.html",
        {"rows": rows, "status": status, "statuses": Revision.Status.choices, **TEMPLATE_RULES},
    )


@provider_required
@require_POST
def product_new(request):
    try:
        organization = organization_for_write(request.user, request.POST.get("organization") or None)
    except RuleViolations as exc:
        message_error(request, exc)
        return redirect("products:list")
    revision = product_create(actor=request.user, organization=organization)
    return redirect("products:step", product_id=revision.product_id, step="access")


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").replace("\r", "").split("\n") if line.strip()]


def _ports(value: str) -> list:
    """ "80, 443" → [80, 443]; an entry that is no number stays text, so the rule names it."""
    return [int(t) if t.isascii() and t.isdigit() else t for t in re.split(r"[\s,;]+", value or "") if t]


def _changes_from_post(step: str, post) -> dict:
    """The form fields of one wizard step as service changes (the same names the API uses).

    Raises RuleViolations, like the service, for a value that cannot even be parsed (an agreement id that is no number).
    """
    if step == "access":
        return {"access_type": post.get("access_type", "")}
    if step == "category":
        return {"category": post.get("category") or None}
    if step == "basic":
        agreement = AgreementChoiceForm(post)
        if not agreement.is_valid():
            raise violations_of(agreement)
        changes = {
            "name": post.get("name", ""),
            "tags": _lines(post.get("tags")),
            "software": _lines(post.get("software")),
            "version": post.get("version", ""),
        }
        if agreement.cleaned_data["agreement"] == NEW_AGREEMENT:
            changes["new_agreement"] = {
                "title": post.get("new_agreement_title", ""),
                "body": post.get("new_agreement_body", ""),
            }
        else:
            changes["agreement"] = agreement.cleaned_data["agreement"]
        return changes
    if step == "delivery":
        return {
            "deliveries": {r.code: post.get(f"delivery-{r.code}") or None for r in regions_active()},
            "ports": _ports(post.get("ports", "")),
        }
    if step == "billing":
        return {
            f: post.get(f, "") for f in ("billing_mode", "price_yearly", "price_monthly", "price_hourly", "currency")
        }
    if step == "content":
        return {"summary": post.get("summary", ""), "details": post.get("details", "")}
    return {}


def _step_context(revision: Revision, step: str) -> dict:
    organization = revision.product.organization
    if step == "category":
        return {"tops": category_tree()}
    if step == "basic":
        return {"agreements": agreements_for_organization(organization), "NEW_AGREEMENT": NEW_AGREEMENT}
    if step == "delivery":
        images = images_for_delivery(organization=organization)
        chosen = {d.region_id: d.image_id for d in revision_deliveries(revision=revision)}
        return {
            "regions": [(r, [i for i in images if i.region_id == r.pk], chosen.get(r.pk)) for r in regions_active()]
        }
    if step == "security":
        return {"deliveries": [(d, latest_scan(d.image)) for d in revision_deliveries(revision=revision)]}
    if step == "billing":
        typed = revision.price_input or {}
        return {
            "prices": {
                f: typed.get(f, "") if getattr(revision, f) is None else f"{getattr(revision, f):.2f}"
                for f in ("price_yearly", "price_monthly", "price_hourly")
            }
        }
    if step == "review":
        panels = revision_review_panels.send(sender=Revision, revision=revision)
        return {
            "review_business_days": REVIEW_BUSINESS_DAYS,
            "audit_events": audit_events_for(target=revision.product, limit=20),
            "review_panels": [html for _receiver, html in panels if html],
        }
    return {}


def _render_step(request, product, revision, step, *, form=None, errors=None, stale=None, status=200):
    violations = rules.revision_violations(revision)
    by_step = {key: [v for v in violations if rules.step_of(v.field) == key] for key in rules.STEP_KEYS}
    field_errors: dict[str, list[str]] = {}
    for violation in (errors or []) + by_step[step]:
        field_errors.setdefault(violation.field.split(".")[0].split("[")[0], []).append(violation.message)
    steps = [
        {
            "key": key,
            "label": label,
            "index": i + 1,
            "done": rules.step_complete(key, by_step[key], revision),
            "current": key == step,
        }
        for i, (key, label, _f) in enumerate(rules.STEPS)
    ]
    index = rules.STEP_KEYS.index(step)
    context = {
        "product": product,
        "revision": revision,
        "step": step,
        "steps": steps,
        "step_label": rules.STEPS[index][1],
        "previous": rules.STEP_KEYS[index - 1] if index else None,
        "next": rules.STEP_KEYS[index + 1] if index + 1 < len(rules.STEP_KEYS) else None,
        "field_errors": field_errors,
        "step_violations": (errors or []) + by_step[step],
        "all_violations": violations,
        "violations_by_step": [(s, by_step[s["key"]]) for s in steps],
        "form": form or {},
        "stale": stale,
        "editable": revision.status in (Revision.Status.DRAFT, Revision.Status.REJECTED),
        "rejection_reasons": revision.rejection_reasons or {},
        **TEMPLATE_RULES,
        **_step_context(revision, step),
    }
    return render(request, "products/wizard.html", context, status=status)


@provider_required
def product_step(request, product_id, step: str):
    if step not in rules.STEP_KEYS:
        raise Http404
    product, revision = _own(request, product_id)
    if request.method != "POST":
        return _render_step(request, product, revision, step)
    go = request.POST.get("go", "save")
    index = rules.STEP_KEYS.index(step)
    target = {
        "prev": rules.STEP_KEYS[max(index - 1, 0)],
        "next": rules.STEP_KEYS[min(index + 1, len(rules.STEP_KEYS) - 1)],
    }.get(go, step)
    try:
        changes = {**_changes_from_post(step, request.POST), "wizard_step": target}
        product_save_draft(
            actor=request.user, revision=revision, lock_version=request.POST.get("lock_version"), changes=changes
        )
    except StaleDraft as exc:
        # Keep what the user typed on the page and show what changed underneath it.
        return _render_step(request, product, working_revision(product), step, form=request.POST, stale=exc, status=409)
    except RuleViolations as exc:
        return _render_step(
            request, product, working_revision(product), step, form=request.POST, errors=exc.violations, status=422
        )
    except ServiceError as exc:
        message_error(request, exc)
        return redirect("products:step", product_id=product.pk, step=step)
    if go == "save":
        messages.success(request, _("Draft saved."))
    return redirect("products:step", product_id=product.pk, step=target)


@provider_required
def product_resume(request, product_id):
    """Reopening a draft continues where it stopped."""
    _product, revision = _own(request, product_id)
    return redirect("products:step", product_id=product_id, step=revision.wizard_step or "access")


@provider_required
@require_POST
def picture_upload(request, product_id):
    product, revision = _own(request, product_id)
    try:
        picture_add(actor=request.user, revision=revision, fileobj=uploaded_file(request, field="pictures"))
    except ServiceError as exc:
        message_field_errors(request, exc)
    return redirect(reverse("products:step", kwargs={"product_id": product.pk, "step": "content"}) + "#pictures")


@provider_required
@require_POST
def picture_remove(request, product_id, picture_id: int):
    product, revision = _own(request, product_id)
    try:
        picture_delete(
            actor=request.user, picture=get_object_or_404(revision_pictures(revision=revision), pk=picture_id)
        )
    except ServiceError as exc:
        message_field_errors(request, exc)
    return redirect(reverse("products:step", kwargs={"product_id": product.pk, "step": "content"}) + "#pictures")


@provider_required
@require_POST
def document_upload(request, product_id):
    product, revision = _own(request, product_id)
    try:
        upload = uploaded_file(request, field="document")
        document_set(actor=request.user, revision=revision, fileobj=upload, filename=upload.name)
    except ServiceError as exc:
        message_field_errors(request, exc)
    return redirect(reverse("products:step", kwargs={"product_id": product.pk, "step": "content"}) + "#document")


@provider_required
@require_POST
def product_submit_view(request, product_id):
    product, revision = _own(request, product_id)
    try:
        product_submit(actor=request.user, revision=revision)
    except RuleViolations as exc:
        return _render_step(request, product, revision, "review", errors=exc.violations, status=422)
    except ServiceError as exc:
        message_error(request, exc)
        return redirect("products:step", product_id=product.pk, step="review")
    messages.success(
        request,
        ngettext(
            "Submitted for review. Operators aim to finish within %(days)d business day.",
            "Submitted for review. Operators aim to finish within %(days)d business days.",
            REVIEW_BUSINESS_DAYS,
        )
        % {"days": REVIEW_BUSINESS_DAYS},
    )
    return redirect("products:list")


@provider_required
@require_POST
def product_withdraw_view(request, product_id):
    product, revision = _own(request, product_id)
    try:
        product_withdraw(actor=request.user, revision=revision)
    except ServiceError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("Withdrawn from review; you can edit the product and submit it again."))
    return redirect("products:list")


@provider_required
@require_POST
def product_revise(request, product_id):
    """Edit a listed or delisted product: a new draft revision; what is on sale stays until the new one is approved."""
    product, _revision = _own(request, product_id)
    try:
        revision = product_revision_new(actor=request.user, product=product)
    except ServiceError as exc:
        message_error(request, exc)
        return redirect("products:list")
    messages.success(
        request,
        _("Revision r%(n)d created; the listed revision stays on sale until this one is approved.")
        % {"n": revision.number},
    )
    return redirect("products:step", product_id=product.pk, step="basic")


@provider_required
@require_POST
def product_delist_view(request, product_id):
    product, _revision = _own(request, product_id)
    try:
        product_delist(actor=request.user, product=product, reason=request.POST.get("reason", ""))
    except ServiceError as exc:
        message_error(request, exc)
    else:
        messages.success(request, _("Delisted. Edit it and submit it again to relist it."))
    return redirect("products:list")


@provider_required
def product_preview(request, product_id):
    """商品预览: the product exactly as buyers will see it, in any status."""
    product, revision = _own(request, product_id)
    return render(
        request,
        "products/preview.html",
        {"product": product, "revision": revision, "preview": True, **TEMPLATE_RULES},
    )
