"""Regressions found in review: runner line protocol, exception keys, unchecked vulnerabilities."""

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from shelf.images.models import Image
from shelf.scanning.models import Scan
from shelf.scanning.runner import ScanFailed, ScannerProcess
from shelf.scanning.services import exception_grant, scan_record

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
        return subprocess.Popen(
            [sys.executable, "-c", STUB_CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )


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
    done = subprocess.run(
        [sys.executable, "-c", child],
        input=b'{"path": "a", "format": "raw"}\n',
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    first = done.stdout.splitlines()[0]
    assert json.loads(first) == {"ok": True, "result": {"path": "a"}, "sbom": {}}


def _image(alice) -> Image:
    return Image.objects.create(
        organization=alice.organizations.get(),
        region_id=1,
        name="direct",
        disk_format="raw",
        status="available",
        stored_size=1,
    )


def _result(path: str, **extra) -> dict:
    finding = {
        "check_id": "hygiene.history",
        "family": "hygiene",
        "severity": "medium",
        "title": "history",
        "evidence": [{"path": path, "line": None, "text": ""}],
        "fix": "remove it",
        "data": {},
    }
    return {
        "os": {"family": "debian", "distro": "debian", "version": "12"},
        "packages": [],
        "findings": [finding],
        "incomplete": [],
        **extra,
    }


def test_an_exception_granted_from_the_report_covers_a_finding_with_a_long_path(alice, olivia, db, settings):
    image = _image(alice)
    long_path = "/home/user/" + "d" * 400 + "/.bash_history"
    scan = scan_record(scan=Scan.objects.create(image=image, status="running"), result=_result(long_path))
    finding = scan.findings.get()
    assert finding.blocking
    # The report's form posts the finding's stored key.
    exception_grant(
        actor=olivia,
        image=image,
        check_id=finding.check_id,
        key=finding.key,
        justification="ok",
        expires_at=timezone.localdate() + timedelta(days=30),
    )
    rescan = scan_record(scan=Scan.objects.create(image=image, status="running"), result=_result(long_path))
    finding = rescan.findings.get()
    assert not finding.blocking and finding.excepted_by is not None


def test_an_expired_exception_is_not_shown_as_the_one_that_excepts_a_finding(alice, olivia, db):
    from shelf.scanning.models import FindingException

    image = _image(alice)
    old = FindingException.objects.create(
        image=image,
        check_id="hygiene.history",
        key="/root/.bash_history",
        justification="old",
        expires_at=timezone.localdate() - timedelta(days=1),
    )
    current = exception_grant(
        actor=olivia,
        image=image,
        check_id="hygiene.history",
        key="/root/.bash_history",
        justification="new",
        expires_at=timezone.localdate() + timedelta(days=30),
    )
    FindingException.objects.filter(pk=old.pk).update(created_at=current.created_at - timedelta(days=30))
    scan = scan_record(scan=Scan.objects.create(image=image, status="running"), result=_result("/root/.bash_history"))
    assert scan.findings.get().excepted_by_id == current.pk


def test_too_long_exception_fields_are_violations_not_database_errors(alice, olivia, db):
    from shelf.errors import RuleViolations

    with pytest.raises(RuleViolations) as caught:
        exception_grant(
            actor=olivia,
            image=_image(alice),
            check_id="c" * 81,
            key="k" * 301,
            justification="x",
            expires_at=timezone.localdate() + timedelta(days=3),
        )
    assert {v.field for v in caught.value.violations} == {"check_id", "key"}


def test_an_image_whose_packages_could_not_be_listed_is_not_passed(alice, db):
    result = {
        "os": {"family": "arch", "distro": "arch", "version": "", "pretty_name": "Arch Linux"},
        "packages": [],
        "findings": [],
        "incomplete": [],
    }
    scan = scan_record(scan=Scan.objects.create(image=_image(alice), status="running"), result=result)
    assert scan.verdict == "incomplete"
    assert any("package" in reason for reason in scan.incomplete)
