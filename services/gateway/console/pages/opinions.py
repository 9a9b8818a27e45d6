"""Opinion reports 社情民意 (征-编-报-督-复, docs/feedback.md), for everyone who takes part:

* ``/opinions`` the editors' desk 编辑工作台 (staff; leaders and auditors read it): filters,
  search and paging, and staff combine 综合 several reports from it;
* ``/opinions/inbox`` the reports received from lower committees 下级报送 (the same readers);
* ``/opinions/<report_id>`` one report as the visitor may read it (a unit: the report and its
  own forwarding only), every command its state allows the visitor as a form, its history for
  staff and auditors;
* ``/opinions/new`` a member or an informant submits 报送; ``/opinions/mine`` their reports;
* ``/opinions/unit`` the reports forwarded to the visitor's unit, with deadlines;
* ``/opinions/leader`` the reports put before the visiting leader for instruction 待批示.

Everything is read and sent through the API's routes as the visitor (Visit.get/post/submit).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Callable
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from xieshang.kernel.clock import SHANGHAI

from ... import api
from ...problems import Problem
from ..app import Refused, Visit, nav, page
from ..forms import inputs
from ..words import FIELD_LABELS
from .casework import allowed, command_forms, run_command, timeline, unit_choices

READERS = ("staff", "leader", "auditor")                 # the desk, the inbox (api.OPINION_READERS)
SUBMITTERS = ("member", "informant")
INSIDE = (*READERS, *SUBMITTERS, "unit")                 # who may open a report's page
PREFIX = "/api/opinion-reports/<report_id>/"
PER_PAGE = 50
DUE_SOON_DAYS = 3                                        # as the service reminds (REMIND_DAYS_BEFORE)
FORWARD_DAYS = 15                                        # the deadline a forwarding form suggests
# a Literal field's codes: which group of the feedback vocabulary words them
GROUPS = {"check": "checks", "check_pending": "checks", "channel": "channels", "category": "categories",
          "leader_level": "leader_levels", "office": "leader_offices", "status": "states"}
# what a field is called on one command's form (else its FIELD_LABELS)
LABELS = {
    ("record_opinion_check", "note"): ("审核意见", "Reviewer's note"),
    ("adopt_opinion_report", "note"): ("采用意见", "Note on adoption"),
    ("forward_opinion", "deadline"): ("反馈期限", "Feedback due by"),
    ("send_opinion_feedback", "text"): ("书面反馈内容", "Written feedback"),
    ("record_leader_instruction", "text"): ("批示内容", "Instruction"),
    ("record_leader_instruction", "leader"): ("批示领导", "Leader"),
    ("inform_submitter", "text"): ("通报内容", "What the submitters are told"),
}
FILTER_LABELS = {"open_only": ("仅待反馈", "Awaiting feedback only"),
                 "pending_only": ("仅待批示", "Awaiting instruction only")}
FIELD_LABELS.setdefault("sources", ("来源信息", "Sources"))

# leaders reach the desk from their own list (two menu entries would both be "current" there)
nav(("staff", "auditor"), "/opinions", "社情民意", "Opinion reports")
nav(("member", "informant"), "/opinions/new", "报送社情民意", "Submit an opinion report")
nav(("member", "informant"), "/opinions/mine", "我的社情民意", "My opinion reports")
nav(("unit",), "/opinions/unit", "社情民意反馈", "Opinion reports to answer")
nav(("leader",), "/opinions/leader", "待批示", "Awaiting my instruction")


def words(v: Visit) -> Callable[[str, str], str]:
    return lambda field, code: v.word("feedback", GROUPS.get(field, field), code)


def today(v: Visit) -> date:
    """The committee's date: the gateway's clock (XIESHANG_FIXED_TIME in tests), else Beijing's."""
    clock = getattr(getattr(v.gateway, "accounts", None), "clock", None)
    return clock.today() if clock is not None else datetime.now(SHANGHAI).date()


def _levels(v: Visit) -> dict[str, Any]:
    """This committee and the committees it is linked to (names by code), asked once a visit."""
    found = getattr(v, "_opinion_levels", None)
    if found is None:
        try:
            found = v.get("/api/levels")
        except Problem:
            found = {"upper": [], "lower": []}
        found["names"] = {x["committee"]: x["name"] for x in [*found.get("upper", []), *found.get("lower", [])]}
        v._opinion_levels = found
    return found


def _committee(levels: dict[str, Any], code: str | None) -> str:
    return levels["names"].get(code or "", code or "")


