from datetime import datetime
from uuid import UUID

from ninja import Schema


class AgreementDraftIn(Schema):
    title: str | None = None
    body: str | None = None


class ProductFieldsIn(Schema):
    """Any subset of the wizard's fields; absent fields are left as they are. Prices are decimal strings."""

    access_type: str | None = None
    category: str | None = None
    name: str | None = None
    tags: list[str] | None = None
    software: list[str] | None = None
    version: str | None = None
    agreement: int | None = None
    new_agreement: AgreementDraftIn | None = None
    deliveries: dict[str, str | None] | None = None
    billing_mode: str | None = None
    # Decimal strings like "12.50"; numbers are accepted only to say clearly why floats are refused.
    price_yearly: str | int | float | None = None
    price_monthly: str | int | float | None = None
    price_hourly: str | int | float | None = None
    currency: str | None = None
    summary: str | None = None
    details: str | None = None


class ProductCreateIn(ProductFieldsIn):
    organization: str | None = None


class ProductPatchIn(ProductFieldsIn):
    lock_version: int | None = None


class PictureOut(Schema):
    id: int
    url: str
    width: int
    height: int
    size: int
    content_type: str
    sha256: str


class DocumentOut(Schema):
    filename: str
    kind: str
    size: int
    sha256: str
    url: str


class ProductOut(Schema):
    id: UUID
    organization: str
    revision: int
    status: str
    lock_version: int
    wizard_step: str
    access_type: str
    category: str | None
    name: str
    tags: list[str]
    software: list[str]
    version: str
    agreement: int | None
    deliveries: dict[str, UUID]
    billing_mode: str
    price_yearly: str | None
    price_monthly: str | None
    price_hourly: str | None
    currency: str
    summary: str
    details: str
    details_html: str
    pictures: list[PictureOut]
    document: DocumentOut | None
    submitted_at: datetime | None
    due_at: datetime | None
    rejection_reasons: dict[str, str]
    listed_revision: int | None


class ValidOut(Schema):
    valid: bool


class AuditOut(Schema):
    created_at: datetime
    actor: str
    action: str
    from_status: str
    to_status: str
    reason: str
    data: dict


class DelistIn(Schema):
    reason: str | None = None


class RevisionOut(Schema):
    number: int
    status: str
    name: str
    submitted_at: datetime | None
    decided_at: datetime | None
    rejection_reasons: dict[str, str]
