from datetime import datetime
from typing import ClassVar

from ninja import Schema

from shelf.text import InputSchema


class RegionOut(Schema):
    code: str
    name_zh: str
    name_en: str


class CategoryLeafOut(Schema):
    slug: str
    name_zh: str
    name_en: str


class CategoryOut(CategoryLeafOut):
    # A top-level category from `category_tree()`, whose active leaves are prefetched as `leaves`.
    children: list[CategoryLeafOut]

    @staticmethod
    def resolve_children(category) -> list:
        return category.leaves


class AgreementIn(InputSchema):
    required_fields: ClassVar = ("title", "body")

    title: str | None = None
    body: str | None = None
    organization: str | None = None


class AgreementOut(Schema):
    id: int
    title: str
    body: str
    is_template: bool
    organization: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_organization(obj) -> str | None:
        return obj.organization.slug if obj.organization_id else None
