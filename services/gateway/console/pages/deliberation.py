"""Consultations 协商议事 (the eight steps 八步议事法) and democratic supervision groups 民主监督组
(docs/feedback.md), for everyone who takes part:

* ``/consultations`` the consultations with their state and next step (staff; auditors read),
  and a topic raised from ``/consultations/new`` (staff, members); ``/consultations/calendar``
  the meetings planned and held, by date; ``/consultations/topic-lists`` the topic lists 议题清单
  with the form that amends them (staff); ``/consultations/statistics`` the year's figures of
  both consultations and supervision groups;
* ``/consultations/<id>`` one consultation as the visitor may read it, its steps, every command
  its state allows the visitor as a form (a unit: its own tasks' reports), its history;
* ``/consultations/leader`` what awaits the party organisation 党组织: topics to approve and
  results to decide on (leaders);
* ``/consultations/tasks`` a unit's follow-up tasks 落实任务, each with the form that reports it done;
* ``/supervision-groups`` the groups (and the form forming one), ``/supervision-groups/<id>`` one
  group with its fact finding, its opinions and the forms of their next steps;
  ``/supervision-groups/opinions`` the opinions issued to the visitor's department, each with
  the form that reports how it was handled.

Everything is read and sent through the API's routes as the visitor (Visit.get/post/submit);
the words of states, commands and codes are the feedback service's (its vocabulary).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from ... import api
from ...problems import Problem
from ..app import Refused, Visit, nav, page
from ..forms import inputs
from ..words import FIELD_LABELS
from .casework import allowed, api_path, command_forms, member_choices, route_of, timeline, unit_choices
from .opinions import _args, _capitalised, _listed, _ticked, today

READERS = ("staff", "leader", "auditor")               # api.CONSULTATION_READERS
INSIDE = (*READERS, "member", "unit")                  # who may open one consultation or group
PREFIX = "/api/consultations/<consultation_id>/"
GROUP_PREFIX = "/api/supervision-groups/<group_id>/"
DUE_SOON_DAYS = 3                                      # as the service reminds (TASK_REMIND_DAYS_BEFORE)
CALENDAR_DAYS = 90                                     # the calendar's range when none is asked for
# the commands on one task or one opinion: a form of their own beside it, not among the case's
PER_TASK = ("complete_follow_up_task",)
PER_OPINION = ("report_supervision_handling", "verify_supervision_effect")
# a Literal field's codes: which group of the feedback vocabulary words them
GROUPS = {"status": "states", "source": "topic_sources", "listing": "listings", "kind": "research_kinds",
          "channel": "publication_channels", "category": "categories", "verdict": "verdicts",
          "into": "conversion_targets", "type": "body_types"}
# what a field is called on the forms of these pages (else FIELD_LABELS)
LABELS: dict[str, tuple[str, str]] = {
    "description": ("议题说明", "Description"), "topic_kind": ("议题类别", "Kind of topic"),
    "source": ("议题来源", "Source"), "held_on": ("日期", "Date"), "place": ("协商平台", "Place"),
    "members": ("委员", "Members"), "departments": ("职能部门", "Departments"),
    "residents": ("群众代表人数", "Residents"), "stakeholders": ("利益相关方", "Stakeholders"),
    "agenda": ("议程", "Agenda"), "summary": ("情况", "Summary"), "speakers": ("发言人", "Speakers"),
    "opinions": ("各方意见", "Opinions heard"), "outcomes": ("协商成果（每行一条）", "Outcomes agreed"),
    "until": ("公示截止", "Published until"), "adopted_outcomes": ("采纳的协商成果", "Outcomes adopted"),
    "outcome": ("对应的协商成果", "Adopted outcome"), "task": ("落实任务", "Task"),
    "report": ("落实情况", "What was done"), "visited_on": ("回访日期", "Visited on"),
    "findings": ("了解到的情况", "Findings"), "respondents": ("参与测评人数", "Respondents"),
    "satisfied": ("满意", "Satisfied"), "basically_satisfied": ("基本满意", "Basically satisfied"),
    "dissatisfied": ("不满意", "Dissatisfied"), "into": ("转化为", "Turn into"), "label": ("事项表述", "Words"),
    "listing": ("列入", "Listing"), "department": ("被监督部门", "Department"), "topic": ("监督议题", "Topic"),
    "basis": ("监督依据", "Basis"), "verdict": ("核验结论", "Verdict"), "date_from": ("起始日期", "From"),
    "date_to": ("截止日期", "To"), "group_leader": ("组长", "Leader"),
}
ON_FORM: dict[tuple[str, str], tuple[str, str]] = {   # (rpc, field): a label of its own
    ("record_consultation_research", "summary"): ("调研情况", "What the research found"),
    ("record_consultation_meeting", "members"): ("出席委员", "Members attending"),
    ("publish_consultation_results", "text"): ("公示内容", "What is published"),
    ("publish_consultation_results", "channel"): ("公开方式", "Published through"),
    ("decide_consultation", "text"): ("组织决定内容", "The decision"),
    ("close_consultation", "summary"): ("办结总结", "Summary"),
    ("close_supervision_group", "summary"): ("工作总结", "Summary"),
    ("issue_supervision_opinion", "text"): ("监督意见", "The opinion"),
    ("issue_supervision_opinion", "deadline"): ("办理期限", "Handled by"),
    ("report_supervision_handling", "report"): ("办理情况", "How it was handled"),
    ("form_supervision_group", "name"): ("监督组名称", "Group's name"),
    ("form_supervision_group", "leader"): ("组长", "Leader"),
    ("form_supervision_group", "members"): ("组员", "Members"),
    ("record_fact_finding", "kind"): ("调研方式", "How"),
    ("record_fact_finding", "members"): ("参加人员", "Who took part"),
    ("amend_topic_lists", "kind"): ("事项代码", "Code of the kind"),
    ("verify_supervision_effect", "note"): ("核验说明", "Note"),
    ("assign_follow_up_task", "deadline"): ("完成期限", "Done by"),
}
for _name, _words in LABELS.items():
    FIELD_LABELS.setdefault(_name, _words)
FILTER_LABELS = {"open_only": ("仅未完成", "Open only")}
TASK_DAYS = 30                                         # the deadline a task's form suggests

nav(("staff", "auditor"), "/consultations", "协商议事", "Consultations")
nav(("staff", "auditor", "leader"), "/supervision-groups", "民主监督组", "Supervision groups")
nav(("member",), "/consultations/new", "提出协商议题", "Raise a consultation topic")
nav(("leader",), "/consultations/leader", "协商议事待审定", "Consultations awaiting me")
nav(("unit",), "/consultations/tasks", "协商落实任务", "Follow-up tasks")
nav(("unit",), "/supervision-groups/opinions", "监督意见办理", "Supervision opinions")


def words(v: Visit, kinds: str = "research_kinds") -> Callable[[str, str], str]:
    """The words of a form's codes; ``kinds`` the group of its ``kind`` (research or fact finding)."""
    def word(field: str, code: str) -> str:
        if field == "kind":
            return v.word("feedback", kinds, code)
        if field == "type":
            return v.word("proposals", "body_types", code)
        if field == "status" and code in ("formed",):
            return v.word("feedback", "states", code)
        return v.word("feedback", GROUPS.get(field, field), code)
    return word


