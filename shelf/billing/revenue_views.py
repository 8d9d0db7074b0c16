"""Thin web views of revenue: a provider's sales dashboard and statements, the operators' revenue and commission."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shelf.accounts.access import operator_required, provider_required
from shelf.accounts.selectors import organizations_for
from shelf.billing.charts import chart
from shelf.billing.revenue_csv import SALES_TABLES, parse_period, sales_csv, statement_csv
from shelf.billing.revenue_selectors import (
    commission_rate_history,
    commission_rates,
    marketplace_revenue,
    organization_for,
    sales_for,
    statement_for,
    statement_months,
)
from shelf.billing.revenue_services import DEFAULT_RATE_PERCENT, commission_rate_delete, commission_rate_save
from shelf.catalog.models import Category
from shelf.errors import RuleViolations
from shelf.forms import ServiceError, add_error


def _csv(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _organization(request):
    organization = organization_for(request.user, request.GET.get("organization"))
    if organization is None:
        raise Http404
    return organization


def sales_charts(sales) -> dict:
    return {
        "orders": chart(
            title=_("Orders per day, last %(n)d days") % {"n": len(sales.days)},
            description=_("%(total)d orders in %(n)d days.") % {"total": sales.orders_total, "n": len(sales.days)},
            data=[(d.strftime("%m-%d"), n) for d, n in sales.days],
            unit=_("orders"),
        ),
        "revenue": chart(
            title=_("Net revenue per month (CNY)"),
            description=_("%(net)s CNY net over %(n)d months.")
            % {"net": sales.totals.provider_net, "n": len(sales.months)},
            data=[(m.strftime("%Y-%m"), f.provider_net) for m, f in sales.months],
            kind="line",
            unit="CNY",
        ),
        "products": chart(
            title=_("Top products by net revenue (CNY)"),
            description=", ".join(f"{p['name']}: {p['provider_net']:.2f}" for p in sales.top_products) or _("none"),
            data=[(p["name"][:12], p["provider_net"]) for p in sales.top_products],
            unit="CNY",
        ),
    }


@provider_required
def sales(request):
    organization = _organization(request)
    figures = sales_for(organization)
    return render(
        request,
        "billing/sales.html",
        {
            "sales": figures,
            "charts": sales_charts(figures),
            "organizations": organizations_for(request.user),
            "tables": SALES_TABLES,
        },
    )


@provider_required
def sales_download(request, table: str):
    if table not in SALES_TABLES:
        raise Http404
    organization = _organization(request)
    return _csv(sales_csv(sales_for(organization), table), f"sales-{organization.slug}-{table}.csv")


@provider_required
def statements(request):
    organization = _organization(request)
    months = statement_months(organization)
    current = timezone.localdate().strftime("%Y-%m")
    return render(
        request,
        "billing/statements.html",
        {
            "organization": organization,
            "months": months if current in months else [current, *months],
            "organizations": organizations_for(request.user),
        },
    )


def _statement(request, period: str):
    try:
        year, month = parse_period(period)
    except RuleViolations:
        raise Http404 from None
    return statement_for(_organization(request), year=year, month=month)


@provider_required
def statement(request, period: str):
    return render(request, "billing/statement.html", {"statement": _statement(request, period)})


@provider_required
def statement_download(request, period: str):
    found = _statement(request, period)
    return _csv(statement_csv(found), f"statement-{found.organization.slug}-{found.period}.csv")


# Operators


@operator_required
def operator_revenue(request):
    revenue = marketplace_revenue()
    revenue_chart = chart(
        title=_("Marketplace revenue per month (CNY)"),
        description=_("Gross %(gross)s CNY, of which the marketplace keeps %(kept)s CNY.")
        % {"gross": revenue.totals.gross, "kept": revenue.totals.marketplace},
        data=[(m.strftime("%Y-%m"), f.marketplace) for m, f in revenue.months],
        unit="CNY",
    )
    return render(request, "billing/operator_revenue.html", {"revenue": revenue, "chart": revenue_chart})


class CommissionRateForm(forms.Form):
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"),
        queryset=Category.objects.select_related("parent"),
        required=False,
        empty_label=gettext_lazy("Default (every category without its own rate)"),
    )
    rate_percent = forms.DecimalField(
        label=gettext_lazy("Commission (%)"), min_value=0, max_value=100, decimal_places=2, max_digits=5
    )


@operator_required
def operator_commission(request):
    rates = commission_rates()
    form = CommissionRateForm(request.POST or None)
    if request.method == "POST":
        if "delete" in request.POST:
            rate = get_object_or_404(rates, pk=request.POST.get("delete"))
            try:
                commission_rate_delete(actor=request.user, rate=rate)
            except ServiceError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, _("Rate removed."))
            return redirect("revenue:operator_commission")
        if form.is_valid():
            category = form.cleaned_data["category"]
            existing = rates.filter(category=category).first()
            try:
                commission_rate_save(
                    actor=request.user,
                    rate=existing,
                    category=category,
                    rate_percent=str(form.cleaned_data["rate_percent"]),
                )
            except ServiceError as exc:
                add_error(form, exc)
            else:
                messages.success(request, _("Saved. Charges from now on use this rate; earlier ones keep theirs."))
                return redirect("revenue:operator_commission")
    return render(
        request,
        "billing/operator_commission.html",
        {"rates": rates, "form": form, "default_rate": DEFAULT_RATE_PERCENT, "audit_events": commission_rate_history()},
    )
