from datetime import date, datetime
from uuid import UUID

from ninja import Schema


class ScanOut(Schema):
    id: UUID
    image: UUID
    status: str
    verdict: str
    trigger: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str
    vulndb_updated_at: datetime | None
    counts: dict[str, int]
    blocking: int


class FindingOut(Schema):
    check_id: str
    family: str
    severity: str
    title: str
    evidence: list[dict]
    fix: str
    key: str
    blocking: bool
    excepted: bool
    exception_expires_at: date | None
    data: dict


class ScanReportOut(ScanOut):
    os: dict
    incomplete: list[str]
    packages: int
    stats: dict
    findings: list[FindingOut]
