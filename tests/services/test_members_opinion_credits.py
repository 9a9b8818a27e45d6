"""Duty points 履职积分 from the feedback service's events (opinion reports 社情民意): the credits
each event earns (pure), and the members service crediting them on the real RabbitMQ, priced by
the year's rules, exactly once whatever is delivered twice.

The service tests stand in for the feedback service with a log of its own (the events built from
the feedback service's published contract) and publish it as the feedback service does: through
the kernel's relay to ``feedback.events``, and again by hand with the same message ids, as a
relay does after a crash."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from services.feedback.domain import events as fe
from services.members import domain as d
from services.members.service import MembersService
from xieshang.kernel.envelope import Actor, Envelope, NewEvent
from xieshang.kernel.relay import Relay
from xieshang.kernel.store.memory import MemoryEventStore

from .conftest import STAFF, entrypoint_of, store_of, wait_until

FEEDBACK_STAFF = Actor("staff-sq-001", "staff", "社情民意信息科")
LEADER = Actor("leader-sw-01", "leader", "市委")
HANDLERS = ("on_opinion_report_adopted", "on_opinion_decided_above", "on_leader_instruction_recorded")
WHEN = datetime.fromisoformat("2024-05-20T10:00:00+08:00")


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def adopted(report_id: str, members: list[str], title: str = "关于老旧小区加装电梯的建议") -> fe.OpinionReportAdopted:
    return fe.OpinionReportAdopted(report_id=report_id, title=title, members=members, note="内容翔实")


def decided_above(report_id: str, decision: str, members: list[str], *, upper: str = "640000",
                  upper_event_id: str | None = None, detail: dict | None = None) -> fe.OpinionDecidedAbove:
    return fe.OpinionDecidedAbove(
        report_id=report_id, upper_committee=upper, upper_level="province", upper_report_id=uid("up"),
        upper_event_id=upper_event_id or str(uuid.uuid4()), upper_position=17, upper_hash="ab" * 32,
        decision=decision, detail=detail or {}, members=members)


def instructed(report_id: str, members: list[str], *, level: str = "city",
               office: str = "government") -> fe.LeaderInstructionRecorded:
    return fe.LeaderInstructionRecorded(report_id=report_id, leader=LEADER.user_id, leader_level=level,
                                        office=office, text="请市住建局研究办理。", members=members)


# -- the domain: what each event earns ----------------------------------------------------------

def credits_of(event, event_id: str = "e1", year: int = 2024) -> list[tuple]:
    return [(c.member_id, c.activity, c.credit_key, c.source_service, c.source_event_id, c.source_stream,
             c.year, c.note)
            for c in d.opinion_credits(event.type_name(), event.to_data(), event_id=event_id,
                                       stream=f"opinion-{event.report_id}", year=year)]


def test_an_adopted_report_credits_each_member_among_its_submitters_once_per_report():
    got = credits_of(adopted("r1", ["m-a", "m-b", "m-a"]))
    assert got == [
        ("m-a", "opinion_adopted", "opinion-adopted:r1", "feedback", "e1", "opinion-r1", 2024,
         "社情民意信息《关于老旧小区加装电梯的建议》被采用"),
        ("m-b", "opinion_adopted", "opinion-adopted:r1", "feedback", "e1", "opinion-r1", 2024,
         "社情民意信息《关于老旧小区加装电梯的建议》被采用")]
    # another adoption event of the same report earns the same keys: the ledger keeps the first
    assert {c[2] for c in credits_of(adopted("r1", ["m-a"]), event_id="e2")} == {"opinion-adopted:r1"}
    assert credits_of(adopted("r1", []), event_id="e3") == []       # an informant's report: nobody


def test_decisions_above_credit_adoption_per_upper_committee_and_each_instruction():
    [(member, activity, key, *_, note)] = credits_of(decided_above("r1", "adopted", ["m-a"]))
    assert (member, activity, key, note) == ("m-a", "opinion_reported_upward", "opinion-upper:r1:640000",
                                             "社情民意信息被上级政协（640000）采用")
    assert [c[2] for c in credits_of(decided_above("r1", "adopted", ["m-a"], upper="640300"))] == [
        "opinion-upper:r1:640300"]                                   # another upper committee: again
    upper_event = str(uuid.uuid4())
    got = credits_of(decided_above("r1", "instructed", ["m-a", "m-b"], upper_event_id=upper_event,
                                   detail={"leader_level": "province", "office": "party_committee",
                                           "text": "请认真研究。"}))
    assert [(c[0], c[1], c[2]) for c in got] == [("m-a", "leader_instruction", f"opinion-instruction:{upper_event}"),
                                                 ("m-b", "leader_instruction", f"opinion-instruction:{upper_event}")]
    assert got[0][-1] == "社情民意信息经上级政协（640000）报送获省（自治区）党委领导批示"
    for decision in ("not_adopted", "reported", "forwarded", "fed_back"):
        assert credits_of(decided_above("r1", decision, ["m-a"])) == [], decision
    assert credits_of(decided_above("r1", "adopted", [])) == []


def test_a_leader_instruction_credits_once_per_instruction_event():
    [(member, activity, key, service, event_id, *_, note)] = credits_of(instructed("r1", ["m-a"]), event_id="i1")
    assert (member, activity, key, service, event_id, note) == (
        "m-a", "leader_instruction", "opinion-instruction:i1", "feedback", "i1", "社情民意信息获市政府领导批示")
    assert [c[2] for c in credits_of(instructed("r1", ["m-a"]), event_id="i2")] == ["opinion-instruction:i2"]
    assert credits_of(instructed("r1", [])) == []


def test_other_feedback_events_earn_nothing_and_every_credit_is_a_known_activity():
    submitted = fe.OpinionReportSubmitted(report_id="r1", submitter="m-a", submitter_role="member", title="t",
                                          content="c" * 20, channel="member", category="society")
    assert credits_of(submitted) == []
    assert credits_of(fe.OpinionReportNotAdopted(report_id="r1", reason="不符合要求")) == []
    assert set(d.OPINION_CREDIT_EVENTS) <= set(fe.registry.names())
    for activity in ("opinion_adopted", "opinion_reported_upward", "leader_instruction"):
        assert activity in d.ACTIVITIES and activity in d.DEFAULT_POINT_RULES


def test_the_ledger_keeps_one_entry_per_credit_key_priced_by_the_years_rules():
    rules = d.PointRules("640200", 2024, 1, {"opinion_adopted": 4, "leader_instruction": 10})
    ledger = d.Ledger("m-a")
    first = d.award(ledger, d.opinion_credits("OpinionReportAdopted", adopted("r1", ["m-a"]).to_data(),
                                              event_id="e1", stream="opinion-r1", year=2024), rules)
    assert [(e.activity, e.points, e.rules_version) for e in first] == [("opinion_adopted", 4, 1)]
    ledger = d.fold_ledger_on(ledger, first)
    again = d.opinion_credits("OpinionReportAdopted", adopted("r1", ["m-a"]).to_data(), event_id="e2",
                              stream="opinion-r1", year=2024)
    assert d.award(ledger, again, rules) == []


# -- the service on the real RabbitMQ -------------------------------------------------------------

class FeedbackLog:
    """The feedback service's log, as far as these tests need it: events appended to a store of
    the same deployment, published through the kernel's relay to ``feedback.events``."""

    def __init__(self, deployment, config):
        self.store = MemoryEventStore(deployment)
        self.config = config
        self.relay = Relay(self.store, config["AMQP_URI"], service="feedback")

    def record(self, event, *, at: datetime = WHEN, actor: Actor = FEEDBACK_STAFF) -> Envelope:
        stream = f"opinion-{event.report_id}"
        [envelope] = self.store.append(stream, self.store.stream_version(stream), [NewEvent(
            event.type_name(), event.to_data(), actor, occurred_at=at, reason="社情民意信息处理")])
        return envelope

    def publish(self) -> None:
        self.relay.run_once()

    def republish(self, envelopes: list[Envelope]) -> None:
        """Again, with the same message ids (as a relay does after a crash)."""
        # (the broker's client only here: the domain tests above run without it)
        from kombu import Connection, Producer
        from nameko.standalone.events import get_event_exchange

        with Connection(self.config["AMQP_URI"]) as conn:
            producer = Producer(conn)
            for e in envelopes:
                producer.publish(e.to_json(), exchange=get_event_exchange("feedback", self.config),
                                 routing_key=e.type, message_id=e.event_id, content_type="application/json",
                                 declare=[])

    def close(self) -> None:
        self.relay.close()


