"""The one rounding rule of the revenue split, Django-free so it is tested on its own.

The marketplace keeps the server part and a commission on the image part; the provider gets the rest of the image
part. The commission is the image part times the rate, quantized to 0.01 with ROUND_HALF_UP, which rounds halves away
from zero, so a refund is the exact mirror of its charge. Everything else is subtraction, so the parts add up exactly.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class Split:
    gross: Decimal
    server_part: Decimal
    image_part: Decimal
    rate_percent: Decimal
    commission: Decimal
    provider_net: Decimal
    marketplace: Decimal


def commission_of(image_part: Decimal, rate_percent: Decimal) -> Decimal:
    """image_part x rate, to the fen, halves away from zero (so -x gives exactly -commission_of(x))."""
    return (Decimal(image_part) * Decimal(rate_percent) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)


def split(server_part: Decimal, image_part: Decimal, rate_percent: Decimal) -> Split:
    """Split one charge (positive) or refund (negative): provider_net + marketplace == gross, always."""
    server_part, image_part = Decimal(server_part), Decimal(image_part)
    if server_part != server_part.quantize(CENT) or image_part != image_part.quantize(CENT):
        raise ValueError("a ledger part is a whole number of fen")  # the ledger stores 2 places; nothing to lose
    server_part, image_part = server_part.quantize(CENT), image_part.quantize(CENT)
    commission = commission_of(image_part, rate_percent)
    provider_net = image_part - commission
    marketplace = server_part + commission
    return Split(
        gross=server_part + image_part,
        server_part=server_part,
        image_part=image_part,
        rate_percent=Decimal(rate_percent),
        commission=commission,
        provider_net=provider_net,
        marketplace=marketplace,
    )
