"""`make faults`: break real parts of a running Shelf on purpose and check that it survives with nothing lost.

Each scenario starts what it needs in a throwaway directory (its own PostgreSQL cluster, its own data directory,
gunicorn on a free loopback port), breaks one part, and prints what clients saw and what was left. The exit
status is non-zero when any scenario fails. `python faults/run.py [NAME ...]` runs some; names: see SCENARIOS.

- postgres-restart: PostgreSQL restarted (fast shutdown) under load from 8 clients against 2 gunicorn workers.
  Requests during the outage must fail cleanly (503 with Retry-After, no 500, no traceback) and every request
  must succeed again within a few seconds of the server being back, without restarting Shelf.
- web-killed-mid-upload: every web process killed (-9) while `shelf image import` streams 192 MiB; the CLI resumes
  against a new web process and the stored object is the file (SHA-256).
- disk-full: the object store on a 40 MiB filesystem during a 96 MiB import: a clear error, nothing of the refused
  chunk kept, the quota unchanged; once the filesystem grows the same command resumes and stores the file.
- worker-killed-mid-copy: an RQ worker and its work horse killed (-9) while copying a 768 MiB image to another region
  (PostgreSQL + Redis); RQ's abandoned-job handling runs the copy again: one copy, identical, validated once.
- worker-killed-mid-scan: the same, mid-scan of an image of 30,000 files: the rerun takes the scan over and finishes
  it, after the kill, as the image's one scan.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct-Horse-battery-9"  # noqa: S105 - the throwaway users of throwaway databases


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise SystemExit(f"PostgreSQL's {name} is not installed (apt-get install postgresql).")
    return str(found[-1])


@contextlib.contextmanager
def private_postgres(root: Path) -> Iterator[PrivateCluster]:
    """A PostgreSQL cluster of its own on a free port (initdb refuses root: it runs as `postgres`), removed after."""
    cluster = PrivateCluster(root / "pg", free_port())
    cluster.data.mkdir(parents=True)
    shutil.chown(cluster.data, "postgres", "postgres")
    os.chmod(root, 0o755)  # noqa: S103 - `postgres` must reach its data directory inside
    cluster.as_postgres(pg_bin("initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres", "--no-sync")
    try:
        cluster.ctl("start")
        subprocess.run(
            [pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "shelf"], check=True
        )
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.ctl("stop", "-m", "immediate")


FAULTS_REDIS_DB = "9"
SHORT_LEASE = {"SHELF_WORKER_HEARTBEAT": "2", "SHELF_WORKER_LEASE_GRACE": "3", "SHELF_WORKER_MAINTENANCE": "2"}


@contextlib.contextmanager
def redis_database(number: str) -> Iterator[str]:
    """Database `number` of the machine's Redis on loopback, empty, emptied again afterwards; yields its URL."""
    subprocess.run(["redis-cli", "-n", number, "flushdb"], check=True, capture_output=True)
    try:
        yield f"redis://127.0.0.1:6379/{number}"
    finally:
        subprocess.run(["redis-cli", "-n", number, "flushdb"], check=False, capture_output=True)


def rq_env(redis_url: str) -> dict:
    """Shelf's environment for Redis (cache, sessions, throttle) and RQ workers."""
    return {"REDIS_URL": redis_url, "SHELF_TASKS_BACKEND": "rq"}


@dataclass
class PrivateCluster:
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/shelf"

    def as_postgres(self, *command: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True, capture_output=True)

    def ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.as_postgres(
            pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.data / "log"), "-w", action, *extra
        )


