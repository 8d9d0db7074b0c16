"""Who sees which order: the buyer his own, another buyer nothing (404), operators all, a provider his products'
orders without the buyer's key or address."""

import pytest

from shelf.orders.services import topup
from tests.orders.conftest import listed_product, order_body, place


@pytest.fixture
def order(api, rich_bruce, product, ssh_key) -> dict:
    response = place(api(rich_bruce), order_body(product, ssh_key))
    assert response.status_code == 201
    return response.json()


def test_the_buyer_sees_his_order(api, rich_bruce, order):
    client = api(rich_bruce)
    assert client.get(f"orders/{order['id']}").json() == order
    assert [o["id"] for o in client.get("orders").json()] == [order["id"]]


def test_another_buyer_gets_404(api, carol, order):
    client = api(carol)
    response = client.get(f"orders/{order['id']}")
    assert response.status_code == 404 and response.json()["errors"][0]["code"] == "not_found"
    assert client.get("orders").json() == []
    assert client.get("orders/not-a-uuid").status_code == 404


def test_operators_see_every_order_with_its_key(api, olivia, order):
    client = api(olivia)
    assert client.get(f"orders/{order['id']}").json()["ssh_public_key"] == order["ssh_public_key"]
    assert [o["id"] for o in client.get("orders").json()] == [order["id"]]


def test_the_provider_sees_his_products_orders_without_key_or_address(api, alice, order):
    client = api(alice)
    assert client.get(f"orders/{order['id']}").status_code == 404  # the buyer's view is not his
    sold = client.get(f"provider/orders/{order['id']}").json()
    assert sold["id"] == order["id"] and sold["image_total"] == "99.00"
    forbidden = {"ssh_public_key", "ssh_key_fingerprint", "hostname", "instance", "buyer", "name"}
    assert not forbidden & set(sold), sold
    assert order["ssh_public_key"].split()[1] not in str(client.get("provider/orders").json())
    assert [o["id"] for o in client.get("provider/orders").json()] == [order["id"]]


def test_another_provider_sees_nothing(api, bob, order):
    client = api(bob)
    assert client.get(f"provider/orders/{order['id']}").status_code == 404
    assert client.get("provider/orders").json() == []


def test_buyers_have_no_provider_view(api, rich_bruce, order):
    assert api(rich_bruce).get(f"provider/orders/{order['id']}").status_code == 404


def test_the_order_list_runs_a_fixed_number_of_queries(
    api, rich_bruce, olivia, alice, product, ssh_key, django_assert_num_queries
):
    client = api(rich_bruce)
    place(client, order_body(product, ssh_key), key="first")
    with django_assert_num_queries(2):  # the token (with its user), the orders with everything they show
        assert len(client.get("orders").json()) == 1
    topup(actor=olivia, user=rich_bruce, amount="5000.00", reason="more")
    other = listed_product(alice.organizations.get())
    for i in range(5):
        place(client, order_body(other if i % 2 else product, ssh_key, instance_type="S5.MEDIUM2"), key=f"k{i}")
    with django_assert_num_queries(2):
        assert len(client.get("orders").json()) == 6
    provider = api(alice)
    with django_assert_num_queries(3):  # the token, the provider check of the organisations, the orders
        assert len(provider.get("provider/orders").json()) == 6
