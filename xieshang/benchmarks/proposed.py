"""Kernel changes proposed by the benchmarks, prototyped here (bench-local) so that the suite
measures them beside the current store in the same run. Nothing here is used outside the bench.

``ProposedSqlEventStore`` is ``SqlEventStore`` with three changes, each small:

1. SQLite: ``position`` declared ``INTEGER PRIMARY KEY``, so it is the table's rowid and not a
   second B-tree (``BIGINT PRIMARY KEY`` is not a rowid alias in SQLite). Every commit writes one
   index page fewer. (New stores only; an existing file needs a table rebuild.)
2. Each stored envelope is built once, with its position and hashes: today ``stamp`` builds it
   without them and ``Envelope.with_position`` copies it with ``dataclasses.replace``, which costs
   more than hashing it. The body is the same dict ``Envelope.body()`` gives (same bytes, same
   hash); the recorded-at timestamp and the deployment are encoded once per append.
3. PostgreSQL: no ``pool_pre_ping`` (a ``SELECT 1`` round trip before every checkout; ADR 0003
   measured it). A connection that died is still found out: the append fails and ``_abandon``
   drops it from the pool, and the caller's retry takes a fresh one.
4. Decoding: ``Envelope.from_dict`` builds a new ``Actor`` and ``Deployment`` (validated) per row
   and parses timestamps through ``str.replace``; the decoder here reuses equal actors and the
   store's deployment, and lets ``datetime.fromisoformat`` (3.11) read the ``Z``.

``OneTripPgEventStore`` goes further on PostgreSQL, as ADR 0003 suggested: an append with an
expected version is one statement, ``SELECT * FROM xs_append(...)``, a PL/pgSQL function that
locks the chain head, checks duplicates, tracking and the expected version, chains each body
with ``sha256()`` and inserts, all server-side, in the statement's own transaction. The lock is
held for the function's run only, not across client round trips. Appends without an expected
version (the body holds the version) and replays of stored ids fall back to the current path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from xieshang.kernel.envelope import Actor, Deployment, Envelope, NewEvent, _iso, encode_body, utcnow
from xieshang.kernel.projection import ProjectionError, ProjectionRunner
from xieshang.kernel.store.port import (ConcurrencyError, DuplicateEventError, Tracking, chain_hash,
                                        validate_append)
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, store_metadata


def proposed_metadata(schema: str | None) -> sa.MetaData:
    md = store_metadata(schema)
    events = md.tables[f"{schema}.events" if schema else "events"]
    events.c.position.type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    return md


def proposed_postgres_engine(url: str, **kw: Any) -> Engine:
    kw.setdefault("pool_pre_ping", False)
    return postgres_engine(url, **kw)


class ProposedSqlEventStore(SqlEventStore):
    def __init__(self, engine: Engine, deployment: Deployment, *, schema: str | None = None,
                 clock: Callable[[], datetime] = utcnow, create: bool = True):
        super().__init__(engine, deployment, schema=schema, clock=clock, create=False)
        self.metadata = proposed_metadata(schema)
        self._deployment_dict = deployment.to_dict()
        if create:
            self.create_schema()

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
            recorded_iso = _iso(recorded_at)
            deployment = self._deployment_dict
            rows, envelopes = [], []
            prev = head_hash
            for i, new in enumerate(events):
                version = current + i + 1
                position = head_position + i + 1
                correlation = new.correlation_id or new.event_id
                body = encode_body({
                    "event_id": new.event_id, "stream": stream, "version": version, "type": new.type,
                    "schema_version": new.schema_version, "occurred_at": _iso(new.occurred_at),
                    "recorded_at": recorded_iso, "actor": new.actor.to_dict(),
                    "on_behalf_of": new.on_behalf_of, "reason": new.reason,
                    "correlation_id": correlation, "causation_id": new.causation_id,
                    "deployment": deployment, "data": new.data})
                digest = chain_hash(prev, position, body)
                rows.append((position, new.event_id, stream, version, new.type, body, prev, digest))
                envelopes.append(Envelope(
                    new.event_id, stream, version, new.type, new.schema_version, new.occurred_at,
                    recorded_at, position, new.actor, new.on_behalf_of, new.reason, correlation,
                    new.causation_id, new.data, self.deployment, prev, digest))
                prev = digest
            self._write_and_commit(cur, rows, tracking, prev)
        self._notify(envelopes[-1].position)
        return envelopes


# -- 4. decoding ------------------------------------------------------------------------------

def fast_envelope_decoder(deployment: Deployment) -> Callable[[tuple], Envelope]:
    actors: dict[tuple, Actor] = {}
    fromiso = datetime.fromisoformat
    dep_key = (deployment.committee, deployment.level)

    def decode(row: tuple) -> Envelope:
        position, body, prev_hash, digest = row
        d = orjson.loads(body)
        a = d["actor"]
        key = (a["user_id"], a["role"], a["organisation"])
        actor = actors.get(key)
        if actor is None:
            actor = actors[key] = Actor(*key)
        dep = d["deployment"]
        dep_obj = deployment if (dep["committee"], dep["level"]) == dep_key else Deployment(
            dep["committee"], dep["level"])
        return Envelope(d["event_id"], d["stream"], d["version"], d["type"], d["schema_version"],
                        fromiso(d["occurred_at"]), fromiso(d["recorded_at"]), position, actor,
                        d.get("on_behalf_of"), d.get("reason"), d["correlation_id"], d.get("causation_id"),
                        d["data"], dep_obj, prev_hash, digest)
    return decode


class FastDecodingStore(SqlEventStore):
    """The current store with only the decoder of change 4 (for the read rows)."""

    def __init__(self, *a: Any, **kw: Any):
        super().__init__(*a, **kw)
        self._envelope = fast_envelope_decoder(self.deployment)  # type: ignore[method-assign]


# -- one round trip on PostgreSQL ---------------------------------------------------------------

_FUNCTION = """
CREATE OR REPLACE FUNCTION {s}.xs_append(p_stream text, p_expected integer, p_ids text[], p_types text[],
    p_bodies bytea[], p_consumer text, p_upstream text, p_upstream_position bigint)
