"""A follower reading PostgreSQL by position never skips an event that commits late.

Four writer processes append concurrently (some appends carry three events) while a
follower loops ``read_all(after=last_seen)``. A fifth writer, in this process, holds its
transaction open after writing its rows, three times: before the others start and twice
while they run. Meanwhile the other writers must queue behind it and no reader may see any
position past its uncommitted one. At the end the follower has seen every event exactly
once, at positions 1, 2, 3, … with nothing skipped.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import eventlet
import pytest
import sqlalchemy as sa

from xieshang.kernel.store.sql import SqlEventStore, postgres_engine

from ..conftest import DEPLOYMENT, PG_URL, new_event, unique

pytestmark = pytest.mark.postgres

WRITERS = 4
APPENDS_EACH = 200
EVENTS_EACH = APPENDS_EACH + 2 * (APPENDS_EACH // 4)  # every fourth append carries three events


def wait_until(condition, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {what}")
        eventlet.sleep(0.005)


class Follower:
    """Follows the log by position, as a relay or a projection does, and records what it saw."""

    def __init__(self, store: SqlEventStore):
        self.store = store
        self.seen = []
        self.stop = eventlet.event.Event()
        self.thread = eventlet.spawn(self._run)

    @property
    def last(self) -> int:
        return self.seen[-1].position if self.seen else 0

    def _run(self) -> None:
        while not self.stop.ready():
            page = self.store.read_all(after=self.last, limit=500)
            self.seen += page
            if not page:
                eventlet.sleep(0.002)

    def close(self) -> None:
        self.stop.send()
        self.thread.wait()


class SlowWriter:
    """Appends from this process, holding each transaction open after its rows are written
    (the chain head stays locked) until the test releases it."""

    def __init__(self, schema: str):
        self.store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=schema, create=False)
        self.store._before_commit = self._hold
        self.ids = []

    def _hold(self, first_position: int) -> None:
        self.held.send(first_position)
        self.release.wait()

    def begin(self) -> int:
        """Start an append of two events; returns its first position once it is held open."""
        self.held, self.release = eventlet.event.Event(), eventlet.event.Event()
        events = [new_event("SlowlyCommitted"), new_event("SlowlyCommitted")]
        self.ids += [e.event_id for e in events]
        self.append = eventlet.spawn(self.store.append, unique("slow"), 0, events)
        with eventlet.Timeout(10):
            return self.held.wait()

    def commit(self) -> list:
        self.release.send()
        return self.append.wait()


def lock_waiters(engine, application_name: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
            "AND wait_event_type = 'Lock'"), {"app": application_name}).scalar()


def test_follower_sees_every_event_once_in_order_despite_late_commits(pg_schema):
    store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema)
    follower = Follower(store)
    slow = SlowWriter(pg_schema)
    app = unique("writer")

    def check_nothing_visible_past(held: int) -> None:
        # Rows at `held` and after exist in the database, uncommitted: nobody sees them, and
        # nothing after them has committed, so a reader has nothing to skip.
        assert store.head() == held - 1
        assert store.read_all(after=held - 1) == []
        assert follower.last <= held - 1

    # Hold 1: the slow writer takes position 1 and holds it before anyone else starts.
    held = slow.begin()
    assert held == 1
    writers = [subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("pg_writer.py")), PG_URL, pg_schema, app,
         str(n), str(APPENDS_EACH)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for n in range(WRITERS)]
    try:
        wait_until(lambda: lock_waiters(store.engine, app) == WRITERS,
                   "all writers queue behind the held transaction")
        check_nothing_visible_past(held)
        assert [e.position for e in slow.commit()] == [1, 2]

        # Holds 2 and 3: in the middle of the writers' run.
        queued_behind_middle_holds = 0
        for threshold in (150, 450):
            wait_until(lambda: store.head() >= threshold, f"the writers reach position {threshold}")
            held = slow.begin()
            wait_until(lambda: lock_waiters(store.engine, app) > 0
                       or all(w.poll() is not None for w in writers),
                       "a writer queues behind the held transaction (or all have finished)")
            queued_behind_middle_holds += lock_waiters(store.engine, app) > 0
            check_nothing_visible_past(held)
            assert [e.position for e in slow.commit()] == [held, held + 1]
        assert queued_behind_middle_holds, "no writer was still running during the middle holds"

        written = []
        for w in writers:
            out, err = w.communicate(timeout=30)
            assert w.returncode == 0, err.decode()
            written.append(json.loads(out))
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
                w.wait()

    total = WRITERS * EVENTS_EACH + len(slow.ids)
    assert [len(ids) for ids in written] == [EVENTS_EACH] * WRITERS
    wait_until(lambda: follower.last >= total, f"the follower reaches position {total}")
    follower.close()

    seen_ids = [e.event_id for e in follower.seen]
    assert [e.position for e in follower.seen] == list(range(1, total + 1))  # gap-free, in order
    assert len(set(seen_ids)) == total  # each exactly once
    assert set(seen_ids) == set(slow.ids).union(*written)  # and every one written
    rank = {event_id: i for i, event_id in enumerate(seen_ids)}
    for ids in written:  # each writer's events in the order that writer appended them
        assert [rank[i] for i in ids] == sorted(rank[i] for i in ids)
    assert store.verify().ok
    slow.store.close()
    store.close()
