"""Orders through the HTTP API: quotes, every validation with its field and code, charging, idempotency."""

from decimal import Decimal

import pytest

from shelf.compute.models import Instance
from shelf.orders.models import LedgerEntry, Order
from shelf.orders.selectors import balance_of
from shelf.orders.services import topup
from shelf.products.models import Revision
from tests.orders.conftest import enqueued_launches, listed_product, offer, order_body, place


def codes(response) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in response.json()["errors"]]


# Sizes and quotes


def test_instance_types_are_public_and_filtered_by_region(api, db):
    rows = api(None).get("instance-types?region=ap-hongkong").json()
    assert [r["instance_type"] for r in rows] == ["S5.SMALL1", "S5.SMALL2", "S5.MEDIUM2", "S5.MEDIUM4", "S5.LARGE8"]
    assert {r["region"] for r in rows} == {"ap-hongkong"}
    small = rows[0]
    assert (small["vcpus"], small["memory_mib"], small["price_monthly"], small["price_hourly"]) == (
        1,
        1024,
        "58.50",
        "0.13",
    )
    everywhere = api(None).get("instance-types").json()
    assert len(everywhere) == 5 * 6


def test_an_offer_off_sale_is_not_listed(api, db):
    o = offer(code="S5.LARGE8")
    o.on_sale = False
    o.save()
    rows = api(None).get("instance-types?region=ap-guangzhou").json()
    assert "S5.LARGE8" not in [r["instance_type"] for r in rows]


def test_quote_is_anonymous_and_exact(api, product, ssh_key):
    response = api(None).post("orders/quote", json=order_body(product, ssh_key, months=3, instance_type="S5.MEDIUM4"))
    assert response.status_code == 200, response.json()
    q = response.json()
    assert (q["server_price"], q["image_price"], q["unit_price"]) == ("130.00", "99.00", "229.00")
    assert (q["server_total"], q["image_total"], q["total"], q["due_now"]) == ("390.00", "297.00", "687.00", "687.00")
    assert q["disk_gib"] == 20  # the offer's smallest disk holds the 10 GiB image


def test_the_order_charges_exactly_the_quote(api, rich_bruce, olivia, product, ssh_key):
    client = api(rich_bruce)
    body = order_body(product, ssh_key, years=1, months=None, instance_type="S5.SMALL2", disk_gib=40)
    topup(actor=olivia, user=rich_bruce, amount="1000.00", reason="a year")
    quoted = client.post("orders/quote", json=body).json()
    response = place(client, body)
    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["total"] == order["charged"] == quoted["total"] == "1839.00"  # 70.00 x 12 + 999.00
    assert order["disk_gib"] == quoted["disk_gib"] == 40


# Placing


def test_a_prepaid_order_charges_the_whole_term_and_creates_the_instance(
    api, rich_bruce, product, ssh_key, django_capture_on_commit_callbacks
):
    client = api(rich_bruce)
    with django_capture_on_commit_callbacks(execute=True):
        response = place(client, order_body(product, ssh_key, months=2))
    assert response.status_code == 201, response.json()
    order = response.json()
    assert (order["total"], order["charged"], order["status"]) == ("288.00", "288.00", "placed")
    assert order["hostname"] == "web-1" and order["ssh_key_fingerprint"].startswith("SHA256:")
    instance = Instance.objects.get(pk=order["instance"])
    assert (instance.owner, instance.vcpus, instance.memory_mib, instance.disk_gib) == (rich_bruce, 1, 1024, 20)
    assert instance.ssh_public_key == ssh_key and instance.hostname == "web-1"
    assert instance.state == Instance.State.PENDING
    assert [r.args for r in enqueued_launches()] == [[str(instance.pk)]]
    assert client.get("balance").json()["balance"] == "712.00"
    charge = LedgerEntry.objects.get(kind="charge")
    assert (charge.amount, charge.order_id, charge.actor) == (Decimal("-288.00"), Order.objects.get().pk, rich_bruce)


