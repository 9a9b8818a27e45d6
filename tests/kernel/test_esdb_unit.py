"""The EventStoreDB adapter's pure parts (no server), plus a few checks that need a real server
and run only when ESDB_URI is set (the contract itself is TestEsdbStore in test_store_backends)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from types import SimpleNamespace

import eventlet
import orjson
import pytest

from xieshang.kernel.envelope import encode_body
from xieshang.kernel.store import Tracking
from xieshang.kernel.store.esdb import (
    EsdbEventStore, OutgoingEvent, check_link, check_prefix, checkpoint_stream_name, chain_tip,
    envelope_from_record, esdb_event_id, esdb_revision, event_stream_name, events_filter,
    lease_stream_name, load_esdbclient, logical_stream_name, our_version, processed_stream_name,
    record_position, seal_event, tracking_event_id, tracking_marker_id, version_from_conflict,
    with_tracking_ids)
from xieshang.kernel.store.port import GENESIS_HASH, StoreError, chain_hash, stamp

from ..conftest import DEPLOYMENT, new_event, unique

ESDB_URI = os.environ.get("ESDB_URI")
T0 = datetime(2026, 11, 23, 9, 30, tzinfo=timezone.utc)


def _server_matches(pattern: str, name: str) -> bool:
    # esdbclient sends an include filter as "^" + pattern + "$"
    return re.match("^" + pattern + "$", name) is not None


def _record(out: OutgoingEvent, esdb_stream: str, revision: int, position: int | None):
    """What esdbclient's RecordedEvent gives us back for an event we wrote."""
    return SimpleNamespace(id=out.id, type=out.type, data=out.data, metadata=out.metadata,
                           stream_name=esdb_stream, stream_position=revision,
                           commit_position=position)


def _chain(prefix: str, stream: str, n: int, first_position: int = 1000, tracking=None):
    """n events of one stream as stored: (envelopes, records)."""
    prev, envelopes, records = GENESIS_HASH, [], []
    for i in range(n):
        env = stamp(new_event("Something", n=i), stream, i + 1, T0, DEPLOYMENT)
        out, digest = seal_event(env, prev, tracking)
        position = first_position + 100 * i
        envelopes.append(env.with_position(position, prev, digest))
        records.append(_record(out, event_stream_name(prefix, stream), i, position))
        prev = digest
    return envelopes, records


# -- names -------------------------------------------------------------------------------

def test_streams_are_namespaced_by_prefix_and_internal_streams_are_filtered_out():
    p = "proposals"
    assert event_stream_name(p, "proposal-42") == "proposals-proposal-42"
    assert logical_stream_name(p, "proposals-proposal-42") == "proposal-42"
    assert logical_stream_name(p, "members-m-1") is None
    pattern = events_filter(p)
    assert _server_matches(pattern, event_stream_name(p, "proposal-42"))
    for internal in (processed_stream_name(p, "notify.on-filed", str(uuid.uuid4())),
                     checkpoint_stream_name(p, "relay"), lease_stream_name(p, "relay"),
                     "$$proposals-proposal-42", "$et-Something"):
        assert not _server_matches(pattern, internal), internal
    # another service's prefix that starts with ours is not ours
    assert not _server_matches(pattern, event_stream_name("proposals_v2", "proposal-42"))
    assert len({checkpoint_stream_name(p, "x"), lease_stream_name(p, "x"),
                processed_stream_name(p, "x", "y"), event_stream_name(p, "x")}) == 4


@pytest.mark.parametrize("bad", ["", "a-b", "has space", "x" * 61, "ümlaut", "a~b"])
def test_prefix_must_not_be_ambiguous(bad):
    with pytest.raises(ValueError, match="prefix"):
        check_prefix(bad)
    assert check_prefix("xs_0a1b2c") == "xs_0a1b2c"


