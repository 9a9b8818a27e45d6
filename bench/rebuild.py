"""3. Rebuild: every read model of the proposals service from N realistic events (SQLite).

For each N, a store is filled by ``events.bulk_load``; then a fresh process (so no run inherits
another's peak) opens it, sets the five projections up on a new views file, and calls
``ProjectionRunner.rebuild()``. It reports events/s and its peak RSS (``getrusage``), the RSS
before the rebuild began (imports, engines) and, as the reference, how fast the same process
reads and decodes the same log (``iter_all``): the rate the rebuild would reach if the
projections' handlers cost nothing.

Run as a module, it is that child: ``python -m bench.rebuild EVENTS VIEWS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from .common import LOWER, Result, log

TARGET = 30_000


def child(events_path: str, views_path: str) -> dict[str, Any]:
    from services.proposals.views import PROJECTIONS
    from xieshang.kernel.contracts import contract_of
    from xieshang.kernel.projection import ProjectionRunner
    from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

    from .common import peak_rss_mib
    from .events import DEPLOYMENT

    store = SqlEventStore(sqlite_engine(events_path), DEPLOYMENT, create=False)
    runner = ProjectionRunner(store, sqlite_engine(views_path), PROJECTIONS(),
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
            "statements_per_event": statements[0] / max(result["events"], 1)}


def rebuild_in_child(events_path: str, views_path: str, timeout: float) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.rebuild",
                           events_path, views_path], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"rebuild child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_store(path: str, n: int, prefix: str = "b") -> int:
    from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

    from .events import DEPLOYMENT, Replicator, bulk_load

    store = SqlEventStore(sqlite_engine(path), DEPLOYMENT)
    try:
        return bulk_load(store, Replicator(session_prefix=prefix).items(n))
    finally:
        store.close()


def run(*, quick: bool, smoke: bool, workdir: str, keep: dict[str, str]) -> list[Result]:
    """``keep`` receives the largest store's folder (``events.sqlite``, ``views.sqlite``), for
    the growth and verify sections."""
    sizes = (600, 1_500) if smoke else (3_000, 12_000) if quick else (100_000, 1_000_000)
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
            target=TARGET, n=r["loaded"], extra=r))
    cost = statement_cost(workdir)
    log(f"  one UPDATE by key: {cost['core_built_per_call']:.1f} µs built per call (as the handlers do), "
        f"{cost['core_prebuilt']:.1f} µs prebuilt, {cost['raw_driver']:.1f} µs raw driver")
    statements = runs[-1].get("statements_per_event")
    out.append(Result(
        id="rebuild.statement_cost", section="3. rebuild",
        figure="one read-model UPDATE by key as the handlers write it (SQLAlchemy Core built per call)",
        unit="µs", ours=cost["core_built_per_call"], reference=cost["raw_driver"],
        reference_name="the same UPDATE through the raw driver", better=LOWER,
        extra={**cost, "statements_per_event": statements}))
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
    return out


def statement_cost(workdir: str, n: int = 3000) -> dict[str, float]:
    """Microseconds per UPDATE of one row by primary key, the statement the proposals handlers
    issue most, three ways on the same SQLite views table in one transaction: built per call with
    SQLAlchemy Core (as the handlers do), prebuilt Core with bind parameters, the raw driver."""
    import sqlalchemy as sa

    from xieshang.kernel.store.sql import sqlite_engine

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
    for name in ("core_built_per_call", "core_prebuilt", "raw_driver"):
        best = float("inf")
        for _ in range(3):
            with engine.begin() as conn:
                raw = conn.connection.driver_connection.cursor()
                t0 = time.perf_counter()
                for k, pid in enumerate(ids):
                    if name == "core_built_per_call":
                        conn.execute(t.update().where(t.c.proposal_id == pid).values(
                            status="filed", updated_at="2024-01-15T01:00:00+00:00", position=k))
                    elif name == "core_prebuilt":
                        conn.execute(prebuilt, {"pid": pid, "st": "filed", "ts": "2024-01-15T01:00:00+00:00",
                                                "pos": k})
                    else:
                        raw.execute("UPDATE cases SET status = ?, updated_at = ?, position = ? "
                                    "WHERE proposal_id = ?", ("filed", "2024-01-15T01:00:00+00:00", k, pid))
                best = min(best, (time.perf_counter() - t0) / n * 1e6)
        out[name] = best
    engine.dispose()
    return out


def main() -> None:
    print(json.dumps(child(sys.argv[1], sys.argv[2])))


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    main()


__all__ = ["run", "child", "make_store", "rebuild_in_child"]
