"""A long-lived scanner process with memory and time limits.

The worker keeps one child that has the scan engine (dissect) loaded, sends it one job per line
and reads one JSON result per line. A job that runs past its time or memory limit kills the child
(the next job starts a fresh one), so a hostile image can hurt a scan, never the worker.

Child protocol (stdin/stdout, one JSON object per line): {"path", "format"[, "yara": [rule sources]]} →
{"ok": true, "result": {...}, "sbom": {...}} or {"ok": false, "error": "..."}. "yara" (the operators' active rule sets)
is optional, so a job without it scans with the built-in rules only.
"""

import json
import os
import resource
import select
import signal
import subprocess
import sys
import threading
import time

from django.conf import settings

MAX_REPLY_BYTES = 256 * 1024 * 1024  # one reply line (result + SBOM); more means a runaway child


class ScanFailed(Exception):
    """The scanner crashed, ran out of memory or time: the scan is `error`, never `passed`."""


class ScannerProcess:
    def __init__(self, memory_limit: int, cpu_limit: int):
        self.memory_limit = memory_limit
        self.cpu_limit = cpu_limit
        self.process: subprocess.Popen | None = None
        self.lock = threading.Lock()

    def _limits(self) -> None:
        resource.setrlimit(resource.RLIMIT_AS, (self.memory_limit, self.memory_limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setsid()

    def _start(self) -> subprocess.Popen:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0"}
        if os.environ.get("SHELF_CLAMAV_DB"):
            env["SHELF_CLAMAV_DB"] = os.environ["SHELF_CLAMAV_DB"]
        if os.environ.get("PYTHONPATH"):  # the scanner runs the same Shelf as its parent (a checkout on PYTHONPATH)
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        return subprocess.Popen(
            [sys.executable, "-m", "shelf.scanning.runner"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            preexec_fn=self._limits,
            cwd="/",  # noqa: PLW1509 - limits must apply before exec
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            # The scanner leads its own session (setsid): kill the whole group, clamscan included.
            try:
                if os.getpgid(self.process.pid) == self.process.pid:
                    os.killpg(self.process.pid, signal.SIGKILL)
                else:
                    self.process.kill()
            except ProcessLookupError:
                pass
            self.process.wait()
        self.process = None

    def scan(self, path: str, disk_format: str, timeout: float, yara: list[str] | None = None) -> dict:
        job = {"path": str(path), "format": disk_format}
        if yara:
            job["yara"] = list(yara)
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.process = self._start()
            process = self.process
            try:
                process.stdin.write((json.dumps(job) + "\n").encode())
                process.stdin.flush()
            except BrokenPipeError as exc:
                self.stop()
                raise ScanFailed("the scanner process died") from exc
            line = self._read_line(process, timeout)
            try:
                reply = json.loads(line)
            except ValueError:
                reply = None
            if not isinstance(reply, dict) or (reply.get("ok") and not isinstance(reply.get("result"), dict)):
                # Out of step with the child: whatever it writes next would be taken as the next job's answer.
                self.stop()
                raise ScanFailed("the scanner process sent an unreadable reply")
            if not reply.get("ok"):
                raise ScanFailed(reply.get("error") or "scanner error")
            return reply

    def _read_line(self, process, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        buffer = b""
        fd = process.stdout.fileno()
        while not buffer.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise ScanFailed(f"the scan took longer than {timeout:.0f} s and was stopped")
            ready, _w, _x = select.select([fd], [], [], remaining)
            if not ready:
                continue
            data = os.read(fd, 1 << 20)
            if not data:
                self.stop()
                raise ScanFailed("the scanner process crashed (out of memory or a fatal error)")
            buffer += data
            if len(buffer) > MAX_REPLY_BYTES:
                self.stop()
                raise ScanFailed(f"the scanner's reply was too large (over {MAX_REPLY_BYTES} bytes) and was stopped")
        return buffer


_process: ScannerProcess | None = None


def scanner() -> ScannerProcess:
    global _process
    if _process is None:
        _process = ScannerProcess(settings.SHELF_SCAN_MEMORY_LIMIT, settings.SHELF_SCAN_TIMEOUT)
    return _process


def _serve() -> None:
    """The child's loop: load the engine once, then scan one job per input line."""
    from shelf.scanning import engine

    # The protocol gets a private copy of stdout; anything the engine or a library prints goes to stderr instead,
    # so a stray line can never be read as a job's answer.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        try:
            job = json.loads(line)
            result = engine.scan_image(job["path"], job["format"], yara_rules=job.get("yara") or None)
            reply = {"ok": True, "result": result.to_dict(), "sbom": result.sbom()}
        except MemoryError:
            reply = {"ok": False, "error": "the scan ran out of memory"}
        except Exception as exc:  # noqa: BLE001 - reported to the worker as an error, never a pass
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
        protocol.write(json.dumps(reply, default=str) + "\n")
        protocol.flush()


if __name__ == "__main__":
    _serve()
