"""Reactions across services, on the real RabbitMQ: the proposals relay publishes, the members
and notify services consume, each effect once."""

from __future__ import annotations

import pytest
from kombu import Connection, Exchange, Producer
from nameko.exceptions import RemoteError

from services.members.service import MembersService
from services.notify.service import NotifyService
from services.proposals.service import ProposalsService
from xieshang.kernel.envelope import Actor

from .conftest import MEMBER, STAFF, UNIT, entrypoint_of, store_of, wait_until
from .test_proposals_directory import seed_directory

FIXED = "2024-03-01T09:00:00+08:00"
SUBMISSION = dict(title="关于加强工业遗存保护利用的提案", reasons="一批老厂房闲置，面临拆除。",
                  suggestions="建立工业遗存名录，引入文旅项目活化利用。", category="culture")


def test_a_filed_proposal_earns_its_proposer_points_exactly_once(container_factory, config, rpc_as):
    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": FIXED})
    members = container_factory(MembersService, config)
    proposals.start()
    members.start()
    staff, member = rpc_as(STAFF), rpc_as(MEMBER)
    staff.members.register_organisation("s-jjj", "sector", "经济界")
    staff.members.define_station("st-dwk", "大武口区委员工作站", "work_station", "township")
    staff.members.appoint_member(MEMBER.user_id, "李明", "经济界", "第十届", station="大武口区委员工作站")

    pid = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(pid)

    def points():
        return staff.members.get_member(MEMBER.user_id)["points"]
    assert wait_until(points, what="duty points for the filed proposal") == 5

    # The same event delivered again (a relay republishing after a crash, a lost ack): no effect.
    filed = store_of(proposals).read_stream(f"proposal-{pid}")[1]
    handler = entrypoint_of(members, "on_proposal_filed")
    seen = sum(handler.outcomes.values())
    with Connection(config["AMQP_URI"]) as conn:
        Producer(conn).publish(filed.to_json(), exchange=Exchange("proposals.events", type="topic"),
                               routing_key=filed.type, message_id=filed.event_id,
                               content_type="application/json", declare=[])
    wait_until(lambda: sum(handler.outcomes.values()) > seen, what="the redelivery to be handled")
    assert handler.outcomes["retried"] == handler.outcomes["dead_lettered"] == 0

    record = staff.members.get_member(MEMBER.user_id)
    assert record["points"] == 5
    # (the submission is credited too, with 0 points by default)
    [entry] = [e for e in record["ledger"] if e["activity"] == "proposal_filed"]
    assert (entry["activity"], entry["source_event_id"]) == ("proposal_filed", filed.event_id)
    ledger = [e for e in store_of(members).read_stream(f"ledger-{MEMBER.user_id}")
              if e.data["activity"] == "proposal_filed"]
    assert len(ledger) == 1
    assert ledger[0].causation_id == filed.event_id
    assert ledger[0].correlation_id == filed.correlation_id
    assert store_of(members).is_processed("members.on_proposal_filed", filed.event_id)
    [listed] = staff.members.list_members(after_position=ledger[0].position)["items"]
    assert (listed["member_id"], listed["points"]) == (MEMBER.user_id, 5)


def test_notify_queues_notices_for_proposer_and_units(container_factory, config, rpc_as):
    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": FIXED})
    proposals.start()
    seed_directory(proposals, members=[MEMBER.user_id], units=["mzj"])
    notify = container_factory(NotifyService, config)
    notify.start()
    staff, member, unit = rpc_as(STAFF), rpc_as(MEMBER), rpc_as(UNIT)

    pid = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(pid)
    staff.proposals.assign_proposal(pid, "mzj", deadline="2024-06-28")

    def inbox_kinds(client, user):
        return [n["kind"] for n in client.notify.inbox(user)["items"]]
    wait_until(lambda: inbox_kinds(unit, "mzj") == ["proposal_assigned_lead"], what="the unit's notice")
    wait_until(lambda: inbox_kinds(member, MEMBER.user_id) == ["proposal_assigned", "proposal_filed"],
               what="the proposer's notices")
    [notice] = unit.notify.inbox("mzj")["items"]
    assert "主办" in notice["body"] and "2024年6月28日" in notice["body"] and "2024-001" in notice["body"]
    assert notice["subject"] == f"proposal-{pid}"

    queued = store_of(notify).read_stream(f"notices-proposal-{pid}")
    assert [e.data["recipient"] for e in queued if e.type == "NotificationQueued"] == [
        MEMBER.user_id, "mzj", MEMBER.user_id]

    with pytest.raises(RemoteError) as err:  # someone else's inbox
        rpc_as(Actor("m-other", "member", "教育界")).notify.inbox(MEMBER.user_id)
    assert err.value.exc_type == "NotAllowed"
