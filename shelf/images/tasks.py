"""Background jobs for images. Each takes an id, reloads the row and does nothing if the work is done."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from shelf.errors import Conflict
from shelf.images import inspection
from shelf.images.models import Image
from shelf.images.services import (
    image_copy_finish,
    image_import_expire,
    image_validation_failed,
    image_validation_passed,
)
from shelf.storage import get_storage

# Validation is bounded (qemu-img has a two-minute budget) and a copy refreshes updated_at while it streams,
# so an image whose row has not moved for this long was left behind by a worker that died mid-job.
STALLED_AFTER = timedelta(minutes=15)

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


def housekeeping() -> dict[str, list[str]]:
    """Put right what dead workers and abandoned clients leave behind; safe to run at any time, anywhere.

    - an image validating, or a copy importing, whose row has not moved for STALLED_AFTER: its worker died
      (a hard kill or a crash loses the job in the database queue); queue the job again — jobs are idempotent.
      Not on RQ, which runs a dead worker's job again itself (SHELF_JOBS_RERUN_BY_QUEUE);
    - an upload session untouched for SHELF_UPLOAD_EXPIRY_HOURS: fail it and free its bytes and quota.

    Every image job runs it first, so a live worker heals the system as soon as any image work arrives;
    deployments also run it periodically (`python manage.py housekeeping`, which `serve` runs every 5 minutes).
    """
    now = timezone.now()
    requeued, expired = [], []
    stalled = Image.objects.filter(updated_at__lt=now - STALLED_AFTER).filter(
        Q(status=Image.Status.VALIDATING) | Q(status=Image.Status.IMPORTING, upload__isnull=True, captured_from="")
    )  # an importing capture is compute's job to finish or fail (its reconciliation), never a copy's
    if settings.SHELF_JOBS_RERUN_BY_QUEUE:
        stalled = stalled.none()  # RQ runs a dead worker's job again itself
    for image in stalled:
        # Claim it by moving updated_at: two sweeps never requeue the same image, and the next waits again.
        if not Image.objects.filter(pk=image.pk, updated_at=image.updated_at).update(updated_at=timezone.now()):
            continue
        job = validate_image if image.status == Image.Status.VALIDATING else copy_image
        log.warning("requeueing %s of image %s, stalled since %s", job.name, image.pk, image.updated_at)
        job.enqueue(str(image.pk))
        requeued.append(str(image.pk))
    cutoff = now - timedelta(hours=settings.SHELF_UPLOAD_EXPIRY_HOURS)
    for image in Image.objects.filter(status=Image.Status.IMPORTING, upload__updated_at__lt=cutoff):
        try:
            image_import_expire(image=image, older_than=cutoff)
        except Conflict:
            continue  # resumed or finished meanwhile
        expired.append(str(image.pk))
    return {"requeued": requeued, "expired": expired}


def _housekeeping_quietly() -> None:
    try:
        housekeeping()
    except Exception:  # housekeeping must never cost the job it rides on
        log.exception("image housekeeping failed")


@task(queue_name="default")
def validate_image(image_id: str) -> str:
    _housekeeping_quietly()
    image = Image.objects.select_related("region").filter(pk=image_id).first()
    if image is None:
        return "gone"
    return run_validation(image).status


@task(queue_name="default")
def copy_image(image_id: str) -> str:
    _housekeeping_quietly()
    image = Image.objects.select_related("region").filter(pk=image_id).first()
    if image is None:
        return "gone"
    image = image_copy_finish(copy=image)
    return run_validation(image).status