def _codes(v: Visit, group: str) -> dict[str, Any]:
    return v.console.vocabulary(v.gateway, "feedback").get(group, {})


def _relabel(v: Visit, rpc: str, found: list[Any]) -> list[Any]:
    for i in found:
        if (rpc, i.name) in ON_FORM:
            i.label = v.t(*ON_FORM[(rpc, i.name)])
    return found


def _apart(form: Any, key: str = "") -> Any:
    """Give a form's inputs element ids of their own (several forms share a page)."""
    for i in form.inputs:
        i.id_prefix = f"f-{form.rpc}-{key + '-' if key else ''}"
    return form


def _command_word(v: Visit, rpc: str) -> str:
    return _capitalised(v.word("feedback", "commands", rpc))


# -- the names of places and townships (the members service's tree, as the visitor may read it) --

def _places(v: Visit) -> dict[str, dict[str, Any]]:
    """The committee's stations and organisations by id (names, station types), asked once a visit."""
    found = getattr(v, "_deliberation_orgs", None)
    if found is None:
        found = {}
        try:
            for kind in ("station", "township", "community"):
                for o in v.get("/api/organisations", kind=kind, limit=500)["items"]:
                    found[o["org_id"]] = o
        except Problem:
            pass
        v._deliberation_orgs = found
    return found


def place_name(v: Visit, org_id: str | None) -> str:
    if not org_id:
        return ""
    known = _places(v).get(org_id)
    return known["name"] if known else v.t("相关站点", "(a station)")


def _place_choices(v: Visit) -> list[tuple[str, str]]:
    """The open stations a consultation may be held at (the feedback service's place types)."""
    types = _codes(v, "place_types")
    return [(o["org_id"], f"{o['name']}（{v.word('feedback', 'place_types', o.get('station_type'))}）")
            for o in _places(v).values()
            if o.get("kind") == "station" and o.get("status") == "open" and o.get("station_type") in types]


