"""The public's pages 公众 (no login at all, and residents signed in), the auditors' pages 审计,
and everyone's notifications 通知.

* ``/public``: the published proposals, searched (``q``), by category, paged; ``/public/<case
  number>``: one with its reply and approved comments (only what the API's public answer has:
  never an id, a commenter's account or a contact detail). Signed in, a resident or a member
  comments there and sees their own comments, pending ones too (``my_comments``); anyone with
  an inbox follows the case. ``/signup``: a resident opens their own account.
* ``/audit``: every log's chain verified, a proposal found by title or number, a stream opened;
  ``/audit/history``: a stream's events (who, when, on whose behalf, why, what) and its state as
  of a chosen moment beside its state now.
* ``/notifications``: the inbox (paged, unread only), marking read; ``/notifications/preferences``:
  how each kind of notice reaches the visitor.
"""

from __future__ import annotations

import json
import typing
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from xieshang.kernel.clock import SHANGHAI

from ... import api
from ...problems import Problem
from ..app import Refused, Visit, nav, page
from ..forms import inputs, refusal_fields
from ..words import FIELD_LABELS, FLASH
from .casework import timeline

COMMENTERS = ("public", "member")                        # who comments (POST .../comments)
INBOX_HOLDERS = tuple(sorted(api.NOTICE_HOLDERS))        # who has notifications
AUDIT = tuple(sorted(api.AUDIT_READERS))                 # who reads the logs
INSIDE = ("staff", "auditor", "leader", "member", "unit")  # who opens a case's own page (theirs)
READ_EVERY_CASE = ("staff", "auditor", "leader")
PAGE_SIZE = 20
LOGS = (*api.LOGGED_SERVICES, "gateway")
LOG_NAMES = {"proposals": ("提案", "Proposals"), "members": ("委员与组织", "Members and organisations"),
             "feedback": ("社情民意", "Opinion reports"), "notify": ("通知", "Notifications"),
             "gateway": ("账户与登录", "Accounts and logins")}
LOCALES = {"zh-CN": ("中文", "Chinese"), "en": ("英文", "English")}
SOURCES = {"own": ("本人设置", "your own"), "committee": ("全委默认", "the committee's default"),
           "default": ("系统默认", "built in")}

for _name, _label in {"quiet_hours": ("免打扰时段", "Quiet hours"), "channels": ("通知渠道", "Channels"),
                      "cadence": ("发送频率", "How often"), "locale": ("通知语言", "Language"),
                      "service": ("日志", "Log"), "password_again": ("再次输入密码", "The password again"),
                      "until": ("截至时间", "As of")}.items():
    FIELD_LABELS.setdefault(_name, _label)
for _code, _words in {"comment_pending": ("评论已提交，审核通过后将公开显示。",
                                          "Your comment was sent: it is shown once it is approved."),
                      "followed": ("已关注此提案：答复和办结时会通知您。",
                                   "You follow this proposal: you will be told of its reply and closing."),
                      "unfollowed": ("已取消关注此提案。", "You no longer follow this proposal."),
                      "signed_up": ("注册成功，请用新账户登录。", "Your account is open: log in with it."),
                      "marked_read": ("已标为已读。", "Marked as read."),
                      "preference": ("通知设置已保存。", "The notification setting was saved.")}.items():
    FLASH.setdefault(_code, _words)

nav(["anonymous"], "/public", "公开提案", "Published proposals")
nav(["anonymous"], "/signup", "注册", "Sign up")
nav(["public", "member"], "/public", "公开提案", "Published proposals")
nav(["auditor", "staff"], "/audit", "审计", "Audit")
nav(["staff", "member", "unit", "leader", "auditor", "public", "informant"], "/notifications", "通知",
    "Notifications")


# -- small helpers -------------------------------------------------------------------------------

def _args(v: Visit, *names: str, **override: Any) -> str:
    """The current query (``names`` of it), without the cursor, for the pager and links."""
    kept = {n: v.query(n) for n in names if v.query(n) is not None}
    kept.update({k: val for k, val in override.items() if val not in (None, "")})
    return urlencode(kept)


