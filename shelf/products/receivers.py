"""What products does when a lower app announces something."""

from django.dispatch import receiver

from shelf.products.models import Delivery, Revision
from shelf.scanning.services import images_rescan
from shelf.scanning.signals import vulndb_updated


@receiver(vulndb_updated)
def rescan_listed_images(sender, **kwargs) -> int:
    """After a vulnerability database update, every image a listed product sells is scanned again; how many."""
    image_ids = set(Delivery.objects.filter(revision__status=Revision.Status.LISTED).values_list("image_id", flat=True))
    return images_rescan(image_ids=image_ids)