def _township_choices(v: Visit) -> list[tuple[str, str]]:
    return [(o["org_id"], o["name"]) for o in _places(v).values()
            if o.get("kind") == "township" and o.get("status") == "open"]


def _topic_kinds(v: Visit) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The kinds a topic may be of (the allowed list, as the lists stand), and the lists."""
    lists = v.get("/api/consultation-topic-lists")
    return [(k["kind"], k["label"]) for k in lists.get("allowed", [])], lists


# -- consultations: the list, a topic raised, the calendar, the lists, the figures -------------

LIST_FILTERS = ("q", "status", "township", "year")


@page("/consultations", roles=READERS)
def consultations(v: Visit) -> Response:
    chosen = _args(v, LIST_FILTERS)
    found, problem = _listed(v, "/api/consultations", **chosen)
    for i in found["items"]:
        i["id"] = i.get("consultation_id") or i.get("id")
        i["next_word"] = _command_word(v, i["next_step"]) if i.get("next_step") else ""
    filters = inputs(api.ConsultationsQuery, v.lang, only=LIST_FILTERS, words=words(v), values=chosen,
                     choices={"township": _township_choices(v)})
    return v.render("consultations.html", title=v.t("协商议事", "Consultations"), found=found,
                    items=found["items"], filters=filters, problem=problem, args=urlencode(chosen),
                    word=words(v), place=lambda i: place_name(v, i), may_raise=v.actor.role == "staff")


@page("/consultations/new", methods=("GET", "POST"), roles=("staff", "member"))
def raise_topic(v: Visit) -> Response:
    refusal, typed, errors = None, None, None
    if v.request.method == "POST":
        try:
            receipt = v.submit("/api/consultations", api.ProposeTopic)
        except Refused as refused:
            refusal, typed, errors = refused, v.typed(), refused.fields
        else:
            return v.redirect(f"/consultations/{receipt['consultation_id']}", flash="submitted")
    kinds, lists = _topic_kinds(v)
    fields = inputs(api.ProposeTopic, v.lang, words=words(v), values=typed, errors=errors,
                    choices={"topic_kind": kinds, "township": _township_choices(v)})
    return v.render("consultation_new.html", status=refusal.status if refusal else 200,
                    title=v.t("提出协商议题", "Raise a consultation topic"), fields=fields, lists=lists,
                    refusal=refusal.message if refusal else None)


@page("/consultations/calendar", roles=READERS)
def calendar(v: Visit) -> Response:
    now = today(v)
    chosen = {"date_from": v.query("date_from", now.isoformat()),
              "date_to": v.query("date_to", (now + timedelta(days=CALENDAR_DAYS)).isoformat()),
              **_args(v, ("place", "township"))}
    problem, days = None, []
    try:
        found = v.get("/api/consultation-calendar", **chosen)
    except Problem as refused:
        if refused.status != 422:
            raise
        found, problem = {}, refused.detail_zh if v.lang == "zh" else refused.detail
    days = _calendar_days(found)
    for _day, meetings in days:
        for m in meetings:
            m["id"] = m.get("consultation_id") or m.get("id")
    filters = inputs(api.CalendarQuery, v.lang, only=("date_from", "date_to", "place", "township"),
                     values=chosen, choices={"place": _place_choices(v), "township": _township_choices(v)})
    return v.render("consultation_calendar.html", title=v.t("协商日历", "Consultation calendar"), days=days,
                    filters=filters, problem=problem, word=words(v), place=lambda i: place_name(v, i))


def _calendar_days(found: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    """The calendar's meetings by date, whichever shape the answer has: {"days": [{"date",
    "meetings"}]}, {"items": [meeting]} or {date: [meeting]}."""
    if not isinstance(found, dict):
        return []
    if isinstance(found.get("days"), list):
        return [(d.get("date") or d.get("held_on"), list(d.get("meetings") or d.get("items") or []))
                for d in found["days"]]
    if isinstance(found.get("items"), list) or isinstance(found.get("meetings"), list):
        by_day: dict[str, list[dict[str, Any]]] = {}
        for m in found.get("items") or found.get("meetings") or []:
            by_day.setdefault(m.get("held_on") or "", []).append(m)
        return sorted(by_day.items())
    if isinstance(found.get("days"), dict):
        return sorted((d, list(ms)) for d, ms in found["days"].items())
    return sorted((d, list(ms)) for d, ms in found.items() if isinstance(ms, list))


def _topic_lists_page(v: Visit, refused: Refused | None = None, typed: dict[str, Any] | None = None,
                      status: int = 200) -> Response:
    lists = v.get("/api/consultation-topic-lists")
    amend = None
    if v.actor.role == "staff":
        amend = _relabel(v, "amend_topic_lists", inputs(
            api.AmendTopicLists, v.lang, words=words(v), values=typed,
            only=("kind", "listing", "label", "reason"),
            errors=refused.fields if refused else None))
    return v.render("consultation_topic_lists.html", status=status,
                    title=v.t("协商议题清单", "The consultation topic lists"), lists=lists, amend=amend,
                    refusal=refused.message if refused else None)


@page("/consultations/topic-lists", methods=("GET", "POST"), roles=(*READERS, "member"))
def topic_lists(v: Visit) -> Response:
    if v.request.method == "POST":
        if v.actor.role != "staff":
            return v.error(403, v.t("无权操作", "Not allowed"),
                           v.t("只有工作人员可以修改议题清单。", "Only staff amend the lists."))
        try:
            v.submit("/api/consultation-topic-lists/amendments", api.AmendTopicLists)
        except Refused as refused:
            return _topic_lists_page(v, refused, v.typed(), status=refused.status)
        return v.redirect("/consultations/topic-lists", flash="done")
    return _topic_lists_page(v)


@page("/consultations/statistics", roles=READERS)
def statistics(v: Visit) -> Response:
    year = v.query("year") or str(today(v).year)
    if not year.isdigit() or not 2000 <= int(year) <= 2100:
        year = str(today(v).year)
    figures = v.get(f"/api/consultation-statistics/{year}")
    supervision = v.get(f"/api/supervision-statistics/{year}")
    survey = figures.get("survey") or {}
    rate = survey.get("satisfaction_rate")
    return v.render("consultation_statistics.html", title=v.t(f"{year} 年协商议事和民主监督统计",
                                                            f"Consultations and supervision in {year}"),
                    year=int(year), c=figures, s=supervision, rate=None if rate is None else round(rate * 100, 1),
                    word=words(v), place=lambda i: place_name(v, i),
                    bars=lambda counts: _bars(counts))


def _bars(counts: dict[str, int]) -> list[tuple[str, int, int]]:
    """(code, count, width in percent of the largest) for a simple bar chart."""
    top = max(counts.values(), default=0) or 1
    return [(code, n, round(100 * n / top)) for code, n in sorted(counts.items(), key=lambda x: -x[1])]


# -- one consultation ----------------------------------------------------------------------------

def _consultation(v: Visit, consultation_id: str) -> dict[str, Any]:
    r = v.get(f"/api/consultations/{consultation_id}")
    plan, meeting = r.get("plan") or {}, r.get("meeting") or {}
    people = [r.get("proposer"), r.get("approver"), r.get("decider"), *plan.get("members", []),
              *plan.get("departments", []), *meeting.get("members", []), *meeting.get("absent_members", []),
              *meeting.get("departments", []), *meeting.get("speakers", [])]
    for x in [*(r.get("research") or []), *(r.get("visits") or [])]:
        people += x.get("members", [])
    people += [t.get("unit") for t in r.get("tasks") or []]
    v.names(people)
    now = today(v)
    for t in r.get("tasks") or []:
        done = t.get("completed_on")
        due = None if done or not t.get("deadline") else (date.fromisoformat(t["deadline"]) - now).days
        t["due_in_days"] = due
        t["late"] = bool(t.get("overdue")) or (due is not None and due < 0)
        t["due_soon"] = not t["late"] and due is not None and due <= DUE_SOON_DAYS
    return r


def _consultation_forms(v: Visit, r: dict[str, Any], refused=None) -> list[Any]:
    cid = r["consultation_id"]
    routes = allowed(v, PREFIX, r.get("next_commands", []), skip=PER_TASK)
    needs = {f for route in routes if route.body for f in route.body.model_fields}
    choices: dict[str, list[tuple[str, str]]] = {}
    if needs & {"members", "speakers"}:
        choices["members"] = member_choices(v)
    if needs & {"departments", "unit", "speakers"}:
        choices["departments"] = choices["unit"] = unit_choices(v)
    if "place" in needs:
        choices["place"] = _place_choices(v)
    meeting = r.get("meeting") or {}
    if "speakers" in needs:   # who may speak: those planned to take part (else anyone named)
        planned = [*(r.get("plan") or {}).get("members", []), *(r.get("plan") or {}).get("departments", [])]
        choices["speakers"] = ([(p, v.name(p)) for p in planned] if planned
                               else choices["members"] + choices["departments"])
    outcomes = meeting.get("outcomes") or []
    if "adopted_outcomes" in needs:
        choices["adopted_outcomes"] = [(str(n), text) for n, text in enumerate(outcomes, 1)]
    adopted = (r.get("decision") or {}).get("adopted_outcomes") or r.get("adopted_outcomes") or []
    if "outcome" in needs:
        choices["outcome"] = [(str(n), text) for n, text in enumerate(adopted, 1)]
    made = command_forms(v, routes, lambda route: f"/consultations/{cid}/do/{route.rpc}", words=words(v),
                         choices=choices, refused=refused, label=lambda rpc: _command_word(v, rpc))
    plan = r.get("plan") or {}
    for form in made:
        kept = []
        _relabel(v, form.rpc, form.inputs)
        for i in form.inputs:
            if i.name == "reason" and not i.required:
                continue  # the command's own text says why; the history keeps it
            if i.name == "outcome" and choices.get("outcome"):
                i.widget, i.choices = "select", choices["outcome"]
            if i.name == "body" or i.name.startswith("body."):
                i.label = i.label.replace(FIELD_LABELS["body"][0 if v.lang == "zh" else 1],
                                          v.t("集体提案单位（转为提案时）", "Proposing body (a proposal)"))
            if not form.open and form.rpc == "plan_consultation" and plan:
                if i.name in ("held_on", "place", "agenda", "residents"):
                    i.value = plan.get(i.name)
                elif i.name in ("members", "departments"):
                    i.value = plan.get(i.name) or []
                elif i.name == "stakeholders":
                    i.value = "\n".join(plan.get("stakeholders") or [])
            if not form.open and form.rpc == "record_consultation_meeting" and plan:
                if i.name in ("members", "departments"):
                    i.value = plan.get(i.name) or []
                elif i.name == "held_on":
                    i.value = plan.get("held_on")
                elif i.name == "residents":
                    i.value = plan.get("residents")
                elif i.name == "stakeholders":
                    i.value = "\n".join(plan.get("stakeholders") or [])
            if not form.open and form.rpc == "assign_follow_up_task" and i.name == "deadline" and not i.value:
                i.value = (today(v) + timedelta(days=TASK_DAYS)).isoformat()
            if not form.open and form.rpc == "convert_consultation_result" and i.name == "title":
                i.value = r.get("title")
            kept.append(i)
        form.inputs = kept
        _apart(form)
    return made


def _task_forms(v: Visit, r: dict[str, Any], refused=None) -> dict[str, Any]:
    """The form that reports each of the visitor's open tasks done (a unit: its own)."""
    if "complete_follow_up_task" not in r.get("next_commands", []) or v.actor.role != "unit":
        return {}
    route = route_of("complete_follow_up_task", PREFIX)
    made = {}
    for t in r.get("tasks") or []:
        if t.get("completed_on") or t.get("unit") != v.actor.organisation:
            continue
        again = refused if refused and refused[2].get("task_id") == t["task_id"] else None
        [form] = command_forms(v, [route], lambda _r, t=t: f"/consultations/{r['consultation_id']}/tasks/"
                               f"{t['task_id']}/do/complete_follow_up_task", words=words(v), refused=again,
                               label=lambda rpc: _command_word(v, rpc))
        _relabel(v, form.rpc, form.inputs)
        form.inputs = [i for i in form.inputs if i.name != "reason"]
        made[t["task_id"]] = _apart(form, t["task_id"])
    return made


