"""2. Reads: the whole log with decoding, and one 50-event stream; 6. Verify: the hash chain.

Ours: ``read_all`` pages of 1,000 to ``Envelope`` objects; ``read_stream``; ``verify()``.
The library: ``select_notifications`` pages of 1,000 then its ``Mapper`` to domain event objects
(the same fields, timestamps parsed); ``select_events`` of one originator, decoded. The verify
reference is the raw driver walking the same rows and recomputing only the SHA-256 chain (no
JSON parse, no column cross-check): the floor a chain walk costs in Python. ``verify(jobs=2)``
(chunks in two processes) is measured beside both, where the store's ``verify`` takes ``jobs``.
"""

from __future__ import annotations

import inspect
import os
import statistics
import tempfile
import time
import uuid
from typing import Any, Callable

from xieshang.kernel.store.port import GENESIS_HASH, chain_hash
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine

from . import library as lib
from .common import LOWER, PgSchemas, Result, dsn, log, pct, times
from .events import DEPLOYMENT, Replicator, bulk_load

PAGE = 1000
STREAM_EVENTS = 50
TARGETS = {"sqlite": 100_000, "postgresql": 60_000}
# verify() against the raw SHA-256 walk of the same rows: one process, and two (jobs=2).
VERIFY_RATIO = 0.9
VERIFY_JOBS = 2
VERIFY_JOBS_RATIO = 1.6
# The library's copy of the log is written in transactions of this many events. Not thousands:
# the library's PostgreSQL insert_events runs in psycopg 3.3's pipeline, whose sending loop ends
# once every command is queued even when its last flush left bytes unsent; Pipeline.sync then
# waits for results the server cannot send before it has the rest. With 5,000-event batches
# (4.6 MB) the reads section hung in one run of two to six, the client in Pipeline.sync, the
# server in ClientRead. 100 events (about 90 KB) fit the socket's buffers, and are what the
# appends section measures the library with.
FILL_BATCH = 100


def _rate(fn: Callable[[], int], rounds: int) -> tuple[float, list[float]]:
    rates = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        n = fn()
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates), rates


def _fill_library(recorder: Any, store: SqlEventStore) -> None:
    ids: dict[str, uuid.UUID] = {}
    after = 0
    while True:
        page = store.read_all(after, FILL_BATCH)
        if not page:
            return
        recorder.insert_events(lib.stored_events(page, ids))
        after = page[-1].position


def _stream(store: SqlEventStore, recorder: Any) -> tuple[str, Any]:
    """A 50-event proposal-like stream in both stores."""
    template = store.read_all(0, STREAM_EVENTS)
    name = f"proposal-bench-{uuid.uuid4()}"
    from xieshang.kernel.envelope import NewEvent

    store.append(name, 0, [NewEvent(type=e.type, data=e.data, actor=e.actor, occurred_at=e.occurred_at)
                           for e in template])
    oid = None
    if recorder is not None:
        oid = uuid.uuid4()
        recorder.insert_events(lib.renumber(lib.stored_events(store.read_stream(name), {}), oid, 1))
    return name, oid


def _timed_reads(fn: Callable[[], Any], seconds: float, max_reads: int = 200_000) -> tuple[float, float, float]:
    """(reads/s, p50 ms, p99 ms) of ``fn`` for ``seconds``."""
    for _ in range(20):
        fn()
    lat = []
    end = time.perf_counter() + seconds
    while len(lat) < max_reads:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        lat.append(t1 - t0)
        if t1 >= end:
            break
    return len(lat) / sum(lat), pct(lat, 0.5) * 1000, pct(lat, 0.99) * 1000


