"""Object storage on any S3-compatible service (AWS, MinIO, Ceph, ...), selected by SHELF_S3_BUCKET.

A staged upload streams into an S3 multipart upload with fixed-size parts: part n holds bytes [(n-1)P, nP) for
the part size P (at least 5 MiB, S3's minimum for every part but the last). What follows the last whole part,
less than one part, waits in a small object named after the staged size, ``.staging/<key>/tail-<size>``: naming it
by size means a web process killed after storing it but before the database heard of the bytes still finds the
tail of the size the database acknowledged. Nothing is kept on local disk and at most one part is in memory.
The multipart upload's id and the staged size are in the database (StagedObject), the parts in S3 (ListParts),
so an upload resumes on any web process, after any restart.
"""

import contextlib
import hashlib
import io
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Iterator
from functools import cache, cached_property
from pathlib import Path
from typing import BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import connection
from django.utils.http import content_disposition_header

from shelf.storage.base import StorageError
from shelf.storage.local import KEY_RE, LOCK_STRIPE_HEX, file_lock
from shelf.storage.models import StagedObject

PART_MIN = 5 * 1024 * 1024
STAGING_PREFIX = ".staging/"  # never a key Shelf makes: keys start with a lowercase letter or digit
READ_BLOCK = 256 * 1024  # one ranged GET of open(): small, because the scanner reads scattered metadata
READ_CACHE_BLOCKS = 128  # 32 MiB of blocks per open object at most
NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


@cache
def _client(endpoint: str, access_key: str, secret_key: str, region: str):
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"} if endpoint else {},
        retries={"max_attempts": 3, "mode": "standard"},
    )
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        region_name=region,
        config=config,
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextlib.contextmanager
def _errors(what: str, key: str) -> Iterator[None]:
    """S3's own failures become a StorageError naming the operation; a missing object stays FileNotFoundError,
    as it is for local files. Exceptions raised by the caller's chunks pass through untouched."""
    try:
        yield
    except ClientError as exc:
        if _code(exc) in NOT_FOUND:
            raise FileNotFoundError(key) from exc
        raise StorageError(f"Object storage refused to {what} {key}: {_code(exc)}") from exc
    except BotoCoreError as exc:
        raise StorageError(f"Object storage could not {what} {key}: {exc}") from exc


def _whole_parts(chunks: Iterator[bytes], size: int, buffer: bytearray) -> Iterator[bytes]:
    """Each part of exactly `size` bytes as `chunks` fill `buffer`; what is left after the last one stays in it.
    At most one part is held in memory."""
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            take = min(size - len(buffer), len(view))
            buffer += view[:take]
            view = view[take:]
            if len(buffer) == size:
                yield bytes(buffer)
                buffer.clear()


