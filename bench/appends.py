"""1. Appends: single-event and 100-event transactions on SQLite and PostgreSQL, ours beside the
eventsourcing library's application recorder and the raw driver; PostgreSQL with 1, 4 and 8
concurrent writer processes, checking afterwards that our log is gap-free and its chain intact.

Ours is ``SqlEventStore.append`` from a ``NewEvent`` (stamping, encoding, hashing included); the
library's figure is its recorder's ``insert_events`` of ready-encoded ``StoredEvent``s (its
encoding is not timed); the raw driver inserts ready rows of our table, one statement per
transaction (SQLite) or one round trip (PostgreSQL). Every variant keeps the stream/version
uniqueness the store needs; rounds are interleaved and the median is reported.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from typing import Any, Callable

from xieshang.kernel.envelope import NewEvent
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine, store_metadata

from . import library as lib
from .common import LOWER, PgSchemas, Result, dsn, log, pct, times, timed_loop
from .events import DEPLOYMENT
from .workload import Pool, raw_row

BATCH = 100


# -- one variant: a callable doing one transaction, returning how many events it wrote ----------

class Variant:
    name: str = ""

    def single(self, i: int) -> int:
        raise NotImplementedError

    def batch(self, i: int) -> int:
        raise NotImplementedError

    def close(self) -> None:
        pass


class Ours(Variant):
    name = "ours"

    def __init__(self, store: SqlEventStore, pool: Pool, tag: str):
        self.store, self.pool, self.tag = store, pool, tag

    def single(self, i: int) -> int:
        stream, e = self.pool.at(i, self.tag + "s")
        self.store.append(stream, e.version - 1, [Pool.new_event(e)])
        return 1

    def batch(self, i: int) -> int:
        events = [Pool.new_event(self.pool.at(i * BATCH + k, "")[1]) for k in range(BATCH)]
        self.store.append(f"{self.tag}b-{i}", 0, events)
        return BATCH

    def close(self) -> None:
        self.store.close()


class Library(Variant):
    name = "library"

    def __init__(self, recorder: Any, pool: Pool):
        from eventsourcing.persistence import StoredEvent

        self.recorder, self.pool, self.Stored = recorder, pool, StoredEvent
        self.ids: dict[str, uuid.UUID] = {}

    def single(self, i: int) -> int:
        stream, e = self.pool.at(i, "s")
        oid = self.ids.setdefault(stream, uuid.uuid4())
        self.recorder.insert_events([self.Stored(oid, e.version, e.library_topic, e.library_state)])
        return 1

    def batch(self, i: int) -> int:
        oid = uuid.uuid4()
        events = []
        for k in range(BATCH):
            e = self.pool.at(i * BATCH + k, "")[1]
            events.append(self.Stored(oid, k + 1, e.library_topic, e.library_state))
        self.recorder.insert_events(events)
        return BATCH

    def close(self) -> None:
        self.recorder.datastore.close()


class RawSqlite(Variant):
    name = "raw driver"

    def __init__(self, path: str, pool: Pool):
        engine = sqlite_engine(path)
        store_metadata().create_all(engine)
        engine.dispose()
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.pool = pool
        self.position = 0
        self.sql = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)"

    def single(self, i: int) -> int:
        stream, e = self.pool.at(i, "s")
        self.position += 1
        self.conn.execute(self.sql, raw_row(self.position, stream, e))
        return 1

    def batch(self, i: int) -> int:
        rows = []
        for k in range(BATCH):
            e = self.pool.at(i * BATCH + k, "")[1]
            self.position += 1
            row = raw_row(self.position, f"b-{i}", e)
            rows.append(row[:3] + (k + 1,) + row[4:])
        self.conn.execute("BEGIN")
        self.conn.executemany(self.sql, rows)
        self.conn.execute("COMMIT")
        return BATCH

    def close(self) -> None:
        self.conn.close()


class RawPostgres(Variant):
    name = "raw driver"

    def __init__(self, url: str, schema: str, pool: Pool):
        import psycopg2

        engine = postgres_engine(url)
        store_metadata(schema).create_all(engine)
        engine.dispose()
        self.conn = psycopg2.connect(dsn(url))
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        self.pool = pool
        self.position = 0
        self.table = f'"{schema}".events'
        self.sql = f"INSERT INTO {self.table} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"

    def single(self, i: int) -> int:
        stream, e = self.pool.at(i, "s")
        self.position += 1
        self.cur.execute(self.sql, raw_row(self.position, stream, e))
        return 1

    def batch(self, i: int) -> int:
        from psycopg2.extras import execute_values

        rows = []
        for k in range(BATCH):
            e = self.pool.at(i * BATCH + k, "")[1]
            self.position += 1
            row = raw_row(self.position, f"b-{i}", e)
            rows.append(row[:3] + (k + 1,) + row[4:])
        # One statement, one round trip, one implicit transaction.
        execute_values(self.cur, f"INSERT INTO {self.table} VALUES %s", rows, page_size=BATCH)
        return BATCH

    def close(self) -> None:
        self.conn.close()


def _rate(fn: Callable[[int], int], seconds: float, start: int, max_items: int) -> tuple[float, int]:
    counter = {"i": start}

    def step(_: int) -> int:
        n = fn(counter["i"])
        counter["i"] += 1
        return n

    done, elapsed = timed_loop(step, seconds=seconds, max_items=max_items)
    return done / elapsed, counter["i"]


def _interleaved(variants: list[Variant], kind: str, seconds: float, rounds: int,
                 max_items: int) -> dict[str, list[float]]:
    """Warm each variant, then ``rounds`` rounds of each in turn; rates per variant."""
    rates: dict[str, list[float]] = {v.name: [] for v in variants}
    cursor = {v.name: 0 for v in variants}
    for v in variants:
        _, cursor[v.name] = _rate(getattr(v, kind), min(0.2, seconds), cursor[v.name], 200)
    for _ in range(rounds):
        for v in variants:
            rate, cursor[v.name] = _rate(getattr(v, kind), seconds, cursor[v.name], max_items)
            rates[v.name].append(rate)
    return rates


def _rows(backend: str, kind: str, rates: dict[str, list[float]], library_note: str,
          extra: dict[str, Any]) -> list[Result]:
    label = "single-event transactions" if kind == "single" else f"{BATCH}-event transactions"
    ours = statistics.median(rates["ours"])
    ref = statistics.median(rates["library"]) if rates.get("library") else None
    raw = statistics.median(rates["raw driver"]) if rates.get("raw driver") else None
    detail = {f"{k}_rounds": [round(x) for x in v] for k, v in rates.items()}
    factor = TARGET_RATIOS[(backend, kind)]
    note = f"target: ≥ {factor}× the library" + (f"; {library_note}" if library_note else "")
    rows = [Result(
        id=f"append.{backend}.{kind}", section="1. appends",
        figure=f"append, {label}, {backend}", unit="events/s", ours=ours,
        reference=ref, reference_name=f"eventsourcing {lib.VERSION or '(missing)'} recorder"
        + (", same durability" if ref else ""), target=times(ref, factor),
        note=note, extra={**detail, **extra, "raw_driver": raw})]
    if raw is not None:
        rows.append(Result(
            id=f"append.{backend}.{kind}.vs_raw", section="1. appends",
            figure=f"append, {label}, {backend}, vs the raw driver", unit="events/s", ours=ours,
            reference=raw, reference_name="raw driver, same rows, no chain"))
    return rows


# The targets, as ours ÷ the library at the same durability (our hash chain included).
TARGET_RATIOS = {("sqlite", "single"): 1.0, ("sqlite", "batch"): 1.0,
                 ("postgresql", "single"): 1.3, ("postgresql", "batch"): 1.0}


def run_sqlite(pool: Pool, seconds: float, rounds: int, tmp: str) -> list[Result]:
    variants: list[Variant] = [Ours(SqlEventStore(sqlite_engine(os.path.join(tmp, "ours.sqlite")),
                                                  DEPLOYMENT), pool, "o")]
    note = ""
    default_durability = None
    if lib.available():
        variants.append(Library(lib.sqlite_recorder(os.path.join(tmp, "lib.sqlite")), pool))
        shipped = Library(lib.sqlite_recorder(os.path.join(tmp, "lib-full.sqlite"), synchronous=None), pool)
        shipped.name = "library as shipped (synchronous=FULL)"
        variants.append(shipped)
    else:
        note = lib.MISSING
    variants.append(RawSqlite(os.path.join(tmp, "raw.sqlite"), pool))
    out = []
    try:
        for kind in ("single", "batch"):
            rates = _interleaved(variants, kind, seconds, rounds, 2_000_000)
            if lib.available():
                default_durability = statistics.median(rates.pop("library as shipped (synchronous=FULL)"))
            out += _rows("sqlite", kind, rates, note, {
                "durability": "WAL, synchronous=NORMAL on all three",
                "library_as_shipped_synchronous_full": default_durability})
            log(f"  appends sqlite {kind}: " + ", ".join(f"{k} {statistics.median(v):,.0f}/s"
                                                          for k, v in rates.items()))
    finally:
        for v in variants:
            v.close()
    return out


def run_postgres(pool: Pool, seconds: float, rounds: int, url: str, schemas: PgSchemas) -> list[Result]:
    variants: list[Variant] = [Ours(SqlEventStore(postgres_engine(url), DEPLOYMENT,
                                                  schema=schemas.new("ours")), pool, "o")]
    note = ""
    if lib.available():
        variants.append(Library(lib.postgres_recorder(dsn(url), schemas.new("lib")), pool))
    else:
        note = lib.MISSING
    variants.append(RawPostgres(url, schemas.new("raw"), pool))
    out = []
    try:
        for kind in ("single", "batch"):
            rates = _interleaved(variants, kind, seconds, rounds, 1_000_000)
            out += _rows("postgresql", kind, rates, note,
                         {"durability": "server's synchronous_commit (see machine)"})
            log(f"  appends postgresql {kind}: " + ", ".join(f"{k} {statistics.median(v):,.0f}/s"
                                                              for k, v in rates.items()))
    finally:
        for v in variants:
            v.close()
    return out


# -- concurrent writers (processes) ------------------------------------------------------------

_POOL: Pool | None = None


def _init_worker(pool: Pool) -> None:
    global _POOL
    _POOL = pool


def _writer(design: str, url: str, schema: str, writer: int, start_at: float, end_at: float) -> dict:
    """One writer process's appends from start_at to end_at (single events, own streams)."""
    import warnings

    warnings.filterwarnings("ignore")
    pool = _POOL
    assert pool is not None
    tag = f"w{writer}-"
    if design == "ours":
        store = SqlEventStore(postgres_engine(url, pool_size=1, max_overflow=0), DEPLOYMENT,
                              schema=schema, create=False)
        store.append(f"{tag}warm", 0, [NewEvent("Warm", {}, pool.events[0].actor)])

        def one(i: int) -> None:
            stream, e = pool.at(i, tag)
            store.append(stream, e.version - 1, [Pool.new_event(e)])

        close = store.close
    else:
        from eventsourcing.persistence import StoredEvent

        from .library import postgres_recorder

        recorder = postgres_recorder(dsn(url), schema, create=False)
        ids: dict[str, uuid.UUID] = {}

        def one(i: int) -> None:
            stream, e = pool.at(i, tag)
            oid = ids.setdefault(stream, uuid.uuid4())
            recorder.insert_events([StoredEvent(oid, e.version, e.library_topic, e.library_state)])

        one(10**7)  # warm the pool's connection
        close = recorder.datastore.close
    late = time.time() - start_at
    while time.time() < start_at:
        time.sleep(0.0005)
    latencies = []
    i = 0
    try:
        while True:
            t0 = time.perf_counter()
            if time.time() >= end_at:
                break
            one(i)
            latencies.append(time.perf_counter() - t0)
            i += 1
    finally:
        close()
    return {"appends": len(latencies), "latencies": latencies, "late_s": max(late, 0.0)}


