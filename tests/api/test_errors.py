"""Every answer under /api/ has the one error shape, including the ones Django gives before ninja sees the request."""

import pytest
from django.test import Client


def _codes(response) -> list[str]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"errors"} and body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"field", "code", "message"} and error["message"], error
    return [e["code"] for e in body["errors"]]


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/", "/api/v2/products", "/api/v1/products/not-a-uuid"])
def test_unknown_url_under_api_is_404_in_the_shape(db, path):
    response = Client().get(path)
    assert response.status_code == 404
    assert _codes(response) == ["not_found"]


def test_unknown_url_outside_api_keeps_the_html_page(db):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_wrong_method_is_405_in_the_shape_and_keeps_allow(api, alice):
    response = api(alice).put("regions", json={})
    assert response.status_code == 405
    assert _codes(response) == ["method_not_allowed"]
    assert "GET" in response["Allow"]


def test_malformed_json_is_400_in_the_shape(api, alice):
    response = api(alice).client.post(
        "/api/v1/tokens", data="{not json", content_type="application/json", headers=api(alice).headers
    )
    assert response.status_code == 400
    assert _codes(response) == ["malformed_json"]


@pytest.mark.parametrize("body", ["null", "[]", '["a"]', '"name"', "1", "true"])
def test_a_body_that_is_not_an_object_is_422_naming_the_body(api, alice, body):
    client = api(alice)
    response = client.client.post("/api/v1/tokens", data=body, content_type="application/json", headers=client.headers)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["body"]
    assert _codes(response) == ["not_an_object"]


def test_a_body_over_the_memory_limit_is_413_in_the_shape(api, alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = api(alice)
    response = client.post("tokens", json={"name": "x" * 2000})
    assert response.status_code == 413
    assert _codes(response) == ["too_large"]


def test_a_body_over_the_memory_limit_is_413_before_authentication_too(db, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = Client().post("/api/v1/auth/token", data={"username": "x" * 2000}, content_type="application/json")
    assert response.status_code == 413
    assert _codes(response) == ["too_large"]


def test_an_unhandled_error_under_api_is_500_in_the_shape(api, alice, monkeypatch):
    from shelf.accounts import api as accounts_api

    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(accounts_api, "token_create", boom)
    client = api(alice)
    client.client.raise_request_exception = False
    response = client.post("tokens", json={"name": "x"})
    assert response.status_code == 500
    assert _codes(response) == ["server_error"]
    assert "boom" not in response.content.decode()


@pytest.mark.parametrize("error", ["OperationalError", "InterfaceError"])
def test_a_database_that_is_down_is_a_503_to_retry_on_pages_and_in_the_api(db, monkeypatch, error):
    """What a PostgreSQL restart looks like to a request (`make faults` restarts a real one): no 500, no
    traceback, Retry-After; under /api/ in the JSON error shape."""
    import django.db

    from shelf.storefront import api as storefront_api
    from shelf.storefront import views as storefront_views

    def down(**kwargs):
        raise getattr(django.db, error)("server closed the connection unexpectedly")

    monkeypatch.setattr(storefront_views, "catalog_featured", down)
    monkeypatch.setattr(storefront_api, "catalog_featured", down)
    client = Client(raise_request_exception=False)
    page = client.get("/")
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert "Try again in a few seconds" in page.content.decode()
    assert "server closed" not in page.content.decode() and "Traceback" not in page.content.decode()
    answer = client.get("/api/v1/featured")
    assert answer.status_code == 503 and answer["Retry-After"] == "5"
    assert _codes(answer) == ["unavailable"]


def test_any_other_unhandled_error_on_a_page_is_a_plain_500(db, monkeypatch):
    from shelf.storefront import views as storefront_views

    def boom(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(storefront_views, "catalog_featured", boom)
    page = Client(raise_request_exception=False).get("/")
    assert page.status_code == 500 and "Server error" in page.content.decode() and "boom" not in page.content.decode()
