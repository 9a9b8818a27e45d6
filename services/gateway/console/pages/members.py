"""The pages of members 委员, handling units 承办单位 and leaders 领导 about proposals and duty:

* a member's own cases 我的提案 (what waits for them: a co-signature to confirm, a reply to rate,
  a returned proposal to revise), submitting a proposal 提交提案 (individual, joint, collective;
  staff enter a paper one for a member 代录), their duty record 我的履职 (points, dossier, ranking
  place) and the year's duty menus 履职菜单 with a sign-up form;
* a unit's inbox 待办提案 with its deadlines (overdue and due soon marked);
* a leader's key proposals under their supervision 重点提案督办.

What is done on a case (confirming, rating, contacts, replies, supervision records …) is the
case page's (proposals.py): these pages list and link to it.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Response

from ... import api
from ..app import Refused, Visit, nav, page
from ..forms import body_from_form, check, inputs, named_fields
from ..words import FIELD_LABELS
from .casework import member_choices
from .proposals import words as case_words

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 20          # the member's cases: each open one is read for its deadline
LIST_SIZE = 50

FIELD_LABELS.setdefault("item_ids", ("认领事项", "Items"))

nav(("member",), "/mine", "我的提案", "My proposals")
nav(("member",), "/proposals/new", "提交提案", "Submit a proposal")
nav(("staff",), "/proposals/new", "代录提案", "Enter a paper proposal")
nav(("member",), "/duty", "我的履职", "My duty record")
nav(("unit",), "/inbox", "待办提案", "Inbox")
nav(("leader",), "/supervision", "重点提案督办", "Key proposals")

RELATIONS = {"proposer": ("提案人", "Proposer"), "co_signer": ("联名委员", "Co-signer"),
             "merged_proposer": ("并案提案人", "Merged proposer")}


def _today(v: Visit) -> date:
    """The committee's date: the gateway's clock (XIESHANG_FIXED_TIME in tests), else Beijing's."""
    clock = getattr(getattr(v.gateway, "accounts", None), "clock", None)
    return clock.today() if clock is not None else datetime.now(SHANGHAI).date()


def _args(**values: Any) -> str:
    """The query string of a list's filters (for its pager)."""
    return urlencode({k: v for k, v in values.items() if v not in (None, "", False)})


def _soon(v: Visit) -> int:
    """How many days before its deadline a reply is due soon: the committee's first reminder."""
    return max(v.get("/api/handling-rules")["rules"].get("reminder_days") or [7])


def _days(v: Visit, due_in: int | None) -> str:
    if due_in is None:
        return ""
    if due_in < 0:
        return v.t(f"已逾期 {-due_in} 天", f"{-due_in} days overdue")
    if due_in == 0:
        return v.t("今天到期", "due today")
    return v.t(f"还剩 {due_in} 天", f"{due_in} days left")


# -- a member's own cases ---------------------------------------------------------------------

def _waiting(v: Visit, row: dict[str, Any]) -> str | None:
    """What the case waits for from this member, in words (None: nothing)."""
    status, relation = row["status"], row["relation"]
    if relation == "co_signer" and not row["confirmed"] and status == "submitted":
        return v.t("请确认是否联名", "Confirm or decline co-signing")
    if status == "replied" and row.get("reply_rating") is None and (relation != "co_signer" or row["confirmed"]):
        return v.t("请评价答复", "Rate the reply")
    if status == "returned" and relation == "proposer":
        return v.t("请修改后重新提交", "Revise and submit again")
    return None


@page("/mine", roles=("member",))
def mine(v: Visit) -> Response:
    """我的提案: the member's cases with their state, deadlines and what waits for them."""
    q, cursor = v.query("q"), v.query("cursor")
    found = v.get(f"/api/members/{v.actor.user_id}/proposals", q=q, cursor=cursor, limit=PAGE_SIZE)
    rows = found["items"]
    today = _today(v)
    for row in rows:
        row["relation_word"] = v.t(*RELATIONS.get(row["relation"], (row["relation"], row["relation"])))
        row["status_word"] = v.word("proposals", "states", row["status"])
        row["waiting"] = _waiting(v, row)
        row["deadline"] = row["deadline_word"] = None
        row["overdue"] = False
        # the deadline that matters now: the co-signers' answer, or the unit's reply
        if row["status"] in ("submitted", "assigned"):
            case = v.get(f"/api/proposals/{row['proposal_id']}")
            unanswered = set(case.get("co_signers", [])) - set(case.get("confirmed", [])) \
                - set(case.get("declined", []))
            if row["status"] == "submitted" and case.get("co_sign_deadline") and unanswered:
                row["deadline"] = case["co_sign_deadline"]
                row["deadline_word"] = v.t("联名确认截止", "co-signers answer by")
            elif row["status"] == "assigned" and case.get("rounds"):
                current = case["rounds"][-1]
                row["deadline"] = current.get("deadline")
                row["deadline_word"] = v.t("答复期限", "reply due")
                row["overdue"] = bool(current.get("overdue"))
                if row["deadline"] and not row["overdue"]:
                    row["overdue"] = date.fromisoformat(str(row["deadline"])[:10]) < today
    v.names(r.get("lead_unit") for r in rows)
    waiting = [r for r in rows if r["waiting"]]
    return v.render("member_mine.html", title=v.t("我的提案", "My proposals"), rows=rows, waiting=waiting,
                    total=found["total"], next_cursor=found.get("next_cursor"), q=q or "", args=_args(q=q))


