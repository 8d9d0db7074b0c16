"""Every URL that takes an id, asked by every role: the answer is exactly the table's (tests/security/matrix.py).

A new URL with an argument and no row fails `test_every_url_with_an_id_has_a_row`; an unsafe method that a role
may not use must be refused without changing a row of the database.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from ninja.operation import PathView

from tests.security.conftest import snapshot
from tests.security.matrix import LOGIN, ROLES, ROWS, SAFE, Row

pytestmark = pytest.mark.django_db

# Django's own admin (staff only, object ids of every model) is not Shelf's console and has no row.
NOT_IN_THE_MATRIX = ("admin/",)
ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def _patterns(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _methods(pattern: URLPattern) -> set[str] | None:
    """The methods of a ninja route (its PathView's operations); None for a Django view."""
    for cell in getattr(pattern.callback, "__closure__", None) or ():
        if isinstance(cell.cell_contents, PathView):
            return {method for op in cell.cell_contents.operations for method in op.methods}
    return None


def routes_with_ids() -> set[tuple[str, str | None]]:
    """(route, method) of every ninja operation, (route, None) of every Django view, whose URL takes an argument."""
    found = set()
    for route, pattern in _patterns(get_resolver().url_patterns):
        if route.startswith(NOT_IN_THE_MATRIX) or not ARGUMENT.search(route):
            continue
        methods = _methods(pattern)
        found |= {(route, m) for m in methods} if methods is not None else {(route, None)}
    return found


def test_every_url_with_an_id_has_a_row():
    api = {(r.route, r.method) for r in ROWS if r.route.startswith("api/")}
    pages = {(r.route, None) for r in ROWS if not r.route.startswith("api/")}
    assert routes_with_ids() - (api | pages) == set(), "a URL that takes an id has no row in tests/security/matrix.py"
    assert (api | pages) - routes_with_ids() == set(), "a row of the matrix names a URL that no longer exists"
    assert len({r.id for r in ROWS}) == len(ROWS), "two rows for the same route and method need a variant"


def url(row: Row, ids: dict) -> str:
    def value(match):
        name = match.group(1) or match.group(2)
        key = row.args[name]
        return key[1:] if key.startswith("=") else str(ids[key])

    path = ARGUMENT.sub(value, row.route)
    if path.startswith("^"):
        path = path[1:].removesuffix("$").replace("\\.", ".")
    query = {name: key[1:] if key.startswith("=") else str(ids[key]) for name, key in row.query.items()}
    return "/" + path + (f"?{urlencode(query)}" if query else "")


def client_for(world, role: str, row: Row) -> tuple[Client, dict]:
    client = Client()
    user = world.users[role]
    if user is None:
        return client, {}
    if row.route.startswith("api/"):
        return client, {"Authorization": f"Bearer {world.tokens[role]}"}
    client.force_login(user)
    return client, {}


def request(client: Client, headers: dict, row: Row, path: str):
    method = row.method.lower()
    if row.route.startswith("api/") and row.method not in SAFE:
        return getattr(client, method)(path, data=row.body or {}, content_type="application/json", headers=headers)
    if row.method == "POST":
        return client.post(path, data=row.body or {}, headers=headers)
    return getattr(client, method)(path, headers=headers)


def cases():
    for row in ROWS:
        for role in ROLES:
            if row.method in SAFE or role not in row.owners:
                yield pytest.param(row, role, id=f"{row.id} as {role}")


@pytest.mark.parametrize(("row", "role"), list(cases()))
def test_matrix(world, row: Row, role: str):
    client, headers = client_for(world, role, row)
    path = url(row, world.ids)
    response = request(client, headers, row, path)
    expected = row.expect[role]
    got = response.status_code
    if expected == LOGIN:
        assert got == 302 and response["Location"].startswith(resolve_url(settings.LOGIN_URL)), (path, got)
    else:
        assert got == expected, (path, got, getattr(response, "content", b"")[:300])
        if got == 302:
            assert not response["Location"].startswith(resolve_url(settings.LOGIN_URL)), (path, response["Location"])
    if got == 200 and row.absent:
        assert not set(row.absent) & set(response.json()), (path, response.json())
    for key in row.unseen if got == 200 else ():
        assert str(world.ids[key]).encode() not in response.content, (path, key)
    if row.method not in SAFE:
        assert snapshot() == world.baseline, f"{row.id} as {role} changed the database"


NOT_IDS = {"period", "region_code", "org_slug"}  # a month, a region's code, a slug: no object's id


def unknown(value):
    """An id of the same kind that names nothing: an integer past every column's range, or a fresh UUID."""
    return 2**70 if isinstance(value, int) else uuid.uuid4()


def unknown_cases():
    for row in ROWS:
        if not any(key not in NOT_IDS and not key.startswith("=") for key in row.args.values()):
            continue
        seen_by = [r for r in ROLES if row.expect[r] in (200, 302)]
        who = row.owners[0] if row.owners else seen_by[0] if seen_by else "operator"
        yield pytest.param(row, who, id=f"{row.id} as {who}")


@pytest.mark.parametrize(("row", "role"), list(unknown_cases()))
def test_an_unknown_id_is_404_for_whoever_may_see_the_object(world, row: Row, role: str):
    """Ids that name nothing (a fresh UUID, an integer too large for any column) are a 404, never a 500, and an
    unsafe method changes nothing."""
    ids = dict(world.ids)
    for key in row.args.values():
        if key not in NOT_IDS and not key.startswith("="):
            ids[key] = unknown(ids[key])
    client, headers = client_for(world, role, row)
    response = request(client, headers, row, url(row, ids))
    assert response.status_code == 404, (url(row, ids), response.status_code, response.content[:300])
    if row.method not in SAFE:
        assert snapshot() == world.baseline
