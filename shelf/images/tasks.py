"""Background jobs for images. Each takes an id, reloads the row and does nothing if the work is done."""

import logging

from django.conf import settings
from django_tasks import task

from shelf.images import inspection
from shelf.images.models import Image
from shelf.images.services import image_copy_finish, image_validation_failed, image_validation_passed
from shelf.storage import get_storage

log = logging.getLogger(__name__)


def run_validation(image: Image) -> Image:
    """Inspect the stored object with the declared format fixed; available or failed with the reason."""
    if image.status != Image.Status.VALIDATING:
        return image
    # The tool sees one file with a server-chosen name in a private directory: nothing the provider named,
    # nothing of another tenant's within reach of a relative reference.
    with get_storage().local_copy(image.storage_key, f"disk.{image.disk_format}") as path:
        try:
            facts = inspection.inspect_image(
                path, image.disk_format, max_virtual_size=settings.SHELF_IMAGE_MAX_VIRTUAL_SIZE
            )
        except inspection.ImageRejected as exc:
            return image_validation_failed(image=image, code=exc.code, reason=exc.message)
    return image_validation_passed(
        image=image,
        virtual_size=facts.virtual_size,
        data={"format": facts.format, "virtual_size": facts.virtual_size, "leaked_clusters": facts.check_leaks},
    )


@task(queue_name="default")
def validate_image(image_id: str) -> str:
    image = Image.objects.select_related("region").filter(pk=image_id).first()
    if image is None:
        return "gone"
    return run_validation(image).status


@task(queue_name="default")
def copy_image(image_id: str) -> str:
    image = Image.objects.select_related("region").filter(pk=image_id).first()
    if image is None:
        return "gone"
    image = image_copy_finish(copy=image)
    return run_validation(image).status
