"""The proposals read models, fed by the real domain decisions through a MemoryEventStore and a
ProjectionRunner on SQLite (and once on PostgreSQL): rows, queries, who sees what, rebuilds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Callable

import pytest
import sqlalchemy as sa

from services.proposals import domain
from services.proposals import views as v
from services.proposals.domain import commands
from services.proposals.directory import Directory, names_of
from services.proposals.domain.directory import DirectoryEntry
from services.proposals.domain.events import DirectoryEntryNoted
from tests.services.test_proposals_domain import do as run
from tests.conftest import DEPLOYMENT, PG_URL
from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.domain import DomainEvent
from xieshang.kernel.envelope import Actor, NewEvent
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.store.sql import postgres_engine, sqlite_engine
from xieshang.kernel.views import PageRequest

STAFF = Actor("staff-001", "staff", "proposal-committee")
PUBLIC = Actor("web-user-77", "public", "public")
RATING_WORDS = ("satisfied", "unsatisfied")


def member(n: int) -> Actor:
    return Actor(f"m{n}", "member", "经济界")


def unit(org: str) -> Actor:
    return Actor(f"u-{org}-1", "unit", org)


TEXT = dict(reasons="老旧小区充电桩少，私拉电线隐患大。", suggestions="统筹规划，分步建设公共充电设施。")


@dataclass
class Desk:
    """Does what the service does: fold the stream, let the domain decide, append the events
    with the version folded from. ``today`` drives the decisions; events occur at ``at`` (by
    default 10:00 Beijing time on ``today``)."""

    store: MemoryEventStore
    today: date = date(2024, 3, 1)
    at: datetime | None = None
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def timing(self) -> domain.Timing:
        return domain.Timing(today=self.today)

    def day(self, d: str) -> "Desk":
        self.today, self.at = date.fromisoformat(d), None
        return self

    def when(self) -> datetime:
        return self.at or datetime.combine(self.today, time(10), SHANGHAI)

    def pid(self, name: str) -> str:
        return self.ids.setdefault(name, f"{name}-{uuid.uuid4().hex[:8]}")

    def state(self, name: str) -> domain.Proposal:
        envs = self.store.read_stream(domain.proposal_stream(self.pid(name)))
        return domain.fold(self.pid(name), [domain.registry.decode(e) for e in envs])

    def append(self, stream: str, actor: Actor, events: list[DomainEvent]) -> None:
        if events:
            self.store.append(stream, self.store.stream_version(stream), [
                NewEvent(type=e.type_name(), data=e.to_data(), actor=actor, occurred_at=self.when())
                for e in events])

    def do(self, actor: Actor, name: str,
           decide: Callable[[domain.Proposal], list[DomainEvent]]) -> list[DomainEvent]:
        events = decide(self.state(name))
        self.append(domain.proposal_stream(self.pid(name)), actor, events)
        return events

    # -- the lifecycle, one call per command -----------------------------------------------
    def submit(self, who: Actor, name: str, *, category: str = "economy", session: str = "2024",
               co_signers: tuple[str, ...] = (), consent: bool = False, title: str | None = None):
        events = domain.submit_proposal(who, None, self.pid(name), commands.SubmitProposal(
            title=title or f"关于{name}的提案", category=category, session=session,
            co_signers=co_signers, publish_consent=consent, **TEXT), today=self.today)
        self.append(domain.proposal_stream(self.pid(name)), who, events)

    def file(self, name: str) -> str:
        state = self.state(name)
        stream = domain.case_numbers_stream(state.session)
        taken = domain.fold_case_numbers(state.session, [domain.registry.decode(e)
                                                         for e in self.store.read_stream(stream)])
        events = domain.assign_case_number(taken, state.proposal_id)
        self.append(stream, STAFF, events)
        number = events[0].case_number
        self.do(STAFF, name, lambda s: run(domain.file_proposal, STAFF, s, case_number=number,
                                           today=self.today))
        return number

    def assign(self, name: str, lead: str, co: tuple[str, ...] = ()) -> None:
        self.do(STAFF, name, lambda s: run(domain.assign_proposal, STAFF, s, lead_unit=lead, co_units=co,
                                           timing=self.timing))

    def reassign(self, name: str, lead: str, co: tuple[str, ...] = ()) -> None:
        self.do(STAFF, name, lambda s: run(domain.reassign_proposal, STAFF, s, lead_unit=lead,
                                           co_units=co, timing=self.timing))

    def object(self, name: str, org: str) -> None:
        self.do(unit(org), name, lambda s: run(domain.object_to_assignment, unit(org), s,
                                               reason="不属于本单位职责", timing=self.timing))

    def reply(self, name: str, org: str, reply_class: str, text: str = "已研究办理，答复如下。") -> None:
        self.do(unit(org), name, lambda s: run(domain.reply_to_proposal, unit(org), s,
                                               reply_class=reply_class, reply=text, today=self.today))

    def rate(self, name: str, who: Actor, reply_rating: str, attitude_rating: str) -> None:
        self.do(who, name, lambda s: run(domain.rate_reply, who, s, reply_rating=reply_rating,
                                         attitude_rating=attitude_rating, timing=self.timing))
        # The system's reaction: a new round once every proposer rated and one is unsatisfied.
        self.do(domain_system(), name, lambda s: domain.start_rehandling(s, self.timing))

    def close(self, name: str) -> None:
        self.do(STAFF, name, lambda s: run(domain.close_proposal, STAFF, s))

    def timer(self, name: str) -> list[DomainEvent]:
        return self.do(domain_system(), name, lambda s: domain.remind_or_escalate(s, self.timing))

    def publish(self, name: str, names: list[str]) -> None:
        """Publish under ``names``: the directory's names of the people the case shows."""
        def decide(s: domain.Proposal) -> list[DomainEvent]:
            known = {p: DirectoryEntry(p, "member", n, True) for p, n in zip(s.published_people, names)}
            return domain.publish_proposal(STAFF, s, commands.PublishProposal(proposal_id=s.proposal_id),
                                           directory=known)
        self.do(STAFF, name, decide)

    def comment(self, name: str, comment_id: str, text: str, *, approve: bool | None = True) -> None:
        self.do(PUBLIC, name, lambda s: run(domain.submit_comment, PUBLIC, s, comment_id=comment_id,
                                            display_name="热心市民", text=text))
        if approve is not None:
            self.do(STAFF, name, lambda s: run(
                domain.moderate_comment, STAFF, s, comment_id=comment_id, approve=approve,
                reason=None if approve else "与提案无关"))

    def merge(self, name: str, into: str) -> None:
        [merged] = self.do(STAFF, name, lambda s: run(domain.merge_proposal, STAFF, s,
                                                      survivor=self.state(into)))
        self.do(STAFF, into, lambda s: domain.add_merged_proposal(s, merged))


