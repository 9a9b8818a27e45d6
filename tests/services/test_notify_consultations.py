"""Notices of consultations 协商议事 and democratic supervision groups 民主监督组: who is told what
(the rules, pure), and the notify service telling them on the real RabbitMQ, with names, once.

The service test stands in for the feedback service with a log of its own (the events built from
its published contract, services/feedback/domain/events.py), published through the kernel's relay
to ``feedback.events`` and again by hand with the same message ids, as a relay does after a crash;
the members service is real (the directory the texts' names come from)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from services.feedback.domain import events as fe
from services.notify import domain
from services.notify.domain.events import NotificationQueued
from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.envelope import Actor, Envelope, NewEvent

from .conftest import STAFF, entrypoint_of, store_of, wait_until

NOW = datetime(2024, 3, 1, 9, 0, tzinfo=SHANGHAI).astimezone(timezone.utc)
NAMES = {"m-1": "李明", "m-2": "王芳", "m-3": "张伟", "zjj": "住建局", "scj": "市场监管局", "leader-1": "刘书记"}
OFFICE = "proposal-committee"

PLANNED = dict(consultation_id="c1", title="老旧小区停车难", held_on="2024-03-20", place="st-yh",
               place_name="永和民生议事堂", place_type="livelihood_hall", township="t-yh", members=["m-1", "m-2"],
               departments=["zjj"], residents=12, stakeholders=["物业公司"], agenda="一、通报情况；二、协商议事",
               revision=1)
GROUP = dict(group_id="g1", name="营商环境民主监督组", year=2024, leader="m-3", members=["m-1", "m-2"],
             department="scj", topic="优化营商环境", basis="《优化营商环境条例》")


class Stream:
    """A consultation's or a group's notices stream, fed event by event as the service would."""

    def __init__(self, subject: str, names=NAMES, locale: str = "zh-CN"):
        self.subject, self.names, self.locale = subject, names, locale
        self.events: list = []
        self.n = 0

    def feed(self, event_type: str, *, event_id: str | None = None, **data) -> list:
        self.n += 1
        out = domain.notices_for(domain.fold(self.events), service="feedback", event_type=event_type, data=data,
                                 subject=self.subject, source_event_id=event_id or f"e{self.n}", office=OFFICE,
                                 now=NOW, names=self.names.get,
                                 preference=lambda r, k: domain.Preference(locale=self.locale),
                                 channels=("email",))
        self.events += out
        return out

    @staticmethod
    def told(out: list) -> dict[str, str]:
        return {e.recipient: e.kind for e in out if isinstance(e, NotificationQueued)}

    @staticmethod
    def bodies(out: list) -> dict[str, str]:
        return {e.recipient: e.body for e in out if isinstance(e, NotificationQueued)}


# -- the rules ----------------------------------------------------------------------------------

def test_the_participants_are_invited_told_of_a_changed_plan_and_reminded():
    c = Stream("consultation-c1")
    out = c.feed("ConsultationPlanned", **PLANNED)
    assert Stream.told(out) == {"m-1": "consultation_invited", "m-2": "consultation_invited",
                                "zjj": "consultation_invited"}
    body = Stream.bodies(out)["m-1"]
    assert "老旧小区停车难" in body and "永和民生议事堂" in body and "2024年3月20日" in body
    assert "st-yh" not in body
    out = c.feed("ConsultationPlanned", **{**PLANNED, "held_on": "2024-03-22", "members": ["m-1", "m-3"],
                                           "revision": 2})
    assert Stream.told(out) == {"m-1": "consultation_plan_changed", "m-3": "consultation_plan_changed",
                                "zjj": "consultation_plan_changed"}
    out = c.feed("ConsultationMeetingDueSoon", consultation_id="c1", title="老旧小区停车难", held_on="2024-03-22",
                 place_name="永和民生议事堂", days_before=2, members=["m-1", "m-3"], departments=["zjj"], revision=2)
    assert Stream.told(out) == {"m-1": "consultation_meeting_due_soon", "m-3": "consultation_meeting_due_soon",
                                "zjj": "consultation_meeting_due_soon"}
    assert "还有 2 天" in Stream.bodies(out)["zjj"]


def test_a_follow_up_task_reaches_its_unit_and_when_late_those_above_and_staff():
    c = Stream("consultation-c1")
    task = dict(consultation_id="c1", task_id="t1", unit="zjj", title="老旧小区停车难")
    out = c.feed("FollowUpTaskAssigned", **task, outcome="利用闲置地块建设停车场", task="完成选址",
                 deadline="2024-05-31")
    assert Stream.told(out) == {"zjj": "follow_up_task_assigned"}
    assert "利用闲置地块建设停车场" in Stream.bodies(out)["zjj"] and "完成选址" in Stream.bodies(out)["zjj"]
    assert Stream.told(c.feed("FollowUpTaskDueSoon", **task, deadline="2024-05-31", days_before=3)) == {
        "zjj": "follow_up_task_due_soon"}
    out = c.feed("FollowUpTaskOverdue", **task, deadline="2024-05-31", days_overdue=2,
                 escalate_to=["leader-1", "leader-1"])
    assert Stream.told(out) == {"zjj": "follow_up_task_overdue", "leader-1": "follow_up_task_overdue_escalated",
                                OFFICE: "follow_up_task_overdue_escalated"}
    escalation = Stream.bodies(out)["leader-1"]
    assert "住建局" in escalation and "逾期 2 天" in escalation and "zjj" not in escalation


def test_a_supervision_group_its_department_and_the_leader_on_a_late_report_are_told():
    g = Stream("supervision-g1")
    out = g.feed("SupervisionGroupFormed", **GROUP)
    assert Stream.told(out) == {"m-3": "supervision_group_formed", "m-1": "supervision_group_formed",
                                "m-2": "supervision_group_formed"}
    bodies = Stream.bodies(out)
    assert "组长" in bodies["m-3"] and "成员" in bodies["m-1"] and "市场监管局" in bodies["m-1"]
    assert "scj" not in bodies["m-1"]
    opinion = dict(group_id="g1", opinion_id="o1", department="scj", title="营商环境民主监督组")
    out = g.feed("SupervisionOpinionIssued", **opinion, text="简化开办企业流程", deadline="2024-06-30",
                 issued_on="2024-04-01")
    assert Stream.told(out) == {"scj": "supervision_opinion_issued"}
    assert Stream.told(g.feed("SupervisionHandlingDueSoon", **opinion, deadline="2024-06-30", days_before=3)) == {
        "scj": "supervision_handling_due_soon"}
    out = g.feed("SupervisionHandlingOverdue", **opinion, deadline="2024-06-30", days_overdue=1,
                 escalate_to=["m-3"])
    assert Stream.told(out) == {"scj": "supervision_handling_overdue", "m-3": "supervision_handling_overdue_escalated",
                                OFFICE: "supervision_handling_overdue_escalated"}
    assert "市场监管局" in Stream.bodies(out)["m-3"]


def test_unknown_parties_are_written_as_what_they_are_in_the_recipients_language_and_each_cause_once():
    g = Stream("supervision-g1", names={}, locale="en")
    out = g.feed("SupervisionGroupFormed", event_id="e-formed", **GROUP)
    body = Stream.bodies(out)["m-1"]
    assert "a member" in body and "the unit" in body and "scj" not in body
    assert Stream.told(g.feed("SupervisionGroupFormed", event_id="e-formed", **GROUP)) == {}   # the same cause
    c = Stream("consultation-c1", locale="en")
    [notice] = [e for e in c.feed("FollowUpTaskOverdue", consultation_id="c1", task_id="t1", unit="zjj",
                                  deadline="2024-05-31", days_overdue=2, title="老旧小区停车难",
                                  escalate_to=["zjj"]) if isinstance(e, NotificationQueued) and e.recipient == OFFICE]
    assert notice.title == "Overdue follow-up task (supervision)" and "31 May 2024" in notice.body
    # events the notices do not react to tell nobody
    assert Stream.told(c.feed("ConsultationFollowUpVisited", consultation_id="c1", visited_on="2024-06-01",
                              members=["m-1"], findings="已落实")) == {}


def test_every_event_reacted_to_is_one_of_the_feedback_services():
    assert set(domain.REACTS_TO["feedback"]) <= set(fe.registry.names())


# -- the service on the real RabbitMQ -------------------------------------------------------------

WHEN = datetime.fromisoformat("2024-03-01T10:00:00+08:00")
PEOPLE = {"m-li": "李明", "m-wang": "王芳", "m-zhang": "张伟"}
UNITS = {"zjj": "市住建局", "scj": "市市场监管局"}


class FeedbackLog:
    """The feedback service's log, as far as this test needs it (see test_members_opinion_credits)."""

    def __init__(self, deployment, config):
        from xieshang.kernel.relay import Relay
        from xieshang.kernel.store.memory import MemoryEventStore

        self.store = MemoryEventStore(deployment)
        self.config = config
        self.relay = Relay(self.store, config["AMQP_URI"], service="feedback")

    def record(self, stream: str, event) -> Envelope:
        [envelope] = self.store.append(stream, self.store.stream_version(stream), [NewEvent(
            event.type_name(), event.to_data(), Actor("staff-xs-001", "staff", "协商议事科"), occurred_at=WHEN,
            reason="协商议事")])
        return envelope

    def publish(self) -> None:
        self.relay.run_once()

    def republish(self, envelopes: list[Envelope]) -> None:
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


