"""Members 委员, their organisations and their duty record 履职: the members service's
published events and its decisions.

Pure: no I/O, no framework. State is folded from events; every decision returns new events
or raises a DomainError naming the fields, the current state and the allowed commands.

Streams:

* ``org-<org id>``: one organisation of the committee's tree (DOMAIN.md, Organisations): the
  committee, its special committees 专门委员会, sectors 界别, parties and groups 党派团体,
  handling units 承办单位, townships/streets 乡镇/街道 and villages/communities 村/社区, and the
  stations 委员工作站、联络站/联系点、工作室、会客室、协商议事室 with the communities each covers.
* ``member-<member id>``: a member's registration: appointment, station 下沉, roles, end of
  term, resignation, and the fact (never the content) that their contact details changed.
* ``ledger-<member id>``: the member's duty points 履职积分: one ``DutyPointsAwarded`` per
  credited activity, naming the event that earned it; recomputations when a year's rules
  change; the annual assessment 履职考核.
* ``pointrules-<committee>-<year>``: the points rules of one committee and year (data, not code).
* ``activity-<id>``: an activity staff recorded (a meeting, an inspection, ...) with who took part.
* ``menu-<id>``: a duty menu 菜单式履职 (永嘉) and the members' sign-ups.
* ``case-<proposal id>``: what this service learnt about a proposal from the proposals
  service's events (its proposers, its key designation), so that credits that need both do not
  depend on the order in which the two events arrive.
* ``rosterimport-<digest>``: a roster file that was imported, and what it changed.

Events never carry contact details (telephone, e-mail, address): they are personal data and
live only in the service's private contact book (see ``ContactDetails``). Organisations are
referenced by their id, so that a rename changes nothing else.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Mapping, Sequence

from xieshang.kernel.domain import (DomainEvent, EventRegistry, InvalidCommand, NotAllowed, NotFound,
                                    WrongState)
from xieshang.kernel.envelope import Actor

registry = EventRegistry()

# Roles (Actor.role) this service knows.
STAFF, MEMBER, LEADER, AUDITOR = "staff", "member", "leader", "auditor"
READERS_OF_ALL = (STAFF, LEADER, AUDITOR)

# -- vocabulary (English in code, Chinese for the user interface) ---------------------------

ORG_KINDS: Mapping[str, str] = {
    "committee": "政协",
    "special_committee": "专门委员会",
    "sector": "界别",
    "party_group": "党派团体",
    "handling_unit": "承办单位",
    "township": "乡镇/街道",
    "community": "村/社区",
    "station": "委员履职站点",
}
STATION_TYPES: Mapping[str, str] = {
    "work_station": "委员工作站",
    "liaison_station": "委员联络站",
    "liaison_point": "委员联系点",
    "studio": "委员工作室",
    "reception_room": "委员会客室",
    "consultation_room": "协商议事室",
}
STATION_LEVELS = ("township", "community")
COMMITTEE_LEVELS = ("city", "county")
LEVELS = ("national", "provincial", "city", "county")   # 全国、省、市、县 (a person may sit at several)
ROLES = ("standing_committee", "chairs_meeting")         # 常委, 主席会议成员
OPEN, CLOSED = "open", "closed"
ACTIVE, TERM_ENDED, RESIGNED = "active", "term_ended", "resigned"

# Every activity that can earn duty points, with its name in the UI. Points come from the
# year's rules (PointRules), never from here.
ACTIVITIES: Mapping[str, str] = {
    # from the proposals service's events
    "proposal_submitted": "提交提案",
    "proposal_filed": "提案立案",
    "proposal_co_signed": "联名附议",
    "proposal_made_key": "提案列为重点提案",
    "proposal_merged": "提案并案办理",
    "reply_rated": "评价提案办理答复",
    # from the feedback service's events (opinion reports 社情民意), once it publishes them
    "opinion_adopted": "社情民意信息被采用",
    "opinion_reported_upward": "社情民意信息被上级政协采用报送",
    "leader_instruction": "社情民意信息获领导批示",
    # recorded by staff in this service
    "meeting_attended": "参加会议",
    "meeting_excused": "请假缺席会议",
    "inspection_joined": "参加视察",
    "research_joined": "参加调研",
    "consultation_joined": "参加协商议事",
    "plenary_speech": "大会发言",
    "community_service": "进社区服务",
    "menu_signup": "菜单式履职认领",
}
# What an activity record (ActivityRecorded.kind) credits its participants with.
ACTIVITY_KINDS: Mapping[str, str] = {
    "meeting": "meeting_attended",
    "inspection": "inspection_joined",
    "research": "research_joined",
    "consultation": "consultation_joined",
    "plenary_speech": "plenary_speech",
    "community_service": "community_service",
}
MENU_FORMS = ("consultation", "research", "inspection", "supervision", "review")  # 协商、调研、视察、监督、评议
OUTCOMES: Mapping[str, str] = {"commended": "表彰", "normal": "合格", "talked_to": "约谈通报"}

# The points of a year for which staff set no rules (version 0 of every year's rules). An
# activity at 0 is still recorded in the ledger, so that the year's rules can price it later.
DEFAULT_POINT_RULES: Mapping[str, int] = {
    "proposal_submitted": 0,       # what is filed counts by default, not every submission
    "proposal_filed": 5,
    "proposal_co_signed": 1,
    "proposal_made_key": 3,
    "proposal_merged": 3,
    "reply_rated": 1,
    "opinion_adopted": 3,
    "opinion_reported_upward": 5,
    "leader_instruction": 8,
    "meeting_attended": 1,
    "meeting_excused": 0,
    "inspection_joined": 2,
    "research_joined": 2,
    "consultation_joined": 2,
    "plenary_speech": 5,
    "community_service": 2,
    "menu_signup": 1,
}
MAX_POINTS = 100
MAX_CAP = 10_000

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_PHONE = re.compile(r"^1[3-9][0-9]{9}$")          # a mainland mobile number 手机号
_LANDLINE = re.compile(r"^0[1-9][0-9]{1,2}-?[0-9]{7,8}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def member_stream(member_id: str) -> str:
    return f"member-{member_id}"


def ledger_stream(member_id: str) -> str:
    return f"ledger-{member_id}"


def org_stream(org_id: str) -> str:
    return f"org-{org_id}"


def rules_stream(committee: str, year: int) -> str:
    return f"pointrules-{committee}-{year}"


def activity_stream(activity_id: str) -> str:
    return f"activity-{activity_id}"


def menu_stream(menu_id: str) -> str:
    return f"menu-{menu_id}"


def case_stream(proposal_id: str) -> str:
    return f"case-{proposal_id}"


def roster_import_stream(digest: str) -> str:
    return f"rosterimport-{digest[:16]}"


# == events (the published contract) =========================================================

# -- organisations ----------------------------------------------------------------------------

@registry.register
@dataclass(frozen=True)
class OrganisationRegistered(DomainEvent):
    """Staff registered an organisation of kind ``kind`` (ORG_KINDS, not a station) under
    ``parent`` (None: directly under the committee). ``level`` is a committee's level (city or
    county)."""

    org_id: str
    kind: str
    name: str
    parent: str | None = None
    level: str | None = None


@registry.register
@dataclass(frozen=True)
class OrganisationRenamed(DomainEvent):
    org_id: str
    name: str
    previous_name: str


@registry.register
@dataclass(frozen=True)
class OrganisationClosed(DomainEvent):
    """The organisation (or station) no longer exists; it stays in the tree's history."""

    org_id: str
    reason: str


