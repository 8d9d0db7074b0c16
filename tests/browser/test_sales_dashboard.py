"""alice's sales dashboard in real chromium, under the Content-Security-Policy: charts drawn by the server, the
same figures in the tables, and the totals are the ledger's. A screenshot is kept for a person to look at."""

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Sum

from shelf.accounts.models import User
from shelf.orders.models import LedgerEntry
from shelf.orders.reference import seed
from tests.billing.conftest import buy, listed_product, post
from tests.browser.test_console import log_in
from tests.conftest import ApiClient
from tests.orders.conftest import openssh_public

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(os.environ.get("SHELF_SCREENSHOTS", "/tmp/shelf-screenshots"))


def test_alice_sees_her_sales_as_charts_and_tables(live_server, page, settings):
    from cryptography.hazmat.primitives.asymmetric import ed25519

    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "scans"]}
    }
    call_command("demo_data", verbosity=0)
    seed(apps)
    alice, bruce = User.objects.get(username="alice"), User.objects.get(username="bruce")
    key = openssh_public(ed25519.Ed25519PrivateKey.generate())
    product = listed_product(alice.organizations.get())
    order = buy(ApiClient(bruce), product, key, "b1", months=1)
    buy(ApiClient(bruce), product, key, "b2", months=2)
    post(order, ref=f"renew:{order.pk}:1", server="-45.00", image="-99.00")
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/provider/sales/")
    assert page.locator("nav.mainnav a.active").inner_text() == "Sales"
    assert page.locator("svg.chart-svg").count() == 3
    assert page.locator("#chart-orders-title").text_content().startswith("Orders per day")
    ledger = -LedgerEntry.objects.exclude(kind="topup").aggregate(total=Sum("amount"))["total"]
    assert ledger == Decimal("576.00")
    assert page.locator("#months tr.total td").nth(2).inner_text() == f"{ledger:.2f}"
    assert page.locator('[data-figure="gross"]').inner_text() == f"{ledger:.2f}"
    assert page.locator('[data-figure="orders"]').inner_text() == "2"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sales-dashboard.png"), full_page=True)
    page.goto(f"{live_server.url}/operator/revenue/")
    assert page.locator("h1").inner_text() != "Marketplace revenue"  # a provider: not found


def test_olivia_sets_a_commission_rate_and_sees_the_marketplace_in_chinese(live_server, browser, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "scans"]}
    }
    call_command("demo_data", verbosity=0)
    seed(apps)
    from cryptography.hazmat.primitives.asymmetric import ed25519

    alice, bruce = User.objects.get(username="alice"), User.objects.get(username="bruce")
    product = listed_product(alice.organizations.get())
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, live_server.url, "olivia")
        page.goto(f"{live_server.url}/operator/commission/")
        page.fill("#id_rate_percent", "12.5")
        page.click("button.primary")
        assert "12.50" in page.locator("#rates").inner_text()
        buy(ApiClient(bruce), product, openssh_public(ed25519.Ed25519PrivateKey.generate()), "b1", months=1)
        page.goto(f"{live_server.url}/operator/revenue/")
        assert page.locator("h1").inner_text() == "云市场收入"
        # 144.00 gross: the 45.00 server part + 12.38 commission (12.5 % of 99.00, 12.375 rounded half up).
        assert page.locator("#months tr.total td").last.inner_text() == "57.38"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "operator-revenue-zh.png"), full_page=True)
    finally:
        context.close()
