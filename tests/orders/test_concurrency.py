"""Concurrent requests through real threads, each with its own database connection (SQLite and PostgreSQL)."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from shelf.compute.models import Instance
from shelf.orders.models import LedgerEntry, Order
from shelf.orders.selectors import balance_of
from shelf.orders.services import topup
from tests.orders.conftest import enqueued_launches, order_body, place


def run_together(n: int, work) -> list:
    """Start n threads at one barrier, each calling work(i); close every thread's own connection."""
    start, answers = threading.Barrier(n), [None] * n

    def run(i):
        try:
            start.wait()
            answers[i] = work(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return answers


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_one_order_and_one_charge(api, bruce, olivia, product, ssh_key):
    topup(actor=olivia, user=bruce, amount="1000.00", reason="credit")
    client = api(bruce)
    body = order_body(product, ssh_key)
    launches = []

    def work(i):
        answer = place(client, body, key="one-click")
        launches.extend(enqueued_launches())  # each thread has its own task backend: collect what it enqueued
        return answer

    answers = run_together(4, work)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert Order.objects.count() == 1 and Instance.objects.count() == 1
    assert LedgerEntry.objects.filter(kind="charge").count() == 1
    assert balance_of(bruce) == Decimal("856.00")
    assert [r.args for r in launches] == [[answers[0].json()["instance"]]]


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_cannot_spend_the_balance_twice(api, bruce, olivia, product, ssh_key):
    """Enough for one order of 144.00: of two placed at once with different keys, one is refused."""
    topup(actor=olivia, user=bruce, amount="200.00", reason="credit")
    client = api(bruce)
    body = order_body(product, ssh_key)
    answers = run_together(2, lambda i: place(client, body, key=f"key-{i}"))
    assert sorted(a.status_code for a in answers) == [201, 422]
    refused = next(a for a in answers if a.status_code == 422)
    assert refused.json()["errors"][0]["code"] == "insufficient_balance"
    assert "88.00 CNY missing" in refused.json()["errors"][0]["message"]
    assert Order.objects.count() == 1 and balance_of(bruce) == Decimal("56.00")


@pytest.mark.django_db(transaction=True)
def test_concurrent_top_ups_and_orders_sum_exactly(api, bruce, olivia, product, ssh_key):
    """Top-ups and charges interleaved from many threads: the balance is exactly the ledger's sum."""
    topup(actor=olivia, user=bruce, amount="144.00", reason="first order")
    client = api(bruce)
    body = order_body(product, ssh_key)

    def work(i):
        if i % 2:
            return topup(actor=olivia, user=bruce, amount="144.00", reason=f"credit {i}")
        return place(client, body, key=f"k{i}")

    answers = run_together(6, work)
    placed = [a for a in answers if hasattr(a, "status_code") and a.status_code == 201]
    charges = LedgerEntry.objects.filter(kind="charge").count()
    assert charges == len(placed) >= 1
    assert balance_of(bruce) == Decimal("144.00") * (1 + 3) - Decimal("144.00") * charges
    assert balance_of(bruce) >= 0
