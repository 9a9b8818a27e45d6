"""Event store on SQLAlchemy: SQLite (embedded default, WAL) and PostgreSQL.

SQLAlchemy owns the engines, pools and the schema; the hot paths (append, read) run
on the pooled DBAPI connection with prepared SQL, because per-statement ORM/Core
overhead would cost more than the database itself here (see docs/performance.md).

Ordering: every append holds the ``chain_head`` row (PostgreSQL: ``SELECT … FOR UPDATE``;
SQLite: ``BEGIN IMMEDIATE``) from reading the head until commit. Positions are therefore
assigned and committed in the same order, gap-free, and a reader following positions can
never see position n+1 before n (see docs/adr/0003-log-ordering.md). The same row lock
gives each append its predecessor's hash.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from typing import Any, Callable, Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from ..envelope import Deployment, Envelope, NewEvent, utcnow
from .port import (GENESIS_HASH, ConcurrencyError, DuplicateEventError, EventStore,
                   Tracking, VerifyReport, chain_hash, seal, stamp, validate_append)

VERIFY_PAGE = 20_000


def store_metadata(schema: str | None = None) -> sa.MetaData:
    md = sa.MetaData(schema=schema)
    sa.Table(
        "events", md,
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("stream", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("stream", "version", name="events_stream_version"),
    )
    sa.Table(
        "chain_head", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    sa.Table(
        "processed", md,
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    sa.Table(
        "checkpoints", md,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    sa.Table(
        "leases", md,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    return md


def sqlite_engine(path: str, **kw: Any) -> Engine:
    """An engine on a SQLite file in WAL mode; we issue BEGIN ourselves (BEGIN IMMEDIATE to write)."""
    if path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    engine = sa.create_engine(
        f"sqlite:///{path}",
        connect_args={"isolation_level": None, "check_same_thread": False, "timeout": 30},
        **kw)

    @sa_event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # noqa: ANN001 - SQLAlchemy hook
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives a process crash; an OS crash may lose the
        # last transactions but never corrupts the file (same as the eventsourcing default).
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    return engine


def postgres_engine(url: str, **kw: Any) -> Engine:
    """An engine on PostgreSQL through psycopg2 (made eventlet-cooperative by psycogreen)."""
    from ..greening import cooperate_with_eventlet

    cooperate_with_eventlet()
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    kw.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kw)


class SqlEventStore(EventStore):
    """One service's log in one SQLite file or one PostgreSQL schema."""

    def __init__(self, engine: Engine, deployment: Deployment, *, schema: str | None = None,
                 clock: Callable[[], datetime] = utcnow, create: bool = True):
        super().__init__()
        self.engine = engine
        self.deployment = deployment
        self.schema = schema
        self.clock = clock
        self.dialect = engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")
        self.metadata = store_metadata(schema)
        if create:
            self.create_schema()
        self._sql = _Statements(self.dialect, schema)

    # -- schema -----------------------------------------------------------
    def create_schema(self) -> None:
        with self.engine.begin() as conn:
            if self.schema and self.dialect == "postgresql":
                # Parallel first starts of several instances race on CREATE SCHEMA: serialise them.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(self.schema)})
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            self.metadata.create_all(conn, checkfirst=True)
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(self._statements().init_head, (GENESIS_HASH,))
            raw.commit()
        finally:
            raw.close()

    def _statements(self) -> "_Statements":
        return getattr(self, "_sql", None) or _Statements(self.dialect, self.schema)

    # -- transactions on the raw connection -------------------------------
    def _begin_write(self, cur) -> tuple[int, str]:  # noqa: ANN001
        if self.dialect == "sqlite":
            cur.execute("BEGIN IMMEDIATE")
        cur.execute(self._sql.lock_head)
        position, head_hash = cur.fetchone()
        return int(position), head_hash

    def _rollback(self, raw, cur) -> None:  # noqa: ANN001
        if self.dialect == "sqlite":
            if raw.driver_connection.in_transaction:
                cur.execute("ROLLBACK")
        else:
            raw.rollback()

    def _commit(self, raw, cur) -> None:  # noqa: ANN001
        if self.dialect == "sqlite":
            cur.execute("COMMIT")
        else:
            raw.commit()

    # -- writing ----------------------------------------------------------
    def append(self, stream: str, expected_version: int | None, events: Sequence[NewEvent],
               *, tracking: Tracking | None = None) -> list[Envelope]:
        validate_append(stream, events)
        sql = self._sql
        raw = self.engine.raw_connection()
        cur = raw.cursor()
        try:
            head_position, head_hash = self._begin_write(cur)
            ids = [e.event_id for e in events]
            cur.execute(sql.existing_ids(len(ids)), ids)
            stored = cur.fetchall()
            if stored:
                self._rollback(raw, cur)
                if len(stored) != len(ids):
                    raise DuplicateEventError(
                        f"{len(stored)} of the {len(ids)} event ids are already stored: "
                        "a repeated append must repeat the whole batch")
                return [self._envelope(r) for r in stored]
            if tracking is not None:
                cur.execute(sql.is_processed, (tracking.consumer, tracking.event_id))
                if cur.fetchone() is not None:
                    self._rollback(raw, cur)
                    return []
            cur.execute(sql.stream_version, (stream,))
            current = int(cur.fetchone()[0])
            if expected_version is not None and expected_version != current:
                self._rollback(raw, cur)
                raise ConcurrencyError(stream, expected_version, current)
            recorded_at = self.clock()
            rows = []
            envelopes = []
            prev = head_hash
            for i, new in enumerate(events):
                env = stamp(new, stream, current + i + 1, recorded_at, self.deployment)
                position = head_position + i + 1
                body, digest = seal(env.body(), prev, position)
                rows.append((position, env.event_id, stream, env.version, env.type, body, prev, digest))
                envelopes.append(env.with_position(position, prev, digest))
                prev = digest
            cur.executemany(sql.insert_event, rows)
            if tracking is not None:
                cur.execute(sql.mark_processed, (tracking.consumer, tracking.event_id, tracking.position))
            cur.execute(sql.move_head, (head_position + len(rows), prev))
            self._commit(raw, cur)
        except BaseException:
            try:
                self._rollback(raw, cur)
            finally:
                cur.close()
                raw.close()
            raise
        cur.close()
        raw.close()
        self._notify(envelopes[-1].position)
        return envelopes

    # -- reading ----------------------------------------------------------
    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(statement, params)
            rows = cur.fetchall()
            cur.close()
            if self.dialect == "postgresql":
                raw.rollback()  # end the read transaction; don't hold a snapshot in the pool
            return rows
        finally:
            raw.close()

    @staticmethod
    def _envelope(row: tuple) -> Envelope:
        position, body, prev_hash, digest = row
        return Envelope.from_dict(orjson.loads(body), position=position, prev_hash=prev_hash, hash=digest)

    def read_stream(self, stream: str, from_version: int = 1) -> list[Envelope]:
        return [self._envelope(r) for r in self._query(self._sql.read_stream, (stream, from_version))]

    def read_all(self, after: int = 0, limit: int | None = None) -> list[Envelope]:
        if limit is None:
            rows = self._query(self._sql.read_all_unbounded, (after,))
        else:
            rows = self._query(self._sql.read_all, (after, limit))
        return [self._envelope(r) for r in rows]

    def head(self) -> int:
        return int(self._query(self._sql.head)[0][0])

    def stream_version(self, stream: str) -> int:
        return int(self._query(self._sql.stream_version, (stream,))[0][0])

    # -- consumers, checkpoints, leases ----------------------------------
    def is_processed(self, consumer: str, event_id: str) -> bool:
        return bool(self._query(self._sql.is_processed, (consumer, event_id)))

    def get_checkpoint(self, name: str) -> int:
        rows = self._query(self._sql.get_checkpoint, (name,))
        return int(rows[0][0]) if rows else 0

    def _write(self, statements: list[tuple[str, Sequence[Any]]]) -> int:
        raw = self.engine.raw_connection()
        cur = raw.cursor()
        try:
            if self.dialect == "sqlite":
                cur.execute("BEGIN IMMEDIATE")
            count = 0
            for statement, params in statements:
                cur.execute(statement, params)
                count = cur.rowcount
            self._commit(raw, cur)
            return count
        except BaseException:
            self._rollback(raw, cur)
            raise
        finally:
            cur.close()
            raw.close()

    def set_checkpoint(self, name: str, position: int) -> None:
        self._write([(self._sql.insert_checkpoint, (name, 0)),
                     (self._sql.move_checkpoint, (position, name, position))])

    def try_lease(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        ts = now.timestamp()
        return self._write([(self._sql.insert_lease, (name, holder, ts + ttl_seconds)),
                            (self._sql.take_lease, (holder, ts + ttl_seconds, name, holder, ts))]) == 1

    # -- audit ------------------------------------------------------------
    def verify(self) -> VerifyReport:
        report = VerifyReport()
        expected_position = 1
        prev = GENESIS_HASH
        after = 0
        while True:
            rows = self._query(self._sql.verify_page, (after, VERIFY_PAGE))
            if not rows:
                break
            for position, event_id, stream, version, type_, body, prev_hash, digest in rows:
                body = bytes(body)
                problem = None
                if position != expected_position:
                    if position > expected_position:
                        problem = (f"position {expected_position} is missing: the row was deleted "
                                   f"(the next stored row is {position})")
                        position = expected_position
                    else:
                        problem = f"position {position} appears again"
                elif prev_hash != prev:
                    problem = (f"position {position} does not follow position {position - 1}: "
                               "a row was inserted, replaced or reordered here")
                elif chain_hash(prev_hash, position, body) != digest:
                    problem = f"position {position} was modified: its content does not match its hash"
                else:
                    try:
                        b = orjson.loads(body)
                        cols_ok = (b["event_id"], b["stream"], b["version"], b["type"]) == (
                            event_id, stream, version, type_)
                    except (orjson.JSONDecodeError, KeyError, TypeError):
                        cols_ok = False
                    if not cols_ok:
                        problem = (f"position {position} was modified: its indexed columns "
                                   "(event_id, stream, version, type) differ from its hashed body")
                if problem:
                    report.first_bad_position = position
                    report.problem = problem
                    return report
                report.checked += 1
                report.last_position = position
                expected_position += 1
                prev = digest
            after = rows[-1][0]
        head_position, head_hash = self._query(self._sql.head_row)[0]
        if head_position != report.last_position or (head_position and head_hash != prev):
            if head_position > report.last_position:
                report.first_bad_position = report.last_position + 1
                report.problem = (f"positions {report.last_position + 1} to {head_position} are "
                                  "missing: rows were deleted from the end of the log")
            else:
                report.first_bad_position = head_position + 1 if head_position < report.last_position else head_position
                report.problem = (f"the log ends at position {report.last_position} but its recorded "
                                  f"head is position {head_position}: rows were added or altered at the end")
        return report

    def close(self) -> None:
        self.engine.dispose()


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class _Statements:
    """SQL text for one dialect and schema, built once."""

    def __init__(self, dialect: str, schema: str | None):
        q = f'"{schema}".' if schema else ""
        ev, head, proc, cp, lease = (f"{q}events", f"{q}chain_head", f"{q}processed",
                                     f"{q}checkpoints", f"{q}leases")
        self._ph = "?" if dialect == "sqlite" else "%s"
        p = self._fmt
        self.events_table = ev
        self.init_head = p(f"INSERT INTO {head} (id, position, hash) VALUES (1, 0, ?) ON CONFLICT DO NOTHING")
        self.lock_head = f"SELECT position, hash FROM {head} WHERE id = 1" + (
            " FOR UPDATE" if dialect == "postgresql" else "")
        self.head_row = f"SELECT position, hash FROM {head} WHERE id = 1"
        self.head = f"SELECT position FROM {head} WHERE id = 1"
        self.move_head = p(f"UPDATE {head} SET position = ?, hash = ? WHERE id = 1")
        self.stream_version = p(f"SELECT COALESCE(MAX(version), 0) FROM {ev} WHERE stream = ?")
        self.insert_event = p(f"INSERT INTO {ev} (position, event_id, stream, version, type, body, "
                              "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        self._existing = f"SELECT position, body, prev_hash, hash FROM {ev} WHERE event_id IN (%s) ORDER BY position"
        self.read_stream = p(f"SELECT position, body, prev_hash, hash FROM {ev} WHERE stream = ? "
                             "AND version >= ? ORDER BY version")
        self.read_all = p(f"SELECT position, body, prev_hash, hash FROM {ev} WHERE position > ? "
                          "ORDER BY position LIMIT ?")
        self.read_all_unbounded = p(f"SELECT position, body, prev_hash, hash FROM {ev} "
                                    "WHERE position > ? ORDER BY position")
        self.verify_page = p(f"SELECT position, event_id, stream, version, type, body, prev_hash, hash "
                             f"FROM {ev} WHERE position > ? ORDER BY position LIMIT ?")
        self.is_processed = p(f"SELECT 1 FROM {proc} WHERE consumer = ? AND event_id = ?")
        self.mark_processed = p(f"INSERT INTO {proc} (consumer, event_id, position) VALUES (?, ?, ?)")
        self.get_checkpoint = p(f"SELECT position FROM {cp} WHERE name = ?")
        self.insert_checkpoint = p(f"INSERT INTO {cp} (name, position) VALUES (?, ?) ON CONFLICT DO NOTHING")
        self.move_checkpoint = p(f"UPDATE {cp} SET position = ? WHERE name = ? AND position < ?")
        self.insert_lease = p(f"INSERT INTO {lease} (name, holder, expires_at) VALUES (?, ?, ?) "
                              "ON CONFLICT DO NOTHING")
        self.take_lease = p(f"UPDATE {lease} SET holder = ?, expires_at = ? WHERE name = ? "
                            "AND (holder = ? OR expires_at < ?)")

    def _fmt(self, sql: str) -> str:
        return sql.replace("?", self._ph)

    def existing_ids(self, n: int) -> str:
        return self._existing % ", ".join([self._ph] * n)
