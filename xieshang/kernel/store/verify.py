"""Verifying a SQL event store's hash chain, in one process or in chunks of positions in several.

``SqlEventStore.verify(jobs)`` comes here. The walk checks, for every row in position order,
that its position is the next one, that it follows its predecessor's hash, that its body
matches its own hash, and that its indexed columns (event_id, stream, version, type) say what
its hashed body says; then that the last row is the recorded chain head. ``_check_row`` and
``_check_end`` are the reference checks and name what is wrong; the walk runs a faster check
first and asks ``_check_row`` only about a row that fails it, so a row is reported exactly when
``_check_row`` says so, with its words.

The fast check does not parse the body. A body whose hash checks is the canonical JSON that
``append`` wrote (anyone able to rewrite the chain up to its recorded head could as well have
made the columns agree), keys sorted, so the body ends with
``,"stream":<json>,"type":<json>,"version":<json>}``, and its top-level ``event_id`` is the
last ``,"event_id":`` in it when no closing brace follows that but the body's own (no object
after it). Comparing those bytes with the columns as the same encoder writes them holds for
any such body, whatever its values; a body that does not look like this (a brace in a later
string, say) goes to the full check, which decides.

With ``jobs`` > 1 the parent reads the chain head, cuts positions 1..head into contiguous
chunks, starts a process for each chunk but the first (which it walks itself; see
``START_METHOD``), and joins the chunks: each chunk after the first starts from the stored
predecessor hash of its first row, which the parent compares with the last hash of the chunk
before. It reports the first bad position across chunks with the words and positions of the
one-process walk. Each process reads in its own snapshot, the parent's holding the head and
what lies past it; a log only grows, so positions 1..head are the same in all of them, and
appends that commit meanwhile are not looked at.
"""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import pathlib
import sys
from dataclasses import dataclass
from typing import Any, Iterator

import orjson

from .port import GENESIS_HASH, VerifyReport, chain_hash

VERIFY_PAGE = 20_000
# A chunk of fewer positions is not worth a process of its own: verify(jobs) uses at most
# head // MIN_CHUNK processes (tests lower it to fork for a handful of rows).
MIN_CHUNK = 50_000

_COLUMNS = "position, event_id, stream, version, type, body, prev_hash, hash"
_EVENT_ID_KEY = b',"event_id":'


# -- the reference checks -------------------------------------------------------------------
def _check_row(row: tuple, expected: int, prev: Any) -> tuple[str | None, int | None]:
    """Check one stored row against the chain: (problem, first bad position) or (None, None)."""
    position, event_id, stream, version, type_, body, prev_hash, digest = row
    if not isinstance(position, int):  # SQLite keeps whatever type it is given
        return (f"a row has the non-numeric position {position!r}: it was inserted or altered "
                f"after position {expected - 1}"), expected
    if position > expected:
        return (f"position {expected} is missing: its row was deleted or moved "
                f"(the next stored row is at position {position})"), expected
    if position < expected:
        return (f"a row at position {position} lies before the start of the log "
                "(position 1): it was inserted"), position
    if prev_hash != prev:
        return _does_not_follow(position), position
    raw = body.encode() if isinstance(body, str) else body
    if not isinstance(raw, (bytes, bytearray, memoryview)) or \
            chain_hash(prev_hash, position, bytes(raw)) != digest:
        return f"position {position} was modified: its content does not match its hash", position
    try:
        hashed = orjson.loads(raw)
        columns_match = (hashed["event_id"], hashed["stream"], hashed["version"], hashed["type"]) == (
            event_id, stream, version, type_)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        columns_match = False
    if not columns_match:
        return (f"position {position} was modified: its indexed columns (event_id, stream, "
                "version, type) differ from its hashed body"), position
    return None, None


def _does_not_follow(position: int) -> str:
    before = f"position {position - 1}" if position > 1 else "the start of the log"
    return (f"position {position} does not follow {before} (its predecessor hash differs): "
            "a row was inserted, replaced or reordered here")


def _check_end(head: tuple | None, last: int, last_hash: str) -> tuple[str | None, int | None]:
    """Check the end of an intact chain against the recorded head: the walk cannot see rows
    deleted from, or chained onto, the end of the log; the head record can."""
    if head is None:
        return "the chain head record is missing: the end of the log cannot be checked", last + 1
    head_position, head_hash = int(head[0]), head[1]
    if head_position > last:
        missing = (f"position {last + 1} is" if head_position == last + 1
                   else f"positions {last + 1} to {head_position} are")
        return (f"{missing} missing: rows were deleted from the end of the log "
                f"(its recorded head is position {head_position})"), last + 1
    if head_position < last:
        return (f"position {head_position + 1} is past the recorded head of the log "
                f"(position {head_position}): rows were added after its end"), head_position + 1
    if head_hash != last_hash:
        return (f"the recorded head hash does not match position {last}: the last rows were "
                "rewritten with a recomputed chain, or the head record was altered"), max(last, 1)
    return None, None


