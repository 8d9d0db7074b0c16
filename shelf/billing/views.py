"""The buyer's billing pages: his prepaid terms (renew, auto-renew), accrued charges, the monthly bill as CSV."""

import csv

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from shelf.accounts.access import buyer_required
from shelf.billing import selectors, services
from shelf.errors import Conflict, RuleViolations
from shelf.forms import message_error
from shelf.orders.forms import parse_term
from shelf.orders.selectors import balance_of

RENEW_CHOICES = [(f"month:{n}", n) for n in range(1, 13)] + [(f"year:{n}", n) for n in range(1, 4)]


def _month(request) -> tuple:
    try:
        return selectors.month_bounds(request.GET.get("month") or None)
    except ValueError:
        raise Http404 from None


@buyer_required
def home(request):
    start, _end, month = _month(request)
    entries, _label = selectors.bill_entries(request.user, month)
    return render(
        request,
        "billing/home.html",
        {
            "terms": selectors.terms_for(request.user).exclude(state="ended").order_by("expires_at"),
            "month": month,
            "month_start": start,
            "by_instance": selectors.accrued_by_instance(entries),
            "by_day": selectors.charges_by_instance_and_day(entries),
            "totals": selectors.totals(entries),
            "balance": balance_of(request.user),
            "renew_months": range(1, 13),
            "renew_years": range(1, 4),
            "grace_days": services.GRACE.days,
        },
    )


def bill_csv_response(entries, month: str) -> HttpResponse:
    """The monthly bill: one row per charge or refund, then the totals (shared by the page and the API)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="shelf-bill-{month}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["time", "kind", "ref", "order", "instance", "description", "server_part", "image_part", "amount", "currency"]
    )
    for e in entries:
        writer.writerow(
            [
                timezone.localtime(e.created_at).isoformat(timespec="seconds"),
                e.kind,
                e.ref or "",
                e.order_id or "",
                e.instance_ref or "",
                e.reason,
                e.server_part,
                e.image_part,
                e.amount,
                e.currency,
            ]
        )
    figures = selectors.totals(entries)
    for label in ("charged", "refunded", "net"):
        writer.writerow(["", "total", label, "", "", "", "", "", figures[label], "CNY"])
    return response


@buyer_required
def bill_csv(request):
    _start, _end, month = _month(request)
    entries, _label = selectors.bill_entries(request.user, month)
    return bill_csv_response(entries, month)


@require_POST
@buyer_required
def term_renew(request, order_id):
    term = get_object_or_404(selectors.terms_for(request.user), order_id=order_id)
    chosen = parse_term(request.POST.get("term"))
    try:
        renewal = services.term_renew(
            term=term,
            term_unit=chosen.unit if chosen else "",
            term_count=chosen.count if chosen else 0,
            actor=request.user,
        )
    except (Conflict, RuleViolations) as exc:
        message_error(request, exc)
    else:
        messages.success(
            request,
            _("Renewed until %(until)s for %(amount)s CNY.")
            % {"until": timezone.localtime(renewal.ends_at).strftime("%Y-%m-%d %H:%M"), "amount": renewal.amount},
        )
    return redirect("billing:home")


@require_POST
@buyer_required
def term_auto_renew(request, order_id):
    term = get_object_or_404(selectors.terms_for(request.user), order_id=order_id)
    try:
        services.term_set_auto_renew(term=term, auto_renew=request.POST.get("auto_renew") == "on", actor=request.user)
    except Conflict as exc:
        message_error(request, exc)
    return redirect("billing:home")
