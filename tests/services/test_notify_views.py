"""The notify service's digest entries and deliveries read models, on SQLite and PostgreSQL: a
notice planned for a period whose digest already closed goes into the next period's, one the
closer did not see moves on when the digest closes without it, a closed digest is due after the
recipient's quiet hours, and a rebuild gives the same rows."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from services.notify.domain.events import DeliveryPlanned, DigestClosed
from services.notify.views import Deliveries, DigestEntries
from tests.conftest import DEPLOYMENT
from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.envelope import Actor, NewEvent
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore

SYSTEM = Actor("system", "system", "system")
QUIET = "22:00-07:00"


def record(store: MemoryEventStore, stream: str, event, at: datetime | None = None) -> None:
    store.append(stream, store.stream_version(stream), [NewEvent(
        event.type_name(), event.to_data(), SYSTEM, **({"occurred_at": at} if at else {}))])


def planned(nid: str) -> DeliveryPlanned:
    return DeliveryPlanned(notification_id=nid, recipient="m-1", channel="email", kind="proposal_filed",
                           due_at="2024-03-02T07:00:00+08:00", digest_period="2024-03-01", cadence="daily",
                           quiet_hours=QUIET)


def rows(runner: ProjectionRunner, name: str):
    table = next(p for p in runner.projections if p.name == name).rows
    with runner.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(table)))


def test_each_notice_is_in_exactly_one_digest_and_a_closed_digest_waits_for_quiet_hours(views_engine):
    engine, schema = views_engine
    store = MemoryEventStore(DEPLOYMENT)
    runner = ProjectionRunner(store, engine, [DigestEntries(), Deliveries()], schema=schema, batch=2)
    runner.setup()
    record(store, "notices-a", planned("n1"))
    record(store, "notices-b", planned("n2"))                 # the closer will not have seen it
    record(store, "digest-m-1.email.2024-03-01", DigestClosed(
        recipient="m-1", channel="email", period="2024-03-01", cadence="daily", notification_ids=["n1"],
        quiet_hours=QUIET), at=datetime(2024, 3, 2, 0, 1, tzinfo=SHANGHAI))
    record(store, "notices-c", planned("n3"))                 # planned for a day already closed
    runner.catch_up()

    entries = {r[0]: r for r in rows(runner, "digest_entries")}
    assert entries["n1"][3] == "2024-03-01" and entries["n1"][-1] is True
    assert entries["n2"][3] == entries["n3"][3] == "2024-03-02"       # the next day's digest
    assert not entries["n2"][-1] and not entries["n3"][-1]
    t = runner.projections[1].rows
    with engine.connect() as conn:
        [digest] = conn.execute(sa.select(t.c.key, t.c.due)).all()
    assert digest.key == "digest.m-1.email.2024-03-01"
    assert digest.due == datetime(2024, 3, 2, 7, 0, tzinfo=SHANGHAI).timestamp()   # after quiet hours
    live = rows(runner, "digest_entries"), rows(runner, "deliveries")
    runner.rebuild()
    assert (rows(runner, "digest_entries"), rows(runner, "deliveries")) == live