def moment(value: Any, lang: str) -> str:
    """A recorded time to the second, in Beijing time (an audit needs the seconds)."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    local = parsed.astimezone(SHANGHAI) if parsed.tzinfo else parsed  # without a zone: Beijing time
    return (f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}" if lang == "zh"
            else f"{local:%d %b %Y %H:%M:%S}")


def local_input(value: str | None) -> str:
    """A moment as a datetime-local input shows it (Beijing time, to the second)."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(SHANGHAI).replace(tzinfo=None)
    return parsed.isoformat(timespec="seconds")


def _message(v: Visit, problem: Problem) -> str:
    return problem.detail_zh if v.lang == "zh" else problem.detail


# -- the public: published proposals -------------------------------------------------------------

@page("/public")
def public_list(v: Visit) -> Response:
    """The published proposals 公开提案: search, category, pages (no login needed)."""
    refusal, errors, found = None, {}, {"items": [], "total": 0, "next_cursor": None}
    query = {"q": v.query("q"), "category": v.query("category"), "cursor": v.query("cursor"),
             "limit": PAGE_SIZE}
    try:
        found = v.get("/api/public/proposals", **query)
    except Problem as problem:
        if problem.status not in (400, 422):
            raise
        refusal, errors = _message(v, problem), refusal_fields(problem.extra.get("invalid_params"))
    categories = [(c, v.word("proposals", "categories", c)) for c in _codes(api.Category)]
    for item in found["items"]:
        item["unit_name"] = _unit_name(v, item)
    return v.render("public_list.html", status=422 if refusal else 200, title=v.t("公开提案", "Published proposals"),
                    found=found, q=v.query("q") or "", category=v.query("category") or "",
                    categories=categories, refusal=refusal, errors=errors,
                    pager_args=_args(v, "q", "category"))


def _codes(literal: Any) -> list[str]:
    return [str(a) for a in typing.get_args(literal)]


def _unit_name(v: Visit, case: dict[str, Any]) -> str | None:
    """The lead unit's published name; never its id (while the directory does not know it)."""
    name = case.get("lead_unit_name")
    if not case.get("lead_unit"):
        return None
    if not name or name == case.get("lead_unit"):
        return v.t("承办单位", "the handling unit")
    return name


def _public_case(v: Visit, case_number: str) -> dict[str, Any]:
    case = v.get(f"/api/public/proposals/{case_number}")
    case["unit_name"] = _unit_name(v, case)
    return case


def show_case(v: Visit, case_number: str, *, refused: Refused | None = None, typed: dict | None = None,
              follow_refusal: str | None = None, status: int = 200) -> Response:
    """One published proposal; for a commenter their own comments and the comment form, for
    anyone with an inbox the follow button."""
    case = _public_case(v, case_number)
    pid = case["proposal_id"]
    role = v.actor.role if v.actor else None
    mine, following, form, comment_id = None, None, None, None
    if role in COMMENTERS:
        mine = v.get(f"/api/proposals/{pid}/comments/mine")["items"]
        values = typed or {"display_name": v.me}
        form = inputs(api.Comment, v.lang, values=values, errors=refused.fields if refused else None,
                      only=("display_name", "text"))
        # named before it is sent: a form sent twice records one comment
        comment_id = values.get("comment_id") or str(uuid.uuid4())
    if role in INBOX_HOLDERS:
        try:
            following = v.get(f"/api/proposals/{pid}/follow")
        except Problem as problem:  # the notify service not answering: say so, keep the page
            if problem.status < 500:
                raise
            following = {"following": False, "published": False, "unavailable": _message(v, problem)}
    return v.render("public_case.html", status=status, title=case["title"], case=case, mine=mine, form=form,
                    comment_id=comment_id,
                    refusal=refused.message if refused else None, following=following,
                    follow_refusal=follow_refusal, inside=role in READ_EVERY_CASE, auditor=role in AUDIT,
                    stream=f"proposal-{pid}")


@page("/public/<case_number>")
def public_case(v: Visit, case_number: str) -> Response:
    return show_case(v, case_number)


