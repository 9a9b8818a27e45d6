"""The directory's follower (the members service's events, recorded as ``DirectoryEntryNoted``)
and its read model, for every service that keeps a directory (xieshang.kernel.directory).

``DirectoryFollower`` is a mixin of the service class, which gives ``streams`` and ``tracking``;
``DIRECTORY_ORG_KINDS`` says which organisations it keeps (None: all). Commands look ids up in
the entries' streams (current as soon as recorded); views read the ``Directory`` projection.
"""

from __future__ import annotations

from typing import Any, Collection, Iterable, Mapping

import sqlalchemy as sa

from .consumer import handle_event
from .context import CommandContext
from .domain import InvalidCommand
from .directory import DirectoryEntry, directory_stream, entry_fold, facts_of, note_fact
from .envelope import Envelope
from .ids import is_id
from .projection import Projection
from .streams import Streams
from .view_writes import ViewConnection

MEMBERS = "members"


class DirectoryFollower:
    """The members service's events that make the directory."""

    streams: Streams
    DIRECTORY_ORG_KINDS: Collection[str] | None = None

    @handle_event(MEMBERS, "MemberAppointed")
    def on_member_appointed(self, envelope: Envelope) -> None:
        self._note_directory(envelope)

    @handle_event(MEMBERS, "MemberTermEnded")
    def on_member_term_ended(self, envelope: Envelope) -> None:
        self._note_directory(envelope)

    @handle_event(MEMBERS, "MemberResigned")
    def on_member_resigned(self, envelope: Envelope) -> None:
        self._note_directory(envelope)

    @handle_event(MEMBERS, "OrganisationRegistered")
    def on_organisation_registered(self, envelope: Envelope) -> None:
        self._note_directory(envelope)

    @handle_event(MEMBERS, "OrganisationRenamed")
    def on_organisation_renamed(self, envelope: Envelope) -> None:
        self._note_directory(envelope)

    @handle_event(MEMBERS, "OrganisationClosed")
    def on_organisation_closed(self, envelope: Envelope) -> None:
        self._note_directory(envelope)

    @handle_event(MEMBERS, "StationDefined")
    def on_station_defined(self, envelope: Envelope) -> None:
        self._note_directory(envelope)

    def _note_directory(self, envelope: Envelope) -> None:
        facts = facts_of(envelope.type, envelope.data, event_id=envelope.event_id,
                         position=envelope.position, org_kinds=self.DIRECTORY_ORG_KINDS)
        if not facts:
            return  # an organisation of a kind this service does not refer to
        entry_id = facts[0].entry_id
        ctx = CommandContext.caused_by(envelope, reason=f"directory: {envelope.type}")
        self.streams.decide(ctx, directory_stream(entry_id), entry_fold(entry_id),
                            lambda entry: note_fact(entry, facts), retry=True,
                            tracking=self.tracking(envelope))


def entries(streams: Streams, ids: Iterable[Any]) -> dict[str, DirectoryEntry]:
    """The directory's entries of ``ids`` (an id it does not know: an entry of no kind)."""
    wanted = [i for i in dict.fromkeys(ids) if isinstance(i, str) and is_id(i)]
    return {i: streams.load(directory_stream(i), entry_fold(i)).state for i in wanted}


def describe_entries(streams: Streams, ids: Any, *, most: int) -> dict[str, dict[str, Any]]:
    """What the directory knows of ``ids`` (a list, or the gateway's comma-separated query
    string), for a service's ``directory`` query: kind, name, active (kind null: unknown)."""
    if isinstance(ids, str):
        ids = [i for i in ids.split(",") if i]
    if not isinstance(ids, (list, tuple)) or len(ids) > most:
        raise InvalidCommand(("bad ids", "ids 填写有误"), {"ids": f"a list of up to {most} ids 最多 {most} 个"})
    return {i: entry.to_dict() for i, entry in entries(streams, ids).items()}


# An entry no source event has told anything yet (every field older than any position).
UNKNOWN_ENTRY: Mapping[str, Any] = {"kind": None, "kind_at": -1, "name": None, "name_at": -1,
                                    "active": False, "active_at": -1, "sector": None,
                                    "sector_at": -1}
_FIELDS = ("kind", "name", "active", "sector")


class Directory(Projection):
    """One row per member or organisation of the directory, as of the latest source event of
    each of its fields (events may arrive in any order: a field only takes a value from a
    later position of the members service's log than the one it has)."""

    name = "directory"
    version = 2

    def define(self, metadata: sa.MetaData) -> None:
        self.entries = sa.Table(
            "directory_entries", metadata,
            sa.Column("entry_id", sa.String(128), primary_key=True),
            sa.Column("kind", sa.String(32)), sa.Column("kind_at", sa.BigInteger, nullable=False),
            sa.Column("name", sa.Text), sa.Column("name_at", sa.BigInteger, nullable=False),
            sa.Column("active", sa.Boolean, nullable=False),
            sa.Column("active_at", sa.BigInteger, nullable=False),
            sa.Column("sector", sa.Text), sa.Column("sector_at", sa.BigInteger, nullable=False),
            sa.Index("ix_directory_entries_name", "name"))
        # built once: a query built per event costs more than the rest of the handler
        self._entry = sa.select(self.entries).where(self.entries.c.entry_id == sa.bindparam("entry_id"))

    def on_DirectoryEntryNoted(self, conn: ViewConnection, envelope: Envelope) -> None:
        d, t = envelope.data, self.entries
        at = int(d["source_position"])
        row = conn.execute(self._entry, {"entry_id": d["entry_id"]}).mappings().first()
        current = row if row is not None else UNKNOWN_ENTRY
        changes: dict[str, Any] = {}
        for column in _FIELDS:
            if d.get(column) is not None and at > current[f"{column}_at"]:
                changes.update({column: d[column], f"{column}_at": at})
        if row is None:
            conn.insert(t, entry_id=d["entry_id"], **{**UNKNOWN_ENTRY, **changes})
        elif changes:
            conn.update(t, {"entry_id": d["entry_id"]}, **changes)


def names_of(conn: sa.Connection, projection: Directory, ids: Iterable[str]) -> dict[str, str]:
    """The names the directory has for ``ids`` (members, organisations), for views to show."""
    t, wanted = projection.entries, list(dict.fromkeys(ids))
    if not wanted:
        return {}
    rows = conn.execute(sa.select(t.c.entry_id, t.c.name).where(t.c.entry_id.in_(wanted)))
    return {r.entry_id: r.name for r in rows if r.name}
