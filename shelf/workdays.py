"""Business days on the mainland-China working calendar, for review due dates.

Public holidays and the official make-up working days (调休) come from `chinesecalendar`, which the
State Council's yearly notice feeds. For a year the installed package does not cover yet, days fall
back to Monday–Friday (and a warning is logged) until the package is upgraded.
"""

import logging
from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar

log = logging.getLogger(__name__)


@lru_cache(maxsize=4096)
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        _warn_uncovered(day.year)
        return day.weekday() < 5


@lru_cache(maxsize=64)
def _warn_uncovered(year: int) -> None:
    log.warning("chinesecalendar has no data for %s: counting Monday–Friday as working days; upgrade the package", year)


def add_business_days(start: datetime, days: int) -> datetime:
    """The same time of day on the `days`-th working day after `start`'s date."""
    current = start
    added = 0
    while added < days:
        current += timedelta(days=1)
        if is_workday(current.date()):
            added += 1
    return current


def business_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (negative when `end` is earlier)."""
    if end < start:
        return -business_days_between(end, start)
    return sum(1 for n in range(1, (end - start).days + 1) if is_workday(start + timedelta(days=n)))
