"""Tampering with the SQL rows behind the store's back is caught by ``verify()``, which names
the first position that can no longer be trusted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from xieshang.kernel.store import chain_hash
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine

from ..conftest import DEPLOYMENT, PG_URL, new_event, unique

N_EVENTS = 20


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def log(request, tmp_path):
    """A store holding 20 events over 4 streams (some appended together), and the name of
    its ``events`` table for raw SQL."""
    if request.param == "sqlite":
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
    yield store, table
    store.close()


def tamper(store, *statements: str, **params) -> None:
    with store.engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params)


def row(store, table: str, position: int) -> dict:
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.text(f"SELECT * FROM {table} WHERE position = :p"),
                                 {"p": position}).mappings().one())


def assert_caught(store, first_bad: int, *words: str) -> None:
    report = store.verify()
    assert not report.ok
    assert report.first_bad_position == first_bad, report.problem
    assert report.last_position == max(first_bad - 1, 0)  # everything before it is sound
    for word in words:
        assert word in report.problem, report.problem


def test_intact_log_verifies(log):
    store, _ = log
    report = store.verify()
    assert report.ok, report.problem
    assert report.checked == N_EVENTS and report.last_position == N_EVENTS
    assert report.first_bad_position is None and report.problem is None


def test_modified_body(log):
    store, table = log
    body = bytes(row(store, table, 7)["body"]).replace(b'"reason":"test"', b'"reason":"edited"')
    tamper(store, f"UPDATE {table} SET body = :b WHERE position = 7", b=body)
    assert_caught(store, 7, "position 7 was modified", "does not match its hash")


def test_modified_indexed_column_only(log):
    store, table = log
    tamper(store, f"UPDATE {table} SET stream = 'someone-else' WHERE position = 12")
    assert_caught(store, 12, "position 12 was modified", "indexed columns")


def test_modified_stored_hash(log):
    store, table = log
    tamper(store, f"UPDATE {table} SET hash = :h WHERE position = 15", h="f" * 64)
    assert_caught(store, 15, "position 15 was modified")


def test_deleted_middle_row(log):
    store, table = log
    tamper(store, f"DELETE FROM {table} WHERE position = 9")
    assert_caught(store, 9, "position 9 is missing", "next stored row is at position 10")


def test_deleted_first_row(log):
    store, table = log
    tamper(store, f"DELETE FROM {table} WHERE position = 1")
    assert_caught(store, 1, "position 1 is missing")


def test_deleted_last_rows(log):
    store, table = log
    tamper(store, f"DELETE FROM {table} WHERE position > 17")
    assert_caught(store, 18, "positions 18 to 20 are missing", "deleted from the end")


def test_deleted_last_row(log):
    store, table = log
    tamper(store, f"DELETE FROM {table} WHERE position = 20")
    assert_caught(store, 20, "position 20 is missing", "deleted from the end")


def test_forged_row_inserted_in_the_middle(log):
    store, table = log
    forged = row(store, table, 5)
    # Make room at 6 (two steps, so the primary key never collides), then forge a row there.
    tamper(store,
           f"UPDATE {table} SET position = -position WHERE position >= 6",
           f"UPDATE {table} SET position = 1 - position WHERE position < 0",
           f"INSERT INTO {table} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (6, 'forged-id', :stream, 99, 'Noted', :body, :prev, :hash)",
           stream=forged["stream"], body=bytes(forged["body"]), prev=forged["hash"], hash="a" * 64)
    assert_caught(store, 6, "position 6 was modified")


def test_forged_row_with_stolen_predecessor_hash_in_the_middle(log):
    store, table = log
    # The forger copies row 6's prev_hash and hash onto a new row 6 and shifts the rest up:
    # row 6 then fails its own hash, and nothing before it is blamed.
    original = row(store, table, 6)
    tamper(store,
           f"UPDATE {table} SET position = -position WHERE position >= 6",
           f"UPDATE {table} SET position = 1 - position WHERE position < 0",
           f"INSERT INTO {table} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (6, 'forged-id', 'forged', 1, 'Noted', :body, :prev, :hash)",
           body=b'{"forged":true}', prev=original["prev_hash"], hash=original["hash"])
    assert_caught(store, 6, "position 6 was modified", "does not match its hash")


def test_forged_row_appended_with_made_up_hash(log):
    store, table = log
    last = row(store, table, N_EVENTS)
    tamper(store,
           f"INSERT INTO {table} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (21, 'forged-id', 'forged', 1, 'Noted', :body, :prev, :hash)",
           body=b'{"forged":true}', prev=last["hash"], hash="b" * 64)
    assert_caught(store, 21, "position 21 was modified")


def test_forged_row_appended_with_valid_chain_but_head_not_moved(log):
    # A forger who knows the hash function chains a row onto the end correctly: only the
    # recorded head (moved by every real append in the same transaction) shows it.
    store, table = log
    last = row(store, table, N_EVENTS)
    body = (b'{"event_id":"forged-id","stream":"forged","type":"Noted","version":1}')
    tamper(store,
           f"INSERT INTO {table} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (21, 'forged-id', 'forged', 1, 'Noted', :body, :prev, :hash)",
           body=body, prev=last["hash"], hash=chain_hash(last["hash"], 21, body))
    assert_caught(store, 21, "position 21 is past the recorded head", "position 20")


def test_forged_row_before_the_start(log):
    store, table = log
    first = row(store, table, 1)
    tamper(store,
           f"INSERT INTO {table} (position, event_id, stream, version, type, body, prev_hash, hash) "
           "VALUES (0, 'forged-id', 'forged', 1, 'Noted', :body, :prev, :hash)",
           body=bytes(first["body"]), prev=first["prev_hash"], hash=first["hash"])
    assert_caught(store, 0, "position 0 lies before the start")


def test_swapped_rows(log):
    store, table = log
    tamper(store,
           f"UPDATE {table} SET position = -1 WHERE position = 8",
           f"UPDATE {table} SET position = 8 WHERE position = 13",
           f"UPDATE {table} SET position = 13 WHERE position = -1")
    assert_caught(store, 8, "position 8 does not follow position 7", "reordered")


def test_swapped_neighbours(log):
    store, table = log
    tamper(store,
           f"UPDATE {table} SET position = -1 WHERE position = 3",
           f"UPDATE {table} SET position = 3 WHERE position = 4",
           f"UPDATE {table} SET position = 4 WHERE position = -1")
    assert_caught(store, 3, "position 3 does not follow position 2")


def test_swapped_first_rows(log):
    store, table = log
    tamper(store,
           f"UPDATE {table} SET position = -1 WHERE position = 1",
           f"UPDATE {table} SET position = 1 WHERE position = 2",
           f"UPDATE {table} SET position = 2 WHERE position = -1")
    assert_caught(store, 1, "position 1 does not follow the start of the log")


def test_first_of_several_tamperings_is_named(log):
    store, table = log
    tamper(store,
           f"DELETE FROM {table} WHERE position = 16",
           f"UPDATE {table} SET type = 'Renamed' WHERE position = 11",
           f"DELETE FROM {table} WHERE position > 18")
    assert_caught(store, 11, "position 11 was modified")


def test_verify_is_not_fooled_by_concurrent_appends(log, monkeypatch):
    # The walk and the head check read one snapshot: an append that commits while verify is
    # walking (here: between two of its pages) is not mistaken for a row added after the end.
    store, _ = log
    import xieshang.kernel.store.sql as sql_module

    check_row = sql_module._check_row
    appended = []

    def check_and_append(row, expected, prev):
        if expected == 5 and not appended:
            appended.append(store.append(unique("late"), None, [new_event()]))
        return check_row(row, expected, prev)

    monkeypatch.setattr(sql_module, "VERIFY_PAGE", 4)
    monkeypatch.setattr(sql_module, "_check_row", check_and_append)
    report = store.verify()
    monkeypatch.undo()
    assert appended, "the append during the walk did not happen"
    assert report.ok, report.problem
    assert report.last_position == N_EVENTS
    assert store.verify().last_position == N_EVENTS + 1


@pytest.mark.postgres
def test_verify_while_appending_green_threads(pg_schema):
    # The same, black-box: under eventlet every query of verify yields to an appender.
    import eventlet

    store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema)
    stop = eventlet.event.Event()

    def keep_appending():
        while not stop.ready():
            store.append(unique("busy"), None, [new_event()])

    appender = eventlet.spawn(keep_appending)
    reports = []
    try:
        with eventlet.Timeout(20):
            while store.head() < 100:  # verify over and over while 100 appends commit
                reports.append(store.verify())
    finally:
        stop.send()
        appender.wait()
    assert len(reports) > 10
    assert all(r.ok for r in reports), [r.problem for r in reports if not r.ok]
    store.close()
