"""Preferences 通知偏好: per person (or organisation) and per kind of notice, which channels,
immediately or in a daily or weekly digest, quiet hours; the committee's defaults beneath; the
built-in default (inbox and e-mail, at once, Chinese) beneath that."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Iterable, Mapping, Sequence

from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed
from xieshang.kernel.envelope import Actor

from .access import owns_inbox
from .events import NoticePreferenceSet
from .templates import KINDS
from .vocabulary import (BUILT_IN_CHANNELS, CADENCES, CHANNELS, COMMITTEE, DAILY, DEFAULT_LOCALE,
                         EVERY_KIND, IMMEDIATE, INBOX, LOCALES, WEEKLY)

_QUIET = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-3]):([0-5][0-9])$")


@dataclass(frozen=True)
class Preference:
    channels: tuple[str, ...] = BUILT_IN_CHANNELS
    cadence: str = IMMEDIATE
    quiet_hours: str | None = None
    locale: str = DEFAULT_LOCALE
    source: str = "default"

    def to_dict(self) -> dict[str, Any]:
        return {"channels": list(self.channels), "cadence": self.cadence,
                "quiet_hours": self.quiet_hours, "locale": self.locale, "source": self.source}


@dataclass(frozen=True)
class Preferences:
    """What one person (or the committee) set, by kind (``*``: every kind); the latest wins."""

    by_kind: Mapping[str, NoticePreferenceSet] = field(default_factory=dict)


def fold_preferences(events: Iterable[DomainEvent]) -> Preferences:
    by_kind: dict[str, NoticePreferenceSet] = {}
    for e in events:
        if isinstance(e, NoticePreferenceSet):
            by_kind[e.kind] = e
    return Preferences(by_kind)


def resolve(own: Preferences, committee: Preferences, kind: str) -> Preference:
    """The preference for ``kind``: the person's for it, their ``*``, the committee's for it,
    its ``*``, else the built-in one. The language is the person's (set with any kind), else the committee's."""
    source, chosen = "default", None
    for origin, prefs in (("own", own), ("committee", committee)):
        for k in (kind, EVERY_KIND):
            if k in prefs.by_kind:
                source, chosen = origin, prefs.by_kind[k]
                break
        if chosen is not None:
            break
    locale = next((p.locale for prefs in (own, committee)
                   for p in (prefs.by_kind.get(kind), prefs.by_kind.get(EVERY_KIND), *prefs.by_kind.values())
                   if p is not None and p.locale), DEFAULT_LOCALE)
    if chosen is None:
        return Preference(locale=locale)
    channels = tuple(dict.fromkeys((INBOX, *chosen.channels)))
    return Preference(channels, chosen.cadence, chosen.quiet_hours, locale, source)


def check_preference(kind: Any, channels: Any, cadence: Any, quiet_hours: Any,
                     locale: Any) -> dict[str, Any]:
    """The preference's fields checked (InvalidCommand naming each bad one)."""
    problems: dict[str, str] = {}
    if kind != EVERY_KIND and kind not in KINDS:
        problems["kind"] = f"一种通知（或 *）(a kind of notice or *): {', '.join(KINDS)}"
    if (not isinstance(channels, (list, tuple)) or not all(c in CHANNELS for c in channels)):
        problems["channels"] = f"渠道列表 (a list of channels): {', '.join(CHANNELS)}"
    if cadence not in CADENCES:
        problems["cadence"] = f"发送方式 (one of): {', '.join(CADENCES)}"
    if quiet_hours is not None and (not isinstance(quiet_hours, str) or not _QUIET.match(quiet_hours)
                                    or quiet_hours[:5] == quiet_hours[6:]):
        problems["quiet_hours"] = "免打扰时段，如 22:00-07:00 (quiet hours like 22:00-07:00)"
    if locale is not None and locale not in LOCALES:
        problems["locale"] = f"语言 (language): {', '.join(LOCALES)}"
    if problems:
        raise InvalidCommand(("the notification preference is malformed", "通知偏好有误"), problems)
    return {"kind": kind, "channels": list(dict.fromkeys(channels)), "cadence": cadence,
            "quiet_hours": quiet_hours, "locale": locale}


def set_preference(actor: Actor, user_id: str, prefs: Preferences, checked: Mapping[str, Any],
                   *, party_kind: str | None = None, may_set_for_others: Sequence[str] = ("staff",)) -> list[DomainEvent]:
    """Record the preference unless it is already so. Staff set the committee's and anyone's;
    a person their own; a unit's people their unit's."""
    if user_id == COMMITTEE:
        if actor.role != "staff":
            raise NotAllowed("set_committee_default", ("only staff set the committee's defaults",
                                                       "只有工作人员可以设置本会默认通知方式"))
    elif not owns_inbox(actor, user_id, party_kind) and actor.role not in may_set_for_others:
        raise NotAllowed("set_preference", (f"they are {user_id!r}'s, not {actor.user_id!r}'s",
                                            f"这是 {user_id!r} 的通知偏好"))
    event = NoticePreferenceSet(user_id=user_id, **checked)
    current = prefs.by_kind.get(checked["kind"])
    return [] if current == event else [event]


# -- time: quiet hours and digest periods (the committee's time zone) -----------------------

def _hm(text: str) -> time:
    h, m = text.split(":")
    return time(int(h), int(m))


def after_quiet_hours(now: datetime, quiet_hours: str | None) -> datetime:
    """``now`` if it is outside the quiet hours, else their end (in UTC)."""
    if not quiet_hours:
        return now
    start, end = _hm(quiet_hours[:5]), _hm(quiet_hours[6:])
    local = now.astimezone(SHANGHAI)
    t = local.timetz().replace(tzinfo=None)
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return now
    end_day = local.date() if (start < end or t < end) else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, SHANGHAI).astimezone(now.tzinfo)


def digest_period(now: datetime, cadence: str) -> str:
    """The digest period ``now`` falls in: a local date (daily) or an ISO week (weekly)."""
    local = now.astimezone(SHANGHAI).date()
    if cadence == DAILY:
        return local.isoformat()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def period_end(period: str, cadence: str) -> datetime:
    """When the period ends (the digest is sent after it), timezone-aware."""
    if cadence == WEEKLY:
        year, week = period.split("-W")
        monday = datetime.fromisocalendar(int(year), int(week), 1).date()
        return datetime.combine(monday + timedelta(days=7), time(0), SHANGHAI)
    day = datetime.fromisoformat(period).date()
    return datetime.combine(day + timedelta(days=1), time(0), SHANGHAI)


def next_period(period: str, cadence: str) -> str:
    return digest_period(period_end(period, cadence), cadence)
