"""kill -9 of the web process (gunicorn, on S3 via a moto server) in the middle of a chunk: a new web process
knows only the database and the bucket, the client resumes from what was acknowledged, and the stored object is
byte-identical."""

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests import s3
from tests.images.builders import MiB
from tests.images.test_deployed import Deployment


@pytest.fixture
def deployment(tmp_path, s3_bucket, moto_endpoint):
    _client, bucket = s3_bucket
    deployment = Deployment(tmp_path)
    deployment.env.update(
        SHELF_S3_ENDPOINT=moto_endpoint,
        SHELF_S3_BUCKET=bucket,
        SHELF_S3_ACCESS_KEY=s3.ACCESS_KEY,
        SHELF_S3_SECRET_KEY=s3.SECRET_KEY,
        SHELF_S3_REGION=s3.REGION,
        SHELF_S3_PART_SIZE=str(5 * MiB),
    )
    deployment.env.pop("SHELF_STORAGE", None)
    deployment.manage("migrate", "--noinput", "-v", "0")
    return deployment


def start_web(deployment) -> tuple[subprocess.Popen, str]:
    """gunicorn in a process group of its own, so kill -9 takes the master and its worker at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:shelf.console.gunicorn_conf", "shelf.wsgi:application"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
        env=deployment.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
        try:
            httpx.get(f"{url}/api/v1/regions", timeout=1)
            return server, url
        except httpx.TransportError:
            time.sleep(0.1)


def parts_stored(client, bucket: str) -> int:
    uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    if not uploads:
        return 0
    (upload,) = uploads
    return len(client.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]).get("Parts", []))


def kill_web(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def test_web_killed_mid_chunk_then_the_upload_resumes_byte_identical(deployment, s3_bucket):
    client, bucket = s3_bucket
    token = deployment.shell(
        """
        from shelf.accounts.services import provider_signup, token_create

        user, org = provider_signup(username="alice", email="alice@example.com", password="correct-Horse-battery-9",
                                    organization_name="Alice Images")
        print(token_create(user=user, name="test")[1])
        """
    )
    data = os.urandom(16 * MiB)
    headers = {"Authorization": f"Bearer {token}"}
    server, url = start_web(deployment)
    try:
        api = f"{url}/api/v1"
        image = httpx.post(
            f"{api}/images",
            json={"name": "x", "region": "ap-guangzhou", "format": "raw", "size": len(data)},
            headers=headers,
        ).json()
        upload = f"{api}/images/{image['id']}/upload"
        first = httpx.put(
            upload, content=data[: 7 * MiB], headers={**headers, "Content-Range": f"bytes 0-{7 * MiB - 1}/{len(data)}"}
        )
        assert first.status_code == 200 and first.json()["received"] == 7 * MiB

        streamed = threading.Event()

        def slow_body():
            yield data[7 * MiB : 11 * MiB]  # past the second part's end: part 2 goes to S3 before the kill
            streamed.set()
            time.sleep(30)  # the web process dies meanwhile
            yield data[11 * MiB :]

        outcome = {}

        def send():
            try:
                outcome["response"] = httpx.put(
                    upload,
                    content=slow_body(),
                    headers={
                        **headers,
                        "Content-Range": f"bytes {7 * MiB}-{len(data) - 1}/{len(data)}",
                        "Content-Length": str(len(data) - 7 * MiB),  # not chunked: the API wants the length
                    },
                    timeout=60,
                )
            except httpx.TransportError as exc:
                outcome["error"] = exc

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        assert streamed.wait(30)
        deadline = time.monotonic() + 30
        while parts_stored(client, bucket) < 2:
            assert time.monotonic() < deadline, "the second part never reached S3"
            time.sleep(0.1)
        kill_web(server)
        sender.join(60)
        assert "error" in outcome, outcome  # the connection died with the web process

        server, url = start_web(deployment)  # a new web process: only the database and the bucket remain
        api = f"{url}/api/v1"
        upload = f"{api}/images/{image['id']}/upload"
        received = httpx.get(upload, headers=headers).json()["received"]
        assert received == 7 * MiB  # what was acknowledged before the kill
        rest = httpx.put(
            upload,
            content=data[received:],
            headers={**headers, "Content-Range": f"bytes {received}-{len(data) - 1}/{len(data)}"},
        )
        assert rest.status_code == 200 and rest.json()["received"] == len(data)
        digest = hashlib.sha256(data).hexdigest()
        done = httpx.post(f"{upload}/complete", json={"sha256": digest}, headers=headers)
        assert done.status_code == 200, done.text
    finally:
        kill_web(server)
    (key,) = s3.bucket_contents(client, bucket)  # no tail, no multipart upload left
    stored = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(stored).hexdigest() == digest
