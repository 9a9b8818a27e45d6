"""The words of the gateway's accounts: roles, who registers whom, reserved ids, login failure
reasons, limits, stream names, and how ids and organisations are written."""

from __future__ import annotations

import re
from datetime import timedelta, timezone
from typing import Any

from xieshang.kernel.ids import is_id

from xieshang.kernel.messages import register_labels

# Roles (Actor.role). An admin administers accounts and API keys and nothing else: the other
# services know no "admin" role, so an admin's token grants no casework rights.
STAFF, MEMBER, UNIT, LEADER, AUDITOR, ADMIN, SUBSCRIBER, SYSTEM = (
    "staff", "member", "unit", "leader", "auditor", "admin", "subscriber", "system")
# informant: a registered opinion informant 信息员; public: a resident who comments on published
# proposals (read-only otherwise: the public pages need no account at all).
INFORMANT, PUBLIC = "informant", "public"
ACCOUNT_ROLES = (STAFF, MEMBER, UNIT, LEADER, AUDITOR, ADMIN, INFORMANT, PUBLIC)
# Who registers which accounts: staff enrol the members, units and leaders they work with;
# staff, auditor (who audit staff) and admin accounts need an admin. "system" is the
# gateway's own bootstrap (auth.Authenticator.ensure_admin).
REGISTRARS: dict[str, tuple[str, ...]] = {
    ADMIN: ACCOUNT_ROLES,
    SYSTEM: ACCOUNT_ROLES,
    STAFF: (MEMBER, UNIT, LEADER, INFORMANT, PUBLIC),
}
# The organisation of every account a resident opens for themselves (POST /api/public/accounts).
PUBLIC_ORGANISATION = "public"
# Ids that name the system itself in events and context data: no person may take them.
RESERVED_IDS = frozenset({"system", "public", "anonymous", "gateway"})

# LoginFailed.reason; the first two count towards a lockout.
WRONG_PASSWORD, NO_PASSWORD, LOCKED, DISABLED = "wrong_password", "no_password", "locked", "disabled"
COUNTED_FAILURES = (WRONG_PASSWORD, NO_PASSWORD)
REMEMBERED_FAILURES = 100  # bounds the state of an account that fails for years without a success

DISPLAY_NAME_MAX = 50
REASON_MAX = 500
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # China keeps UTC+08:00 all year

# Organisations are ids ("proposal-committee", "mzj") or, for members, their sector's name as the
# members service records it ("经济界"): letters of any script, digits, _ . : -.
_ORGANISATION = re.compile(r"^[^\W_][\w.:-]{0,63}$")
ORGANISATION_RULE = ("the organisation: 1 to 64 letters (any script), digits or _ . : - , starting "
                     "with a letter or digit")


# A subscriber system's name (an API key's ``system``, the actor its requests act as): Latin
# letters or Chinese, digits, _ . : - ("OA", "审计OA"). The gateway's request model uses this
# pattern, so that the schema and the check say the same.
SYSTEM_NAME_MAX = 64
SYSTEM_NAME_PATTERN = r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff_.:-]{0,63}$"
SYSTEM_NAME_RULE = ("the subscriber system's name: 1 to 64 letters (Latin or Chinese), digits or "
                    "_ . : - , starting with a letter or digit")
_SYSTEM_NAME = re.compile(SYSTEM_NAME_PATTERN)


def account_stream(user_id: str) -> str:
    return f"account-{user_id}"


def api_key_stream(key_id: str) -> str:
    return f"apikey-{key_id}"


def valid_id(value: Any) -> bool:
    return is_id(value)


def valid_system_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_SYSTEM_NAME.fullmatch(value))


def valid_organisation(value: Any) -> bool:
    return isinstance(value, str) and bool(_ORGANISATION.fullmatch(value))