def run_writers(pool: Pool, seconds: float, rounds: int, url: str, schemas: PgSchemas,
                counts: tuple[int, ...] = (1, 4, 8)) -> list[Result]:
    designs = ["ours"] + (["library"] if lib.available() else [])
    ctx = mp.get_context("spawn")
    results: dict[tuple[str, int], list[dict]] = {}
    checks: dict[int, dict] = {}
    with ctx.Pool(max(counts), initializer=_init_worker, initargs=(pool,)) as procs:
        for _round in range(rounds):
            for n in counts:
                for design in designs:
                    schema = schemas.new(f"w{n}{design[0]}")
                    if design == "ours":
                        SqlEventStore(postgres_engine(url), DEPLOYMENT, schema=schema).close()
                    else:
                        lib.postgres_recorder(dsn(url), schema).datastore.close()
                    start_at = time.time() + (1.0 if seconds < 2 else 2.0)
                    end_at = start_at + seconds
                    jobs = [procs.apply_async(_writer, (design, url, schema, w, start_at, end_at))
                            for w in range(n)]
                    outs = [j.get(timeout=seconds + 60) for j in jobs]
                    lat = [x for o in outs for x in o["latencies"]]
                    rec = {"appends_per_s": sum(o["appends"] for o in outs) / seconds,
                           "p50_ms": pct(lat, 0.5) * 1000, "p99_ms": pct(lat, 0.99) * 1000,
                           "late_s": max(o["late_s"] for o in outs)}
                    if design == "ours":
                        rec["order"] = checks[n] = _check_order(url, schema)
                    results.setdefault((design, n), []).append(rec)
                    schemas.drop(schema)
                    log(f"  writers {n} {design}: {rec['appends_per_s']:,.0f}/s p99 {rec['p99_ms']:.1f} ms")
    out = []
    for n in counts:
        ours = results[("ours", n)]
        ref = results.get(("library", n))
        med = statistics.median(r["appends_per_s"] for r in ours)
        ref_med = statistics.median(r["appends_per_s"] for r in ref) if ref else None
        out.append(Result(
            id=f"append.postgresql.writers{n}", section="1. appends",
            figure=f"append, single events, PostgreSQL, {n} concurrent writer process(es)",
            unit="events/s", ours=med, reference=ref_med,
            reference_name="eventsourcing recorder (table lock, same writers)" if ref else "none",
            note=("order checked after the run: " + ("positions gap-free, chain intact"
                  if all(r["order"]["ok"] for r in ours) else "GAPS OR A BROKEN CHAIN"))
            + ("" if ref else "; " + lib.MISSING),
            extra={"ours_p50_ms": statistics.median(r["p50_ms"] for r in ours),
                   "ours_p99_ms": max(r["p99_ms"] for r in ours),
                   "library_p50_ms": statistics.median(r["p50_ms"] for r in ref) if ref else None,
                   "library_p99_ms": max(r["p99_ms"] for r in ref) if ref else None,
                   "gap_free_and_chain_intact": all(r["order"]["ok"] for r in ours),
                   "order_check": ours[-1]["order"],
                   "ours_rounds": [round(r["appends_per_s"]) for r in ours],
                   "library_rounds": [round(r["appends_per_s"]) for r in ref] if ref else None}))
        out.append(Result(
            id=f"append.postgresql.writers{n}.p99", section="1. appends",
            figure=f"append latency p99, PostgreSQL, {n} concurrent writer(s)", unit="ms",
            ours=max(r["p99_ms"] for r in ours),
            reference=max(r["p99_ms"] for r in ref) if ref else None,
            reference_name="eventsourcing recorder, same writers" if ref else "none", better=LOWER,
            note="" if ref else lib.MISSING))
    if 1 in counts and 4 in counts:
        one = statistics.median(r["appends_per_s"] for r in results[("ours", 1)])
        four = statistics.median(r["appends_per_s"] for r in results[("ours", 4)])
        out.append(Result(
            id="append.postgresql.writers4.vs_writers1", section="1. appends",
            figure="append, single events, PostgreSQL, 4 writer processes against 1", unit="events/s",
            ours=four, reference=one, reference_name="ours with 1 writer, same run", target=one,
            note="target: more events/s with 4 writers than with 1"))
    return out