RETURNS TABLE (status text, out_position bigint, out_prev text, out_hash text)
LANGUAGE plpgsql AS $fn$
DECLARE
    h_position bigint; h_hash text; v_current integer; v_body bytea;
    v_prevs text[] := '{{}}'; v_hashes text[] := '{{}}';
BEGIN
    SELECT c.position, c.hash INTO h_position, h_hash FROM {s}.chain_head c WHERE c.id = 1 FOR UPDATE;
    IF EXISTS (SELECT 1 FROM {s}.events e WHERE e.event_id = ANY(p_ids)) THEN
        RETURN QUERY SELECT 'duplicate'::text, 0::bigint, ''::text, ''::text; RETURN;
    END IF;
    IF p_consumer IS NOT NULL AND EXISTS (SELECT 1 FROM {s}.processed p
            WHERE p.consumer = p_consumer AND p.event_id = p_upstream) THEN
        RETURN QUERY SELECT 'processed'::text, 0::bigint, ''::text, ''::text; RETURN;
    END IF;
    SELECT COALESCE(MAX(e.version), 0) INTO v_current FROM {s}.events e WHERE e.stream = p_stream;
    IF v_current <> p_expected THEN
        RETURN QUERY SELECT 'conflict'::text, v_current::bigint, ''::text, ''::text; RETURN;
    END IF;
    -- The chain is sequential: hash in a loop over the bodies (no array subscripts, which copy
    -- the whole array each time), then insert every row with one statement.
    FOREACH v_body IN ARRAY p_bodies LOOP
        v_prevs := v_prevs || h_hash;
        h_hash := encode(sha256(convert_to(h_hash || '|' || (h_position + cardinality(v_prevs)) || '|', 'UTF8')
                                || v_body), 'hex');
        v_hashes := v_hashes || h_hash;
    END LOOP;
    INSERT INTO {s}.events (position, event_id, stream, version, type, body, prev_hash, hash)
    SELECT h_position + u.n, u.id, p_stream, p_expected + u.n, u.type, u.body, u.prev, u.digest
    FROM unnest(p_ids, p_types, p_bodies, v_prevs, v_hashes) WITH ORDINALITY AS u(id, type, body, prev, digest, n);
    IF p_consumer IS NOT NULL THEN
        INSERT INTO {s}.processed (consumer, event_id, position) VALUES (p_consumer, p_upstream, p_upstream_position);
    END IF;
    UPDATE {s}.chain_head SET position = h_position + cardinality(p_ids), hash = h_hash WHERE id = 1;
    RETURN QUERY SELECT 'ok'::text, h_position + u.n, u.prev, u.digest
                 FROM unnest(v_prevs, v_hashes) WITH ORDINALITY AS u(prev, digest, n) ORDER BY u.n;
