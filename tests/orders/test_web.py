"""The console pages: buying (priced by the server on submit), my orders, balance, provider sales, operator pages."""

import re
from decimal import Decimal

from shelf.orders.models import InstanceOffer, InstanceType, LedgerEntry, Order
from shelf.orders.selectors import balance_of
from shelf.products.models import Revision


def form_key(page) -> str:
    return re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.content.decode()).group(1)


def purchase(product, ssh_key, key, **overrides):
    data = {
        "region": "ap-guangzhou",
        "instance_type": "S5.SMALL1",
        "disk_gib": "",
        "term": "month:1",
        "ssh_public_key": ssh_key,
        "name": "web-1",
        "idempotency_key": key,
        "action": "buy",
    }
    data.update(overrides)
    return data


def test_the_purchase_page_shows_the_price_and_buys(web, rich_bruce, product, ssh_key):
    client = web(rich_bruce)
    url = f"/buy/{product.pk}/"
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "144.00" in html  # S5.SMALL1 45.00 + image 99.00, priced by the server before any script runs
    assert 'src="/static/orders/buy.js"' in html and "<script>" not in html  # no inline script under the CSP
    assert 'id="purchase-offers" type="application/json"' in html
    key = form_key(page)
    response = client.post(url, purchase(product, ssh_key, key, term="month:3"))
    order = Order.objects.get()
    assert response.status_code == 302 and response.url == f"/buyer/orders/{order.pk}/"
    assert (order.total, order.charged, order.term_count) == (Decimal("432.00"), Decimal("432.00"), 3)
    # A double click sends the same form again: the same order, charged once.
    again = client.post(url, purchase(product, ssh_key, key, term="month:3"))
    assert again.url == response.url and Order.objects.count() == 1
    assert balance_of(rich_bruce) == Decimal("568.00")
    detail = client.get(response.url).content.decode()
    assert "432.00" in detail and order.ssh_key_fingerprint in detail


def test_the_price_is_recomputed_on_submit_whatever_the_page_showed(web, rich_bruce, product, ssh_key):
    client = web(rich_bruce)
    page = client.post(
        f"/buy/{product.pk}/", purchase(product, ssh_key, "k", action="quote", instance_type="S5.LARGE8")
    )
    assert "359.00" in page.content.decode()  # 260.00 + 99.00
    assert not Order.objects.exists()


def test_the_purchase_page_shows_each_rule_beside_its_field(web, bruce, product, ssh_key):
    client = web(bruce)
    page = client.post(f"/buy/{product.pk}/", purchase(product, "nope", "k", disk_gib="5"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-field="disk_gib"' in html
    assert not Order.objects.exists()
    page = client.post(f"/buy/{product.pk}/", purchase(product, "nope", "k"))
    assert 'data-field="ssh_public_key"' in page.content.decode()
    page = client.post(f"/buy/{product.pk}/", purchase(product, ssh_key, "k"))
    assert "144.00 CNY missing" in page.content.decode()  # bruce has nothing
    assert not Order.objects.exists()


def test_the_purchase_page_is_for_buyers_and_products_on_sale(web, client, alice, rich_bruce, product):
    assert client.get(f"/buy/{product.pk}/").status_code == 302  # to the login page
    assert web(alice).get(f"/buy/{product.pk}/").status_code == 404
    Revision.objects.filter(product=product).update(status=Revision.Status.DRAFT)
    assert web(rich_bruce).get(f"/buy/{product.pk}/").status_code == 404


def test_my_orders_balance_and_another_buyers_404(web, rich_bruce, carol, product, ssh_key):
    client = web(rich_bruce)
    client.post(f"/buy/{product.pk}/", purchase(product, ssh_key, "k"))
    order = Order.objects.get()
    assert "web-1" in client.get("/buyer/orders/").content.decode()
    balance = client.get("/buyer/balance/").content.decode()
    assert "856.00" in balance and "welcome credit" in balance and "-144.00" in balance
    assert web(carol).get(f"/buyer/orders/{order.pk}/").status_code == 404
    assert "web-1" not in web(carol).get("/buyer/orders/").content.decode()


def test_the_provider_sales_page_has_no_key(web, alice, rich_bruce, product, ssh_key):
    web(rich_bruce).post(f"/buy/{product.pk}/", purchase(product, ssh_key, "k"))
    html = web(alice).get("/provider/orders/").content.decode()
    assert "S5.SMALL1" in html and ssh_key.split()[1] not in html and "web-1" not in html


def test_operators_top_up_in_the_console(web, olivia, bruce):
    client = web(olivia)
    response = client.post("/operator/topups/", {"user": "bruce", "amount": "250.00", "reason": "bank transfer"})
    assert response.status_code == 302
    assert balance_of(bruce) == Decimal("250.00")
    assert LedgerEntry.objects.get().actor == olivia
    page = client.post("/operator/topups/", {"user": "bruce", "amount": "250.00", "reason": ""})
    assert 'data-field="reason"' in page.content.decode()
    page = client.post("/operator/topups/", {"user": "olivia", "amount": "1", "reason": "me"})
    assert "Only buyers have a balance." in page.content.decode()
    assert web(bruce).get("/operator/topups/").status_code == 404


def test_operators_manage_sizes_and_offers(web, olivia, db):
    client = web(olivia)
    assert "S5.LARGE8" in client.get("/operator/instance-types/").content.decode()
    response = client.post(
        "/operator/instance-types/new/",
        {"code": "s6.small1", "family": "Standard S6", "vcpus": "1", "memory_mib": "1024", "position": "9"},
    )
    assert response.status_code == 302
    s6 = InstanceType.objects.get(code="S6.SMALL1")
    offer_data = {
        "region": InstanceOffer.objects.first().region_id,
        "instance_type": s6.pk,
        "price_monthly": "50.00",
        "price_hourly": "0.12",
        "disk_min_gib": "20",
        "disk_max_gib": "100",
        "on_sale": "on",
    }
    assert client.post("/operator/offers/new/", offer_data).status_code == 302
    offer = InstanceOffer.objects.get(instance_type=s6)
    assert (offer.price_monthly, offer.disk_max_gib, offer.on_sale) == (Decimal("50.00"), 100, True)
    page = client.post("/operator/offers/new/", offer_data)
    assert "already has an offer" in page.content.decode()
    response = client.post(f"/operator/offers/{offer.pk}/", {**offer_data, "on_sale": "", "disk_max_gib": "10"})
    assert "at least the smallest" in response.content.decode()
    response = client.post(f"/operator/offers/{offer.pk}/", {**offer_data, "on_sale": ""})
    assert response.status_code == 302
    assert InstanceOffer.objects.get(pk=offer.pk).on_sale is False
    assert web(olivia).get(f"/operator/offers/{offer.pk}/").status_code == 200


def test_my_orders_page_runs_a_fixed_number_of_queries(web, rich_bruce, olivia, product, ssh_key):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shelf.orders.services import topup

    client = web(rich_bruce)
    client.post(f"/buy/{product.pk}/", purchase(product, ssh_key, "k0"))
    with CaptureQueriesContext(connection) as one:
        client.get("/buyer/orders/")
    topup(actor=olivia, user=rich_bruce, amount="2000.00", reason="more")
    for i in range(1, 6):
        client.post(f"/buy/{product.pk}/", purchase(product, ssh_key, f"k{i}"))
    with CaptureQueriesContext(connection) as six:
        page = client.get("/buyer/orders/")
    assert page.content.decode().count("/buyer/orders/") >= 6
    assert len(six.captured_queries) == len(one.captured_queries)