class S3Storage:
    def __init__(self, location: str):
        self.bucket = settings.SHELF_S3_BUCKET
        if not self.bucket:
            raise StorageError("SHELF_S3_BUCKET is not set")
        self.client = _client(
            settings.SHELF_S3_ENDPOINT,
            settings.SHELF_S3_ACCESS_KEY,
            settings.SHELF_S3_SECRET_KEY,
            settings.SHELF_S3_REGION,
        )
        self.part_size = max(settings.SHELF_S3_PART_SIZE, PART_MIN)
        self.tmp = Path(location) / ".tmp"
        self.locks = Path(location) / ".locks"

    @staticmethod
    def _check(key: str) -> str:
        if not KEY_RE.match(key) or ".." in key.split("/"):
            raise ValueError(f"invalid storage key {key!r}")
        return key

    # staged uploads

    def _tail_key(self, key: str, size: int) -> str:
        return f"{STAGING_PREFIX}{key}/tail-{size}"

    def _read_tail(self, key: str, size: int) -> bytes:
        if size % self.part_size == 0:
            return b""
        try:
            with _errors("read the staged tail of", key):
                return self.client.get_object(Bucket=self.bucket, Key=self._tail_key(key, size))["Body"].read()
        except FileNotFoundError as exc:
            raise StorageError(f"Object storage lost the staged bytes of {key} after byte {size}") from exc

    def _drop_tails(self, key: str, keep: int | None = None) -> None:
        keep_key = None if keep is None else self._tail_key(key, keep)
        with _errors("list the staged tails of", key):
            listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{STAGING_PREFIX}{key}/")
            for item in listing.get("Contents", []):
                if item["Key"] != keep_key:
                    self.client.delete_object(Bucket=self.bucket, Key=item["Key"])

    def _upload_part(self, staged: StagedObject, number: int, data: bytes) -> str:
        with _errors("store a part of", staged.key):
            if not staged.upload_id:
                staged.upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=staged.key)["UploadId"]
                staged.save(update_fields=["upload_id", "updated_at"])
            answer = self.client.upload_part(
                Bucket=self.bucket, Key=staged.key, UploadId=staged.upload_id, PartNumber=number, Body=data
            )
            return answer["ETag"]

    def staging_write(self, key: str, offset: int, chunks: Iterator[bytes]) -> int:
        self._check(key)
        staged, _ = StagedObject.objects.get_or_create(key=key)
        if offset > staged.size:
            raise StorageError(f"Object storage holds {staged.size} staged bytes of {key}, not {offset}")
        size = self.part_size
        part = offset // size  # whole parts kept; a part after them left by an abandoned attempt is overwritten
        buffer = bytearray(self._read_tail(key, offset))
        self._drop_tails(key, keep=offset)
        for data in _whole_parts(chunks, size, buffer):
            part += 1
            self._upload_part(staged, part, data)
        end = part * size + len(buffer)  # the buffer starts where the whole parts end
        written = end - offset
        with _errors("store the staged tail of", key):
            self.client.put_object(Bucket=self.bucket, Key=self._tail_key(key, end), Body=bytes(buffer))
        staged.size = end
        staged.save(update_fields=["size", "updated_at"])
        return written

    def staging_size(self, key: str) -> int:
        staged = StagedObject.objects.filter(key=self._check(key)).first()
        return staged.size if staged else 0

    def _parts(self, staged: StagedObject) -> dict[int, dict]:
        parts, marker = {}, 0
        while True:
            page = self.client.list_parts(
                Bucket=self.bucket, Key=staged.key, UploadId=staged.upload_id, PartNumberMarker=marker
            )
            for item in page.get("Parts", []):
                parts[item["PartNumber"]] = item
            if not page.get("IsTruncated"):
                return parts
            marker = page["NextPartNumberMarker"]

    def staging_promote(self, key: str) -> None:
        self._check(key)
        staged = StagedObject.objects.filter(key=key).first()
        if staged is None:
            raise StorageError(f"Object storage has no staged upload of {key}")
        whole = staged.size // self.part_size
        tail = self._read_tail(key, staged.size)
        with _errors("complete the upload of", key):
            if whole == 0:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=tail)
                self._abort(key)
            else:
                parts = self._parts(staged)
                chosen = []
                for number in range(1, whole + 1):
                    item = parts.get(number)
                    if item is None or item["Size"] != self.part_size:
                        raise StorageError(f"Object storage lost part {number} of the staged upload of {key}")
                    chosen.append({"PartNumber": number, "ETag": item["ETag"]})
                if tail:
                    chosen.append({"PartNumber": whole + 1, "ETag": self._upload_part(staged, whole + 1, tail)})
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=staged.upload_id, MultipartUpload={"Parts": chosen}
                )
        self._drop_tails(key)
        staged.delete()

    def _abort(self, key: str) -> None:
        # Every multipart upload of the key, including one whose id never reached the database.
        listing = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        for upload in listing.get("Uploads", []):
            if upload["Key"] == key:
                with contextlib.suppress(ClientError):  # already completed or aborted meanwhile
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload["UploadId"])

    def staging_delete(self, key: str) -> None:
        self._check(key)
        with _errors("remove the staged upload of", key):
            self._abort(key)
        self._drop_tails(key)
        StagedObject.objects.filter(key=key).delete()

    @contextlib.contextmanager
    def staging_lock(self, key: str) -> Iterator[None]:
        """Writers of one upload may be any web process on any machine: on PostgreSQL an advisory lock of the
        database serialises them; on SQLite (one machine) a lock file does, as for local storage."""
        self._check(key)
        digest = hashlib.sha256(f"shelf-staging:{key}".encode()).digest()
        if connection.vendor == "postgresql":
            lock_id = int.from_bytes(digest[:8], "big", signed=True)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
            try:
                yield
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
            return
        with file_lock(self.locks / digest.hex()[:LOCK_STRIPE_HEX]):
            yield

    # whole objects

    def open(self, key: str) -> BinaryIO:
        self._check(key)
        with _errors("read", key):
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        return RangedObject(self.client, self.bucket, key, head["ContentLength"], head["ETag"])  # type: ignore[return-value]

    def write(self, key: str, chunks: Iterator[bytes]) -> int:
        """Stream chunks into the object: one PUT when it fits in a part, a multipart upload otherwise, aborted
        if anything fails so no partial object stays behind."""
        self._check(key)
        size = self.part_size
        buffer = bytearray()
        upload_id, parts = None, []

        def add_part(data: bytes) -> None:
            number = len(parts) + 1
            etag = self.client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
            )["ETag"]
            parts.append({"PartNumber": number, "ETag": etag})

        try:
            for data in _whole_parts(chunks, size, buffer):
                with _errors("store a part of", key):
                    if upload_id is None:
                        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
                    add_part(data)
            written = len(parts) * size + len(buffer)
            with _errors("store", key):
                if upload_id is None:
                    self.client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer))
                else:
                    if buffer:
                        add_part(bytes(buffer))
                    self.client.complete_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                    )
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(ClientError, BotoCoreError):
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            raise
        return written

    def size(self, key: str) -> int:
        with _errors("read the size of", key):
            return self.client.head_object(Bucket=self.bucket, Key=self._check(key))["ContentLength"]

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        with _errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=self._check(key))

    def download_url(self, key: str, *, content_type: str, filename: str | None = None) -> str | None:
        params = {"ResponseContentType": content_type}
        if filename is not None:
            params["ResponseContentDisposition"] = content_disposition_header(True, filename)
        return self.files.url(self._check(key), parameters=params, expire=settings.SHELF_S3_URL_EXPIRY)

    @cached_property
    def files(self):
        """The same bucket as Django's file storage (django-storages), which signs the download URLs."""
        from storages.backends.s3 import S3Storage as DjangoS3Storage

        return DjangoS3Storage(
            bucket_name=self.bucket,
            endpoint_url=settings.SHELF_S3_ENDPOINT or None,
            access_key=settings.SHELF_S3_ACCESS_KEY or None,
            secret_key=settings.SHELF_S3_SECRET_KEY or None,
            region_name=settings.SHELF_S3_REGION,
            addressing_style="path" if settings.SHELF_S3_ENDPOINT else None,
            signature_version="s3v4",
            querystring_auth=True,
            default_acl=None,
        )

    @contextlib.contextmanager
    def local_copy(self, key: str, name: str) -> Iterator[Path]:
        if "/" in name or name.startswith("."):
            raise ValueError("name must be a plain file name")
        self.tmp.mkdir(parents=True, exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="inspect-", dir=self.tmp))
        target = workdir / name
        try:
            with _errors("download", key):
                self.client.download_file(self.bucket, self._check(key), str(target))
            target.chmod(0o400)
            yield target
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