def domain_system() -> Actor:
    return Actor("timer", domain.SYSTEM, "system")


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore(DEPLOYMENT)


@pytest.fixture
def desk(store) -> Desk:
    return Desk(store)


@pytest.fixture
def runner(store, tmp_path):
    engine = sqlite_engine(str(tmp_path / "views.sqlite"))
    r = ProjectionRunner(store, engine, v.PROJECTIONS())
    r.setup()
    yield r
    engine.dispose()


def proj(runner: ProjectionRunner, cls: type) -> Any:
    return next(p for p in runner.projections if isinstance(p, cls))


def query(runner: ProjectionRunner, fn: Callable[..., Any], cls: type, *args: Any, **kw: Any) -> Any:
    runner.catch_up()
    with runner.engine.connect() as conn:
        return fn(conn, proj(runner, cls), *args, **kw)


def dump(runner: ProjectionRunner, *classes: type) -> dict[str, list[dict]]:
    """Every row of the projections' tables (all of them by default), in primary key order."""
    out = {}
    with runner.engine.connect() as conn:
        for p in runner.projections:
            if classes and not isinstance(p, classes):
                continue
            for t in p.tables():
                rows = conn.execute(sa.select(t).order_by(*t.primary_key.columns)).mappings()
                out[t.name] = [dict(r) for r in rows]
    return out


# -- the year scenario: every figure of `statistics` is counted by hand in the test below ------

