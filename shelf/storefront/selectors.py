"""Every read of the public catalog: only listed products, for everyone alike (anonymous included).

`catalog_search` is the one entry to search, filters, facets and pagination, whatever the database;
`catalog_product` is the one read of a product page. Both take what a request carries (strings) and
validate it here, so the API, the pages and the CLI report bad input the same way, per parameter.
"""

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import connection
from django.db.models import Prefetch
from django.utils.dateparse import parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from shelf.catalog.models import Category, Region
from shelf.errors import RuleViolations, Violation
from shelf.products.models import Delivery, Document, Picture, Revision
from shelf.storefront import search
from shelf.storefront.models import CatalogEntry

SORTS = ("relevance", "newest", "price_asc", "price_desc")
BILLING_MODES = ("prepaid", "postpaid")
COUNT_CAP = 1000
Q_MAX = 200
LIMIT_MAX = 100
PRICE_MAX = Decimal("999999999999.99")


@dataclass(frozen=True)
class FacetCount:
    """One value of a facet and how many products match the current filters with it."""

    value: str  # a category slug, a billing mode, a region code
    name: str  # in the active language
    count: int
    parent: str | None = None  # categories: the top level's slug for a leaf, None for a top level


@dataclass(frozen=True)
class CatalogPage:
    """One page of the catalog: `items` are CatalogEntry rows (category and top_category loaded, `score` set)."""

    items: list[CatalogEntry]
    next_cursor: str | None
    count: int  # at most COUNT_CAP; count_capped says there are more
    count_capped: bool
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)  # "category", "billing_mode", "region"


def _bilingual(name_zh: str, name_en: str) -> str:
    return name_zh if (get_language() or "").startswith("zh") else name_en


def _price(name: str, value, violations: list[Violation]) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or price < 0 or price > PRICE_MAX:
        violations.append(
            Violation(name, "invalid", _("Give a price as a decimal number like 99 or 12.50, zero or more."))
        )
        return None
    return price


