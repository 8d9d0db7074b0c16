"""Every write on custom images: import sessions, chunks, validation outcome, copies, deletion.

Statuses change only here: importing → validating → available, or → failed with a reason.
"""

import logging
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from shelf.accounts.models import Organization, User
from shelf.audit.services import audit_record
from shelf.catalog.models import Region
from shelf.errors import Conflict, RuleViolations, StorageFull, TooLarge, Unavailable, Violation, raise_if
from shelf.images import rules
from shelf.images.hashing import ResumableSha256
from shelf.images.models import Image, ImageUpload
from shelf.images.signals import image_available
from shelf.storage import get_storage
from shelf.storage.base import StorageError
from shelf.units import human_bytes

READ_SIZE = 4 * 1024 * 1024  # hash and write in large pieces
HEARTBEAT_SECONDS = 60
HOLDING_STATUSES = (Image.Status.IMPORTING, Image.Status.VALIDATING, Image.Status.AVAILABLE)

logger = logging.getLogger(__name__)


def _set_status(image: Image, *, actor, to: str, action: str, reason: str = "", data: dict | None = None) -> None:
    previous = image.status
    image.status = to
    image.save()
    audit_record(actor=actor, target=image, action=action, from_status=previous, to_status=to, reason=reason, data=data)


def organization_storage_used(organization: Organization, *, exclude: Image | None = None) -> int:
    """Bytes held or reserved: stored bytes of live images plus what open uploads announced but have not sent."""
    images = Image.objects.filter(organization=organization, status__in=HOLDING_STATUSES)
    if exclude is not None:
        images = images.exclude(pk=exclude.pk)
    held = images.aggregate(total=Sum("stored_size"))["total"] or 0
    reserved = 0
    uploads = ImageUpload.objects.filter(
        image__in=images.filter(status=Image.Status.IMPORTING), expected_size__isnull=False
    )
    for expected, received in uploads.values_list("expected_size", "received"):
        reserved += max(expected - received, 0)
    return held + reserved


def _quota_error(organization: Organization, needed: int) -> TooLarge:
    used = organization_storage_used(organization)
    return TooLarge(
        _(
            "Your organisation's image storage quota is %(quota)s; %(used)s is in use and this needs %(needed)s more. "
            "Delete images you no longer sell or ask an operator for a larger quota."
        )
        % {"quota": human_bytes(organization.image_quota), "used": human_bytes(used), "needed": human_bytes(needed)},
        code="quota_exceeded",
        field="size",
    )


@transaction.atomic
def image_import_start(
    *,
    actor: User,
    organization: Organization,
    name: str,
    region_code: str,
    disk_format: str,
    size: int | None = None,
    sha256: str = "",
    description: str = "",
    os_hint: str = "",
) -> Image:
    """Create an importing image and its upload session. The declared size is reserved against the quota."""
    region = Region.objects.filter(code=region_code, is_active=True).first() if region_code else None
    sha256 = (sha256 or "").lower()
    raise_if(
        rules.import_violations(
            name=name,
            disk_format=disk_format,
            region_code=region_code,
            region_exists=region is not None,
            size=size,
            sha256=sha256,
            description=description,
            os_hint=os_hint,
        )
    )
    # Lock the organisation row so two sessions cannot both pass the quota check.
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if size is not None and organization_storage_used(organization) + size > organization.image_quota:
        raise _quota_error(organization, size)
    image = Image.objects.create(
        organization=organization,
        region=region,
        name=name.strip(),
        description=(description or "").strip(),
        os_hint=(os_hint or "").strip(),
        disk_format=disk_format,
        created_by=actor,
    )
    ImageUpload.objects.create(
        image=image, expected_size=size, expected_sha256=sha256, hash_state=ResumableSha256().state()
    )
    audit_record(
        actor=actor,
        target=image,
        action="image.import_start",
        to_status=image.status,
        data={"format": disk_format, "size": size, "region": region.code},
    )
    return image