def test_a_postpaid_order_needs_one_hour_and_charges_nothing_yet(api, bruce, olivia, hourly_product, ssh_key):

    topup(actor=olivia, user=bruce, amount="0.14", reason="almost an hour")
    client = api(bruce)
    body = order_body(hourly_product, ssh_key, months=None, hourly=True)
    response = place(client, body)
    assert response.status_code == 422
    assert codes(response) == [("balance", "insufficient_balance")]
    assert "0.01 CNY missing" in response.json()["errors"][0]["message"]
    topup(actor=olivia, user=bruce, amount="0.01", reason="one hour now")
    response = place(client, body)
    assert response.status_code == 201, response.json()
    assert (response.json()["unit_price"], response.json()["charged"]) == ("0.15", "0.00")
    assert balance_of(bruce) == Decimal("0.15")
    assert not LedgerEntry.objects.filter(kind="charge").exists()


def test_not_enough_balance_names_the_amount_missing_and_creates_nothing(api, bruce, olivia, product, ssh_key):

    topup(actor=olivia, user=bruce, amount="100.00", reason="some credit")
    response = place(api(bruce), order_body(product, ssh_key))
    assert response.status_code == 422
    assert codes(response) == [("balance", "insufficient_balance")]
    message = response.json()["errors"][0]["message"]
    assert "100.00 CNY" in message and "144.00 CNY" in message and "44.00 CNY missing" in message
    assert Order.objects.count() == 0 and Instance.objects.count() == 0
    assert list(LedgerEntry.objects.values_list("kind", flat=True)) == ["topup"]
    assert balance_of(bruce) == Decimal("100.00")


# Every rule, with its field and code


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"region": "ap-shanghai"}, [("region", "not_delivered")]),
        ({"region": "nowhere"}, [("region", "not_delivered"), ("instance_type", "not_on_sale")]),
        ({"instance_type": "S9.HUGE"}, [("instance_type", "not_on_sale")]),
        ({"disk_gib": 10}, [("disk_gib", "out_of_range")]),
        ({"disk_gib": 501}, [("disk_gib", "out_of_range")]),
        ({"months": 13}, [("term", "out_of_range")]),
        ({"months": None, "years": 4}, [("term", "out_of_range")]),
        ({"months": None}, [("term", "required")]),
        ({"months": None, "hourly": True}, [("term", "mode_mismatch")]),
        ({"years": 1}, [("term", "ambiguous")]),
        ({"ssh_public_key": None}, [("ssh_public_key", "required")]),
        ({"ssh_public_key": "hunter2"}, [("ssh_public_key", "invalid")]),
        ({"ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm0 x"}, [("ssh_public_key", "invalid")]),
        ({"ssh_public_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n"}, [("ssh_public_key", "private_key")]),
        ({"name": "x" * 61}, [("name", "too_long")]),
        ({"name": "web\u202e1"}, [("name", "bidi_control")]),
        ({"name": "web\x071"}, [("name", "invalid_character")]),
        (
            {"disk_gib": 10, "months": 13, "name": "x" * 61},
            [("disk_gib", "out_of_range"), ("term", "out_of_range"), ("name", "too_long")],
        ),
    ],
)
def test_each_rule_is_a_422_naming_field_and_code(api, rich_bruce, product, ssh_key, overrides, expected):
    response = place(api(rich_bruce), order_body(product, ssh_key, **overrides))
    assert response.status_code == 422, response.json()
    assert codes(response) == expected
    assert Order.objects.count() == 0


def test_a_key_of_the_wrong_type_or_too_weak_is_refused(api, rich_bruce, product, ssh_key, weak_rsa_key):
    client = api(rich_bruce)
    blob = ssh_key.split()[1]
    assert codes(place(client, order_body(product, ssh_key, ssh_public_key=f"ssh-rsa {blob}"))) == [
        ("ssh_public_key", "invalid")
    ]
    assert codes(place(client, order_body(product, ssh_key, ssh_public_key=weak_rsa_key))) == [
        ("ssh_public_key", "weak_key")
    ]


def test_a_product_not_on_sale_is_refused(api, rich_bruce, product, ssh_key):
    client = api(rich_bruce)
    Revision.objects.filter(product=product).update(status=Revision.Status.DELISTED)
    assert codes(place(client, order_body(product, ssh_key))) == [("product", "not_for_sale")]
    assert codes(place(client, {**order_body(product, ssh_key), "product": "not-a-uuid"})) == [
        ("product", "not_for_sale")
    ]


