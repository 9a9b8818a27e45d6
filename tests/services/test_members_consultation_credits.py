"""Duty points 履职积分 from the feedback service's consultations 协商议事 and democratic
supervision groups 民主监督组: the credits each event earns (pure), and the members service
crediting them on the real RabbitMQ, priced by the year's rules, exactly once whatever is
delivered twice.

As in test_members_opinion_credits, the service tests stand in for the feedback service with a
log of its own (the events built from its published contract), published through the kernel's
relay to ``feedback.events`` and again by hand with the same message ids."""

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

FEEDBACK_STAFF = Actor("staff-xs-001", "staff", "协商议事科")
HANDLERS = ("on_consultation_research_recorded", "on_consultation_meeting_held", "on_supervision_group_formed")
WHEN = datetime.fromisoformat("2024-05-20T10:00:00+08:00")


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def research(consultation_id: str, research_id: str, members: list[str],
             held_on: str = "2024-05-10") -> fe.ConsultationResearchRecorded:
    return fe.ConsultationResearchRecorded(consultation_id=consultation_id, research_id=research_id,
                                           kind="site_visit", held_on=held_on, members=members,
                                           summary="走访了三个小区，听取居民意见。")


def meeting(consultation_id: str, members: list[str], absent: list[str] = (), held_on: str = "2024-05-18",
            title: str = "老旧小区停车难") -> fe.ConsultationMeetingHeld:
    return fe.ConsultationMeetingHeld(
        consultation_id=consultation_id, title=title, held_on=held_on, place="st-yh",
        place_type="livelihood_hall", township="t-yh", members=members, absent_members=list(absent),
        departments=["u-zjj"], residents=12, stakeholders=["物业公司"], speakers=members[:1],
        opinions=["增设停车位"], outcomes=["利用闲置地块建设停车场"])


def group(group_id: str, leader: str, members: list[str], year: int = 2024,
          name: str = "营商环境民主监督组") -> fe.SupervisionGroupFormed:
    return fe.SupervisionGroupFormed(group_id=group_id, name=name, year=year, leader=leader,
                                     members=members, department="u-scj", topic="优化营商环境",
                                     basis="《优化营商环境条例》")


def stream_of(event) -> str:
    return (f"consultation-{event.consultation_id}" if hasattr(event, "consultation_id")
            else f"supervision-{event.group_id}")


# -- the domain: what each event earns ----------------------------------------------------------

def credits_of(event, event_id: str = "e1", year: int = 2024) -> list[tuple]:
    return [(c.member_id, c.activity, c.credit_key, c.source_service, c.source_event_id, c.source_stream,
             c.year, c.note)
            for c in d.consultation_credits(event.type_name(), event.to_data(), event_id=event_id,
                                            stream=stream_of(event), year=year)]


def test_research_credits_each_member_once_per_research_record():
    got = credits_of(research("c1", "rs1", ["m-a", "m-b", "m-a"]))
    assert got == [
        ("m-a", "consultation_research", "consultation-research:rs1", "feedback", "e1", "consultation-c1",
         2024, "参加议前调研"),
        ("m-b", "consultation_research", "consultation-research:rs1", "feedback", "e1", "consultation-c1",
         2024, "参加议前调研")]
    # another research record of the same consultation: another key; the same one again: the same
    assert [c[2] for c in credits_of(research("c1", "rs2", ["m-a"]))] == ["consultation-research:rs2"]
    assert [c[2] for c in credits_of(research("c1", "rs1", ["m-a"]), event_id="e2")] == [
        "consultation-research:rs1"]
    assert credits_of(research("c1", "rs3", [])) == []


def test_a_meeting_credits_the_members_who_attended_once_per_consultation():
    got = credits_of(meeting("c1", ["m-a", "m-b"], absent=["m-c"]))
    assert [(c[0], c[1], c[2], c[6], c[7]) for c in got] == [
        ("m-a", "consultation_meeting", "consultation-meeting:c1", 2024, "参加协商议事会议《老旧小区停车难》"),
        ("m-b", "consultation_meeting", "consultation-meeting:c1", 2024, "参加协商议事会议《老旧小区停车难》")]
    assert "m-c" not in {c[0] for c in got}                           # planned but absent: nothing


def test_a_supervision_group_credits_its_leader_and_members_once_per_group():
    got = credits_of(group("g1", "m-l", ["m-a", "m-b", "m-a"]))
    assert [(c[0], c[1], c[2], c[7]) for c in got] == [
        ("m-l", "supervision_group", "supervision-group:g1", "参加民主监督组（营商环境民主监督组）"),
        ("m-a", "supervision_group", "supervision-group:g1", "参加民主监督组（营商环境民主监督组）"),
        ("m-b", "supervision_group", "supervision-group:g1", "参加民主监督组（营商环境民主监督组）")]
    assert {c[5] for c in got} == {"supervision-g1"}