def _reload_importing(image: Image) -> Image:
    """The image as it is now, read under the staging lock; it may have been deleted while the caller waited."""
    current = Image.objects.select_related("organization", "region", "upload").filter(pk=image.pk).first()
    if current is None:
        raise Conflict(_("This image was deleted."), code="deleted")
    return current


def _require_importing(image: Image) -> ImageUpload:
    if image.status != Image.Status.IMPORTING or not hasattr(image, "upload"):
        raise Conflict(
            _("This image is %(status)s; it no longer accepts uploaded data.") % {"status": image.get_status_display()},
            code="not_importing",
        )
    return image.upload


def image_upload_chunk(*, actor: User, image: Image, start: int, length: int, total: int | None, body) -> int:
    """Append one chunk (bytes start..start+length-1) streamed from `body`; return the bytes the server now holds.

    A chunk the server already has is acknowledged without writing; an overlapping one writes only its new
    tail; a gap is refused. The hash is computed while the bytes stream; the declared size and the quota are
    checked before a byte is written (an upload of unannounced size reserves each chunk first).
    """
    storage = get_storage()
    key = image.storage_key
    with storage.staging_lock(key):
        image = _reload_importing(image)
        upload = _require_importing(image)
        expected = upload.expected_size
        if total is not None and expected is not None and total != expected:
            raise RuleViolations(
                [
                    Violation(
                        "content_range",
                        "total_mismatch",
                        _("The upload was announced as %(expected)d bytes but this chunk says %(total)d.")
                        % {"expected": expected, "total": total},
                    )
                ]
            )
        received = upload.received
        if start > received:
            raise Conflict(
                _("The server holds %(received)d bytes; send the data from byte %(received)d.")
                % {"received": received},
                code="offset_mismatch",
                field="content_range",
            )
        end = start + length
        if end <= received:
            return received  # a repeated chunk: harmless
        limit = expected if expected is not None else None
        if limit is not None and end > limit:
            raise TooLarge(
                _("This chunk goes past the announced size of %(size)d bytes.") % {"size": limit},
                code="beyond_size",
                field="content_range",
            )
        if expected is None:
            _reserve_chunk(actor=actor, image=image, received=received, end=end)
        hasher = ResumableSha256(bytes(upload.hash_state))
        skip = received - start

        def new_bytes() -> Iterator[bytes]:
            nonlocal skip
            remaining, sent = length, 0
            while remaining:
                data = body.read(min(READ_SIZE, remaining))
                if not data:
                    raise RuleViolations(
                        [
                            Violation(
                                "content_range",
                                "short_body",
                                _("The request ended before the bytes its Content-Range announced."),
                            )
                        ]
                    )
                remaining -= len(data)
                if skip:
                    cut = min(skip, len(data))
                    data, skip = data[cut:], skip - cut
                    if not data:
                        continue
                sent += len(data)
                hasher.update(data)
                yield data

        try:
            written = storage.staging_write(key, received, new_bytes())
        except StorageError as exc:
            # The store failed mid-stream: the whole upload goes (its parts, its reserved quota) with a clear error.
            logger.error("upload of image %s failed in object storage: %s", image.pk, exc)
            image_import_abort(
                actor=actor,
                image=image,
                code="storage_error",
                reason=_("Object storage failed while the upload was stored; the upload was removed."),
            )
            raise Unavailable(
                _("Object storage failed while this chunk was stored; the upload was removed. Import the file again."),
                code="storage_error",
            ) from exc
        except (RuleViolations, StorageFull):
            # Keep what was acknowledged before this chunk; drop the partial chunk and its reservation. A full disk
            # refuses this chunk only: the upload resumes once there is room.
            storage.staging_write(key, received, iter(()))
            Image.objects.filter(pk=image.pk).update(stored_size=received)
            raise
        with transaction.atomic():
            ImageUpload.objects.filter(pk=upload.pk).update(
                received=received + written, hash_state=hasher.state(), updated_at=timezone.now()
            )
            Image.objects.filter(pk=image.pk).update(stored_size=received + written, updated_at=timezone.now())
        return received + written


