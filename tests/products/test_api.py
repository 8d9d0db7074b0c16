"""The product API end to end: drafts, uploads checked by content, every transition allowed and refused."""

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shelf.products.models import Revision
from tests.products.conftest import PDF_BYTES, complete_fields, make_image, png_bytes
from tests.s3 import downloaded


def upload(client, product_id, kind, name, data):
    return client.client.post(
        f"/api/v1/products/{product_id}/{kind}", {"file": SimpleUploadedFile(name, data)}, headers=client.headers
    )


@pytest.fixture
def ready(api, alice, alice_image):
    """A complete draft of alice's that may be submitted."""
    client = api(alice)
    product = client.post("products", json=complete_fields(alice_image)).json()
    assert upload(client, product["id"], "pictures", "shot.png", png_bytes()).status_code == 201
    assert upload(client, product["id"], "document", "guide.pdf", PDF_BYTES).status_code == 201
    return client, product["id"]


def test_draft_saves_any_subset_even_invalid(api, alice):
    client = api(alice)
    product = client.post("products", json={"name": "n" * 81, "tags": ["a", "a"], "price_monthly": "1.999"}).json()
    assert product["name"] == "n" * 81 and product["tags"] == ["a", "a"] and product["status"] == "draft"
    assert product["price_monthly"] == "1.999"  # kept as typed so the provider sees what to fix
    response = client.post(f"products/{product['id']}/validate")
    fields = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert {("name", "max_length"), ("tags[1]", "duplicate"), ("price_monthly", "decimal_places")} <= fields


def test_validate_lists_every_violation_and_changes_nothing(api, alice):
    client = api(alice)
    product = client.post("products", json={}).json()
    response = client.post(f"products/{product['id']}/validate")
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    for field in [
        "category",
        "name",
        "tags",
        "software",
        "version",
        "agreement",
        "deliveries",
        "billing_mode",
        "pictures",
        "summary",
        "document",
        "details",
    ]:
        assert field in fields
    assert client.get(f"products/{product['id']}").json()["lock_version"] == product["lock_version"]


def test_complete_product_validates_submits_withdraws_resubmits(ready):
    client, product_id = ready
    assert client.post(f"products/{product_id}/validate").json() == {"valid": True}
    submitted = client.post(f"products/{product_id}/submit").json()
    assert submitted["status"] == "in_review" and submitted["due_at"] > submitted["submitted_at"]
    assert client.post(f"products/{product_id}/submit").status_code == 409
    edit = client.patch(f"products/{product_id}", json={"lock_version": submitted["lock_version"], "name": "new"})
    assert edit.status_code == 409 and "Withdraw" in edit.json()["errors"][0]["message"]
    assert upload(client, product_id, "pictures", "b.png", png_bytes()).status_code == 409
    withdrawn = client.post(f"products/{product_id}/withdraw").json()
    assert withdrawn["status"] == "draft" and withdrawn["due_at"] is None
    assert client.post(f"products/{product_id}/withdraw").status_code == 409
    edited = client.patch(f"products/{product_id}", json={"lock_version": withdrawn["lock_version"], "name": "LAMP v2"})
    assert edited.status_code == 200
    assert client.post(f"products/{product_id}/submit").json()["status"] == "in_review"
    actions = [e["action"] for e in client.get(f"products/{product_id}/audit").json()]
    assert actions[:4] == ["product.submit", "product.save", "product.withdraw", "product.submit"]


@pytest.mark.parametrize(
    "verdict,code", [("failed", "scan_failed"), ("incomplete", "scan_incomplete"), (None, "scan_missing")]
)
def test_submit_needs_a_passed_scan_of_every_delivered_image(api, alice, alice_org, verdict, code):
    client = api(alice)
    image = make_image(alice_org, scan_verdict=verdict)
    product = client.post("products", json=complete_fields(image)).json()
    upload(client, product["id"], "pictures", "a.png", png_bytes())
    upload(client, product["id"], "document", "a.pdf", PDF_BYTES)
    response = client.post(f"products/{product['id']}/submit")
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("security.ap-guangzhou", code)]
    assert Revision.objects.get(product_id=product["id"]).status == "draft"


