"""Reads of revenue: a provider's sales and statements (their organisation's only), the marketplace's for operators.

Sums are taken in Python over Decimals (not SQL SUM, which SQLite computes in floating point), so every figure is
exact and a dashboard's totals are the ledger's to the fen. Days and months are in the site's time zone.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.utils import timezone

from shelf.accounts.models import Organization, User
from shelf.accounts.selectors import organizations_for
from shelf.audit.models import AuditEvent
from shelf.billing.revenue import CommissionRate, RevenueSplit
from shelf.compute.models import Instance
from shelf.orders.models import LedgerEntry, Order
from shelf.products.models import Revision

ZERO = Decimal("0.00")
INACTIVE_STATES = (Instance.State.TERMINATED, Instance.State.FAILED, Instance.State.LOST)
FIGURES = ("gross", "server_part", "image_part", "commission", "provider_net", "marketplace")


def organization_for(user: User, slug: str | None = None) -> Organization | None:
    """The provider's organisation by slug, or his first; None for anyone else or a foreign slug (-> 404)."""
    organizations = organizations_for(user).order_by("name")
    return organizations.filter(slug=slug).first() if slug else organizations.first()


def month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The first instant of the month and of the next, in the site's time zone."""
    tz = timezone.get_current_timezone()
    start = dt.datetime(year, month, 1, tzinfo=tz)
    after = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return start, after


def _months_back(today: dt.date, count: int) -> list[dt.date]:
    months, year, month = [], today.year, today.month
    for _i in range(count):
        months.append(dt.date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


@dataclass
class Figures:
    """Sums of splits: what buyers paid (gross), its server and image parts, the commission, the two shares."""

    count: int = 0
    gross: Decimal = ZERO
    server_part: Decimal = ZERO
    image_part: Decimal = ZERO
    commission: Decimal = ZERO
    provider_net: Decimal = ZERO
    marketplace: Decimal = ZERO

    def add(self, row) -> None:
        self.count += 1
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(row, name))

    def as_dict(self) -> dict:
        return {"count": self.count, **{name: getattr(self, name) for name in FIGURES}}


def splits_for(organization: Organization) -> QuerySet[RevenueSplit]:
    return RevenueSplit.objects.filter(organization=organization)


def product_names(product_ids) -> dict:
    """Each product's name as its latest revision has it."""
    names = {}
    for product_id, name in (
        Revision.objects.filter(product_id__in=set(product_ids)).order_by("number").values_list("product_id", "name")
    ):
        names[product_id] = name or str(product_id)[:8]
    return names


@dataclass
class Sales:
    organization: Organization
    days: list[tuple[dt.date, int]]
    months: list[tuple[dt.date, Figures]]
    totals: Figures
    orders_total: int
    active_instances: int
    top_products: list[dict] = field(default_factory=list)
    currency: str = "CNY"


def sales_for(organization: Organization, *, days: int = 30, months: int = 12, top: int = 5) -> Sales:
    """A provider's dashboard: orders per day (last `days`), revenue per month (last `months`), active instances and
    the products that earned most (net) over those months."""
    today = timezone.localdate()
    first_day = today - dt.timedelta(days=days - 1)
    per_day = dict.fromkeys((first_day + dt.timedelta(days=i) for i in range(days)), 0)
    orders = Order.objects.filter(product__organization=organization)
    since = dt.datetime.combine(first_day, dt.time.min, tzinfo=timezone.get_current_timezone())
    for created_at in orders.filter(created_at__gte=since).values_list("created_at", flat=True):
        day = timezone.localtime(created_at).date()
        if day in per_day:
            per_day[day] += 1

    month_starts = _months_back(today, months)
    per_month = {m: Figures() for m in month_starts}
    start = dt.datetime.combine(month_starts[0], dt.time.min, tzinfo=timezone.get_current_timezone())
    totals = Figures()
    per_product: dict = defaultdict(Figures)
    for row in splits_for(organization).filter(created_at__gte=start):
        local = timezone.localtime(row.created_at).date()
        bucket = per_month.get(local.replace(day=1))
        if bucket is None:  # a row dated after today (clock skew): counted nowhere rather than twice
            continue
        bucket.add(row)
        totals.add(row)
        per_product[row.product_id].add(row)

    order_counts = defaultdict(int)
    for product_id in orders.filter(created_at__gte=start).values_list("product_id", flat=True):
        order_counts[product_id] += 1
    names = product_names(set(per_product) | set(order_counts))
    ranked = sorted(
        set(per_product) | set(order_counts),
        key=lambda p: (-per_product[p].provider_net, -order_counts[p], names.get(p, "")),
    )[:top]
    top_products = [
        {"product": p, "name": names.get(p, "-"), "orders": order_counts[p], **per_product[p].as_dict()} for p in ranked
    ]
    active = (
        Instance.objects.filter(orders__product__organization=organization, orders__status=Order.Status.PLACED)
        .exclude(state__in=INACTIVE_STATES)
        .distinct()
        .count()
    )
    return Sales(
        organization=organization,
        days=list(per_day.items()),
        months=list(per_month.items()),
        totals=totals,
        orders_total=sum(per_day.values()),
        active_instances=active,
        top_products=top_products,
    )


