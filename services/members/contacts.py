"""The private contact book: members' telephone, e-mail and postal address (personal data).

Contact details are never in an event. The store is the outbox (ADR 0002): the relay publishes
every event it holds to ``members.events``, and the log is append-only and hash-chained, so a
value written into an event would be on the bus for every subscriber and could never be erased.
They live instead in one table of the members service's private database (a SQLite file beside
the events, or the ``<prefix>members_private`` schema on PostgreSQL), written by the command
that sets them. The log records only *that* they changed (``ContactDetailsChanged`` names the
fields; ``ContactDetailsErased`` also says why), which is what an audit needs. Erasing a member's
details deletes their row; nothing else holds them. Read models are rebuilt from events, so no
view can show them either.

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
import logging
import os
import threading
from datetime import datetime, timezone

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy.dialects import postgresql, sqlite

from xieshang.kernel.config import Settings
from xieshang.kernel.store.sql import postgres_engine, sqlite_engine

from .domain import ContactDetails

TABLE = "member_contacts"

log = logging.getLogger(__name__)


class ContactBook(abc.ABC):
    """Port: where members' contact details are kept, by member id."""

    @abc.abstractmethod
    def get(self, member_id: str) -> ContactDetails | None:
        """The member's details, or None if none are kept."""

    @abc.abstractmethod
    def put(self, member_id: str, details: ContactDetails) -> None:
        """Keep ``details`` as the member's (replacing what was there)."""

    @abc.abstractmethod
    def erase(self, member_id: str) -> bool:
        """Forget the member's details; True if there were any."""

    def close(self) -> None:  # pragma: no cover - trivial
        pass


class MemoryContactBook(ContactBook):
    def __init__(self) -> None:
        self._rows: dict[str, ContactDetails] = {}
        self._lock = threading.Lock()

    def get(self, member_id: str) -> ContactDetails | None:
        return self._rows.get(member_id)

    def put(self, member_id: str, details: ContactDetails) -> None:
        with self._lock:
            self._rows[member_id] = details

    def erase(self, member_id: str) -> bool:
        with self._lock:
            return self._rows.pop(member_id, None) is not None


class SqlContactBook(ContactBook):
    def __init__(self, engine: sa.Engine, schema: str | None = None):
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        if self.sqlite:
            sa.event.listen(engine, "connect", _secure_delete)
        metadata = sa.MetaData(schema=schema)
        self.rows = sa.Table(
            TABLE, metadata,
            sa.Column("member_id", sa.String(64), primary_key=True),
            sa.Column("phone", sa.String(32)),
            sa.Column("email", sa.String(200)),
            sa.Column("address", sa.String(200)),
            sa.Column("updated_at", sa.String(40), nullable=False),
        )
        with engine.begin() as conn:
            if schema and engine.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            metadata.create_all(conn, checkfirst=True)

    def get(self, member_id: str) -> ContactDetails | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(self.rows.c.phone, self.rows.c.email, self.rows.c.address)
                               .where(self.rows.c.member_id == member_id)).first()
        return None if row is None else ContactDetails(row.phone, row.email, row.address)

    def put(self, member_id: str, details: ContactDetails) -> None:
        values = {"member_id": member_id, **details.to_dict(),
                  "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(self.rows).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[self.rows.c.member_id],
            set_={k: statement.excluded[k] for k in ("phone", "email", "address", "updated_at")})
        with self.engine.begin() as conn:
            before = conn.execute(sa.select(self.rows.c.phone, self.rows.c.email, self.rows.c.address)
                                  .where(self.rows.c.member_id == member_id)).first()
            conn.execute(statement)
        if before is not None and ContactDetails(*before) != details:
            self._forget()   # the values replaced

    def erase(self, member_id: str) -> bool:
        with self.engine.begin() as conn:
            erased = conn.execute(self.rows.delete().where(self.rows.c.member_id == member_id)).rowcount > 0
        if erased:
            self._forget()
        return erased

    def _forget(self) -> None:
        """Copy the write-ahead log into the file and truncate it, so that the page images
        holding the values before the change are gone from the ``-wal`` file (secure_delete
        zeroed them in the pages themselves)."""
        if not self.sqlite:
            return
        with self.engine.connect() as conn:
            busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if busy:   # a reader held an old snapshot past the busy timeout: the next write retries
            log.warning("the contact book's write-ahead log could not be truncated yet (busy)")

    def close(self) -> None:
        self.engine.dispose()


def _secure_delete(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy hook
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def make_contact_book(settings: Settings) -> SqlContactBook:
    """The members service's private contact book, beside its event store."""
    if settings.database_url and settings.event_store in ("postgres", "esdb"):
        url = settings.database_url
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg2://" + url[len("postgresql://"):]
        return SqlContactBook(postgres_engine(url, hide_parameters=True),
                              schema=f"{settings.pg_schema_prefix}{settings.service}_private")
    path = os.path.join(settings.service_dir(), "private.sqlite")
    return SqlContactBook(sqlite_engine(path, hide_parameters=True))


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