# -- the walk -------------------------------------------------------------------------------
@dataclass
class _Walk:
    """How far a walk got: ``expected`` is the position after the last sound row, ``prev``
    that row's hash; ``first`` is (position, prev_hash) of the first row it saw."""

    expected: int
    prev: Any
    problem: str | None = None
    bad: int | None = None
    first: tuple | None = None


def _walk(pages: Iterator[list[tuple]], expected: int, prev: Any) -> _Walk:
    """Check the rows of ``pages`` in order, from position ``expected`` on, the first following
    ``prev`` (None: whatever predecessor hash the first row has); stop at the first problem."""
    sha256 = hashlib.sha256
    dumps = orjson.dumps
    first = None
    for rows in pages:
        if first is None:
            first = (rows[0][0], rows[0][6])
            if prev is None:
                seed = rows[0][6]
                prev = seed if isinstance(seed, str) and seed.isascii() else ""
        for row in rows:
            position, event_id, stream, version, type_, body, prev_hash, digest = row
            # The fast check: the hash, then the tail and the event id compared as the encoder
            # writes them (see the module doc): the body ends with the last three members, and
            # its last ',"event_id":' is followed by no closing brace but the body's own.
            try:
                if body.__class__ is not bytes:
                    body = _as_bytes(body)
                h = sha256(prev.encode())
                h.update(b"|%d|" % position)
                h.update(body)
                ok = (position == expected and prev_hash == prev and h.hexdigest() == digest
                      and body.endswith(b',"stream":%b,"type":%b,"version":%b}' % (
                          dumps(stream), dumps(type_), dumps(version)))
                      and (i := body.rfind(_EVENT_ID_KEY)) > 0
                      and body.startswith(dumps(event_id) + b",", i + 12)
                      and body.count(b"}", i) == 1)
            except Exception:  # noqa: BLE001 - an odd value: the full check says what it is
                ok = False
            if not ok:
                problem, bad = _check_row(row, expected, prev)
                if problem:
                    return _Walk(expected, prev, problem, bad, first)
            expected += 1
            prev = digest
    return _Walk(expected, prev, first=first)


def _as_bytes(body: Any) -> bytes:
    if isinstance(body, (memoryview, bytearray)):  # psycopg2 reads bytea as a memoryview
        return bytes(body)
    raise TypeError("not a binary body")


# -- SQL ------------------------------------------------------------------------------------
class _Sql:
    """The statements of a walk, for one dialect and schema."""

    def __init__(self, dialect: str, schema: str | None):
        q = f'"{schema}".' if schema else ""
        ph = "?" if dialect == "sqlite" else "%s"
        select = f"SELECT {_COLUMNS} FROM {q}events"
        self.begin = "BEGIN" if dialect == "sqlite" else "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
        self.head = f"SELECT position, hash FROM {q}chain_head WHERE id = 1"
        self.hash_at = f"SELECT hash FROM {q}events WHERE position = {ph}"
        self.first = f"{select} ORDER BY position LIMIT {ph}"
        self.upto = f"{select} WHERE position <= {ph} ORDER BY position LIMIT {ph}"
        self.after = f"{select} WHERE position > {ph} ORDER BY position LIMIT {ph}"
        self.between = f"{select} WHERE position > {ph} AND position <= {ph} ORDER BY position LIMIT {ph}"


def _pages(cur: Any, sql: _Sql, after: int | None, end: int | None) -> Iterator[list[tuple]]:
    """Rows in position order, VERIFY_PAGE at a time: those after position ``after`` (None: from
    the very first row, whatever its position) up to ``end`` (None: to the last row)."""
    page = VERIFY_PAGE
    while True:
        if after is None:
            cur.execute(*((sql.first, (page,)) if end is None else (sql.upto, (end, page))))
        else:
            cur.execute(*((sql.after, (after, page)) if end is None else (sql.between, (after, end, page))))
        rows = cur.fetchall()
        if not rows:
            return
        yield rows
        if len(rows) < page:
            return
        # Only reached when the walk took every row, so positions were whole and contiguous.
        after = rows[-1][0]


