"""Log ordering on PostgreSQL: a lock on the chain head, or a safe horizon? (docs/adr/0003-log-ordering.md)

A follower reads the log by position and must never skip an event that commits late. Two ways
to get that on PostgreSQL, measured here with 1, 4 and 8 concurrent writers:

  lock-store     our SqlEventStore: every append locks the ``chain_head`` row from reading the
                 head to COMMIT, so positions are assigned in commit order (and hash-chained).
  horizon        positions from a BIGINT identity column, no lock; each row records
                 ``pg_current_xact_id()``; a follower only reads rows whose transaction is older
                 than the oldest one still running (``pg_snapshot_xmin(pg_current_snapshot())``).
                 One round trip per append, no hash chain.
  lock-identity  the same table and statement as ``horizon``, preceded by
                 ``SELECT … FOR UPDATE`` of a lock row in the same implicit transaction: the cost
                 of the lock alone, without the rest of what our store does.

Readers: while 4 writers append, a follower polls pages of 1000 after its checkpoint; at the end
every position it read is compared with what the table holds (skipped = behind its checkpoint
and never read). Followers measured: by position (lock designs, and on ``horizon`` without a
horizon to show why one is needed); by position below the horizon (the query usually
suggested: ``position > :after AND tx < horizon``), which is NOT safe, because a transaction can
take its id before another one and its position after it; and by (transaction id, position)
below the horizon with a (tx, position) checkpoint, which is. Two deterministic interleavings
(``probes``) show that skip, and what any open transaction on the server does to a horizon
follower.

Writers are OS processes (multiprocessing, spawn), not threads: each append does Python work
(building and encoding the envelope, hashing, SQLAlchemy's pool) under the GIL, and in threads
that work would be serialised across writers and cap the lock-free design by the client instead
of by PostgreSQL. On a 2-core machine the writer processes still share the cores with their
PostgreSQL backends, which is part of what the 4- and 8-writer numbers show.

Every measurement runs in a fresh schema ``bench_logord_<run>_<n>``, dropped afterwards.

Run: .venv/bin/python bench/log_ordering.py [--quick] [--json] [--seconds S] [--rounds R]
URL: $XIESHANG_TEST_PG_URL, default postgresql+psycopg2://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"(?s)\s*Eventlet is deprecated")

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing as mp  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime  # noqa: E402
from typing import Any  # noqa: E402

import orjson  # noqa: E402
import psycopg2  # noqa: E402

from xieshang.kernel.envelope import Actor, Deployment, NewEvent, encode_body, utcnow  # noqa: E402
from xieshang.kernel.store.port import stamp  # noqa: E402
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine  # noqa: E402

PG_URL = os.environ.get("XIESHANG_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
DEPLOYMENT = Deployment("640200", "city")
STREAMS_PER_WRITER = 50
PAGE = 1000
WARMUP = 30
MAX_APPENDS = 500_000  # per writer and measurement: a bound that time reaches first
DESIGNS = ("lock-store", "horizon", "lock-identity")
LABELS = {
    "lock-store": "(a) store: lock + chain",
    "horizon": "(b) identity + horizon",
    "lock-identity": "(c) identity + lock",
}


def dsn(url: str) -> str:
    """libpq URI for raw psycopg2 from a SQLAlchemy URL."""
    _scheme, rest = url.split("://", 1)
    return "postgresql://" + rest


# -- the safe-horizon table (b, c) ---------------------------------------------------------

def horizon_ddl(schema: str) -> list[str]:
    s = f'"{schema}"'
    return [
        f"CREATE SCHEMA {s}",
        # tx: the inserting transaction's 64-bit id (pg_current_xact_id() never wraps around,
        # unlike the 32-bit xmin system column cast through text).
        f"CREATE TABLE {s}.events ("
        " position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " tx xid8 NOT NULL DEFAULT pg_current_xact_id(),"
        " event_id VARCHAR(36) NOT NULL UNIQUE,"
        " stream VARCHAR(200) NOT NULL,"
        " version INTEGER NOT NULL,"
        " type VARCHAR(200) NOT NULL,"
        " body BYTEA NOT NULL,"
        " CONSTRAINT events_stream_version UNIQUE (stream, version))",
        # What a follower by (tx, position) needs; kept for every horizon run so that the
        # writers pay for the index a correct horizon follower needs.
        f"CREATE INDEX events_tx_position ON {s}.events (tx, position)",
        f"CREATE TABLE {s}.chain_head (id INTEGER PRIMARY KEY, position BIGINT NOT NULL DEFAULT 0)",
        f"INSERT INTO {s}.chain_head (id) VALUES (1)",
    ]


def horizon_insert(schema: str, lock: bool) -> str:
    s = f'"{schema}"'
    insert = (f"INSERT INTO {s}.events (event_id, stream, version, type, body) "
              f"SELECT %s, %s, COALESCE(MAX(version), 0) + 1, %s, %s FROM {s}.events WHERE stream = %s "
              "RETURNING position, version")
    if not lock:
        return insert  # autocommit: one statement, one transaction, one round trip
    # Several statements in one simple query run as one implicit transaction: the row lock is
    # held from before the identity value is drawn until after COMMIT. Still one round trip.
    return f"SELECT 1 FROM {s}.chain_head WHERE id = 1 FOR UPDATE; " + insert


# -- writers (in worker processes) ---------------------------------------------------------

def new_event(writer_no: int, i: int) -> NewEvent:
    return NewEvent("Benchmarked", {"writer": writer_no, "i": i, "title": "路灯不亮"},
                    Actor(f"bench-{writer_no}", "staff", "bench"))


class StoreWriter:
    """(a) our store, as a service uses it."""

    def __init__(self, url: str, schema: str, writer_no: int):
        self.store = SqlEventStore(postgres_engine(url, pool_size=1, max_overflow=0), DEPLOYMENT,
                                   schema=schema, create=False)
        self.writer_no = writer_no

    def append(self, stream: str, i: int) -> None:
        self.store.append(stream, None, [new_event(self.writer_no, i)])

    def close(self) -> None:
        self.store.close()


class RawWriter:
    """(b) and (c): the same envelope bytes, one statement and one round trip per append."""

    def __init__(self, url: str, schema: str, writer_no: int, lock: bool):
        self.conn = psycopg2.connect(dsn(url))
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        self.sql = horizon_insert(schema, lock)
        self.writer_no = writer_no
        self.versions: dict[str, int] = {}

    def append(self, stream: str, i: int) -> None:
        new = new_event(self.writer_no, i)
        # The version is decided by the database (MAX + 1, as our store does for
        # expected_version=None); the body needs it too: this writer owns its streams, so it
        # knows it, and the check below makes sure the two agree.
        version = self.versions.get(stream, 0) + 1
        body = encode_body(stamp(new, stream, version, utcnow(), DEPLOYMENT).body())
        self.cur.execute(self.sql, (new.event_id, stream, new.type, body, stream))
        _position, stored = self.cur.fetchone()
        if stored != version:
            raise AssertionError(f"{stream}: stored version {stored}, expected {version}")
        self.versions[stream] = version

    def close(self) -> None:
        self.conn.close()


def make_writer(design: str, url: str, schema: str, writer_no: int):
    if design == "lock-store":
        return StoreWriter(url, schema, writer_no)
    return RawWriter(url, schema, writer_no, lock=design == "lock-identity")


def worker_main(conn, writer_no: int) -> None:  # noqa: ANN001 - a multiprocessing pipe end
    """A writer process: prepare (connect, warm up), run (append until a deadline), repeat."""
    writer = None
    while True:
        msg = conn.recv()
        try:
            if msg[0] == "stop":
                return
            if msg[0] == "prepare":
                _, design, url, schema = msg
                writer = make_writer(design, url, schema, writer_no)
                for i in range(WARMUP):
                    writer.append(f"warm{writer_no}-{i % 5}", i)
                conn.send(("ready",))
            elif msg[0] == "run":
                _, start_at, end_at = msg
                streams = [f"w{writer_no}-{k}" for k in range(STREAMS_PER_WRITER)]
                latencies: list[float] = []
                delay = start_at - time.time()
                if delay > 0:
                    time.sleep(delay)
                i = 0
                while i < MAX_APPENDS:
                    if time.time() >= end_at:
                        break
                    t0 = time.perf_counter()
                    writer.append(streams[i % STREAMS_PER_WRITER], i)
                    t1 = time.perf_counter()
                    i += 1
                    if time.time() <= end_at:  # the append that straddles the deadline does not count
                        latencies.append(t1 - t0)
                writer.close()
                writer = None
                conn.send(("done", latencies))
        except BaseException:
            conn.send(("error", traceback.format_exc()))
            if writer is not None:
                try:
                    writer.close()
                except Exception:
                    pass
                writer = None


class Workers:
    """Writer processes, started once and reused by every measurement."""

    def __init__(self, n: int):
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        for k in range(n):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker_main, args=(child, k), daemon=True)
            p.start()
            self.pipes.append(parent)
            self.procs.append(p)

    def _gather(self, n: int, timeout: float) -> list[tuple]:
        out = []
        for pipe in self.pipes[:n]:
            if not pipe.poll(timeout):
                raise RuntimeError("a writer process did not answer")
            msg = pipe.recv()
            if msg[0] == "error":
                raise RuntimeError("a writer process failed:\n" + msg[1])
            out.append(msg)
        return out

    def prepare(self, n: int, design: str, url: str, schema: str) -> None:
        for pipe in self.pipes[:n]:
            pipe.send(("prepare", design, url, schema))
        self._gather(n, 120)

    def start(self, n: int, start_at: float, end_at: float) -> None:
        for pipe in self.pipes[:n]:
            pipe.send(("run", start_at, end_at))

    def results(self, n: int, end_at: float) -> list[list[float]]:
        return [msg[1] for msg in self._gather(n, max(0.0, end_at - time.time()) + 120)]

    def close(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send(("stop",))
            except OSError:
                pass
        for p in self.procs:
            p.join(10)
            if p.is_alive():
                p.terminate()
                p.join()


# -- schemas ---------------------------------------------------------------------------------

class Schemas:
    """Fresh throwaway schemas, one per measurement, all dropped at the end."""

    def __init__(self, url: str):
        self.url = url
        self.prefix = f"bench_logord_{uuid.uuid4().hex[:8]}"
        self.count = 0
        self.admin = psycopg2.connect(dsn(url))
        self.admin.autocommit = True

    def create(self, design: str) -> str:
        self.count += 1
        schema = f"{self.prefix}_{self.count}"
        if design == "lock-store":
            store = SqlEventStore(postgres_engine(self.url, pool_size=1), DEPLOYMENT, schema=schema)
            store.close()
        else:
            cur = self.admin.cursor()
            for statement in horizon_ddl(schema):
                cur.execute(statement)
        return schema

    def drop(self, schema: str) -> None:
        self.admin.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def drop_all(self) -> None:
        cur = self.admin.cursor()
        cur.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (self.prefix + "\\_%",))
        for (name,) in cur.fetchall():
            cur.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.admin.close()


# -- followers (in this process) -------------------------------------------------------------

class Follower:
    """Polls pages after its checkpoint, as a relay or a projection does, and records what it
    read, how long each page query took, how many committed events it had not yet delivered
    right after each poll (lag), and how long after its append began each event was read."""

    kinds = {
        "position": "by position",
        "position-horizon": "by position, below horizon",
        "tx-horizon": "by (tx, position), below horizon",
    }

    def __init__(self, url: str, schema: str, kind: str, lock_store: bool):
        self.conn = psycopg2.connect(dsn(url))
        self.conn.autocommit = True
        self.cur = self.conn.cursor()
        self.kind = kind
        ev = f'"{schema}".events'
        self.events_table = ev
        self.lock_store = lock_store
        cols = "position, body, prev_hash, hash" if lock_store else "position, body"
        # The horizon as a scalar subquery: evaluated once per query (an InitPlan), not per row.
        horizon = "tx < (SELECT pg_snapshot_xmin(pg_current_snapshot()))"
        if kind == "position":
            self.page_sql = f"SELECT {cols} FROM {ev} WHERE position > %s ORDER BY position LIMIT %s"
            self.lag_sql = f"SELECT count(*) FROM {ev} WHERE position > %s"
        elif kind == "position-horizon":
            self.page_sql = (f"SELECT {cols} FROM {ev} WHERE position > %s AND {horizon} "
                             "ORDER BY position LIMIT %s")
            self.lag_sql = f"SELECT count(*) FROM {ev} WHERE position > %s"
        elif kind == "tx-horizon":
            # Careful: an output column named "tx" (e.g. "tx::text AS tx") would make ORDER BY tx
            # sort by the text, and "10000" < "9999".
            self.page_sql = (f"SELECT position, body, tx::text AS tx_text FROM {ev} "
                             f"WHERE (tx, position) > (%s::xid8, %s) AND {horizon} "
                             "ORDER BY tx, position LIMIT %s")
            self.lag_sql = f"SELECT count(*) FROM {ev} WHERE (tx, position) > (%s::xid8, %s)"
        else:
            raise ValueError(kind)
        self.checkpoint: tuple = ("0", 0) if kind == "tx-horizon" else (0,)
        self.read: list[int] = []
        self.page_seconds: list[float] = []
        self.lags: list[int] = []
        self.delays: list[float] = []

    def poll(self, measure: bool = True) -> int:
        t0 = time.perf_counter()
        self.cur.execute(self.page_sql, (*self.checkpoint, PAGE))
        rows = self.cur.fetchall()
        t1 = time.perf_counter()
        now = time.time()
        if rows:
            self.read += [r[0] for r in rows]
            last = rows[-1]
            self.checkpoint = (last[2], last[0]) if self.kind == "tx-horizon" else (last[0],)
        if measure:
            self.page_seconds.append(t1 - t0)
            for r in rows:
                began = datetime.fromisoformat(orjson.loads(r[1])["occurred_at"]).timestamp()
                self.delays.append(now - began)
            self.cur.execute(self.lag_sql, self.checkpoint)
            self.lags.append(self.cur.fetchone()[0])
        return len(rows)

    def follow(self, until: float) -> None:
        while time.time() < until:
            if self.poll() < PAGE:
                time.sleep(0.002)

    def drain(self, timeout: float) -> bool:
        """Read until nothing committed is left beyond the checkpoint; False on timeout
        (a horizon follower waits for every older transaction on the server)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.poll(measure=False) == 0:
                self.cur.execute(self.lag_sql, self.checkpoint)
                if self.cur.fetchone()[0] == 0:
                    return True
                time.sleep(0.01)
        return False

    def audit(self) -> dict[str, Any]:
        """Compare what was read with the table: skipped = behind the checkpoint, never read."""
        tx = "NULL" if self.lock_store else "tx::text::numeric"
        self.cur.execute(f"SELECT position, {tx} FROM {self.events_table} ORDER BY position")
        rows = self.cur.fetchall()
        if self.kind == "tx-horizon":
            cp = (int(self.checkpoint[0]), self.checkpoint[1])
            behind = {p for p, t in rows if (int(t), p) <= cp}
        else:
            behind = {r[0] for r in rows if r[0] <= self.checkpoint[0]}
        stored = {r[0] for r in rows}
        read = set(self.read)
        skipped = sorted(behind - read)
        # For each of the first skipped rows: (position, tx) of it and of the next row, to see
        # whether the next position was written by an older transaction.
        index = {r[0]: i for i, r in enumerate(rows)}
        around = [[[int(x) if x is not None else None for x in rows[j]]
                   for j in (index[p], index[p] + 1) if j < len(rows)] for p in skipped[:5]]
        return {
            "skipped_with_next_row": around,
            "stored": len(stored),
            "read": len(self.read),
            "duplicates": len(self.read) - len(read),
            "skipped": len(skipped),
            "skipped_first": skipped[:10],
            "pending": len(stored - read - set(skipped)),
            "phantom": len(read - stored),
        }

    def catch_up_rate(self) -> float:
        """events/s of reading the whole table again from the start, pages of 1000."""
        self.checkpoint = ("0", 0) if self.kind == "tx-horizon" else (0,)
        self.read = []
        t0 = time.perf_counter()
        while self.poll(measure=False) == PAGE:
            pass
        elapsed = time.perf_counter() - t0
        return len(self.read) / elapsed if elapsed > 0 else 0.0

    def close(self) -> None:
        self.conn.close()


