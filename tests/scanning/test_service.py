"""Scans on the server: import → validation → automatic scan in the scanner process → verdict, vulnerabilities,
exceptions, notifications, errors, and the API and report page."""

import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from shelf.images.models import Image
from shelf.notifications.models import Notification
from shelf.scanning.models import Scan, VulnDbImport, VulnRecord
from shelf.scanning.runner import ScannerProcess
from shelf.scanning.services import exception_grant, scan_request, scan_run
from tests.images.builders import TREE_TOOLS, debian12_tree, ext4_from_tree, tools_missing, write

if tools_missing(TREE_TOOLS):
    pytest.skip("image tools missing", allow_module_level=True)

GLIBC_RECORD = {
    "schema_version": "1.6.0",
    "id": "DEBIAN-CVE-2099-0001",
    "modified": "2026-11-01T00:00:00Z",
    "summary": "glibc: heap overflow in a test",
    "aliases": ["CVE-2099-0001"],
    "affected": [
        {
            "package": {"ecosystem": "Debian:12", "name": "glibc"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.36-9+deb12u5"}]}],
            "ecosystem_specific": {"urgency": "high"},
        }
    ],
}


UNRELATED_DEBIAN_RECORD = {
    "schema_version": "1.6.0",
    "id": "DEBIAN-CVE-2099-9999",
    "modified": "2026-11-01T00:00:00Z",
    "affected": [
        {
            "package": {"ecosystem": "Debian:12", "name": "not-installed-anywhere"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0-1"}]}],
        }
    ],
}


@pytest.fixture
def debian_vulndb(db, tmp_path):
    """Vulnerability data for Debian 12 that affects nothing installed: packages can be checked, and pass."""
    (tmp_path / "unrelated.json").write_text(json.dumps(UNRELATED_DEBIAN_RECORD))
    call_command("vulndb_import", str(tmp_path), "--no-rescan", verbosity=0)


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    root = tmp_path_factory.mktemp("service-images")
    tree = debian12_tree(root / "tree")
    clean = ext4_from_tree(tree, root / "clean.raw")
    write(tree, "root/.bash_history", "curl http://example.com | sh\n")
    dirty = ext4_from_tree(tree, root / "dirty.raw")
    return {"clean": clean, "dirty": dirty}


def import_image(api_client, path: Path, name: str, capture) -> dict:
    data = path.read_bytes()
    image = api_client.post(
        "images", json={"name": name, "region": "ap-guangzhou", "format": "raw", "size": len(data)}
    ).json()
    url = image["upload"]["url"]
    with capture(execute=True):
        response = api_client.client.put(
            url,
            data=data,
            content_type="application/octet-stream",
            headers={**api_client.headers, "Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"},
        )
        assert response.status_code == 200, response.json()
        response = api_client.post(f"{url}/complete", json={"sha256": hashlib.sha256(data).hexdigest()})
        assert response.status_code == 200, response.json()
    return api_client.get(f"images/{image['id']}").json()


def test_clean_image_is_scanned_automatically_and_passes(
    debian_vulndb, api, alice, disks, django_capture_on_commit_callbacks
):
    client = api(alice)
    image = import_image(client, disks["clean"], "clean", django_capture_on_commit_callbacks)
    assert image["status"] == "available"
    latest = client.get(f"images/{image['id']}/scans/latest").json()
    assert latest["status"] == "done" and latest["verdict"] == "passed" and latest["trigger"] == "import"
    report = client.get(f"scans/{latest['id']}").json()
    assert report["findings"] == [] and report["os"]["distro"] == "debian" and report["packages"] >= 5
    sbom = client.get(f"scans/{latest['id']}/sbom").json()
    assert sbom["bomFormat"] == "CycloneDX" and any(c["name"] == "libssl3" for c in sbom["components"])


def test_planted_problem_fails_with_evidence_and_fix(api, alice, disks, django_capture_on_commit_callbacks, web):
    client = api(alice)
    image = import_image(client, disks["dirty"], "dirty", django_capture_on_commit_callbacks)
    latest = client.get(f"images/{image['id']}/scans/latest").json()
    assert latest["verdict"] == "failed" and latest["blocking"] == 1
    report = client.get(f"scans/{latest['id']}").json()
    (finding,) = report["findings"]
    assert finding["check_id"] == "hygiene.history" and finding["evidence"][0]["path"] == "/root/.bash_history"
    assert finding["fix"]
    page = web(alice).get(f"/scans/{latest['id']}/").content.decode()
    assert "/root/.bash_history" in page and "blocks listing" in page and "How to fix" in page


def test_vulnerability_seen_only_through_the_source_package(
    api, alice, disks, django_capture_on_commit_callbacks, tmp_path
):
    (tmp_path / "glibc.json").write_text(json.dumps(GLIBC_RECORD))
    call_command("vulndb_import", str(tmp_path), "--no-rescan", verbosity=0)
    client = api(alice)
    image = import_image(client, disks["clean"], "glibc", django_capture_on_commit_callbacks)
    latest = client.get(f"images/{image['id']}/scans/latest").json()
    assert latest["verdict"] == "failed"
    report = client.get(f"scans/{latest['id']}").json()
    (vuln,) = [f for f in report["findings"] if f["family"] == "vulnerabilities"]
    assert vuln["check_id"] == "vulnerabilities.fixable" and vuln["severity"] == "high" and vuln["blocking"]
    assert vuln["data"]["package"] == "libc6" and vuln["data"]["source"] == "glibc"
    assert vuln["data"]["fixed_version"] == "2.36-9+deb12u5"
    assert report["vulndb_updated_at"] is not None


def test_unfixed_vulnerability_warns_but_does_not_fail(api, alice, disks, django_capture_on_commit_callbacks, tmp_path):
    record = json.loads(json.dumps(GLIBC_RECORD))
    record["affected"][0]["ranges"][0]["events"] = [{"introduced": "0"}]
    (tmp_path / "r.json").write_text(json.dumps(record))
    call_command("vulndb_import", str(tmp_path), "--no-rescan", verbosity=0)
    client = api(alice)
    image = import_image(client, disks["clean"], "unfixed", django_capture_on_commit_callbacks)
    scan_id = client.get(f"images/{image['id']}/scans/latest").json()["id"]
    report = client.get(f"scans/{scan_id}").json()
    assert report["verdict"] == "passed"
    assert [f["check_id"] for f in report["findings"]] == ["vulnerabilities.unfixed"]


def test_vulndb_import_is_incremental_and_idempotent(tmp_path, db):
    (tmp_path / "a.json").write_text(json.dumps(GLIBC_RECORD))
    call_command("vulndb_import", str(tmp_path), verbosity=0)
    call_command("vulndb_import", str(tmp_path), verbosity=0)
    runs = list(VulnDbImport.objects.order_by("started_at"))
    assert (runs[0].added, runs[1].added, runs[1].unchanged) == (1, 0, 1)
    newer = {**GLIBC_RECORD, "modified": "2026-11-20T00:00:00Z", "summary": "updated"}
    (tmp_path / "a.json").write_text(json.dumps(newer))
    call_command("vulndb_import", str(tmp_path), verbosity=0)
    assert VulnDbImport.objects.order_by("-started_at").first().updated == 1
    assert VulnRecord.objects.get().data["summary"] == "updated"


def test_a_vulndb_update_rescans_the_images_listed_products_sell(tmp_path, alice, db):
    """Scanning announces the update; products decides what is sold (a draft's image is not rescanned)."""
    from shelf.products.models import Delivery, Product, Revision

    organization = alice.organizations.get()
    for name, status in (("sold", Revision.Status.LISTED), ("draft", Revision.Status.DRAFT), ("unsold", None)):
        image = Image.objects.create(
            organization=organization,
            region_id=1,
            name=name,
            disk_format="raw",
            status=Image.Status.AVAILABLE,
            stored_size=1,
        )
        if status is not None:
            revision = Revision.objects.create(product=Product.objects.create(organization=organization), status=status)
            Delivery.objects.create(revision=revision, region_id=1, image=image)
    (tmp_path / "a.json").write_text(json.dumps(GLIBC_RECORD))
    out = io.StringIO()
    call_command("vulndb_import", str(tmp_path), stdout=out)
    assert "Rescanning 1 image(s) of listed products." in out.getvalue()
    assert [s.image.name for s in Scan.objects.filter(trigger=Scan.Trigger.VULNDB)] == ["sold"]


def test_exception_turns_the_verdict_and_is_audited(
    debian_vulndb, api, alice, olivia, disks, django_capture_on_commit_callbacks
):
    client = api(alice)
    image = Image.objects.get(
        pk=import_image(client, disks["dirty"], "excepted", django_capture_on_commit_callbacks)["id"]
    )
    exception_grant(
        actor=olivia,
        image=image,
        check_id="hygiene.history",
        key="/root/.bash_history",
        justification="Demo image, history is part of the tutorial.",
        expires_at=timezone.localdate() + timedelta(days=30),
    )
    with django_capture_on_commit_callbacks(execute=True):
        scan_request(image=image, actor=alice)
    latest = client.get(f"images/{image.pk}/scans/latest").json()
    assert latest["verdict"] == "passed"
    report = client.get(f"scans/{latest['id']}").json()
    assert report["findings"][0]["excepted"] and not report["findings"][0]["blocking"]
    assert report["findings"][0]["exception_expires_at"]
    assert client.get(f"images/{image.pk}").status_code == 200
    from shelf.audit.models import AuditEvent

    assert AuditEvent.objects.for_object(image).filter(action="scan.exception_grant", actor=olivia).exists()


def test_verdict_change_notifies_the_provider(
    debian_vulndb, api, alice, olivia, disks, django_capture_on_commit_callbacks
):
    client = api(alice)
    image = Image.objects.get(
        pk=import_image(client, disks["dirty"], "notify", django_capture_on_commit_callbacks)["id"]
    )
    assert not Notification.objects.filter(user=alice).exists()
    exception_grant(
        actor=olivia,
        image=image,
        check_id="hygiene.history",
        key="/root/.bash_history",
        justification="ok",
        expires_at=timezone.localdate() + timedelta(days=1),
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        scan_request(image=image, actor=alice)
    notification = Notification.objects.get(user=alice, event="scan.verdict_changed")
    assert "failed → passed" in notification.title
    assert mail.outbox and "alice@example.com" in mail.outbox[0].to


def test_scanner_crash_is_error_after_one_retry_never_passed(
    alice_image_available, db, django_capture_on_commit_callbacks
):
    image = alice_image_available
    starving = ScannerProcess(memory_limit=24 * 1024 * 1024, cpu_limit=30)  # too little memory to load the engine
    scan = Scan.objects.create(image=image)
    scan = scan_run(scan=scan, scanner=starving)
    assert scan.status == "queued" and scan.attempts == 1 and scan.error
    scan = scan_run(scan=scan, scanner=starving)
    assert scan.status == "error" and scan.verdict == "" and scan.attempts == 2
    starving.stop()


def test_scanner_timeout_is_an_error(alice_image_available, db):
    scan = Scan.objects.create(image=alice_image_available, attempts=1)
    slow = ScannerProcess(memory_limit=2 * 1024**3, cpu_limit=0)  # no time at all
    scan = scan_run(scan=scan, scanner=slow)
    assert scan.status == "error" and "longer than" in scan.error
    slow.stop()


def test_running_scan_is_taken_over_only_by_its_job_rerun_after_its_worker_died(alice_image_available, db, settings):
    from shelf.scanning.services import scans_housekeeping

    scan = Scan.objects.create(image=alice_image_available, status="running", started_at=timezone.now(), attempts=1)
    slow = ScannerProcess(memory_limit=2 * 1024**3, cpu_limit=0)  # no time at all: the run ends at once
    assert scan_run(scan=scan, scanner=slow).status == "running"  # another worker may be on it
    settings.SHELF_JOBS_RERUN_BY_QUEUE = True
    Scan.objects.filter(pk=scan.pk).update(started_at=timezone.now() - timedelta(days=1))
    assert scans_housekeeping() == []  # on RQ, the queue reruns the job; the row's age decides nothing
    scan = scan_run(scan=scan, scanner=slow, resume=True)
    assert scan.status == "error" and scan.attempts == 2 and "longer than" in scan.error
    slow.stop()


def test_scans_are_private_to_the_organisation(api, alice, bob, disks, django_capture_on_commit_callbacks, web):
    client = api(alice)
    image = import_image(client, disks["clean"], "private", django_capture_on_commit_callbacks)
    scan_id = client.get(f"images/{image['id']}/scans/latest").json()["id"]
    bob_client = api(bob)
    assert bob_client.post(f"images/{image['id']}/scans").status_code == 404
    assert bob_client.get(f"images/{image['id']}/scans/latest").status_code == 404
    assert bob_client.get(f"scans/{scan_id}").status_code == 404
    assert bob_client.get(f"scans/{scan_id}/sbom").status_code == 404
    assert web(bob).get(f"/scans/{scan_id}/").status_code == 404


@pytest.fixture
def alice_image_available(alice, disks, settings):
    """An available image whose bytes are in storage, without going through the upload."""
    from shelf.storage import get_storage

    image = Image.objects.create(
        organization=alice.organizations.get(),
        region_id=1,
        name="direct",
        disk_format="raw",
        status="available",
        stored_size=disks["clean"].stat().st_size,
    )
    get_storage().write(image.storage_key, iter([disks["clean"].read_bytes()]))
    return image


def test_verdict_change_sends_a_signed_webhook_event(
    debian_vulndb, api, alice, olivia, disks, django_capture_on_commit_callbacks, settings
):
    from shelf.webhooks.models import Delivery, Webhook

    settings.SHELF_WEBHOOK_ALLOW_HTTP = True
    organization = alice.organizations.get()
    Webhook.objects.create(
        organization=organization, url="http://127.0.0.1:9/hook", secret="whsec_test", created_by=alice
    )
    client = api(alice)
    image = Image.objects.get(
        pk=import_image(client, disks["dirty"], "hooked", django_capture_on_commit_callbacks)["id"]
    )
    exception_grant(
        actor=olivia,
        image=image,
        check_id="hygiene.history",
        key="/root/.bash_history",
        justification="ok",
        expires_at=timezone.localdate() + timedelta(days=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        scan_request(image=image, actor=alice)
    delivery = Delivery.objects.get(event="scan.verdict_changed")
    assert delivery.payload["data"]["verdict"] == "passed" and delivery.payload["data"]["previous_verdict"] == "failed"


def test_scan_left_running_by_a_dead_worker_is_requeued(
    debian_vulndb, alice_image_available, settings, django_capture_on_commit_callbacks
):
    from django.core.management import call_command

    scan = Scan.objects.create(
        image=alice_image_available,
        status="running",
        attempts=1,
        started_at=timezone.now() - timedelta(seconds=2 * settings.SHELF_SCAN_TIMEOUT + 120),
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("housekeeping", verbosity=0)
    scan.refresh_from_db()
    assert scan.status == "done" and scan.verdict == "passed" and scan.attempts == 2


def test_vulndb_fetched_from_a_url_on_schedule(tmp_path, settings, db, django_capture_on_commit_callbacks):
    """`SHELF_VULNDB_URLS` are imported by housekeeping when stale; the command also takes a URL."""
    import http.server
    import threading
    import zipfile

    from django.core.management import call_command

    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("DEBIAN-CVE-2099-0001.json", json.dumps(GLIBC_RECORD))
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/all.zip"
        settings.SHELF_VULNDB_URLS = [url]
        with django_capture_on_commit_callbacks(execute=True):
            call_command("housekeeping", verbosity=0)
        assert VulnRecord.objects.filter(osv_id="DEBIAN-CVE-2099-0001").exists()
        runs = VulnDbImport.objects.filter(source=url).count()
        call_command("housekeeping", verbosity=0)  # fresh: not fetched again
        assert VulnDbImport.objects.filter(source=url).count() == runs
        call_command("vulndb_import", url, verbosity=0)
        assert VulnDbImport.objects.filter(source=url).order_by("-started_at").first().unchanged == 1
    finally:
        server.shutdown()
        server.server_close()


def test_no_vulnerability_data_for_the_distribution_is_incomplete(
    api, alice, disks, django_capture_on_commit_callbacks, olivia
):
    from shelf.scanning.services import policy_update

    client = api(alice)
    image = import_image(client, disks["clean"], "no-data", django_capture_on_commit_callbacks)
    scan_id = client.get(f"images/{image['id']}/scans/latest").json()["id"]
    report = client.get(f"scans/{scan_id}").json()
    assert report["verdict"] == "incomplete"
    assert any("No vulnerability data for Debian:12" in reason for reason in report["incomplete"])
    # An operator may decide otherwise, explicitly; the next scan then passes.
    policy_update(
        actor=olivia,
        fail_checks=["accounts.*"],
        fail_vuln_severities=["critical", "high"],
        fail_unfixed_vulns=False,
        require_vulndb=False,
    )
    with django_capture_on_commit_callbacks(execute=True):
        scan_request(image=Image.objects.get(pk=image["id"]), actor=alice)
    assert client.get(f"images/{image['id']}/scans/latest").json()["verdict"] == "passed"


def test_report_page_shows_malware_coverage(api, web, alice, disks, django_capture_on_commit_callbacks, debian_vulndb):
    client = api(alice)
    image = import_image(client, disks["clean"], "coverage", django_capture_on_commit_callbacks)
    scan_id = client.get(f"images/{image['id']}/scans/latest").json()["id"]
    page = web(alice).get(f"/scans/{scan_id}/").content.decode()
    assert "Malware pass" in page and "files matched against malware rules in" in page and "yara" in page


def test_wizard_gate_blocks_the_scanned_bad_image_and_accepts_the_clean_one(
    api, alice, disks, django_capture_on_commit_callbacks, debian_vulndb
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.products.conftest import PDF_BYTES, complete_fields, png_bytes

    client = api(alice)
    results = {}
    for name in ("clean", "dirty"):
        image = Image.objects.get(pk=import_image(client, disks[name], name, django_capture_on_commit_callbacks)["id"])
        product = client.post("products", json=complete_fields(image)).json()
        for kind, filename, data in (("pictures", "a.png", png_bytes()), ("document", "guide.pdf", PDF_BYTES)):
            client.client.post(
                f"/api/v1/products/{product['id']}/{kind}",
                {"file": SimpleUploadedFile(filename, data)},
                headers=client.headers,
            )
        results[name] = client.post(f"products/{product['id']}/submit")
    assert results["clean"].status_code == 200 and results["clean"].json()["status"] == "in_review"
    assert results["dirty"].status_code == 422
    assert results["dirty"].json()["errors"] == [
        {
            "field": "security.ap-guangzhou",
            "code": "scan_failed",
            "message": "The latest scan of image “dirty” (ap-guangzhou) did not pass (failed): fix the findings in the report and rescan.",
        }
    ]
