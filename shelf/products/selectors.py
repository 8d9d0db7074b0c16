"""Reads of products, filtered by who may see them. A provider sees its organisations' products only."""

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shelf.accounts.models import User
from shelf.accounts.selectors import organizations_for
from shelf.products.models import Product, Revision
from shelf.workdays import business_days_between


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


def listed_revision_number(product: Product) -> int | None:
    """The number of the revision on sale, if any (product_list_for sets `listed` to save the query)."""
    if hasattr(product, "listed"):
        return product.listed.number if product.listed else None
    return product.revisions.filter(status=Revision.Status.LISTED).values_list("number", flat=True).first()


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


def business_days_left(revision: Revision, today=None) -> int | None:
    if revision.due_at is None:
        return None
    today = today or timezone.localdate()
    return business_days_between(today, timezone.localtime(revision.due_at).date())


def due_label(revision: Revision, today=None) -> str:
    """“due in N business days”, “due today” or “overdue by N business days”."""
    left = business_days_left(revision, today)
    if left is None:
        return ""
    if left > 0:
        return ngettext("due in %(n)d business day", "due in %(n)d business days", left) % {"n": left}
    if left == 0:
        return _("due today")
    return ngettext("overdue by %(n)d business day", "overdue by %(n)d business days", -left) % {"n": -left}


def revision_deliveries(*, revision: Revision) -> QuerySet:
    """The revision's deliveries with their image and region, for whoever already reached the revision."""
    return revision.deliveries.select_related("image", "region")


def revision_pictures(*, revision: Revision) -> QuerySet:
    """The revision's pictures, for whoever already reached the revision (so another product's picture is a 404)."""
    return revision.pictures.all()


def listed_revision(*, product: Product, other_than: Revision | None = None) -> Revision | None:
    """The product's revision on sale now, if any (other than `other_than`), for whoever already reached the product."""
    revisions = product.revisions.filter(status=Revision.Status.LISTED)
    if other_than is not None:
        revisions = revisions.exclude(pk=other_than.pk)
    return revisions.first()
