"""Thin web views for buying, orders and the balance; each parses, calls one service or selector, and renders."""

import uuid

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from shelf.accounts.access import buyer_required, operator_required, provider_required
from shelf.audit.selectors import audit_events_for
from shelf.errors import RuleViolations
from shelf.forms import ServiceError, add_error
from shelf.orders.forms import InstanceTypeForm, OfferForm, PurchaseForm, TopupForm, parse_term
from shelf.orders.selectors import (
    balance_of,
    instance_types_all,
    ledger_all,
    ledger_for,
    needed_gib,
    offers_all,
    offers_for_revision,
    orders_for,
    product_for_sale,
    provider_orders_for,
)
from shelf.orders.services import instance_type_save, offer_save, order_place, order_quote, topup

# Buyers


def _offers_json(offers_by_region) -> dict:
    """What the purchase page's script needs to narrow the choices: per region, its sizes and disk ranges."""
    return {
        delivery.region.code: {
            "needed_gib": needed_gib(delivery.image),
            "offers": [
                {"code": o.instance_type.code, "disk_min_gib": o.disk_min_gib, "disk_max_gib": o.disk_max_gib}
                for o in offers
            ],
        }
        for delivery, offers in offers_by_region
    }


@buyer_required
def buy(request, product_id):
    """The purchase page: region, size, disk, term, key; the price shown is recomputed by the server on submit."""
    sale = product_for_sale(product_id)
    if sale is None:
        raise Http404
    product, revision = sale
    offers_by_region = offers_for_revision(revision)
    first_region = next(((d, o) for d, o in offers_by_region if o), None)
    initial = {
        "idempotency_key": uuid.uuid4().hex,
        "region": first_region[0].region.code if first_region else None,
        "instance_type": first_region[1][0].instance_type.code if first_region else None,
    }
    form = PurchaseForm(request.POST or None, initial=initial, revision=revision, offers_by_region=offers_by_region)
    priced = None
    data = form.data if form.is_bound else {**initial, "term": form.fields["term"].choices[0][0]}
    if form.is_bound and not form.is_valid():
        return _buy_page(request, product, revision, form, offers_by_region, None)
    choices = form.cleaned_data if form.is_bound else data
    try:
        priced, _found = order_quote(
            product=product,
            region=choices.get("region"),
            instance_type=choices.get("instance_type"),
            disk_gib=choices.get("disk_gib"),
            term=parse_term(choices.get("term")),
        )
    except RuleViolations as exc:
        if form.is_bound:
            add_error(form, exc)
    if form.is_bound and request.POST.get("action") == "buy" and priced is not None:
        try:
            order, created = order_place(
                buyer=request.user,
                product=product,
                region=choices["region"],
                instance_type=choices["instance_type"],
                disk_gib=choices.get("disk_gib"),
                term=parse_term(choices["term"]),
                ssh_public_key=choices.get("ssh_public_key"),
                name=choices.get("name"),
                idempotency_key=choices.get("idempotency_key") or "",
            )
        except ServiceError as exc:
            add_error(form, exc)
        else:
            if created:
                messages.success(request, _("Order placed. Your server is being launched."))
            return redirect("orders:detail", order_id=order.pk)
    return _buy_page(request, product, revision, form, offers_by_region, priced)


def _buy_page(request, product, revision, form, offers_by_region, priced):
    return render(
        request,
        "orders/buy.html",
        {
            "product": product,
            "revision": revision,
            "form": form,
            "quote": priced,
            "offers_json": _offers_json(offers_by_region),
            "nothing_to_sell": not any(offers for _d, offers in offers_by_region),
        },
    )


@buyer_required
def order_list(request):
    return render(request, "orders/list.html", {"orders": orders_for(request.user).select_related("instance")})


@buyer_required
def order_detail(request, order_id):
    order = get_object_or_404(orders_for(request.user).select_related("instance"), pk=order_id)
    return render(request, "orders/detail.html", {"order": order, "audit_events": audit_events_for(target=order)})


@buyer_required
def balance(request):
    return render(
        request,
        "orders/balance.html",
        {"balance": balance_of(request.user), "entries": ledger_for(request.user)[:200]},
    )


# Providers


@provider_required
def provider_orders(request):
    return render(request, "orders/provider_list.html", {"orders": provider_orders_for(request.user)[:500]})


# Operators


@operator_required
def operator_orders(request):
    return render(request, "orders/operator_orders.html", {"orders": orders_for(request.user)[:500]})


@operator_required
def operator_topup(request):
    form = TopupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            entry = topup(actor=request.user, **{**form.cleaned_data, "amount": str(form.cleaned_data["amount"])})
        except ServiceError as exc:
            add_error(form, exc)
        else:
            messages.success(
                request,
                _("%(amount)s CNY added to %(user)s's balance (now %(balance)s CNY).")
                % {"amount": entry.amount, "user": entry.user.username, "balance": balance_of(entry.user)},
            )
            return redirect("orders:operator_topup")
    return render(request, "orders/operator_topup.html", {"form": form, "entries": ledger_all()[:50]})


@operator_required
def operator_sizes(request):
    return render(
        request,
        "orders/operator_sizes.html",
        {"types": instance_types_all(), "offers": offers_all()},
    )


def _save_form(request, form, save, template, context):
    if request.method == "POST" and form.is_valid():
        try:
            save(form.cleaned_data)
        except ServiceError as exc:
            add_error(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("orders:operator_sizes")
    return render(request, template, {"form": form, **context})


@operator_required
def operator_type_edit(request, type_id: int | None = None):
    instance_type = get_object_or_404(instance_types_all(), pk=type_id) if type_id else None
    initial = (
        {f: getattr(instance_type, f) for f in ("code", "family", "vcpus", "memory_mib", "position")}
        if instance_type
        else None
    )
    return _save_form(
        request,
        InstanceTypeForm(request.POST or None, initial=initial),
        lambda data: instance_type_save(actor=request.user, instance_type=instance_type, **data),
        "console/reference_form.html",
        {
            "title": _("Instance type"),
            "object": instance_type,
            "audit_events": audit_events_for(target=instance_type) if instance_type else [],
        },
    )


@operator_required
def operator_offer_edit(request, offer_id: int | None = None):
    offer = get_object_or_404(offers_all(), pk=offer_id) if offer_id else None
    fields = ("region", "instance_type", "price_monthly", "price_hourly", "disk_min_gib", "disk_max_gib", "on_sale")
    initial = {f: getattr(offer, f) for f in fields} if offer else None

    def save(data):
        return offer_save(
            actor=request.user,
            offer=offer,
            **{**data, "price_monthly": str(data["price_monthly"]), "price_hourly": str(data["price_hourly"])},
        )

    return _save_form(
        request,
        OfferForm(request.POST or None, initial=initial),
        save,
        "console/reference_form.html",
        {
            "title": _("Instance offer"),
            "object": offer,
            "audit_events": audit_events_for(target=offer) if offer else [],
        },
    )
