from datetime import datetime
from uuid import UUID

from django.urls import reverse
from ninja import Schema
from pydantic import Field

from shelf.catalog.models import Category
from shelf.products import rules

# A listed revision passed the wizard's submit rules, so the seed's limits hold for everything the catalog shows.
# Documented, not re-validated on the way out: the rules module enforced them when it was submitted.
NAME = Field(json_schema_extra={"minLength": 1, "maxLength": rules.NAME_MAX})
SUMMARY = Field(json_schema_extra={"minLength": 1, "maxLength": rules.SUMMARY_MAX})


def _entries(max_length: int):
    limits = {
        "minItems": rules.TAGS_MIN,
        "maxItems": rules.TAGS_MAX,
        "items": {"type": "string", "maxLength": max_length},
    }
    return Field(json_schema_extra=limits)


def _price(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def _category_path(category: Category) -> list["CategoryRefOut"]:
    chain = [category.parent, category] if category.parent_id else [category]
    return [CategoryRefOut(slug=c.slug, name=c.display_name) for c in chain]


class CategoryRefOut(Schema):
    slug: str
    name: str


class PricesOut(Schema):
    """Decimal strings in `currency`; only the billing mode's own prices are set."""

    billing_mode: str
    currency: str
    price_yearly: str | None
    price_monthly: str | None
    price_hourly: str | None
    monthly: str  # what a month costs: the monthly price (prepaid) or 720 hours (postpaid); sorts and filters


class CatalogItemOut(Schema):
    """What a list card shows."""

    id: UUID
    name: str = NAME
    summary: str = SUMMARY
    version: str
    provider: str
    category: list[CategoryRefOut]
    tags: list[str] = _entries(rules.TAG_MAX_LENGTH)
    software: list[str] = _entries(rules.SOFTWARE_MAX_LENGTH)
    regions: list[str]
    prices: PricesOut
    picture_url: str | None
    url: str
    listed_at: datetime

    @staticmethod
    def resolve_id(entry) -> UUID:
        return entry.product_id

    @staticmethod
    def resolve_provider(entry) -> str:
        return entry.provider_name

    @staticmethod
    def resolve_category(entry) -> list[CategoryRefOut]:
        chain = [entry.top_category] if entry.top_category_id != entry.category_id else []
        return [CategoryRefOut(slug=c.slug, name=c.display_name) for c in [*chain, entry.category]]

    @staticmethod
    def resolve_prices(entry) -> PricesOut:
        return PricesOut(
            billing_mode=entry.billing_mode,
            currency=entry.currency,
            price_yearly=_price(entry.price_yearly),
            price_monthly=_price(entry.price_monthly),
            price_hourly=_price(entry.price_hourly),
            monthly=_price(entry.price_sort),
        )

    @staticmethod
    def resolve_picture_url(entry) -> str | None:
        if entry.picture_id is None:
            return None
        return reverse("api:catalog_picture", kwargs={"product_id": entry.product_id, "picture_id": entry.picture_id})

    @staticmethod
    def resolve_url(entry) -> str:
        return reverse("api:catalog_product_detail", kwargs={"product_id": entry.product_id})


class FacetOut(Schema):
    value: str
    name: str
    count: int
    parent: str | None = None


class FacetsOut(Schema):
    category: list[FacetOut]
    billing_mode: list[FacetOut]
    region: list[FacetOut]


class CatalogPageOut(Schema):
    """One page. `count` stops at 1000 (`count_capped` says "1000+"); `next_cursor` is null on the last page.
    When `count_capped`, the facet counts are counted over the first 1001 matches only: lower bounds."""

    items: list[CatalogItemOut]
    count: int
    count_capped: bool
    next_cursor: str | None
    facets: FacetsOut


class RegionRefOut(Schema):
    code: str
    name: str


class CatalogPictureOut(Schema):
    url: str
    width: int
    height: int


class CatalogDocumentOut(Schema):
    filename: str
    kind: str
    size: int
    url: str


class CatalogAgreementOut(Schema):
    title: str
    text: str


class CatalogProductOut(Schema):
    """The listed revision's public fields: what the product page shows."""

    id: UUID
    name: str = NAME
    summary: str = SUMMARY
    details_html: str  # sanitized when saved
    version: str
    provider: str
    category: list[CategoryRefOut]
    tags: list[str] = _entries(rules.TAG_MAX_LENGTH)
    software: list[str] = _entries(rules.SOFTWARE_MAX_LENGTH)
    regions: list[RegionRefOut]
    prices: PricesOut
    pictures: list[CatalogPictureOut]
    document: CatalogDocumentOut | None
    agreement: CatalogAgreementOut | None
    listed_at: datetime | None

    @staticmethod
    def resolve_id(revision) -> UUID:
        return revision.product_id

    @staticmethod
    def resolve_provider(revision) -> str:
        return revision.product.organization.name

    @staticmethod
    def resolve_category(revision) -> list[CategoryRefOut]:
        return _category_path(revision.category) if revision.category_id else []

    @staticmethod
    def resolve_regions(revision) -> list[RegionRefOut]:
        return [RegionRefOut(code=d.region.code, name=d.region.display_name) for d in revision.deliveries.all()]

    @staticmethod
    def resolve_prices(revision) -> PricesOut:
        from shelf.storefront.services import monthly_price

        monthly = monthly_price(
            billing_mode=revision.billing_mode,
            price_monthly=revision.price_monthly,
            price_yearly=revision.price_yearly,
            price_hourly=revision.price_hourly,
        )
        prepaid = revision.billing_mode == "prepaid"
        return PricesOut(
            billing_mode=revision.billing_mode,
            currency=revision.currency,
            price_yearly=_price(revision.price_yearly) if prepaid else None,
            price_monthly=_price(revision.price_monthly) if prepaid else None,
            price_hourly=None if prepaid else _price(revision.price_hourly),
            monthly=_price(monthly),
        )

    @staticmethod
    def resolve_pictures(revision) -> list[CatalogPictureOut]:
        return [
            CatalogPictureOut(
                url=reverse("api:catalog_picture", kwargs={"product_id": revision.product_id, "picture_id": p.pk}),
                width=p.width,
                height=p.height,
            )
            for p in revision.pictures.all()
        ]

    @staticmethod
    def resolve_document(revision) -> CatalogDocumentOut | None:
        document = revision.document_or_none
        if document is None:
            return None
        return CatalogDocumentOut(
            filename=document.filename,
            kind=document.kind,
            size=document.size,
            url=reverse("api:catalog_document", kwargs={"product_id": revision.product_id}),
        )

    @staticmethod
    def resolve_agreement(revision) -> CatalogAgreementOut | None:
        if revision.agreement_id is None:
            return None
        return CatalogAgreementOut(title=revision.agreement.title, text=revision.agreement.body)

    @staticmethod
    def resolve_listed_at(revision) -> datetime | None:
        return revision.decided_at


class FeaturedOut(Schema):
    product_id: UUID
    position: int
    featured_at: datetime
