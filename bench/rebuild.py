"""3. Rebuild: every read model of the proposals service from N realistic events, on SQLite
and on PostgreSQL.

For each N, a store is filled by ``events.bulk_load``; then a fresh process (so no run inherits
another's peak) opens it, sets the five projections up on new views (a file beside the events
on SQLite, a schema of its own on PostgreSQL, as a service keeps them), and calls
``ProjectionRunner.rebuild()``. It reports events/s and its peak RSS (``VmHWM``), the RSS
before the rebuild began (imports, engines) and, as the reference, how fast the same process
reads and decodes the same log (``iter_all``): the rate the rebuild would reach if the
projections' handlers cost nothing. On PostgreSQL the same events are rebuilt at one N, which
is one of SQLite's, so its peak RSS has SQLite's at the same N beside it.

Run as a module, it is that child: ``python -m bench.rebuild EVENTS VIEWS`` (two SQLite files)
or ``python -m bench.rebuild EVENTS_SCHEMA VIEWS_SCHEMA PG_URL``.
"""

from __future__ import annotations

import faulthandler
import json
import os
import subprocess
import sys
import time
from typing import Any

from .common import LOWER, PgSchemas, Result, log

TARGETS = {"sqlite": 30_000, "postgresql": 15_000}
# The child prints every thread's stack and exits this many seconds before its parent's timeout
# (XIESHANG_BENCH_CHILD_TIMEOUT), so a hang in it is reported with where it hung.
CHILD_TIMEOUT_ENV = "XIESHANG_BENCH_CHILD_TIMEOUT"


def child(events: str, views: str, pg_url: str | None = None) -> dict[str, Any]:
    """The rebuild in this process: ``events`` and ``views`` are SQLite files, or with
    ``pg_url`` the PostgreSQL schemas of the events and of the read models."""
    from services.proposals.views import PROJECTIONS
    from xieshang.kernel.contracts import contract_of
    from xieshang.kernel.projection import ProjectionRunner
    from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine

    from .common import peak_rss_mib
    from .events import DEPLOYMENT

    if pg_url:
        store = SqlEventStore(postgres_engine(pg_url), DEPLOYMENT, schema=events, create=False)
        runner = ProjectionRunner(store, postgres_engine(pg_url), PROJECTIONS(), schema=views,
                                  registry=contract_of("proposals"))
    else:
        store = SqlEventStore(sqlite_engine(events), DEPLOYMENT, create=False)
        runner = ProjectionRunner(store, sqlite_engine(views), PROJECTIONS(),
                                  registry=contract_of("proposals"))
    runner.setup()
    from sqlalchemy import event as sa_event

    statements = [0]

    def count(*_a: Any) -> None:
        statements[0] += 1

    sa_event.listen(runner.engine, "before_cursor_execute", count)
    before = peak_rss_mib()
    result = runner.rebuild()
    peak = peak_rss_mib()
    t0 = time.perf_counter()
    read = sum(1 for _ in store.iter_all(0, runner.batch))
    read_rate = read / (time.perf_counter() - t0)
    return {"events": result["events"], "seconds": result["seconds"],
            "events_per_s": result["events_per_second"], "rss_before_mib": before,
            "peak_rss_mib": peak, "read_all_events_per_s": read_rate,
            "head": store.head(), "projections": [p.name for p in runner.projections],
            # Through SQLAlchemy only: the handlers' buffered writes (conn.insert/update/delete)
            # go to the driver's cursor directly and are not counted here.
            "core_statements_per_event": statements[0] / max(result["events"], 1)}


def rebuild_in_child(events: str, views: str, timeout: float, pg_url: str | None = None) -> dict[str, Any]:
    env = {**os.environ, CHILD_TIMEOUT_ENV: str(max(timeout - 10, 1))}
    proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.rebuild", events, views,
                           *([pg_url] if pg_url else [])], capture_output=True, text=True, timeout=timeout,
                          env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"rebuild child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_store(path: str, n: int, prefix: str = "b", *, pg_url: str | None = None) -> int:
    """A store of ``n`` realistic events: a SQLite file at ``path``, or with ``pg_url`` the
    PostgreSQL schema ``path`` (which must exist)."""
    from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine

    from .events import DEPLOYMENT, Replicator, bulk_load

    if pg_url:
        store = SqlEventStore(postgres_engine(pg_url), DEPLOYMENT, schema=path)
    else:
        store = SqlEventStore(sqlite_engine(path), DEPLOYMENT)
    try:
        return bulk_load(store, Replicator(session_prefix=prefix).items(n))
    finally:
        store.close()


