"""The proposals service through nameko on the real RabbitMQ, with a fixed clock."""

from __future__ import annotations

import uuid
from datetime import datetime

import eventlet
import pytest
from nameko.exceptions import RemoteError
from nameko.testing.services import entrypoint_hook, worker_factory

from services.feedback.service import CONVERTED, FeedbackService
from services.proposals import domain
from services.proposals.service import ProposalsService
from xieshang.kernel.clock import ClockProvider, FixedClock
from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import Actor
from xieshang.kernel.store import ConcurrencyError
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.streams import Receipt, Streams

from ..conftest import DEPLOYMENT
from .conftest import MEMBER, STAFF, UNIT, store_of, wait_until
from .test_proposals_directory import seed_directory

CO_SIGNER = Actor("m-test-002", "member", "教育界")
OTHER_MEMBER = Actor("m-test-999", "member", "农业界")
OTHER_UNIT = Actor("u-wjw-001", "unit", "wjw")
LEADER = Actor("leader-001", "leader", "chairs-meeting")
AUDITOR = Actor("audit-001", "auditor", "inspection")
CITIZEN = Actor("pub-001", "public", "public")

# What the members service made known: the members, leaders and units these tests name.
DIRECTORY = dict(members=[(MEMBER.user_id, "王建国"), CO_SIGNER.user_id, OTHER_MEMBER.user_id,
                          LEADER.user_id], units=["mzj", "zjj", "wjw"])

SUBMISSION = dict(title="关于构建全民健身服务体系的提案", reasons="社区健身场地不足，器材老化。",
                  suggestions="利用闲置地块建设口袋公园和健身步道。", category="society")
START = "2024-03-01T09:00:00+08:00"


@pytest.fixture
def proposals(container_factory, config):
    container = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": START})
    container.start()
    seed_directory(container, **DIRECTORY)
    return container


def clock_of(container) -> FixedClock:
    return next(d for d in container.dependencies if isinstance(d, ClockProvider)).clock


def remote_error(call, *args, **kwargs) -> RemoteError:
    with pytest.raises(RemoteError) as err:
        call(*args, **kwargs)
    return err.value


def test_the_whole_lifecycle_is_recorded_with_who_and_why(proposals, rpc_as):
    member, staff, unit = rpc_as(MEMBER), rpc_as(STAFF, "符合立案标准"), rpc_as(UNIT)
    receipt = member.proposals.submit_proposal(**SUBMISSION, publish_consent=True)
    pid = receipt["proposal_id"]
    assert receipt["stream"] == f"proposal-{pid}" and receipt["version"] == 1
    filed = staff.proposals.file_proposal(pid)
    staff.proposals.assign_proposal(pid, "mzj", co_units=["zjj"])
    unit.proposals.record_contact(pid, "before", "办前与提案人电话沟通")
    unit.proposals.reply_to_proposal(pid, "A", "已建成口袋公园12个。")
    member.proposals.rate_reply(pid, "satisfied", "satisfied")
    staff.proposals.publish_proposal(pid)
    comment = rpc_as(CITIZEN).proposals.submit_comment(pid, "希望增加夜间照明", "附近居民")
    staff.proposals.moderate_comment(pid, comment["comment_id"], True)
    unit.proposals.answer_comment(pid, comment["comment_id"], "已安排加装路灯。")
    last = staff.proposals.close_proposal(pid)

    case = member.proposals.get_proposal(pid)
    assert (case["status"], case["case_number"], case["session"]) == ("closed", "2024-001", "2024")
    assert case["rounds"][0]["deadline"] == "2024-05-30" and case["rounds"][0]["on_time"] is True
    assert filed["event"] == "ProposalFiled"
    history = store_of(proposals).read_stream(f"proposal-{pid}")
    assert [e.type for e in history] == [
        "ProposalSubmitted", "ProposalFiled", "ProposalAssigned", "ContactRecorded", "ProposalReplied",
        "ReplyRated", "ProposalPublished", "CommentSubmitted", "CommentApproved", "CommentAnswered",
        "ProposalClosed"]
    assert history[1].actor == STAFF and history[1].reason == "符合立案标准"
    assert history[4].actor == UNIT and history[4].occurred_at.isoformat() == "2024-03-01T01:00:00+00:00"

    public = member.proposals.public_proposal("2024-001", after_position=last["position"])
    assert public["proposer_names"] == ["王建国"] and public["reply_class"] == "A"
    assert "rating" not in str(public) and MEMBER.user_id not in str(public) and "pub-001" not in str(public)
    assert [c["answer"] for c in public["comments"]] == ["已安排加装路灯。"]


