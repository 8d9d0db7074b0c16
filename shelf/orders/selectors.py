"""Reads of sizes, offers, balances and orders, filtered by who may see them (a foreign order is a 404)."""

from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

from shelf.accounts.models import User
from shelf.accounts.selectors import organizations_for
from shelf.catalog.models import Region
from shelf.orders.models import InstanceOffer, InstanceType, LedgerEntry, Order
from shelf.products.models import Delivery, Product, Revision

GIB = 1024**3


def instance_types_all() -> QuerySet[InstanceType]:
    """Every instance type, for the operators who manage them."""
    return InstanceType.objects.all()


def offers_all() -> QuerySet[InstanceOffer]:
    """Every offer, on sale or not, for the operators who manage them."""
    return InstanceOffer.objects.select_related("region", "instance_type")


def offers_on_sale(*, region: str | None = None) -> QuerySet[InstanceOffer]:
    """What anyone may buy: offers on sale in active regions (optionally one region, by code)."""
    offers = offers_all().filter(on_sale=True, region__is_active=True)
    return offers.filter(region__code=region) if region else offers


def product_for_sale(product_id) -> tuple[Product, Revision] | None:
    """A product anyone may buy and the revision on sale now; None when there is none (or no such product)."""
    revision = (
        Revision.objects.filter(product_id=product_id, status=Revision.Status.LISTED)
        .select_related("product__organization")
        .order_by("-number")
        .first()
    )
    return (revision.product, revision) if revision else None


def deliveries_for_sale(revision: Revision) -> QuerySet[Delivery]:
    """The regions (and their image) a listed revision is sold in, active regions only."""
    return revision.deliveries.filter(region__is_active=True).select_related("region", "image")


def needed_gib(image) -> int:
    """The smallest whole system disk in GiB that holds the image's virtual size."""
    return max(1, -(-(image.virtual_size or 0) // GIB))


def offers_for_revision(revision: Revision) -> list[tuple[Delivery, list[InstanceOffer]]]:
    """Per delivered region, the offers on sale there whose system disk can hold that region's image."""
    deliveries = list(deliveries_for_sale(revision))
    offers = list(offers_on_sale().filter(region__in=[d.region_id for d in deliveries]))
    return [
        (d, [o for o in offers if o.region_id == d.region_id and o.disk_max_gib >= needed_gib(d.image)])
        for d in deliveries
    ]


def cheapest_offer(revision: Revision) -> InstanceOffer | None:
    """The cheapest server the revision can be bought on, in its billing mode's unit: "image price + server from"."""
    key = "price_hourly" if revision.billing_mode == Revision.BillingMode.POSTPAID else "price_monthly"
    offers = [offer for _delivery, offers in offers_for_revision(revision) for offer in offers]
    return min(offers, key=lambda offer: (getattr(offer, key), offer.instance_type.position), default=None)


def regions_for(codes) -> QuerySet[Region]:
    return Region.objects.filter(code__in=codes)


def balance_of(user: User) -> Decimal:
    """The buyer's balance: the sum of his ledger (lock his account first when the answer decides a charge)."""
    total = LedgerEntry.objects.filter(user=user).aggregate(total=Sum("amount"))["total"]
    return (total or Decimal("0")).quantize(Decimal("0.01"))


def ledger_for(user: User) -> QuerySet[LedgerEntry]:
    """A buyer's own ledger, newest first; nobody else's."""
    if not (user.is_authenticated and user.is_buyer):
        return LedgerEntry.objects.none()
    return LedgerEntry.objects.filter(user=user).select_related("user", "actor")


def ledger_all() -> QuerySet[LedgerEntry]:
    """Every ledger row, for operators."""
    return LedgerEntry.objects.select_related("user", "actor")


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("buyer", "revision", "region", "instance_type")


def orders_for(user: User) -> QuerySet[Order]:
    """A buyer's own orders; every order for an operator; nothing for anyone else (providers: provider_orders_for)."""
    if user.is_authenticated and user.is_operator:
        return _orders()
    if user.is_authenticated and user.is_buyer:
        return _orders().filter(buyer=user)
    return Order.objects.none()


def provider_orders_for(user: User) -> QuerySet[Order]:
    """Orders of the provider's organisations' products. Render them with the provider schema: no key, no address."""
    if not (user.is_authenticated and user.is_provider):
        return Order.objects.none()
    return _orders().filter(product__organization__in=organizations_for(user))


def order_by_key(*, buyer: User, idempotency_key: str) -> Order | None:
    return Order.objects.filter(buyer=buyer, idempotency_key=idempotency_key).first()


def buyers_matching(username: str) -> QuerySet[User]:
    return User.objects.filter(Q(username=username), kind=User.Kind.BUYER)