def test_constructing_a_store_connects_nothing():
    store = EsdbEventStore("esdb://127.0.0.1:1?Tls=false", DEPLOYMENT, prefix="proposals")
    assert store.prefix == "proposals" and store._client_obj is None
    with pytest.raises(ValueError, match="prefix"):
        EsdbEventStore("esdb://127.0.0.1:1?Tls=false", DEPLOYMENT, prefix="bad-prefix")


def test_module_imports_without_grpc():
    code = ("import eventlet; eventlet.monkey_patch(); import sys; "
            "import xieshang.kernel.store.esdb; "
            "assert 'grpc' not in sys.modules and 'esdbclient' not in sys.modules, 'imported grpc'")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


# -- versions --------------------------------------------------------------------------

def test_version_mapping():
    assert esdb_revision(0) is None  # our 0: the stream must not exist
    assert esdb_revision(1) == 0 and esdb_revision(7) == 6
    assert our_version(None) == 0 and our_version(0) == 1 and our_version(6) == 7
    assert all(our_version(esdb_revision(v)) == v for v in range(10))
    with pytest.raises(ValueError):
        esdb_revision(-1)


@pytest.mark.parametrize("message, version", [
    ("Stream 'xs_1-proposal-1' does not exist", 0),
    ("Stream position of last event is 0 not 1", 1),
    ("Stream position of last event is 41 not StreamState.NO_STREAM", 42),
    ("Current version is 4", 5),
    ("something else entirely", None),
])
def test_actual_version_from_a_conflict_message(message, version):
    assert version_from_conflict(message) == version


# -- ids -------------------------------------------------------------------------------

def test_event_ids_map_to_uuids():
    u = str(uuid.uuid4())
    assert esdb_event_id(u) == uuid.UUID(u)
    assert esdb_event_id(u.upper()) == uuid.UUID(u)
    assert esdb_event_id("not-a-uuid") == esdb_event_id("not-a-uuid") != esdb_event_id("other")


def test_tracking_ids_are_deterministic_per_consumer_upstream_event_and_index():
    up = str(uuid.uuid4())
    a = tracking_event_id("notify.on-filed", up, 0)
    assert a == tracking_event_id("notify.on-filed", up, 0)
    assert uuid.UUID(a).version == 5
    others = {tracking_event_id("notify.on-filed", up, 1), tracking_event_id("notify.other", up, 0),
              tracking_event_id("notify.on-filed", str(uuid.uuid4()), 0),
              tracking_marker_id("notify.on-filed", up)}
    assert a not in others and len(others) == 4
    t = Tracking("notify.on-filed", up, 9)
    events = [new_event("A"), new_event("B")]
    tracked = with_tracking_ids(events, t)
    assert [e.event_id for e in tracked] == [tracking_event_id(t.consumer, up, i) for i in range(2)]
    assert [replace(e, event_id="") for e in tracked] == [replace(e, event_id="") for e in events]
    assert [e.event_id for e in with_tracking_ids([new_event("A"), new_event("B")], t)] == \
        [e.event_id for e in tracked]  # a repeated effect gets the same ids


# -- envelope <-> EventStoreDB event ------------------------------------------------------

def test_envelope_round_trips_through_an_esdb_event():
    env = stamp(new_event("ProposalFiled", title="路灯", n=3), "proposal-1", 1, T0, DEPLOYMENT)
    tracking = Tracking("notify.on-filed", str(uuid.uuid4()), 12)
    out, digest = seal_event(env, GENESIS_HASH, tracking)
    assert out.id == uuid.UUID(env.event_id) and out.type == "ProposalFiled"
    data = orjson.loads(out.data)
    assert data["prev_hash"] == GENESIS_HASH and data["hash"] == digest
    body = {k: v for k, v in data.items() if k not in ("prev_hash", "hash")}
    assert encode_body(body) == encode_body(env.body())  # the canonical body, as hashed
    assert digest == chain_hash(GENESIS_HASH, 1, encode_body(env.body()))
    meta = orjson.loads(out.metadata)
    assert meta["type"] == "ProposalFiled" and meta["format"] == "xieshang.envelope/1"
    assert meta["tracking"] == {"consumer": tracking.consumer, "event_id": tracking.event_id,
                                "position": 12}
    back = envelope_from_record(_record(out, "proposals-proposal-1", 0, 123456))
    assert back == env.with_position(123456, GENESIS_HASH, digest)
    assert back.data == {"title": "路灯", "n": 3}