def year_scenario(desk: Desk) -> Desk:
    """Seven proposals of 2024 and one of 2025 (see test_statistics_of_a_year for the figures)."""
    m1, m2, m3, m4, m5, m6 = (member(i) for i in range(1, 7))
    # The directory learns one unit's name (from the members service, in the service).
    desk.append("directory-mzj", domain_system(), [DirectoryEntryNoted(
        entry_id="mzj", source_type="OrganisationRegistered", source_event_id="ev-mzj-1",
        source_position=1, kind="handling_unit", name="市民政局", active=True)])
    # P1 is submitted at 06:00 on 1 January in Beijing: still 2023 in UTC, 2024 for the committee.
    desk.day("2024-01-01").at = datetime(2024, 1, 1, 6, 0, tzinfo=SHANGHAI)
    desk.submit(m1, "P1", category="economy", consent=True, title="关于发展夜间经济的提案")
    desk.day("2024-01-10")
    desk.submit(m2, "P2", category="society", co_signers=("m3",))
    desk.do(m3, "P2", lambda s: run(domain.confirm_co_signature, m3, s, today=desk.today))
    desk.submit(m4, "P3", category="culture")
    desk.submit(m5, "P4", category="economy")
    desk.submit(m6, "P5", category="ecology")
    desk.submit(m1, "P6", category="economy")
    desk.submit(m2, "P7", category="other")

    desk.day("2024-01-20")
    for name in ("P1", "P2", "P3", "P4"):
        desk.file(name)
    desk.do(STAFF, "P5", lambda s: run(domain.not_file_proposal, STAFF, s, reason="不属于政协职责范围"))
    desk.do(STAFF, "P7", lambda s: run(domain.return_proposal, STAFF, s, reason="建议内容过于笼统"))
    desk.publish("P1", ["张三"])
    desk.assign("P1", "mzj", ("wjw",))
    desk.assign("P2", "wjw")
    desk.assign("P3", "jyj")
    desk.assign("P4", "mzj")
    desk.merge("P6", into="P4")
    desk.do(STAFF, "P4", lambda s: run(domain.designate_key_proposal, STAFF, s,
                                       supervisors=["leader-1"], mode="chairs_meeting"))

    desk.day("2024-01-22")
    desk.object("P3", "jyj")
    desk.reassign("P3", "zjj", ("mzj",))

    desk.day("2024-03-01")
    desk.reply("P1", "mzj", "A", "已建成夜市街区三处。")
    desk.reply("P3", "zjj", "C", "受用地条件限制，暂不能解决。")
    desk.rate("P1", m1, "satisfied", "satisfied")
    desk.close("P1")
    desk.rate("P3", m4, "basically_satisfied", "unsatisfied")
    desk.comment("P1", "c1", "夜市很热闹，希望增加停车位。")
    desk.comment("P1", "c2", "广告广告广告", approve=False)
    desk.comment("P1", "c3", "还在审核中的评论", approve=None)
    desk.do(unit("mzj"), "P1", lambda s: run(domain.answer_comment, unit("mzj"), s, comment_id="c1",
                                             answer="已协调增设停车位200个。"))

    desk.day("2024-05-10")  # P2's deadline (2024-04-19) has passed
    assert [type(e).__name__ for e in desk.timer("P2")] == ["ReplyOverdue"]
    desk.day("2024-05-13")
    desk.reply("P2", "wjw", "B", "正在制定方案。")
    desk.rate("P2", m2, "unsatisfied", "basically_satisfied")
    desk.rate("P2", m3, "basically_satisfied", "satisfied")  # every proposer rated: round 2

    desk.day("2024-06-03")
    desk.reply("P2", "wjw", "A", "已解决。")
    desk.rate("P2", m2, "satisfied", "satisfied")
    desk.rate("P2", m3, "basically_satisfied", "basically_satisfied")
    desk.close("P2")
    desk.do(m4, "P3", lambda s: run(domain.set_publication_consent, m4, s, consent=True))
    desk.publish("P3", ["李四"])

    # P8 is submitted at 07:30 on 1 January 2025 in Beijing (still 2024 in UTC): a 2025 case.
    desk.day("2025-01-01").at = datetime(2025, 1, 1, 7, 30, tzinfo=SHANGHAI)
    desk.submit(m5, "P8", category="economy", session="2025")
    desk.day("2025-01-06")
    desk.file("P8")
    desk.assign("P8", "mzj")
    return desk


def test_statistics_of_a_year(desk, runner):
    year_scenario(desk)
    stats = query(runner, v.statistics, v.Statistics, 2024)
    assert stats["year"] == 2024
    assert stats["proposals"] == 7
    assert stats["by_status"] == {"submitted": 0, "returned": 1, "filed": 0, "not_filed": 1,
                                  "merged": 1, "assigned": 1, "replied": 1, "closed": 2}
    assert stats["filed"] == 4
    assert stats["by_category"] == {"economy": 2, "politics": 0, "culture": 1, "society": 1,
                                    "ecology": 0, "other": 0}
    assert stats["by_lead_unit"] == {"mzj": 2, "wjw": 1, "zjj": 1}
    # Replies: P1 r1 on time, P2 r1 late, P2 r2 on time, P3 r1 on time.
    assert stats["replies"] == {"total": 4, "on_time": 3, "on_time_rate": 0.75, "first_round": 3,
                                "first_round_on_time": 2, "first_round_on_time_rate": 2 / 3}
    # Final ratings: P1 m1 (S, S); P2 m2 round 2 (S, S); P2 m3 round 2 (B, B); P3 m4 (B, U).
    assert stats["satisfaction"] == {
        "ratings": 4,
        "reply": {"counts": {"satisfied": 2, "basically_satisfied": 2, "unsatisfied": 0},
                  "shares": {"satisfied": 0.5, "basically_satisfied": 0.5, "unsatisfied": 0.0},
                  "rate": 1.0},
        "attitude": {"counts": {"satisfied": 2, "basically_satisfied": 1, "unsatisfied": 1},
                     "shares": {"satisfied": 0.5, "basically_satisfied": 0.25, "unsatisfied": 0.25},
                     "rate": 0.75}}
    # Latest reply per case: P1 A, P2 A (round 2), P3 C.
    assert stats["reply_classes"] == {"cases": 3, "counts": {"A": 2, "B": 0, "C": 1},
                                      "shares": {"A": 2 / 3, "B": 0.0, "C": 1 / 3}}
    assert stats["rounds_needed"] == {1: 1, 2: 1}  # P1 closed after 1 round, P2 after 2
    # jyj was reassigned away from P3 before replying: it is not counted at all.
    assert stats["units"] == {
        "mzj": {"assigned": 2, "co_assigned": 1, "replies": 1, "replied": 1,
                "first_round_replies": 1, "first_round_on_time": 1, "on_time_rate": 1.0,
                "ratings": 1, "satisfaction_rate": 1.0, "attitude_satisfaction_rate": 1.0,
                "reply_classes": {"A": 1, "B": 0, "C": 0}},
        "wjw": {"assigned": 1, "co_assigned": 1, "replies": 2, "replied": 1,
                "first_round_replies": 1, "first_round_on_time": 0, "on_time_rate": 0.0,
                "ratings": 2, "satisfaction_rate": 1.0, "attitude_satisfaction_rate": 1.0,
                "reply_classes": {"A": 1, "B": 0, "C": 0}},
        "zjj": {"assigned": 1, "co_assigned": 0, "replies": 1, "replied": 1,
                "first_round_replies": 1, "first_round_on_time": 1, "on_time_rate": 1.0,
                "ratings": 1, "satisfaction_rate": 1.0, "attitude_satisfaction_rate": 0.0,
                "reply_classes": {"A": 0, "B": 0, "C": 1}},
    }

    with runner.engine.connect() as conn:  # what holds the projections will do too
        assert v.statistics(conn, runner, 2024) == stats
        assert v.statistics(conn, runner.projections, 2024) == stats

    later = query(runner, v.statistics, v.Statistics, 2025)
    assert later["proposals"] == 1 and later["filed"] == 1 and later["by_lead_unit"] == {"mzj": 1}
    assert later["replies"]["first_round_on_time_rate"] is None
    assert later["satisfaction"]["reply"]["rate"] is None and later["rounds_needed"] == {}
    assert later["units"]["mzj"]["on_time_rate"] is None
    empty = query(runner, v.statistics, v.Statistics, 2023)
    assert empty["proposals"] == 0 and empty["units"] == {}