END
$fn$
"""


class OneTripPgEventStore(ProposedSqlEventStore):
    def __init__(self, engine: Engine, deployment: Deployment, *, schema: str, create: bool = True, **kw: Any):
        super().__init__(engine, deployment, schema=schema, create=create, **kw)
        if create:
            with self.engine.begin() as conn:
                conn.exec_driver_sql(_FUNCTION.format(s=f'"{schema}"'))
        self._call = f'SELECT * FROM "{schema}".xs_append(%s, %s, %s, %s, %s, %s, %s, %s)'

    def append(self, stream: str, expected_version: int | None, events: Sequence[NewEvent],
               *, tracking: Tracking | None = None) -> list[Envelope]:
        if expected_version is None:
            return super().append(stream, expected_version, events, tracking=tracking)
        validate_append(stream, events)
        recorded_at = self.clock()
        recorded_iso = _iso(recorded_at)
        bodies, shapes = [], []
        for i, new in enumerate(events):
            version = expected_version + i + 1
            correlation = new.correlation_id or new.event_id
            bodies.append(encode_body({
                "event_id": new.event_id, "stream": stream, "version": version, "type": new.type,
                "schema_version": new.schema_version, "occurred_at": _iso(new.occurred_at),
                "recorded_at": recorded_iso, "actor": new.actor.to_dict(),
                "on_behalf_of": new.on_behalf_of, "reason": new.reason, "correlation_id": correlation,
                "causation_id": new.causation_id, "deployment": self._deployment_dict, "data": new.data}))
            shapes.append((new, version, correlation))
        consumer, upstream, upstream_pos = ((tracking.consumer, tracking.event_id, tracking.position)
                                            if tracking else (None, None, None))
        with self._connection() as cur:
            cur.execute(self._call, (stream, expected_version, [e.event_id for e in events],
                                     [e.type for e in events], bodies, consumer, upstream, upstream_pos))
            rows = cur.fetchall()
        status = rows[0][0]
        if status == "duplicate":
            return super().append(stream, expected_version, events, tracking=tracking)
        if status == "processed":
            return []
        if status == "conflict":
            raise ConcurrencyError(stream, expected_version, int(rows[0][1]))
        envelopes = [Envelope(new.event_id, stream, version, new.type, new.schema_version, new.occurred_at,
                              recorded_at, int(position), new.actor, new.on_behalf_of, new.reason, correlation,
                              new.causation_id, new.data, self.deployment, prev, digest)
                     for (new, version, correlation), (_s, position, prev, digest) in zip(shapes, rows)]
        self._notify(envelopes[-1].position)
        return envelopes


# -- read models: one transaction per page ---------------------------------------------------


class OneTransactionRunner(ProjectionRunner):
    """``ProjectionRunner`` applying a page to every projection in ONE views transaction (one
    BEGIN IMMEDIATE, one COMMIT), each projection inside a savepoint with its checkpoint, so a
    failing handler still rolls back its own projection only. Today each projection has its own
    transaction per page: a command's single event costs five BEGIN … COMMITs of the views file."""

    def _catch_up(self, names: list[str], on_batch: Callable[[int, int], None] | None = None) -> int:
        failures: list[ProjectionError] = []
        failed: set[str] = set()
        total = 0
        cp = self.checkpoints
        while True:
            with self._transaction() as conn:
                stored = self._locked_rows(conn, [n for n in names if n not in failed])
                active = []
                for name, (pos, ver) in stored.items():
                    p = self._by_name[name]
                    if ver != p.version:
                        self._warn_version(p, ver)
                        continue
                    active.append((p, pos))
                if not active:
                    break
                after = min(pos for _, pos in active)
                page = self.store.read_all(after, self.batch)
                if not page:
                    break
                last = page[-1].position
                for p, pos in active:
                    if pos >= last:
                        continue
                    savepoint = conn.begin_nested()
                    try:
                        for envelope in page:
                            if envelope.position <= pos:
                                continue
                            handler = p.handler(envelope.type)
                            if handler is None:
                                continue
                            try:
                                handler(conn, envelope)
                            except Exception as exc:
                                raise ProjectionError(p.name, envelope, exc) from exc
                        conn.execute(cp.update().where(cp.c.name == p.name).values(position=last))
                        savepoint.commit()
                    except ProjectionError as exc:
                        savepoint.rollback()
                        failures.append(exc)
                        failed.add(p.name)
            n = sum(1 for e in page if e.position > after)
            total += n
            with self._moved:
                self._moved.notify_all()
            if on_batch is not None:
                on_batch(last, n)
        if failures:
            self.last_error = failures[0]
            raise failures[0]
        return total
