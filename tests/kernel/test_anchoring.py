"""Anchored history: checkpoints of the log's head signed with ed25519, and what they catch that
the hash chain alone cannot: a rewrite with the chain recomputed, a truncated tail with the head
rewound, a checkpoint forged or re-signed (each named by its first bad position)."""

from __future__ import annotations

import base64
import os
import stat
import threading
from datetime import datetime, timedelta, timezone

import orjson
import pytest
import sqlalchemy as sa

from xieshang.kernel import anchoring
from xieshang.kernel.anchoring import (CHECKPOINT_STREAM, CheckpointSigner, Evidence,
                                       LogCheckpointed, Sealer, check_checkpoints,
                                       load_public_keys, read_evidence, register_checkpoint_events,
                                       seal, verify_anchored, verify_signature)
from xieshang.kernel.config import ConfigError, Settings
from xieshang.kernel.domain import EventRegistry
from xieshang.kernel.store import chain_hash
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine

from ..conftest import DEPLOYMENT, PG_URL, new_event, unique

SERVICE = "proposals"
T0 = datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self, at: datetime = T0):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def tick(self, seconds: float = 300) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def signer() -> CheckpointSigner:
    return CheckpointSigner.generate()


def fill(store, n: int) -> None:
    for i in range(n):
        store.append(unique("proposal"), None, [new_event("Noted", n=i)])


def sealed_log(store, signer, clock, *batches: int) -> list:
    """Append each batch of events, sealing after each: the checkpoints' envelopes."""
    out = []
    for n in batches:
        fill(store, n)
        clock.tick()
        out += seal(store, signer, clock, service=SERVICE)
    return out


# -- the event, the key, the seal ---------------------------------------------------------------
def test_the_event_registers_and_its_id_is_fixed_by_what_it_seals(signer):
    registry = register_checkpoint_events(EventRegistry())
    assert "LogCheckpointed" in registry
    a = LogCheckpointed(SERVICE, "640200", "city", 5, "a" * 64, "2026-05-01T02:00:00.000000Z",
                        signer.key_id, "sig")
    b = LogCheckpointed(SERVICE, "640200", "city", 5, "a" * 64, "2026-05-01T03:00:00.000000Z",
                        signer.key_id, "other")
    assert a.identity() == b.identity()
    assert a.identity() != LogCheckpointed(SERVICE, "640200", "city", 6, "a" * 64, "", "", "").identity()
    assert a.statement().startswith(b"xieshang.checkpoint.v1\n")
    assert orjson.loads(a.statement().split(b"\n", 1)[1]) == {
        "committee": "640200", "hash": "a" * 64, "key_id": signer.key_id, "level": "city",
        "position": 5, "sealed_at": "2026-05-01T02:00:00.000000Z", "service": SERVICE}


def test_seal_signs_the_head_and_verifies_with_any_ed25519_library(signer):
    clock = Clock()
    store = MemoryEventStore(DEPLOYMENT)
    fill(store, 3)
    [env] = seal(store, signer, clock, service=SERVICE)
    assert (env.stream, env.type, env.position) == (CHECKPOINT_STREAM, "LogCheckpointed", 4)
    cp = env.data
    assert (cp["position"], cp["hash"]) == (3, store.read_all(2, 1)[0].hash)
    assert (cp["service"], cp["committee"], cp["level"]) == (SERVICE, "640200", "city")
    assert cp["sealed_at"] == "2026-05-01T02:00:00.000000Z" and cp["key_id"] == signer.key_id
    assert env.actor.role == "system" and "封存" in env.reason
    # The signature is plain ed25519 over the documented statement.
    signer.public_key.verify(base64.b64decode(cp["signature"]), anchoring.statement(
        SERVICE, "640200", "city", 3, cp["hash"], cp["sealed_at"], signer.key_id))
    assert verify_signature(cp, {signer.key_id: signer.public_key}) is None


