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

import base64
import binascii
import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence, Union

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
            raise InvalidCommand(("bad after_position", "位置无效"),
                                 {"after_position": "a log position (integer >= 0) 日志位置"})
        head = self._runner.store.head()
        if after_position > head:
            raise InvalidCommand((f"position {after_position} is not in the {self._service} log",
                                  f"位置 {after_position} 不在 {self._service} 服务的日志中"),
                                 {"after_position": f"a position this service returned (its log "
                                                    f"ends at {head})"})
        if after_position and not self.wait_for(after_position, timeout):
            raise NotYet((f"the read models have not caught up with position {after_position} "
                          "yet; try again shortly", "数据尚在更新，请稍后再试"))

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
        raise InvalidCommand(("bad page", "分页参数有误"), problems)


# -- paging and search: one way for every list --------------------------------------------------
#
# A list answers ``{"items": [...], "total": n, "next_cursor": str | None}``: at most ``limit``
# items in a stable order (a sort key ending with a unique tie-breaker), ``total`` the rows that
# match the filters and ``q``, and ``next_cursor`` (None on the last page) the sort key of the
# page's last row, as base64url JSON, to pass back for the next page (keyset paging: no offset,
# so a page costs the same however deep it is). A row whose sort key changes between two pages
# (the worklist's latest activity) moves to its new place: it shows on a later page or not
# again, never twice on the same page.

DEFAULT_PAGE = 100
MAX_PAGE = 500
MAX_Q = 100
MAX_CURSOR = 1000
_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_-]+")
_KEY = "_page_key_"
BAD_PAGE = ("bad page or search", "分页或搜索参数有误")

Row = dict[str, Any]
# what ``q`` searches in a SQL list: a text column, or a function of ``q`` giving a condition
Searched = Union[sa.ColumnElement[Any], Callable[[str], sa.ColumnElement[bool]]]


@dataclass(frozen=True)
class PageRequest:
    """One page of the list ``of``: at most ``limit`` items (None: all), after the row whose
    sort key is ``after`` (a decoded cursor; None: from the start), matching ``q`` (None: all)."""

    of: str
    limit: int | None = DEFAULT_PAGE
    after: tuple[Any, ...] | None = None
    q: str | None = None

    @classmethod
    def parse(cls, of: str, limit: object = DEFAULT_PAGE, cursor: object = None, q: object = None,
              *, max_limit: int = MAX_PAGE) -> "PageRequest":
        """The page a caller asked for; each bad argument named, in Chinese and English."""
        problems = {}
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= max_limit:
            problems["limit"] = f"每页条数为 1 至 {max_limit} 的整数 an integer from 1 to {max_limit}"
        after = None
        if cursor is not None:
            try:
                after = decode_cursor(of, cursor)
            except ValueError:
                problems["cursor"] = ("翻页标记无效：请使用上一页返回的 next_cursor "
                                      "not a cursor of this list: pass the next_cursor of the previous page")
        if q is not None:
            if not isinstance(q, str) or not 1 <= len(q.strip()) <= MAX_Q:
                problems["q"] = f"搜索词为 1 至 {MAX_Q} 个字符 text of 1 to {MAX_Q} characters"
            else:
                q = q.strip()
        if problems:
            raise InvalidCommand(BAD_PAGE, problems)
        return cls(of, limit, after, q)


