from datetime import datetime
from typing import ClassVar
from uuid import UUID

from ninja import Schema
from pydantic import Field

from shelf.text import InputSchema


class InstanceOut(Schema):
    id: UUID
    name: str
    hostname: str
    state: str
    state_reason: str
    hold: str = Field(description='Billing isolated it ("expired", "arrears"): it cannot be started. "" when free.')
    region: str
    image: UUID
    vcpus: int
    memory_mib: int
    disk_gib: int
    ports: list[int]
    forwarded_ports: dict[str, int]
    ssh_host: str
    ssh_command: str
    backend: str
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None
    running_at: datetime | None
    terminated_at: datetime | None

    @staticmethod
    def resolve_region(instance) -> str:
        return instance.region.code

    @staticmethod
    def resolve_image(instance) -> UUID:
        return instance.image_id

    @staticmethod
    def resolve_forwarded_ports(instance) -> dict[str, int]:
        return {str(k): int(v) for k, v in (instance.forwarded_ports or {}).items()}


class ConsoleOut(Schema):
    """Serial console output from `offset`; ask again with `next_offset` to follow it."""

    offset: int
    next_offset: int
    text: str
    state: str


class BootCheckOut(Schema):
    """The image's latest boot check: booted once with a throwaway hostname before it may be listed."""

    id: UUID
    image: UUID = Field(alias="image_id")
    status: str
    reason: str
    hostname: str
    first_line_seconds: float | None
    seed_seen_seconds: float | None
    console_excerpt: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class BuildServerIn(InputSchema):
    """A build server: a base image booted with your SSH key, to set up and capture as a custom image."""

    required_fields: ClassVar = ("base_image", "name", "ssh_public_key")
    field_rules: ClassVar = {
        "base_image": {"description": "A published base image's id (GET /base-images); its region is the server's."},
        "ssh_public_key": {"description": "One OpenSSH public key line."},
        "hostname": {"description": "Default: made from the name."},
        "disk_gib": {"description": "System disk in GiB; default: the base image's virtual size."},
        "organization": {"description": "Organisation slug, if you belong to several."},
    }

    base_image: UUID | None = None
    name: str | None = None
    ssh_public_key: str | None = None
    hostname: str | None = None
    vcpus: int = 1
    memory_mib: int = 512
    disk_gib: int | None = None
    organization: str | None = None


class BuildServerOut(InstanceOut):
    organization: str
    base_image: UUID
    captures: list[UUID]

    @staticmethod
    def resolve_organization(instance) -> str:
        return instance.organization.slug

    @staticmethod
    def resolve_base_image(instance) -> UUID:
        return instance.image_id

    @staticmethod
    def resolve_captures(instance) -> list[UUID]:
        """Images captured from this build server, newest first."""
        from shelf.images.models import Image

        return list(Image.objects.filter(captured_from=str(instance.pk)).values_list("id", flat=True))


class CaptureIn(InputSchema):
    """The custom image to make of a stopped build server (it lands in the server's region, as yours)."""

    required_fields: ClassVar = ("name",)

    name: str | None = None
    description: str | None = None
    os_hint: str | None = None
