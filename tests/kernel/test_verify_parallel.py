"""``verify(jobs=N)``: chunks of positions verified in parallel processes report exactly what
the one-process walk reports, wherever the tampering falls relative to the chunks' borders."""

from __future__ import annotations

import os
import shutil

import pytest
import sqlalchemy as sa

from xieshang.kernel.store import verify as verify_module
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine

from ..conftest import DEPLOYMENT, PG_URL, new_event, unique

pytestmark = pytest.mark.subprocess

N_EVENTS = 13  # borders: at 6 with 2 jobs; 4, 8 with 3; 2, 5, 7, 10 with 5


def fill(store: SqlEventStore, n: int = N_EVENTS) -> None:
    streams = [unique("case") for _ in range(3)]
    for i in range(n):
        store.append(streams[i % 3], None, [new_event("Noted", n=i)])


@pytest.fixture(scope="module")
def base_log(tmp_path_factory):
    """A SQLite file holding 13 events (closed, so the file alone holds them)."""
    path = tmp_path_factory.mktemp("verify") / "base.sqlite"
    store = SqlEventStore(sqlite_engine(str(path)), DEPLOYMENT)
    fill(store)
    store.close()
    return path


def tampered(base_log, tmp_path, name: str, *statements: str) -> SqlEventStore:
    path = tmp_path / f"{name}.sqlite"
    shutil.copy(base_log, path)
    store = SqlEventStore(sqlite_engine(str(path)), DEPLOYMENT)
    with store.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    return store


def swap(a: int, b: int) -> tuple[str, ...]:
    return (f"UPDATE events SET position = -1 WHERE position = {a}",
            f"UPDATE events SET position = {a} WHERE position = {b}",
            f"UPDATE events SET position = {b} WHERE position = -1")


def forged_past_head(position: int) -> str:
    return ("INSERT INTO events (position, event_id, stream, version, type, body, prev_hash, hash) "
            f"SELECT {position}, 'forged', 'forged', 1, 'Noted', body, hash, hash FROM events "
            "WHERE position = 1")


