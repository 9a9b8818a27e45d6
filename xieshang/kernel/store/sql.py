"""Event store on SQLAlchemy: SQLite (embedded default, WAL) and PostgreSQL.

SQLAlchemy owns the engines, pools and the schema; the hot paths (append, read) run
on the pooled DBAPI connection with prepared SQL, because per-statement ORM/Core
overhead would cost more than the database itself here (see docs/performance.md).

Ordering: every append holds the ``chain_head`` row (PostgreSQL: ``SELECT … FOR UPDATE``;
SQLite: ``BEGIN IMMEDIATE``) from reading the head until commit. Positions are therefore
assigned and committed in the same order, gap-free, and a reader following positions can
never see position n+1 before n (see docs/adr/0003-log-ordering.md). The same row lock
gives each append its predecessor's hash. On PostgreSQL an append with an expected version
does all of it in one round trip, the function ``xs_append()`` (docs/adr/0008-store-speed.md).
"""

from __future__ import annotations

import hashlib
import logging
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator, Sequence, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine

from ..envelope import Deployment, Envelope, NewEvent, utcnow
from .port import (GENESIS_HASH, ConcurrencyError, DuplicateEventError, EventStore, Sealer,
                   StoreError, Tracking, VerifyReport, validate_append)
from .sqlite import owner_only, tighten_side_files

log = logging.getLogger(__name__)
T = TypeVar("T")

# PRAGMA user_version of a SQLite store. 0: made before it was recorded (schema 1, or a new
# file); 1: ``position`` a BIGINT primary key, a B-tree of its own beside the rowid's;
# 2: ``position`` an INTEGER PRIMARY KEY, i.e. the rowid itself (one B-tree fewer per commit).
SQLITE_SCHEMA = 2

# PostgreSQL appends of at least this many events with an expected version are one round trip,
# ``xs_append()``; measured, it wins from a single event on (docs/adr/0008-store-speed.md).
# Appends at any version (``None``) take two: their bodies hold the version the first trip reads.
ONE_TRIP_MIN_EVENTS = 1

# psycopg2.extensions.TRANSACTION_STATUS_*, spelled out so that SQLite users never import psycopg2.
_PG_IDLE, _PG_ACTIVE, _PG_UNKNOWN = 0, 1, 4


