"""A service's private store (ADR 0005): tables of what must never enter the log, the read
models or a message (contact details, webhook secrets), beside the service's event store.

On SQLite it is the file ``<service dir>/private.sqlite`` (created owner-only by the SQLite
engine, like every store), with ``secure_delete`` on and the write-ahead log truncated after a
deletion, so that erased values do not linger in free pages or the ``-wal`` file; on PostgreSQL
the schema ``<prefix><service>_private``.
"""

from __future__ import annotations

import logging
import os

import sqlalchemy as sa

from .config import Settings
from .store.sql import postgres_engine, sqlite_engine

log = logging.getLogger(__name__)


def private_engine(settings: Settings) -> tuple[sa.Engine, str | None]:
    """The engine and schema of the service's private store, beside its event store."""
    if settings.database_url and settings.event_store in ("postgres", "esdb"):
        url = settings.database_url
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg2://" + url[len("postgresql://"):]
        return (postgres_engine(url, hide_parameters=True),
                f"{settings.pg_schema_prefix}{settings.service}_private")
    return sqlite_engine(os.path.join(settings.service_dir(), "private.sqlite"), hide_parameters=True), None


class PrivateStore:
    """Base of a private store's SQL adapter: subclasses define their tables on ``metadata``
    and then call ``_create()``; after deleting, ``_forget()``."""

    NAME = "the private store"  # for the operator's log line

    def __init__(self, engine: sa.Engine, schema: str | None = None):
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        if self.sqlite:
            sa.event.listen(engine, "connect", _secure_delete)
        self.metadata = sa.MetaData(schema=schema)
        self.schema = schema

    def _create(self) -> None:
        with self.engine.begin() as conn:
            if self.schema and self.engine.dialect.name == "postgresql":
                # several instances start at once: one creates the schema, the others wait
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": self.schema})
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            self.metadata.create_all(conn, checkfirst=True)

    def _forget(self) -> None:
        """Copy the write-ahead log into the file and truncate it, so that the page images
        holding deleted values are gone from the ``-wal`` file (secure_delete zeroed them in
        the pages themselves)."""
        if not self.sqlite:
            return
        with self.engine.connect() as conn:
            busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        if busy:   # a reader held an old snapshot past the busy timeout: the next write retries
            log.warning("%s: its write-ahead log could not be truncated yet (busy)", self.NAME)

    def close(self) -> None:
        self.engine.dispose()


def _secure_delete(dbapi_conn, _record) -> None:  # noqa: ANN001 - SQLAlchemy hook
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()