def _leader_choices(v: Visit, also: list[str] = ()) -> list[tuple[str, str]]:
    """The leaders a report may be put before: the members of the chairs' meeting 主席会议成员
    (the directory's leaders), and those the report names already."""
    found = v.get("/api/members", status="active", limit=500)
    ids = [m["member_id"] for m in found["items"] if "chairs_meeting" in (m.get("roles") or [])]
    ids += [i for i in also if i not in ids]
    v.names(ids)
    return [(i, v.name(i)) for i in ids]


def _args(v: Visit, names: tuple[str, ...]) -> dict[str, str]:
    """The list's filters as given in the address (empty ones left out)."""
    return {n: v.request.args[n] for n in names if v.request.args.get(n) not in (None, "")}


def _ticked(v: Visit, name: str, default: bool) -> bool:
    """A GET form's checkbox: ``default`` until the form was sent (``<name>.present``)."""
    if f"{name}.present" in v.request.args:
        return v.request.args.get(name) in ("true", "on", "1")
    return default


def _relabelled(v: Visit, found: list[Any]) -> list[Any]:
    for i in found:
        if i.name in FILTER_LABELS:
            i.label = v.t(*FILTER_LABELS[i.name])
    return found


def _listed(v: Visit, path: str, **query: Any) -> tuple[dict[str, Any], str | None]:
    """A page of a list; a refused filter gives an empty page and the refusal's message."""
    try:
        return v.get(path, limit=PER_PAGE, cursor=v.query("cursor"), **query), None
    except Problem as problem:
        if problem.status != 422:
            raise
        return {"items": [], "next_cursor": None, "total": 0}, (problem.detail_zh if v.lang == "zh"
                                                                else problem.detail)


# -- the editors' desk 编辑工作台 ---------------------------------------------------------------

DESK_FILTERS = ("q", "status", "check_pending", "channel", "from_below")


def _desk(v: Visit, refused: Refused | None = None, typed: dict[str, Any] | None = None,
          status: int = 200) -> Response:
    chosen = _args(v, ("q", "status", "check_pending", "channel"))
    from_below = _ticked(v, "from_below", False)
    found, problem = _listed(v, "/api/opinion-desk", from_below=True if from_below else None, **chosen)
    items = found["items"]
    levels = _levels(v)
    v.names([i.get("submitter") for i in items])
    for i in items:
        i["from"] = (_committee(levels, i["origin_committee"]) if i.get("origin_committee")
                     else v.t(f"综合（{i['sources']} 篇）", f"combined ({i['sources']})")
                     if i["kind"] == "combined" else v.name(i.get("submitter")))
        i["combinable"] = i["status"] == "submitted" and not i.get("origin_committee")
    filters = inputs(api.OpinionDeskQuery, v.lang, only=DESK_FILTERS, words=words(v),
                     values={**chosen, "from_below": "true" if from_below else None})
    combine = None
    if v.actor.role == "staff":
        typed = typed or {}
        combine = inputs(api.CombineOpinions, v.lang, only=("title", "content", "category"), words=words(v),
                         values=typed, errors=refused.fields if refused else None)
    args = urlencode({**chosen, **({"from_below": "true", "from_below.present": "1"} if from_below else {})})
    chosen_sources = set((typed or {}).get("sources") or [])
    if isinstance((typed or {}).get("sources"), str):
        chosen_sources = {typed["sources"]}
    return v.render("opinion_desk.html", status=status, title=v.t("社情民意编辑工作台", "Opinion reports: the desk"),
                    items=items, found=found, filters=filters, problem=problem, args=args, combine=combine,
                    refusal=refused.message if refused else None,
                    sources_error=(refused.fields.get("sources") if refused else None),
                    chosen_sources=chosen_sources, word=words(v), inbox=False)


@page("/opinions", roles=READERS)
def desk(v: Visit) -> Response:
    return _desk(v)


@page("/opinions/combine", methods=("POST",), roles=("staff",))
def combine(v: Visit) -> Response:
    """综合: the reports ticked on the desk into a new one (the desk's filters kept)."""
    try:
        receipt = v.submit("/api/opinion-reports/combinations", api.CombineOpinions)
    except Refused as refused:
        return _desk(v, refused, v.typed(), status=refused.status)
    return v.redirect(f"/opinions/{receipt['report_id']}", flash="done")


