"""Read models inside a nameko service.

    class ProposalsService:
        name = "proposals"
        store = EventStoreDependency()
        views = ReadModels(lambda: [ProposalList()])

        @rpc
        def list_proposals(self, after_position=0):
            self.views.wait_for(after_position)          # read your own writes
            rows = self.views.projection("proposal_list").rows
            with self.views.connect() as conn:
                return [dict(r) for r in conn.execute(rows.select()).mappings()]

The views live in the service's views database (config.make_views_engine: a SQLite file beside
the events, or the ``<service>_views`` schema on PostgreSQL), followed by one runner thread per
container that is woken after each local append and polls for the others.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

import sqlalchemy as sa
from nameko.extensions import DependencyProvider

from .config import Settings, make_views_engine
from .contracts import contract_of
from .domain import InvalidCommand, NotYet
from .projection import Projection, ProjectionRunner
from .runtime import StoreHolder

log = logging.getLogger(__name__)

STOP_TIMEOUT = 10.0


class ReadModels(DependencyProvider):
    """Builds the container's projections from ``factory`` and keeps them up to date; gives each
    worker a ``Views`` handle."""

    holder = StoreHolder()

    def __init__(self, factory: Callable[[], list[Projection]], *, batch: int = 1000,
                 poll_interval: float = 0.5):
        self.factory = factory
        self.batch = batch
        self.poll_interval = poll_interval
        self.runner: ProjectionRunner | None = None
        self._thread = None

    def setup(self) -> None:
        # The StoreHolder is set up concurrently with us (nameko sets extensions up in parallel
        # green threads), so the store is taken in start(); the settings are the same either way.
        self.settings = Settings.load(self.container.service_name, self.container.config)
        self.engine, self.schema = make_views_engine(self.settings)
        self.projections = self.factory()
        self._stop = threading.Event()
        self._stopped = threading.Event()

    def start(self) -> None:
        self.runner = ProjectionRunner(self.holder.store, self.engine, self.projections,
                                       schema=self.schema, batch=self.batch,
                                       registry=contract_of(self.container.service_name))
        self.runner.setup()
        self._thread = self.container.spawn_managed_thread(self._follow, identifier="read-models")

    def _follow(self) -> None:
        try:
            self.runner.run(self._stop, poll_interval=self.poll_interval)
        finally:
            self._stopped.set()

    def stop(self) -> None:
        self._stop.set()
        if self.runner is not None:
            self.runner.wake()
        if self._thread is not None:
            # Let a batch in flight commit rather than be killed mid-transaction.
            if not self._stopped.wait(STOP_TIMEOUT):
                log.warning("read models of %s did not stop within %.0f s",
                            self.container.service_name, STOP_TIMEOUT)
        if getattr(self, "engine", None) is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self._stop.set()
        if self.runner is not None:
            self.runner.wake()

    def get_dependency(self, worker_ctx) -> "Views":
        return Views(self.runner, self.container.service_name)


class Views:
    """What a worker sees: the views engine and schema, the projections (for their tables),
    ``wait_for`` a position, ``read_after`` a caller's position, and ``connect()`` for queries."""

    def __init__(self, runner: ProjectionRunner, service: str):
        self._runner = runner
        self._service = service

    @property
    def engine(self) -> sa.Engine:
        return self._runner.engine

    @property
    def schema(self) -> str | None:
        return self._runner.schema

    def projection(self, name: str) -> Projection:
        return self._runner.projection(name)

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """True once every projection has applied the event at ``position``; False on timeout."""
        return self._runner.wait_for(position, timeout)

    def position(self) -> int:
        return self._runner.position()

    def read_after(self, after_position: object, timeout: float = 5.0) -> None:
        """Read your own writes: wait until the read models hold ``after_position`` (a position
        a command of this service answered with). A position the log never reached is a bad
        argument (waiting would be in vain); one not reached in time is ``NotYet``."""
        if isinstance(after_position, bool) or not isinstance(after_position, int) or after_position < 0:
            raise InvalidCommand("位置无效 bad after_position",
                                 {"after_position": "a log position (integer >= 0) 日志位置"})
        head = self._runner.store.head()
        if after_position > head:
            raise InvalidCommand(f"position {after_position} is not in the {self._service} log",
                                 {"after_position": f"a position this service returned (its log "
                                                    f"ends at {head})"})
        if after_position and not self.wait_for(after_position, timeout):
            raise NotYet(f"the read models have not caught up with position {after_position} "
                         "yet; try again shortly 数据尚在更新，请稍后再试")

    def connect(self) -> sa.Connection:
        """A connection for queries: ``with views.connect() as conn: conn.execute(...)``."""
        return self._runner.engine.connect()


def check_page(limit: object, offset: object, max_limit: int) -> None:
    """A page of a list query: ``limit`` from 1 to ``max_limit``, ``offset`` >= 0."""
    problems = {}
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
        problems["limit"] = f"an integer from 1 to {max_limit} 每页条数"
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        problems["offset"] = "an integer >= 0 起始位置"
    if problems:
        raise InvalidCommand("分页参数有误 bad page", problems)
