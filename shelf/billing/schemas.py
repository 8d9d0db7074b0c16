from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from ninja import Schema

from shelf.orders.schemas import Money
from shelf.text import InputSchema


class TermOut(Schema):
    """A prepaid order's term: when it expires, whether it renews itself, and where it stands."""

    order: UUID
    name: str
    instance: UUID | None
    instance_state: str | None
    starts_at: datetime
    expires_at: datetime
    release_at: datetime | None  # isolated: released at this time unless renewed
    state: str
    auto_renew: bool
    renewals: int
    term_unit: str
    term_count: int

    @staticmethod
    def resolve_order(term) -> UUID:
        return term.order_id

    @staticmethod
    def resolve_name(term) -> str:
        return term.order.name

    @staticmethod
    def resolve_instance(term) -> UUID | None:
        return term.order.instance_id

    @staticmethod
    def resolve_instance_state(term) -> str | None:
        return term.order.instance.state if term.order.instance_id else None

    @staticmethod
    def resolve_release_at(term) -> datetime | None:
        from shelf.billing.services import GRACE

        return term.expires_at + GRACE if term.state in ("active", "isolated") else None

    @staticmethod
    def resolve_term_unit(term) -> str:
        return term.order.term_unit

    @staticmethod
    def resolve_term_count(term) -> int:
        return term.order.term_count


class RenewIn(InputSchema):
    """Exactly one of months (1-12) or years (1-3); priced like an order, at the prices in force now."""

    field_rules: ClassVar = {
        "months": {"description": "1 to 12 months."},
        "years": {"description": "1 to 3 years."},
    }

    months: int | None = None
    years: int | None = None


class AutoRenewIn(InputSchema):
    required_fields: ClassVar = ("auto_renew",)

    auto_renew: bool | None = None


class UsageOut(Schema):
    """One settled clock hour of a pay-by-the-hour server."""

    instance: UUID
    order: UUID
    hour: datetime
    seconds: int
    billed_seconds: int
    rounding: str
    amount: Money
    currency: str
    ref: str | None

    @staticmethod
    def resolve_instance(record) -> UUID:
        return record.instance_id

    @staticmethod
    def resolve_order(record) -> UUID:
        return record.order_id

    @staticmethod
    def resolve_ref(record) -> str | None:
        return record.entry.ref if record.entry_id else None


class BillLineOut(Schema):
    created_at: datetime
    kind: str
    ref: str | None
    order: UUID | None
    instance: UUID | None
    description: str
    server_part: Money
    image_part: Money
    amount: Money
    currency: str

    @staticmethod
    def resolve_order(entry) -> UUID | None:
        return entry.order_id

    @staticmethod
    def resolve_instance(entry) -> UUID | None:
        return entry.instance_ref

    @staticmethod
    def resolve_description(entry) -> str:
        return entry.reason


class InstanceChargesOut(Schema):
    instance: UUID | None
    name: str
    count: int
    amount: Money


class DayChargesOut(Schema):
    day: date
    instance: UUID | None
    name: str
    count: int
    amount: Money


class TotalsOut(Schema):
    charged: Money
    refunded: Money
    net: Money


class BillOut(Schema):
    """A month's charges and refunds (local calendar month), per row, per instance and per day."""

    month: str
    currency: str = "CNY"
    totals: TotalsOut
    by_instance: list[InstanceChargesOut]
    by_day: list[DayChargesOut]
    lines: list[BillLineOut]
