"""Hostile text through the real HTTP API and console: NUL anywhere is a 422 naming the field; bidi controls in names.

Run on PostgreSQL too (DATABASE_URL=postgres://...), which cannot store NUL: the refusal must come first.
"""

import pytest

from shelf.accounts.models import ApiToken, Organization
from shelf.catalog.models import Agreement
from shelf.images.models import Image
from shelf.products.models import Product
from shelf.text import BIDI_CONTROLS
from tests.conftest import PASSWORD

RLO = "\u202e"


def _refused(response, field: str, code: str):
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert (field, code) in [(e["field"], e["code"]) for e in errors], errors
    return errors


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("tokens", {"name": "lap\x00top"}, "name"),
        ("auth/token", {"username": "ali\x00ce", "password": "x"}, "username"),
        ("auth/token", {"username": "alice", "password": "pass\x00word"}, "password"),
        ("products", {"name": "ok", "tags": ["fine", "ba\x00d"]}, "tags"),
        ("products", {"name": "ok", "currency": "CN\x00Y"}, "currency"),
        ("products", {"name": "ok", "price_monthly": "1\x00"}, "price_monthly"),
        ("products", {"name": "ok", "deliveries": {"ap-guang\x00zhou": "x"}}, "deliveries"),
        (
            "images",
            {"name": "disk", "region": "ap-guangzhou", "format": "qcow2", "size": 1, "os_hint": "\x00"},
            "os_hint",
        ),
        ("agreements", {"title": "EULA", "body": "text\x00"}, "body"),
        ("webhooks", {"url": "https://example.com/\x00", "events": ["product.approved"]}, "url"),
    ],
)
def test_nul_in_a_json_body_is_422_naming_the_field(api, alice, path, body, field):
    _refused(api(alice).post(path, json=body), field, "nul_character")
    assert not ApiToken.objects.filter(name__contains="lap").exists()


def test_nul_in_a_patch_is_422_and_changes_nothing(api, alice):
    client = api(alice)
    product = client.post("products", json={"name": "first"}).json()
    _refused(client.patch(f"products/{product['id']}", json={"summary": "a\x00b"}), "summary", "nul_character")
    assert client.get(f"products/{product['id']}").json()["name"] == "first"


@pytest.mark.parametrize(
    "path,field",
    [
        ("products?status=draft%00", "status"),
        ("images?region=ap%00", "region"),
        ("products?st%00atus=x", "st\\x00atus"),
    ],
)
def test_nul_in_a_list_filter_is_422_naming_it(api, alice, path, field):
    _refused(api(alice).get(path), field, "nul_character")


def test_nul_in_the_review_queue_filter_is_422(api, olivia):
    _refused(api(olivia).get("reviews?category=%00"), "category", "nul_character")


@pytest.mark.parametrize("control", sorted(BIDI_CONTROLS))
def test_bidi_controls_are_refused_in_a_token_name(api, alice, control):
    errors = _refused(api(alice).post("tokens", json={"name": f"laptop{control}pot"}), "name", "bidi_control")
    assert "bidirectional" in errors[0]["message"]


@pytest.mark.parametrize(
    "path,body,field",
    [
        ("images", {"name": f"Debian{RLO}lqc.exe", "region": "ap-guangzhou", "format": "qcow2", "size": 1}, "name"),
        ("agreements", {"title": f"EULA{RLO}", "body": "text"}, "title"),
        ("auth/token", {"username": "alice", "password": PASSWORD, "name": f"cli{RLO}"}, "name"),
    ],
)
def test_bidi_controls_are_refused_in_names(api, alice, path, body, field):
    _refused(api(alice).post(path, json=body), field, "bidi_control")
    assert not Image.objects.exists() and not Agreement.objects.filter(title__startswith="EULA").exists()


def test_bidi_controls_in_a_product_name_fail_its_rule_on_validate(api, alice):
    client = api(alice)
    product = client.post("products", json={"name": f"Good{RLO}evil"}).json()
    errors = client.post(f"products/{product['id']}/validate").json()
    assert any(e["field"] == "name" and e["code"] == "bidi_control" for e in errors["errors"]), errors


def test_bidi_controls_stay_allowed_in_free_text(api, alice):
    client = api(alice)
    response = client.post("agreements", json={"title": "EULA", "body": f"Arabic quote: {RLO}text"})
    assert response.status_code == 201, response.content


def test_console_form_with_nul_is_422_naming_the_field(web, alice):
    # As a browser sends a form without files: urlencoded.
    body = "name=lap%00top"
    response = web(alice).post("/accounts/tokens/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422
    assert response.content.decode().startswith("name:")
    assert not ApiToken.objects.filter(user=alice).exists()


def test_console_multipart_form_with_nul_is_refused_by_the_form(web, alice):
    page = web(alice).post("/accounts/tokens/", {"name": "lap\x00top"}, follow=True).content.decode()
    assert "Give the token a name." in page
    assert not ApiToken.objects.filter(user=alice).exists()


def test_console_wizard_with_nul_is_422_and_saves_nothing(web, alice):
    client = web(alice)
    product_id = client.post("/provider/products/new/")["Location"].split("/")[3]
    response = client.post(f"/provider/products/{product_id}/edit/basic/", {"name": "bad\x00", "go": "save"})
    assert response.status_code == 422
    assert Product.objects.get(pk=product_id).revisions.get().name != "bad\x00"


def test_console_list_filter_with_nul_is_422(web, alice):
    assert web(alice).get("/provider/products/?status=%00").status_code == 422


def test_console_signup_refuses_bidi_in_the_organisation_name(client, db):
    response = client.post(
        "/accounts/signup/provider/",
        {
            "username": "mallory",
            "email": "m@example.com",
            "password": "correct-Horse-battery-9",
            "organization_name": f"Alice{RLO}segamI",
        },
    )
    assert "bidirectional" in response.content.decode()
    assert not Organization.objects.filter(name__startswith="Alice").exists()


def test_console_signup_refuses_bidi_in_the_username(client, db):
    response = client.post(
        "/accounts/signup/",
        {"username": f"bob{RLO}", "email": "b@example.com", "password": "correct-Horse-battery-9"},
    )
    assert response.status_code != 302
    assert "bidirectional" in response.content.decode()


def test_console_token_name_refuses_bidi(web, alice):
    response = web(alice).post("/accounts/tokens/", {"name": f"lap{RLO}"}, follow=True)
    assert "bidirectional" in response.content.decode()
    assert not ApiToken.objects.filter(user=alice).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("value", [True, False])
def test_true_or_false_is_no_number(api, alice, value):
    answer = api(alice).post("images", json={"name": "disk", "region": "ap-guangzhou", "format": "raw", "size": value})
    assert answer.status_code == 422
    assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [("size", "bool_not_number")]