def test_nothing_is_sealed_twice_nor_an_empty_log(signer):
    clock = Clock()
    store = MemoryEventStore(DEPLOYMENT)
    assert seal(store, signer, clock, service=SERVICE) == []
    fill(store, 2)
    assert len(seal(store, signer, clock, service=SERVICE)) == 1
    clock.tick()
    assert seal(store, signer, clock, service=SERVICE) == []  # only the checkpoint followed
    fill(store, 1)
    [second] = seal(store, signer, clock, service=SERVICE)
    assert second.data["position"] == 4 and second.version == 2


def test_two_sealers_of_one_head_make_one_checkpoint(signer):
    clock = Clock()
    store = MemoryEventStore(DEPLOYMENT)
    fill(store, 2)
    version = store.stream_version(CHECKPOINT_STREAM)
    first = seal(store, signer, clock, service=SERVICE)
    # A second sealer that read the stream's version before the first appended loses the race.
    stale = MemoryEventStore.stream_version
    try:
        MemoryEventStore.stream_version = lambda self, s: version  # type: ignore[method-assign]
        assert seal(store, signer, clock, service=SERVICE) in ([], first)
    finally:
        MemoryEventStore.stream_version = stale  # type: ignore[method-assign]
    assert store.stream_version(CHECKPOINT_STREAM) == 1


def test_sealer_holds_the_lease_and_loops_until_stopped(signer):
    clock = Clock()
    store = MemoryEventStore(DEPLOYMENT)
    fill(store, 2)
    one = Sealer(store, signer, service=SERVICE, interval=0.01, clock=clock, holder="one")
    other = Sealer(store, signer, service=SERVICE, interval=0.01, clock=clock, holder="other")
    assert len(one.run_once()) == 1
    fill(store, 1)
    assert other.run_once() == []  # the lease is one's
    stop = threading.Event()
    thread = threading.Thread(target=one.run, args=(stop,))
    thread.start()
    try:
        deadline = datetime.now() + timedelta(seconds=5)
        while store.stream_version(CHECKPOINT_STREAM) < 2 and datetime.now() < deadline:
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join(5)
    assert not thread.is_alive()
    assert store.stream_version(CHECKPOINT_STREAM) == 2 and one.sealed == 2
    with pytest.raises(ValueError):
        Sealer(store, signer, service=SERVICE, interval=0)


