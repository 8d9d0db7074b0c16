"""Authentication on every method: a missing, wrong or revoked token is 401 in the one error shape, never a CSRF 403.

Django's test client skips CSRF checks unless asked, which hid the bug; these clients enforce them, as a real
server does, and one test goes through a real socket.
"""

import json
import uuid

import httpx
import pytest
from django.test import Client

from shelf.accounts.models import ApiToken
from shelf.accounts.services import token_create

UNSAFE = [
    ("post", "/api/v1/tokens", {"name": "x"}),
    ("put", f"/api/v1/images/{uuid.uuid4()}/upload", None),
    ("patch", f"/api/v1/products/{uuid.uuid4()}", {"name": "x"}),
    ("delete", "/api/v1/tokens/1", None),
]


def _revoked(user) -> str:
    token, raw = token_create(user=user, name="revoked")
    token.revoked_at = token.created_at
    token.save(update_fields=["revoked_at"])
    return raw


def _assert_unauthenticated(response):
    assert response.status_code == 401, response.content
    assert response.json() == {
        "errors": [{"field": None, "code": "unauthenticated", "message": response.json()["errors"][0]["message"]}]
    }


@pytest.mark.parametrize("method,path,body", UNSAFE, ids=[m for m, _p, _b in UNSAFE])
@pytest.mark.parametrize("token", ["missing", "wrong", "revoked"])
def test_unsafe_methods_without_a_valid_token_are_401(alice, method, path, body, token):
    client = Client(enforce_csrf_checks=True)
    headers = {
        "missing": {},
        "wrong": {"Authorization": "Bearer shelf_not-a-real-token"},
        "revoked": {"Authorization": f"Bearer {_revoked(alice)}"},
    }[token]
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    _assert_unauthenticated(getattr(client, method)(path, headers=headers, **kwargs))


def test_a_valid_token_needs_no_csrf_token(alice):
    _token, raw = token_create(user=alice, name="cli")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/v1/tokens",
        data={"name": "laptop"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201


def test_a_wrong_token_is_401_even_beside_a_signed_in_session(alice):
    # A client that sends a token is judged by it; a stale browser session does not stand in for it.
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    _assert_unauthenticated(
        client.post(
            "/api/v1/tokens",
            data={"name": "x"},
            content_type="application/json",
            headers={"Authorization": "Bearer nope"},
        )
    )


def test_a_signed_in_browser_still_needs_its_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/me").json()["username"] == "alice"
    refused = client.post("/api/v1/tokens", data={"name": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert [e["code"] for e in refused.json()["errors"]] == ["csrf_failed"]
    client.get("/accounts/profile/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    accepted = client.post(
        "/api/v1/tokens", data={"name": "x"}, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert accepted.status_code == 201
    assert ApiToken.objects.filter(user=alice, name="x").exists()


@pytest.mark.django_db(transaction=True)
def test_revoked_token_over_a_real_socket_is_401_on_every_method(live_server, alice):
    raw = _revoked(alice)
    for method, path, body in UNSAFE:
        response = httpx.request(
            method.upper(),
            live_server.url + path,
            content=json.dumps(body).encode() if body is not None else b"",
            headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
            timeout=30,
        )
        assert response.status_code == 401, (method, response.text)
        assert response.json()["errors"][0]["code"] == "unauthenticated"
