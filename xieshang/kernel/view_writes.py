"""Fast writes of read-model rows: what projection handlers are given as ``conn``.

A handler's writes are almost all "insert this row", "update the row with this key", "delete the
rows with this key". Built per call with SQLAlchemy Core (``table.update().where(…).values(…)``)
each costs ~74 µs; the database's own work is ~3 µs (docs/performance.md, rebuild). So a
``ViewConnection`` offers those three (and an ignore-duplicates insert and a read by key) as
methods whose SQL text is built once per table and column set and run on the DBAPI cursor of
the runner's transaction, with the columns' own SQLAlchemy bind processors (a JSON column is
stored exactly as SQLAlchemy stores it, so Core queries read it back unchanged).

Writes are buffered and sent in order: on SQLite consecutive writes of the same statement go in
one ``executemany``; on PostgreSQL the buffer goes in one round trip (statements rendered by the
driver's own quoting, ``mogrify``, and joined). Anything else a handler does on the connection
(``conn.execute(…)`` of a Core statement, a read) first sends what is buffered, so a handler
always reads its own writes. Because writes are sent later, their row counts are not returned.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa

# On PostgreSQL, at most this many buffered statements go in one round trip.
PG_STATEMENTS_PER_TRIP = 500


class _Shape:
    """One statement's SQL text and its parameters' bind processors (and, for a read, its
    columns' names and result processors), built once."""

    __slots__ = ("sql", "processors", "results", "_processed")

    def __init__(self, sql: str, processors: Sequence[Callable[[Any], Any] | None],
                 results: Sequence[tuple[str, Callable[[Any], Any] | None]] = ()):
        self.sql = sql
        self.processors = tuple(processors)
        self.results = tuple(results)
        # Only the columns that have a processor (JSON, booleans on SQLite) are touched per row.
        self._processed = tuple((i, p) for i, p in enumerate(self.processors) if p is not None)

    def params(self, values: Iterable[Any]) -> tuple:
        if not self._processed:
            return tuple(values)
        out = list(values)
        for i, process in self._processed:
            out[i] = process(out[i])
        return tuple(out)


class WriteFailed(RuntimeError):
    """A buffered write failed when it was sent; ``first`` to ``last`` are the positions of the
    events whose handlers buffered the statements that failed together (on PostgreSQL: one
    round trip's)."""

    def __init__(self, cause: BaseException, first: int | None, last: int | None):
        self.cause, self.first, self.last = cause, first, last
        where = (f"positions {first} to {last}" if first != last else f"position {first}")
        super().__init__(f"a buffered read-model write of the events at {where} failed: {cause!r}")


class ViewConnection:
    """The runner's connection for one page: fast keyed writes, everything else delegated.

    ``conn.insert(table, row)`` / ``conn.insert(table, [rows])`` / ``conn.insert(table, **row)``;
    ``conn.insert_ignore(table, rows)`` (rows whose primary key exists are skipped);
    ``conn.update(table, {"id": x}, status="closed")`` (equality on every key column);
    ``conn.delete(table, id=x)``; ``conn.one(table, {"id": x})`` (a dict or None).
    ``conn.execute(…)`` and every other attribute are the SQLAlchemy connection's."""

    def __init__(self, conn: sa.Connection, shapes: dict | None = None):
        self._conn = conn
        self._dialect = conn.dialect
        self._pg = conn.dialect.name == "postgresql"
        self._ph = "%s" if self._pg else "?"
        self._cursor = conn.connection.dbapi_connection.cursor()
        # Statement shapes are shared by every page of a runner (passed in), built once.
        self._shapes: dict[tuple, _Shape] = shapes if shapes is not None else {}
        self._pg_names: dict[str, str] = self._shapes.setdefault(("pg names",), {})  # type: ignore[assignment]
        self._buffer: list[tuple[str, tuple]] = []
        self._positions: list[int] = []
        self.position: int | None = None   # of the event being handled (for error messages)
        self.attempts = 0                  # flushes that began sending (the runner's savepoints)
        self._failed: tuple[int, int] | None = None

    # -- the fast writes ----------------------------------------------------------------
    def insert(self, table: sa.Table, rows: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
               **values: Any) -> None:
        for row in _rows(rows, values):
            columns = tuple(row)
            shape = self._shape(("insert", table, columns), lambda: self._insert_shape(table, columns, ""))
            self._add(shape, row.values())

    def insert_ignore(self, table: sa.Table, rows: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
                      **values: Any) -> None:
        for row in _rows(rows, values):
            columns = tuple(row)
            shape = self._shape(("insert_ignore", table, columns),
                                lambda: self._insert_shape(table, columns, " ON CONFLICT DO NOTHING"))
            self._add(shape, row.values())

    def update(self, table: sa.Table, where: Mapping[str, Any], /, **values: Any) -> None:
        if not values:
            return
        _no_null_keys(table, where)
        columns, keys = tuple(values), tuple(where)
        shape = self._shape(("update", table, columns, keys),
                            lambda: self._update_shape(table, columns, keys))
        self._add(shape, (*values.values(), *where.values()))

    def delete(self, table: sa.Table, /, **where: Any) -> None:
        _no_null_keys(table, where)
        keys = tuple(where)
        shape = self._shape(("delete", table, keys), lambda: self._delete_shape(table, keys))
        self._add(shape, where.values())

    def one(self, table: sa.Table, where: Mapping[str, Any]) -> dict[str, Any] | None:
        """The row matching ``where`` (equality), as a dict of column name to value, or None.
        On PostgreSQL the buffered writes travel in the same round trip, ahead of the read."""
        _no_null_keys(table, where)
        keys = tuple(where)
        read = self._shape(("one", table, keys), lambda: self._select_shape(table, keys))
        params = read.params(where.values())
        cur = self._cursor
        if self._pg and self._buffer:
            self._buffer.append((read.sql, params))
            self._positions.append(self.position if self.position is not None else -1)
            self.flush()   # the read is the trip's last statement: its row is the cursor's
        else:
            self.flush()
            cur.execute(read.sql, params)
        row = cur.fetchone()
        if row is None:
            return None
        return {name: (v if p is None else p(v)) for (name, p), v in zip(read.results, row)}

    # -- everything else ----------------------------------------------------------------
    def execute(self, *args: Any, **kw: Any) -> Any:
        self.flush()
        return self._conn.execute(*args, **kw)

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self._conn, name)

    def raw(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Buffer one statement of the runner's own (``?`` placeholders)."""
        self._buffer.append((sql.replace("?", self._ph), tuple(params)))
        self._positions.append(self.position if self.position is not None else -1)

    def flush(self) -> None:
        """Send the buffered writes, in order."""
        buffer = self._buffer
        if not buffer:
            return
        positions = self._positions
        self._buffer, self._positions = [], []
        try:
            if self._pg:
                self._send_pg(buffer)
            else:
                self._send_sqlite(buffer)
        except Exception as exc:
            if not self._pg and self._failed is not None:   # SQLite: we know which ones failed
                positions = positions[self._failed[0]:self._failed[1] + 1]
            known = [p for p in positions if p >= 0]
            raise WriteFailed(exc, min(known) if known else None, max(known) if known else None) from exc

    def discard(self) -> None:
        """Forget the writes not sent yet (their projection is being rolled back)."""
        self._buffer, self._positions = [], []

    def close(self) -> None:
        self.discard()
        self._cursor.close()

    # -- sending ------------------------------------------------------------------------
    def _send_sqlite(self, buffer: list[tuple[str, tuple]]) -> tuple[int, int] | None:
        """Send ``buffer``; on failure, the (first, last) indexes of the statements that failed
        together are kept in ``self._failed`` for the error message."""
        cur = self._cursor
        self.attempts += 1
        i, n = 0, len(buffer)
        while i < n:
            sql = buffer[i][0]
            j = i + 1
            while j < n and buffer[j][0] is sql:
                j += 1
            self._failed = (i, j - 1)
            if j - i == 1:
                cur.execute(sql, buffer[i][1])
            else:
                cur.executemany(sql, [params for _, params in buffer[i:j]])
            i = j
        self._failed = None
        return None

    def _send_pg(self, buffer: list[tuple[str, tuple]]) -> None:
        cur = self._cursor
        # Our statements run as prepared statements of the session: the server plans each shape
        # once instead of parsing and planning every statement (~25% of its time per row). A
        # shape new to the session is prepared in the same trip, right before its first use, so
        # it comes after the projection's SAVEPOINT and a failing PREPARE rolls back like any
        # write. A session reset the pool does not know of (a pooler in transaction mode) would
        # lose them: point read models at PostgreSQL directly or through a pooler in session mode.
        prepared = self._prepared()
        preparing: list[str] = []
        statements = []
        for sql, params in buffer:
            name = self._pg_names.get(sql)
            if name is None:
                statements.append(cur.mogrify(sql, params))
                continue
            if name not in prepared and name not in preparing:
                statements.append(f"PREPARE {name} AS {_numbered(sql)}".encode())
                preparing.append(name)
            statements.append(cur.mogrify(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})"
                                          if params else f"EXECUTE {name}", params))
        # Rendered before anything is sent: a value the driver cannot render sends nothing.
        trips = [b";".join(statements[start:start + PG_STATEMENTS_PER_TRIP])
                 for start in range(0, len(statements), PG_STATEMENTS_PER_TRIP)]
        self.attempts += 1
        try:
            for trip in trips:
                cur.execute(trip)
        except Exception:
            # A PREPARE may have run before the failure (a prepared statement outlives the
            # rollback): ask the session what it holds before the next trip.
            self._conn.connection.info["xieshang_prepared_unsure"] = True
            raise
        prepared.update(preparing)

    def _prepared(self) -> set[str]:
        """The names prepared in this database session (kept with the pooled connection); read
        from the session itself after a failed trip left it unsure."""
        info = self._conn.connection.info
        names = info.setdefault("xieshang_prepared", set())
        if info.pop("xieshang_prepared_unsure", False):
            self._cursor.execute("SELECT name FROM pg_prepared_statements")
            names.clear()
            names.update(row[0] for row in self._cursor.fetchall())
        return names

    # -- statements ---------------------------------------------------------------------
    def _add(self, shape: _Shape, values: Iterable[Any]) -> None:
        self._buffer.append((shape.sql, shape.params(values)))
        self._positions.append(self.position if self.position is not None else -1)

    def _shape(self, key: tuple, build: Callable[[], _Shape]) -> _Shape:
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shapes[key] = build()
            if self._pg:
                # Named by its text: the same statement has the same name in every session.
                self._pg_names[shape.sql] = "xs_" + hashlib.sha1(shape.sql.encode()).hexdigest()[:20]
        return shape

    def _name(self, table: sa.Table) -> str:
        return self._dialect.identifier_preparer.format_table(table)

    def _column(self, table: sa.Table, name: str) -> tuple[str, Callable[[Any], Any] | None]:
        try:
            column = table.c[name]
        except KeyError:
            raise KeyError(f"table {table.name!r} has no column {name!r}") from None
        quoted = self._dialect.identifier_preparer.quote(column.name)
        return quoted, column.type.dialect_impl(self._dialect).bind_processor(self._dialect)

    def _insert_shape(self, table: sa.Table, columns: tuple[str, ...], tail: str) -> _Shape:
        cols = [self._column(table, c) for c in columns]
        sql = (f"INSERT INTO {self._name(table)} ({', '.join(q for q, _ in cols)}) "
               f"VALUES ({', '.join([self._ph] * len(cols))}){tail}")
        return _Shape(sql, [p for _, p in cols])

    def _update_shape(self, table: sa.Table, columns: tuple[str, ...], keys: tuple[str, ...]) -> _Shape:
        cols = [self._column(table, c) for c in columns]
        where = [self._column(table, k) for k in keys]
        sql = (f"UPDATE {self._name(table)} SET {', '.join(f'{q} = {self._ph}' for q, _ in cols)}"
               + _where(where, self._ph))
        return _Shape(sql, [p for _, p in cols] + [p for _, p in where])

    def _select_shape(self, table: sa.Table, keys: tuple[str, ...]) -> _Shape:
        where = [self._column(table, k) for k in keys]
        prep = self._dialect.identifier_preparer
        columns = list(table.columns)
        sql = (f"SELECT {', '.join(prep.quote(c.name) for c in columns)} FROM {self._name(table)}"
               + _where(where, self._ph) + " LIMIT 1")
        results = [(c.name, c.type.dialect_impl(self._dialect).result_processor(self._dialect, None))
                   for c in columns]
        return _Shape(sql, [p for _, p in where], results)

    def _delete_shape(self, table: sa.Table, keys: tuple[str, ...]) -> _Shape:
        where = [self._column(table, k) for k in keys]
        return _Shape(f"DELETE FROM {self._name(table)}" + _where(where, self._ph), [p for _, p in where])


def _no_null_keys(table: sa.Table, where: Mapping[str, Any]) -> None:
    # "column = NULL" matches nothing: a None key is a handler's bug, not an empty update.
    if None in where.values():
        missing = [k for k, v in where.items() if v is None]
        raise ValueError(f"{table.name}: key columns {missing} are None")


def _numbered(sql: str) -> str:
    """``%s`` placeholders as PostgreSQL's ``$1, $2, …`` (our statements have no other %)."""
    parts = sql.split("%s")
    return "".join(f"{part}${i}" if i < len(parts) else part for i, part in enumerate(parts, 1))


def _where(columns: list[tuple[str, Any]], ph: str) -> str:
    if not columns:
        return ""
    return " WHERE " + " AND ".join(f"{q} = {ph}" for q, _ in columns)


def _rows(rows: Any, values: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    if rows is None:
        return [values]
    if values:
        raise TypeError("give the row as a mapping or as keywords, not both")
    if isinstance(rows, Mapping):
        return [rows]
    return rows