def store_metadata(schema: str | None = None) -> sa.MetaData:
    md = sa.MetaData(schema=schema)
    sa.Table(
        "events", md,
        # On SQLite exactly "INTEGER PRIMARY KEY" makes the position the rowid (BIGINT does not).
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=False),
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
    """An engine on PostgreSQL through psycopg2 (made eventlet-cooperative by psycogreen).

    No ``pool_pre_ping``: its ``SELECT 1`` would be a round trip before every checkout. The
    store finds a dead pooled connection when it uses it instead, and tries the operation
    again on a new one (``SqlEventStore._again_if_disconnected``)."""
    from ..greening import cooperate_with_eventlet

    cooperate_with_eventlet()
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
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
        if self.dialect == "postgresql":
            dbapi = engine.dialect.loaded_dbapi
            self._dbapi_error: type[BaseException] = dbapi.Error
            self._undefined_function: type[BaseException] = dbapi.errors.UndefinedFunction
        # Whether xs_append() is there to call; a store opened with create=False finds out.
        self._one_trip_installed = True
        self._idle: list[tuple[Any, Any]] = []  # connections ready for the next operation
        size = getattr(engine.pool, "size", 5)  # QueuePool.size(); SingletonThreadPool.size
        self._idle_limit = size() if callable(size) else size
        self._closed = False
        if create:
            self.create_schema()
        self._sql = _Statements(self.dialect, schema)

    # -- schema -----------------------------------------------------------
    def create_schema(self) -> None:
        """Create what is missing: the tables, and on PostgreSQL the schema and the
        ``xs_append()`` function (replaced when its text differs from this version's). A
        SQLite store of an older schema is brought up to date (``_upgrade_sqlite``)."""
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                # Parallel first starts of several instances race on CREATE SCHEMA and on
                # CREATE FUNCTION: serialise them.
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                             {"k": _lock_key(self.schema or "public")})
                if self.schema:
                    conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            self.metadata.create_all(conn, checkfirst=True)
            if self.dialect == "postgresql":
                _install_append_function(conn, self.schema)
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(self._statements().init_head, (GENESIS_HASH,))
            raw.commit()
            if self.dialect == "sqlite":
                self._upgrade_sqlite(cur)
        finally:
            raw.close()

    def _upgrade_sqlite(self, cur) -> None:  # noqa: ANN001
        """Bring the store to ``SQLITE_SCHEMA`` and record it (``PRAGMA user_version``). A
        store made before the position was the rowid has its events copied, in position order
        and unchanged, into a new table of the current layout: one transaction, so it is all
        done or not at all, and the log's order and chain stay as they were."""
        cur.execute("BEGIN IMMEDIATE")  # one process upgrades; the others wait, then see it done
        try:
            cur.execute("PRAGMA user_version")
            version = cur.fetchone()[0]
            if version > SQLITE_SCHEMA:
                raise StoreError(
                    f"this event store has schema {version}, newer than this version of xieshang "
                    f"knows (schema {SQLITE_SCHEMA}): run the version that wrote it")
            if version < SQLITE_SCHEMA:
                cur.execute("PRAGMA index_list(events)")
                if any(row[3] == "pk" for row in cur.fetchall()):  # position has its own index
                    self._move_events_to_rowid_table(cur)
                cur.execute(f"PRAGMA user_version = {SQLITE_SCHEMA}")
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def _move_events_to_rowid_table(self, cur) -> None:  # noqa: ANN001
        cur.execute("SELECT COUNT(*), COALESCE(SUM(typeof(position) <> 'integer'), 0) FROM events")
        count, not_integers = cur.fetchone()
        if not_integers:
            raise StoreError(
                f"cannot move this event store to schema {SQLITE_SCHEMA}: {not_integers} of its "
                "rows have a position that is not a whole number, so the log was altered; run "
                "verify() on it with the version that wrote it, and restore it from a backup")
        log.warning("moving the %d events of %s to schema %d (the position as the rowid), "
                    "in one transaction", count, self.engine.url.database, SQLITE_SCHEMA)
        started = time.monotonic()
        columns = "position, event_id, stream, version, type, body, prev_hash, hash"
        cur.execute("ALTER TABLE events RENAME TO events_before_schema_2")
        cur.execute(str(sa.schema.CreateTable(self.metadata.tables["events"])
                        .compile(dialect=self.engine.dialect)))
        cur.execute(f"INSERT INTO events ({columns}) SELECT {columns} FROM events_before_schema_2 "
                    "ORDER BY position")
        cur.execute("DROP TABLE events_before_schema_2")
        cur.execute("SELECT COUNT(*) FROM events")
        if cur.fetchone()[0] != count:  # pragma: no cover - SQLite copies all or fails
            raise StoreError("moving the events to the new table lost some: nothing was changed")
        log.warning("moved the %d events of %s in %.1f s", count, self.engine.url.database,
                    time.monotonic() - started)

    def _statements(self) -> "_Statements":
        return getattr(self, "_sql", None) or _Statements(self.dialect, self.schema)

    # -- connections ------------------------------------------------------
    # We issue BEGIN and COMMIT ourselves. On PostgreSQL the connection is switched to
    # autocommit while the store has it, so psycopg2 does not spend a round trip on a BEGIN of
    # its own, a read is one round trip, and an append is two: "BEGIN; lock; check" and
    # "insert; move head; COMMIT" (or one: ``xs_append()``). The store keeps the connections
    # it used (with a cursor each, no transaction open) for the next operation, up to the
    # pool's size, rather than checking each in and out of the pool: that cost as much as the
    # database's own work on a SQLite append. The pool gets a connection back as it lent it.
    @contextmanager
    def _connection(self) -> Iterator[Any]:
        try:
            raw, cur = self._idle.pop()
        except IndexError:
            raw = self.engine.raw_connection()
            if self.dialect == "postgresql":
                raw.driver_connection.autocommit = True
            cur = raw.cursor()
        try:
            yield cur
        except BaseException:
            if self._abandon(raw, cur):
                self._keep(raw, cur)
            else:
                raw.close()  # invalidated: the pool drops it
            raise
        self._keep(raw, cur)

    def _keep(self, raw, cur) -> None:  # noqa: ANN001
        if len(self._idle) < self._idle_limit and not self._closed:
            self._idle.append((raw, cur))
        else:
            self._give_back(raw, cur)

    def _give_back(self, raw, cur) -> None:  # noqa: ANN001
        try:
            cur.close()
            if self.dialect == "postgresql":
                raw.driver_connection.autocommit = False
        except Exception:  # noqa: BLE001 - a connection that cannot be reset is dropped
            raw.invalidate()
        raw.close()

    def _drop_idle(self, *, invalidate: bool) -> None:
        while self._idle:
            raw, cur = self._idle.pop()
            if invalidate:
                raw.invalidate()
                raw.close()
            else:
                self._give_back(raw, cur)

    def _again_if_disconnected(self, operation: Callable[[], T]) -> T:
        """``operation()``; on PostgreSQL once more, on a new connection, if the pooled one it
        took was found dead (the server restarted, or something closed an idle connection).
        The pool's other idle connections are dropped too: they most likely died with it.
        ``_abandon`` has rolled back what was open: only idempotent operations come here (a
        repeated append of the same event ids answers the stored envelopes)."""
        if self.dialect != "postgresql":
            return operation()
        try:
            return operation()
        except self._dbapi_error as exc:
            if not self.engine.dialect.is_disconnect(exc, None, None):
                raise
            log.warning("a pooled connection to the event store was found closed (%s): trying "
                        "again on a new one", str(exc).partition("\n")[0])
            self._drop_idle(invalidate=True)
            self.engine.dispose()
        return operation()

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
        if self.dialect == "sqlite":
            envelopes, committed = self._append(stream, expected_version, events, tracking)
        else:
            # A repeated append of the same ids is a no-op answering the stored envelopes, so
            # the append may be tried again after a lost connection, whether it committed or not.
            one_trip = (expected_version is not None and len(events) >= ONE_TRIP_MIN_EVENTS
                        and self._before_commit is None and self._one_trip_installed)
            append = self._append_one_trip if one_trip else self._append
            envelopes, committed = self._again_if_disconnected(
                lambda: append(stream, expected_version, events, tracking))
        if committed:
            self._notify(envelopes[-1].position)
        return envelopes

    def _append(self, stream: str, expected_version: int | None, events: Sequence[NewEvent],
                tracking: Tracking | None) -> tuple[list[Envelope], bool]:
        """Two round trips on PostgreSQL: lock the head and check; write and commit. Returns
        the envelopes and whether this call committed them (not: a replay, or nothing)."""
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
                return [self._envelope(r) for r in stored], False
            if processed:
                cur.execute("ROLLBACK")
                return [], False
            if expected_version is not None and expected_version != current:
                cur.execute("ROLLBACK")
                raise ConcurrencyError(stream, expected_version, current)
            sealed = Sealer(stream, self.clock(), self.deployment).chain(
                events, current, head_position, head_hash)
            rows = [(env.position, env.event_id, stream, env.version, env.type, body, env.prev_hash,
                     env.hash) for env, body in sealed]
            self._write_and_commit(cur, rows, tracking, sealed[-1][0].hash)
        return [env for env, _ in sealed], True

    def _append_one_trip(self, stream: str, expected_version: int, events: Sequence[NewEvent],
                         tracking: Tracking | None) -> tuple[list[Envelope], bool]:
        """One round trip on PostgreSQL: ``xs_append()`` locks the head, checks as ``_append``
        does, chains the bodies built here with the server's sha256() (the same bytes and
        hashes as ``_append``), inserts and commits, all in its one statement."""
        sealer = Sealer(stream, self.clock(), self.deployment)
        bodies = [sealer.body(new, expected_version + i) for i, new in enumerate(events, 1)]
        consumer, upstream, upstream_position = ((tracking.consumer, tracking.event_id,
                                                  tracking.position) if tracking else (None, None, None))
        try:
            with self._connection() as cur:
                cur.execute(self._sql.append_one_trip, (
                    stream, expected_version, [e.event_id for e in events], [e.type for e in events],
                    bodies, consumer, upstream, upstream_position))
                outcome, first_position, prev_hash, hashes = cur.fetchone()
        except self._undefined_function:
            # A store opened with create=False on a schema made before xs_append() existed.
            self._one_trip_installed = False
            return self._append(stream, expected_version, events, tracking)
        if outcome == "stored":  # a replay, or a partial overlap: the two trips sort it out
            return self._append(stream, expected_version, events, tracking)
        if outcome == "processed":
            return [], False
        if outcome == "conflict":
            raise ConcurrencyError(stream, expected_version, int(first_position))
        envelopes = []
        for i, (new, digest) in enumerate(zip(events, hashes)):
            envelopes.append(sealer.envelope(new, expected_version + i + 1, first_position + i,
                                             prev_hash, digest))
            prev_hash = digest
        return envelopes, True

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
            if len(rows) == 1:
                cur.execute(sql.insert_event, rows[0])
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
        return self._again_if_disconnected(lambda: self._query_once(statement, params))

    def _query_once(self, statement: str, params: Sequence[Any]) -> list[tuple]:
        with self._connection() as cur:
            cur.execute(statement, params)
            return cur.fetchall()

    def _envelope(self, row: tuple) -> Envelope:
        position, body, prev_hash, digest = row
        return Envelope.from_dict(orjson.loads(body), position=position, prev_hash=prev_hash,
                                  hash=digest, deployment=self.deployment)

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
        """Run ``statements`` in one transaction; the last one's row count. (Each caller's
        statements can be run again: a checkpoint, a lease taken by the same holder.)"""
        return self._again_if_disconnected(lambda: self._write_once(statements))

    def _write_once(self, statements: list[tuple[str, Sequence[Any]]]) -> int:
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
    def verify(self, jobs: int = 1) -> VerifyReport:
        """Walk the whole log and check each row against the chain, then the last row against
        the recorded head (appends may go on meanwhile). With ``jobs`` > 1, chunks of positions
        are verified in up to that many processes, the borders checked here (store/verify.py)."""
        from .verify import verify_sql_store

        return verify_sql_store(self, jobs)

    def close(self) -> None:
        self._closed = True
        self._drop_idle(invalidate=False)
        self.engine.dispose()


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


