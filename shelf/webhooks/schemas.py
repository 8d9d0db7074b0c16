from datetime import datetime
from typing import ClassVar
from uuid import UUID

from ninja import Schema

from shelf.text import InputSchema


class WebhookIn(InputSchema):
    required_fields: ClassVar = ("url", "events")

    url: str | None = None
    events: list[str] | None = None
    organization: str | None = None


class WebhookOut(Schema):
    id: UUID
    organization: str
    url: str
    events: list[str]
    secret: str
    is_active: bool
    created_at: datetime

    @staticmethod
    def resolve_organization(webhook) -> str:
        return webhook.organization.slug


class DeliveryOut(Schema):
    id: UUID
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    response_excerpt: str
    payload: dict
    created_at: datetime
    delivered_at: datetime | None
