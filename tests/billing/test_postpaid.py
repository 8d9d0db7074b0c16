"""Postpaid metering: intervals from running to stopped, each clock hour settled once whatever happens.
Prices: S5.SMALL1 0.10 + image 0.05 = 0.15 CNY an hour."""

import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from shelf.billing import metering
from shelf.billing.models import UsageInterval, UsageRecord
from shelf.compute.models import Instance
from shelf.compute.services import instance_booted, instance_start
from shelf.orders.models import LedgerEntry
from shelf.orders.selectors import balance_of
from tests.billing.conftest import assert_books_balance, at, buy, run, settle, stop


def hourly(client, hourly_product, ssh_key, key="p1"):
    return buy(client, hourly_product, ssh_key, key, months=None, hourly=True)


def start_again(instance):
    instance = instance_start(actor=None, instance=Instance.objects.get(pk=instance.pk))
    return instance_booted(instance=instance, expected="starting")


def charges() -> list[tuple[str, Decimal]]:
    return [
        (r.hour.strftime("%H"), r.amount)
        for r in UsageRecord.objects.order_by("hour").select_related("entry")
        if r.entry is None or r.entry.amount == -r.amount
    ]


def across_a_stop_and_a_start(client, clock, hourly_product, ssh_key):
    """Running 10:20-11:30 and 11:50-13:10 (Shanghai): 40 + 40 + 60 + 10 minutes in four clock hours."""
    clock.move_to(at(2026, 12, 1, 10, 20))
    order = hourly(client, hourly_product, ssh_key)
    run(order.instance)
    clock.move_to(at(2026, 12, 1, 11, 30))
    stop(order.instance)
    clock.move_to(at(2026, 12, 1, 11, 50))
    start_again(order.instance)
    clock.move_to(at(2026, 12, 1, 13, 10))
    stop(order.instance)
    clock.move_to(at(2026, 12, 1, 14, 5))
    return order


@pytest.mark.django_db
def test_hours_across_a_stop_and_a_start_are_billed_per_second_once(api, clock, money_bruce, hourly_product, ssh_key):
    order = across_a_stop_and_a_start(api(money_bruce), clock, hourly_product, ssh_key)
    assert UsageInterval.objects.filter(instance=order.instance).count() == 2
    assert settle()["usage"] == {"hours": 4, "charged": 4}
    # 2400 s: 0.0667 → 0.07 server + 0.0333 → 0.03 image; 600 s: 0.0167 → 0.02 + 0.0083 → 0.01.
    assert charges() == [
        ("02", Decimal("0.10")),
        ("03", Decimal("0.10")),
        ("04", Decimal("0.15")),
        ("05", Decimal("0.03")),
    ]
    assert [r.seconds for r in UsageRecord.objects.order_by("hour")] == [2400, 2400, 3600, 600]
    assert settle()["usage"] == {"hours": 0, "charged": 0}  # the job run twice
    call_command("billing_settle")
    assert LedgerEntry.objects.filter(ref__startswith="usage:").count() == 4
    entry = LedgerEntry.objects.get(ref=f"usage:{order.instance_id}:2026-12-01T04:00:00Z")
    assert (entry.server_part, entry.image_part, entry.order_id, entry.instance_id) == (
        Decimal("-0.10"),
        Decimal("-0.05"),
        order.pk,
        order.instance_id,
    )
    assert balance_of(money_bruce) == Decimal("999.62")  # 1000 - 0.38
    assert_books_balance()


@pytest.mark.django_db
def test_each_started_hour_rounding(api, clock, money_bruce, hourly_product, ssh_key, settings):
    settings.SHELF_BILLING_USAGE_ROUNDING = "hour"
    across_a_stop_and_a_start(api(money_bruce), clock, hourly_product, ssh_key)
    settle()
    assert [amount for _hour, amount in charges()] == [Decimal("0.15")] * 4
    assert {r.rounding for r in UsageRecord.objects.all()} == {"hour"}
    assert balance_of(money_bruce) == Decimal("999.40")
    assert_books_balance()


@pytest.mark.django_db
def test_until_settles_only_hours_ended_by_then_and_never_the_running_hour(
    api, clock, money_bruce, hourly_product, ssh_key
):
    clock.move_to(at(2026, 12, 1, 10, 0))
    order = hourly(api(money_bruce), hourly_product, ssh_key)
    run(order.instance)
    clock.move_to(at(2026, 12, 1, 15, 30))  # still running
    call_command("billing_settle", "--until", "2026-12-01T04:00:00Z")  # 12:00 Shanghai
    assert UsageRecord.objects.count() == 2
    call_command("billing_settle", "--until", "2027-01-01T00:00:00Z")  # the future: up to now
    assert UsageRecord.objects.count() == 5  # 10, 11, 12, 13, 14; 15:00-15:30 is not over
    assert balance_of(money_bruce) == Decimal("999.25")
    assert_books_balance()


