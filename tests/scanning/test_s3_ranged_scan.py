"""The scan engine reading an image straight from S3 (a moto server) by ranged GETs, not from a downloaded copy."""

import pytest

from shelf.scanning.engine import scan_handle
from shelf.storage import get_storage
from tests.scanning.conftest import TODAY, ids

pytestmark = pytest.mark.django_db
KEY = "images/ap-guangzhou/1/5b0f7b8e-1a2b-4c3d-9e8f-0a1b2c3d4e5f"


@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_scan_through_ranged_reads_finds_what_the_file_scan_finds(image_factory, s3_bucket, fmt):
    path = image_factory.image("benign", fmt=fmt)
    from_file = image_factory.scan("benign", fmt=fmt)
    storage = get_storage()
    with open(path, "rb") as fh:
        storage.write(KEY, iter(lambda: fh.read(1024 * 1024), b""))
    with storage.open(KEY) as fh:
        result = scan_handle(fh, fmt, today=TODAY)
        fetched, requests = fh.bytes_fetched, fh.requests
    assert ids(result) == ids(from_file) and not result.incomplete
    size = path.stat().st_size
    print(f"{fmt}: {size} bytes stored, {fetched} fetched in {requests} ranged GETs ({100 * fetched / size:.1f}%)")
    # The raw test disk is mostly empty space the scan never reads; the small qcow2 holds little but data.
    assert fetched < (size // 10 if fmt == "raw" else size)
