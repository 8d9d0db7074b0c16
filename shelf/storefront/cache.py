"""Cached answers of the public catalog API, keyed by the catalog's version.

A catalog answer depends only on the listed products (the same for everyone: a token changes nothing), the
active language and the request's path and query. `CatalogVersion` is bumped by `services.catalog_sync` in
the listing transaction, so the key of every answer changes the moment a product is listed or delisted:
each worker's local cache then misses and computes anew, and nothing stale is served. Only 200 answers are
kept; bad input (422) and 404 are computed each time. The timeout bounds what the version does not cover
(a provider renaming its organization shows within it).

Product pages also show what the catalog does not hold: the scans of the delivered images and the server sizes
on sale. Their cached parts are keyed by a second number too, the pages' version (row PAGES_VERSION of the
same table), which the storefront's receivers bump when a scan finishes or a server size, region, category,
organization or agreement is saved. Facet counts are cached by the catalog's version alone (cached_rows): every
page of one search has the same.
"""

import functools
import hashlib

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.translation import get_language

TIMEOUT = 300  # seconds
CATALOG_VERSION, PAGES_VERSION = 1, 2  # rows of storefront_catalogversion


def catalog_version() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT number FROM storefront_catalogversion WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else 0


def cached_rows(sql: str, params: list) -> list:
    """The rows of a read-only catalog query, cached for this catalog version."""
    raw = repr((sql, [str(p) for p in params])).encode()
    key = f"storefront:rows:{catalog_version()}:{hashlib.sha256(raw).hexdigest()}"
    rows = cache.get(key)
    if rows is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        cache.set(key, rows, TIMEOUT)
    return rows


def _key(request, version: int) -> str:
    query = sorted((name, value) for name, values in request.GET.lists() for value in values)
    raw = repr((request.path, query)).encode()
    return f"storefront:{version}:{get_language()}:{hashlib.sha256(raw).hexdigest()}"


def cached_answer(run):
    """A ninja operation's `run`, answering from the cache when this version of the catalog answered before."""

    @functools.wraps(run)
    def wrapper(request, *args, **kwargs):
        key = _key(request, catalog_version())
        hit = cache.get(key)
        if hit is not None:
            content_type, content = hit
            return HttpResponse(content, content_type=content_type)
        response = run(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming:
            cache.set(key, (response["Content-Type"], response.content), TIMEOUT)
        return response

    return wrapper


def page_versions() -> tuple[int, int]:
    """(the catalog's version, the pages' version), in one query: what cached page parts are keyed by."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, number FROM storefront_catalogversion WHERE id IN (%s, %s)", [CATALOG_VERSION, PAGES_VERSION]
        )
        numbers = dict(cursor.fetchall())
    return numbers.get(CATALOG_VERSION, 0), numbers.get(PAGES_VERSION, 0)


def cached_part(name: str, build, versions: tuple[int, int] | None = None):
    """`build()` (anything picklable, for everyone alike), cached for these versions (page_versions(), read
    when not given) and the active language; None is not cached (a product not listed is looked up each time)."""
    catalog, pages = versions or page_versions()
    key = f"storefront:part:{catalog}.{pages}:{get_language()}:{hashlib.sha256(name.encode()).hexdigest()}"
    part = cache.get(key)
    if part is None:
        part = build()
        if part is not None:
            cache.set(key, part, TIMEOUT)
    return part


# Where a cached page for visitors without a session has its CSRF token: each answer gets its own.
CSRF_PLACEHOLDER = "shelf-csrf-token-placeholder"


def is_plain_visitor(request) -> bool:
    """Nobody signed in and nothing of the visitor's own to show: no session, no messages waiting. Such a
    visitor's page is the same for all of them but for its CSRF token (see visitor_page)."""
    return settings.SESSION_COOKIE_NAME not in request.COOKIES and CookieStorage.cookie_name not in request.COOKIES


def visitor_page(request, render_page, versions: tuple[int, int]) -> HttpResponse | None:
    """The whole page for a plain visitor (is_plain_visitor): `render_page(csrf_token)` rendered once per path
    and versions and language with CSRF_PLACEHOLDER, then answered with this request's own token; None when
    `render_page` gives None (nothing to show, nothing cached)."""
    page = cached_part(f"visitor-page:{request.get_full_path()}", lambda: render_page(CSRF_PLACEHOLDER), versions)
    return None if page is None else HttpResponse(page.replace(CSRF_PLACEHOLDER, get_token(request)))


def pages_changed() -> None:
    """A new pages' version, in the caller's transaction: cached page parts of the old one are never served again."""
    from shelf.storefront.models import CatalogVersion

    if not CatalogVersion.objects.filter(pk=PAGES_VERSION).update(number=F("number") + 1):
        CatalogVersion.objects.get_or_create(pk=PAGES_VERSION, defaults={"number": 1})