def _reserve_chunk(*, actor, image: Image, received: int, end: int) -> None:
    """An upload of unannounced size reserves each chunk against the quota before its bytes stream, under the
    organisation's lock, so two such uploads cannot both spend the same room. Over quota: 413, data removed."""
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=image.organization_id)
        needed = end - received
        if organization_storage_used(organization) + needed <= organization.image_quota:
            Image.objects.filter(pk=image.pk).update(stored_size=end, updated_at=timezone.now())
            return
        error = _quota_error(organization, needed)
    image_import_abort(
        actor=actor,
        image=image,
        code="quota_exceeded",
        reason=_("The upload went over the organisation's storage quota and was removed."),
    )
    raise error


def image_import_abort(*, actor, image: Image, code: str, reason: str) -> Image:
    """Fail an import and remove every byte of it from storage."""
    try:
        get_storage().staging_delete(image.storage_key)
    except StorageError as exc:
        # The import fails all the same; the bucket's rule for incomplete multipart uploads removes what stays.
        logger.error("could not remove the staged bytes of image %s: %s", image.pk, exc)
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image.pk)
        ImageUpload.objects.filter(image=image).delete()
        image.stored_size = 0
        image.failure_code, image.failure_reason = code, reason
        _set_status(image, actor=actor, to=Image.Status.FAILED, action="image.import_failed", reason=reason)
    return image


def image_import_cancel(*, actor: User, image: Image) -> Image:
    """The provider gives up an import: it fails and its bytes go. Taken under the staging lock so a chunk
    being written at the same moment cannot recreate the staged file after it was removed."""
    with get_storage().staging_lock(image.storage_key):
        image = _reload_importing(image)
        if image.status != Image.Status.IMPORTING:
            raise Conflict(_("Only an importing image can be cancelled."), code="not_importing")
        return image_import_abort(actor=actor, image=image, code="cancelled", reason=_("The upload was cancelled."))


def image_import_expire(*, image: Image, older_than) -> Image:
    """An upload nobody touched since `older_than` is abandoned: it fails and its bytes and quota are freed."""
    with get_storage().staging_lock(image.storage_key):
        image = _reload_importing(image)
        upload = _require_importing(image)
        if upload.updated_at >= older_than:
            raise Conflict(_("This upload is in progress."), code="in_progress")
        return image_import_abort(
            actor=None,
            image=image,
            code="expired",
            reason=_("The upload was abandoned: no data arrived for %(hours)d hours. Import the file again.")
            % {"hours": settings.SHELF_UPLOAD_EXPIRY_HOURS},
        )


def image_import_complete(*, actor: User, image: Image, sha256: str = "") -> Image:
    """Finish the upload: check size and checksum, make the object final and queue validation."""
    storage = get_storage()
    with storage.staging_lock(image.storage_key):
        image = _reload_importing(image)
        upload = _require_importing(image)
        sha256 = (sha256 or upload.expected_sha256 or "").lower()
        violations = []
        if not sha256:
            violations.append(
                Violation("sha256", "required", _("Send the file's SHA-256 so the server can verify the upload."))
            )
        elif not rules.SHA256_RE.match(sha256):
            violations.append(Violation("sha256", "invalid", _("SHA-256 is 64 lowercase hexadecimal characters.")))
        if upload.expected_size is not None and upload.received != upload.expected_size:
            violations.append(
                Violation(
                    "size",
                    "incomplete",
                    _("The server holds %(received)d of %(expected)d bytes; send the rest before completing.")
                    % {"received": upload.received, "expected": upload.expected_size},
                )
            )
        raise_if(violations)
        computed = ResumableSha256(bytes(upload.hash_state)).hexdigest()
        if computed != sha256:
            reason = _(
                "The uploaded data does not match its SHA-256 (you sent %(sent)s, the server computed %(computed)s). "
                "The data was damaged in transit; import the file again."
            ) % {"sent": sha256, "computed": computed}
            image_import_abort(actor=actor, image=image, code="checksum_mismatch", reason=reason)
            raise RuleViolations([Violation("sha256", "mismatch", reason)])
        if upload.received == 0:
            storage.staging_write(image.storage_key, 0, iter(()))
        storage.staging_promote(image.storage_key)
        with transaction.atomic():
            image.sha256 = computed
            image.stored_size = upload.received
            upload.delete()
            _set_status(
                image,
                actor=actor,
                to=Image.Status.VALIDATING,
                action="image.import_complete",
                data={"sha256": computed, "bytes": image.stored_size},
            )
            transaction.on_commit(lambda: _enqueue_validation(image.pk))
    return image


