"""Regressions found in review: runner line protocol, exception keys, unchecked vulnerabilities."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shelf.scanning.runner import ScanFailed, ScannerProcess

ROOT = Path(__file__).resolve().parents[2]

# A stand-in scanner child: answers each job with its path; for the job "noisy" something writes a stray line first.
STUB_CHILD = textwrap.dedent("""
    import json, sys
    for line in sys.stdin:
        job = json.loads(line)
        if job["path"] == "noisy":
            sys.stdout.write("a library printed this\\n")
        if job["path"] == "huge":
            sys.stdout.write("x" * (8 * 1024 * 1024))
            sys.stdout.flush()
        sys.stdout.write(json.dumps({"ok": True, "result": {"path": job["path"]}}) + "\\n")
        sys.stdout.flush()
""")


class StubScanner(ScannerProcess):
    def _start(self):
        return subprocess.Popen([sys.executable, "-c", STUB_CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)


def test_a_garbled_reply_fails_that_scan_and_the_next_job_gets_its_own_answer():
    scanner = StubScanner(memory_limit=0, cpu_limit=10)
    try:
        with pytest.raises(ScanFailed):
            scanner.scan("noisy", "raw", timeout=10)
        assert scanner.scan("second", "raw", timeout=10)["result"] == {"path": "second"}
    finally:
        scanner.stop()


def test_an_oversized_reply_is_an_error_not_unbounded_memory(monkeypatch):
    from shelf.scanning import runner

    monkeypatch.setattr(runner, "MAX_REPLY_BYTES", 1024 * 1024, raising=False)
    scanner = StubScanner(memory_limit=0, cpu_limit=10)
    try:
        with pytest.raises(ScanFailed, match="too large"):
            scanner.scan("huge", "raw", timeout=10)
        assert scanner.scan("after", "raw", timeout=10)["result"] == {"path": "after"}
    finally:
        scanner.stop()


def test_engine_output_on_stdout_does_not_corrupt_the_protocol():
    child = textwrap.dedent("""
        import types
        from shelf.scanning import engine, runner

        def scan_image(path, fmt, yara_rules=None):
            print("dissect says hello")
            return types.SimpleNamespace(to_dict=lambda: {"path": path}, sbom=lambda: {})

        engine.scan_image = scan_image
        runner._serve()
    """)
    done = subprocess.run([sys.executable, "-c", child], input=b'{"path": "a", "format": "raw"}\n', capture_output=True,
                          cwd=ROOT, timeout=60, check=True)
    first = done.stdout.splitlines()[0]
    assert json.loads(first) == {"ok": True, "result": {"path": "a"}, "sbom": {}}
