"""Projections: batches with their checkpoint, crash consistency, rebuild == live, version bumps,
waiting for a position, and ReadModels inside a nameko container."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from xieshang.kernel.projection import CHECKPOINT_TABLE, Projection, ProjectionError, ProjectionRunner
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine

from ..conftest import AMQP_URI, DEPLOYMENT, PG_URL, new_event, unique


class Tally(Projection):
    """Per stream: how many Added events and the running total of their n (minus Removed)."""

    name = "tally"
    version = 1
    factor = 1

    def __init__(self, fail_at: int | None = None):
        self.fail_at = fail_at

    def define(self, metadata):
        self.totals = sa.Table("tally_totals", metadata,
                               sa.Column("stream", sa.String(200), primary_key=True),
                               sa.Column("count", sa.Integer, nullable=False),
                               sa.Column("total", sa.Integer, nullable=False))
        self.log = sa.Table("tally_log", metadata,
                            sa.Column("position", sa.BigInteger, primary_key=True),
                            sa.Column("stream", sa.String(200), nullable=False),
                            sa.Column("type", sa.String(50), nullable=False),
                            sa.Column("n", sa.Integer, nullable=False))
        # Statements built once: building Core statements per event costs more than running them.
        t = self.totals
        self._bump = (t.update().where(t.c.stream == sa.bindparam("s"))
                      .values(count=t.c.count + 1, total=t.c.total + sa.bindparam("n")))
        self._first = t.insert().values(stream=sa.bindparam("s"), count=1, total=sa.bindparam("n"))
        self._log = self.log.insert()

    def _add(self, conn, envelope, n):
        if envelope.position == self.fail_at:
            raise RuntimeError("simulated crash")
        params = {"s": envelope.stream, "n": n}
        if not conn.execute(self._bump, params).rowcount:
            conn.execute(self._first, params)
        conn.execute(self._log, {"position": envelope.position, "stream": envelope.stream,
                                 "type": envelope.type, "n": n})

    def on_Added(self, conn, envelope):
        self._add(conn, envelope, envelope.data["n"] * self.factor)

    def on_Removed(self, conn, envelope):
        self._add(conn, envelope, -envelope.data["n"] * self.factor)


class TallyV2(Tally):
    version = 2
    factor = 10


@dataclass
class Env:
    store: SqlEventStore
    views: sa.Engine
    schema: str | None


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request, tmp_path):
    if request.param == "sqlite":
        e = Env(SqlEventStore(sqlite_engine(str(tmp_path / "events.sqlite")), DEPLOYMENT),
                sqlite_engine(str(tmp_path / "views.sqlite")), None)
    else:
        schema = request.getfixturevalue("pg_schema")
        # The views share the store's schema here; their table names do not clash.
        e = Env(SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=schema),
                postgres_engine(PG_URL), schema)
    yield e
    e.store.close()
    e.views.dispose()


def runner_for(env: Env, *projections: Projection, batch: int = 1000) -> ProjectionRunner:
    r = ProjectionRunner(env.store, env.views, list(projections) or [Tally()], schema=env.schema,
                         batch=batch)
    r.setup()
    return r


def record(store, n_events: int, streams=("a", "b", "c"), start: int = 0) -> int:
    """Append Added/Removed/Ignored events round-robin over streams; returns the head."""
    for i in range(start, start + n_events):
        kind = ("Added", "Added", "Removed", "Ignored")[i % 4]
        store.append(f"tally-{streams[i % len(streams)]}", None, [new_event(kind, n=i + 1)])
    return store.head()


def expected_totals(store, factor: int = 1, upto: int | None = None) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for e in store.iter_all():
        if upto is not None and e.position > upto:
            break
        sign = {"Added": 1, "Removed": -1}.get(e.type)
        if sign:
            count, total = out.get(e.stream, (0, 0))
            out[e.stream] = (count + 1, total + sign * e.data["n"] * factor)
    return out


def totals(env: Env, runner: ProjectionRunner) -> dict[str, tuple[int, int]]:
    t = runner.projection("tally").totals
    with env.views.connect() as conn:
        return {s: (c, n) for s, c, n in conn.execute(sa.select(t.c.stream, t.c.count, t.c.total))}


def snapshot(env: Env, runner: ProjectionRunner) -> dict[str, list[tuple]]:
    """Every row of every projection table, sorted."""
    out = {}
    with env.views.connect() as conn:
        for p in runner.projections:
            for table in p.tables():
                out[table.name] = sorted(tuple(r) for r in conn.execute(sa.select(table)))
    return out


def wait_until(condition, timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def test_catch_up_writes_rows_and_checkpoint_per_batch(env):
    head = record(env.store, 25)
    runner = runner_for(env, batch=10)
    commits = []
    sa.event.listen(env.views, "commit", lambda conn: commits.append(1))

    assert runner.catch_up() == 25
    assert len(commits) == 3  # 10 + 10 + 5 events, each batch with its checkpoint
    assert runner.position() == runner.position("tally") == head
    assert totals(env, runner) == expected_totals(env.store)

    head = record(env.store, 5, start=25)
    assert runner.catch_up() == 5
    assert runner.catch_up() == 0
    assert runner.position() == head
    assert totals(env, runner) == expected_totals(env.store)


def test_run_follows_the_store_live(env):
    runner = runner_for(env, batch=4)
    stop = threading.Event()
    follower = threading.Thread(target=runner.run, args=(stop, 0.05), daemon=True)
    follower.start()
    try:
        for round_ in range(3):
            head = record(env.store, 9, start=round_ * 9)
            assert wait_until(lambda: runner.position() >= head), runner.last_error
            assert totals(env, runner) == expected_totals(env.store)
    finally:
        stop.set()
        runner.wake()
        follower.join(5)
    assert not follower.is_alive()


def test_a_failing_handler_rolls_back_its_batch_and_a_rerun_does_not_double_count(env):
    head = record(env.store, 25, streams=("a", "b"))
    runner = runner_for(env, Tally(fail_at=15), batch=10)

    with pytest.raises(ProjectionError, match="position 15"):
        runner.catch_up()
    # The second batch (11..20) was rolled back whole: rows and checkpoint both stop at 10.
    assert runner.position() == 10
    assert totals(env, runner) == expected_totals(env.store, upto=10)
    log = runner.projection("tally").log
    with env.views.connect() as conn:
        assert max(conn.execute(sa.select(log.c.position)).scalars()) <= 10

    # A new process (fresh runner, same database) continues from the checkpoint.
    again = runner_for(env, Tally(), batch=10)
    assert again.catch_up() == 15
    assert again.position() == head
    assert totals(env, again) == expected_totals(env.store)


def test_rebuild_gives_the_same_rows_as_the_live_model(env):
    live = runner_for(env, batch=7)
    for round_ in range(4):  # live: many small catch-ups as events arrive
        record(env.store, 11, streams=("a", "b", "c", "d"), start=round_ * 11)
        live.catch_up()
    head = record(env.store, 13, start=44)  # more events after the last live catch-up
    live.catch_up()
    live_rows = snapshot(env, live)
    assert len(live_rows["tally_log"]) == sum(c for c, _ in expected_totals(env.store).values())

    out = io.StringIO()
    result = live.rebuild(progress=True, out=out)
    assert result["events"] == head
    assert result["events_per_second"] > 0
    assert "events/s" in out.getvalue() and "100%" in out.getvalue()
    assert snapshot(env, live) == live_rows
    assert live.position() == head

    # A separate (offline) runner rebuilding by name gives the same rows too.
    offline = runner_for(env, batch=1000)
    assert offline.rebuild(["tally"])["events"] == head
    assert snapshot(env, offline) == live_rows


def test_a_version_bump_rebuilds_the_projection(env):
    head = record(env.store, 20)
    v1 = runner_for(env)
    v1.catch_up()
    assert totals(env, v1) == expected_totals(env.store)

    v2 = runner_for(env, TallyV2())  # setup sees version 1 stored and resets to position 0
    assert v2.position() == 0
    assert v2.catch_up() == head
    assert totals(env, v2) == expected_totals(env.store, factor=10)
    cp = v2.checkpoints
    with env.views.connect() as conn:
        assert conn.execute(sa.select(cp.c.version).where(cp.c.name == "tally")).scalar() == 2

    # An old instance still running version 1 leaves the new tables alone.
    record(env.store, 4, start=20)
    assert v1.catch_up() == 0
    assert v2.catch_up() == 4
    assert totals(env, v2) == expected_totals(env.store, factor=10)


def test_wait_for_returns_when_reached_and_false_on_timeout(env):
    runner = runner_for(env)
    head = record(env.store, 3)
    assert runner.wait_for(head, timeout=2)  # catches up itself when nobody else does
    assert totals(env, runner) == expected_totals(env.store)

    started = time.monotonic()
    assert runner.wait_for(head + 5, timeout=0.3) is False
    assert time.monotonic() - started >= 0.3  # it waited its time (how much longer: the machine's load)

    # Waiting for an event not yet written: the append wakes the waiter.
    results = []
    waiter = threading.Thread(target=lambda: results.append(runner.wait_for(head + 1, timeout=5)))
    waiter.start()
    env.store.append("tally-a", None, [new_event("Added", n=100)])
    waiter.join(6)
    assert results == [True]
    assert totals(env, runner)["tally-a"] == expected_totals(env.store)["tally-a"]


def test_two_runners_on_the_same_views_never_apply_an_event_twice(env):
    head = record(env.store, 120)
    runners = [runner_for(env, batch=10), runner_for(env, batch=10)]
    errors = []

    def work(r):
        try:
            r.catch_up()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert runners[0].position() == head
    assert totals(env, runners[0]) == expected_totals(env.store)


def test_setup_creates_the_checkpoint_table_beside_the_views(env):
    runner = runner_for(env)
    names = sa.inspect(env.views).get_table_names(schema=env.schema)
    assert {CHECKPOINT_TABLE, "tally_totals", "tally_log"} <= set(names)
    runner.setup()  # idempotent: nothing is reset
    record(env.store, 4)
    runner.catch_up()
    runner_for(env)  # another instance starting does not reset either
    assert runner.position() == env.store.head()


# -- inside nameko ------------------------------------------------------------
@pytest.mark.rabbit
def test_read_models_serve_a_query_after_a_write(container_factory, tmp_path):
    from kombu import Connection
    from nameko.rpc import rpc
    from nameko.standalone.rpc import ServiceRpcProxy

    from xieshang.kernel.runtime import EventStoreDependency
    from xieshang.kernel.views import ReadModels

    service_name = unique("tallysvc")

    class TallyService:
        name = service_name
        store = EventStoreDependency()
        views = ReadModels(lambda: [Tally()], poll_interval=0.05)

        @rpc
        def add(self, stream, n):
            return self.store.append(stream, None, [new_event("Added", n=n)])[-1].position

        @rpc
        def position(self):
            return self.views.position()

        @rpc
        def total(self, stream, after_position):
            if not self.views.wait_for(after_position, timeout=5):
                raise TimeoutError(f"views did not reach {after_position}")
            t = self.views.projection("tally").totals
            with self.views.connect() as conn:
                return conn.execute(sa.select(t.c.total).where(t.c.stream == stream)).scalar()

    config = {"AMQP_URI": AMQP_URI, "XIESHANG_DATA_DIR": str(tmp_path), "XIESHANG_RELAY": "0"}
    container = container_factory(TallyService, config)
    container.start()
    try:
        with ServiceRpcProxy(service_name, config) as proxy:
            first = proxy.add("tally-x", 5)
            # The follower thread picks the write up by itself...
            assert wait_until(lambda: proxy.position() >= first)
            # ...and a query right after a write sees it through wait_for.
            second = proxy.add("tally-x", 7)
            assert proxy.total("tally-x", second) == 12
        assert (tmp_path / service_name / "views.sqlite").exists()
        container.stop()
    finally:
        with Connection(AMQP_URI) as conn:
            conn.default_channel.queue_delete(f"rpc-{service_name}")
