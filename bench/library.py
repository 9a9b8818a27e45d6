"""The reference: the ``eventsourcing`` library's application recorders on the same databases.

The library is an optional requirement (the ``bench`` extra). Its events carry the same
information as our envelopes (``LibraryEnvelope``), encoded by its own ``JSONTranscoder`` and
``Mapper``, so "read with decoding" means the same work on both sides: rows to event objects
with their timestamps parsed.

Durability is made the same as ours: on SQLite the library runs in WAL mode with SQLite's
default ``synchronous=FULL``; we run ``synchronous=NORMAL`` (sql.py), so the reference gets
NORMAL too (``library_default_durability`` measures it as it ships as well). On PostgreSQL both
commit with the server's ``synchronous_commit``.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from typing import Any

try:  # the bench extra
    import eventsourcing
    from eventsourcing.domain import DomainEvent as _LibraryDomainEvent
    from eventsourcing.persistence import (DatetimeAsISO, JSONTranscoder, Mapper, StoredEvent,
                                           UUIDAsHex)

    try:
        from importlib.metadata import version as _version

        VERSION: str | None = _version("eventsourcing")
    except Exception:  # pragma: no cover - an unusual installation
        VERSION = getattr(eventsourcing, "__version__", None) or "installed"
except ImportError:  # pragma: no cover - reported as a skipped reference
    VERSION = None
if os.environ.get("XIESHANG_BENCH_NO_LIBRARY"):  # to see the suite as it runs without the extra
    VERSION = None

MISSING = ("the eventsourcing library is not installed (pip install 'eventsourcing[postgres]'), "
           "so there is no library reference")


def available() -> bool:
    return VERSION is not None


if VERSION is not None:
    class LibraryEnvelope(_LibraryDomainEvent):
        """Our envelope's fields as a library domain event (originator = stream, as a UUID)."""

        event_id: str
        stream: str
        type: str
        schema_version: int
        recorded_at: datetime
        actor: dict
        on_behalf_of: Any
        reason: Any
        correlation_id: str
        causation_id: Any
        deployment: dict
        data: dict

    def mapper() -> "Mapper":
        transcoder = JSONTranscoder()
        transcoder.register(UUIDAsHex())
        transcoder.register(DatetimeAsISO())
        return Mapper(transcoder=transcoder)


def stored_events(envelopes: list, originator_ids: dict[str, uuid.UUID]) -> list:
    """Library StoredEvents for our envelopes (same content, the library's encoding)."""
    m = mapper()
    out = []
    for e in envelopes:
        oid = originator_ids.setdefault(e.stream, uuid.uuid4())
        out.append(m.to_stored_event(LibraryEnvelope(
            originator_id=oid, originator_version=e.version, timestamp=e.occurred_at,
            event_id=e.event_id, stream=e.stream, type=e.type, schema_version=e.schema_version,
            recorded_at=e.recorded_at, actor=e.actor.to_dict(), on_behalf_of=e.on_behalf_of,
            reason=e.reason, correlation_id=e.correlation_id, causation_id=e.causation_id,
            deployment=e.deployment.to_dict(), data=dict(e.data))))
    return out


def renumber(events: list, oid: uuid.UUID, start_version: int) -> list:
    """The same stored events on one originator from ``start_version`` on."""
    return [StoredEvent(originator_id=oid, originator_version=start_version + i, topic=s.topic,
                        state=s.state) for i, s in enumerate(events)]


def sqlite_recorder(path: str, *, synchronous: str | None = "NORMAL"):
    """An application recorder on a SQLite file (WAL), with ``synchronous`` set on every
    connection of its pool (None: the library's default, SQLite's FULL)."""
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteConnectionPool, SQLiteDatastore

    class Pool(SQLiteConnectionPool):
        def _create_connection(self):  # noqa: ANN202 - library hook
            conn = super()._create_connection()
            if synchronous:
                conn._sqlite_conn.execute(f"PRAGMA synchronous={synchronous}")
            return conn

    datastore = SQLiteDatastore(db_name=path)
    datastore.pool.close()
    datastore.pool = Pool(db_name=path)
    recorder = SQLiteApplicationRecorder(datastore)
    recorder.create_table()
    return recorder


def postgres_recorder(url_dsn: str, schema: str, *, create: bool = True):
    """An application recorder in ``schema`` (which must exist) of the server at ``url_dsn``."""
    from urllib.parse import urlparse

    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    u = urlparse(url_dsn)
    datastore = PostgresDatastore(dbname=(u.path or "/postgres").lstrip("/") or "postgres",
                                  host=u.hostname or "127.0.0.1", port=u.port or 5432,
                                  user=u.username or "postgres", password=u.password or "",
                                  schema=schema, pool_size=2, max_overflow=2)
    recorder = PostgresApplicationRecorder(datastore)
    if create:
        recorder.create_table()
    return recorder


def decode_notifications(m, notifications: list) -> list:  # noqa: ANN001
    return [m.to_domain_event(n) for n in notifications]
