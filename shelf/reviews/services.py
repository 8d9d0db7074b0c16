"""The operators' side of review: claims, approval, rejection with per-field reasons.

Approval lists the revision and, in the same transaction, retires the revision that was on sale,
so buyers always see exactly one listed revision.
"""

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shelf.accounts.models import User
from shelf.audit.services import audit_record
from shelf.compute.models import BootCheck
from shelf.compute.selectors import latest_boot_check
from shelf.errors import Conflict, RuleViolations, Violation, raise_if
from shelf.notifications.services import notify_organization
from shelf.products import rules
from shelf.products.models import Revision
from shelf.products.services import revision_set_status
from shelf.reviews.models import Claim, Decision
from shelf.workdays import business_days_between

REJECTABLE_FIELDS = (
    "category",
    "name",
    "tags",
    "software",
    "version",
    "agreement",
    "deliveries",
    "security",
    "billing",
    "pictures",
    "summary",
    "document",
    "details",
    "other",
)
BOOT_CHECK_EXCEPTION_MAX = 2000
# What an operator confirms before approving, in the console and the API alike.
CHECKLIST = [
    (
        "content",
        gettext_lazy("The product does what the details page and the document say; they do not contradict each other."),
    ),
    ("size", gettext_lazy("It runs on the recommended (or smallest) server size.")),
    ("passwords", gettext_lazy("No preset username/password in the software, or a strong prompt to change it.")),
    ("lawful", gettext_lazy("Content is lawful; no absolute advertising claims.")),
    ("links", gettext_lazy("No links to buy outside the marketplace; no advertising for other cloud vendors.")),
    (
        "pictures",
        format_lazy(
            gettext_lazy(
                "Pictures: {width} x {height} px, {dpi} dpi, ≤ {mb} MB, PNG, not plain white, show the company or "
                "product name."
            ),
            width=rules.PICTURE_WIDTH,
            height=rules.PICTURE_HEIGHT,
            dpi=rules.PICTURE_DPI,
            mb=rules.PICTURE_MAX_MB,
        ),
    ),
    (
        "details",
        gettext_lazy(
            "Details complete: features, use cases, usage guide, service process, after-sales support, contact."
        ),
    ),
    ("document", gettext_lazy("The document lets a user use the product fully.")),
    ("support", gettext_lazy("Support at least 7 x 8 hours with a reachable contact.")),
    ("software", gettext_lazy("The integrated software list is truthful (see the cross-check).")),
]


def _in_review(revision_id: int) -> Revision:
    revision = Revision.objects.select_for_update().select_related("product__organization").get(pk=revision_id)
    if revision.status != Revision.Status.IN_REVIEW:
        raise Conflict(
            _("This submission is no longer in review (it is %(status)s).") % {"status": revision.get_status_display()},
            code="not_in_review",
        )
    return revision


def review_claim(*, operator: User, revision: Revision) -> Claim:
    """Take a submission. If another operator holds it, refuse (409) naming them."""
    with transaction.atomic():
        revision = _in_review(revision.pk)
        existing = Claim.objects.filter(revision=revision).select_related("operator").first()
        if existing is not None:
            if existing.operator_id == operator.pk:
                return existing
            raise Conflict(
                _("%(who)s already holds this submission.") % {"who": existing.operator.username}, code="claimed"
            )
        try:
            with transaction.atomic():
                claim = Claim.objects.create(revision=revision, operator=operator)
        except IntegrityError:
            # Two operators at once: the unique claim row decides, the loser is told who won.
            holder = Claim.objects.select_related("operator").get(revision=revision).operator
            raise Conflict(
                _("%(who)s already holds this submission.") % {"who": holder.username}, code="claimed"
            ) from None
        audit_record(actor=operator, target=revision.product, action="review.claim", data={"revision": revision.number})
    return claim


@transaction.atomic
def review_release(*, operator: User, revision: Revision) -> None:
    claim = Claim.objects.filter(revision_id=revision.pk).first()
    if claim is None:
        return
    claim.delete()
    audit_record(
        actor=operator,
        target=revision.product,
        action="review.release",
        data={"revision": revision.number, "holder": claim.operator.username},
    )


@transaction.atomic
def review_reassign(*, operator: User, revision: Revision, to: User) -> Claim:
    if not to.is_operator:
        raise RuleViolations(
            [Violation("operator", "not_operator", _("Submissions can only be assigned to operators."))]
        )
    revision = _in_review(revision.pk)
    Claim.objects.filter(revision=revision).delete()
    claim = Claim.objects.create(revision=revision, operator=to)
    audit_record(
        actor=operator,
        target=revision.product,
        action="review.reassign",
        data={"revision": revision.number, "to": to.username},
    )
    return claim


def _decide(operator: User, revision: Revision, outcome: str, reasons: dict, checklist: dict) -> Decision:
    now = timezone.now()
    days = business_days_between(timezone.localtime(revision.submitted_at).date(), timezone.localtime(now).date())
    Claim.objects.filter(revision=revision).delete()
    return Decision.objects.create(
        revision=revision,
        operator=operator,
        outcome=outcome,
        reasons=reasons,
        checklist=checklist,
        submitted_at=revision.submitted_at,
        business_days=days,
    )


