from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from ninja import Schema

from shelf.orders.schemas import Money
from shelf.text import InputSchema


class FiguresOut(Schema):
    """Sums of the splits of charges and refunds: what buyers paid, its parts, the commission and the two shares."""

    count: int
    gross: Money
    server_part: Money
    image_part: Money
    commission: Money
    provider_net: Money
    marketplace: Money


class DayOut(Schema):
    day: date
    orders: int


class MonthOut(FiguresOut):
    month: str


class ProductSalesOut(FiguresOut):
    product: UUID | None
    name: str
    orders: int


class SalesOut(Schema):
    """A provider organisation's dashboard: orders per day (30 days), revenue per month (12 months), top products."""

    organization: str
    currency: str
    orders_per_day: list[DayOut]
    orders_total: int
    revenue_per_month: list[MonthOut]
    totals: FiguresOut
    active_instances: int
    top_products: list[ProductSalesOut]


class StatementLineOut(FiguresOut):
    product: UUID | None
    name: str


class StatementOut(Schema):
    organization: str
    period: str
    currency: str
    lines: list[StatementLineOut]
    totals: FiguresOut


class TopupMonthOut(Schema):
    month: str
    count: int
    amount: Money


class BuyerBalanceOut(Schema):
    user: str
    balance: Money


class MarketplaceRevenueOut(Schema):
    """Marketplace-wide, last 12 months: revenue per month, top-ups per month; buyers' balances now and arrears."""

    currency: str
    revenue_per_month: list[MonthOut]
    totals: FiguresOut
    topups_per_month: list[TopupMonthOut]
    topups_total: Money
    buyers: int
    balances_total: Money
    arrears: list[BuyerBalanceOut]


class CommissionRateOut(Schema):
    id: int
    category: str | None
    rate_percent: Money
    updated_by: str | None
    updated_at: datetime

    @staticmethod
    def resolve_category(rate) -> str | None:
        return rate.category.slug if rate.category_id else None

    @staticmethod
    def resolve_updated_by(rate) -> str | None:
        return rate.updated_by.username if rate.updated_by_id else None


class CommissionRateIn(InputSchema):
    required_fields: ClassVar = ("rate_percent",)
    field_rules: ClassVar = {
        "category": {"description": "A category's slug; omitted or null: the marketplace's default rate."},
        "rate_percent": {"description": 'Percent of the image part, 0 to 100, like "20.00".'},
    }

    category: str | None = None
    rate_percent: str | int | None = None


class CommissionRateChangeIn(InputSchema):
    required_fields: ClassVar = ("rate_percent",)
    field_rules: ClassVar = {"rate_percent": CommissionRateIn.field_rules["rate_percent"]}

    rate_percent: str | int | None = None
