"""S3 for the tests: moto's server mode, a real process speaking the S3 protocol on a loopback port.

Shelf's code only ever sees an endpoint URL and keys, as it would for AWS, MinIO or Ceph.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest

S3_STORAGE = "shelf.storage.s3.S3Storage"
ACCESS_KEY, SECRET_KEY, REGION = "shelf-test", "shelf-test-secret", "us-east-1"


def moto_missing() -> bool:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        return True
    return False


def require_moto() -> None:
    """S3 tests run wherever requirements-dev is installed; in CI a missing moto is a failure, never a skip."""
    if moto_missing():
        if os.environ.get("CI"):
            pytest.fail("moto[server] is missing: install requirements-dev.txt")
        pytest.skip("moto[server] is not installed (requirements-dev.txt)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto(log: Path) -> tuple[subprocess.Popen, str]:
    for _attempt in range(5):
        port = _free_port()
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()  # noqa: S310 - loopback
                return process, endpoint
            except OSError:
                time.sleep(0.1)
        process.kill()
        process.wait()
    raise RuntimeError(f"moto server did not start; see {log}")


def client(endpoint: str):
    from shelf.storage.s3 import _client

    return _client(endpoint, ACCESS_KEY, SECRET_KEY, REGION)


def fresh_client(endpoint: str):
    """A client of its own, sharing nothing with the one Shelf uses."""
    import boto3

    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    )


def new_bucket(s3) -> str:
    name = f"shelf-test-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    return name


def use_s3(settings, endpoint: str, s3) -> str:
    """Point Shelf at a fresh bucket of the server at `endpoint`, with S3's smallest part size."""
    settings.SHELF_STORAGE = S3_STORAGE
    settings.SHELF_S3_ENDPOINT = endpoint
    settings.SHELF_S3_ACCESS_KEY, settings.SHELF_S3_SECRET_KEY, settings.SHELF_S3_REGION = (
        ACCESS_KEY,
        SECRET_KEY,
        REGION,
    )
    settings.SHELF_S3_PART_SIZE = 5 * 1024 * 1024
    settings.SHELF_S3_BUCKET = new_bucket(s3)
    return settings.SHELF_S3_BUCKET


def drop_bucket(s3, bucket: str) -> None:
    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)


def bucket_contents(s3, bucket: str) -> list[str]:
    """Every object key and every unfinished multipart upload (as 'multipart:<key>') in the bucket."""
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [item["Key"] for item in page.get("Contents", [])]
    uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return sorted(keys + [f"multipart:{upload['Key']}" for upload in uploads])


def downloaded(response) -> tuple[int, bytes, Mapping[str, str]]:
    """A picture or document as a browser gets it: the bytes Shelf sends, or those of the presigned S3 URL it
    redirects to. Returns (status, body, headers)."""
    if response.status_code == 302 and "X-Amz-Signature=" in response["Location"]:
        with urllib.request.urlopen(response["Location"], timeout=30) as answer:  # noqa: S310 - loopback moto
            return answer.status, answer.read(), answer.headers  # case-insensitive, like Django's
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body, response.headers


def stored_copies(settings, needle: str) -> list[Path]:
    """The objects whose key mentions `needle`, downloaded under the data directory so tests read them as files;
    an unfinished multipart upload counts as an (empty) file too: it holds bytes in the bucket."""
    s3 = client(settings.SHELF_S3_ENDPOINT or None)
    root = settings.DATA_DIR / "s3-view" / uuid.uuid4().hex
    found = []
    for entry in bucket_contents(s3, settings.SHELF_S3_BUCKET):
        if needle not in entry:
            continue
        path = root / entry.replace("multipart:", ".multipart/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if entry.startswith("multipart:"):
            path.write_bytes(b"")
        else:
            s3.download_file(settings.SHELF_S3_BUCKET, entry, str(path))
        found.append(path)
    return found