def inbox(rpc_as, party: str) -> list[dict]:
    reader = rpc_as(Actor(party, "member", "经济界")) if party in PEOPLE else rpc_as(STAFF)
    return reader.notify.inbox(party, limit=500)["items"]


def told(rpc_as, expected: dict[str, list[str]]) -> None:
    def now():
        return {p: sorted(n["kind"] for n in inbox(rpc_as, p)) for p in expected}
    want = {p: sorted(k) for p, k in expected.items()}
    wait_until(lambda: now() == want, timeout=20, what=f"the notices {want} (have {now()})")


@pytest.mark.rabbit
def test_consultation_and_supervision_notices_reach_everyone_by_name_once(container_factory, config, rpc_as):
    from services.members.service import MembersService
    from services.notify.service import NotifyService

    members = container_factory(MembersService, config)
    notify = container_factory(NotifyService, config)
    members.start()
    notify.start()
    staff = rpc_as(STAFF)
    staff.members.register_organisation("proposal-committee", "special_committee", "政协提案委员会")
    for uid, name in UNITS.items():
        staff.members.register_organisation(uid, "handling_unit", name)
    staff.members.register_organisation("s-jjj", "sector", "经济界")
    for mid, name in PEOPLE.items():
        staff.members.appoint_member(mid, name, "经济界", "第十届")
    n_store = store_of(notify)
    wait_until(lambda: all(n_store.stream_version(f"directory-{p}") > 0 for p in [*PEOPLE, *UNITS]),
               what="the notify directory")

    log = FeedbackLog(store_of(members).deployment, config)
    try:
        c, g = f"c-{uuid.uuid4().hex[:8]}", f"g-{uuid.uuid4().hex[:8]}"
        sent = [
            log.record(f"consultation-{c}", fe.ConsultationPlanned(**{
                **PLANNED, "consultation_id": c, "members": ["m-li", "m-wang"], "departments": ["zjj"]})),
            log.record(f"consultation-{c}", fe.FollowUpTaskAssigned(
                consultation_id=c, task_id="t1", unit="zjj", outcome="利用闲置地块建设停车场", task="完成选址",
                deadline="2024-05-31", title="老旧小区停车难")),
            log.record(f"consultation-{c}", fe.FollowUpTaskOverdue(
                consultation_id=c, task_id="t1", unit="zjj", deadline="2024-05-31", days_overdue=2,
                title="老旧小区停车难", escalate_to=["m-zhang"])),
            log.record(f"supervision-{g}", fe.SupervisionGroupFormed(**{
                **GROUP, "group_id": g, "leader": "m-zhang", "members": ["m-li"], "department": "scj"})),
            log.record(f"supervision-{g}", fe.SupervisionOpinionIssued(
                group_id=g, opinion_id="o1", department="scj", text="简化开办企业流程", deadline="2024-06-30",
                issued_on="2024-04-01", title="营商环境民主监督组")),
        ]
        log.publish()
        expected = {"m-li": ["consultation_invited", "supervision_group_formed"],
                    "m-wang": ["consultation_invited"],
                    "m-zhang": ["follow_up_task_overdue_escalated", "supervision_group_formed"],
                    "zjj": ["consultation_invited", "follow_up_task_assigned", "follow_up_task_overdue"],
                    "scj": ["supervision_opinion_issued"],
                    "proposal-committee": ["follow_up_task_overdue_escalated"]}
        told(rpc_as, expected)
        [escalated] = [n for n in inbox(rpc_as, "m-zhang") if n["kind"] == "follow_up_task_overdue_escalated"]
        assert "市住建局" in escalated["body"] and "zjj" not in escalated["body"]
        [formed] = [n for n in inbox(rpc_as, "m-li") if n["kind"] == "supervision_group_formed"]
        assert "市市场监管局" in formed["body"] and "营商环境民主监督组" in formed["body"]
        assert formed["subject"] == f"supervision-{g}"

        # the same events again (a relay republishing after a crash): nothing is queued twice
        handlers = [f"on_{name}" for name in ("consultation_planned", "follow_up_task_assigned",
                                              "follow_up_task_overdue", "supervision_group_formed",
                                              "supervision_opinion_issued")]
        seen = sum(entrypoint_of(notify, h).outcomes["skipped"] for h in handlers)
        log.republish(sent)
        wait_until(lambda: sum(entrypoint_of(notify, h).outcomes["skipped"] for h in handlers) == seen + len(sent),
                   what="the redeliveries to be skipped")
        told(rpc_as, expected)
        queued = [e for e in n_store.read_all() if e.type == "NotificationQueued"]
        assert len(queued) == len({e.data["notification_id"] for e in queued}) == sum(map(len, expected.values()))
    finally:
        log.close()
