"""Checks shared by the read models' tests: rows written by the fast writes (view_writes.py)
are stored exactly as SQLAlchemy Core would have stored them."""

from __future__ import annotations

from typing import Any, Iterable

import sqlalchemy as sa


def as_stored(conn: sa.Connection, table: sa.Table) -> list[tuple]:
    """The table's rows as the database holds them: JSON as its text, every other column
    without SQLAlchemy's result processing (booleans as SQLite's integers, …)."""
    raw = [sa.cast(c, sa.Text) if isinstance(c.type, sa.JSON)
           else sa.type_coerce(c, sa.types.NullType()) for c in table.c]
    return [tuple(r) for r in conn.execute(sa.select(*raw).order_by(*table.primary_key.columns))]


def assert_stored_as_core_stores(engine: sa.Engine, schema: str | None, tables: Iterable[sa.Table]) -> None:
    """Copy each (non-empty) table through Core into a twin with the same columns and compare
    what the database holds for both."""
    twins = sa.MetaData(schema=schema)
    with engine.begin() as conn:
        for table in tables:
            rows = [dict(r) for r in conn.execute(sa.select(table)).mappings()]
            assert rows, f"{table.name} is empty: nothing to compare"
            twin = sa.Table(f"core_{table.name}", twins, *(
                sa.Column(c.name, c.type, primary_key=c.primary_key) for c in table.c))
            twin.create(conn)
            conn.execute(twin.insert(), rows)
            assert as_stored(conn, table) == as_stored(conn, twin), table.name


def every_row_as_text(engine: sa.Engine, schema: str | None = None) -> str:
    """Every row of every table of a views database, as one text: what a search for a value
    that must be in no read model looks through."""
    metadata = sa.MetaData(schema=schema)
    with engine.connect() as conn:
        metadata.reflect(conn)
        return repr([conn.execute(sa.select(table)).all() for table in metadata.sorted_tables])


def call(runner: Any, fn, *args: Any, **kw: Any) -> Any:
    """A read model's query ``fn(conn, runner, …)`` once the runner has caught up with its log."""
    runner.catch_up()
    with runner.engine.connect() as conn:
        return fn(conn, runner, *args, **kw)


def dump(runner: Any) -> dict[str, list[dict]]:
    """Every row of every table of the runner's projections, by table, in key order: what a
    rebuild must give again."""
    out = {}
    with runner.engine.connect() as conn:
        for p in runner.projections:
            for t in p.tables():
                rows = conn.execute(sa.select(t).order_by(*t.primary_key.columns)).mappings()
                out[t.name] = [dict(r) for r in rows]
    return out