@dataclass
class Shelf:
    """Shelf on `database_url` with its own data directory: `manage` runs a command, `serve` starts gunicorn."""

    root: Path
    database_url: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # more environment, e.g. REDIS_URL and SHELF_TASKS_BACKEND=rq

    @property
    def env(self) -> dict:
        return {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "shelf.settings",
            "SHELF_DATA_DIR": str(self.root / "data"),
            "DATABASE_URL": self.database_url,
            "SHELF_LOG_LEVEL": "CRITICAL",
            **self.extra,
        }

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(REPO / "manage.py"), *args], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def serve(self, workers: int = 2, port: int | None = None) -> str:
        port = port or free_port()
        self.processes.append(
            subprocess.Popen(
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
                    str(workers),
                ],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"{url}/api/v1/regions", timeout=2)
                return url
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer within 60 s")

    def worker(self) -> subprocess.Popen:
        """One background worker of the configured backend, on both queues, in a session of its own (so that a
        kill reaches the job it runs too)."""
        if self.extra.get("SHELF_TASKS_BACKEND") == "rq":
            command = ["rqworker", "--with-scheduler", "default", "scans"]
        else:
            command = ["db_worker", "--queue-name", "*", "--interval", "0.5"]
        process = subprocess.Popen(
            [sys.executable, str(REPO / "manage.py"), *command],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def stop(self) -> None:
        # Each process leads a session of its own: signalling the group reaches what it forked too (gunicorn's
        # workers, RQ's work horse and scheduler).
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        # VMs the workers started (qemu daemonizes: a boot check, an instance) have their files under the root.
        subprocess.run(["pkill", "-9", "-f", f"qemu-system.*{self.root}"], check=False)


@dataclass
class Answer:
    at: float  # when the request was sent, from the start of the load
    done: float  # when its answer (or the failure) came
    what: str
    status: int  # 0: no answer (connection refused or reset)
    clean: bool  # no traceback or exception text in the body


class Load:
    """`clients` threads sending `requests` (name → function(httpx.Client) → Response) in turn until stopped."""

    def __init__(self, base: str, requests: dict[str, Callable], clients: int = 8):
        self.base, self.requests, self.clients = base, requests, clients
        self.answers: list[Answer] = []
        self.stopping = threading.Event()
        self.started = time.monotonic()

    def _client(self, n: int) -> None:
        names = list(self.requests)
        with httpx.Client(base_url=self.base, timeout=30) as http:
            i = n
            while not self.stopping.is_set():
                name = names[i % len(names)]
                i += 1
                sent = time.monotonic() - self.started
                try:
                    response = self.requests[name](http)
                    body = response.text
                    clean = "Traceback" not in body and "Error at /" not in body
                    self.answers.append(Answer(sent, self.now(), name, response.status_code, clean))
                except httpx.TransportError:
                    self.answers.append(Answer(sent, self.now(), name, 0, True))
                    time.sleep(0.05)

    @contextlib.contextmanager
    def running(self) -> Iterator[Load]:
        threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join(timeout=60)

    def now(self) -> float:
        return time.monotonic() - self.started


def _statuses(answers: list[Answer]) -> str:
    counts = collections.Counter(a.status for a in answers)
    return ", ".join(f"{status or 'no answer'}: {n}" for status, n in sorted(counts.items())) or "none"


def postgres_restart(root: Path) -> tuple[bool, list[str]]:
    with private_postgres(root) as cluster:
        shelf = Shelf(root, cluster.url)
        shelf.manage("migrate", "--noinput", "-v", "0")
        shelf.manage(
            "shell",
            "-c",
            "from shelf.accounts.services import provider_signup; "
            f"provider_signup(username='fault', email='fault@example.com', password={PASSWORD!r}, "
            "organization_name='Fault Images')",
        )
        try:
            base = shelf.serve(workers=2)
            requests = {
                "GET /api/v1/catalog": lambda h: h.get("/api/v1/catalog"),
                "GET / (page)": lambda h: h.get("/"),
                "POST /api/v1/auth/token (a write)": lambda h: h.post(
                    "/api/v1/auth/token", json={"username": "fault", "password": PASSWORD, "name": "fault"}
                ),
                "GET /products/ (page)": lambda h: h.get("/products/"),
            }
            with Load(base, requests).running() as load:
                time.sleep(5)
                down = load.now()
                cluster.ctl("restart", "-m", "fast")
                up = load.now()
                time.sleep(10)
            shelf_alive = all(p.poll() is None for p in shelf.processes)
        finally:
            shelf.stop()
    answers = load.answers
    ok = {200, 201}
    before = [a for a in answers if a.done < down]
    during = [a for a in answers if a.done >= down and a.at < up + 5]  # in flight at the restart, or sent soon after
    after = [a for a in answers if a.at >= up + 5]
    failed_during = [a for a in during if a.status not in ok]
    lines = [
        f"2 gunicorn workers, 8 clients; PostgreSQL restarted at {down:.1f} s, accepting again at {up:.1f} s",
        f"before: {_statuses(before)}",
        f"in flight during the restart or sent within 5 s after it: {_statuses(during)}",
        f"afterwards ({len(after)} requests): {_statuses(after)}",
    ]
    if failed_during:
        last = max(a.at for a in failed_during)
        lines.append(f"last failed request sent {last - up:+.1f} s after the server was back")
    problems = []
    if any(a.status not in ok for a in before):
        problems.append("requests failed before the restart")
    if any(a.status not in ok | {503} for a in during):
        problems.append("an answer during the outage was neither a success nor a 503")
    if not all(a.clean for a in answers):
        problems.append("a body carried a traceback")
    if not after or any(a.status not in ok for a in after):
        problems.append("requests still failed more than 5 s after PostgreSQL was back")
    if not shelf_alive:
        problems.append("a Shelf process died")
    lines += [f"PROBLEM: {p}" for p in problems]
    return not problems, lines


def _provider_token(shelf: Shelf) -> str:
    return shelf.manage(
        "shell",
        "-c",
        "from shelf.accounts.services import provider_signup, token_create; "
        f"user, _ = provider_signup(username='fault', email='fault@example.com', password={PASSWORD!r}, "
        "organization_name='Fault Images'); print(token_create(user=user, name='fault')[1])",
    ).split()[-1]


def _random_file(path: Path, mib: int) -> Path:
    with open(path, "wb") as fh:
        for _ in range(mib):
            fh.write(os.urandom(1 << 20))
    return path


def _stored(shelf: Shelf) -> tuple[str, str, int]:
    """(the SHA-256 Shelf recorded, the SHA-256 of the stored object, its stored size) of the one image."""
    recorded, actual, size = shelf.manage(
        "shell",
        "-c",
        "import hashlib; from shelf.images.models import Image; from shelf.storage import get_storage; "
        "image = Image.objects.get(); h = hashlib.sha256(); f = get_storage().open(image.storage_key); "
        "[h.update(b) for b in iter(lambda: f.read(1 << 20), b'')]; print(image.sha256, h.hexdigest(), "
        "image.stored_size)",
    ).split()[-3:]
    return recorded, actual, int(size)


def _cli(root: Path, base: str, token: str, source: Path) -> tuple[list[str], dict]:
    env = {"PATH": os.environ["PATH"], "HOME": str(root), "SHELF_CONFIG": str(root / "cli.json"), "SHELF_URL": base}
    command = [str(Path(sys.executable).with_name("shelf")), "image", "import", str(source), "-r", "ap-guangzhou",
               "-n", "fault upload", "--no-wait"]  # fmt: skip
    return command, {**env, "SHELF_TOKEN": token}


def _filesystem_disk(root: Path, mib: int, files: int = 0) -> Path:
    """A raw disk that validation accepts (GPT, ext4, a Debian-like tree) of about `mib` MiB, mostly one random file."""
    from shelf.images.builders import debian12_tree, ext4_from_tree, partitioned

    tree = debian12_tree(root / "tree")
    (tree / "srv").mkdir(parents=True, exist_ok=True)
    _random_file(tree / "srv" / "payload.bin", mib)
    for n in range(files):  # files for the scanner to walk and read
        (tree / "srv" / f"f{n // 1000}").mkdir(exist_ok=True)
        (tree / "srv" / f"f{n // 1000}" / f"{n}.bin").write_bytes(os.urandom(4096))
    disk = partitioned(ext4_from_tree(tree, root / "root.ext4"), root / "disk.raw", "gpt")
    shutil.rmtree(tree)
    (root / "root.ext4").unlink(missing_ok=True)
    return disk


def disk_full(root: Path) -> tuple[bool, list[str]]:
    """`shelf image import` of 96 MiB into an object store on a 40 MiB filesystem: a clear error, nothing of the
    refused chunk kept, the quota unchanged; once the filesystem is grown, the same command resumes and the
    stored object is the file."""
    shelf = Shelf(root, f"sqlite:///{root / 'data' / 'shelf.sqlite3'}")
    objects = root / "data" / "objects"
    objects.mkdir(parents=True)
    shelf.manage("migrate", "--noinput", "-v", "0")
    token = _provider_token(shelf)
    source = _random_file(root / "disk.raw", 96)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "shelf-fault-full", str(objects)], check=True)
    lines = []
    try:
        base = shelf.serve(workers=2)
        command, env = _cli(root, base, token, source)
        first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        said = " ".join((first.stdout + first.stderr).split())
        lines.append(f"on the full disk the CLI exited {first.returncode}: …{said[-160:]}")
        held = shelf.manage(
            "shell",
            "-c",
            "from shelf.images.models import Image; from shelf.images.services import organization_storage_used; "
            "image = Image.objects.get(); print(image.status, image.stored_size, "
            "organization_storage_used(image.organization))",
        ).split()[-3:]
        staged = sum(p.stat().st_size for p in objects.rglob("*.partial"))
        lines.append(f"image {held[0]}, {int(held[1]) >> 20} MiB acknowledged and {staged >> 20} MiB on disk")
        subprocess.run(["mount", "-o", "remount,size=256m", str(objects)], check=True)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        lines.append(f"after the filesystem grew the same command exited {second.returncode}")
        recorded, actual, size = _stored(shelf)
    finally:
        shelf.stop()
        subprocess.run(["umount", "-l", str(objects)], check=False)
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    lines.append(f"file sha256 {expected[:16]}…, stored object {actual[:16]}…, recorded {recorded[:16]}…")
    problems = []
    if first.returncode == 0 or "storage is full" not in said:
        problems.append("the CLI did not say that the storage is full")
    if held[0] != "importing" or int(held[1]) != staged:
        problems.append("what is on disk is not what was acknowledged")
    if second.returncode != 0 or not recorded == actual == expected or size != source.stat().st_size:
        problems.append("the resumed upload did not store the file")
    return not problems, lines + [f"PROBLEM: {p}" for p in problems]