def run(*, quick: bool, smoke: bool, workdir: str, keep: dict[str, str], backends: set[str] = frozenset(),
        pg_url: str = "", schemas: PgSchemas | None = None, pg_skip: str | None = None) -> list[Result]:
    """``keep`` receives the largest SQLite store's folder (``events.sqlite``, ``views.sqlite``),
    for the growth and verify sections."""
    sizes = (600, 1_500) if smoke else (3_000, 12_000) if quick else (100_000, 1_000_000)
    # PostgreSQL at one of SQLite's sizes: the larger where both are small, else 100k.
    pg_size = sizes[1] if smoke or quick else sizes[0]
    runs = []
    for n in sizes:
        folder = os.path.join(workdir, f"rebuild-{n}")
        os.makedirs(folder, exist_ok=True)
        events, views = os.path.join(folder, "events.sqlite"), os.path.join(folder, "views.sqlite")
        t0 = time.perf_counter()
        loaded = make_store(events, n)
        load_s = time.perf_counter() - t0
        r = rebuild_in_child(events, views, timeout=7200)
        r["loaded"], r["load_seconds"], r["load_events_per_s"] = loaded, load_s, loaded / load_s
        r["requested"] = n
        log(f"  rebuild {loaded:,} events: {r['events_per_s']:,.0f} events/s, peak RSS "
            f"{r['peak_rss_mib']:.0f} MiB (before {r['rss_before_mib']:.0f}); read-all "
            f"{r['read_all_events_per_s']:,.0f}/s; loading took {load_s:.1f} s")
        runs.append(r)
        keep.update(folder=folder, events=events, views=views, n=str(loaded))
    out = []
    for r in runs:
        out.append(Result(
            id=f"rebuild.{r['loaded']}", section="3. rebuild",
            figure=f"rebuild all 5 proposals read models from {r['loaded']:,} events (SQLite)",
            unit="events/s", ours=r["events_per_s"], reference=r["read_all_events_per_s"],
            reference_name="read-all with decoding of the same log, same process",
            target=TARGETS["sqlite"], n=r["loaded"], extra=r))
    cost = statement_cost(workdir)
    log(f"  one UPDATE by key: {cost['view_connection']:.1f} µs as the handlers write it (conn.update), "
        f"{cost['core_built_per_call']:.1f} µs Core built per call, "
        f"{cost['core_prebuilt']:.1f} µs prebuilt, {cost['raw_driver']:.1f} µs raw driver")
    statements = runs[-1].get("core_statements_per_event")
    out.append(Result(
        id="rebuild.statement_cost", section="3. rebuild",
        figure="one read-model UPDATE by key as the handlers write it (conn.update, sent in batches)",
        unit="µs", ours=cost["view_connection"], reference=cost["raw_driver"],
        reference_name="the same UPDATE through the raw driver", better=LOWER,
        extra={**cost, "core_statements_per_event": statements}))
    small, large = runs[0], runs[-1]
    growth = large["peak_rss_mib"] - small["peak_rss_mib"]
    out.append(Result(
        id="rebuild.peak_rss", section="3. rebuild",
        figure=f"rebuild peak RSS at {large['loaded']:,} events (reference: at {small['loaded']:,})",
        unit="MiB", ours=large["peak_rss_mib"], reference=small["peak_rss_mib"],
        reference_name=f"peak RSS of the rebuild of {small['loaded']:,} events", better=LOWER,
        target=small["peak_rss_mib"] * 1.10, n=large["loaded"],
        note="target: flat, i.e. within 10% of the smaller rebuild's peak",
        extra={"growth_mib": growth, "rss_before_mib": [r["rss_before_mib"] for r in runs]}))
    if "postgresql" in backends:
        same_n = next(r for r in runs if r["requested"] == pg_size)
        if pg_skip or schemas is None:
            out += skipped_postgres(pg_skip or "PostgreSQL not selected")
        else:
            out += run_postgres(pg_size, pg_url, schemas, same_n)
    return out


