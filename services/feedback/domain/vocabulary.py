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


# -- consultations 协商议事 (the eight steps 八步议事法) and supervision groups 民主监督组 -------------

# States of a consultation (its eight steps; ConsultationState.next_commands).
(TOPIC_PROPOSED, TOPIC_SET_ASIDE, TOPIC_DECIDED, TOPIC_APPROVED, TOPIC_REJECTED, PLANNED, MET,
 RESULTS_PUBLISHED, FOLLOWING_UP, CLOSED) = (
    "topic_proposed", "topic_set_aside", "topic_decided", "topic_approved", "topic_rejected",
    "planned", "met", "results_published", "following_up", "closed")
CONSULTATION_STATES = (TOPIC_PROPOSED, TOPIC_SET_ASIDE, TOPIC_DECIDED, TOPIC_APPROVED, TOPIC_REJECTED,
                       PLANNED, MET, RESULTS_PUBLISHED, FOLLOWING_UP, CLOSED)
# What each state allows (the consultation's facts may take some away).
CONSULTATION_COMMANDS: dict[str, tuple[str, ...]] = {
    TOPIC_PROPOSED: ("decide_consultation_topic", "set_aside_consultation_topic"),
    TOPIC_SET_ASIDE: (),
    TOPIC_DECIDED: ("approve_consultation_topic", "reject_consultation_topic"),
    TOPIC_APPROVED: ("plan_consultation",),
    TOPIC_REJECTED: (),
    PLANNED: ("plan_consultation", "record_consultation_research", "record_consultation_meeting"),
    MET: ("publish_consultation_results", "convert_consultation_result"),
    RESULTS_PUBLISHED: ("decide_consultation", "convert_consultation_result"),
    FOLLOWING_UP: ("assign_follow_up_task", "complete_follow_up_task", "record_follow_up_visit",
                   "record_satisfaction_survey", "convert_consultation_result", "close_consultation"),
    CLOSED: (),
}
# Where a topic comes from (利通: 党政点题、委员征题、群众出题; and departments).
TOPIC_SOURCES = ("party_government", "member", "resident", "department")
# A topic list's entries: allowed 可协商, forbidden 不可协商, or taken off both.
ALLOWED, FORBIDDEN, UNLISTED = "allowed", "forbidden", "unlisted"
LISTINGS = (ALLOWED, FORBIDDEN, UNLISTED)
# The lists a committee starts with (甘州: 10 kinds that may be consulted on, 7 that may not);
# staff amend them (ConsultationTopicListAmended), each change with its reason.
DEFAULT_TOPIC_LISTS: dict[str, dict[str, str]] = {
    ALLOWED: {
        "development": "本地经济社会发展中的重要事项",
        "public_services": "公共服务和民生实事",
        "infrastructure": "基础设施建设和管理",
        "environment": "生态环境和人居环境整治",
        "community_governance": "基层社会治理和村（居）务",
        "rural_revitalisation": "乡村振兴和产业发展",
        "education_health_culture": "教育、医疗卫生和文化事业",
        "elderly_children": "养老托育和困难群体帮扶",
        "public_safety": "安全生产和公共安全",
        "residents_concerns": "群众反映强烈的急难愁盼问题",
    },
    FORBIDDEN: {
        "against_party_line": "违背党的路线方针政策的事项",
        "against_law": "违反法律法规的事项",
        "party_internal": "党内事务和干部人事任免",
        "secrets_privacy": "涉及国家秘密、商业秘密和个人隐私的事项",
        "religion_ethnicity": "宗教事务和民族问题等敏感事项",
        "in_legal_process": "已进入诉讼、仲裁、信访程序的事项",
        "private_interest": "个人或少数人的私利诉求",
    },
}
TOPIC_LISTS_STREAM = "consultation-topic-lists"
# The kinds of a plan's participants 参加人员 (members and departments by id; residents counted;
# stakeholders described, never named).
PARTICIPANT_KINDS = ("member", "department", "resident", "stakeholder")
# The platforms a consultation is held on: the members service's stations (STATION_TYPES there)
# that host consultations — 民生议事堂, 协商驿站, 委员工作室, 协商议事室, and the work stations.
CONSULTATION_PLACE_TYPES = ("livelihood_hall", "consultation_post", "studio", "consultation_room",
                            "work_station", "liaison_station")
