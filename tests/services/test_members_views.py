"""The members read models, fed by the real domain decisions through a MemoryEventStore and a
ProjectionRunner on SQLite (and once on PostgreSQL): coverage of the 鹿城 shape, the directory,
the ranking, and rebuilds that equal the live model row for row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from services.members import domain as d
from services.members import roster as r
from services.members import views as v
from services.members.domain import commands as c
from tests.conftest import DEPLOYMENT, PG_URL
from tests.fixtures.members import lucheng
from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.domain import InvalidCommand
from xieshang.kernel.envelope import Actor, NewEvent
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.store.sql import postgres_engine, sqlite_engine
from xieshang.kernel.views import PageRequest

STAFF = Actor("staff-001", "staff", "committee-office")
COMMITTEE = DEPLOYMENT.committee
TODAY = date(2024, 3, 1)
ORG_COMMANDS = {"register_organisation": c.RegisterOrganisation, "define_station": c.DefineStation,
                "set_station_communities": c.SetStationCommunities,
                "rename_organisation": c.RenameOrganisation, "close_organisation": c.CloseOrganisation}


@dataclass
class Office:
    """Does what the service does: fold a stream, let the domain decide, append at the version
    folded from."""

    store: MemoryEventStore

    def read(self, stream: str) -> list:
        return [d.registry.decode(e) for e in self.store.read_stream(stream)]

    def append(self, stream: str, events: list, at: datetime | None = None) -> None:
        if events:
            self.store.append(stream, self.store.stream_version(stream), [
                NewEvent(type=e.type_name(), data=e.to_data(), actor=STAFF,
                         occurred_at=at or datetime(2024, 3, 1, 10, tzinfo=SHANGHAI)) for e in events])

    def index(self) -> d.OrgIndex:
        streams = {e.stream for e in self.store.read_all() if e.stream.startswith("org-")}
        return d.OrgIndex.of(d.fold_organisation(s[4:], self.read(s)) for s in streams)

    def org(self, command: str, **args) -> None:
        parsed = ORG_COMMANDS[command].parse(**args)
        org_id = args.get("org_id") or args["station_id"]
        state = d.fold_organisation(org_id, self.read(d.org_stream(org_id)))
        if command == "close_organisation":
            events = d.close_organisation(STAFF, state, parsed)
        else:
            events = getattr(d, command)(STAFF, state, parsed, self.index())
        self.append(d.org_stream(org_id), events)

    def member(self, member_id: str) -> d.Member:
        return d.fold_member(member_id, self.read(d.member_stream(member_id)))

    def do(self, member_id: str, decide) -> None:
        self.append(d.member_stream(member_id), decide(self.member(member_id)))

    def rules(self, year: int) -> d.PointRules:
        return d.fold_point_rules(COMMITTEE, year, self.read(d.rules_stream(COMMITTEE, year)))

    def ledger(self, member_id: str) -> d.Ledger:
        return d.fold_ledger(member_id, self.read(d.ledger_stream(member_id)))

    def credit(self, member_id: str, activity: str, event_id: str, year: int = 2024) -> None:
        credit = d.Credit(member_id, activity, "proposals", event_id, f"proposal-{event_id}", year, event_id)
        self.append(d.ledger_stream(member_id), d.award(self.ledger(member_id), [credit], self.rules(year)))

    def set_rules(self, year: int, points: dict, caps: dict | None = None) -> None:
        self.append(d.rules_stream(COMMITTEE, year), d.set_point_rules(
            STAFF, self.rules(year), c.SetPointRules(year=year, points=points, caps=caps)))
        for stream in sorted({e.stream for e in self.store.read_all() if e.stream.startswith("ledger-")}):
            member_id = stream[len("ledger-"):]
            self.append(stream, d.recompute_year(self.ledger(member_id), self.rules(year)))


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore(DEPLOYMENT)


@pytest.fixture
def office(store) -> Office:
    return Office(store)


@pytest.fixture
def runner(store, tmp_path):
    engine = sqlite_engine(str(tmp_path / "views.sqlite"))
    runner = ProjectionRunner(store, engine, v.PROJECTIONS(), batch=50)
    runner.setup()
    yield runner
    engine.dispose()


def proj(runner, cls):
    return next(p for p in runner.projections if isinstance(p, cls))


def lucheng_committee(office: Office) -> None:
    for command, args in lucheng.tree_commands():
        office.org(command, **args)
    parsed = r.read_roster("鹿城区政协委员名册.xlsx", lucheng.to_xlsx(lucheng.roster_rows()))
    for plan in r.plan_import(STAFF, parsed, {}, office.index(), ["county"]):
        office.append(d.member_stream(plan.row.member_id), plan.events)


def coverage(runner, **kw) -> dict:
    runner.catch_up()
    with runner.engine.connect() as conn:
        return v.coverage(conn, proj(runner, v.Organisations), proj(runner, v.MemberDirectory), **kw)


def listed(runner, **kw) -> list[dict]:
    runner.catch_up()
    with runner.engine.connect() as conn:
        return v.list_members(conn, proj(runner, v.MemberDirectory), proj(runner, v.DutyLedger),
                              proj(runner, v.Organisations), **kw)


def ranking(runner, year: int, **kw) -> list[dict]:
    runner.catch_up()
    with runner.engine.connect() as conn:
        return v.ranking(conn, proj(runner, v.DutyLedger), proj(runner, v.MemberDirectory),
                         proj(runner, v.Organisations), year, **kw)


def test_lucheng_305_members_in_14_streets_cover_every_community(office, runner):
    lucheng_committee(office)
    seen = coverage(runner)
    assert (seen["total"], seen["covered"], seen["uncovered"]) == (152, 152, [])
    assert sum(len(c["members"]) for c in seen["communities"]) == 305
    assert {len(c["members"]) for c in seen["communities"]} == {2, 3}
    first = next(c for c in seen["communities"] if c["community_id"] == "lc-wuma-01")
    assert (first["township"], first["stations"]) == ("五马街道", ["st-wuma"])
    assert [m["member_id"] for m in first["members"]] == ["LC-001", "LC-153", "LC-305"]
    per_street = {}
    for c in seen["communities"]:
        per_street[c["township"]] = per_street.get(c["township"], 0) + len(c["members"])
    assert len(per_street) == 14 and sum(per_street.values()) == 305
    assert coverage(runner, township="藤桥镇")["total"] == 18

    members = listed(runner)
    assert len(members) == 305 and {m["status"] for m in members} == {"active"}
    lc1 = next(m for m in members if m["member_id"] == "LC-001")
    assert (lc1["sector_name"], lc1["station_name"], lc1["roles"]) == ("中共", "五马街道委员工作站",
                                                                       ["standing_committee"])
    assert len(listed(runner, sector="经济界")) == len([m for m in lucheng.members() if m.sector == "经济界"])
    assert len(listed(runner, station="st-tengqiao")) == sum(1 for m in lucheng.members()
                                                             if m.community.street_id == "tengqiao")
    with runner.engine.connect() as conn:
        stations = v.organisations(conn, proj(runner, v.Organisations), kind="station")
    assert len(stations) == 14 and all(s["communities"] for s in stations)
    # no contact detail reaches a read model
    dumped = repr(dump(runner))
    assert not any(m.phone in dumped or m.email in dumped or m.address in dumped for m in lucheng.members())


def test_a_community_is_flagged_when_its_members_leave_or_its_station_closes(office, runner):
    lucheng_committee(office)
    for member_id in ("LC-003", "LC-155"):   # the two members of lc-wuma-03
        office.do(member_id, lambda s: d.resign_member(
            STAFF, s, c.ResignMember(s.member_id, reason="工作调动", resigned_on="2024-06-01"), TODAY))
    assert coverage(runner)["uncovered"] == ["lc-wuma-03"]
    flagged = next(c for c in coverage(runner)["communities"] if c["community_id"] == "lc-wuma-03")
    assert flagged["covered"] is False and flagged["members"] == []

    office.do("LC-001", lambda s: d.assign_to_station(STAFF, s, c.AssignToStation(
        s.member_id, station="五马街道委员工作站", communities=("lc-wuma-01", "五马南塘社区")), office.index()))
    assert coverage(runner)["uncovered"] == []

    office.org("close_organisation", org_id="st-fengmen", reason="并入仰义街道委员工作站")
    fengmen = [c.community_id for c in lucheng.communities() if c.street_id == "fengmen"]
    assert sorted(coverage(runner)["uncovered"]) == fengmen
    with pytest.raises(InvalidCommand) as err:   # a street's station covers that street's communities only
        office.org("set_station_communities", station_id="st-yangyi", communities=fengmen)
    assert "lies in fengmen, not in yangyi" in err.value.fields["communities"]

    office.org("define_station", station_id="lp-fengmen-01", name="丰门东门社区委员联系点",
               station_type="liaison_point", level="community", location="lc-fengmen-01")
    office.do("LC-010", lambda s: d.assign_to_station(STAFF, s, c.AssignToStation(s.member_id, "lp-fengmen-01"),
                                                      office.index()))
    assert sorted(coverage(runner)["uncovered"]) == fengmen[1:]
    office.org("rename_organisation", org_id="lc-fengmen-02", name="丰门新村社区")
    assert next(c for c in coverage(runner)["communities"]
                if c["community_id"] == "lc-fengmen-02")["name"] == "丰门新村社区"


def year_of_points(office: Office) -> None:
    """A few members' 2024 and 2023 credits, a rule change with a cap, and an assessment."""
    lucheng_committee(office)
    for n in range(6):
        office.credit("LC-001", "meeting_attended", f"meet-{n}")
    office.credit("LC-001", "proposal_filed", "f-1")
    office.credit("LC-002", "proposal_filed", "f-2")
    office.credit("LC-002", "proposal_submitted", "s-2")
    office.credit("LC-003", "plenary_speech", "sp-3")
    office.credit("LC-003", "proposal_filed", "f-3", year=2023)
    office.credit("m-unappointed", "reply_rated", "r-9")   # credits may come before the appointment
    member = office.member("LC-002")
    office.append(d.ledger_stream("LC-002"), d.conclude_assessment(
        STAFF, office.ledger("LC-002"), c.ConcludeAssessment("LC-002", 2024, "commended"), member,
        office.rules(2024)))
    office.set_rules(2024, {"meeting_attended": 2, "proposal_filed": 3, "plenary_speech": 6,
                            "proposal_submitted": 1}, caps={"meeting_attended": 8})
    menus_of_2024(office)


