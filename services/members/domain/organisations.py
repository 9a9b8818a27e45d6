"""The organisation tree 组织架构: the committee, special committees, sectors, parties and
groups, handling units, townships and communities, and the stations 委员履职站点 with the
communities each covers (stream ``org-<org id>``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotFound, WrongState
from xieshang.kernel.envelope import Actor

from .access import require_staff
from .checks import check_id, required
from .commands import (CloseOrganisation, DefineStation, RegisterOrganisation, RenameOrganisation,
                       SetStationCommunities)
from .events import (OrganisationClosed, OrganisationRegistered, OrganisationRenamed,
                     StationCommunitiesSet, StationDefined)
from .vocabulary import (CLOSED, COMMITTEE_LEVELS, OPEN, ORG_KINDS, PARENT_KINDS, STATION_LEVELS,
                         STATION_TYPES)


@dataclass(frozen=True)
class Organisation:
    org_id: str
    status: str = ""   # "" (never registered), OPEN, CLOSED
    kind: str = ""
    name: str = ""
    parent: str | None = None
    level: str | None = None
    station_type: str | None = None
    station_level: str | None = None
    location: str | None = None
    communities: tuple[str, ...] = ()

    @property
    def exists(self) -> bool:
        return bool(self.status)

    def label(self) -> str:
        return STATION_TYPES.get(self.station_type or "", "") or ORG_KINDS.get(self.kind, self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "communities": list(self.communities)}


ORG_COMMANDS = {"": ("register_organisation", "define_station"),
                OPEN: ("rename_organisation", "close_organisation", "set_station_communities",
                       "set_organisation_contact", "erase_organisation_contact"),
                CLOSED: ()}



def fold_organisation(org_id: str, events: Iterable[DomainEvent]) -> Organisation:
    state = Organisation(org_id)
    for e in events:
        if isinstance(e, OrganisationRegistered):
            state = Organisation(org_id, OPEN, e.kind, e.name, e.parent, e.level)
        elif isinstance(e, StationDefined):
            state = Organisation(org_id, OPEN, "station", e.name, e.location, None, e.station_type,
                                 e.level, e.location, tuple(e.communities))
        elif isinstance(e, OrganisationRenamed):
            state = dataclasses.replace(state, name=e.name)
        elif isinstance(e, OrganisationClosed):
            state = dataclasses.replace(state, status=CLOSED)
        elif isinstance(e, StationCommunitiesSet):
            state = dataclasses.replace(state, communities=tuple(e.communities))
    return state


@dataclass(frozen=True)
class OrgIndex:
    """The organisations known when a decision is taken, to resolve references by id or name."""

    orgs: Mapping[str, Organisation] = field(default_factory=dict)

    @classmethod
    def of(cls, orgs: Iterable[Organisation]) -> "OrgIndex":
        return cls({o.org_id: o for o in orgs})

    def get(self, org_id: str | None) -> Organisation | None:
        return self.orgs.get(org_id) if org_id else None

    def find(self, kinds: Sequence[str], ref: str) -> tuple[Organisation | None, str | None]:
        """(the open organisation of one of ``kinds`` whose id or name is ``ref``, None) or
        (None, what is wrong)."""
        what = "/".join(ORG_KINDS[k] for k in kinds)
        by_id = self.orgs.get(ref)
        if by_id is not None and by_id.kind in kinds:
            return (by_id, None) if by_id.status == OPEN else (None, f"{what} {ref!r} is closed")
        named = sorted((o for o in self.orgs.values()
                        if o.kind in kinds and o.status == OPEN and o.name == ref), key=lambda o: o.org_id)
        if len(named) == 1:
            return named[0], None
        if named:
            return None, (f"several {what} are named {ref!r} ({', '.join(o.org_id for o in named)}); "
                          "give the id")
        return None, f"no {what} {ref!r} is registered"

    def named_open(self, kind: str, name: str, but: str | None = None) -> list[str]:
        return sorted(o.org_id for o in self.orgs.values()
                      if o.kind == kind and o.status == OPEN and o.name == name and o.org_id != but)


def register_organisation(actor: Actor, state: Organisation, cmd: RegisterOrganisation,
                          index: OrgIndex) -> list[DomainEvent]:
    """Staff register an organisation of the committee's tree (stations: ``define_station``)."""
    kind, name, parent, level = cmd.kind, cmd.name, cmd.parent, cmd.level
    require_staff(actor, "register_organisation", "only committee staff keep the organisation tree")
    if state.exists:
        raise WrongState("register_organisation", state.status, ORG_COMMANDS[state.status])
    problems: dict[str, str] = {}
    check_id(problems, "org_id", state.org_id)
    name = required(problems, "name", name, 1, 100)
    if kind == "station":
        problems["kind"] = "stations are set up with define_station"
    elif kind not in PARENT_KINDS:
        problems["kind"] = f"one of {', '.join(k for k in ORG_KINDS if k != 'station')}"
    else:
        _check_parent(problems, index, kind, parent)
        if name and index.named_open(kind, name):
            problems["name"] = f"an open {ORG_KINDS[kind]} is already named {name!r}"
    if kind == "committee" and level not in COMMITTEE_LEVELS:
        problems["level"] = f"a committee's level: {' or '.join(COMMITTEE_LEVELS)}"
    elif kind != "committee" and level is not None:
        problems["level"] = "only a committee has a level"
    if problems:
        raise InvalidCommand(("the organisation is incomplete or malformed", "组织信息不完整或格式有误"), problems)
    return [OrganisationRegistered(org_id=state.org_id, kind=kind, name=name, parent=parent, level=level)]