def test_stale_save_is_409_and_says_what_changed(api, alice):
    tab_one, tab_two = api(alice), api(alice)
    product = tab_one.post("products", json={"name": "first"}).json()
    assert (
        tab_one.patch(
            f"products/{product['id']}", json={"lock_version": product["lock_version"], "summary": "mine"}
        ).status_code
        == 200
    )
    stale = tab_two.patch(f"products/{product['id']}", json={"lock_version": product["lock_version"], "name": "theirs"})
    assert stale.status_code == 409
    errors = stale.json()["errors"]
    assert errors[0]["code"] == "stale"
    assert [(e["field"], e["code"]) for e in errors[1:]] == [("summary", "changed")]
    assert "alice" in errors[1]["message"]
    assert tab_two.get(f"products/{product['id']}").json()["name"] == "first"
    assert tab_two.patch(f"products/{product['id']}", json={"name": "x"}).json()["errors"][0]["field"] == "lock_version"


def test_other_provider_and_buyer_get_404(api, alice, bob, bruce, ready):
    _client, product_id = ready
    bob_client = api(bob)
    for method, path in [
        ("get", ""),
        ("patch", ""),
        ("post", "/validate"),
        ("post", "/submit"),
        ("post", "/withdraw"),
        ("get", "/audit"),
        ("get", "/document"),
    ]:
        response = getattr(bob_client, method)(
            f"products/{product_id}{path}", json={"lock_version": 1} if method == "patch" else None
        )
        assert response.status_code == 404, (method, path)
    assert upload(bob_client, product_id, "pictures", "a.png", png_bytes()).status_code == 404
    assert product_id not in [p["id"] for p in bob_client.get("products").json()]
    assert api(bruce).post("products", json={}).status_code == 404
    assert api(bruce).get("products").json() == []


def test_cannot_deliver_someone_elses_image(api, alice, bob):
    bob_image = make_image(bob.organizations.get())
    response = api(alice).post("products", json={"deliveries": {"ap-guangzhou": str(bob_image.pk)}})
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "deliveries.ap-guangzhou",
        "code": "unknown_image",
        "message": "Choose one of your own images in ap-guangzhou.",
    }


def test_image_a_product_sells_cannot_be_deleted(ready, alice_image):
    client, _product_id = ready
    response = client.delete(f"images/{alice_image.pk}")
    assert response.status_code == 409
    assert "LAMP" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "data,status,code",
    [
        (png_bytes(size=(389, 260)), 422, "size"),
        (png_bytes(dpi=(71, 71)), 422, "dpi"),
        (PDF_BYTES, 422, "type"),
    ],
)
def test_pictures_are_checked_by_content(api, alice, data, status, code):
    client = api(alice)
    product = client.post("products", json={}).json()
    response = upload(client, product["id"], "pictures", "looks-fine.png", data)
    assert response.status_code == status
    assert response.json()["errors"][0]["field"] == "pictures" and response.json()["errors"][0]["code"] == code


def _padded_png(total: int) -> bytes:
    """A valid 390x260 72 dpi PNG padded to exactly `total` bytes with a private ancillary chunk."""
    import struct
    import zlib

    base = png_bytes()
    iend = base.rindex(b"IEND") - 4
    filler = total - len(base) - 12
    chunk = struct.pack(">I", filler) + b"prVt" + b"\0" * filler
    chunk += struct.pack(">I", zlib.crc32(b"prVt" + b"\0" * filler))
    return base[:iend] + chunk + base[iend:]


def test_picture_two_megabytes_accepted_one_byte_more_refused(api, alice):
    client = api(alice)
    product = client.post("products", json={}).json()
    limit = 2 * 1024 * 1024
    assert upload(client, product["id"], "pictures", "a.png", _padded_png(limit)).status_code == 201
    response = upload(client, product["id"], "pictures", "b.png", _padded_png(limit + 1))
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "pictures"