RESEARCH_KINDS = ("field_visit", "survey", "forum", "interview", "records")  # 实地走访、问卷、座谈、走访、查阅资料
# How results are published 公开公示 (甘州: 政务公开栏、微信平台; 会议决议、村规民约).
PUBLICATION_CHANNELS = ("notice_board", "wechat", "resolution", "village_rules", "website")
SATISFACTION = ("satisfied", "basically_satisfied", "dissatisfied")
MEETING_REMIND_DAYS_BEFORE = 2   # participants are reminded this many days before the meeting
TASK_REMIND_DAYS_BEFORE = 3      # a unit owing a follow-up task or a handling report
MAX_TASK_DAYS = 365

# Supervision groups 民主监督组.
FORMED = "formed"
SUPERVISION_STATES = (FORMED, CLOSED)
SUPERVISION_COMMANDS: dict[str, tuple[str, ...]] = {
    FORMED: ("record_fact_finding", "issue_supervision_opinion", "report_supervision_handling",
             "verify_supervision_effect", "close_supervision_group"),
    CLOSED: (),
}
# What a supervision opinion goes through.
OPINION_ISSUED, OPINION_HANDLED, OPINION_VERIFIED = "issued", "handled", "verified"
FACT_FINDING_KINDS = ("site_visit", "briefing", "forum", "records_review", "open_day")
VERDICTS = ("carried_out", "partly_carried_out", "not_carried_out")


def consultation_stream(consultation_id: str) -> str:
    return f"consultation-{consultation_id}"


