"""What every section shares: the result row, timing, percentiles, the machine, PostgreSQL schemas."""

from __future__ import annotations

import os
import platform
import resource
import sqlite3
import statistics
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

PG_URL = os.environ.get("XIESHANG_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
AMQP_URI = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
RABBIT_API = os.environ.get("XIESHANG_RABBIT_API", "http://guest:guest@127.0.0.1:15672/api")

HIGHER, LOWER = "higher", "lower"


@dataclass
class Result:
    """One figure of the report: ours beside a reference measured in the same run.

    ``ratio`` is always ours / reference; ``better`` says which direction is good for ``ours``
    (throughputs: higher; latencies and memory: lower). ``target`` is the figure the issue asks
    for (same unit as ``ours``); ``target_met`` is None when there is no target or no figure."""

    id: str
    section: str
    figure: str
    unit: str
    ours: float | None
    reference: float | None
    reference_name: str
    better: str = HIGHER
    target: float | None = None
    n: int | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.reference:
            return None
        return self.ours / self.reference

    @property
    def target_met(self) -> bool | None:
        if self.target is None or self.ours is None:
            return None
        return self.ours >= self.target if self.better == HIGHER else self.ours <= self.target

    @property
    def beats_reference(self) -> bool | None:
        """At least the reference's speed (the issue's "at least the library's speed")."""
        if self.ratio is None:
            return None
        return self.ratio >= 1.0 if self.better == HIGHER else self.ratio <= 1.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        d["target_met"] = self.target_met
        d["beats_reference"] = self.beats_reference
        return d


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed_loop(step: Callable[[int], int], *, seconds: float, max_items: int) -> tuple[int, float]:
    """Call ``step(i)`` (which returns how many items it did) until ``seconds`` pass or
    ``max_items`` are done; returns (items, elapsed seconds)."""
    done = 0
    i = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while done < max_items:
        done += step(i)
        i += 1
        if time.perf_counter() >= deadline:
            break
    return done, time.perf_counter() - t0




def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB.

    Linux's ``VmHWM`` belongs to the address space, so it starts afresh at ``exec``; getrusage's
    ``ru_maxrss`` (the fallback elsewhere) survives ``exec`` and would report the parent's peak
    at the time it forked the child."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dsn(url: str) -> str:
    """libpq URI for raw drivers from a SQLAlchemy URL."""
    _scheme, rest = url.split("://", 1)
    return "postgresql://" + rest


def pg_available(url: str = PG_URL) -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg2

        conn = psycopg2.connect(dsn(url), connect_timeout=3)
        conn.close()
        return None
    except Exception as exc:  # whatever it is, the PostgreSQL rows say it
        return f"PostgreSQL at {url} unavailable: {type(exc).__name__}: {str(exc).strip()[:160]}"


class PgSchemas:
    """Fresh schemas named ``bench_<run>_<n>``, all dropped by ``drop_all``."""

    def __init__(self, url: str = PG_URL):
        self.url = url
        self.run = uuid.uuid4().hex[:8]
        self.made: list[str] = []

    def new(self, label: str) -> str:
        name = f"bench_{self.run}_{len(self.made)}_{label}"[:63]
        self.made.append(name)
        self._exec(f'CREATE SCHEMA "{name}"')
        return name

    def drop(self, name: str) -> None:
        self._exec(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def drop_all(self) -> None:
        for name in self.made:
            try:
                self.drop(name)
            except Exception:  # one failing drop must not leave the others behind
                pass
        self.made.clear()

    def _exec(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(dsn(self.url))
        conn.autocommit = True
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()


def machine(pg_url: str | None = PG_URL) -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(), "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    for module in ("sqlalchemy", "psycopg2", "orjson", "nameko", "eventlet", "eventsourcing", "psycopg"):
        try:
            mod = __import__(module)
            info[f"{module}_version"] = getattr(mod, "__version__", "?").split()[0]
        except Exception:
            info[f"{module}_version"] = None
    try:
        import psycopg

        info["psycopg_impl"] = psycopg.pq.__impl__
    except Exception:
        pass
    if pg_url and pg_available(pg_url) is None:
        import psycopg2

        conn = psycopg2.connect(dsn(pg_url))
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SHOW server_version")
        info["postgresql"] = cur.fetchone()[0]
        for name in ("synchronous_commit", "fsync", "wal_sync_method", "shared_buffers"):
            cur.execute(f"SHOW {name}")
            info[f"pg_{name}"] = cur.fetchone()[0]
        trips = []
        for _ in range(300):
            t0 = time.perf_counter()
            cur.execute("SELECT 1")
            cur.fetchone()
            trips.append(time.perf_counter() - t0)
        info["pg_round_trip_us"] = round(statistics.median(trips) * 1e6, 1)
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                    "AND pid <> pg_backend_pid()")
        info["pg_other_client_connections"] = cur.fetchone()[0]
        conn.close()
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"




def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