def run_postgres(n: int, pg_url: str, schemas: PgSchemas, sqlite_run: dict[str, Any]) -> list[Result]:
    """The same rebuild from ``n`` events in a PostgreSQL schema, views in another; beside it
    the read-all of the same log in the same process, and SQLite's peak RSS at the same N."""
    events, views = schemas.new("rebuild"), schemas.new("rebuildviews")
    t0 = time.perf_counter()
    loaded = make_store(events, n, pg_url=pg_url)
    load_s = time.perf_counter() - t0
    r = rebuild_in_child(events, views, timeout=7200, pg_url=pg_url)
    r["loaded"], r["load_seconds"], r["load_events_per_s"] = loaded, load_s, loaded / load_s
    log(f"  rebuild {loaded:,} events on PostgreSQL: {r['events_per_s']:,.0f} events/s, peak RSS "
        f"{r['peak_rss_mib']:.0f} MiB (before {r['rss_before_mib']:.0f}); read-all "
        f"{r['read_all_events_per_s']:,.0f}/s; loading took {load_s:.1f} s")
    for schema in (events, views):  # the rebuild's data is big; the suite goes on without it
        schemas.drop(schema)
    return [
        Result(id=f"rebuild.postgresql.{loaded}", section="3. rebuild",
               figure=f"rebuild all 5 proposals read models from {loaded:,} events (PostgreSQL)",
               unit="events/s", ours=r["events_per_s"], reference=r["read_all_events_per_s"],
               reference_name="read-all with decoding of the same log, same process",
               target=TARGETS["postgresql"], n=loaded, extra=r),
        Result(id="rebuild.postgresql.peak_rss", section="3. rebuild",
               figure=f"rebuild peak RSS at {loaded:,} events, PostgreSQL (reference: SQLite, same N)",
               unit="MiB", ours=r["peak_rss_mib"], reference=sqlite_run["peak_rss_mib"],
               reference_name=f"peak RSS of the SQLite rebuild of {sqlite_run['loaded']:,} events, same run",
               better=LOWER, n=loaded, extra={"rss_before_mib": r["rss_before_mib"]}),
    ]


def skipped_postgres(why: str) -> list[Result]:
    return [Result(id=i, section="3. rebuild", figure=i, unit=u, ours=None, reference=None, reference_name="",
                   note=why)
            for i, u in (("rebuild.postgresql", "events/s"), ("rebuild.postgresql.peak_rss", "MiB"))]


def statement_cost(workdir: str, n: int = 3000) -> dict[str, float]:
    """Microseconds per UPDATE of one row by primary key, the statement the proposals handlers
    issue most, four ways on the same SQLite views table in one transaction: the handlers' own
    ``conn.update`` (view_writes.ViewConnection, buffered, sent when the page ends), built per call
    with SQLAlchemy Core (as the handlers did before), prebuilt Core with bind parameters, the raw
    driver."""
    import sqlalchemy as sa

    from xieshang.kernel.store.sql import sqlite_engine
    from xieshang.kernel.view_writes import ViewConnection

    engine = sqlite_engine(os.path.join(workdir, "statements.sqlite"))
    md = sa.MetaData()
    t = sa.Table("cases", md, sa.Column("proposal_id", sa.String(64), primary_key=True),
                 sa.Column("status", sa.String(16)), sa.Column("updated_at", sa.String(32)),
                 sa.Column("position", sa.BigInteger))
    md.create_all(engine)
    ids = [f"p-{i:06d}" for i in range(n)]
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"proposal_id": i, "status": "submitted", "updated_at": "", "position": 0}
                                  for i in ids])
    prebuilt = t.update().where(t.c.proposal_id == sa.bindparam("pid")).values(
        status=sa.bindparam("st"), updated_at=sa.bindparam("ts"), position=sa.bindparam("pos"))
    out = {}
    shapes: dict = {}
    for name in ("view_connection", "core_built_per_call", "core_prebuilt", "raw_driver"):
        best = float("inf")
        for _ in range(3):
            with engine.begin() as conn:
                raw = conn.connection.driver_connection.cursor()
                writer = ViewConnection(conn, shapes)
                t0 = time.perf_counter()
                for k, pid in enumerate(ids):
                    if name == "view_connection":
                        writer.update(t, {"proposal_id": pid}, status="filed",
                                      updated_at="2024-01-15T01:00:00+00:00", position=k)
                    elif name == "core_built_per_call":
                        conn.execute(t.update().where(t.c.proposal_id == pid).values(
                            status="filed", updated_at="2024-01-15T01:00:00+00:00", position=k))
                    elif name == "core_prebuilt":
                        conn.execute(prebuilt, {"pid": pid, "st": "filed", "ts": "2024-01-15T01:00:00+00:00",
                                                "pos": k})
                    else:
                        raw.execute("UPDATE cases SET status = ?, updated_at = ?, position = ? "
                                    "WHERE proposal_id = ?", ("filed", "2024-01-15T01:00:00+00:00", k, pid))
                writer.flush()
                best = min(best, (time.perf_counter() - t0) / n * 1e6)
                writer.close()
        out[name] = best
    engine.dispose()
    return out


def main() -> None:
    limit = os.environ.get(CHILD_TIMEOUT_ENV)
    if limit:
        faulthandler.dump_traceback_later(float(limit), exit=True)
    print(json.dumps(child(*sys.argv[1:4])))


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    main()


__all__ = ["run", "run_postgres", "child", "make_store", "rebuild_in_child"]
