"""Prepaid terms through time: notices, expiry, isolation, renewal inside 7 days, release on day 8, auto-renew,
early termination. Prices: S5.SMALL1 45.00 + image 99.00 = 144.00 CNY a month."""

from decimal import Decimal

import pytest
from django.core import mail

from shelf.billing.models import PrepaidTerm
from shelf.billing.services import add_months, whole_months_between
from shelf.compute.models import Instance
from shelf.notifications.models import Notification
from shelf.orders.models import InstanceOffer, LedgerEntry
from shelf.orders.selectors import balance_of
from tests.billing.conftest import assert_books_balance, at, buy, run, settle, stop

pytestmark = pytest.mark.django_db(transaction=False)


def events(user) -> list[str]:
    return list(Notification.objects.filter(user=user).order_by("id").values_list("event", flat=True))


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (at(2026, 1, 31, 10, 0), 1, at(2026, 2, 28, 10, 0)),
        (at(2028, 1, 31, 10, 0), 1, at(2028, 2, 29, 10, 0)),  # leap year
        (at(2026, 3, 31, 23, 30), 1, at(2026, 4, 30, 23, 30)),  # 31st → 30th
        (at(2026, 4, 30, 9, 0), 1, at(2026, 5, 30, 9, 0)),  # counts on from the clamped date
        (at(2026, 11, 15, 8, 0), 3, at(2027, 2, 15, 8, 0)),
        (at(2026, 2, 28, 8, 0), 12, at(2027, 2, 28, 8, 0)),
    ],
)
def test_calendar_months(start, months, end):
    assert add_months(start, months) == end


def test_whole_unused_months():
    assert whole_months_between(at(2026, 1, 10), at(2026, 4, 10)) == 3
    assert whole_months_between(at(2026, 1, 10, 0, 1), at(2026, 4, 10)) == 2
    assert whole_months_between(at(2026, 4, 10), at(2026, 1, 10)) == 0


def test_a_term_notices_expires_isolates_and_is_renewed_on_day_3_from_the_old_expiry(
    api, clock, money_bruce, product, ssh_key, django_capture_on_commit_callbacks
):
    client = api(money_bruce)
    order = buy(client, product, ssh_key, "t1", months=1)  # 2026-01-31 10:00
    instance = run(order.instance)
    term = PrepaidTerm.objects.get(order=order)
    assert (term.starts_at, term.expires_at) == (order.created_at, at(2026, 2, 28, 10, 0))
    assert balance_of(money_bruce) == Decimal("856.00")
    clock.move_to(at(2026, 2, 21, 9, 59))
    settle()
    assert events(money_bruce) == []
    clock.move_to(at(2026, 2, 21, 10, 0))  # 7 days before
    with django_capture_on_commit_callbacks(execute=True):
        settle()
        settle()
    assert [m.subject for m in mail.outbox] == ["[Shelf] web-1 expires on 2026-02-28 10:00"]
    assert mail.outbox[0].to == ["bruce@example.com"]
    assert events(money_bruce) == ["billing.expiring_7d"]
    clock.move_to(at(2026, 2, 27, 10, 0))  # 1 day before
    settle()
    settle()
    assert events(money_bruce) == ["billing.expiring_7d", "billing.expiring_1d"]

    clock.move_to(at(2026, 2, 28, 10, 0))  # the expiry: stopped and isolated, disk kept
    settle()
    settle()
    term.refresh_from_db()
    instance.refresh_from_db()
    assert (term.state, instance.hold, instance.state) == ("isolated", "expired", "stopping")
    instance = stop(instance)
    response = client.post(f"instances/{instance.pk}/start")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "isolated"
    assert events(money_bruce)[-1] == "billing.isolated"

    clock.move_to(at(2026, 3, 2, 15, 0))  # day 3 of the isolation
    response = client.post(f"billing/terms/{order.pk}/renew", json={"months": 1})
    assert response.status_code == 200, response.json()
    body = response.json()
    # From the old expiry (02-28 10:00 local), not from the renewal time: 03-28 10:00 local is 02:00 UTC.
    assert body["expires_at"] == "2026-03-28T02:00:00Z"
    assert (body["state"], body["renewals"]) == ("active", 1)
    renewal = LedgerEntry.objects.get(ref=f"renew:{order.pk}:1")
    assert (renewal.amount, renewal.server_part, renewal.image_part) == (
        Decimal("-144.00"),
        Decimal("-45.00"),
        Decimal("-99.00"),
    )
    assert renewal.instance_id == instance.pk and renewal.order_id == order.pk
    instance.refresh_from_db()
    assert instance.hold == ""
    assert client.post(f"instances/{instance.pk}/start").status_code == 202
    clock.move_to(at(2026, 3, 8, 10, 0))  # past the old release time: nothing happens to a renewed term
    settle()
    term.refresh_from_db()
    assert term.state == "active" and balance_of(money_bruce) == Decimal("712.00")
    assert_books_balance()