@registry.register
@dataclass(frozen=True)
class StationDefined(DomainEvent):
    """Staff set up a station of ``station_type`` (STATION_TYPES) at ``level`` (township or
    community), located in township or community ``location`` (None: e.g. a sector's studio),
    covering ``communities`` (community org ids)."""

    org_id: str
    name: str
    station_type: str
    level: str
    location: str | None = None
    communities: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class StationCommunitiesSet(DomainEvent):
    """The communities the station covers are now ``communities``."""

    org_id: str
    communities: list[str]
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


# -- members ----------------------------------------------------------------------------------

@registry.register
@dataclass(frozen=True)
class MemberAppointed(DomainEvent):
    """Staff registered a member 委员 of this committee for ``term`` 届 (e.g. "第十届"), in sector
    ``sector`` 界别 (an org id), with roles (ROLES), special committees (org ids), the levels they
    sit at (LEVELS: a person can be a national, provincial and city member at once), whether they
    are a member of the Communist Party (for the 永嘉 menu minimum), and optionally the station
    they are assigned to 下沉 with the communities they look after there."""

    member_id: str
    name: str
    sector: str
    term: str
    roles: list[str] = field(default_factory=list)
    station: str | None = None
    special_committees: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    cpc_member: bool = False
    communities: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class MemberAssignedToStation(DomainEvent):
    """The member was assigned (or reassigned) to ``station`` 下沉, looking after
    ``communities`` there (empty: every community the station covers)."""

    member_id: str
    station: str
    communities: list[str] = field(default_factory=list)
    previous_station: str | None = None


@registry.register
@dataclass(frozen=True)
class MemberRolesChanged(DomainEvent):
    """What the member holds now: roles, special committees, levels, party membership."""

    member_id: str
    roles: list[str]
    special_committees: list[str]
    levels: list[str]
    cpc_member: bool


@registry.register
@dataclass(frozen=True)
class MemberTermEnded(DomainEvent):
    member_id: str
    term: str
    ended_on: str


@registry.register
@dataclass(frozen=True)
class MemberResigned(DomainEvent):
    member_id: str
    reason: str
    resigned_on: str


@registry.register
@dataclass(frozen=True)
class ContactDetailsChanged(DomainEvent):
    """The member's contact details changed in the private contact book: which ``fields``
    (phone, email, address), never their values."""

    member_id: str
    fields: list[str]


@registry.register
@dataclass(frozen=True)
class RosterImported(DomainEvent):
    """A roster file (``digest``: its SHA-256) was imported; the counts say what it changed."""

    digest: str
    file_name: str
    rows: int
    appointed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0


# -- duty points ------------------------------------------------------------------------------

@registry.register
@dataclass(frozen=True)
class PointRulesSet(DomainEvent):
    """The committee's duty points rules for ``year``, version ``version``: points per activity
    (activities not listed earn 0) and caps on an activity's points per year."""

    committee: str
    year: int
    version: int
    points: dict[str, int]
    caps: dict[str, int] = field(default_factory=dict)


@registry.register
@dataclass(frozen=True)
class DutyPointsAwarded(DomainEvent):
    """``points`` credited to the member for ``activity`` in ``year``, earned by the event
    ``source_event_id`` (of ``source_service``, in stream ``source_stream``). ``credit_key``
    makes the credit unique in the ledger (the source event id unless one activity may be
    credited only once per case); ``rules_version`` is the version of the year's rules that
    priced it (0: the defaults)."""

    member_id: str
    activity: str
    points: int
    source_service: str
    source_event_id: str
    source_stream: str
    note: str = ""
    year: int = 0
    credit_key: str = ""
    rules_version: int = 0


@registry.register
@dataclass(frozen=True)
class DutyPointsRecomputed(DomainEvent):
    """The year's rules changed: every entry of ``year`` is now priced by ``rules_version``.
    ``changes`` lists the entries whose points changed (credit_key, activity, before, after);
    ``total`` is the year's total after it (caps applied)."""

    member_id: str
    year: int
    rules_version: int
    changes: list[dict[str, Any]]
    total: int


