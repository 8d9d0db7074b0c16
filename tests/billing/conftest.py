"""Revenue tests buy through the orders API (the launch job is kept, not run) and post renewals and usage hours
through ledger_post with billing's refs, as billing-core's jobs do."""

from decimal import Decimal

from django.db import transaction

from shelf.billing.revenue import RevenueSplit
from shelf.orders.models import LedgerEntry, Order
from shelf.orders.services import account_lock, ledger_post
from tests.cli.conftest import shelf_cli  # noqa: F401 - fixture of the CLI test
from tests.orders.conftest import (  # noqa: F401 - fixtures
    _launches_kept,
    _sizes,
    carol,
    listed_product,
    order_body,
    place,
    product,
    rich_bruce,
    ssh_key,
)


def buy(api, buyer, what, key_text: str, key: str, **overrides) -> Order:
    response = place(api(buyer), order_body(what, key_text, **overrides), key=key)
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=response.json()["id"])


def post(order: Order, *, ref: str, server: str, image: str, kind: str = "charge", with_order: bool = True):
    """A renewal/usage/refund row the way billing-core writes it: under the buyer's lock, once per ref."""
    with transaction.atomic():
        account_lock(order.buyer)
        entry, _created = ledger_post(
            user=order.buyer,
            kind=kind,
            server_part=Decimal(server),
            image_part=Decimal(image),
            reason=ref,
            ref=ref,
            order=order if with_order else None,
            instance=order.instance,
        )
    return entry


def assert_ledger_split():
    """Every charge and refund has exactly one split and every split adds up; top-ups have none."""
    entries = LedgerEntry.objects.exclude(kind=LedgerEntry.Kind.TOPUP)
    assert RevenueSplit.objects.count() == entries.count()
    assert not RevenueSplit.objects.filter(entry__kind=LedgerEntry.Kind.TOPUP).exists()
    for row in RevenueSplit.objects.select_related("entry"):
        assert row.provider_net + row.marketplace == row.gross
        assert row.server_part + row.image_part == row.gross == -row.entry.amount
        assert row.image_part - row.commission == row.provider_net