@pytest.fixture
def members(container_factory, config):
    container = container_factory(MembersService, config)
    container.start()
    return container


@pytest.fixture
def feedback(members, config):
    log = FeedbackLog(store_of(members).deployment, config)
    yield log
    log.close()


def settled(members) -> int:
    """How many feedback events the members service has settled so far."""
    return sum(sum(entrypoint_of(members, name).outcomes.values()) for name in HANDLERS)


def failures(members) -> dict[str, int]:
    return {name: n for name in HANDLERS for outcome, n in entrypoint_of(members, name).outcomes.items()
            if outcome in ("retried", "dead_lettered", "malformed") and n}


def ledger(staff, member_id: str) -> dict[str, tuple[Any, ...]]:
    """The member's entries by credit key: (activity, points, year, source event id)."""
    return {e["credit_key"]: (e["activity"], e["points"], e["year"], e["source_event_id"])
            for e in staff.members.get_member(member_id)["ledger"]}


def awarded(members, member_id: str) -> list[str]:
    """The credit keys of every DutyPointsAwarded recorded on the member's ledger stream."""
    return [e.data["credit_key"] for e in store_of(members).read_stream(f"ledger-{member_id}")
            if e.type == "DutyPointsAwarded"]


def appoint(staff, *member_ids: str) -> None:
    staff.members.register_organisation("s-jj", "sector", "经济界")
    for m in member_ids:
        staff.members.appoint_member(m, f"委员{m[-4:]}", "经济界", "第十届")


