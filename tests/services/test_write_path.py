"""The feedback and notify services go through the kernel's one write path: every command answers
the same receipt, every event is stamped by the service's own injected clock. (The proposals
and members services have their own fixed-clock tests beside their service tests.)"""

from __future__ import annotations

from datetime import datetime

from services.feedback.service import CONVERTED, FeedbackService
from services.notify.service import NotifyService
from services.proposals.service import ProposalsService
from xieshang.kernel.envelope import Actor
from xieshang.kernel.streams import Receipt

from .conftest import MEMBER, STAFF, store_of, wait_until

FEEDBACK_TIME = "2024-05-06T10:00:00+08:00"
PROPOSALS_TIME = "2024-03-01T09:00:00+08:00"
NOTIFY_TIME = "2024-03-02T16:30:00+08:00"
INFORMANT = Actor("i-007", "informant", "石嘴山市政协")


def test_feedback_commands_answer_a_receipt_and_use_the_fixed_clock(container_factory, config, rpc_as):
    feedback = container_factory(FeedbackService, {**config, "XIESHANG_FIXED_TIME": FEEDBACK_TIME})
    feedback.start()
    receipt = rpc_as(INFORMANT).feedback.submit_opinion_report(
        "关于提升食品安全治理水平的建议", "百花市场部分摊位缺少冷链设施。", channel="activity")
    assert set(Receipt.CORE) <= set(receipt) and isinstance(receipt["version"], int)
    assert (receipt["recorded"], receipt["events"], receipt["version"]) == (True, ["OpinionReportSubmitted"], 1)
    [event] = store_of(feedback).read_stream(receipt["stream"])
    assert event.occurred_at == datetime.fromisoformat(FEEDBACK_TIME)
    assert rpc_as(STAFF).feedback.get_opinion_report(receipt["report_id"])["channel"] == "activity"


def test_notify_and_feedback_react_on_their_own_clock(container_factory, config, rpc_as):
    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": PROPOSALS_TIME})
    notify = container_factory(NotifyService, {**config, "XIESHANG_FIXED_TIME": NOTIFY_TIME})
    feedback = container_factory(FeedbackService, {**config, "XIESHANG_FIXED_TIME": FEEDBACK_TIME})
    for container in (proposals, notify, feedback):
        container.start()
    submission = dict(title="关于加强工业遗存保护利用的提案", reasons="一批老厂房闲置，面临拆除。",
                      suggestions="建立工业遗存名录，引入文旅项目活化利用。", category="culture")
    filed_id = rpc_as(MEMBER).proposals.submit_proposal(**submission)["proposal_id"]
    rpc_as(STAFF).proposals.file_proposal(filed_id)
    converted_id = rpc_as(MEMBER).proposals.submit_proposal(**submission)["proposal_id"]
    rpc_as(STAFF).proposals.not_file_proposal(converted_id, "宜作为社情民意信息反映", conversion="opinion_report")

    [notice] = [e for e in wait_until(lambda: store_of(notify).read_stream(f"notices-proposal-{filed_id}"),
                                      what="the filing notice") if e.type == "NotificationQueued"]
    assert notice.occurred_at == datetime.fromisoformat(NOTIFY_TIME)
    assert notice.event_id == notice.data["notification_id"]   # the notice fixes its own id

    import uuid
    report = f"opinion-{uuid.uuid5(CONVERTED, converted_id)}"
    [taken_up] = wait_until(lambda: store_of(feedback).read_stream(report), what="the converted report")
    assert taken_up.occurred_at == datetime.fromisoformat(FEEDBACK_TIME)
    assert taken_up.data["source"] == f"proposal:{converted_id}"