# -- submitting a proposal ------------------------------------------------------------------

BODY_KINDS = ("party_group", "sector", "special_committee")   # the organisations a body may be
SUBMIT_FIELDS = ("kind", "title", "category", "reasons", "suggestions", "co_signers", "body", "session",
                 "publish_consent")


def _submit_inputs(v: Visit, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None):
    staff = v.actor.role == "staff"
    members = member_choices(v, but=None if staff else v.actor.user_id)
    fields = (("on_behalf_of",) if staff else ()) + SUBMIT_FIELDS
    made = inputs(api.SubmitProposal, v.lang, values=values, errors=errors, words=case_words(v), only=fields,
                  choices={"co_signers": members, "on_behalf_of": members})
    hints = {
        "kind": v.t("个人提案只需本人；联名提案请在下方勾选联名委员（各自确认）；集体提案请填写提案单位。",
                    "Individual: yourself; joint: tick the co-signers below (each confirms); collective: "
                    "name the body below."),
        "co_signers": v.t("联名提案的联名委员，提交后各自在7天内确认。", "For a joint proposal: each confirms "
                          "within 7 days."),
        "body.type": v.t("仅集体提案填写：党派、人民团体、界别或专门委员会。", "Collective proposals only."),
        "body.name": v.t("仅集体提案填写：提出提案的党派、界别或专门委员会。",
                         "Collective proposals only: the party, sector or special committee."),
        "session": v.t("如 2024；不填则为本年度。", "e.g. 2024; empty: this year."),
        "publish_consent": None,
    }
    for i in made:
        if i.name == "kind":
            i.label = v.t("提案类型", "Kind of proposal")
        if i.name == "on_behalf_of":
            i.required = True
            i.choices = [c for c in i.choices if c[0] != ""]
            i.hint = v.t("纸质提案由工作人员代为录入，记录为代该委员提交。",
                         "A paper proposal entered for the member; recorded as on their behalf.")
        elif i.name in hints and hints[i.name]:
            i.hint = hints[i.name]
        if i.name == "body.type":   # optional (only a collective proposal has a body): none chosen at first
            i.choices = [("", "—")] + [c for c in i.choices if c[0] != ""]
        elif i.name == "body.name":   # the bodies the directory knows, by name
            i.widget, i.choices = "select", [("", "—"), *_bodies(v)]
    return made


def _bodies(v: Visit) -> list[tuple[str, str]]:
    """The open bodies a collective proposal may come from (the value is the name the service
    looks up), each with its kind."""
    found = []
    for kind in BODY_KINDS:
        for o in v.get("/api/organisations", kind=kind, limit=500)["items"]:
            found.append((o["name"], f"{o['name']}（{v.word('members', 'org_kinds', kind)}）"))
    return found


def _field_errors(fields: dict[str, str]) -> dict[str, str]:
    """A refusal's fields by the name of the input (co_signers[1] is the co-signers' input, the
    body as a whole its type's)."""
    found: dict[str, str] = {}
    for name, reason in fields.items():
        name = re.sub(r"\[\d+\]", "", name)
        found.setdefault("body.type" if name == "body" else name, reason)
    return found


