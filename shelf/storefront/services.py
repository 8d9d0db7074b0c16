"""Every write on the storefront: its catalog entries and their search index, kept in step with listed revisions.

A product's entry is rebuilt from its listed revision (or removed when none is listed) by one function,
`catalog_sync`, called in the listing transaction by the receiver of `revision_listing_changed`, by the
`catalog_reindex` command and by the data migration. Models come from an app registry so the migration can
pass its historical one.
"""

import html
from collections.abc import Iterable
from decimal import Decimal

from django.apps import apps as global_apps
from django.db import connection, transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from shelf.accounts.access import require_operator
from shelf.audit.services import audit_record
from shelf.errors import Violation, raise_if
from shelf.storefront import search

HOURS_PER_MONTH = 720  # 30 days: what a postpaid product costs per month, for sorting and the price filter
REBUILD_BATCH = 500


def monthly_price(*, billing_mode: str, price_monthly, price_yearly, price_hourly) -> Decimal:
    """What a month of the image costs: the catalog's price sort key and what price_min / price_max compare."""
    if billing_mode == "postpaid":
        return (Decimal(price_hourly or 0) * HOURS_PER_MONTH).quantize(Decimal("0.01"))
    if price_monthly is not None:
        return Decimal(price_monthly)
    return (Decimal(price_yearly or 0) / 12).quantize(Decimal("0.01"))


def region_key(codes) -> str:
    return " ".join(sorted(set(codes)))


def _fold(value: str) -> str:
    return " ".join((value or "").casefold().split())[:200]


def catalog_sync(*, product_ids: Iterable, apps=global_apps) -> int:
    """Make the catalog entries of these products match their listed revisions (inside the caller's transaction).

    Returns how many of them are listed. Safe to repeat: the entries are replaced, never duplicated.
    """
    Revision = apps.get_model("products", "Revision")
    CatalogEntry = apps.get_model("storefront", "CatalogEntry")
    CatalogTerm = apps.get_model("storefront", "CatalogTerm")
    product_ids = list(product_ids)
    if not product_ids:
        return 0
    _bump_version(apps)
    old = list(CatalogEntry.objects.filter(product_id__in=product_ids).values_list("id", flat=True))
    if old:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.executemany(f"DELETE FROM {search.FTS_TABLE} WHERE rowid = %s", [[i] for i in old])
        CatalogTerm.objects.filter(entry_id__in=old).delete()
        CatalogEntry.objects.filter(id__in=old).delete()
    listed = list(
        Revision.objects.filter(product_id__in=product_ids, status="listed")
        .select_related("product__organization", "category")
        .prefetch_related("deliveries__region", "pictures")
    )
    entries, texts = [], []
    for revision in listed:
        pictures = sorted(revision.pictures.all(), key=lambda p: (p.position, p.id))
        regions = [
            d.region.code for d in sorted(revision.deliveries.all(), key=lambda d: (d.region.position, d.region.code))
        ]
        category = revision.category
        entries.append(
            CatalogEntry(
                product_id=revision.product_id,
                revision_id=revision.pk,
                name=revision.name,
                summary=revision.summary,
                version=revision.version,
                tags=list(revision.tags or []),
                software=list(revision.software or []),
                provider_name=revision.product.organization.name,
                category_id=category.pk,
                top_category_id=category.parent_id or category.pk,
                billing_mode=revision.billing_mode,
                price_yearly=revision.price_yearly,
                price_monthly=revision.price_monthly,
                price_hourly=revision.price_hourly,
                price_sort=monthly_price(
                    billing_mode=revision.billing_mode,
                    price_monthly=revision.price_monthly,
                    price_yearly=revision.price_yearly,
                    price_hourly=revision.price_hourly,
                ),
                currency=revision.currency,
                regions=regions,
                region_key=region_key(regions),
                picture_id=pictures[0].pk if pictures else None,
                listed_at=revision.decided_at or timezone.now(),
            )
        )
        texts.append(html.unescape(strip_tags(revision.details_html or "")))
    CatalogEntry.objects.bulk_create(entries)
    terms = []
    for entry in entries:
        values = {("region", code) for code in entry.regions}
        values |= {("tag", _fold(tag)) for tag in entry.tags if _fold(tag)}
        values |= {("software", _fold(name)) for name in entry.software if _fold(name)}
        terms += [CatalogTerm(entry_id=entry.pk, kind=kind, value=value) for kind, value in sorted(values)]
    CatalogTerm.objects.bulk_create(terms)
    search.index_write(
        [
            (
                entry.pk,
                search.entry_columns(
                    name=entry.name,
                    summary=entry.summary,
                    tags=entry.tags,
                    software=entry.software,
                    provider_name=entry.provider_name,
                    details_text=details_text,
                ),
            )
            for entry, details_text in zip(entries, texts, strict=True)
        ]
    )
    return len(entries)