def test_refusals_say_why_and_change_nothing(proposals, rpc_as):
    store = store_of(proposals)
    member = rpc_as(MEMBER)
    pid = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    head = store.head()

    err = remote_error(member.proposals.file_proposal, pid)
    assert err.exc_type == "NotAllowed" and "only proposal committee staff file proposals" in err.value
    err = remote_error(rpc_as(UNIT).proposals.submit_proposal, **SUBMISSION)
    assert err.exc_type == "NotAllowed"
    err = remote_error(rpc_as(STAFF).proposals.assign_proposal, pid, "mzj")
    assert err.exc_type == "WrongState"
    assert "in state 'submitted'" in err.value and "file_proposal" in err.details["allowed"]
    err = remote_error(member.proposals.submit_proposal, title="", reasons="x", suggestions="",
                       category="weather")
    assert err.exc_type == "InvalidCommand"
    err = remote_error(rpc_as(OTHER_MEMBER).proposals.get_proposal, pid)
    assert err.exc_type == "NotAllowed"
    err = remote_error(rpc_as(OTHER_UNIT).proposals.unit_inbox, "mzj")
    assert err.exc_type == "NotAllowed"
    err = remote_error(member.proposals.worklist)
    assert err.exc_type == "NotAllowed"
    assert store.head() == head


def test_a_command_without_an_actor_is_refused(proposals, config):
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy(config, timeout=15) as anonymous:
        err = remote_error(anonymous.proposals.submit_proposal, **SUBMISSION)
    assert err.exc_type == "MissingActor"


def test_concurrent_filings_get_sequential_gap_free_case_numbers(proposals, rpc_as):
    member, staff = rpc_as(MEMBER), rpc_as(STAFF)
    pids = [member.proposals.submit_proposal(**SUBMISSION)["proposal_id"] for _ in range(12)]
    pool = eventlet.GreenPool(12)
    # each green thread its own proxy: the filings really race on the session's number stream
    proxies = [rpc_as(Actor(f"staff-{i:03d}", "staff", "proposal-committee")) for i in range(12)]
    list(pool.imap(lambda args: args[0].proposals.file_proposal(args[1]), zip(proxies, pids)))
    numbers = sorted(staff.proposals.get_proposal(pid)["case_number"] for pid in pids)
    assert numbers == [f"2024-{n:03d}" for n in range(1, 13)]
    assigned = store_of(proposals).read_stream("casenumbers-2024")
    assert sorted(e.data["sequence"] for e in assigned) == list(range(1, 13))  # none taken twice


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
            self.append(stream, len(events), [ctx.new_event("ProposalReturned", {
                "proposal_id": stream.split("-", 1)[1], "reason": "请补充调研数据"})])
        return events


def test_a_concurrent_change_surfaces_and_the_case_number_is_given_back():
    store = _RacingStore()
    clock = FixedClock(datetime.fromisoformat(START))
    service = worker_factory(ProposalsService, streams=Streams(store, domain.registry, clock), clock=clock)
    service.context.get.return_value = CommandContext(actor=MEMBER)
    pid = service.submit_proposal(**SUBMISSION)["proposal_id"]
    service.context.get.return_value = CommandContext(actor=STAFF)
    store.race_on = f"proposal-{pid}"
    with pytest.raises(ConcurrencyError):
        service.file_proposal(pid)
    # The other writer's event stands; ours was not written over it; the number is free again.
    assert [e.type for e in store.read_stream(f"proposal-{pid}")] == ["ProposalSubmitted", "ProposalReturned"]
    assert [e.type for e in store.read_stream("casenumbers-2024")] == ["CaseNumberAssigned",
                                                                       "CaseNumberReleased"]
    service.context.get.return_value = CommandContext(actor=MEMBER)
    other = service.submit_proposal(**SUBMISSION)["proposal_id"]
    service.context.get.return_value = CommandContext(actor=STAFF)
    assert service.file_proposal(other)["events"] == ["ProposalFiled"]
    assert service.get_proposal(other)["case_number"] == "2024-001"