def _boot_checks_failing(revision: Revision) -> list[Violation]:
    """Why the revision's images may not be listed yet: each delivered image's latest boot check must have passed."""
    violations = []
    for delivery in revision.deliveries.select_related("image", "region"):
        check = latest_boot_check(delivery.image)
        names = {"image": delivery.image.name, "region": delivery.region.code}
        if check is None or check.status in (BootCheck.Status.PENDING, BootCheck.Status.RUNNING):
            violations.append(
                Violation(
                    "boot_check",
                    "missing",
                    _(
                        "The image “%(image)s” in %(region)s has not finished its boot check yet: wait for it, or "
                        "approve with a boot check exception giving the reason."
                    )
                    % names,
                )
            )
        elif check.status != BootCheck.Status.PASSED:
            violations.append(
                Violation(
                    "boot_check",
                    "failed",
                    _(
                        "The image “%(image)s” in %(region)s did not boot in its boot check (%(reason)s): it cannot "
                        "be approved without a boot check exception giving the reason."
                    )
                    % {**names, "reason": check.reason},
                )
            )
    return violations


def review_approve(
    *, operator: User, revision: Revision, checklist: dict | None = None, boot_check_exception: str = ""
) -> Revision:
    """in_review → listed; the previously listed revision (if any) is superseded in the same transaction.

    Every delivered image's latest boot check must have passed, unless the operator gives `boot_check_exception`,
    the reason for listing it anyway, which the approval's audit row keeps (with the checks it overrode).
    """
    from shelf.webhooks.services import emit

    boot_check_exception = (boot_check_exception or "").strip()
    if len(boot_check_exception) > BOOT_CHECK_EXCEPTION_MAX:
        raise RuleViolations(
            [
                Violation(
                    "boot_check_exception",
                    "too_long",
                    _("The boot check exception may be at most %(max)d characters long.")
                    % {"max": BOOT_CHECK_EXCEPTION_MAX},
                )
            ]
        )

    missing = [key for key, _label in CHECKLIST if not (checklist or {}).get(key)]
    if missing:
        raise RuleViolations(
            [
                Violation(
                    "checklist",
                    "incomplete",
                    _("Confirm every checklist item before approving (missing: %(keys)s), or reject with reasons.")
                    % {"keys": ", ".join(missing)},
                )
            ]
        )
    with transaction.atomic():
        revision = _in_review(revision.pk)
        _require_holder(operator, revision)
        previous = (
            Revision.objects.select_for_update()
            .filter(product=revision.product, status=Revision.Status.LISTED)
            .exclude(pk=revision.pk)
        )
        for old in previous:
            revision_set_status(
                old,
                actor=operator,
                to=Revision.Status.SUPERSEDED,
                action="product.superseded",
                data={"by_revision": revision.number},
            )
        revision.decided_at, revision.rejection_reasons = timezone.now(), {}
        failing = _boot_checks_failing(revision)
        if failing and not boot_check_exception:
            raise RuleViolations(failing)
        revision_set_status(
            revision,
            actor=operator,
            to=Revision.Status.LISTED,
            action="review.approve",
            reason=boot_check_exception if failing else "",
            data={"boot_check_exception": [v.message for v in failing]} if failing else None,
        )
        _decide(operator, revision, Decision.Outcome.APPROVED, {}, checklist or {})
        organization = revision.product.organization
        notify_organization(
            organization=organization,
            event="product.approved",
            title=_("“%(name)s” is approved and listed") % {"name": revision.name},
            url=reverse("products:preview", kwargs={"product_id": revision.product_id}),
        )
        emit(
            organization=organization,
            event="product.approved",
            data={"product": str(revision.product_id), "revision": revision.number, "name": revision.name},
        )
    return revision


def review_reject(
    *, operator: User, revision: Revision, reasons: dict[str, str], checklist: dict | None = None
) -> Revision:
    """in_review → rejected with a reason for each failing field; the provider sees them next to the fields."""
    from shelf.webhooks.services import emit

    reasons = {field: (text or "").strip() for field, text in (reasons or {}).items() if (text or "").strip()}
    violations = []
    if not reasons:
        violations.append(Violation("reasons", "required", _("Give a reason for at least one field.")))
    unknown = sorted(set(reasons) - set(REJECTABLE_FIELDS))
    if unknown:
        violations.append(
            Violation("reasons", "unknown_field", _("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)})
        )
    raise_if(violations)
    with transaction.atomic():
        revision = _in_review(revision.pk)
        _require_holder(operator, revision)
        revision.decided_at, revision.rejection_reasons = timezone.now(), reasons
        revision_set_status(
            revision,
            actor=operator,
            to=Revision.Status.REJECTED,
            action="review.reject",
            reason="; ".join(f"{k}: {v}" for k, v in reasons.items()),
        )
        _decide(operator, revision, Decision.Outcome.REJECTED, reasons, checklist or {})
        organization = revision.product.organization
        notify_organization(
            organization=organization,
            event="product.rejected",
            title=_("“%(name)s” was not approved") % {"name": revision.name},
            body="\n".join(f"{field}: {text}" for field, text in reasons.items()),
            url=reverse("products:resume", kwargs={"product_id": revision.product_id}),
        )
        emit(
            organization=organization,
            event="product.rejected",
            data={"product": str(revision.product_id), "revision": revision.number, "reasons": reasons},
        )
    return revision


def _require_holder(operator: User, revision: Revision) -> None:
    """Decisions are made by the operator holding the submission; an unclaimed one is claimed on the way."""
    claim = Claim.objects.filter(revision=revision).select_related("operator").first()
    if claim is None:
        Claim.objects.create(revision=revision, operator=operator)
    elif claim.operator_id != operator.pk:
        raise Conflict(
            _("%(who)s holds this submission; ask them to release it or reassign it to you.")
            % {"who": claim.operator.username},
            code="claimed",
        )