def test_fifty_megabyte_picture_is_refused_before_reading(api, alice, settings):
    client = api(alice)
    product = client.post("products", json={}).json()
    response = upload(client, product["id"], "pictures", "big.png", b"\0" * (50 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["errors"][0]["field"] == "pictures"


def test_streaming_handler_stops_at_the_limit(rf, settings):
    """Without a Content-Length to refuse early, the upload handler stops reading at limit + 1 byte."""
    from django.core.files.uploadhandler import StopUpload

    from shelf.uploads import LimitedUploadHandler

    request = rf.post("/")
    handler = LimitedUploadHandler(request)
    handler.new_file("file", "big.png", "image/png", None)
    chunk = b"\0" * (64 * 1024)
    consumed = 0
    with pytest.raises(StopUpload):
        for start in range(0, 50 * 1024 * 1024, len(chunk)):
            consumed += len(chunk)
            handler.receive_data_chunk(chunk, start)
    assert consumed <= settings.SHELF_MULTIPART_FILE_MAX + len(chunk)
    assert request.shelf_upload_too_large


def test_document_pdf_that_is_really_a_png_is_refused(api, alice):
    client = api(alice)
    product = client.post("products", json={}).json()
    response = upload(client, product["id"], "document", "guide.pdf", png_bytes())
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "type"


def test_zip_bomb_document_refused(api, alice):
    client = api(alice)
    product = client.post("products", json={}).json()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (200 * 1024 * 1024))
    response = upload(client, product["id"], "document", "docs.zip", buffer.getvalue())
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "zip_bomb"


def test_document_downloadable_with_real_extension(ready):
    client, product_id = ready
    status, body, headers = downloaded(client.get(f"products/{product_id}/document"))
    assert status == 200 and body == PDF_BYTES
    assert 'filename="guide.pdf"' in headers["Content-Disposition"]


def test_details_are_sanitized(api, alice):
    client = api(alice)
    details = (
        "## Features\n<script>alert(1)</script><img src=x onerror=alert(2)>"
        '[click](javascript:alert(3)) <a href="JaVaScRiPt:alert(4)">x</a> <p onclick="alert(5)">p</p>'
    )
    html = client.post("products", json={"details": details}).json()["details_html"]
    assert "<h2>Features</h2>" in html
    for bad in ("<script", "onerror", "onclick"):
        assert bad not in html
    assert not re.search(r"(href|src)\s*=\s*[\"']?\s*javascript:", html, re.IGNORECASE)


def test_new_agreement_written_in_the_wizard(api, alice):
    client = api(alice)
    product = client.post(
        "products", json={"new_agreement": {"title": "Alice SLA", "body": "We answer in 1 day."}}
    ).json()
    agreement = client.get(f"agreements/{product['agreement']}").json()
    assert agreement["title"] == "Alice SLA" and agreement["organization"] == "alice-images"
    bad = client.post("products", json={"new_agreement": {"title": "", "body": ""}})
    assert {e["field"] for e in bad.json()["errors"]} == {"new_agreement.title", "new_agreement.body"}


def test_float_prices_are_refused_whole_numbers_accepted(api, alice):
    response = api(alice).post("products", json={"price_monthly": 9.99})
    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "price_monthly",
        "code": "not_decimal",
        "message": 'Send prices as decimal strings like "12.50", not as floating-point numbers.',
    }
    assert api(alice).post("products", json={"price_monthly": 99}).json()["price_monthly"] == "99.00"


def test_document_can_be_removed(ready):
    client, product_id = ready
    assert client.delete(f"products/{product_id}/document").status_code == 204
    assert client.get(f"products/{product_id}").json()["document"] is None
    assert "document" in {e["field"] for e in client.post(f"products/{product_id}/validate").json()["errors"]}


@pytest.mark.parametrize("value", [False, 0, "x", [1]])
def test_a_new_agreement_that_is_not_an_object_is_a_422_naming_it(api, alice, value):
    response = api(alice).post("products", json={"new_agreement": value})
    assert response.status_code == 422, response.json()
    error = response.json()["errors"][0]
    assert error["field"].startswith("new_agreement") and error["code"] == "object_expected"
