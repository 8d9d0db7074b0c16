from datetime import datetime
from typing import ClassVar

from ninja import Schema

from shelf.products.selectors import business_days_left, due_label
from shelf.text import InputSchema


class ReviewOut(Schema):
    id: int
    product: str
    revision: int
    name: str
    provider: str
    category: str | None
    status: str
    submitted_at: datetime | None
    due_at: datetime | None
    business_days_left: int | None
    due: str
    claimed_by: str | None

    # Built from a submitted revision.
    @staticmethod
    def resolve_id(revision) -> int:
        return revision.pk

    @staticmethod
    def resolve_product(revision) -> str:
        return str(revision.product_id)

    @staticmethod
    def resolve_revision(revision) -> int:
        return revision.number

    @staticmethod
    def resolve_provider(revision) -> str:
        return revision.product.organization.slug

    @staticmethod
    def resolve_category(revision) -> str | None:
        return revision.category.slug if revision.category_id else None

    @staticmethod
    def resolve_business_days_left(revision) -> int | None:
        return business_days_left(revision)

    @staticmethod
    def resolve_due(revision) -> str:
        return due_label(revision)

    @staticmethod
    def resolve_claimed_by(revision) -> str | None:
        claim = getattr(revision, "claim", None)
        return claim.operator.username if claim else None


class ApproveIn(InputSchema):
    checklist: dict[str, bool] | None = None
    # Why the product may be listed although an image's boot check did not pass (kept in the audit trail).
    boot_check_exception: str | None = None


class RejectIn(InputSchema):
    required_fields: ClassVar = ("reasons",)

    reasons: dict[str, str] | None = None
    checklist: dict[str, bool] | None = None
