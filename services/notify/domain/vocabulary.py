"""The words of notifications: channels, cadences, the upstream events reacted to, stream names."""

from __future__ import annotations

from xieshang.kernel.messages import register_labels

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
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    "unpublished": ("not published", "未公开"),
    "planned": ("planned", "待投递"), "sending": ("being sent", "投递中"),
    "sent": ("sent", "已送达"), "undeliverable": ("undeliverable", "无法投递"),
    "skipped": ("skipped (no address)", "未投递（无联系方式）"), "none": ("not planned", "未安排投递"),
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
               "OpinionReceivedFromBelow", "OpinionDecidedAbove"),
}