def measure(backend: str, store: SqlEventStore, recorder: Any, n: int, rounds: int,
            seconds: float, raw_rows: Callable[[], Any]) -> list[Result]:
    out = []

    def ours_all() -> int:
        return sum(1 for _ in store.iter_all(0, PAGE))

    def library_all(decode: bool = True) -> int:
        m = lib.mapper()
        count, start = 0, 1
        while True:
            page = recorder.select_notifications(start, PAGE)
            if not page:
                return count
            if decode:
                lib.decode_notifications(m, page)
            count += len(page)
            start = page[-1].id + 1

    ours_all()  # warm the page cache for everyone
    ours_rates, lib_rates, lib_raw_rates = [], [], []
    for _ in range(rounds):
        ours_rates.append(_rate(ours_all, 1)[0])
        if recorder is not None:
            lib_rates.append(_rate(library_all, 1)[0])
            lib_raw_rates.append(_rate(lambda: library_all(False), 1)[0])
    ours = statistics.median(ours_rates)
    ref = statistics.median(lib_rates) if lib_rates else None
    log(f"  read-all {backend}: ours {ours:,.0f}/s, library {ref or 0:,.0f}/s")
    out.append(Result(
        id=f"read.{backend}.all", section="2. reads", figure=f"read all with decoding, {backend}",
        unit="events/s", ours=ours, reference=ref,
        reference_name="eventsourcing select_notifications + Mapper" if ref else "none",
        target=TARGETS[backend], n=n, note="" if recorder is not None else lib.MISSING,
        extra={"ours_rounds": [round(x) for x in ours_rates], "library_rounds": [round(x) for x in lib_rates],
               "library_without_decoding": statistics.median(lib_raw_rates) if lib_raw_rates else None,
               "page": PAGE}))

    name, oid = _stream(store, recorder)
    assert len(store.read_stream(name)) == STREAM_EVENTS
    ours_s = _timed_reads(lambda: store.read_stream(name), seconds)
    ref_s = None
    if recorder is not None:
        m = lib.mapper()
        ref_s = _timed_reads(lambda: [m.to_domain_event(s) for s in recorder.select_events(oid)], seconds)
    log(f"  read one 50-event stream {backend}: ours {ours_s[0]:,.0f}/s, library {ref_s[0] if ref_s else 0:,.0f}/s")
    out.append(Result(
        id=f"read.{backend}.stream50", section="2. reads",
        figure=f"read one {STREAM_EVENTS}-event stream with decoding, {backend}", unit="streams/s",
        ours=ours_s[0], reference=ref_s[0] if ref_s else None,
        reference_name="eventsourcing select_events + Mapper" if ref_s else "none", n=n,
        note="" if ref_s else lib.MISSING,
        extra={"ours_p50_ms": ours_s[1], "ours_p99_ms": ours_s[2],
               "library_p50_ms": ref_s[1] if ref_s else None, "library_p99_ms": ref_s[2] if ref_s else None,
               "ours_events_per_s": ours_s[0] * STREAM_EVENTS,
               "library_events_per_s": ref_s[0] * STREAM_EVENTS if ref_s else None}))
    out.append(Result(
        id=f"read.{backend}.stream50.p50", section="2. reads",
        figure=f"read one {STREAM_EVENTS}-event stream, latency p50, {backend}", unit="ms",
        ours=ours_s[1], reference=ref_s[1] if ref_s else None,
        reference_name="eventsourcing select_events + Mapper" if ref_s else "none", better=LOWER, n=n,
        note="" if ref_s else lib.MISSING))
    out += verify_rows(backend, store, n, rounds, raw_rows)
    return out


def verify_rows(backend: str, store: SqlEventStore, n: int, rounds: int,
                raw_rows: Callable[[], Any], label: str = "") -> list[Result]:
    """verify() in one process and with ``jobs=2``, beside the raw walk, rounds interleaved."""
    parallel = "jobs" in inspect.signature(store.verify).parameters

    def ours(**kw: Any) -> Callable[[], int]:
        def run() -> int:
            report = store.verify(**kw)
            assert report.ok, report
            return report.checked
        return run

    def raw() -> int:
        prev, count = GENESIS_HASH, 0
        for position, body, prev_hash, digest in raw_rows():
            raw_body = body if isinstance(body, bytes) else bytes(body)
            if prev_hash != prev or chain_hash(prev, position, raw_body) != digest:
                raise AssertionError(f"chain broken at {position}")
            prev = digest
            count += 1
        return count

    variants = {"ours": ours(), "raw": raw}
    if parallel:
        variants["jobs"] = ours(jobs=VERIFY_JOBS)
    rounds_of: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):  # interleaved, so a noisy moment hits every variant alike
        for name, fn in variants.items():
            rounds_of[name].append(_rate(fn, 1)[0])
    rate = {k: statistics.median(v) for k, v in rounds_of.items()}
    log(f"  verify {backend}{label}: ours {rate['ours']:,.0f}/s"
        + (f", jobs={VERIFY_JOBS} {rate['jobs']:,.0f}/s" if parallel else "")
        + f", raw chain walk {rate['raw']:,.0f}/s")
    key = f"verify.{backend}{label.replace(' ', '')}"
    detail = {f"{k}_rounds": [round(x) for x in v] for k, v in rounds_of.items()}
    raw_name = "raw driver: same rows, SHA-256 chain only"
    rows = [Result(
        id=key, section="6. verify", figure=f"verify the hash chain, {backend}{label}", unit="events/s",
        ours=rate["ours"], reference=rate["raw"], reference_name=raw_name,
        target=times(rate["raw"], VERIFY_RATIO), n=n,
        note=f"target: ≥ {VERIFY_RATIO}× the raw walk", extra=detail)]
    figure = f"verify the hash chain with jobs={VERIFY_JOBS}, {backend}{label}"
    if not parallel:
        why = "skipped: verify has no jobs parameter"
        return rows + [Result(id=f"{key}.jobs{VERIFY_JOBS}", section="6. verify", figure=figure,
                              unit="events/s", ours=None, reference=rate["raw"], reference_name=raw_name,
                              n=n, note=why),
                       Result(id=f"{key}.jobs{VERIFY_JOBS}.vs_jobs1", section="6. verify",
                              figure=f"{figure}, vs verify() in one process", unit="events/s", ours=None,
                              reference=rate["ours"], reference_name="verify() (jobs=1), same run", n=n,
                              note=why)]
    return rows + [
        Result(id=f"{key}.jobs{VERIFY_JOBS}", section="6. verify", figure=figure, unit="events/s",
               ours=rate["jobs"], reference=rate["raw"], reference_name=raw_name,
               target=times(rate["raw"], VERIFY_JOBS_RATIO), n=n,
               note=f"target: ≥ {VERIFY_JOBS_RATIO}× the raw walk (one process)", extra=detail),
        Result(id=f"{key}.jobs{VERIFY_JOBS}.vs_jobs1", section="6. verify",
               figure=f"{figure}, vs verify() in one process", unit="events/s", ours=rate["jobs"],
               reference=rate["ours"], reference_name="verify() (jobs=1), same run", n=n)]


