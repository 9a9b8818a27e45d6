"""The committee's handling rules (stream ``handling-rules``): deadline rules (calendar or
working days, periods, reminders) and the holiday calendar, both data that staff edit; and
``Timing``, what a decision needs to know about time."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Callable, Iterable

from xieshang.kernel.domain import DomainEvent, InvalidCommand
from xieshang.kernel.envelope import Actor

from ..calendar import DeadlineRules, HolidayCalendar
from .checks import check_dates, require_role
from .commands import AmendHolidayCalendar, SetHandlingRules
from .events import HandlingRulesSet, HolidayCalendarAmended
from .vocabulary import STAFF


@dataclass(frozen=True)
class Timing:
    """What a decision needs to know about time: today's date (the committee's local date,
    from the injected clock) and the committee's deadline rules and holiday calendar."""

    today: date
    rules: DeadlineRules = field(default_factory=DeadlineRules)
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar)


@dataclass(frozen=True)
class HandlingRules:
    rules: DeadlineRules = field(default_factory=DeadlineRules)
    calendar: HolidayCalendar = field(default_factory=HolidayCalendar)

    def timing(self, today: date) -> Timing:
        return Timing(today=today, rules=self.rules, calendar=self.calendar)


def fold_rules(events: Iterable[DomainEvent], default_calendar: HolidayCalendar | None = None
               ) -> HandlingRules:
    state = HandlingRules(calendar=default_calendar or HolidayCalendar())
    for e in events:
        if isinstance(e, HandlingRulesSet):
            state = dataclasses.replace(state, rules=DeadlineRules.from_dict(e.rules))
        elif isinstance(e, HolidayCalendarAmended):
            state = dataclasses.replace(state, calendar=HolidayCalendar.from_dict(e.calendar))
    return state


def rules_fold(default_calendar: HolidayCalendar) -> Callable[[Iterable[DomainEvent]], HandlingRules]:
    """The fold of the rules stream (what ``Streams.load`` takes), from ``default_calendar``."""
    return partial(fold_rules, default_calendar=default_calendar)


def set_handling_rules(actor: Actor, command: SetHandlingRules) -> list[DomainEvent]:
    require_role(actor, (STAFF,), "set_handling_rules", "only committee staff set deadline rules")
    try:
        parsed = DeadlineRules.from_dict(dict(command.rules))
    except (TypeError, ValueError, KeyError) as exc:
        raise InvalidCommand(("bad deadline rules", "办理期限规则有误"), {"rules": str(exc)}) from None
    return [HandlingRulesSet(rules=parsed.to_dict())]


def amend_holiday_calendar(actor: Actor, current: HandlingRules,
                           command: AmendHolidayCalendar) -> list[DomainEvent]:
    require_role(actor, (STAFF,), "amend_holiday_calendar", "only committee staff amend the calendar")
    problems: dict[str, str] = {}
    parsed = {name: check_dates(problems, name, getattr(command, name))
              for name in ("add_holidays", "remove_holidays", "add_workdays", "remove_workdays")}
    if not problems and not any(parsed.values()):
        problems["add_holidays"] = "the amendment changes nothing: name at least one date"
    if problems:
        raise InvalidCommand(("the calendar amendment is malformed", "节假日调整格式有误"), problems)
    try:
        amended = current.calendar.amended(**parsed)
    except ValueError as exc:
        raise InvalidCommand(("the calendar amendment contradicts itself", "节假日调整自相矛盾"),
                             {"calendar": str(exc)}) from None
    return [HolidayCalendarAmended(
        added_holidays=[d.isoformat() for d in parsed["add_holidays"]],
        removed_holidays=[d.isoformat() for d in parsed["remove_holidays"]],
        added_workdays=[d.isoformat() for d in parsed["add_workdays"]],
        removed_workdays=[d.isoformat() for d in parsed["remove_workdays"]],
        calendar=amended.to_dict())]
