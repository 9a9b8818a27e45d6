"""The proposals service's directory 名录 on the real RabbitMQ: it learns members, units and bodies
from the members service's events, refuses ids it does not know (naming the field), publishes
only the names of proposers who consented; and what the system records in reaction to an event
(a new round, the survivor's side of a merge, a directory entry) it records as ``system``, caused
by that event.

``seed_directory`` is the helper other service tests use: it records the directory entries in the
proposals service's own store, as its consumer would, without a members service (fast and
deterministic); the tests here go through the members service and wait on the directory.
"""

from __future__ import annotations

import itertools
import uuid

import pytest
from nameko.exceptions import RemoteError

from services.members.service import MembersService
from services.proposals import domain
from services.proposals.service import ProposalsService
from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import SYSTEM_ACTOR, Actor, NewEvent

from .conftest import MEMBER, STAFF, UNIT, store_of, wait_until

START = "2024-03-01T09:00:00+08:00"
SUBMISSION = dict(title="关于构建全民健身服务体系的提案", reasons="社区健身场地不足，器材老化。",
                  suggestions="利用闲置地块建设口袋公园和健身步道。", category="society")
_positions = itertools.count(1)


def seed_directory(container, members=(), units=(), bodies=()) -> None:
    """Make ``members`` (ids, or (id, name)), ``units`` (ids, or (id, name)) and ``bodies``
    ((org_id, kind, name)) known to a running proposals container, as its directory consumer
    records them from the members service's events."""
    store = store_of(container)

    def note(entry_id: str, kind: str, name: str) -> None:
        stream = domain.directory_stream(entry_id)
        fact = domain.DirectoryEntryNoted(entry_id=entry_id, source_type="seeded",
                                          source_event_id=uuid.uuid4().hex,
                                          source_position=next(_positions), kind=kind, name=name,
                                          active=True)
        store.append(stream, store.stream_version(stream), [NewEvent(
            type=fact.type_name(), data=fact.to_data(), actor=SYSTEM_ACTOR)])

    for m in members:
        member_id, name = (m, f"委员{m}") if isinstance(m, str) else m
        note(member_id, "member", name)
    for u in units:
        unit_id, name = (u, f"单位{u}") if isinstance(u, str) else u
        note(unit_id, "handling_unit", name)
    for org_id, kind, name in bodies:
        note(org_id, kind, name)


def refusal(call, *args, **kwargs) -> RemoteError:
    with pytest.raises(RemoteError) as err:
        call(*args, **kwargs)
    return err.value


@pytest.fixture
def stack(container_factory, config):
    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": START})
    members = container_factory(MembersService, {**config, "XIESHANG_FIXED_TIME": START})
    proposals.start()
    members.start()
    return proposals, members


