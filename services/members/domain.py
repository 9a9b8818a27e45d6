"""Members 委员 and their duty record 履职: the members service's published events and decisions.

Pure: no I/O, no framework. Streams:

* ``member-<member id>``: the member's registration (appointment; later terms, roles, stations).
* ``ledger-<member id>``: the member's duty-points ledger 履职积分, one event per credited
  activity, each naming the event that earned it.

Points are data, not code: each committee sets its own rules per year (DOMAIN.md §2).
``DEFAULT_POINT_RULES`` is this service's default table until rules are recorded as data.

Events carry no contact details (telephone, address stay out of the log).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from xieshang.kernel.domain import (DomainEvent, EventRegistry, InvalidCommand, NotAllowed, NotFound,
                                    WrongState)
from xieshang.kernel.envelope import Actor

registry = EventRegistry()

STAFF = "staff"

# activity -> points. The activities are the ones DOMAIN.md lists for the duty record.
DEFAULT_POINT_RULES: Mapping[str, int] = {
    "proposal_filed": 5,           # 提案立案
    "opinion_adopted": 3,          # 社情民意信息被采用
    "opinion_reported_upward": 5,  # 信息被上级政协采用报送
    "leader_instruction": 8,       # 获领导批示
    "meeting_attended": 1,         # 参加会议
    "inspection_joined": 2,        # 参加视察
    "plenary_speech": 5,           # 大会发言
    "community_service": 2,        # 进社区服务
}

ROLES = ("standing_committee", "chairs_meeting")  # 常委, 主席会议成员
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


def member_stream(member_id: str) -> str:
    return f"member-{member_id}"


def ledger_stream(member_id: str) -> str:
    return f"ledger-{member_id}"


# -- events (the published contract) -------------------------------------------------------

@registry.register
@dataclass(frozen=True)
class MemberAppointed(DomainEvent):
    """Staff registered a member 委员 of this committee for ``term`` 届 (e.g. "第十届"), in
    ``sector`` 界别 (e.g. "经济界"), optionally with roles (ROLES) and the station 委员工作站
    or liaison point they are assigned to 下沉."""

    member_id: str
    name: str
    sector: str
    term: str
    roles: list[str] = field(default_factory=list)
    station: str | None = None


@registry.register
@dataclass(frozen=True)
class DutyPointsAwarded(DomainEvent):
    """``points`` credited to the member for ``activity``, earned by the event
    ``source_event_id`` (of ``source_service``, in stream ``source_stream``)."""

    member_id: str
    activity: str
    points: int
    source_service: str
    source_event_id: str
    source_stream: str
    note: str = ""


# -- state -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    member_id: str
    appointed: bool = False
    name: str = ""
    sector: str = ""
    term: str = ""
    roles: tuple[str, ...] = ()
    station: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["roles"] = list(self.roles)
        return d


@dataclass(frozen=True)
class Ledger:
    member_id: str
    total: int = 0
    entries: tuple[DutyPointsAwarded, ...] = ()

    def credited_for(self, source_event_id: str) -> bool:
        return any(e.source_event_id == source_event_id for e in self.entries)

    def to_dict(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "total": self.total,
                "entries": [e.to_data() for e in self.entries]}


def fold_member(member_id: str, events: Iterable[DomainEvent]) -> Member:
    state = Member(member_id)
    for e in events:
        if isinstance(e, MemberAppointed):
            state = Member(member_id, True, e.name, e.sector, e.term, tuple(e.roles), e.station)
    return state


def fold_ledger(member_id: str, events: Iterable[DomainEvent]) -> Ledger:
    state = Ledger(member_id)
    for e in events:
        if isinstance(e, DutyPointsAwarded):
            state = Ledger(member_id, state.total + e.points, state.entries + (e,))
    return state


# -- decisions --------------------------------------------------------------------------------

def appoint_member(actor: Actor, state: Member, *, name: str, sector: str, term: str,
                   roles: Sequence[str] = (), station: str | None = None) -> list[DomainEvent]:
    """Staff register a member once; the member id is chosen by staff (it is the login id)."""
    if actor.role != STAFF:
        raise NotAllowed("appoint_member", f"only committee staff appoint members; the actor's "
                                           f"role is {actor.role!r}")
    if state.appointed:
        raise WrongState("appoint_member", "appointed", ())
    problems: dict[str, str] = {}
    if not _ID.match(state.member_id or ""):
        problems["member_id"] = "1 to 64 letters, digits, _ . : - (the member's login id)"
    for key, value, hi in (("name", name, 50), ("sector", sector, 50), ("term", term, 20)):
        if not isinstance(value, str) or not 1 <= len(value.strip()) <= hi:
            problems[key] = f"text of 1 to {hi} characters"
    if isinstance(roles, str) or any(r not in ROLES for r in roles or ()):
        problems["roles"] = f"a list of: {', '.join(ROLES)}"
    if station is not None and (not isinstance(station, str) or not 1 <= len(station) <= 100):
        problems["station"] = "text of 1 to 100 characters, or none"
    if problems:
        raise InvalidCommand("the appointment is incomplete or malformed", problems)
    return [MemberAppointed(member_id=state.member_id, name=name.strip(), sector=sector.strip(),
                            term=term.strip(), roles=list(dict.fromkeys(roles or ())),
                            station=station)]


def award_points(ledger: Ledger, *, activity: str, source_service: str, source_event_id: str,
                 source_stream: str, note: str = "",
                 rules: Mapping[str, int] = DEFAULT_POINT_RULES) -> list[DomainEvent]:
    """Credit ``activity`` once per source event: nothing if the ledger already has it, or if
    the rules give the activity no points."""
    if ledger.credited_for(source_event_id):
        return []
    points = int(rules.get(activity, 0))
    if points == 0:
        return []
    return [DutyPointsAwarded(member_id=ledger.member_id, activity=activity, points=points,
                              source_service=source_service, source_event_id=source_event_id,
                              source_stream=source_stream, note=note)]


def require_member(state: Member) -> Member:
    if not state.appointed:
        raise NotFound(f"no member {state.member_id!r}")
    return state
