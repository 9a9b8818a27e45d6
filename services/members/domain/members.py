"""Members 委员: appointment, station 下沉, roles, end of term and resignation (stream
``member-<member id>``). Contact details are not here: see ``contacts``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Sequence

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotFound, WrongState
from xieshang.kernel.envelope import Actor

from .access import require_staff
from .checks import check_id, iso_date, required
from .commands import AppointMember, AssignToStation, ChangeRoles, EndTerm, ResignMember
from .events import (MemberAppointed, MemberAssignedToStation, MemberResigned, MemberRolesChanged,
                     MemberTermEnded)
from .organisations import OrgIndex
from .vocabulary import ACTIVE, LEVELS, RESIGNED, ROLES, TERM_ENDED


@dataclass(frozen=True)
class Member:
    member_id: str
    appointed: bool = False
    name: str = ""
    sector: str = ""
    term: str = ""
    roles: tuple[str, ...] = ()
    station: str | None = None
    special_committees: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    cpc_member: bool = False
    communities: tuple[str, ...] = ()
    status: str = ""   # "" (never appointed), ACTIVE, TERM_ENDED, RESIGNED

    @property
    def menu_minimum(self) -> int:
        """永嘉: standing committee members and party members sign up for at least two menu
        items, every other member for at least one."""
        return 2 if "standing_committee" in self.roles or self.cpc_member else 1

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for key in ("roles", "special_committees", "levels", "communities"):
            d[key] = list(d[key])
        return d


MEMBER_COMMANDS = {"": ("appoint_member",),
                   ACTIVE: ("assign_to_station", "change_roles", "end_term", "resign_member",
                            "set_contact_details"),
                   TERM_ENDED: ("appoint_member",), RESIGNED: ("appoint_member",)}


def fold_member(member_id: str, events: Iterable[DomainEvent], initial: Member | None = None) -> Member:
    """The member after ``events`` (applied to ``initial``, by default a member never appointed)."""
    state = initial or Member(member_id)
    for e in events:
        if isinstance(e, MemberAppointed):
            state = Member(member_id, True, e.name, e.sector, e.term, tuple(e.roles), e.station,
                           tuple(e.special_committees), tuple(e.levels), e.cpc_member,
                           tuple(e.communities), ACTIVE)
        elif isinstance(e, MemberAssignedToStation):
            state = dataclasses.replace(state, station=e.station, communities=tuple(e.communities))
        elif isinstance(e, MemberRolesChanged):
            state = dataclasses.replace(state, roles=tuple(e.roles), levels=tuple(e.levels),
                                        special_committees=tuple(e.special_committees),
                                        cpc_member=e.cpc_member)
        elif isinstance(e, MemberTermEnded):
            state = dataclasses.replace(state, status=TERM_ENDED)
        elif isinstance(e, MemberResigned):
            state = dataclasses.replace(state, status=RESIGNED)
    return state


def require_member(state: Member) -> Member:
    if not state.appointed:
        raise NotFound((f"no member {state.member_id!r}", f"没有委员 {state.member_id!r}"))
    return state


def appoint_member(actor: Actor, state: Member, cmd: AppointMember, index: OrgIndex | None = None,
                   default_levels: Sequence[str] = ()) -> list[DomainEvent]:
    """Staff register a member (the member id is the login id staff chose), or appoint a former
    member for a new term. With ``index``, sector, special committees, station and communities
    are resolved (by id or name) to open organisations and stored by id; without it they are
    taken as given (the caller resolved them). ``levels`` None: ``default_levels`` (the
    committee's own level)."""
    name, sector, term, station, communities = cmd.name, cmd.sector, cmd.term, cmd.station, cmd.communities
    roles, special_committees, cpc_member = cmd.roles, cmd.special_committees, cmd.cpc_member
    levels = tuple(default_levels) if cmd.levels is None else cmd.levels
    require_staff(actor, "appoint_member", "only committee staff appoint members")
    if state.status == ACTIVE:
        raise WrongState("appoint_member", ACTIVE, MEMBER_COMMANDS[ACTIVE])
    problems: dict[str, str] = {}
    check_id(problems, "member_id", state.member_id, "the member's login id")
    name = required(problems, "name", name, 1, 50)
    sector = required(problems, "sector", sector, 1, 64)
    term = required(problems, "term", term, 1, 20)
    if term and state.appointed and term == state.term:
        problems["term"] = f"{state.member_id}'s term {term} has ended; a new appointment is for a new term"
    if not isinstance(cpc_member, bool):
        problems["cpc_member"] = "true or false"
    held = _positions(problems, index, roles, special_committees, levels)
    if sector and index is not None:
        sector = _resolve(problems, index, "sector", ("sector",), sector)
    if station is not None:
        station_id, covered = _station(problems, index, station, communities)
    elif communities:
        problems["communities"] = "communities are looked after from a station: name the station"
        station_id, covered = None, []
    else:
        station_id, covered = None, []
    if problems:
        raise InvalidCommand(("the appointment is incomplete or malformed", "任命内容不完整或格式有误"), problems)
    return [MemberAppointed(member_id=state.member_id, name=name, sector=sector, term=term,
                            roles=held[0], station=station_id, special_committees=held[1],
                            levels=held[2], cpc_member=cpc_member, communities=covered)]


def assign_to_station(actor: Actor, state: Member, cmd: AssignToStation,
                      index: OrgIndex | None = None) -> list[DomainEvent]:
    """Staff assign a member to a station 下沉 (or move them to another one)."""
    station, communities = cmd.station, cmd.communities
    require_staff(actor, "assign_to_station", "only committee staff assign members to stations")
    require_active(state, "assign_to_station")
    problems: dict[str, str] = {}
    station_id, covered = _station(problems, index, station, communities)
    if problems:
        raise InvalidCommand(("the assignment is malformed", "进站安排格式有误"), problems)
    if station_id == state.station and tuple(covered) == state.communities:
        return []
    return [MemberAssignedToStation(member_id=state.member_id, station=station_id or "",
                                    communities=covered, previous_station=state.station)]


def change_roles(actor: Actor, state: Member, cmd: ChangeRoles,
                 index: OrgIndex | None = None) -> list[DomainEvent]:
    """Staff change what a member holds; None leaves that part as it is."""
    roles, special_committees, levels, cpc_member = (cmd.roles, cmd.special_committees, cmd.levels,
                                                     cmd.cpc_member)
    require_staff(actor, "change_roles", "only committee staff change members' roles")
    require_active(state, "change_roles")
    problems: dict[str, str] = {}
    held = _positions(problems, index, state.roles if roles is None else roles,
                      state.special_committees if special_committees is None else special_committees,
                      state.levels if levels is None else levels)
    party = state.cpc_member if cpc_member is None else cpc_member
    if not isinstance(party, bool):
        problems["cpc_member"] = "true or false"
    if problems:
        raise InvalidCommand(("the roles are malformed", "职务格式有误"), problems)
    if (tuple(held[0]), tuple(held[1]), tuple(held[2]), party) == (
            state.roles, state.special_committees, state.levels, state.cpc_member):
        return []
    return [MemberRolesChanged(member_id=state.member_id, roles=held[0], special_committees=held[1],
                               levels=held[2], cpc_member=party)]


def end_term(actor: Actor, state: Member, cmd: EndTerm, today: date) -> list[DomainEvent]:
    """The member's term 届 ended (届满), on ``cmd.ended_on`` or else ``today``."""
    ended_on = cmd.ended_on or today.isoformat()
    require_staff(actor, "end_term", "only committee staff record the end of a term")
    require_active(state, "end_term")
    problems: dict[str, str] = {}
    ended_on = iso_date(problems, "ended_on", ended_on)
    if problems:
        raise InvalidCommand(("bad date", "日期有误"), problems)
    return [MemberTermEnded(member_id=state.member_id, term=state.term, ended_on=ended_on)]


def resign_member(actor: Actor, state: Member, cmd: ResignMember, today: date) -> list[DomainEvent]:
    """Staff record that the member resigned 辞去委员 (or was removed), with the reason, on
    ``cmd.resigned_on`` or else ``today``."""
    reason, resigned_on = cmd.reason, cmd.resigned_on or today.isoformat()
    require_staff(actor, "resign_member", "only committee staff record a resignation")
    require_active(state, "resign_member")
    problems: dict[str, str] = {}
    reason = required(problems, "reason", reason, 2, 500)
    resigned_on = iso_date(problems, "resigned_on", resigned_on)
    if problems:
        raise InvalidCommand(("the resignation is incomplete", "辞任登记不完整"), problems)
    return [MemberResigned(member_id=state.member_id, reason=reason, resigned_on=resigned_on)]


def require_active(state: Member, command: str) -> None:
    require_member(state)
    if state.status != ACTIVE:
        raise WrongState(command, state.status, MEMBER_COMMANDS[state.status])


def _positions(problems: dict[str, str], index: OrgIndex | None, roles: Any, committees: Any,
               levels: Any) -> tuple[list[str], list[str], list[str]]:
    if isinstance(roles, str) or not all(r in ROLES for r in roles or ()):
        problems["roles"] = f"a list of: {', '.join(ROLES)}"
        roles = ()
    if isinstance(levels, str) or not all(lv in LEVELS for lv in levels or ()):
        problems["levels"] = f"a list of: {', '.join(LEVELS)}"
        levels = ()
    if isinstance(committees, str) or not all(isinstance(c, str) and c for c in committees or ()):
        problems["special_committees"] = "a list of special committee ids or names"
        committees = ()
    elif index is not None:
        resolved, bad = [], []
        for ref in committees or ():
            found, problem = index.find(("special_committee",), ref)
            if found is None:
                bad.append(problem or ref)
            else:
                resolved.append(found.org_id)
        if bad:
            problems["special_committees"] = "; ".join(bad)
        committees = resolved
    return (list(dict.fromkeys(roles or ())), list(dict.fromkeys(committees or ())),
            list(dict.fromkeys(levels or ())))


def _resolve(problems: dict[str, str], index: OrgIndex, key: str, kinds: Sequence[str], ref: str) -> str:
    found, problem = index.find(kinds, ref)
    if found is None:
        problems[key] = problem or "unknown"
        return ref
    return found.org_id


def _station(problems: dict[str, str], index: OrgIndex | None, station: Any,
             communities: Sequence[str] | None) -> tuple[str | None, list[str]]:
    if not isinstance(station, str) or not 1 <= len(station) <= 100:
        problems["station"] = "a station id or name"
        return None, []
    if communities is not None and (isinstance(communities, str)
                                    or not all(isinstance(c, str) for c in communities)):
        problems["communities"] = "a list of community ids or names"
        return station, []
    if index is None:
        return station, list(dict.fromkeys(communities or ()))
    found, problem = index.find(("station",), station)
    if found is None:
        problems["station"] = problem or "unknown"
        return station, []
    covered, bad = [], []
    for ref in communities or ():
        match = [c for c in found.communities if c == ref or (index.get(c) and index.orgs[c].name == ref)]
        if not match:
            bad.append(ref)
        elif match[0] not in covered:
            covered.append(match[0])
    if bad:
        problems["communities"] = (f"{found.name} does not cover {', '.join(bad)}"
                                   + (f" (it covers {', '.join(found.communities)})" if found.communities
                                      else " (it covers no community)"))
    return found.org_id, covered