def test_records_without_a_commit_position_are_refused_clearly():
    _, records = _chain("p", "s", 1)
    for missing in (None, 2**64 - 1):
        with pytest.raises(StoreError, match="22.10"):
            record_position(replace_ns(records[0], commit_position=missing))


def test_foreign_events_are_refused_clearly():
    _, records = _chain("p", "s", 1)
    with pytest.raises(StoreError, match="not a xieshang envelope"):
        envelope_from_record(replace_ns(records[0], data=b'{"hello": "world"}'))
    with pytest.raises(StoreError, match="cannot chain"):
        chain_tip(replace_ns(records[0], data=b"\x00binary"))


# -- the chain, per stream -------------------------------------------------------------

def test_each_stream_chains_from_genesis():
    envs_a, recs_a = _chain("p", "a", 3)
    envs_b, recs_b = _chain("p", "b", 2, first_position=1050)
    assert envs_a[0].prev_hash == envs_b[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in envs_a[1:]] == [e.hash for e in envs_a[:-1]]
    assert chain_tip(None) == GENESIS_HASH and chain_tip(recs_a[-1]) == envs_a[-1].hash
    for recs in (recs_a, recs_b):
        prev = GENESIS_HASH
        for version, rec in enumerate(recs, start=1):
            assert check_link(rec, "p", version, prev) is None
            prev = envelope_from_record(rec).hash


def _problem(records, prefix="p"):
    """The first problem a walk over ``records`` (one stream, in order) finds."""
    prev, version = GENESIS_HASH, 1
    for rec in records:
        problem = check_link(rec, prefix, version, prev)
        if problem:
            return rec.commit_position, problem
        prev, version = orjson.loads(rec.data)["hash"], version + 1
    return None


def replace_ns(ns, **changes):
    return SimpleNamespace(**{**vars(ns), **changes})


def _rewrite(rec, **body_changes):
    d = orjson.loads(rec.data)
    d.update(body_changes)
    return replace_ns(rec, data=encode_body(d))


def test_chain_names_the_modified_event():
    _, recs = _chain("p", "s", 3)
    forged = recs[:1] + [_rewrite(recs[1], data={"n": 999})] + recs[2:]
    position, problem = _problem(forged)
    assert position == recs[1].commit_position and "was modified" in problem


def test_chain_names_an_inserted_or_replaced_event():
    _, recs = _chain("p", "s", 3)
    # a rebuilt second event whose own hash is right but which does not follow the first
    env = stamp(new_event("Forged"), "s", 2, T0, DEPLOYMENT)
    out, _ = seal_event(env, GENESIS_HASH)
    forged = [recs[0], _record(out, "p-s", 1, 1100), recs[2]]
    position, problem = _problem(forged)
    assert position == 1100 and "does not follow version 1" in problem


def test_chain_names_a_gap_left_by_a_deleted_event():
    _, recs = _chain("p", "s", 4)
    position, problem = _problem([recs[0], recs[2], recs[3]])
    assert position == recs[2].commit_position and "jumps from version 1 to 3" in problem
    position, problem = _problem(recs[2:])  # truncated before
    assert position == recs[2].commit_position and "starts at version 3" in problem


def test_chain_names_a_record_that_disagrees_with_its_hashed_body():
    _, recs = _chain("p", "s", 2)
    for forged in (replace_ns(recs[1], type="OtherType"), replace_ns(recs[1], id=uuid.uuid4()),
                   replace_ns(recs[1], stream_name="p-other")):
        position, problem = _problem([recs[0], forged])
        assert position == recs[1].commit_position and "differs from its hashed body" in problem


