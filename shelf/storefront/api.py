"""The public catalog: anonymous allowed (a token, when sent, changes nothing), listed products only."""

from django.http import Http404
from ninja import Router, Status
from ninja.decorators import decorate_view

from shelf.products.downloads import document_response, picture_response
from shelf.storefront.cache import cached_answer
from shelf.storefront.schemas import CatalogItemOut, CatalogPageOut, CatalogProductOut, FacetsOut, FeaturedOut
from shelf.storefront.selectors import (
    catalog_document,
    catalog_featured,
    catalog_picture,
    catalog_product,
    catalog_search,
)
from shelf.storefront.services import featured_add, featured_remove

router = Router(tags=["storefront"])


@router.get("/catalog", response=CatalogPageOut, auth=None)
@decorate_view(cached_answer)
def catalog_list(
    request,
    q: str | None = None,
    category: str | None = None,
    tag: str | None = None,
    software: str | None = None,
    billing_mode: str | None = None,
    region: str | None = None,
    price_min: str | None = None,
    price_max: str | None = None,
    sort: str | None = None,
    cursor: str | None = None,
    limit: str | None = None,
):
    """Search listed products. `q`: Chinese words and English word prefixes, every word must match.
    `category` (a slug) includes its subcategories; `price_min` / `price_max` compare the monthly price;
    `sort`: relevance (newest without `q`), newest, price_asc, price_desc. Pass `next_cursor` back as
    `cursor` for the next page, with the same filters."""
    page = catalog_search(
        q=q,
        category=category,
        tag=tag,
        software=software,
        billing_mode=billing_mode,
        region=region,
        price_min=price_min,
        price_max=price_max,
        sort=sort,
        cursor=cursor,
        limit=20 if limit in (None, "") else limit,
    )
    return {
        "items": page.items,
        "count": page.count,
        "count_capped": page.count_capped,
        "next_cursor": page.next_cursor,
        "facets": FacetsOut(**{k: [vars(f) for f in v] for k, v in page.facets.items()}),
    }


def _listed(product_id):
    revision = catalog_product(product_id=product_id)
    if revision is None:
        raise Http404
    return revision


@router.get("/catalog/{uuid:product_id}", response=CatalogProductOut, auth=None)
@decorate_view(cached_answer)
def catalog_product_detail(request, product_id):
    """A listed product's public fields; any other product is 404, for everyone."""
    return _listed(product_id)


@router.get(
    "/catalog/{uuid:product_id}/pictures/{int:picture_id}", response={200: None}, auth=None, url_name="catalog_picture"
)
def catalog_picture_download(request, product_id, picture_id: int):
    picture = catalog_picture(product_id=product_id, picture_id=picture_id)
    if picture is None:
        raise Http404
    return picture_response(picture)


@router.get("/catalog/{uuid:product_id}/document", response={200: None}, auth=None, url_name="catalog_document")
def catalog_document_download(request, product_id):
    document = catalog_document(product_id=product_id)
    if document is None:
        raise Http404
    return document_response(document)


@router.get("/featured", response=list[CatalogItemOut], auth=None)
def featured_list(request):
    """The products featured on the home page that are on sale, in the operators' order."""
    return catalog_featured()


@router.put("/featured/{uuid:product_id}", response=FeaturedOut)
def featured_put(request, product_id):
    """Operators: feature a listed product on the home page (after those featured already; again: no change)."""
    return featured_add(actor=request.user, product_id=product_id)


@router.delete("/featured/{uuid:product_id}", response={204: None})
def featured_delete(request, product_id):
    """Operators: take a product off the home page."""
    if not featured_remove(actor=request.user, product_id=product_id):
        raise Http404
    return Status(204, None)
