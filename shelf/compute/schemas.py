from datetime import datetime
from uuid import UUID

from ninja import Schema
from pydantic import Field


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
