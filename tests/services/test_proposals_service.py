"""The proposals service through nameko on the real RabbitMQ."""

from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import worker_factory

from services.proposals.service import ProposalsService
from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import Actor
from xieshang.kernel.store import ConcurrencyError
from xieshang.kernel.store.memory import MemoryEventStore

from ..conftest import DEPLOYMENT
from .conftest import MEMBER, STAFF, UNIT, store_of

SUBMISSION = dict(title="关于构建全民健身服务体系的提案", reasons="社区健身场地不足，器材老化。",
                  suggestions="利用闲置地块建设口袋公园和健身步道。", category="society")


def test_a_proposal_is_submitted_filed_assigned_and_replied(container_factory, config, rpc_as):
    container = container_factory(ProposalsService, config)
    container.start()
    member, staff, unit = rpc_as(MEMBER), rpc_as(STAFF, "符合立案标准"), rpc_as(UNIT)

    receipt = member.proposals.submit_proposal(**SUBMISSION)
    pid = receipt["proposal_id"]
    assert receipt["stream"] == f"proposal-{pid}" and receipt["version"] == 1
    staff.proposals.file_proposal(pid, "2024-001")
    staff.proposals.assign_proposal(pid, "mzj", co_units=["zjj"])
    last = unit.proposals.reply_to_proposal(pid, "B", "已列入2024年城市更新计划。")

    case = member.proposals.get_proposal(pid)
    assert (case["status"], case["case_number"], case["lead_unit"], case["reply_class"]) == (
        "replied", "2024-001", "mzj", "B")
    assert case["proposer"] == MEMBER.user_id and case["version"] == 4

    history = store_of(container).read_stream(f"proposal-{pid}")
    assert [e.type for e in history] == ["ProposalSubmitted", "ProposalFiled", "ProposalAssigned",
                                         "ProposalReplied"]
    assert history[1].actor == STAFF and history[1].reason == "符合立案标准"
    assert history[3].actor == UNIT

    listed = member.proposals.list_proposals(after_position=last["position"])
    assert [(r["proposal_id"], r["status"]) for r in listed] == [(pid, "replied")]
    public = member.proposals.list_proposals(public=True, after_position=last["position"])
    assert public == [{"case_number": "2024-001", "title": SUBMISSION["title"], "category": "society",
                       "status": "replied", "lead_unit": "mzj", "reply_deadline": case["reply_deadline"],
                       "reply_class": "B", "filed_at": listed[0]["filed_at"]}]


def test_a_wrong_role_is_refused_and_nothing_is_stored(container_factory, config, rpc_as):
    container = container_factory(ProposalsService, config)
    container.start()
    store = store_of(container)
    member = rpc_as(MEMBER)
    pid = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    head = store.head()

    with pytest.raises(RemoteError) as err:
        member.proposals.file_proposal(pid, "2024-002")
    assert err.value.exc_type == "NotAllowed"
    assert "only proposal committee staff file proposals" in err.value.value
    assert "'member'" in err.value.value
    with pytest.raises(RemoteError) as err:
        rpc_as(Actor("u-wjw-1", "unit", "wjw")).proposals.submit_proposal(**SUBMISSION)
    assert err.value.exc_type == "NotAllowed"

    assert store.head() == head
    assert store.stream_version(f"proposal-{pid}") == 1
    assert store.stream_version("casenumber-2024-002") == 0


def test_a_case_number_is_not_given_twice(container_factory, config, rpc_as):
    container = container_factory(ProposalsService, config)
    container.start()
    member, staff = rpc_as(MEMBER), rpc_as(STAFF)
    first = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    second = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(first, "2024-003")
    with pytest.raises(RemoteError) as err:
        staff.proposals.file_proposal(second, "2024-003")
    assert err.value.exc_type == "InvalidCommand" and "already used" in err.value.value
    assert member.proposals.get_proposal(second)["status"] == "submitted"


def test_a_command_without_an_actor_is_refused(container_factory, config):
    from nameko.standalone.rpc import ClusterRpcProxy

    container_factory(ProposalsService, config).start()
    with ClusterRpcProxy(config, timeout=15) as anonymous:
        with pytest.raises(RemoteError) as err:
            anonymous.proposals.submit_proposal(**SUBMISSION)
    assert err.value.exc_type == "MissingActor"


class _RacingStore(MemoryEventStore):
    """Lets another writer append to a stream right after the service has read it."""

    def __init__(self):
        super().__init__(DEPLOYMENT)
        self.race_on: str | None = None

    def read_stream(self, stream, from_version=1):
        events = super().read_stream(stream, from_version)
        if stream == self.race_on:
            self.race_on = None
            ctx = CommandContext(actor=STAFF)
            self.append(stream, len(events), [ctx.new_event("ProposalFiled", {
                "proposal_id": stream.split("-", 1)[1], "case_number": "2024-777", "proposer": "m",
                "title": "t", "category": "society"})])
        return events


def test_a_concurrent_change_surfaces_as_a_concurrency_error():
    store = _RacingStore()
    service = worker_factory(ProposalsService, store=store)
    service.context.get.return_value = CommandContext(actor=MEMBER)
    pid = service.submit_proposal(**SUBMISSION)["proposal_id"]

    service.context.get.return_value = CommandContext(actor=STAFF)
    store.race_on = f"proposal-{pid}"
    with pytest.raises(ConcurrencyError):
        service.file_proposal(pid, "2024-004")
    # The other writer's event stands; ours was not written over it.
    assert [e.data.get("case_number") for e in store.read_stream(f"proposal-{pid}")] == [None, "2024-777"]
