"""The words of the proposals domain: roles, states, categories, kinds, limits, stream names.

The lifecycle 提、立、交、办、督、评 (DOMAIN.md §1):

    submitted ──file──> filed ──assign──> assigned ──reply──> replied ──close──> closed
      │  ▲                                   ▲  (object / reassign,        │
      │  └─revise── returned                 │   contacts, co-unit         │ an unsatisfied
      ├──return──> returned                  │   opinions, overdue)        │ rating
      ├──not file──> not_filed                └──── rehandling (round n+1) ─┘
      └──merge──> merged (points to the surviving case)

Beside the states: joint proposals wait for their co-signers' confirmation; key proposals 重点
have named supervisors and supervision records; publication needs the proposer's consent;
published cases take public comments, moderated by staff and answered by the lead unit.
"""

from __future__ import annotations

import re

from xieshang.kernel.anchoring import CHECKPOINT_LABELS
from xieshang.kernel.messages import register_labels, register_words

# Roles (Actor.role) this service knows. Subscriber systems read, never write.
MEMBER, STAFF, UNIT, LEADER, PUBLIC, SYSTEM, AUDITOR = (
    "member", "staff", "unit", "leader", "public", "system", "auditor")
SUBSCRIBER = "subscriber"

# 经济、政治、文化、社会、生态文明 (the seeds' "五位一体" areas) and the rest.
CATEGORIES = ("economy", "politics", "culture", "society", "ecology", "other")
KINDS = ("individual", "joint", "collective")          # 个人, 联名, 集体
BODY_TYPES = ("party", "group", "sector", "special_committee")  # 党派, 团体, 界别, 专门委员会
REPLY_CLASSES = {
    "A": "solved or basically solved 已解决或基本解决",
    "B": "being solved or planned 正在解决或列入计划",
    "C": "cannot be solved for now 因条件限制暂不能解决",
}
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")  # 满意, 基本满意, 不满意
CONTACT_STAGES = ("before", "during", "after")                  # 办前, 办中, 办后
CONVERSIONS = ("opinion_report", "suggestion_letter")          # 转社情民意, 转意见建议
SUPERVISION_MODES = ("party_government_leader", "chairs_meeting", "special_committee",
                     "proposal_committee")                     # 领衔督办 … 跟踪督办
SUPERVISION_KINDS = ("inspection", "meeting", "research", "other")  # 视察, 督办会, 调研
# Lengths of what people write (characters, after trimming). The gateway's request models declare
# the same bounds; tests/services/test_gateway_vocabulary.py keeps the two equal.
TEXT_LIMITS: dict[str, tuple[int, int]] = {
    "title": (2, 200), "reasons": (2, 20_000), "suggestions": (2, 20_000), "reason": (2, 2000),
    "note": (2, 10_000), "summary": (2, 5000), "opinion": (2, 20_000), "reply": (2, 50_000),
    "text": (2, 2000), "display_name": (1, 30), "answer": (2, 5000), "rejection_reason": (2, 500),
}
CO_SIGN_WINDOW_DAYS = 7
URGENT_MAX_DAYS = 365

SUBMITTED, RETURNED, FILED, NOT_FILED, MERGED, ASSIGNED, REPLIED, CLOSED = (
    "submitted", "returned", "filed", "not_filed", "merged", "assigned", "replied", "closed")
OPEN = (SUBMITTED, RETURNED, FILED, ASSIGNED, REPLIED)
HANDLED = (ASSIGNED, REPLIED, CLOSED)
PUBLISHABLE = (FILED, ASSIGNED, REPLIED, CLOSED)

# What each state allows (besides key designation, supervision, publication and comments,
# which depend on flags as well; Proposal.next_commands() lists them all).
STATE_COMMANDS: dict[str, tuple[str, ...]] = {
    SUBMITTED: ("confirm_co_signature", "decline_co_signature", "file_proposal",
                "not_file_proposal", "return_proposal", "merge_proposal"),
    RETURNED: ("revise_proposal",),
    FILED: ("assign_proposal", "designate_key_proposal"),
    ASSIGNED: ("object_to_assignment", "reassign_proposal", "dismiss_objection", "record_contact",
               "send_co_unit_opinion", "reply_to_proposal", "designate_key_proposal"),
    REPLIED: ("rate_reply", "record_contact", "record_follow_up", "close_proposal",
              "designate_key_proposal"),
    NOT_FILED: (), MERGED: (), CLOSED: (),
}

# A session 届次/会次 labels case numbers: 2024, 11-3, 十一届三次 …
SESSION = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff_.-]{0,19}$")

RULES_STREAM = "handling-rules"


def proposal_stream(proposal_id: str) -> str:
    return f"proposal-{proposal_id}"


def case_numbers_stream(session: str) -> str:
    return f"casenumbers-{session}"


