from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar
from uuid import UUID

from ninja import Schema
from pydantic import PlainSerializer, WithJsonSchema

from shelf.orders.keys import KEY_MAX_LENGTH
from shelf.orders.services import IDEMPOTENCY_KEY_MAX, NAME_MAX, REASON_MAX
from shelf.text import InputSchema

# Money leaves the API as a decimal string with 2 places ("45.00"), never a float.
Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+\.\d{2}$", "examples": ["45.00"]}),
]


class OfferOut(Schema):
    """One instance type on sale in one region."""

    instance_type: str
    family: str
    vcpus: int
    memory_mib: int
    region: str
    currency: str = "CNY"
    price_monthly: Money
    price_hourly: Money
    disk_min_gib: int
    disk_max_gib: int

    @staticmethod
    def resolve_instance_type(offer) -> str:
        return offer.instance_type.code

    @staticmethod
    def resolve_family(offer) -> str:
        return offer.instance_type.family

    @staticmethod
    def resolve_vcpus(offer) -> int:
        return offer.instance_type.vcpus

    @staticmethod
    def resolve_memory_mib(offer) -> int:
        return offer.instance_type.memory_mib

    @staticmethod
    def resolve_region(offer) -> str:
        return offer.region.code


class QuoteIn(InputSchema):
    """A purchase's choices. The term is exactly one of months (1-12), years (1-3) or hourly: true."""

    required_fields: ClassVar = ("product", "region", "instance_type")
    field_rules: ClassVar = {
        "months": {"description": "Prepaid: 1 to 12 months."},
        "years": {"description": "Prepaid: 1 to 3 years."},
        "hourly": {"description": "Postpaid: billed by the hour."},
        "disk_gib": {"description": "System disk in GiB; default: the offer's minimum or the image's size."},
    }

    product: str | None = None
    region: str | None = None
    instance_type: str | None = None
    disk_gib: int | None = None
    months: int | None = None
    years: int | None = None
    hourly: bool | None = None


class OrderIn(QuoteIn):
    required_fields: ClassVar = ("product", "region", "instance_type", "ssh_public_key")
    field_rules: ClassVar = {
        **QuoteIn.field_rules,
        "ssh_public_key": {"maxLength": KEY_MAX_LENGTH, "description": "One OpenSSH public key line."},
        "name": {"maxLength": NAME_MAX, "description": "Default: the product's name."},
    }

    ssh_public_key: str | None = None
    name: str | None = None


class QuoteOut(Schema):
    product: str
    product_name: str
    region: str
    instance_type: str
    currency: str
    billing_mode: str
    term_unit: str
    term_count: int
    months: int
    per: str
    server_price: Money
    image_price: Money
    unit_price: Money
    server_total: Money
    image_total: Money
    total: Money
    due_now: Money
    required_balance: Money
    disk_gib: int


class OrderOut(Schema):
    """An order as its buyer (and operators) read it."""

    id: UUID
    status: str
    product: UUID
    product_name: str
    revision: int
    region: str
    instance_type: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    billing_mode: str
    term_unit: str
    term_count: int
    currency: str
    server_price: Money
    image_price: Money
    unit_price: Money
    server_total: Money
    image_total: Money
    total: Money
    charged: Money
    name: str
    hostname: str
    ssh_public_key: str
    ssh_key_fingerprint: str
    buyer: str
    instance: UUID | None
    created_at: datetime

    @staticmethod
    def resolve_product(order) -> UUID:
        return order.product_id

    @staticmethod
    def resolve_product_name(order) -> str:
        return order.revision.name

    @staticmethod
    def resolve_revision(order) -> int:
        return order.revision.number

    @staticmethod
    def resolve_region(order) -> str:
        return order.region.code

    @staticmethod
    def resolve_instance_type(order) -> str:
        return order.instance_type.code

    @staticmethod
    def resolve_vcpus(order) -> int:
        return order.instance_type.vcpus

    @staticmethod
    def resolve_memory_mib(order) -> int:
        return order.instance_type.memory_mib

    @staticmethod
    def resolve_buyer(order) -> str:
        return order.buyer.username

    @staticmethod
    def resolve_instance(order) -> UUID | None:
        return order.instance_id


class ProviderOrderOut(Schema):
    """An order of the provider's product: what was sold and for how much, never the buyer's key or address."""

    id: UUID
    status: str
    product: UUID
    product_name: str
    revision: int
    region: str
    instance_type: str
    billing_mode: str
    term_unit: str
    term_count: int
    currency: str
    image_price: Money
    image_total: Money
    created_at: datetime

    resolve_product = staticmethod(OrderOut.resolve_product)
    resolve_product_name = staticmethod(OrderOut.resolve_product_name)
    resolve_revision = staticmethod(OrderOut.resolve_revision)
    resolve_region = staticmethod(OrderOut.resolve_region)
    resolve_instance_type = staticmethod(OrderOut.resolve_instance_type)


class BalanceOut(Schema):
    user: str
    currency: str = "CNY"
    balance: Money


class LedgerEntryOut(Schema):
    id: int
    user: str
    created_at: datetime
    kind: str
    amount: Money
    reason: str
    actor: str | None
    order: UUID | None

    @staticmethod
    def resolve_user(entry) -> str:
        return entry.user.username

    @staticmethod
    def resolve_actor(entry) -> str | None:
        return entry.actor.username if entry.actor_id else None

    @staticmethod
    def resolve_order(entry) -> UUID | None:
        return entry.order_id


class TopupIn(InputSchema):
    required_fields: ClassVar = ("user", "amount", "reason")
    field_rules: ClassVar = {
        "amount": {"description": 'Yuan as a decimal string, like "100.00".'},
        "reason": {"maxLength": REASON_MAX},
    }

    user: str | None = None
    amount: str | int | None = None
    reason: str | None = None


class TopupOut(LedgerEntryOut):
    balance: Money


IDEMPOTENCY_HEADER_DOC = (
    f"1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters, generated once per order and sent again on every retry: "
    "the same key answers the first order; the same key with other choices is a 409."
)