@registry.register
@dataclass(frozen=True)
class AnnualAssessmentConcluded(DomainEvent):
    """The annual assessment 履职考核 of ``year``: ``outcome`` (OUTCOMES), on ``points`` under
    rules ``rules_version``. Concluded once; later recomputations leave it as it was."""

    member_id: str
    year: int
    outcome: str
    points: int
    rules_version: int
    note: str = ""


@registry.register
@dataclass(frozen=True)
class ActivityRecorded(DomainEvent):
    """Staff recorded an activity of ``kind`` (ACTIVITY_KINDS) held on ``held_on``: the
    participants are credited with its activity; members ``excused`` 请假 from a meeting with
    ``meeting_excused``."""

    activity_id: str
    kind: str
    title: str
    held_on: str
    participants: list[str]
    excused: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class DutyMenuPublished(DomainEvent):
    """Staff published a duty menu 履职菜单 for ``year``: ``items`` (item_id, title, form in
    MENU_FORMS). ``sector``: the menu is for that sector's members only (永嘉's pilot: 经济界)."""

    menu_id: str
    year: int
    title: str
    items: list[dict[str, str]]
    sector: str | None = None


@registry.register
@dataclass(frozen=True)
class MenuSignedUp(DomainEvent):
    """``member_id`` signed up for menu items ``item_ids`` (``designated``: staff assigned them
    指定认领, else the member chose 自由选择)."""

    menu_id: str
    member_id: str
    item_ids: list[str]
    year: int
    designated: bool = False


@registry.register
@dataclass(frozen=True)
class CaseProposersNoted(DomainEvent):
    """The proposals service said that ``proposers`` propose case ``proposal_id``."""

    proposal_id: str
    proposers: list[str]
    source_event_id: str


@registry.register
@dataclass(frozen=True)
class CaseKeyDesignationNoted(DomainEvent):
    """The proposals service made case ``proposal_id`` a key proposal 重点提案 (event
    ``source_event_id``) in ``year``."""

    proposal_id: str
    source_event_id: str
    source_stream: str
    year: int


# == organisations ===========================================================================

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
                OPEN: ("rename_organisation", "close_organisation", "set_station_communities"),
                CLOSED: ()}

# Which kinds an organisation may hang under (None: directly under the committee).
PARENT_KINDS: Mapping[str, tuple[str | None, ...]] = {
    "committee": (None, "committee"),
    "special_committee": (None, "committee"),
    "sector": (None, "committee"),
    "party_group": (None, "committee"),
    "handling_unit": (None, "committee"),
    "township": (None, "committee"),
    "community": ("township",),
}


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


def register_organisation(actor: Actor, state: Organisation, index: OrgIndex, *, kind: str, name: str,
                          parent: str | None = None, level: str | None = None) -> list[DomainEvent]:
    """Staff register an organisation of the committee's tree (stations: ``define_station``)."""
    _require_staff(actor, "register_organisation", "only committee staff keep the organisation tree")
    if state.exists:
        raise WrongState("register_organisation", state.status, ORG_COMMANDS[state.status])
    problems: dict[str, str] = {}
    _check_id(problems, "org_id", state.org_id)
    name = _required(problems, "name", name, 1, 100)
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
        raise InvalidCommand("the organisation is incomplete or malformed", problems)
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


def define_station(actor: Actor, state: Organisation, index: OrgIndex, *, name: str, station_type: str,
                   level: str, location: str | None = None,
                   communities: Sequence[str] | None = None) -> list[DomainEvent]:
    """Staff set up a station at township or community level. A community-level station covers
    its own community unless ``communities`` says otherwise."""
    _require_staff(actor, "define_station", "only committee staff set up stations")
    if state.exists:
        raise WrongState("define_station", state.status, ORG_COMMANDS[state.status])
    problems: dict[str, str] = {}
    _check_id(problems, "org_id", state.org_id)
    name = _required(problems, "name", name, 1, 100)
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
        raise InvalidCommand("the station is incomplete or malformed", problems)
    return [StationDefined(org_id=state.org_id, name=name, station_type=station_type, level=level,
                           location=location, communities=covered)]


def set_station_communities(actor: Actor, state: Organisation, index: OrgIndex, *,
                            communities: Sequence[str]) -> list[DomainEvent]:
    """Staff change the communities a station covers (the whole list)."""
    _require_staff(actor, "set_station_communities", "only committee staff set up stations")
    _require_open(state, "set_station_communities")
    if state.kind != "station":
        raise InvalidCommand("not a station", {"org_id": f"{state.org_id!r} is a {ORG_KINDS[state.kind]}"})
    problems: dict[str, str] = {}
    township = state.location if state.station_level == "township" else None
    covered = _check_communities(problems, index, list(communities or ()), township=township)
    if problems:
        raise InvalidCommand("the station's communities are malformed", problems)
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


def rename_organisation(actor: Actor, state: Organisation, index: OrgIndex, *,
                        name: str) -> list[DomainEvent]:
    _require_staff(actor, "rename_organisation", "only committee staff keep the organisation tree")
    _require_open(state, "rename_organisation")
    problems: dict[str, str] = {}
    name = _required(problems, "name", name, 1, 100)
    if name and index.named_open(state.kind, name, but=state.org_id):
        problems["name"] = f"an open {ORG_KINDS[state.kind]} is already named {name!r}"
    if problems:
        raise InvalidCommand("bad name", problems)
    if name == state.name:
        return []
    return [OrganisationRenamed(org_id=state.org_id, name=name, previous_name=state.name)]