# What a refusal calls each command, state and role (xieshang.kernel.messages): English, Chinese.
COMMAND_LABELS: dict[str, tuple[str, str]] = {
    "register_account": ("open the account", "开通账户"),
    "change_role": ("change the account's role", "更改账户角色"),
    "set_password": ("set the password", "设置密码"),
    "unlock_account": ("unlock the account", "解锁账户"),
    "disable_account": ("disable the account", "停用账户"),
    "enable_account": ("enable the account", "启用账户"),
    "issue_api_key": ("issue the API key", "签发 API 密钥"),
    "revoke_api_key": ("revoke the API key", "吊销 API 密钥"),
    "end_session": ("end the session", "结束会话"),
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    "registered": ("registered", "已开通"), "issued": ("issued", "已签发"),
}
ROLE_LABELS: dict[str, tuple[str, str]] = {
    STAFF: ("staff", "工作人员"), MEMBER: ("member", "委员"), UNIT: ("unit", "承办单位"),
    LEADER: ("leader", "领导"), AUDITOR: ("auditor", "审计人员"), ADMIN: ("admin", "管理员"),
    SUBSCRIBER: ("subscriber system", "订阅系统"), SYSTEM: ("system", "系统"),
    INFORMANT: ("informant", "信息员"), PUBLIC: ("public", "公众"),
}
register_labels("gateway", COMMAND_LABELS, STATE_LABELS, ROLE_LABELS)