def test_the_directory_follows_the_members_service_and_unknown_ids_are_refused(stack, rpc_as):
    proposals, members = stack
    staff, member = rpc_as(STAFF), rpc_as(MEMBER)
    staff.members.register_organisation("szs", "committee", "石嘴山市政协", level="city")
    staff.members.register_organisation("s-jjj", "sector", "经济界", parent="szs")
    staff.members.register_organisation("mzj", "handling_unit", "市民政局", parent="szs")
    staff.members.appoint_member(MEMBER.user_id, "李明", "经济界", "第十届")
    staff.members.appoint_member("m-test-002", "王芳", "经济界", "第十届")
    staff.members.appoint_member("leader-001", "张主席", "经济界", "第十届", roles=["chairs_meeting"])
    wanted = [MEMBER.user_id, "m-test-002", "leader-001", "mzj", "s-jjj"]
    known = wait_until(lambda: (lambda d: d if all(d[i]["kind"] for i in wanted) else None)(
        staff.proposals.directory(wanted)), timeout=20, what="the directory to follow the members")
    assert known["mzj"] == {"entry_id": "mzj", "kind": "handling_unit", "name": "市民政局", "active": True}
    assert staff.proposals.directory(["szs"])["szs"]["kind"] is None  # a committee is not kept

    # The entry was recorded by the system, caused by the members service's event.
    [noted] = store_of(proposals).read_stream("directory-mzj")
    [registered] = [e for e in store_of(members).read_stream("org-mzj")
                    if e.type == "OrganisationRegistered"]
    assert (noted.actor, noted.causation_id, noted.correlation_id) == (
        SYSTEM_ACTOR, registered.event_id, registered.correlation_id)

    # Co-signers, the member staff act for, a collective body: each unknown one named.
    err = refusal(member.proposals.submit_proposal, **SUBMISSION, co_signers=["m-test-002", "nobody-123"])
    assert (err.exc_type, set(err.details["fields"])) == ("InvalidCommand", {"co_signers[1]"})
    err = refusal(member.proposals.submit_proposal, **SUBMISSION, kind="collective",
                  body={"type": "sector", "name": "不存在的界别"})
    assert set(err.details["fields"]) == {"body.name"}
    collective = member.proposals.submit_proposal(**SUBMISSION, kind="collective",
                                                  body={"type": "sector", "name": "经济界"})
    assert collective["recorded"]

    pid = member.proposals.submit_proposal(**SUBMISSION, co_signers=["m-test-002"])["proposal_id"]
    rpc_as(Actor("m-test-002", "member", "经济界")).proposals.confirm_co_signature(pid)
    staff.proposals.file_proposal(pid)
    before = store_of(proposals).stream_version(f"proposal-{pid}")
    err = refusal(staff.proposals.assign_proposal, pid, "u-nonexistent-unit", co_units=["mzj", "zjj"])
    assert set(err.details["fields"]) == {"lead_unit", "co_units[1]"}
    assert "u-nonexistent-unit" in err.details["fields"]["lead_unit"]
    err = refusal(staff.proposals.designate_key_proposal, pid, ["leader-001", "nobody-x"], "chairs_meeting")
    assert set(err.details["fields"]) == {"supervisors[1]"}
    assert store_of(proposals).stream_version(f"proposal-{pid}") == before  # nothing recorded
    assert staff.proposals.assign_proposal(pid, "mzj")["recorded"]
    assert staff.proposals.designate_key_proposal(pid, ["leader-001"], "chairs_meeting")["recorded"]

    # A unit closed in the members service is no longer assigned to.
    staff.members.close_organisation("mzj", "机构改革，职能并入新单位")
    wait_until(lambda: not staff.proposals.directory(["mzj"])["mzj"]["active"], timeout=20,
               what="the directory to see the unit closed")
    other = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(other)
    err = refusal(staff.proposals.assign_proposal, other, "mzj")
    assert set(err.details["fields"]) == {"lead_unit"}


def test_only_staff_act_on_behalf_of_and_only_for_a_member_the_directory_knows(
        container_factory, config):
    from nameko.standalone.rpc import ClusterRpcProxy

    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": START})
    proposals.start()
    seed_directory(proposals, members=[MEMBER.user_id, "m-test-002"])

    def as_(actor, on_behalf_of):
        data = CommandContext(actor=actor, on_behalf_of=on_behalf_of).to_context_data()
        return ClusterRpcProxy(config, context_data=data, timeout=15)

    # A member passing someone else's id: refused before anything is decided or recorded.
    head = store_of(proposals).head()
    with as_(MEMBER, "m-test-002") as rpc:
        err = refusal(rpc.proposals.submit_proposal, **SUBMISSION)
    assert (err.exc_type, list(err.details["fields"])) == ("InvalidCommand", ["on_behalf_of"])
    with as_(UNIT, "m-test-002") as rpc:
        assert list(refusal(rpc.proposals.submit_proposal, **SUBMISSION).details["fields"]) == [
            "on_behalf_of"]
    # Staff for a member who does not exist.
    with as_(STAFF, "nobody-123") as rpc:
        err = refusal(rpc.proposals.submit_proposal, **SUBMISSION)
    assert list(err.details["fields"]) == ["on_behalf_of"]
    assert store_of(proposals).head() == head
    # Staff for a member who does.
    with as_(STAFF, MEMBER.user_id) as rpc:
        pid = rpc.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    [submitted] = store_of(proposals).read_stream(f"proposal-{pid}")
    assert (submitted.data["proposer"], submitted.on_behalf_of, submitted.actor.role) == (
        MEMBER.user_id, MEMBER.user_id, "staff")


