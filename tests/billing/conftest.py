"""Billing tests: orders placed through the API, instances moved through compute's services without booting
(the launch job is kept, not run, as in tests/orders), and time moved with time-machine."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.db.models import Sum

from shelf.billing.models import Renewal, UsageRecord
from shelf.billing.revenue import RevenueSplit
from shelf.billing.tasks import billing_run
from shelf.compute.models import Instance
from shelf.compute.services import instance_booted, instance_launch_begin, instance_stop, instance_stopped
from shelf.orders.models import LedgerEntry, Order
from shelf.orders.selectors import balance_of
from shelf.orders.services import account_lock, ledger_post, topup
from tests.cli.conftest import shelf_cli  # noqa: F401 - fixture of the CLI tests
from tests.orders.conftest import (  # noqa: F401 - fixtures
    _launches_kept,
    _sizes,
    carol,
    hourly_product,
    listed_product,
    order_body,
    place,
    product,
    rich_bruce,
    ssh_key,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime:
    """A moment in Shelf's time zone (Asia/Shanghai)."""
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def clock():
    """`clock.move_to(moment)`: the frozen time every service reads (timezone.now), until the test ends."""
    with time_machine.travel(at(2026, 1, 31, 10, 0), tick=False) as traveller:
        yield traveller


@pytest.fixture
def money_bruce(bruce, olivia):
    topup(actor=olivia, user=bruce, amount="1000.00", reason="welcome credit")
    return bruce


def buy(client, sold, key_text, key: str, **term) -> Order:
    response = place(client, order_body(sold, key_text, **term), key=key)
    assert response.status_code == 201, response.json()
    return Order.objects.select_related("instance").get(pk=response.json()["id"])


def run(instance: Instance) -> Instance:
    """pending → launching → running, as the launch job reports it once the guest boots."""
    instance = Instance.objects.get(pk=instance.pk)
    if instance.state == Instance.State.PENDING:
        instance = instance_launch_begin(instance=instance)
    return instance_booted(instance=instance, expected=instance.state)


def stop(instance: Instance, actor=None) -> Instance:
    instance = Instance.objects.get(pk=instance.pk)
    if instance.state == Instance.State.RUNNING:
        instance = instance_stop(actor=actor, instance=instance)
    return instance_stopped(instance=instance)


def settle(**kwargs) -> dict:
    return billing_run(**kwargs)


def assert_books_balance() -> None:
    """The invariant after every scenario: each buyer's balance is the sum of his ledger; every charge and refund
    adds up from its parts; what billing recorded (hours, renewals) is exactly what the ledger holds."""
    for user_id in LedgerEntry.objects.values_list("user_id", flat=True).distinct():
        rows = LedgerEntry.objects.filter(user_id=user_id)
        total = sum((row.amount for row in rows), Decimal("0.00"))
        assert balance_of(rows.first().user) == total
        for row in rows.exclude(kind="topup"):
            assert row.server_part + row.image_part == row.amount
            assert row.amount < 0 if row.kind == "charge" else row.amount > 0
    usage = UsageRecord.objects.aggregate(s=Sum("amount"))["s"] or Decimal("0")
    usage_rows = LedgerEntry.objects.filter(ref__startswith="usage:").aggregate(s=Sum("amount"))["s"] or Decimal("0")
    assert usage == -usage_rows
    assert (
        UsageRecord.objects.filter(entry__isnull=False).count()
        == LedgerEntry.objects.filter(ref__startswith="usage:").count()
    )
    for renewal in Renewal.objects.select_related("entry"):
        assert renewal.amount == -renewal.entry.amount
        assert renewal.entry.ref == f"renew:{renewal.term.order_id}:{renewal.number}"


@pytest.fixture
def carol_buyer(db):
    from shelf.accounts.services import buyer_signup
    from tests.conftest import PASSWORD

    return buyer_signup(username="carol", email="carol@example.com", password=PASSWORD)


# Revenue: orders bought by any buyer, renewal and usage rows posted the way billing's jobs post them


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