def _enqueue_validation(image_id) -> None:
    from shelf.images.tasks import validate_image

    validate_image.enqueue(str(image_id))


def image_validation_passed(*, image: Image, virtual_size: int, data: dict | None = None) -> Image:
    with transaction.atomic():
        current = Image.objects.select_for_update().filter(pk=image.pk).first()
        if current is None or current.status != Image.Status.VALIDATING:
            return current or image  # deleted or decided meanwhile
        image = current
        image.virtual_size = virtual_size
        image.available_at = timezone.now()
        image.failure_code = image.failure_reason = ""
        _set_status(image, actor=None, to=Image.Status.AVAILABLE, action="image.available", data=data)
        transaction.on_commit(lambda: _image_became_available(image.pk))
    return image


def _image_became_available(image_id) -> None:
    image_available.send(sender=Image, image_id=image_id)


def image_validation_failed(*, image: Image, code: str, reason: str) -> Image:
    """A refused image keeps its row (so the provider reads why) but none of its bytes."""
    with transaction.atomic():
        current = Image.objects.select_for_update().filter(pk=image.pk).first()
        if current is None or current.status not in (Image.Status.VALIDATING, Image.Status.IMPORTING):
            return current or image  # deleted or decided meanwhile
        image = current
        image.failure_code, image.failure_reason, image.stored_size = code, reason, 0
        _set_status(
            image,
            actor=None,
            to=Image.Status.FAILED,
            action="image.validation_failed",
            reason=reason,
            data={"code": code},
        )
    # Only once the row says failed: a duplicate run of a job must never remove an available image's bytes.
    get_storage().delete(image.storage_key)
    return image


@transaction.atomic
def image_copy_start(*, actor: User, image: Image, region_code: str) -> Image:
    """Create the copy in the target region (importing) and queue the copy job."""
    if image.status != Image.Status.AVAILABLE:
        raise Conflict(
            _("Only an available image can be copied; this one is %(status)s.")
            % {"status": image.get_status_display()},
            code="not_available",
        )
    region = Region.objects.filter(code=region_code, is_active=True).first() if region_code else None
    if region is None:
        raise RuleViolations(
            [Violation("region", "unknown" if region_code else "required", _("Choose an active region to copy to."))]
        )
    if region.pk == image.region_id:
        raise RuleViolations(
            [Violation("region", "same_region", _("The image is already in %(region)s.") % {"region": region.code})]
        )
    organization = Organization.objects.select_for_update().get(pk=image.organization_id)
    if organization_storage_used(organization) + image.stored_size > organization.image_quota:
        raise _quota_error(organization, image.stored_size)
    copy = Image.objects.create(
        organization=organization,
        region=region,
        name=image.name,
        description=image.description,
        os_hint=image.os_hint,
        disk_format=image.disk_format,
        source_image=image,
        created_by=actor,
        stored_size=image.stored_size,
    )
    audit_record(
        actor=actor,
        target=copy,
        action="image.copy_start",
        to_status=copy.status,
        data={"source": str(image.pk), "from_region": image.region.code},
    )
    transaction.on_commit(lambda: _enqueue_copy(copy.pk))
    return copy


def _enqueue_copy(image_id) -> None:
    from shelf.images.tasks import copy_image

    copy_image.enqueue(str(image_id))