def _encode_cursor(sort: str, key, entry_id: int) -> str:
    raw = json.dumps({"s": sort, "k": key, "i": entry_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: str, sort_key: str):
    """(key, id) from a cursor of this sort; None when it is not one (tampered, or from another sort).

    `sort_key` is the order actually used: relevance without words is newest first."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or data.get("s") != sort or type(data.get("i")) is not int:
            return None
        key = data.get("k")
        if sort_key == "newest":
            key = parse_datetime(key) if isinstance(key, str) else None
            if key is None or key.tzinfo is None:
                return None
            key = connection.ops.adapt_datetimefield_value(key)
        elif sort_key in ("price_asc", "price_desc"):
            key = Decimal(key) if isinstance(key, str) else None
            if key is None or not key.is_finite():
                return None
        elif type(key) not in (int, float):
            return None
        return key, data["i"]
    except (ValueError, TypeError, binascii.Error, InvalidOperation, UnicodeDecodeError, OverflowError):
        return None


def catalog_search(
    *,
    q: str | None = "",
    category: str | None = None,
    tag: str | None = None,
    software: str | None = None,
    billing_mode: str | None = None,
    region: str | None = None,
    price_min=None,
    price_max=None,
    sort: str | None = "relevance",
    cursor: str | None = None,
    limit=20,
) -> CatalogPage:
    """Listed products matching every given filter and every word of `q`, one page in `sort` order.

    `q`: Chinese by overlapping character pairs, other words by prefix, case-insensitive, all must match;
    `category` is a slug and includes its subcategories; prices compare the monthly price (see
    services.monthly_price); `sort=relevance` without `q` is newest first. Raises RuleViolations naming
    each bad parameter.
    """
    violations: list[Violation] = []
    q = q or ""
    sort = sort or "relevance"
    for name, value in (("q", q), ("category", category), ("tag", tag), ("software", software)):
        if value and "\x00" in value:
            violations.append(Violation(name, "nul_character", _("Text cannot contain NUL (\\x00) characters.")))
    if len(q) > Q_MAX:
        violations.append(Violation("q", "too_long", _("Search with at most %(max)d characters.") % {"max": Q_MAX}))
    if sort not in SORTS:
        violations.append(Violation("sort", "invalid", _("Sort by one of: %(sorts)s.") % {"sorts": ", ".join(SORTS)}))
    if billing_mode and billing_mode not in BILLING_MODES:
        violations.append(Violation("billing_mode", "invalid", _("Billing mode is prepaid or postpaid.")))
    low, high = _price("price_min", price_min, violations), _price("price_max", price_max, violations)
    if low is not None and high is not None and low > high:
        violations.append(
            Violation("price_max", "below_min", _("The highest price cannot be below the lowest (price_min)."))
        )
    try:
        limit = int(limit)
        if not 1 <= limit <= LIMIT_MAX:
            raise ValueError
    except (TypeError, ValueError):
        violations.append(
            Violation("limit", "invalid", _("Ask for 1 to %(max)d products per page.") % {"max": LIMIT_MAX})
        )
    chosen_category = None
    if category and not any(v.field == "category" for v in violations):
        chosen_category = Category.objects.filter(slug=category, is_active=True).first()
        if chosen_category is None:
            violations.append(
                Violation("category", "unknown", _("There is no category “%(slug)s”.") % {"slug": category})
            )
    if region and "\x00" not in region and not Region.objects.filter(code=region, is_active=True).exists():
        violations.append(Violation("region", "unknown", _("There is no region “%(code)s”.") % {"code": region}))
    elif region and "\x00" in region:
        violations.append(Violation("region", "nul_character", _("Text cannot contain NUL (\\x00) characters.")))
    terms = search.query_terms(q) if not violations else []
    if sort == "relevance" and not terms:
        sort_key = "newest"
    else:
        sort_key = sort
    after = None
    if cursor and not violations:
        after = _decode_cursor(cursor, sort, sort_key)
        if after is None:
            violations.append(
                Violation("cursor", "invalid", _("This cursor is not one this search gave; start from the first page."))
            )
    if violations:
        raise RuleViolations(violations)
    if q.strip() and not terms:
        # Only punctuation: nothing to search for, so nothing matches (rather than everything).
        return CatalogPage(items=[], next_cursor=None, count=0, count_capped=False, facets=_empty_facets())

    joins, where, params = [], ["1 = 1"], []
    score = "0.0"
    if terms:
        found = search.match(terms)
        joins.append(found.joins)
        params += found.join_params
        if found.where:
            where.append(found.where)
            params += found.where_params
        score = found.score
    if chosen_category is not None:
        where.append("e.top_category_id = %s" if chosen_category.parent_id is None else "e.category_id = %s")
        params.append(chosen_category.pk)
    if billing_mode:
        where.append("e.billing_mode = %s")
        params.append(billing_mode)
    for kind, value in (("tag", tag), ("software", software), ("region", region)):
        if value:
            where.append(
                "EXISTS (SELECT 1 FROM storefront_catalogterm t WHERE t.entry_id = e.id AND t.kind = %s AND t.value = %s)"
            )
            params += [kind, value if kind == "region" else " ".join(value.casefold().split())[:200]]
    if low is not None:
        where.append("e.price_sort >= %s")
        params.append(low)
    if high is not None:
        where.append("e.price_sort <= %s")
        params.append(high)
    base_from = "storefront_catalogentry e " + " ".join(joins)
    base_where = " AND ".join(where)

    key_sql, direction = {
        "newest": ("e.listed_at", "DESC"),
        "price_asc": ("e.price_sort", "ASC"),
        "price_desc": ("e.price_sort", "DESC"),
        "relevance": (score, "DESC"),
    }[sort_key]
    page_where, page_params = base_where, list(params)
    if after is not None:
        page_where += f" AND ({key_sql}, e.id) {'<' if direction == 'DESC' else '>'} (%s, %s)"
        page_params += [after[0], after[1]]
    sql = (
        f"SELECT e.id, {score} AS score FROM {base_from} WHERE {page_where} "
        f"ORDER BY {key_sql} {direction}, e.id {direction} LIMIT %s"
    )
    with connection.cursor() as db:
        db.execute(sql, [*page_params, limit + 1])
        rows = db.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    scores = {row[0]: float(row[1]) for row in rows}
    loaded = CatalogEntry.objects.select_related("category", "top_category").in_bulk(list(scores))
    items = []
    for entry_id in scores:
        entry = loaded[entry_id]
        entry.score = scores[entry_id]
        items.append(entry)
    next_cursor = None
    if more and items:
        last = items[-1]
        key = {
            "newest": lambda: last.listed_at.isoformat(),
            "price_asc": lambda: str(last.price_sort),
            "price_desc": lambda: str(last.price_sort),
            "relevance": lambda: last.score,
        }[sort_key]()
        next_cursor = _encode_cursor(sort, key, last.pk)
    facets, total = _facets(base_from, base_where, params)
    return CatalogPage(
        items=items,
        next_cursor=next_cursor,
        count=min(total, COUNT_CAP),
        count_capped=total > COUNT_CAP,
        facets=facets,
    )


def _empty_facets() -> dict[str, list[FacetCount]]:
    return {"category": [], "billing_mode": [], "region": []}


def _facets(base_from: str, base_where: str, params: list) -> tuple[dict[str, list[FacetCount]], int]:
    """Counts per category (leaf and top level), billing mode and region under the same filters, in one query."""
    sql = (
        f"WITH m AS MATERIALIZED (SELECT e.id, e.category_id, e.top_category_id, e.billing_mode FROM {base_from} "
        f"WHERE {base_where}) "
        "SELECT 'category', c.slug, c.name_zh, c.name_en, p.slug, c.position, n FROM "
        "(SELECT category_id AS k, COUNT(*) AS n FROM m GROUP BY category_id) g "
        "JOIN catalog_category c ON c.id = g.k LEFT JOIN catalog_category p ON p.id = c.parent_id "
        "UNION ALL SELECT 'top', c.slug, c.name_zh, c.name_en, NULL, c.position, n FROM "
        "(SELECT top_category_id AS k, COUNT(*) AS n FROM m GROUP BY top_category_id) g "
        "JOIN catalog_category c ON c.id = g.k "
        "UNION ALL SELECT 'billing_mode', billing_mode, NULL, NULL, NULL, 0, COUNT(*) FROM m GROUP BY billing_mode "
        "UNION ALL SELECT 'region', r.code, r.name_zh, r.name_en, NULL, r.position, n FROM "
        "(SELECT t.value AS k, COUNT(*) AS n FROM m JOIN storefront_catalogterm t "
        "ON t.entry_id = m.id AND t.kind = 'region' GROUP BY t.value) g JOIN catalog_region r ON r.code = g.k"
    )
    with connection.cursor() as db:
        db.execute(sql, params)
        rows = db.fetchall()
    facets = _empty_facets()
    tops, leaves, total = [], [], 0
    modes = dict(Revision.BillingMode.choices)
    for kind, value, name_zh, name_en, parent, position, count in rows:
        if kind == "top":
            total += count
            tops.append((position, value, FacetCount(value, _bilingual(name_zh, name_en), count)))
        elif kind == "category":
            leaves.append((position, value, FacetCount(value, _bilingual(name_zh, name_en), count, parent)))
        elif kind == "billing_mode":
            facets["billing_mode"].append(FacetCount(value, str(modes.get(value, value)), count))
        else:
            facets["region"].append((position, value, FacetCount(value, _bilingual(name_zh, name_en), count)))
    # Each top level, then its leaves, in the tree's own order.
    for _position, top_slug, top in sorted(tops, key=lambda t: (t[0], t[1])):
        facets["category"].append(top)
        facets["category"] += [
            leaf for _p, _s, leaf in sorted(leaves, key=lambda t: (t[0], t[1])) if leaf.parent == top_slug
        ]
    facets["billing_mode"].sort(key=lambda f: BILLING_MODES.index(f.value) if f.value in BILLING_MODES else 9)
    facets["region"] = [f for _p, _c, f in sorted(facets["region"], key=lambda t: (t[0], t[1]))]
    return facets, total


def catalog_product(*, product_id) -> Revision | None:
    """The listed revision of a product, with what its page shows loaded; None unless it is listed (for everyone)."""
    try:
        product_id = uuid.UUID(str(product_id))
    except ValueError:
        return None
    return (
        Revision.objects.filter(product_id=product_id, status=Revision.Status.LISTED)
        .select_related("product__organization", "category__parent", "agreement", "document")
        .prefetch_related("pictures", Prefetch("deliveries", queryset=Delivery.objects.select_related("region")))
        .first()
    )


def catalog_picture(*, product_id, picture_id) -> Picture | None:
    """A picture of a product's listed revision, or None."""
    try:
        product_id, picture_id = uuid.UUID(str(product_id)), int(picture_id)
    except (TypeError, ValueError):
        return None
    return Picture.objects.filter(
        revision__product_id=product_id, revision__status=Revision.Status.LISTED, pk=picture_id
    ).first()


def catalog_document(*, product_id) -> Document | None:
    """The document of a product's listed revision, or None."""
    try:
        product_id = uuid.UUID(str(product_id))
    except ValueError:
        return None
    return Document.objects.filter(revision__product_id=product_id, revision__status=Revision.Status.LISTED).first()
