"""One contract for every storage back end: the same tests on local files and on S3 (a moto server process)."""

import hashlib
import os
import threading
import time
import urllib.request

import pytest
from django.db import connection

from shelf.storage import _storage_for, get_storage
from shelf.storage.models import StagedObject
from shelf.storage.s3 import READ_BLOCK, READ_CACHE_BLOCKS, _client
from tests import s3

pytestmark = pytest.mark.django_db
MiB = 1024 * 1024
KEY = "images/ap-guangzhou/7/0f6c9d2e-5f43-4d3a-9a35-2c0de1f0a111"


def pattern(size: int, seed: int = 0) -> bytes:
    """Bytes that differ at every offset, so a part put at the wrong place changes the digest."""
    block = hashlib.sha256(f"{seed}".encode()).digest() * (MiB // 32)
    return (block * (size // len(block) + 1))[:size]


def pieces(data: bytes, size: int):
    return (data[i : i + size] for i in range(0, len(data), size))


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request, settings):
    """Yields (kind, bucket client or None, bucket or None); get_storage() answers with that back end."""
    if request.param == "s3":
        client, bucket = request.getfixturevalue("s3_bucket")
        yield "s3", client, bucket
    else:
        settings.SHELF_STORAGE = "shelf.storage.local.LocalStorage"
        yield "local", None, None


def forget():
    """What a restarted web process knows: nothing in memory, a new storage object and a new S3 client."""
    _storage_for.cache_clear()
    _client.cache_clear()
    return get_storage()


def leftovers(backend, settings) -> list[str]:
    kind, client, bucket = backend
    if kind == "s3":
        return s3.bucket_contents(client, bucket)
    root = settings.DATA_DIR / "objects"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".locks" not in p.parts)


def test_whole_object_round_trip_and_ranged_reads(backend, settings):
    data = pattern(11 * MiB + 123)  # three parts on S3
    storage = get_storage()
    assert storage.write(KEY, pieces(data, 3 * MiB + 7)) == len(data)
    assert storage.exists(KEY) and storage.size(KEY) == len(data)
    with storage.open(KEY) as fh:
        assert fh.seekable()
        fh.seek(6 * MiB - 10)
        assert fh.read(20) == data[6 * MiB - 10 : 6 * MiB + 10]
        assert fh.tell() == 6 * MiB + 10
        fh.seek(-5, os.SEEK_END)
        assert fh.read() == data[-5:] and fh.read(10) == b""
        fh.seek(0)
        assert hashlib.sha256(fh.read()).digest() == hashlib.sha256(data).digest()
    with storage.local_copy(KEY, "disk.raw") as path:
        assert path.name == "disk.raw" and path.read_bytes() == data
        assert os.listdir(path.parent) == ["disk.raw"]
    assert not path.parent.exists()
    storage.delete(KEY)
    assert not storage.exists(KEY)
    storage.delete(KEY)  # idempotent
    with pytest.raises(FileNotFoundError):
        storage.open(KEY)
    with pytest.raises(FileNotFoundError):
        storage.size(KEY)
    assert leftovers(backend, settings) == []


def test_staged_upload_resumes_in_a_new_process_and_stores_identical_bytes(backend, settings):
    data = pattern(17 * MiB + 5, seed=1)
    acknowledged = 0
    # Chunks that straddle part boundaries, each written by a storage that remembers nothing of the last.
    for size in (3 * MiB, 4 * MiB + 1, 1, 6 * MiB, 4 * MiB + 3):
        storage = forget()
        with storage.staging_lock(KEY):
            assert storage.staging_size(KEY) == acknowledged
            acknowledged += storage.staging_write(
                KEY, acknowledged, pieces(data[acknowledged : acknowledged + size], 64 * 1024)
            )
    assert acknowledged == len(data)
    storage = forget()
    with storage.staging_lock(KEY):
        storage.staging_promote(KEY)
    with storage.open(KEY) as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == hashlib.sha256(data).hexdigest()
    assert storage.staging_size(KEY) == 0
    assert leftovers(backend, settings) == [KEY]


def test_bytes_past_the_acknowledged_offset_are_replaced(backend, settings):
    """A web process killed after storing a chunk but before the database counted it: the client resends from
    the acknowledged offset, with bytes that may differ from the lost attempt's."""
    first, lost, final = pattern(3 * MiB, 2), pattern(9 * MiB, 3), pattern(9 * MiB, 4)
    storage = get_storage()
    storage.staging_write(KEY, 0, iter([first]))
    storage.staging_write(KEY, len(first), pieces(lost, MiB))  # crosses a part boundary, then "never counted"
    storage = forget()
    assert storage.staging_write(KEY, len(first), pieces(final, 2 * MiB)) == len(final)
    storage.staging_promote(KEY)
    with storage.open(KEY) as fh:
        assert fh.read() == first + final
    assert leftovers(backend, settings) == [KEY]


def test_a_stream_that_fails_midway_leaves_the_acknowledged_bytes(backend):
    first, rest = pattern(2 * MiB, 5), pattern(8 * MiB, 6)
    storage = get_storage()
    storage.staging_write(KEY, 0, iter([first]))

    def broken():
        yield rest[: 6 * MiB]  # past the first part boundary
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        storage.staging_write(KEY, len(first), broken())
    storage.staging_write(KEY, len(first), iter(()))  # what the upload service does after a failed chunk
    assert storage.staging_write(KEY, len(first), iter([rest])) == len(rest)
    storage.staging_promote(KEY)
    with storage.open(KEY) as fh:
        assert fh.read() == first + rest


@pytest.mark.parametrize("size", [0, 100, 5 * MiB])
def test_small_empty_and_exactly_one_part_uploads(backend, settings, size):
    data = pattern(size, 7)
    storage = get_storage()
    storage.staging_write(KEY, 0, iter([data] if data else []))
    storage.staging_promote(KEY)
    assert storage.size(KEY) == size
    with storage.open(KEY) as fh:
        assert fh.read() == data
    assert leftovers(backend, settings) == [KEY]


def test_staging_delete_leaves_nothing(backend, settings):
    storage = get_storage()
    storage.staging_write(KEY, 0, pieces(pattern(12 * MiB, 8), 4 * MiB))
    assert leftovers(backend, settings)
    forget().staging_delete(KEY)
    assert leftovers(backend, settings) == []
    assert get_storage().staging_size(KEY) == 0
    get_storage().staging_delete(KEY)  # idempotent


@pytest.mark.django_db(transaction=True)
def test_staging_lock_serialises_writers_on_separate_connections(backend):
    """Each thread has its own database connection, as two web processes would; the second waits for the first."""
    events = []
    held = threading.Event()

    def first():
        try:
            with forget().staging_lock(KEY):
                events.append("first in")
                held.set()
                time.sleep(0.5)
                events.append("first out")
        finally:
            connection.close()

    def second():
        try:
            held.wait(5)
            with get_storage().staging_lock(KEY):
                events.append("second in")
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert events == ["first in", "first out", "second in"]


def test_download_url(backend):
    storage = get_storage()
    storage.write(KEY, iter([b"%PDF-1.4 test"]))
    url = storage.download_url(KEY, content_type="application/pdf", filename="guide.pdf")
    if backend[0] == "local":
        assert url is None  # Shelf streams the file itself
        return
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - the loopback moto server
        assert answer.read() == b"%PDF-1.4 test"
        assert answer.headers["Content-Type"] == "application/pdf"
        assert 'filename="guide.pdf"' in answer.headers["Content-Disposition"]


def test_s3_reads_only_the_blocks_asked_for(s3_bucket):
    storage = get_storage()
    storage.write(KEY, pieces(pattern(20 * MiB, 9), 4 * MiB))
    with storage.open(KEY) as fh:
        for offset in (0, 7 * MiB + 3, 19 * MiB, 7 * MiB + 100):  # the last is cached
            fh.seek(offset)
            fh.read(4096)
        assert fh.requests == 3 and fh.bytes_fetched == 3 * READ_BLOCK
        fh.seek(10 * MiB)
        assert fh.read(4 * MiB) == pattern(20 * MiB, 9)[10 * MiB : 14 * MiB]
        assert fh.requests == 4  # a long read is one ranged GET
        assert len(fh.blocks) <= READ_CACHE_BLOCKS


def test_s3_staged_state_lives_in_the_database_and_the_bucket(s3_bucket):
    client, bucket = s3_bucket
    storage = get_storage()
    storage.staging_write(KEY, 0, iter([pattern(7 * MiB, 10)]))
    staged = StagedObject.objects.get(key=KEY)
    assert staged.size == 7 * MiB and staged.upload_id
    parts = client.list_parts(Bucket=bucket, Key=KEY, UploadId=staged.upload_id)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 5 * MiB)]
    assert s3.bucket_contents(client, bucket) == [f".staging/{KEY}/tail-{7 * MiB}", f"multipart:{KEY}"]
