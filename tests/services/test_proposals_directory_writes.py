"""The proposals service's ``Directory`` read model written through the runner's fast keyed
writes, on SQLite and PostgreSQL: each field takes the value of the latest source position
whatever order the notes come in, an entry noted without any field is kept as unknown, and a
rebuild gives the live rows value for value, types included."""

from __future__ import annotations

import sqlalchemy as sa

from services.proposals.directory import Directory
from services.proposals.domain.events import DirectoryEntryNoted
from tests.conftest import DEPLOYMENT
from xieshang.kernel.envelope import Actor, NewEvent
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore

SYSTEM = Actor("system", "system", "system")


def note(store: MemoryEventStore, entry_id: str, at: int, **fields) -> None:
    stream = f"directory-{entry_id}"
    noted = DirectoryEntryNoted(entry_id=entry_id, source_type="MemberAppointed",
                                source_event_id=f"e-{entry_id}-{at}", source_position=at, **fields)
    store.append(stream, store.stream_version(stream), [NewEvent(noted.type_name(), noted.to_data(), SYSTEM)])


def entries(runner: ProjectionRunner) -> dict[str, tuple]:
    t = runner.projections[0].entries
    with runner.engine.connect() as conn:
        return {r.entry_id: tuple((type(x).__name__, x) for x in r[1:])
                for r in conn.execute(sa.select(t).order_by(t.c.entry_id))}


def test_each_field_is_the_latest_sources_in_any_order_and_a_rebuild_gives_the_same(views_engine):
    engine, schema = views_engine
    store = MemoryEventStore(DEPLOYMENT)
    runner = ProjectionRunner(store, engine, [Directory()], schema=schema, batch=2)
    runner.setup()
    note(store, "m-1", 5, kind="member", name="李明", active=True)
    note(store, "m-1", 3, name="李明明", active=False)        # older: changes nothing
    runner.catch_up()
    note(store, "m-1", 8, active=False)                       # resigned: the name stays
    note(store, "m-1", 6, name="李铭")                         # renamed, told late
    note(store, "u-1", 2, kind="handling_unit", name="民政局", active=True)
    note(store, "u-1", 2, name="民政局（旧）")                  # the same position: not later
    note(store, "x-1", 4)                                     # says nothing: an unknown entry
    runner.catch_up()

    live = entries(runner)
    assert live == {
        "m-1": (("str", "member"), ("int", 5), ("str", "李铭"), ("int", 6), ("bool", False), ("int", 8),
                ("NoneType", None), ("int", -1)),
        "u-1": (("str", "handling_unit"), ("int", 2), ("str", "民政局"), ("int", 2), ("bool", True),
                ("int", 2), ("NoneType", None), ("int", -1)),
        "x-1": (("NoneType", None), ("int", -1), ("NoneType", None), ("int", -1), ("bool", False),
                ("int", -1), ("NoneType", None), ("int", -1)),
    }
    runner.rebuild()
    assert entries(runner) == live
