"""Run the web server and the background worker together: the one-command local setup.

The worker is the task backend's: `db_worker` for the database queue, `rqworker` for RQ (SHELF_TASKS_BACKEND=rq).
At scale, run gunicorn and N workers per queue separately instead (docs/deploy.md); this command only supervises
them for a single machine and stops them on Ctrl-C.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Shelf on HOST:PORT with gunicorn, one background worker and periodic housekeeping beside it."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("SHELF_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("SHELF_WEB_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("SHELF_WEB_THREADS", "8")))

    def handle(self, *args, bind, workers, threads, **options):
        python = sys.executable
        manage = [python, os.path.abspath(sys.argv[0])]
        if settings.TASKS["default"]["BACKEND"] == "shelf.workers.RQBackend":
            # Its scheduler starts the jobs that run later (run_after): a boot watch, a retried delivery.
            worker = ["rqworker", "--with-scheduler", *settings.TASK_QUEUES]
        else:
            worker = ["db_worker", "--queue-name", "*", "--interval", "0.5"]
        children = [
            subprocess.Popen([*manage, *worker]),
            subprocess.Popen([*manage, "housekeeping", "--every", "300"]),
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "gunicorn",
                    "--config",
                    "python:shelf.console.gunicorn_conf",
                    "shelf.wsgi:application",
                    "--bind",
                    bind,
                    "--workers",
                    str(workers),
                    "--threads",
                    str(threads),
                    "--timeout",
                    "600",
                    "--access-logfile",
                    "-",
                ]
            ),
        ]
        self.stdout.write(self.style.SUCCESS(f"Shelf is running on http://{bind}/ (Ctrl-C stops it)."))

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.5)
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
        if not stopping:
            self.stderr.write("A child process exited; Shelf stopped.")
            sys.exit(1)