def show(v: Visit, consultation_id: str, refused=None, status: int = 200) -> Response:
    try:
        r = _consultation(v, consultation_id)
    except Problem as problem:
        if problem.status in (403, 404):
            return v.error(problem.status, v.t("无法查看", "Not available"),
                           v.t("没有这项协商议事，或您无权查看。", "There is no such consultation, or you may not read it."))
        raise
    task_refused = refused if refused and refused[0] in PER_TASK else None
    return v.render("consultation.html", status=status, title=r.get("title") or "", r=r, word=words(v),
                    forms=_consultation_forms(v, r, None if task_refused else refused),
                    task_forms=_task_forms(v, r, task_refused), place=lambda i: place_name(v, i),
                    history=timeline(v, "feedback", r["stream"]) if r.get("stream") else None)


@page("/consultations/<consultation_id>", roles=INSIDE)
def consultation_page(v: Visit, consultation_id: str) -> Response:
    return show(v, consultation_id)


@page("/consultations/<consultation_id>/do/<rpc>", methods=("POST",), roles=INSIDE)
def consultation_command(v: Visit, consultation_id: str, rpc: str) -> Response:
    return _run(v, PREFIX, rpc, {"consultation_id": consultation_id}, f"/consultations/{consultation_id}",
                lambda refused: show(v, consultation_id, refused, status=refused[1].status))