def _check_submission(v: Visit) -> None:
    """Refused (nothing sent) when the form misses what its model or the kind of proposal asks
    for, said in the visitor's words: a joint one's co-signers, a collective one's body, the
    member staff enter it for (the service checks the same, in its own words)."""
    form = v.request.form
    kind = form.get("kind") or ""
    signers = [s for s in form.getlist("co_signers") if s.strip()]
    body = any((form.get(f"body.{n}") or "").strip() for n in ("type", "name"))
    # the model's own checks first (as Visit.submit makes them), so that one answer names every field
    errors = check(api.SubmitProposal, body_from_form(api.SubmitProposal, form, form.getlist), v.lang)
    if v.actor.role == "staff" and not (form.get("on_behalf_of") or "").strip():
        errors["on_behalf_of"] = v.t("必填", "required")
    if kind == "joint" and not signers:
        errors["co_signers"] = v.t("联名提案至少选择一位联名委员", "a joint proposal has at least one co-signer")
    elif kind in ("individual", "collective") and signers:
        errors["co_signers"] = v.t("只有联名提案才有联名委员", "only a joint proposal has co-signers")
    if kind == "collective":
        for n in ("type", "name"):
            if not (form.get(f"body.{n}") or "").strip():
                errors[f"body.{n}"] = v.t("集体提案必填", "required for a collective proposal")
    elif body:
        errors["body.type"] = v.t("只有集体提案才填写提案单位", "only a collective proposal has a body")
    if errors:
        names = {"on_behalf_of": ("代为提交的委员", "on behalf of"), "co_signers": ("联名委员", "co-signers"),
                 "body.type": ("集体提案单位", "proposing body"), "body.name": ("集体提案单位", "proposing body")}
        named = list(dict.fromkeys(v.t(*names[n]) if n in names else named_fields({n: ""}, v.lang)
                                   for n in errors))
        raise Refused(v.t(f"请检查：{'、'.join(named)}。", f"Check: {', '.join(named)}."), errors)


@page("/proposals/new", methods=("GET", "POST"), roles=("member", "staff"))
def submit(v: Visit) -> Response:
    """提交提案 (members) / 代录提案 (staff, for a member): the form of POST /api/proposals."""
    title = v.t("代录提案", "Enter a paper proposal") if v.actor.role == "staff" else v.t("提交提案",
                                                                                          "Submit a proposal")
    if v.request.method == "GET":
        return v.render("member_submit.html", title=title, inputs=_submit_inputs(v), refusal=None)
    try:
        _check_submission(v)
        receipt = v.submit("/api/proposals", api.SubmitProposal)
    except Refused as refused:
        return v.render("member_submit.html", status=refused.status, title=title, refusal=refused.message,
                        inputs=_submit_inputs(v, values=v.typed(), errors=_field_errors(refused.fields)))
    return v.redirect(f"/cases/{receipt['proposal_id']}", flash="submitted")


# -- duty: points, dossier, ranking, menus ------------------------------------------------------

def _year(v: Visit) -> int:
    chosen = v.query("year")
    if chosen and chosen.isdigit() and 2000 <= int(chosen) <= 2100:
        return int(chosen)
    return _today(v).year


@page("/duty", roles=("member",))
def duty(v: Visit) -> Response:
    """我的履职: the member's points, the year's dossier 履职档案, ranking place and menus."""
    me, year = v.actor.user_id, _year(v)
    member = v.get(f"/api/members/{me}")
    dossier = v.get(f"/api/members/{me}/dossier", year=year)
    everyone = v.get(f"/api/rankings/{year}", limit=1)
    place = next((r for r in v.get(f"/api/rankings/{year}", q=me, limit=50)["items"] if r["member_id"] == me),
                 None)
    menus = v.get(f"/api/duty-menus/{year}", sector=member["sector"], limit=100)["items"]
    titles = {(m["menu_id"], i["item_id"]): f"{m['title']} · {i['title']}" for m in menus for i in m["items"]}
    [this_year] = dossier["years"] or [None]
    if this_year is not None:
        for a in this_year["activities"]:
            a["word"] = v.word("members", "activities", a["activity"])
        for e in this_year["entries"]:
            e["word"] = v.word("members", "activities", e["activity"])
            key = str(e.get("credit_key") or "")
            if e["activity"] == "menu_signup":   # its note names the menu by id: its titles instead
                parts = key.split(":")
                e["what"] = titles.get((parts[1], parts[2])) if len(parts) == 3 else None
            else:
                e["what"] = e.get("note") or None
        if this_year.get("assessment"):
            this_year["assessment"]["word"] = v.word("members", "outcomes", this_year["assessment"]["outcome"])
    for m in menus:
        m["forms"] = "、".join(dict.fromkeys(v.word("members", "menu_forms", i["form"]) for i in m["items"]))
    years = sorted({year, _today(v).year, *(e.get("year") for e in member.get("ledger", []) if e.get("year"))},
                   reverse=True)
    return v.render("member_duty.html", title=v.t("我的履职", "My duty record"), member=member, year=year,
                    years=years, dossier=this_year, place=place, ranked=everyone["total"], menus=menus)