# The one-round-trip append on PostgreSQL (``SqlEventStore._append_one_trip``). It does what the
# two trips do, in the order they do it: lock the chain head, then (each statement seeing what
# the previous holder committed) answer "stored" if any id is stored, "processed" if the
# tracking was, "conflict" (with the stream's version) if the stream moved; otherwise chain each
# body as ``port.chain_hash`` does (sha256 of the predecessor's hex hash, "|position|" and the
# body), insert the rows, mark the tracking, move the head, and answer "ok" with the first
# position, its predecessor's hash and the new hashes. Its statement's transaction commits it.
_APPEND_FUNCTION_BODY = """
DECLARE
    v_position bigint;
    v_hash text;
    v_first_prev text;
    v_current integer;
    v_id text;
    v_body bytea;
    v_prevs text[] := '{}';
    v_hashes text[] := '{}';
BEGIN
    SELECT h.position, h.hash INTO v_position, v_hash FROM {s}chain_head h WHERE h.id = 1 FOR UPDATE;
    -- One lookup per id: the plan of "event_id = ANY(p_ids)" that a session keeps from the
    -- time its table was small scans the whole table.
    FOREACH v_id IN ARRAY p_ids LOOP
        IF EXISTS (SELECT 1 FROM {s}events e WHERE e.event_id = v_id) THEN
            RETURN QUERY SELECT 'stored'::text, NULL::bigint, NULL::text, NULL::text[];
            RETURN;
        END IF;
    END LOOP;
    IF p_consumer IS NOT NULL AND EXISTS (SELECT 1 FROM {s}processed p
            WHERE p.consumer = p_consumer AND p.event_id = p_upstream) THEN
        RETURN QUERY SELECT 'processed'::text, NULL::bigint, NULL::text, NULL::text[];
        RETURN;
    END IF;
    SELECT COALESCE(MAX(e.version), 0) INTO v_current FROM {s}events e WHERE e.stream = p_stream;
    IF v_current <> p_expected THEN
        RETURN QUERY SELECT 'conflict'::text, v_current::bigint, NULL::text, NULL::text[];
        RETURN;
    END IF;
    v_first_prev := v_hash;
    FOREACH v_body IN ARRAY p_bodies LOOP
        v_prevs := v_prevs || v_hash;
        v_hash := encode(sha256(convert_to(v_hash || '|' || (v_position + cardinality(v_prevs))
                                           || '|', 'UTF8') || v_body), 'hex');
        v_hashes := v_hashes || v_hash;
    END LOOP;
    INSERT INTO {s}events (position, event_id, stream, version, type, body, prev_hash, hash)
        SELECT v_position + u.n, u.id, p_stream, p_expected + u.n, u.type, u.body, u.prev, u.digest
        FROM unnest(p_ids, p_types, p_bodies, v_prevs, v_hashes)
             WITH ORDINALITY AS u(id, type, body, prev, digest, n);
    IF p_consumer IS NOT NULL THEN
        INSERT INTO {s}processed (consumer, event_id, position)
            VALUES (p_consumer, p_upstream, p_upstream_position);
    END IF;
    UPDATE {s}chain_head SET position = v_position + cardinality(p_ids), hash = v_hash WHERE id = 1;
    RETURN QUERY SELECT 'ok'::text, v_position + 1, v_first_prev, v_hashes;
END
"""

_APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION {s}xs_append(p_stream text, p_expected integer, p_ids text[],
    p_types text[], p_bodies bytea[], p_consumer text, p_upstream text, p_upstream_position bigint)
RETURNS TABLE (outcome text, first_position bigint, first_prev_hash text, hashes text[])
LANGUAGE plpgsql AS $xs_append$"""


def _install_append_function(conn: sa.Connection, schema: str | None) -> None:
    """Create ``xs_append()``, or replace it where its text is not this version's."""
    qualifier = f'"{schema}".' if schema else ""
    body = _APPEND_FUNCTION_BODY.replace("{s}", qualifier)
    installed = conn.execute(sa.text(
        "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE p.proname = 'xs_append' AND n.nspname = COALESCE(:schema, current_schema())"),
        {"schema": schema}).scalars().all()
    if installed != [body]:
        conn.exec_driver_sql(_APPEND_FUNCTION.replace("{s}", qualifier) + body + "$xs_append$")


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
        self.append_one_trip = f"SELECT * FROM {q}xs_append(%s, %s, %s, %s, %s, %s, %s, %s)"
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