@pytest.mark.rabbit
def test_each_feedback_event_credits_its_members_by_the_years_rules(members, feedback, rpc_as):
    staff = rpc_as(STAFF)
    a, b = uid("m-a"), uid("m-b")
    appoint(staff, a, b)
    staff.members.set_point_rules(2025, {"opinion_adopted": 7})
    r1, r2, r3 = uid("r"), uid("r"), uid("r")
    upper_instruction = str(uuid.uuid4())
    e_adopted = feedback.record(adopted(r1, [a, b]))                   # a member and a co-submitter
    e_informant = feedback.record(adopted(r2, []))                     # an informant's report: nobody
    e_instruction = feedback.record(instructed(r1, [a, b]), actor=LEADER)
    e_upper = feedback.record(decided_above(r1, "adopted", [a, b]))
    e_upper_city = feedback.record(decided_above(r1, "adopted", [a, b], upper="640300"))
    e_forwarded = feedback.record(decided_above(r1, "forwarded", [a, b], detail={"units": ["u-zjj"]}))
    e_upper_instructed = feedback.record(decided_above(
        r1, "instructed", [a], upper_event_id=upper_instruction,
        detail={"leader_level": "province", "office": "government", "text": "请抓好落实。"}))
    # adopted on New Year's night in Beijing (still the 31st in UTC): it counts in 2025
    e_new_year = feedback.record(adopted(r3, [a]), at=datetime.fromisoformat("2024-12-31T17:30:00+00:00"))
    feedback.publish()

    expected_a = {
        f"opinion-adopted:{r1}": ("opinion_adopted", 3, 2024, e_adopted.event_id),
        f"opinion-instruction:{e_instruction.event_id}": ("leader_instruction", 8, 2024, e_instruction.event_id),
        f"opinion-upper:{r1}:640000": ("opinion_reported_upward", 5, 2024, e_upper.event_id),
        f"opinion-upper:{r1}:640300": ("opinion_reported_upward", 5, 2024, e_upper_city.event_id),
        f"opinion-instruction:{upper_instruction}": ("leader_instruction", 8, 2024, e_upper_instructed.event_id),
        f"opinion-adopted:{r3}": ("opinion_adopted", 7, 2025, e_new_year.event_id),   # by 2025's rules
    }
    wait_until(lambda: ledger(staff, a) == expected_a, what="the member's opinion report credits")
    expected_b = {k: v for k, v in expected_a.items()
                  if v[3] in (e_adopted.event_id, e_instruction.event_id, e_upper.event_id, e_upper_city.event_id)}
    wait_until(lambda: ledger(staff, b) == expected_b, what="the co-submitter's credits")
    wait_until(lambda: settled(members) == 8, what="every feedback event to be settled")
    assert failures(members) == {}
    assert entrypoint_of(members, "on_opinion_report_adopted").outcomes["handled"] == 3   # the informant's too
    assert e_informant.event_id not in {v[3] for v in {**ledger(staff, a), **ledger(staff, b)}.values()}
    assert e_forwarded.event_id not in {v[3] for v in ledger(staff, a).values()}

    # the entry names the event that earned it, and carries its causation
    m_store = store_of(members)
    [entry] = [e for e in m_store.read_stream(f"ledger-{a}") if e.data["credit_key"] == f"opinion-upper:{r1}:640000"]
    assert (entry.data["source_service"], entry.data["source_stream"], entry.causation_id) == (
        "feedback", f"opinion-{r1}", e_upper.event_id)
    assert entry.data["note"] == "社情民意信息被上级政协（640000）采用"
    # a one-member credit is tracked with its append; the two-member ones by their credit keys
    assert m_store.is_processed("members.on_opinion_decided_above", e_upper_instructed.event_id)
    dossier = rpc_as(Actor(a, "member", "经济界")).members.get_dossier(a, 2024)
    [year] = dossier["years"]
    assert year["total"] == 3 + 8 + 5 + 5 + 8
    assert {e["label"] for e in year["entries"]} == {"社情民意信息被采用", "社情民意信息被上级政协采用",
                                                     "社情民意信息获领导批示"}

    # staff set other rules for 2024: the entries are priced again; a later credit by them too
    rules = staff.members.set_point_rules(2024, {"opinion_adopted": 4, "opinion_reported_upward": 6,
                                                 "leader_instruction": 10}, caps={"leader_instruction": 15})
    # (the points are each year's, capped by its rules: 2024's two instructions count 15, 2025's 7)
    assert staff.members.get_member(a, after_position=rules["position"])["points"] == 4 + 6 + 6 + 15 + 7
    [year] = staff.members.get_dossier(a, 2024, after_position=rules["position"])["years"]
    assert (year["rules_version"], year["total"]) == (1, 4 + 6 + 6 + 15)   # the instructions capped at 15
    r4 = uid("r")
    e_later = feedback.record(adopted(r4, [b]))
    feedback.publish()
    wait_until(lambda: ledger(staff, b).get(f"opinion-adopted:{r4}") == (
        "opinion_adopted", 4, 2024, e_later.event_id), what="a credit priced by the new rules")
    assert staff.members.get_member(b, after_position=m_store.head())["points"] == 4 + 10 + 6 + 6 + 4
    assert failures(members) == {}


