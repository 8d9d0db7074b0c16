"""bruce's billing page in real chromium: his expiring term, auto-renew on, a renewal, the month's charges."""

import pytest
from django.apps import apps
from django.core.management import call_command
from playwright.sync_api import expect

from shelf.accounts.models import User
from shelf.billing.models import PrepaidTerm
from shelf.orders.reference import seed
from shelf.orders.services import topup
from tests.billing.conftest import buy, ssh_key  # noqa: F401 - fixtures
from tests.browser.test_console import log_in
from tests.orders.conftest import listed_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bruce_renews_on_the_billing_page(live_server, page, settings, api, ssh_key, tmp_path):  # noqa: F811 - fixture
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "scans"]}
    }
    call_command("demo_data", verbosity=0)
    seed(apps)
    bruce = User.objects.get(username="bruce")
    topup(actor=User.objects.get(username="olivia"), user=bruce, amount="1000.00", reason="credit")
    product = listed_product(User.objects.get(username="alice").organizations.get())
    order = buy(api(bruce), product, ssh_key, "b1", months=1)
    log_in(page, live_server.url, "bruce")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/buyer/billing/")
    row = page.locator(f'tr[data-order="{order.pk}"]')
    expect(row).to_contain_text("active")
    row.locator('input[name="auto_renew"]').check()
    row.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live_server.url}/buyer/billing/")
    assert PrepaidTerm.objects.get(order=order).auto_renew
    page.locator(f'tr[data-order="{order.pk}"] select[name="term"]').select_option("month:3")
    page.locator(f'tr[data-order="{order.pk}"]').get_by_role("button", name="Renew").click()
    expect(page.locator("body")).to_contain_text("for 432.00 CNY")
    expect(page.locator("p.totals")).to_contain_text("Charged 576.00 CNY")
    page.screenshot(path=str(tmp_path / "billing.png"), full_page=True)
    assert PrepaidTerm.objects.get(order=order).renewals == 1