def test_the_worklist_and_its_filters(desk, runner):
    year_scenario(desk)
    rows = query(runner, v.worklist, v.Worklist)
    by_id = {r["proposal_id"]: r for r in rows}
    pid = desk.pid
    assert len(rows) == 8
    assert [r["position"] for r in rows] == sorted((r["position"] for r in rows), reverse=True)

    p1 = by_id[pid("P1")]
    assert p1["year"] == 2024 and p1["submitted_at"] == "2023-12-31T22:00:00+00:00"
    assert p1["status"] == "closed" and p1["case_number"] == "2024-001" and p1["session"] == "2024"
    assert (p1["lead_unit"], p1["co_units"], p1["round"]) == ("mzj", ["wjw"], 1)
    assert p1["reply_class"] == "A" and p1["replied_on_time"] is True and p1["published"] is True
    assert p1["closed_at"] and p1["replied_at"] and p1["filed_at"] and p1["kind"] == "individual"
    p2 = by_id[pid("P2")]
    assert (p2["round"], p2["reply_class"], p2["replied_on_time"], p2["overdue"]) == (2, "A", True, False)
    assert p2["kind"] == "joint" and p2["deadline"] > "2024-05-13"
    p3 = by_id[pid("P3")]
    assert (p3["lead_unit"], p3["co_units"], p3["published"]) == ("zjj", ["mzj"], True)
    p4 = by_id[pid("P4")]
    assert p4["key"] is True and p4["supervisors"] == ["leader-1"] and p4["reply_class"] is None
    assert by_id[pid("P6")]["merged_into"] == pid("P4") and by_id[pid("P6")]["status"] == "merged"
    p8 = by_id[pid("P8")]
    assert p8["year"] == 2025 and p8["submitted_at"] == "2024-12-31T23:30:00+00:00"

    def ids(**kw: Any) -> set[str]:
        return {r["proposal_id"] for r in query(runner, v.worklist, v.Worklist, **kw)}

    names = {value: key for key, value in desk.ids.items()}

    def named(**kw: Any) -> set[str]:
        return {names[i] for i in ids(**kw)}

    assert named(status="closed") == {"P1", "P2"}
    assert named(status=domain.OPEN) == {"P3", "P4", "P7", "P8"}
    assert named(unit="mzj") == {"P1", "P3", "P4", "P8"}   # lead of P1, P4, P8; co-unit of P3
    assert named(unit="wjw") == {"P1", "P2"}
    assert named(unit="jyj") == set()                       # reassigned away
    assert named(category="economy") == {"P1", "P4", "P6", "P8"}
    assert named(session="2025") == {"P8"}
    assert named(year=2024) == {f"P{i}" for i in range(1, 8)}
    assert named(key=True) == {"P4"}
    assert named(overdue=True) == set() and len(named(overdue=False)) == 8
    assert named(year=2024, category="economy", unit="mzj") == {"P1", "P4"}
    first = query(runner, v.worklist, v.Worklist, page=PageRequest("worklist", 3))
    rest = query(runner, v.worklist, v.Worklist,
                 page=PageRequest.parse("worklist", 10, first["next_cursor"]))
    assert (first["total"], rest["total"], rest["next_cursor"]) == (8, 8, None)
    assert [r["proposal_id"] for r in first["items"] + rest["items"]] == [r["proposal_id"] for r in rows]
    found = query(runner, v.worklist, v.Worklist, page=PageRequest("worklist", 10, q="夜间经济"))
    assert [names[r["proposal_id"]] for r in found["items"]] == ["P1"] and found["total"] == 1
    assert query(runner, v.worklist, v.Worklist, status="closed",
                 page=PageRequest("worklist", 10, q="2024-00"))["total"] == 2   # P1, P2 by case number