def menus_of_2024(office: Office) -> None:
    """Two duty menus, one for every member and one for the 中共 sector's; LC-001 signs up for
    both items of the sector's (one of them twice)."""
    items = [{"item_id": "i1", "title": "助企纾困调研", "form": "research"},
             {"item_id": "i2", "title": "托育服务协商", "form": "consultation"}]
    office.append(d.menu_stream("menu-all"), [d.DutyMenuPublished(
        menu_id="menu-all", year=2024, title="全体委员履职菜单", items=items)])
    office.append(d.menu_stream("menu-cpc"), [
        d.DutyMenuPublished(menu_id="menu-cpc", year=2024, title="中共界别履职菜单", items=items, sector="s-cpc"),
        d.MenuSignedUp(menu_id="menu-cpc", member_id="LC-001", item_ids=["i2", "i1"], year=2024),
        d.MenuSignedUp(menu_id="menu-cpc", member_id="LC-001", item_ids=["i1"], year=2024)])


def test_the_years_menus_open_to_a_sector_with_what_a_member_holds(office, runner):
    year_of_points(office)
    runner.catch_up()
    with runner.engine.connect() as conn:
        def menus(year: int = 2024, **kw):
            return v.menus(conn, proj(runner, v.DutyMenus), proj(runner, v.Organisations), year, **kw)
        held = menus(member_id="LC-001")
        assert [(m["menu_id"], m["mine"], m["signed_up"], m["sector_name"]) for m in held] == [
            ("menu-cpc", ["i1", "i2"], 1, "中共"), ("menu-all", [], 0, None)]
        assert [m["menu_id"] for m in menus(sector="民建")] == ["menu-all"]
        assert [m["menu_id"] for m in menus(sector="s-cpc")] == ["menu-cpc", "menu-all"]
        assert "mine" not in menus()[0] and menus(2023) == []
        first = menus(page=PageRequest("list_menus", 1))
        rest = menus(page=PageRequest.parse("list_menus", 500, first["next_cursor"]))
        assert [m["menu_id"] for m in first["items"] + rest["items"]] == ["menu-cpc", "menu-all"]
        assert first["total"] == 2 and rest["next_cursor"] is None
        assert [m["title"] for m in menus(page=PageRequest.parse("list_menus", 100, None, "中共"))["items"]] == [
            "中共界别履职菜单"]


