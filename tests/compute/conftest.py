"""Instances for the compute tests: an available image of alice's in ap-guangzhou, bruce as the buyer."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path

import pytest

from shelf.catalog.models import Region
from shelf.compute.services import instance_create
from shelf.images.models import Image
from shelf.storage import get_storage

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm0Zr4wQXbHgTD6cSxpPSgfyJ5Y1L1vH6o1m2GzZ0aD bruce@laptop"


def available_image(organization, path: Path | None = None, *, disk_format: str = "raw") -> Image:
    """An available image whose stored object is `path` (a tiny placeholder when none is given)."""
    data = path.read_bytes() if path is not None else b"\0" * 512
    image = Image.objects.create(
        organization=organization,
        region=Region.objects.get(code="ap-guangzhou"),
        name="Test image",
        disk_format=disk_format,
        status=Image.Status.AVAILABLE,
        virtual_size=len(data),
        stored_size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    get_storage().write(image.storage_key, iter([data]))
    return image


def create(owner, image, **overrides):
    kwargs = {
        "owner": owner,
        "image": image,
        "region": image.region,
        "name": "web-1",
        "hostname": "web-1",
        "vcpus": 1,
        "memory_mib": 128,
        "disk_gib": 1,
        "ssh_public_key": KEY,
        "ports": [80],
        "idempotency_key": str(uuid.uuid4()),
    }
    kwargs.update(overrides)
    return instance_create(**kwargs)


@pytest.fixture
def image(alice):
    return available_image(alice.organizations.first())


def kill_leftovers(data_dir: Path) -> list[int]:
    """SIGKILL every qemu a test left under data_dir (by pidfile, checked against its command line)."""
    import os
    import signal

    killed = []
    for pidfile in (data_dir / "instances").glob("*/qemu.pid"):
        try:
            pid = int(pidfile.read_text())
            if f"shelf-{pidfile.parent.name}".encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        except (OSError, ValueError):
            continue
    return killed


@pytest.fixture(scope="session")
def boot_image():
    from shelf.compute import bootimage

    if missing := bootimage.tools_missing() + [t for t in ("qemu-system-x86_64",) if not shutil.which(t)]:
        pytest.skip(f"tools missing: {', '.join(missing)} (make system-deps installs them)")
    return bootimage.build()


@pytest.fixture(scope="session")
def accel_decision(boot_image, tmp_path_factory):
    """The canary once per session (it costs up to 20 s where KVM hangs), then every test uses its answer."""
    from shelf.compute.backends.accel import decide

    return decide(tmp_path_factory.mktemp("accel"))


@pytest.fixture
def vm(settings, accel_decision, boot_image, alice):
    """Settings for booting real guests, the boot image as alice's available image; kills leftovers after."""
    settings.SHELF_COMPUTE_BACKEND = "local"
    settings.SHELF_COMPUTE_ACCEL = accel_decision["accel"]
    settings.SHELF_COMPUTE_MEMORY_MIB = 1024
    settings.SHELF_COMPUTE_BOOT_TIMEOUT = 120
    settings.SHELF_COMPUTE_STOP_TIMEOUT = 20
    image = available_image(alice.organizations.first(), boot_image.disk)
    yield image
    killed = kill_leftovers(settings.DATA_DIR)
    assert not killed, f"a test left qemu processes running: {killed}"