# -- measurements ------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def measure_writers(workers: Workers, schemas: Schemas, design: str, n: int, seconds: float,
                    follower_kind: str | None = None) -> dict[str, Any]:
    schema = schemas.create(design)
    follower = None
    try:
        workers.prepare(n, design, schemas.url, schema)
        if follower_kind:
            follower = Follower(schemas.url, schema, follower_kind, lock_store=design == "lock-store")
            follower.drain(5.0)  # the warm-up events, unmeasured
        start_at = time.time() + 0.2
        end_at = start_at + seconds
        workers.start(n, start_at, end_at)
        if follower:
            while time.time() < start_at:
                time.sleep(0.001)
            follower.follow(end_at)
        latencies = workers.results(n, end_at)
        appends = sum(len(w) for w in latencies)
        flat = [x for w in latencies for x in w]
        out = {
            "design": design, "writers": n, "seconds": seconds, "appends": appends,
            "appends_per_s": appends / seconds,
            "latency_ms_p50": pct(flat, 0.50) * 1000, "latency_ms_p99": pct(flat, 0.99) * 1000,
        }
        if follower:
            drained = follower.drain(15.0)
            audit = follower.audit()
            out["follower"] = {
                "kind": follower_kind, "drained": drained, **audit,
                "page_ms_p50": pct(follower.page_seconds, 0.5) * 1000,
                "page_ms_p99": pct(follower.page_seconds, 0.99) * 1000,
                "lag_events_p50": pct(follower.lags, 0.5), "lag_events_p99": pct(follower.lags, 0.99),
                "lag_events_max": max(follower.lags) if follower.lags else 0,
                "delay_ms_p50": pct(follower.delays, 0.5) * 1000,
                "delay_ms_p99": pct(follower.delays, 0.99) * 1000,
                "catch_up_events_per_s": max(follower.catch_up_rate(), follower.catch_up_rate()),
            }
        return out
    finally:
        if follower:
            follower.close()
        schemas.drop(schema)