@page("/opinions/inbox", roles=READERS)
def inbox(v: Visit) -> Response:
    """Reports received from lower committees 下级报送, newest first."""
    chosen = _args(v, ("q",))
    found, problem = _listed(v, "/api/opinion-inbox", **chosen)
    levels = _levels(v)
    for i in found["items"]:
        i["from"], i["combinable"] = _committee(levels, i.get("origin_committee")), False
    filters = inputs(api.Page, v.lang, only=("q",), values=chosen)
    return v.render("opinion_desk.html", title=v.t("下级政协报送的社情民意", "Reports from lower committees"),
                    items=found["items"], found=found, filters=filters, problem=problem,
                    args=urlencode(chosen), combine=None, refusal=None, sources_error=None,
                    chosen_sources=set(), word=words(v), inbox=True)


# -- one report ----------------------------------------------------------------------------------

def _report(v: Visit, report_id: str) -> dict[str, Any]:
    r = v.get(f"/api/opinion-reports/{report_id}")
    leaders = [i.get("leader") for i in r.get("instructions", [])]
    v.names([r.get("submitter"), *r.get("contributors", []), *r.get("leaders", []), *leaders,
             *(f["unit"] for f in r.get("forwards", [])), (r.get("forward") or {}).get("unit")])
    now = today(v)
    for f in [*r.get("forwards", []), *([r["forward"]] if r.get("forward") else [])]:
        due = None if f.get("fed_back_on") else (date.fromisoformat(f["deadline"]) - now).days
        f["late"] = bool(f.get("overdue")) or (due is not None and due < 0)
        f["due_soon"] = not f["late"] and due is not None and due <= DUE_SOON_DAYS
        f["due_in_days"] = due
    # the reports it was combined from, or into, by title (as the visitor may read them)
    r["linked"] = {}
    for other in [*r.get("sources", []), *([r["combined_into"]] if r.get("combined_into") else [])]:
        try:
            r["linked"][other] = v.get(f"/api/opinion-reports/{other}")["title"]
        except Problem:
            r["linked"][other] = None
    return r


def _forms(v: Visit, r: dict[str, Any], refused=None) -> list[Any]:
    report_id = r["report_id"]
    routes = allowed(v, PREFIX, r.get("next_commands", []))
    needs = {f for route in routes if route.body for f in route.body.model_fields}
    choices: dict[str, list[tuple[str, str]]] = {}
    levels = _levels(v) if "upper" in needs else {"upper": []}
    if "units" in needs:
        choices["units"] = unit_choices(v)
    if needs & {"leaders", "leader"} and v.actor.role == "staff":
        leaders = _leader_choices(v, r.get("leaders", []))
        if leaders:
            choices["leaders"] = choices["leader"] = leaders
    if levels["upper"]:
        choices["upper"] = [(x["committee"], x["name"]) for x in levels["upper"]]
    made = command_forms(v, routes, lambda route: f"/opinions/{report_id}/do/{route.rpc}", words=words(v),
                         choices=choices, refused=refused,
                         label=lambda rpc: _capitalised(v.word("feedback", "commands", rpc)))
    for form in made:
        kept = []
        for i in form.inputs:
            if (form.rpc, i.name) in LABELS:
                i.label = v.t(*LABELS[(form.rpc, i.name)])
            if i.name == "reason" and not i.required:
                continue  # the command's own text says why; the history keeps it
            if i.name == "upper" and not levels["upper"]:
                continue  # no upper committee linked: nothing to choose
            if i.name == "leader" and v.actor.role != "staff":
                continue  # a leader records their own instruction
            if form.rpc == "forward_opinion" and i.name == "deadline" and not i.value:
                i.value = (today(v) + timedelta(days=FORWARD_DAYS)).isoformat()
            if form.rpc == "revise_opinion_report" and not form.open and i.name in ("title", "content",
                                                                                     "category"):
                i.value = r.get(i.name)
            kept.append(i)
        form.inputs = kept
    return made


def _capitalised(words: str) -> str:
    return words[:1].upper() + words[1:]


def show(v: Visit, report_id: str, refused=None, status: int = 200) -> Response:
    try:
        r = _report(v, report_id)
    except Problem as problem:
        if problem.status == 403:
            return v.error(403, v.t("无权查看", "Not allowed"),
                           v.t("此社情民意信息未转交给本单位，不能查看。", "This report was not forwarded to your unit.")
                           if v.actor.role == "unit" else
                           v.t("您无权查看此社情民意信息。", "You may not read this report."))
        if problem.status == 404:
            return v.error(404, v.t("未找到", "Not found"),
                           v.t("没有这篇社情民意信息。", "There is no such opinion report."))
        raise
    levels = _levels(v) if (r.get("upper") or r.get("origin") or r.get("decisions_above")) else {"names": {}}
    return v.render("opinion_report.html", status=status, title=r["title"], r=r, word=words(v),
                    forms=_forms(v, r, refused), history=timeline(v, "feedback", r["stream"])
                    if r.get("stream") else None, committee=lambda code: _committee(levels, code))