@page("/consultations/<consultation_id>/tasks/<task_id>/do/<rpc>", methods=("POST",), roles=("unit",))
def task_command(v: Visit, consultation_id: str, task_id: str, rpc: str) -> Response:
    back = v.next_path(f"/consultations/{consultation_id}")
    return _run(v, PREFIX, rpc, {"consultation_id": consultation_id, "task_id": task_id}, back,
                lambda refused: (tasks(v, (rpc, refused[1], {**refused[2], "task_id": task_id}))
                                 if back.startswith("/consultations/tasks") else
                                 show(v, consultation_id, (rpc, refused[1], {**refused[2], "task_id": task_id}),
                                      status=refused[1].status)), only=PER_TASK)


def _run(v: Visit, prefix: str, rpc: str, params: dict[str, str], back: str,
         again: Callable[[tuple[str, Refused, dict[str, Any]]], Response],
         only: tuple[str, ...] | None = None) -> Response:
    """casework.run_command, for routes with more than one path parameter too."""
    route = route_of(rpc, prefix)
    if route is None or (only is not None and rpc not in only):
        return v.error(404, v.t("没有这项操作", "No such command"),
                       v.t("此事项没有这项操作。", "There is no such command here."))
    try:
        v.submit(api_path(route, **params), route.body or api.Body)
    except Refused as refused:
        return again((rpc, refused, v.typed()))
    return v.redirect(back, flash="done")


