"""The texts of notices: one template per kind, Chinese (zh-CN, the default) and English.

Parameters are names (of people, units, cases), case numbers and dates already written in the
recipient's language (``render`` formats dates); never ids, never contact details.
"""

from __future__ import annotations

from typing import Any, Mapping

from xieshang.kernel.words import format_date

from .vocabulary import DEFAULT_LOCALE

# kind: (zh title, zh body, en title, en body)
TEMPLATES: dict[str, tuple[str, str, str, str]] = {
    # proposals 提案
    "cosign_requested": (
        "请确认联名提案", "{proposer}邀请您联名提出提案《{title}》，请于{deadline}前确认或谢绝。",
        "Please confirm a joint proposal",
        "{proposer} asks you to co-sign the proposal “{title}”; please confirm or decline by {deadline}."),
    "cosign_confirmed": (
        "联名已确认", "{co_signer}已确认联名您的提案《{title}》。",
        "Co-signature confirmed", "{co_signer} confirmed co-signing your proposal “{title}”."),
    "cosign_declined": (
        "联名被谢绝", "{co_signer}谢绝联名您的提案《{title}》。",
        "Co-signature declined", "{co_signer} declined to co-sign your proposal “{title}”."),
    "proposal_returned": (
        "提案退回修改", "提案《{title}》已退回修改：{reason}",
        "Proposal returned for revision", "The proposal “{title}” was returned for revision: {reason}"),
    "proposal_filed": (
        "提案已立案", "提案《{title}》已立案，案号 {case}。",
        "Proposal filed", "The proposal “{title}” was filed as case {case}."),
    "proposal_not_filed": (
        "提案未予立案", "提案《{title}》未予立案：{reason}{conversion}",
        "Proposal not filed", "The proposal “{title}” was not filed: {reason}{conversion}"),
    "proposal_merged": (
        "提案已并案办理", "提案《{title}》已与同类提案并案办理，办理进展将继续通知您。",
        "Proposal merged", "The proposal “{title}” was merged with a similar one; you will be told how it is handled."),
    "proposal_assigned": (
        "提案已交办", "提案《{title}》（案号 {case}）已交{unit}主办{co_units}，答复期限 {deadline}。",
        "Proposal assigned", "The proposal “{title}” (case {case}) was assigned to {unit}{co_units}; reply due by {deadline}."),
    "proposal_assigned_lead": (
        "提案交办（主办）", "提案《{title}》（案号 {case}）已交由贵单位主办，请于{deadline}前答复提案人。",
        "Proposal assigned to you (lead)", "The proposal “{title}” (case {case}) is assigned to your unit as lead; reply to the proposers by {deadline}."),
    "proposal_assigned_co": (
        "提案交办（会办）", "提案《{title}》（案号 {case}）请贵单位会办，由{unit}主办，并于{deadline}前将意见送主办单位。",
        "Proposal assigned to you (co-handling)", "The proposal “{title}” (case {case}) is led by {unit}; send your opinion to the lead unit by {deadline}."),
    "proposal_reassigned": (
        "提案已改交", "提案《{title}》（案号 {case}）已改交{unit}主办，答复期限 {deadline}。",
        "Proposal reassigned", "The proposal “{title}” (case {case}) was reassigned to {unit}; reply due by {deadline}."),
    "proposal_reassigned_away": (
        "提案已改交其他单位", "提案《{title}》（案号 {case}）已改交{unit}主办，贵单位不再承办。",
        "Proposal reassigned elsewhere", "The proposal “{title}” (case {case}) was reassigned to {unit}; your unit no longer handles it."),
    "assignment_objected": (
        "承办单位对交办有异议", "{unit}对提案《{title}》（案号 {case}）的交办提出异议：{reason}",
        "A unit objects to an assignment", "{unit} objects to the assignment of “{title}” (case {case}): {reason}"),
    "objection_dismissed": (
        "交办异议未予采纳", "贵单位对提案《{title}》（案号 {case}）的交办异议未予采纳：{reason}。请按期办理。",
        "Objection dismissed", "Your objection to the assignment of “{title}” (case {case}) was dismissed: {reason}. Please handle it in time."),
    "co_unit_opinion_received": (
        "会办单位意见已送达", "{unit}已送达对提案《{title}》（案号 {case}）的会办意见。",
        "Co-handling opinion received", "{unit} sent its opinion on “{title}” (case {case})."),
    "rating_requested": (
        "提案已答复，请评价", "提案《{title}》（案号 {case}）已收到{unit}的答复（{reply_class}类），请对办理情况作出评价。",
        "Proposal replied: please rate", "The proposal “{title}” (case {case}) was replied to by {unit} (class {reply_class}); please rate how it was handled."),
    "followed_proposal_replied": (
        "您关注的提案已答复", "您关注的提案《{title}》（案号 {case}）已收到{unit}的答复。",
        "A proposal you follow was replied to", "The proposal “{title}” (case {case}) you follow was replied to by {unit}."),
    "reply_due_soon": (
        "提案答复即将到期", "提案《{title}》（案号 {case}）的答复期限为 {deadline}，还有 {days} 天，请按期答复。",
        "Reply due soon", "The reply to “{title}” (case {case}) is due on {deadline}, in {days} days."),
    "reply_overdue": (
        "提案答复已逾期", "提案《{title}》（案号 {case}）的答复已逾期 {days} 天（期限 {deadline}），请尽快答复。",
        "Reply overdue", "The reply to “{title}” (case {case}) is {days} days overdue (due {deadline}); please reply at once."),
    "reply_overdue_escalated": (
        "提案答复逾期（督办）", "{unit}承办的提案《{title}》（案号 {case}）答复已逾期 {days} 天（期限 {deadline}），请督办。",
        "Overdue reply (supervision)", "{unit}'s reply to “{title}” (case {case}) is {days} days overdue (due {deadline}); please follow it up."),
    "reply_deadline_moved": (
        "答复期限已调整", "提案《{title}》（案号 {case}）的答复期限调整为 {deadline}。",
        "Reply deadline moved", "The reply to “{title}” (case {case}) is now due on {deadline}."),
    "proposal_key_supervise": (
        "重点提案督办", "提案《{title}》（案号 {case}）已列为重点提案，请您督办。",
        "Key proposal to supervise", "The proposal “{title}” (case {case}) is a key proposal under your supervision."),
    "rehandling_started": (
        "提案重新办理", "提案《{title}》（案号 {case}）进入第 {round} 轮办理，由{unit}主办，答复期限 {deadline}。",
        "Proposal handled again", "The proposal “{title}” (case {case}) is handled again (round {round}) by {unit}; reply due by {deadline}."),
    "rehandling_lead": (
        "提案重新办理（主办）", "提案《{title}》（案号 {case}）需重新办理（第 {round} 轮），请贵单位于{deadline}前再次答复。",
        "Handle the proposal again (lead)", "The proposal “{title}” (case {case}) must be handled again (round {round}); reply again by {deadline}."),
    "rehandling_co": (
        "提案重新办理（会办）", "提案《{title}》（案号 {case}）需重新办理（第 {round} 轮），请贵单位于{deadline}前将会办意见送{unit}。",
        "Handle the proposal again (co-handling)", "The proposal “{title}” (case {case}) is handled again (round {round}); send your opinion to {unit} by {deadline}."),
    "proposal_closed": (
        "提案办结", "提案《{title}》（案号 {case}）已办结。",
        "Proposal closed", "The proposal “{title}” (case {case}) is closed."),
    "followed_proposal_closed": (
        "您关注的提案已办结", "您关注的提案《{title}》（案号 {case}）已办结。",
        "A proposal you follow is closed", "The proposal “{title}” (case {case}) you follow is closed."),
    # members 委员履职
    "activity_recorded": (
        "履职活动已记录", "您参加的{activity}“{title}”（{held_on}）已记入履职档案。",
        "Activity recorded", "Your part in the {activity} “{title}” ({held_on}) is recorded in your duty file."),
    "duty_menu_published": (
        "履职菜单已发布", "{year}年履职菜单“{title}”已发布，请选择认领履职事项。",
        "Duty menu published", "The {year} duty menu “{title}” is out; please sign up for items."),
    "menu_signed_up": (
        "履职事项已认领", "您已认领{year}年履职菜单“{title}”中的 {count} 项。",
        "Signed up", "You signed up for {count} items of the {year} duty menu “{title}”."),
    "menu_designated": (
        "履职事项已指派", "您被指派承担{year}年履职菜单“{title}”中的 {count} 项。",
        "Items assigned to you", "You were assigned {count} items of the {year} duty menu “{title}”."),
    "assessment_concluded": (
        "年度履职考核结果", "您{year}年度履职考核结果：{outcome}（{points} 分）。",
        "Annual assessment", "Your {year} duty assessment: {outcome} ({points} points)."),
    # opinion reports 社情民意
    "opinion_returned": (
        "社情民意信息退回修改", "您报送的社情民意信息《{title}》已退回修改：{reason}",
        "Opinion report returned", "Your opinion report “{title}” was returned for revision: {reason}"),
    "opinion_adopted": (
        "社情民意信息已采用", "您报送的社情民意信息《{title}》已被采用。",
        "Opinion report adopted", "Your opinion report “{title}” was adopted."),
    "opinion_not_adopted": (
        "社情民意信息未采用", "您报送的社情民意信息《{title}》未被采用：{reason}",
        "Opinion report not adopted", "Your opinion report “{title}” was not adopted: {reason}"),
    "opinion_reported": (
        "社情民意信息已报送", "您的社情民意信息《{title}》已报送{targets}。",
        "Opinion report sent on", "Your opinion report “{title}” was sent to {targets}."),
    "opinion_forwarded": (
        "社情民意信息转办", "社情民意信息《{title}》转交贵单位办理，请于{deadline}前书面反馈。",
        "Opinion report forwarded to you", "The opinion report “{title}” is forwarded to your unit; send written feedback by {deadline}."),
    "opinion_feedback_received": (
        "收到社情民意办理反馈", "{unit}已反馈社情民意信息《{title}》的办理情况{late}。",
        "Feedback on an opinion report", "{unit} sent its feedback on the opinion report “{title}”{late}."),
    "opinion_feedback_due_soon": (
        "社情民意反馈即将到期", "社情民意信息《{title}》的反馈期限为 {deadline}，还有 {days} 天。",
        "Feedback due soon", "Feedback on the opinion report “{title}” is due on {deadline}, in {days} days."),
    "opinion_feedback_overdue": (
        "社情民意反馈已逾期", "{unit}对社情民意信息《{title}》的反馈已逾期 {days} 天（期限 {deadline}）。",
        "Feedback overdue", "{unit}'s feedback on the opinion report “{title}” is {days} days overdue (due {deadline})."),
    "opinion_instructed": (
        "社情民意信息获领导批示", "您的社情民意信息《{title}》获{leader}批示：{text}",
        "Leader's instruction on your report", "Your opinion report “{title}” received an instruction from {leader}: {text}"),
    "opinion_informed": (
        "社情民意信息情况通报", "关于您的社情民意信息《{title}》：{text}",
        "News of your opinion report", "About your opinion report “{title}”: {text}"),
    "opinion_received_from_below": (
        "收到下级政协报送的社情民意信息", "收到下级政协报送的社情民意信息《{title}》，请审核。",
        "Opinion report from below", "An opinion report “{title}” arrived from a committee below; please check it."),
    "opinion_decided_above": (
        "上级政协处理结果", "您的社情民意信息《{title}》经上级政协处理：{decision}。",
        "Decision of the committee above", "The committee above decided on your opinion report “{title}”: {decision}."),
    # consultations 协商议事
    "consultation_invited": (
        "协商议事会议邀请", "请您参加协商议事会议《{title}》：{held_on}，{place}。议程：{agenda}",
        "Invitation to a consultation meeting",
        "You are invited to the consultation meeting “{title}” on {held_on} at {place}. Agenda: {agenda}"),
    "consultation_plan_changed": (
        "协商议事会议安排调整", "协商议事会议《{title}》的安排已调整：{held_on}，{place}。议程：{agenda}",
        "Consultation meeting rearranged",
        "The consultation meeting “{title}” is now on {held_on} at {place}. Agenda: {agenda}"),
    "consultation_meeting_due_soon": (
        "协商议事会议即将举行", "协商议事会议《{title}》将于{held_on}在{place}举行，还有 {days} 天，请准时参加。",
        "Consultation meeting soon",
        "The consultation meeting “{title}” is on {held_on} at {place}, in {days} days."),
    "follow_up_task_assigned": (
        "协商成果落实任务", "协商议事《{title}》的议定事项“{outcome}”交由贵单位落实：{task}。请于{deadline}前完成并报告落实情况。",
        "Follow-up task for your unit",
        "Your unit is to carry out the agreed outcome “{outcome}” of the consultation “{title}”: {task}. "
        "Report it done by {deadline}."),
    "follow_up_task_due_soon": (
        "落实任务即将到期", "协商议事《{title}》落实任务的期限为 {deadline}，还有 {days} 天。",
        "Follow-up task due soon", "The follow-up task of the consultation “{title}” is due on {deadline}, in {days} days."),
    "follow_up_task_overdue": (
        "落实任务已逾期", "协商议事《{title}》的落实任务已逾期 {days} 天（期限 {deadline}），请尽快落实并报告。",
        "Follow-up task overdue",
        "The follow-up task of the consultation “{title}” is {days} days overdue (due {deadline}); please report at once."),
    "follow_up_task_overdue_escalated": (
        "落实任务逾期（督办）", "{unit}承担的协商议事《{title}》落实任务已逾期 {days} 天（期限 {deadline}），请督办。",
        "Overdue follow-up task (supervision)",
        "{unit}'s follow-up task of the consultation “{title}” is {days} days overdue (due {deadline}); please follow it up."),
    # democratic supervision 民主监督
    "supervision_group_formed": (
        "民主监督组已组成", "您为{year}年民主监督组“{title}”{role}，对{department}开展民主监督：{topic}。",
        "Democratic supervision group formed",
        "You are {role} of the {year} democratic supervision group “{title}”, supervising {department}: {topic}."),
    "supervision_opinion_issued": (
        "民主监督意见", "民主监督组“{title}”向贵单位提出监督意见：{text}。请于{deadline}前报告办理情况。",
        "Supervision opinion for your unit",
        "The democratic supervision group “{title}” issued a supervision opinion to your unit: {text}. "
        "Report how it was handled by {deadline}."),
    "supervision_handling_due_soon": (
        "监督意见办理即将到期", "民主监督组“{title}”监督意见的办理情况报告期限为 {deadline}，还有 {days} 天。",
        "Supervision opinion due soon",
        "The report on the supervision opinion of the group “{title}” is due on {deadline}, in {days} days."),
    "supervision_handling_overdue": (
        "监督意见办理已逾期", "民主监督组“{title}”监督意见的办理情况报告已逾期 {days} 天（期限 {deadline}），请尽快报告。",
        "Supervision opinion overdue",
        "The report on the supervision opinion of the group “{title}” is {days} days overdue (due {deadline}); please report at once."),
    "supervision_handling_overdue_escalated": (
        "监督意见办理逾期（督办）", "{unit}对民主监督组“{title}”监督意见的办理情况报告已逾期 {days} 天（期限 {deadline}），请督办。",
        "Overdue supervision opinion (supervision)",
        "{unit}'s report on the supervision opinion of the group “{title}” is {days} days overdue (due {deadline}); please follow it up."),
    # digests 汇总
    "digest": (
        "通知汇总（{period}）", "{period}共有 {count} 条通知：\n\n{items}",
        "Notices ({period})", "{count} notices in {period}:\n\n{items}"),
}

KINDS = tuple(k for k in TEMPLATES if k != "digest")


DATE_PARAMS = ("deadline", "held_on")


def format_period(period: str, locale: str) -> str:
    """A digest's period (a date, or an ISO week ``2024-W09``) in the locale's words."""
    if "-W" in period:
        year, week = period.split("-W")
        return f"{year}年第{int(week)}周" if locale == DEFAULT_LOCALE else f"week {int(week)} of {year}"
    return format_date(period, locale)


def render(kind: str, params: Mapping[str, Any], locale: str = DEFAULT_LOCALE) -> tuple[str, str]:
    """(title, body) of a notice of ``kind`` in ``locale``."""
    zh_title, zh_body, en_title, en_body = TEMPLATES[kind]
    title, body = (zh_title, zh_body) if locale == DEFAULT_LOCALE else (en_title, en_body)
    values = _Values({k: (format_date(v, locale) if k in DATE_PARAMS else v) for k, v in params.items()})
    return title.format_map(values), body.format_map(values)


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return ""   # an optional part left out (e.g. no co-handling units)
