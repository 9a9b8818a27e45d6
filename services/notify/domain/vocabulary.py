"""The words of notifications: channels, cadences, the upstream events reacted to, stream names."""

from __future__ import annotations

from xieshang.kernel.anchoring import CHECKPOINT_LABELS
from xieshang.kernel.messages import register_labels, register_words

INBOX, EMAIL, SMS = "inbox", "email", "sms"
CHANNELS = (INBOX, EMAIL, SMS)
SENT_CHANNELS = (EMAIL, SMS)            # the channels a delivery goes out on (the inbox is the record)
IMMEDIATE, DAILY, WEEKLY = "immediate", "daily", "weekly"
CADENCES = (IMMEDIATE, DAILY, WEEKLY)
LOCALES = ("zh-CN", "en")
DEFAULT_LOCALE = "zh-CN"
EVERY_KIND = "*"
COMMITTEE = "committee"                 # the preferences stream of the committee's defaults
# What a person gets when neither they nor the committee said otherwise.
BUILT_IN_CHANNELS = (INBOX, EMAIL)

# Upstream services (their contracts are read through the kernel, never imported).
PROPOSALS, MEMBERS, FEEDBACK = "proposals", "members", "feedback"

# Delivery states (read model and state fold).
PLANNED, SENDING, SENT, UNDELIVERABLE, SKIPPED = "planned", "sending", "sent", "undeliverable", "skipped"
# Outcomes of one attempt (a channel's Outcome.status, and "no_address").
OUTCOME_SENT, OUTCOME_RETRY, OUTCOME_FAILED, OUTCOME_NO_ADDRESS = "sent", "retry", "failed", "no_address"


def notices_stream(subject_stream: str) -> str:
    """Every notification about one case, e.g. ``notices-proposal-0b6f…``: an auditor sees who
    was told what about it, and when."""
    return f"notices-{subject_stream}"


def preferences_stream(user_id: str) -> str:
    return f"preferences-{user_id}"


def reads_stream(user_id: str) -> str:
    """What ``user_id`` (a person or an organisation) has read."""
    return f"reads-{user_id}"


def delivery_key(notification_id: str, channel: str) -> str:
    return f"{notification_id}.{channel}"


def digest_key(recipient: str, channel: str, period: str) -> str:
    return f"digest.{recipient}.{channel}.{period}"


def delivery_stream(key: str) -> str:
    """The attempts to send one notice (or one digest) on one channel."""
    return f"delivery-{key}"


def digest_stream(recipient: str, channel: str, period: str) -> str:
    return f"digest-{recipient}.{channel}.{period}"


# -- signed webhooks 事件推送 (domain/webhooks.py) ---------------------------------------------------
WEBHOOK_ADMINS = ("admin",)             # who manages subscriptions and replays deliveries
WEBHOOK_READERS = ("admin", "auditor")  # who lists them
ACTIVE, DISABLED = "active", "disabled"                         # a subscription's states
DELIVERED, PARKED = "delivered", "parked"                       # a webhook delivery's (and planned, sending)
WEBHOOK_DELIVERY_STATES = (PLANNED, SENDING, DELIVERED, PARKED)
WEBHOOK_OUTCOMES = (DELIVERED, OUTCOME_RETRY, "gone")           # of one attempt
PARK_REASONS = ("retries_exhausted", "gone", "disabled")
SUBSCRIPTIONS_STREAM = "webhook-subscriptions"


def webhook_key(subscription_id: str, event_id: str) -> str:
    """One delivery: one public event to one subscription."""
    return f"{subscription_id}.{event_id}"


def webhook_stream(key: str) -> str:
    """The attempts of one webhook delivery."""
    return f"webhook-{key}"


def webhook_event_stream(event_id: str) -> str:
    """A public event as received from the integration exchange, and the deliveries planned."""
    return f"webhook-event-{event_id}"