def probes(schemas: Schemas) -> dict[str, Any]:
    """Two deterministic interleavings on the horizon table (milliseconds each)."""
    schema = schemas.create("horizon")
    url = schemas.url
    conns = [psycopg2.connect(dsn(url)) for _ in range(3)]
    p, q, x = conns
    ins = horizon_insert(schema, lock=False)
    out: dict[str, Any] = {}

    def insert(conn, name: str) -> int:  # noqa: ANN001
        cur = conn.cursor()
        cur.execute(ins, (str(uuid.uuid4()), name, "Probe", b"{}", name))
        return cur.fetchone()[0]

    followers = {k: Follower(url, schema, k, lock_store=False)
                 for k in ("position-horizon", "tx-horizon")}
    try:
        # 1. The transaction with the older id takes the younger position. P gets its id
        #    first (any earlier write in its transaction does that: a tracking row, another
        #    table); Q inserts (position 1); P inserts (position 2) and commits. The oldest
        #    running transaction is now Q, so P's row is below the horizon though Q's lower
        #    position is not committed yet.
        p.cursor().execute("SELECT pg_current_xact_id()")
        pos_q = insert(q, "q")
        pos_p = insert(p, "p")
        p.commit()
        for f in followers.values():
            f.poll(measure=False)
        before = {k: list(f.read) for k, f in followers.items()}
        q.commit()
        for f in followers.values():
            f.drain(5.0)
        out["older_tx_younger_position"] = {
            "q_position": pos_q, "p_position": pos_p,
            **{k: {"read_while_q_open": before[k], "read_in_order": list(f.read),
                   "skipped": f.audit()["skipped_first"]}
               for k, f in followers.items()},
        }

        # 2. Any transaction on the server that holds an id, even one that never touches
        #    this schema, holds the horizon back for as long as it stays open.
        x.cursor().execute("SELECT pg_current_xact_id()")
        q.autocommit = True
        pos = insert(q, "r")
        plain = Follower(url, schema, "position", lock_store=False)
        plain.checkpoint = (pos - 1,)
        seen_plain = plain.poll(measure=False)
        plain.close()
        seen_horizon = {k: f.poll(measure=False) for k, f in followers.items()}
        x.rollback()
        seen_after = {k: f.poll(measure=False) for k, f in followers.items()}
        out["unrelated_open_transaction"] = {
            "position": pos, "plain_follower_sees_it": bool(seen_plain),
            "horizon_followers_see_it_while_open": seen_horizon,
            "horizon_followers_see_it_after_rollback": seen_after,
        }
    finally:
        for f in followers.values():
            f.close()
        for c in conns:
            c.close()
        schemas.drop(schema)
    return out