# What each route does, as the gateway's own refusal (403) names it: (service, rpc) -> English
# and Chinese verb phrases. tests/services/test_refusal_language.py checks every route has one.
ROUTE_ACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    **{(svc, "stream_history"): ("read a stream's history", "查看流的历史")
       for svc in ("proposals", "members", "feedback", "notify")},
    **{(svc, "verify_log"): ("verify the log", "校验日志")
       for svc in ("proposals", "members", "feedback", "notify", "gateway")},
    **{(svc, "vocabulary"): ("read the words of the codes", "查看术语")
       for svc in ("proposals", "members", "feedback", "notify")},
    ("gateway", "login"): ("log in", "登录"),
    ("gateway", "me"): ("see who the token names", "查看当前登录身份"),
    ("gateway", "register"): ("open an account", "开通账户"),
    ("gateway", "set_password"): ("set a password", "设置密码"),
    ("gateway", "unlock"): ("unlock an account", "解锁账户"),
    ("gateway", "disable"): ("disable an account", "停用账户"),
    ("gateway", "issue_api_key"): ("issue an API key", "签发 API 密钥"),
    ("gateway", "revoke_api_key"): ("revoke an API key", "吊销 API 密钥"),
    ("gateway", "logout"): ("log out", "退出登录"),
    ("gateway", "get_account"): ("read an account", "查看账户"),
    ("gateway", "sign_up"): ("open a resident's account", "注册公众账户"),
    ("gateway", "feed"): ("read the public feed", "读取公开事件流"),
    ("proposals", "submit_proposal"): ("submit a proposal", "提交提案"),
    ("proposals", "confirm_co_signature"): ("confirm co-signing", "确认附议"),
    ("proposals", "decline_co_signature"): ("decline co-signing", "拒绝附议"),
    ("proposals", "return_proposal"): ("return a proposal for revision", "退回修改提案"),
    ("proposals", "revise_proposal"): ("revise a returned proposal", "修改退回的提案"),
    ("proposals", "file_proposal"): ("file a proposal", "立案"),
    ("proposals", "not_file_proposal"): ("decide not to file a proposal", "作不予立案处理"),
    ("proposals", "merge_proposal"): ("merge a proposal into another", "并案"),
    ("proposals", "assign_proposal"): ("assign a proposal to units", "交办提案"),
    ("proposals", "object_to_assignment"): ("object to an assignment", "申请调整交办"),
    ("proposals", "reassign_proposal"): ("reassign a proposal", "重新交办提案"),
    ("proposals", "dismiss_objection"): ("keep an assignment despite an objection", "驳回调整申请"),
    ("proposals", "record_contact"): ("record a contact with the proposer", "记录与提案人的沟通"),
    ("proposals", "send_co_unit_opinion"): ("send a co-unit's opinion", "提交会办意见"),
    ("proposals", "reply_to_proposal"): ("reply to a proposal", "答复提案"),
    ("proposals", "designate_key_proposal"): ("make a proposal a key proposal", "确定重点提案"),
    ("proposals", "record_supervision"): ("record supervision", "记录督办情况"),
    ("proposals", "rate_reply"): ("rate a reply", "评价答复"),
    ("proposals", "record_follow_up"): ("follow up a B reply", "记录跟踪落实情况"),
    ("proposals", "close_proposal"): ("close a case", "办结提案"),
    ("proposals", "set_publication_consent"): ("decide on publication", "设置是否同意公开"),
    ("proposals", "publish_proposal"): ("publish a proposal", "公开提案"),
    ("proposals", "unpublish_proposal"): ("withdraw a proposal from publication", "撤销公开提案"),
    ("proposals", "submit_comment"): ("comment on a published proposal", "评论公开的提案"),
    ("proposals", "moderate_comment"): ("moderate a comment", "审核评论"),
    ("proposals", "answer_comment"): ("answer a comment", "回复评论"),
    ("proposals", "handling_rules"): ("read the deadline rules and the holiday calendar", "查看办理期限规则和节假日安排"),
    ("feedback", "directory"): ("read the directory of members, units and stations", "查看委员、单位和站点名录"),
    ("proposals", "directory"): ("read the directory of members, units and bodies", "查看委员、承办单位和集体名录"),
    ("proposals", "set_handling_rules"): ("set the deadline rules", "设置办理期限规则"),
    ("proposals", "amend_holiday_calendar"): ("amend the holiday calendar", "调整节假日安排"),
    ("proposals", "get_proposal"): ("read a case", "查看提案"),
    ("proposals", "worklist"): ("read the staff worklist", "查看工作人员的工作清单"),
    ("proposals", "unit_inbox"): ("read a unit's assignments", "查看单位的交办提案"),
    ("proposals", "my_proposals"): ("read a member's cases", "查看委员的提案"),
    ("proposals", "statistics"): ("read the yearly statistics", "查看年度统计"),
    ("proposals", "public_proposals"): ("read the published proposals", "查看公开的提案"),
    ("proposals", "public_proposal"): ("read a published proposal", "查看公开的提案"),
    ("members", "register_organisation"): ("register an organisation", "登记组织"),
    ("members", "list_organisations"): ("list the organisations", "查看组织列表"),
    ("members", "get_organisation"): ("read an organisation", "查看组织"),
    ("members", "rename_organisation"): ("rename an organisation", "更改组织名称"),
    ("members", "close_organisation"): ("close an organisation", "撤销组织"),
    ("members", "define_station"): ("set up a station", "设立履职站点"),
    ("members", "set_station_communities"): ("set the communities a station covers", "设置站点联系的社区"),
    ("members", "coverage"): ("read the coverage of the communities", "查看社区联系情况"),
    ("members", "appoint_member"): ("appoint a member", "任命委员"),
    ("members", "list_members"): ("list the members", "查看委员列表"),
    ("members", "get_member"): ("read a member's record", "查看委员信息"),
    ("members", "assign_to_station"): ("assign a member to a station", "安排委员进站"),
    ("members", "change_roles"): ("change a member's roles", "调整委员职务"),
    ("members", "end_term"): ("record the end of a member's term", "登记委员届满"),
    ("members", "resign_member"): ("record a member's resignation", "登记委员辞任"),
    ("members", "get_contact_details"): ("read a member's contact details", "查看委员联系方式"),
    ("members", "set_contact_details"): ("change a member's contact details", "修改委员联系方式"),
    ("members", "erase_contact_details"): ("erase a member's contact details", "删除委员联系方式"),
    ("members", "import_roster"): ("import a roster", "导入委员名册"),
    ("members", "point_rules"): ("read the duty points rules", "查看履职积分规则"),
    ("members", "set_point_rules"): ("set the duty points rules", "设置履职积分规则"),
    ("members", "record_activity"): ("record an activity", "登记履职活动"),
    ("members", "publish_menu"): ("publish a duty menu", "发布履职菜单"),
    ("members", "get_menu"): ("read a duty menu", "查看履职菜单"),
    ("members", "sign_up_for_menu"): ("sign up for menu items", "认领履职菜单"),
    ("members", "conclude_assessment"): ("conclude a member's annual assessment", "完成委员年度履职考核"),
    ("members", "get_dossier"): ("read a member's duty dossier", "查看委员履职档案"),
    ("members", "ranking"): ("read the points ranking", "查看履职积分排名"),
    ("feedback", "submit_opinion_report"): ("submit an opinion report", "报送社情民意信息"),
    ("feedback", "my_opinion_reports"): ("read their own opinion reports", "查看本人报送的社情民意信息"),
    ("feedback", "get_opinion_report"): ("read an opinion report", "查看社情民意信息"),
    ("feedback", "record_opinion_check"): ("record a check of an opinion report", "记录社情民意信息的审核（四关）"),
    ("feedback", "return_opinion_report"): ("return an opinion report for revision", "退回修改社情民意信息"),
    ("feedback", "revise_opinion_report"): ("revise a returned opinion report", "修改退回的社情民意信息"),
    ("feedback", "combine_opinion_reports"): ("combine opinion reports into one", "综合社情民意信息"),
    ("feedback", "adopt_opinion_report"): ("adopt an opinion report", "采用社情民意信息"),
    ("feedback", "not_adopt_opinion_report"): ("decide not to adopt an opinion report", "作不予采用处理"),
    ("feedback", "report_opinion"): ("report an opinion report to the party committee, government or "
                                     "upper committees", "向党委、政府或上级政协报送社情民意信息"),
    ("feedback", "forward_opinion"): ("forward an opinion report to units", "向承办单位转交社情民意信息"),
    ("feedback", "send_opinion_feedback"): ("send a unit's written feedback", "提交书面反馈"),
    ("feedback", "record_leader_instruction"): ("record a leader's instruction", "记录领导批示"),
    ("feedback", "inform_submitter"): ("tell the submitters what became of a report", "向报送人通报情况"),
    ("feedback", "opinion_desk"): ("read the editors' desk", "查看社情民意编辑工作台"),
    ("feedback", "unit_opinion_reports"): ("read the opinion reports forwarded to a unit", "查看转交单位的社情民意信息"),
    ("feedback", "leader_opinion_reports"): ("read the opinion reports put before a leader", "查看呈送领导批示的社情民意信息"),
    ("feedback", "opinion_inbox"): ("read the reports received from lower committees", "查看下级政协报送的社情民意信息"),
    ("feedback", "opinion_statistics"): ("read the opinion report figures", "查看社情民意统计"),
    ("feedback", "levels"): ("read the committee's level and links", "查看本级政协及上下级联系"),
    ("notify", "inbox"): ("read notifications", "查看通知"),
    ("notify", "unread_count"): ("count unread notifications", "查看未读通知数"),
    ("notify", "mark_read"): ("mark notifications as read", "将通知标为已读"),
    ("notify", "preferences"): ("read notification preferences", "查看通知设置"),
    ("notify", "set_preference"): ("set how notifications reach them", "设置通知方式"),
    ("notify", "set_committee_default"): ("set the committee's default for notifications", "设置全委默认通知方式"),
    ("notify", "follow_proposal"): ("follow a published proposal", "关注公开的提案"),
    ("notify", "unfollow_proposal"): ("stop following a proposal", "取消关注提案"),
    ("notify", "undeliverable"): ("read the undeliverable notifications", "查看无法送达的通知"),
    ("notify", "deliveries"): ("read a notification's deliveries", "查看通知的送达记录"),
    ("notify", "retry_delivery"): ("send an undeliverable notification again", "重新发送无法送达的通知"),
    ("members", "get_organisation_contact"): ("read an organisation's contact details", "查看组织联系方式"),
    ("members", "set_organisation_contact"): ("change an organisation's contact details", "修改组织联系方式"),
    ("members", "erase_organisation_contact"): ("erase an organisation's contact details", "删除组织联系方式"),
    ("proposals", "year_report"): ("download the year-end report", "下载年度报告"),
    ("members", "list_menus"): ("list the year's duty menus", "查看年度履职菜单"),
    ("proposals", "my_comments"): ("read their own comments", "查看本人的评论"),
    ("notify", "following"): ("see whether they follow a proposal", "查看是否关注提案"),
    # consultations 协商议事 and supervision groups 民主监督组 (issue 17)
    ("feedback", "consultation_topic_lists"): ("read the consultation topic lists", "查看协商议题清单"),
    ("feedback", "amend_topic_lists"): ("amend the consultation topic lists", "修改协商议题清单"),
    ("feedback", "propose_consultation_topic"): ("raise a consultation topic", "提出协商议题"),
    ("feedback", "consultations"): ("read the consultations", "查看协商议事"),
    ("feedback", "get_consultation"): ("read a consultation", "查看协商议事"),
    ("feedback", "decide_consultation_topic"): ("decide a consultation topic", "确定协商议题"),
    ("feedback", "set_aside_consultation_topic"): ("set a consultation topic aside", "对协商议题作不予采纳处理"),
    ("feedback", "approve_consultation_topic"): ("approve a consultation topic for the party organisation",
                                                 "代表党组织批准协商议题"),
    ("feedback", "reject_consultation_topic"): ("reject a consultation topic for the party organisation",
                                                "代表党组织不批准协商议题"),
    ("feedback", "plan_consultation"): ("draw up a consultation's plan", "制定协商方案"),
    ("feedback", "record_consultation_research"): ("record research before a consultation", "记录议前调研"),
    ("feedback", "record_consultation_meeting"): ("record a consultation meeting", "记录协商议事会议"),
    ("feedback", "publish_consultation_results"): ("publish a consultation's results", "公开公示协商结果"),
    ("feedback", "decide_consultation"): ("record the organisation's decision on a consultation", "记录协商议事的组织决定"),
    ("feedback", "assign_follow_up_task"): ("give a unit a follow-up task", "交办落实任务"),
    ("feedback", "complete_follow_up_task"): ("report a follow-up task done", "报告落实任务完成情况"),
    ("feedback", "record_follow_up_visit"): ("record a follow-up visit", "记录跟踪回访"),
    ("feedback", "record_satisfaction_survey"): ("record a satisfaction survey", "记录满意度测评"),
    ("feedback", "convert_consultation_result"): ("turn a consultation's result into an opinion report or a "
                                                  "proposal", "将协商成果转化为社情民意信息或提案"),
    ("feedback", "close_consultation"): ("close a consultation", "办结协商议事"),
    ("feedback", "consultation_calendar"): ("read the consultation calendar", "查看协商日历"),
    ("feedback", "consultation_statistics"): ("read the consultation figures", "查看协商议事统计"),
    ("feedback", "unit_follow_up_tasks"): ("read a unit's follow-up tasks", "查看单位的落实任务"),
    ("feedback", "form_supervision_group"): ("form a supervision group", "组建民主监督组"),
    ("feedback", "supervision_groups"): ("read the supervision groups", "查看民主监督组"),
    ("feedback", "get_supervision_group"): ("read a supervision group", "查看民主监督组"),
    ("feedback", "record_fact_finding"): ("record a supervision group's fact finding", "记录监督调研"),
    ("feedback", "issue_supervision_opinion"): ("issue a supervision opinion", "提出监督意见"),
    ("feedback", "report_supervision_handling"): ("report how a supervision opinion was handled", "报告监督意见办理情况"),
    ("feedback", "verify_supervision_effect"): ("verify the effect of a supervision opinion", "核验监督意见落实效果"),
    ("feedback", "close_supervision_group"): ("close a supervision group's round", "办结民主监督组工作"),
    ("feedback", "department_supervision_opinions"): ("read the supervision opinions issued to a department",
                                                      "查看向部门提出的监督意见"),
    ("feedback", "supervision_statistics"): ("read the supervision figures", "查看民主监督统计"),
    # webhooks (issue 16)
    ("notify", "create_webhook"): ("subscribe a system to public events", "新建事件推送订阅"),
    ("notify", "webhooks"): ("read the webhook subscriptions", "查看事件推送订阅"),
    ("notify", "rotate_webhook_secret"): ("give a webhook subscription a new secret", "更换事件推送签名密钥"),
    ("notify", "disable_webhook"): ("disable a webhook subscription", "停用事件推送订阅"),
    ("notify", "replay_webhooks"): ("replay parked webhook deliveries", "重新推送暂停的事件"),
    ("notify", "webhook_deliveries"): ("read the webhook deliveries", "查看事件推送记录"),
    ("notify", "webhook_attempts"): ("read a webhook delivery's attempts", "查看事件推送的尝试记录"),
}
