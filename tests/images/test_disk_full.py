"""A full disk while an image streams in: a clear 507, the refused bytes removed, what was stored before kept, the
quota unchanged, and the upload resumable once there is room. The disk is a real small filesystem (tmpfs, root
only) mounted where the test's object store lives."""

import os
import subprocess

import pytest

from shelf.images.models import Image
from shelf.images.services import organization_storage_used
from tests.images.builders import MiB, stored_files
from tests.images.test_api import create, put

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small filesystem needs root"),
]


@pytest.fixture
def small_disk(settings, tmp_path):
    """The object store on a 6 MiB filesystem of its own (settings.DATA_DIR / "objects"), local files whatever the
    environment selects (a full disk is local storage's failure; S3's are tests/images/test_s3_uploads.py's)."""
    settings.SHELF_STORAGE = "shelf.storage.local.LocalStorage"
    settings.DATA_DIR = tmp_path
    objects = tmp_path / "objects"
    objects.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700", "shelf-test-full", str(objects)], check=True)
    try:
        yield objects
    finally:
        subprocess.run(["umount", "-l", str(objects)], check=True)


@pytest.mark.parametrize("announced", [True, False])
def test_a_full_disk_refuses_the_chunk_cleanly_and_the_upload_resumes_after(
    small_disk, api, alice, settings, announced
):
    client = api(alice)
    organization = alice.memberships.get().organization
    size = 8 * MiB
    image_id = create(client, size=size if announced else None).json()["id"]
    first = put(client, image_id, b"a" * (2 * MiB), 0, size if announced else "*")
    assert first.status_code == 200 and first.json()["received"] == 2 * MiB
    used = organization_storage_used(organization)

    refused = put(client, image_id, b"b" * (6 * MiB), 2 * MiB, size if announced else "*")
    assert refused.status_code == 507, refused.content
    error = refused.json()["errors"][0]
    assert error["code"] == "storage_full" and "storage is full" in error["message"]
    image = Image.objects.get(pk=image_id)
    assert image.status == Image.Status.IMPORTING and image.stored_size == 2 * MiB
    assert organization_storage_used(organization) == used
    (staged,) = [p for p in stored_files(image_id) if p.name.endswith(".partial")]
    assert staged.stat().st_size == 2 * MiB  # the refused bytes are gone, the acknowledged ones kept
    assert client.get(f"images/{image_id}/upload").json()["received"] == 2 * MiB

    # Room again (the operator grew the disk): the same chunk goes on from where the upload stood.
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    again = put(client, image_id, b"b" * (6 * MiB), 2 * MiB, size if announced else "*")
    assert again.status_code == 200 and again.json()["received"] == 8 * MiB