def web_killed_mid_upload(root: Path) -> tuple[bool, list[str]]:
    """kill -9 of every web process while `shelf image import` streams a 192 MiB image into local storage; a new
    web process on the same port; the CLI (rerun if it gave up) resumes, and the stored object is the file."""
    shelf = Shelf(root, f"sqlite:///{root / 'data' / 'shelf.sqlite3'}")
    (root / "data").mkdir()
    shelf.manage("migrate", "--noinput", "-v", "0")
    token = _provider_token(shelf)
    source = _random_file(root / "disk.raw", 192)
    port = free_port()
    base = shelf.serve(workers=2, port=port)
    command, cli_env = _cli(root, base, token, source)
    lines, reruns = [], 0
    try:
        cli = subprocess.Popen(command, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 120
        staged = 0
        while staged < 64 << 20:
            if time.monotonic() > deadline or cli.poll() is not None:
                return False, [f"the upload never reached 64 MiB (CLI: {cli.poll()}): {cli.stdout.read()[-800:]}"]
            staged = sum(p.stat().st_size for p in (root / "data").rglob("*.partial"))
            time.sleep(0.05)
        for process in shelf.processes:
            process.kill()  # the master; its workers are killed by pkill below
        subprocess.run(["pkill", "-9", "-f", f"127.0.0.1:{port}"], check=False)
        for process in shelf.processes:
            process.wait()
        shelf.processes.clear()
        lines.append(f"web processes killed (-9) with {staged / (1 << 20):.0f} MiB staged")
        time.sleep(2)
        shelf.serve(workers=2, port=port)
        output, _ = cli.communicate(timeout=300)
        while cli.returncode != 0 and reruns < 3:
            reruns += 1
            done = subprocess.run(command, env=cli_env, capture_output=True, text=True, timeout=300)
            cli.returncode, output = done.returncode, done.stdout + done.stderr
        lines.append(
            "the CLI resumed by itself (its retries)" if not reruns else f"the CLI resumed when rerun ({reruns}x)"
        )
        if cli.returncode != 0:
            return False, [*lines, f"the CLI failed: {output[-500:]}"]
        recorded, actual, size = _stored(shelf)
    finally:
        shelf.stop()
    expected = hashlib.sha256(source.read_bytes()).hexdigest()
    lines.append(f"file sha256 {expected[:16]}…, stored object {actual[:16]}…, recorded {recorded[:16]}…")
    same = recorded == actual == expected and size == source.stat().st_size
    return same, lines if same else [*lines, "PROBLEM: the stored object is not the file"]


def worker_killed_mid_copy(root: Path) -> tuple[bool, list[str]]:
    """kill -9 of an RQ worker (and the work horse running the job) while it copies a 768 MiB image to another
    region, on PostgreSQL + Redis; a new worker: RQ's abandoned-job handling runs the copy again, which ends with
    one copy, byte-identical, validated once."""
    with private_postgres(root) as cluster, redis_database(FAULTS_REDIS_DB) as redis_url:
        # A short lease, so that the dead worker's job is requeued within seconds, not minutes.
        shelf = Shelf(root, cluster.url, extra={**rq_env(redis_url), **SHORT_LEASE})
        shelf.manage("migrate", "--noinput", "-v", "0")
        token = _provider_token(shelf)
        source = _filesystem_disk(root, 768)
        lines, problems = [], []
        try:
            base = shelf.serve(workers=2)
            first = shelf.worker()
            command, env = _cli(root, base, token, source)
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
            if done.returncode:
                return False, [f"the import failed: {(done.stdout + done.stderr)[-400:]}"]
            image_id = done.stdout.split()[-1]
            headers = {"Authorization": f"Bearer {token}"}
            deadline = time.monotonic() + 300
            while (image := httpx.get(f"{base}/api/v1/images/{image_id}", headers=headers).json())[
                "status"
            ] != "available":
                if time.monotonic() > deadline or image["status"] == "failed":
                    return False, [f"the source image is {image['status']}: {image.get('failure_reason')}"]
                time.sleep(0.5)
            copy = httpx.post(f"{base}/api/v1/images/{image_id}/copy", json={"region": "ap-shanghai"}, headers=headers)
            copy_id = copy.json()["id"]
            tmp = root / "data" / "objects" / ".tmp"
            deadline = time.monotonic() + 60
            while not any(p.stat().st_size > 64 << 20 for p in tmp.glob("*") if p.is_file()):
                if time.monotonic() > deadline:
                    return False, ["the copy never started streaming"]
                time.sleep(0.02)
            copied = max(p.stat().st_size for p in tmp.glob("*") if p.is_file())
            os.killpg(first.pid, signal.SIGKILL)  # the worker and its work horse
            first.wait()
            shelf.processes.remove(first)
            killed_at = time.monotonic()
            lines.append(f"worker and work horse killed (-9) with {copied >> 20} of 768 MiB copied")
            shelf.worker()
            deadline = time.monotonic() + 180
            while (status := httpx.get(f"{base}/api/v1/images/{copy_id}", headers=headers).json()["status"]) not in (
                "available",
                "failed",
            ):
                if time.monotonic() > deadline:
                    return False, [*lines, f"the copy is still {status} 180 s after the kill"]
                time.sleep(0.5)
            lines.append(f"the copy is {status} {time.monotonic() - killed_at:.0f} s after the kill")
            facts = shelf.manage(
                "shell",
                "-c",
                "import json; from shelf.audit.models import AuditEvent; from shelf.images.models import Image; "
                f"copies = Image.objects.filter(source_image_id={image_id!r}); "
                "print('FACTS ' + json.dumps({'copies': copies.count(), 'sha': [c.sha256 for c in copies], "
                "'source_sha': Image.objects.get(pk=" + repr(image_id) + ").sha256, "
                "'validated': AuditEvent.objects.filter(action='image.available', target_id__in=[str(c.pk) for c in copies]).count()}))",
            )
        finally:
            shelf.stop()
    facts = json.loads(facts.split("FACTS ", 1)[1])
    objects = [p for p in (root / "data" / "objects").rglob(f"*{copy_id}*") if p.is_file()]
    lines.append(
        f"{facts['copies']} copy, sha256 {'equal to' if facts['sha'] == [facts['source_sha']] else 'NOT'} the source's, "
        f"validated {facts['validated']}x, {len(objects)} object file(s) under its key"
    )
    if status != "available" or facts["copies"] != 1 or facts["sha"] != [facts["source_sha"]]:
        problems.append("the copy did not end as one available, identical image")
    if facts["validated"] != 1:
        problems.append("the copy was validated more or less than once")
    return not problems, lines + [f"PROBLEM: {p}" for p in problems]


def worker_killed_mid_scan(root: Path) -> tuple[bool, list[str]]:
    """kill -9 of an RQ worker, its work horse and the scanner it runs, in the middle of the scan of an image with
    30,000 files (PostgreSQL + Redis); a new worker: RQ runs the scan job again, which takes the scan over and
    finishes it once, after the kill."""
    with private_postgres(root) as cluster, redis_database(FAULTS_REDIS_DB) as redis_url:
        # A short lease, so that the dead worker's job is requeued within seconds, not minutes.
        shelf = Shelf(root, cluster.url, extra={**rq_env(redis_url), **SHORT_LEASE})
        shelf.manage("migrate", "--noinput", "-v", "0")
        token = _provider_token(shelf)
        source = _filesystem_disk(root, 256, files=30000)
        lines = []
        try:
            base = shelf.serve(workers=2)
            first = shelf.worker()
            command, env = _cli(root, base, token, source)
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
            if done.returncode:
                return False, [f"the import failed: {(done.stdout + done.stderr)[-400:]}"]
            image_id = done.stdout.split()[-1]
            headers = {"Authorization": f"Bearer {token}"}
            latest = f"{base}/api/v1/images/{image_id}/scans/latest"
            deadline = time.monotonic() + 300
            while (scan := httpx.get(latest, headers=headers)).status_code != 200 or scan.json()["status"] != "running":
                if time.monotonic() > deadline:
                    return False, ["the scan never started running"]
                time.sleep(0.05)
            os.killpg(first.pid, signal.SIGKILL)  # the worker, its work horse and the scanner they started
            killed_wall = time.time()
            first.wait()
            shelf.processes.remove(first)
            killed_at = time.monotonic()
            lines.append("worker, work horse and scanner killed (-9) while the scan was running")
            shelf.worker()
            deadline = time.monotonic() + 300
            while (scan := httpx.get(latest, headers=headers).json())["status"] not in ("done", "failed", "error"):
                if time.monotonic() > deadline:
                    return False, [*lines, f"the scan is still {scan['status']} 300 s after the kill"]
                time.sleep(0.5)
            lines.append(
                f"the scan is {scan['status']} ({scan.get('verdict')}) {time.monotonic() - killed_at:.0f} s after the kill"
            )
            facts = shelf.manage(
                "shell",
                "-c",
                "import json; from shelf.scanning.models import Scan; "
                f"scans = Scan.objects.filter(image_id={image_id!r}); "
                "print('FACTS ' + json.dumps({'scans': scans.count(), 'done': scans.filter(status='done').count(), "
                "'finished': max(s.finished_at.timestamp() for s in scans if s.finished_at)}))",
            )
        finally:
            shelf.stop()
    facts = json.loads(facts.split("FACTS ", 1)[1])
    after = facts["finished"] - killed_wall
    lines.append(
        f"{facts['scans']} scan row(s) for the image, {facts['done']} done, finished {after:+.1f} s after the kill"
    )
    problems = []
    if after <= 0:
        problems.append("the scan had finished before the kill: nothing was proven")
    if scan["status"] != "done" or (facts["scans"], facts["done"]) != (1, 1):
        problems.append("the scan did not end as one finished scan")
    return not problems, lines + [f"PROBLEM: {p}" for p in problems]


SCENARIOS: dict[str, Callable[[Path], tuple[bool, list[str]]]] = {
    "postgres-restart": postgres_restart,
    "web-killed-mid-upload": web_killed_mid_upload,
    "disk-full": disk_full,
    "worker-killed-mid-copy": worker_killed_mid_copy,
    "worker-killed-mid-scan": worker_killed_mid_scan,
}


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    failed = 0
    for name in names or list(SCENARIOS):
        root = Path(tempfile.mkdtemp(prefix=f"shelf-fault-{name}-"))
        started = time.monotonic()
        try:
            survived, lines = SCENARIOS[name](root)
        except Exception as exc:  # noqa: BLE001 - a scenario that could not run is a failure, reported like one
            survived, lines = False, [f"could not run: {exc!r}"]
        finally:
            shutil.rmtree(root, ignore_errors=True)
        failed += not survived
        print(f"{name}: {'SURVIVED' if survived else 'FAILED'} ({time.monotonic() - started:.0f} s)")
        for line in lines:
            print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