@dataclass
class Statement:
    organization: Organization
    year: int
    month: int
    lines: list[dict]
    totals: Figures
    currency: str = "CNY"

    @property
    def period(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def statement_for(organization: Organization, *, year: int, month: int) -> Statement:
    """One organisation's month: per product, what buyers paid, the commission kept and the provider's net."""
    start, after = month_bounds(year, month)
    per_product: dict = defaultdict(Figures)
    totals = Figures()
    for row in splits_for(organization).filter(created_at__gte=start, created_at__lt=after):
        per_product[row.product_id].add(row)
        totals.add(row)
    names = product_names(per_product)
    lines = [
        {"product": p, "name": names.get(p, "-"), **figures.as_dict()}
        for p, figures in sorted(per_product.items(), key=lambda item: names.get(item[0], ""))
    ]
    return Statement(organization=organization, year=year, month=month, lines=lines, totals=totals)


def statement_months(organization: Organization) -> list[str]:
    """The months (YYYY-MM, newest first) in which the organisation has any split."""
    months = {
        timezone.localtime(created_at).strftime("%Y-%m")
        for created_at in splits_for(organization).values_list("created_at", flat=True)
    }
    return sorted(months, reverse=True)


# Operators


@dataclass
class MarketplaceRevenue:
    months: list[tuple[dt.date, Figures]]
    totals: Figures
    topups: list[tuple[dt.date, int, Decimal]]
    topups_total: Decimal
    balances_total: Decimal
    buyers: int
    arrears: list[dict]
    currency: str = "CNY"


def buyer_balances() -> list[dict]:
    """Every buyer with a ledger and his balance (the sum of his ledger), lowest first."""
    rows = (
        LedgerEntry.objects.values("user_id", "user__username")
        .annotate(balance=Sum("amount"))
        .order_by("balance", "user__username")
    )
    return [{"user": r["user__username"], "balance": (r["balance"] or ZERO).quantize(Decimal("0.01"))} for r in rows]


def marketplace_revenue(*, months: int = 12) -> MarketplaceRevenue:
    """Marketplace-wide: gross, commission, server revenue per month; top-ups per month; balances; arrears."""
    today = timezone.localdate()
    month_starts = _months_back(today, months)
    start = dt.datetime.combine(month_starts[0], dt.time.min, tzinfo=timezone.get_current_timezone())
    per_month = {m: Figures() for m in month_starts}
    totals = Figures()
    for row in RevenueSplit.objects.filter(created_at__gte=start):
        bucket = per_month.get(timezone.localtime(row.created_at).date().replace(day=1))
        if bucket is not None:
            bucket.add(row)
            totals.add(row)
    topups = {m: [0, ZERO] for m in month_starts}
    for created_at, amount in LedgerEntry.objects.filter(
        kind=LedgerEntry.Kind.TOPUP, created_at__gte=start
    ).values_list("created_at", "amount"):
        bucket = topups.get(timezone.localtime(created_at).date().replace(day=1))
        if bucket is not None:
            bucket[0] += 1
            bucket[1] += amount
    balances = buyer_balances()
    return MarketplaceRevenue(
        months=list(per_month.items()),
        totals=totals,
        topups=[(m, count, total) for m, (count, total) in topups.items()],
        topups_total=sum((total for _c, total in topups.values()), ZERO),
        balances_total=sum((b["balance"] for b in balances), ZERO),
        buyers=len(balances),
        arrears=[b for b in balances if b["balance"] < 0],
    )


def commission_rates() -> QuerySet[CommissionRate]:
    return CommissionRate.objects.select_related("category__parent", "updated_by")


def commission_rate_history(limit: int = 50) -> QuerySet[AuditEvent]:
    """Who set which commission rate when, newest first, removed rates included."""
    return AuditEvent.objects.filter(action__startswith="commission_rate.")[:limit]
