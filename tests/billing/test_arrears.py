"""Arrears of a postpaid buyer: below zero his servers run 2 more hours, then stop; a top-up within 24 hours of
the stop lets them start again, otherwise they are released. 0.15 CNY an hour."""

from decimal import Decimal

import pytest

from shelf.billing.models import Arrears
from shelf.compute.models import Instance
from shelf.notifications.models import Notification
from shelf.orders.selectors import balance_of
from shelf.orders.services import topup
from tests.billing.conftest import assert_books_balance, at, buy, run, settle, stop

pytestmark = pytest.mark.django_db


def events(user) -> list[str]:
    return list(
        Notification.objects.filter(user=user, event__startswith="billing.")
        .order_by("id")
        .values_list("event", flat=True)
    )


@pytest.fixture
def in_arrears(api, clock, bruce, olivia, hourly_product, ssh_key):
    """bruce has 0.30, runs a server from 10:00; at 13:00 the third hour takes him to -0.15."""
    topup(actor=olivia, user=bruce, amount="0.30", reason="credit")
    clock.move_to(at(2026, 12, 1, 10, 0))
    order = buy(api(bruce), hourly_product, ssh_key, "a1", months=None, hourly=True)
    run(order.instance)
    clock.move_to(at(2026, 12, 1, 12, 0))
    settle()
    assert balance_of(bruce) == Decimal("0.00") and not Arrears.objects.exists()  # zero is not arrears
    clock.move_to(at(2026, 12, 1, 13, 0))
    settle()
    settle()
    assert balance_of(bruce) == Decimal("-0.15")
    case = Arrears.objects.get()
    assert (case.started_at, case.stopped_at) == (at(2026, 12, 1, 13, 0), None)
    clock.move_to(at(2026, 12, 1, 14, 59))  # keeps running for 2 hours
    settle()
    assert Instance.objects.get(pk=order.instance_id).state == "running"
    clock.move_to(at(2026, 12, 1, 15, 0))
    settle()
    settle()
    instance = Instance.objects.get(pk=order.instance_id)
    assert (instance.state, instance.hold) == ("stopping", "arrears")
    stop(instance)
    assert balance_of(bruce) == Decimal("-0.45")  # hours 13 and 14 were still used
    assert events(bruce) == ["billing.arrears", "billing.arrears_stopped"]
    return order


def test_a_top_up_within_24_hours_lets_the_server_start_again(
    api, clock, bruce, olivia, in_arrears, django_capture_on_commit_callbacks
):
    client = api(bruce)
    response = client.post(f"instances/{in_arrears.instance_id}/start")
    assert (response.status_code, response.json()["errors"][0]["code"]) == (409, "isolated")
    clock.move_to(at(2026, 12, 2, 14, 0))  # 23 hours after the stop
    with django_capture_on_commit_callbacks(execute=True):  # the hold is lifted with the top-up, not by the job
        topup(actor=olivia, user=bruce, amount="10.00", reason="top-up")
    case = Arrears.objects.get()
    assert (case.outcome, case.closed_at) == ("cleared", at(2026, 12, 2, 14, 0))
    assert Instance.objects.get(pk=in_arrears.instance_id).hold == ""
    assert client.post(f"instances/{in_arrears.instance_id}/start").status_code == 202
    clock.move_to(at(2026, 12, 3, 16, 0))
    settle()
    assert Instance.objects.get(pk=in_arrears.instance_id).state == "starting"  # not released
    assert events(bruce)[-1] == "billing.arrears_cleared"
    assert balance_of(bruce) == Decimal("9.55")
    assert_books_balance()


def test_after_24_hours_in_arrears_the_server_is_released(api, clock, bruce, in_arrears):
    clock.move_to(at(2026, 12, 2, 14, 59))
    settle()
    assert Instance.objects.get(pk=in_arrears.instance_id).state == "stopped"
    clock.move_to(at(2026, 12, 2, 15, 0))  # 24 hours after the stop
    settle()
    settle()
    case = Arrears.objects.get()
    assert case.outcome == "released"
    assert Instance.objects.get(pk=in_arrears.instance_id).state == "terminating"
    assert events(bruce) == ["billing.arrears", "billing.arrears_stopped", "billing.arrears_released"]
    assert balance_of(bruce) == Decimal("-0.45")  # the debt stays on the ledger; nothing more is metered
    assert_books_balance()