# -- leaders: what awaits the party organisation ----------------------------------------------

@page("/consultations/leader", roles=("leader",))
def leader(v: Visit) -> Response:
    """Topics decided, awaiting approval 待批准议题; results published, awaiting the decision 待组织决定."""
    waiting = []
    for status, zh, en in (("topic_decided", "待批准的协商议题", "Topics awaiting approval"),
                           ("results_published", "待作出组织决定的协商结果", "Results awaiting the decision")):
        found, problem = _listed(v, "/api/consultations", status=status)
        for i in found["items"]:
            i["id"] = i.get("consultation_id") or i.get("id")
            i["next_word"] = _command_word(v, i["next_step"]) if i.get("next_step") else ""
        waiting.append({"status": status, "title": v.t(zh, en), "found": found, "problem": problem})
    return v.render("consultation_leader.html", title=v.t("协商议事待审定", "Consultations awaiting me"),
                    waiting=waiting, word=words(v), place=lambda i: place_name(v, i))


# -- units: their follow-up tasks ---------------------------------------------------------------

@page("/consultations/tasks", roles=("unit",))
def tasks(v: Visit, refused=None) -> Response:
    """The unit's follow-up tasks, most urgent first, each open one with the form reporting it done."""
    chosen = _args(v, ("q",))
    open_only = _ticked(v, "open_only", True)
    found, problem = _listed(v, f"/api/units/{v.actor.organisation}/follow-up-tasks",
                             open_only="true" if open_only else "false", **chosen)
    route = route_of("complete_follow_up_task", PREFIX)
    for t in found["items"]:
        t["late"] = bool(t.get("overdue"))
        t["due_soon"] = not t["late"] and t.get("due_in_days") is not None and t["due_in_days"] <= DUE_SOON_DAYS
        t["form"] = None
        if not t.get("completed_on") and not t.get("completed"):
            again = refused if refused and refused[2].get("task_id") == t["task_id"] else None
            [form] = command_forms(
                v, [route], lambda _r, t=t: f"/consultations/{t['consultation_id']}/tasks/{t['task_id']}"
                f"/do/complete_follow_up_task?" + urlencode({"next": "/consultations/tasks"}),
                words=words(v), refused=again, label=lambda rpc: _command_word(v, rpc))
            _relabel(v, form.rpc, form.inputs)
            form.inputs = [i for i in form.inputs if i.name != "reason"]
            t["form"] = _apart(form, t["task_id"])
    filters = inputs(api.TasksQuery, v.lang, only=("q", "open_only"),
                     values={**chosen, "open_only": "true" if open_only else None})
    for i in filters:
        if i.name in FILTER_LABELS:
            i.label = v.t(*FILTER_LABELS[i.name])
    args = urlencode({**chosen, "open_only.present": "1", **({"open_only": "true"} if open_only else {})})
    return v.render("consultation_tasks.html", status=refused[1].status if refused else 200,
                    title=v.t("协商议事落实任务", "Follow-up tasks of consultations"), found=found,
                    items=found["items"], filters=filters, problem=problem, args=args,
                    unit=v.name(v.actor.organisation))