def machine(url: str) -> dict[str, Any]:
    conn = psycopg2.connect(dsn(url))
    conn.autocommit = True
    cur = conn.cursor()
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                            "load_average_at_start": os.getloadavg()}
    cur.execute("SHOW server_version")
    info["postgresql"] = cur.fetchone()[0]
    for name in ("synchronous_commit", "fsync", "wal_sync_method", "shared_buffers"):
        cur.execute(f"SHOW {name}")
        info[name] = cur.fetchone()[0]
    trips = []
    for _ in range(500):
        t0 = time.perf_counter()
        cur.execute("SELECT 1")
        cur.fetchone()
        trips.append(time.perf_counter() - t0)
    info["round_trip_us"] = statistics.median(trips) * 1e6
    cur.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()")
    info["other_client_connections"] = cur.fetchone()[0]
    conn.close()
    return info


def summarise(runs: list[dict]) -> list[dict]:
    rows = []
    for n in sorted({r["writers"] for r in runs}):
        base = None
        for design in DESIGNS:
            mine = [r for r in runs if r["design"] == design and r["writers"] == n]
            if not mine:
                continue
            rates = [r["appends_per_s"] for r in mine]
            row = {
                "design": design, "writers": n, "rounds": len(mine),
                "appends_per_s": statistics.median(rates), "min": min(rates), "max": max(rates),
                "latency_ms_p50": statistics.median(r["latency_ms_p50"] for r in mine),
                "latency_ms_p99": max(r["latency_ms_p99"] for r in mine),
            }
            if design == "horizon":
                base = row["appends_per_s"]
            rows.append(row)
        for row in rows:
            if row["writers"] == n and base:
                row["vs_horizon"] = row["appends_per_s"] / base
    return rows


