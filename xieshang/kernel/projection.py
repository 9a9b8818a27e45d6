"""Read models built from the event store by position.

A projection owns a few tables and has one handler per event type it cares about:

    class ProposalList(Projection):
        name = "proposal_list"
        version = 1                     # bump when the tables or their meaning change

        def define(self, metadata):
            self.rows = sa.Table("proposal_list", metadata,
                                 sa.Column("id", sa.String(64), primary_key=True),
                                 sa.Column("title", sa.Text), sa.Column("state", sa.String(32)))

        def on_ProposalSubmitted(self, conn, envelope):
            conn.insert(self.rows, id=envelope.stream, title=envelope.data["title"], state="submitted")

        def on_ProposalClosed(self, conn, envelope):
            conn.update(self.rows, {"id": envelope.stream}, state="closed")

``conn`` is a ``ViewConnection`` (view_writes.py): ``insert``, ``insert_ignore``, ``update`` and
``delete`` by key are built once and sent in batches, and ``conn.execute(...)`` of any SQLAlchemy
statement works as on a plain connection (after the buffered writes are sent).

The ProjectionRunner applies events in pages of ``batch`` events. Each page is written in one
transaction for all of the service's projections, each projection in a savepoint together with
its checkpoint: a failing handler rolls back its own projection's page alone, a crash or a
second instance doing the same work never applies an event twice, and a rebuild from position
0 gives the same rows as the live model.

Projections read the contract: a runner given the service's ``registry`` checks at once that
every ``on_<EventType>`` names an event the service publishes (a renamed event can never
silently stop a read model), and hands each handler the envelope decoded through the registry
(old schema versions upcast), so handlers only ever see the current shape of an event.

Concurrency: every batch transaction first locks the projection's checkpoint row (PostgreSQL:
``SELECT … FOR UPDATE``; SQLite: ``BEGIN IMMEDIATE``) and re-reads the position under the lock,
so several instances of a service may follow the same views database.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence, TextIO, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from .envelope import Envelope
from .store.port import EventStore
from .view_writes import ViewConnection, WriteFailed

log = logging.getLogger(__name__)

CHECKPOINT_TABLE = "projection_checkpoints"
Handler = Callable[[ViewConnection, Envelope], None]


class ProjectionError(RuntimeError):
    """A projection's handler failed; its batch was rolled back and its checkpoint kept."""

    def __init__(self, projection: str, envelope: Envelope, cause: BaseException,
                 last: int | None = None):
        self.projection, self.position, self.cause = projection, envelope.position, cause
        where = (f"the event at position {envelope.position} ({envelope.type} in stream "
                 f"{envelope.stream!r})" if last is None or last == envelope.position else
                 f"one of the events at positions {envelope.position} to {last} (their writes "
                 "were sent together)")
        super().__init__(
            f"projection {projection!r} failed on {where}: {cause!r}; its batch was rolled back "
            "and it stays at its last checkpoint")


class Projection:
    """Base of read models. Subclasses set ``name`` (unique within a service), ``version``,
    define their tables in ``define`` and write rows in ``on_<EventType>(conn, envelope)``
    handlers, within the transaction they are given. Events without a handler are skipped."""

    name: str = ""
    version: int = 1

    def define(self, metadata: sa.MetaData) -> None:
        """Create the projection's ``sa.Table`` objects on ``self``; ``metadata`` carries the schema."""
        raise NotImplementedError(f"{type(self).__name__} must define its tables")

    def tables(self) -> list[sa.Table]:
        """The tables this projection owns (default: every ``sa.Table`` attribute of ``self``)."""
        return [v for v in vars(self).values() if isinstance(v, sa.Table)]

    def handler(self, event_type: str) -> Handler | None:
        return getattr(self, f"on_{event_type}", None)

    def handled_types(self) -> list[str]:
        """The event types this projection has a handler for."""
        return sorted(n[3:] for n in dir(self) if n.startswith("on_") and callable(getattr(self, n)))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} v{self.version}>"