@page("/public/<case_number>/comments", methods=("POST",), roles=COMMENTERS)
def public_comment(v: Visit, case_number: str) -> Response:
    """A comment 我评论 on a published proposal: checked by the route's model, sent, pending
    moderation; refused in place with what was typed kept."""
    pid = _public_case(v, case_number)["proposal_id"]
    try:
        v.submit(f"/api/proposals/{pid}/comments", api.Comment)
    except Refused as refused:
        return show_case(v, case_number, refused=refused, typed=v.typed(), status=refused.status)
    return v.redirect(f"/public/{case_number}#mine", flash="comment_pending")


@page("/public/<case_number>/follow", methods=("POST",), roles=INBOX_HOLDERS)
def public_follow(v: Visit, case_number: str) -> Response:
    """Follow 关注 (or stop following) a published proposal."""
    pid = _public_case(v, case_number)["proposal_id"]
    stop = v.request.form.get("follow") == "stop"
    try:
        v.post(f"/api/proposals/{pid}/follow", {}, method="DELETE" if stop else "POST")
    except Problem as problem:
        if problem.status == 401:
            raise
        return show_case(v, case_number, follow_refusal=_message(v, problem), status=problem.status)
    return v.redirect(f"/public/{case_number}#follow", flash="unfollowed" if stop else "followed")


# -- a resident's own account -------------------------------------------------------------------------

@page("/signup", methods=("GET", "POST"))
def signup(v: Visit) -> Response:
    """A resident opens their own account 居民注册 (role public: comments and follows)."""
    if v.actor is not None:
        return v.redirect(v.home())
    refusal, errors, typed = None, {}, {}
    if v.request.method == "POST":
        typed = {k: val for k, val in v.typed().items() if k in ("user_id", "display_name")}
        try:
            if (v.request.form.get("password") or "") != (v.request.form.get("password_again") or ""):
                raise Refused(v.t("两次输入的密码不一致。", "The two passwords differ."),
                              {"password_again": v.t("与密码不一致", "differs from the password")})
            v.submit("/api/public/accounts", api.PublicSignUp)
        except Refused as refused:
            refusal, errors = refused.message, refused.fields
            status = refused.status
        else:
            return v.redirect("/login?" + urlencode({"next": "/public"}), flash="signed_up")
    fields = inputs(api.PublicSignUp, v.lang, values=typed, errors=errors, only=("user_id", "display_name"))
    fields[0].hint = v.t("用于登录：字母、数字及 _ . : -，不超过 64 个字符", "to log in: letters, digits, _ . : -, "
                         "up to 64 characters")
    fields[1].hint = v.t("评论时显示的名称", "the name shown with your comments")
    return v.render("public_signup.html", status=status if refusal else 200, title=v.t("注册", "Sign up"),
                    fields=fields, refusal=refusal, errors=errors)


# -- auditors: the logs ------------------------------------------------------------------------------

@page("/audit", roles=AUDIT)
def audit_home(v: Visit) -> Response:
    """Every log's hash chain verified, a proposal found to open its history, any stream."""
    checks = []
    for service in LOGS:
        try:
            checks.append({"service": service, **v.get(f"/api/audit/{service}/verify")})
        except Problem as problem:
            if problem.status in (401, 403):
                raise
            checks.append({"service": service, "ok": None, "problem": _message(v, problem)})
    q, cases, refusal = v.query("q"), None, None
    if q:
        try:
            cases = v.get("/api/worklist", q=q, limit=PAGE_SIZE)
        except Problem as problem:
            if problem.status not in (400, 422):
                raise
            refusal = _message(v, problem)
    return v.render("audit_home.html", title=v.t("审计", "Audit"), checks=checks, q=q or "", cases=cases,
                    refusal=refusal, services=_log_choices(v), log_names=LOG_NAMES,
                    history_form=_history_form(v, {"service": "proposals"}, {}))


def _log_choices(v: Visit) -> list[tuple[str, str]]:
    return [(s, v.t(*LOG_NAMES[s])) for s in api.LOGGED_SERVICES]


