"""Every charge and refund is split once, in its transaction, at the rate in force: prepaid orders, renewals,
usage hours, refunds; per-category rates; operators' commission rates over the API with audit rows."""

from decimal import Decimal

import pytest

from shelf.audit.models import AuditEvent
from shelf.billing.revenue import CommissionRate, RevenueSplit
from shelf.billing.revenue_services import commission_rate_save, rate_for, revenue_split_record
from shelf.catalog.models import Category
from shelf.orders.models import LedgerEntry
from shelf.orders.services import order_fail, topup
from tests.billing.conftest import assert_ledger_split, buy, listed_product, post

D = Decimal


def test_a_prepaid_order_is_split_at_the_default_rate(api, rich_bruce, product, ssh_key, alice):
    order = buy(api(rich_bruce), product, ssh_key, "k1", months=3)  # 3 x (45.00 server + 99.00 image)
    row = RevenueSplit.objects.get(entry__ref=f"order:{order.pk}:charge")
    assert (row.gross, row.server_part, row.image_part) == (D("432.00"), D("135.00"), D("297.00"))
    assert (row.rate_percent, row.commission, row.provider_net, row.marketplace) == (
        D("20.00"),
        D("59.40"),
        D("237.60"),
        D("194.40"),
    )
    assert (row.organization, row.product, row.category) == (
        alice.organizations.get(),
        product,
        order.revision.category,
    )
    assert row.created_at == row.entry.created_at and row.currency == "CNY" and row.kind == "charge"
    assert_ledger_split()


def test_a_top_up_earns_nobody_anything(rich_bruce, olivia):
    topup(actor=olivia, user=rich_bruce, amount="0.03", reason="odd")
    assert RevenueSplit.objects.count() == 0
    assert revenue_split_record(entry=LedgerEntry.objects.first()) is None


def test_a_refund_mirrors_its_charge(api, rich_bruce, product, ssh_key):
    order = buy(api(rich_bruce), product, ssh_key, "k1", months=1)
    order_fail(order=order, reason="the host is gone")
    charge = RevenueSplit.objects.get(entry__ref=f"order:{order.pk}:charge")
    refund = RevenueSplit.objects.get(entry__ref=f"order:{order.pk}:refund")
    assert refund.kind == "refund"
    for name in ("gross", "server_part", "image_part", "commission", "provider_net", "marketplace"):
        assert getattr(refund, name) == -getattr(charge, name)
    assert sum(r.provider_net for r in RevenueSplit.objects.all()) == 0
    assert_ledger_split()


def test_renewals_and_usage_hours_are_split_once_each(api, rich_bruce, alice, ssh_key):
    product = listed_product(alice.organizations.get(), price_monthly=D("0.05"))
    order = buy(api(rich_bruce), product, ssh_key, "k1", months=1)
    renewal = post(order, ref=f"renew:{order.pk}:1", server="-45.00", image="-0.05")
    again = post(order, ref=f"renew:{order.pk}:1", server="-45.00", image="-0.05")  # a retried job
    assert again == renewal
    # A usage hour found by its instance only (no order on the row): the split still finds the product.
    usage = post(order, ref=f"usage:{order.instance_id}:2026-12-01T17:00:00Z", server="-0.25", image="-0.03",
                 with_order=False)  # fmt: skip
    assert RevenueSplit.objects.filter(entry=renewal).count() == 1
    hour = RevenueSplit.objects.get(entry=usage)
    assert (hour.product, hour.commission, hour.provider_net, hour.marketplace) == (
        product,
        D("0.01"),
        D("0.02"),
        D("0.26"),
    )
    assert RevenueSplit.objects.get(entry=renewal).commission == D("0.01")  # 0.05 x 20% = 0.01 exactly
    assert_ledger_split()


def test_odd_image_parts_at_33_33_percent(api, rich_bruce, alice, olivia, ssh_key):
    commission_rate_save(actor=olivia, rate=None, rate_percent="33.33")
    order = buy(api(rich_bruce), listed_product(alice.organizations.get()), ssh_key, "k1", months=1)
    expected = {"0.01": "0.00", "0.03": "0.01", "0.05": "0.02", "99.99": "33.33"}
    for n, (image, commission) in enumerate(expected.items()):
        entry = post(
            order, ref=f"usage:{order.instance_id}:2026-12-01T{n:02d}:00:00Z", server="-1.00", image=f"-{image}"
        )
        row = entry.revenue_split
        assert (row.rate_percent, row.commission, row.provider_net) == (
            D("33.33"),
            D(commission),
            D(image) - D(commission),
        )
        refund = post(order, ref=f"terminate:{order.pk}:refund{n}", kind="refund", server="1.00", image=image)
        assert refund.revenue_split.commission == -D(commission)
    assert_ledger_split()