def test_the_year_is_the_activitys_own():
    # recorded in January for a meeting held in December: the meeting's year
    assert {c[6] for c in credits_of(meeting("c1", ["m-a"], held_on="2024-12-30"), year=2025)} == {2024}
    assert {c[6] for c in credits_of(research("c1", "rs1", ["m-a"], held_on="2025-01-03"), year=2024)} == {2025}
    # a group formed in December for next year counts in its year
    assert {c[6] for c in credits_of(group("g1", "m-l", ["m-a"], year=2025), year=2024)} == {2025}


def test_other_feedback_events_earn_nothing_and_every_credit_is_a_known_activity():
    assert credits_of(fe.ConsultationFollowUpVisited(consultation_id="c1", visited_on="2024-06-01",
                                                     members=["m-a"], findings="已落实")) == []
    assert credits_of(fe.SupervisionFactFindingRecorded(group_id="g1", activity_id="a1", kind="site_visit",
                                                        held_on="2024-06-01", members=["m-a"],
                                                        findings="...")) == []
    assert set(d.CONSULTATION_CREDIT_EVENTS) <= set(fe.registry.names())
    for activity in ("consultation_research", "consultation_meeting", "supervision_group"):
        assert activity in d.ACTIVITIES and activity in d.DEFAULT_POINT_RULES
    assert (d.DEFAULT_POINT_RULES["consultation_research"], d.DEFAULT_POINT_RULES["consultation_meeting"],
            d.DEFAULT_POINT_RULES["supervision_group"]) == (2, 2, 3)


def test_the_ledger_keeps_one_entry_per_credit_key_priced_by_the_years_rules():
    rules = d.PointRules("640200", 2024, 1, {"consultation_meeting": 4, "supervision_group": 6})
    ledger = d.Ledger("m-a")
    first = d.award(ledger, d.consultation_credits(
        "ConsultationMeetingHeld", meeting("c1", ["m-a"]).to_data(), event_id="e1",
        stream="consultation-c1", year=2024), rules)
    assert [(e.activity, e.points, e.rules_version) for e in first] == [("consultation_meeting", 4, 1)]
    ledger = d.fold_ledger_on(ledger, first)
    again = d.consultation_credits("ConsultationMeetingHeld", meeting("c1", ["m-a"]).to_data(), event_id="e2",
                                   stream="consultation-c1", year=2024)
    assert d.award(ledger, again, rules) == []


# -- the service on the real RabbitMQ -------------------------------------------------------------

class FeedbackLog:
    """The feedback service's log, as far as these tests need it (see test_members_opinion_credits)."""

    def __init__(self, deployment, config):
        self.store = MemoryEventStore(deployment)
        self.config = config
        self.relay = Relay(self.store, config["AMQP_URI"], service="feedback")

    def record(self, event, *, at: datetime = WHEN, actor: Actor = FEEDBACK_STAFF) -> Envelope:
        stream = stream_of(event)
        [envelope] = self.store.append(stream, self.store.stream_version(stream), [NewEvent(
            event.type_name(), event.to_data(), actor, occurred_at=at, reason="协商议事")])
        return envelope

    def publish(self) -> None:
        self.relay.run_once()

    def republish(self, envelopes: list[Envelope]) -> None:
        """Again, with the same message ids (as a relay does after a crash)."""
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
    return sum(sum(entrypoint_of(members, name).outcomes.values()) for name in HANDLERS)


def failures(members) -> dict[str, int]:
    return {name: n for name in HANDLERS for outcome, n in entrypoint_of(members, name).outcomes.items()
            if outcome in ("retried", "dead_lettered", "malformed") and n}


def ledger(staff, member_id: str) -> dict[str, tuple[Any, ...]]:
    """The member's entries by credit key: (activity, points, year, source event id)."""
    return {e["credit_key"]: (e["activity"], e["points"], e["year"], e["source_event_id"])
            for e in staff.members.get_member(member_id)["ledger"]}


def awarded(members, member_id: str) -> list[str]:
    return [e.data["credit_key"] for e in store_of(members).read_stream(f"ledger-{member_id}")
            if e.type == "DutyPointsAwarded"]


def appoint(staff, *member_ids: str) -> None:
    staff.members.register_organisation("s-jj", "sector", "经济界")
    for m in member_ids:
        staff.members.appoint_member(m, f"委员{m[-4:]}", "经济界", "第十届")


