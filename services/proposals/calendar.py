"""A committee's deadline arithmetic: pure, no I/O.

Committees count their deadlines (a unit's reply 答复, its objection to an assignment 申请调整,
a new handling round after an unsatisfied rating) either in calendar days or in working days.
Neither is "add n days":

* Working days are not simply Monday–Friday. Public holidays fall on weekdays, and China moves
  days around them (调休): some Saturdays and Sundays become working days to make up for
  them. The State Council publishes each year's arrangement only late in the year before, and
  committees amend it, so the HolidayCalendar is data that staff edit, not a rule in code.
* A deadline counted in calendar days that ends on a non-working day moves to the next working
  day, as Chinese legal and administrative periods do (期间届满的最后一日是法定休假日的，以法定
  休假日后的第一日为期间届满的日期, the rule of 民事诉讼法 on periods): nobody can be required
  to act on a day the office is closed. As there, the day a period starts is not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from .holidays import OFFICIAL_CALENDARS

CALENDAR, WORKING = "calendar", "working"
COUNTINGS = (CALENDAR, WORKING)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class HolidayCalendar:
    """Public holidays (not working days even on a weekday) and make-up working days 调休
    (a Saturday or Sunday that is a working day). Every other weekday is a working day."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", _dates("holidays", self.holidays))
        object.__setattr__(self, "workdays", _dates("workdays", self.workdays))
        both = sorted(self.holidays & self.workdays)
        if both:
            raise ValueError(f"{_iso(both)} cannot be both a holiday and a make-up working day")
        on_weekdays = sorted(d for d in self.workdays if d.weekday() < 5)
        if on_weekdays:
            raise ValueError(f"make-up working days must be Saturdays or Sundays; {_iso(on_weekdays)} "
                             "is a weekday (already a working day unless it is a holiday)")

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself not counted)."""
        return self._step(start, n, _DAY)

    def subtract_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day before ``start`` (``start`` itself not counted)."""
        return self._step(start, n, -_DAY)

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days in (a, b]: after ``a``, up to and including ``b``
        (0 if ``b`` is not after ``a``)."""
        return sum(self.is_working_day(a + i * _DAY) for i in range(1, (b - a).days + 1))

    def amended(self, add_holidays: Iterable[date] = (), remove_holidays: Iterable[date] = (),
                add_workdays: Iterable[date] = (), remove_workdays: Iterable[date] = ()) -> HolidayCalendar:
        """A new calendar with these changes (removals first, then additions)."""
        return HolidayCalendar(
            holidays=(self.holidays - frozenset(remove_holidays)) | frozenset(add_holidays),
            workdays=(self.workdays - frozenset(remove_workdays)) | frozenset(add_workdays))

    def to_dict(self) -> dict[str, list[str]]:
        return {"holidays": _iso_list(self.holidays), "workdays": _iso_list(self.workdays)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Iterable[str]]) -> HolidayCalendar:
        return cls(holidays=frozenset(_parse(data.get("holidays", ()), "holidays")),
                   workdays=frozenset(_parse(data.get("workdays", ()), "workdays")))

    def _step(self, start: date, n: int, step: timedelta) -> date:
        if not _positive_int(n):
            raise ValueError(f"the number of working days must be a whole number of at least 1, not {n!r}")
        d = start
        while n:
            d += step
            n -= self.is_working_day(d)
        return d


@dataclass(frozen=True)
class DeadlineRules:
    """How a committee counts its deadlines; every ``*_days`` is in the unit of ``counting``.

    A committee counting working days sets its own figures (e.g. ``reply_days=60``).
    """

    counting: str = CALENDAR
    reply_days: int = 90
    urgent_reply_days: int = 30
    objection_days: int = 5  # a handling unit's time to object to an assignment 申请调整
    rehandling_days: int = 30  # a new handling round after an unsatisfied rating
    reminder_days: tuple[int, ...] = (7, 1)  # remind this many days before a deadline

    def __post_init__(self) -> None:
        if self.counting not in COUNTINGS:
            raise ValueError(f"counting must be {CALENDAR!r} or {WORKING!r}, not {self.counting!r}")
        for name in ("reply_days", "urgent_reply_days", "objection_days", "rehandling_days"):
            value = getattr(self, name)
            if not _positive_int(value):
                raise ValueError(f"{name} must be a whole number of days of at least 1, not {value!r}")
        if isinstance(self.reminder_days, (str, bytes)) or not isinstance(self.reminder_days, Iterable):
            raise ValueError("reminder_days must be a list of whole numbers of days, "
                             f"not {self.reminder_days!r}")
        reminders = tuple(self.reminder_days)
        bad = [r for r in reminders if not _positive_int(r)]
        if bad:
            raise ValueError(f"reminder_days must be whole numbers of days of at least 1; {bad!r} are not")
        if len(set(reminders)) != len(reminders):
            raise ValueError(f"reminder_days must be distinct, not {list(reminders)!r}")
        object.__setattr__(self, "reminder_days", reminders)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["reminder_days"] = list(self.reminder_days)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DeadlineRules:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown deadline rule(s): {', '.join(map(str, unknown))}")
        return cls(**data)


def deadline(start: date, days: int, rules: DeadlineRules, calendar: HolidayCalendar) -> date:
    """The deadline ``days`` days (in the rules' unit) after ``start``."""
    if rules.counting == WORKING:
        return calendar.add_working_days(start, days)
    if not _positive_int(days):
        raise ValueError(f"the number of days must be a whole number of at least 1, not {days!r}")
    end = start + timedelta(days=days)
    while not calendar.is_working_day(end):
        end += _DAY
    return end


def reminder_dates(deadline: date, rules: DeadlineRules, calendar: HolidayCalendar) -> dict[int, date]:
    """For each of the rules' reminder_days, the date that many days (in the rules' unit)
    before ``deadline``."""
    if rules.counting == WORKING:
        return {n: calendar.subtract_working_days(deadline, n) for n in rules.reminder_days}
    return {n: deadline - timedelta(days=n) for n in rules.reminder_days}


def days_overdue(deadline: date, today: date, rules: DeadlineRules, calendar: HolidayCalendar) -> int:
    """How many days (in the rules' unit) ``today`` is past ``deadline``; 0 if it is not.

    Counting working days, a day past the deadline is at least 1 even when no working day has
    passed yet (a Friday deadline is missed on Saturday), so that 0 always means "not overdue".
    """
    if today <= deadline:
        return 0
    if rules.counting == WORKING:
        return max(1, calendar.working_days_between(deadline, today))
    return (today - deadline).days


def official_calendar(years: Iterable[int] | None = None) -> HolidayCalendar:
    """The State Council's holidays and make-up working days of ``years`` (default: every year
    shipped in ``holidays.OFFICIAL_CALENDARS``, each from its notice 国务院办公厅关于<year>年部分
    节假日安排的通知): the calendar a committee starts with."""
    holidays: list[date] = []
    workdays: list[date] = []
    for year in sorted(OFFICIAL_CALENDARS if years is None else years):
        notice = OFFICIAL_CALENDARS[year]
        for first, last in (s for spans in notice["holidays"].values() for s in spans):
            a, b = date.fromisoformat(first), date.fromisoformat(last)
            holidays += [a + i * _DAY for i in range((b - a).days + 1)]
        workdays += [date.fromisoformat(d) for days in notice["workdays"].values() for d in days]
    return HolidayCalendar(holidays=frozenset(holidays), workdays=frozenset(workdays))


def china_2024_calendar() -> HolidayCalendar:
    """The 2024 public holidays and make-up working days, from the State Council's notice
    国务院办公厅关于2024年部分节假日安排的通知."""
    return official_calendar([2024])


def years_covered(calendar: HolidayCalendar) -> frozenset[int]:
    """The years the calendar says anything about (a holiday or a make-up working day): a year
    without one is not a year without holidays but one nobody entered."""
    return frozenset(d.year for d in (*calendar.holidays, *calendar.workdays))


def calendar_warnings(calendar: HolidayCalendar, today: date) -> list[dict[str, Any]]:
    """What staff must be told about the calendar on ``today``: the current or the next year
    has no holidays in it (deadlines there would count every weekday as a working day and
    every weekend as a rest day). One warning per missing year, in Chinese and English."""
    covered = years_covered(calendar)
    return [{"code": "holiday_calendar_missing", "year": year,
             "message": f"节假日日历缺少{year}年的安排：请按国务院办公厅关于{year}年部分节假日安排的通知"
                        f"补录节假日和调休上班日，否则期限按普通周末计算。",
             "message_en": f"the holiday calendar has nothing for {year}: enter that year's public "
                           f"holidays and make-up working days (the State Council's notice), or "
                           f"deadlines there count every weekday as a working day."}
            for year in (today.year, today.year + 1) if year not in covered]


# -- helpers -----------------------------------------------------------------------------------

def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _dates(name: str, values: Iterable[Any]) -> frozenset[date]:
    values = frozenset(values)
    # A datetime is a date too, but never equal to one: it would silently match nothing.
    bad = [v for v in values if not isinstance(v, date) or isinstance(v, datetime)]
    if bad:
        raise ValueError(f"{name} must be dates, not {', '.join(map(repr, bad))}")
    return values


def _parse(values: Iterable[str], name: str) -> list[date]:
    if isinstance(values, str):
        raise ValueError(f"{name} must be a list of ISO dates, not a single string")
    try:
        return [date.fromisoformat(v) for v in values]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be ISO dates like 2024-10-01 ({exc})") from None


def _iso_list(values: Iterable[date]) -> list[str]:
    return [d.isoformat() for d in sorted(values)]


def _iso(values: Iterable[date]) -> str:
    return ", ".join(_iso_list(values))
