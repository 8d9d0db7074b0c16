"""The public storefront: the marketplace front, the catalog list and the product page, plus the public downloads of
a listed product (pictures, document, SBOM). Views parse, call one selector and render; only listed products exist
here, everything else is a 404 for everyone (its organisation and operators keep their console previews).
"""

import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from shelf.accounts.access import operator_required
from shelf.catalog.selectors import category_tree, regions_active
from shelf.errors import RuleViolations
from shelf.forms import ServiceError, message_error
from shelf.orders.selectors import cheapest_offer
from shelf.products.downloads import document_response, picture_response
from shelf.products.models import Revision
from shelf.products.selectors import products_viewable, working_revision
from shelf.scanning.downloads import sbom_response
from shelf.scanning.selectors import latest_finished_scan
from shelf.storefront.cache import cached_part, is_plain_visitor, page_versions, visitor_page
from shelf.storefront.selectors import (
    catalog_document,
    catalog_featured,
    catalog_newest,
    catalog_picture,
    catalog_product,
    catalog_search,
    featured_all,
    is_featured,
)
from shelf.storefront.services import FEATURED_MAX, featured_add, featured_move, featured_remove, monthly_price
from shelf.storefront.verified import verified_panel

HOME_NEWEST = 8  # cards in "New on Shelf"
PAGE_SIZE = 20
# What the list page reads from its query string, as catalog_search names them (it validates every one).
LIST_PARAMS = ("q", "category", "tag", "software", "billing_mode", "region", "price_min", "price_max", "sort", "cursor")
SORT_LABELS = [
    ("relevance", _("Best match")),
    ("newest", _("Newest")),
    ("price_asc", _("Price: low to high")),
    ("price_desc", _("Price: high to low")),
]


def home(request):
    return render(
        request,
        "storefront/home.html",
        {"tops": category_tree(), "featured": catalog_featured(), "newest": catalog_newest(limit=HOME_NEWEST)},
    )


def _with(params: dict, **changes) -> str:
    """The list URL for `params` with `changes` applied (None removes a filter); any change starts at page one."""
    merged = {k: v for k, v in {**params, **changes, "cursor": changes.get("cursor")}.items() if v}
    return reverse("storefront:products") + ("?" + urlencode(merged) if merged else "")


def _facet_links(params: dict, name: str, facets) -> list[dict]:
    return [
        {
            "value": f.value,
            "name": f.name,
            "count": f.count,
            "parent": f.parent,
            "active": params.get(name) == f.value,
            "url": _with(params, **{name: None if params.get(name) == f.value else f.value}),
        }
        for f in facets
    ]


def product_list(request):
    params = {name: (request.GET.get(name) or "").strip() or None for name in LIST_PARAMS}
    context = {
        "params": params,
        "q": params["q"] or "",
        "tops": category_tree(),
        "regions": regions_active(),
        "sorts": SORT_LABELS,
        "BillingMode": Revision.BillingMode,
        "clear_url": reverse("storefront:products"),
        "filtered": any(params[name] for name in LIST_PARAMS if name not in ("sort", "cursor")),
        # Filters beyond the search words keep the (on phones folded) filter form open.
        "refined": any(params[name] for name in LIST_PARAMS if name not in ("q", "cursor")),
    }
    try:
        page = catalog_search(**params, limit=PAGE_SIZE)
    except RuleViolations as exc:
        errors = {v.field: v.message for v in exc.violations}
        return render(request, "storefront/products.html", {**context, "errors": errors}, status=422)
    categories = _facet_links(params, "category", page.facets.get("category", []))
    context.update(
        page=page,
        category_facets=[
            (top, [leaf for leaf in categories if leaf["parent"] == top["value"]])
            for top in categories
            if top["parent"] is None
        ],
        billing_facets=_facet_links(params, "billing_mode", page.facets.get("billing_mode", [])),
        region_facets=_facet_links(params, "region", page.facets.get("region", [])),
        next_url=_with(params, cursor=page.next_cursor) if page.next_cursor else None,
        first_url=_with(params) if params["cursor"] else None,
        tag_url=_with(params, tag=None) if params["tag"] else None,
        software_url=_with(params, software=None) if params["software"] else None,
    )
    return render(request, "storefront/products.html", context)


