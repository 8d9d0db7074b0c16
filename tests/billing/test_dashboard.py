"""The provider's dashboard and statements add up to the ledger, show one organisation only, and operators alone
see the marketplace's revenue. Through the API, the console pages, their CSV and the CLI."""

import csv
import io
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from shelf.billing.revenue import RevenueSplit
from shelf.orders.models import LedgerEntry
from shelf.orders.services import order_fail
from tests.billing.conftest import assert_ledger_split, buy, listed_product, post

D = Decimal


def _sales_scenario(api, buyer, alice, bob, ssh_key):
    """alice: two products, three orders, a renewal, two usage hours, one failed order refunded; bob: one order."""
    lamp = listed_product(alice.organizations.get())
    wiki = listed_product(alice.organizations.get(), price_monthly=D("33.33"), price_yearly=D("333.33"))
    first = buy(api(buyer), lamp, ssh_key, "a1", months=2)
    second = buy(api(buyer), wiki, ssh_key, "a2", months=1)
    failed = buy(api(buyer), wiki, ssh_key, "a3", months=1)
    order_fail(order=failed, reason="host lost")
    post(first, ref=f"renew:{first.pk}:1", server="-45.00", image="-99.00")
    post(second, ref=f"usage:{second.instance_id}:2026-12-01T10:00:00Z", server="-0.45", image="-0.05")
    post(second, ref=f"usage:{second.instance_id}:2026-12-01T11:00:00Z", server="-0.45", image="-0.05")
    foreign = buy(api(buyer), listed_product(bob.organizations.get()), ssh_key, "b1", months=1)
    return {"lamp": lamp, "wiki": wiki, "foreign": foreign}


def _ledger_sum(organization) -> D:
    entries = LedgerEntry.objects.exclude(kind="topup").filter(order__product__organization=organization)
    return -(entries.aggregate(total=Sum("amount"))["total"] or D(0))


def test_dashboard_totals_are_the_ledgers(api, rich_bruce, alice, bob, ssh_key):
    found = _sales_scenario(api, rich_bruce, alice, bob, ssh_key)
    organization = alice.organizations.get()
    sales = api(alice).get("provider/sales").json()
    assert sales["organization"] == organization.slug
    gross = D(sales["totals"]["gross"])
    assert gross == _ledger_sum(organization) == D("288.00") + D("78.33") + D("144.00") + D("1.00")
    splits = RevenueSplit.objects.filter(organization=organization)
    for name in ("gross", "commission", "provider_net", "marketplace", "server_part", "image_part"):
        assert D(sales["totals"][name]) == sum(getattr(s, name) for s in splits)
    assert D(sales["totals"]["provider_net"]) + D(sales["totals"]["marketplace"]) == gross
    month = timezone.localdate().strftime("%Y-%m")
    assert [m["gross"] for m in sales["revenue_per_month"] if m["month"] == month] == [sales["totals"]["gross"]]
    assert sales["orders_total"] == 3 and sales["orders_per_day"][-1]["orders"] == 3
    assert sales["active_instances"] == 2  # the failed order's instance is not active
    # lamp earned more (237.60 net from one order and its renewal) than wiki (26.74 from two orders, one refunded).
    assert [(p["product"], p["orders"]) for p in sales["top_products"]] == [
        (str(found["lamp"].pk), 1),
        (str(found["wiki"].pk), 2),
    ]
    assert sum(D(p["provider_net"]) for p in sales["top_products"]) == D(sales["totals"]["provider_net"])
    assert_ledger_split()


def test_a_provider_never_sees_another_organisations_sales(api, web, rich_bruce, alice, bob, ssh_key):
    _sales_scenario(api, rich_bruce, alice, bob, ssh_key)
    bobs = api(bob).get("provider/sales").json()
    assert bobs["organization"] == bob.organizations.get().slug
    assert bobs["orders_total"] == 1 and D(bobs["totals"]["gross"]) == D("144.00")
    assert [p["name"] for p in bobs["top_products"]] == ["LAMP 环境（Debian 12）"]
    alice_slug = alice.organizations.get().slug
    month = timezone.localdate().strftime("%Y-%m")
    assert api(bob).get(f"provider/sales?organization={alice_slug}").status_code == 404
    assert api(bob).get(f"provider/statements/{month}?organization={alice_slug}").status_code == 404
    assert api(bob).get(f"provider/statements/{month}/csv?organization={alice_slug}").status_code == 404
    page = web(bob).get("/provider/sales/")
    assert page.status_code == 200
    assert b"Alice Images" not in page.content and b"Bob Cloud" in page.content
    assert web(bob).get(f"/provider/sales/?organization={alice_slug}").status_code == 404
    assert web(bob).get(f"/provider/statements/{month}.csv?organization={alice_slug}").status_code == 404


