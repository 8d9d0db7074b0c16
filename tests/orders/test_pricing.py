"""The one pricing function, with exact figures: Decimal in, Decimal out, 2 places, half up."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from shelf.errors import RuleViolations
from shelf.orders.pricing import Term, money, quote, term_from, term_input_violations

D = Decimal


def revision(mode="prepaid", monthly="99.00", yearly="999.00", hourly=None):
    return SimpleNamespace(
        billing_mode=mode,
        price_monthly=D(monthly) if monthly else None,
        price_yearly=D(yearly) if yearly else None,
        price_hourly=D(hourly) if hourly else None,
        currency="CNY",
    )


OFFER = SimpleNamespace(price_monthly=D("45.00"), price_hourly=D("0.10"))


def test_one_month_is_server_plus_image():
    q = quote(revision=revision(), offer=OFFER, disk_gib=20, term=Term("month", 1))
    assert (q.server_price, q.image_price, q.unit_price) == (D("45.00"), D("99.00"), D("144.00"))
    assert (q.server_total, q.image_total, q.total, q.due_now) == (D("45.00"), D("99.00"), D("144.00"), D("144.00"))
    assert (q.billing_mode, q.per, q.months, q.disk_gib) == ("prepaid", "month", 1, 20)


def test_twelve_months_multiply_the_monthly_prices():
    q = quote(revision=revision(), offer=OFFER, disk_gib=20, term=Term("month", 12))
    assert (q.server_total, q.image_total, q.total) == (D("540.00"), D("1188.00"), D("1728.00"))


def test_a_year_uses_the_images_yearly_price_and_twelve_server_months():
    q = quote(revision=revision(), offer=OFFER, disk_gib=20, term=Term("year", 1))
    assert (q.server_total, q.image_total, q.total) == (D("540.00"), D("999.00"), D("1539.00"))
    assert q.image_price == D("83.25")  # 999 / 12, the monthly equivalent shown beside the server's
    q3 = quote(revision=revision(), offer=OFFER, disk_gib=20, term=Term("year", 3))
    assert (q3.months, q3.server_total, q3.image_total, q3.total) == (36, D("1620.00"), D("2997.00"), D("4617.00"))


def test_years_without_a_yearly_price_are_twelve_image_months():
    q = quote(revision=revision(yearly=None), offer=OFFER, disk_gib=20, term=Term("year", 2))
    assert (q.server_total, q.image_total, q.total) == (D("1080.00"), D("2376.00"), D("3456.00"))


def test_the_monthly_equivalent_rounds_half_up_and_the_total_is_not_rounded_from_it():
    # 0.30 / 12 = 0.025: half up gives 0.03 (half-even would give 0.02); the total uses 0.30 itself.
    q = quote(revision=revision(yearly="0.30"), offer=OFFER, disk_gib=20, term=Term("year", 1))
    assert q.image_price == D("0.03")
    assert q.image_total == D("0.30")
    assert q.total == D("540.30")
    assert money(D("0.005")) == D("0.01") and money(D("2.675")) == D("2.68")  # 2.675 is exact as a Decimal


def test_postpaid_is_per_hour_with_the_first_hour_and_charges_nothing_now():
    q = quote(revision=revision("postpaid", None, None, "0.05"), offer=OFFER, disk_gib=20, term=Term("hour", 1))
    assert (q.per, q.server_price, q.image_price, q.unit_price) == ("hour", D("0.10"), D("0.05"), D("0.15"))
    assert (q.total, q.required_balance, q.due_now) == (D("0.15"), D("0.15"), D("0.00"))


def test_figures_are_exact_decimals_not_floats():
    offer = SimpleNamespace(price_monthly=D("0.10"), price_hourly=D("0.01"))
    q = quote(revision=revision(monthly="0.20"), offer=offer, disk_gib=20, term=Term("month", 3))
    assert q.total == D("0.90")  # 0.1 * 3 + 0.2 * 3 is 0.9000000000000001 in floats
    assert all(isinstance(v, Decimal) for v in (q.server_total, q.image_total, q.total))
    assert str(q.total) == "0.90"


@pytest.mark.parametrize(
    ("rev", "term", "code"),
    [
        (revision(), Term("month", 13), "out_of_range"),
        (revision(), Term("month", 0), "out_of_range"),
        (revision(), Term("year", 4), "out_of_range"),
        (revision(), Term("hour", 1), "mode_mismatch"),
        (revision(monthly=None), Term("month", 1), "unavailable"),
        (revision("postpaid", None, None, "0.05"), Term("month", 1), "mode_mismatch"),
        (revision(), None, "required"),
    ],
)
def test_terms_the_product_does_not_sell_are_refused_on_the_term_field(rev, term, code):
    with pytest.raises(RuleViolations) as exc:
        quote(revision=rev, offer=OFFER, disk_gib=20, term=term)
    assert [(v.field, v.code) for v in exc.value.violations] == [("term", code)]


def test_the_term_is_one_of_months_years_or_hourly():
    assert term_from(months=3) == Term("month", 3)
    assert term_from(years=1) == Term("year", 1)
    assert term_from(hourly=True) == Term("hour", 1)
    assert term_from() is None
    assert term_from(months=1, years=1) is None
    assert [v.code for v in term_input_violations(months=1, hourly=True)] == ["ambiguous"]
    assert term_input_violations(months=1, hourly=False) == []
