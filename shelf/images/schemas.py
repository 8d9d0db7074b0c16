from datetime import datetime
from uuid import UUID

from ninja import Schema


class ImageIn(Schema):
    name: str | None = None
    region: str | None = None
    format: str | None = None
    size: int | None = None
    sha256: str | None = None
    description: str | None = None
    os_hint: str | None = None
    organization: str | None = None


class UploadOut(Schema):
    url: str
    received: int
    size: int | None
    chunk_max: int


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


class CompleteIn(Schema):
    sha256: str | None = None


class CopyIn(Schema):
    region: str | None = None
