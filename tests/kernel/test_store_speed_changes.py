"""The store's speed changes (issue 12) change nothing a reader can see: the envelopes built once
and decoded through shared actors are equal to those built and decoded as before; a SQLite store
of the schema before the rowid position is moved to it at open with its log unchanged; on
PostgreSQL the one-round-trip append writes the same bytes and hashes, gap-free, and answers
as the two trips do; a pooled connection that died is replaced without failing the caller; the
kept state of a stream equals a full fold."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import eventlet
import orjson
import pytest
import sqlalchemy as sa

import xieshang.kernel.store.sql as sql_module
from xieshang.kernel.clock import FixedClock
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainEvent, EventRegistry
from xieshang.kernel.envelope import Actor, Deployment, Envelope, EnvelopeError, NewEvent
from xieshang.kernel.store import ConcurrencyError, DuplicateEventError, StoreError, Tracking
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.store.port import GENESIS_HASH, Sealer, chain_hash, seal, stamp
from xieshang.kernel.store.sql import SQLITE_SCHEMA, SqlEventStore, postgres_engine, sqlite_engine
from xieshang.kernel.streams import Streams

from ..conftest import DEPLOYMENT, PG_URL, STAFF, new_event, unique

AT = datetime(2026, 11, 25, 8, 30, 15, 123456, tzinfo=timezone.utc)
MEMBER = Actor("m-001", "member", "界别")


def varied_events() -> list[NewEvent]:
    """Events using every optional field, two actors, and Chinese text."""
    return [
        NewEvent("ProposalSubmitted", {"title": "关于增设社区养老服务点的提案", "n": 1}, MEMBER,
                 occurred_at=AT),
        NewEvent("ProposalFiled", {"case_number": "2024-001"}, STAFF, schema_version=2,
                 occurred_at=AT + timedelta(seconds=1), on_behalf_of="m-001", reason="立案",
                 correlation_id="corr-1", causation_id="cause-1"),
        NewEvent("Noted", {"nested": {"a": [1, 2, None]}}, MEMBER,
                 occurred_at=datetime(2026, 11, 25, 16, 0, tzinfo=timezone(timedelta(hours=8)))),
    ]


# -- each envelope built once ---------------------------------------------------------------------

def test_sealed_envelopes_and_bytes_are_those_stamped_and_copied_before():
    events = varied_events()
    sealed = Sealer("proposal-1", AT, DEPLOYMENT).chain(events, 4, 10, "a" * 64)
    prev = "a" * 64
    for i, (new, (envelope, body)) in enumerate(zip(events, sealed), 1):
        before = stamp(new, "proposal-1", 4 + i, AT, DEPLOYMENT)
        old_body, old_hash = seal(before.body(), prev, 10 + i)
        assert body == old_body and envelope.hash == old_hash == chain_hash(prev, 10 + i, body)
        assert envelope == before.with_position(10 + i, prev, old_hash)
        prev = old_hash


# -- the decoder ----------------------------------------------------------------------------------

def test_decoded_envelopes_equal_what_was_stored_and_share_actors_and_the_deployment():
    events = varied_events() + [NewEvent("Again", {}, MEMBER, occurred_at=AT)]
    sealed = Sealer("s", AT, DEPLOYMENT).chain(events, 0, 0, GENESIS_HASH)
    store_deployment = Deployment("640200", "city")  # equal to DEPLOYMENT, not the same object
    decoded = [Envelope.from_dict(orjson.loads(body), position=env.position, prev_hash=env.prev_hash,
                                  hash=env.hash, deployment=store_deployment) for env, body in sealed]
    assert decoded == [env for env, _ in sealed]
    assert all(e.deployment is store_deployment for e in decoded)
    assert decoded[0].actor is decoded[2].actor is decoded[3].actor  # equal actors: one object
    assert decoded[2].occurred_at == events[2].occurred_at
    assert decoded[0].occurred_at.tzinfo == timezone.utc
    # Through JSON, as consumers decode published envelopes: equal too.
    assert [Envelope.from_json(e.to_json()) for e in decoded] == decoded


def test_the_decoder_still_reads_other_deployments_and_odd_actors_as_before():
    env, body = Sealer("s", AT, Deployment("640221", "county")).chain(varied_events()[:1], 0, 0,
                                                                       GENESIS_HASH)[0]
    d = orjson.loads(body)
    again = Envelope.from_dict(d, position=1, prev_hash=env.prev_hash, hash=env.hash,
                               deployment=DEPLOYMENT)
    assert again == env and again.deployment == Deployment("640221", "county")
    d["actor"] = {"user_id": 7, "role": "member", "organisation": "界别"}  # str() as ever
    assert Envelope.from_dict(d, position=1).actor == Actor("7", "member", "界别")
    with pytest.raises(EnvelopeError, match="actor needs user_id"):
        Envelope.from_dict({**d, "actor": {"user_id": "x"}}, position=1)
    with pytest.raises(EnvelopeError):
        Envelope.from_dict({**d, "deployment": {"committee": "640200", "level": "township"}},
                           position=1)
    with pytest.raises(EnvelopeError, match="without timezone"):
        Envelope.from_dict({**d, "occurred_at": "2026-11-25T08:30:15"}, position=1)


# -- SQLite: position as the rowid, and older stores moved to it ---------------------------------

# The events table as SqlEventStore made it before schema 2 (position BIGINT: not the rowid).
SCHEMA_1_EVENTS = """
CREATE TABLE events (
    position BIGINT NOT NULL,
    event_id VARCHAR(36) NOT NULL,
    stream VARCHAR(200) NOT NULL,
    version INTEGER NOT NULL,
    type VARCHAR(200) NOT NULL,
    body BLOB NOT NULL,
    prev_hash VARCHAR(64) NOT NULL,
    hash VARCHAR(64) NOT NULL,
    PRIMARY KEY (position),
    CONSTRAINT events_stream_version UNIQUE (stream, version),
    UNIQUE (event_id)
)"""


def schema_1_store(path: str, n_appends: int = 30) -> list[Envelope]:
    """A SQLite store laid out as before schema 2, holding events (batches among them), a
    checkpoint and a tracked effect; returns what read_all gave there."""
    with sqlite3.connect(path) as conn:
        conn.execute(SCHEMA_1_EVENTS)
    store = SqlEventStore(sqlite_engine(path), DEPLOYMENT, create=False)
    store.metadata.create_all(store.engine)  # the other tables, as they always were
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO chain_head (id, position, hash) VALUES (1, 0, ?)", (GENESIS_HASH,))
    streams = [unique("proposal") for _ in range(4)]
    for i in range(n_appends):
        store.append(streams[i % 4], None, [new_event("Noted", n=i, k=k) for k in range(1 + i % 3)])
    store.append(unique("notification"), None, [new_event()], tracking=Tracking("notify", "up-1", 3))
    store.set_checkpoint("relay", 12)
    logged = store.read_all()
    store.close()
    return logged


def layout(path: str) -> tuple[int, bool]:
    """(user_version, whether position has an index of its own, i.e. is not the rowid)."""
    with sqlite3.connect(path) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        own_index = any(row[3] == "pk" for row in conn.execute("PRAGMA index_list(events)"))
    return version, own_index


def test_a_new_sqlite_store_has_the_position_as_its_rowid(tmp_path):
    path = str(tmp_path / "events.sqlite")
    SqlEventStore(sqlite_engine(path), DEPLOYMENT).close()
    assert layout(path) == (SQLITE_SCHEMA, False)


def test_a_store_of_the_schema_before_is_moved_to_the_rowid_at_open_with_its_log_unchanged(tmp_path, caplog):
    path = str(tmp_path / "events.sqlite")
    before = schema_1_store(path)
    assert layout(path) == (0, True)

    with caplog.at_level(logging.WARNING, logger=sql_module.__name__):
        store = SqlEventStore(sqlite_engine(path), DEPLOYMENT)
    assert layout(path) == (SQLITE_SCHEMA, False)
    assert any(f"moving the {len(before)} events" in r.getMessage() for r in caplog.records)
    assert store.read_all() == before  # same order, positions, bytes and hashes
    assert store.verify().ok and store.verify().checked == len(before)
    assert store.get_checkpoint("relay") == 12 and store.is_processed("notify", "up-1")
    stream = before[0].stream
    appended = store.append(stream, store.stream_version(stream), [new_event(), new_event()])
    assert [e.position for e in appended] == [len(before) + 1, len(before) + 2]
    assert appended[0].prev_hash == before[-1].hash
    report = store.verify()
    assert report.ok and report.last_position == len(before) + 2
    store.close()

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=sql_module.__name__):
        again = SqlEventStore(sqlite_engine(path), DEPLOYMENT)  # once moved, opening does nothing
    assert not [r for r in caplog.records if "moving" in r.getMessage()]
    assert again.head() == len(before) + 2 and again.verify().ok
    again.close()


def test_a_store_whose_positions_were_altered_is_not_moved_and_stays_as_it_was(tmp_path):
    path = str(tmp_path / "events.sqlite")
    schema_1_store(path, n_appends=5)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE events SET position = 'three' WHERE position = 3")
    with pytest.raises(StoreError, match="not a whole number"):
        SqlEventStore(sqlite_engine(path), DEPLOYMENT)
    assert layout(path) == (0, True)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT position FROM events WHERE type = 'Noted' AND "
                            "typeof(position) = 'text'").fetchall() == [("three",)]
    old = SqlEventStore(sqlite_engine(path), DEPLOYMENT, create=False)
    report = old.verify()
    assert not report.ok and report.first_bad_position == 3
    old.close()


def test_a_store_of_a_newer_schema_is_refused(tmp_path):
    path = str(tmp_path / "events.sqlite")
    SqlEventStore(sqlite_engine(path), DEPLOYMENT).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SQLITE_SCHEMA + 1}")
    with pytest.raises(StoreError, match="newer than this version"):
        SqlEventStore(sqlite_engine(path), DEPLOYMENT)


# -- PostgreSQL: the one-round-trip append ---------------------------------------------------------

@pytest.fixture
def pg_store(pg_schema):
    store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema)
    yield store
    store.close()


def trips(store: SqlEventStore, monkeypatch) -> list[str]:
    """Records which append path each append of ``store`` takes."""
    taken: list[str] = []
    for name in ("_append", "_append_one_trip"):
        original = getattr(store, name)

        def spy(*args, _original=original, _name=name):
            taken.append(_name)
            return _original(*args)

        monkeypatch.setattr(store, name, spy)
    return taken


@pytest.mark.postgres
def test_one_trip_appends_store_what_two_trips_store(pg_store, pg_schema, monkeypatch):
    taken = trips(pg_store, monkeypatch)
    pg_store.clock = FixedClock(AT).now
    two = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema, create=False)
    two.clock = pg_store.clock
    two_trips = two.append(unique("b"), None, varied_events())  # any version: always two trips
    events, stream = varied_events(), unique("a")
    one_trip = pg_store.append(stream, 0, events)
    assert taken == ["_append_one_trip"]
    with pg_store.engine.connect() as conn:
        rows = conn.execute(sa.text(
            f'SELECT position, body, prev_hash, hash FROM "{pg_schema}".events ORDER BY position')).all()
    prev = GENESIS_HASH
    for position, body, prev_hash, digest in rows:  # one chain through both paths' rows
        assert prev_hash == prev and digest == chain_hash(prev, position, bytes(body))
        prev = digest
    sealer = Sealer(stream, AT, DEPLOYMENT)
    assert [bytes(r[1]) for r in rows[3:]] == [sealer.body(e, v) for v, e in enumerate(events, 1)]
    # The envelopes each path answered are those read back.
    assert pg_store.read_all() == two_trips + one_trip
    assert pg_store.verify().ok
    two.close()


@pytest.mark.postgres
def test_one_trip_answers_as_two_trips_do(pg_store, monkeypatch):
    monkeypatch.setattr(sql_module, "ONE_TRIP_MIN_EVENTS", 1)
    taken = trips(pg_store, monkeypatch)
    s = unique("proposal")
    first = pg_store.append(s, 0, [new_event(), new_event()])
    with pytest.raises(ConcurrencyError) as conflict:
        pg_store.append(s, 1, [new_event()])
    assert (conflict.value.expected, conflict.value.actual) == (1, 2)
    assert pg_store.append(s, 0, [e_of(first[0]), e_of(first[1])]) == first  # a replay: stored
    with pytest.raises(DuplicateEventError):
        pg_store.append(s, 2, [new_event(), e_of(first[1])])
    tracking = Tracking("notify.on-filed", unique("upstream"), 5)
    assert len(pg_store.append(s, 2, [new_event()], tracking=tracking)) == 1
    assert pg_store.append(s, 3, [new_event()], tracking=tracking) == []
    assert pg_store.stream_version(s) == 3 and pg_store.head() == 3
    assert pg_store.is_processed(tracking.consumer, tracking.event_id)
    assert pg_store.verify().ok
    assert taken.count("_append_one_trip") == 6


def e_of(envelope: Envelope) -> NewEvent:
    """The NewEvent an envelope was appended from (same id: a replay)."""
    return NewEvent(envelope.type, envelope.data, envelope.actor, event_id=envelope.event_id,
                    occurred_at=envelope.occurred_at, reason=envelope.reason)


@pytest.mark.postgres
def test_the_append_function_is_installed_once_and_replaced_when_it_differs(pg_store, pg_schema):
    def source() -> list[str]:
        with pg_store.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT p.prosrc FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.proname = 'xs_append' AND n.nspname = :s"), {"s": pg_schema}).scalars().all()

    installed = source()
    assert len(installed) == 1
    # Several instances starting at once: serialised, and the function stays as it is.
    pool = eventlet.GreenPool(4)
    list(pool.imap(lambda _: SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT,
                                           schema=pg_schema).close(), range(4)))
    assert source() == installed
    with pg_store.engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE OR REPLACE FUNCTION "{pg_schema}".xs_append(p_stream text, '
                             'p_expected integer, p_ids text[], p_types text[], p_bodies bytea[], '
                             'p_consumer text, p_upstream text, p_upstream_position bigint) '
                             'RETURNS TABLE (outcome text, first_position bigint, first_prev_hash '
                             "text, hashes text[]) LANGUAGE sql AS $$ SELECT 'old'::text, 0::bigint, "
                             "''::text, '{}'::text[] $$")
    pg_store.create_schema()
    assert source() == installed


@pytest.mark.postgres
def test_a_store_on_a_schema_without_the_function_appends_in_two_trips(pg_store, pg_schema):
    with pg_store.engine.begin() as conn:
        conn.exec_driver_sql(f'DROP FUNCTION "{pg_schema}".xs_append')
    late = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema, create=False)
    s = unique("proposal")
    assert [e.version for e in late.append(s, 0, [new_event(), new_event()])] == [1, 2]
    assert not late._one_trip_installed
    assert [e.version for e in late.append(s, 2, [new_event(), new_event()])] == [3, 4]
    assert late.verify().ok
    late.close()


@pytest.mark.postgres
def test_writers_appending_batches_at_once_stay_gap_free_and_chained(pg_store, pg_schema):
    # Four writers (each its own store and connections), batches of 1 to 5 events at their
    # expected versions, on their own streams and on one they all contend for.
    shared = unique("shared")
    stores = [SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema, create=False)
              for _ in range(4)]

    def write(w: int) -> int:
        store, own, written = stores[w], unique(f"w{w}"), 0
        for i in range(25):
            size = 1 + (i + w) % 5
            written += len(store.append(own, store.stream_version(own),
                                        [new_event(w=w, i=i) for _ in range(size)]))
            while True:
                try:
                    written += len(store.append(shared, store.stream_version(shared),
                                                [new_event(w=w, i=i), new_event(w=w, i=i)]))
                    break
                except ConcurrencyError:
                    eventlet.sleep(0)
        return written

    total = sum(eventlet.GreenPool(4).imap(write, range(4)))
    logged = pg_store.read_all()
    assert [e.position for e in logged] == list(range(1, total + 1))
    assert [e.version for e in pg_store.read_stream(shared)] == list(range(1, 201))
    report = pg_store.verify()
    assert report.ok and report.checked == total
    for store in stores:
        store.close()


# -- PostgreSQL: a dead pooled connection ----------------------------------------------------------

@pytest.mark.postgres
def test_a_pooled_connection_that_died_is_replaced_without_failing_the_call(pg_schema):
    app = unique("xs-store")
    store = SqlEventStore(postgres_engine(PG_URL, connect_args={"application_name": app}),
                          DEPLOYMENT, schema=pg_schema)
    s = unique("proposal")
    store.append(s, 0, [new_event()])
    admin = sa.create_engine(PG_URL)

    def kill_the_store_connections() -> int:
        with admin.begin() as conn:
            return len(conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :a"),
                {"a": app}).all())

    assert kill_the_store_connections() >= 1
    assert [e.version for e in store.append(s, 1, [new_event()])] == [2]  # two trips
    assert kill_the_store_connections() >= 1
    assert [e.version for e in store.append(s, 2, [new_event(), new_event()])] == [3, 4]  # one
    assert kill_the_store_connections() >= 1
    assert [e.version for e in store.read_stream(s)] == [1, 2, 3, 4]
    assert kill_the_store_connections() >= 1
    store.set_checkpoint("relay", 4)
    assert store.get_checkpoint("relay") == 4 and store.head() == 4 and store.verify().ok
    store.close()
    admin.dispose()


# -- the kept state of a stream --------------------------------------------------------------------

registry = EventRegistry()


@registry.register
@dataclass(frozen=True)
class Counted(DomainEvent):
    n: int


def add_on(total: int, events: list[DomainEvent]) -> int:
    return total + sum(e.n for e in events)


def test_a_kept_state_is_folded_on_with_only_the_events_recorded_since():
    store = MemoryEventStore(DEPLOYMENT)
    reads: list[int] = []
    original = store.read_stream
    store.read_stream = lambda stream, from_version=1: reads.append(from_version) or original(
        stream, from_version)
    streams = Streams(store, registry, FixedClock(AT))
    ctx = CommandContext(actor=STAFF)
    for n in range(1, 6):
        streams.decide(ctx, "counter", None, lambda total, n=n: [Counted(n)],
                       load=lambda: streams.load_kept("counter", 0, add_on))
    # Another instance (another process) records on the same stream meanwhile.
    store.append("counter", 5, [ctx.new_event("Counted", {"n": 100})])
    loaded = Streams(store, registry, FixedClock(AT)).load_kept("counter", 0, add_on)
    assert (loaded.state, loaded.version) == (115, 6) == (sum(e.n for e in streams.read("counter")[0]), 6)
    assert [e.n for e in loaded.events] == [5, 100]  # read this time
    assert reads == [1, 1, 2, 3, 4, 5, 1]  # each load read only what was new (the last: the check)
    assert streams.load_kept("counter", 0, add_on).events == []
    assert Streams(MemoryEventStore(DEPLOYMENT), registry, FixedClock(AT)).load_kept(
        "counter", 0, add_on).state == 0  # kept per store
