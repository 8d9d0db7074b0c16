"""An order's server gets the product's ports (besides 22): compute forwards each one to a loopback port."""

from shelf.compute.models import Instance
from shelf.products.models import Revision
from tests.orders.conftest import order_body, place


def test_the_instance_of_an_order_opens_the_products_ports(api, rich_bruce, product, ssh_key):
    Revision.objects.filter(product=product).update(ports=[80, 443])
    response = place(api(rich_bruce), order_body(product, ssh_key))
    assert response.status_code == 201, response.json()
    assert Instance.objects.get(pk=response.json()["instance"]).ports == [80, 443]


def test_no_ports_but_ssh_by_default(api, rich_bruce, product, ssh_key):
    response = place(api(rich_bruce), order_body(product, ssh_key))
    assert Instance.objects.get(pk=response.json()["instance"]).ports == []


def test_the_buyer_sees_them_on_the_product_page(client, product):
    Revision.objects.filter(product=product).update(ports=[8080])
    page = client.get(f"/products/{product.pk}/").content.decode()
    assert "22 (SSH)" in page and '<span class="tag">8080</span>' in page