# What a refusal calls each command (xieshang.kernel.messages): English, Chinese.
COMMAND_LABELS: dict[str, tuple[str, str]] = {
    "read_inbox": ("read this inbox", "查看此通知收件箱"),
    "mark_read": ("mark these notices read", "将通知标为已读"),
    "set_preference": ("set notification preferences", "设置通知偏好"),
    "set_committee_default": ("set the committee's notification defaults", "设置本会通知默认方式"),
    "follow_proposal": ("follow this proposal", "关注此提案"),
    "unfollow_proposal": ("stop following this proposal", "取消关注此提案"),
    "read_deliveries": ("read deliveries", "查看通知投递情况"),
    "retry_delivery": ("try this delivery again", "重新投递此通知"),
    "create_webhook": ("subscribe a system to events", "新建事件推送订阅"),
    "disable_webhook": ("disable this webhook subscription", "停用此事件推送订阅"),
    "rotate_webhook_secret": ("give this webhook subscription a new secret", "更换此订阅的签名密钥"),
    "read_webhooks": ("read the webhook subscriptions and deliveries", "查看事件推送订阅与投递"),
    "replay_webhooks": ("replay parked webhook deliveries", "重新推送暂停的事件"),
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    "unpublished": ("not published", "未公开"),
    "planned": ("planned", "待投递"), "sending": ("being sent", "投递中"),
    "sent": ("sent", "已送达"), "undeliverable": ("undeliverable", "无法投递"),
    "skipped": ("skipped (no address)", "未投递（无联系方式）"), "none": ("not planned", "未安排投递"),
    "active": ("active", "启用"), "disabled": ("disabled", "已停用"),
    "delivered": ("delivered", "已推送"), "parked": ("parked (retries stopped)", "已暂停重试"),
}
register_labels("notify", COMMAND_LABELS, STATE_LABELS)


# The events of other services this service reacts to, by service (their contracts are
# read through the kernel, never imported); the rules are domain/notices.py.
REACTS_TO: dict[str, tuple[str, ...]] = {
    PROPOSALS: ("ProposalSubmitted", "CoSignatureConfirmed", "CoSignatureDeclined", "ProposalReturned",
                "ProposalFiled", "ProposalNotFiled", "ProposalMerged", "MergedProposalAdded",
                "ProposalAssigned", "AssignmentObjected", "ObjectionDismissed", "ProposalReassigned",
                "CoUnitOpinionSent", "ProposalReplied", "ReplyDueSoon", "ReplyOverdue",
                "ReplyDeadlineMoved", "ProposalDesignatedKey", "RehandlingStarted", "ProposalClosed",
                "ProposalPublished", "ProposalUnpublished"),
    MEMBERS: ("ActivityRecorded", "DutyMenuPublished", "MenuSignedUp", "AnnualAssessmentConcluded"),
    FEEDBACK: ("OpinionReportSubmitted", "OpinionReportsCombined", "OpinionReportReturned",
               "OpinionReportAdopted", "OpinionReportNotAdopted", "OpinionReportReported",
               "OpinionReportForwarded", "OpinionFeedbackReceived", "OpinionFeedbackDueSoon",
               "OpinionFeedbackOverdue", "LeaderInstructionRecorded", "SubmitterInformed",
               "OpinionReceivedFromBelow", "OpinionDecidedAbove",
               # consultations 协商议事 and democratic supervision groups 民主监督组
               "ConsultationPlanned", "ConsultationMeetingDueSoon", "FollowUpTaskAssigned",
               "FollowUpTaskDueSoon", "FollowUpTaskOverdue", "SupervisionGroupFormed",
               "SupervisionOpinionIssued", "SupervisionHandlingDueSoon", "SupervisionHandlingOverdue"),
}


# -- the words a page shows for codes (xieshang.kernel.messages.vocabulary): English, Chinese ----

