"""Activities staff record 履职活动 (meetings, inspections, research, consultations, plenary
speeches, community service) and who took part (stream ``activity-<id>``); each credits its
participants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from xieshang.kernel.domain import DomainEvent, InvalidCommand, WrongState
from xieshang.kernel.envelope import Actor

from .access import require_staff
from .checks import check_id, iso_date, required
from .commands import RecordActivity
from .events import ActivityRecorded
from .members import Member
from .points import Credit
from .vocabulary import ACTIVE, ACTIVITY_KINDS


@dataclass(frozen=True)
class Activity:
    activity_id: str
    recorded: ActivityRecorded | None = None


def fold_activity(activity_id: str, events: Iterable[DomainEvent]) -> Activity:
    state = Activity(activity_id)
    for e in events:
        if isinstance(e, ActivityRecorded):
            state = Activity(activity_id, e)
    return state


def record_activity(actor: Actor, state: Activity, cmd: RecordActivity,
                    members: Mapping[str, Member]) -> list[DomainEvent]:
    """Staff record an activity and who took part (and, for a meeting, who was excused 请假).
    ``members``: the states of the members named."""
    kind, title, held_on, participants, excused = (cmd.kind, cmd.title, cmd.held_on, cmd.participants,
                                                   cmd.excused)
    require_staff(actor, "record_activity", "only committee staff record members' activities")
    if state.recorded is not None:
        raise WrongState("record_activity", "recorded", (), ("the activity is recorded already", "该活动已登记"))
    problems: dict[str, str] = {}
    check_id(problems, "activity_id", state.activity_id)
    if kind not in ACTIVITY_KINDS:
        problems["kind"] = f"one of {', '.join(ACTIVITY_KINDS)}"
    title = required(problems, "title", title, 2, 200)
    held_on = iso_date(problems, "held_on", held_on)
    people = _member_ids(problems, "participants", participants, members)
    away = _member_ids(problems, "excused", excused, members)
    if not people and not away and "participants" not in problems:
        problems["participants"] = "at least one member"
    if away and kind != "meeting":
        problems["excused"] = "only a meeting has members excused"
    if set(people) & set(away):
        problems["excused"] = f"also listed as participants: {', '.join(sorted(set(people) & set(away)))}"
    if problems:
        raise InvalidCommand(("the activity record is incomplete or malformed", "活动记录不完整或格式有误"), problems)
    return [ActivityRecorded(activity_id=state.activity_id, kind=kind, title=title, held_on=held_on,
                             participants=people, excused=away)]


def activity_credits(e: ActivityRecorded, *, event_id: str, stream: str, service: str) -> list[Credit]:
    year = int(e.held_on[:4])
    done = [Credit(m, ACTIVITY_KINDS[e.kind], service, event_id, stream, year, event_id, e.title)
            for m in e.participants]
    return done + [Credit(m, "meeting_excused", service, event_id, stream, year, event_id, e.title)
                   for m in e.excused]


def _member_ids(problems: dict[str, str], key: str, ids: Any, members: Mapping[str, Member]) -> list[str]:
    if isinstance(ids, str) or not all(isinstance(m, str) for m in ids or ()):
        problems[key] = "a list of member ids"
        return []
    ids = list(dict.fromkeys(ids or ()))
    missing = [m for m in ids if m not in members or members[m].status != ACTIVE]
    if missing:
        problems[key] = f"not serving members: {', '.join(missing)}"
    return ids