# -- one process ----------------------------------------------------------------------------
def verify_sql_store(store: Any, jobs: int = 1) -> VerifyReport:
    """Verify a SqlEventStore, in ``jobs`` processes when its log is long enough."""
    if jobs > 1:
        report = _verify_in_chunks(store, jobs)
        if report is not None:
            return report
    return _verify_in_one_snapshot(store)


def _verify_in_one_snapshot(store: Any) -> VerifyReport:
    sql = _Sql(store.dialect, store.schema)
    with store._connection() as cur:
        cur.execute(sql.begin)
        cur.execute(sql.head)
        head = cur.fetchone()
        walk = _walk(_pages(cur, sql, None, None), 1, GENESIS_HASH)
        cur.execute("ROLLBACK")
    if walk.problem:
        return _broken(walk.expected - 1, walk.bad, walk.problem)
    return _ended(head, walk.expected - 1, walk.prev)


def _broken(last: int, bad: int | None, problem: str) -> VerifyReport:
    return VerifyReport(checked=last, last_position=last, first_bad_position=bad, problem=problem)


def _ended(head: tuple | None, last: int, last_hash: Any) -> VerifyReport:
    problem, bad = _check_end(head, last, last_hash)
    if problem:
        return _broken(min(last, bad - 1), bad, problem)
    return VerifyReport(checked=last, last_position=last)


# -- chunks in parallel processes -----------------------------------------------------------
@dataclass(frozen=True)
class _Target:
    """Where a worker process connects: its own connection, never one inherited."""

    dialect: str
    database: str  # the SQLite file, or a libpq connection URI
    schema: str | None

    @classmethod
    def of(cls, store: Any) -> "_Target":
        url = store.engine.url
        if store.dialect == "sqlite":
            return cls("sqlite", str(url.database), None)
        return cls("postgresql", url.set(drivername="postgresql").render_as_string(hide_password=False),
                   store.schema)

    def connect(self) -> Any:
        if self.dialect == "sqlite":
            import sqlite3

            uri = pathlib.Path(self.database).absolute().as_uri() + "?mode=ro"
            return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30)
        import psycopg2
        import psycopg2.extensions

        # A parent made cooperative with eventlet passes its wait callback on through fork;
        # the hub it would wait on is the parent's.
        psycopg2.extensions.set_wait_callback(None)
        conn = psycopg2.connect(self.database)
        conn.autocommit = True  # we issue BEGIN ourselves, as the store does
        return conn


@dataclass
class _Chunk:
    """What the walk of positions (after, end] found, in the walker's own snapshot."""

    walk: _Walk
    ran_out: bool  # sound as far as it went, but no row follows before the chunk's end


def _check_chunk(cur: Any, sql: _Sql, after: int, end: int, head_position: int) -> _Chunk:
    """Walk positions (after, end]: from the genesis hash when ``after`` is 0 (and then any
    rows before position 1 too), else from the stored predecessor hash of the first row."""
    cur.execute(sql.begin)
    try:
        if after == 0:
            walk = _walk(_pages(cur, sql, None, end), 1, GENESIS_HASH)
        else:
            walk = _walk(_pages(cur, sql, after, end), after + 1, None)
        if walk.problem or walk.expected > end:
            return _Chunk(walk, False)
        # Rows stop before the chunk's end: the next row up to the head names the gap as the
        # one-process walk would; with none, the parent, who knows what lies past the head, does.
        cur.execute(sql.between, (walk.expected - 1, head_position, 1))
        following = cur.fetchone()
        if following is None:
            return _Chunk(walk, True)
        walk.problem, walk.bad = _check_row(following, walk.expected, walk.prev)
        return _Chunk(walk, False)
    finally:
        cur.execute("ROLLBACK")


def _chunk_worker(target: _Target, after: int, end: int, head_position: int, send: Any) -> None:
    """A worker process: verify one chunk on a connection of its own, send back the result and
    exit at once. Exiting skips the interpreter's shutdown, which in a child forked from an
    eventlet-patched parent can wait forever on green threads that only the parent runs."""
    code = 0
    try:
        conn = target.connect()
        try:
            result = _check_chunk(conn.cursor(), _Sql(target.dialect, target.schema),
                                  after, end, head_position)
        finally:
            conn.close()
        send.send(("ok", result))
    except BaseException as exc:  # noqa: BLE001 - reported by the parent
        code = 1
        send.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        send.close()
        os._exit(code)


