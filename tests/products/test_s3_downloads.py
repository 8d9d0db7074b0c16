"""Pictures and documents on S3: still checked by content on upload, then served by presigned URLs."""

import urllib.request

import pytest

from tests.products.conftest import PDF_BYTES, png_bytes
from tests.products.test_api import ready, upload  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_s3(s3_bucket):
    return s3_bucket


def test_downloads_redirect_to_short_lived_presigned_urls(on_s3, ready, api, alice):  # noqa: F811
    client, product_id = ready
    product = client.get(f"products/{product_id}").json()
    answers = {
        "picture": client.client.get(product["pictures"][0]["url"], headers=client.headers),
        "document": client.get(f"products/{product_id}/document"),
    }
    for kind, response in answers.items():
        assert response.status_code == 302, kind
        assert "X-Amz-Signature=" in response["Location"] and "X-Amz-Expires=300" in response["Location"]
        assert response["Cache-Control"] == "private, max-age=60"
        with urllib.request.urlopen(response["Location"], timeout=30) as fetched:  # noqa: S310 - loopback moto
            body, headers = fetched.read(), fetched.headers
        if kind == "document":
            assert body == PDF_BYTES and 'filename="guide.pdf"' in headers["Content-Disposition"]
            assert headers["Content-Type"] == "application/pdf"
        else:
            assert body.startswith(b"\x89PNG") and headers["Content-Type"] == "image/png"


def test_a_file_that_is_not_what_it_claims_is_refused_and_not_stored(on_s3, api, alice):
    client, bucket = on_s3
    api_client = api(alice)
    product = api_client.post("products", json={}).json()
    response = upload(api_client, product["id"], "pictures", "shot.png", b"<html>not a picture</html>")
    assert response.status_code == 422
    assert not client.list_objects_v2(Bucket=bucket).get("Contents")
    assert upload(api_client, product["id"], "pictures", "shot.png", png_bytes()).status_code == 201


def test_pages_let_images_come_from_the_object_store_and_nowhere_else(on_s3, client, moto_endpoint):
    policy = client.get("/accounts/login/")["Content-Security-Policy"]
    assert f"img-src 'self' data: {moto_endpoint}; " in policy
    assert "default-src 'self';" in policy and "script-src 'self';" in policy