def test_the_key_file_is_made_owner_only_once_and_its_public_key_beside_it(tmp_path):
    before = os.umask(0o022)
    try:
        path = tmp_path / "keys" / "checkpoint-640200.key"
        made = CheckpointSigner.from_file(str(path))
        again = CheckpointSigner.from_file(str(path))
    finally:
        os.umask(before)
    assert made.key_id == again.key_id and made.key_id.startswith("ed25519:")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert b"PRIVATE KEY" in path.read_bytes()
    assert list(load_public_keys([f"{path}.pub"])) == [made.key_id]
    assert list(load_public_keys([str(path)])) == [made.key_id]  # a private key gives its public
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint-640200.key",
                                                             "checkpoint-640200.key.pub"]
    os.chmod(path, 0o644)
    CheckpointSigner.from_file(str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_default_key_lies_beside_the_data_folder_not_in_it(tmp_path):
    settings = Settings(service=SERVICE, data_dir=str(tmp_path / "data"), committee="640200")
    signer = CheckpointSigner.load(settings, {})
    assert (tmp_path / "keys" / "checkpoint-640200.key").exists()
    assert not (tmp_path / "data").exists()
    chosen = tmp_path / "elsewhere.key"
    assert CheckpointSigner.load(settings, {"XIESHANG_CHECKPOINT_KEY": str(chosen)}).key_id != signer.key_id
    assert chosen.exists()


def test_a_key_file_that_is_no_ed25519_key_is_refused_naming_it(tmp_path):
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    with pytest.raises(ConfigError, match="XIESHANG_CHECKPOINT_KEY.*bad.key"):
        CheckpointSigner.from_file(str(bad))
    with pytest.raises(ConfigError, match="does not exist"):
        CheckpointSigner.from_file(str(tmp_path / "none.key"), create=False)
    with pytest.raises(ValueError, match="bad.key"):
        load_public_keys([str(bad)])


def test_interval_setting():
    assert anchoring.checkpoint_interval({}) == 300.0
    assert anchoring.checkpoint_interval({"XIESHANG_CHECKPOINT_INTERVAL": "60"}) == 60.0
    with pytest.raises(ConfigError, match="XIESHANG_CHECKPOINT_INTERVAL"):
        anchoring.checkpoint_interval({"XIESHANG_CHECKPOINT_INTERVAL": "soon"})


# -- reading evidence -------------------------------------------------------------------------
def cloud_event(env, service=SERVICE) -> dict:
    """The feed's CloudEvent of ``env`` (the attributes check_checkpoints reads)."""
    return {"specversion": "1.0", "id": env.event_id, "source": "urn:cppcc:640200",
            "type": f"cn.gov.cppcc.{service}.{env.type}.v1", "subject": env.stream,
            "xsservice": service, "xsposition": env.position, "xshash": env.hash,
            "data": dict(env.data)}


def test_evidence_is_read_from_feed_events_envelopes_link_messages_and_bare_checkpoints(signer):
    clock = Clock()
    store = MemoryEventStore(DEPLOYMENT)
    [cp] = sealed_log(store, signer, clock, 2)
    noted = store.read_all(0, 1)[0]
    link = {"kind": "log.checkpointed", "sender": {"committee": "640200", "level": "city"},
            "to": "640000", "event_id": cp.event_id, "event_type": cp.type, "stream": cp.stream,
            "position": cp.position, "hash": cp.hash, "occurred_at": "x", "payload": dict(cp.data)}
    lines = [cloud_event(cp), cloud_event(noted), cp.to_dict(), link, dict(cp.data)]
    text = "\n".join(orjson.dumps(x).decode() for x in lines) + "\n\n"
    found = read_evidence(text, "feed.jsonl")
    assert [e.where for e in found] == [f"feed.jsonl line {i}" for i in range(1, 6)]
    assert [e.checkpoint is not None for e in found] == [True, False, True, True, True]
    assert [e.position for e in found] == [3, 1, 3, 3, None]
    assert {e.committee for e in found} == {"640200"}
    # One feed page as the gateway answers it, or a JSON list, read as well.
    page = orjson.dumps({"events": [cloud_event(cp), cloud_event(noted)], "next": 3}).decode()
    assert [e.position for e in read_evidence(page)] == [3, 1]
    assert len(read_evidence(orjson.dumps(lines).decode())) == 5
    with pytest.raises(ValueError, match="line 2"):
        read_evidence('{"a": 1}\nnot json\n')
    with pytest.raises(ValueError, match="line 1"):
        read_evidence('{"a": 1}\n')


# -- checking an intact log -------------------------------------------------------------------
def test_an_intact_log_checks_against_its_own_checkpoints_and_the_feed(signer):
    clock = Clock()
    store = MemoryEventStore(DEPLOYMENT)
    checkpoints = sealed_log(store, signer, clock, 3, 4, 2)
    fill(store, 2)  # not sealed yet
    feed = [Evidence(f"e{e.position}", e.data if e.type == "LogCheckpointed" else None, e.position,
                     e.hash, SERVICE, "640200") for e in store.read_all()]
    report = verify_anchored(store, feed, signer.public_key, service=SERVICE)
    assert report.ok, report.problem
    assert report.anchored == checkpoints[-1].data["position"] == 11
    assert report.checkpoints == 6 and report.pins == store.head() == 14
    assert report.last_position == 14
    # Without the key nothing can be trusted; another service's records are passed over.
    keyless = check_checkpoints(store, [], None, service=SERVICE)
    assert not keyless.ok and keyless.first_bad_position == 4 and "not one of the keys" in keyless.problem
    other = check_checkpoints(store, [Evidence("x", None, 99, "f" * 64, "members", "640200")],
                              signer.public_key, service=SERVICE)
    assert other.ok and other.other_logs == 1 and other.pins == 0


def test_a_wrong_copy_under_a_signed_checkpoint_is_refuted_not_blamed_on_the_log(signer):
    clock = Clock()
    store = MemoryEventStore(DEPLOYMENT)
    sealed_log(store, signer, clock, 5)
    report = check_checkpoints(store, [Evidence("feed line 1", None, 2, "0" * 64, SERVICE, "640200")],
                               signer.public_key, service=SERVICE)
    assert report.ok and "the copy is wrong" in report.notes[0]


def test_a_file_checkpoint_with_a_bad_signature_fails_without_blaming_a_row(signer):
    clock = Clock()
    store = MemoryEventStore(DEPLOYMENT)
    [cp] = sealed_log(store, signer, clock, 3)
    forged = {**cp.data, "position": 2}
    report = check_checkpoints(store, [Evidence("upper.jsonl line 1", forged, service=SERVICE,
                                                committee="640200")],
                               signer.public_key, service=SERVICE)
    assert not report.ok and report.first_bad_position is None
    assert "upper.jsonl line 1" in report.problem and "signature does not verify" in report.problem


# -- tampering with a SQL store -----------------------------------------------------------------
N = 30


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_log(request, tmp_path, signer):
    """A SQL store of 30 events sealed at 10, 20 and 30 (the checkpoints at 11, 22 and 33), then
    3 events more: 36 rows."""
    if request.param == "sqlite":
        store = SqlEventStore(sqlite_engine(str(tmp_path / "events.sqlite")), DEPLOYMENT)
        schema = None
    else:
        schema = request.getfixturevalue("pg_schema")
        store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=schema)
    clock = Clock()
    checkpoints = []
    for _ in range(3):
        fill(store, 10)
        clock.tick()
        checkpoints += seal(store, signer, clock, service=SERVICE)
    fill(store, 3)
    assert [c.position for c in checkpoints] == [11, 22, 33] and store.head() == 36
    store.feed = [cloud_event(e) for e in store.read_all()]  # what a subscriber kept
    store.checkpoint_rows = checkpoints
    store.q = f'"{schema}".' if schema else ""
    yield store
    store.close()


