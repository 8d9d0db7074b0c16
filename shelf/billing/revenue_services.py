"""Every write of revenue: the split of a charge or refund, and the commission rates operators set (with audit rows).

A split is written by the ledger_posted receiver in the ledger row's transaction, at the rate in force then; changing
a rate later changes only later splits.
"""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from shelf.accounts.access import require_operator
from shelf.accounts.models import User
from shelf.audit.services import audit_record
from shelf.billing.revenue import CommissionRate, RevenueSplit
from shelf.billing.split import split
from shelf.catalog.models import Category
from shelf.errors import RuleViolations, Violation, raise_if
from shelf.orders.models import LedgerEntry

DEFAULT_RATE_PERCENT = Decimal("20.00")  # until an operator sets the marketplace's default


def rate_for(category: Category | None) -> Decimal:
    """The commission in percent for a product filed under `category`: its own, its parent's, the default, or 20."""
    rates = {r.category_id: r.rate_percent for r in CommissionRate.objects.all()}
    if category is not None:
        for category_id in (category.pk, category.parent_id):
            if category_id in rates:
                return rates[category_id]
    return rates.get(None, DEFAULT_RATE_PERCENT)


def _order_of(entry: LedgerEntry):
    if entry.order_id:
        return entry.order
    if entry.instance_id:
        return entry.instance.orders.select_related("revision__category", "product").first()
    return None


def revenue_split_record(*, entry: LedgerEntry) -> RevenueSplit | None:
    """The split of one charge/refund ledger row (once: again returns the first); top-ups earn nobody anything."""
    if entry.kind == LedgerEntry.Kind.TOPUP:
        return None
    existing = RevenueSplit.objects.filter(entry=entry).first()
    if existing is not None:
        return existing
    order = _order_of(entry)
    category = order.revision.category if order is not None else None
    rate = rate_for(category)
    # The ledger is the buyer's side (a charge is negative); revenue is the seller's (a charge is positive).
    parts = split(-entry.server_part, -entry.image_part, rate)
    return RevenueSplit.objects.create(
        entry=entry,
        organization_id=order.product.organization_id if order is not None else None,
        product_id=order.product_id if order is not None else None,
        category=category,
        kind=entry.kind,
        gross=parts.gross,
        server_part=parts.server_part,
        image_part=parts.image_part,
        rate_percent=rate,
        commission=parts.commission,
        provider_net=parts.provider_net,
        marketplace=parts.marketplace,
        currency=entry.currency,
        created_at=entry.created_at,
    )


def _rate_value(raw) -> tuple[Decimal | None, list[Violation]]:
    if isinstance(raw, float) or isinstance(raw, bool):
        return None, [Violation("rate_percent", "not_decimal", _('Send the rate as a decimal string like "20.00".'))]
    try:
        value = Decimal(str(raw).strip()) if raw not in (None, "") else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        return None, [Violation("rate_percent", "invalid", _("Write the rate in percent, like 20 or 12.5."))]
    if value.as_tuple().exponent < -2:
        return None, [Violation("rate_percent", "decimal_places", _("A rate has at most 2 decimal places."))]
    if not Decimal("0") <= value <= Decimal("100"):
        return None, [Violation("rate_percent", "out_of_range", _("A rate is 0 to 100 percent."))]
    return value.quantize(Decimal("0.01")), []


def _category(raw) -> tuple[Category | None, list[Violation]]:
    if raw in (None, ""):
        return None, []
    if isinstance(raw, Category):
        return raw, []
    found = Category.objects.filter(slug=str(raw)).first()
    if found is None:
        return None, [Violation("category", "unknown", _("There is no category “%(slug)s”.") % {"slug": raw})]
    return found, []


@transaction.atomic
def commission_rate_save(*, actor: User, rate: CommissionRate | None, category=None, rate_percent) -> CommissionRate:
    """Create the default rate or a category's (rate None), or change one; later charges use it, earlier ones keep theirs."""
    require_operator(actor)
    value, violations = _rate_value(rate_percent)
    if rate is None:
        found, problems = _category(category)
        violations += problems
        if not problems and CommissionRate.objects.filter(category=found).exists():
            violations.append(
                Violation(
                    "category",
                    "taken",
                    _("This category already has a rate: change that one.")
                    if found
                    else _("The default rate exists already: change that one."),
                )
            )
    raise_if(violations)
    created = rate is None
    if created:
        rate = CommissionRate(category=found)
        before = None
    else:
        rate = CommissionRate.objects.select_for_update().get(pk=rate.pk)
        before = str(rate.rate_percent)
    rate.rate_percent, rate.updated_by = value, actor
    rate.save()
    audit_record(
        actor=actor,
        target=rate,
        action="commission_rate.create" if created else "commission_rate.update",
        data={
            "category": rate.category.slug if rate.category_id else None,
            "rate_percent": str(value),
            "before": before,
        },
    )
    return rate


@transaction.atomic
def commission_rate_delete(*, actor: User, rate: CommissionRate) -> None:
    """Remove a rate: its category falls back to its parent's or the default (the default falls back to 20%)."""
    require_operator(actor)
    rate = CommissionRate.objects.select_for_update().filter(pk=rate.pk).first()
    if rate is None:
        raise RuleViolations([Violation("rate", "gone", _("This rate was removed meanwhile."))])
    audit_record(
        actor=actor,
        target=rate,
        action="commission_rate.delete",
        data={"category": rate.category.slug if rate.category_id else None, "rate_percent": str(rate.rate_percent)},
    )
    rate.delete()
