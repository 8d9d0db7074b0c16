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
from django.utils.translation import gettext as _

from shelf.catalog.models import Category, Region
from shelf.errors import RuleViolations, Violation
from shelf.products.models import Delivery, Document, Picture, Revision
from shelf.storefront import search
from shelf.storefront.cache import cached_rows
from shelf.storefront.models import CatalogEntry, FeaturedProduct
from shelf.storefront.services import HOURS_PER_MONTH

# An entry has this term (tag, software or region); the same condition as a set, for counting. Both take
# the parameters kind, value.
TERM_FILTER = "EXISTS (SELECT 1 FROM storefront_catalogterm t WHERE t.entry_id = e.id AND t.kind = %s AND t.value = %s)"
TERM_FILTER_SET = "e.id IN (SELECT t.entry_id FROM storefront_catalogterm t WHERE t.kind = %s AND t.value = %s)"
SORTS = ("relevance", "newest", "price_asc", "price_desc")
BILLING_MODES = ("prepaid", "postpaid")
COUNT_CAP = 1000
# A tier with at most this many matches is read by its entry ids and sorted (a few ms); a larger one along the
# listing index, which meets a page of matches within a few thousand entries (search.Tier).
SPARSE_TIER = 2000
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
    """One page of the catalog: `items` are CatalogEntry rows (category and top_category loaded; `score`, the
    search.TIERS tier, set when ranked by relevance)."""

    items: list[CatalogEntry]
    next_cursor: str | None
    count: int  # at most COUNT_CAP; count_capped says there are more
    count_capped: bool
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)  # "category", "billing_mode", "region"


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
    return price.quantize(Decimal("0.01"))  # an exponent like 1E-999999 is no number a database column holds


