"""The worklist's urgent order (issue 15, the staff console's worklist): overdue rounds first,
then the open rounds by nearest deadline, then every other case by latest activity; each row
says how its round stands today; the keyset pages keep that order, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.proposals import domain
from services.proposals import views as v
from services.proposals.calendar import DeadlineRules
from services.proposals.service import _due_soon
from tests.conftest import DEPLOYMENT
from tests.services.test_proposals_views import Desk, member, proj
from xieshang.kernel.domain import InvalidCommand
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.views import PageRequest

TODAY = date(2024, 4, 10)


@pytest.fixture
def backend(views_engine):
    engine, schema = views_engine
    store = MemoryEventStore(DEPLOYMENT)
    runner = ProjectionRunner(store, engine, v.PROJECTIONS(), schema=schema)
    runner.setup()
    yield Desk(store), runner


def read(runner, **kw):
    runner.catch_up()
    with runner.engine.connect() as conn:
        return v.worklist(conn, proj(runner, v.Worklist), **kw)


def cases(desk: Desk) -> dict[str, str]:
    """Seven cases, each standing differently on TODAY; their deadlines by name."""
    def assigned(name: str, on: str) -> None:
        desk.day(on)
        desk.submit(member(1), name)
        desk.file(name)
        desk.assign(name, "mzj")

    assigned("escalated", "2024-01-02")     # deadline about 2024-04-01, the timer escalates it
    assigned("late", "2024-01-05")          # deadline passed, the timer has not run
    assigned("replied", "2024-01-03")
    desk.day("2024-02-01")
    desk.reply("replied", "mzj", "A")
    desk.submit(member(2), "filed")
    desk.file("filed")                      # filed, not assigned yet: no deadline
    assigned("soon", "2024-01-12")          # due within the week
    assigned("later", "2024-03-01")         # due in 50 days
    deadline = desk.state("escalated").round.deadline
    desk.day((date.fromisoformat(deadline) + timedelta(days=1)).isoformat())
    assert desk.timer("escalated")          # ReplyOverdue
    desk.day("2024-04-08")
    desk.submit(member(3), "new")           # the latest activity
    desk.today = TODAY
    return {n: desk.state(n).round.deadline for n in ("escalated", "late", "soon", "later")}


def test_urgent_puts_overdue_first_then_the_nearest_deadline_then_the_latest(backend):
    desk, runner = backend
    deadlines = cases(desk)
    assert deadlines["escalated"] < deadlines["late"] < TODAY.isoformat() < deadlines["soon"] < deadlines["later"]
    names = {value: key for key, value in desk.ids.items()}

    rows = read(runner, order="urgent", today=TODAY)
    assert [names[r["proposal_id"]] for r in rows] == [
        "escalated", "late", "soon", "later",            # the open rounds, the overdue ones first
        "new", "filed", "replied"]                       # then the latest activity first
    stand = {names[r["proposal_id"]]: (r["urgency"], r["due_in_days"]) for r in rows}
    assert stand["escalated"][0] == "overdue" and stand["escalated"][1] < 0
    assert stand["late"][0] == "overdue" and stand["late"][1] < 0
    soon_in = (date.fromisoformat(deadlines["soon"]) - TODAY).days
    assert stand["soon"] == ("due_soon", soon_in) and 0 <= soon_in <= 7
    assert stand["later"][0] is None and stand["later"][1] > 7
    assert stand["new"] == stand["filed"] == stand["replied"] == (None, None)

    # paged by 2 (its own cursors): the same order, each once, the total on every page
    seen, cursor = [], None
    while True:
        page = read(runner, order="urgent", today=TODAY,
                    page=PageRequest.parse("worklist_urgent", 2, cursor))
        assert page["total"] == 7
        seen += [names[r["proposal_id"]] for r in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == [names[r["proposal_id"]] for r in rows]
    # filters and search narrow it and keep the order
    open_rows = read(runner, order="urgent", today=TODAY, status=domain.ASSIGNED,
                     page=PageRequest.parse("worklist_urgent", 10, q="关于"))
    assert [names[r["proposal_id"]] for r in open_rows["items"]] == ["escalated", "late", "soon", "later"]

    # the default order stays latest activity first, and says the same of each row
    latest = read(runner, today=TODAY)
    assert [r["position"] for r in latest] == sorted((r["position"] for r in latest), reverse=True)
    assert {names[r["proposal_id"]]: (r["urgency"], r["due_in_days"]) for r in latest} == stand
    # without today, the rows are as they were (internal callers)
    assert "urgency" not in read(runner)[0]


def test_a_cursor_of_one_order_is_refused_by_the_other(backend):
    desk, runner = backend
    cases(desk)
    urgent = read(runner, order="urgent", today=TODAY, page=PageRequest.parse("worklist_urgent", 2))
    latest = read(runner, today=TODAY, page=PageRequest.parse("worklist", 2))
    with pytest.raises(InvalidCommand) as refused:
        PageRequest.parse("worklist", 2, urgent["next_cursor"])
    assert list(refused.value.fields) == ["cursor"]
    with pytest.raises(InvalidCommand):
        PageRequest.parse("worklist_urgent", 2, latest["next_cursor"])
    with pytest.raises(ValueError):
        read(runner, order="urgent")                     # no today: no urgency to sort by
    with pytest.raises(ValueError):
        read(runner, order="oldest", today=TODAY)


def test_due_soon_is_the_rules_reminder_window():
    timing = domain.Timing(today=TODAY)                  # reminders 7 and 1 days before
    soon = _due_soon(timing)
    assert soon(TODAY + timedelta(days=7)) and soon(TODAY + timedelta(days=1))
    assert not soon(TODAY + timedelta(days=8))
    wider = _due_soon(domain.Timing(today=TODAY, rules=DeadlineRules(reminder_days=(14, 3))))
    assert wider(TODAY + timedelta(days=14)) and not wider(TODAY + timedelta(days=15))
    never = _due_soon(domain.Timing(today=TODAY, rules=DeadlineRules(reminder_days=())))
    assert not never(TODAY + timedelta(days=1))
