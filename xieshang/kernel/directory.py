"""The directory 名录: the members and organisations a service knows, learnt from the members
service's events, each on its own stream ``directory-<entry_id>`` (pure: no I/O).

A service that refers to people and organisations (the proposals service checks the ids a
command names; the notify service writes names, never ids, into its notices) keeps its own copy:
``DirectoryEntryNoted`` records what one members-service event said of one entry, once per
source event. Entries are folded in the order of the members service's log
(``source_position``), whatever order the events arrived in. The follower and the read model
are in ``xieshang.kernel.directory_views``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Iterable, Mapping, Sequence

from .domain import DomainEvent

MEMBER_ENTRY = "member"
UNIT_ENTRY = "handling_unit"    # the members service's kind of a handling unit 承办单位
STATION_ENTRY = "station"       # a station or platform 委员工作站、协商议事室 … (its type says which)
# What a refusal naming an id the directory does not know adds: it follows the members service
# over the bus, so what was just registered may be refused for a moment.
LAG = ("名录由委员服务同步，刚登记的可能稍后才可用，请稍后重试 "
       "(the directory follows the members service: one just registered may take a moment)")
# The members service's events the directory follows.
SOURCE_EVENTS = ("MemberAppointed", "MemberTermEnded", "MemberResigned", "OrganisationRegistered",
                 "OrganisationRenamed", "OrganisationClosed", "StationDefined")


@dataclass(frozen=True)
class DirectoryEntryNoted(DomainEvent):
    """The members service said something about a member or an organisation (its event
    ``source_type`` with id ``source_event_id`` at position ``source_position`` of its log): the
    service's own copy of the directory 名录 (stream ``directory-<entry_id>``). ``kind``: member
    or the organisation's kind (None: the source does not say); ``name`` (None: unchanged);
    ``active``: serving / open (None: unchanged); ``sector`` 界别 of a member (None: unchanged).
    Entries are folded in the order of ``source_position``, whatever order they arrived in."""

    entry_id: str
    source_type: str
    source_event_id: str
    source_position: int
    kind: str | None = None
    name: str | None = None
    active: bool | None = None
    sector: str | None = None
    parent: str | None = None        # an organisation's parent (a community's township)
    station_type: str | None = None  # a station's type (the members service's STATION_TYPES)
    location: str | None = None      # a station's township or community


def directory_stream(entry_id: str) -> str:
    return f"directory-{entry_id}"


@dataclass(frozen=True)
class DirectoryEntry:
    """A member or an organisation as the directory knows it (``kind`` None: not known)."""

    entry_id: str
    kind: str | None = None
    name: str | None = None
    active: bool = False
    seen: frozenset[str] = field(default_factory=frozenset)   # source event ids
    sector: str | None = None
    parent: str | None = None
    station_type: str | None = None
    location: str | None = None

    @property
    def is_member(self) -> bool:
        return self.kind == MEMBER_ENTRY

    @property
    def is_unit(self) -> bool:
        return self.kind == UNIT_ENTRY

    @property
    def is_station(self) -> bool:
        return self.kind == STATION_ENTRY

    def to_dict(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "kind": self.kind, "name": self.name,
                "active": self.active}


def fold_entry(entry_id: str, events: Iterable[DomainEvent]) -> DirectoryEntry:
    """The entry from its facts, applied in the order of the members service's log."""
    facts = sorted((e for e in events if isinstance(e, DirectoryEntryNoted)),
                   key=lambda e: e.source_position)
    kind, name, active, seen = None, None, False, set()
    more: dict[str, Any] = {"sector": None, "parent": None, "station_type": None, "location": None}
    for fact in facts:
        kind = fact.kind if fact.kind is not None else kind
        name = fact.name if fact.name is not None else name
        active = fact.active if fact.active is not None else active
        for key in more:
            more[key] = getattr(fact, key) if getattr(fact, key) is not None else more[key]
        seen.add(fact.source_event_id)
    return DirectoryEntry(entry_id, kind, name, active, frozenset(seen), **more)


def entry_fold(entry_id: str):
    return lambda events: fold_entry(entry_id, events)


def facts_of(source_type: str, data: Mapping[str, Any], *, event_id: str, position: int,
             org_kinds: Collection[str] | None = None) -> list[DirectoryEntryNoted]:
    """What a members service event says for the directory; organisations of kinds outside
    ``org_kinds`` (None: every kind) are left out."""
    def noted(entry_id: Any, **what: Any) -> list[DirectoryEntryNoted]:
        return [DirectoryEntryNoted(entry_id=str(entry_id), source_type=source_type,
                                    source_event_id=event_id, source_position=position, **what)]
    if source_type == "MemberAppointed":
        return noted(data["member_id"], kind=MEMBER_ENTRY, name=data["name"], active=True,
                     sector=data.get("sector") or None)
    if source_type in ("MemberTermEnded", "MemberResigned"):
        return noted(data["member_id"], active=False)
    if source_type == "OrganisationRegistered":
        if org_kinds is not None and data.get("kind") not in org_kinds:
            return []
        return noted(data["org_id"], kind=data["kind"], name=data["name"], active=True,
                     parent=data.get("parent") or None)
    if source_type == "StationDefined":
        if org_kinds is not None and STATION_ENTRY not in org_kinds:
            return []
        return noted(data["org_id"], kind=STATION_ENTRY, name=data["name"], active=True,
                     station_type=data["station_type"], location=data.get("location") or None)
    if source_type == "OrganisationRenamed":
        return noted(data["org_id"], name=data["name"])
    if source_type == "OrganisationClosed":
        return noted(data["org_id"], active=False)
    return []


def note_fact(entry: DirectoryEntry, facts: Sequence[DirectoryEntryNoted]) -> list[DomainEvent]:
    """Record ``facts`` on the entry's stream unless recorded before (a redelivery)."""
    return [f for f in facts if f.source_event_id not in entry.seen]
