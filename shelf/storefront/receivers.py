"""What the storefront does when a lower app announces something."""

from django.dispatch import receiver

from shelf.products.signals import revision_listing_changed
from shelf.storefront.services import catalog_sync


@receiver(revision_listing_changed)
def sync_catalog(sender, revision, previous, to, **kwargs) -> None:
    """Listed, delisted or superseded: the product's catalog entry and search index follow, in the same transaction."""
    catalog_sync(product_ids=[revision.product_id])