def _history_form(v: Visit, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """What the form to open a stream shows (written out in the templates: the moment is a
    datetime-local input to the second)."""
    return {"service": values.get("service") or "proposals", "stream": values.get("stream") or "",
            "until": local_input(values.get("until")), "errors": errors, "services": _log_choices(v)}


HISTORY_FIELDS = {"service": ("日志", "Log"), "stream": ("流名称", "Stream"), "until": ("截至时间", "As of")}


@page("/audit/history", roles=AUDIT)
def audit_history(v: Visit) -> Response:
    """A stream's events and its state as of a moment (the state now beside it)."""
    service, stream, until = v.query("service", "proposals"), (v.query("stream") or "").strip(), v.query("until")
    values = {"service": service, "stream": stream, "until": until}
    errors: dict[str, str] = {}
    if service not in api.LOGGED_SERVICES:
        errors["service"] = v.t("请从所列日志中选择", "choose one of the logs")
    if not stream:
        errors["stream"] = v.t("必填", "required")
    elif "/" in stream or len(stream) > 300:
        errors["stream"] = v.t("不是有效的流名称", "not a stream name")
    history = now = None
    refusal = None
    if not errors:
        try:
            history = timeline(v, service, stream, until=until)
            if until:
                now = v.get(f"/api/audit/{service}/streams/{stream}")
        except Problem as problem:
            if problem.status in (401, 403):
                raise
            refusal = _message(v, problem)
            errors = refusal_fields(problem.extra.get("invalid_params"))
    else:
        refusal = v.t("请检查：", "Check: ") + ("、" if v.lang == "zh" else ", ").join(
            v.t(*HISTORY_FIELDS[f]) for f in errors) + v.t("。", ".")
    rows = _state_rows(v, service, history, now) if history else []
    for e in (history or {}).get("events", []):
        e["moment"] = moment(e["recorded_at"], v.lang)
        e["as_of"] = "/audit/history?" + urlencode({"service": service, "stream": stream,
                                                    "until": e["recorded_at"]})
        e["data_text"] = json.dumps(e.get("data") or {}, ensure_ascii=False, indent=1, sort_keys=True)
    return v.render("audit_history.html", status=422 if refusal else 200,
                    title=v.t("历史与某时状态", "History and state as of a moment"),
                    service=service, stream=stream, until=until, until_words=moment(until, v.lang) if until else "",
                    history=history, rows=rows, now=now, refusal=refusal, log_names=LOG_NAMES,
                    history_form=_history_form(v, values, errors),
                    case_id=stream.split("-", 1)[1] if service == "proposals" and stream.startswith("proposal-")
                    else None)


# a proposal's fields that hold people's ids: shown with their names beside (for auditors)
PEOPLE = frozenset({"proposer", "co_signers", "confirmed", "declined", "supervisors", "proposers",
                    "merged_proposers", "pending_co_signers"})


def _state_rows(v: Visit, service: str, then: dict[str, Any], now: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The state as a table: one row per field (its value then, and now when a moment was
    chosen), codes of states as words, people by name, nested values as JSON."""
    old, new = then.get("state") or {}, (now or {}).get("state") or {}
    keys = list(dict.fromkeys([*old, *new])) if now is not None else list(old)
    if service == "proposals":
        people = [p for state in (old, new) for k in PEOPLE for p in (
            state.get(k) if isinstance(state.get(k), list) else [state.get(k)]) if isinstance(p, str) and p]
        v.names(people)
    rows = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        shown_then = _shown(v, service, key, a)
        shown_now = _shown(v, service, key, b) if now is not None else None
        rows.append({"key": key, "label": _state_label(v, key), "then": shown_then, "now": shown_now,
                     "nested": any(t and t[:1] in "[{" for t in (shown_then, shown_now)),  # JSON: a <pre>
                     "changed": now is not None and a != b})
    return rows


# the state's fields the console's labels do not name (a proposal's, mostly)
STATE_LABELS = {
    "proposal_id": ("提案编号", "Proposal id"), "proposer": ("提案人", "Proposer"),
    "confirmed": ("已确认的联名委员", "Co-signers confirmed"), "declined": ("谢绝联名的委员", "Co-signers declined"),
    "co_sign_deadline": ("联名确认截止", "Co-signing until"), "merged_proposers": ("并案提案人", "Merged proposers"),
    "merged_from": ("并入的提案", "Merged from"), "merged_into": ("并入提案", "Merged into"),
    "case_number": ("案号", "Case number"), "not_filed_reason": ("不予立案理由", "Not filed because"),
    "return_reason": ("退回理由", "Returned because"), "rounds": ("办理轮次", "Handling rounds"),
    "supervision_mode": ("督办方式", "Supervision mode"), "supervisions": ("督办记录数", "Supervision records"),
    "follow_up_kept": ("B类承诺已落实", "B promise kept"), "name_consents": ("同意公开姓名", "Consents to names"),
    "published": ("已公开", "Published"), "proposer_names": ("公开的提案人姓名", "Published proposer names"),
    "comments": ("公众评论", "Comments"), "proposers": ("全部提案人", "Every proposer"),
    "pending_co_signers": ("待确认的联名委员", "Co-signers yet to answer"),
    "next_commands": ("可办理的操作", "Commands allowed"), "version": ("流版本", "Stream version"),
    "last_event": ("最后事件", "Last event"),
}


def _state_label(v: Visit, key: str) -> str:
    from ..words import field_label
    if key in STATE_LABELS:
        return v.t(*STATE_LABELS[key])
    return field_label(key, v.lang) if key in FIELD_LABELS else key


def _shown(v: Visit, service: str, key: str, value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return v.t("是", "yes") if value else v.t("否", "no")
    if service == "proposals" and key in PEOPLE and isinstance(value, (str, list)):
        ids = value if isinstance(value, list) else [value]
        if all(isinstance(i, str) for i in ids):
            return ("、" if v.lang == "zh" else ", ").join(
                f"{v.name(i)}（{i}）" if v.lang == "zh" else f"{v.name(i)} ({i})" for i in ids)
    if key == "next_commands" and isinstance(value, list):
        return ("、" if v.lang == "zh" else ", ").join(v.word(service, "commands", c) for c in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True)
    if key in ("category", "kind") and service == "proposals":
        return v.word(service, "categories" if key == "category" else "kinds", value)
    if key == "status":
        return f"{v.word(service, 'states', value)}（{value}）" if v.lang == "zh" else \
            f"{v.word(service, 'states', value)} ({value})"
    return str(value)


# -- everyone's notifications -----------------------------------------------------------------------

def _inbox(v: Visit) -> tuple[str, str]:
    """Whose inbox the page shows: (``whose``, the recipient id). A unit's and the office's
    notices go to the organisation, whose people read them together; each person has their own."""
    shared = v.actor.role in ("staff", "unit")
    whose = v.request.values.get("whose") or ("organisation" if shared else "own")
    if whose == "organisation" and shared:
        return whose, v.actor.organisation
    return "own", v.actor.user_id


def show_inbox(v: Visit, refusal: str | None = None, status: int = 200) -> Response:
    whose, user = _inbox(v)
    unread_only = v.query("unread") in ("1", "true", "on")
    found = v.get("/api/notifications", user=user, unread=unread_only or None, cursor=v.query("cursor"),
                  limit=PAGE_SIZE)
    for n in found["items"]:
        n["kind_word"] = v.word("notify", "kinds", n["kind"])
        subject = n.get("subject") or ""
        # a case of theirs (a followed one may not be: its public page has no id to link by)
        n["link"] = f"/cases/{subject.split('-', 1)[1]}" if subject.startswith("proposal-") and \
            v.actor.role in INSIDE and not n["kind"].startswith("followed_") else None
    unread_here = [n["notification_id"] for n in found["items"] if not n.get("read_at")]
    return v.render("notice_inbox.html", status=status, title=v.t("通知", "Notifications"), found=found,
                    whose=whose, shared=v.actor.role in ("staff", "unit"), unread_only=unread_only,
                    unread_here=unread_here, refusal=refusal,
                    pager_args=_args(v, "whose", "unread"), back=v.request.full_path.rstrip("?"))


@page("/notifications", roles=INBOX_HOLDERS)
def notifications(v: Visit) -> Response:
    """The inbox 通知: newest first, paged, unread only if asked; the unread count."""
    return show_inbox(v)


@page("/notifications/read", methods=("POST",), roles=INBOX_HOLDERS)
def notifications_read(v: Visit) -> Response:
    """Mark notices read 标为已读 (one, or every unread one of the page)."""
    _whose, user = _inbox(v)
    try:
        v.submit("/api/notifications/read", api.MarkRead, extra={"user": user})
    except Refused as refused:
        return show_inbox(v, refusal=refused.message, status=refused.status)
    return v.redirect(v.next_path("/notifications"), flash="marked_read")


@page("/notifications/preferences", methods=("GET", "POST"), roles=INBOX_HOLDERS)
def notification_preferences(v: Visit) -> Response:
    """How each kind of notice reaches the visitor 通知设置: channels besides the inbox, at once
    or in a digest, quiet hours, the language; refused in place with what was typed kept."""
    whose, user = _inbox(v)
    refusal, errors, typed, status = None, {}, None, 200
    if v.request.method == "POST":
        try:
            v.submit("/api/notification-preferences", api.Preference, extra={"user": user}, method="PUT")
        except Refused as refused:
            refusal, errors, typed, status = refused.message, refused.fields, v.typed(), refused.status
        else:
            kind = v.request.form.get("kind") or "*"
            return v.redirect("/notifications/preferences?" + urlencode({"whose": whose, "kind": kind}),
                              flash="preference")
    prefs = v.get("/api/notification-preferences", user=user)
    kinds = [(k, v.word("notify", "kinds", k)) for k in prefs["kinds_known"]]
    available = [c for c in prefs.get("channels_available") or ["inbox"] if c != "inbox"]
    chosen = (typed or {}).get("kind") or v.query("kind") or "*"
    current = prefs["kinds"].get(chosen) or {"channels": ["inbox", "email"], "cadence": "immediate",
                                             "quiet_hours": None, "locale": None}
    values = typed if typed is not None else {**current, "kind": chosen}
    if typed is not None and "channels" not in typed:
        values = {**typed, "channels": []}
    form = inputs(api.Preference, v.lang, values=values, errors=errors,
                  choices={"kind": [("*", v.t("全部类型", "every kind")), *kinds]},
                  words=lambda field, code: _preference_word(v, field, code), skip=("user", "reason"))
    for i in form:
        if i.name == "kind":
            i.label = v.t("通知类型", "Kind of notice")
        elif i.name == "channels":
            i.choices = [(c, v.word("notify", "channels", c)) for c in available]
            i.hint, i.required = v.t("站内信始终送达", "the inbox always gets it"), False
        elif i.name == "quiet_hours":
            i.hint = v.t("北京时间，如 22:00-07:00；不填则无", "Beijing time, e.g. 22:00-07:00; empty: none")
    form = [i for i in form if not (i.name == "channels" and not i.choices)]
    def channel(c: str) -> str:  # a channel this deployment does not have is said to be absent
        return v.word("notify", "channels", c) + ("" if c == "inbox" or c in available else
                                                  v.t("（未开通）", " (not available)"))
    rows = [{"kind": word, "channels": ("、" if v.lang == "zh" else ", ").join(channel(c) for c in p["channels"]),
             "cadence": v.word("notify", "cadences", p["cadence"]), "quiet_hours": p.get("quiet_hours") or "—",
             "locale": v.t(*LOCALES.get(p.get("locale") or "zh-CN", ("—", "—"))),
             "source": v.t(*SOURCES.get(p.get("source"), (p.get("source"), p.get("source")))), "code": code}
            for code, word in kinds for p in [prefs["kinds"][code]]]
    return v.render("notice_preferences.html", status=status,
                    title=v.t("通知设置", "Notification settings"), form=form, refusal=refusal, rows=rows,
                    whose=whose, shared=v.actor.role in ("staff", "unit"),
                    hidden={"channels": "inbox"})


def _preference_word(v: Visit, field: str, code: str) -> str:
    if field == "channels":
        return v.word("notify", "channels", code)
    if field == "cadence":
        return v.word("notify", "cadences", code)
    if field == "locale":
        return v.t(*LOCALES.get(code, (code, code)))
    return code


