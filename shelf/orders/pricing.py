"""The one pricing function: what a server with a product's image costs, in exact decimals.

The purchase page, `POST /api/v1/orders/quote`, `order_place` and the CLI (through the API) all call `quote`,
so the price a buyer sees is the price he is charged.

Rules (CNY, Decimal arithmetic only, never floats):
- Prepaid, N months (1-12): server = offer's monthly price × N; image = product's monthly price × N.
- Prepaid, N years (1-3): server = offer's monthly price × 12 × N (a year is 12 months: Tencent's yearly
  discounts are campaign prices that change, and a provider already sets the image's own yearly price, which
  carries his discount); image = product's yearly price × N, or its monthly price × 12 × N if it has none.
  A product with only a yearly price sells no month terms.
- Postpaid (hourly): per hour = offer's hourly price + product's hourly price; the first hour is that sum and
  must be available in the balance; nothing is charged at placement (metering is billing's work).
- The system disk is included in the offer's price for any size in the offer's range (the offer has no
  per-GiB price); `disk_gib` is checked against that range and recorded.
- Every figure is quantized to 0.01 with ROUND_HALF_UP. Prices are stored with 2 places and multiplied by whole
  numbers, so totals are exact; the only rounded figure is the monthly equivalent of a yearly image price
  (yearly / 12), shown for comparison and never summed: totals are computed from the yearly price itself.
"""

from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from shelf.errors import Violation, raise_if

CENT = Decimal("0.01")
MONTHS_MAX = 12
YEARS_MAX = 3


def money(value: Decimal) -> Decimal:
    """A figure in yuan with 2 places, half up (0.005 → 0.01), as the ledger stores it."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Term:
    unit: str  # "month", "year" or "hour"
    count: int

    @property
    def months(self) -> int:
        return {"month": self.count, "year": 12 * self.count}.get(self.unit, 0)


@dataclass(frozen=True)
class Quote:
    currency: str
    billing_mode: str
    term_unit: str
    term_count: int
    months: int  # 0 for postpaid
    per: str  # what server_price, image_price and unit_price are per: "month" or "hour"
    server_price: Decimal
    image_price: Decimal
    unit_price: Decimal
    server_total: Decimal  # the whole term (prepaid) or the first hour (postpaid)
    image_total: Decimal
    total: Decimal
    due_now: Decimal  # charged when the order is placed
    required_balance: Decimal  # what the balance must hold to place the order
    disk_gib: int

    def as_dict(self) -> dict:
        return asdict(self)


def term_from(*, months: int | None = None, years: int | None = None, hourly: bool = False) -> Term | None:
    """The term from the one of months / years / hourly that was given (None when none or several were)."""
    given = [Term("month", months)] if months is not None else []
    given += [Term("year", years)] if years is not None else []
    given += [Term("hour", 1)] if hourly else []
    return given[0] if len(given) == 1 else None


def term_input_violations(*, months=None, years=None, hourly=None, field: str = "term") -> list[Violation]:
    """At most one of months, years and hourly (the API's and the CLI's way to say the term)."""
    if sum(1 for given in (months is not None, years is not None, bool(hourly)) if given) > 1:
        return [Violation(field, "ambiguous", _("Choose one term: months, years or hourly."))]
    return []


def term_violations(revision, term: Term | None, *, field: str = "term") -> list[Violation]:
    """Whether this product sells this term: prepaid 1-12 months (with a monthly price) or 1-3 years; postpaid hourly."""
    mode = revision.billing_mode
    if term is None or term.unit not in ("month", "year", "hour"):
        return [Violation(field, "required", _("Choose a term: a number of months or years, or hourly."))]
    if mode == "postpaid":
        if term.unit != "hour" or term.count != 1:
            return [Violation(field, "mode_mismatch", _("This product is billed hourly (postpaid): choose hourly."))]
        return []
    if term.unit == "hour":
        return [Violation(field, "mode_mismatch", _("This product is prepaid: choose 1 to 12 months or 1 to 3 years."))]
    limit = MONTHS_MAX if term.unit == "month" else YEARS_MAX
    if not isinstance(term.count, int) or isinstance(term.count, bool) or not 1 <= term.count <= limit:
        if term.unit == "month":
            message = _("A prepaid term is 1 to %(max)d months.") % {"max": MONTHS_MAX}
        else:
            message = _("A prepaid term is 1 to %(max)d years.") % {"max": YEARS_MAX}
        return [Violation(field, "out_of_range", message)]
    if term.unit == "month" and revision.price_monthly is None:
        return [Violation(field, "unavailable", _("This product is sold by the year only."))]
    return []


def quote(*, revision, offer, disk_gib: int, term: Term) -> Quote:
    """The price of `offer` with `revision`'s image over `term` (raises RuleViolations on the term only)."""
    raise_if(term_violations(revision, term))
    if term.unit == "hour":
        server, image = money(offer.price_hourly), money(revision.price_hourly)
        unit = money(server + image)
        return Quote(
            currency=revision.currency or "CNY",
            billing_mode="postpaid",
            term_unit="hour",
            term_count=1,
            months=0,
            per="hour",
            server_price=server,
            image_price=image,
            unit_price=unit,
            server_total=server,
            image_total=image,
            total=unit,
            due_now=money(0),
            required_balance=unit,
            disk_gib=disk_gib,
        )
    months = term.months
    server = money(offer.price_monthly)
    server_total = money(server * months)
    if term.unit == "year" and revision.price_yearly is not None:
        image_total = money(revision.price_yearly * term.count)
        image = money(revision.price_yearly / 12)  # the monthly equivalent, for comparison only
    else:
        image = money(revision.price_monthly)
        image_total = money(image * months)
    total = money(server_total + image_total)
    return Quote(
        currency=revision.currency or "CNY",
        billing_mode="prepaid",
        term_unit=term.unit,
        term_count=term.count,
        months=months,
        per="month",
        server_price=server,
        image_price=image,
        unit_price=money(server + image),
        server_total=server_total,
        image_total=image_total,
        total=total,
        due_now=total,
        required_balance=total,
        disk_gib=disk_gib,
    )