class ProjectionRunner:
    """Keeps a service's projections up to date with its event store (see the module docstring)."""

    def __init__(self, store: EventStore, engine: sa.Engine, projections: Sequence[Projection], *,
                 schema: str | None = None, batch: int = 1000, registry=None,
                 rebuild_batch: int = 2500):
        if batch < 1 or rebuild_batch < 1:
            raise ValueError(f"batch must be at least 1, not {min(batch, rebuild_batch)}")
        names = [p.name for p in projections]
        if not all(names):
            raise ValueError(f"every projection needs a name: {list(projections)!r}")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"projection names must be unique within a service: {dupes} repeat")
        if registry is not None:
            check_handlers(projections, registry)
        self.registry = registry
        self._handled = {t for p in projections for t in p.handled_types()}
        self.store = store
        self.engine = engine
        self.schema = schema
        self.batch = batch
        # A rebuild commits less often: each commit writes every page it dirtied (WAL), and the
        # same hot pages are dirtied again by the next page of events. The page stays in memory
        # (a few MB), so a rebuild's memory does not grow with the log.
        self.rebuild_batch = max(batch, rebuild_batch)
        self.projections = list(projections)
        self._by_name = {p.name: p for p in self.projections}
        self.metadata = sa.MetaData(schema=schema)
        self.checkpoints = sa.Table(
            CHECKPOINT_TABLE, self.metadata,
            sa.Column("name", sa.String(200), primary_key=True),
            sa.Column("position", sa.BigInteger, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
        )
        self._shapes: dict = {}   # the writers' statements, built once (view_writes.py)
        cp = self.checkpoints
        self._select_checkpoints = sa.select(cp.c.name, cp.c.position, cp.c.version)
        self._move_checkpoint = (
            f"UPDATE {engine.dialect.identifier_preparer.format_table(self.checkpoints)} "
            "SET position = ? WHERE name = ?")
        self._defined = False
        self._ready = False
        self._lock = threading.RLock()       # one catch-up at a time in this process
        self._moved = threading.Condition()  # notified after every committed batch
        self._wake = threading.Event()
        self._subscribed = False
        self._warned: set[str] = set()
        self.last_error: BaseException | None = None
        if engine.dialect.name == "sqlite":
            _transactional_sqlite(engine)

    # -- schema -------------------------------------------------------------
    def projection(self, name: str) -> Projection:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no projection {name!r} here; known: {sorted(self._by_name)}") from None

    def setup(self) -> None:
        """Define and create the tables and the checkpoint table. A projection whose stored
        version differs (or that has no checkpoint, or misses a table) is reset to position 0,
        so the next catch-up rebuilds it."""
        with self._lock:
            if not self._defined:
                for p in self.projections:
                    p.define(self.metadata)
                self._defined = True
            with self._transaction() as conn:
                if conn.dialect.name == "postgresql":
                    # Instances starting together race on CREATE TABLE: serialise them.
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                                 {"k": _lock_key(f"{self.schema}.{CHECKPOINT_TABLE}")})
                self.checkpoints.create(conn, checkfirst=True)
                stored = self._locked_rows(conn, list(self._by_name))
                inspector = sa.inspect(conn)
                for p in self.projections:
                    row = stored.get(p.name)
                    missing = [t.name for t in p.tables()
                               if not inspector.has_table(t.name, schema=t.schema)]
                    if row is None or row[1] != p.version or missing:
                        why = ("new" if row is None else
                               f"version {row[1]} -> {p.version}" if row[1] != p.version else
                               f"missing tables {missing}")
                        log.info("projection %s: (re)building from position 0 (%s)", p.name, why)
                        self._reset(conn, p)
            if not self._subscribed:
                self.store.subscribe(self.wake)  # local appends wake run() and wait_for()
                self._subscribed = True
            self._ready = True

    def _reset(self, conn: sa.Connection, p: Projection) -> None:
        tables = p.tables()
        if tables:
            self.metadata.drop_all(conn, tables=tables, checkfirst=True)
            self.metadata.create_all(conn, tables=tables, checkfirst=False)
        cp = self.checkpoints
        conn.execute(cp.delete().where(cp.c.name == p.name))
        conn.execute(cp.insert().values(name=p.name, position=0, version=p.version))

    def _ensure_ready(self) -> None:
        if not self._ready:
            self.setup()

    # -- positions ------------------------------------------------------------
    def _stored(self) -> dict[str, tuple[int, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(self._select_checkpoints).all()
        return {name: (int(pos), int(ver)) for name, pos, ver in rows if name in self._by_name}

    def _locked_rows(self, conn: sa.Connection, names: list[str]) -> dict[str, tuple[int, int]]:
        cp = self.checkpoints
        rows = conn.execute(sa.select(cp.c.name, cp.c.position, cp.c.version)
                            .where(cp.c.name.in_(names)).with_for_update()).all()
        return {name: (int(pos), int(ver)) for name, pos, ver in rows}

    def position(self, name: str | None = None) -> int:
        """The lowest checkpoint of this runner's projections (or the named one's)."""
        self._ensure_ready()
        stored = self._stored()
        if name is not None:
            self.projection(name)
            return stored.get(name, (0, 0))[0]
        if not self.projections:
            return self.store.head()
        return min(stored.get(p.name, (0, 0))[0] for p in self.projections)

    # -- applying -------------------------------------------------------------
    def catch_up(self) -> int:
        """Apply every event after each projection's checkpoint; returns the events applied.

        Raises ProjectionError when a handler fails (after the other projections caught up)."""
        self._ensure_ready()
        with self._lock:
            return self._catch_up(list(self._by_name))

    def _catch_up(self, names: list[str], on_batch: Callable[[int, int], None] | None = None,
                  page_size: int | None = None) -> int:
        size = page_size or self.batch
        failures: list[ProjectionError] = []
        failed: set[str] = set()
        total = 0
        while True:
            stored = self._stored()
            active = []
            for name in names:
                p = self._by_name[name]
                pos, ver = stored.get(name, (0, None))
                if name in failed:
                    continue
                if ver != p.version:
                    self._warn_version(p, ver)
                    continue
                active.append((p, pos))
            if not active:
                break
            after = min(pos for _, pos in active)
            page = self.store.read_all(after, size)
            if not page:
                break
            page = self._decoded(page)
            applied_from, page_failures = self._apply_page(active, page)
            for exc in page_failures:
                if failures:  # the first one is raised below; don't lose the others
                    log.error("%s", exc)
                failures.append(exc)
                failed.add(exc.projection)
            if applied_from is not None:
                n = sum(1 for e in page if e.position > applied_from)
                total += n
                with self._moved:
                    self._moved.notify_all()
                if on_batch is not None:
                    on_batch(page[-1].position, n)
            if len(page) < size and not page_failures and applied_from is not None:
                break   # the log ended inside this page: caught up (a later append wakes us)
        if failures:
            self.last_error = failures[0]
            raise failures[0]
        return total

    def _decoded(self, page: list[Envelope]) -> list[Envelope]:
        """The page with each handled event's data decoded through the registry (upcast)."""
        if self.registry is None:
            return page
        return [self.registry.upcast(e) if e.type in self._handled else e for e in page]

    def _apply_page(self, active: list[tuple[Projection, int]], page: list[Envelope]
                    ) -> tuple[int | None, list[ProjectionError]]:
        """Apply ``page`` to every projection of ``active`` in one transaction, each in a savepoint
        with its checkpoint, so a failing one rolls back alone. Returns the lowest checkpoint it
        applied from (None if another runner had moved every one meanwhile) and the failures."""
        failures: list[ProjectionError] = []
        applied_from: int | None = None
        last = page[-1].position
        with self._transaction() as conn:
            locked = self._locked_rows(conn, [p.name for p, _ in active])
            writer = ViewConnection(conn, self._shapes)
            try:
                for p, after in active:
                    row = locked.get(p.name)
                    if row is None or row[1] != p.version:
                        continue  # reset or upgraded by someone else: re-read
                    current = row[0]
                    if current < after or current >= last:
                        continue  # moved back by a rebuild elsewhere, or already applied
                    attempts = writer.attempts
                    writer.raw("SAVEPOINT xs_projection")
                    try:
                        self._apply(p, writer, page, current)
                        writer.raw(self._move_checkpoint, (last, p.name))
                        writer.raw("RELEASE SAVEPOINT xs_projection")
                        try:
                            writer.flush()
                        except WriteFailed as failed:   # the checkpoint's own write
                            raise ProjectionError(p.name, page[-1], failed) from failed
                    except ProjectionError as exc:
                        writer.discard()
                        if writer.attempts != attempts:  # the savepoint was sent
                            conn.exec_driver_sql("ROLLBACK TO SAVEPOINT xs_projection")
                            conn.exec_driver_sql("RELEASE SAVEPOINT xs_projection")
                        failures.append(exc)
                        continue
                    applied_from = current if applied_from is None else min(applied_from, current)
            finally:
                writer.close()
        return applied_from, failures

    def _apply(self, p: Projection, writer: ViewConnection, page: list[Envelope], current: int) -> None:
        """Run ``p``'s handlers on the events of ``page`` after ``current`` (its checkpoint)."""
        for envelope in page:
            if envelope.position <= current:
                continue
            handler = p.handler(envelope.type)
            if handler is None:
                continue
            writer.position = envelope.position
            try:
                handler(writer, envelope)
            except WriteFailed as exc:
                raise ProjectionError(p.name, _at(page, exc.first) or envelope, exc, exc.last) from exc
            except Exception as exc:
                raise ProjectionError(p.name, envelope, exc) from exc
        try:
            writer.flush()
        except WriteFailed as exc:
            raise ProjectionError(p.name, _at(page, exc.first) or page[-1], exc, exc.last) from exc

    def _warn_version(self, p: Projection, stored: int | None) -> None:
        if p.name not in self._warned:
            self._warned.add(p.name)
            log.warning("projection %s: the views database holds version %s but this code is "
                        "version %s (another instance runs other code?); not applying events until "
                        "setup() or rebuild() runs here", p.name, stored, p.version)

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        # xieshang_write makes SQLite take the write lock at BEGIN (see _transactional_sqlite).
        with self.engine.connect() as conn:
            conn.execution_options(xieshang_write=True)
            with conn.begin():
                yield conn

    # -- waiting and following ------------------------------------------------
    def wake(self, _position: int | None = None) -> None:
        """Ask the follower (``run``) to catch up now."""
        self._wake.set()
        with self._moved:
            self._moved.notify_all()

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Block until every projection reached ``position`` (catching up if nobody else is);
        False on timeout."""
        deadline = time.monotonic() + timeout
        self._ensure_ready()
        while True:
            if self.position() >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._lock.acquire(blocking=False):
                try:
                    self._catch_up(list(self._by_name))
                except ProjectionError:
                    pass  # logged; the projection stays behind and we time out with False
                finally:
                    self._lock.release()
                if self.position() >= position:
                    return True
            self._wake.set()
            with self._moved:
                # Someone else is catching up (notifies per batch), or the position is not in
                # the store yet: a local append wakes us, otherwise we poll.
                self._moved.wait(min(max(deadline - time.monotonic(), 0), 0.25))

    def run(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        """Follow the store until ``stop`` is set: woken after each local append, polling for
        appends of other processes. A failing projection is retried with a growing delay."""
        self._ensure_ready()
        delay = poll_interval
        while not stop.is_set():
            self._wake.clear()
            try:
                with self._lock:
                    self._catch_up(list(self._by_name))
                self.last_error = None
                delay = poll_interval
            except Exception as exc:  # keep following; the error is logged and kept
                self.last_error = exc
                log.exception("projection catch-up failed; retrying in %.1f s", delay)
                delay = min(delay * 2, 30.0)
            self._wake.wait(delay)

    # -- rebuilding -----------------------------------------------------------
    def rebuild(self, names: list[str] | None = None, progress: bool = False,
                out: TextIO | None = None) -> dict:
        """Drop the projections' tables and checkpoints, recreate them and replay the store from
        position 0. With ``progress``, draw a progress bar on ``out`` (default stderr)."""
        self._ensure_ready()
        chosen = list(self._by_name) if names is None else [self.projection(n).name for n in names]
        out = out if out is not None else sys.stderr
        with self._lock:
            started = time.monotonic()
            with self._transaction() as conn:
                self._locked_rows(conn, chosen)
                for name in chosen:
                    self._reset(conn, self._by_name[name])
            self._warned.difference_update(chosen)
            bar = _ProgressBar(out, self.store.head(), ", ".join(chosen)) if progress else None
            try:
                events = self._catch_up(chosen, on_batch=bar.update if bar else None,
                                        page_size=self.rebuild_batch)
            except BaseException:
                if bar:
                    bar.out.write("\n")
                raise
            seconds = time.monotonic() - started
        rate = events / seconds if seconds > 0 else float(events)
        if bar:
            bar.finish(events, seconds, rate)
        return {"events": events, "seconds": seconds, "events_per_second": rate}


def check_handlers(projections: Sequence[Projection], registry) -> None:
    """Refuse projections whose handlers name events the producer does not publish."""
    unknown = {f"{p.name}.on_{t}" for p in projections for t in p.handled_types() if t not in registry}
    if unknown:
        raise ValueError(f"projection handlers name events that are not published: {sorted(unknown)}; "
                         f"published: {registry.names()}")


class _ProgressBar:
    """A one-line text progress bar, redrawn at most ten times a second."""

    WIDTH = 30

    def __init__(self, out: TextIO, head: int, label: str):
        self.out, self.head, self.label = out, max(head, 1), label
        self.started = time.monotonic()
        self.events = 0
        self._drawn = 0.0
        self._draw(0)

    def update(self, position: int, events: int) -> None:
        self.events += events
        now = time.monotonic()
        if now - self._drawn >= 0.1 or position >= self.head:
            self._draw(position)

    def _draw(self, position: int) -> None:
        self._drawn = time.monotonic()
        frac = min(position / self.head, 1.0)
        filled = int(frac * self.WIDTH)
        elapsed = max(self._drawn - self.started, 1e-9)
        self.out.write(f"\rrebuilding {self.label} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                       f"{frac:4.0%} {self.events} events, {self.events / elapsed:,.0f} events/s")
        self.out.flush()

    def finish(self, events: int, seconds: float, rate: float) -> None:
        self._draw(self.head)
        self.out.write(f"\nrebuilt {self.label}: {events} events in {seconds:.2f} s "
                       f"({rate:,.0f} events/s)\n")
        self.out.flush()


def _transactional_sqlite(engine: sa.Engine) -> None:
    """Make SQLAlchemy transactions real on SQLite: the driver runs in autocommit mode
    (isolation_level=None, see sqlite_engine), so we emit BEGIN ourselves; writers ask for
    BEGIN IMMEDIATE so they wait for the write lock instead of failing when upgrading a read."""
    if not sa_event.contains(engine, "begin", _sqlite_begin):
        sa_event.listen(engine, "begin", _sqlite_begin)


def _sqlite_begin(conn: sa.Connection) -> None:
    driver = conn.connection.driver_connection
    if driver.isolation_level is not None:  # an engine not made by sqlite_engine
        driver.isolation_level = None
    write = conn.get_execution_options().get("xieshang_write")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _at(page: list[Envelope], position: int | None) -> Envelope | None:
    return next((e for e in page if e.position == position), None) if position is not None else None


P = TypeVar("P", bound=Projection)


def find_projection(source: Any, cls: type[P]) -> P:
    """The ``cls`` projection of ``source``: that projection itself, a holder of projections by
    name (a service's ``Views``, a ProjectionRunner) or a sequence of projections."""
    if isinstance(source, cls):
        return source
    if hasattr(source, "projection"):
        found = source.projection(cls.name)
    else:
        found = next((p for p in source if isinstance(p, cls)), None)
    if not isinstance(found, cls):
        raise LookupError(f"no {cls.__name__} projection ({cls.name!r}) in {source!r}")
    return found