def _check_order(url: str, schema: str) -> dict:
    """After a writer run: positions 1..n with no gap, and the hash chain verifies."""
    store = SqlEventStore(postgres_engine(url), DEPLOYMENT, schema=schema, create=False)
    try:
        rows = store._query(f'SELECT count(*), COALESCE(min(position), 0), COALESCE(max(position), 0) '
                            f'FROM "{schema}".events')
        count, first, last = (int(x) for x in rows[0])
        report = store.verify()
        return {"events": count, "first": first, "last": last, "gap_free": count == last and first in (0, 1),
                "chain_ok": report.ok, "ok": count == last and report.ok}
    finally:
        store.close()


def run(*, quick: bool, smoke: bool, backends: set[str], pg_url: str, schemas: PgSchemas | None,
        pg_skip: str | None) -> list[Result]:
    seconds = 0.15 if smoke else 0.6 if quick else 3.0
    rounds = 1 if (quick or smoke) else 3
    pool = Pool(300 if smoke else 5000, library=lib.available())
    extra = {"mean_body_bytes": round(pool.mean_body_bytes), "library_mean_bytes":
             round(pool.mean_library_bytes) if pool.mean_library_bytes else None}
    out: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="xieshang-bench-") as tmp:
        if "sqlite" in backends:
            out += run_sqlite(pool, seconds, rounds, tmp)
    if "postgresql" in backends:
        if pg_skip or schemas is None:
            out += skipped_postgres(pg_skip or "PostgreSQL not selected")
        else:
            out += run_postgres(pool, seconds, rounds, pg_url, schemas)
            writer_seconds = 0.8 if quick or smoke else 5.0
            counts = (1, 4) if smoke else (1, 4, 8)
            out += run_writers(pool, writer_seconds, rounds, pg_url, schemas, counts)
    for r in out:
        r.extra.update(extra)
    return out


def skipped_postgres(why: str) -> list[Result]:
    rows = []
    for kind in ("single", "batch"):
        rows.append(Result(id=f"append.postgresql.{kind}", section="1. appends",
                           figure=f"append, {kind}, postgresql", unit="events/s", ours=None,
                           reference=None, reference_name="library", note=why))
    for n in (1, 4, 8):
        rows.append(Result(id=f"append.postgresql.writers{n}", section="1. appends",
                           figure=f"append, PostgreSQL, {n} writers", unit="events/s", ours=None,
                           reference=None, reference_name="library", note=why))
    return rows
