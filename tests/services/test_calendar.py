"""Deadline arithmetic of a committee: pure, with hand-computed dates (weekdays noted)."""

from __future__ import annotations

import ast
import json
from datetime import date, datetime
from pathlib import Path

import pytest

from services.proposals import calendar as cal_module
from services.proposals import holidays as holidays_module
from services.proposals.calendar import (DeadlineRules, HolidayCalendar, calendar_warnings,
                                         china_2024_calendar, days_overdue, deadline,
                                         official_calendar, reminder_dates, years_covered)

D = date.fromisoformat
CN = china_2024_calendar()
PLAIN = HolidayCalendar()  # Monday to Friday, no holidays
WORKING = DeadlineRules(counting="working", reply_days=60)
CALENDAR = DeadlineRules()


# -- HolidayCalendar ---------------------------------------------------------------------------

@pytest.mark.parametrize("day, working", [
    ("2024-02-04", True),   # Sun, 春节 make-up working day
    ("2024-02-12", False),  # Mon, 春节
    ("2024-06-08", False),  # an ordinary Saturday
    ("2024-06-10", False),  # Mon, 端午节
    ("2024-06-11", True),   # an ordinary Tuesday
    ("2024-01-01", False),  # Mon, 元旦
    ("2024-10-12", True),   # Sat, 国庆 make-up working day
])
def test_is_working_day(day, working):
    assert CN.is_working_day(D(day)) is working


def test_the_2024_seed_matches_the_state_council_notice():
    assert len(CN.holidays) == 1 + 8 + 3 + 5 + 1 + 3 + 7
    assert {d.isoformat() for d in CN.workdays} == {
        "2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14",
        "2024-09-29", "2024-10-12"}
    assert all(d.weekday() >= 5 for d in CN.workdays)
    # 262 weekdays (2024 starts on a Monday and is a leap year), 19 of them holidays, 8 make-up days.
    assert CN.working_days_between(D("2023-12-31"), D("2024-12-31")) == 262 - 19 + 8 == 251


OFFICIAL = official_calendar()


@pytest.mark.parametrize("day, working", [
    # 2025 (国务院办公厅关于2025年部分节假日安排的通知)
    ("2025-01-01", False),  # Wed, 元旦
    ("2025-01-26", True),   # Sun, 春节 make-up working day
    ("2025-01-28", False),  # Tue, 春节 (除夕)
    ("2025-02-04", False),  # Tue, last day of 春节
    ("2025-02-05", True),   # Wed, back at work
    ("2025-02-08", True),   # Sat, 春节 make-up working day
    ("2025-04-04", False),  # Fri, 清明节
    ("2025-04-27", True),   # Sun, 劳动节 make-up working day
    ("2025-05-05", False),  # Mon, 劳动节
    ("2025-06-02", False),  # Mon, 端午节
    ("2025-09-28", True),   # Sun, 国庆 make-up working day
    ("2025-10-08", False),  # Wed, 国庆节、中秋节
    ("2025-10-11", True),   # Sat, 国庆 make-up working day
    # 2026 (国务院办公厅关于2026年部分节假日安排的通知)
    ("2026-01-02", False),  # Fri, 元旦
    ("2026-01-04", True),   # Sun, 元旦 make-up working day
    ("2026-02-14", True),   # Sat, 春节 make-up working day
    ("2026-02-16", False),  # Mon, 春节
    ("2026-02-23", False),  # Mon, last day of 春节
    ("2026-02-28", True),   # Sat, 春节 make-up working day
    ("2026-04-06", False),  # Mon, 清明节
    ("2026-05-05", False),  # Tue, 劳动节
    ("2026-05-09", True),   # Sat, 劳动节 make-up working day
    ("2026-06-19", False),  # Fri, 端午节
    ("2026-09-20", True),   # Sun, 国庆 make-up working day
    ("2026-09-25", False),  # Fri, 中秋节
    ("2026-10-07", False),  # Wed, 国庆节
    ("2026-10-10", True),   # Sat, 国庆 make-up working day
    ("2026-10-12", True),   # an ordinary Monday
])
def test_the_shipped_calendar_has_the_state_councils_2025_and_2026_notices(day, working):
    assert OFFICIAL.is_working_day(D(day)) is working


