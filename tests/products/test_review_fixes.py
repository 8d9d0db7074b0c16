"""Regression tests for problems found in review: each one failed before its fix."""

import pytest

from shelf.errors import RuleViolations
from shelf.products.models import Revision
from shelf.products.services import product_create, product_save_draft
from tests import s3


def _new_product(client) -> str:
    return client.post("/provider/products/new/")["Location"].split("/")[3]


def test_wizard_with_a_malformed_lock_version_is_a_field_error_not_a_500(web, alice):
    client = web(alice)
    pid = _new_product(client)
    response = client.post(
        f"/provider/products/{pid}/edit/basic/", {"lock_version": "abc", "name": "Kept", "go": "save"}
    )
    assert response.status_code == 422
    assert "lock_version" in response.context["field_errors"]
    assert Revision.objects.get(product_id=pid).name == ""


def test_service_with_a_malformed_lock_version_names_the_field(alice):
    revision = product_create(actor=alice, organization=alice.organizations.get())
    with pytest.raises(RuleViolations) as exc:
        product_save_draft(actor=alice, revision=revision, lock_version="1.5x", changes={"name": "x"})
    assert exc.value.violations[0].field == "lock_version"


def test_upload_with_a_malformed_content_length_is_not_a_500(api, alice):
    client = api(alice)
    pid = client.post("products", json={}).json()["id"]
    response = client.client.post(f"/api/v1/products/{pid}/pictures", {}, headers=client.headers, CONTENT_LENGTH="abc")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "pictures"


def test_product_list_api_does_not_query_per_product(api, alice, alice_image):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.products.conftest import complete_fields

    client = api(alice)
    client.post("products", json=complete_fields(alice_image))
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("products").json()) == 1
    for _ in range(5):
        client.post("products", json=complete_fields(alice_image))
    with CaptureQueriesContext(connection) as six:
        listed = client.get("products").json()
    assert len(listed) == 6 and listed[0]["deliveries"] == {alice_image.region.code: str(alice_image.pk)}
    assert len(six) == len(one)


@pytest.mark.parametrize("kind", ["picture", "document"])
def test_a_failed_attach_leaves_no_file_in_storage(alice, settings, monkeypatch, kind):
    import io

    from shelf.products import services
    from tests.products.conftest import PDF_BYTES, png_bytes

    revision = product_create(actor=alice, organization=alice.organizations.get())

    def broken_audit(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "audit_record", broken_audit)
    with pytest.raises(RuntimeError):
        if kind == "picture":
            services.picture_add(actor=alice, revision=revision, fileobj=io.BytesIO(png_bytes()))
        else:
            services.document_set(actor=alice, revision=revision, fileobj=io.BytesIO(PDF_BYTES), filename="a.pdf")
    if settings.SHELF_STORAGE == s3.S3_STORAGE:
        assert s3.stored_copies(settings, "products/") == []
        return
    objects = settings.DATA_DIR / "objects" / "products"
    assert not objects.exists() or not [p for p in objects.rglob("*") if p.is_file()]


def test_nul_characters_are_refused_per_field_not_left_for_postgresql_to_crash_on(api, alice):
    client = api(alice)
    created = client.post("products", json={"name": "LAMP\x00", "tags": ["ok", "b\x00d"]})
    assert created.status_code == 422
    assert {e["field"] for e in created.json()["errors"]} == {"name", "tags"}
    image = client.post("images", json={"name": "disk\x00", "region": "ap-guangzhou", "format": "qcow2"})
    assert image.status_code == 422 and image.json()["errors"][0]["field"] == "name"