def _check_parent(problems: dict[str, str], index: OrgIndex, kind: str, parent: str | None) -> None:
    allowed = PARENT_KINDS[kind]
    if parent is None:
        if None not in allowed:
            problems["parent"] = f"a {ORG_KINDS[kind]} belongs to a {ORG_KINDS[allowed[0] or '']}"
        return
    found = index.get(parent)
    if found is None or found.status != OPEN:
        problems["parent"] = f"no open organisation {parent!r}"
    elif found.kind not in allowed:
        problems["parent"] = (f"a {ORG_KINDS[kind]} belongs to "
                              f"{' or '.join(ORG_KINDS[k] for k in allowed if k)}, not to "
                              f"{ORG_KINDS[found.kind]} {parent!r}")


def define_station(actor: Actor, state: Organisation, cmd: DefineStation,
                   index: OrgIndex) -> list[DomainEvent]:
    """Staff set up a station at township or community level. A community-level station covers
    its own community unless ``communities`` says otherwise."""
    name, station_type, level, location = cmd.name, cmd.station_type, cmd.level, cmd.location
    communities = cmd.communities
    require_staff(actor, "define_station", "only committee staff set up stations")
    if state.exists:
        raise WrongState("define_station", state.status, ORG_COMMANDS[state.status])
    problems: dict[str, str] = {}
    check_id(problems, "org_id", state.org_id)
    name = required(problems, "name", name, 1, 100)
    if name and index.named_open("station", name):
        problems["name"] = f"an open station is already named {name!r}"
    if station_type not in STATION_TYPES:
        problems["station_type"] = f"one of {', '.join(STATION_TYPES)}"
    if level not in STATION_LEVELS:
        problems["level"] = f"one of {', '.join(STATION_LEVELS)}"
    elif location is not None:
        found = index.get(location)
        if found is None or found.status != OPEN or found.kind != level:
            problems["location"] = f"an open {ORG_KINDS[level]} (the station is at {level} level)"
    covered = list(communities) if communities is not None else (
        [location] if level == "community" and location else [])
    covered = _check_communities(problems, index, covered, township=location if level == "township" else None)
    if problems:
        raise InvalidCommand(("the station is incomplete or malformed", "站点信息不完整或格式有误"), problems)
    return [StationDefined(org_id=state.org_id, name=name, station_type=station_type, level=level,
                           location=location, communities=covered)]


def set_station_communities(actor: Actor, state: Organisation, cmd: SetStationCommunities,
                            index: OrgIndex) -> list[DomainEvent]:
    """Staff change the communities a station covers (the whole list)."""
    communities = cmd.communities
    require_staff(actor, "set_station_communities", "only committee staff set up stations")
    _require_open(state, "set_station_communities")
    if state.kind != "station":
        raise InvalidCommand(("not a station", "这不是履职站点"),
                             {"org_id": f"{state.org_id!r} is a {ORG_KINDS[state.kind]}"})
    problems: dict[str, str] = {}
    township = state.location if state.station_level == "township" else None
    covered = _check_communities(problems, index, list(communities or ()), township=township)
    if problems:
        raise InvalidCommand(("the station's communities are malformed", "站点联系的社区格式有误"), problems)
    if tuple(covered) == state.communities:
        return []
    return [StationCommunitiesSet(org_id=state.org_id, communities=covered,
                                  added=[c for c in covered if c not in state.communities],
                                  removed=[c for c in state.communities if c not in covered])]


def _check_communities(problems: dict[str, str], index: OrgIndex, refs: list[str],
                       township: str | None) -> list[str]:
    if isinstance(refs, str) or not all(isinstance(r, str) for r in refs):
        problems["communities"] = "a list of community ids or names"
        return []
    out, bad = [], []
    for ref in refs:
        found, problem = index.find(("community",), ref)
        if found is None:
            bad.append(problem or ref)
        elif township and found.parent != township:
            bad.append(f"{found.name} ({found.org_id}) lies in {found.parent}, not in {township}")
        elif found.org_id not in out:
            out.append(found.org_id)
    if bad:
        problems["communities"] = "; ".join(bad)
    return out


def rename_organisation(actor: Actor, state: Organisation, cmd: RenameOrganisation,
                        index: OrgIndex) -> list[DomainEvent]:
    name = cmd.name
    require_staff(actor, "rename_organisation", "only committee staff keep the organisation tree")
    _require_open(state, "rename_organisation")
    problems: dict[str, str] = {}
    name = required(problems, "name", name, 1, 100)
    if name and index.named_open(state.kind, name, but=state.org_id):
        problems["name"] = f"an open {ORG_KINDS[state.kind]} is already named {name!r}"
    if problems:
        raise InvalidCommand(("bad name", "名称有误"), problems)
    if name == state.name:
        return []
    return [OrganisationRenamed(org_id=state.org_id, name=name, previous_name=state.name)]


def close_organisation(actor: Actor, state: Organisation, cmd: CloseOrganisation) -> list[DomainEvent]:
    reason = cmd.reason
    require_staff(actor, "close_organisation", "only committee staff keep the organisation tree")
    _require_open(state, "close_organisation")
    problems: dict[str, str] = {}
    reason = required(problems, "reason", reason, 2, 500)
    if problems:
        raise InvalidCommand(("a closure needs a reason", "撤销须说明理由"), problems)
    return [OrganisationClosed(org_id=state.org_id, reason=reason)]


def _require_open(state: Organisation, command: str) -> None:
    if not state.exists:
        raise NotFound((f"no organisation {state.org_id!r}", f"没有组织 {state.org_id!r}"))
    if state.status != OPEN:
        raise WrongState(command, state.status, ORG_COMMANDS[state.status])

