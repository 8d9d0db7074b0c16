"""Background jobs on RQ in Redis (SHELF_TASKS_BACKEND=rq): django-tasks-rq's backend, plus the rule that a job
whose worker died runs again.

Every task stays a django-tasks task; only where its job waits changes. RQ keeps each running job in the queue's
StartedJobRegistry with a lease its worker's heartbeat renews (see Worker below). When a worker dies (kill -9,
OOM, power), the lease runs out and the next registry cleanup of any live worker (at its start and every
maintenance interval) treats the job as abandoned: it is queued again while it has retries left (a work horse
killed under a live worker is requeued by that worker the same way). Every job
is given such retries here, and only abandonment spends them: a job that raised (or ran out of time) fails once,
as on the database backend, since running it again would raise again. Jobs are idempotent, so a rerun of one that
was half done finishes it without doing anything twice.
"""

import logging
import os

from django.conf import settings
from django_rq.queues import DjangoRQ
from django_tasks_rq.backend import RQBackend as BaseRQBackend
from django_tasks_rq.backend import failed_callback
from rq import Retry
from rq import Worker as BaseWorker
from rq.callbacks import Callback
from rq.exceptions import AbandonedJobError

# How often a job is started again after its worker died before it counts as failed (a job that kills its worker
# every time, e.g. by running out of memory, must not loop forever).
ABANDONED_RUNS = 3

log = logging.getLogger(__name__)


def job_failed(job, connection, exception_class, exception_value, traceback):
    """RQ's failure callback: abandonment keeps the job's retries, any other failure ends it here."""
    if not issubclass(exception_class, AbandonedJobError):
        job.retries_left = 0  # read by the worker right after this callback, in the same process
    elif job.retries_left:
        log.warning("job %s (%s) lost its worker; RQ queues it again", job.id, job.func_name)
        return  # not finished: django-tasks hears of it when the rerun ends
    failed_callback(job, connection, exception_class, exception_value, traceback)


class RQBackend(BaseRQBackend):
    """django-tasks-rq's backend, taking the priorities Shelf's tasks declare (a boot watch, a boot check: below
    the default). RQ has no order within a queue but first in, first out (the highest priority goes to the front),
    so a lower priority is a hint it cannot keep: such a job waits its turn like any other."""

    supports_priority = True


class Queue(DjangoRQ):
    """The queue django-rq hands the backend: every job gets its abandoned-job retries and Shelf's failure rule."""

    def create_job(self, *args, retry=None, on_failure=None, **kwargs):
        return super().create_job(
            *args, retry=retry or Retry(max=ABANDONED_RUNS), on_failure=Callback(job_failed), **kwargs
        )


def resumed_after_a_dead_worker() -> bool:
    """True inside an RQ job that RQ queued again because the worker that was running it died: what the dead
    worker left half done (a scan marked running) is this job's to take over, no other worker has it."""
    if "RQ_JOB_ID" not in os.environ:
        return False  # not in an RQ work horse at all
    from rq import get_current_job

    job = get_current_job()
    return job is not None and job.retries_left is not None and job.retries_left < ABANDONED_RUNS


class Worker(BaseWorker):
    """RQ's forking worker with Shelf's timings; each job runs in a fresh child, which must not use the database
    state of its parent.

    A running job's lease is SHELF_WORKER_HEARTBEAT + SHELF_WORKER_LEASE_GRACE seconds, renewed every heartbeat;
    every SHELF_WORKER_MAINTENANCE seconds, idle or not, one worker per queue looks for jobs whose lease ran out.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("job_monitoring_interval", settings.SHELF_WORKER_HEARTBEAT)
        kwargs.setdefault("maintenance_interval", settings.SHELF_WORKER_MAINTENANCE)
        super().__init__(*args, **kwargs)

    @property
    def dequeue_timeout(self) -> int:
        # RQ waits for a job up to worker_ttl - 15 s (405 s under rqworker) before its next maintenance: an idle
        # worker must look for abandoned jobs as often as a busy one.
        return max(1, min(self.worker_ttl - 15, self.maintenance_interval))

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        return super().get_heartbeat_ttl(job, working_time) - 60 + settings.SHELF_WORKER_LEASE_GRACE  # RQ's is 60

    def main_work_horse(self, job, queue):
        from django.db import connections

        for connection in connections.all(initialized_only=True):
            # A socket (or a pool whose threads stayed behind) inherited from the parent belongs to the parent:
            # forget it without closing it, and open this job's own.
            connection.connection = None
            getattr(type(connection), "_connection_pools", {}).pop(connection.alias, None)
        return super().main_work_horse(job, queue)