@pytest.mark.django_db
def test_a_job_killed_mid_way_loses_only_the_hour_it_was_writing(
    api, clock, money_bruce, hourly_product, ssh_key, monkeypatch
):
    clock.move_to(at(2026, 12, 1, 10, 0))
    order = hourly(api(money_bruce), hourly_product, ssh_key)
    run(order.instance)
    clock.move_to(at(2026, 12, 1, 13, 0))
    real_create, calls = UsageRecord.objects.create, []

    def dies_on_the_second_hour(**kwargs):
        calls.append(kwargs["hour"])
        if len(calls) == 2:  # the ledger row of this hour is written already: it must go with the crash
            raise SystemExit("worker killed")
        return real_create(**kwargs)

    monkeypatch.setattr(UsageRecord.objects, "create", dies_on_the_second_hour)
    with pytest.raises(SystemExit):
        settle()
    assert UsageRecord.objects.count() == 1
    assert LedgerEntry.objects.filter(ref__startswith="usage:").count() == 1
    monkeypatch.undo()
    assert settle()["usage"] == {"hours": 2, "charged": 2}
    assert [hour for hour, _amount in charges()] == ["02", "03", "04"]
    assert balance_of(money_bruce) == Decimal("999.55")
    assert_books_balance()


def run_together(n: int, work) -> list:
    start, answers, errors = threading.Barrier(n), [None] * n, []

    def go(i):
        try:
            start.wait()
            answers[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return answers


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_bill_each_hour_once(api, clock, bruce, olivia, hourly_product, ssh_key):
    from shelf.orders.services import topup

    topup(actor=olivia, user=bruce, amount="100.00", reason="credit")
    clock.move_to(at(2026, 12, 1, 0, 0))
    client = api(bruce)
    instances = []
    for key in ("a", "b", "c"):
        instances.append(run(hourly(client, hourly_product, ssh_key, key=key).instance))
    clock.move_to(at(2026, 12, 1, 12, 0))  # 12 hours of 3 servers
    answers = run_together(2, lambda i: metering.settle_usage())
    assert sum(a["charged"] for a in answers) >= 36  # each saw every hour settled (by itself or the other)
    assert UsageRecord.objects.count() == 36
    assert LedgerEntry.objects.filter(ref__startswith="usage:").count() == 36
    assert balance_of(bruce) == Decimal("100.00") - Decimal("0.15") * 36
    assert_books_balance()


@pytest.mark.django_db
def test_bruce_runs_three_hours_and_sees_three_charges_through_the_api(
    api, clock, money_bruce, hourly_product, ssh_key
):
    client = api(money_bruce)
    clock.move_to(at(2026, 12, 1, 10, 0))
    order = hourly(client, hourly_product, ssh_key)
    run(order.instance)
    clock.move_to(at(2026, 12, 1, 13, 0))
    call_command("billing_settle")
    usage = client.get("billing/usage", data={"month": "2026-12"}).json()
    assert [(u["hour"], u["amount"], u["billed_seconds"]) for u in usage] == [
        ("2026-12-01T02:00:00Z", "0.15", 3600),
        ("2026-12-01T03:00:00Z", "0.15", 3600),
        ("2026-12-01T04:00:00Z", "0.15", 3600),
    ]
    call_command("billing_settle")
    assert len(client.get("billing/usage").json()) == 3
    bill = client.get("billing/bill", data={"month": "2026-12"}).json()
    assert bill["totals"] == {"charged": "0.45", "refunded": "0.00", "net": "0.45"}
    assert [(d["day"], d["count"], d["amount"]) for d in bill["by_day"]] == [("2026-12-01", 3, "0.45")]
    assert bill["by_instance"] == [{"instance": str(order.instance_id), "name": "web-1", "count": 3, "amount": "0.45"}]
    csv_text = client.get("billing/bill.csv", data={"month": "2026-12"}).content.decode()
    assert csv_text.count("usage:") == 3 and "net,,,,,,0.45,CNY" in csv_text
    assert client.get("balance").json()["balance"] == "999.55"
    assert client.get("billing/bill", data={"month": "2026-13"}).status_code == 422
    assert_books_balance()


@pytest.mark.django_db
def test_housekeeping_settles_the_hours_too(api, clock, money_bruce, hourly_product, ssh_key):
    clock.move_to(at(2026, 12, 1, 10, 0))
    order = hourly(api(money_bruce), hourly_product, ssh_key)
    run(order.instance)
    clock.move_to(at(2026, 12, 1, 13, 0))
    call_command("housekeeping")
    assert UsageRecord.objects.filter(instance=order.instance).count() == 3
    assert_books_balance()
