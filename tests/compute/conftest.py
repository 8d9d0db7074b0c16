"""Instances for the compute tests: an available image of alice's in ap-guangzhou, bruce as the buyer."""

from __future__ import annotations

import hashlib
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
