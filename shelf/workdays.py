"""Business-day arithmetic for review due dates. Plain Monday–Friday until the holiday calendar lands."""

from datetime import datetime, timedelta


def add_business_days(start: datetime, days: int) -> datetime:
    current = start
    added = 0
    while added < days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            added += 1
    return current


def business_days_between(start: datetime, end: datetime) -> int:
    """Whole business days from start to end (negative when end is earlier)."""
    sign = 1
    if end < start:
        start, end, sign = end, start, -1
    count, current = 0, start
    while current + timedelta(days=1) <= end:
        current += timedelta(days=1)
        if current.weekday() < 5:
            count += 1
    return sign * count
