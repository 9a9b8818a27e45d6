"""The private contact book: members' telephone, e-mail and postal address (personal data),
and organisations' (a handling unit's, the committee office's) telephone and mailbox.

Contact details are never in an event. The store is the outbox (ADR 0002): the relay publishes
every event it holds to ``members.events``, and the log is append-only and hash-chained, so a
value written into an event would be on the bus for every subscriber and could never be erased.
They live instead in one table of the members service's private database (a SQLite file beside
the events, or the ``<prefix>members_private`` schema on PostgreSQL), written by the command
that sets them. The log records only *that* they changed (``ContactDetailsChanged`` names the
fields; ``ContactDetailsErased`` also says why; ``OrganisationContactChanged`` and
``OrganisationContactErased`` the same for an organisation), which is what an audit needs.
Erasing a member's details deletes their row; nothing else holds them. Read models are rebuilt
from events, so no view can show them either. Members and organisations are kept in two
tables (``member_contacts``, ``organisation_contacts``), so that their ids never meet.

The SQLite file forgets what it no longer holds: every connection runs with
``PRAGMA secure_delete=ON`` (a deleted or replaced row's bytes are overwritten with zeros), and
after an erasure or a replacement the write-ahead log is checkpointed and truncated
(``PRAGMA wal_checkpoint(TRUNCATE)``), so the old page images do not linger in the ``-wal``
file. On PostgreSQL the row is deleted; its dead tuple stays in the table's pages until a
VACUUM reclaims them, which is the operator's job (autovacuum, or ``VACUUM`` after an erasure
that must take effect at once).

The engines are made with ``hide_parameters``: a failing statement's error (and so a log
line) never carries the values.
"""

from __future__ import annotations

import abc
import threading
from datetime import datetime, timezone
from typing import Collection

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy.dialects import postgresql, sqlite

from xieshang.kernel.config import Settings
from xieshang.kernel.private_store import PrivateStore, private_engine

from .domain import ContactDetails

MEMBERS, ORGANISATIONS = "member", "organisation"   # whose details: ``of`` in the book's methods
TABLE = "member_contacts"
TABLES = {MEMBERS: (TABLE, "member_id"), ORGANISATIONS: ("organisation_contacts", "org_id")}



class ContactBook(abc.ABC):
    """Port: where contact details are kept, by member id (``of=ORGANISATIONS``: by org id)."""

    @abc.abstractmethod
    def get(self, key: str, of: str = MEMBERS) -> ContactDetails | None:
        """The member's (organisation's) details, or None if none are kept."""

    @abc.abstractmethod
    def get_many(self, keys: Collection[str], of: str = MEMBERS) -> dict[str, ContactDetails]:
        """The details kept of any of ``keys``, by key (those with none are left out)."""

    @abc.abstractmethod
    def put(self, key: str, details: ContactDetails, of: str = MEMBERS) -> None:
        """Keep ``details`` as the member's (organisation's), replacing what was there."""

    @abc.abstractmethod
    def erase(self, key: str, of: str = MEMBERS) -> bool:
        """Forget the member's (organisation's) details; True if there were any."""

    def close(self) -> None:  # pragma: no cover - trivial
        pass


class MemoryContactBook(ContactBook):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], ContactDetails] = {}
        self._lock = threading.Lock()

    def get(self, key: str, of: str = MEMBERS) -> ContactDetails | None:
        return self._rows.get((_shelf(of), key))

    def get_many(self, keys: Collection[str], of: str = MEMBERS) -> dict[str, ContactDetails]:
        shelf = _shelf(of)
        return {k: self._rows[(shelf, k)] for k in keys if (shelf, k) in self._rows}

    def put(self, key: str, details: ContactDetails, of: str = MEMBERS) -> None:
        with self._lock:
            self._rows[(_shelf(of), key)] = details

    def erase(self, key: str, of: str = MEMBERS) -> bool:
        with self._lock:
            return self._rows.pop((_shelf(of), key), None) is not None


class SqlContactBook(PrivateStore, ContactBook):
    NAME = "the contact book"

    def __init__(self, engine: sa.Engine, schema: str | None = None):
        super().__init__(engine, schema)
        self.tables = {of: sa.Table(
            name, self.metadata,
            sa.Column(key, sa.String(64), primary_key=True),
            sa.Column("phone", sa.String(32)),
            sa.Column("email", sa.String(200)),
            sa.Column("address", sa.String(200)),
            sa.Column("updated_at", sa.String(40), nullable=False),
        ) for of, (name, key) in TABLES.items()}
        self.rows = self.tables[MEMBERS]
        self._create()

    def _table(self, of: str) -> tuple[sa.Table, sa.Column]:
        table = self.tables[_shelf(of)]
        return table, table.primary_key.columns[0]

    def get(self, key: str, of: str = MEMBERS) -> ContactDetails | None:
        return self.get_many([key], of).get(key)

    def get_many(self, keys: Collection[str], of: str = MEMBERS) -> dict[str, ContactDetails]:
        table, key_column = self._table(of)
        if not keys:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(key_column, table.c.phone, table.c.email, table.c.address)
                                .where(key_column.in_(list(keys)))).all()
        return {row[0]: ContactDetails(*row[1:]) for row in rows}

    def put(self, key: str, details: ContactDetails, of: str = MEMBERS) -> None:
        table, key_column = self._table(of)
        values = {key_column.name: key, **details.to_dict(),
                  "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(table).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[key_column],
            set_={k: statement.excluded[k] for k in ("phone", "email", "address", "updated_at")})
        with self.engine.begin() as conn:
            before = conn.execute(sa.select(table.c.phone, table.c.email, table.c.address)
                                  .where(key_column == key)).first()
            conn.execute(statement)
        if before is not None and ContactDetails(*before) != details:
            self._forget()   # the values replaced

    def erase(self, key: str, of: str = MEMBERS) -> bool:
        table, key_column = self._table(of)
        with self.engine.begin() as conn:
            erased = conn.execute(table.delete().where(key_column == key)).rowcount > 0
        if erased:
            self._forget()
        return erased


def _shelf(of: str) -> str:
    if of not in TABLES:
        raise ValueError(f"contact details are kept of {' or '.join(TABLES)}, not of {of!r}")
    return of


def make_contact_book(settings: Settings) -> SqlContactBook:
    """The members service's private contact book, beside its event store."""
    return SqlContactBook(*private_engine(settings))


class Contacts(DependencyProvider):
    """Gives each worker the container's contact book (made when the container starts)."""

    book: ContactBook | None = None

    def setup(self) -> None:
        if self.book is None:
            self.book = make_contact_book(Settings.load(self.container.service_name, self.container.config))

    def stop(self) -> None:
        if self.book is not None:
            self.book.close()

    def get_dependency(self, worker_ctx) -> ContactBook:  # noqa: ANN001
        return self.book