def _menu_page(v: Visit, menu_id: str, refused: Refused | None = None, status: int = 200) -> Response:
    menu = v.get(f"/api/menus/{menu_id}")
    me = v.actor.user_id
    mine = next((m for m in menu["members"] if m["member_id"] == me), None)
    held = set(mine["items"]) if mine else set()
    counts = {i["item_id"]: sum(i["item_id"] in m["items"] for m in menu["members"]) for i in menu["items"]}
    items = [{**i, "form_word": v.word("members", "menu_forms", i["form"]), "held": i["item_id"] in held,
              "count": counts[i["item_id"]]} for i in menu["items"]]
    open_items = [(i["item_id"], f"{i['title']}（{i['form_word']}）") for i in items if not i["held"]]
    form = inputs(api.SignUp, v.lang, only=("item_ids",), choices={"item_ids": open_items},
                  values=v.typed() if refused else None, errors=refused.fields if refused else None)
    return v.render("member_menu.html", status=status, title=menu["title"], duty_menu=menu, items=items, mine=mine,
                    sector_name=v.name(menu["sector"]) if menu.get("sector") else None, inputs=form,
                    can_sign_up=bool(mine) and bool(open_items), refusal=refused.message if refused else None)


@page("/duty/menus/<menu_id>", methods=("GET", "POST"), roles=("member",))
def menu_page(v: Visit, menu_id: str) -> Response:
    """A duty menu 履职菜单: its items, what I hold, my minimum, and the sign-up form 认领."""
    if v.request.method == "GET":
        return _menu_page(v, menu_id)
    try:
        v.submit(f"/api/menus/{menu_id}/sign-ups", api.SignUp)
    except Refused as refused:
        return _menu_page(v, menu_id, refused, status=refused.status)
    return v.redirect(f"/duty/menus/{menu_id}", flash="done")


# -- a unit's inbox ------------------------------------------------------------------------------

@page("/inbox", roles=("unit",))
def inbox(v: Visit) -> Response:
    """待办提案: the unit's assignments with their deadlines, the most urgent first."""
    unit = v.actor.organisation
    q, cursor = v.query("q"), v.query("cursor")
    everything = v.query("all") == "1"
    found = v.get(f"/api/units/{unit}/inbox", q=q, cursor=cursor, limit=LIST_SIZE, open_only=not everything)
    soon = _soon(v)
    for row in found["items"]:
        due = row.get("due_in_days")
        row["css"] = "overdue" if row["overdue"] else ("due-soon" if due is not None and due <= soon else "")
        row["days"] = _days(v, due) if not row["replied"] else v.t("已答复", "replied")
        row["status_word"] = v.word("proposals", "states", row["status"])
        row["role_word"] = v.t("主办", "lead") if row["role"] == "lead" else v.t("会办", "co-unit")
    return v.render("unit_inbox.html", title=v.t("待办提案", "Inbox"), rows=found["items"], total=found["total"],
                    next_cursor=found.get("next_cursor"), q=q or "", everything=everything, soon=soon,
                    unit_name=v.name(unit), args=_args(q=q, all="1" if everything else None))


# -- a leader's key proposals ----------------------------------------------------------------------

@page("/supervision", roles=("leader",))
def supervision(v: Visit) -> Response:
    """重点提案督办: the key proposals the leader supervises, with their state and deadlines."""
    me = v.actor.user_id
    q, cursor = v.query("q"), v.query("cursor")
    found = v.get("/api/worklist", key=True, q=q, cursor=cursor, limit=100)
    today, soon = _today(v), _soon(v)
    rows = [r for r in found["items"] if me in (r.get("supervisors") or [])]
    for row in rows:
        row["status_word"] = v.word("proposals", "states", row["status"])
        due = None
        if row.get("deadline") and row["status"] == "assigned":
            due = (date.fromisoformat(row["deadline"]) - today).days
        row["days"] = _days(v, due)
        late = row["status"] == "assigned" and (row["overdue"] or (due is not None and due < 0))
        row["css"] = "overdue" if late else ("due-soon" if due is not None and due <= soon else "")
    v.names([r.get("lead_unit") for r in rows] + [r.get("proposer") for r in rows])
    return v.render("leader_supervision.html", title=v.t("重点提案督办", "Key proposals I supervise"), rows=rows,
                    next_cursor=found.get("next_cursor"), q=q or "", args=_args(q=q))
