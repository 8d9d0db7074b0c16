"""A build server for real: the boot image published as a base image, launched by a provider through the CLI,
stopped, captured with `shelf image capture`; the captured image passes validation and is scanned, holds what the
server's disk held (and no backing file), boots as a buyer's server, and the server's own overlay is unchanged.

Every qemu process a test starts is stopped (the `vm` fixture checks none is left)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from pathlib import Path

import pytest

from shelf.accounts.services import token_create
from shelf.audit.models import AuditEvent
from shelf.compute.backends import get_backend
from shelf.compute.bootimage import BOOT_MARK, SEED_MARK
from shelf.compute.models import Instance
from shelf.compute.services import instance_terminate
from shelf.images.models import Image
from shelf.scanning.models import Scan
from tests.cli.conftest import shelf_cli  # noqa: F401 - the fixture
from tests.compute.conftest import KEY, create
from tests.compute.test_capture import published, staff  # noqa: F401 - staff is a fixture
from tests.conftest import ApiClient

S = Instance.State
pytestmark = pytest.mark.django_db(transaction=True)
PATTERN_AT = 512 * 1024**2  # where the "provider's setup" lands on the 1 GiB disk: past everything the image holds


def flat(text: str) -> str:
    return " ".join(text.split())


def sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def console_until(api: ApiClient, instance_id, marker: str, timeout: float = 90) -> str:
    text, offset, deadline = "", 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = api.get(f"instances/{instance_id}/console?offset={offset}").json()
        text, offset = text + answer["text"], answer["next_offset"]
        if marker in text:
            return text
        time.sleep(0.3)
    raise AssertionError(f"{marker!r} not on the console within {timeout} s:\n{text[-2000:]}")


def test_build_server_boot_stop_capture(vm, boot_image, staff, olivia, alice, bruce, settings, tmp_path, shelf_cli):  # noqa: F811
    from shelf.scanning.models import ScanPolicy

    policy = ScanPolicy.current()  # no vulnerability data on a test machine: the scan still runs every check
    policy.require_vulndb = False
    policy.save()
    base = published(staff, olivia, boot_image.disk)
    token = token_create(user=alice, name="cli")[1]
    key_file = tmp_path / "id.pub"
    key_file.write_text(KEY + "\n")

    listed = shelf_cli("base-image", "list", "--region", "ap-guangzhou", token=token)
    assert listed.returncode == 0 and str(base.pk) in listed.stdout, listed.stderr
    started = time.monotonic()
    launched = shelf_cli(
        "build-server", "launch", str(base.pk), "--name", "lamp-build", "--ssh-key", str(key_file),
        "--memory", "128", "--wait", token=token,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stdout + launched.stderr
    server = Instance.objects.get(name="lamp-build")
    assert server.state == S.RUNNING and server.organization == alice.organizations.first(), server.state_reason
    print(f"\nbuild server launch to running: {time.monotonic() - started:.2f} s")
    api = ApiClient(alice)
    text = console_until(api, server.pk, f"{BOOT_MARK} ready")
    assert f"{SEED_MARK} hostname=lamp-build" in text and f"{SEED_MARK} ssh-key={KEY}" in text
    assert ApiClient(bruce).get(f"instances/{server.pk}").status_code == 404

    refused = shelf_cli("image", "capture", str(server.pk), "--name", "LAMP", token=token)
    assert refused.returncode == 1 and "not_stopped" in refused.stderr
    stopped = shelf_cli("build-server", "stop", str(server.pk), "--wait", token=token)
    assert stopped.returncode == 0 and "state: stopped" in flat(stopped.stdout), stopped.stdout + stopped.stderr

    # What the provider set up over SSH, written where the guest would have: into the overlay, past the image.
    overlay = Path(get_backend().root, server.backend_ref, "disk.qcow2")
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -P 0x5a {PATTERN_AT} 64k", str(overlay)], check=True)
    overlay_before = sha256(overlay)
    backing = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", str(overlay)]))
    base_file = Path(backing["backing-filename"])
    base_before = sha256(base_file)

    started = time.monotonic()
    captured = shelf_cli(
        "image", "capture", str(server.pk), "--name", "LAMP stack", "--description", "from a build server",
        token=token, timeout=600,
    )  # fmt: skip
    assert captured.returncode == 0, captured.stdout + captured.stderr
    print(f"capture to validated and scanned: {time.monotonic() - started:.2f} s")
    image = Image.objects.get(captured_from=str(server.pk))
    assert str(image.pk) in captured.stdout and "available" in captured.stdout
    assert image.status == Image.Status.AVAILABLE, image.failure_reason
    assert image.organization == alice.organizations.first() and image.region == base.region
    assert image.disk_format == "qcow2" and image.virtual_size == 1024**3 and image.os_hint == base.os_hint
    stored = Path(settings.DATA_DIR)
    path = next(p for p in stored.rglob(str(image.pk)) if p.is_file())
    assert sha256(path) == image.sha256 and path.stat().st_size == image.stored_size
    info = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", str(path)]))
    assert info["format"] == "qcow2" and "backing-filename" not in info  # standalone
    # The provider's setup is in the image, and so is the base image's boot disk.
    read = ["qemu-io", "-r", "-f", "qcow2", "-c", f"read -P 0x5a {PATTERN_AT} 64k", str(path)]
    assert "Pattern verification failed" not in subprocess.run(read, capture_output=True, text=True, check=True).stdout
    assert subprocess.run(["qemu-img", "compare", "-q", str(overlay), str(path)], check=False).returncode == 0
    # The server's own disk and the base under it are not touched; no scratch copy stays behind.
    assert sha256(overlay) == overlay_before and sha256(base_file) == base_before
    assert list((stored / "compute" / "captures").iterdir()) == []
    # Validated and scanned exactly like an upload.
    scan = Scan.objects.get(image=image)
    assert scan.status == Scan.Status.DONE and scan.trigger == Scan.Trigger.IMPORT, (scan.status, scan.error)
    actions = set(AuditEvent.objects.filter(target_id=str(image.pk)).values_list("action", flat=True))
    assert {"image.capture_start", "image.capture_complete", "image.available"} <= actions
    server = Instance.objects.get(pk=server.pk)
    assert server.state == S.STOPPED and server.state_reason == ""
    server_actions = list(
        AuditEvent.objects.filter(target_id=str(server.pk)).order_by("pk").values_list("action", flat=True)
    )
    assert server_actions[-2:] == ["instance.capture", "instance.captured"]

    # The captured image boots by itself as a buyer's server would.
    bought = create(bruce, image, hostname="from-capture", ports=[])  # committed: launched at once, to running
    bought = Instance.objects.get(pk=bought.pk)
    try:
        assert bought.state == S.RUNNING, bought.state_reason
        console_until(ApiClient(bruce), bought.pk, f"{SEED_MARK} hostname=from-capture")
    finally:
        instance_terminate(actor=bruce, instance=bought)  # its job runs on commit
    assert Instance.objects.get(pk=bought.pk).state == S.TERMINATED

    gone = shelf_cli("build-server", "terminate", str(server.pk), "--yes", "--wait", token=token)
    assert gone.returncode == 0 and "state: terminated" in flat(gone.stdout)
    assert not overlay.parent.exists()
    assert Image.objects.get(pk=image.pk).status == Image.Status.AVAILABLE  # the image outlives its server
