"""Shelf as deployed: real `db_worker` processes with the database task backend, uploads through gunicorn.

pytest-django's SQLite test database lives in memory, out of reach of another process, so these tests
run Shelf as deployed instead: its own data directory and database file, the production settings (whose
task backend is django_tasks_db), and every step in a `manage.py` subprocess.
"""

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from tests.images.builders import MiB, build_set, tools_missing
from tests.s3 import S3_STORAGE

if tools_missing():
    pytest.skip(f"missing {', '.join(tools_missing())}", allow_module_level=True)

MANAGE = str(Path(__file__).resolve().parents[2] / "manage.py")

IMPORT = """
import hashlib, io
from shelf.accounts.services import provider_signup
from shelf.images.services import image_import_complete, image_import_start, image_upload_chunk

data = open({path!r}, "rb").read()
user, org = provider_signup(username="alice", email="alice@example.com", password="correct-Horse-battery-9",
                            organization_name="Alice Images")
image = image_import_start(actor=user, organization=org, name="worker test", region_code="ap-guangzhou",
                           disk_format="qcow2", size=len(data))
image_upload_chunk(actor=user, image=image, start=0, length=len(data), total=len(data), body=io.BytesIO(data))
image_import_complete(actor=user, image=image, sha256=hashlib.sha256(data).hexdigest())
print(image.pk)
"""

STATE = """
from django_tasks_db.models import DBTaskResult
from shelf.images.models import Image

image = Image.objects.get()
validation = DBTaskResult.objects.filter(task_path="shelf.images.tasks.validate_image").values_list("status", flat=True)
print(image.status, image.failure_code or "-", ",".join(validation))
"""


