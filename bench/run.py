"""Shelf benchmarks: `make bench` (or `.venv/bin/python bench/run.py [NAME ...]`).

Each benchmark is a function registered with @benchmark; it prints its own figures and returns.
Every process a benchmark starts is stopped and every file it writes is removed, even on failure.

Environment:
  SHELF_BENCH_SIZE   size of the image file for the import benchmark (bytes, or 512M, 2G ...; default 4G)
  SHELF_BENCH_SCAN_SIZE  data in the large image of the scan benchmark (default 2G)
  SHELF_BENCH_DIR    where temporary files go (default: /var/tmp, else the repository's var/)
  SHELF_BENCH_PRODUCTS, SHELF_BENCH_WORKERS, SHELF_BENCH_SECONDS, SHELF_BENCH_CONNECTIONS, DATABASE_URL
                     the catalog benchmark's size, server and load (see bench/catalog.py)
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shelf.units import human_bytes

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    # `python bench/run.py` puts only bench/ on the path; the scan benchmark (bench.scan_engine) and the image
    # builders it uses (tests.images.builders) are imported from the repository root.
    sys.path.insert(0, str(REPO))
BIN = Path(sys.executable).parent
MiB = 1024**2
GiB = 1024**3

BENCHMARKS: dict[str, Callable[[], None]] = {}


def benchmark(name: str):
    """Register a benchmark under `name`; `bench/run.py NAME` runs only the named ones."""

    def register(function: Callable[[], None]) -> Callable[[], None]:
        BENCHMARKS[name] = function
        return function

    return register


# --------------------------------------------------------------------------- helpers


def parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 1024, "M": MiB, "G": GiB, "T": 1024**4}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


human = human_bytes


def line(label: str, value: str) -> None:
    print(f"  {label:<38} {value}", flush=True)


@contextlib.contextmanager
def scratch_dir(needed: int) -> Iterator[Path]:
    """A private temporary directory on a file system with room for `needed` bytes; removed afterwards."""
    # /var/tmp is disk-backed where /tmp may be RAM; the directory made in it is private (mkdtemp, 0700).
    candidates = [os.environ.get("SHELF_BENCH_DIR"), "/var/tmp", str(REPO / "var")]  # noqa: S108
    for candidate in filter(None, candidates):
        base = Path(candidate)
        base.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(base).free > needed + GiB:
            break
    else:
        raise SystemExit(f"No file system with {human(needed)} free for the benchmark (set SHELF_BENCH_DIR).")
    path = Path(tempfile.mkdtemp(prefix="shelf-bench-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def make_file(path: Path, size: int) -> None:
    """Incompressible, non-sparse data (a 64 MiB random block repeated), a whole number of 512-byte sectors."""
    size -= size % 512
    block = os.urandom(64 * MiB)
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, len(block))
            fh.write(block[:n])
            left -= n
        fh.flush()
        os.fsync(fh.fileno())


def write_baseline(path: Path, size: int) -> float:
    """Seconds to write `size` bytes into a new file the way the server stores an upload (no fsync): the
    storage side's floor. Removed afterwards."""
    block = os.urandom(MiB)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        started = time.perf_counter()
        for offset in range(0, size, MiB):
            os.pwrite(fd, block[: min(MiB, size - offset)], offset)
        return time.perf_counter() - started
    finally:
        os.close(fd)
        path.unlink()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def proc_status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    return dict(row.split(":", 1) for row in text.splitlines() if ":" in row)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def vm_hwm(pid: int) -> int:
    """Peak resident set size of a live process, in bytes."""
    value = proc_status(pid).get("VmHWM", "0 kB").split()[0]
    return int(value) * 1024


