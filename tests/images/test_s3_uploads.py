"""Image uploads on S3 (a moto server process) through the HTTP API: limits while streaming, S3 failing midway."""

import hashlib

import pytest

from shelf.images.models import Image
from shelf.images.services import organization_storage_used
from shelf.storage import _storage_for, get_storage
from shelf.storage.s3 import _client
from tests import s3
from tests.images.builders import MiB
from tests.images.test_api import codes, create, put

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_api(api, alice, s3_bucket):
    return api(alice)


def test_chunked_upload_spanning_parts_resumes_on_a_fresh_web_process(alice_api, s3_bucket):
    client, bucket = s3_bucket
    data = hashlib.sha256(b"seed").digest() * (13 * MiB // 32)
    image_id = create(alice_api, size=len(data)).json()["id"]
    for start in range(0, len(data), 3 * MiB):  # 3 MiB chunks, 5 MiB parts: every part is built across requests
        _storage_for.cache_clear()  # a new storage object and S3 client for every request: nothing in memory
        _client.cache_clear()
        response = put(alice_api, image_id, data[start : start + 3 * MiB], start, len(data))
        assert response.status_code == 200, response.json()
    key = Image.objects.get(pk=image_id).storage_key
    storage = get_storage()
    with storage.staging_lock(key):
        storage.staging_promote(key)  # what completing does, before validation (these bytes are no disk)
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
    assert s3.bucket_contents(client, bucket) == [key]


def test_chunk_beyond_the_announced_size_is_refused_before_streaming(alice_api, s3_bucket):
    client, bucket = s3_bucket
    image_id = create(alice_api, size=6 * MiB).json()["id"]
    assert put(alice_api, image_id, b"a" * (4 * MiB), 0, 6 * MiB).status_code == 200
    response = put(alice_api, image_id, b"b" * (3 * MiB), 4 * MiB)
    assert response.status_code == 413 and codes(response) == {("content_range", "beyond_size")}
    assert put(alice_api, image_id, b"c" * (2 * MiB), 4 * MiB, 6 * MiB).json()["received"] == 6 * MiB


def test_streaming_over_quota_is_413_and_removes_every_part(alice_api, alice, s3_bucket):
    client, bucket = s3_bucket
    org = alice.memberships.get().organization
    org.image_quota_bytes = 8 * MiB
    org.save()
    image_id = create(alice_api).json()["id"]  # no size: each chunk reserves quota before it streams
    assert put(alice_api, image_id, b"a" * (6 * MiB), 0).json()["received"] == 6 * MiB
    assert any(entry.startswith("multipart:") for entry in s3.bucket_contents(client, bucket))
    response = put(alice_api, image_id, b"b" * (3 * MiB), 6 * MiB)
    assert response.status_code == 413 and codes(response) == {("size", "quota_exceeded")}
    assert s3.bucket_contents(client, bucket) == []


def test_s3_failing_midway_is_a_clear_503_and_leaves_no_partial_upload(alice_api, alice, s3_bucket, moto_endpoint):
    """After the first part is stored, another S3 client aborts the multipart upload, so the server's next
    UploadPart gets a real NoSuchUpload from S3."""
    client, bucket = s3_bucket
    org = alice.memberships.get().organization
    before = organization_storage_used(org)
    image_id = create(alice_api).json()["id"]
    assert put(alice_api, image_id, b"a" * MiB, 0).status_code == 200
    other = s3.fresh_client(moto_endpoint)

    def abort_after_the_first_part(http_response, parsed, model, **kwargs):
        for upload in other.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            other.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])

    client.meta.events.register("after-call.s3.UploadPart", abort_after_the_first_part)
    try:
        response = put(alice_api, image_id, b"b" * (12 * MiB), MiB)
    finally:
        client.meta.events.unregister("after-call.s3.UploadPart", abort_after_the_first_part)
    assert response.status_code == 503, response.content
    assert codes(response) == {(None, "storage_error")}
    assert "Object storage failed" in response.json()["errors"][0]["message"]
    image = Image.objects.get(pk=image_id)
    assert image.status == Image.Status.FAILED and image.failure_code == "storage_error"
    assert image.stored_size == 0
    assert s3.bucket_contents(client, bucket) == []
    assert organization_storage_used(org) == before


def test_completing_when_s3_lost_the_staged_bytes_is_a_503_not_a_500(alice_api, s3_bucket):
    client, bucket = s3_bucket
    data = b"x" * (2 * MiB)
    image_id = create(alice_api, size=len(data)).json()["id"]
    assert put(alice_api, image_id, data, 0, len(data)).status_code == 200
    (tail,) = [key for key in s3.bucket_contents(client, bucket) if key.startswith(".staging/")]
    client.delete_object(Bucket=bucket, Key=tail)  # what an operator's over-eager cleanup would do
    response = alice_api.post(f"images/{image_id}/upload/complete", json={"sha256": hashlib.sha256(data).hexdigest()})
    assert response.status_code == 503 and codes(response) == {(None, "storage_unavailable")}
    assert Image.objects.get(pk=image_id).status == Image.Status.IMPORTING  # nothing decided on a failed store