class RangedObject(io.RawIOBase):
    """A read-only, seekable view of one object: each read is served from fixed blocks fetched by ranged GETs,
    the most recently used kept (at most READ_CACHE_BLOCKS). Pinned to the object's ETag, so a block of a
    replaced object is never mixed with blocks of the old one."""

    def __init__(self, client, bucket: str, key: str, size: int, etag: str):
        super().__init__()
        self.client, self.bucket, self.key, self.length, self.etag = client, bucket, key, size, etag
        self.name = key
        self.position = 0
        self.blocks: OrderedDict[int, bytes] = OrderedDict()
        self.bytes_fetched = 0
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.position = base + offset
        return self.position

    def _block(self, index: int, last: int) -> bytes:
        """Block `index`; when it is missing, it and the missing blocks after it up to `last` come in one GET
        (a large sequential read is one request, not one per block)."""
        if index in self.blocks:
            self.blocks.move_to_end(index)
            return self.blocks[index]
        stop = index
        while stop < min(last, index + READ_CACHE_BLOCKS - 1) and stop + 1 not in self.blocks:
            stop += 1
        start, end = index * READ_BLOCK, min(self.length, (stop + 1) * READ_BLOCK) - 1
        with _errors("read", self.key):
            answer = self.client.get_object(
                Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end}", IfMatch=self.etag
            )
            data = answer["Body"].read()
        self.requests += 1
        self.bytes_fetched += len(data)
        for number in range(index, stop + 1):
            offset = (number - index) * READ_BLOCK
            self.blocks[number] = data[offset : offset + READ_BLOCK]
        while len(self.blocks) > READ_CACHE_BLOCKS:
            self.blocks.popitem(last=False)
        return self.blocks[index]

    def readinto(self, buffer) -> int:
        if self.closed:
            raise ValueError("read of a closed object")
        view = memoryview(buffer).cast("B")
        done = 0
        last = (min(self.position + len(view), self.length) - 1) // READ_BLOCK
        while done < len(view) and self.position < self.length:
            block = self._block(self.position // READ_BLOCK, last)
            start = self.position % READ_BLOCK
            n = min(len(view) - done, len(block) - start)
            view[done : done + n] = block[start : start + n]
            done += n
            self.position += n
        return done

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = max(self.length - self.position, 0)
        buffer = bytearray(min(size, max(self.length - self.position, 0)))
        n = self.readinto(buffer)
        return bytes(buffer[:n])

    def readall(self) -> bytes:
        return self.read(-1)
