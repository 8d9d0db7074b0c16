"""The buyer's billing page: terms with renew and auto-renew, the month's charges, the CSV; nobody else's."""

from decimal import Decimal

import pytest

from shelf.billing.models import PrepaidTerm
from shelf.orders.models import LedgerEntry
from tests.billing.conftest import assert_books_balance, at, buy, run, settle

pytestmark = pytest.mark.django_db


def test_the_billing_page_renews_toggles_and_downloads_the_bill(
    api, web, clock, money_bruce, carol_buyer, alice, product, hourly_product, ssh_key
):
    order = buy(api(money_bruce), product, ssh_key, "w1", months=1)
    hourly = buy(api(money_bruce), hourly_product, ssh_key, "w2", months=None, hourly=True)
    run(hourly.instance)
    clock.move_to(at(2026, 1, 31, 12, 0))
    settle()
    browser = web(money_bruce)
    page = browser.get("/buyer/billing/?month=2026-01")
    assert page.status_code == 200
    text = page.content.decode()
    assert str(order.pk)[:8] in text and "2026-02-28 10:00" in text
    assert "Charged 144.30 CNY" in text  # the order 144.00 + two hours of 0.15

    response = browser.post(f"/buyer/billing/terms/{order.pk}/auto-renew", {"auto_renew": "on"})
    assert response.status_code == 302 and PrepaidTerm.objects.get(order=order).auto_renew
    response = browser.post(f"/buyer/billing/terms/{order.pk}/renew", {"term": "year:1"}, follow=True)
    assert "Renewed until 2027-02-28 10:00 for 1323.00 CNY." not in response.content.decode()  # 1000 - 144.30 left
    assert "this renewal costs 1539.00 CNY" in response.content.decode()  # 45 × 12 + 999 for the year
    response = browser.post(f"/buyer/billing/terms/{order.pk}/renew", {"term": "month:2"}, follow=True)
    assert "Renewed until 2026-04-28 10:00 for 288.00 CNY." in response.content.decode()
    assert LedgerEntry.objects.filter(ref__startswith="renew:").count() == 1

    csv = browser.get("/buyer/billing/bill.csv?month=2026-01")
    assert csv["Content-Type"].startswith("text/csv")
    assert 'filename="shelf-bill-2026-01.csv"' in csv["Content-Disposition"]
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("time,kind,ref,order,instance")
    assert len(lines) == 1 + 4 + 3  # header, order + two hours + renewal, three totals
    assert lines[-1].endswith("432.30,CNY")

    # carol, alice and nobody see nothing of bruce's.
    assert web(carol_buyer).post(f"/buyer/billing/terms/{order.pk}/renew", {"term": "month:1"}).status_code == 404
    assert str(order.pk)[:8] not in web(carol_buyer).get("/buyer/billing/").content.decode()
    assert web(alice).get("/buyer/billing/").status_code == 404
    assert browser.get("/buyer/billing/?month=2026-13").status_code == 404
    assert Decimal(LedgerEntry.objects.get(ref=f"renew:{order.pk}:1").amount) == Decimal("-288.00")
    assert_books_balance()


def test_the_billing_page_speaks_chinese(web, money_bruce):
    client = web(money_bruce)
    client.cookies["django_language"] = "zh-hans"
    text = client.get("/buyer/billing/", headers={"accept-language": "zh-hans"}).content.decode()
    assert "包年包月时长" in text and "下载月度账单（CSV）" in text
