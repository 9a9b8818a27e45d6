"""The members service's published events: the contract other services and the read models
decode through (``services.members.domain.events``, loaded by name by the kernel). Imports only
the kernel.

Events never carry contact details (telephone, e-mail, address), a member's or an
organisation's: they are personal data and live only in the service's private contact book
(ADR 0005). Organisations are referenced by
their id, so that a rename changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xieshang.kernel.domain import DomainEvent, EventRegistry
from xieshang.kernel.anchoring import register_checkpoint_events
from xieshang.kernel.integration import NOTHING_WITHHELD, Publication

registry = EventRegistry()

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
    """An organisation was renamed (``previous_name`` kept for the record)."""

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


@registry.register
@dataclass(frozen=True)
class OrganisationContactChanged(DomainEvent):
    """The organisation's contact details (its office's phone and mailbox, where notices to it
    are delivered) changed in the private contact book: which ``fields``, never their values."""

    org_id: str
    fields: list[str]


@registry.register
@dataclass(frozen=True)
class OrganisationContactErased(DomainEvent):
    """The organisation's contact details were erased from the private contact book: which
    ``fields`` were kept until then, never their values, and why (``reason``)."""

    org_id: str
    fields: list[str]
    reason: str


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
    """A member's term ``term`` ended on ``ended_on``."""

    member_id: str
    term: str
    ended_on: str


@registry.register
@dataclass(frozen=True)
class MemberResigned(DomainEvent):
    """A member resigned 辞去委员 on ``resigned_on``, for ``reason``."""

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
class ContactDetailsErased(DomainEvent):
    """The member's contact details were erased from the private contact book (e.g. on their
    request, or after they left): which ``fields`` were kept until then, never their values, and
    why (``reason``). Erasures before this event existed were recorded as
    ``ContactDetailsChanged`` without a reason."""

    member_id: str
    fields: list[str]
    reason: str


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


# Signed checkpoints of this log's head (xieshang.kernel.anchoring): public, hashes only.
register_checkpoint_events(registry)

# -- what leaves the service (the integration contract, ADR 0012) --------------------------------
# Public: the committee's organisations and stations, who its members are and what they hold,
# its activities and duty menus, and the rules by which duty is counted. Private: contact
# details of anyone, a member's party membership and reasons for leaving, each member's points
# and assessment (personal evaluations), their own sign-ups, and internal bookkeeping.
PUBLICATION = Publication("members", registry, public={
    "LogCheckpointed": NOTHING_WITHHELD,
    "OrganisationRegistered": NOTHING_WITHHELD,
    "OrganisationRenamed": NOTHING_WITHHELD,
    "OrganisationClosed": NOTHING_WITHHELD,
    "StationDefined": NOTHING_WITHHELD,
    "StationCommunitiesSet": NOTHING_WITHHELD,
    "MemberAppointed": frozenset({"cpc_member"}),
    "MemberAssignedToStation": NOTHING_WITHHELD,
    "MemberRolesChanged": frozenset({"cpc_member"}),
    "MemberTermEnded": NOTHING_WITHHELD,
    "MemberResigned": frozenset({"reason"}),
    "PointRulesSet": NOTHING_WITHHELD,
    "ActivityRecorded": NOTHING_WITHHELD,
    "DutyMenuPublished": NOTHING_WITHHELD,
}, private={
    "OrganisationContactChanged": "which contact details of an organisation changed (contact data)",
    "OrganisationContactErased": "erasure of an organisation's contact details",
    "ContactDetailsChanged": "which of a member's contact details changed (personal data)",
    "ContactDetailsErased": "erasure of a member's contact details (personal data)",
    "RosterImported": "an operator's import of a roster file",
    "DutyPointsAwarded": "a member's duty points: a personal evaluation",
    "DutyPointsRecomputed": "a member's duty points: a personal evaluation",
    "AnnualAssessmentConcluded": "a member's annual assessment: a personal evaluation",
    "MenuSignedUp": "a member's own sign-up for duty items",
    "CaseProposersNoted": "this service's copy of a case's proposers (bookkeeping)",
    "CaseKeyDesignationNoted": "this service's copy of a case's key designation (bookkeeping)",
})
