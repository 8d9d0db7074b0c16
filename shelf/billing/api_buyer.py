"""The buyer's billing over HTTP: terms (renew, auto-renew), settled hours, the monthly bill (JSON or CSV)."""

import uuid

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router

from shelf.billing import selectors, services
from shelf.billing.schemas import AutoRenewIn, BillOut, RenewIn, TermOut, UsageOut
from shelf.billing.views import bill_csv_response
from shelf.errors import RuleViolations, Violation, raise_if
from shelf.orders.pricing import term_from, term_input_violations

router = Router(tags=["billing"])


def _term(request, order_id):
    return get_object_or_404(selectors.terms_for(request.user), order_id=order_id)


def _month(month: str | None):
    try:
        return selectors.month_bounds(month)
    except ValueError:
        raise RuleViolations([Violation("month", "invalid", _("Write the month as YYYY-MM, like 2026-12."))]) from None


@router.get("/billing/terms", response=list[TermOut])
def term_list(request, state: str | None = None):
    """Your prepaid terms, soonest expiry first (`?state=active|isolated|released|ended`)."""
    terms = selectors.terms_for(request.user).order_by("expires_at")
    return terms.filter(state=state) if state else terms


@router.get("/billing/terms/{uuid:order_id}", response=TermOut)
def term_detail(request, order_id):
    return _term(request, order_id)


@router.post("/billing/terms/{uuid:order_id}/renew", response=TermOut)
def term_renew(request, order_id, payload: RenewIn):
    """Renew from the balance for 1-12 months or 1-3 years; the new period starts at the current expiry (also
    while isolated, up to 7 days after it). 422 without enough balance; 409 once the term was released."""
    term = _term(request, order_id)
    raise_if(term_input_violations(months=payload.months, years=payload.years))
    chosen = term_from(months=payload.months, years=payload.years)
    services.term_renew(
        term=term,
        term_unit=chosen.unit if chosen else "",
        term_count=chosen.count if chosen else 0,
        actor=request.user,
    )
    return _term(request, order_id)


@router.put("/billing/terms/{uuid:order_id}/auto-renew", response=TermOut)
def term_auto_renew(request, order_id, payload: AutoRenewIn):
    """Turn auto-renew on or off: on the expiry day the order's own term length is charged from the balance."""
    term = _term(request, order_id)
    if payload.auto_renew is None:
        raise RuleViolations([Violation("auto_renew", "required", _("Send auto_renew: true or false."))])
    return services.term_set_auto_renew(term=term, auto_renew=payload.auto_renew, actor=request.user)


@router.get("/billing/usage", response=list[UsageOut])
def usage_list(request, instance: str | None = None, month: str | None = None):
    """Settled hours of your pay-by-the-hour servers in a month (default this month), oldest first."""
    start, end, _label = _month(month)
    records = selectors.usage_for(request.user).filter(hour__gte=start, hour__lt=end).select_related("entry")
    if instance:
        records = records.filter(instance_id=instance) if _is_uuid(instance) else records.none()
    return records.order_by("hour", "instance_id")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@router.get("/billing/bill", response=BillOut)
def bill(request, month: str | None = None):
    """A month's bill (local calendar month, default this one): every charge and refund, per instance, per day."""
    _month(month)
    entries, label = selectors.bill_entries(request.user, month)
    return {
        "month": label,
        "totals": selectors.totals(entries),
        "by_instance": [
            {"instance": r["instance_id"] or None, "name": r["name"], "count": r["count"], "amount": r["amount"]}
            for r in selectors.accrued_by_instance(entries)
        ],
        "by_day": [
            {
                "day": r.day,
                "instance": r.instance_id or None,
                "name": r.instance_name,
                "count": r.count,
                "amount": r.amount,
            }
            for r in selectors.charges_by_instance_and_day(entries)
        ],
        "lines": entries,
    }


CSV_RESPONSE = {
    "responses": {200: {"description": "The bill as CSV.", "content": {"text/csv": {"schema": {"type": "string"}}}}}
}


@router.get("/billing/bill.csv", openapi_extra=CSV_RESPONSE)
def bill_csv(request, month: str | None = None):
    """The same month's bill as CSV (one row per charge or refund, then the totals)."""
    _month(month)
    entries, label = selectors.bill_entries(request.user, month)
    return bill_csv_response(entries, label)
