from datetime import datetime
from typing import ClassVar
from uuid import UUID

from django.conf import settings
from django.urls import reverse
from ninja import Schema

from shelf.images.models import Image
from shelf.text import InputSchema


class ImageIn(InputSchema):
    required_fields: ClassVar = ("name", "region", "format")
    field_rules: ClassVar = {"format": {"enum": Image.Format.values}}

    name: str | None = None
    region: str | None = None
    format: str | None = None
    size: int | None = None
    sha256: str | None = None
    description: str | None = None
    os_hint: str | None = None
    organization: str | None = None


class UploadOut(Schema):
    # Built from an open upload session (ImageUpload): where to send the bytes, how many the server holds.
    url: str
    received: int
    size: int | None
    chunk_max: int

    @staticmethod
    def resolve_url(upload) -> str:
        return reverse("api:image_upload", kwargs={"image_id": upload.image_id})

    @staticmethod
    def resolve_size(upload) -> int | None:
        return upload.expected_size

    @staticmethod
    def resolve_chunk_max(upload) -> int:
        return settings.SHELF_UPLOAD_CHUNK_MAX


class ImageOut(Schema):
    id: UUID
    name: str
    organization: str
    region: str
    format: str
    status: str
    description: str
    os_hint: str
    virtual_size: int | None
    stored_size: int
    sha256: str
    failure_code: str
    failure_reason: str
    source_image: UUID | None
    created_at: datetime
    available_at: datetime | None
    upload: UploadOut | None = None

    @staticmethod
    def resolve_organization(image) -> str:
        return image.organization.slug

    @staticmethod
    def resolve_region(image) -> str:
        return image.region.code

    @staticmethod
    def resolve_format(image) -> str:
        return image.disk_format

    @staticmethod
    def resolve_source_image(image) -> UUID | None:
        return image.source_image_id

    @staticmethod
    def resolve_upload(image):
        """Only an importing image has an upload session to show."""
        if image.status != Image.Status.IMPORTING:
            return None
        return getattr(image, "upload", None)


class CompleteIn(InputSchema):
    sha256: str | None = None


class CopyIn(InputSchema):
    required_fields: ClassVar = ("region",)

    region: str | None = None


class BaseImageOut(Schema):
    """A published base image (公共镜像): providers launch build servers from it (POST /build-servers)."""

    id: UUID
    name: str
    region: str
    format: str
    description: str
    os_hint: str
    virtual_size: int | None
    stored_size: int
    sha256: str
    published: bool
    published_at: datetime | None

    @staticmethod
    def resolve_region(image) -> str:
        return image.region.code

    @staticmethod
    def resolve_format(image) -> str:
        return image.disk_format

    @staticmethod
    def resolve_published(image) -> bool:
        return image.is_base

    @staticmethod
    def resolve_published_at(image) -> datetime | None:
        return image.base_published_at