def test_an_unrenewed_term_is_released_at_the_start_of_day_8(api, clock, money_bruce, product, ssh_key):
    client = api(money_bruce)
    order = buy(client, product, ssh_key, "t2", months=1)
    run(order.instance)
    clock.move_to(at(2026, 2, 28, 10, 0))
    settle()
    stop(order.instance)
    clock.move_to(at(2026, 3, 7, 9, 59))  # still day 7
    settle()
    term = PrepaidTerm.objects.get(order=order)
    assert term.state == "isolated"
    clock.move_to(at(2026, 3, 7, 10, 0))  # expiry + 7 days: day 8 begins
    settle()
    settle()
    term.refresh_from_db()
    instance = Instance.objects.get(pk=order.instance_id)
    assert (term.state, instance.state) == ("released", "terminating")
    assert events(money_bruce).count("billing.released") == 1
    # Too late to renew; nothing was refunded (the term was used up).
    response = client.post(f"billing/terms/{order.pk}/renew", json={"months": 1})
    assert response.status_code == 409
    assert not LedgerEntry.objects.filter(kind="refund").exists()
    assert balance_of(money_bruce) == Decimal("856.00")
    assert_books_balance()


def test_auto_renew_charges_on_the_expiry_day_at_current_prices(api, clock, money_bruce, product, ssh_key):
    client = api(money_bruce)
    order = buy(client, product, ssh_key, "t3", months=1)
    run(order.instance)
    assert client.put(f"billing/terms/{order.pk}/auto-renew", json={"auto_renew": True}).status_code == 200
    InstanceOffer.objects.filter(pk=order.offer_id).update(price_monthly=Decimal("50.00"))  # a new price
    clock.move_to(at(2026, 2, 27, 23, 59))
    settle()
    assert PrepaidTerm.objects.get(order=order).renewals == 0
    clock.move_to(at(2026, 2, 28, 0, 0))  # the expiry day begins
    settle()
    settle()
    term = PrepaidTerm.objects.get(order=order)
    assert (term.renewals, term.expires_at, term.state) == (1, at(2026, 3, 28, 10, 0), "active")
    assert LedgerEntry.objects.get(ref=f"renew:{order.pk}:1").amount == Decimal("-149.00")
    clock.move_to(at(2026, 2, 28, 10, 0))
    settle()
    assert Instance.objects.get(pk=order.instance_id).hold == ""
    assert balance_of(money_bruce) == Decimal("707.00")
    assert "billing.renewed" in events(money_bruce)
    assert_books_balance()


def test_auto_renew_without_money_notices_once_and_the_term_expires(api, clock, bruce, olivia, product, ssh_key):
    from shelf.orders.services import topup

    topup(actor=olivia, user=bruce, amount="200.00", reason="credit")
    client = api(bruce)
    order = buy(client, product, ssh_key, "t4", months=1)
    run(order.instance)
    client.put(f"billing/terms/{order.pk}/auto-renew", json={"auto_renew": True})
    clock.move_to(at(2026, 2, 28, 0, 0))
    settle()
    settle()
    assert events(bruce).count("billing.autorenew_failed") == 1
    assert not LedgerEntry.objects.filter(ref__startswith="renew:").exists()
    clock.move_to(at(2026, 2, 28, 10, 0))
    settle()
    assert PrepaidTerm.objects.get(order=order).state == "isolated"
    assert balance_of(bruce) == Decimal("56.00")
    assert_books_balance()


def test_early_termination_refunds_unused_whole_server_months_and_no_image(api, clock, money_bruce, product, ssh_key):
    client = api(money_bruce)
    order = buy(client, product, ssh_key, "t5", months=3)  # 432.00, until 2026-04-30 10:00 (31st → 30th)
    run(order.instance)
    clock.move_to(at(2026, 2, 10, 10, 0))  # 2 whole months and some days left
    assert client.post(f"instances/{order.instance_id}/terminate").status_code == 202
    refund = LedgerEntry.objects.get(ref=f"terminate:{order.pk}:refund")
    assert (refund.amount, refund.server_part, refund.image_part) == (
        Decimal("90.00"),
        Decimal("90.00"),
        Decimal("0.00"),
    )
    assert PrepaidTerm.objects.get(order=order).state == "ended"
    assert balance_of(money_bruce) == Decimal("658.00")  # 1000 - 432 + 90
    assert_books_balance()


def test_early_termination_refund_can_be_turned_off(api, clock, money_bruce, product, ssh_key, settings):
    settings.SHELF_BILLING_TERMINATE_REFUND = "none"
    order = buy(api(money_bruce), product, ssh_key, "t6", months=3)
    run(order.instance)
    api(money_bruce).post(f"instances/{order.instance_id}/terminate")
    assert not LedgerEntry.objects.filter(kind="refund").exists()
    assert_books_balance()


def test_renewal_rules_are_422_per_field(api, clock, bruce, olivia, product, ssh_key, carol_buyer):
    from shelf.orders.services import topup

    topup(actor=olivia, user=bruce, amount="150.00", reason="credit")
    client = api(bruce)
    order = buy(client, product, ssh_key, "t7", months=1)
    for body, code in [
        ({"months": 13}, "out_of_range"),
        ({"years": 4}, "out_of_range"),
        ({"months": 1, "years": 1}, "ambiguous"),
        ({}, "required"),
        ({"months": 1}, "insufficient_balance"),  # 6.00 left
    ]:
        response = client.post(f"billing/terms/{order.pk}/renew", json=body)
        assert response.status_code == 422, (body, response.json())
        assert response.json()["errors"][0]["code"] == code
    # Another buyer's term is not there.
    assert api(carol_buyer).post(f"billing/terms/{order.pk}/renew", json={"months": 1}).status_code == 404
    assert api(carol_buyer).get(f"billing/terms/{order.pk}").status_code == 404
    assert api(carol_buyer).put(f"billing/terms/{order.pk}/auto-renew", json={"auto_renew": True}).status_code == 404
    assert_books_balance()