def test_reactions_are_recorded_by_the_system_caused_by_their_event(container_factory, config,
                                                                     rpc_as):
    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": START})
    proposals.start()
    seed_directory(proposals, members=[MEMBER.user_id], units=["mzj"])
    member, staff, unit = rpc_as(MEMBER), rpc_as(STAFF), rpc_as(UNIT)
    pid = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(pid)
    staff.proposals.assign_proposal(pid, "mzj")
    unit.proposals.reply_to_proposal(pid, "C", "因条件限制暂不能解决。")
    receipt = member.proposals.rate_reply(pid, "unsatisfied", "satisfied")
    assert receipt["events"] == ["ReplyRated", "RehandlingStarted"]

    *_, rated, again = store_of(proposals).read_stream(f"proposal-{pid}")
    assert (rated.type, rated.actor) == ("ReplyRated", MEMBER)
    assert (again.type, again.actor, again.causation_id) == ("RehandlingStarted", SYSTEM_ACTOR,
                                                             rated.event_id)
    assert again.correlation_id == rated.correlation_id
    assert staff.proposals.get_proposal(pid)["status"] == "assigned"

    # The survivor's side of a merge: the system's, caused by the ProposalMerged.
    survivor = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    merged = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.merge_proposal(merged, survivor)
    [marker] = [e for e in store_of(proposals).read_stream(f"proposal-{merged}") if e.type == "ProposalMerged"]
    [added] = [e for e in store_of(proposals).read_stream(f"proposal-{survivor}")
               if e.type == "MergedProposalAdded"]
    assert (added.actor, added.causation_id, added.correlation_id) == (
        SYSTEM_ACTOR, marker.event_id, marker.correlation_id)


def test_a_new_round_lost_between_the_rating_and_its_reaction_is_started_by_the_timer(
        container_factory, config, rpc_as, monkeypatch):
    # The rating and the system's new round are two writes: a service that stops between them
    # (here: the reaction fails) leaves a case replied and rated unsatisfied. The deadline check
    # starts the round then, still as the system caused by the rating.
    from nameko.testing.services import entrypoint_hook

    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": START})
    proposals.start()
    seed_directory(proposals, members=[MEMBER.user_id], units=["mzj"])
    member, staff, unit = rpc_as(MEMBER), rpc_as(STAFF), rpc_as(UNIT)
    pid = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(pid)
    staff.proposals.assign_proposal(pid, "mzj")
    unit.proposals.reply_to_proposal(pid, "C", "因条件限制暂不能解决。")

    real = ProposalsService._system_decision

    def stops(self, ctx, proposal_id, decide):
        raise RuntimeError("the service stopped before its reaction")
    monkeypatch.setattr(ProposalsService, "_system_decision", stops)
    with pytest.raises(Exception):
        member.proposals.rate_reply(pid, "unsatisfied", "satisfied")
    monkeypatch.setattr(ProposalsService, "_system_decision", real)
    *_, rated = store_of(proposals).read_stream(f"proposal-{pid}")
    assert rated.type == "ReplyRated"

    with entrypoint_hook(proposals, "check_deadlines") as check:
        assert check()["rehandled"] == 1
    *_, again = store_of(proposals).read_stream(f"proposal-{pid}")
    assert (again.type, again.actor, again.causation_id) == ("RehandlingStarted", SYSTEM_ACTOR,
                                                             rated.event_id)
    with entrypoint_hook(proposals, "check_deadlines") as check:
        assert check()["rehandled"] == 0  # once


def test_published_names_are_those_of_the_proposers_who_consented(container_factory, config, rpc_as):
    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": START})
    proposals.start()
    seed_directory(proposals, members=[(MEMBER.user_id, "李明"), ("m-test-002", "王芳"),
                                       ("m-test-003", "赵强")], units=["mzj"])
    member, staff = rpc_as(MEMBER), rpc_as(STAFF)
    co2, co3 = Actor("m-test-002", "member", "教育界"), Actor("m-test-003", "member", "科技界")
    pid = member.proposals.submit_proposal(**SUBMISSION, co_signers=[co2.user_id, co3.user_id],
                                           publish_consent=True)["proposal_id"]
    rpc_as(co2).proposals.confirm_co_signature(pid)
    rpc_as(co3).proposals.confirm_co_signature(pid)
    staff.proposals.file_proposal(pid)

    err = refusal(staff.proposals.publish_proposal, pid, ["李明", "路人甲"])
    assert list(err.details["fields"]) == ["proposer_names"]
    rpc_as(co2).proposals.set_publication_consent(pid, True)   # co3 never consents
    err = refusal(staff.proposals.set_publication_consent, pid, True)
    assert err.exc_type == "NotAllowed"  # nobody consents for someone else
    published = staff.proposals.publish_proposal(pid)
    [event] = [e for e in store_of(proposals).read_stream(f"proposal-{pid}")
               if e.type == "ProposalPublished"]
    assert event.data["proposer_names"] == ["李明", "王芳"] and published["recorded"]