def encode_cursor(of: str, key: Sequence[Any]) -> str:
    raw = json.dumps({"of": of, "after": list(key)}, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def decode_cursor(of: str, cursor: object) -> tuple[Any, ...]:
    """The sort key a cursor of the list ``of`` carries; ValueError if it is not one. (Its
    values are checked against the list's sort key when the page is read: ``_checked``.)"""
    if not isinstance(cursor, str) or not 1 <= len(cursor) <= MAX_CURSOR \
            or not _CURSOR_CHARS.fullmatch(cursor):
        raise ValueError("not base64url")
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not base64url JSON") from None
    if not isinstance(data, dict) or set(data) != {"of", "after"} or data["of"] != of:
        raise ValueError("not a cursor of this list")
    after = data["after"]
    if not isinstance(after, list) or not after \
            or not all(type(v) in (int, str) for v in after):
        raise ValueError("not a sort key")
    return tuple(after)


def _checked(page: PageRequest, types: Sequence[type]) -> tuple[Any, ...] | None:
    after = page.after
    if after is not None and (len(after) != len(types)
                              or any(type(v) is not t for v, t in zip(after, types))):
        raise InvalidCommand(BAD_PAGE,
                             {"cursor": "翻页标记无效：请使用上一页返回的 next_cursor "
                                        "not a cursor of this list: pass the next_cursor of the previous page"})
    return after


def like_pattern(q: str) -> str:
    """``q`` as a LIKE pattern matching it anywhere, its ``%``, ``_`` and ``\\`` taken literally
    (with ``escape="\\"``)."""
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _answer(items: list[Row], total: int, page: PageRequest, last_key: Sequence[Any] | None,
            more: bool) -> dict[str, Any]:
    return {"items": items, "total": total,
            "next_cursor": encode_cursor(page.of, last_key) if more and last_key is not None else None}


def select_page(conn: sa.Connection, query: sa.Select, page: PageRequest | None, *,
                order: Sequence[tuple[sa.ColumnElement[Any], bool]], search: Iterable[Searched] = (),
                item: Callable[[Row], Row] = dict) -> Any:
    """The rows of ``query`` (its filters applied) in ``order`` — (column, descending) pairs, the
    last a unique tie-breaker, none nullable — each made an item by ``item``.

    ``page`` None: every row, as a list (internal callers, reports). Else the page answer
    (``items``, ``total``, ``next_cursor``), ``q`` matched case-insensitively anywhere in any of
    the ``search`` columns (or conditions)."""
    if page is not None and page.q is not None:
        pattern = like_pattern(page.q)
        query = query.where(sa.or_(*(s(page.q) if callable(s) and not isinstance(s, sa.ColumnElement)
                                     else s.ilike(pattern, escape="\\") for s in search)))
    keyed = query.add_columns(*(column.label(f"{_KEY}{i}") for i, (column, _) in enumerate(order)))
    keyed = keyed.order_by(*(column.desc() if desc else column.asc() for column, desc in order))
    if page is None:
        return [item(_strip(dict(r), len(order))[0]) for r in conn.execute(keyed).mappings()]
    after = _checked(page, [column.type.python_type for column, _ in order])
    if after is not None:
        keyed = keyed.where(sa.or_(*(
            sa.and_(*(order[j][0] == after[j] for j in range(i)),
                    column < after[i] if desc else column > after[i])
            for i, (column, desc) in enumerate(order))))
    if page.limit is not None:
        keyed = keyed.limit(page.limit + 1)
    total = conn.execute(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    rows = [_strip(dict(r), len(order)) for r in conn.execute(keyed).mappings()]
    more = page.limit is not None and len(rows) > page.limit
    rows = rows[:page.limit] if page.limit is not None else rows
    return _answer([item(r) for r, _ in rows], total, page, rows[-1][1] if rows else None, more)


def _strip(row: Row, n: int) -> tuple[Row, tuple[Any, ...]]:
    return row, tuple(row.pop(f"{_KEY}{i}") for i in range(n))


def list_page(rows: Iterable[Mapping[str, Any]], page: PageRequest | None, *,
              order: Sequence[tuple[str, type, bool]], search: Sequence[str] = ()) -> Any:
    """The same for rows already in memory (a list computed in Python, such as a ranking):
    ``order`` names (field, type, descending), the last a unique tie-breaker; ``q`` is matched
    case-insensitively anywhere in any of the ``search`` fields. ``page`` None: every row, in
    order, as a list."""
    ordered = [dict(r) for r in rows]
    for name, _, desc in reversed(order):   # stable sorts, last key first
        ordered.sort(key=lambda r: r[name], reverse=desc)
    if page is None:
        return ordered
    after = _checked(page, [t for _, t, _ in order])
    if page.q is not None:
        needle = page.q.casefold()
        ordered = [r for r in ordered
                   if any(needle in str(r.get(f) or "").casefold() for f in search)]
    total = len(ordered)
    if after is not None:
        ordered = [r for r in ordered if _is_after(r, after, order)]
    chosen = ordered if page.limit is None else ordered[:page.limit]
    last = tuple(chosen[-1][name] for name, _, _ in order) if chosen else None
    return _answer(chosen, total, page, last, len(ordered) > len(chosen))


def _is_after(row: Mapping[str, Any], after: Sequence[Any], order: Sequence[tuple[str, type, bool]]) -> bool:
    for (name, _, desc), value in zip(order, after):
        mine = row[name]
        if mine != value:
            return mine < value if desc else mine > value
    return False
