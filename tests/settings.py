"""Test settings: the real settings, with jobs run where they are enqueued and a fast password hasher."""

import os

from shelf.settings import *  # noqa: F403

TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "scans"]},
}
# A passing scan would boot a VM in every test that scans an image: the boot check tests turn it on.
SHELF_BOOT_CHECK = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory, so threads in concurrency tests lock the way production SQLite does.
    # One file per test process: parallel runs in the same checkout must not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
