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
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator, Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from ..envelope import Deployment, Envelope, NewEvent, utcnow
from .port import (GENESIS_HASH, ConcurrencyError, DuplicateEventError, EventStore,
                   Tracking, VerifyReport, chain_hash, seal, stamp, validate_append)
from .sqlite import owner_only, tighten_side_files

VERIFY_PAGE = 20_000

# psycopg2.extensions.TRANSACTION_STATUS_*, spelled out so that SQLite users never import psycopg2.
_PG_IDLE, _PG_ACTIVE, _PG_UNKNOWN = 0, 1, 4


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
    """An engine on a SQLite file in WAL mode; we issue BEGIN ourselves (BEGIN IMMEDIATE to write).
    The file, its folder and its -wal/-shm files are the owner's only (store/sqlite.py)."""
    owner_only(path)
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
        tighten_side_files(path)

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

    # -- connections ------------------------------------------------------
    # We issue BEGIN and COMMIT ourselves. On PostgreSQL the connection is switched to
    # autocommit for the duration, so psycopg2 does not spend a round trip on a BEGIN of
    # its own, a read is one round trip, and an append is two: "BEGIN; lock; check" and
    # "insert; move head; COMMIT". The pool gets the connection back as it lent it.
    @contextmanager
    def _connection(self) -> Iterator[Any]:
        raw = self.engine.raw_connection()
        pg = self.dialect == "postgresql"
        if pg:
            raw.driver_connection.autocommit = True
        cur = raw.cursor()
        usable = True
        try:
            yield cur
        except BaseException:
            usable = self._abandon(raw, cur)
            raise
        finally:
            if usable:
                cur.close()
                if pg:
                    raw.driver_connection.autocommit = False
            raw.close()

    def _abandon(self, raw, cur) -> bool:  # noqa: ANN001
        """Roll back whatever is open after a failure; returns False (and drops the connection
        from the pool) when it cannot be made clean again."""
        try:
            if self.dialect == "postgresql":
                conn = raw.driver_connection
                if conn.closed:
                    raise ConnectionError("connection closed")
                status = conn.info.transaction_status
                if status == _PG_ACTIVE or status == _PG_UNKNOWN:
                    raise ConnectionError("connection interrupted mid-statement")
                if status != _PG_IDLE:
                    cur.execute("ROLLBACK")
            elif raw.driver_connection.in_transaction:
                cur.execute("ROLLBACK")
            return True
        except BaseException:
            raw.invalidate()
            return False

    # -- writing ----------------------------------------------------------
    # Test-only hook: called with an append's first position after its rows are written and
    # before COMMIT, while the chain head is still locked (tests hold the transaction open
    # here to show that readers never see past an uncommitted position).
    _before_commit: Callable[[int], None] | None = None

    def append(self, stream: str, expected_version: int | None, events: Sequence[NewEvent],
               *, tracking: Tracking | None = None) -> list[Envelope]:
        validate_append(stream, events)
        sql = self._sql
        ids = [e.event_id for e in events]
        with self._connection() as cur:
            head_position, head_hash, current, n_stored, processed = self._lock_and_check(
                cur, stream, ids, tracking)
            if n_stored:
                cur.execute(sql.existing_ids(len(ids)), sql.ids_param(ids))
                stored = cur.fetchall()
                cur.execute("ROLLBACK")
                if len(stored) != len(ids):
                    raise DuplicateEventError(
                        f"{len(stored)} of the {len(ids)} event ids are already stored: "
                        "a repeated append must repeat the whole batch")
                return [self._envelope(r) for r in stored]
            if processed:
                cur.execute("ROLLBACK")
                return []
            if expected_version is not None and expected_version != current:
                cur.execute("ROLLBACK")
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
            self._write_and_commit(cur, rows, tracking, prev)
        self._notify(envelopes[-1].position)
        return envelopes

    def _lock_and_check(self, cur, stream: str, ids: list[str],  # noqa: ANN001
                        tracking: Tracking | None) -> tuple[int, str, int, int, bool]:
        """Begin, lock the chain head, and read (head position, head hash, stream version,
        how many of ``ids`` are stored, whether ``tracking`` was processed)."""
        consumer, upstream = (tracking.consumer, tracking.event_id) if tracking else (None, None)
        if self.dialect == "postgresql":
            cur.execute(self._sql.lock_and_check_pg, (stream, ids, consumer, upstream))
        else:
            cur.execute("BEGIN IMMEDIATE")
            cur.execute(self._sql.lock_and_check_sqlite(len(ids)), (stream, *ids, consumer, upstream))
        position, head_hash, current, n_stored, processed = cur.fetchone()
        return int(position), head_hash, int(current), int(n_stored), bool(processed)

    def _write_and_commit(self, cur, rows: list[tuple], tracking: Tracking | None,  # noqa: ANN001
                          last_hash: str) -> None:
        sql = self._sql
        new_head = (rows[-1][0], last_hash)
        hold = self._before_commit
        if self.dialect == "postgresql":
            params = [v for row in rows for v in row]
            if tracking is not None:
                params += (tracking.consumer, tracking.event_id, tracking.position)
            params += new_head
            cur.execute(sql.write_pg(len(rows), tracking is not None, commit=hold is None), params)
        else:
            cur.executemany(sql.insert_event, rows)
            if tracking is not None:
                cur.execute(sql.mark_processed, (tracking.consumer, tracking.event_id, tracking.position))
            cur.execute(sql.move_head, new_head)
        if hold is not None:
            hold(rows[0][0])
        if hold is not None or self.dialect == "sqlite":
            cur.execute("COMMIT")

    # -- reading ----------------------------------------------------------
    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._connection() as cur:
            cur.execute(statement, params)
            return cur.fetchall()

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
        with self._connection() as cur:
            cur.execute("BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN")
            count = 0
            for statement, params in statements:
                cur.execute(statement, params)
                count = cur.rowcount
            cur.execute("COMMIT")
            return count

    def set_checkpoint(self, name: str, position: int) -> None:
        self._write([(self._sql.insert_checkpoint, (name, 0)),
                     (self._sql.move_checkpoint, (position, name, position))])

    def try_lease(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        ts = now.timestamp()
        return self._write([(self._sql.insert_lease, (name, holder, ts + ttl_seconds)),
                            (self._sql.take_lease, (holder, ts + ttl_seconds, name, holder, ts))]) == 1

    # -- audit ------------------------------------------------------------
    def verify(self) -> VerifyReport:
        """Walk the whole log in one consistent snapshot (appends may go on meanwhile) and
        check each row against the chain, then the last row against the recorded head."""
        report = VerifyReport()
        with self._connection() as cur:
            cur.execute("BEGIN" if self.dialect == "sqlite" else
                        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute(self._sql.head_row)
            head = cur.fetchone()
            prev = GENESIS_HASH
            cur.execute(self._sql.verify_first_page, (VERIFY_PAGE,))
            rows = cur.fetchall()
            while rows:
                for row in rows:
                    expected = report.last_position + 1
                    problem, bad = _check_row(row, expected, prev)
                    if problem:
                        report.first_bad_position, report.problem = bad, problem
                        cur.execute("ROLLBACK")
                        return report
                    report.checked += 1
                    report.last_position = expected
                    prev = row[7]
                cur.execute(self._sql.verify_page, (report.last_position, VERIFY_PAGE))
                rows = cur.fetchall()
            cur.execute("ROLLBACK")
        problem, bad = _check_end(head, report.last_position, prev)
        if problem:
            report.first_bad_position, report.problem = bad, problem
            report.last_position = report.checked = min(report.last_position, bad - 1)
        return report

    def close(self) -> None:
        self.engine.dispose()


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _check_row(row: tuple, expected: int, prev: str) -> tuple[str | None, int | None]:
    """Check one stored row against the chain: (problem, first bad position) or (None, None)."""
    position, event_id, stream, version, type_, body, prev_hash, digest = row
    if not isinstance(position, int):  # SQLite keeps whatever type it is given
        return (f"a row has the non-numeric position {position!r}: it was inserted or altered "
                f"after position {expected - 1}"), expected
    if position > expected:
        return (f"position {expected} is missing: its row was deleted or moved "
                f"(the next stored row is at position {position})"), expected
    if position < expected:
        return (f"a row at position {position} lies before the start of the log "
                "(position 1): it was inserted"), position
    if prev_hash != prev:
        before = f"position {position - 1}" if position > 1 else "the start of the log"
        return (f"position {position} does not follow {before} (its predecessor hash differs): "
                "a row was inserted, replaced or reordered here"), position
    raw = body.encode() if isinstance(body, str) else body
    if not isinstance(raw, (bytes, bytearray, memoryview)) or \
            chain_hash(prev_hash, position, bytes(raw)) != digest:
        return f"position {position} was modified: its content does not match its hash", position
    try:
        hashed = orjson.loads(raw)
        columns_match = (hashed["event_id"], hashed["stream"], hashed["version"], hashed["type"]) == (
            event_id, stream, version, type_)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        columns_match = False
    if not columns_match:
        return (f"position {position} was modified: its indexed columns (event_id, stream, "
                "version, type) differ from its hashed body"), position
    return None, None


def _check_end(head: tuple | None, last: int, last_hash: str) -> tuple[str | None, int | None]:
    """Check the end of an intact chain against the recorded head: the walk cannot see rows
    deleted from, or chained onto, the end of the log; the head record can."""
    if head is None:
        return "the chain head record is missing: the end of the log cannot be checked", last + 1
    head_position, head_hash = int(head[0]), head[1]
    if head_position > last:
        missing = (f"position {last + 1} is" if head_position == last + 1
                   else f"positions {last + 1} to {head_position} are")
        return (f"{missing} missing: rows were deleted from the end of the log "
                f"(its recorded head is position {head_position})"), last + 1
    if head_position < last:
        return (f"position {head_position + 1} is past the recorded head of the log "
                f"(position {head_position}): rows were added after its end"), head_position + 1
    if head_hash != last_hash:
        return (f"the recorded head hash does not match position {last}: the last rows were "
                "rewritten with a recomputed chain, or the head record was altered"), max(last, 1)
    return None, None


class _Statements:
    """SQL text for one dialect and schema, built once."""

    def __init__(self, dialect: str, schema: str | None):
        q = f'"{schema}".' if schema else ""
        ev, head, proc, cp, lease = (f"{q}events", f"{q}chain_head", f"{q}processed",
                                     f"{q}checkpoints", f"{q}leases")
        self.dialect = dialect
        self._ph = "?" if dialect == "sqlite" else "%s"
        p = self._fmt
        self.events_table = ev
        self.init_head = p(f"INSERT INTO {head} (id, position, hash) VALUES (1, 0, ?) ON CONFLICT DO NOTHING")
        self.head_row = f"SELECT position, hash FROM {head} WHERE id = 1"
        self.head = f"SELECT position FROM {head} WHERE id = 1"
        # Under READ COMMITTED each statement takes a fresh snapshot: the check runs as its own
        # statement *after* the lock is granted, so it sees what the previous holder committed.
        check = p(f"SELECT h.position, h.hash, "
                  f"(SELECT COALESCE(MAX(version), 0) FROM {ev} WHERE stream = ?), "
                  f"(SELECT COUNT(*) FROM {ev} WHERE event_id %s), "
                  f"EXISTS (SELECT 1 FROM {proc} WHERE consumer = ? AND event_id = ?) "
                  f"FROM {head} h WHERE h.id = 1")
        self.lock_and_check_pg = (f"BEGIN; SELECT 1 FROM {head} WHERE id = 1 FOR UPDATE; "
                                  + check.replace("event_id %s", "event_id = ANY(%s)"))
        self._check_sqlite = check.replace("event_id %s", "event_id IN (%s)")
        self.move_head = p(f"UPDATE {head} SET position = ?, hash = ? WHERE id = 1")
        self.stream_version = p(f"SELECT COALESCE(MAX(version), 0) FROM {ev} WHERE stream = ?")
        self._insert_head = (f"INSERT INTO {ev} (position, event_id, stream, version, type, body, "
                             "prev_hash, hash) VALUES ")
        self._event_values = p("(?, ?, ?, ?, ?, ?, ?, ?)")
        self.insert_event = self._insert_head + self._event_values
        self._existing = f"SELECT position, body, prev_hash, hash FROM {ev} WHERE event_id %s ORDER BY position"
        self.read_stream = p(f"SELECT position, body, prev_hash, hash FROM {ev} WHERE stream = ? "
                             "AND version >= ? ORDER BY version")
        self.read_all = p(f"SELECT position, body, prev_hash, hash FROM {ev} WHERE position > ? "
                          "ORDER BY position LIMIT ?")
        self.read_all_unbounded = p(f"SELECT position, body, prev_hash, hash FROM {ev} "
                                    "WHERE position > ? ORDER BY position")
        columns = "position, event_id, stream, version, type, body, prev_hash, hash"
        self.verify_first_page = p(f"SELECT {columns} FROM {ev} ORDER BY position LIMIT ?")
        self.verify_page = p(f"SELECT {columns} FROM {ev} WHERE position > ? ORDER BY position LIMIT ?")
        self.is_processed = p(f"SELECT 1 FROM {proc} WHERE consumer = ? AND event_id = ?")
        self.mark_processed = p(f"INSERT INTO {proc} (consumer, event_id, position) VALUES (?, ?, ?)")
        self.get_checkpoint = p(f"SELECT position FROM {cp} WHERE name = ?")
        self.insert_checkpoint = p(f"INSERT INTO {cp} (name, position) VALUES (?, ?) ON CONFLICT DO NOTHING")
        self.move_checkpoint = p(f"UPDATE {cp} SET position = ? WHERE name = ? AND position < ?")
        self.insert_lease = p(f"INSERT INTO {lease} (name, holder, expires_at) VALUES (?, ?, ?) "
                              "ON CONFLICT DO NOTHING")
        self.take_lease = p(f"UPDATE {lease} SET holder = ?, expires_at = ? WHERE name = ? "
                            "AND (holder = ? OR expires_at < ?)")
        self._cache: dict[tuple, str] = {}

    def _fmt(self, sql: str) -> str:
        return sql.replace("?", self._ph)

    def _in_list(self, n: int) -> str:
        return ", ".join(["?"] * n)

    def lock_and_check_sqlite(self, n_ids: int) -> str:
        key = ("check", n_ids)
        if key not in self._cache:
            self._cache[key] = self._check_sqlite % self._in_list(n_ids)
        return self._cache[key]

    def existing_ids(self, n_ids: int) -> str:
        if self.dialect == "postgresql":
            return self._existing % "= ANY(%s)"
        return self._existing % f"IN ({self._in_list(n_ids)})"

    def ids_param(self, ids: list[str]) -> Sequence[Any]:
        return (ids,) if self.dialect == "postgresql" else ids

    def write_pg(self, n_rows: int, tracking: bool, commit: bool) -> str:
        """One round trip: insert the rows, mark the tracking, move the head, and commit."""
        key = ("write", n_rows, tracking, commit)
        if key not in self._cache:
            parts = [self._insert_head + ", ".join([self._event_values] * n_rows)]
            if tracking:
                parts.append(self.mark_processed)
            parts.append(self.move_head)
            if commit:
                parts.append("COMMIT")
            self._cache[key] = "; ".join(parts)
        return self._cache[key]