def test_overdue_lasts_until_the_reply_or_a_new_deadline(desk, runner):
    desk.submit(member(1), "P")
    desk.file("P")
    desk.assign("P", "mzj", ("wjw",))
    deadline = desk.state("P").round.deadline
    desk.day((date.fromisoformat(deadline) + timedelta(days=3)).isoformat())
    desk.timer("P")
    [row] = query(runner, v.worklist, v.Worklist, overdue=True)
    assert row["proposal_id"] == desk.pid("P")
    inbox = query(runner, v.unit_inbox, v.UnitInbox, "wjw", today=desk.today)
    assert [(r["role"], r["overdue"], r["escalated"], r["due_in_days"]) for r in inbox] == \
        [("co", True, True, -3)]

    # The calendar changed: the deadline was counted again and moved later; no longer overdue.
    later = (desk.today + timedelta(days=10)).isoformat()
    desk.append(domain.proposal_stream(desk.pid("P")), domain_system(), [domain.ReplyDeadlineMoved(
        proposal_id=desk.pid("P"), round=1, previous=deadline, deadline=later)])
    assert query(runner, v.worklist, v.Worklist, overdue=True) == []
    [row] = query(runner, v.worklist, v.Worklist)
    assert row["deadline"] == later and row["overdue"] is False
    [lead] = query(runner, v.unit_inbox, v.UnitInbox, "mzj", today=desk.today)
    assert (lead["overdue"], lead["escalated"], lead["due_in_days"]) == (False, False, 10)
    # Not escalated by the timer, but past the deadline as of the day asked about.
    [lead] = query(runner, v.unit_inbox, v.UnitInbox, "mzj", today=desk.today + timedelta(days=11))
    assert (lead["overdue"], lead["escalated"], lead["due_in_days"]) == (True, False, -1)

    desk.day((date.fromisoformat(later) + timedelta(days=1)).isoformat())
    desk.timer("P")
    assert len(query(runner, v.worklist, v.Worklist, overdue=True)) == 1
    desk.reply("P", "mzj", "B")
    [row] = query(runner, v.worklist, v.Worklist)
    assert (row["overdue"], row["replied_on_time"], row["status"]) == (False, False, "replied")
    assert query(runner, v.unit_inbox, v.UnitInbox, "mzj", today=desk.today) == []
    [done] = query(runner, v.unit_inbox, v.UnitInbox, "mzj", today=desk.today, open_only=False)
    assert done["replied"] is True and done["overdue"] is False and done["due_in_days"] is None


def test_reassignment_moves_the_inbox_rows(desk, runner):
    desk.submit(member(1), "P", title="关于校园周边交通的提案")
    number = desk.file("P")
    desk.assign("P", "jyj", ("gaj",))
    desk.day("2024-03-02")
    desk.object("P", "jyj")
    [jyj] = query(runner, v.unit_inbox, v.UnitInbox, "jyj", today=desk.today)
    assert (jyj["case_number"], jyj["title"], jyj["role"], jyj["objection_pending"]) == \
        (number, "关于校园周边交通的提案", "lead", True)
    assert jyj["due_in_days"] == (date.fromisoformat(jyj["deadline"]) - desk.today).days
    [gaj] = query(runner, v.unit_inbox, v.UnitInbox, "gaj", today=desk.today)
    assert (gaj["role"], gaj["lead_unit"], gaj["objection_pending"]) == ("co", "jyj", False)

    desk.day("2024-03-04")
    desk.reassign("P", "jtj", ("jyj",))
    assert query(runner, v.unit_inbox, v.UnitInbox, "gaj", today=desk.today, open_only=False) == []
    [now_co] = query(runner, v.unit_inbox, v.UnitInbox, "jyj", today=desk.today)
    assert (now_co["role"], now_co["lead_unit"], now_co["objection_pending"]) == ("co", "jtj", False)
    [lead] = query(runner, v.unit_inbox, v.UnitInbox, "jtj", today=desk.today)
    assert lead["role"] == "lead" and lead["started_on"] == "2024-03-04" and lead["round"] == 1
    assert lead["deadline"] == desk.state("P").round.deadline
    desk.do(unit("jyj"), "P", lambda s: run(domain.send_co_unit_opinion, unit("jyj"), s, opinion="同意"))
    [now_co] = query(runner, v.unit_inbox, v.UnitInbox, "jyj", today=desk.today)
    assert now_co["opinion_sent"] is True
    inbox = proj(runner, v.UnitInbox)
    with runner.engine.connect() as conn:
        units = conn.execute(sa.select(inbox.rows.c.unit).order_by(inbox.rows.c.unit)).scalars().all()
    assert units == ["jtj", "jyj"]