def test_the_shipped_years_cite_their_notices_and_count_right():
    assert years_covered(OFFICIAL) >= {2024, 2025, 2026}
    for year, notice in holidays_module.OFFICIAL_CALENDARS.items():
        assert notice["notice"] == f"国务院办公厅关于{year}年部分节假日安排的通知"
        assert years_covered(official_calendar([year])) == {year}
    assert official_calendar([2024]) == CN
    # 2025 and 2026 each have 261 weekdays; 18 (2025) and 19 (2026) of them are holidays, and
    # 5 and 6 weekend days are make-up working days.
    assert OFFICIAL.working_days_between(D("2024-12-31"), D("2025-12-31")) == 261 - 18 + 5 == 248
    assert OFFICIAL.working_days_between(D("2025-12-31"), D("2026-12-31")) == 261 - 19 + 6 == 248
    assert len(official_calendar([2025]).holidays) == 1 + 8 + 3 + 5 + 3 + 8
    assert len(official_calendar([2026]).holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7


def test_staff_are_warned_when_this_or_next_year_has_no_calendar():
    assert calendar_warnings(OFFICIAL, D("2025-06-01")) == []
    [warning] = calendar_warnings(OFFICIAL, D("2026-11-20"))
    assert warning["year"] == 2027 and warning["code"] == "holiday_calendar_missing"
    assert "2027年" in warning["message"] and "2027" in warning["message_en"]
    assert [w["year"] for w in calendar_warnings(CN, D("2025-03-01"))] == [2025, 2026]
    assert [w["year"] for w in calendar_warnings(PLAIN, D("2024-03-01"))] == [2024, 2025]
    # A year with one amended date counts as entered.
    assert calendar_warnings(CN.amended(add_holidays=[D("2025-01-01")]), D("2024-12-01")) == []


def test_ten_working_days_across_national_day():
    # From Fri 27 Sep: Sun 29 (make-up) 1, Mon 30 2, 1–7 Oct off, Tue 8–Fri 11 3–6,
    # Sat 12 (make-up) 7, Mon 14 8, Tue 15 9, Wed 16 10.
    assert CN.add_working_days(D("2024-09-27"), 10) == D("2024-10-16")
    # Without the calendar: Mon 30 Sep, Tue 1–Fri 4 Oct, Mon 7–Fri 11 Oct.
    assert PLAIN.add_working_days(D("2024-09-27"), 10) == D("2024-10-11")
    assert CN.add_working_days(D("2024-09-27"), 1) == D("2024-09-29")  # a Sunday


def test_working_days_before_mirror_working_days_after():
    assert CN.subtract_working_days(D("2024-10-16"), 10) == D("2024-09-27")
    assert CN.subtract_working_days(D("2024-10-08"), 1) == D("2024-09-30")


def test_working_days_between_counts_after_a_up_to_and_including_b():
    assert CN.working_days_between(D("2024-09-27"), D("2024-10-16")) == 10
    assert CN.working_days_between(D("2024-02-09"), D("2024-02-18")) == 1  # only Sun 18 Feb
    assert CN.working_days_between(D("2024-10-01"), D("2024-10-07")) == 0
    assert CN.working_days_between(D("2024-10-16"), D("2024-10-16")) == 0
    assert CN.working_days_between(D("2024-10-16"), D("2024-09-27")) == 0


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_a_count_of_working_days_must_be_at_least_one(n):
    with pytest.raises(ValueError, match="at least 1"):
        CN.add_working_days(D("2024-09-27"), n)


def test_amending_the_calendar_moves_a_working_day_deadline():
    start = D("2024-06-06")  # Thu
    without = CN.amended(remove_holidays=[D("2024-06-10")])
    # Fri 7, Mon 10, Tue 11, Wed 12, Thu 13.
    assert deadline(start, 5, WORKING, without) == D("2024-06-13")
    # With 端午节 on Mon 10 it takes one more day; a make-up Saturday 8 Jun takes it back.
    assert deadline(start, 5, WORKING, CN) == D("2024-06-14")
    assert deadline(start, 5, WORKING, CN.amended(add_workdays=[D("2024-06-08")])) == D("2024-06-13")
    assert CN.is_working_day(D("2024-06-10")) is False  # amended returns a new calendar


def test_a_holiday_can_become_a_make_up_day_in_one_amendment():
    # (hypothetical) staff correct a Saturday holiday into a make-up working day
    amended = CN.amended(remove_holidays=[D("2024-10-05")], add_workdays=[D("2024-10-05")])
    assert amended.is_working_day(D("2024-10-05"))
    assert amended.amended(remove_workdays=[D("2024-10-05")]).is_working_day(D("2024-10-05")) is False


def test_a_date_cannot_be_both_a_holiday_and_a_make_up_day():
    with pytest.raises(ValueError, match="2024-10-05 cannot be both a holiday and a make-up working day"):
        CN.amended(add_workdays=[D("2024-10-05")])
    with pytest.raises(ValueError, match="2024-09-29 cannot be both"):
        CN.amended(add_holidays=[D("2024-09-29")])


def test_a_make_up_day_must_fall_on_a_weekend():
    with pytest.raises(ValueError, match="2024-09-30 is a weekday"):
        CN.amended(add_workdays=[D("2024-09-30")])


def test_only_dates_go_into_a_calendar():
    with pytest.raises(ValueError, match="holidays must be dates"):
        HolidayCalendar(holidays=frozenset([datetime(2024, 10, 1)]))
    with pytest.raises(ValueError, match="workdays must be dates"):
        HolidayCalendar(workdays=frozenset(["2024-10-12"]))


def test_calendar_round_trips_through_json_with_sorted_iso_dates():
    data = CN.to_dict()
    assert data["workdays"][:3] == ["2024-02-04", "2024-02-18", "2024-04-07"]
    assert data["holidays"] == sorted(data["holidays"]) and data["holidays"][0] == "2024-01-01"
    assert HolidayCalendar.from_dict(json.loads(json.dumps(data))) == CN
    assert HolidayCalendar.from_dict({}) == PLAIN
    with pytest.raises(ValueError, match="holidays must be ISO dates"):
        HolidayCalendar.from_dict({"holidays": ["2024-13-01"]})
    with pytest.raises(ValueError, match="not a single string"):
        HolidayCalendar.from_dict({"workdays": "2024-10-12"})


# -- DeadlineRules -----------------------------------------------------------------------------

def test_default_rules():
    assert CALENDAR.to_dict() == {"counting": "calendar", "reply_days": 90, "urgent_reply_days": 30,
                                  "objection_days": 5, "rehandling_days": 30, "reminder_days": [7, 1]}


def test_rules_round_trip_through_json():
    rules = DeadlineRules(counting="working", reply_days=60, reminder_days=(10, 3, 1))
    again = DeadlineRules.from_dict(json.loads(json.dumps(rules.to_dict())))
    assert again == rules and again.reminder_days == (10, 3, 1)
    assert DeadlineRules.from_dict({}) == CALENDAR


@pytest.mark.parametrize("changes, message", [
    ({"counting": "weeks"}, "counting must be 'calendar' or 'working', not 'weeks'"),
    ({"reply_days": 0}, "reply_days must be a whole number of days of at least 1, not 0"),
    ({"urgent_reply_days": -3}, "urgent_reply_days must be"),
    ({"objection_days": 2.5}, "objection_days must be"),
    ({"rehandling_days": True}, "rehandling_days must be"),
    ({"reminder_days": (7, 0)}, r"reminder_days must be whole numbers of days of at least 1; \[0\]"),
    ({"reminder_days": (7, 7)}, r"reminder_days must be distinct, not \[7, 7\]"),
    ({"reminder_days": 7}, "reminder_days must be a list"),
])
def test_bad_rules_are_refused_naming_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        DeadlineRules(**changes)


def test_unknown_rules_are_refused():
    with pytest.raises(ValueError, match="unknown deadline rule.*reply_months"):
        DeadlineRules.from_dict({"reply_months": 3})


# -- deadline ----------------------------------------------------------------------------------

def test_a_calendar_day_deadline_in_the_spring_festival_rolls_to_the_make_up_sunday():
    # Thu 11 Jan + 30 days = Sat 10 Feb (春节 10–17 Feb); Sun 18 Feb is a make-up working day.
    assert deadline(D("2024-01-11"), CALENDAR.urgent_reply_days, CALENDAR, CN) == D("2024-02-18")
    assert deadline(D("2024-01-11"), 30, CALENDAR, PLAIN) == D("2024-02-12")  # Mon


def test_a_calendar_day_deadline():
    # Wed 3 Jul + 90 days = Tue 1 Oct (国庆 1–7 Oct) → Tue 8 Oct.
    assert deadline(D("2024-07-03"), CALENDAR.reply_days, CALENDAR, CN) == D("2024-10-08")
    # Mon 4 Mar + 5 = Sat 9 Mar → Mon 11 Mar.
    assert deadline(D("2024-03-04"), CALENDAR.objection_days, CALENDAR, CN) == D("2024-03-11")
    # Tue 30 Apr + 11 = Sat 11 May, a make-up working day: it stays.
    assert deadline(D("2024-04-30"), 11, CALENDAR, CN) == D("2024-05-11")
    # Thu 1 Aug + 30 = Sat 31 Aug → Mon 2 Sep.
    assert deadline(D("2024-08-01"), CALENDAR.rehandling_days, CALENDAR, CN) == D("2024-09-02")


def test_a_working_day_deadline():
    assert deadline(D("2024-09-27"), 10, WORKING, CN) == D("2024-10-16")
    # From Fri 26 Apr, 5 working days: Sun 28 (make-up), Mon 29, Tue 30, Mon 6 May, Tue 7 May.
    assert deadline(D("2024-04-26"), WORKING.objection_days, WORKING, CN) == D("2024-05-07")


@pytest.mark.parametrize("rules", [CALENDAR, WORKING])
@pytest.mark.parametrize("days", [0, -5])
def test_a_deadline_is_at_least_a_day_away(rules, days):
    with pytest.raises(ValueError, match="at least 1"):
        deadline(D("2024-09-27"), days, rules, CN)


# -- reminders ---------------------------------------------------------------------------------

def test_reminders_in_working_days():
    # Before Wed 16 Oct: Tue 15 (1), Mon 14, Sat 12 (make-up), Fri 11, Thu 10, Wed 9, Tue 8 (7).
    assert reminder_dates(D("2024-10-16"), WORKING, CN) == {7: D("2024-10-08"), 1: D("2024-10-15")}


def test_reminders_in_calendar_days():
    assert reminder_dates(D("2024-02-18"), CALENDAR, CN) == {7: D("2024-02-11"), 1: D("2024-02-17")}
    rules = DeadlineRules(reminder_days=(14, 3))
    assert reminder_dates(D("2024-10-08"), rules, CN) == {14: D("2024-09-24"), 3: D("2024-10-05")}


# -- overdue -----------------------------------------------------------------------------------

def test_days_overdue_in_calendar_days():
    assert days_overdue(D("2024-10-08"), D("2024-10-07"), CALENDAR, CN) == 0
    assert days_overdue(D("2024-10-08"), D("2024-10-08"), CALENDAR, CN) == 0
    assert days_overdue(D("2024-10-08"), D("2024-10-10"), CALENDAR, CN) == 2
    assert days_overdue(D("2024-09-30"), D("2024-10-08"), CALENDAR, CN) == 8


def test_days_overdue_in_working_days():
    assert days_overdue(D("2024-09-30"), D("2024-09-30"), WORKING, CN) == 0
    assert days_overdue(D("2024-09-30"), D("2024-10-08"), WORKING, CN) == 1  # 1–7 Oct off
    assert days_overdue(D("2024-09-30"), D("2024-10-12"), WORKING, CN) == 5  # Tue 8 – Sat 12
    # Missed, although no working day has passed yet: still overdue, by 1.
    assert days_overdue(D("2024-09-30"), D("2024-10-03"), WORKING, CN) == 1


# -- purity ------------------------------------------------------------------------------------

def test_the_module_imports_only_the_standard_library():
    tree = ast.parse(Path(cal_module.__file__).read_text(encoding="utf-8"))
    imported = {(node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
                for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert {name.split(".")[0] for name in imported} <= {"__future__", "collections", "dataclasses",
                                                         "datetime", "typing", "holidays"}
    # ... and the data module it reads imports nothing at all.
    data = ast.parse(Path(holidays_module.__file__).read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(data) if isinstance(n, (ast.Import, ast.ImportFrom))]