def test_a_category_rate_applies_to_its_subcategories_unless_they_have_their_own(olivia):
    leaf = Category.objects.filter(parent__isnull=False).first()
    sibling = Category.objects.filter(parent=leaf.parent).exclude(pk=leaf.pk).first()
    assert rate_for(leaf) == D("20.00")
    commission_rate_save(actor=olivia, rate=None, category=None, rate_percent="15")
    assert rate_for(leaf) == rate_for(None) == D("15.00")
    commission_rate_save(actor=olivia, rate=None, category=leaf.parent.slug, rate_percent="10")
    assert rate_for(leaf) == D("10.00")
    commission_rate_save(actor=olivia, rate=None, category=leaf.slug, rate_percent="5.5")
    assert rate_for(leaf) == D("5.50")
    if sibling is not None:
        assert rate_for(sibling) == D("10.00")


def test_a_new_rate_applies_to_later_charges_only(api, rich_bruce, product, ssh_key, olivia):
    first = buy(api(rich_bruce), product, ssh_key, "k1", months=1)
    leaf = first.revision.category
    commission_rate_save(actor=olivia, rate=None, category=leaf.parent.slug, rate_percent="10")
    second = buy(api(rich_bruce), product, ssh_key, "k2", months=1)
    one = RevenueSplit.objects.get(entry__order=first)
    two = RevenueSplit.objects.get(entry__order=second)
    assert (one.rate_percent, one.commission) == (D("20.00"), D("19.80"))
    assert (two.rate_percent, two.commission) == (D("10.00"), D("9.90"))
    assert_ledger_split()


def test_operators_manage_rates_over_the_api_with_audit_rows(api, olivia):
    client = api(olivia)
    created = client.post("operator/commission-rates", json={"rate_percent": "25"})
    assert created.status_code == 201, created.json()
    assert (created.json()["category"], created.json()["rate_percent"]) == (None, "25.00")
    leaf = Category.objects.filter(parent__isnull=False).first()
    per_category = client.post("operator/commission-rates", json={"category": leaf.slug, "rate_percent": "12.50"})
    assert per_category.status_code == 201
    rate_id = per_category.json()["id"]
    assert (
        client.put(f"operator/commission-rates/{rate_id}", json={"rate_percent": "11"}).json()["rate_percent"]
        == "11.00"
    )
    assert [r["rate_percent"] for r in client.get("operator/commission-rates").json()] == ["25.00", "11.00"]
    assert client.delete(f"operator/commission-rates/{rate_id}").status_code == 204
    assert rate_for(leaf) == D("25.00")
    actions = list(AuditEvent.objects.filter(action__startswith="commission_rate.").values_list("action", "actor_name"))
    assert sorted(actions) == sorted(
        [
            ("commission_rate.create", "olivia"),
            ("commission_rate.create", "olivia"),
            ("commission_rate.update", "olivia"),
            ("commission_rate.delete", "olivia"),
        ]
    )


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"rate_percent": "100.01"}, "rate_percent", "out_of_range"),
        ({"rate_percent": "-1"}, "rate_percent", "out_of_range"),
        ({"rate_percent": "12.345"}, "rate_percent", "decimal_places"),
        ({"rate_percent": "abc"}, "rate_percent", "invalid"),
        ({"rate_percent": "NaN"}, "rate_percent", "invalid"),
        ({"rate_percent": "10", "category": "no-such"}, "category", "unknown"),
        ({}, "rate_percent", "invalid"),
    ],
)
def test_a_bad_rate_is_a_422_naming_the_field(api, olivia, body, field, code):
    response = api(olivia).post("operator/commission-rates", json=body)
    assert response.status_code == 422
    assert (field, code) in [(e["field"], e["code"]) for e in response.json()["errors"]]
    assert CommissionRate.objects.count() == 0


def test_a_second_default_rate_is_refused(api, olivia):
    client = api(olivia)
    assert client.post("operator/commission-rates", json={"rate_percent": "20"}).status_code == 201
    second = client.post("operator/commission-rates", json={"rate_percent": "30"})
    assert second.status_code == 422 and second.json()["errors"][0]["code"] == "taken"
    assert rate_for(None) == D("20.00")


def test_rates_are_for_operators_only(api, alice, rich_bruce, olivia):
    rate = commission_rate_save(actor=olivia, rate=None, rate_percent="20")
    for user in (alice, rich_bruce, None):
        client = api(user)
        expected = 401 if user is None else 404
        assert client.get("operator/commission-rates").status_code == expected
        assert client.post("operator/commission-rates", json={"rate_percent": "1"}).status_code == expected
        assert client.put(f"operator/commission-rates/{rate.pk}", json={"rate_percent": "1"}).status_code == expected
        assert client.delete(f"operator/commission-rates/{rate.pk}").status_code == expected
    assert CommissionRate.objects.get().rate_percent == D("20.00")