def test_ranking_follows_credits_rule_changes_and_caps(office, runner):
    year_of_points(office)
    top = ranking(runner, 2024)
    assert [(x["member_id"], x["points"], x["rank"]) for x in top[:3]] == [
        ("LC-001", 11, 1), ("LC-003", 6, 2), ("LC-002", 4, 3)]   # 6 meetings x 2 capped at 8, + 3
    assert top[3]["points"] == 0 and top[3]["rank"] == 4 and top[-1]["rank"] == 4   # the rest share rank 4
    assert next(x for x in top if x["member_id"] == "LC-002")["assessment"] == "commended"
    assert ranking(runner, 2023, page=PageRequest("ranking", 1))["items"][0]["member_id"] == "LC-003"
    first = ranking(runner, 2024, sector="中共", page=PageRequest("ranking", 2))
    assert [x["member_id"] for x in first["items"]] == ["LC-001", "LC-013"]
    rest = ranking(runner, 2024, sector="中共", page=PageRequest.parse("ranking", 500, first["next_cursor"]))
    assert first["total"] == rest["total"] == len(first["items"]) + len(rest["items"])
    assert rest["next_cursor"] is None
    # q finds people and leaves their ranks as they are; it does not search the assessment
    [found] = ranking(runner, 2024, page=PageRequest("ranking", 10, q="lc-002"))["items"]
    assert (found["member_id"], found["rank"]) == ("LC-002", 3)
    assert ranking(runner, 2024, page=PageRequest("ranking", 10, q="commended"))["total"] == 0
    # the view's totals are the ledger's, folded from the stream
    for member_id in ("LC-001", "LC-002", "LC-003"):
        rules = office.rules(2024)
        assert next(x for x in top if x["member_id"] == member_id)["points"] == \
            office.ledger(member_id).year_total(2024, rules.caps)
    assert next(m for m in listed(runner) if m["member_id"] == "LC-003")["points"] == 6 + 5
    with runner.engine.connect() as conn:
        assessed = conn.execute(sa.select(proj(runner, v.DutyLedger).assessments)).mappings().one()
    assert (assessed["points"], assessed["rules_version"]) == (5, 0)   # as concluded, before the change


