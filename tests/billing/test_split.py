"""The one rounding rule: commission = image part x rate to the fen, halves away from zero; the parts add up."""

from decimal import Decimal

import pytest

from shelf.billing.split import commission_of, split

D = Decimal


@pytest.mark.parametrize(
    ("image", "rate", "commission"),
    [
        ("0.01", "20", "0.00"),  # 0.002
        ("0.03", "20", "0.01"),  # 0.006
        ("0.05", "20", "0.01"),  # exactly 0.01
        ("99.99", "20", "20.00"),  # 19.998
        ("0.01", "33.33", "0.00"),  # 0.003333
        ("0.03", "33.33", "0.01"),  # 0.009999
        ("0.05", "33.33", "0.02"),  # 0.016665
        ("99.99", "33.33", "33.33"),  # 33.326667
        ("0.01", "50", "0.01"),  # 0.005: a half goes up
        ("0.03", "50", "0.02"),  # 0.015
        ("99.99", "0", "0.00"),
        ("99.99", "100", "99.99"),
    ],
)
def test_commission_of_odd_amounts(image, rate, commission):
    assert commission_of(D(image), D(rate)) == D(commission)
    parts = split(D("45.00"), D(image), D(rate))
    assert parts.commission == D(commission)
    assert parts.provider_net == D(image) - D(commission)
    assert parts.marketplace == D("45.00") + D(commission)
    assert parts.provider_net + parts.marketplace == parts.gross == D("45.00") + D(image)


@pytest.mark.parametrize("rate", ["20", "33.33", "12.5", "50", "7"])
def test_a_refund_is_the_exact_mirror_of_its_charge(rate):
    for cents in (1, 3, 5, 15, 25, 9999, 12345):
        image = D(cents) / 100
        charge, refund = split(D("0.07"), image, D(rate)), split(D("-0.07"), -image, D(rate))
        assert (refund.commission, refund.provider_net, refund.marketplace, refund.gross) == (
            -charge.commission,
            -charge.provider_net,
            -charge.marketplace,
            -charge.gross,
        )


def test_parts_always_add_up_to_the_charge():
    for server_cents in (0, 1, 2, 4500, 9999):
        for image_cents in range(0, 1000, 7):
            for rate in ("0", "20", "33.33", "33.34", "66.67", "99.99", "100"):
                for sign in (1, -1):
                    s = split(sign * D(server_cents) / 100, sign * D(image_cents) / 100, D(rate))
                    assert s.provider_net + s.marketplace == s.gross == s.server_part + s.image_part
                    assert s.commission == s.commission.quantize(D("0.01"))
                    assert abs(s.commission) <= abs(s.image_part)


def test_a_part_finer_than_a_fen_is_refused():
    with pytest.raises(ValueError):
        split(D("1.001"), D("1.00"), D("20"))
