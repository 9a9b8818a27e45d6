"""What every section shares: the result row, timing, percentiles, the machine, PostgreSQL schemas."""

from __future__ import annotations

import os
import platform
import resource
import signal
import sqlite3
import statistics
import sys
import threading
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator

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


def times(reference: float | None, factor: float) -> float | None:
    """A target given as a ratio to the reference (``factor`` × reference), in ours' unit, so
    that ``target_met`` says whether ours ÷ reference reached ``factor``; None without a reference."""
    return None if reference is None else reference * factor


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
    """Fresh schemas named ``bench_<run>_<n>_<label>`` (and prefixes of such names for the
    services' own schemas), all dropped by ``drop_all``."""

    def __init__(self, url: str = PG_URL):
        self.url = url
        self.run = uuid.uuid4().hex[:8]
        self.made: list[str] = []

    def new(self, label: str) -> str:
        name = f"bench_{self.run}_{len(self.made)}_{label}"[:63]
        self.made.append(name)
        self._exec(f'CREATE SCHEMA "{name}"')
        return name

    def prefix(self, label: str) -> str:
        """A prefix for the schemas services make themselves (``PG_SCHEMA_PREFIX``: ``<prefix>proposals``,
        ``<prefix>proposals_views``, …); ``drop_prefixed`` and ``drop_all`` drop every schema
        whose name starts with it."""
        name = f"bench_{self.run}_{len(self.made)}_{label}_"[:40]
        self.made.append(name + "*")
        return name

    def drop(self, name: str) -> None:
        self._exec(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def drop_prefixed(self, prefix: str) -> None:
        import psycopg2

        conn = psycopg2.connect(dsn(self.url), connect_timeout=10)
        try:
            cur = conn.cursor()
            cur.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,))
            names = [r[0] for r in cur.fetchall()]
        finally:
            conn.close()
        for name in names:
            self.drop(name)

    def drop_all(self) -> None:
        for name in self.made:
            try:
                self.drop_prefixed(name[:-1]) if name.endswith("*") else self.drop(name)
            except Exception as exc:  # one failing drop must not leave the others behind
                log(f"  could not drop schema {name}: {type(exc).__name__}: {str(exc).strip()[:200]}")
        self.made.clear()

    def _exec(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(dsn(self.url), connect_timeout=10)
        conn.autocommit = True
        try:
            cur = conn.cursor()
            # A session left stuck in a transaction (a section that timed out) may hold a lock
            # on the schema's tables: give up on the drop rather than wait for it forever.
            cur.execute("SET lock_timeout = '15s'")
            cur.execute(sql)
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


# -- the watchdog: a section that hangs fails with every thread's stack --------------------------

class SectionTimeout(BaseException):
    """Raised in the main thread when a section runs past its time. A BaseException, so the
    sections' own ``except Exception`` (which turn a failure into skipped rows) let it through."""

    def __init__(self, section: str, seconds: float, stacks: str):
        super().__init__(f"{section} did not finish within {seconds:.0f} s")
        self.section, self.seconds, self.stacks = section, seconds, stacks


def thread_stacks(main_frame: Any = None) -> str:
    """Every thread's Python stack (innermost call last); ``main_frame``, where given, stands for
    the main thread's (a signal handler passes the frame it interrupted, not its own)."""
    names = {t.ident: t.name for t in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        if main_frame is not None and ident == threading.main_thread().ident:
            frame = main_frame
        parts.append(f"Thread {ident} ({names.get(ident, '?')}):\n" + "".join(traceback.format_stack(frame)))
    return "\n".join(parts)


# After the watchdog fired, how long the section may take to clean up (close stores, stop the
# stack) before the whole run is stopped.
CLEANUP_GRACE = 90.0


@contextmanager
def watchdog(section: str, seconds: float) -> Iterator[None]:
    """Raise SectionTimeout in this (main) thread if the block runs longer than ``seconds``.

    SIGALRM raises it: its handler runs in the main thread as soon as that thread runs Python
    again, which a wait in Python or in an interruptible C call (a socket poll that wakes up
    every 0.1 s as psycopg 3's does, ``subprocess.run``, ``time.sleep``) lets it do. A C call
    that never returns (a psycopg2 query waiting on a server that waits on it) keeps even the
    handler out: for that, a thread prints every stack again and ends the process with status 3
    if the block has not ended ``CLEANUP_GRACE`` seconds after the timeout. Outside the main
    thread, or where there is no SIGALRM, the block runs unwatched."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    done = threading.Event()

    def last_resort() -> None:
        if not done.wait(seconds + CLEANUP_GRACE):
            log(f"{section}: still not finished {CLEANUP_GRACE:.0f} s after its timeout; every thread's "
                f"stack:\n{thread_stacks()}")
            os._exit(3)

    def fire(_signum: int, frame: Any) -> None:
        stacks = thread_stacks(frame)
        log(f"{section}: no result within {seconds:.0f} s; every thread's stack:\n{stacks}")
        raise SectionTimeout(section, seconds, stacks)

    threading.Thread(target=last_resort, name=f"bench-watchdog-{section}", daemon=True).start()
    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        done.set()


# -- one line per section ---------------------------------------------------------------------

def section_summary(name: str, rows: list[dict[str, Any]]) -> str:
    """One line for a section's rows (as ``Result.to_dict``): the targets met, and how ours
    compares with the references (as a speed-up: above 1× ours is better, whichever the unit)."""
    failure = next((r for r in rows if r["id"] == f"{name}.failed"), None)
    if failure is not None:
        return f"{name}: {failure['note']}"
    measured = [r for r in rows if r["ours"] is not None]
    parts = []
    with_target = [r for r in measured if r["target_met"] is not None]
    if with_target:
        missed = [r["id"] for r in with_target if not r["target_met"]]
        parts.append(f"{len(with_target) - len(missed)}/{len(with_target)} targets met"
                     + (f" (missed: {', '.join(missed)})" if missed else ""))
    else:
        parts.append("no targets")

    def gain(r: dict[str, Any]) -> float:
        return r["ratio"] if r["better"] == HIGHER else 1 / r["ratio"]

    library = [gain(r) for r in measured if r["ratio"] and r["reference_name"].startswith("eventsourcing")]
    other = [gain(r) for r in measured if r["ratio"] and not r["reference_name"].startswith("eventsourcing")]
    for label, gains in (("ours vs eventsourcing", library), ("ours vs the other references", other)):
        if gains:
            lo, hi = min(gains), max(gains)
            parts.append(f"{label} {lo:.2f}×" if len(gains) == 1 else f"{label} {lo:.2f}–{hi:.2f}×")
    if library or other:
        parts[-1] += " (above 1×: ours better)"
    unmeasured = len(rows) - len(measured)
    if unmeasured:
        parts.append(f"{unmeasured} not measured")
    return f"{name}: " + "; ".join(parts)
