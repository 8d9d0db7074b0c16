"""The demo's base image (docs/adr/0007): the boot test server's disk, imported by the marketplace team (`shelfteam`,
a provider account of the organisation SHELF_BASE_IMAGE_ORGANIZATION) and published by olivia, so a provider can
launch a build server from it on a fresh machine. Idempotent."""

from __future__ import annotations

from django.conf import settings

from shelf.accounts.models import Organization, User
from shelf.images.models import Image
from shelf.images.services import base_image_publish

from .boot import boot_disk
from .product import scanned_image

BASE_IMAGE = "Shelf boot test server (base image)"
TEAM_USER = "shelfteam"
TEAM_ORGANIZATION = "Shelf"  # slugified: `shelf`, SHELF_BASE_IMAGE_ORGANIZATION's default


def ensure_base_image(*, olivia: User) -> tuple[Image, bool]:
    """The published base image; True when this call published it."""
    organization = Organization.objects.get(slug=settings.SHELF_BASE_IMAGE_ORGANIZATION)
    team = organization.members.filter(kind=User.Kind.PROVIDER).order_by("pk").first()
    image = scanned_image(
        team,
        organization,
        name=BASE_IMAGE,
        build=boot_disk,
        description="Debian 12 cloud kernel and a busybox initramfs; launch a build server from it to try capture",
        os_hint="Debian 12",
    )
    if image.is_base:
        return image, False
    return base_image_publish(actor=olivia, image=image), True