def print_report(result: dict) -> None:
    m = result["machine"]
    print(f"\nPostgreSQL {m['postgresql']} local, {m['cpus']} cores, synchronous_commit={m['synchronous_commit']}, "
          f"fsync={m['fsync']}, round trip {m['round_trip_us']:.0f} µs, "
          f"{m['other_client_connections']} other client connection(s) at start, load average "
          f"{m['load_average_at_start'][0]:.2f} at start, {m['load_average_at_end'][0]:.2f} at end")
    p = result["params"]
    print(f"\nWriters: single-event appends/s, {p['seconds']:g} s per measurement, "
          f"median of {p['rounds']} round(s) [min–max]")
    print(f"{'design':26} {'writers':>7} {'appends/s':>10} {'min–max':>13} {'p50 ms':>7} {'p99 ms':>7} {'vs (b)':>7}")
    for r in result["writers"]:
        spread = f"{r['min']:.0f}–{r['max']:.0f}"
        print(f"{LABELS[r['design']]:26} {r['writers']:>7} {r['appends_per_s']:>10.0f} {spread:>13} "
              f"{r['latency_ms_p50']:>7.2f} {r['latency_ms_p99']:>7.2f} {r.get('vs_horizon', float('nan')):>6.2f}x")
    print(f"\nFollowers: {p['reader_writers']} writers append for {p['reader_seconds']:g} s while one follower "
          f"polls pages of {PAGE} (lag: committed events not yet delivered right after a poll; "
          "delay: append began → follower read it; catch-up: whole table again from 0)")
    print(f"{'design / follower':52} {'appends/s':>9} {'read':>7} {'skipped':>7} {'lag p50/p99/max':>16} "
          f"{'delay p50/p99 ms':>16} {'page p50 ms':>11} {'catch-up ev/s':>13}")
    for r in result["readers"]:
        f = r["follower"]
        lag = f"{f['lag_events_p50']:.0f}/{f['lag_events_p99']:.0f}/{f['lag_events_max']}"
        delay = f"{f['delay_ms_p50']:.1f}/{f['delay_ms_p99']:.1f}"
        name = f"{LABELS[r['design']]}, {Follower.kinds[f['kind']]}"
        note = "" if f["drained"] else "  (not drained: pending " + str(f["pending"]) + ")"
        print(f"{name:52} {r['appends_per_s']:>9.0f} {f['read']:>7} {f['skipped']:>7} {lag:>16} {delay:>16} "
              f"{f['page_ms_p50']:>11.2f} {f['catch_up_events_per_s']:>13.0f}{note}")
    pr = result["probes"]
    one = pr["older_tx_younger_position"]
    print("\nProbe 1, the older transaction takes the younger position "
          f"(Q inserts position {one['q_position']}, P with the older id inserts {one['p_position']} and commits, "
          "then Q commits):")
    for k in ("position-horizon", "tx-horizon"):
        print(f"  {Follower.kinds[k]:34} read {one[k]['read_while_q_open']} while Q was open, "
              f"{one[k]['read_in_order']} in all, skipped {one[k]['skipped']}")
    two = pr["unrelated_open_transaction"]
    print("Probe 2, an unrelated transaction holding an id stays open: "
          f"plain follower sees the new event: {two['plain_follower_sees_it']}; horizon followers see it "
          f"while open: {two['horizon_followers_see_it_while_open']}, after: "
          f"{two['horizon_followers_see_it_after_rollback']}")
    print(f"\nTotal {result['elapsed_s']:.0f} s.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short measurements, one round (under a minute)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    ap.add_argument("--seconds", type=float, help="seconds per writer measurement (default 6, quick 2)")
    ap.add_argument("--rounds", type=int, help="rounds of the writer measurements (default 3, quick 1)")
    ap.add_argument("--reader-seconds", type=float, help="seconds per follower measurement (default 8, quick 2)")
    ap.add_argument("--writers", default="1,4,8", help="writer counts (default 1,4,8)")
    ap.add_argument("--url", default=PG_URL)
    args = ap.parse_args()
    seconds = args.seconds or (2.0 if args.quick else 6.0)
    rounds = args.rounds or (1 if args.quick else 3)
    reader_seconds = args.reader_seconds or (2.0 if args.quick else 8.0)
    counts = [int(x) for x in args.writers.split(",")]
    reader_writers = 4

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    started = time.monotonic()
    result: dict[str, Any] = {"machine": machine(args.url), "params": {
        "seconds": seconds, "rounds": rounds, "writer_counts": counts, "reader_seconds": reader_seconds,
        "reader_writers": reader_writers, "page": PAGE, "streams_per_writer": STREAMS_PER_WRITER,
        "warmup_appends": WARMUP, "writer_kind": "processes (multiprocessing, spawn)"}}
    schemas = Schemas(args.url)
    workers = Workers(max(counts + [reader_writers]))
    try:
        result["probes"] = probes(schemas)
        runs = []
        for rnd in range(rounds):
            for n in counts:
                for design in DESIGNS:
                    r = measure_writers(workers, schemas, design, n, seconds)
                    log(f"round {rnd + 1} {design:13} {n} writer(s): {r['appends_per_s']:7.0f} appends/s")
                    runs.append(r)
        result["writer_runs"] = runs
        result["writers"] = summarise(runs)
        readers = []
        for design, kind in (("lock-store", "position"), ("lock-identity", "position"),
                             ("horizon", "position"), ("horizon", "position-horizon"),
                             ("horizon", "tx-horizon")):
            r = measure_writers(workers, schemas, design, reader_writers, reader_seconds, kind)
            f = r["follower"]
            log(f"follower {design:13} {kind:16}: read {f['read']}, skipped {f['skipped']}, "
                f"lag p99 {f['lag_events_p99']}, delay p99 {f['delay_ms_p99']:.1f} ms")
            readers.append(r)
        result["readers"] = readers
    finally:
        workers.close()
        schemas.drop_all()
    result["elapsed_s"] = time.monotonic() - started
    result["machine"]["load_average_at_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print_report(result)


if __name__ == "__main__":
    main()