# What a refusal calls each command, state and role (xieshang.kernel.messages): English, Chinese.
COMMAND_LABELS: dict[str, tuple[str, str]] = {
    "submit_proposal": ("submit a proposal", "提交提案"),
    "confirm_co_signature": ("confirm co-signing", "确认附议"),
    "decline_co_signature": ("decline co-signing", "拒绝附议"),
    "return_proposal": ("return the proposal for revision", "退回修改提案"),
    "revise_proposal": ("revise the proposal", "修改提案"),
    "file_proposal": ("file the proposal", "立案"),
    "not_file_proposal": ("decide not to file the proposal", "不予立案"),
    "merge_proposal": ("merge the proposal into another", "并案"),
    "assign_proposal": ("assign the proposal to units", "交办提案"),
    "object_to_assignment": ("object to the assignment", "申请调整交办"),
    "reassign_proposal": ("reassign the proposal", "重新交办提案"),
    "dismiss_objection": ("keep the assignment despite the objection", "驳回调整申请"),
    "record_contact": ("record a contact with the proposer", "记录与提案人的沟通"),
    "send_co_unit_opinion": ("send a co-unit's opinion", "提交会办意见"),
    "reply_to_proposal": ("reply to the proposal", "答复提案"),
    "designate_key_proposal": ("make it a key proposal", "确定为重点提案"),
    "record_supervision": ("record supervision", "记录督办情况"),
    "rate_reply": ("rate the reply", "评价答复"),
    "record_follow_up": ("record a follow-up of the reply", "记录跟踪落实情况"),
    "close_proposal": ("close the case", "办结提案"),
    "set_publication_consent": ("decide on publication", "设置是否同意公开"),
    "publish_proposal": ("publish the proposal", "公开提案"),
    "unpublish_proposal": ("withdraw the proposal from publication", "撤销公开提案"),
    "submit_comment": ("comment on the proposal", "发表评论"),
    "moderate_comment": ("moderate the comment", "审核评论"),
    "answer_comment": ("answer the comment", "回复评论"),
    "set_handling_rules": ("set the deadline rules", "设置办理期限规则"),
    "amend_holiday_calendar": ("amend the holiday calendar", "调整节假日安排"),
    "read this proposal": ("read this proposal", "查看此提案"),
    "read this inbox": ("read this unit's inbox", "查看该单位的待办提案"),
    "read these cases": ("read these cases", "查看这些提案"),
    "read the worklist": ("read the worklist", "查看工作清单"),
    "read the statistics": ("read the statistics", "查看统计数据"),
    "download the year-end report": ("download the year-end report", "下载年度报告"),
    "read the directory": ("read the directory", "查看名录"),
    "read their own comments": ("read their own comments", "查看本人的评论"),
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    SUBMITTED: ("submitted", "已提交"), RETURNED: ("returned", "已退回修改"), FILED: ("filed", "已立案"),
    NOT_FILED: ("not filed", "不予立案"), MERGED: ("merged", "已并案"), ASSIGNED: ("assigned", "已交办"),
    REPLIED: ("replied", "已答复"), CLOSED: ("closed", "已办结"), "none": ("not submitted", "未提交"),
}
ROLE_LABELS: dict[str, tuple[str, str]] = {
    MEMBER: ("member", "委员"), STAFF: ("staff", "工作人员"), UNIT: ("unit", "承办单位"),
    LEADER: ("leader", "领导"), PUBLIC: ("public", "公众"), SYSTEM: ("system", "系统"),
    AUDITOR: ("auditor", "审计人员"), SUBSCRIBER: ("subscriber", "订阅系统"),
}
register_labels("proposals", COMMAND_LABELS, STATE_LABELS, ROLE_LABELS)


# -- the words a page shows for codes (xieshang.kernel.messages.vocabulary): English, Chinese ----

