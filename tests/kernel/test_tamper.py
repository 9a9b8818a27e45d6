"""Tampering with the SQL rows behind the store's back is caught by ``verify()``, which names
the first position that can no longer be trusted: the same position, in the same words, whether
it walks the log in one process or in chunks in several (``jobs``; 20 events are cut at 10 with
two processes, at 6 and 13 with three)."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from xieshang.kernel.store import chain_hash
from xieshang.kernel.store import verify as verify_module
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine

from ..conftest import DEPLOYMENT, PG_URL, new_event, unique

N_EVENTS = 20
IN_PROCESSES = [pytest.mark.subprocess]


@dataclass
class Log:
    store: SqlEventStore
    table: str  # the name of its ``events`` table for raw SQL
    jobs: int

    def verify(self):
        return self.store.verify(jobs=self.jobs)


@pytest.fixture(params=[
    pytest.param(("sqlite", 1), id="sqlite"),
    pytest.param(("postgresql", 1), id="postgresql", marks=pytest.mark.postgres),
    pytest.param(("sqlite", 2), id="sqlite-jobs2", marks=IN_PROCESSES),
    pytest.param(("sqlite", 3), id="sqlite-jobs3", marks=IN_PROCESSES),
    pytest.param(("postgresql", 2), id="postgresql-jobs2", marks=[pytest.mark.postgres, *IN_PROCESSES]),
])
def log(request, tmp_path, monkeypatch):
    """A store holding 20 events over 4 streams (some appended together), verified with
    ``jobs`` processes (chunks of any size, for these few rows)."""
    backend, jobs = request.param
    monkeypatch.setattr(verify_module, "MIN_CHUNK", 1)
    if backend == "sqlite":
        store = SqlEventStore(sqlite_engine(str(tmp_path / "events.sqlite")), DEPLOYMENT)
        table = "events"
    else:
        schema = request.getfixturevalue("pg_schema")
        store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=schema)
        table = f'"{schema}".events'
    streams = [unique("proposal") for _ in range(4)]
    appended = 0
    i = 0
    while appended < N_EVENTS:
        batch = 2 if i % 3 == 0 else 1
        store.append(streams[i % 4], None, [new_event("Noted", n=appended + k) for k in range(batch)])
        appended += batch
        i += 1
    assert store.head() == N_EVENTS
    yield Log(store, table, jobs)
    store.close()


def tamper(log: Log, *statements: str, **params) -> None:
    with log.store.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement.format(t=log.table)), params)


def row(log: Log, position: int) -> dict:
    with log.store.engine.connect() as conn:
        return dict(conn.execute(sa.text(f"SELECT * FROM {log.table} WHERE position = :p"),
                                 {"p": position}).mappings().one())


def assert_caught(log: Log, first_bad: int, *words: str) -> None:
    report = log.verify()
    assert not report.ok
    assert report.first_bad_position == first_bad, report.problem
    assert report.last_position == max(first_bad - 1, 0)  # everything before it is sound
    assert report.checked == report.last_position
    for word in words:
        assert word in report.problem, report.problem


def test_intact_log_verifies(log):
    report = log.verify()
    assert report.ok, report.problem
    assert report.checked == N_EVENTS and report.last_position == N_EVENTS
    assert report.first_bad_position is None and report.problem is None


def test_modified_body(log):
    body = bytes(row(log, 7)["body"]).replace(b'"reason":"test"', b'"reason":"edited"')
    tamper(log, "UPDATE {t} SET body = :b WHERE position = 7", b=body)
    assert_caught(log, 7, "position 7 was modified", "does not match its hash")


def test_modified_indexed_column_only(log):
    tamper(log, "UPDATE {t} SET stream = 'someone-else' WHERE position = 12")
    assert_caught(log, 12, "position 12 was modified", "indexed columns")


def test_modified_stored_hash(log):
    tamper(log, "UPDATE {t} SET hash = :h WHERE position = 15", h="f" * 64)
    assert_caught(log, 15, "position 15 was modified")


def test_deleted_middle_row(log):
    tamper(log, "DELETE FROM {t} WHERE position = 9")
    assert_caught(log, 9, "position 9 is missing", "next stored row is at position 10")


def test_deleted_first_row(log):
    tamper(log, "DELETE FROM {t} WHERE position = 1")
    assert_caught(log, 1, "position 1 is missing")


def test_deleted_last_rows(log):
    tamper(log, "DELETE FROM {t} WHERE position > 17")
    assert_caught(log, 18, "positions 18 to 20 are missing", "deleted from the end")


def test_deleted_last_row(log):
    tamper(log, "DELETE FROM {t} WHERE position = 20")
    assert_caught(log, 20, "position 20 is missing", "deleted from the end")


def test_forged_row_inserted_in_the_middle(log):
    forged = row(log, 5)
    # Make room at 6 (two steps, so the primary key never collides), then forge a row there.
    tamper(log,
           "UPDATE {t} SET position = -position WHERE position >= 6",
           "UPDATE {t} SET position = 1 - position WHERE position < 0",
           "INSERT INTO {t} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (6, 'forged-id', :stream, 99, 'Noted', :body, :prev, :hash)",
           stream=forged["stream"], body=bytes(forged["body"]), prev=forged["hash"], hash="a" * 64)
    assert_caught(log, 6, "position 6 was modified")


def test_forged_row_with_stolen_predecessor_hash_in_the_middle(log):
    # The forger copies row 6's prev_hash and hash onto a new row 6 and shifts the rest up:
    # row 6 then fails its own hash, and nothing before it is blamed.
    original = row(log, 6)
    tamper(log,
           "UPDATE {t} SET position = -position WHERE position >= 6",
           "UPDATE {t} SET position = 1 - position WHERE position < 0",
           "INSERT INTO {t} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (6, 'forged-id', 'forged', 1, 'Noted', :body, :prev, :hash)",
           body=b'{"forged":true}', prev=original["prev_hash"], hash=original["hash"])
    assert_caught(log, 6, "position 6 was modified", "does not match its hash")


def test_forged_row_appended_with_made_up_hash(log):
    last = row(log, N_EVENTS)
    tamper(log,
           "INSERT INTO {t} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (21, 'forged-id', 'forged', 1, 'Noted', :body, :prev, :hash)",
           body=b'{"forged":true}', prev=last["hash"], hash="b" * 64)
    assert_caught(log, 21, "position 21 was modified")


def test_forged_row_appended_with_valid_chain_but_head_not_moved(log):
    # A forger who knows the hash function chains a row onto the end correctly: only the
    # recorded head (moved by every real append in the same transaction) shows it.
    last = row(log, N_EVENTS)
    body = (b'{"event_id":"forged-id","stream":"forged","type":"Noted","version":1}')
    tamper(log,
           "INSERT INTO {t} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (21, 'forged-id', 'forged', 1, 'Noted', :body, :prev, :hash)",
           body=body, prev=last["hash"], hash=chain_hash(last["hash"], 21, body))
    assert_caught(log, 21, "position 21 is past the recorded head", "position 20")


def test_forged_row_before_the_start(log):
    first = row(log, 1)
    tamper(log,
           "INSERT INTO {t} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (0, 'forged-id', 'forged', 1, 'Noted', :body, :prev, :hash)",
           body=bytes(first["body"]), prev=first["prev_hash"], hash=first["hash"])
    assert_caught(log, 0, "position 0 lies before the start")


def test_swapped_rows(log):
    tamper(log,
           "UPDATE {t} SET position = -1 WHERE position = 8",
           "UPDATE {t} SET position = 8 WHERE position = 13",
           "UPDATE {t} SET position = 13 WHERE position = -1")
    assert_caught(log, 8, "position 8 does not follow position 7", "reordered")


def test_swapped_neighbours(log):
    tamper(log,
           "UPDATE {t} SET position = -1 WHERE position = 3",
           "UPDATE {t} SET position = 3 WHERE position = 4",
           "UPDATE {t} SET position = 4 WHERE position = -1")
    assert_caught(log, 3, "position 3 does not follow position 2")


def test_swapped_first_rows(log):
    tamper(log,
           "UPDATE {t} SET position = -1 WHERE position = 1",
           "UPDATE {t} SET position = 1 WHERE position = 2",
           "UPDATE {t} SET position = 2 WHERE position = -1")
    assert_caught(log, 1, "position 1 does not follow the start of the log")


def test_first_of_several_tamperings_is_named(log):
    tamper(log,
           "DELETE FROM {t} WHERE position = 16",
           "UPDATE {t} SET type = 'Renamed' WHERE position = 11",
           "DELETE FROM {t} WHERE position > 18")
    assert_caught(log, 11, "position 11 was modified")


# -- at the borders of the chunks ------------------------------------------------------------
@pytest.mark.parametrize("position", [7, 11, 14])  # a chunk's first row with two or three jobs
def test_modified_predecessor_hash(log, position):
    tamper(log, "UPDATE {t} SET prev_hash = :h WHERE position = :p", h="c" * 64, p=position)
    assert_caught(log, position, f"position {position} does not follow position {position - 1}")


def test_swapped_rows_across_a_border(log):
    tamper(log,
           "UPDATE {t} SET position = -1 WHERE position = 10",
           "UPDATE {t} SET position = 10 WHERE position = 11",
           "UPDATE {t} SET position = 11 WHERE position = -1")
    assert_caught(log, 10, "position 10 does not follow position 9")


def test_deleted_rows_across_borders(log):
    tamper(log, "DELETE FROM {t} WHERE position BETWEEN 5 AND 14")
    assert_caught(log, 5, "position 5 is missing", "next stored row is at position 15")


def test_deleted_second_half(log):
    tamper(log, "DELETE FROM {t} WHERE position > 10")
    assert_caught(log, 11, "positions 11 to 20 are missing", "deleted from the end")


def test_deleted_second_half_and_a_row_forged_past_the_head(log):
    # What follows the gap lies past the recorded head: the gap is named by that row.
    last = row(log, N_EVENTS)
    tamper(log,
           "DELETE FROM {t} WHERE position > 10",
           "INSERT INTO {t} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (25, 'forged-id', 'forged', 1, 'Noted', :body, :prev, :hash)",
           body=b'{"forged":true}', prev=last["hash"], hash="b" * 64)
    assert_caught(log, 11, "position 11 is missing", "next stored row is at position 25")


def test_intact_log_with_a_row_forged_past_the_head_and_a_gap(log):
    last = row(log, N_EVENTS)
    tamper(log,
           "INSERT INTO {t} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (23, 'forged-id', 'forged', 1, 'Noted', :body, :prev, :hash)",
           body=b'{"forged":true}', prev=last["hash"], hash="b" * 64)
    assert_caught(log, 21, "position 21 is missing", "next stored row is at position 23")


def test_head_record_altered(log):
    head_table = log.table.replace("events", "chain_head")
    tamper(log, f"UPDATE {head_table} SET hash = :h WHERE id = 1", h="d" * 64)
    assert_caught(log, N_EVENTS, "the recorded head hash does not match position 20")


# -- appends while verifying -----------------------------------------------------------------
def test_verify_is_not_fooled_by_concurrent_appends(log, monkeypatch):
    # The walk and the head check read one snapshot (in chunks: every chunk stops at the head
    # read first): an append that commits while verify is walking (here: after its first page)
    # is not mistaken for a row added after the end.
    parent = os.getpid()
    pages = verify_module._pages
    appended = []

    def pages_then_append(*args):
        for page in pages(*args):
            yield page
            if os.getpid() == parent and not appended:
                appended.append(log.store.append(unique("late"), None, [new_event()]))

    monkeypatch.setattr(verify_module, "VERIFY_PAGE", 4)
    monkeypatch.setattr(verify_module, "_pages", pages_then_append)
    report = log.verify()
    monkeypatch.undo()
    assert appended, "the append during the walk did not happen"
    assert report.ok, report.problem
    assert report.last_position == N_EVENTS
    assert log.verify().last_position == N_EVENTS + 1


@pytest.mark.postgres
def test_verify_while_appending_green_threads(pg_schema):
    # The same, black-box: under eventlet every query of verify yields to an appender.
    verify_over_and_over_while_appending(pg_schema, jobs=1)


@pytest.mark.postgres
@pytest.mark.subprocess
def test_verify_in_chunks_while_appending_green_threads(pg_schema, monkeypatch):
    monkeypatch.setattr(verify_module, "MIN_CHUNK", 1)
    verify_over_and_over_while_appending(pg_schema, jobs=2)


def verify_over_and_over_while_appending(pg_schema: str, jobs: int) -> None:
    import eventlet

    store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema)
    stop = eventlet.event.Event()

    def keep_appending():
        while not stop.ready():
            store.append(unique("busy"), None, [new_event()])

    appender = eventlet.spawn(keep_appending)
    reports = []
    try:
        with eventlet.Timeout(60):
            # Verify over and over while 100 appends commit (and at least 11 times: with jobs,
            # each verify waits for a process started afresh, while appends go on).
            while store.head() < 100 or len(reports) <= 10:
                reports.append(store.verify(jobs=jobs))
    finally:
        stop.send()
        appender.wait()
    assert all(r.ok for r in reports), [r.problem for r in reports if not r.ok]
    assert reports[-1].last_position > reports[0].last_position
    store.close()