def test_a_member_sees_their_cases_and_only_their_own_rating(desk, runner):
    year_scenario(desk)
    pid = desk.pid
    m1 = query(runner, v.cases_of_member, v.ProposerCases, "m1")
    assert [(r["proposal_id"], r["relation"]) for r in m1] == [
        (pid("P6"), "proposer"), (pid("P4"), "merged_proposer"), (pid("P1"), "proposer")]
    p1 = m1[-1]
    assert (p1["status"], p1["case_number"], p1["reply_rating"], p1["attitude_rating"]) == \
        ("closed", "2024-001", "satisfied", "satisfied")
    assert m1[0]["status"] == "merged" and m1[0]["merged_into"] == pid("P4")

    m3 = query(runner, v.cases_of_member, v.ProposerCases, "m3")
    assert [(r["relation"], r["confirmed"], r["round"]) for r in m3] == [("co_signer", True, 2)]
    assert (m3[0]["reply_rating"], m3[0]["attitude_rating"]) == ("basically_satisfied",
                                                                 "basically_satisfied")
    [m2_p2] = [r for r in query(runner, v.cases_of_member, v.ProposerCases, "m2")
               if r["proposal_id"] == pid("P2")]
    assert (m2_p2["reply_rating"], m2_p2["reply_class"]) == ("satisfied", "A")
    assert query(runner, v.cases_of_member, v.ProposerCases, "m5")[1]["reply_rating"] is None
    with runner.engine.connect() as conn:
        assert v.proposers_by_case(conn, proj(runner, v.ProposerCases), [pid("P2"), pid("P4")]) == \
            {pid("P2"): ["m2", "m3"], pid("P4"): ["m5", "m1"]}


def test_a_new_round_clears_the_ratings_and_co_signers_who_did_not_confirm_drop_out(desk, runner):
    desk.submit(member(1), "P", co_signers=("m2", "m3", "m4"))
    pending = query(runner, v.cases_of_member, v.ProposerCases, "m2")
    assert [(r["relation"], r["confirmed"], r["status"]) for r in pending] == [
        ("co_signer", False, "submitted")]
    desk.do(member(2), "P", lambda s: run(domain.confirm_co_signature, member(2), s, today=desk.today))
    desk.do(member(3), "P", lambda s: run(domain.decline_co_signature, member(3), s, today=desk.today))
    assert query(runner, v.cases_of_member, v.ProposerCases, "m3") == []
    desk.day("2024-03-20")  # m4's co-signing window is over: the case is filed without them
    desk.file("P")
    assert query(runner, v.cases_of_member, v.ProposerCases, "m4") == []
    desk.assign("P", "mzj")
    desk.reply("P", "mzj", "B")
    desk.rate("P", member(1), "satisfied", "satisfied")
    [own] = query(runner, v.cases_of_member, v.ProposerCases, "m1")
    assert own["reply_rating"] == "satisfied"
    desk.rate("P", member(2), "unsatisfied", "satisfied")
    for who in ("m1", "m2"):
        [row] = query(runner, v.cases_of_member, v.ProposerCases, who)
        assert (row["round"], row["status"], row["reply_rating"], row["reply_class"]) == \
            (2, "assigned", None, None)


def test_the_public_sees_published_cases_only_and_no_personal_data(desk, runner):
    year_scenario(desk)
    listed = query(runner, v.public_list, v.PublicCases)
    assert [r["case_number"] for r in listed] == ["2024-003", "2024-001"]  # latest publication first
    assert listed[1] == {"proposal_id": desk.pid("P1"), "case_number": "2024-001",
                         "title": "关于发展夜间经济的提案", "category": "economy",
                         "category_label": "经济", "proposer_names": ["张三"], "lead_unit": "mzj",
                         "lead_unit_name": "mzj", "status": "closed", "status_label": "已办结",
                         "reply_class": "A", "reply_class_label": "A类：所提问题已解决或基本解决",
                         "published_at": listed[1]["published_at"], "comments": 1}
    assert [r["case_number"] for r in query(runner, v.public_list, v.PublicCases,
                                            category="culture")] == ["2024-003"]
    assert query(runner, v.public_list, v.PublicCases, category="society") == []
    first = query(runner, v.public_list, v.PublicCases, page=PageRequest("public_proposals", limit=1))
    assert [r["case_number"] for r in first["items"]] == ["2024-003"]
    assert first["items"][0]["status_label"] == "已答复"  # labelled on a page as well

    # Published before the reply: the reply shows. Published after it: it shows too.
    p1 = query(runner, v.public_detail, v.PublicCases, "2024-001")
    assert (p1["reply_class"], p1["reply"]) == ("A", "已建成夜市街区三处。")
    assert p1["reasons"] == TEXT["reasons"] and p1["suggestions"] == TEXT["suggestions"]
    assert [(c["comment_id"], c["display_name"], c["text"], c["answer"]) for c in p1["comments"]] == [
        ("c1", "热心市民", "夜市很热闹，希望增加停车位。", "已协调增设停车位200个。")]
    p3 = query(runner, v.public_detail, v.PublicCases, "2024-003")
    assert (p3["reply_class"], p3["lead_unit"], p3["proposer_names"]) == ("C", "zjj", ["李四"])
    assert (p3["proposal_id"], p3["status_label"], p3["category_label"]) == (desk.pid("P3"), "已答复", "文化")
    assert p3["reply_class_label"].startswith("C类")
    # With the directory's names (what the service passes), a unit shows by name, its id beside it.
    with runner.engine.connect() as conn:
        def names(ids):
            return names_of(conn, proj(runner, Directory), ids)
        named = v.public_list(conn, proj(runner, v.PublicCases), names=names)
        assert [(r["lead_unit"], r["lead_unit_name"]) for r in named] == [("zjj", "zjj"),
                                                                          ("mzj", "市民政局")]
        p1_named = v.public_detail(conn, proj(runner, v.PublicCases), "2024-001", names=names)
        assert p1_named["lead_unit_name"] == "市民政局"
    assert query(runner, v.public_detail, v.PublicCases, "2024-002") is None  # not published

    public = repr(dump(runner, v.PublicCases)["proposal_public_cases"]) + \
        repr(dump(runner, v.PublicCases)["proposal_public_comments"]) + repr(listed) + repr(p1) + repr(p3)
    for secret in ("m1", "m4", PUBLIC.user_id, "satisfied", "广告", "审核中"):
        assert secret not in public


