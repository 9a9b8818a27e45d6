"""The proposals read models written through the runner's fast keyed writes (``conn.insert``,
``conn.update`` …): the rows hold what SQLAlchemy Core would have stored, and the writes that
used to be conditional SQL keep their conditions."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from services.proposals import domain
from services.proposals import views as v
from tests.conftest import DEPLOYMENT
from tests.services.test_proposals_domain import do as run
from tests.services.test_proposals_views import (  # noqa: F401 - desk, runner, store: fixtures
    STAFF, Desk, desk, domain_system, member, proj, query, runner, store, year_scenario)
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore

from ..support.views import assert_stored_as_core_stores

# This file's projections (the directory has its own tests).
PROPOSAL_VIEWS = (v.Worklist, v.UnitInbox, v.ProposerCases, v.PublicCases, v.Statistics)


def test_rows_are_stored_as_sqlalchemy_core_stores_them(views_engine):
    engine, schema = views_engine
    store = MemoryEventStore(DEPLOYMENT)
    runner = ProjectionRunner(store, engine, v.PROJECTIONS(), schema=schema, batch=5)
    runner.setup()
    desk = year_scenario(Desk(store))
    # A write that holds only for the current round.
    desk.do(domain_system(), "P8", lambda s: [domain.ReplyDeadlineMoved(
        proposal_id=s.proposal_id, round=1, previous=s.round.deadline, deadline="2025-03-31")])
    # JSON lists of more than one item (their text has separators).
    desk.submit(member(7), "P9", session="2025")
    desk.file("P9")
    desk.assign("P9", "mzj", ("wjw", "jyj"))
    desk.do(STAFF, "P9", lambda s: run(domain.designate_key_proposal, STAFF, s,
                                       supervisors=["leader-1", "leader-2"], mode="chairs_meeting"))
    runner.catch_up()

    assert_stored_as_core_stores(engine, schema, [t for p in runner.projections
                                                  if isinstance(p, PROPOSAL_VIEWS) for t in p.tables()])


def test_a_late_event_of_an_earlier_round_leaves_the_current_round_alone(desk, runner):
    desk.submit(member(1), "P")
    desk.file("P")
    desk.assign("P", "mzj", ("wjw",))
    first = desk.state("P").round.deadline
    desk.reply("P", "mzj", "C")
    desk.rate("P", member(1), "unsatisfied", "unsatisfied")   # every proposer rated: round 2
    state = desk.state("P")
    assert state.round.number == 2
    current = state.round.deadline

    late = (date.fromisoformat(first) + timedelta(days=1)).isoformat()
    desk.do(domain_system(), "P", lambda s: [
        domain.ReplyOverdue(proposal_id=s.proposal_id, case_number=s.case_number, round=1,
                            unit="mzj", deadline=first, days_overdue=1),
        domain.ReplyDeadlineMoved(proposal_id=s.proposal_id, round=1, previous=first, deadline=late)])
    [row] = query(runner, v.worklist, v.Worklist)
    assert (row["round"], row["deadline"], row["overdue"]) == (2, current, False)
    assert row["position"] == runner.store.head()   # the events still count as the case's activity

    desk.do(domain_system(), "P", lambda s: [domain.ReplyOverdue(
        proposal_id=s.proposal_id, case_number=s.case_number, round=2, unit="mzj",
        deadline=current, days_overdue=1)])
    [row] = query(runner, v.worklist, v.Worklist)
    assert (row["deadline"], row["overdue"]) == (current, True)
    moved = (date.fromisoformat(current) + timedelta(days=7)).isoformat()
    desk.do(domain_system(), "P", lambda s: [domain.ReplyDeadlineMoved(
        proposal_id=s.proposal_id, round=2, previous=current, deadline=moved)])
    [row] = query(runner, v.worklist, v.Worklist)
    assert (row["deadline"], row["overdue"]) == (moved, False)

    # The units' inbox keeps each round's own flags.
    inbox = proj(runner, v.UnitInbox).rows
    with runner.engine.connect() as conn:
        flags = conn.execute(sa.select(inbox.c.round, inbox.c.unit, inbox.c.deadline, inbox.c.escalated)
                             .order_by(inbox.c.round, inbox.c.unit)).all()
    assert [tuple(f) for f in flags] == [(1, "mzj", late, False), (1, "wjw", late, False),
                                         (2, "mzj", moved, False), (2, "wjw", moved, False)]


def test_filing_with_no_confirmed_co_signer_drops_them_all(desk, runner):
    desk.submit(member(1), "P", co_signers=("m2", "m3"))
    desk.do(member(3), "P", lambda s: run(domain.confirm_co_signature, member(3), s, today=desk.today))
    desk.submit(member(4), "Q", co_signers=("m5",))
    pid, qid = desk.pid("P"), desk.pid("Q")
    # Filed as if nobody had confirmed: the event's list is what counts.
    for name, proposer in (("P", "m1"), ("Q", "m4")):
        desk.do(STAFF, name, lambda s, proposer=proposer: [domain.ProposalFiled(
            proposal_id=s.proposal_id, case_number=f"2024-{name}", proposer=proposer, title=s.title,
            category=s.category, co_signers=[], session=s.session, kind=s.kind)])
    members = proj(runner, v.ProposerCases).members
    runner.catch_up()
    with runner.engine.connect() as conn:
        left = conn.execute(sa.select(members.c.proposal_id, members.c.member_id, members.c.relation)
                            .order_by(members.c.proposal_id, members.c.member_id)).all()
    assert sorted(tuple(r) for r in left) == sorted([(pid, "m1", "proposer"), (qid, "m4", "proposer")])