@pytest.mark.rabbit
def test_consultations_and_supervision_groups_credit_their_members_by_the_years_rules(members, feedback, rpc_as):
    staff = rpc_as(STAFF)
    a, b, leader = uid("m-a"), uid("m-b"), uid("m-l")
    appoint(staff, a, b, leader)
    staff.members.set_point_rules(2024, {"consultation_research": 1, "consultation_meeting": 4,
                                         "supervision_group": 5})   # the whole table of 2024
    c1, rs1, rs2, g1 = uid("c"), uid("rs"), uid("rs"), uid("g")
    e_research = feedback.record(research(c1, rs1, [a, b]))
    e_research_2 = feedback.record(research(c1, rs2, [a]))
    e_meeting = feedback.record(meeting(c1, [a], absent=[b]))
    e_group = feedback.record(group(g1, leader, [a, b]))
    feedback.publish()

    wait_until(lambda: ledger(staff, a) == {
        f"consultation-research:{rs1}": ("consultation_research", 1, 2024, e_research.event_id),
        f"consultation-research:{rs2}": ("consultation_research", 1, 2024, e_research_2.event_id),
        f"consultation-meeting:{c1}": ("consultation_meeting", 4, 2024, e_meeting.event_id),
        f"supervision-group:{g1}": ("supervision_group", 5, 2024, e_group.event_id),
    }, what="the member's consultation and supervision credits")
    wait_until(lambda: ledger(staff, b) == {      # absent from the meeting: no meeting credit
        f"consultation-research:{rs1}": ("consultation_research", 1, 2024, e_research.event_id),
        f"supervision-group:{g1}": ("supervision_group", 5, 2024, e_group.event_id),
    }, what="the second member's credits")
    wait_until(lambda: ledger(staff, leader) == {
        f"supervision-group:{g1}": ("supervision_group", 5, 2024, e_group.event_id)}, what="the leader's credit")
    wait_until(lambda: settled(members) == 4, what="every feedback event to be settled")
    assert failures(members) == {}

    m_store = store_of(members)
    [entry] = [e for e in m_store.read_stream(f"ledger-{a}") if e.data["credit_key"] == f"consultation-meeting:{c1}"]
    assert (entry.data["source_service"], entry.data["source_stream"], entry.causation_id) == (
        "feedback", f"consultation-{c1}", e_meeting.event_id)
    # a one-member credit is tracked with its append
    assert m_store.is_processed("members.on_consultation_research_recorded", e_research_2.event_id)
    [year] = rpc_as(Actor(a, "member", "经济界")).members.get_dossier(a, 2024)["years"]
    assert year["total"] == 1 + 1 + 4 + 5
    assert {e["label"] for e in year["entries"]} == {"参加议前调研", "参加协商议事会议", "参加民主监督组"}


@pytest.mark.rabbit
def test_a_redelivered_or_repeated_consultation_event_credits_once(members, feedback, rpc_as):
    staff = rpc_as(STAFF)
    a, b, leader = uid("m-a"), uid("m-b"), uid("m-l")
    appoint(staff, a, b, leader)
    c1, rs1, g1 = uid("c"), uid("rs"), uid("g")
    first = [
        feedback.record(research(c1, rs1, [a])),                   # one member: tracked
        feedback.record(meeting(c1, [a, b])),                      # two members: by the keys
        feedback.record(group(g1, leader, [a, b])),
    ]
    feedback.publish()
    wait_until(lambda: settled(members) == len(first), what="the first deliveries")
    keys_a = [f"consultation-research:{rs1}", f"consultation-meeting:{c1}", f"supervision-group:{g1}"]
    wait_until(lambda: sorted(awarded(members, a)) == sorted(keys_a), what="the member's credits")
    wait_until(lambda: staff.members.get_member(a)["points"] == 2 + 2 + 3, what="the member's points")
    wait_until(lambda: staff.members.get_member(leader)["points"] == 3, what="the leader's points")

    # the same events delivered again (same event ids: a relay republishing after a crash)
    seen = settled(members)
    feedback.republish(first)
    wait_until(lambda: settled(members) == seen + len(first), what="the redeliveries to be settled")
    assert entrypoint_of(members, "on_consultation_research_recorded").outcomes["skipped"] == 1   # tracked

    # other events saying what was credited already: the same meeting and group recorded again
    seen = settled(members)
    repeats = [feedback.record(meeting(c1, [a, b])), feedback.record(group(g1, leader, [a, b]))]
    feedback.publish()
    wait_until(lambda: settled(members) == seen + len(repeats), what="the repeated events to be settled")
    assert failures(members) == {}
    assert sorted(awarded(members, a)) == sorted(keys_a)     # one DutyPointsAwarded per credit key
    assert sorted(awarded(members, b)) == sorted(keys_a[1:])
    assert awarded(members, leader) == [f"supervision-group:{g1}"]
    head = store_of(members).head()
    assert staff.members.get_member(a, after_position=head)["points"] == 2 + 2 + 3
    assert staff.members.get_member(b, after_position=head)["points"] == 2 + 3
    assert ledger(staff, a)[f"consultation-meeting:{c1}"][3] == first[1].event_id