def image_copy_finish(*, copy: Image) -> Image:
    """Stream the source object into the copy's key, verify the checksum, then validate like an upload."""
    copy = Image.objects.select_related("source_image", "region").get(pk=copy.pk)
    if copy.status != Image.Status.IMPORTING:
        return copy
    source = copy.source_image
    if source is None or source.status != Image.Status.AVAILABLE:
        return image_validation_failed(
            image=copy, code="source_gone", reason=_("The source image was deleted before the copy finished.")
        )
    storage = get_storage()
    hasher = ResumableSha256()
    heartbeat = time.monotonic()

    def chunks():
        nonlocal heartbeat
        with storage.open(source.storage_key) as fh:
            while data := fh.read(READ_SIZE):
                hasher.update(data)
                yield data
                if time.monotonic() - heartbeat > HEARTBEAT_SECONDS:
                    # A long copy shows it is alive, so it is never taken for one a dead worker left behind.
                    Image.objects.filter(pk=copy.pk).update(updated_at=timezone.now())
                    heartbeat = time.monotonic()

    try:
        written = storage.write(copy.storage_key, chunks())
    except FileNotFoundError:
        return image_validation_failed(
            image=copy, code="source_gone", reason=_("The source image was deleted before the copy finished.")
        )
    digest = hasher.hexdigest()
    if digest != source.sha256:
        return image_validation_failed(
            image=copy,
            code="checksum_mismatch",
            reason=_("The copy's checksum differs from the source image; copy it again."),
        )
    with transaction.atomic():
        current = Image.objects.select_for_update().filter(pk=copy.pk).first()
        if current is None or current.status != Image.Status.IMPORTING:
            # Deleted while its bytes were being copied: they must not stay behind (and saving the old
            # instance would have inserted the deleted row again).
            storage.delete(copy.storage_key)
            return current or copy
        current.sha256, current.stored_size = digest, written
        _set_status(
            current, actor=None, to=Image.Status.VALIDATING, action="image.copy_complete", data={"sha256": digest}
        )
    return current


def image_delete(*, actor: User, image: Image) -> None:
    """Delete an image and its bytes; refused while a product sells it."""
    key = image.storage_key  # taken first: Model.delete() sets the instance's pk to None
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image.pk)
        if image.is_base:
            raise Conflict(
                _("This image is published as a base image; an operator must unpublish it first."), code="base_image"
            )
        audit_record(
            actor=actor,
            target=image,
            action="image.delete",
            from_status=image.status,
            data={"name": image.name, "region": image.region.code},
        )
        try:
            image.delete()
        except ProtectedError as exc:
            # Deliveries of product revisions protect the image: name each product once, by its latest name.
            names = sorted(
                {str(getattr(getattr(obj, "revision", None), "product", obj)) for obj in exc.protected_objects}
            )
            raise Conflict(
                _("This image is delivered by product(s) %(names)s; remove it from them first.")
                % {"names": ", ".join(f"“{n}”" for n in names)},
                code="in_use",
            ) from exc
    storage = get_storage()
    # Under the staging lock: a chunk of this image being written right now finishes first, and any later
    # one finds the image gone, so no staged bytes can reappear after the delete.
    with storage.staging_lock(key):
        storage.staging_delete(key)
        storage.delete(key)


# --- base images (docs/adr/0007) ----------------------------------------------------------------------------------


@transaction.atomic
def base_image_publish(*, actor: User, image: Image) -> Image:
    """An operator publishes one of the marketplace organisation's available images as a base image (公共镜像):
    every provider may then launch build servers from it. Publishing twice changes nothing."""
    image = Image.objects.select_for_update().select_related("organization", "region").get(pk=image.pk)
    if image.organization.slug != settings.SHELF_BASE_IMAGE_ORGANIZATION:
        # A provider's own image never becomes public: its content is that provider's.
        raise Conflict(
            _("Only images of the marketplace's own organisation (%(slug)s) can be published as base images.")
            % {"slug": settings.SHELF_BASE_IMAGE_ORGANIZATION},
            code="not_marketplace_image",
        )
    if image.status != Image.Status.AVAILABLE:
        raise Conflict(
            _("Only an available image can be published; this one is %(status)s.")
            % {"status": image.get_status_display()},
            code="not_available",
        )
    if image.is_base:
        return image
    image.is_base, image.base_published_at = True, timezone.now()
    image.save(update_fields=["is_base", "base_published_at", "updated_at"])
    audit_record(actor=actor, target=image, action="image.base_publish", data={"region": image.region.code})
    return image