def close_organisation(actor: Actor, state: Organisation, *, reason: str) -> list[DomainEvent]:
    _require_staff(actor, "close_organisation", "only committee staff keep the organisation tree")
    _require_open(state, "close_organisation")
    problems: dict[str, str] = {}
    reason = _required(problems, "reason", reason, 2, 500)
    if problems:
        raise InvalidCommand("a closure needs a reason", problems)
    return [OrganisationClosed(org_id=state.org_id, reason=reason)]


def _require_open(state: Organisation, command: str) -> None:
    if not state.exists:
        raise NotFound(f"no organisation {state.org_id!r}")
    if state.status != OPEN:
        raise WrongState(command, state.status, ORG_COMMANDS[state.status])


# == members =================================================================================

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
        raise NotFound(f"no member {state.member_id!r}")
    return state


def appoint_member(actor: Actor, state: Member, *, name: str, sector: str, term: str,
                   roles: Sequence[str] = (), station: str | None = None,
                   special_committees: Sequence[str] = (), levels: Sequence[str] = (),
                   cpc_member: bool = False, communities: Sequence[str] | None = None,
                   index: OrgIndex | None = None) -> list[DomainEvent]:
    """Staff register a member (the member id is the login id staff chose), or appoint a former
    member for a new term. With ``index``, sector, special committees, station and communities
    are resolved (by id or name) to open organisations and stored by id; without it they are
    taken as given (the caller resolved them)."""
    _require_staff(actor, "appoint_member", "only committee staff appoint members")
    if state.status == ACTIVE:
        raise WrongState("appoint_member", ACTIVE, MEMBER_COMMANDS[ACTIVE])
    problems: dict[str, str] = {}
    _check_id(problems, "member_id", state.member_id, "the member's login id")
    name = _required(problems, "name", name, 1, 50)
    sector = _required(problems, "sector", sector, 1, 64)
    term = _required(problems, "term", term, 1, 20)
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
        raise InvalidCommand("the appointment is incomplete or malformed", problems)
    return [MemberAppointed(member_id=state.member_id, name=name, sector=sector, term=term,
                            roles=held[0], station=station_id, special_committees=held[1],
                            levels=held[2], cpc_member=cpc_member, communities=covered)]


def assign_to_station(actor: Actor, state: Member, *, station: str,
                      communities: Sequence[str] | None = None,
                      index: OrgIndex | None = None) -> list[DomainEvent]:
    """Staff assign a member to a station 下沉 (or move them to another one)."""
    _require_staff(actor, "assign_to_station", "only committee staff assign members to stations")
    _require_active(state, "assign_to_station")
    problems: dict[str, str] = {}
    station_id, covered = _station(problems, index, station, communities)
    if problems:
        raise InvalidCommand("the assignment is malformed", problems)
    if station_id == state.station and tuple(covered) == state.communities:
        return []
    return [MemberAssignedToStation(member_id=state.member_id, station=station_id or "",
                                    communities=covered, previous_station=state.station)]


def change_roles(actor: Actor, state: Member, *, roles: Sequence[str] | None = None,
                 special_committees: Sequence[str] | None = None, levels: Sequence[str] | None = None,
                 cpc_member: bool | None = None, index: OrgIndex | None = None) -> list[DomainEvent]:
    """Staff change what a member holds; None leaves that part as it is."""
    _require_staff(actor, "change_roles", "only committee staff change members' roles")
    _require_active(state, "change_roles")
    problems: dict[str, str] = {}
    held = _positions(problems, index, state.roles if roles is None else roles,
                      state.special_committees if special_committees is None else special_committees,
                      state.levels if levels is None else levels)
    party = state.cpc_member if cpc_member is None else cpc_member
    if not isinstance(party, bool):
        problems["cpc_member"] = "true or false"
    if problems:
        raise InvalidCommand("the roles are malformed", problems)
    if (tuple(held[0]), tuple(held[1]), tuple(held[2]), party) == (
            state.roles, state.special_committees, state.levels, state.cpc_member):
        return []
    return [MemberRolesChanged(member_id=state.member_id, roles=held[0], special_committees=held[1],
                               levels=held[2], cpc_member=party)]


def end_term(actor: Actor, state: Member, *, ended_on: str) -> list[DomainEvent]:
    """The member's term 届 ended (届满)."""
    _require_staff(actor, "end_term", "only committee staff record the end of a term")
    _require_active(state, "end_term")
    problems: dict[str, str] = {}
    ended_on = _iso_date(problems, "ended_on", ended_on)
    if problems:
        raise InvalidCommand("bad date", problems)
    return [MemberTermEnded(member_id=state.member_id, term=state.term, ended_on=ended_on)]


def resign_member(actor: Actor, state: Member, *, reason: str, resigned_on: str) -> list[DomainEvent]:
    """Staff record that the member resigned 辞去委员 (or was removed), with the reason."""
    _require_staff(actor, "resign_member", "only committee staff record a resignation")
    _require_active(state, "resign_member")
    problems: dict[str, str] = {}
    reason = _required(problems, "reason", reason, 2, 500)
    resigned_on = _iso_date(problems, "resigned_on", resigned_on)
    if problems:
        raise InvalidCommand("the resignation is incomplete", problems)
    return [MemberResigned(member_id=state.member_id, reason=reason, resigned_on=resigned_on)]


def _require_active(state: Member, command: str) -> None:
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


# -- contact details (personal data: never in events, logs or public views) -----------------

CONTACT_FIELDS = ("phone", "email", "address")