def _bump_version(apps) -> None:
    """A new catalog version (see shelf.storefront.cache): cached answers of the old one are never served again."""
    try:
        CatalogVersion = apps.get_model("storefront", "CatalogVersion")
    except LookupError:  # a data migration older than the version row (0009)
        return
    if not CatalogVersion.objects.filter(pk=1).update(number=F("number") + 1):
        CatalogVersion.objects.create(pk=1, number=1)  # a flushed test database


def catalog_rebuild(*, batch_size: int = REBUILD_BATCH, apps=global_apps) -> dict:
    """Rebuild the whole catalog and its index from the listed revisions, one transaction per batch.

    Idempotent; entries of products no longer listed are removed. Returns {"listed": n, "removed": m}.
    """
    Revision = apps.get_model("products", "Revision")
    CatalogEntry = apps.get_model("storefront", "CatalogEntry")
    product_ids = sorted(set(Revision.objects.filter(status="listed").values_list("product_id", flat=True)), key=str)
    stale = set(CatalogEntry.objects.values_list("product_id", flat=True)) - set(product_ids)
    listed = 0
    for start in range(0, len(product_ids), batch_size):
        with transaction.atomic():
            listed += catalog_sync(product_ids=product_ids[start : start + batch_size], apps=apps)
    stale = sorted(stale, key=str)
    for start in range(0, len(stale), batch_size):
        with transaction.atomic():
            catalog_sync(product_ids=stale[start : start + batch_size], apps=apps)
    if not product_ids:
        with transaction.atomic():
            search.index_clear()
    if connection.vendor == "postgresql":
        # Planner statistics for the rewritten tables: without them every search plans as if they were empty
        # (q=mysql with three facets took 937 ms instead of 65 ms at 100,000 products until autovacuum came).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE storefront_catalogentry, storefront_catalogterm")
    return {"listed": listed, "removed": len(stale)}


# --------------------------------------------------------------------------- featured products

FEATURED_MAX = 8  # what the home page's "Featured" row shows


def featured_add(*, actor, product_id):
    """Feature a listed product on the home page, after those featured already; featuring it again changes
    nothing. 404 when there is no such product; 422 unless it is listed, or when FEATURED_MAX are featured."""
    from shelf.products.models import Product
    from shelf.storefront.models import CatalogEntry, CatalogVersion, FeaturedProduct

    require_operator(actor)
    with transaction.atomic():
        # The catalog's version row serialises operators featuring at once, so that the cap holds.
        CatalogVersion.objects.select_for_update().filter(pk=1).first()
        featured = FeaturedProduct.objects.filter(product_id=product_id).first()
        if featured is not None:
            return featured
        entry = CatalogEntry.objects.filter(product_id=product_id).select_related("product").first()
        if entry is None and not Product.objects.filter(pk=product_id).exists():
            raise Http404  # no such product: an id naming nothing is a 404, as everywhere
        violations = []
        if entry is None:
            violations.append(
                Violation("product_id", "not_listed", _("Only a product on sale in the catalog can be featured."))
            )
        elif FeaturedProduct.objects.count() >= FEATURED_MAX:
            violations.append(
                Violation(
                    "product_id",
                    "too_many",
                    _("At most %(max)d products are featured; remove one first.") % {"max": FEATURED_MAX},
                )
            )
        raise_if(violations)
        last = FeaturedProduct.objects.order_by("-position").values_list("position", flat=True).first()
        featured = FeaturedProduct.objects.create(
            product=entry.product, position=0 if last is None else last + 1, featured_by=actor
        )
        audit_record(actor=actor, target=entry.product, action="product.feature")
    return featured


def featured_remove(*, actor, product_id) -> bool:
    """Take a product off the home page; False if it was not featured."""
    from shelf.storefront.models import FeaturedProduct

    require_operator(actor)
    with transaction.atomic():
        featured = FeaturedProduct.objects.select_related("product").filter(product_id=product_id).first()
        if featured is None:
            return False
        featured.delete()
        audit_record(actor=actor, target=featured.product, action="product.unfeature")
    return True


def featured_move(*, actor, product_id, by: int) -> None:
    """Move a featured product `by` places (-1: earlier, 1: later) by swapping with its neighbour."""
    from shelf.storefront.models import FeaturedProduct

    require_operator(actor)
    with transaction.atomic():
        rows = list(FeaturedProduct.objects.select_for_update().order_by("position", "featured_at"))
        at = next((i for i, row in enumerate(rows) if str(row.product_id) == str(product_id)), None)
        if at is None or not 0 <= at + by < len(rows):
            return
        rows[at], rows[at + by] = rows[at + by], rows[at]
        for position, row in enumerate(rows):
            if row.position != position:
                row.position = position
                row.save(update_fields=["position"])