# -- supervision groups 民主监督组 ----------------------------------------------------------------

def _groups_page(v: Visit, refused: Refused | None = None, typed: dict[str, Any] | None = None,
                 status: int = 200) -> Response:
    chosen = _args(v, ("q", "year", "status"))
    found, problem = _listed(v, "/api/supervision-groups", **chosen)
    v.names([i.get("department") for i in found["items"]] + [i.get("leader") for i in found["items"]])
    for i in found["items"]:
        i["next_word"] = _command_word(v, i["next_step"]) if i.get("next_step") else ""
    filters = inputs(api.SupervisionGroupsQuery, v.lang, only=("q", "year", "status"), words=words(v),
                     values=chosen)
    form = None
    if v.actor.role == "staff":
        members = member_choices(v)
        form = _relabel(v, "form_supervision_group", inputs(
            api.FormSupervisionGroup, v.lang, words=words(v), errors=refused.fields if refused else None,
            values=typed or {"year": today(v).year},
            choices={"leader": members, "members": members, "department": unit_choices(v)}))
        form = [i for i in form if i.name != "reason"]
        for i in form:
            i.id_prefix = "f-form-"   # beside the filters (year)
    return v.render("supervision_groups.html", status=status, title=v.t("民主监督组", "Supervision groups"),
                    found=found, items=found["items"], filters=filters, problem=problem,
                    args=urlencode(chosen), form=form, refusal=refused.message if refused else None,
                    word=words(v))


@page("/supervision-groups", methods=("GET", "POST"), roles=READERS)
def groups(v: Visit) -> Response:
    if v.request.method == "POST":
        if v.actor.role != "staff":
            return v.error(403, v.t("无权操作", "Not allowed"),
                           v.t("只有工作人员可以组建民主监督组。", "Only staff form supervision groups."))
        try:
            receipt = v.submit("/api/supervision-groups", api.FormSupervisionGroup)
        except Refused as refused:
            return _groups_page(v, refused, v.typed(), status=refused.status)
        return v.redirect(f"/supervision-groups/{receipt['group_id']}", flash="done")
    return _groups_page(v)


def _group(v: Visit, group_id: str) -> dict[str, Any]:
    g = v.get(f"/api/supervision-groups/{group_id}")
    people = [g.get("leader"), *g.get("members", []), g.get("department")]
    for a in g.get("activities", []):
        people += a.get("members", [])
    v.names(people)
    now = today(v)
    for o in g.get("opinions", []):
        due = None if o.get("reported_on") else (date.fromisoformat(o["deadline"]) - now).days
        o["due_in_days"] = due
        o["late"] = bool(o.get("overdue")) or (due is not None and due < 0)
        o["due_soon"] = not o["late"] and due is not None and due <= DUE_SOON_DAYS
    return g


def _group_forms(v: Visit, g: dict[str, Any], refused=None) -> tuple[list[Any], dict[str, list[Any]]]:
    """The group's commands as forms, and each opinion's (handling report, verification)."""
    gid = g["group_id"]
    routes = allowed(v, GROUP_PREFIX, g.get("next_commands", []), skip=PER_OPINION)
    people = [(p, v.name(p)) for p in [g.get("leader"), *g.get("members", [])] if p]
    per_opinion = refused if refused and refused[0] in PER_OPINION else None
    made = command_forms(v, routes, lambda route: f"/supervision-groups/{gid}/do/{route.rpc}",
                         words=words(v, "fact_finding_kinds"),
                         choices={"members": people}, refused=None if per_opinion else refused,
                         label=lambda rpc: _command_word(v, rpc))
    for form in made:
        _relabel(v, form.rpc, form.inputs)
        form.inputs = [i for i in form.inputs if not (i.name == "reason" and not i.required)]
        _apart(form)
    by_opinion: dict[str, list[Any]] = {}
    for o in g.get("opinions", []):
        wanted = []
        if o.get("state") == "issued" and "report_supervision_handling" in g.get("next_commands", []):
            wanted.append("report_supervision_handling")
        if o.get("state") == "handled" and "verify_supervision_effect" in g.get("next_commands", []):
            wanted.append("verify_supervision_effect")
        routes = allowed(v, GROUP_PREFIX, wanted)
        again = per_opinion if per_opinion and per_opinion[2].get("opinion_id") == o["opinion_id"] else None
        forms = command_forms(v, routes, lambda route, o=o: f"/supervision-groups/{gid}/opinions/"
                              f"{o['opinion_id']}/do/{route.rpc}", words=words(v), refused=again,
                              label=lambda rpc: _command_word(v, rpc))
        for form in forms:
            _relabel(v, form.rpc, form.inputs)
            form.inputs = [i for i in form.inputs if i.name != "reason"]
            _apart(form, o["opinion_id"])
        by_opinion[o["opinion_id"]] = forms
    return made, by_opinion