def rows_from(store, position: int) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            f"SELECT position, body, prev_hash, hash FROM {store.q}events WHERE position >= :p "
            "ORDER BY position"), {"p": position}).mappings()]


def rechain(store, position: int, body: bytes | None = None, delete_after: int | None = None) -> None:
    """What a tamperer who knows the hash function does: change (or drop) rows, recompute every
    hash from ``position`` on and move the chain head to match, so that ``verify()`` passes."""
    with store.engine.begin() as conn:
        if delete_after is not None:
            conn.execute(sa.text(f"DELETE FROM {store.q}events WHERE position > :p"), {"p": delete_after})
        if body is not None:
            conn.execute(sa.text(f"UPDATE {store.q}events SET body = :b WHERE position = :p"),
                         {"b": body, "p": position})
        rows = [dict(r) for r in conn.execute(sa.text(
            f"SELECT position, body, prev_hash FROM {store.q}events WHERE position >= :p "
            "ORDER BY position"), {"p": position}).mappings()]
        prev = rows[0]["prev_hash"] if rows else None
        for r in rows:
            digest = chain_hash(prev, r["position"], bytes(r["body"]))
            conn.execute(sa.text(f"UPDATE {store.q}events SET prev_hash = :prev, hash = :h "
                                 "WHERE position = :p"), {"prev": prev, "h": digest, "p": r["position"]})
            prev = digest
        last = conn.execute(sa.text(f"SELECT position, hash FROM {store.q}events "
                                    "ORDER BY position DESC LIMIT 1")).one()
        conn.execute(sa.text(f"UPDATE {store.q}chain_head SET position = :p, hash = :h WHERE id = 1"),
                     {"p": last[0], "h": last[1]})
    store._drop_idle(invalidate=False)
    assert store.verify().ok, "the tamperer's rewrite should pass the chain walk"


