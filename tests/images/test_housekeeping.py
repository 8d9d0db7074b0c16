"""What dead workers, abandoned uploads and deletes during a job leave behind, and how it is put right.

Jobs are queued on commit; these tests never run the captured callbacks, so an image stays where a
worker that died would have left it, and the test runs the job or the housekeeping itself.
"""

import hashlib
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from shelf.images.models import Image, ImageUpload
from shelf.images.services import (
    image_copy_finish,
    image_copy_start,
    image_delete,
    image_import_complete,
    image_import_start,
    image_upload_chunk,
    organization_storage_used,
)
from shelf.images.tasks import copy_image, housekeeping, run_validation
from shelf.storage import get_storage
from tests.images.builders import MiB, sha256_of, stored_files, tools_missing

if tools_missing():
    pytest.skip(f"missing {', '.join(tools_missing())}", allow_module_level=True)

pytestmark = pytest.mark.django_db
NOTHING = {"requeued": [], "expired": []}


@pytest.fixture
def org(alice):
    return alice.memberships.get().organization


def start(alice, org, data: bytes, fmt: str = "qcow2", size: int | None = None) -> Image:
    image = image_import_start(
        actor=alice, organization=org, name="Base", region_code="ap-guangzhou", disk_format=fmt, size=size
    )
    if data:
        image_upload_chunk(actor=alice, image=image, start=0, length=len(data), total=size, body=io.BytesIO(data))
    return image


def uploaded(alice, org, path) -> Image:
    """Uploaded and completed: validating, its job queued (on commit, which never comes here)."""
    data = path.read_bytes()
    image = start(alice, org, data, size=len(data))
    return image_import_complete(actor=alice, image=image, sha256=hashlib.sha256(data).hexdigest())


def available(alice, org, path) -> Image:
    return run_validation(uploaded(alice, org, path))


def age(model, pk, **delta) -> None:
    model.objects.filter(pk=pk).update(updated_at=timezone.now() - timedelta(**delta))


def test_validation_left_by_a_dead_worker_is_queued_again(alice, org, disk_files):
    image = uploaded(alice, org, disk_files["qcow2"])
    assert image.status == "validating"
    assert housekeeping() == NOTHING  # recent: a worker may be on it right now
    age(Image, image.pk, minutes=20)
    assert housekeeping() == {"requeued": [str(image.pk)], "expired": []}
    image.refresh_from_db()
    assert image.status == "available" and image.virtual_size == 4 * MiB
    assert housekeeping() == NOTHING


def test_on_rq_housekeeping_leaves_a_dead_workers_job_to_rq(alice, org, disk_files, settings):
    """RQ runs the job again itself (shelf/workers.py): a second requeue from the row's age would run it twice."""
    settings.SHELF_JOBS_RERUN_BY_QUEUE = True
    image = uploaded(alice, org, disk_files["qcow2"])
    age(Image, image.pk, minutes=20)
    assert housekeeping() == NOTHING
    image.refresh_from_db()
    assert image.status == "validating"


def test_copy_left_by_a_dead_worker_is_queued_again(alice, org, disk_files):
    source = available(alice, org, disk_files["qcow2"])
    copy = image_copy_start(actor=alice, image=source, region_code="ap-shanghai")
    age(Image, copy.pk, hours=1)
    assert housekeeping()["requeued"] == [str(copy.pk)]
    copy.refresh_from_db()
    assert copy.status == "available" and copy.sha256 == source.sha256
    assert [sha256_of(p) for p in stored_files(copy.pk)] == [source.sha256]


def test_abandoned_upload_expires_and_frees_its_bytes_and_quota(alice, org, settings):
    settings.SHELF_UPLOAD_EXPIRY_HOURS = 24
    abandoned = start(alice, org, b"a" * MiB, fmt="raw", size=4 * MiB)
    active = start(alice, org, b"b" * MiB, fmt="raw", size=4 * MiB)
    assert organization_storage_used(org) == 8 * MiB
    age(ImageUpload, abandoned.upload.pk, hours=25)
    assert housekeeping() == {"requeued": [], "expired": [str(abandoned.pk)]}
    abandoned.refresh_from_db()
    assert abandoned.status == "failed" and abandoned.failure_code == "expired"
    assert "24 hours" in abandoned.failure_reason
    assert stored_files(abandoned.pk) == [] and stored_files(active.pk)
    assert organization_storage_used(org) == 4 * MiB


def test_copy_of_a_source_deleted_before_the_job_fails_cleanly(alice, org, disk_files):
    source = available(alice, org, disk_files["qcow2"])
    copy = image_copy_start(actor=alice, image=source, region_code="ap-shanghai")
    image_delete(actor=alice, image=source)
    assert copy_image.call(str(copy.pk)) == "failed"
    copy.refresh_from_db()
    assert copy.failure_code == "source_gone" and stored_files(copy.pk) == []


def test_copy_deleted_while_its_bytes_stream_leaves_nothing(alice, org, disk_files, monkeypatch):
    source = available(alice, org, disk_files["qcow2"])
    copy = image_copy_start(actor=alice, image=source, region_code="ap-shanghai")
    storage = get_storage()
    write = storage.write

    def write_while_deleted(key, chunks):
        image_delete(actor=alice, image=Image.objects.get(pk=copy.pk))  # the provider deletes it meanwhile
        return write(key, chunks)

    monkeypatch.setattr(storage, "write", write_while_deleted)
    image_copy_finish(copy=copy)
    # Neither the row (saving the stale instance used to insert it again) nor the bytes come back.
    assert not Image.objects.filter(pk=copy.pk).exists()
    assert stored_files(copy.pk) == []
    assert Image.objects.get(pk=source.pk).status == "available"