class Deployment:
    def __init__(self, root: Path, qemu_delay: float = 0, template: Path | None = None):
        self.root = root
        self.data = root / "server-data"
        if template is not None:
            shutil.copytree(template, self.data)  # an already migrated database: saves a migrate per test
        else:
            self.data.mkdir()
        environment = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SHELF_TASKS_BACKEND", "REDIS_URL")
        }
        self.env = {
            **environment,
            "DJANGO_SETTINGS_MODULE": "shelf.settings",
            "SHELF_DATA_DIR": str(self.data),
            "SHELF_LOG_LEVEL": "WARNING",
        }
        if settings.SHELF_STORAGE == S3_STORAGE:
            self.env["SHELF_S3_BUCKET"] = settings.SHELF_S3_BUCKET  # this test's bucket, not the run's
        self.qemu_started = root / "qemu-started"
        if qemu_delay:
            # A qemu-img that says when it starts and takes its time, so a worker can be stopped mid-job.
            shim = root / "bin"
            shim.mkdir()
            real = subprocess.run(["which", "qemu-img"], capture_output=True, text=True, check=True).stdout.strip()
            (shim / "qemu-img").write_text(
                f'#!/bin/sh\ntouch {self.qemu_started}\nsleep {qemu_delay}\nexec {real} "$@"\n'
            )
            (shim / "qemu-img").chmod(0o755)
            self.env["PATH"] = f"{shim}:{self.env['PATH']}"

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, MANAGE, *args], env=self.env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def shell(self, code: str) -> str:
        return self.manage("shell", "--no-imports", "-c", textwrap.dedent(code)).splitlines()[-1]

    def worker(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                MANAGE,
                "db_worker",
                "--queue-name",
                "default",  # validation's queue; the scanner's queue is not under test here
                "--interval",
                "0.1",
                "--no-startup-delay",
                *args,
            ],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    @contextlib.contextmanager
    def gunicorn(self) -> Iterator[str]:
        """The web server as `manage.py serve` runs it (threads, keep-alive), on a free port; yields its URL."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                "python:shelf.console.gunicorn_conf",
                "shelf.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                try:
                    httpx.get(f"{url}/api/v1/regions", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    deployment = Deployment(tmp_path_factory.mktemp("worker-template"))
    deployment.manage("migrate", "--noinput", "-v", "0")
    return deployment.data


@pytest.fixture(scope="module")
def qcow2(tmp_path_factory) -> Path:
    return build_set(tmp_path_factory.mktemp("worker-disks"))["qcow2"]


def test_validation_queued_while_no_worker_runs_is_done_by_the_next_worker(tmp_path, qcow2, migrated):
    deployment = Deployment(tmp_path, template=migrated)
    deployment.shell(IMPORT.format(path=str(qcow2)))
    # Completed and queued, but no worker: the job waits in the database.
    assert deployment.shell(STATE) == "validating - READY"

    worker = deployment.worker("--batch")
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    assert deployment.shell(STATE) == "available - SUCCESSFUL"


def test_worker_stopped_mid_job_finishes_it_first(tmp_path, qcow2, migrated):
    """A restart (SIGTERM, as systemd or `serve` sends) lets the running validation end, then exits."""
    deployment = Deployment(tmp_path, qemu_delay=1, template=migrated)
    worker = deployment.worker()
    try:
        deployment.shell(IMPORT.format(path=str(qcow2)))
        deadline = time.monotonic() + 60
        while not deployment.qemu_started.exists():
            assert time.monotonic() < deadline and worker.poll() is None, "the worker never started the job"
            time.sleep(0.05)
        assert deployment.shell(STATE) == "validating - RUNNING"
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, output
    assert deployment.shell(STATE) == "available - SUCCESSFUL"


def test_job_lost_with_a_killed_worker_is_recovered_by_housekeeping(tmp_path, qcow2, migrated):
    """A hard kill (OOM, power) leaves the queue's job RUNNING forever; housekeeping queues it again."""
    deployment = Deployment(tmp_path, qemu_delay=1, template=migrated)
    worker = deployment.worker()
    try:
        deployment.shell(IMPORT.format(path=str(qcow2)))
        deadline = time.monotonic() + 60
        while not deployment.qemu_started.exists():
            assert time.monotonic() < deadline and worker.poll() is None, "the worker never started the job"
            time.sleep(0.05)
    finally:
        worker.kill()
        worker.wait()
    assert deployment.shell(STATE) == "validating - RUNNING"
    # A new worker alone finds nothing to do: the job is not READY.
    deployment.manage("db_worker", "--queue-name", "default", "--batch", "--no-startup-delay")
    assert deployment.shell(STATE) == "validating - RUNNING"
    # Later (the image has not moved for longer than a job can take), housekeeping queues the job again.
    deployment.shell(
        """
        from datetime import timedelta
        from django.utils import timezone
        from shelf.images.models import Image
        from shelf.images.tasks import STALLED_AFTER, housekeeping

        Image.objects.update(updated_at=timezone.now() - STALLED_AFTER - timedelta(minutes=1))
        print(housekeeping())
        """
    )
    deployment.manage("db_worker", "--queue-name", "default", "--batch", "--no-startup-delay")
    assert deployment.shell(STATE) == "available - RUNNING,SUCCESSFUL"