# -- grpc under eventlet (real grpc, no server) ------------------------------------------

def test_grpc_is_loaded_with_real_threads_under_eventlet():
    load_esdbclient()
    import grpc._channel

    assert grpc._channel.threading is not sys.modules["threading"]
    assert grpc._channel.threading.Lock is not sys.modules["threading"].Lock


def test_an_unreachable_server_fails_clearly_without_stalling_the_hub():
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        store = EsdbEventStore(f"esdb://127.0.0.1:{port}?Tls=false", DEPLOYMENT, prefix=unique("xs"))
        gaps, done = [], []

        def ticker():
            last = time.monotonic()
            while not done:
                eventlet.sleep(0.005)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        eventlet.spawn(ticker)
        try:
            with eventlet.Timeout(30), pytest.raises(StoreError, match="ServiceUnavailable|Deadline"):
                store.stream_version("s")
        finally:
            done.append(True)
            store.close()
    assert gaps and max(gaps) < 0.5, f"hub stalled for {max(gaps):.3f}s"


# -- with a real server -------------------------------------------------------------------

@pytest.mark.skipif(not ESDB_URI, reason="needs an EventStoreDB server: ESDB_URI is not set "
                    "(no EventStoreDB server can be installed on this machine)")
class TestEsdbServer:
    @pytest.fixture
    def store(self):
        s = EsdbEventStore(ESDB_URI, DEPLOYMENT, prefix=unique("xs"))
        yield s
        s.close()

    def test_positions_are_commit_positions_of_all(self, store):
        stored = store.append(unique("s"), 0, [new_event(), new_event(), new_event()])
        positions = [e.position for e in stored]
        assert positions == sorted(set(positions)) and store.head() == positions[-1]
        assert [e.event_id for e in store.read_all()] == [e.event_id for e in stored]

    def test_verify_names_a_forged_event(self, store):
        s = unique("s")
        first = store.append(s, 0, [new_event(n=1)])[0]
        env = stamp(new_event(n=2), s, 2, T0, DEPLOYMENT)
        out, _ = seal_event(env, first.hash)
        d = orjson.loads(out.data)
        d["data"] = {"n": 999}  # changed after it was hashed
        forged = OutgoingEvent(out.id, out.type, encode_body(d), out.metadata)
        store._offload(store._append_records, event_stream_name(store.prefix, s), 0, [forged])
        store.append(unique("s"), 0, [new_event()])
        report = store.verify()
        forged_position = store.read_all(after=first.position, limit=1)[0].position
        assert report.first_bad_position == forged_position and "was modified" in report.problem
        assert report.checked == 1

    def test_tracked_effect_stored_before_a_crash_is_not_repeated(self, store):
        t = Tracking("notify.on-filed", str(uuid.uuid4()), 5)
        s = unique("notice")
        # the events got in, the process died before the marker was written
        store.append(s, 0, with_tracking_ids([new_event()], t))
        assert not store.is_processed(t.consumer, t.event_id)
        assert store.append(s, None, [new_event()], tracking=t) == []
        assert store.is_processed(t.consumer, t.event_id)
        assert store.stream_version(s) == 1

    def test_appends_do_not_stall_the_hub(self, store):
        gaps, done = [], []

        def ticker():
            last = time.monotonic()
            while not done:
                eventlet.sleep(0.005)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        eventlet.spawn(ticker)
        pool = eventlet.GreenPool(8)
        try:
            list(pool.imap(lambda i: store.append(unique("s"), 0, [new_event(n=i)]), range(40)))
            assert len(store.read_all()) == 40
        finally:
            done.append(True)
        assert max(gaps) < 0.25, f"hub stalled for {max(gaps):.3f}s"
