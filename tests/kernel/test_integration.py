"""The integration contract's mapping and the feed's paging (no broker, no database)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from services.feedback.domain.events import PUBLICATION as FEEDBACK
from services.gateway.domain.events import PUBLICATION as GATEWAY
from services.gateway.feed import BadCursor, decode_cursor, encode_cursor, read_feed
from services.members.domain.events import PUBLICATION as MEMBERS
from services.notify.domain.events import PUBLICATION as NOTIFY
from services.proposals.domain.events import PUBLICATION as PROPOSALS
from xieshang.kernel.domain import DomainEvent, EventRegistry
from xieshang.kernel.envelope import Actor, Deployment, NewEvent
from xieshang.kernel.integration import (Publication, PublicationError,
                                         decode_cloud_event, feed_page, type_matches)
from xieshang.kernel.store.memory import MemoryEventStore

ALL = (PROPOSALS, MEMBERS, FEEDBACK, NOTIFY, GATEWAY)
DEPLOYMENT = Deployment("640200", "city")
STAFF = Actor("staff-01", "staff", "szs-zxb")


@pytest.mark.parametrize("publication", ALL, ids=lambda p: p.service)
def test_every_event_type_is_declared_public_or_private_with_a_reason(publication):
    publication.check()
    assert set(publication.public) | set(publication.private) == set(publication.registry.names())


def test_what_must_never_leave_is_private():
    for name in ("ReplyRated", "CommentSubmitted", "CommentAnswered", "ProposalSubmitted"):
        assert not PROPOSALS.is_public(name)
    for name in ("ContactDetailsChanged", "OrganisationContactChanged", "DutyPointsAwarded"):
        assert not MEMBERS.is_public(name)
    assert set(NOTIFY.public) == set(GATEWAY.public) == {"LogCheckpointed"}  # hashes and signatures
    assert "OpinionReportSubmitted" in FEEDBACK.private
    assert "cpc_member" in MEMBERS.public["MemberAppointed"]
    # consultations (issue 17): what residents said and who attended (with the plan's participants:
    # who was absent) stay here, as do who raised a topic, topics not yet approved, working notes
    assert {"members", "absent_members", "speakers", "opinions"} <= set(FEEDBACK.public["ConsultationMeetingHeld"])
    assert "note" in FEEDBACK.public["SupervisionEffectVerified"]
    for name in ("ConsultationTopicProposed", "ConsultationTopicDecided", "ConsultationTopicSetAside",
                 "ConsultationTopicRejected", "ConsultationResearchRecorded", "SupervisionFactFindingRecorded"):
        assert name in FEEDBACK.private


def test_an_undeclared_type_or_a_private_type_without_reason_is_refused():
    registry = EventRegistry()

    @registry.register
    class Thing(DomainEvent):
        a: str

    with pytest.raises(PublicationError, match="neither public nor private"):
        Publication("x", registry, public={}, private={}).check()
    with pytest.raises(PublicationError, match="needs its reason"):
        Publication("x", registry, public={}, private={"Thing": " "})
    with pytest.raises(PublicationError, match="unknown fields"):
        Publication("x", registry, public={"Thing": frozenset({"b"})}, private={}).check()


def _filed(store, n: int, at: datetime) -> None:
    store.append(f"proposal-{n}", 0, [
        NewEvent("ProposalSubmitted", {"proposal_id": f"p{n}", "proposer": "m1", "title": "t",
                                       "reasons": "r", "suggestions": "s", "category": "economy"},
                 STAFF, occurred_at=at),
        NewEvent("ProposalFiled", {"proposal_id": f"p{n}", "case_number": f"{n}", "proposer": "m1",
                                   "title": "t", "category": "economy"}, STAFF, occurred_at=at)])


def test_a_public_event_is_a_valid_cloud_event_and_a_private_one_is_nothing():
    store = MemoryEventStore(DEPLOYMENT)
    _filed(store, 1, datetime(2026, 3, 1, 8, tzinfo=timezone.utc))
    submitted, filed = store.read_all()
    assert PROPOSALS.cloud_event(submitted) is None and PROPOSALS.outgoing(submitted) == []
    [message] = PROPOSALS.outgoing(filed)
    event = decode_cloud_event(message.body)  # parsed and checked by the CloudEvents SDK
    assert event["type"] == "cn.gov.cppcc.proposals.ProposalFiled.v1" == message.routing_key
    assert event["id"] == filed.event_id == message.message_id
    assert event["source"] == "urn:cppcc:640200" and event["subject"] == "proposal-1"
    assert event["time"] == "2026-03-01T08:00:00.000000Z"
    assert event["xsposition"] == 2 and event["xshash"] == filed.hash
    assert event["data"]["case_number"] == "1" and "staff-01" not in message.body.decode()


def test_type_patterns_are_whole_dotted_parts():
    t = "cn.gov.cppcc.proposals.ProposalFiled.v1"
    assert type_matches(t, ["cn.gov.cppcc.proposals"]) and type_matches(t, [t])
    assert type_matches(t, ["cn.gov.cppcc.proposals.ProposalFiled"])
    assert not type_matches(t, ["cn.gov.cppcc.prop"]) and not type_matches(t, ["cn.gov.cppcc.members"])


def test_a_week_offline_the_feed_gives_every_public_event_once_in_each_logs_order():
    """Three logs, 30,000 events between them (half private), appended interleaved in time;
    a subscriber follows ``next`` 200 at a time: every public event once, none private."""
    rng = random.Random(16)
    start = datetime(2026, 11, 23, tzinfo=timezone.utc)
    moments = iter(start + timedelta(seconds=i) for i in range(100_000))
    stores = {s: MemoryEventStore(DEPLOYMENT, clock=lambda: next(moments))
              for s in ("proposals", "members", "feedback")}
    for n in range(7_500):
        for service in rng.sample(list(stores), 2):
            _filed(stores[service], n, start)
    public = {e.event_id for s in stores.values() for e in s.read_all() if e.type == "ProposalFiled"}
    assert len(public) == 15_000

    def page_of(service: str, after: int) -> dict:
        if service not in stores:
            return {"service": service, "events": [], "next": after, "head": 0}
        return feed_page(stores[service], PROPOSALS_AS[service], after, None, 200)

    seen, cursor, pages = [], None, 0
    while True:
        page = read_feed(cursor, None, 200, page_of)
        seen += page["events"]
        cursor, pages = page["next"], pages + 1
        assert len(page["events"]) <= 200
        if page["caught_up"]:
            break
    ids = [e["id"] for e in seen]
    assert len(ids) == len(set(ids)) == 15_000 and set(ids) == public
    for service in stores:
        positions = [e["xsposition"] for e in seen if e["xsservice"] == service]
        assert positions == sorted(positions)
    # caught up: the same cursor gives nothing more, and new events come after it
    assert read_feed(cursor, None, 200, page_of)["events"] == []
    _filed(stores["members"], 99_999, start)
    more = read_feed(cursor, None, 200, page_of)
    assert [e["data"]["case_number"] for e in more["events"]] == ["99999"]


PROPOSALS_AS = {s: Publication(s, PROPOSALS.registry, public=dict(PROPOSALS.public),
                               private=dict(PROPOSALS.private)) for s in ("proposals", "members", "feedback")}


def test_a_cursor_names_positions_and_nothing_else_passes():
    assert decode_cursor(encode_cursor({"proposals": 12, "members": 0})) == {"proposals": 12}
    assert decode_cursor(None) == {}
    for bad in ("v1.", "v2.e30", "v1.!!!", encode_cursor({"proposals": 1})[:-2] + "zz",
                "v1." + "eyJ4Ijo1fQ"):  # {"x":5}: not a service
        with pytest.raises(BadCursor):
            decode_cursor(bad)
