"""Test settings: the real settings, with jobs run where they are enqueued and a fast password hasher."""

import os

from shelf.settings import *  # noqa: F403

TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "scans"]},
}
SHELF_JOBS_RERUN_BY_QUEUE = False  # jobs run where they are enqueued: housekeeping's sweeps are under test
# A passing scan would boot a VM in every test that scans an image: the boot check tests turn it on.
SHELF_BOOT_CHECK = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory, so threads in concurrency tests lock the way production SQLite does.
    # One file per test process: parallel runs in the same checkout must not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}  # noqa: F405

if REDIS_URL:  # noqa: F405
    # Parallel test processes share the server: each its own keys, which its cache.clear() (tests/conftest.py) removes.
    SHELF_REDIS_PREFIX = f"shelf-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
    CACHES["default"]["KEY_PREFIX"] = SHELF_REDIS_PREFIX  # noqa: F405