@dataclass(frozen=True)
class ContactDetails:
    """A member's telephone, e-mail and postal address. Its repr says only which fields are
    set, so that a stray log line or error message never prints them."""

    phone: str | None = None
    email: str | None = None
    address: str | None = None

    def __repr__(self) -> str:
        shown = ", ".join(f"{f}={'<set>' if getattr(self, f) else '<none>'}" for f in CONTACT_FIELDS)
        return f"ContactDetails({shown})"

    __str__ = __repr__

    def to_dict(self) -> dict[str, str | None]:
        return {f: getattr(self, f) for f in CONTACT_FIELDS}

    def differs_in(self, other: "ContactDetails | None") -> list[str]:
        other = other or ContactDetails()
        return [f for f in CONTACT_FIELDS if getattr(self, f) != getattr(other, f)]

    @property
    def empty(self) -> bool:
        return not any(getattr(self, f) for f in CONTACT_FIELDS)


def check_contact_details(phone: Any = None, email: Any = None, address: Any = None,
                          where: Mapping[str, str] | None = None) -> ContactDetails:
    """Normalise and check contact details. Errors name the field and what it must be, never the
    value. ``where`` renames the fields in errors (e.g. {"phone": "row 12, 手机"})."""
    where = where or {}
    problems: dict[str, str] = {}
    phone = _blank_to_none(phone)
    if phone is not None:
        digits = re.sub(r"[\s()-]", "", str(phone))
        digits = digits[3:] if digits.startswith("+86") else digits
        if _PHONE.fullmatch(digits):
            phone = digits
        elif _LANDLINE.fullmatch(str(phone).replace(" ", "")):
            phone = str(phone).replace(" ", "")
        else:
            problems[where.get("phone", "phone")] = ("a mobile number of 11 digits starting with 1 "
                                                     "(or a landline with its area code)")
    email = _blank_to_none(email)
    if email is not None and not _EMAIL.fullmatch(str(email)):
        problems[where.get("email", "email")] = "an e-mail address like name@example.cn"
    address = _blank_to_none(address)
    if address is not None and not 2 <= len(str(address)) <= 200:
        problems[where.get("address", "address")] = "2 to 200 characters"
    if problems:
        raise InvalidCommand("the contact details are malformed", problems)
    return ContactDetails(phone, None if email is None else str(email).strip(),
                          None if address is None else str(address).strip())


def change_contact_details(actor: Actor, state: Member, before: ContactDetails | None,
                           after: ContactDetails) -> list[DomainEvent]:
    """Staff or the member themselves change the member's contact details. The event names the
    fields that changed; the values go to the private contact book only."""
    if not (actor.role == STAFF or (actor.role == MEMBER and actor.user_id == state.member_id)):
        raise NotAllowed("set_contact_details", "only committee staff or the member themselves")
    _require_active(state, "set_contact_details")
    changed = after.differs_in(before)
    return [ContactDetailsChanged(member_id=state.member_id, fields=changed)] if changed else []


def erase_contact_details(actor: Actor, state: Member, before: ContactDetails | None) -> list[DomainEvent]:
    """Staff (or the member themselves) erase the member's contact details, also after the
    member left: the event names the fields that were kept."""
    if not (actor.role == STAFF or (actor.role == MEMBER and actor.user_id == state.member_id)):
        raise NotAllowed("erase_contact_details", "only committee staff or the member themselves")
    require_member(state)
    kept = (before or ContactDetails()).differs_in(ContactDetails())
    return [ContactDetailsChanged(member_id=state.member_id, fields=kept)] if kept else []


def _blank_to_none(value: Any) -> Any:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# == duty points =============================================================================

@dataclass(frozen=True)
class PointRules:
    """The points rules of one committee and year. Version 0 is the defaults."""

    committee: str
    year: int
    version: int = 0
    points: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_POINT_RULES))
    caps: Mapping[str, int] = field(default_factory=dict)

    def points_for(self, activity: str) -> int:
        return int(self.points.get(activity, 0))

    def to_dict(self) -> dict[str, Any]:
        return {"committee": self.committee, "year": self.year, "version": self.version,
                "points": dict(self.points), "caps": dict(self.caps)}


def fold_point_rules(committee: str, year: int, events: Iterable[DomainEvent]) -> PointRules:
    rules = PointRules(committee, year)
    for e in events:
        if isinstance(e, PointRulesSet):
            rules = PointRules(committee, year, e.version, dict(e.points), dict(e.caps))
    return rules


def set_point_rules(actor: Actor, current: PointRules, *, points: Mapping[str, int],
                    caps: Mapping[str, int] | None = None) -> list[DomainEvent]:
    """Staff set the year's whole points table: an activity it does not list earns 0; ``caps``
    limit an activity's points in the year. The year's ledgers are then recomputed."""
    _require_staff(actor, "set_point_rules", "only committee staff set the duty points rules")
    problems: dict[str, str] = {}
    if not 2000 <= current.year <= 2100:
        problems["year"] = "a year, e.g. 2024"
    table = _activity_numbers(problems, "points", points, 0, MAX_POINTS)
    limits = _activity_numbers(problems, "caps", caps or {}, 1, MAX_CAP)
    if problems:
        raise InvalidCommand("the points rules are malformed", problems)
    if current.version and (table, limits) == (dict(current.points), dict(current.caps)):
        return []
    return [PointRulesSet(committee=current.committee, year=current.year, version=current.version + 1,
                          points=table, caps=limits)]


def _activity_numbers(problems: dict[str, str], key: str, table: Any, lo: int, hi: int) -> dict[str, int]:
    if not isinstance(table, Mapping):
        problems[key] = "a mapping of activity to a whole number"
        return {}
    unknown = sorted(str(a) for a in table if a not in ACTIVITIES)
    bad = sorted(str(a) for a, n in table.items()
                 if a in ACTIVITIES and (isinstance(n, bool) or not isinstance(n, int) or not lo <= n <= hi))
    if unknown:
        problems[key] = f"unknown activities {', '.join(unknown)}; known: {', '.join(ACTIVITIES)}"
    elif bad:
        problems[key] = f"{', '.join(bad)}: whole numbers from {lo} to {hi}"
    return {a: int(table[a]) for a in ACTIVITIES if a in table}