@transaction.atomic
def base_image_unpublish(*, actor: User, image: Image) -> Image:
    """No new build servers from it; build servers already running from it keep their disks."""
    image = Image.objects.select_for_update().select_related("region").get(pk=image.pk)
    if not image.is_base:
        return image
    image.is_base, image.base_published_at = False, None
    image.save(update_fields=["is_base", "base_published_at", "updated_at"])
    audit_record(actor=actor, target=image, action="image.base_unpublish", data={"region": image.region.code})
    return image


# --- images captured from build servers -----------------------------------------------------------------------------


@transaction.atomic
def image_capture_start(
    *,
    actor: User,
    organization: Organization,
    region: Region,
    name: str,
    captured_from: str,
    estimated_size: int,
    description: str = "",
    os_hint: str = "",
    data: dict | None = None,
) -> Image:
    """An importing qcow2 image whose bytes a build server's disk will give (compute's capture job); the estimate
    is reserved against the quota now, the real size is checked when the bytes are stored."""
    raise_if(
        rules.import_violations(
            name=name,
            disk_format=Image.Format.QCOW2,
            region_code=region.code,
            region_exists=True,
            size=None,
            sha256="",
            description=description,
            os_hint=os_hint,
        )
    )
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if organization_storage_used(organization) + estimated_size > organization.image_quota:
        raise _quota_error(organization, estimated_size)
    image = Image.objects.create(
        organization=organization,
        region=region,
        name=name.strip(),
        description=(description or "").strip(),
        os_hint=(os_hint or "").strip(),
        disk_format=Image.Format.QCOW2,
        captured_from=captured_from,
        stored_size=estimated_size,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        target=image,
        action="image.capture_start",
        to_status=image.status,
        data={"build_server": captured_from, "region": region.code, **(data or {})},
    )
    return image


def image_capture_finish(*, image: Image, path: Path) -> Image:
    """Store the flattened disk the capture wrote at `path` as the image's object, then queue the very validation
    an upload gets (and after it, the scan): captured images are trusted no more than uploaded ones."""
    image = Image.objects.filter(pk=image.pk).first() or image
    if image.status != Image.Status.IMPORTING or not image.captured_from:
        return image  # decided meanwhile, or a duplicate job
    storage = get_storage()
    hasher = ResumableSha256()

    def chunks() -> Iterator[bytes]:
        with open(path, "rb") as fh:
            while data := fh.read(READ_SIZE):
                hasher.update(data)
                yield data

    written = storage.write(image.storage_key, chunks())
    digest = hasher.hexdigest()
    with transaction.atomic():
        organization = Organization.objects.select_for_update().get(pk=image.organization_id)
        current = Image.objects.select_for_update().filter(pk=image.pk).first()
        if current is None or current.status != Image.Status.IMPORTING:
            storage.delete(image.storage_key)  # deleted or failed while the bytes were stored
            return current or image
        if organization_storage_used(organization, exclude=current) + written <= organization.image_quota:
            current.sha256, current.stored_size = digest, written
            _set_status(
                current,
                actor=None,
                to=Image.Status.VALIDATING,
                action="image.capture_complete",
                data={"sha256": digest, "bytes": written},
            )
            transaction.on_commit(lambda: _enqueue_validation(current.pk))
            return current
    return image_validation_failed(
        image=current,
        code="quota_exceeded",
        reason=_("The captured disk (%(size)s) does not fit in the organisation's image storage quota.")
        % {"size": human_bytes(written)},
    )
