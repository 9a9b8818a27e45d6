"""The console's own words: the labels of the API's fields, its navigation and messages.

The words of the services' codes (states, events, categories …) are theirs: the console asks
each service for its vocabulary (``GET /api/vocabulary/<service>``) and never writes them here.
Chinese first; English for those who choose it.
"""

from __future__ import annotations

from typing import Any

from xieshang.kernel.words import format_date

# field name -> (Chinese, English)
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "title": ("标题", "Title"), "reasons": ("案由", "Reasons"), "suggestions": ("建议", "Suggestions"),
    "category": ("类别", "Category"), "co_signers": ("联名委员", "Co-signers"),
    "kind": ("类型", "Kind"), "session": ("届次/会次", "Session"), "body": ("集体提案单位", "Proposing body"),
    "type": ("类型", "Type"), "name": ("名称", "Name"), "publish_consent": ("同意公开", "Agree to publication"),
    "reason": ("理由", "Reason"), "lead_unit": ("主办单位", "Lead unit"), "co_units": ("会办单位", "Co-units"),
    "deadline": ("办理期限", "Deadline"), "urgent": ("紧急", "Urgent"), "into": ("并入提案", "Merge into"),
    "unit": ("单位", "Unit"), "stage": ("阶段", "Stage"), "summary": ("沟通情况", "Summary"),
    "opinion": ("会办意见", "Opinion"), "reply_class": ("答复类别", "Reply class"),
    "reply": ("答复内容", "Reply"), "supervisors": ("督办领导", "Supervisors"), "mode": ("督办方式", "Mode"),
    "note": ("情况说明", "Note"), "reply_rating": ("对答复的评价", "Rating of the reply"),
    "attitude_rating": ("对办理态度的评价", "Rating of the attitude"), "kept": ("已落实", "Kept"),
    "consent": ("同意公开", "Consent"), "text": ("内容", "Text"), "display_name": ("显示名称", "Display name"),
    "approve": ("通过", "Approve"), "answer": ("回复", "Answer"), "comment_id": ("评论", "Comment"),
    "conversion": ("转办方式", "Conversion"), "on_behalf_of": ("代为提交的委员", "On behalf of"),
    "user_id": ("用户名", "User name"), "password": ("密码", "Password"),
    "status": ("状态", "Status"), "year": ("年度", "Year"), "overdue": ("仅逾期", "Overdue only"),
    "key": ("仅重点提案", "Key proposals only"), "q": ("搜索", "Search"), "open_only": ("仅未办结", "Open only"),
    "content": ("内容", "Content"), "channel": ("来源渠道", "Channel"), "check": ("审核关", "Check"),
    "passed": ("通过", "Passed"), "sources": ("来源信息", "Sources"), "government": ("报政府", "To the government"),
    "party_committee": ("报党委", "To the party committee"), "upper": ("报上级政协", "To upper committees"),
    "leaders": ("呈报领导", "Leaders"), "units": ("转交单位", "Units"), "leader": ("领导", "Leader"),
    "leader_level": ("领导层级", "Leader's level"), "office": ("领导所在机关", "Office"),
    "item_ids": ("认领事项", "Items"), "member_id": ("委员", "Member"), "file_name": ("文件名", "File name"),
    "content_base64": ("文件", "File"), "pending_only": ("仅待处理", "Pending only"),
    "from_below": ("仅下级报送", "From below only"), "check_pending": ("待审核关", "Check pending"),
    "notification_ids": ("通知", "Notifications"), "unread": ("仅未读", "Unread only"),
    "until": ("截至时间", "As of"), "stream": ("流", "Stream"), "lang": ("语言", "Language"),
    "township": ("乡镇（街道）", "Township"), "station": ("履职站点", "Station"), "sector": ("界别", "Sector"),
    "role": ("身份", "Role"), "organisation": ("所属组织", "Organisation"),
}


def field_label(name: str, lang: str) -> str:
    zh, en = FIELD_LABELS.get(name, (name, name.replace("_", " ").capitalize()))
    return zh if lang == "zh" else en


def t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def when(value: Any, lang: str) -> str:
    """A date or a moment as the committee reads it (Asia/Shanghai), "" for none."""
    if value in (None, ""):
        return ""
    return format_date(value, "zh-CN" if lang == "zh" else "en")


# What a finished command says on the next page (the flash), by code; any other: "done"
FLASH: dict[str, tuple[str, str]] = {
    "logged_out": ("您已安全退出。", "You have logged out."),
    "logged_in": ("登录成功。", "You are logged in."),
    "language": ("语言已切换。", "The language was changed."),
    "done": ("操作已完成。", "Done."),
    "submitted": ("已提交。", "Submitted."),
    "password": ("密码已更新，请重新登录。", "The password was changed; log in again."),
}