def test_unpublishing_hides_the_case_and_its_comments_until_republished(desk, runner):
    desk.submit(member(1), "P", consent=True)
    number = desk.file("P")
    desk.publish("P", ["王五"])
    desk.comment("P", "c1", "支持这个提案！")
    desk.comment("P", "c2", "期待早日落实。", approve=None)
    assert query(runner, v.public_detail, v.PublicCases, number)["comments"][0]["text"] == "支持这个提案！"

    desk.do(STAFF, "P", lambda s: run(domain.unpublish_proposal, STAFF, s, reason="内容需核实"))
    assert query(runner, v.public_list, v.PublicCases) == []
    assert query(runner, v.public_detail, v.PublicCases, number) is None
    [row] = query(runner, v.worklist, v.Worklist)
    assert row["published"] is False

    # Meanwhile the case moves on, and the comment sent before is approved.
    desk.do(STAFF, "P", lambda s: run(domain.moderate_comment, STAFF, s, comment_id="c2", approve=True))
    desk.assign("P", "mzj")
    desk.reply("P", "mzj", "B", "列入明年计划。")
    desk.publish("P", ["王五"])
    shown = query(runner, v.public_detail, v.PublicCases, number)
    assert (shown["status"], shown["reply_class"], shown["reply"]) == ("replied", "B", "列入明年计划。")
    assert [c["comment_id"] for c in shown["comments"]] == ["c1", "c2"]

    # The proposer withdraws consent: unpublished again.
    desk.do(member(1), "P", lambda s: run(domain.set_publication_consent, member(1), s, consent=False))
    assert query(runner, v.public_list, v.PublicCases) == []


def test_units_never_see_ratings_raters_or_proposers(desk, runner):
    year_scenario(desk)
    rows = [r for org in ("mzj", "wjw", "zjj", "jyj")
            for r in query(runner, v.unit_inbox, v.UnitInbox, org, today=desk.today, open_only=False)]
    assert {r["case_number"] for r in rows} == {"2024-001", "2024-002", "2024-003", "2024-004",
                                                "2025-001"}
    seen = repr(rows) + repr(dump(runner, v.UnitInbox))
    for secret in (*RATING_WORDS, "m1", "m2", "m3", "m4", "m5", PUBLIC.user_id, "热心市民"):
        assert secret not in seen
    columns = {c.name for p in runner.projections if isinstance(p, (v.UnitInbox, v.PublicCases))
               for t in p.tables() for c in t.columns}
    assert not {c for c in columns if "rat" in c or c in ("author", "rater", "proposer")}

    mzj = query(runner, v.unit_inbox, v.UnitInbox, "mzj", today=date(2025, 1, 6))
    assert [(r["case_number"], r["role"], r["key"]) for r in mzj] == [("2024-004", "lead", True),
                                                                      ("2025-001", "lead", False)]
    everything = query(runner, v.unit_inbox, v.UnitInbox, "mzj", today=date(2025, 1, 6),
                       open_only=False)
    assert {(r["case_number"], r["role"], r["status"]) for r in everything} == {
        ("2024-001", "lead", "closed"), ("2024-003", "co", "replied"),
        ("2024-004", "lead", "assigned"), ("2025-001", "lead", "assigned")}


def test_rebuild_equals_the_live_model_row_for_row(desk, runner):
    year_scenario(desk)
    runner.catch_up()
    live = dump(runner)
    assert all(live.values()), [name for name, rows in live.items() if not rows]
    runner.rebuild()
    assert dump(runner) == live


def test_small_batches_give_the_same_rows(desk, runner, store, tmp_path):
    year_scenario(desk)
    runner.catch_up()
    engine = sqlite_engine(str(tmp_path / "batched.sqlite"))
    batched = ProjectionRunner(store, engine, v.PROJECTIONS(), batch=3)
    batched.setup()
    batched.catch_up()
    assert dump(batched) == dump(runner)
    engine.dispose()


@pytest.mark.postgres
def test_rebuild_equals_the_live_model_on_postgres(store, pg_schema):
    engine = postgres_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{pg_schema}"'))
    try:
        runner = ProjectionRunner(store, engine, v.PROJECTIONS(), schema=pg_schema, batch=7)
        runner.setup()
        year_scenario(Desk(store))
        runner.catch_up()
        live = dump(runner)
        with engine.connect() as conn:
            stats = v.statistics(conn, proj(runner, v.Statistics), 2024)
        assert stats["replies"]["first_round_on_time_rate"] == 2 / 3
        runner.rebuild()
        assert dump(runner) == live
    finally:
        engine.dispose()


