"""Due dates on the mainland-China working calendar: holidays and make-up working days (调休) count correctly."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from shelf.workdays import _warn_uncovered, add_business_days, business_days_between, is_workday

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_national_day_2025_holiday_and_make_up_days():
    assert is_workday(date(2025, 9, 28))  # a Sunday worked in exchange (调休)
    assert not is_workday(date(2025, 10, 1)) and not is_workday(date(2025, 10, 8))
    assert is_workday(date(2025, 10, 11))  # a Saturday worked in exchange


def test_submission_before_national_day_2025():
    submitted = datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)  # Friday before the holiday
    # Working days after it: Sun 9/28 (make-up), Mon 9/29, Tue 9/30, then 10/1–10/8 off, Thu 10/9, Fri 10/10,
    # Sat 10/11 (make-up), Mon 10/13. Plain Mon–Fri counting would have said 10/7, in the middle of the holiday.
    assert add_business_days(submitted, 7) == datetime(2025, 10, 13, 10, 0, tzinfo=SHANGHAI)


def test_plain_week_without_holidays():
    submitted = datetime(2026, 11, 2, 9, 30, tzinfo=SHANGHAI)  # Monday
    assert add_business_days(submitted, 7) == datetime(2026, 11, 11, 9, 30, tzinfo=SHANGHAI)


def test_spring_festival_2026_is_skipped():
    submitted = datetime(2026, 2, 13, 12, 0, tzinfo=SHANGHAI)
    due = add_business_days(submitted, 7)
    assert due.date() > date(2026, 2, 23)
    assert business_days_between(submitted.date(), due.date()) == 7


def test_uncovered_year_falls_back_to_weekdays(caplog):
    is_workday.cache_clear()
    _warn_uncovered.cache_clear()
    assert is_workday(date(2027, 3, 1))  # a Monday
    assert not is_workday(date(2027, 3, 6))  # a Saturday
    submitted = datetime(2026, 12, 30, 10, 0, tzinfo=SHANGHAI)
    # 12/31, then 2027 by weekdays only (New Year's Day is unknown to the fallback): 1/1, 1/4 … 1/8.
    assert add_business_days(submitted, 7).date() == date(2027, 1, 8)
    assert "no data for 2027" in caplog.text


def test_business_days_between_is_signed():
    assert business_days_between(date(2026, 11, 2), date(2026, 11, 6)) == 4
    assert business_days_between(date(2026, 11, 6), date(2026, 11, 2)) == -4
    assert business_days_between(date(2026, 11, 6), date(2026, 11, 6)) == 0
