"""The projections' fast writes (view_writes.ViewConnection) and one transaction per page:
rows equal to what SQLAlchemy Core writes, buffered writes read back in order, a failing
projection rolled back alone inside the shared transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event as sa_event

from xieshang.kernel.projection import Projection, ProjectionError

from .test_projection import Tally, env, expected_totals, record, runner_for, totals  # noqa: F401


def _columns(name: str, metadata: sa.MetaData) -> sa.Table:
    return sa.Table(name, metadata,
                    sa.Column("stream", sa.String(200), primary_key=True),
                    sa.Column("tags", sa.JSON, nullable=False),
                    sa.Column("flag", sa.Boolean, nullable=False),
                    sa.Column("count", sa.Integer, nullable=False),
                    sa.Column("note", sa.Text))


class Notes(Projection):
    """The same rows written twice: with the fast writes and with Core statements."""

    name = "notes"
    version = 1

    def __init__(self, duplicate_at: int | None = None):
        self.duplicate_at = duplicate_at
        self.seen_own_write: list[bool] = []
        self.read_as_core_reads: list[bool] = []

    def define(self, metadata):
        self.fast = _columns("notes_fast", metadata)
        self.core = _columns("notes_core", metadata)

    def on_Added(self, conn, env):
        row = conn.one(self.fast, {"stream": env.stream})
        values = {"tags": {"n": env.data["n"], "名": "提案", "list": [1, None]},
                  "flag": env.data["n"] % 2 == 0, "note": None if env.data["n"] % 3 else "三"}
        if row is None:
            conn.insert(self.fast, stream=env.stream, count=1, **values)
            conn.execute(self.core.insert().values(stream=env.stream, count=1, **values))
            # The insert is still buffered: reading it sends it first.
            self.seen_own_write.append(conn.one(self.fast, {"stream": env.stream}) is not None)
        else:
            core = conn.execute(sa.select(self.fast).where(self.fast.c.stream == env.stream))
            self.read_as_core_reads.append(dict(core.mappings().one()) == row)
            conn.update(self.fast, {"stream": env.stream}, count=row["count"] + 1, **values)
            conn.execute(self.core.update().where(self.core.c.stream == env.stream)
                         .values(count=row["count"] + 1, **values))
        if env.position == self.duplicate_at:
            conn.insert(self.fast, stream=env.stream, count=0, **values)   # fails when sent

    def on_Removed(self, conn, env):
        conn.delete(self.fast, stream=env.stream)
        conn.execute(self.core.delete().where(self.core.c.stream == env.stream))


def _rows(env, table: sa.Table) -> list[dict]:
    with env.views.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.stream)).mappings()]


def test_fast_writes_store_exactly_what_core_stores(env):
    record(env.store, 40, streams=("a", "b", "c", "d", "e"))
    notes = Notes()
    runner = runner_for(env, notes, batch=9)
    runner.catch_up()
    fast = _rows(env, notes.fast)
    assert fast, "the projection wrote nothing"
    assert fast == _rows(env, notes.core)
    assert {type(r["flag"]) for r in fast} == {bool}
    assert fast[0]["tags"]["名"] == "提案"
    assert notes.seen_own_write and all(notes.seen_own_write)
    assert notes.read_as_core_reads and all(notes.read_as_core_reads)   # JSON, booleans, NULLs


def test_one_transaction_per_page_for_all_projections(env):
    record(env.store, 30)
    runner = runner_for(env, Tally(), Notes(), batch=10)
    commits = []

    def count(_conn):
        commits.append(1)

    sa_event.listen(env.views, "commit", count)
    try:
        runner.catch_up()
    finally:
        sa_event.remove(env.views, "commit", count)
    assert len(commits) == 3   # three pages of ten, both projections in each page's transaction
    assert runner.position() == env.store.head()


def test_a_failing_projection_rolls_back_alone_in_the_shared_transaction(env):
    head = record(env.store, 25, streams=("a", "b"))
    notes = Notes()
    runner = runner_for(env, Tally(fail_at=15), notes, batch=10)
    with pytest.raises(ProjectionError, match="'tally'.*position 15"):
        runner.catch_up()
    assert runner.position("tally") == 10
    assert totals(env, runner) == expected_totals(env.store, upto=10)
    # The other projection, in the same transactions, went on to the end.
    assert runner.position("notes") == head
    assert _rows(env, notes.fast) == _rows(env, notes.core)


def test_a_write_failing_when_sent_names_its_projection_and_rolls_it_back(env):
    head = record(env.store, 20, streams=("a", "b", "c"))
    notes = Notes(duplicate_at=13)
    runner = runner_for(env, notes, Tally(), batch=10)
    with pytest.raises(ProjectionError, match="'notes'.*position.? 13") as failure:
        runner.catch_up()
    assert "buffered read-model write" in str(failure.value)
    assert runner.position("notes") == 10
    assert runner.position("tally") == head
    # Fixed code in a new process continues from the checkpoint: the page was not half applied.
    again = runner_for(env, Notes(), Tally(), batch=10)
    again.catch_up()
    assert again.position() == head
    assert _rows(env, notes.fast) == _rows(env, notes.core)


def test_keys_that_are_none_are_refused(env):
    record(env.store, 1, streams=("a",))

    class Broken(Projection):
        name = "broken"

        def define(self, metadata):
            self.t = _columns("broken_rows", metadata)

        def on_Added(self, conn, env):
            conn.update(self.t, {"stream": None}, count=1)

    runner = runner_for(env, Broken())
    with pytest.raises(ProjectionError, match=r"key columns \['stream'\] are None"):
        runner.catch_up()


def test_a_value_the_driver_cannot_send_fails_its_projection_alone(env):
    head = record(env.store, 12, streams=("a", "b"))

    class Unsendable(Projection):
        name = "unsendable"

        def define(self, metadata):
            self.t = _columns("unsendable_rows", metadata)

        def on_Added(self, conn, env):
            bad = object() if env.position == 6 else env.data["n"]
            conn.insert(self.t, stream=f"{env.stream}-{env.position}", tags=[], flag=False,
                        count=bad, note=None)

    runner = runner_for(env, Unsendable(), Tally(), batch=5)
    with pytest.raises(ProjectionError, match="'unsendable'.*positions? 6"):
        runner.catch_up()
    assert runner.position("unsendable") == 5
    assert runner.position("tally") == head
    assert totals(env, runner) == expected_totals(env.store)


class Drifted(Projection):
    """A table whose stored shape no longer matches the code (a column dropped by hand)."""

    name = "drifted"

    def __init__(self, duplicate: bool = False):
        self.duplicate = duplicate

    def define(self, metadata):
        self.t = _columns("drifted_rows", metadata)

    def on_Added(self, conn, env):
        row = dict(stream=f"{env.stream}-{env.position}", tags=[], flag=False, count=1, note="n")
        conn.insert(self.t, **row)
        if self.duplicate:
            conn.insert(self.t, **row)   # the same key again: the trip fails after its PREPARE


def test_a_statement_the_database_refuses_fails_its_projection_alone(env):
    head = record(env.store, 8, streams=("a",))
    runner = runner_for(env, Drifted(), Tally(), batch=4)
    with env.views.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {_qualified(env, 'drifted_rows')} DROP COLUMN note")
    with pytest.raises(ProjectionError, match="'drifted'"):
        runner.catch_up()
    assert runner.position("drifted") == 0
    assert runner.position("tally") == head     # the page's other projection went on
    with env.views.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {_qualified(env, 'drifted_rows')} ADD COLUMN note TEXT")
    runner.catch_up()
    assert runner.position() == head


def test_a_trip_that_failed_after_preparing_does_not_poison_the_session(env):
    head = record(env.store, 6, streams=("a",))
    runner = runner_for(env, Drifted(duplicate=True), Tally(), batch=3)
    with pytest.raises(ProjectionError, match="'drifted'"):
        runner.catch_up()
    assert runner.position("tally") == head
    # Fixed code, same database sessions: the statement prepared by the failed trip is found.
    fixed = runner_for(env, Drifted(), Tally(), batch=3)
    fixed.catch_up()
    assert fixed.position() == head


def _qualified(env, table: str) -> str:
    return f'"{env.schema}".{table}' if env.schema else table
