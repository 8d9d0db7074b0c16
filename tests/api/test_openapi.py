"""The OpenAPI document says which errors each operation gives, in the one error schema, and how uploads send bytes."""

import json
from pathlib import Path

import pytest

DOCUMENT = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())
OPERATIONS = [(path, method, op) for path, ops in DOCUMENT["paths"].items() for method, op in ops.items()]
ERRORS = {"$ref": "#/components/schemas/ErrorsOut"}


def _error_codes(op) -> set[int]:
    return {
        int(code)
        for code, response in op["responses"].items()
        if int(code) >= 400 and response["content"]["application/json"]["schema"] == ERRORS
    }


@pytest.mark.parametrize("path,method,op", OPERATIONS, ids=[f"{m} {p}" for p, m, _o in OPERATIONS])
def test_every_operation_lists_its_errors_in_the_one_schema(path, method, op):
    codes = _error_codes(op)
    assert 422 in codes
    assert (401 in codes) == bool(op.get("security"))
    assert (404 in codes) == ("{" in path or bool(op.get("security")))  # a role-gated list is 404 to other roles
    assert (413 in codes) == ("requestBody" in op)
    if method in {"post", "put", "patch", "delete"} and op.get("security"):
        assert 409 in codes


def test_the_error_schema_is_the_readme_shape():
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["ErrorsOut"]["required"] == ["errors"]
    assert schemas["ErrorOut"]["required"] == ["field", "code", "message"]


def test_only_the_login_endpoint_documents_429():
    with_429 = [(p, m) for p, m, op in OPERATIONS if "429" in op["responses"]]
    assert with_429 == [("/api/v1/auth/token", "post")]
    assert "401" not in DOCUMENT["paths"]["/api/v1/auth/token"]["post"]["responses"]


def test_image_upload_documents_content_range_and_octet_stream():
    put = DOCUMENT["paths"]["/api/v1/images/{image_id}/upload"]["put"]
    header = [p for p in put["parameters"] if p["in"] == "header"]
    assert [(h["name"], h["required"]) for h in header] == [("Content-Range", True)]
    assert set(put["requestBody"]["content"]) == {"application/octet-stream"}


@pytest.mark.parametrize("path", ["/api/v1/products/{product_id}/pictures", "/api/v1/products/{product_id}/document"])
def test_picture_and_document_uploads_document_their_multipart_body(path):
    body = DOCUMENT["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["file"] and body["properties"]["file"]["format"] == "binary"


def test_documented_errors_are_what_the_server_answers(api, alice):
    client = api(alice)
    missing = client.get("products/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and [e["code"] for e in missing.json()["errors"]] == ["not_found"]
    assert api(None).get("products").status_code == 401


def _prop(schema_name: str, field: str) -> dict:
    prop = DOCUMENT["components"]["schemas"][schema_name]["properties"][field]
    return next((b for b in prop.get("anyOf", []) if b.get("type") != "null"), prop)


def test_seed_limits_are_constraints_taken_from_the_rules_module():
    from shelf.products import rules

    name, summary = _prop("ProductPatchIn", "name"), _prop("ProductPatchIn", "summary")
    assert name["x-submit"] == {"minLength": 1, "maxLength": rules.NAME_MAX} == {"minLength": 1, "maxLength": 80}
    assert summary["x-submit"]["maxLength"] == rules.SUMMARY_MAX == 140
    # What the server refuses even in a draft is a plain JSON Schema limit a fuzzer checks.
    assert name["maxLength"] == rules.STORAGE_LIMITS["name"]
    for field in ("tags", "software"):
        submit = _prop("ProductCreateIn", field)["x-submit"]
        assert (submit["minItems"], submit["maxItems"]) == (1, 5)
    assert _prop("ProductCreateIn", "software")["x-submit"]["items"]["maxLength"] == rules.SOFTWARE_MAX_LENGTH
    assert _prop("ProductCreateIn", "billing_mode")["enum"] == ["", "prepaid", "postpaid"]


@pytest.mark.parametrize(
    ("schema", "fields"),
    [
        ("ImageIn", {"name", "region", "format"}),
        ("TokenIn", {"name"}),
        ("AgreementIn", {"title", "body"}),
        ("ProductPatchIn", {"lock_version"}),
        ("RejectIn", {"reasons"}),
        ("WebhookIn", {"url", "events"}),
        ("DelistIn", {"reason"}),
        ("CopyIn", {"region"}),
    ],
)
def test_fields_the_server_requires_are_required_and_not_nullable(schema, fields):
    component = DOCUMENT["components"]["schemas"][schema]
    assert set(component["required"]) == fields
    for field in fields:
        assert "anyOf" not in component["properties"][field] and "default" not in component["properties"][field]


@pytest.mark.django_db
def test_a_missing_required_field_is_the_services_own_422(api, alice):
    answer = api(alice).post("images", json={})
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} >= {"name", "region", "format"}
    assert {e["code"] for e in answer.json()["errors"] if e["field"] == "region"} == {"required"}


@pytest.mark.parametrize("schema", ["CatalogItemOut", "CatalogProductOut"])
def test_what_the_catalog_shows_carries_the_seed_limits(schema):
    from shelf.products import rules

    props = DOCUMENT["components"]["schemas"][schema]["properties"]
    assert (props["name"]["minLength"], props["name"]["maxLength"]) == (1, rules.NAME_MAX)
    assert props["summary"]["maxLength"] == rules.SUMMARY_MAX
    for field, length in (("tags", rules.TAG_MAX_LENGTH), ("software", rules.SOFTWARE_MAX_LENGTH)):
        assert (props[field]["minItems"], props[field]["maxItems"], props[field]["items"]["maxLength"]) == (
            1,
            5,
            length,
        )
