"""The boot check before listing: a passing scan boots the image once with a throwaway hostname and records it."""

from __future__ import annotations

import pytest
from django.test import override_settings

from shelf.audit.models import AuditEvent
from shelf.compute.models import BootCheck
from shelf.compute.selectors import latest_boot_check
from shelf.compute.services import boot_check_request
from shelf.compute.tasks import run_boot_check
from shelf.scanning.models import Scan, ScanPolicy
from shelf.scanning.services import scan_record
from tests.compute.conftest import available_image

CLEAN = {"os": {"family": "debian", "version": "12"}, "packages": [], "findings": [], "incomplete": []}


def _passing_scan(image) -> Scan:
    policy = ScanPolicy.current()
    policy.require_vulndb = False
    policy.save()
    scan = scan_record(scan=Scan.objects.create(image=image, status=Scan.Status.RUNNING), result=CLEAN)
    assert scan.verdict == Scan.Verdict.PASSED
    return scan


def _instances_dir(settings):
    return settings.DATA_DIR / "instances"


@pytest.mark.django_db(transaction=True)
def test_the_boot_image_passes_and_leaves_nothing_behind(vm, settings):
    settings.SHELF_BOOT_CHECK = True
    settings.SHELF_BOOT_CHECK_TIMEOUT = 120
    settings.SHELF_BOOT_CHECK_MEMORY_MIB = 256
    scan = _passing_scan(vm)  # the receiver requests the check; the immediate task backend runs it on commit
    check = BootCheck.objects.get(image=vm, scan=scan)
    assert check.status == BootCheck.Status.PASSED, (check.reason, check.console_excerpt)
    assert check.hostname.startswith("shelf-check-") and len(check.hostname) > len("shelf-check-") + 8
    assert check.hostname in check.console_excerpt
    assert 0 < check.first_line_seconds <= check.seed_seen_seconds < 120
    assert len(check.console_excerpt.encode()) <= BootCheck.EXCERPT_MAX
    assert check.started_at and check.finished_at and check.backend == "local"
    assert not (_instances_dir(settings) / check.ref).exists()  # process and files are gone
    assert latest_boot_check(vm) == check
    assert AuditEvent.objects.filter(action="boot_check.finish", to_status="passed").count() == 1
    # Idempotent per (image, scan): asking again answers the same check and boots nothing.
    assert boot_check_request(image=vm, scan=scan) == check
    assert BootCheck.objects.filter(image=vm).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_disk_that_does_not_boot_fails_with_reason_and_console(vm, settings, alice, tmp_path):
    settings.SHELF_BOOT_CHECK_TIMEOUT = 8
    settings.SHELF_BOOT_CHECK_MEMORY_MIB = 256
    disk = tmp_path / "blank.raw"
    # An MBR partition table with one empty Linux partition and no boot code: firmware finds nothing to boot.
    data = bytearray(4 * 1024 * 1024)
    data[446:462] = bytes([0x80, 0, 2, 0, 0x83, 0, 0, 0]) + (2048).to_bytes(4, "little") + (4096).to_bytes(4, "little")
    data[510:512] = b"\x55\xaa"
    disk.write_bytes(bytes(data))
    image = available_image(alice.organizations.first(), disk)
    check = run_boot_check(boot_check_request(image=image, scan=None))
    assert check.status == BootCheck.Status.FAILED
    assert check.seed_seen_seconds is None
    # The firmware writes to the screen, not the serial console: nothing came up on it at all.
    assert check.reason == "The guest printed nothing on its serial console within 8 seconds."
    assert check.first_line_seconds is None and check.console_excerpt == ""
    assert 8 <= (check.finished_at - check.started_at).total_seconds() < 30
    assert not (_instances_dir(settings) / check.ref).exists()
    event = AuditEvent.objects.get(action="boot_check.finish")
    assert event.to_status == "failed" and event.reason == check.reason


@pytest.mark.django_db(transaction=True)
def test_no_check_when_the_setting_is_off_or_the_scan_failed(settings, alice):
    image = available_image(alice.organizations.first())
    with override_settings(SHELF_BOOT_CHECK=False):
        _passing_scan(image)
    assert not BootCheck.objects.exists()
    settings.SHELF_BOOT_CHECK = True
    failing = dict(CLEAN, incomplete=["the disk could not be read"])
    scan = scan_record(scan=Scan.objects.create(image=image, status=Scan.Status.RUNNING), result=failing)
    assert scan.verdict != Scan.Verdict.PASSED
    assert not BootCheck.objects.exists()