def test_the_timer_reminds_and_raises_overdue_once_per_round(container_factory, config, rpc_as):
    first = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": START})
    second = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": START,
                                                  "XIESHANG_RELAY": "0"})
    first.start()
    second.start()  # another instance on the same store folder: both run the timer
    seed_directory(first, **DIRECTORY)
    member, staff = rpc_as(MEMBER), rpc_as(STAFF)
    pid = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(pid)
    staff.proposals.designate_key_proposal(pid, [LEADER.user_id], "chairs_meeting")
    staff.proposals.assign_proposal(pid, "mzj")                       # due 2024-05-30

    def tick(*containers):
        pool = eventlet.GreenPool()
        for c in containers:
            def run(c=c):
                with entrypoint_hook(c, "check_deadlines") as check:
                    return check()
            pool.spawn(run)
        pool.waitall()

    for c in (first, second):
        clock_of(c).set(datetime.fromisoformat("2024-05-23T09:00:00+08:00"))
    tick(first, second)
    for c in (first, second):
        clock_of(c).advance(days=9)                                     # 1 June: overdue
    tick(first, second)
    tick(first, second)
    types = [e.type for e in store_of(first).read_stream(f"proposal-{pid}")]
    assert types.count("ReplyDueSoon") == 1 and types.count("ReplyOverdue") == 1
    overdue = next(e for e in store_of(first).read_stream(f"proposal-{pid}") if e.type == "ReplyOverdue")
    assert overdue.data["escalate_to"] == [LEADER.user_id] and overdue.actor.user_id == "system"
    inbox = wait_until(lambda: [r for r in rpc_as(UNIT).proposals.unit_inbox("mzj")["items"] if r["overdue"]],
                       what="the overdue case in the unit's inbox")
    assert inbox[0]["proposal_id"] == pid


def test_a_calendar_amendment_moves_open_deadlines_and_says_why(proposals, rpc_as):
    member, staff = rpc_as(MEMBER), rpc_as(STAFF, "国务院办公厅通知：增设临时假日")
    staff.proposals.set_handling_rules({"counting": "working", "reply_days": 20})
    pid = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(pid)
    staff.proposals.assign_proposal(pid, "mzj")
    before = member.proposals.get_proposal(pid)["rounds"][0]["deadline"]
    assert before == "2024-03-29"  # 20 working days from Friday 1 March
    answer = staff.proposals.amend_holiday_calendar(add_holidays=["2024-03-12", "2024-03-13"])
    assert answer["deadlines_moved"] == 1
    assert member.proposals.get_proposal(pid)["rounds"][0]["deadline"] == "2024-04-02"
    moved = store_of(proposals).read_stream(f"proposal-{pid}")[-1]
    assert moved.type == "ReplyDeadlineMoved" and "holiday calendar amended" in moved.reason
    assert "增设临时假日" in moved.reason and moved.causation_id is not None


def test_ratings_are_never_shown_to_units_or_the_public(proposals, rpc_as):
    member, staff, unit = rpc_as(MEMBER), rpc_as(STAFF), rpc_as(UNIT)
    pid = member.proposals.submit_proposal(**SUBMISSION, publish_consent=True)["proposal_id"]
    staff.proposals.file_proposal(pid)
    staff.proposals.assign_proposal(pid, "mzj")
    unit.proposals.reply_to_proposal(pid, "C", "暂不具备条件。")
    rated = member.proposals.rate_reply(pid, "unsatisfied", "basically_satisfied")
    assert rated["events"] == ["ReplyRated", "RehandlingStarted"]
    last = staff.proposals.publish_proposal(pid)
    assert "ratings" not in str(unit.proposals.get_proposal(pid))
    assert "unsatisfied" not in str(unit.proposals.unit_inbox("mzj", after_position=last["position"]))
    assert "unsatisfied" not in str(member.proposals.public_proposals(after_position=last["position"]))
    assert member.proposals.get_proposal(pid)["rounds"][0]["ratings"] == [
        [MEMBER.user_id, "unsatisfied", "basically_satisfied"]]
    assert rpc_as(AUDITOR).proposals.get_proposal(pid)["rounds"][0]["ratings"]
    mine = member.proposals.my_proposals(after_position=last["position"])
    assert [(c["proposal_id"], c["status"]) for c in mine["items"]] == [(pid, "assigned")]


