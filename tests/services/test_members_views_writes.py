"""The members read models written through the runner's fast keyed writes (``conn.insert``,
``conn.update`` …), on SQLite and PostgreSQL: the duty-points ledger keeps one entry per credit
key (the first, as the ledger's fold does) with totals equal to the fold's, the rows hold what
SQLAlchemy Core would have stored, and a rebuild gives the live rows value for value, types
included."""

from __future__ import annotations

import sqlalchemy as sa

from services.members import domain as d
from services.members import views as v
from tests.conftest import DEPLOYMENT
from tests.services.test_members_views import Office, lucheng_committee
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore

from ..support.views import assert_stored_as_core_stores

RULES_2024 = {"meeting_attended": 2, "proposal_filed": 3, "plenary_speech": 6}


def redelivered(office: Office, member_id: str, key: str, year: int, points: int) -> None:
    """A credit of a key the ledger has already, as a second instance racing the first could
    record it: the read model must keep the first."""
    office.append(d.ledger_stream(member_id), [d.DutyPointsAwarded(
        member_id=member_id, activity="proposal_filed", points=points, source_service="proposals",
        source_event_id=f"again-{key}", source_stream="proposal-again", year=year, credit_key=key)])


def a_year_of_credits(office: Office) -> None:
    """Credits of 2023 and 2024 (after the committee is recorded), two rules changes with caps,
    redelivered credits, an assessment concluded twice, a member appointed again and a menu
    signed up for (one item twice)."""
    for n in range(5):
        office.credit("LC-001", "meeting_attended", f"meet-{n}")
    office.credit("LC-001", "proposal_filed", "f-1", year=2023)
    office.credit("LC-002", "plenary_speech", "sp-2")
    office.credit("m-unappointed", "proposal_filed", "f-9")   # credited before the appointment
    redelivered(office, "LC-001", "meet-0", 2024, 40)        # the same key, the same year
    redelivered(office, "LC-001", "f-1", 2025, 40)           # the same key, a year with no entry
    office.set_rules(2024, RULES_2024, caps={"meeting_attended": 6})
    office.credit("LC-001", "meeting_attended", "meet-late")   # after the rules changed
    office.set_rules(2024, RULES_2024, caps={"meeting_attended": 7, "plenary_speech": 1})
    for outcome in ("commended", "failed"):   # concluded once: the second is ignored
        office.append(d.ledger_stream("LC-002"), [d.AnnualAssessmentConcluded(
            member_id="LC-002", year=2024, outcome=outcome, points=6, rules_version=1)])
    first = next(e for e in office.store.read_stream(d.member_stream("LC-003"))
                 if e.type == "MemberAppointed")
    office.append(d.member_stream("LC-003"), [d.MemberAppointed(**{
        **first.data, "name": "再任委员", "roles": ["常委"], "cpc_member": True, "station": None,
        "communities": []})])   # appointed again: the row takes the new appointment
    office.append(d.menu_stream("menu-2024"), [
        d.DutyMenuPublished(menu_id="menu-2024", year=2024, title="履职菜单", sector="s-cpc", items=[
            {"item_id": "i1", "title": "调研", "form": "research"},
            {"item_id": "i2", "title": "协商", "form": "consultation"}]),
        d.MenuSignedUp(menu_id="menu-2024", member_id="LC-001", item_ids=["i1", "i2"], year=2024),
        d.MenuSignedUp(menu_id="menu-2024", member_id="LC-001", item_ids=["i1"], year=2024)])  # again


def runner_on(store, views_engine, batch: int = 1000) -> ProjectionRunner:
    engine, schema = views_engine
    runner = ProjectionRunner(store, engine, v.PROJECTIONS(), schema=schema, batch=batch)
    runner.setup()
    return runner


def ledger_of(runner: ProjectionRunner) -> v.DutyLedger:
    return next(p for p in runner.projections if isinstance(p, v.DutyLedger))


def rows(runner: ProjectionRunner) -> dict[str, list[tuple]]:
    """Every table's rows, each value with its Python type (True is not 1, "1" is not 1)."""
    out = {}
    with runner.engine.connect() as conn:
        for p in runner.projections:
            for table in p.tables():
                out[table.name] = sorted(tuple((type(x).__name__, repr(x)) for x in row)
                                         for row in conn.execute(sa.select(table)))
    return out


def test_the_ledger_holds_each_credit_once_and_the_totals_of_its_fold(views_engine):
    store = MemoryEventStore(DEPLOYMENT)
    office = Office(store)
    lucheng_committee(office)
    a_year_of_credits(office)
    runner = runner_on(store, views_engine, batch=4)
    runner.catch_up()
    ledger = ledger_of(runner)
    with runner.engine.connect() as conn:
        entries = {(r.member_id, r.credit_key): (r.year, r.activity, r.points, r.rules_version,
                                                 r.source_event_id)
                   for r in conn.execute(sa.select(ledger.entries))}
        totals = {(r.member_id, r.year): (r.total, r.entries)
                  for r in conn.execute(sa.select(ledger.totals))}
        [assessment] = conn.execute(sa.select(ledger.assessments)).mappings().all()
        directory = next(p for p in runner.projections if isinstance(p, v.MemberDirectory)).rows
        again = conn.execute(sa.select(directory).where(directory.c.member_id == "LC-003")).mappings().one()

    folded = {m: office.ledger(m) for m in ("LC-001", "LC-002", "m-unappointed")}
    assert entries == {(m, e.credit_key): (e.year, e.activity, e.points, e.rules_version, e.source_event_id)
                       for m, fold in folded.items() for e in fold.entries}
    assert entries[("LC-001", "meet-0")][4] == "meet-0" and entries[("LC-001", "f-1")][0] == 2023
    assert totals == {(m, year): (fold.year_total(year, office.rules(year).caps),
                                  len(fold.year_entries(year)))
                      for m, fold in folded.items() for year in fold.years()}
    assert totals[("LC-001", 2024)] == (7, 6)   # six meetings at 2 points, capped at 7
    assert ("LC-001", 2025) not in totals       # the redelivered credit's year stays empty
    assert (assessment["member_id"], assessment["outcome"]) == ("LC-002", "commended")
    assert (again["name"], again["roles"], again["cpc_member"], again["station"]) == (
        "再任委员", ["常委"], True, None)


def test_rows_are_stored_as_sqlalchemy_core_stores_them(views_engine):
    store = MemoryEventStore(DEPLOYMENT)
    office = Office(store)
    lucheng_committee(office)
    a_year_of_credits(office)
    runner = runner_on(store, views_engine)
    runner.catch_up()
    engine, schema = views_engine
    assert_stored_as_core_stores(engine, schema, [t for p in runner.projections for t in p.tables()])


def test_a_rebuild_and_a_catch_up_in_pages_of_one_give_the_live_rows(views_engine):
    store = MemoryEventStore(DEPLOYMENT)
    office = Office(store)
    lucheng_committee(office)
    runner = runner_on(store, views_engine, batch=50)
    runner.catch_up()   # live: the committee first, then the year as it comes
    a_year_of_credits(office)
    runner.catch_up()
    live = rows(runner)
    assert all(live.values()), [name for name, found in live.items() if not found]
    runner.rebuild()
    assert rows(runner) == live
    one_by_one = ProjectionRunner(store, runner.engine, v.PROJECTIONS(), schema=runner.schema, batch=1)
    one_by_one.rebuild()
    assert rows(one_by_one) == live