# -- who sees the satisfaction figures (docs/proposals.md) ----------------------------------------

def rated(per_unit: dict[str, list[str]]) -> dict[str, Any]:
    """The statistics of one case per rating: ``per_unit`` lists each unit's ratings."""
    units, ratings = [], []
    for org, words in per_unit.items():
        for i, word in enumerate(words):
            pid = f"{org}-{i}"
            units.append({"proposal_id": pid, "round": 1, "unit": org, "role": "lead"})
            ratings.append({"proposal_id": pid, "round": 1, "rater": f"m-{pid}", "unit": org,
                            "reply_rating": word, "attitude_rating": word})
    return v.compute_statistics(2024, [], units, [], ratings)


def rates(stats: dict[str, Any]) -> dict[str, Any]:
    return {u: f["satisfaction_rate"] for u, f in stats["units"].items()}


S, U = "satisfied", "unsatisfied"


def test_one_rating_is_never_shown_outside_the_office_not_even_in_the_total():
    stats = rated({"mzj": [U]})
    assert stats["units"]["mzj"]["satisfaction_rate"] == 0.0  # staff and auditors: as counted
    shown = v.disclose_statistics(stats)
    assert shown["units"]["mzj"]["ratings"] == 1
    assert shown["units"]["mzj"]["satisfaction_rate"] is None
    assert shown["units"]["mzj"]["attitude_satisfaction_rate"] is None
    assert shown["units"]["mzj"]["withheld"]["reason"] == "少于3份评价，不公开"
    assert shown["satisfaction"]["reply"] is None and shown["satisfaction"]["attitude"] is None
    assert shown["satisfaction"]["withheld"]["reason"] == "少于3份评价，不公开"
    assert U not in repr(shown) and "0.0" not in repr(shown["units"])


def test_units_with_three_ratings_show_and_a_lone_withheld_one_takes_a_second_with_it():
    # jyj (1 rating) is withheld; the total minus mzj and wjw would give it: the smallest
    # shown unit (wjw) is withheld as well, and the total stays.
    stats = rated({"mzj": [S, S, S, U, S], "wjw": [S, U, S], "jyj": [U]})
    shown = v.disclose_statistics(stats)
    assert rates(shown) == {"mzj": 0.8, "wjw": None, "jyj": None}
    assert shown["units"]["jyj"]["withheld"]["reason"] == "少于3份评价，不公开"
    assert shown["units"]["wjw"]["withheld"]["reason"].startswith("为防止推算")
    assert shown["satisfaction"]["reply"]["rate"] == 6 / 9
    # Whatever is shown, the withheld units together hold at least 3 ratings.
    hidden = sum(f["ratings"] for f in shown["units"].values() if f["satisfaction_rate"] is None)
    assert hidden >= v.MIN_RATINGS_SHOWN
    # Two scarce units together are enough on their own.
    two = v.disclose_statistics(rated({"mzj": [S, S, S], "wjw": [U, S], "jyj": [U]}))
    assert rates(two) == {"mzj": 1.0, "wjw": None, "jyj": None}
    assert two["satisfaction"]["reply"]["rate"] == 4 / 6


def test_with_nothing_left_to_withhold_the_total_goes():
    # Only one unit shown (a subscriber's own), the other unit's one rating is the difference.
    stats = rated({"mzj": [S, S, S], "jyj": [U]})
    own = v.disclose_statistics(stats, units={"mzj"})
    assert set(own["units"]) == {"mzj"} and own["by_lead_unit"].keys() <= {"mzj"}
    assert rates(own) == {"mzj": None}  # withheld so that the total can stay
    assert own["satisfaction"]["reply"]["rate"] == 3 / 4
    everything = v.disclose_statistics(rated({"mzj": [S, S, S], "wjw": [S, U, U]}), units={"mzj"})
    assert rates(everything) == {"mzj": 1.0} and everything["satisfaction"]["reply"]["rate"] == 4 / 6
    # A key of an organisation that handles nothing sees no unit at all.
    assert v.disclose_statistics(stats, units={"news-portal"})["units"] == {}
    # The total of two ratings is withheld even with nothing else shown.
    assert v.disclose_statistics(rated({"mzj": [S, U]}))["satisfaction"]["reply"] is None


def test_the_year_scenario_as_a_leader_sees_it(desk, runner):
    year_scenario(desk)
    stats = query(runner, v.statistics, v.Statistics, 2024)
    shown = v.disclose_statistics(stats)
    # mzj 1 rating, wjw 2, zjj 1: none shows; together they are 4, so the total does.
    assert rates(shown) == {"mzj": None, "wjw": None, "zjj": None}
    assert [f["ratings"] for f in shown["units"].values()] == [1, 2, 1]
    assert shown["satisfaction"]["reply"] == stats["satisfaction"]["reply"]
    assert {k: shown[k] for k in ("proposals", "filed", "replies", "by_lead_unit")} == \
        {k: stats[k] for k in ("proposals", "filed", "replies", "by_lead_unit")}
    assert shown["disclosure"] == {"min_ratings": 3, "units": "all"}