# What happened, as a timeline says it: one label per event type of domain/events.py.
EVENT_LABELS: dict[str, tuple[str, str]] = {
    "DirectoryEntryNoted": ("Directory entry noted", "名录更新"),
    "NotificationQueued": ("Notice sent to the inbox", "发出通知"),
    "AudienceNoted": ("Audience noted", "记录通知对象"),
    "ProposalFollowed": ("Proposal followed", "关注提案"),
    "ProposalUnfollowed": ("Proposal no longer followed", "取消关注提案"),
    "NoticesRead": ("Notices read", "通知已读"),
    "NoticePreferenceSet": ("Notice preferences set", "设置通知偏好"),
    "DeliveryPlanned": ("Delivery planned", "安排投递"),
    "DigestClosed": ("Digest closed", "生成通知汇总"),
    "DeliveryAttemptStarted": ("Delivery attempt started", "开始投递"),
    "DeliveryAttempted": ("Delivery attempted", "投递结果"),
    "NoticeDelivered": ("Notice delivered", "通知已送达"),
    "NoticeUndeliverable": ("Notice undeliverable", "通知无法投递"),
    "DeliveryRetryRequested": ("Delivery retry requested", "重新投递"),
    "WebhookSubscribed": ("Webhook subscription created", "新建事件推送订阅"),
    "WebhookSecretRotated": ("Webhook secret rotated", "更换推送签名密钥"),
    "WebhookDisabled": ("Webhook subscription disabled", "停用事件推送订阅"),
    "WebhookEventReceived": ("Public event received for webhooks", "收到待推送的公开事件"),
    "WebhookPlanned": ("Webhook delivery planned", "安排事件推送"),
    "WebhookAttemptStarted": ("Webhook attempt started", "开始推送"),
    "WebhookAttempted": ("Webhook attempted", "推送结果"),
    "WebhookDelivered": ("Webhook delivered", "事件已推送"),
    "WebhookParked": ("Webhook delivery parked", "事件推送暂停重试"),
    "WebhookReplayRequested": ("Webhook replay requested", "重新推送事件"),
    "LogCheckpointed": CHECKPOINT_LABELS["LogCheckpointed"],  # xieshang.kernel.anchoring
}
CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    INBOX: ("Inbox", "站内信"), EMAIL: ("E-mail", "电子邮件"), SMS: ("Text message", "短信"),
}
CADENCE_LABELS: dict[str, tuple[str, str]] = {
    IMMEDIATE: ("At once", "即时"), DAILY: ("Daily digest", "每日汇总"), WEEKLY: ("Weekly digest", "每周汇总"),
}
# The kinds of notice (the keys of domain/templates.py's TEMPLATES), by their templates' titles
# (written out here: the templates import this module).
KIND_LABELS: dict[str, tuple[str, str]] = {
    # proposals 提案
    "cosign_requested": ("Please confirm a joint proposal", "请确认联名提案"),
    "cosign_confirmed": ("Co-signature confirmed", "联名已确认"),
    "cosign_declined": ("Co-signature declined", "联名被谢绝"),
    "proposal_returned": ("Proposal returned for revision", "提案退回修改"),
    "proposal_filed": ("Proposal filed", "提案已立案"),
    "proposal_not_filed": ("Proposal not filed", "提案未予立案"),
    "proposal_merged": ("Proposal merged", "提案已并案办理"),
    "proposal_assigned": ("Proposal assigned", "提案已交办"),
    "proposal_assigned_lead": ("Proposal assigned to you (lead)", "提案交办（主办）"),
    "proposal_assigned_co": ("Proposal assigned to you (co-handling)", "提案交办（会办）"),
    "proposal_reassigned": ("Proposal reassigned", "提案已改交"),
    "proposal_reassigned_away": ("Proposal reassigned elsewhere", "提案已改交其他单位"),
    "assignment_objected": ("A unit objects to an assignment", "承办单位对交办有异议"),
    "objection_dismissed": ("Objection dismissed", "交办异议未予采纳"),
    "co_unit_opinion_received": ("Co-handling opinion received", "会办单位意见已送达"),
    "rating_requested": ("Proposal replied: please rate", "提案已答复，请评价"),
    "followed_proposal_replied": ("A proposal you follow was replied to", "您关注的提案已答复"),
    "reply_due_soon": ("Reply due soon", "提案答复即将到期"),
    "reply_overdue": ("Reply overdue", "提案答复已逾期"),
    "reply_overdue_escalated": ("Overdue reply (supervision)", "提案答复逾期（督办）"),
    "reply_deadline_moved": ("Reply deadline moved", "答复期限已调整"),
    "proposal_key_supervise": ("Key proposal to supervise", "重点提案督办"),
    "rehandling_started": ("Proposal handled again", "提案重新办理"),
    "rehandling_lead": ("Handle the proposal again (lead)", "提案重新办理（主办）"),
    "rehandling_co": ("Handle the proposal again (co-handling)", "提案重新办理（会办）"),
    "proposal_closed": ("Proposal closed", "提案办结"),
    "followed_proposal_closed": ("A proposal you follow is closed", "您关注的提案已办结"),
    # members 委员履职
    "activity_recorded": ("Activity recorded", "履职活动已记录"),
    "duty_menu_published": ("Duty menu published", "履职菜单已发布"),
    "menu_signed_up": ("Signed up", "履职事项已认领"),
    "menu_designated": ("Items assigned to you", "履职事项已指派"),
    "assessment_concluded": ("Annual assessment", "年度履职考核结果"),
    # opinion reports 社情民意
    "opinion_returned": ("Opinion report returned", "社情民意信息退回修改"),
    "opinion_adopted": ("Opinion report adopted", "社情民意信息已采用"),
    "opinion_not_adopted": ("Opinion report not adopted", "社情民意信息未采用"),
    "opinion_reported": ("Opinion report sent on", "社情民意信息已报送"),
    "opinion_forwarded": ("Opinion report forwarded to you", "社情民意信息转办"),
    "opinion_feedback_received": ("Feedback on an opinion report", "收到社情民意办理反馈"),
    "opinion_feedback_due_soon": ("Feedback due soon", "社情民意反馈即将到期"),
    "opinion_feedback_overdue": ("Feedback overdue", "社情民意反馈已逾期"),
    "opinion_instructed": ("Leader's instruction on your report", "社情民意信息获领导批示"),
    "opinion_informed": ("News of your opinion report", "社情民意信息情况通报"),
    "opinion_received_from_below": ("Opinion report from below", "收到下级政协报送的社情民意信息"),
    "opinion_decided_above": ("Decision of the committee above", "上级政协处理结果"),
    # consultations 协商议事
    "consultation_invited": ("Invitation to a consultation meeting", "协商议事会议邀请"),
    "consultation_plan_changed": ("Consultation meeting rearranged", "协商议事会议安排调整"),
    "consultation_meeting_due_soon": ("Consultation meeting soon", "协商议事会议即将举行"),
    "follow_up_task_assigned": ("Follow-up task for your unit", "协商成果落实任务"),
    "follow_up_task_due_soon": ("Follow-up task due soon", "落实任务即将到期"),
    "follow_up_task_overdue": ("Follow-up task overdue", "落实任务已逾期"),
    "follow_up_task_overdue_escalated": ("Overdue follow-up task (supervision)", "落实任务逾期（督办）"),
    # democratic supervision 民主监督
    "supervision_group_formed": ("Democratic supervision group formed", "民主监督组已组成"),
    "supervision_opinion_issued": ("Supervision opinion for your unit", "民主监督意见"),
    "supervision_handling_due_soon": ("Supervision opinion due soon", "监督意见办理即将到期"),
    "supervision_handling_overdue": ("Supervision opinion overdue", "监督意见办理已逾期"),
    "supervision_handling_overdue_escalated": ("Overdue supervision opinion (supervision)", "监督意见办理逾期（督办）"),
    # digests 汇总
    "digest": ("Notice digest", "通知汇总"),
}
register_words("notify", "events", EVENT_LABELS)
register_words("notify", "channels", CHANNEL_LABELS)
register_words("notify", "cadences", CADENCE_LABELS)
register_words("notify", "kinds", KIND_LABELS)
