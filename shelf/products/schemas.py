from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from django.urls import reverse
from ninja import Schema

from shelf.products import rules
from shelf.products.models import Revision
from shelf.products.selectors import listed_revision_number
from shelf.text import InputSchema


class AgreementDraftIn(InputSchema):
    title: str | None = None
    body: str | None = None


def _text_rules(field: str, submit: dict) -> dict:
    """A draft stores text up to its storage limit (beyond it: 422); `x-submit` is what submitting requires."""
    return {
        "maxLength": rules.STORAGE_LIMITS[field],
        "x-submit": submit,
        "description": f"Drafts keep up to {rules.STORAGE_LIMITS[field]} characters; submitting requires "
        + ", ".join(f"{k} {v}" for k, v in submit.items())
        + ".",
    }


def _list_rules(max_length: int) -> dict:
    submit = {"minItems": rules.TAGS_MIN, "maxItems": rules.TAGS_MAX, "items": {"maxLength": max_length}}
    return {
        "maxItems": rules.STORAGE_LIMITS["tags"],
        "items": {"maxLength": rules.STORAGE_LIMITS["tag"]},
        "x-submit": submit,
        "description": f"Drafts keep up to {rules.STORAGE_LIMITS['tags']} entries of up to "
        f"{rules.STORAGE_LIMITS['tag']} characters; submitting requires {rules.TAGS_MIN} to {rules.TAGS_MAX} "
        f"entries of at most {max_length} characters.",
    }


class ProductFieldsIn(InputSchema):
    """Any subset of the wizard's fields; absent fields are left as they are. Prices are decimal strings.

    The seed's limits are the `x-submit` of each field: a draft keeps what breaks them (the wizard shows the
    rule), submitting refuses it.
    """

    field_rules: ClassVar = {
        "access_type": {"enum": Revision.AccessType.values},
        "billing_mode": {"enum": ["", *Revision.BillingMode.values]},
        "name": _text_rules("name", {"minLength": 1, "maxLength": rules.NAME_MAX}),
        "version": _text_rules("version", {"pattern": rules.VERSION_RE.pattern}),
        "summary": _text_rules("summary", {"minLength": 1, "maxLength": rules.SUMMARY_MAX}),
        "details": _text_rules("details", {"minLength": 1, "maxLength": rules.DETAILS_MAX}),
        "tags": _list_rules(rules.TAG_MAX_LENGTH),
        "software": _list_rules(rules.SOFTWARE_MAX_LENGTH),
        "currency": {"x-submit": {"enum": list(rules.CURRENCIES)}},
        "ports": {
            "maxItems": rules.PORTS_MAX + 1,
            "items": {"type": "integer", "minimum": 1, "maximum": 65535},
            "description": f"TCP ports the product's servers need reachable besides SSH (22, always forwarded): "
            f"at most {rules.PORTS_MAX}, none twice. Each is forwarded to a port shown on the buyer's instance.",
        },
    }

    access_type: str | None = None
    category: str | None = None
    name: str | None = None
    tags: list[str] | None = None
    software: list[str] | None = None
    version: str | None = None
    agreement: int | None = None
    new_agreement: AgreementDraftIn | None = None
    deliveries: dict[str, str | None] | None = None
    # Anything a client sends reaches the rule, which names the entry that is no port (true is not port 1).
    ports: list[Any] | None = None
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
    required_fields: ClassVar = ("lock_version",)

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
    ports: list[int]
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
    required_fields: ClassVar = ("reason",)

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
