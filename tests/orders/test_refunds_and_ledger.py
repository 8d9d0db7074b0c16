"""The ledger: top-ups by operators with a reason, the balance as its sum, refunds of failed instances exactly once."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from shelf.compute.models import Instance
from shelf.compute.services import instance_fail, instance_launch_begin, instance_lose
from shelf.orders.models import LedgerEntry, Order
from shelf.orders.selectors import balance_of
from shelf.orders.services import ledger_post, order_fail, topup
from tests.orders.conftest import order_body, place


def codes(response) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in response.json()["errors"]]


@pytest.fixture
def order(api, rich_bruce, product, ssh_key) -> Order:
    response = place(api(rich_bruce), order_body(product, ssh_key, months=3))
    assert response.status_code == 201, response.json()
    return Order.objects.get(pk=response.json()["id"])


def test_a_failed_launch_refunds_the_charge_once(order, rich_bruce):
    assert balance_of(rich_bruce) == Decimal("568.00")  # 1000 - 3 x 144
    instance = instance_launch_begin(instance=order.instance)
    instance_fail(instance=instance, reason="not enough memory on the host")
    order.refresh_from_db()
    assert order.status == Order.Status.FAILED
    refund = LedgerEntry.objects.get(kind="refund")
    assert (refund.amount, refund.order, refund.user) == (Decimal("432.00"), order, rich_bruce)
    assert "not enough memory on the host" in refund.reason
    assert balance_of(rich_bruce) == Decimal("1000.00")
    # The signal again (a duplicate job, a retry), or the service called directly: nothing more.
    assert instance_fail(instance=Instance.objects.get(pk=instance.pk), reason="again") is None
    order_fail(order=order, reason="again")
    assert LedgerEntry.objects.filter(kind="refund").count() == 1
    assert balance_of(rich_bruce) == Decimal("1000.00")


def test_a_lost_instance_refunds_its_order(order, rich_bruce):
    instance = instance_launch_begin(instance=order.instance)
    instance_lose(instance=instance, reason="the process is gone")
    assert Order.objects.get(pk=order.pk).status == Order.Status.FAILED
    assert balance_of(rich_bruce) == Decimal("1000.00")


def test_the_database_refuses_a_second_refund_of_one_order(order, rich_bruce):
    order_fail(order=order, reason="failed")
    refund = LedgerEntry.objects.get(order=order, kind="refund")
    assert refund.ref == f"order:{order.pk}:refund"
    assert refund.server_part + refund.image_part == refund.amount
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            user=rich_bruce,
            amount=Decimal("432.00"),
            kind="refund",
            reason="x",
            order=order,
            ref=refund.ref,
            server_part=Decimal("432.00"),
            image_part=Decimal("0.00"),
        )


def test_ledger_post_writes_one_row_per_ref(order, rich_bruce):
    first, created = ledger_post(
        user=rich_bruce,
        kind="charge",
        server_part=Decimal("-1.10"),
        image_part=Decimal("-0.25"),
        reason="hour",
        ref="test:hour:1",
        order=order,
    )
    again, created_again = ledger_post(
        user=rich_bruce,
        kind="charge",
        server_part=Decimal("-1.10"),
        image_part=Decimal("-0.25"),
        reason="hour",
        ref="test:hour:1",
        order=order,
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and first.amount == Decimal("-1.35")
    assert LedgerEntry.objects.filter(ref="test:hour:1").count() == 1


def test_the_parts_of_a_charge_add_up_to_its_amount(rich_bruce):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            user=rich_bruce,
            amount=Decimal("-2.00"),
            kind="charge",
            reason="x",
            server_part=Decimal("-1.00"),
            image_part=Decimal("-0.99"),
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(user=rich_bruce, amount=Decimal("-2.00"), kind="charge", reason="x")


def test_the_sign_of_a_ledger_row_follows_its_kind(rich_bruce):
    for kind, amount in (("topup", "-1.00"), ("charge", "1.00"), ("refund", "0.00")):
        with pytest.raises(IntegrityError), transaction.atomic():
            parts = {} if kind == "topup" else {"server_part": Decimal(amount), "image_part": Decimal("0.00")}
            LedgerEntry.objects.create(user=rich_bruce, amount=Decimal(amount), kind=kind, reason="x", **parts)


def test_an_unpaid_postpaid_order_fails_without_a_refund(api, rich_bruce, hourly_product, ssh_key):
    response = place(api(rich_bruce), order_body(hourly_product, ssh_key, months=None, hourly=True))
    order = Order.objects.get(pk=response.json()["id"])
    instance_fail(instance=instance_launch_begin(instance=order.instance), reason="boom")
    assert Order.objects.get(pk=order.pk).status == Order.Status.FAILED
    assert not LedgerEntry.objects.filter(kind="refund").exists()
    assert balance_of(rich_bruce) == Decimal("1000.00")


# Top-ups and reading the balance


def test_operators_top_up_with_a_reason_and_buyers_read_the_sum(api, bruce, olivia):
    operator = api(olivia)
    first = operator.post("topups", json={"user": "bruce", "amount": "100.50", "reason": "bank transfer 42"})
    assert first.status_code == 201, first.json()
    assert (first.json()["amount"], first.json()["balance"], first.json()["actor"]) == ("100.50", "100.50", "olivia")
    operator.post("topups", json={"user": "bruce", "amount": 20, "reason": "goodwill"})
    buyer = api(bruce)
    assert buyer.get("balance").json() == {"user": "bruce", "currency": "CNY", "balance": "120.50"}
    ledger = buyer.get("ledger").json()
    assert [(e["kind"], e["amount"], e["reason"], e["actor"]) for e in ledger] == [
        ("topup", "20.00", "goodwill", "olivia"),
        ("topup", "100.50", "bank transfer 42", "olivia"),
    ]
    assert [e["user"] for e in operator.get("ledger?user=bruce").json()] == ["bruce", "bruce"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"user": "bruce", "amount": "0", "reason": "x"}, [("amount", "not_positive")]),
        ({"user": "bruce", "amount": "-5.00", "reason": "x"}, [("amount", "not_positive")]),
        ({"user": "bruce", "amount": "1.005", "reason": "x"}, [("amount", "decimal_places")]),
        ({"user": "bruce", "amount": "lots", "reason": "x"}, [("amount", "invalid")]),
        ({"user": "bruce", "amount": "1000000.01", "reason": "x"}, [("amount", "too_high")]),
        ({"user": "bruce", "amount": "10.00", "reason": "  "}, [("reason", "required")]),
        ({"user": "bruce", "amount": "10.00"}, [("reason", "required")]),
        ({"user": "alice", "amount": "10.00", "reason": "x"}, [("user", "not_a_buyer")]),
        ({"user": "nobody", "amount": "10.00", "reason": "x"}, [("user", "unknown")]),
    ],
)
def test_top_up_rules(api, bruce, alice, olivia, body, expected):
    response = api(olivia).post("topups", json=body)
    assert response.status_code == 422
    assert codes(response) == expected
    assert not LedgerEntry.objects.exists()


def test_a_float_amount_is_refused(api, bruce, olivia):
    response = api(olivia).post("topups", json={"user": "bruce", "amount": 10.5, "reason": "x"})
    assert response.status_code == 422


def test_only_operators_top_up_and_only_buyers_have_a_balance(api, bruce, alice, olivia):
    for user in (bruce, alice):
        assert api(user).post("topups", json={"user": "bruce", "amount": "5", "reason": "me"}).status_code == 404
    assert api(alice).get("balance").status_code == 404
    assert api(olivia).get("balance").status_code == 404
    assert api(alice).get("ledger").status_code == 404
    assert api(None).get("balance").status_code == 401


def test_a_buyer_reads_only_his_own_ledger(api, bruce, carol, olivia):
    topup(actor=olivia, user=bruce, amount="10.00", reason="bruce's")
    assert api(carol).get("ledger").json() == []
    assert api(carol).get("balance").json()["balance"] == "0.00"


def test_demo_data_gives_bruce_a_balance_once(db):
    from django.core.management import call_command

    from shelf.accounts.models import User

    call_command("demo_data", verbosity=0)
    call_command("demo_data", verbosity=0)
    bruce = User.objects.get(username="bruce")
    assert balance_of(bruce) == Decimal("1000.00")
    assert LedgerEntry.objects.get(user=bruce).actor.username == "olivia"