def edited(store, position: int) -> bytes:
    body = bytes(rows_from(store, position)[0]["body"])
    assert b'"reason":"test"' in body
    return body.replace(b'"reason":"test"', b'"reason":"edit"')


def feed_evidence(store, *, only=None) -> list[Evidence]:
    text = "\n".join(orjson.dumps(e).decode() for e in store.feed
                     if only is None or only(e))
    return read_evidence(text, "feed.jsonl")


def test_intact_sql_log_checks(sql_log, signer):
    report = verify_anchored(sql_log, feed_evidence(sql_log), signer.public_key, service=SERVICE)
    assert report.ok, report.problem
    assert report.anchored == 32 and report.last_position == 36


def test_rewrite_and_rechain_is_caught_by_the_checkpoints_in_the_log(sql_log, signer):
    rechain(sql_log, 15, edited(sql_log, 15))
    report = verify_anchored(sql_log, [], signer.public_key, service=SERVICE)
    assert not report.ok
    # The checkpoint at 22 (sealing 21) no longer matches; the one at 11 (sealing 10) does.
    assert report.first_bad_position == 11, report.problem
    assert "between positions 11 and 21" in report.problem
    assert "checkpoint at position 22" in report.problem


def test_rewrite_and_rechain_is_pinned_to_the_row_by_the_feed(sql_log, signer):
    rechain(sql_log, 15, edited(sql_log, 15))
    report = verify_anchored(sql_log, feed_evidence(sql_log), signer.public_key, service=SERVICE)
    assert report.first_bad_position == 15, report.problem
    assert report.problem.startswith("position 15 was rewritten")
    assert report.last_position == 14
    # A feed of only some events narrows it to the rows between its copies.
    sparse = feed_evidence(sql_log, only=lambda e: e["xsposition"] in (12, 17))
    report = verify_anchored(sql_log, sparse, signer.public_key, service=SERVICE)
    assert report.first_bad_position == 13 and "between positions 13 and 17" in report.problem


def test_rewrite_after_the_last_checkpoint_is_caught_by_the_feed_only(sql_log, signer):
    rechain(sql_log, 35, edited(sql_log, 35))
    assert verify_anchored(sql_log, [], signer.public_key, service=SERVICE).ok  # nothing sealed it
    report = verify_anchored(sql_log, feed_evidence(sql_log), signer.public_key, service=SERVICE)
    assert report.first_bad_position == 35 and "feed.jsonl line 35" in report.problem


def test_truncate_and_rewind_is_caught_by_a_checkpoint_kept_elsewhere(sql_log, signer):
    kept = [Evidence(f"upper line {i}", c.data, service=SERVICE, committee="640200")
            for i, c in enumerate(sql_log.checkpoint_rows, 1)]
    rechain(sql_log, 26, delete_after=25)  # the checkpoint at 33 went with the tail
    assert sql_log.head() == 25
    assert verify_anchored(sql_log, [], signer.public_key, service=SERVICE).ok
    report = verify_anchored(sql_log, kept, signer.public_key, service=SERVICE)
    assert report.first_bad_position == 26, report.problem
    assert "positions 26 to 32 are missing: the log ends at 25" in report.problem
    assert "head rewound" in report.problem
    assert "upper line 3" in report.problem
    # The feed's copies alone show it too (its events reached 36).
    report = verify_anchored(sql_log, feed_evidence(sql_log), signer.public_key, service=SERVICE)
    assert report.first_bad_position == 26 and "positions 26 to 36 are missing" in report.problem


def rewrite_checkpoint(store, row_at: int, **changes) -> None:
    row = rows_from(store, row_at)[0]
    body = orjson.loads(bytes(row["body"]))
    body["data"].update(changes)
    rechain(store, row_at, orjson.dumps(body, option=orjson.OPT_SORT_KEYS))


