"""bruce buys through real chromium: the price follows his choices (the page's script asks the quote API, under the
Content-Security-Policy), and what he is charged is what the server prices on submit."""

from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from django.apps import apps
from django.core.management import call_command
from playwright.sync_api import expect

from shelf.accounts.models import User
from shelf.orders.models import Order
from shelf.orders.reference import seed
from shelf.orders.selectors import balance_of
from tests.browser.test_console import log_in
from tests.orders.conftest import listed_product, openssh_public

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_price_follows_the_choices_and_the_order_charges_it(live_server, page, settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "scans"]}
    }
    call_command("demo_data", verbosity=0)
    seed(apps)  # the transactional test flushed the seeded sizes
    product = listed_product(User.objects.get(username="alice").organizations.get())
    log_in(page, live_server.url, "bruce")
    page.wait_for_url(f"{live_server.url}/")  # buyers land on the storefront
    page.goto(f"{live_server.url}/buy/{product.pk}/")
    total = page.locator('[data-quote="total"]')
    expect(total).to_have_text("144.00")  # priced by the server: S5.SMALL1 45.00 + image 99.00
    page.select_option("#id_instance_type", "S5.MEDIUM2")
    expect(total).to_have_text("189.00")
    page.select_option("#id_term", "month:3")
    expect(total).to_have_text("567.00")
    expect(page.locator('[data-quote="server_total"]')).to_have_text("270.00")
    page.fill("#id_disk_gib", "5")
    expect(page.locator("[data-quote-error]")).to_contain_text("20 to 500 GiB")
    page.fill("#id_disk_gib", "40")
    expect(page.locator("[data-quote-error]")).to_be_hidden()
    page.fill("#id_ssh_public_key", openssh_public(ed25519.Ed25519PrivateKey.generate()) + " bruce@laptop")
    page.fill("#id_name", "shop")
    page.click("button[value=buy]")
    page.wait_for_url(f"{live_server.url}/buyer/orders/*/")
    assert "567.00 CNY" in page.locator("main").inner_text()
    order = Order.objects.get()
    assert (order.total, order.disk_gib, order.instance_type.code) == (Decimal("567.00"), 40, "S5.MEDIUM2")
    assert balance_of(order.buyer) == Decimal("433.00")