@dataclass(frozen=True)
class Credit:
    """An activity to credit to a member, and the event that earned it."""

    member_id: str
    activity: str
    source_service: str
    source_event_id: str
    source_stream: str
    year: int
    credit_key: str = ""
    note: str = ""


@dataclass(frozen=True)
class Ledger:
    """A member's duty points: the entries as they are now priced, the recomputations and the
    concluded assessments."""

    member_id: str
    entries: tuple[DutyPointsAwarded, ...] = ()
    recomputations: tuple[DutyPointsRecomputed, ...] = ()
    assessments: Mapping[int, AnnualAssessmentConcluded] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """The points of every entry, without caps."""
        return sum(e.points for e in self.entries)

    def credited_for(self, credit_key: str) -> bool:
        return any(e.credit_key == credit_key for e in self.entries)

    def years(self) -> list[int]:
        return sorted({e.year for e in self.entries})

    def year_entries(self, year: int) -> list[DutyPointsAwarded]:
        return [e for e in self.entries if e.year == year]

    def year_total(self, year: int, caps: Mapping[str, int] | None = None) -> int:
        return capped_total(((e.activity, e.points) for e in self.year_entries(year)), caps or {})

    def to_dict(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "total": self.total,
                "entries": [e.to_data() for e in self.entries],
                "recomputations": [r.to_data() for r in self.recomputations],
                "assessments": [a.to_data() for _, a in sorted(self.assessments.items())]}


def capped_total(points: Iterable[tuple[str, int]], caps: Mapping[str, int]) -> int:
    """Sum per activity, each activity's sum held to its cap."""
    per: dict[str, int] = {}
    for activity, n in points:
        per[activity] = per.get(activity, 0) + n
    return sum(min(n, caps[a]) if a in caps else n for a, n in per.items())


def fold_ledger(member_id: str, events: Iterable[DomainEvent]) -> Ledger:
    entries: dict[str, DutyPointsAwarded] = {}
    recomputations: list[DutyPointsRecomputed] = []
    assessments: dict[int, AnnualAssessmentConcluded] = {}
    for e in events:
        if isinstance(e, DutyPointsAwarded):
            key = e.credit_key or e.source_event_id   # entries recorded before credit keys
            entries.setdefault(key, dataclasses.replace(e, credit_key=key))
        elif isinstance(e, DutyPointsRecomputed):
            after = {c["credit_key"]: int(c["after"]) for c in e.changes}
            for key, entry in entries.items():
                if entry.year == e.year:
                    entries[key] = dataclasses.replace(entry, points=after.get(key, entry.points),
                                                       rules_version=e.rules_version)
            recomputations.append(e)
        elif isinstance(e, AnnualAssessmentConcluded):
            assessments.setdefault(e.year, e)
    return Ledger(member_id, tuple(entries.values()), tuple(recomputations), assessments)


def award_points(ledger: Ledger, *, activity: str, source_service: str, source_event_id: str,
                 source_stream: str, note: str = "",
                 rules: PointRules | Mapping[str, int] = DEFAULT_POINT_RULES, year: int = 0,
                 credit_key: str | None = None) -> list[DomainEvent]:
    """Credit ``activity`` once per credit key (by default the source event): nothing if the
    ledger has it already or the activity is unknown. An activity the rules give no points is
    still recorded (with 0), so that a later change of the year's rules can price it."""
    if activity not in ACTIVITIES:
        return []
    key = credit_key or source_event_id
    if ledger.credited_for(key):
        return []
    priced = rules if isinstance(rules, PointRules) else PointRules("", year, 0, dict(rules))
    return [DutyPointsAwarded(member_id=ledger.member_id, activity=activity,
                              points=priced.points_for(activity), source_service=source_service,
                              source_event_id=source_event_id, source_stream=source_stream, note=note,
                              year=year, credit_key=key, rules_version=priced.version)]


def award(ledger: Ledger, credits: Iterable[Credit], rules: PointRules) -> list[DomainEvent]:
    """``award_points`` for several credits of one member (of the rules' year)."""
    out: list[DomainEvent] = []
    for c in credits:
        decided = award_points(ledger, activity=c.activity, source_service=c.source_service,
                               source_event_id=c.source_event_id, source_stream=c.source_stream,
                               note=c.note, rules=rules, year=c.year, credit_key=c.credit_key or None)
        if decided:
            out += decided
            ledger = dataclasses.replace(ledger, entries=(*ledger.entries, *decided))  # type: ignore[arg-type]
    return out


def recompute_year(ledger: Ledger, rules: PointRules) -> list[DomainEvent]:
    """Price the entries of the rules' year again, by replaying them under ``rules``: nothing
    if every entry of the year is priced by this version already."""
    entries = ledger.year_entries(rules.year)
    if all(e.rules_version == rules.version for e in entries):
        return []
    changes = [{"credit_key": e.credit_key, "activity": e.activity, "before": e.points,
                "after": rules.points_for(e.activity)}
               for e in entries if e.points != rules.points_for(e.activity)]
    total = capped_total(((e.activity, rules.points_for(e.activity)) for e in entries), rules.caps)
    return [DutyPointsRecomputed(member_id=ledger.member_id, year=rules.year,
                                 rules_version=rules.version, changes=changes, total=total)]


