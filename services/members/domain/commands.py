"""The members service's commands, one per RPC command, parsed once at the edge
(``AppointMember.parse(**arguments)``): frozen, typed, their shape checked. What the values
mean (lengths, known kinds, open organisations) the decisions check.

Contact details (``AppointMember.contact``, ``SetContactDetails``, ``SetOrganisationContact``)
are personal data: they are left out of a command's repr, so that no log line or traceback
prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xieshang.kernel.commands import Command, Id

Ids = tuple[str, ...]


# -- organisations -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RegisterOrganisation(Command):
    org_id: Id
    kind: str
    name: str
    parent: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class DefineStation(Command):
    station_id: Id
    name: str
    station_type: str
    level: str
    location: str | None = None
    communities: Ids | None = None


@dataclass(frozen=True)
class SetStationCommunities(Command):
    station_id: Id
    communities: Ids


@dataclass(frozen=True)
class RenameOrganisation(Command):
    org_id: Id
    name: str


@dataclass(frozen=True)
class CloseOrganisation(Command):
    org_id: Id
    reason: str


@dataclass(frozen=True)
class SetOrganisationContact(Command):
    org_id: Id
    phone: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EraseOrganisationContact(Command):
    org_id: Id
    reason: str


# -- members -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AppointMember(Command):
    member_id: Id
    name: str
    sector: str
    term: str
    roles: Ids = ()
    station: str | None = None
    special_committees: Ids = ()
    levels: Ids | None = None          # None: the committee's own level
    cpc_member: bool = False
    communities: Ids | None = None
    contact: dict | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AssignToStation(Command):
    member_id: Id
    station: str
    communities: Ids | None = None


@dataclass(frozen=True)
class ChangeRoles(Command):
    """None leaves that part as it is."""

    member_id: Id
    roles: Ids | None = None
    special_committees: Ids | None = None
    levels: Ids | None = None
    cpc_member: bool | None = None


@dataclass(frozen=True)
class EndTerm(Command):
    member_id: Id
    ended_on: str | None = None        # None: today


@dataclass(frozen=True)
class ResignMember(Command):
    member_id: Id
    reason: str
    resigned_on: str | None = None     # None: today


@dataclass(frozen=True)
class SetContactDetails(Command):
    member_id: Id
    phone: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    address: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class EraseContactDetails(Command):
    member_id: Id
    reason: str


@dataclass(frozen=True)
class DeliveryAddresses(Command):
    """A query (the notify service's): where notices on ``channel`` reach these members and
    organisations."""

    party_ids: tuple[Id, ...]
    channel: str


@dataclass(frozen=True)
class ImportRoster(Command):
    file_name: str
    content_base64: str = field(repr=False)


# -- duty points -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SetPointRules(Command):
    year: int
    points: dict
    caps: dict | None = None


@dataclass(frozen=True)
class RecordActivity(Command):
    activity_id: Id
    kind: str
    title: str
    held_on: str
    participants: Ids
    excused: Ids = ()


@dataclass(frozen=True)
class PublishMenu(Command):
    menu_id: Id
    year: int
    title: str
    items: tuple[dict, ...]
    sector: str | None = None


@dataclass(frozen=True)
class SignUpForMenu(Command):
    menu_id: Id
    item_ids: Ids
    member_id: Id | None = None        # None: the actor


@dataclass(frozen=True)
class ConcludeAssessment(Command):
    member_id: Id
    year: int
    outcome: str
    note: str = ""
