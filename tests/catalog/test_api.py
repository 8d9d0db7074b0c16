import pytest

from shelf.catalog.models import Agreement

SEEDED_REGIONS = {"ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-chengdu", "ap-hongkong", "na-siliconvalley"}


def test_regions_are_seeded_bilingual(api, bruce):
    regions = api(bruce).get("regions").json()
    assert SEEDED_REGIONS <= {r["code"] for r in regions}
    guangzhou = next(r for r in regions if r["code"] == "ap-guangzhou")
    assert guangzhou["name_zh"] == "华南地区（广州）" and "Guangzhou" in guangzhou["name_en"]


def test_categories_are_a_two_level_tree(api, bruce):
    tops = api(bruce).get("categories").json()
    names = {t["name_en"] for t in tops}
    assert {"Operating systems", "Website builders", "Databases", "Developer tools", "Operations", "Security"} <= names
    assert all(t["children"] for t in tops)
    assert all("children" not in leaf for t in tops for leaf in t["children"])


def test_provider_creates_agreement_for_its_organisation(api, alice):
    response = api(alice).post("agreements", json={"title": "Alice terms", "body": "We support you 7x8."})
    assert response.status_code == 201
    body = response.json()
    assert body["organization"] == "alice-images" and body["is_template"] is False


def test_422_lists_every_violation_at_once(api, alice):
    response = api(alice).post("agreements", json={"title": "x" * 121, "body": "", "organization": "nope"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {(e["field"], e["code"]) for e in errors} == {
        ("organization", "unknown"),
        ("title", "max_length"),
        ("body", "required"),
    }
    assert all(set(e) == {"field", "code", "message"} and e["message"] for e in errors)


def test_schema_type_errors_use_the_same_shape(api, alice):
    response = api(alice).post("agreements", json={"title": ["not", "text"], "body": 5})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"title", "body"}


def test_provider_never_sees_another_organisations_agreement(api, web, alice, bob):
    created = api(alice).post("agreements", json={"title": "Alice private", "body": "terms"}).json()
    bob_api = api(bob)
    assert bob_api.get(f"agreements/{created['id']}").status_code == 404
    assert created["id"] not in {a["id"] for a in bob_api.get("agreements").json()}
    assert web(bob).get(f"/provider/agreements/{created['id']}/").status_code == 404
    assert api(alice).get(f"agreements/{created['id']}").status_code == 200


def test_templates_visible_to_providers(api, alice):
    agreements = api(alice).get("agreements").json()
    assert any(a["is_template"] for a in agreements)


def test_operator_creates_templates(api, olivia):
    response = api(olivia).post("agreements", json={"title": "New template", "body": "text"})
    assert response.status_code == 201 and response.json()["is_template"] is True


@pytest.mark.parametrize("title_len,ok", [(120, True), (121, False)])
def test_agreement_title_boundary(api, alice, title_len, ok):
    response = api(alice).post("agreements", json={"title": "协" * title_len, "body": "b"})
    assert (response.status_code == 201) is ok


def test_member_of_two_organisations_must_say_which(api, alice, bob):
    from shelf.accounts.models import Organization
    from shelf.accounts.services import membership_add

    membership_add(actor=None, organization=Organization.objects.get(slug="bob-cloud"), user=alice)
    client = api(alice)
    response = client.post("agreements", json={"title": "t", "body": "b"})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "organization"
    response = client.post("agreements", json={"title": "t", "body": "b", "organization": "bob-cloud"})
    assert response.status_code == 201
    assert Agreement.objects.get(pk=response.json()["id"]).organization.slug == "bob-cloud"


def test_openapi_document_is_served_and_committed(client, db):
    import json
    from pathlib import Path

    served = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/agreements" in served["paths"]
    committed = json.loads((Path(__file__).parents[2] / "docs" / "openapi.json").read_text())
    assert served == committed, "API changed: regenerate with `make openapi` and commit docs/openapi.json"
    assert client.get("/api/v1/docs").status_code == 200
