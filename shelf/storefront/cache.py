"""Cached answers of the public catalog API, keyed by the catalog's version.

A catalog answer depends only on the listed products (the same for everyone: a token changes nothing), the
active language and the request's path and query. `CatalogVersion` is bumped by `services.catalog_sync` in
the listing transaction, so the key of every answer changes the moment a product is listed or delisted:
each worker's local cache then misses and computes anew, and nothing stale is served. Only 200 answers are
kept; bad input (422) and 404 are computed each time. The timeout bounds what the version does not cover
(a provider renaming its organization shows within it).
"""

import functools
import hashlib

from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.utils.translation import get_language

TIMEOUT = 300  # seconds


def catalog_version() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT number FROM storefront_catalogversion WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else 0


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
