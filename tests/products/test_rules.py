"""Every wizard rule at its boundary, checked the way submit checks it."""

from decimal import Decimal

import pytest

from shelf.products import rules
from shelf.products.models import Revision


def codes(violations, field_prefix=""):
    return {(v.field, v.code) for v in violations if v.field.startswith(field_prefix)}


@pytest.mark.parametrize(
    "name,ok", [("a" * 80, True), ("a" * 81, False), ("镜" * 80, True), ("镜" * 81, False), ("", False), ("   ", False)]
)
def test_name_counts_characters_not_bytes(name, ok):
    assert (rules.name_violations(name) == []) is ok


@pytest.mark.parametrize("summary,ok", [("s" * 140, True), ("s" * 141, False), ("简" * 140, True), ("", False)])
def test_summary_at_most_140_characters(summary, ok):
    assert (rules.summary_violations(summary) == []) is ok


@pytest.mark.parametrize(
    "tags,expected",
    [
        ([], {("tags", "too_few")}),
        (["one"], set()),
        (["a", "b", "c", "d", "e"], set()),
        (["a", "b", "c", "d", "e", "f"], {("tags", "too_many")}),
        (["web", "Web"], {("tags[1]", "duplicate")}),
        (["web", " "], {("tags[1]", "blank")}),
        (["x" * 21], {("tags[0]", "max_length")}),
        (["x" * 20], set()),
    ],
)
def test_tags_one_to_five_distinct_non_empty(tags, expected):
    assert codes(rules.tag_list_violations("tags", tags, label="tags", max_length=rules.TAG_MAX_LENGTH)) == expected


@pytest.mark.parametrize(
    "software,count_ok", [([], False), (["nginx"], True), (["a", "b", "c", "d", "e"], True), (list("abcdef"), False)]
)
def test_integrated_software_one_to_five(software, count_ok):
    violations = rules.tag_list_violations("software", software, label="software", max_length=rules.SOFTWARE_MAX_LENGTH)
    assert (violations == []) is count_ok


@pytest.mark.parametrize(
    "version,ok",
    [
        ("v1.0", True),
        ("v1", True),
        ("v2.3.1", True),
        ("v1.2.3.4", True),
        ("1.0", False),
        ("v1.0-beta", False),
        ("V1.0", False),
        ("v1..0", False),
        ("", False),
        ("v1.2.3.4.5", False),
    ],
)
def test_image_version_form(version, ok):
    violations = rules.version_violations(version)
    assert (violations == []) is ok
    if not ok and version:
        assert "v1.0" in violations[0].message  # the error says the accepted form


@pytest.mark.parametrize(
    "typed,price,code",
    [
        ("12.50", Decimal("12.50"), None),
        ("12", Decimal("12.00"), None),
        ("0.01", Decimal("0.01"), None),
        ("12.505", None, "decimal_places"),
        ("0", None, "not_positive"),
        ("-1", None, "not_positive"),
        ("abc", None, "invalid"),
        ("NaN", None, "invalid"),
        ("Infinity", None, "invalid"),
        (12.5, None, "not_decimal"),
        ("10000000.00", None, "too_high"),
    ],
)
def test_prices_are_exact_positive_two_place_decimals(typed, price, code):
    parsed, problem = rules.parse_price(typed)
    assert parsed == price
    assert (problem.code if problem else None) == code


def billing(mode, **prices):
    revision = Revision(billing_mode=mode, currency="CNY")
    for field, value in prices.items():
        setattr(revision, field, Decimal(value))
    return codes(rules.billing_violations(revision))


def test_billing_exactly_one_mode():
    assert billing("") == {("billing_mode", "required")}
    assert billing("prepaid", price_monthly="10") == set()
    assert billing("prepaid", price_yearly="100") == set()
    assert billing("prepaid") == {("price_monthly", "required")}
    assert billing("prepaid", price_monthly="10", price_hourly="1") == {("price_hourly", "wrong_mode")}
    assert billing("postpaid", price_hourly="0.50") == set()
    assert billing("postpaid") == {("price_hourly", "required")}
    assert billing("postpaid", price_hourly="1", price_yearly="100") == {("price_yearly", "wrong_mode")}


def test_unknown_currency_refused():
    revision = Revision(billing_mode="postpaid", price_hourly=Decimal("1"), currency="EUR")
    assert ("currency", "invalid") in codes(rules.billing_violations(revision))


def test_every_field_belongs_to_a_step():
    for field in [
        "name",
        "tags[2]",
        "deliveries.ap-guangzhou",
        "security.ap-guangzhou",
        "price_hourly",
        "pictures",
        "document",
    ]:
        assert rules.step_of(field) != "review", field