# How worker processes start: None picks fork, unless eventlet has patched this process (a
# service, the test suite): a forked child could run the parent's green threads there, on the
# parent's connections, so the workers are fresh interpreters (spawn: slower to start, and like
# any spawned process they import the parent's main module, which must guard its main code).
START_METHOD: str | None = None


def _context() -> Any:
    method = START_METHOD
    if method is None:
        fork = "fork" in multiprocessing.get_all_start_methods()
        method = "fork" if fork and not _eventlet_patched() else "spawn"
    return multiprocessing.get_context(method)


def _eventlet_patched() -> bool:
    patcher = sys.modules.get("eventlet.patcher")
    return patcher is not None and any(
        patcher.is_monkey_patched(module) for module in ("os", "select", "socket", "thread", "time"))


def _verify_in_chunks(store: Any, jobs: int) -> VerifyReport | None:
    """Verify in up to ``jobs`` processes; None when the log is too short to split (or changed
    under the walk): the caller then verifies in one snapshot."""
    sql = _Sql(store.dialect, store.schema)
    with store._connection() as cur:
        # One snapshot for the head and what lies past it (normally nothing).
        cur.execute(sql.begin)
        try:
            cur.execute(sql.head)
            head = cur.fetchone()
            if head is None:
                return None
            head_position = int(head[0])
            n = min(jobs, head_position // max(MIN_CHUNK, 1))
            if n < 2:
                return None
            cur.execute(sql.hash_at, (head_position,))
            found = cur.fetchone()
            head_row_hash = found[0] if found else None
            # As the one-process walk goes on past the head: from the hash of the head's row.
            past_head = _walk(_pages(cur, sql, head_position, None), head_position + 1, head_row_hash)
            cur.execute(sql.after, (head_position, 1))
            first_past_head = cur.fetchone()
        finally:
            cur.execute("ROLLBACK")

    bounds = [(i * head_position // n, (i + 1) * head_position // n) for i in range(n)]
    workers = _start(_Target.of(store), bounds[1:], head_position)
    try:
        with store._connection() as cur:
            results = [_check_chunk(cur, sql, *bounds[0], head_position)]
        if results[0].walk.problem:  # nothing after it can come first
            return _broken(results[0].walk.expected - 1, results[0].walk.bad, results[0].walk.problem)
        for (after, end), (process, recv) in zip(bounds[1:], workers):
            try:
                status, value = recv.recv()
            except EOFError:
                raise RuntimeError(f"the verify process for positions {after + 1} to {end} "
                                   f"ended without an answer (exit code {process.exitcode})") from None
            if status != "ok":
                raise RuntimeError(f"the verify process for positions {after + 1} to {end} failed: {value}")
            results.append(value)
    finally:
        for process, recv in workers:
            if process.is_alive():
                process.terminate()
            process.join()
            recv.close()

    prev = GENESIS_HASH
    for (after, _end), chunk in zip(bounds, results):
        walk = chunk.walk
        if after and walk.first and walk.first[0] == after + 1 and walk.first[1] != prev:
            return _broken(after, after + 1, _does_not_follow(after + 1))
        if walk.problem:
            return _broken(walk.expected - 1, walk.bad, walk.problem)
        if chunk.ran_out:  # no row from here up to the head
            if first_past_head is not None:
                problem, bad = _check_row(first_past_head, walk.expected, walk.prev)
                return _broken(walk.expected - 1, bad, problem)
            return _ended(head, walk.expected - 1, walk.prev)
        prev = walk.prev
    if prev != head_row_hash:  # the head's row changed since the parent read it
        return None
    if past_head.problem:
        return _broken(past_head.expected - 1, past_head.bad, past_head.problem)
    return _ended(head, past_head.expected - 1, past_head.prev)


def _start(target: _Target, bounds: list[tuple[int, int]], head_position: int) -> list[tuple[Any, Any]]:
    """Fork a worker per chunk. What the parent had allocated is frozen out of the children's
    garbage collector meanwhile, so that no child finalises an object of the parent's (such as
    a pooled connection, whose close would end the parent's session)."""
    ctx = _context()
    workers = []
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        for after, end in bounds:
            recv, send = ctx.Pipe(duplex=False)
            process = ctx.Process(target=_chunk_worker, args=(target, after, end, head_position, send),
                                  name=f"verify-{after + 1}-{end}", daemon=True)
            process.start()
            send.close()  # the child's end: recv sees EOF if the child dies
            workers.append((process, recv))
    finally:
        if freeze:
            gc.unfreeze()
    return workers