def supervision_stream(group_id: str) -> str:
    return f"supervision-{group_id}"


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
    "propose_consultation_topic": ("raise a consultation topic", "提出协商议题"),
    "amend_topic_lists": ("amend the topic lists", "修改协商议题清单"),
    "decide_consultation_topic": ("decide the topic", "确定协商议题"),
    "set_aside_consultation_topic": ("set the topic aside", "议题不予采纳"),
    "approve_consultation_topic": ("approve the topic (party organisation)", "党组织批准议题"),
    "reject_consultation_topic": ("reject the topic (party organisation)", "党组织不批准议题"),
    "plan_consultation": ("draw up the plan", "制定协商方案"),
    "record_consultation_research": ("record research before the meeting", "记录议前调研"),
    "record_consultation_meeting": ("record the consultation meeting", "记录协商议事"),
    "publish_consultation_results": ("publish the results", "公开公示协商结果"),
    "decide_consultation": ("record the organisation's decision", "记录组织决定"),
    "assign_follow_up_task": ("give a unit a follow-up task", "交办落实任务"),
    "complete_follow_up_task": ("report a follow-up task done", "报告落实情况"),
    "record_follow_up_visit": ("record the follow-up visit", "记录回访"),
    "record_satisfaction_survey": ("record the satisfaction survey", "记录满意度测评"),
    "convert_consultation_result": ("turn a result into an opinion report or a proposal",
                                    "协商成果转化为社情民意信息或提案"),
    "close_consultation": ("close the consultation", "协商办结"),
    "form_supervision_group": ("form a supervision group", "组建民主监督组"),
    "record_fact_finding": ("record the group's fact finding", "记录监督调研"),
    "issue_supervision_opinion": ("issue a supervision opinion", "提出监督意见"),
    "report_supervision_handling": ("report how the opinion was handled", "报告监督意见办理情况"),
    "verify_supervision_effect": ("verify the effect", "核验落实效果"),
    "close_supervision_group": ("close the group's round", "监督组工作办结"),
    "read this consultation": ("read this consultation", "查看此协商议事"),
    "read consultations": ("read consultations", "查看协商议事"),
    "read this supervision group": ("read this supervision group", "查看此民主监督组"),
    "read supervision groups": ("read supervision groups", "查看民主监督组"),
    "read this report": ("read this report", "查看此社情民意信息"),
    "read the desk": ("read the editors' desk", "查看编辑工作台"),
    "read these reports": ("read these reports", "查看这些社情民意信息"),
    "read the statistics": ("read the statistics", "查看统计数据"),
    "read the directory": ("read the directory", "查看名录"),
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    SUBMITTED: ("submitted", "待编辑"), RETURNED: ("returned for revision", "已退回修改"),
    COMBINED: ("combined into another report", "已综合"), ADOPTED: ("adopted", "已采用"),
    NOT_ADOPTED: ("not adopted", "未采用"), "none": ("not submitted", "未报送"),
    TOPIC_PROPOSED: ("topic raised", "议题收集"), TOPIC_SET_ASIDE: ("topic set aside", "议题未采纳"),
    TOPIC_DECIDED: ("topic decided, awaiting the party organisation", "议题已确定，待党组织批准"),
    TOPIC_APPROVED: ("topic approved, plan to draw up", "议题已批准，待制定方案"),
    TOPIC_REJECTED: ("topic not approved", "党组织未批准"), PLANNED: ("planned", "方案已制定"),
    MET: ("meeting held", "已协商议事"), RESULTS_PUBLISHED: ("results published", "结果已公示"),
    FOLLOWING_UP: ("decided, being carried out", "已组织决定，跟踪落实中"), CLOSED: ("closed", "已办结"),
    FORMED: ("at work", "监督中"),
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
    "DirectoryEntryNoted": ("Directory entry noted", "名录更新"),
    "ConsultationTopicListAmended": ("Topic lists amended", "修改协商议题清单"),
    "ConsultationTopicProposed": ("Topic raised", "议题收集"),
    "ConsultationTopicSetAside": ("Topic set aside", "议题不予采纳"),
    "ConsultationTopicDecided": ("Topic decided", "议题确定"),
    "ConsultationTopicApproved": ("Topic approved by the party organisation", "党组织批准议题"),
    "ConsultationTopicRejected": ("Topic not approved", "党组织未批准议题"),
    "ConsultationPlanned": ("Plan drawn up", "制定方案"),
    "ConsultationResearchRecorded": ("Research before the meeting", "议前调研"),
    "ConsultationMeetingHeld": ("Consultation meeting held", "协商议事"),
    "ConsultationResultsPublished": ("Results published", "公开公示"),
    "ConsultationDecided": ("Decided by the organisation", "组织决定"),
    "FollowUpTaskAssigned": ("Follow-up task given", "交办落实任务"),
    "FollowUpTaskCompleted": ("Follow-up task done", "落实任务完成"),
    "FollowUpTaskDueSoon": ("Follow-up task due soon", "落实任务即将到期提醒"),
    "FollowUpTaskOverdue": ("Follow-up task overdue", "落实任务逾期"),
    "ConsultationMeetingDueSoon": ("Participants reminded of the meeting", "协商会议提醒"),
    "ConsultationFollowUpVisited": ("Follow-up visit", "跟踪回访"),
    "ConsultationSurveyRecorded": ("Satisfaction survey", "满意度测评"),
    "ConsultationResultConverted": ("Result turned into a report or proposal", "协商成果转化"),
    "ConsultationLinkedToProposal": ("Linked to its proposal", "关联提案"),
    "ConsultationClosed": ("Consultation closed", "协商办结"),
    "SupervisionGroupFormed": ("Supervision group formed", "组建民主监督组"),
    "SupervisionFactFindingRecorded": ("Fact finding", "监督调研"),
    "SupervisionOpinionIssued": ("Supervision opinion issued", "提出监督意见"),
    "SupervisionHandlingReported": ("Handling reported", "报告办理情况"),
    "SupervisionHandlingDueSoon": ("Handling report due soon", "办理情况即将到期提醒"),
    "SupervisionHandlingOverdue": ("Handling report overdue", "办理情况逾期"),
    "SupervisionEffectVerified": ("Effect verified", "核验落实效果"),
    "SupervisionGroupClosed": ("Supervision group closed", "监督组工作办结"),
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
TOPIC_SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "party_government": ("Set by the Party and government", "党政点题"),
    "member": ("Raised by members", "委员提题"), "resident": ("Raised by residents", "群众出题"),
    "department": ("Raised by departments", "部门提题"),
}
LISTING_LABELS: dict[str, tuple[str, str]] = {
    ALLOWED: ("May be consulted on", "可协商"), FORBIDDEN: ("May not be consulted on", "不可协商"),
    UNLISTED: ("Off the lists", "移出清单"),
}
# The default kinds' words (a kind staff add later has the label they gave it).
TOPIC_KIND_LABELS: dict[str, tuple[str, str]] = {
    kind: (kind.replace("_", " ").capitalize(), label)
    for listing in DEFAULT_TOPIC_LISTS.values() for kind, label in listing.items()}