def run_timed(command: list[str], env: dict) -> tuple[float, int, int]:
    """Run to completion; return (seconds, exit code, peak RSS in bytes) of that one child."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _pid, status, usage = os.wait4(process.pid, 0)
    except BaseException:
        process.kill()
        process.wait()
        raise
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.stderr.write(process.stderr.read().decode(errors="replace"))
    process.stderr.close()
    return elapsed, process.returncode, usage.ru_maxrss * 1024


@dataclass
class Server:
    """A real Shelf (`manage.py serve`: gunicorn + one db_worker) on a free port with its own data directory."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    extra_env: dict = field(default_factory=dict)  # e.g. DATABASE_URL, SHELF_WEB_WORKERS

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict:
        return {
            **os.environ,
            "SHELF_DATA_DIR": str(self.data_dir),
            "DJANGO_SETTINGS_MODULE": "shelf.settings",
            "SHELF_LOG_LEVEL": "WARNING",
            **self.extra_env,
        }

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, str(REPO / "manage.py"), *args], env=self.env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
        return done.stdout

    def start(self, *, setup: bool = True) -> None:
        """Serve; with `setup`, migrate and create the demo users first (a prepared database needs neither)."""
        if setup:
            self.manage("migrate", "--noinput", "-v", "0")
            self.manage("demo_data")
        log = open(self.data_dir / "server.log", "wb")  # noqa: SIM115 - closed with the directory
        # A session of its own: stopping it reaches gunicorn's workers and the db_worker too.
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "manage.py"), "serve", "--bind", f"127.0.0.1:{self.port}"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{(self.data_dir / 'server.log').read_text()[-3000:]}")
            try:
                httpx.get(f"{self.url}/api/v1/regions", timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("the server did not answer within 60 s")

    def processes(self) -> dict[int, str]:
        if self.process is None or self.process.poll() is not None:
            return {}
        return {pid: cmdline(pid) for pid in [self.process.pid, *descendants(self.process.pid)]}

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Children that outlived the supervisor (they share its process group).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def api(self, path: str, token: str) -> dict:
        response = httpx.get(f"{self.url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        response.raise_for_status()
        return response.json()


# --------------------------------------------------------------------------- benchmarks


@benchmark("image-import")
def image_import() -> None:
    """Import a multi-GB raw image with the real CLI into a real server; compare with sha256sum."""
    size = parse_size(os.environ.get("SHELF_BENCH_SIZE", "4G"))
    size -= size % 512
    print(f"image import: {human(size)} raw image, real `shelf image import` against `manage.py serve`", flush=True)
    # The file, its staged upload and the stored object.
    with scratch_dir(needed=3 * size) as scratch:
        image = scratch / "bench.raw"
        make_file(image, size)

        # Once untimed, so both it and the import read the file from the page cache.
        expected_sha256 = subprocess.run(
            ["sha256sum", str(image)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        sha_seconds, code, _rss = run_timed(["sha256sum", str(image)], os.environ.copy())
        assert code == 0
        sha_rate = size / sha_seconds / 1e6
        line("sha256sum", f"{sha_seconds:6.2f} s  {sha_rate:7.1f} MB/s")

        copy = scratch / "cp-baseline"
        cp_seconds, code, _rss = run_timed(["cp", str(image), str(copy)], os.environ.copy())
        copy.unlink()
        line("cp of the same file", f"{cp_seconds:6.2f} s  {size / cp_seconds / 1e6:7.1f} MB/s")

        write_seconds = write_baseline(scratch / "write-baseline", size)
        line("write the same size (1 MiB pwrite)", f"{write_seconds:6.2f} s  {size / write_seconds / 1e6:7.1f} MB/s")

        server = Server(data_dir=scratch / "data")
        server.data_dir.mkdir()
        try:
            server.start()
            token = server.manage("shelf_token", "alice").strip()
            cli_env = {
                "PATH": os.environ.get("PATH", ""),
                "HOME": str(scratch),
                "SHELF_CONFIG": str(scratch / "cli.json"),
                "SHELF_URL": server.url,
                "SHELF_TOKEN": token,
            }
            command = [
                str(BIN / "shelf"),
                "image",
                "import",
                str(image),
                "-r",
                "ap-guangzhou",
                "-n",
                "bench",
                "--format",
                "raw",
                "--no-wait",
            ]
            started = time.perf_counter()
            upload_seconds, code, cli_rss = run_timed(command, cli_env)
            if code != 0:
                raise RuntimeError("shelf image import failed")
            images = server.api("/images", token)
            image_id = images[0]["id"]
            deadline = time.monotonic() + 600
            while (found := server.api(f"/images/{image_id}", token))["status"] not in ("available", "failed"):
                if time.monotonic() > deadline:
                    raise RuntimeError("validation did not finish within 10 minutes")
                time.sleep(0.1)
            total_seconds = time.perf_counter() - started
            if found["status"] != "available":
                raise RuntimeError(f"the image failed: {found['failure_reason']}")

            processes = server.processes()
            gunicorn = {pid: vm_hwm(pid) for pid, cmd in processes.items() if "gunicorn" in cmd}
            worker = {pid: vm_hwm(pid) for pid, cmd in processes.items() if "db_worker" in cmd}
        finally:
            server.stop()

        upload_rate = size / upload_seconds / 1e6
        line("upload (CLI start to complete)", f"{upload_seconds:6.2f} s  {upload_rate:7.1f} MB/s")
        line("import incl. validation", f"{total_seconds:6.2f} s  {size / total_seconds / 1e6:7.1f} MB/s")
        line("upload throughput / sha256sum", f"{upload_rate / sha_rate:6.2f}  (goal >= 0.8)")
        line("upload throughput / cp", f"{upload_rate / (size / cp_seconds / 1e6):6.2f}")
        line("server's sha256 = sha256sum's", "yes" if found["sha256"] == expected_sha256 else "NO")
        line(f"server peak RSS, {len(gunicorn)} gunicorn processes", human(sum(gunicorn.values())))
        for pid, rss in sorted(gunicorn.items()):
            line(f"  pid {pid}", human(rss))
        line("background worker peak RSS", human(sum(worker.values())))
        line("CLI peak RSS", human(cli_rss))


@benchmark("scan")
def scan() -> None:
    """Scan a small image and one holding several GB of data; compare with sha256sum of the large image file."""
    from bench.scan_engine import bench_scan

    size = parse_size(os.environ.get("SHELF_BENCH_SCAN_SIZE", "2G"))
    print(f"host security scan: small image vs one with {human(size)} of data", flush=True)
    with scratch_dir(needed=3 * size) as scratch:
        for text in bench_scan(scratch, large_gib=size / GiB):
            print(f"  {text}", flush=True)


@benchmark("scan-real")
def scan_real() -> None:
    """Scan a real Debian 12 LAMP image (built once with mmdebstrap, cached outside the repository) against
    sha256sum and virt-inspector in the same run."""
    from bench.scan_real import bench_real_scan

    print("host security scan of a real Debian 12 LAMP image", flush=True)
    for text in bench_real_scan():
        print(f"  {text}", flush=True)


@benchmark("catalog")
def catalog() -> None:
    """Seed 100,000 listed products, serve them with several workers and load each catalog page with wrk, beside
    the same server's trivial endpoint (bench/catalog.py)."""
    from bench.catalog import bench_catalog

    print("storefront catalog under load", flush=True)
    for text in bench_catalog():
        print(f"  {text}", flush=True)


@benchmark("load")
def load() -> None:
    """50 clients for 60 s mixing catalog reads, draft saves, uploads and orders against 2 web and 2 worker
    processes on a PostgreSQL cluster of its own; no 5xx, no lost edit, one charge per order (bench/load.py)."""
    from bench.load import bench_load

    print("mixed load on PostgreSQL", flush=True)
    for text in bench_load():
        print(f"  {text}", flush=True)


@benchmark("compute-launch")
def compute_launch() -> None:
    """Order to running with the boot image under the local back end: 5 sequential and 5 concurrent launches."""
    print("compute: order to running (first console line), local qemu back end, one db_worker", flush=True)
    done = subprocess.run(
        [sys.executable, "-c", "from bench.compute_launch import bench\nfor t in bench(5): print(t)"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    for text in done.stdout.splitlines():
        print(f"  {text}", flush=True)
    if done.returncode != 0:
        print(done.stderr[-3000:], flush=True)


def main(names: list[str]) -> int:
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    for name in names or list(BENCHMARKS):
        BENCHMARKS[name]()
    return 0


def _terminate(signum, frame):
    # Unwind like Ctrl-C, so every `finally` stops the server and removes the files.
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    sys.exit(main(sys.argv[1:]))
