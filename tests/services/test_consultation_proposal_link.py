"""A consultation's result becomes a collective proposal 协商成果转集体提案 and the two name each other:
the proposals service takes up the feedback service's ConsultationResultConverted (into
"proposal") as the collective proposal of its body, source ``consultation:<id>``, and says so
(ProposalTakenUpFromConsultation); the feedback service links the consultation to it
(ConsultationLinkedToProposal). Pure decisions first, then both services on the real RabbitMQ,
each event delivered twice and taken up once.

The conversion is recorded straight into the feedback service's store (its RPC is tested with
the consultations, tests/services/test_consultations_service.py): the service's relay publishes
it as it publishes every event it records."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime

import pytest

from services.feedback import consultation_links
from services.feedback.domain import events as fe
from services.proposals import domain as pd
from services.proposals.domain.commands import CloseProposal, FileProposal, TakeUpConsultationResult
from services.proposals.domain.state import HandlingRound
from services.members.domain import CaseNotes, note_case, proposal_credits
from xieshang.kernel.domain import InvalidCommand
from xieshang.kernel.envelope import Actor, Envelope, NewEvent

from .conftest import STAFF, entrypoint_of, store_of, wait_until

CONVERTER = Actor("staff-xs-001", "staff", "协商议事科")
BODY = {"type": "special_committee", "name": "社会和法制委员会"}
CONTENT = "老旧小区停车位严重不足，群众反映强烈。\n\n建议统筹利用闲置地块建设公共停车场。"


def take_up(consultation_id: str = "c1", **changes) -> TakeUpConsultationResult:
    return TakeUpConsultationResult.parse(**{
        "consultation_id": consultation_id, "title": "关于破解老旧小区停车难的提案", "content": CONTENT,
        "category": "society", "body": BODY, "converted_by": CONVERTER.user_id, **changes})


# -- the decisions ------------------------------------------------------------------------------

def test_a_consultations_result_becomes_the_collective_proposal_of_its_body_once():
    pid = pd.consultation_proposal_id("ev-1")
    assert pid == pd.consultation_proposal_id("ev-1") != pd.consultation_proposal_id("ev-2")
    submitted, taken = pd.take_up_consultation_result(pd.Proposal(proposal_id=pid), take_up(),
                                                      source_event_id="ev-1", session="2024")
    assert (submitted.kind, submitted.body, submitted.source, submitted.proposer, submitted.session) == (
        "collective", BODY, "consultation:c1", CONVERTER.user_id, "2024")
    assert (submitted.reasons, submitted.suggestions) == ("老旧小区停车位严重不足，群众反映强烈。",
                                                           "建议统筹利用闲置地块建设公共停车场。")
    assert (taken.proposal_id, taken.consultation_id, taken.source_event_id, taken.body) == (
        pid, "c1", "ev-1", BODY)
    state = pd.fold(pid, [submitted, taken])
    assert (state.status, state.source, state.consultation_id) == ("submitted", "consultation:c1", "c1")
    assert pd.take_up_consultation_result(state, take_up(), source_event_id="ev-1", session="2024") == []
    # one paragraph: reasons and suggestions both; a category the proposals do not have: other
    [one, _] = pd.take_up_consultation_result(pd.Proposal(proposal_id=pid), take_up(content="建议增设停车位。",
                                                                                     category="livelihood"),
                                              source_event_id="ev-1", session="2024")
    assert (one.reasons, one.suggestions, one.category) == ("建议增设停车位。", "建议增设停车位。", "other")
    # a one-character first part would be too short for the reasons: the whole content for both
    [short, _] = pd.take_up_consultation_result(pd.Proposal(proposal_id=pid), take_up(content="一\n\n建议增设停车位。"),
                                                source_event_id="ev-1", session="2024")
    assert short.reasons == short.suggestions == "一\n\n建议增设停车位。"


def test_a_result_without_a_proper_body_is_refused_naming_the_body():
    for body in (None, {"type": "township", "name": "永和镇"}, {"type": "sector", "name": ""}):
        with pytest.raises(InvalidCommand) as refused:
            pd.take_up_consultation_result(pd.Proposal(proposal_id="p1"), take_up(body=body),
                                           source_event_id="ev-1", session="2024")
        assert "body" in refused.value.fields


def test_the_proposal_keeps_its_source_and_its_submission_earns_nobody_duty_points():
    pid = pd.consultation_proposal_id("ev-1")
    state = pd.fold(pid, pd.take_up_consultation_result(pd.Proposal(proposal_id=pid), take_up(),
                                                        source_event_id="ev-1", session="2024"))
    [filed] = pd.file_proposal(STAFF, state, FileProposal.parse(proposal_id=pid),
                               case_number="2024-001", today=datetime(2024, 5, 1).date())
    assert (filed.kind, pd.fold(pid, [*pd.take_up_consultation_result(
        pd.Proposal(proposal_id=pid), take_up(), source_event_id="ev-1", session="2024"), filed]).source) == (
        "collective", "consultation:c1")
    submitted_data = {"proposal_id": pid, "proposer": CONVERTER.user_id, "title": "t", "kind": "collective",
                      "source": "consultation:c1"}
    assert proposal_credits("ProposalSubmitted", submitted_data, event_id="e1", stream="s", year=2024) == []
    assert note_case(CaseNotes(pid), "ProposalSubmitted", submitted_data, event_id="e1", stream="s",
                     year=2024) == []
    # a member's own proposal still earns its points (the filing of a collective proposal only
    # for a member: the members service checks, see the service test below)
    assert [c.activity for c in proposal_credits("ProposalSubmitted", {**submitted_data, "source": None},
                                                 event_id="e1", stream="s", year=2024)] == ["proposal_submitted"]


def test_a_proposal_from_a_consultation_closes_without_a_members_rating():
    # its proposer is the staff member who converted it: no member rates the reply; the
    # consultation's follow-up visit and survey 回访 are how its result is followed
    pid = pd.consultation_proposal_id("ev-1")
    state = pd.fold(pid, pd.take_up_consultation_result(pd.Proposal(proposal_id=pid), take_up(),
                                                        source_event_id="ev-1", session="2024"))
    replied = dataclasses.replace(state, status="replied", rounds=(HandlingRound(
        number=1, lead_unit="mzj", co_units=(), started_on="2024-05-01", deadline="2024-08-01", period_days=90,
        counting="calendar", reply_class="A", reply="已办理", replied_on="2024-06-01"),))
    [closed] = pd.close_proposal(STAFF, replied, CloseProposal.parse(proposal_id=pid))
    assert (closed.proposal_id, closed.proposers) == (pid, [CONVERTER.user_id])


def test_the_consultation_links_each_proposal_once():
    linked = consultation_links.linked_proposals([])
    [link] = consultation_links.link_to_proposal(linked, consultation_id="c1", proposal_id="p1",
                                                 source_event_id="pe-1")
    assert (link.consultation_id, link.proposal_id, link.source_event_id) == ("c1", "p1", "pe-1")
    assert consultation_links.link_to_proposal(consultation_links.linked_proposals([link]), consultation_id="c1",
                                               proposal_id="p1", source_event_id="pe-2") == []
    assert consultation_links.TAKEN_UP in pd.registry.names()


# -- both services on the real RabbitMQ -------------------------------------------------------------

def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def record(store, stream: str, event) -> Envelope:
    [envelope] = store.append(stream, store.stream_version(stream), [NewEvent(
        event.type_name(), event.to_data(), CONVERTER, occurred_at=datetime.fromisoformat("2024-07-01T10:00:00+08:00"),
        reason="协商成果转化")])
    return envelope


def republish(config, service: str, envelopes: list[Envelope]) -> None:
    """Again, with the same message ids (as a relay does after a crash)."""
    from kombu import Connection, Producer
    from nameko.standalone.events import get_event_exchange

    with Connection(config["AMQP_URI"]) as conn:
        producer = Producer(conn)
        for e in envelopes:
            producer.publish(e.to_json(), exchange=get_event_exchange(service, config), routing_key=e.type,
                             message_id=e.event_id, content_type="application/json", declare=[])


@pytest.mark.rabbit
def test_a_converted_result_becomes_a_collective_proposal_linked_back_once(container_factory, config, rpc_as):
    from services.feedback.service import FeedbackService
    from services.members.service import MembersService
    from services.proposals.service import ProposalsService

    members = container_factory(MembersService, config)
    proposals = container_factory(ProposalsService, config)
    feedback = container_factory(FeedbackService, config)
    for c in (members, proposals, feedback):
        c.start()
    f_store, p_store = store_of(feedback), store_of(proposals)
    c = uid("c")
    stream = f"consultation-{c}"
    record(f_store, stream, fe.ConsultationTopicProposed(
        consultation_id=c, title="老旧小区停车难", description="停车位不足", topic_kind="livelihood",
        source="residents", proposer=CONVERTER.user_id, proposer_role="staff"))
    as_report = record(f_store, stream, fe.ConsultationResultConverted(   # not for the proposals service
        consultation_id=c, into="opinion_report", title="关于停车难的建议", content="…" * 20, category="society",
        target_id=uid("r")))
    converted = record(f_store, stream, fe.ConsultationResultConverted(
        consultation_id=c, into="proposal", title="关于破解老旧小区停车难的提案", content=CONTENT,
        category="society", body=BODY))
    pid = pd.consultation_proposal_id(converted.event_id)
    staff = rpc_as(STAFF)

    def links() -> list[Envelope]:
        return [e for e in f_store.read_stream(stream) if e.type == "ConsultationLinkedToProposal"]

    wait_until(lambda: len(links()) == 1, what="the consultation linked to its proposal")
    case = staff.proposals.get_proposal(pid)
    assert (case["status"], case["kind"], case["body"], case["source"], case["consultation_id"], case["title"],
            case["proposer"], case["session"]) == (
        "submitted", "collective", BODY, f"consultation:{c}", c, "关于破解老旧小区停车难的提案",
        CONVERTER.user_id, "2024")
    proposal_events = p_store.read_stream(f"proposal-{pid}")
    assert [e.type for e in proposal_events] == ["ProposalSubmitted", "ProposalTakenUpFromConsultation"]
    taken = proposal_events[1]
    assert taken.causation_id == converted.event_id and taken.actor.role == "system"
    [link] = links()
    assert link.data == {"consultation_id": c, "proposal_id": pid, "source_event_id": taken.event_id}
    assert link.causation_id == taken.event_id
    assert entrypoint_of(proposals, "on_consultation_result_converted").outcomes["handled"] == 2  # the report's too
    # a result converted into an opinion report is not the proposals service's
    assert p_store.stream_version(f"proposal-{pd.consultation_proposal_id(as_report.event_id)}") == 0

    # each event delivered again (a relay republishing after a crash): nothing twice
    republish(config, "feedback", [converted])
    republish(config, "proposals", [taken])
    wait_until(lambda: entrypoint_of(proposals, "on_consultation_result_converted").outcomes["skipped"] == 1
               and entrypoint_of(feedback, "on_proposal_taken_up_from_consultation").outcomes["skipped"] == 1,
               what="the redeliveries to be skipped")
    # another proposals event naming the same proposal links nothing twice
    again = record(p_store, f"proposal-{pid}", pd.ProposalTakenUpFromConsultation(
        proposal_id=pid, consultation_id=c, source_event_id=converted.event_id, title="…", body=BODY))
    wait_until(lambda: entrypoint_of(feedback, "on_proposal_taken_up_from_consultation").outcomes["handled"] == 2,
               what="the repeated event to be handled")
    assert again.event_id != taken.event_id
    assert len(links()) == 1
    assert [e.type for e in p_store.read_stream(f"proposal-{pid}")].count("ProposalSubmitted") == 1

    # the proposal goes on as any other; the staff member who converted it earns no duty points
    staff.proposals.file_proposal(pid)
    wait_until(lambda: entrypoint_of(members, "on_proposal_filed").outcomes["handled"] >= 1,
               what="the members service to take the filing")
    assert store_of(members).stream_version(f"ledger-{CONVERTER.user_id}") == 0