@pytest.mark.rabbit
def test_a_redelivered_or_repeated_feedback_event_credits_once(members, feedback, rpc_as):
    staff = rpc_as(STAFF)
    a, b = uid("m-a"), uid("m-b")
    appoint(staff, a, b)
    r1, r2 = uid("r"), uid("r")
    upper_instruction = str(uuid.uuid4())
    first = [
        feedback.record(adopted(r1, [a])),                              # one member: tracked
        feedback.record(adopted(r2, [a, b])),                           # two members: by the keys
        feedback.record(instructed(r1, [a]), actor=LEADER),
        feedback.record(decided_above(r1, "adopted", [a])),
        feedback.record(decided_above(r1, "instructed", [a, b], upper_event_id=upper_instruction,
                                      detail={"leader_level": "province", "office": "party_committee"})),
    ]
    feedback.publish()
    wait_until(lambda: settled(members) == len(first), what="the first deliveries")
    keys_a = [f"opinion-adopted:{r1}", f"opinion-adopted:{r2}", f"opinion-instruction:{first[2].event_id}",
              f"opinion-upper:{r1}:640000", f"opinion-instruction:{upper_instruction}"]
    wait_until(lambda: sorted(awarded(members, a)) == sorted(keys_a), what="the member's credits")
    wait_until(lambda: staff.members.get_member(a)["points"] == 3 + 3 + 8 + 5 + 8, what="the member's points")
    points_b = staff.members.get_member(b)["points"]
    assert points_b == 3 + 8

    # the same events delivered again (same event ids: a relay republishing after a crash)
    seen = settled(members)
    feedback.republish(first)
    wait_until(lambda: settled(members) == seen + len(first), what="the redeliveries to be settled")
    skipped = sum(entrypoint_of(members, n).outcomes["skipped"] for n in HANDLERS)
    assert skipped == 3   # the one-member credits were tracked: skipped before the handler ran

    # other events saying what was credited already: the same report adopted again (another
    # event id), the same upper committee adopting it again, the same instruction from above
    # recorded again, each for the same members
    seen = settled(members)
    repeats = [
        feedback.record(adopted(r1, [a])),
        feedback.record(adopted(r2, [a, b])),
        feedback.record(decided_above(r1, "adopted", [a])),
        feedback.record(decided_above(r1, "instructed", [a, b], upper_event_id=upper_instruction)),
    ]
    feedback.publish()
    wait_until(lambda: settled(members) == seen + len(repeats), what="the repeated events to be settled")
    assert failures(members) == {}
    assert sorted(awarded(members, a)) == sorted(keys_a)    # one DutyPointsAwarded per credit key
    assert sorted(awarded(members, b)) == sorted([f"opinion-adopted:{r2}", f"opinion-instruction:{upper_instruction}"])
    head = store_of(members).head()
    assert staff.members.get_member(a, after_position=head)["points"] == 3 + 3 + 8 + 5 + 8
    assert staff.members.get_member(b, after_position=head)["points"] == points_b
    # the entries name the first events that earned them
    assert ledger(staff, a)[f"opinion-adopted:{r1}"][3] == first[0].event_id
