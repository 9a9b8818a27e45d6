"""The words of opinion reports: who submits, through which channel, in which category; the
states of the loop, the four checks, the levels of committees, what comes back from above."""

from __future__ import annotations

import uuid

from xieshang.kernel.anchoring import CHECKPOINT_LABELS
from xieshang.kernel.messages import register_labels, register_words

# Roles (Actor.role) this service knows.
MEMBER, INFORMANT, STAFF, UNIT, LEADER, AUDITOR, SYSTEM = (
    "member", "informant", "staff", "unit", "leader", "auditor", "system")
SUBMITTERS = (MEMBER, INFORMANT)  # 委员, 社情民意信息员 / 特邀信息员
READERS = (STAFF, AUDITOR, LEADER)  # who reads every report and the statistics

# The six collection channels 六条渠道: 领导点、专委会搜、委员提、活动找、提案转、会议集.
CHANNELS = ("leader", "committee", "member", "activity", "proposal", "meeting")
CATEGORIES = ("economy", "politics", "culture", "society", "ecology", "other")
# The four checks 四关: 政治关、事实关、内容关、文字关.
CHECKS = ("political", "facts", "content", "wording")
# Committee levels 全国、省/自治区、市、县/区 (xieshang.kernel.envelope.LEVELS).
LEVELS = ("national", "province", "city", "county")
# Where a leader who instructs sits 党委、政府、政协.
LEADER_OFFICES = ("party_committee", "government", "committee")
# What an upper committee's decision on a report from below can be (OpinionDecidedAbove).
UPPER_DECISIONS = ("adopted", "not_adopted", "reported", "forwarded", "instructed", "fed_back")

TEXT_LIMITS: dict[str, tuple[int, int]] = {
    "title": (2, 200), "content": (10, 20_000), "reason": (2, 2000), "note": (2, 2000),
    "text": (2, 10_000),
}
TITLE_LENGTH, CONTENT_LENGTH = TEXT_LIMITS["title"], TEXT_LIMITS["content"]
MAX_FORWARD_DAYS = 365
REMIND_DAYS_BEFORE = 3  # a unit owing feedback is reminded this many days before its deadline
MAX_SOURCES = 50

SUBMITTED, RETURNED, COMBINED, ADOPTED, NOT_ADOPTED = (
    "submitted", "returned", "combined", "adopted", "not_adopted")
DECIDED = (ADOPTED, NOT_ADOPTED)

# What each state allows (the report's flags add or take away some: OpinionReport.next_commands).
STATE_COMMANDS: dict[str, tuple[str, ...]] = {
    SUBMITTED: ("record_opinion_check", "return_opinion_report", "combine_opinion_reports",
                "adopt_opinion_report", "not_adopt_opinion_report"),
    RETURNED: ("revise_opinion_report",),
    COMBINED: (),
    ADOPTED: ("report_opinion", "forward_opinion", "send_opinion_feedback",
              "record_leader_instruction", "inform_submitter"),
    NOT_ADOPTED: ("inform_submitter",),
}

# Report ids of reports received from below: the same origin report always gives the same id.
FROM_BELOW = uuid.UUID("0f3c9a52-7d41-4b8e-b6a3-3c2e5d8f9a10")


def opinion_stream(report_id: str) -> str:
    return f"opinion-{report_id}"


def received_report_id(origin_committee: str, origin_report_id: str) -> str:
    return str(uuid.uuid5(FROM_BELOW, f"{origin_committee}/{origin_report_id}"))


# What a refusal calls each command, state and role (xieshang.kernel.messages): English, Chinese.
COMMAND_LABELS: dict[str, tuple[str, str]] = {
    "submit_opinion_report": ("submit an opinion report", "报送社情民意信息"),
    "record_opinion_check": ("record a check of the report", "记录审核（四关）"),
    "return_opinion_report": ("return the report for revision", "退回修改社情民意信息"),
    "revise_opinion_report": ("revise the report", "修改社情民意信息"),
    "combine_opinion_reports": ("combine reports into one", "综合社情民意信息"),
    "adopt_opinion_report": ("adopt the report", "采用社情民意信息"),
    "not_adopt_opinion_report": ("decide not to adopt the report", "不予采用社情民意信息"),
    "report_opinion": ("report it to the party committee, government or upper committees",
                       "报送党委、政府或上级政协"),
    "forward_opinion": ("forward it to units", "转交承办单位"),
    "send_opinion_feedback": ("send the unit's written feedback", "提交书面反馈"),
    "record_leader_instruction": ("record a leader's instruction", "记录领导批示"),
    "inform_submitter": ("tell the submitters what happened", "向报送人通报情况"),
    "receive_opinion_from_below": ("take up a report from a lower committee", "接收下级政协报送的信息"),
    "record_decision_from_above": ("record an upper committee's decision", "记录上级政协的处理情况"),
    "read this report": ("read this report", "查看此社情民意信息"),
    "read the desk": ("read the editors' desk", "查看编辑工作台"),
    "read these reports": ("read these reports", "查看这些社情民意信息"),
    "read the statistics": ("read the statistics", "查看统计数据"),
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    SUBMITTED: ("submitted", "待编辑"), RETURNED: ("returned for revision", "已退回修改"),
    COMBINED: ("combined into another report", "已综合"), ADOPTED: ("adopted", "已采用"),
    NOT_ADOPTED: ("not adopted", "未采用"), "none": ("not submitted", "未报送"),
}
CHECK_LABELS: dict[str, tuple[str, str]] = {
    "political": ("political check", "政治关"), "facts": ("facts check", "事实关"),
    "content": ("content check", "内容关"), "wording": ("wording check", "文字关"),
}
ROLE_LABELS: dict[str, tuple[str, str]] = {
    MEMBER: ("member", "委员"), INFORMANT: ("informant", "信息员"), STAFF: ("staff", "工作人员"),
    UNIT: ("unit", "承办单位"), LEADER: ("leader", "领导"), AUDITOR: ("auditor", "审计人员"),
    SYSTEM: ("system", "系统"),
}
register_labels("feedback", COMMAND_LABELS, STATE_LABELS, ROLE_LABELS)