POSITIONS = range(1, N_EVENTS + 1)
CASES = {
    "intact": (),
    **{f"deleted-{p}": (f"DELETE FROM events WHERE position = {p}",) for p in POSITIONS},
    **{f"type-{p}": (f"UPDATE events SET type = 'Renamed' WHERE position = {p}",) for p in POSITIONS},
    **{f"event-id-{p}": (f"UPDATE events SET event_id = 'x' || event_id WHERE position = {p}",)
       for p in (1, 6, 7, 13)},
    **{f"prev-hash-{p}": (f"UPDATE events SET prev_hash = '{'c' * 64}' WHERE position = {p}",)
       for p in POSITIONS},
    **{f"body-{p}": (f"UPDATE events SET body = CAST(replace(CAST(body AS TEXT), 'Noted', 'Nested') "
                     f"AS BLOB) WHERE position = {p}",) for p in (1, 5, 9, 13)},
    **{f"swapped-{p}": swap(p, p + 1) for p in range(1, N_EVENTS)},
    **{f"deleted-from-{p}": (f"DELETE FROM events WHERE position >= {p}",) for p in POSITIONS},
    **{f"deleted-{p}-to-{q}": (f"DELETE FROM events WHERE position BETWEEN {p} AND {q}",)
       for p, q in ((2, 5), (4, 9), (6, 7), (3, 12))},
    **{f"gap-from-{p}-and-forged-{q}": (f"DELETE FROM events WHERE position >= {p}", forged_past_head(q))
       for p, q in ((3, 15), (8, 14), (13, 20))},
    "forged-past-head": (forged_past_head(N_EVENTS + 1),),
    "forged-past-head-gap": (forged_past_head(N_EVENTS + 3),),
    "forged-before-start": ("INSERT INTO events (position, event_id, stream, version, type, body, "
                            "prev_hash, hash) SELECT 0, 'forged', 'forged', 1, 'Noted', body, prev_hash, "
                            "hash FROM events WHERE position = 1",),
    "head-hash": (f"UPDATE chain_head SET hash = '{'d' * 64}'",),
    "head-behind": ("UPDATE chain_head SET position = 9",),
    "head-ahead": ("UPDATE chain_head SET position = 20",),
    "several": ("DELETE FROM events WHERE position = 11", *swap(7, 8),
                "UPDATE events SET stream = 'x' WHERE position = 3"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_chunks_report_what_one_process_reports(base_log, tmp_path, monkeypatch, case):
    store = tampered(base_log, tmp_path, case, *CASES[case])
    try:
        expected = store.verify()
        assert expected.ok == (case == "intact"), expected
        monkeypatch.setattr(verify_module, "MIN_CHUNK", 1)
        monkeypatch.setattr(verify_module, "START_METHOD", "fork")
        for jobs in (2, 3, 5):
            assert store.verify(jobs=jobs) == expected, f"jobs={jobs}"
    finally:
        store.close()


@pytest.mark.parametrize("case", ["intact", "deleted-7", "prev-hash-5", "deleted-from-9", "forged-past-head"])
def test_chunks_in_spawned_processes(base_log, tmp_path, monkeypatch, case):
    # The way verify starts its processes where eventlet patched the interpreter (as here).
    store = tampered(base_log, tmp_path, case, *CASES[case])
    try:
        expected = store.verify()
        monkeypatch.setattr(verify_module, "MIN_CHUNK", 1)
        monkeypatch.setattr(verify_module, "START_METHOD", None)
        assert verify_module._context().get_start_method() == "spawn"
        assert store.verify(jobs=3) == expected
    finally:
        store.close()


def test_a_short_log_is_verified_in_one_process(base_log, tmp_path, monkeypatch):
    def no_processes(*args):
        raise AssertionError("forked for 13 events")

    monkeypatch.setattr(verify_module, "_start", no_processes)
    store = tampered(base_log, tmp_path, "short")
    assert store.verify(jobs=8).ok
    store.close()


def test_at_most_head_over_min_chunk_processes(base_log, tmp_path, monkeypatch):
    started = []
    start = verify_module._start

    def counting(target, bounds, head_position):
        started.append(bounds)
        return start(target, bounds, head_position)

    monkeypatch.setattr(verify_module, "_start", counting)
    monkeypatch.setattr(verify_module, "MIN_CHUNK", 5)
    store = tampered(base_log, tmp_path, "capped")
    report = store.verify(jobs=16)
    store.close()
    assert report.ok and report.checked == N_EVENTS
    assert started == [[(6, 13)]]  # two chunks: this process verifies 1-6, one child 7-13


def test_a_failing_process_fails_verify(base_log, tmp_path, monkeypatch):
    parent = os.getpid()
    check_chunk = verify_module._check_chunk

    def failing_in_children(*args):
        if os.getpid() != parent:
            raise ValueError("the disk is on fire")
        return check_chunk(*args)

    monkeypatch.setattr(verify_module, "_check_chunk", failing_in_children)
    monkeypatch.setattr(verify_module, "MIN_CHUNK", 1)
    monkeypatch.setattr(verify_module, "START_METHOD", "fork")
    store = tampered(base_log, tmp_path, "failing")
    with pytest.raises(RuntimeError, match="positions 7 to 13 failed: ValueError: the disk is on fire"):
        store.verify(jobs=2)
    assert store.verify().ok  # the store is as usable as before
    store.close()


def test_a_process_that_dies_fails_verify(base_log, tmp_path, monkeypatch):
    parent = os.getpid()
    check_chunk = verify_module._check_chunk

    def dying_in_children(*args):
        if os.getpid() != parent:
            os._exit(3)
        return check_chunk(*args)

    monkeypatch.setattr(verify_module, "_check_chunk", dying_in_children)
    monkeypatch.setattr(verify_module, "MIN_CHUNK", 1)
    monkeypatch.setattr(verify_module, "START_METHOD", "fork")
    store = tampered(base_log, tmp_path, "dying")
    with pytest.raises(RuntimeError, match=r"positions 7 to 13 ended without an answer \(exit code 3\)"):
        store.verify(jobs=2)
    store.close()


@pytest.mark.postgres
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_postgresql_chunks_leave_the_parents_connections_working(pg_schema, monkeypatch, method):
    # A child never touches the connections it inherits: the parent's pooled ones go on working.
    monkeypatch.setattr(verify_module, "MIN_CHUNK", 1)
    monkeypatch.setattr(verify_module, "START_METHOD", method)
    store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema)
    try:
        fill(store, 30)
        for _ in range(3):
            report = store.verify(jobs=3)
            assert report.ok and report.checked == store.head() == 30 + _, report
            store.append(unique("after"), None, [new_event()])
        assert len(store.read_all()) == 33
        with store.engine.begin() as conn:
            conn.execute(sa.text(f'UPDATE "{pg_schema}".events SET prev_hash = :h WHERE position = 23'),
                         {"h": "c" * 64})
        expected = store.verify()
        assert expected.first_bad_position == 23
        assert store.verify(jobs=3) == store.verify(jobs=4) == expected
    finally:
        store.close()
