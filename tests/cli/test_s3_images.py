"""`shelf image import` against a live server storing in S3 (a moto server process): an import interrupted after
several parts resumes on a web process that forgot everything, and the object is byte-identical."""

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from shelf.accounts.services import token_create
from shelf.images import api as images_api
from shelf.images.models import Image
from shelf.storage import _storage_for
from shelf.storage.s3 import _client
from tests import s3
from tests.cli.conftest import SHELF
from tests.cli.test_images import Gate, cli_env, image_id_printed, interrupt
from tests.images.builders import MiB, sha256_of, tools_missing

if tools_missing():
    pytest.skip(f"missing {', '.join(tools_missing())}", allow_module_level=True)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice_token(alice):
    return token_create(user=alice, name="cli tests")[1]


@pytest.fixture
def big_raw(tmp_path) -> Path:
    """24 MiB of random bytes behind an MBR signature, as in test_images: several parts, one tail."""
    path = tmp_path / "big.raw"
    with open(path, "wb") as fh:
        for _ in range(24):
            fh.write(os.urandom(MiB))
        fh.seek(510)
        fh.write(b"\x55\xaa")
    return path


@pytest.fixture
def gated_after_a_part(monkeypatch, settings, s3_bucket):
    """1 MiB chunks; the server holds its answer to the 7th, when S3 holds one 5 MiB part and a 2 MiB tail."""
    settings.SHELF_UPLOAD_CHUNK_MAX = MiB
    gate = Gate(images_api.image_upload_chunk, after=7)
    monkeypatch.setattr(images_api, "image_upload_chunk", gate)
    yield gate
    gate.released.set()


def test_interrupted_import_resumes_after_the_web_forgot_its_state(
    live_server,
    alice_token,
    big_raw,
    tmp_path,
    gated_after_a_part,
    s3_bucket,  # noqa: F811
):
    client, bucket = s3_bucket
    env = cli_env(tmp_path, live_server.url, alice_token)
    command = [SHELF, "image", "import", str(big_raw), "--region", "ap-guangzhou", "--name", "big"]
    returncode, stdout, stderr = interrupt(command, env, gated_after_a_part)
    assert returncode == 130, stdout + stderr
    image = Image.objects.get()
    assert image.upload.received == 7 * MiB
    assert f"multipart:{image.storage_key}" in s3.bucket_contents(client, bucket)

    _storage_for.cache_clear()  # the web process restarts: no storage object, no S3 client, no memory of parts
    _client.cache_clear()
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert image_id_printed(second) == str(image.pk)
    assert "Resuming import" in second.stdout
    image.refresh_from_db()
    assert image.status == "available", image.failure_reason
    assert image.sha256 == sha256_of(big_raw)
    stored = client.get_object(Bucket=bucket, Key=image.storage_key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == sha256_of(big_raw)
    assert s3.bucket_contents(client, bucket) == [image.storage_key]
