from datetime import datetime
from typing import Any
from uuid import UUID

from django.urls import reverse
from ninja import Schema
from pydantic import model_validator
from pydantic_core import PydanticCustomError

from shelf.products.selectors import listed_revision_number
from shelf.text import InputSchema


class AgreementDraftIn(InputSchema):
    title: str | None = None
    body: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value: Any) -> Any:
        # ninja's schemas read attributes of whatever they are given (for outputs), so `false` or "x" would pass as
        # an empty draft (or one titled by str.title); a new agreement is a JSON object.
        if not isinstance(getattr(value, "_obj", value), dict):  # ninja hands the input over in a DjangoGetter
            raise PydanticCustomError("object_expected", "A new agreement is an object with a title and a body.")
        return value


class ProductFieldsIn(InputSchema):
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
    sha256: str  # of the stored picture (re-encoded pixels)
    upload_sha256: str  # of the file that was uploaded: what a client compares to know it is attached

    @staticmethod
    def resolve_url(picture) -> str:
        return reverse(
            "api:picture_download", kwargs={"product_id": picture.revision.product_id, "picture_id": picture.id}
        )


class DocumentOut(Schema):
    filename: str
    kind: str
    size: int
    sha256: str
    url: str

    @staticmethod
    def resolve_url(document) -> str:
        # The working revision's document; a given revision's is at ?revision=N.
        return reverse("api:document_download", kwargs={"product_id": document.revision.product_id})


def _price(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def _product(revision, context):
    """The product a ProductOut shows: the one the endpoint holds (given as context) or the revision's."""
    return (context or {}).get("product") or revision.product


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

    # Built from a revision (the working one, as a rule), with its product as context {"product": ...}:
    # the revision holds the content, the product who owns it and which revision is on sale.
    @staticmethod
    def resolve_id(revision, context) -> UUID:
        return _product(revision, context).id

    @staticmethod
    def resolve_organization(revision, context) -> str:
        return _product(revision, context).organization.slug

    @staticmethod
    def resolve_revision(revision) -> int:
        return revision.number

    @staticmethod
    def resolve_category(revision) -> str | None:
        return revision.category.slug if revision.category_id else None

    @staticmethod
    def resolve_agreement(revision) -> int | None:
        return revision.agreement_id

    @staticmethod
    def resolve_deliveries(revision) -> dict:
        return {d.region.code: d.image_id for d in revision.deliveries.all()}

    # A price that could not be stored is shown as typed, so the provider sees what to fix.
    @staticmethod
    def resolve_price_yearly(revision) -> str | None:
        return _price(revision.price_yearly) or (revision.price_input or {}).get("price_yearly")

    @staticmethod
    def resolve_price_monthly(revision) -> str | None:
        return _price(revision.price_monthly) or (revision.price_input or {}).get("price_monthly")

    @staticmethod
    def resolve_price_hourly(revision) -> str | None:
        return _price(revision.price_hourly) or (revision.price_input or {}).get("price_hourly")

    @staticmethod
    def resolve_document(revision):
        return revision.document_or_none

    @staticmethod
    def resolve_rejection_reasons(revision) -> dict:
        return revision.rejection_reasons or {}

    @staticmethod
    def resolve_listed_revision(revision, context) -> int | None:
        return listed_revision_number(_product(revision, context))


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

    @staticmethod
    def resolve_actor(event) -> str:
        return event.actor_name


class DelistIn(InputSchema):
    reason: str | None = None


class RevisionOut(Schema):
    number: int
    status: str
    name: str
    submitted_at: datetime | None
    decided_at: datetime | None
    rejection_reasons: dict[str, str]

    @staticmethod
    def resolve_rejection_reasons(revision) -> dict:
        return revision.rejection_reasons or {}