def _not_listed(request, product_id):
    """The storefront's 404 for a product that is not on sale; only readers of its console pages learn more."""
    preview = None
    product = products_viewable(request.user).filter(pk=product_id).first()
    if product is not None:
        if request.user.is_provider:
            preview = reverse("products:preview", kwargs={"product_id": product.pk})
        else:
            preview = reverse("reviews:review", kwargs={"revision_id": working_revision(product).pk})
    return render(request, "storefront/not_listed.html", {"preview": preview}, status=404)


def product_detail(request, product_id):
    """The product page: its body is the same for everyone, so it is rendered once per catalog and pages version
    and language (shelf.storefront.cache); the header around it (the user, the CSRF token) is drawn per request,
    or, for a visitor with no session, kept whole too with only the CSRF token put in per answer."""
    versions = page_versions()

    def page(csrf_token: str | None = None) -> str | None:
        part = cached_part(f"product:{product_id}", lambda: _product_body(product_id), versions)
        if part is None:
            return None
        title, body = part
        context = {"title": title, "body": mark_safe(body)}  # noqa: S308 - rendered by our own template
        if csrf_token is not None:
            context["csrf_token"] = csrf_token
        elif request.user.is_authenticated and request.user.is_operator:
            context["featured"] = is_featured(product_id=product_id)
        return render_to_string("storefront/product.html", context, request)

    # A plain visitor's whole page is cached: a hit needs neither the body nor the template.
    response = visitor_page(request, page, versions) if is_plain_visitor(request) else None
    if response is None:
        html = page()
        response = HttpResponse(html) if html is not None else _not_listed(request, product_id)
    return response


@operator_required
def operator_featured(request):
    """The home page's featured products: add one by its ID, remove, reorder."""
    if request.method == "POST":
        product_id = (request.POST.get("product_id") or "").strip()
        action = request.POST.get("action")
        try:
            product_id = str(uuid.UUID(product_id))
        except ValueError:
            messages.error(request, _("Give the product's ID, as its storefront address shows it."))
            return redirect(request.POST.get("next") or "storefront:operator_featured")
        try:
            if action == "add":
                featured_add(actor=request.user, product_id=product_id)
            elif action == "remove":
                featured_remove(actor=request.user, product_id=product_id)
            elif action in ("up", "down"):
                featured_move(actor=request.user, product_id=product_id, by=-1 if action == "up" else 1)
        except ServiceError as exc:
            message_error(request, exc)
        nxt = request.POST.get("next")
        return redirect(
            nxt if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts=None) else "storefront:operator_featured"
        )
    return render(request, "storefront/operator_featured.html", {"rows": featured_all(), "max": FEATURED_MAX})


def _product_body(product_id) -> tuple[str, str] | None:
    """(title, HTML of the page's content) of a listed product, or None; rendered without the request: nothing
    in it depends on who asks."""
    revision = catalog_product(product_id=product_id)
    if revision is None:
        return None
    context = {
        "revision": revision,
        "product": revision.product,
        "verified": verified_panel(revision=revision),
        "server_from": cheapest_offer(revision),
        "monthly": monthly_price(
            billing_mode=revision.billing_mode,
            price_monthly=revision.price_monthly,
            price_yearly=revision.price_yearly,
            price_hourly=revision.price_hourly,
        ),
        "BillingMode": Revision.BillingMode,
    }
    return revision.name, str(render_to_string("storefront/_product.html", context))


def _listed(product_id) -> Revision:
    revision = catalog_product(product_id=product_id)
    if revision is None:
        raise Http404
    return revision


def picture(request, product_id, picture_id: int):
    picture = catalog_picture(product_id=product_id, picture_id=picture_id)
    if picture is None:
        raise Http404
    return picture_response(picture)


def document(request, product_id):
    document = catalog_document(product_id=product_id)
    if document is None:
        raise Http404
    return document_response(document)


def sbom(request, product_id, region: str):
    """The SBOM of the image the listed product delivers in `region`, from that image's latest finished scan."""
    revision = _listed(product_id)
    delivery = next((d for d in revision.deliveries.all() if d.region.code == region), None)
    scan = latest_finished_scan(image_id=delivery.image_id) if delivery else None
    if scan is None:
        raise Http404
    return sbom_response(scan)