def test_merged_proposers_keep_credit_on_the_surviving_case(proposals, rpc_as):
    member, other, staff = rpc_as(MEMBER), rpc_as(CO_SIGNER), rpc_as(STAFF)
    survivor = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    merged = other.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(survivor)
    staff.proposals.merge_proposal(merged, survivor)
    assert staff.proposals.get_proposal(merged)["merged_into"] == survivor
    assert staff.proposals.get_proposal(survivor)["proposers"] == [MEMBER.user_id, CO_SIGNER.user_id]
    assert other.proposals.get_proposal(survivor)["status"] == "filed"  # a proposer may read it now


def test_a_proposal_not_filed_and_converted_becomes_an_opinion_report(container_factory, config,
                                                                      proposals, rpc_as):
    container_factory(FeedbackService, config).start()
    member, staff = rpc_as(MEMBER), rpc_as(STAFF)
    pid = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    answer = staff.proposals.not_file_proposal(pid, "反映个案问题，转社情民意", "opinion_report")
    assert answer["events"] == ["ProposalNotFiled", "ProposalConvertedToOpinionReport"]
    report_id = str(uuid.uuid5(CONVERTED, pid))

    def report():
        try:
            return member.feedback.get_opinion_report(report_id)
        except RemoteError:
            return None
    found = wait_until(report, what="the converted opinion report")
    assert (found["submitter"], found["channel"], found["title"]) == (MEMBER.user_id, "proposal",
                                                                      SUBMISSION["title"])


def test_every_command_answers_the_same_receipt_and_stamps_the_fixed_clock(proposals, rpc_as):
    member, staff = rpc_as(MEMBER), rpc_as(STAFF)
    submitted = member.proposals.submit_proposal(**SUBMISSION, publish_consent=True)
    pid = submitted["proposal_id"]
    receipts = [submitted, staff.proposals.file_proposal(pid),
                staff.proposals.designate_key_proposal(pid, [LEADER.user_id], "chairs_meeting"),
                staff.proposals.designate_key_proposal(pid, [LEADER.user_id], "chairs_meeting"),
                staff.proposals.assign_proposal(pid, "mzj"),
                member.proposals.set_publication_consent(pid, True),      # already so
                staff.proposals.set_handling_rules({"counting": "calendar", "reply_days": 90}),
                staff.proposals.amend_holiday_calendar(add_holidays=["2024-12-31"])]
    for receipt in receipts:
        assert set(Receipt.CORE) <= set(receipt), receipt
        assert isinstance(receipt["version"], int) and isinstance(receipt["position"], int)
    assert [r["recorded"] for r in receipts] == [True, True, True, False, True, False, True, True]
    repeated, again = receipts[3], receipts[5]
    assert (repeated["events"], repeated["event"], repeated["event_id"]) == ([], None, None)
    assert repeated["version"] == receipts[2]["version"] == 3 and repeated["proposal_id"] == pid
    assert again["version"] == receipts[4]["version"] == 4
    assert receipts[6]["rules"]["reply_days"] == 90 and receipts[7]["deadlines_moved"] == 0
    store = store_of(proposals)
    recorded = [e for stream in (f"proposal-{pid}", "casenumbers-2024", "handling-rules")
                for e in store.read_stream(stream)]
    assert len(recorded) == 7
    assert {e.occurred_at for e in recorded} == {datetime.fromisoformat(START)}
