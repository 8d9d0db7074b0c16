from datetime import datetime

from ninja import Schema


class OrganizationOut(Schema):
    slug: str
    name: str
    role: str


class MeOut(Schema):
    username: str
    email: str
    kind: str
    organizations: list[OrganizationOut]


class TokenIn(Schema):
    name: str | None = None


class LoginTokenIn(Schema):
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
    token: str
