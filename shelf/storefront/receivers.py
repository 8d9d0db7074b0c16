"""What the storefront does when a lower app announces something."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from shelf.accounts.models import Organization
from shelf.catalog.models import Agreement, Category, Region
from shelf.orders.models import InstanceOffer, InstanceType
from shelf.products.signals import revision_listing_changed
from shelf.scanning.signals import scan_finished
from shelf.storefront.cache import pages_changed
from shelf.storefront.services import catalog_sync


@receiver(revision_listing_changed)
def sync_catalog(sender, revision, previous, to, **kwargs) -> None:
    """Listed, delisted or superseded: the product's catalog entry and search index follow, in the same transaction."""
    catalog_sync(product_ids=[revision.product_id])


# What a product page shows beside its catalog entry: the verified-by-scan panel, "server from", the names of
# regions, categories, the provider and the agreement. Any change makes the cached page parts stale.
@receiver(scan_finished)
def scans_changed(sender, **kwargs) -> None:
    pages_changed()


def _shown_on_pages(sender, **kwargs) -> None:
    if not kwargs.get("raw"):  # fixtures loading
        pages_changed()


for _model in (InstanceOffer, InstanceType, Region, Category, Organization, Agreement):
    post_save.connect(_shown_on_pages, sender=_model, dispatch_uid=f"storefront-pages-{_model._meta.label}")
    post_delete.connect(_shown_on_pages, sender=_model, dispatch_uid=f"storefront-pages-gone-{_model._meta.label}")
