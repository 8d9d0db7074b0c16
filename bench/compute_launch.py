"""Order to `running` with the boot image on the local back end: `python bench/compute_launch.py [N]`.

A throwaway Shelf (its own data directory and SQLite database, migrated) with one real `manage.py db_worker`, as
`serve` runs it. Each launch is created the way orders will (instance_create inside a transaction); timed from just
before that call to
  - the qemu process started (the row's launched_at: queue pick-up, overlay, seed, qemu -daemonize) = Shelf overhead,
  - running (the guest's first console line, the row's running_at).
N sequential launches, then N concurrent ones; then the worker is killed with SIGKILL while a guest runs and started
again: reconciliation keeps the guest, and a stop through the new worker powers it off. Everything is terminated and
removed at the end.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm0Zr4wQXbHgTD6cSxpPSgfyJ5Y1L1vH6o1m2GzZ0aD bench@shelf"


def _setup(data_dir: Path) -> None:
    os.environ["SHELF_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "shelf.settings"
    os.environ.setdefault("SHELF_LOG_LEVEL", "WARNING")
    for name in ("DATABASE_URL", "REDIS_URL", "SHELF_TASKS_BACKEND"):  # its own SQLite and database queue (db_worker)
        os.environ.pop(name, None)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)


def _worker(data_dir: Path) -> subprocess.Popen:
    log = open(data_dir / "worker.log", "ab")  # noqa: SIM115 - lives as long as the worker
    return subprocess.Popen(
        [sys.executable, str(REPO / "manage.py"), "db_worker", "--queue-name", "*", "--interval", "0.2"],
        env=os.environ.copy(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(worker: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def _fixtures():
    from django.db import transaction

    from shelf.accounts.services import buyer_signup, provider_signup
    from shelf.catalog.models import Region
    from shelf.compute import bootimage
    from shelf.images.models import Image
    from shelf.storage import get_storage

    disk = bootimage.build().disk
    secret = secrets.token_urlsafe(16)  # nobody logs in to this throwaway Shelf
    with transaction.atomic():
        alice = provider_signup(username="alice", email="a@example.com", password=secret, organization_name="Alice")[0]
        bruce = buyer_signup(username="bruce", email="b@example.com", password=secret)
        data = disk.read_bytes()

        image = Image.objects.create(
            organization=alice.organizations.first(),
            region=Region.objects.get(code="ap-guangzhou"),
            name="boot image",
            disk_format="raw",
            status=Image.Status.AVAILABLE,
            virtual_size=len(data),
            stored_size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        get_storage().write(image.storage_key, iter([data]))
    return bruce, image


def _order(bruce, image):
    from django.db import transaction

    from shelf.compute.services import instance_create

    started = time.time()
    with transaction.atomic():  # as orders does: the job is enqueued when this commits
        instance = instance_create(
            owner=bruce,
            image=image,
            region=image.region,
            name="bench",
            hostname="bench",
            vcpus=1,
            memory_mib=128,
            disk_gib=1,
            ssh_public_key=KEY,
            ports=[80],
            idempotency_key=str(uuid.uuid4()),
        )
    return instance, started


def _wait(instances: list, timeout: float = 300) -> list:
    from shelf.compute.models import Instance

    deadline = time.monotonic() + timeout
    pks = [i.pk for i, _ in instances]
    while time.monotonic() < deadline:
        rows = list(Instance.objects.filter(pk__in=pks))
        if all(r.state not in ("pending", "launching") for r in rows):
            return rows
        time.sleep(0.1)
    raise RuntimeError("launches did not settle in time")


def _figures(label: str, instances: list) -> list[str]:
    rows = {r.pk: r for r in _wait(instances)}
    overhead, running = [], []
    for instance, started in instances:
        row = rows[instance.pk]
        if row.state != "running":
            return [f"{label}: {row.state}: {row.state_reason}"]
        overhead.append(row.launched_at.timestamp() - started)
        running.append(row.running_at.timestamp() - started)

    def fmt(values):
        return f"p50 {statistics.median(values):.2f} s, max {max(values):.2f} s"

    return [f"{label} ({len(instances)}): Shelf overhead {fmt(overhead)}; order to running {fmt(running)}"]


def _terminate_all(bruce) -> None:
    from shelf.compute import tasks
    from shelf.compute.models import Instance
    from shelf.compute.services import instance_terminate

    for row in Instance.objects.exclude(state__in=("terminated", "terminating")):
        tasks.run_terminate(instance_terminate(actor=bruce, instance=row))


def bench(n: int = 5) -> list[str]:
    out = []
    with tempfile.TemporaryDirectory(prefix="shelf-compute-bench-", dir="/var/tmp") as tmp:
        data_dir = Path(tmp)
        _setup(data_dir)
        from shelf.compute import tasks
        from shelf.compute.backends import get_backend
        from shelf.compute.models import Instance
        from shelf.compute.services import instance_stop

        bruce, image = _fixtures()
        accel = get_backend().accel()
        out.append(f"acceleration: {accel['accel']} ({accel['reason']})")
        worker = _worker(data_dir)
        try:
            # Warm-up, not counted: the worker's start-up and the image's first link into the bases cache.
            _wait([_order(bruce, image)])
            _terminate_all(bruce)
            sequential = []
            for _ in range(n):
                sequential.append(_order(bruce, image))
                _wait(sequential[-1:])
            out += _figures("sequential", sequential)
            _terminate_all(bruce)
            concurrent = [_order(bruce, image) for _ in range(n)]
            out += _figures("concurrent", concurrent)
            _terminate_all(bruce)

            # A restart of Shelf's processes while a guest runs: the guest stays, known and controllable.
            survivor, _ = _order(bruce, image)
            _wait([(survivor, 0)])
            pid = int((Path(get_backend().root) / str(survivor.pk) / "qemu.pid").read_text())
            _stop(worker, signal.SIGKILL)
            worker = _worker(data_dir)
            result = tasks.reconcile()
            alive = Path(f"/proc/{pid}").exists()
            instance_stop(actor=bruce, instance=Instance.objects.get(pk=survivor.pk))
            deadline = time.monotonic() + 60
            while Instance.objects.get(pk=survivor.pk).state != "stopped" and time.monotonic() < deadline:
                time.sleep(0.2)
            state = Instance.objects.get(pk=survivor.pk).state
            out.append(
                f"worker killed (SIGKILL) and restarted: guest process alive {alive}, reconciliation lost "
                f"{len(result['lost'])}, stop through the new worker → {state}"
            )
        finally:
            _stop(worker)
            _terminate_all(bruce)
            leftovers = list((data_dir / "instances").glob("*/qemu.pid"))
            shutil.rmtree(data_dir / "instances", ignore_errors=True)
            if leftovers:
                out.append(f"WARNING: leftover instance directories {leftovers}")
    return out


if __name__ == "__main__":
    for text in bench(int(sys.argv[1]) if len(sys.argv) > 1 else 5):
        print(text, flush=True)
