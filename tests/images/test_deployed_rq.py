"""Shelf deployed on RQ (SHELF_TASKS_BACKEND=rq): real `manage.py rqworker` processes and a real Redis.

RQ's keys have a fixed prefix ("rq:"), so these tests take a Redis database of their own
(SHELF_TEST_RQ_REDIS_URL, database 14 by default), hold a lock in it while they run (parallel test processes
take turns) and delete only RQ's keys there. They skip when that Redis is not reachable.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.images.test_deployed import IMPORT, MANAGE, Deployment, migrated, qcow2  # noqa: F401 - fixtures

RQ_REDIS_URL = os.environ.get("SHELF_TEST_RQ_REDIS_URL", "redis://127.0.0.1:6379/14")

STATE = """
from django_tasks import default_task_backend
from rq.job import Job
from rq.registry import FailedJobRegistry, StartedJobRegistry
import django_rq
from shelf.images.models import Image
from shelf.audit.models import AuditEvent

image = Image.objects.get()
queue = django_rq.get_queue("default")
jobs = [Job.fetch(key.decode().split(":", 2)[2], connection=queue.connection) for key in queue.connection.keys("rq:job:*")]
[job] = [job for job in jobs if job.func_name == "shelf.images.tasks.validate_image"]
result = default_task_backend.get_result(job.id)
available = AuditEvent.objects.for_object(image).filter(action="image.available").count()
started, failed = (registry(queue=queue).get_job_count(cleanup=False) for registry in (StartedJobRegistry, FailedJobRegistry))
print(image.status, result.status, len(queue), started, failed, available)  # looking must not clean the registries up
"""


@pytest.fixture
def rq_redis():
    """The tests' own Redis database, theirs alone while the test runs; RQ's keys removed before and after."""
    import redis

    client = redis.Redis.from_url(RQ_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        pytest.skip(f"Redis is not reachable at {RQ_REDIS_URL}: {error}")

    def remove_rq_keys():
        keys = list(client.scan_iter(match="rq:*", count=1000))
        if keys:
            client.delete(*keys)

    with client.lock("shelf-tests:rq", timeout=600, blocking_timeout=600):
        remove_rq_keys()
        yield RQ_REDIS_URL
        remove_rq_keys()
    client.close()


class RQDeployment(Deployment):
    def __init__(self, root: Path, redis_url: str, **kwargs):
        super().__init__(root, **kwargs)
        self.env.update(
            REDIS_URL=redis_url,
            SHELF_REDIS_PREFIX=f"shelf-test-rq-{uuid.uuid4().hex}",
            SHELF_TASKS_BACKEND="rq",
            # Short timings, so that a dead worker's lease runs out within seconds (production: 30 + 60, 60).
            SHELF_WORKER_HEARTBEAT="1",
            SHELF_WORKER_LEASE_GRACE="2",
            SHELF_WORKER_MAINTENANCE="1",
        )
        self.started = root / "qemu-runs"
        if kwargs.get("qemu_delay"):
            # The shim of Deployment, also noting each run's parent (the work horse running the job).
            shim = root / "bin" / "qemu-img"
            shim.write_text(shim.read_text().replace("touch ", f"echo $PPID >> {self.started}\ntouch ", 1))

    def worker(self, *queues: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, MANAGE, "rqworker", "--with-scheduler", *(queues or ("default",))],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: the worker and its scheduler process, killed together
        )

    def wait_for(self, expected: str, worker: subprocess.Popen, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while (state := self.shell(STATE)) != expected:
            if time.monotonic() > deadline or worker.poll() is not None:
                pytest.fail(f"{state!r}, not {expected!r}; the worker said:\n{stop(worker)}")
            time.sleep(0.5)


def stop(worker: subprocess.Popen) -> str:
    """Stop a worker as systemd would (SIGTERM: it ends its job, and its scheduler, then exits); its output."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)  # anything of it left behind must not hold its output open
    return worker.communicate()[0]


def test_validation_enqueued_by_the_service_is_done_by_an_rq_worker(tmp_path, qcow2, migrated, rq_redis):  # noqa: F811
    deployment = RQDeployment(tmp_path, rq_redis, template=migrated)
    deployment.shell(IMPORT.format(path=str(qcow2)))
    # Completed and queued in Redis, but no worker yet: the job waits.
    assert deployment.shell(STATE) == "validating READY 1 0 0 0"
    worker = deployment.worker()
    try:
        deployment.wait_for("available SUCCESSFUL 0 0 0 1", worker)
    finally:
        output = stop(worker)
    assert worker.returncode == 0, output
    deployment.manage("housekeeping")  # every task module loads on RQ (a declared priority once did not)


def test_job_of_a_killed_worker_is_run_again_by_rq_once(tmp_path, qcow2, migrated, rq_redis):  # noqa: F811
    """kill -9 of the worker and the work horse mid-validation (a power cut): the job's lease runs out, a new
    worker's registry cleanup queues it again, and it finishes once."""
    deployment = RQDeployment(tmp_path, rq_redis, qemu_delay=3, template=migrated)
    worker = deployment.worker()
    try:
        deployment.shell(IMPORT.format(path=str(qcow2)))
        deadline = time.monotonic() + 60
        while not deployment.started.exists():
            assert time.monotonic() < deadline and worker.poll() is None, "the worker never started the job"
            time.sleep(0.05)
        horse = int(deployment.started.read_text().split()[0])
        assert deployment.shell(STATE) == "validating RUNNING 0 1 0 0"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its scheduler
        os.killpg(horse, signal.SIGKILL)  # the horse has a process group of its own, with qemu-img in it
        worker.communicate()
    time.sleep(0.5)
    assert deployment.shell(STATE) == "validating RUNNING 0 1 0 0"  # nobody is on it, RQ does not know yet

    again = deployment.worker()
    try:
        deployment.wait_for("available SUCCESSFUL 0 0 0 1", again)
    finally:
        output = stop(again)
    assert again.returncode == 0, output
    assert "lost its worker; RQ queues it again" in output and "enqueued for retry, 2 remaining" in output, output
    horses = deployment.started.read_text().split()  # one line per qemu-img run (a validation runs it 3 times)
    assert len(set(horses)) == 2 and horses[0] == str(horse)  # the killed run and the one that finished


def test_a_job_that_raises_is_not_run_again(tmp_path, migrated, rq_redis):  # noqa: F811
    """Only a dead worker's job is retried: one that failed by itself fails once, as on the database queue."""
    deployment = RQDeployment(tmp_path, rq_redis, template=migrated)
    job_id = deployment.shell(
        """
        from shelf.images.tasks import validate_image

        print(validate_image.enqueue("not-an-image-id").id)  # the lookup raises: not a UUID
        """
    )
    worker = deployment.worker()
    try:
        deadline = time.monotonic() + 60
        while (status := deployment.shell(RESULT.format(job_id=job_id))).startswith("READY"):
            assert time.monotonic() < deadline and worker.poll() is None, status
            time.sleep(0.5)
        time.sleep(3)  # a few maintenance rounds: nothing may bring it back
        assert deployment.shell(RESULT.format(job_id=job_id)) == "FAILED 1 0 1"
    finally:
        output = stop(worker)
    assert worker.returncode == 0, output


RESULT = """
import django_rq
from django_tasks import default_task_backend
from rq.registry import FailedJobRegistry

queue = django_rq.get_queue("default")
result = default_task_backend.get_result({job_id!r})
print(result.status, len(result.errors), len(queue), len(FailedJobRegistry(queue=queue)))
"""