@page("/opinions/<report_id>", roles=INSIDE)
def report_page(v: Visit, report_id: str) -> Response:
    return show(v, report_id)


@page("/opinions/<report_id>/do/<rpc>", methods=("POST",), roles=INSIDE)
def report_command(v: Visit, report_id: str, rpc: str) -> Response:
    return run_command(v, PREFIX, rpc, {"report_id": report_id}, f"/opinions/{report_id}",
                       lambda refused: show(v, report_id, refused, status=refused[1].status))


# -- members and informants: submit, and their own ------------------------------------------------

@page("/opinions/new", methods=("GET", "POST"), roles=SUBMITTERS)
def submit(v: Visit) -> Response:
    refusal, typed, errors = None, None, None
    if v.request.method == "POST":
        try:
            receipt = v.submit("/api/opinion-reports", api.SubmitOpinion)
        except Refused as refused:
            refusal, typed, errors = refused, v.typed(), refused.fields
        else:
            return v.redirect(f"/opinions/{receipt['report_id']}", flash="submitted")
    fields = inputs(api.SubmitOpinion, v.lang, only=("title", "content", "channel", "category"),
                    words=words(v), values=typed, errors=errors)
    return v.render("opinion_new.html", status=refusal.status if refusal else 200,
                    title=v.t("报送社情民意信息", "Submit an opinion report"), fields=fields,
                    refusal=refusal.message if refusal else None)


@page("/opinions/mine", roles=SUBMITTERS)
def mine(v: Visit) -> Response:
    chosen = _args(v, ("q",))
    found, problem = _listed(v, "/api/opinion-reports/mine", **chosen)
    return v.render("opinion_mine.html", title=v.t("我的社情民意", "My opinion reports"), found=found,
                    items=found["items"], filters=inputs(api.Page, v.lang, only=("q",), values=chosen),
                    problem=problem, args=urlencode(chosen), word=words(v))


# -- units and leaders ---------------------------------------------------------------------------

@page("/opinions/unit", roles=("unit",))
def unit_reports(v: Visit) -> Response:
    """The reports forwarded to the visitor's unit, most urgent first, overdue highlighted."""
    chosen = _args(v, ("q",))
    open_only = _ticked(v, "open_only", True)
    found, problem = _listed(v, f"/api/units/{v.actor.organisation}/opinion-reports",
                             open_only="true" if open_only else "false", **chosen)
    for i in found["items"]:
        i["due_soon"] = not i["overdue"] and i["due_in_days"] is not None and i["due_in_days"] <= DUE_SOON_DAYS
    filters = _relabelled(v, inputs(api.UnitOpinionQuery, v.lang, only=("q", "open_only"),
                                    values={**chosen, "open_only": "true" if open_only else None}))
    args = urlencode({**chosen, "open_only.present": "1", **({"open_only": "true"} if open_only else {})})
    return v.render("opinion_unit.html", title=v.t("转交本单位的社情民意", "Opinion reports forwarded to us"),
                    found=found, items=found["items"], filters=filters, problem=problem, args=args,
                    unit=v.name(v.actor.organisation), word=words(v))


@page("/opinions/leader", roles=("leader",))
def leader_reports(v: Visit) -> Response:
    """The reports put before the visiting leader 待批示 (and, when asked, those instructed)."""
    chosen = _args(v, ("q",))
    pending_only = _ticked(v, "pending_only", True)
    found, problem = _listed(v, f"/api/leaders/{v.actor.user_id}/opinion-reports",
                             pending_only="true" if pending_only else "false", **chosen)
    filters = _relabelled(v, inputs(api.LeaderOpinionQuery, v.lang, only=("q", "pending_only"),
                                    values={**chosen, "pending_only": "true" if pending_only else None}))
    args = urlencode({**chosen, "pending_only.present": "1", **({"pending_only": "true"} if pending_only else {})})
    return v.render("opinion_leader.html", title=v.t("待批示的社情民意", "Opinion reports awaiting my instruction"),
                    found=found, items=found["items"], filters=filters, problem=problem, args=args,
                    word=words(v))