def dump(runner) -> dict[str, list[tuple]]:
    out = {}
    with runner.engine.connect() as conn:
        for p in runner.projections:
            for t in p.tables():
                out[t.name] = sorted(tuple(str(x) for x in row) for row in conn.execute(sa.select(t)))
    return out


def test_rebuild_equals_the_live_model_row_for_row(office, runner, store, tmp_path):
    year_of_points(office)
    office.do("LC-004", lambda s: d.end_term(STAFF, s, c.EndTerm(s.member_id, "2024-12-31"), TODAY))
    runner.catch_up()
    live = dump(runner)
    assert all(live.values()), [name for name, rows in live.items() if not rows]
    runner.rebuild()
    assert dump(runner) == live
    engine = sqlite_engine(str(tmp_path / "batched.sqlite"))
    batched = ProjectionRunner(store, engine, v.PROJECTIONS(), batch=3)
    batched.setup()
    batched.catch_up()
    assert dump(batched) == live
    engine.dispose()


@pytest.mark.postgres
def test_rebuild_equals_the_live_model_on_postgres(store, pg_schema):
    engine = postgres_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{pg_schema}"'))
    try:
        runner = ProjectionRunner(store, engine, v.PROJECTIONS(), schema=pg_schema, batch=40)
        runner.setup()
        year_of_points(Office(store))
        runner.catch_up()
        live = dump(runner)
        assert coverage(runner)["covered"] == 152
        assert ranking(runner, 2024)[0]["points"] == 11
        runner.rebuild()
        assert dump(runner) == live
    finally:
        engine.dispose()