def test_the_statement_and_its_csv(api, web, rich_bruce, alice, bob, ssh_key):
    found = _sales_scenario(api, rich_bruce, alice, bob, ssh_key)
    month = timezone.localdate().strftime("%Y-%m")
    statement = api(alice).get(f"provider/statements/{month}").json()
    assert statement["period"] == month
    by_name = {line["product"]: line for line in statement["lines"]}
    lamp = by_name[str(found["lamp"].pk)]
    # 2 months + 1 renewal at 99.00 image / 45.00 server, commission 20% of the image part.
    assert (lamp["count"], lamp["gross"], lamp["image_part"], lamp["commission"], lamp["provider_net"]) == (
        2,
        "432.00",
        "297.00",
        "59.40",
        "237.60",
    )
    wiki = by_name[str(found["wiki"].pk)]
    # Charge 78.33 (33.33 image: 6.67 commission), refund of a like order, two hours of 0.05 image (0.01 each).
    assert (wiki["count"], wiki["gross"], wiki["commission"], wiki["provider_net"]) == (5, "79.33", "6.69", "26.74")
    assert D(statement["totals"]["gross"]) == _ledger_sum(alice.organizations.get())
    text = api(alice).get(f"provider/statements/{month}/csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows][-1] == "total"
    assert (
        rows[-1]["gross"] == statement["totals"]["gross"]
        and rows[-1]["provider_net"] == statement["totals"]["provider_net"]
    )
    assert sum(D(r["provider_net"]) for r in rows[:-1]) == D(rows[-1]["provider_net"])
    assert web(alice).get(f"/provider/statements/{month}.csv").content.decode() == text
    page = web(alice).get(f"/provider/statements/{month}/")
    assert page.status_code == 200 and statement["totals"]["provider_net"].encode() in page.content
    assert api(alice).get("provider/statements/2026-13").status_code == 422
    empty = api(alice).get("provider/statements/2001-01").json()
    assert empty["lines"] == [] and empty["totals"]["gross"] == "0.00"


def test_sales_csv_and_page_show_the_same_figures(api, web, rich_bruce, alice, bob, ssh_key):
    _sales_scenario(api, rich_bruce, alice, bob, ssh_key)
    sales = api(alice).get("provider/sales").json()
    client = web(alice)
    months = list(csv.DictReader(io.StringIO(client.get("/provider/sales/months.csv").content.decode())))
    assert months[-1]["month"] == "total" and months[-1]["gross"] == sales["totals"]["gross"]
    days = list(csv.DictReader(io.StringIO(client.get("/provider/sales/days.csv").content.decode())))
    assert sum(int(d["orders"]) for d in days) == sales["orders_total"]
    assert client.get("/provider/sales/nothing.csv").status_code == 404
    page = client.get("/provider/sales/").content.decode()
    assert page.count("<svg") == 3 and '<title id="chart-orders-title">' in page
    assert sales["totals"]["provider_net"] in page


def test_operators_see_the_marketplace_and_nobody_else_does(api, web, rich_bruce, carol, alice, bob, olivia, ssh_key):
    found = _sales_scenario(api, rich_bruce, alice, bob, ssh_key)
    # carol runs up usage she cannot pay for: arrears.
    from shelf.orders.services import topup

    topup(actor=olivia, user=carol, amount="1.00", reason="trial")
    post(found["foreign"], ref="usage:carol:1", server="-2.00", image="-0.50", with_order=False)
    LedgerEntry.objects.filter(ref="usage:carol:1").update(user=carol)  # posted for carol's account
    revenue = api(olivia).get("operator/revenue").json()
    splits = RevenueSplit.objects.all()
    assert D(revenue["totals"]["gross"]) == sum(s.gross for s in splits)
    assert D(revenue["totals"]["marketplace"]) == sum(s.marketplace for s in splits)
    assert D(revenue["totals"]["server_part"]) + D(revenue["totals"]["commission"]) == D(
        revenue["totals"]["marketplace"]
    )
    ledger_total = LedgerEntry.objects.aggregate(total=Sum("amount"))["total"]
    assert D(revenue["balances_total"]) == ledger_total
    assert D(revenue["topups_total"]) == D("1001.00")
    assert revenue["arrears"] == [{"user": "carol", "balance": "-1.50"}]
    for user in (alice, rich_bruce):
        assert api(user).get("operator/revenue").status_code == 404
        assert web(user).get("/operator/revenue/").status_code == 404
        assert web(user).get("/operator/commission/").status_code == 404
    assert api(None).get("operator/revenue").status_code == 401
    for user in (olivia, rich_bruce):
        assert api(user).get("provider/sales").status_code == 404
        assert web(user).get("/provider/sales/").status_code == 404
    page = web(olivia).get("/operator/revenue/")
    assert page.status_code == 200 and b"carol" in page.content


def test_operators_set_a_rate_in_the_console(web, olivia):
    client = web(olivia)
    assert client.post("/operator/commission/", {"category": "", "rate_percent": "18.5"}).status_code == 302
    page = client.get("/operator/commission/").content.decode()
    assert "18.50" in page and "commission_rate.create" in page
    bad = client.post("/operator/commission/", {"category": "", "rate_percent": "101"})
    assert bad.status_code == 200 and b"error" in bad.content