def test_an_offer_off_sale_cannot_be_bought(api, rich_bruce, product, ssh_key):
    o = offer()
    o.on_sale = False
    o.save()
    assert codes(place(api(rich_bruce), order_body(product, ssh_key))) == [("instance_type", "not_on_sale")]


def test_the_system_disk_must_hold_the_image(api, rich_bruce, alice, ssh_key):
    big = listed_product(alice.organizations.get(), virtual_gib=30)
    client = api(rich_bruce)
    assert codes(place(client, order_body(big, ssh_key, disk_gib=25))) == [("disk_gib", "smaller_than_image")]
    response = place(client, order_body(big, ssh_key), key="default-disk")
    assert response.status_code == 201 and response.json()["disk_gib"] == 30
    o = offer(code="S5.SMALL2")
    o.disk_max_gib = 29
    o.save()
    assert codes(place(client, order_body(big, ssh_key, instance_type="S5.SMALL2"), key="k3")) == [
        ("instance_type", "disk_too_small")
    ]


def test_a_product_sold_by_the_year_only_sells_no_months(api, rich_bruce, alice, ssh_key):
    yearly = listed_product(alice.organizations.get(), price_monthly=None)
    assert codes(place(api(rich_bruce), order_body(yearly, ssh_key))) == [("term", "unavailable")]


def test_the_idempotency_key_is_required_and_bounded(api, rich_bruce, product, ssh_key):
    client = api(rich_bruce)
    assert codes(place(client, order_body(product, ssh_key), key=None)) == [("Idempotency-Key", "required")]
    assert codes(place(client, order_body(product, ssh_key), key="k" * 256)) == [("Idempotency-Key", "invalid")]


def test_only_buyers_order(api, alice, olivia, product, ssh_key):
    for user in (alice, olivia):
        assert place(api(user), order_body(product, ssh_key)).status_code == 404
    assert place(api(None), order_body(product, ssh_key)).status_code == 401


def test_the_name_defaults_to_the_products_and_the_hostname_follows_it(api, rich_bruce, product, ssh_key):
    order = place(api(rich_bruce), order_body(product, ssh_key, name=None)).json()
    assert order["name"] == "LAMP 环境（Debian 12）"
    assert order["hostname"] == "lamp-debian-12"
    other = place(api(rich_bruce), order_body(product, ssh_key, name="服务器"), key="k2").json()
    assert other["hostname"] == f"vm-{other['id'].replace('-', '')[:8]}"


# Idempotency


def test_a_retry_answers_the_first_order_and_charges_once(api, rich_bruce, product, ssh_key):
    client = api(rich_bruce)
    first = place(client, order_body(product, ssh_key), key="double-click")
    again = place(client, order_body(product, ssh_key), key="double-click")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Order.objects.count() == 1 and LedgerEntry.objects.filter(kind="charge").count() == 1
    assert Instance.objects.count() == 1
    assert balance_of(rich_bruce) == Decimal("856.00")


def test_the_same_body_with_a_new_key_is_a_new_order(api, rich_bruce, product, ssh_key):
    client = api(rich_bruce)
    a = place(client, order_body(product, ssh_key), key="a").json()
    b = place(client, order_body(product, ssh_key), key="b").json()
    assert a["id"] != b["id"] and balance_of(rich_bruce) == Decimal("712.00")


def test_a_key_reused_for_other_choices_is_a_conflict(api, rich_bruce, product, ssh_key):
    client = api(rich_bruce)
    first = place(client, order_body(product, ssh_key), key="same").json()
    response = place(client, order_body(product, ssh_key, months=2), key="same")
    assert response.status_code == 409
    assert codes(response) == [("Idempotency-Key", "idempotency_key_reused")]
    assert first["id"] in response.json()["errors"][0]["message"]
    assert Order.objects.count() == 1


def test_keys_are_per_buyer(api, rich_bruce, carol, olivia, product, ssh_key):

    topup(actor=olivia, user=carol, amount="500.00", reason="credit")
    a = place(api(rich_bruce), order_body(product, ssh_key), key="shared").json()
    b = place(api(carol), order_body(product, ssh_key), key="shared").json()
    assert a["id"] != b["id"] and b["buyer"] == "carol"
