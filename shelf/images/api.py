"""Image import over HTTP. The upload protocol (also in docs/images.md):

1. POST /images {name, region, format, size?, sha256?} → 201 with `upload.url`
2. PUT upload.url with `Content-Range: bytes START-END/TOTAL` (TOTAL may be *) and the raw bytes,
   in order, each at most `upload.chunk_max` bytes. A repeated chunk is acknowledged, not rewritten.
3. GET upload.url → `received`: after an interruption, continue from that byte.
4. POST upload.url + /complete {sha256} → the image is `validating`; poll GET /images/{id}.
"""

import re

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Status

from shelf.accounts.access import require_operator
from shelf.accounts.selectors import organization_for_write
from shelf.errors import RuleViolations, TooLarge, Violation
from shelf.images.models import Image
from shelf.images.schemas import BaseImageOut, CompleteIn, CopyIn, ImageIn, ImageOut, UploadOut
from shelf.images.selectors import base_image_candidates, base_images_for, images_for, images_owned_by
from shelf.images.services import (
    base_image_publish,
    base_image_unpublish,
    image_copy_start,
    image_delete,
    image_import_cancel,
    image_import_complete,
    image_import_start,
    image_upload_chunk,
)

router = Router(tags=["images"])
DISCARD_READ = 1024 * 1024
CONTENT_RANGE_RE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def _owned(request, image_id) -> Image:
    return get_object_or_404(images_owned_by(request.user).select_related("upload"), pk=image_id)


@router.post("/images", response={201: ImageOut})
def image_create(request, payload: ImageIn):
    organization = organization_for_write(request.user, payload.organization)  # 404 unless a provider
    image = image_import_start(
        actor=request.user,
        organization=organization,
        name=payload.name,
        region_code=payload.region,
        disk_format=payload.format,
        size=payload.size,
        sha256=payload.sha256 or "",
        description=payload.description or "",
        os_hint=payload.os_hint or "",
    )
    return Status(201, image)


@router.get("/images", response=list[ImageOut])
def image_list(request, region: str | None = None, status: str | None = None):
    images = images_for(request.user).select_related("upload")
    if region:
        images = images.filter(region__code=region)
    if status:
        images = images.filter(status=status)
    return images


@router.get("/images/{uuid:image_id}", response=ImageOut)
def image_detail(request, image_id):
    return get_object_or_404(images_for(request.user).select_related("upload"), pk=image_id)


@router.delete("/images/{uuid:image_id}", response={204: None})
def image_remove(request, image_id):
    image_delete(actor=request.user, image=_owned(request, image_id))
    return Status(204, None)


@router.get("/images/{uuid:image_id}/upload", response=UploadOut, url_name="image_upload")
def upload_status(request, image_id):
    upload = getattr(_owned(request, image_id), "upload", None)
    if upload is None:
        raise Http404
    return upload


@router.put(
    "/images/{uuid:image_id}/upload",
    response=UploadOut,
    openapi_extra={
        "parameters": [
            {
                "in": "header",
                "name": "Content-Range",
                "required": True,
                "description": "The bytes this chunk holds, in order: `bytes START-END/TOTAL` (TOTAL may be `*`).",
                "schema": {"type": "string", "pattern": CONTENT_RANGE_RE.pattern},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        },
    },
)
def upload_chunk(request, image_id):
    """Send bytes START..END of the file, in order; the body is streamed to storage, never held in memory."""
    try:
        return _upload_chunk(request, image_id)
    finally:
        _discard_unread_body(request)


def _discard_unread_body(request) -> None:
    """Read what is left of a chunk the server answered early (a repeat, a gap, a refusal, a quota stop).

    gunicorn drains at most 64 KiB of an unread request body and otherwise drops the connection, without
    `Connection: close`, so the client either loses the answer or reuses a dead connection. So the rest is
    read off here, up to twice SHELF_UPLOAD_CHUNK_MAX: that also covers a chunk refused as too large (413
    `chunk_too_large`) by a client that misjudged the maximum. A body larger still is left alone and gunicorn
    closes that connection: reading gigabytes only to discard them would tie up a server thread.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if declared > 2 * settings.SHELF_UPLOAD_CHUNK_MAX:
        return
    try:
        while request.read(DISCARD_READ):
            pass
    except OSError:
        pass  # the client went away


def _upload_chunk(request, image_id):
    image = _owned(request, image_id)
    match = CONTENT_RANGE_RE.match(request.headers.get("Content-Range", ""))
    if not match:
        raise RuleViolations(
            [
                Violation(
                    "content_range",
                    "invalid",
                    _("Send a Content-Range header like “bytes 0-1048575/5368709120” (the total may be *)."),
                )
            ]
        )
    start, end = int(match[1]), int(match[2])
    total = None if match[3] == "*" else int(match[3])
    length = end - start + 1
    if end < start or (total is not None and end >= total):
        raise RuleViolations([Violation("content_range", "invalid", _("The Content-Range is not a valid byte range."))])
    if length > settings.SHELF_UPLOAD_CHUNK_MAX:
        raise TooLarge(
            _("A chunk is at most %(max)d bytes.") % {"max": settings.SHELF_UPLOAD_CHUNK_MAX},
            code="chunk_too_large",
            field="content_range",
        )
    if int(request.headers.get("Content-Length") or -1) != length:
        raise RuleViolations(
            [
                Violation(
                    "content_range", "length_mismatch", _("Content-Length must equal the size of the Content-Range.")
                )
            ]
        )
    image_upload_chunk(actor=request.user, image=image, start=start, length=length, total=total, body=request)
    image.refresh_from_db()
    return image.upload


@router.post("/images/{uuid:image_id}/upload/complete", response=ImageOut)
def upload_complete(request, image_id, payload: CompleteIn):
    return image_import_complete(actor=request.user, image=_owned(request, image_id), sha256=payload.sha256 or "")


@router.delete("/images/{uuid:image_id}/upload", response=ImageOut)
def upload_cancel(request, image_id):
    return image_import_cancel(actor=request.user, image=_owned(request, image_id))


@router.post("/images/{uuid:image_id}/copy", response={202: ImageOut})
def image_copy(request, image_id, payload: CopyIn):
    copy = image_copy_start(actor=request.user, image=_owned(request, image_id), region_code=payload.region or "")
    return Status(202, copy)


@router.get("/base-images", response=list[BaseImageOut])
def base_image_list(request, region: str | None = None):
    """Published base images (公共镜像) to launch build servers from; providers and operators."""
    images = base_images_for(request.user)
    if region:
        images = images.filter(region__code=region)
    return images


@router.get("/base-images/candidates", response=list[BaseImageOut])
def base_image_candidate_list(request):
    """Operators: the marketplace organisation's available images, published or not (SHELF_BASE_IMAGE_ORGANIZATION)."""
    require_operator(request.user)
    return base_image_candidates(request.user)


@router.post("/base-images/{uuid:image_id}/publish", response=BaseImageOut)
def base_image_publish_endpoint(request, image_id):
    """Operators: publish one of the marketplace organisation's images as a base image."""
    require_operator(request.user)
    image = get_object_or_404(images_for(request.user), pk=image_id)
    return base_image_publish(actor=request.user, image=image)


@router.post("/base-images/{uuid:image_id}/unpublish", response=BaseImageOut)
def base_image_unpublish_endpoint(request, image_id):
    """Operators: no new build servers from it; those running keep their disks."""
    require_operator(request.user)
    image = get_object_or_404(images_for(request.user), pk=image_id)
    return base_image_unpublish(actor=request.user, image=image)
