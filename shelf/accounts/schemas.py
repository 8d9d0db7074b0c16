from datetime import datetime
from typing import ClassVar

from ninja import Schema

from shelf.accounts.selectors import memberships_for
from shelf.text import InputSchema


class OrganizationOut(Schema):
    # Built from one of the user's memberships: the organisation, with the user's role in it.
    slug: str
    name: str
    role: str

    @staticmethod
    def resolve_slug(membership) -> str:
        return membership.organization.slug

    @staticmethod
    def resolve_name(membership) -> str:
        return membership.organization.name


class MeOut(Schema):
    username: str
    email: str
    kind: str
    organizations: list[OrganizationOut]

    @staticmethod
    def resolve_organizations(user):
        return memberships_for(user)


class TokenIn(InputSchema):
    required_fields: ClassVar = ("name",)

    name: str | None = None


class LoginTokenIn(InputSchema):
    required_fields: ClassVar = ("username", "password")

    username: str | None = None
    password: str | None = None
    name: str | None = None


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    # The raw value is shown this once: build it with `context={"token": raw}`.
    token: str

    @staticmethod
    def resolve_token(token, context) -> str:
        return context["token"]