def conclude_assessment(actor: Actor, member: Member, ledger: Ledger, rules: PointRules, *,
                        outcome: str, note: str = "") -> list[DomainEvent]:
    """Staff conclude a member's annual assessment 履职考核 of the rules' year, on the year's
    points as they stand. Once concluded it stays as it was."""
    _require_staff(actor, "conclude_assessment", "only committee staff conclude assessments")
    require_member(member)
    year = rules.year
    if year in ledger.assessments:
        done = ledger.assessments[year]
        raise WrongState("conclude_assessment", f"concluded for {year} ({done.outcome}, "
                                                f"{done.points} points)", ())
    problems: dict[str, str] = {}
    if outcome not in OUTCOMES:
        problems["outcome"] = f"one of {', '.join(OUTCOMES)}"
    if not isinstance(note, str) or len(note) > 1000:
        problems["note"] = "text of at most 1000 characters"
    if not 2000 <= year <= 2100:
        problems["year"] = "a year, e.g. 2024"
    if problems:
        raise InvalidCommand("the assessment is malformed", problems)
    return [AnnualAssessmentConcluded(member_id=member.member_id, year=year, outcome=outcome,
                                      points=ledger.year_total(year, rules.caps),
                                      rules_version=rules.version, note=note.strip())]


# -- where credits come from ----------------------------------------------------------------------

PROPOSALS = "proposals"


def proposal_credits(event_type: str, data: Mapping[str, Any], *, event_id: str, stream: str,
                     year: int) -> list[Credit]:
    """The credits a proposals event earns directly (key designations need the case's
    proposers: see ``CaseNotes``)."""
    def credit(member: Any, activity: str, note: str = "") -> Credit:
        return Credit(str(member), activity, PROPOSALS, event_id, stream, year, event_id, note)

    title = str(data.get("title") or "")
    if event_type == "ProposalSubmitted":
        return [credit(data["proposer"], "proposal_submitted", f"提交提案《{title}》")]
    if event_type == "ProposalFiled":
        return [credit(data["proposer"], "proposal_filed",
                       f"提案立案 {data.get('case_number', '')}".strip())]
    if event_type == "CoSignatureConfirmed":
        return [credit(data["co_signer"], "proposal_co_signed")]
    if event_type == "MergedProposalAdded":
        return [credit(p, "proposal_merged") for p in dict.fromkeys(data.get("proposers") or ())]
    if event_type == "ReplyRated":
        return [credit(data["rater"], "reply_rated", f"第{data.get('round', 1)}轮答复评价")]
    return []


@dataclass(frozen=True)
class CaseNotes:
    """What this service learnt about one proposal: its proposers and its key designation."""

    proposal_id: str
    proposers: tuple[str, ...] = ()
    key: CaseKeyDesignationNoted | None = None


def fold_case(proposal_id: str, events: Iterable[DomainEvent]) -> CaseNotes:
    state = CaseNotes(proposal_id)
    for e in events:
        if isinstance(e, CaseProposersNoted):
            state = dataclasses.replace(state, proposers=tuple(dict.fromkeys((*state.proposers, *e.proposers))))
        elif isinstance(e, CaseKeyDesignationNoted) and state.key is None:
            state = dataclasses.replace(state, key=e)
    return state


def note_case(case: CaseNotes, event_type: str, data: Mapping[str, Any], *, event_id: str,
              stream: str, year: int) -> list[DomainEvent]:
    """Note the proposers (ProposalSubmitted, MergedProposalAdded) or the key designation
    (ProposalDesignatedKey) of a case, if they are new."""
    if event_type in ("ProposalSubmitted", "MergedProposalAdded"):
        people = ([data["proposer"]] if event_type == "ProposalSubmitted"
                  else list(data.get("proposers") or ()))
        new = [p for p in dict.fromkeys(people) if p not in case.proposers]
        return [CaseProposersNoted(proposal_id=case.proposal_id, proposers=new,
                                   source_event_id=event_id)] if new else []
    if event_type == "ProposalDesignatedKey" and case.key is None:
        return [CaseKeyDesignationNoted(proposal_id=case.proposal_id, source_event_id=event_id,
                                        source_stream=stream, year=year)]
    return []


def key_credits(case: CaseNotes) -> list[Credit]:
    """Every proposer of a key case earns ``proposal_made_key`` once per case, whenever both
    the designation and the proposer are known (in whichever order they arrived)."""
    if case.key is None:
        return []
    k = case.key
    return [Credit(p, "proposal_made_key", PROPOSALS, k.source_event_id, k.source_stream, k.year,
                   f"key:{case.proposal_id}", "提案列为重点提案") for p in case.proposers]


# == recorded activities =========================================================================

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


def record_activity(actor: Actor, state: Activity, members: Mapping[str, Member], *, kind: str,
                    title: str, held_on: str, participants: Sequence[str],
                    excused: Sequence[str] = ()) -> list[DomainEvent]:
    """Staff record an activity and who took part (and, for a meeting, who was excused 请假).
    ``members``: the states of the members named."""
    _require_staff(actor, "record_activity", "only committee staff record members' activities")
    if state.recorded is not None:
        raise WrongState("record_activity", "recorded", ())
    problems: dict[str, str] = {}
    _check_id(problems, "activity_id", state.activity_id)
    if kind not in ACTIVITY_KINDS:
        problems["kind"] = f"one of {', '.join(ACTIVITY_KINDS)}"
    title = _required(problems, "title", title, 2, 200)
    held_on = _iso_date(problems, "held_on", held_on)
    people = _member_ids(problems, "participants", participants, members)
    away = _member_ids(problems, "excused", excused, members)
    if not people and not away and "participants" not in problems:
        problems["participants"] = "at least one member"
    if away and kind != "meeting":
        problems["excused"] = "only a meeting has members excused"
    if set(people) & set(away):
        problems["excused"] = f"also listed as participants: {', '.join(sorted(set(people) & set(away)))}"
    if problems:
        raise InvalidCommand("the activity record is incomplete or malformed", problems)
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


