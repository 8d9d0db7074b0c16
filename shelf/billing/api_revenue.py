"""Revenue over the API: a provider's sales and statements, the operators' marketplace revenue and commission rates."""

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Status

from shelf.accounts.access import require_operator
from shelf.billing.revenue_csv import parse_period, statement_csv
from shelf.billing.revenue_schemas import (
    CommissionRateChangeIn,
    CommissionRateIn,
    CommissionRateOut,
    MarketplaceRevenueOut,
    SalesOut,
    StatementOut,
)
from shelf.billing.revenue_selectors import (
    commission_rates,
    marketplace_revenue,
    organization_for,
    sales_for,
    statement_for,
)
from shelf.billing.revenue_services import commission_rate_delete, commission_rate_save

router = Router(tags=["revenue"])

ORGANIZATION_DOC = "Your organisation's slug; default: your first organisation (by name)."


def _organization(request, slug: str | None):
    organization = organization_for(request.user, slug)
    if organization is None:
        raise Http404
    return organization


def _month_row(month, figures) -> dict:
    return {"month": month.strftime("%Y-%m"), **figures.as_dict()}


@router.get("/provider/sales", response=SalesOut)
def provider_sales(request, organization: str | None = Query(None, description=ORGANIZATION_DOC)):
    """Your organisation's sales: orders per day (30 days), revenue per month (12 months), active instances, top
    products. Gross is what buyers paid; net (provider_net) is the image part minus the marketplace's commission."""
    sales = sales_for(_organization(request, organization))
    return {
        "organization": sales.organization.slug,
        "currency": sales.currency,
        "orders_per_day": [{"day": d, "orders": n} for d, n in sales.days],
        "orders_total": sales.orders_total,
        "revenue_per_month": [_month_row(m, f) for m, f in sales.months],
        "totals": sales.totals.as_dict(),
        "active_instances": sales.active_instances,
        "top_products": sales.top_products,
    }


def _statement(request, period: str, organization: str | None):
    year, month = parse_period(period)
    return statement_for(_organization(request, organization), year=year, month=month)


@router.get("/provider/statements/{period}", response=StatementOut)
def provider_statement(request, period: str, organization: str | None = Query(None, description=ORGANIZATION_DOC)):
    """Your organisation's statement of one month (YYYY-MM, site time zone): per product and in total."""
    found = _statement(request, period, organization)
    return {
        "organization": found.organization.slug,
        "period": found.period,
        "currency": found.currency,
        "lines": found.lines,
        "totals": found.totals.as_dict(),
    }


@router.get("/provider/statements/{period}/csv", openapi_extra={"responses": {200: {
    "description": "The statement as CSV (UTF-8): one line per product and a total line.",
    "content": {"text/csv": {"schema": {"type": "string"}}}}}})  # fmt: skip
def provider_statement_csv(request, period: str, organization: str | None = Query(None, description=ORGANIZATION_DOC)):
    """The same statement as a CSV file."""
    found = _statement(request, period, organization)
    response = HttpResponse(statement_csv(found), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statement-{found.organization.slug}-{found.period}.csv"'
    return response


@router.get("/operator/revenue", response=MarketplaceRevenueOut)
def operator_revenue(request):
    """Marketplace-wide (operators): revenue per month with the server part and commission, top-ups, balances and
    the buyers in arrears (a negative balance)."""
    require_operator(request.user)
    revenue = marketplace_revenue()
    return {
        "currency": revenue.currency,
        "revenue_per_month": [_month_row(m, f) for m, f in revenue.months],
        "totals": revenue.totals.as_dict(),
        "topups_per_month": [{"month": m.strftime("%Y-%m"), "count": c, "amount": a} for m, c, a in revenue.topups],
        "topups_total": revenue.topups_total,
        "buyers": revenue.buyers,
        "balances_total": revenue.balances_total,
        "arrears": revenue.arrears,
    }


@router.get("/operator/commission-rates", response=list[CommissionRateOut])
def commission_rate_list(request):
    """The commission rates in force (operators): the default (category null) and per category."""
    require_operator(request.user)
    return commission_rates()


@router.post("/operator/commission-rates", response={201: CommissionRateOut})
def commission_rate_new(request, payload: CommissionRateIn):
    """Set the default rate (no category) or a category's; charges from now on use it."""
    require_operator(request.user)
    rate = commission_rate_save(
        actor=request.user, rate=None, category=payload.category, rate_percent=payload.rate_percent
    )
    return Status(201, commission_rates().get(pk=rate.pk))


@router.put("/operator/commission-rates/{rate_id}", response=CommissionRateOut)
def commission_rate_change(request, rate_id: int, payload: CommissionRateChangeIn):
    require_operator(request.user)
    rate = get_object_or_404(commission_rates(), pk=rate_id)
    commission_rate_save(actor=request.user, rate=rate, rate_percent=payload.rate_percent)
    return commission_rates().get(pk=rate.pk)


@router.delete("/operator/commission-rates/{rate_id}", response={204: None})
def commission_rate_remove(request, rate_id: int):
    """Remove a rate: its category falls back to its parent's rate, or the default."""
    require_operator(request.user)
    commission_rate_delete(actor=request.user, rate=get_object_or_404(commission_rates(), pk=rate_id))
    return Status(204, None)