# What happened, as a case's timeline says it: one label per event type of domain/events.py.
EVENT_LABELS: dict[str, tuple[str, str]] = {
    "LogCheckpointed": CHECKPOINT_LABELS["LogCheckpointed"],  # xieshang.kernel.anchoring
    "ProposalSubmitted": ("Proposal submitted", "提交提案"),
    "CoSignatureConfirmed": ("Co-signing confirmed", "确认附议"),
    "CoSignatureDeclined": ("Co-signing declined", "拒绝附议"),
    "ProposalReturned": ("Returned for revision", "退回修改"),
    "ProposalRevised": ("Proposal revised", "修改后重新提交"),
    "CaseNumberAssigned": ("Case number given", "编定案号"),
    "CaseNumberReleased": ("Case number released", "收回案号"),
    "ProposalFiled": ("Proposal filed", "立案"),
    "ProposalNotFiled": ("Not filed", "不予立案"),
    "ProposalConvertedToOpinionReport": ("Converted to an opinion report", "转为社情民意信息"),
    "ProposalTakenUpFromConsultation": ("Taken up from a consultation", "协商成果转为集体提案"),
    "ProposalMerged": ("Merged into another proposal", "并案"),
    "MergedProposalAdded": ("Another proposal merged in", "并入同类提案"),
    "ProposalAssigned": ("Proposal assigned", "交办"),
    "AssignmentObjected": ("Assignment objected to", "申请调整交办"),
    "ObjectionDismissed": ("Objection dismissed", "驳回调整申请"),
    "ProposalReassigned": ("Proposal reassigned", "重新交办"),
    "ContactRecorded": ("Contact with the proposer", "办理沟通"),
    "CoUnitOpinionSent": ("Co-unit's opinion sent", "会办意见"),
    "ProposalReplied": ("Proposal replied", "答复"),
    "ReplyDueSoon": ("Reply due soon", "答复即将到期提醒"),
    "ReplyOverdue": ("Reply overdue", "答复逾期"),
    "ReplyDeadlineMoved": ("Reply deadline moved", "答复期限调整"),
    "ProposalDesignatedKey": ("Made a key proposal", "确定为重点提案"),
    "SupervisionRecorded": ("Supervision recorded", "督办"),
    "ReplyRated": ("Reply rated (confidential)", "评价答复（保密）"),
    "RehandlingStarted": ("Handled again", "重新办理"),
    "FollowUpRecorded": ("Follow-up recorded", "跟踪落实"),
    "ProposalClosed": ("Case closed", "办结"),
    "PublicationConsentChanged": ("Publication consent changed", "变更公开意愿"),
    "ProposalPublished": ("Proposal published", "公开提案"),
    "ProposalUnpublished": ("Publication withdrawn", "撤销公开"),
    "CommentSubmitted": ("Comment submitted", "发表评论"),
    "CommentApproved": ("Comment approved", "评论审核通过"),
    "CommentRejected": ("Comment rejected", "评论未通过审核"),
    "CommentAnswered": ("Comment answered", "回复评论"),
    "HandlingRulesSet": ("Deadline rules set", "设置办理期限规则"),
    "HolidayCalendarAmended": ("Holiday calendar amended", "调整节假日安排"),
    "DirectoryEntryNoted": ("Directory entry noted", "名录更新"),
}
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    "economy": ("Economy", "经济"), "politics": ("Politics", "政治"), "culture": ("Culture", "文化"),
    "society": ("Society", "社会"), "ecology": ("Ecology", "生态文明"), "other": ("Other", "其他"),
}
KIND_LABELS: dict[str, tuple[str, str]] = {
    "individual": ("Individual proposal", "个人提案"), "joint": ("Joint proposal", "联名提案"),
    "collective": ("Collective proposal", "集体提案"),
}
BODY_TYPE_LABELS: dict[str, tuple[str, str]] = {
    "party": ("Party", "党派"), "group": ("People's organisation", "人民团体"),
    "sector": ("Sector", "界别"), "special_committee": ("Special committee", "专门委员会"),
}
REPLY_CLASS_LABELS: dict[str, tuple[str, str]] = {
    "A": ("A: solved or basically solved", "A类 已解决或基本解决"),
    "B": ("B: being solved or planned", "B类 正在解决或列入计划"),
    "C": ("C: cannot be solved for now", "C类 因条件限制暂不能解决"),
}
RATING_LABELS: dict[str, tuple[str, str]] = {
    "satisfied": ("Satisfied", "满意"), "basically_satisfied": ("Basically satisfied", "基本满意"),
    "unsatisfied": ("Unsatisfied", "不满意"),
}
CONTACT_STAGE_LABELS: dict[str, tuple[str, str]] = {
    "before": ("Before handling", "办前"), "during": ("During handling", "办中"),
    "after": ("After handling", "办后"),
}
CONVERSION_LABELS: dict[str, tuple[str, str]] = {
    "opinion_report": ("Turned into an opinion report", "转社情民意信息"),
    "suggestion_letter": ("Turned into a letter of suggestion", "转意见建议"),
}
SUPERVISION_MODE_LABELS: dict[str, tuple[str, str]] = {
    "party_government_leader": ("Led by party and government leaders", "党政领导领衔督办"),
    "chairs_meeting": ("Led by members of the chairs' meeting", "主席会议成员领衔督办"),
    "special_committee": ("Shared among the special committees", "专委会分工督办"),
    "proposal_committee": ("Followed by the proposal committee", "提案委员会跟踪督办"),
}
SUPERVISION_KIND_LABELS: dict[str, tuple[str, str]] = {
    "inspection": ("Inspection", "视察"), "meeting": ("Supervision meeting", "督办会"),
    "research": ("Research", "调研"), "other": ("Other", "其他"),
}
register_words("proposals", "events", EVENT_LABELS)
register_words("proposals", "categories", CATEGORY_LABELS)
register_words("proposals", "kinds", KIND_LABELS)
register_words("proposals", "body_types", BODY_TYPE_LABELS)
register_words("proposals", "reply_classes", REPLY_CLASS_LABELS)
register_words("proposals", "ratings", RATING_LABELS)
register_words("proposals", "contact_stages", CONTACT_STAGE_LABELS)
register_words("proposals", "conversions", CONVERSION_LABELS)
register_words("proposals", "supervision_modes", SUPERVISION_MODE_LABELS)
register_words("proposals", "supervision_kinds", SUPERVISION_KIND_LABELS)
