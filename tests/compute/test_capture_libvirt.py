"""Capture on the libvirt back end: it keeps the local back end's files, so a stopped domain's overlay is flattened
the same way; a running domain is refused."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from shelf.compute import services, tasks
from shelf.compute.backends import get_backend
from shelf.compute.backends.base import BackendError
from shelf.compute.models import Instance
from shelf.images.models import Image
from shelf.images.services import base_image_publish
from shelf.images.tasks import run_validation
from tests.compute.conftest import KEY, available_image
from tests.compute.test_capture import staff  # noqa: F401 - the fixture
from tests.compute.test_libvirt_vm import lv  # noqa: F401 - the fixture

S = Instance.State
pytestmark = pytest.mark.django_db


def test_capture_on_libvirt(lv, boot_image, staff, olivia, alice, django_capture_on_commit_callbacks, tmp_path):  # noqa: F811
    base = base_image_publish(actor=olivia, image=available_image(staff.organizations.first(), boot_image.disk))
    server = services.build_server_launch(
        actor=alice,
        organization=alice.organizations.first(),
        base_image=base,
        name="lv-build",
        ssh_public_key=KEY,
        memory_mib=128,
        idempotency_key="lv",
    )
    try:
        server = tasks.run_launch(server)
        assert server.state == S.RUNNING and server.backend == "libvirt", server.state_reason
        with pytest.raises(BackendError, match="running"):
            get_backend().export_disk(server.backend_ref, tmp_path / "x.qcow2")
        server = tasks.run_stop(services.instance_stop(actor=alice, instance=server))
        assert server.state == S.STOPPED
        overlay = Path(get_backend().root, server.backend_ref, "disk.qcow2")
        before = hashlib.sha256(overlay.read_bytes()).hexdigest()
        with django_capture_on_commit_callbacks(execute=False):  # the test drives the capture job itself
            image = services.build_server_capture(actor=alice, instance=server, name="LV image")
        server = tasks.run_capture(Instance.objects.get(pk=server.pk))
        assert server.state == S.STOPPED and server.state_reason == ""
        image = run_validation(Image.objects.get(pk=image.pk))
        assert image.status == Image.Status.AVAILABLE, image.failure_reason
        assert image.virtual_size == 1024**3 and hashlib.sha256(overlay.read_bytes()).hexdigest() == before
        path = next(p for p in Path(get_backend().data_dir).rglob(str(image.pk)) if p.is_file())
        info = json.loads(subprocess.check_output(["qemu-img", "info", "--output=json", str(path)]))
        assert info["format"] == "qcow2" and "backing-filename" not in info
    finally:
        tasks.run_terminate(services.instance_terminate(actor=alice, instance=Instance.objects.get(pk=server.pk)))