def sqlite_raw_rows(path: str) -> Callable[[], Any]:
    import sqlite3

    def rows():
        conn = sqlite3.connect(path)
        try:
            after = 0
            while True:
                page = conn.execute("SELECT position, body, prev_hash, hash FROM events WHERE position > ? "
                                    "ORDER BY position LIMIT 20000", (after,)).fetchall()
                if not page:
                    return
                yield from page
                after = page[-1][0]
        finally:
            conn.close()
    return rows


def pg_raw_rows(url: str, schema: str) -> Callable[[], Any]:
    import psycopg2

    def rows():
        conn = psycopg2.connect(dsn(url))
        try:
            cur = conn.cursor()
            after = 0
            while True:
                cur.execute(f'SELECT position, body, prev_hash, hash FROM "{schema}".events '
                            "WHERE position > %s ORDER BY position LIMIT 20000", (after,))
                page = cur.fetchall()
                if not page:
                    return
                yield from page
                after = page[-1][0]
        finally:
            conn.close()
    return rows


def run(*, quick: bool, smoke: bool, backends: set[str], pg_url: str, schemas: PgSchemas | None,
        pg_skip: str | None) -> list[Result]:
    n = 1_000 if smoke else 15_000 if quick else 100_000
    rounds = 1 if smoke or quick else 3
    seconds = 0.15 if smoke else 0.6 if quick else 3.0
    out: list[Result] = []
    replicator = Replicator(session_prefix="r")
    items = list(replicator.items(n))
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory(prefix="xieshang-bench-") as tmp:
            path = os.path.join(tmp, "ours.sqlite")
            store = SqlEventStore(sqlite_engine(path), DEPLOYMENT)
            loaded = bulk_load(store, iter(items))
            recorder = None
            if lib.available():
                recorder = lib.sqlite_recorder(os.path.join(tmp, "lib.sqlite"))
                _fill_library(recorder, store)
            try:
                out += measure("sqlite", store, recorder, loaded, rounds, seconds, sqlite_raw_rows(path))
            finally:
                store.close()
                if recorder is not None:
                    recorder.datastore.close()
    if "postgresql" in backends:
        if pg_skip or schemas is None:
            why = pg_skip or "PostgreSQL not selected"
            out += [Result(id=i, section=s, figure=i, unit="events/s", ours=None, reference=None,
                           reference_name="", note=why)
                    for i, s in (("read.postgresql.all", "2. reads"), ("read.postgresql.stream50", "2. reads"),
                                 ("verify.postgresql", "6. verify"),
                                 (f"verify.postgresql.jobs{VERIFY_JOBS}", "6. verify"))]
        else:
            schema = schemas.new("reads")
            store = SqlEventStore(postgres_engine(pg_url), DEPLOYMENT, schema=schema)
            loaded = bulk_load(store, iter(items))
            recorder = None
            if lib.available():
                recorder = lib.postgres_recorder(dsn(pg_url), schemas.new("readslib"))
                _fill_library(recorder, store)
            try:
                out += measure("postgresql", store, recorder, loaded, rounds, seconds,
                               pg_raw_rows(pg_url, schema))
            finally:
                store.close()
                if recorder is not None:
                    recorder.datastore.close()
    return out