def show_group(v: Visit, group_id: str, refused=None, status: int = 200) -> Response:
    try:
        g = _group(v, group_id)
    except Problem as problem:
        if problem.status in (403, 404):
            return v.error(problem.status, v.t("无法查看", "Not available"),
                           v.t("没有这个民主监督组，或您无权查看。", "There is no such group, or you may not read it."))
        raise
    forms, opinion_forms = _group_forms(v, g, refused)
    return v.render("supervision_group.html", status=status, title=g.get("name") or "", g=g, word=words(v),
                    forms=forms, opinion_forms=opinion_forms,
                    history=timeline(v, "feedback", g["stream"]) if g.get("stream") else None)


@page("/supervision-groups/opinions", roles=("unit",))
def department_opinions(v: Visit, refused=None) -> Response:
    """The opinions issued to the visitor's department, most urgent first, each open one with
    the form reporting how it was handled."""
    chosen = _args(v, ("q",))
    open_only = _ticked(v, "open_only", True)
    found, problem = _listed(v, f"/api/units/{v.actor.organisation}/supervision-opinions",
                             open_only="true" if open_only else "false", **chosen)
    route = route_of("report_supervision_handling", GROUP_PREFIX)
    for o in found["items"]:
        o["late"] = bool(o.get("overdue"))
        o["due_soon"] = not o["late"] and o.get("due_in_days") is not None and o["due_in_days"] <= DUE_SOON_DAYS
        o["form"] = None
        if not o.get("handled"):
            again = refused if refused and refused[2].get("opinion_id") == o["opinion_id"] else None
            [form] = command_forms(
                v, [route], lambda _r, o=o: f"/supervision-groups/{o['group_id']}/opinions/{o['opinion_id']}"
                f"/do/report_supervision_handling?" + urlencode({"next": "/supervision-groups/opinions"}),
                words=words(v), refused=again, label=lambda rpc: _command_word(v, rpc))
            _relabel(v, form.rpc, form.inputs)
            form.inputs = [i for i in form.inputs if i.name != "reason"]
            o["form"] = _apart(form, o["opinion_id"])
    filters = inputs(api.DepartmentOpinionsQuery, v.lang, only=("q", "open_only"),
                     values={**chosen, "open_only": "true" if open_only else None})
    for i in filters:
        if i.name == "open_only":
            i.label = v.t("仅待办理", "Not handled yet only")
    args = urlencode({**chosen, "open_only.present": "1", **({"open_only": "true"} if open_only else {})})
    return v.render("supervision_opinions.html", status=refused[1].status if refused else 200,
                    title=v.t("民主监督意见办理", "Supervision opinions to handle"), found=found,
                    items=found["items"], filters=filters, problem=problem, args=args,
                    unit=v.name(v.actor.organisation))


@page("/supervision-groups/<group_id>", roles=INSIDE)
def group_page(v: Visit, group_id: str) -> Response:
    return show_group(v, group_id)


@page("/supervision-groups/<group_id>/do/<rpc>", methods=("POST",), roles=INSIDE)
def group_command(v: Visit, group_id: str, rpc: str) -> Response:
    if rpc in PER_OPINION:
        return v.error(404, v.t("没有这项操作", "No such command"), v.t("请在监督意见旁办理。", "Use the opinion's form."))
    return _run(v, GROUP_PREFIX, rpc, {"group_id": group_id}, f"/supervision-groups/{group_id}",
                lambda refused: show_group(v, group_id, refused, status=refused[1].status))


@page("/supervision-groups/<group_id>/opinions/<opinion_id>/do/<rpc>", methods=("POST",), roles=("staff", "unit"))
def opinion_command(v: Visit, group_id: str, opinion_id: str, rpc: str) -> Response:
    back = v.next_path(f"/supervision-groups/{group_id}")

    def again(refused: tuple[str, Refused, dict[str, Any]]) -> Response:
        kept = (rpc, refused[1], {**refused[2], "opinion_id": opinion_id})
        if back.startswith("/supervision-groups/opinions"):
            return department_opinions(v, kept)
        return show_group(v, group_id, kept, status=refused[1].status)
    return _run(v, GROUP_PREFIX, rpc, {"group_id": group_id, "opinion_id": opinion_id}, back, again,
                only=PER_OPINION)