def _encode_cursor(sort: str, key, entry_id: int) -> str:
    raw = json.dumps({"s": sort, "k": key, "i": entry_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor_time(value):
    """A cursor's listing time, as the database compares it; None unless an ISO time with its zone."""
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None or moment.tzinfo is None:
        return None
    return connection.ops.adapt_datetimefield_value(moment)


def _decode_cursor(cursor: str, sort: str, sort_key: str):
    """(key, id) from a cursor of this sort, (tier, listed_at, id) for relevance; None when it is not one
    (tampered, or from another sort).

    `sort_key` is the order actually used: relevance without words is newest first."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or data.get("s") != sort:
            return None
        entry_id, key = data.get("i"), data.get("k")
        if type(entry_id) is not int or not 0 <= entry_id < 2**63:  # a database integer, whatever was sent
            return None
        if sort_key == "relevance":  # [tier, listed_at]
            if not (isinstance(key, list) and len(key) == 2 and type(key[0]) is int and key[0] in search.TIERS):
                return None
            listed_at = _cursor_time(key[1])
            return None if listed_at is None else (key[0], listed_at, entry_id)
        if sort_key == "newest":
            key = _cursor_time(key)
            if key is None:
                return None
        else:
            key = Decimal(key) if isinstance(key, str) else None
            if key is None or not key.is_finite() or abs(key) > PRICE_MAX * HOURS_PER_MONTH:
                return None
            key = key.quantize(Decimal("0.01"))
        return key, entry_id
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
    services.monthly_price); `sort=relevance` without `q` is newest first. With `q`, facets count at most
    COUNT_CAP + 1 matches (lower bounds when count_capped). Raises RuleViolations naming each bad parameter.
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
    reference = _reference()
    chosen_category = None
    if category and not any(v.field == "category" for v in violations):
        chosen_category = reference.category_by_slug.get(category)
        if chosen_category is None or not chosen_category.is_active:
            violations.append(
                Violation("category", "unknown", _("There is no category “%(slug)s”.") % {"slug": category})
            )
    if region and "\x00" in region:
        violations.append(Violation("region", "nul_character", _("Text cannot contain NUL (\\x00) characters.")))
    elif region and not getattr(reference.regions.get(region), "is_active", False):
        violations.append(Violation("region", "unknown", _("There is no region “%(code)s”.") % {"code": region}))
    terms = search.query_terms(q) if not violations else []
    sort_key = "newest" if sort == "relevance" and not terms else sort
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

    # The filters other than the words; the words' own condition depends on whether the page is ranked.
    where, params = [], []
    found = search.match(terms) if terms else None
    if chosen_category is not None:
        where.append("e.top_category_id = %s" if chosen_category.parent_id is None else "e.category_id = %s")
        params.append(chosen_category.pk)
    if billing_mode:
        where.append("e.billing_mode = %s")
        params.append(billing_mode)
    for kind, value in (("tag", tag), ("software", software), ("region", region)):
        if value:
            where.append(TERM_FILTER)
            params += [kind, value if kind == "region" else " ".join(value.casefold().split())[:200]]
    if low is not None:
        where.append("e.price_sort >= %s")
        params.append(low)
    if high is not None:
        where.append("e.price_sort <= %s")
        params.append(high)

    with search.planned_for_index(terms):
        items, next_cursor = _page(reference, found, where, params, sort, sort_key, after, limit)
        source = "storefront_catalogentry e"
        if found is not None:
            source, where, params = found.scan_from, [found.scan_where, *where], [*found.where_params, *params]
        # With words, a search can match a large part of the catalog (建站: 40%): count over the first
        # COUNT_CAP + 1 matches only; past that, counts and facets are lower bounds (count_capped says so).
        facets, total = _facets(
            reference, where, params, cap=COUNT_CAP + 1 if found is not None else None, source=source
        )
    return CatalogPage(
        items=items,
        next_cursor=next_cursor,
        count=min(total, COUNT_CAP),
        count_capped=total > COUNT_CAP,
        facets=facets,
    )


@dataclass(frozen=True)
class _Reference:
    """The category tree and the regions (a few dozen rows), read once per search in one query."""

    categories: dict[int, Category]
    category_by_slug: dict[str, Category]
    regions: dict[str, Region]


def _reference() -> _Reference:
    sql = (
        "SELECT 'c', id, slug, name_zh, name_en, parent_id, position, is_active FROM catalog_category "
        "UNION ALL SELECT 'r', id, code, name_zh, name_en, NULL, position, is_active FROM catalog_region"
    )
    with connection.cursor() as db:
        db.execute(sql)
        rows = db.fetchall()
    categories, regions = {}, {}
    for kind, pk, key, name_zh, name_en, parent_id, position, is_active in rows:
        common = {"pk": pk, "name_zh": name_zh, "name_en": name_en, "position": position, "is_active": bool(is_active)}
        if kind == "c":
            categories[pk] = Category(slug=key, parent_id=parent_id, **common)
        else:
            regions[key] = Region(code=key, **common)
    for category in categories.values():
        if category.parent_id in categories:
            category.parent = categories[category.parent_id]
    return _Reference(categories, {c.slug: c for c in categories.values()}, regions)


ENTRY_COLUMNS = [f.column for f in CatalogEntry._meta.concrete_fields]


def _tier_ids(tier: search.Tier) -> list[int]:
    """Up to SPARSE_TIER + 1 entry ids of a tier, from the index."""
    with connection.cursor() as db:
        db.execute(tier.ids, [*tier.ids_params, SPARSE_TIER + 1])
        return [row[0] for row in db.fetchall()]


def _page(reference, found, where, params, sort, sort_key, after, limit) -> tuple[list[CatalogEntry], str | None]:
    """One page of entries in the chosen order, after the cursor's key and id: keyset, never OFFSET.

    Relevance reads tier by tier (search.TIERS), each newest first, until the page is full: a page query per
    tier (on SQLite after its ids, when it has at most SPARSE_TIER matches), each stopping after a page."""
    columns = ", ".join(f"e.{column}" for column in ENTRY_COLUMNS)

    def read(conditions: list[str], condition_params: list, key_sql: str, direction: str, key, entry_id, n):
        if key is not None:
            conditions = [*conditions, f"({key_sql}, e.id) {'<' if direction == 'DESC' else '>'} (%s, %s)"]
            condition_params = [*condition_params, key, entry_id]
        sql = (
            f"SELECT {columns} FROM storefront_catalogentry e WHERE {' AND '.join(conditions) or '1 = 1'} "
            f"ORDER BY {key_sql} {direction}, e.id {direction} LIMIT %s"
        )
        return list(CatalogEntry.objects.raw(sql, [*condition_params, n]))

    if sort_key == "relevance":
        items = []
        start_tier, listed_at, entry_id = after if after is not None else (search.TIERS[0], None, None)
        for tier in search.TIERS:
            if tier > start_tier:
                continue
            condition, condition_params = found.tiers[tier].condition, found.tiers[tier].params
            if found.tiers[tier].ids is not None:
                ids = _tier_ids(found.tiers[tier])
                if not ids:
                    continue
                if len(ids) <= SPARSE_TIER:
                    condition, condition_params = "e.id IN (SELECT value FROM json_each(%s))", [json.dumps(ids)]
            cursor_key = (listed_at, entry_id) if tier == start_tier else (None, None)
            rows = read(
                [condition, *where], [*condition_params, *params], "e.listed_at", "DESC", *cursor_key,
                limit + 1 - len(items),
            )  # fmt: skip
            for entry in rows:
                entry.score = tier
            items += rows
            if len(items) > limit:
                break
    else:
        key_sql, direction = {
            "newest": ("e.listed_at", "DESC"),
            "price_asc": ("e.price_sort", "ASC"),
            "price_desc": ("e.price_sort", "DESC"),
        }[sort_key]
        conditions, condition_params = list(where), list(params)
        if found is not None:
            conditions.insert(0, found.where)
            condition_params = [*found.where_params, *condition_params]
        items = read(conditions, condition_params, key_sql, direction, *(after or (None, None)), limit + 1)
    more = len(items) > limit
    items = items[:limit]
    for entry in items:
        entry.category = reference.categories[entry.category_id]
        entry.top_category = reference.categories[entry.top_category_id]
    if not (more and items):
        return items, None
    last = items[-1]
    key = {
        "newest": lambda: last.listed_at.isoformat(),
        "price_asc": lambda: str(last.price_sort),
        "price_desc": lambda: str(last.price_sort),
        "relevance": lambda: [last.score, last.listed_at.isoformat()],
    }[sort_key]()
    return items, _encode_cursor(sort, key, last.pk)


def _empty_facets() -> dict[str, list[FacetCount]]:
    return {"category": [], "billing_mode": [], "region": []}


def _facets(
    reference: _Reference, where: list[str], params: list, cap: int | None = None, source="storefront_catalogentry e"
) -> tuple[dict[str, list[FacetCount]], int]:
    """Counts per category (top level and leaf), billing mode and region under the same filters.

    One GROUP BY over the matches, by (leaf, billing mode, region set): a few hundred groups at most, which
    Python adds up per top level and per region (a product delivered to two regions counts in both).
    With `cap`, over at most that many matches (any of them): 20 instead of 390 ms for 40,000 matches.
    """
    # Counting visits every match: the term's entries as one set beat a lookup per entry (25 vs 210 ms at
    # 100,000 entries); a page stops after `limit` rows in index order, where the per-entry EXISTS wins.
    where = [TERM_FILTER_SET if condition == TERM_FILTER else condition for condition in where]
    matches = f"FROM {source} WHERE {' AND '.join(where) or '1 = 1'}"
    if cap is not None:
        matches = f"FROM (SELECT e.category_id, e.billing_mode, e.region_key {matches} LIMIT %s) e"
        params = [*params, cap]
    sql = (
        f"SELECT e.category_id, e.billing_mode, e.region_key, COUNT(*) {matches} "
        "GROUP BY e.category_id, e.billing_mode, e.region_key"
    )
    # The same filters give the same counts on every page of a search (the cursor is no filter): counted once
    # per catalog version, not again for each next page (the whole catalog's took 70-280 ms at 100,000).
    rows = cached_rows(sql, params)
    leaves, tops, modes, regions, total = {}, {}, {}, {}, 0
    for category_id, mode, region_key, count in rows:
        total += count
        leaf = reference.categories[category_id]
        leaves[leaf.pk] = leaves.get(leaf.pk, 0) + count
        top_id = leaf.parent_id or leaf.pk
        tops[top_id] = tops.get(top_id, 0) + count
        modes[mode] = modes.get(mode, 0) + count
        for code in region_key.split():
            regions[code] = regions.get(code, 0) + count
    facets = _empty_facets()

    def order(category: Category):
        return (category.position, category.slug)

    for top in sorted((reference.categories[pk] for pk in tops), key=order):
        facets["category"].append(FacetCount(top.slug, top.display_name, tops[top.pk]))
        children = [reference.categories[pk] for pk in leaves if reference.categories[pk].parent_id == top.pk]
        facets["category"] += [
            FacetCount(leaf.slug, leaf.display_name, leaves[leaf.pk], top.slug) for leaf in sorted(children, key=order)
        ]
    labels = dict(Revision.BillingMode.choices)
    facets["billing_mode"] = [
        FacetCount(mode, str(labels.get(mode, mode)), modes[mode])
        for mode in sorted(modes, key=lambda m: (BILLING_MODES.index(m) if m in BILLING_MODES else 9, m))
    ]
    known = sorted(
        (reference.regions[code] for code in regions if code in reference.regions), key=lambda r: (r.position, r.code)
    )
    facets["region"] = [FacetCount(r.code, r.display_name, regions[r.code]) for r in known]
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


def catalog_newest(*, limit: int) -> list[CatalogEntry]:
    """The newest listed products (the home page's row: no search, no facets to count)."""
    return list(CatalogEntry.objects.select_related("category", "top_category").order_by("-listed_at", "-id")[:limit])


def catalog_featured() -> list[CatalogEntry]:
    """The featured products that are listed, in the operators' order."""
    return list(
        CatalogEntry.objects.filter(product__featured__isnull=False)
        .select_related("category", "top_category")
        .order_by("product__featured__position", "product__featured__featured_at")
    )


def featured_all() -> list[FeaturedProduct]:
    """Every featured product for the operators' page, listed or not (`entry`: its catalog entry or None)."""
    rows = list(FeaturedProduct.objects.select_related("product").order_by("position", "featured_at"))
    entries = CatalogEntry.objects.in_bulk([row.product_id for row in rows], field_name="product_id")
    for row in rows:
        row.entry = entries.get(row.product_id)
    return rows


def featured_count() -> int:
    return FeaturedProduct.objects.count()


def is_featured(*, product_id) -> bool:
    return FeaturedProduct.objects.filter(product_id=product_id).exists()