def test_a_checkpoint_rewritten_in_the_log_fails_its_signature_at_its_row(sql_log, signer):
    rewrite_checkpoint(sql_log, 33, position=31)
    report = verify_anchored(sql_log, [], signer.public_key, service=SERVICE)
    assert report.first_bad_position == 33, report.problem
    assert "checkpoint at position 33 cannot be trusted" in report.problem
    assert "signature does not verify" in report.problem


def test_a_checkpoint_rewritten_under_a_later_one_blames_what_the_later_one_covers(sql_log, signer):
    # Rewriting the checkpoint at 22 changes the chain under the one at 33, which vouched for
    # rows 22 to 32: from 11 (after the one at 11 still matching) nothing can be trusted.
    rewrite_checkpoint(sql_log, 22, position=20)
    report = verify_anchored(sql_log, [], signer.public_key, service=SERVICE)
    assert report.first_bad_position == 11, report.problem
    assert "between positions 11 and 32" in report.problem
    assert any("checkpoint at position 22 cannot be trusted" in n for n in report.notes)


def test_a_log_rewritten_and_resealed_with_another_key_is_caught(sql_log, signer):
    # The tamperer rewrites 15, recomputes the chain and re-signs the checkpoints with a key of
    # their own: the verifier's public key does not know it.
    rechain(sql_log, 15, edited(sql_log, 15))
    theirs = CheckpointSigner.generate()
    rows = {r["position"]: r for r in rows_from(sql_log, 22)}
    for position in (22, 33):
        body = orjson.loads(bytes(rows[position]["body"]))
        cp = body["data"]
        sealed = {r["position"]: r for r in rows_from(sql_log, cp["position"])}[cp["position"]]
        cp.update(hash=sealed["hash"], key_id=theirs.key_id)
        cp["signature"] = theirs.sign(LogCheckpointed(**cp).statement())
        rechain(sql_log, position, orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
        rows = {r["position"]: r for r in rows_from(sql_log, 22)}
    report = verify_anchored(sql_log, [], signer.public_key, service=SERVICE)
    assert report.first_bad_position == 22, report.problem
    assert "not one of the keys given" in report.problem


def test_the_sealer_a_container_runs_takes_its_key_and_interval_from_the_config(tmp_path):
    settings = Settings(service=SERVICE, data_dir=str(tmp_path / "data"))
    store = MemoryEventStore(DEPLOYMENT)
    sealer = anchoring.sealer_for(store, settings, {"XIESHANG_CHECKPOINT_INTERVAL": "0.5",
                                                    "XIESHANG_CHECKPOINT_KEY": str(tmp_path / "k.key")})
    assert sealer.interval == 0.5 and sealer.service == SERVICE
    assert sealer.signer.key_id == CheckpointSigner.from_file(str(tmp_path / "k.key")).key_id
    fill(store, 1)
    assert len(sealer.run_once()) == 1


def test_the_feeds_cloud_events_of_checkpoints_are_read_as_signed_checkpoints(signer):
    from xieshang.kernel.integration import NOTHING_WITHHELD, Publication, encode_cloud_event

    registry = register_checkpoint_events(EventRegistry())
    publication = Publication(SERVICE, registry, public={"LogCheckpointed": NOTHING_WITHHELD},
                              private={})
    publication.check()
    clock = Clock()
    store = MemoryEventStore(DEPLOYMENT)
    sealed_log(store, signer, clock, 3, 2)
    lines = [encode_cloud_event(publication.cloud_event(e)).decode()
             for e in store.read_all() if publication.is_public(e.type)]
    evidence = read_evidence("\n".join(lines), "feed.jsonl")
    assert [(e.checkpoint is not None, e.position, e.service, e.committee) for e in evidence] == [
        (True, 4, SERVICE, "640200"), (True, 7, SERVICE, "640200")]
    report = check_checkpoints(store, evidence, signer.public_key, service=SERVICE, in_log=False)
    assert report.ok and report.checkpoints == 2 and report.pins == 2 and report.anchored == 6
