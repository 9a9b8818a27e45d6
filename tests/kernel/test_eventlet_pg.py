"""Under eventlet (as in a nameko service), one slow PostgreSQL query does not stall the other
green threads: psycopg2 waits on its socket through psycogreen, which yields to the hub."""

from __future__ import annotations

import time

import eventlet
import psycopg2.extensions
import pytest
import sqlalchemy as sa
from psycogreen.eventlet import eventlet_wait_callback

from xieshang.kernel.store.sql import SqlEventStore, postgres_engine

from ..conftest import DEPLOYMENT, PG_URL, new_event, unique

pytestmark = pytest.mark.postgres


class HubWatch:
    """A green thread that ticks every few milliseconds and records the longest gap between
    two ticks: how long the hub was kept from running anything else."""

    def __init__(self, tick: float = 0.005):
        self.tick = tick
        self.longest = 0.0
        self.stop = eventlet.event.Event()
        self.thread = eventlet.spawn(self._run)

    def _run(self) -> None:
        last = time.monotonic()
        while not self.stop.ready():
            eventlet.sleep(self.tick)
            now = time.monotonic()
            self.longest = max(self.longest, now - last - self.tick)
            last = now

    def close(self) -> float:
        self.stop.send()
        self.thread.wait()
        return self.longest


def wait_until(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting until {what}")
        eventlet.sleep(0.005)


def test_appends_and_reads_go_on_while_a_slow_query_runs(pg_schema):
    store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema)
    marker = unique("slow")

    def slow_query() -> float:
        with store.engine.connect() as conn:
            conn.execute(sa.text(f"SELECT pg_sleep(2) /* {marker} */"))
        return time.monotonic()

    def running_on_server() -> bool:
        with store.engine.connect() as conn:
            return bool(conn.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND query LIKE :q AND pid <> pg_backend_pid()"), {"q": f"%{marker}%"}).scalar())

    def fast_work(n: int) -> float:
        stream = unique("fast")
        for version in range(5):
            store.append(stream, version, [new_event(n=n)])
        assert len(store.read_stream(stream)) == 5 and store.read_all(after=0, limit=3)
        return time.monotonic()

    watch = HubWatch()
    slow = eventlet.spawn(slow_query)
    wait_until(running_on_server, "the slow query runs on the server")
    start = time.monotonic()
    fast = [eventlet.spawn(fast_work, n) for n in range(4)]  # 20 appends, 8 reads
    fast_done = max(f.wait() for f in fast)
    assert not slow.dead, "the slow query finished first: it did not overlap the fast work"
    slow_done = slow.wait()
    stalled = watch.close()

    assert fast_done - start < 1.0, f"20 appends took {fast_done - start:.2f} s beside a 2 s query"
    assert slow_done - start > 1.5  # (it started just before `start`)
    assert fast_done < slow_done
    assert stalled < 0.5, f"the hub was blocked for {stalled:.2f} s"
    assert store.head() == 20
    store.close()


def test_control_without_psycogreen_a_query_blocks_the_hub():
    # Shows what psycogreen buys: the same kind of query on a connection made without the
    # wait callback blocks every green thread for its whole duration.
    dsn = sa.engine.make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)

    def hub_stall_during(query_seconds: float) -> float:
        watch = HubWatch()
        eventlet.sleep(0.02)  # let the watch start ticking
        conn = psycopg2.connect(dsn)
        try:
            conn.cursor().execute("SELECT pg_sleep(%s)", (query_seconds,))
        finally:
            conn.close()
        return watch.close()

    assert psycopg2.extensions.get_wait_callback() is eventlet_wait_callback  # set up by conftest
    cooperative = hub_stall_during(0.3)
    psycopg2.extensions.set_wait_callback(None)
    try:
        blocking = hub_stall_during(0.3)
    finally:
        psycopg2.extensions.set_wait_callback(eventlet_wait_callback)
    assert cooperative < 0.1, f"with psycogreen the hub was still blocked for {cooperative:.2f} s"
    assert blocking > 0.25, f"without psycogreen the hub was blocked for only {blocking:.2f} s"
