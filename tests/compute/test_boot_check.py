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


def _in_review(alice):
    from tests.storefront.conftest import listed_product, operator

    revision = listed_product(alice.organizations.first(), status="in_review")
    by = operator()
    from shelf.reviews.services import review_claim

    review_claim(operator=by, revision=revision)
    return revision, by, revision.deliveries.get().image


def test_approval_refused_while_the_boot_check_is_missing_or_pending(alice):
    from shelf.errors import RuleViolations
    from shelf.reviews.services import review_approve
    from tests.storefront.conftest import CHECKED

    revision, by, image = _in_review(alice)
    BootCheck.objects.filter(image=image).delete()
    with pytest.raises(RuleViolations) as refused:
        review_approve(operator=by, revision=revision, checklist=CHECKED)
    assert [(v.field, v.code) for v in refused.value.violations] == [("boot_check", "missing")]
    BootCheck.objects.create(image=image, hostname="shelf-check-x")  # pending
    with pytest.raises(RuleViolations) as refused:
        review_approve(operator=by, revision=revision, checklist=CHECKED)
    assert [(v.field, v.code) for v in refused.value.violations] == [("boot_check", "missing")]
    revision.refresh_from_db()
    assert revision.status == "in_review"


def test_a_failed_boot_check_needs_the_audited_exception(alice):
    from shelf.errors import RuleViolations
    from shelf.reviews.services import review_approve
    from tests.storefront.conftest import CHECKED

    revision, by, image = _in_review(alice)
    BootCheck.objects.filter(image=image).update(status=BootCheck.Status.FAILED, reason="The guest printed nothing.")
    with pytest.raises(RuleViolations) as refused:
        review_approve(operator=by, revision=revision, checklist=CHECKED, boot_check_exception="   ")
    violation = refused.value.violations[0]
    assert (violation.field, violation.code) == ("boot_check", "failed")
    assert "The guest printed nothing." in violation.message
    review_approve(
        operator=by, revision=revision, checklist=CHECKED, boot_check_exception="Boots only on UEFI; checked by hand."
    )
    revision.refresh_from_db()
    assert revision.status == "listed"
    event = AuditEvent.objects.get(action="review.approve")
    assert event.reason == "Boots only on UEFI; checked by hand."
    assert "The guest printed nothing." in event.data["boot_check_exception"][0]


def test_a_passed_boot_check_approves_without_exception(alice):
    from shelf.reviews.services import review_approve
    from tests.storefront.conftest import CHECKED

    revision, by, image = _in_review(alice)
    assert latest_boot_check(image).status == BootCheck.Status.PASSED
    review_approve(operator=by, revision=revision, checklist=CHECKED)
    event = AuditEvent.objects.get(action="review.approve")
    assert event.reason == "" and "boot_check_exception" not in event.data


def test_the_api_names_boot_check_in_its_422(client, alice):
    from tests.conftest import PASSWORD
    from tests.storefront.conftest import CHECKED

    revision, by, image = _in_review(alice)
    BootCheck.objects.filter(image=image).delete()
    client.login(username=by.username, password=PASSWORD)
    response = client.post(
        f"/api/v1/reviews/{revision.pk}/approve", {"checklist": CHECKED}, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    assert "boot_check" in response.content.decode()
    response = client.post(
        f"/api/v1/reviews/{revision.pk}/approve",
        {"checklist": CHECKED, "boot_check_exception": "demo disk has no kernel"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content


def test_the_pages_and_the_api_show_the_latest_check(client, alice, bruce):
    from django.urls import reverse

    from tests.conftest import PASSWORD

    revision, by, image = _in_review(alice)
    BootCheck.objects.filter(image=image).update(
        status=BootCheck.Status.FAILED,
        reason="The guest printed nothing on its serial console within 8 seconds.",
        console_excerpt="SeaBIOS <boot>",
        first_line_seconds=1.24,
    )
    client.login(username=alice.username, password=PASSWORD)
    page = client.get(reverse("images:detail", args=[image.pk])).content.decode()
    assert 'data-boot-check="failed"' in page and "within 8 seconds" in page
    assert "SeaBIOS &lt;boot&gt;" in page and "1.2 s" in page  # escaped, with the first line's time
    answer = client.get(f"/api/v1/images/{image.pk}/boot-check")
    assert answer.status_code == 200
    assert answer.json()["status"] == "failed" and answer.json()["first_line_seconds"] == 1.24
    client.login(username=bruce.username, password=PASSWORD)
    assert client.get(f"/api/v1/images/{image.pk}/boot-check").status_code == 404  # not his image
    client.login(username=by.username, password=PASSWORD)
    review = client.get(reverse("reviews:review", args=[revision.pk])).content.decode()
    assert 'data-boot-check="failed"' in review and 'name="boot_check_exception"' in review
    BootCheck.objects.filter(image=image).delete()
    client.login(username=alice.username, password=PASSWORD)
    assert client.get(f"/api/v1/images/{image.pk}/boot-check").status_code == 404
    assert 'data-boot-check="none"' in client.get(reverse("images:detail", args=[image.pk])).content.decode()


def test_reconcile_fails_a_check_whose_job_was_lost(settings, alice):
    from datetime import timedelta

    from django.utils import timezone

    from shelf.compute.tasks import reconcile

    image = available_image(alice.organizations.first())
    now = timezone.now()
    lost = BootCheck.objects.create(
        image=image, hostname="shelf-check-a", status="running", started_at=now - timedelta(hours=2)
    )
    alive = BootCheck.objects.create(image=image, scan=_passing_scan(image), hostname="shelf-check-b")
    BootCheck.objects.filter(pk=alive.pk).update(status="running", started_at=now)
    done = reconcile()
    assert done["boot_checks"] == [lost.ref]
    lost.refresh_from_db()
    alive.refresh_from_db()
    assert lost.status == "failed" and "lost" in lost.reason
    assert alive.status == "running"