PARTICIPANT_KIND_LABELS: dict[str, tuple[str, str]] = {
    "member": ("Members", "政协委员"), "department": ("Departments", "职能部门"),
    "resident": ("Residents", "群众代表"), "stakeholder": ("Stakeholders", "利益相关方"),
}
PLACE_TYPE_LABELS: dict[str, tuple[str, str]] = {
    "livelihood_hall": ("Livelihood hall", "民生议事堂"), "consultation_post": ("Consultation post", "协商驿站"),
    "studio": ("Members' studio", "委员工作室"), "consultation_room": ("Consultation room", "协商议事室"),
    "work_station": ("Members' work station", "委员工作站"),
    "liaison_station": ("Members' liaison station", "委员联络站"),
}
RESEARCH_KIND_LABELS: dict[str, tuple[str, str]] = {
    "field_visit": ("Field visit", "实地调研"), "survey": ("Questionnaire", "问卷调查"),
    "forum": ("Forum", "座谈会"), "interview": ("Door-to-door visits", "走访"),
    "records": ("Records review", "查阅资料"),
}
PUBLICATION_CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    "notice_board": ("Public notice board", "政务公开栏"), "wechat": ("WeChat platform", "微信平台"),
    "resolution": ("Meeting resolution", "会议决议"), "village_rules": ("Village rules", "村规民约"),
    "website": ("Website", "门户网站"),
}
SATISFACTION_LABELS: dict[str, tuple[str, str]] = {
    "satisfied": ("Satisfied", "满意"), "basically_satisfied": ("Basically satisfied", "基本满意"),
    "dissatisfied": ("Dissatisfied", "不满意"),
}
FACT_FINDING_LABELS: dict[str, tuple[str, str]] = {
    "site_visit": ("Site visit", "实地视察"), "briefing": ("Briefing by the department", "听取情况汇报"),
    "forum": ("Forum with residents", "民意座谈"), "records_review": ("Records review", "查阅资料"),
    "open_day": ("Open day or hearing", "开放日、听证会"),
}
VERDICT_LABELS: dict[str, tuple[str, str]] = {
    "carried_out": ("Carried out", "落实到位"), "partly_carried_out": ("Partly carried out", "部分落实"),
    "not_carried_out": ("Not carried out", "未落实"),
}
SUPERVISION_OPINION_STATE_LABELS: dict[str, tuple[str, str]] = {
    OPINION_ISSUED: ("Awaiting the department's report", "待部门报告办理情况"),
    OPINION_HANDLED: ("Handled, to verify", "已办理，待核验"), OPINION_VERIFIED: ("Verified", "已核验"),
}
register_words("feedback", "events", EVENT_LABELS)
register_words("feedback", "topic_sources", TOPIC_SOURCE_LABELS)
register_words("feedback", "listings", LISTING_LABELS)
register_words("feedback", "topic_kinds", TOPIC_KIND_LABELS)
register_words("feedback", "participant_kinds", PARTICIPANT_KIND_LABELS)
register_words("feedback", "place_types", PLACE_TYPE_LABELS)
register_words("feedback", "research_kinds", RESEARCH_KIND_LABELS)
register_words("feedback", "publication_channels", PUBLICATION_CHANNEL_LABELS)
register_words("feedback", "satisfaction", SATISFACTION_LABELS)
register_words("feedback", "fact_finding_kinds", FACT_FINDING_LABELS)
register_words("feedback", "verdicts", VERDICT_LABELS)
CONVERSION_LABELS: dict[str, tuple[str, str]] = {
    "opinion_report": ("Opinion report", "社情民意信息"), "proposal": ("Collective proposal", "集体提案"),
}
register_words("feedback", "supervision_opinion_states", SUPERVISION_OPINION_STATE_LABELS)
register_words("feedback", "conversion_targets", CONVERSION_LABELS)
register_words("feedback", "channels", CHANNEL_LABELS)
register_words("feedback", "categories", CATEGORY_LABELS)
register_words("feedback", "checks", CHECK_LABELS)
register_words("feedback", "levels", LEVEL_LABELS)
register_words("feedback", "leader_levels", LEADER_LEVEL_LABELS)
register_words("feedback", "leader_offices", LEADER_OFFICE_LABELS)
register_words("feedback", "upper_decisions", UPPER_DECISION_LABELS)
