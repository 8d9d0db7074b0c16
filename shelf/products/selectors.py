"""Reads of products, filtered by who may see them. A provider sees its organisations' products only."""

from django.db.models import Prefetch, QuerySet

from shelf.accounts.models import User
from shelf.accounts.selectors import organizations_for
from shelf.products.models import Product, Revision


def products_for(user: User) -> QuerySet[Product]:
    if user.is_authenticated and user.is_provider:
        return Product.objects.filter(organization__in=organizations_for(user)).select_related("organization")
    return Product.objects.none()


def products_viewable(user: User) -> QuerySet[Product]:
    """Products whose content (pictures, document) the user may read: its own, or any for an operator reviewing it."""
    if user.is_authenticated and user.is_operator:
        return Product.objects.select_related("organization")
    return products_for(user)


def working_revision(product: Product) -> Revision:
    """The revision being edited or reviewed: the newest one."""
    return (
        product.revisions.select_related("category__parent", "agreement", "product__organization")
        .prefetch_related("deliveries__image", "deliveries__region", "pictures")
        .order_by("-number")
        .first()
    )


def product_list_for(user: User, *, status: str | None = None) -> list[tuple[Product, Revision]]:
    products = products_for(user).prefetch_related(
        Prefetch(
            "revisions",
            queryset=Revision.objects.select_related("category", "document")
            .prefetch_related("deliveries__region", "pictures")
            .order_by("-number"),
            to_attr="revisions_desc",
        )
    )
    rows = [(p, p.revisions_desc[0]) for p in products if p.revisions_desc]
    for product, _revision in rows:
        product.listed = next((r for r in product.revisions_desc if r.status == Revision.Status.LISTED), None)
    if status:
        rows = [(p, r) for p, r in rows if r.status == status]
    return rows
