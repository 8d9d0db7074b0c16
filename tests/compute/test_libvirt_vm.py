"""The libvirt back end against a local libvirtd (qemu:///system) and the boot image: the same lifecycle as the
local back end's, with libvirt owning the process (shutdown, destroy, reset, undefine)."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from shelf.compute import tasks
from shelf.compute.backends import get_backend
from shelf.compute.bootimage import BOOT_MARK, SEED_MARK
from shelf.compute.models import Instance
from shelf.compute.services import instance_start, instance_stop, instance_terminate
from tests.compute.conftest import KEY, available_image, create

S = Instance.State
pytestmark = pytest.mark.django_db


@pytest.fixture
def lv(settings, libvirt_uri, boot_image, alice):
    # libvirt's qemu runs as libvirt-qemu: the data directory must be one it can walk into (pytest's are 0700).
    data_dir = Path(tempfile.mkdtemp(prefix="shelf-libvirt-", dir="/var/tmp"))
    data_dir.chmod(0o755)
    settings.DATA_DIR = data_dir
    settings.SHELF_COMPUTE_BACKEND = "libvirt"
    settings.SHELF_COMPUTE_LIBVIRT_URI = libvirt_uri
    settings.SHELF_COMPUTE_ACCEL = "tcg"
    settings.SHELF_COMPUTE_MEMORY_MIB = 1024
    settings.SHELF_COMPUTE_BOOT_TIMEOUT = 120
    settings.SHELF_COMPUTE_STOP_TIMEOUT = 20
    image = available_image(alice.organizations.first(), boot_image.disk)
    yield image
    import libvirt

    connection = libvirt.open(libvirt_uri)
    leftovers = [
        d.name() for d in connection.listAllDomains() if d.name().startswith("shelf-") and str(data_dir) in d.XMLDesc()
    ]
    for name in leftovers:
        domain = connection.lookupByName(name)
        if domain.isActive():
            domain.destroy()
        domain.undefine()
    connection.close()
    shutil.rmtree(data_dir, ignore_errors=True)
    assert not leftovers, f"a test left libvirt domains: {leftovers}"


def _console(instance: Instance, marker: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = get_backend().console(instance.backend_ref, 0, 1 << 30)[0].decode(errors="replace")
        if marker in text:
            return text
        time.sleep(0.3)
    raise AssertionError(f"{marker!r} not on the console")


def _qemu_pid(instance: Instance) -> int:
    return int(Path(f"/run/libvirt/qemu/shelf-{instance.backend_ref}.pid").read_text())


def test_lifecycle_on_libvirt(lv, bruce):
    instance = create(bruce, lv, hostname="lv-1")
    instance = tasks.run_launch(instance)
    assert instance.state == S.RUNNING, instance.state_reason
    assert instance.backend == "libvirt"
    text = _console(instance, f"{BOOT_MARK} ready")
    assert f"{SEED_MARK} hostname=lv-1" in text and f"{SEED_MARK} ssh-key={KEY}" in text
    assert [b.ref for b in get_backend().list()] == [instance.backend_ref]

    instance = tasks.run_stop(instance_stop(actor=bruce, instance=instance))
    assert instance.state == S.STOPPED
    assert get_backend().describe(instance.backend_ref).detail == "powered off by the guest (ACPI)"
    instance = tasks.run_start(instance_start(actor=bruce, instance=instance))
    assert instance.state == S.RUNNING

    os.kill(_qemu_pid(instance), signal.SIGKILL)  # behind libvirt's back
    deadline = time.monotonic() + 10
    while get_backend().describe(instance.backend_ref).state != "stopped" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert tasks.reconcile()["lost"] == [instance.backend_ref]
    instance = Instance.objects.get(pk=instance.pk)
    assert instance.state == S.LOST

    directory = Path(get_backend().root, instance.backend_ref)
    instance = tasks.run_terminate(instance_terminate(actor=bruce, instance=instance))
    assert instance.state == S.TERMINATED and not directory.exists()
    assert get_backend()._domain(instance.backend_ref) is None  # undefined