def test_chunks_answered_early_keep_the_connection_usable_through_gunicorn(tmp_path, migrated):
    """gunicorn drops a connection whose request body was not read (beyond 64 KiB): the answer to a repeated
    chunk, a gap or a quota stop must still reach the client, and its next request on that connection work."""
    deployment = Deployment(tmp_path, template=migrated)
    token = deployment.shell(
        """
        from shelf.accounts.services import provider_signup, token_create

        user, org = provider_signup(username="alice", email="alice@example.com", password="correct-Horse-battery-9",
                                    organization_name="Alice Images")
        org.image_quota_bytes = 6 * 1024**2
        org.save()
        print(token_create(user=user, name="test")[1])
        """
    )
    with (
        deployment.gunicorn() as url,
        httpx.Client(base_url=f"{url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30) as client,
    ):

        def put(image_id: str, start: int, data: bytes) -> httpx.Response:
            header = f"bytes {start}-{start + len(data) - 1}/*"
            return client.put(f"/images/{image_id}/upload", content=data, headers={"Content-Range": header})

        image_id = client.post("/images", json={"name": "x", "region": "ap-guangzhou", "format": "raw"}).json()["id"]
        chunk = os.urandom(4 * MiB)
        assert put(image_id, 0, chunk).json()["received"] == 4 * MiB
        repeated = put(image_id, 0, chunk)
        assert repeated.status_code == 200 and repeated.json()["received"] == 4 * MiB
        gap = put(image_id, 8 * MiB, chunk)
        assert gap.status_code == 409 and gap.json()["errors"][0]["code"] == "offset_mismatch"
        over = put(image_id, 4 * MiB, os.urandom(8 * MiB))  # 12 MiB in all: over the 6 MiB quota
        assert over.status_code == 413 and over.json()["errors"][0]["code"] == "quota_exceeded"
        image = client.get(f"/images/{image_id}").json()  # the same keep-alive connection
        assert image["status"] == "failed" and image["failure_code"] == "quota_exceeded"


def test_uploads_refused_with_413_leave_the_keep_alive_connection_usable(tmp_path, migrated):
    """One http.client connection (which, unlike httpx, never reconnects by itself): each 413 is answered, the
    connection stays open, and the next request on it gets its normal answer."""
    deployment = Deployment(tmp_path, template=migrated)
    deployment.env["SHELF_UPLOAD_CHUNK_MAX"] = str(MiB)
    token = deployment.shell(
        """
        from shelf.accounts.services import provider_signup, token_create

        user, org = provider_signup(username="alice", email="alice@example.com", password="correct-Horse-battery-9",
                                    organization_name="Alice Images")
        print(token_create(user=user, name="test")[1])
        """
    )
    with deployment.gunicorn() as url:
        port = int(url.rsplit(":", 1)[1])
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"}

        def call(method: str, path: str, body: bytes | None = None, **extra: str) -> tuple[int, dict, str]:
            connection.request(method, f"/api/v1{path}", body=body, headers={**headers, **extra})
            response = connection.getresponse()
            return response.status, json.loads(response.read()), response.getheader("Connection")

        status, image, _ = call(
            "POST",
            "/images",
            json.dumps({"name": "x", "region": "ap-guangzhou", "format": "raw", "size": MiB}).encode(),
            **{"Content-Type": "application/json"},
        )
        assert status == 201, image
        upload = f"/images/{image['id']}/upload"
        chunk = os.urandom(MiB // 2)
        status, body, _ = call("PUT", upload, chunk, **{"Content-Range": f"bytes 0-{len(chunk) - 1}/{MiB}"})
        assert status == 200 and body["received"] == len(chunk)
        sock = connection.sock
        refusals = [
            # past the announced size: drop this chunk only
            (os.urandom(MiB), f"bytes {len(chunk)}-{len(chunk) + MiB - 1}/*", "beyond_size"),
            # over the server's chunk maximum
            (os.urandom(MiB + 1), f"bytes {len(chunk)}-{len(chunk) + MiB}/*", "chunk_too_large"),
        ]
        for data, content_range, code in refusals:
            status, body, connection_header = call("PUT", upload, data, **{"Content-Range": content_range})
            assert status == 413 and [e["code"] for e in body["errors"]] == [code]
            assert connection_header == "keep-alive"
            status, body, _ = call("GET", upload)  # the same connection: its normal answer
            assert status == 200 and body["received"] == len(chunk)
            assert connection.sock is sock  # not silently reconnected
        connection.close()


def test_what_gunicorn_answers_itself_has_the_one_error_shape(tmp_path, migrated):
    """A request line too long for gunicorn, or too many headers, never reaches Django: the answer is still
    Shelf's JSON error shape, not gunicorn's HTML page."""
    deployment = Deployment(tmp_path, template=migrated)
    with deployment.gunicorn() as url:
        port = int(url.rsplit(":", 1)[1])
        for path, headers, status in (
            ("/api/v1/catalog?q=" + "x" * 9000, {}, 414),
            ("/api/v1/regions", {f"X-Filler-{i}": "y" for i in range(120)}, 431),
        ):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            connection.close()
            assert response.status == status and response.getheader("Content-Type") == "application/json"
            [error] = json.loads(body)["errors"]
            assert error["code"] == f"http_{status}" and error["field"] is None and error["message"]