# -- the words a page shows for codes (xieshang.kernel.messages.vocabulary): English, Chinese ----

# What happened, as a report's timeline says it: one label per event type of domain/events.py.
EVENT_LABELS: dict[str, tuple[str, str]] = {
    **CHECKPOINT_LABELS,  # the kernel's checkpoint events (xieshang.kernel.anchoring)
    "OpinionReportSubmitted": ("Opinion report submitted", "报送社情民意信息"),
    "OpinionReportReturned": ("Returned for revision", "退回修改"),
    "OpinionReportRevised": ("Report revised", "修改后重新报送"),
    "OpinionReportsCombined": ("Reports combined", "综合编辑"),
    "OpinionReportCombinedInto": ("Combined into another report", "并入综合信息"),
    "OpinionReportCombinationReleased": ("Combination released", "综合未完成"),
    "OpinionCheckRecorded": ("Check recorded", "四关审核"),
    "OpinionReportAdopted": ("Report adopted", "采用"),
    "OpinionReportNotAdopted": ("Not adopted", "不予采用"),
    "OpinionReportReported": ("Report sent on", "报送"),
    "OpinionReportForwarded": ("Forwarded to units", "转交承办单位"),
    "OpinionFeedbackReceived": ("Written feedback received", "书面反馈"),
    "OpinionFeedbackDueSoon": ("Feedback due soon", "反馈即将到期提醒"),
    "OpinionFeedbackOverdue": ("Feedback overdue", "反馈逾期"),
    "LeaderInstructionRecorded": ("Leader's instruction", "领导批示"),
    "SubmitterInformed": ("Submitters informed", "情况通报"),
    "OpinionReceivedFromBelow": ("Received from a lower committee", "接收下级政协报送"),
    "OpinionDecidedAbove": ("Decided by an upper committee", "上级政协处理结果"),
}
CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "leader": ("Topic set by leaders", "领导点题"),
    "committee": ("Collected by special committees", "专委会搜集"),
    "member": ("Raised by members", "委员提供"),
    "activity": ("Found in activities", "活动中发现"),
    "proposal": ("Turned from a proposal", "提案转化"),
    "meeting": ("Gathered at meetings", "会议收集"),
}
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "economy": ("Economy", "经济"), "politics": ("Politics", "政治"), "culture": ("Culture", "文化"),
    "society": ("Society", "社会"), "ecology": ("Ecology", "生态文明"), "other": ("Other", "其他"),
}
LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "national": ("National committee", "全国政协"), "province": ("Provincial committee", "省级政协"),
    "city": ("City committee", "市级政协"), "county": ("County committee", "县级政协"),
}
# A leader's own level (LeaderInstructionRecorded.leader_level), as a form asks for it.
LEADER_LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "national": ("National level", "中央（全国）"), "province": ("Province or region", "省（自治区）级"),
    "city": ("City level", "市级"), "county": ("County or district", "县（区）级"),
}
LEADER_OFFICE_LABELS: dict[str, tuple[str, str]] = {
    "party_committee": ("Party committee", "党委"), "government": ("Government", "政府"),
    "committee": ("CPPCC committee", "政协"),
}
UPPER_DECISION_LABELS: dict[str, tuple[str, str]] = {
    "adopted": ("Adopted", "采用"), "not_adopted": ("Not adopted", "不予采用"),
    "reported": ("Reported further", "继续报送"), "forwarded": ("Forwarded to units", "转交办理"),
    "instructed": ("Leader's instruction", "领导批示"), "fed_back": ("Feedback received", "收到反馈"),
}
register_words("feedback", "events", EVENT_LABELS)
register_words("feedback", "channels", CHANNEL_LABELS)
register_words("feedback", "categories", CATEGORY_LABELS)
register_words("feedback", "checks", CHECK_LABELS)
register_words("feedback", "levels", LEVEL_LABELS)
register_words("feedback", "leader_levels", LEADER_LEVEL_LABELS)
register_words("feedback", "leader_offices", LEADER_OFFICE_LABELS)
register_words("feedback", "upper_decisions", UPPER_DECISION_LABELS)
