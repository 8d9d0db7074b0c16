from django.shortcuts import get_object_or_404
from ninja import Header, Query, Router, Status

from shelf.accounts.access import require_buyer, require_operator
from shelf.errors import raise_if
from shelf.orders.pricing import term_from, term_input_violations
from shelf.orders.schemas import (
    IDEMPOTENCY_HEADER_DOC,
    BalanceOut,
    LedgerEntryOut,
    OfferOut,
    OrderIn,
    OrderOut,
    ProviderOrderOut,
    QuoteIn,
    QuoteOut,
    TopupIn,
    TopupOut,
)
from shelf.orders.selectors import balance_of, ledger_all, ledger_for, offers_on_sale, orders_for, provider_orders_for
from shelf.orders.services import order_place, order_quote, topup

router = Router(tags=["orders"])


def _term(payload: QuoteIn):
    raise_if(term_input_violations(months=payload.months, years=payload.years, hourly=payload.hourly))
    return term_from(months=payload.months, years=payload.years, hourly=bool(payload.hourly))


@router.get("/instance-types", response=list[OfferOut], auth=None)
def instance_type_list(request, region: str | None = None):
    """Server sizes on sale with their prices, in every active region or one (`?region=ap-guangzhou`)."""
    return offers_on_sale(region=region)


@router.post("/orders/quote", response=QuoteOut, auth=None)
def order_quote_new(request, payload: QuoteIn):
    """The price of a purchase (server + image, per month or hour and for the term), exactly as an order charges it."""
    priced, found = order_quote(
        product=payload.product,
        region=payload.region,
        instance_type=payload.instance_type,
        disk_gib=payload.disk_gib,
        term=_term(payload),
    )
    return {
        **priced.as_dict(),
        "product": str(found["product"].pk),
        "product_name": found["revision"].name,
        "region": found["delivery"].region.code,
        "instance_type": found["offer"].instance_type.code,
    }


@router.post("/orders", response={200: OrderOut, 201: OrderOut})
def order_new(
    request,
    payload: OrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", description=IDEMPOTENCY_HEADER_DOC),
):
    """Buy: charge the balance (prepaid: the whole term) and launch the server. 201 for a new order, 200 for a retry."""
    require_buyer(request.user)
    order, created = order_place(
        buyer=request.user,
        product=payload.product,
        region=payload.region,
        instance_type=payload.instance_type,
        disk_gib=payload.disk_gib,
        term=_term(payload),
        ssh_public_key=payload.ssh_public_key,
        name=payload.name,
        idempotency_key=idempotency_key,
    )
    return Status(201 if created else 200, orders_for(request.user).get(pk=order.pk))


@router.get("/orders", response=list[OrderOut])
def order_list(request):
    """A buyer's own orders, newest first; operators see every order."""
    return orders_for(request.user)


@router.get("/orders/{order_id}", response=OrderOut)
def order_detail(request, order_id: str):
    return get_object_or_404(orders_for(request.user), pk=_uuid_or_404(order_id))


@router.get("/provider/orders", response=list[ProviderOrderOut])
def provider_order_list(request):
    """Orders of your organisations' products: what sold, where, for how much (no buyer's key or address)."""
    return provider_orders_for(request.user)


@router.get("/provider/orders/{order_id}", response=ProviderOrderOut)
def provider_order_detail(request, order_id: str):
    return get_object_or_404(provider_orders_for(request.user), pk=_uuid_or_404(order_id))


@router.get("/balance", response=BalanceOut)
def balance(request):
    """Your balance: the sum of your ledger."""
    require_buyer(request.user)
    return {"user": request.user.username, "balance": balance_of(request.user)}


@router.get("/ledger", response=list[LedgerEntryOut])
def ledger(request, user: str | None = Query(None, description="Operators: one buyer's ledger.")):
    """Your ledger, newest first (top-ups, charges, refunds, with who and why); operators read everyone's."""
    if request.user.is_operator:
        entries = ledger_all()
        return entries.filter(user__username=user) if user else entries
    require_buyer(request.user)
    return ledger_for(request.user)


@router.post("/topups", response={201: TopupOut})
def topup_new(request, payload: TopupIn):
    """Operators add money to a buyer's balance, with a reason kept in the ledger."""
    require_operator(request.user)
    entry = topup(actor=request.user, user=payload.user, amount=payload.amount, reason=payload.reason)
    entry.balance = balance_of(entry.user)
    return Status(201, entry)


def _uuid_or_404(value: str):
    import uuid

    from django.http import Http404

    try:
        return uuid.UUID(value)
    except ValueError:
        raise Http404 from None