# == duty menus 菜单式履职 ========================================================================

@dataclass(frozen=True)
class Menu:
    menu_id: str
    published: DutyMenuPublished | None = None
    sign_ups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)   # member -> item ids

    @property
    def item_ids(self) -> list[str]:
        return [i["item_id"] for i in self.published.items] if self.published else []


def fold_menu(menu_id: str, events: Iterable[DomainEvent]) -> Menu:
    state = Menu(menu_id)
    for e in events:
        if isinstance(e, DutyMenuPublished):
            state = Menu(menu_id, e, {})
        elif isinstance(e, MenuSignedUp):
            chosen = dict(state.sign_ups)
            chosen[e.member_id] = tuple(dict.fromkeys(chosen.get(e.member_id, ()) + tuple(e.item_ids)))
            state = dataclasses.replace(state, sign_ups=chosen)
    return state


def publish_menu(actor: Actor, state: Menu, *, year: int, title: str, items: Sequence[Mapping[str, str]],
                 sector: str | None = None) -> list[DomainEvent]:
    """Staff publish a menu of duty activities 下单 (leaders, committees, members and the public
    suggest the topics; staff publish them)."""
    _require_staff(actor, "publish_menu", "only committee staff publish a duty menu")
    if state.published is not None:
        raise WrongState("publish_menu", "published", ("sign_up_for_menu",))
    problems: dict[str, str] = {}
    _check_id(problems, "menu_id", state.menu_id)
    title = _required(problems, "title", title, 2, 200)
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        problems["year"] = "a year, e.g. 2024"
    clean: list[dict[str, str]] = []
    if isinstance(items, (str, Mapping)) or not items:
        problems["items"] = "a list of at least one item {item_id, title, form}"
    else:
        for n, item in enumerate(items, 1):
            if not isinstance(item, Mapping) or not _ID.fullmatch(str(item.get("item_id", ""))) \
                    or not 2 <= len(str(item.get("title", "")).strip()) <= 200 \
                    or item.get("form") not in MENU_FORMS:
                problems[f"items[{n}]"] = ("item_id, a title of 2 to 200 characters, form one of "
                                          + ", ".join(MENU_FORMS))
            else:
                clean.append({"item_id": str(item["item_id"]), "title": str(item["title"]).strip(),
                              "form": str(item["form"])})
        ids = [i["item_id"] for i in clean]
        if len(set(ids)) != len(ids):
            problems["items"] = "item ids repeat"
    if problems:
        raise InvalidCommand("the menu is incomplete or malformed", problems)
    return [DutyMenuPublished(menu_id=state.menu_id, year=year, title=title, items=clean, sector=sector)]


def sign_up_for_menu(actor: Actor, menu: Menu, member: Member, *,
                     item_ids: Sequence[str]) -> list[DomainEvent]:
    """A member signs up for menu items 选单 (or staff designate them 指定认领). After it, the
    member holds at least their minimum: two for standing committee and party members, one for
    everyone else."""
    designated = actor.role == STAFF
    if not (designated or (actor.role == MEMBER and actor.user_id == member.member_id)):
        raise NotAllowed("sign_up_for_menu", "a member signs up themselves (or staff designate items)")
    if menu.published is None:
        raise NotFound(f"no duty menu {menu.menu_id!r}")
    _require_active(member, "sign_up_for_menu")
    problems: dict[str, str] = {}
    if menu.published.sector and member.sector != menu.published.sector:
        problems["member_id"] = f"this menu is for the members of sector {menu.published.sector}"
    if isinstance(item_ids, str) or not all(isinstance(i, str) for i in item_ids or ()):
        problems["item_ids"] = "a list of item ids"
        item_ids = []
    unknown = [i for i in item_ids if i not in menu.item_ids]
    held = menu.sign_ups.get(member.member_id, ())
    new = [i for i in dict.fromkeys(item_ids) if i not in held and i not in unknown]
    if unknown:
        problems["item_ids"] = f"not on the menu: {', '.join(unknown)} (it offers {', '.join(menu.item_ids)})"
    elif len(held) + len(new) < member.menu_minimum:
        who = ("standing committee and party members choose" if member.menu_minimum == 2
               else "each member chooses")
        problems["item_ids"] = (f"{who} at least {member.menu_minimum} item(s); "
                                f"{member.member_id} would hold {len(held) + len(new)}")
    if problems:
        raise InvalidCommand("the sign-up is malformed", problems)
    if not new:
        return []
    return [MenuSignedUp(menu_id=menu.menu_id, member_id=member.member_id, item_ids=new,
                         year=menu.published.year, designated=designated)]


def menu_credits(e: MenuSignedUp, *, event_id: str, stream: str, service: str) -> list[Credit]:
    return [Credit(e.member_id, "menu_signup", service, event_id, stream, e.year,
                   f"menu:{e.menu_id}:{item}", f"认领菜单 {e.menu_id}/{item}") for item in e.item_ids]


# == helpers =================================================================================

def _require_staff(actor: Actor, command: str, why: str) -> None:
    if actor.role != STAFF:
        raise NotAllowed(command, f"{why}; the actor's role is {actor.role!r}")


def _check_id(problems: dict[str, str], key: str, value: Any, what: str = "an id") -> None:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        problems[key] = f"1 to 64 letters, digits, _ . : - ({what})"


def _required(problems: dict[str, str], key: str, value: Any, lo: int, hi: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not lo <= len(text) <= hi:
        problems[key] = f"text of {lo} to {hi} characters"
    return text


def _iso_date(problems: dict[str, str], key: str, value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        problems[key] = "an ISO date, e.g. 2024-06-30"
        return ""
