"""The proposal committee staff's pages 工作人员: the worklist 工作清单 (filters, search, paging,
the most urgent first) with bulk assignment 批量交办; the year's statistics 统计 as a dashboard
of server-drawn SVG charts, and the year-end report's download; the roster import 名册导入
with every bad cell named; the communities' coverage by members 社区覆盖.

Auditors and leaders read the worklist and the statistics as the API lets them (a leader's
satisfaction figures under disclosure control, the public version of the report).
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any, Iterable
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from xieshang.kernel.clock import SHANGHAI

from ... import api
from ...problems import Problem
from ..app import Visit, nav, page
from ..forms import body_from_form, check, inputs, named_fields, refusal_fields
from ..words import FIELD_LABELS, FLASH
from .casework import unit_choices

STAFF = ("staff",)
READERS = ("staff", "auditor", "leader")            # the worklist's and the statistics' (api.READERS)
COVERAGE_READERS = ("staff", "auditor", "leader", "member")   # api.COMMITTEE, people only
PAGE_SIZE = 50
MAX_BATCH = 50                                       # cases assigned in one go (their ids ride the URL)
MAX_UPLOAD = 740_000                                 # bytes: base64 stays under api.MAX_ROSTER_BASE64
FILTERS = ("q", "status", "category", "unit", "year", "overdue", "key", "order")
_ROW = re.compile(r"row (\d+), (.+)")

FIELD_LABELS.setdefault("order", ("排序", "Order"))
FIELD_LABELS.setdefault("proposal_ids", ("要交办的提案", "Cases to assign"))
FIELD_LABELS.setdefault("file", ("名册文件", "Roster file"))
FIELD_LABELS.setdefault("header", ("表头", "Header row"))
FLASH.setdefault("assigned", ("所选提案已交办。", "The chosen cases were assigned."))
FLASH.setdefault("roster", ("名册已导入。", "The roster was imported."))

nav(STAFF, "/worklist", "工作清单", "Worklist")
nav(STAFF, "/statistics", "统计", "Statistics")
nav(STAFF, "/roster", "名册导入", "Roster import")
nav(STAFF, "/coverage", "社区覆盖", "Coverage")
nav(("auditor", "leader"), "/worklist", "工作清单", "Worklist")
nav(("auditor", "leader"), "/statistics", "统计", "Statistics")


def _this_year() -> int:
    return datetime.now(SHANGHAI).year


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _message(v: Visit, problem: Problem) -> str:
    return problem.detail_zh if v.lang == "zh" else problem.detail


# -- the worklist ------------------------------------------------------------------------------

def _filters(v: Visit) -> dict[str, str]:
    """The filters asked for (the page's own defaults: the most urgent first)."""
    found = {k: v.request.args.get(k, "").strip() for k in FILTERS}
    found = {k: value for k, value in found.items() if value}
    found.setdefault("order", "urgent")
    return found


def _filter_inputs(v: Visit, values: dict[str, str], errors: dict[str, str], units) -> list:
    def word(field: str, code: str) -> str:
        if field == "status":
            return v.word("proposals", "states", code)
        if field == "category":
            return v.word("proposals", "categories", code)
        return code
    found = inputs(api.WorklistQuery, v.lang, values=values, errors=errors, words=word,
                   choices={"unit": units}, only=("q", "status", "category", "unit", "year"))
    for i in found:
        if i.name == "q":
            i.widget, i.hint = "search", v.t("标题或案号", "title or case number")
        i.choices = [(c, v.t("全部", "Any") if c == "" else label) for c, label in i.choices]
    order = inputs(api.WorklistQuery, v.lang, values=values, only=("order",))[0]
    order.choices = [("urgent", v.t("紧急优先（逾期、临近期限在前）", "Most urgent first (overdue, then by deadline)")),
                     ("latest", v.t("最近办理在前", "Latest activity first"))]
    order.error = errors.get("order")
    return [*found, order]


def _case_brief(v: Visit, proposal_id: str) -> dict[str, Any] | None:
    try:
        case = v.get(f"/api/proposals/{proposal_id}")
    except Problem:
        return None
    current = case["rounds"][-1] if case.get("rounds") else {}
    return {"proposal_id": proposal_id, "case_number": case.get("case_number"), "title": case["title"],
            "status": case["status"], "lead_unit": current.get("lead_unit"), "deadline": current.get("deadline")}


def _worklist(v: Visit, *, refusal: str | None = None, errors: dict[str, str] | None = None,
              typed: dict[str, Any] | None = None, results: list[dict[str, Any]] | None = None,
              picked: Iterable[str] = (), wait_for: int | None = None, status: int = 200) -> Response:
    filters = _filters(v)
    cursor = v.query("cursor")
    filter_error, filter_errors = None, {}
    try:
        found = v.get("/api/worklist", **filters, cursor=cursor, limit=PAGE_SIZE,
                      wait_for=wait_for or v.query("wait_for"))
    except Problem as problem:
        if problem.status != 422:
            raise
        filter_error, filter_errors = _message(v, problem), refusal_fields(problem.extra.get("invalid_params"))
        found = {"items": [], "total": 0, "next_cursor": None, "warnings": []}
    rows = found["items"]
    units = unit_choices(v)
    v.names([r.get("lead_unit") for r in rows] + [r.get("lead_unit") for r in results or ()])
    can_assign = v.actor.role == "staff"
    assignable = [r for r in rows if r["status"] == "filed"] if can_assign else []
    assign_inputs = inputs(api.Assign, v.lang, values=typed, errors=errors, skip=("reason",),
                           choices={"lead_unit": units, "co_units": units}) if can_assign else []
    args = urlencode({k: value for k, value in filters.items()})
    return v.render("staff_worklist.html", status=status, title=v.t("工作清单", "Worklist"), rows=rows,
                    total=found["total"], next_cursor=found.get("next_cursor"), warnings=found.get("warnings", []),
                    filters=_filter_inputs(v, filters, filter_errors, units), filter_error=filter_error,
                    checked={k: filters.get(k) == "true" for k in ("overdue", "key")},
                    args=args, can_assign=can_assign, assignable=assignable, assign_inputs=assign_inputs,
                    refusal=refusal, pick_error=(errors or {}).get("proposal_ids"), picked=set(picked),
                    results=results, paged=bool(cursor))


@page("/worklist", roles=READERS)
def worklist(v: Visit) -> Response:
    """The worklist: filters, search and paging, overdue and due-soon first; for staff the
    filed cases of the page can be assigned together (and the cases just assigned listed)."""
    results = None
    done = [i for i in (v.query("assigned") or "").split(",") if i][:MAX_BATCH]
    if done:
        results = [dict(brief, ok=True) for brief in (_case_brief(v, i) for i in done) if brief]
    return _worklist(v, results=results)


_ASSIGN_REASONS_ZH = (  # the proposals domain's reasons for an assignment's deadline, in Chinese
    (re.compile(r"must be after today \((.+)\)"), r"须晚于今天（\1）"),
    (re.compile(r"must be within (\d+) days"), r"须在 \1 天以内"),
    (re.compile(r"an ISO date, e\.g\. (.+)"), r"请填写有效日期，如 \1"),
)


def _in_words(v: Visit, text: str, reasons=_ASSIGN_REASONS_ZH) -> str:
    """A service's reason for a field in the visitor's words, where the console knows them."""
    if v.lang != "zh":
        return text
    for pattern, zh in reasons:
        if pattern.fullmatch(text):
            return pattern.sub(zh, text)
    return text


@page("/worklist/assign", methods=("POST",), roles=STAFF)
def assign(v: Visit) -> Response:
    """Bulk assignment 批量交办: the one assignment form for each chosen filed case, through the
    case's assignment route; every case says what became of it. All assigned: back to the
    worklist (303) with the cases listed; else the page again with each refusal, what was
    typed kept (the refused cases still ticked)."""
    chosen = list(dict.fromkeys(i for i in v.request.form.getlist("proposal_ids") if i))
    body = body_from_form(api.Assign, v.request.form, v.request.form.getlist)
    body.pop("reason", None)
    errors = check(api.Assign, body, v.lang)
    if not chosen:
        errors["proposal_ids"] = v.t("请在清单中勾选至少一件已立案的提案", "tick at least one filed case in the list")
    elif len(chosen) > MAX_BATCH:
        errors["proposal_ids"] = v.t(f"一次最多交办 {MAX_BATCH} 件", f"at most {MAX_BATCH} at a time")
    if errors:
        return _worklist(v, refusal=v.t(f"请检查：{named_fields(errors, 'zh')}。未交办任何提案。",
                                        f"Check: {named_fields(errors, 'en')}. Nothing was assigned."),
                         errors=errors, typed=v.typed(), picked=chosen, status=422)
    results, last = [], 0
    for proposal_id in chosen:
        try:
            receipt = v.post(f"/api/proposals/{proposal_id}/assignment", body)
        except Problem as problem:
            if problem.status == 401:
                raise
            fields = {name: _in_words(v, reason)
                      for name, reason in refusal_fields(problem.extra.get("invalid_params")).items()}
            brief = _case_brief(v, proposal_id) or {"proposal_id": proposal_id,
                                                    "title": v.t("（没有这件提案）", "(no such case)")}
            results.append({**brief, "ok": False, "message": _message(v, problem), "fields": fields,
                            "status_code": problem.status})
            continue
        last = max(last, int(receipt.get("position") or 0))
        results.append({"proposal_id": proposal_id, "ok": True})
    if all(r["ok"] for r in results):
        query = {**{k: value for k, value in _filters(v).items()}, "assigned": ",".join(chosen)}
        if last:
            query["wait_for"] = str(last)
        return v.redirect("/worklist?" + urlencode(query), flash="assigned")
    for r in results:
        if r["ok"]:
            r.update(_case_brief(v, r["proposal_id"]) or {}, ok=True)
    refused = [r for r in results if not r["ok"]]
    fields: dict[str, str] = {}
    for r in refused:
        for name, reason in r["fields"].items():
            fields.setdefault(name, reason)
    done = len(results) - len(refused)
    named = named_fields(fields, v.lang) if fields else ""
    message = v.t(f"{done} 件已交办，{len(refused)} 件未交办" + (f"，请检查：{named}" if named else "") + "。各件情况见“交办结果”。",
                  f"{done} assigned, {len(refused)} not" + (f"; check: {named}" if named else "") + ". See the results.")
    statuses = {r["status_code"] for r in refused}
    return _worklist(v, refusal=message, errors=fields, typed=v.typed(), results=results,
                     picked=[r["proposal_id"] for r in refused], wait_for=last or None,
                     status=statuses.pop() if len(statuses) == 1 else 422)


# -- the statistics dashboard --------------------------------------------------------------------

def bar_chart(chart_id: str, title: str, bars: list[tuple[str, float | None, str]], *,
              scale: float | None = None, empty: str = "") -> Markup:
    """A horizontal bar chart as inline SVG (no script): ``bars`` (label, value or None, the
    value as text); ``scale`` the value of a full bar (default: the largest). Its title and a
    description listing every bar make it readable without seeing it (role=img)."""
    width, left, right, row, top, size = 480, 158, 74, 30, 8, 15
    span = width - left - right
    height = top * 2 + row * max(len(bars), 1)
    biggest = scale or max([b[1] or 0 for b in bars] + [0]) or 1
    described = "；".join(f"{label}：{text}" for label, _, text in bars) or empty
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" focusable="false">',
             f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(described)}</desc>',
             f'<line x1="{left}" y1="{top - 4}" x2="{left}" y2="{height - top + 4}" stroke="#6e7781" stroke-width="1"/>']
    if not bars:
        parts.append(f'<text x="{left + 8}" y="{top + 20}" font-size="{size}" fill="#4d5560">{escape(empty)}</text>')
    for n, (label, value, text) in enumerate(bars):
        y = top + n * row
        shown = label if len(label) <= 9 else label[:8] + "…"
        parts.append(f'<text x="{left - 8}" y="{y + 20}" font-size="{size}" text-anchor="end" fill="#1f2328">'
                     f'{escape(shown)}</text>')
        length = 0 if value is None else max(2.0, span * min(value / biggest, 1.0)) if value else 0
        if length:
            parts.append(f'<rect x="{left}" y="{y + 6}" width="{length:.1f}" height="{row - 12}" fill="#a61b1b" rx="2"/>')
        parts.append(f'<text x="{left + length + 6:.1f}" y="{y + 20}" font-size="{size}" fill="#1f2328">'
                     f'{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _withheld(v: Visit, figures: dict[str, Any], *, short: bool = False) -> str | None:
    """Why a satisfaction figure is not shown (disclosure control), None if it is."""
    why = figures.get("withheld")
    if not why:
        return None
    if short:
        return v.t("不公开", "not shown")
    return v.t(why.get("reason") or "不公开", why.get("reason_en") or "not shown")


def _charts(v: Visit, stats: dict[str, Any]) -> list[dict[str, Any]]:
    def count(n: int) -> str:
        return v.t(f"{n} 件", str(n))

    units = stats.get("units", {})
    names = v.names(units)
    by_name = sorted(units.items(), key=lambda u: (names.get(u[0]) or u[0]))
    charts = [
        {"id": "by-status", "title": v.t("提案按状态", "Proposals by state"),
         "bars": [(v.word("proposals", "states", s), n, count(n)) for s, n in stats["by_status"].items()]},
        {"id": "by-category", "title": v.t("立案提案按类别", "Filed cases by category"),
         "bars": [(v.word("proposals", "categories", c), n, count(n)) for c, n in stats["by_category"].items()]},
        {"id": "classes", "title": v.t("答复类别（按最后一次答复）", "Reply classes (latest reply)"),
         "bars": [(v.t(f"{k}类", f"class {k}"), n, count(n)) for k, n in stats["reply_classes"]["counts"].items()]},
        {"id": "on-time", "title": v.t("各承办单位首轮按时答复率", "First-round on-time reply rate by unit"),
         "scale": 1.0, "bars": [(v.name(u), f["on_time_rate"],
                                 _pct(f["on_time_rate"]) if f["on_time_rate"] is not None
                                 else v.t("无答复", "no reply")) for u, f in by_name]},
        {"id": "satisfaction", "title": v.t("各承办单位满意率", "Satisfaction rate by unit"),
         "scale": 1.0, "bars": [(v.name(u), f.get("satisfaction_rate"),
                                 _withheld(v, f, short=True) or (_pct(f["satisfaction_rate"]) if f.get("satisfaction_rate")
                                                     is not None else v.t("无测评", "no rating")))
                                for u, f in by_name]},
    ]
    for c in charts:
        c["svg"] = bar_chart(c["id"], c["title"], c["bars"], scale=c.get("scale"),
                             empty=v.t("本年度暂无数据", "nothing this year"))
    return charts


@page("/statistics", roles=READERS)
def statistics(v: Visit) -> Response:
    """The year's statistics as a dashboard: the main figures, charts (SVG, drawn here), the
    units' table, the year-end report's download; a year chooser."""
    this_year = _this_year()
    raw = v.query("year")
    try:
        year = int(raw) if raw else this_year
    except ValueError:
        year = -1
    if not 2000 <= year <= 2100:
        return v.error(422, v.t("年度有误", "Invalid year"), v.t("请选择 2000 至 2100 之间的年度。",
                                                               "Choose a year from 2000 to 2100."))
    stats = v.get(f"/api/statistics/{year}")
    units = stats.get("units", {})
    names = v.names(units)
    unit_rows = [dict(f, unit=u, name=names.get(u) or v.name(u), withheld_text=_withheld(v, f))
                 for u, f in sorted(units.items(), key=lambda u: (names.get(u[0]) or u[0]))]
    satisfaction = stats["satisfaction"]
    years = sorted({*range(this_year, max(2000, this_year - 6), -1), year}, reverse=True)
    return v.render("staff_statistics.html", title=v.t(f"{year} 年度统计", f"Statistics {year}"), year=year,
                    years=years, stats=stats, charts=_charts(v, stats), unit_rows=unit_rows,
                    reply_rate=(satisfaction.get("reply") or {}).get("rate"),
                    attitude_rate=(satisfaction.get("attitude") or {}).get("rate"),
                    satisfaction_withheld=_withheld(v, satisfaction), pct=_pct,
                    controlled="disclosure" in stats, public_only=v.actor.role == "leader")


@page("/statistics/<int:year>/report.xlsx", roles=READERS)
def year_report(v: Visit, year: int) -> Response:
    """The year-end report's workbook (the API's, as the CLI writes it), as a download."""
    found = v.get(f"/api/statistics/{year}/report", public=v.query("public"))
    content = base64.b64decode(found["content_base64"])
    name = found["file_name"]
    return Response(content, content_type=found["media_type"], headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff"})


# -- the roster import ----------------------------------------------------------------------------

_REASONS_ZH = (  # the members service's reasons for a bad cell (services/members/roster.py), in Chinese
    (re.compile(r"required, 1 to (\d+) characters"), r"必填，1 至 \1 个字"),
    (re.compile(r"the same member as row (\d+).*"), r"与第 \1 行是同一位委员（姓名、界别、届次相同；可加“编号”列区分）"),
    (re.compile(r"unknown 职务 '(.+?)'.*"), r"无法识别的职务“\1”"),
    (re.compile(r"unknown 层级 '(.+?)'.*"), r"无法识别的层级“\1”（可填：全国、省、自治区、市、县、区）"),
    (re.compile(r"communities are looked after from a station.*"), r"填写联系社区时须同时填写工作站"),
    (re.compile(r"missing column\(s\) (.+)"), r"缺少列：\1"),
    (re.compile(r"no header row with (.+) in the first 10 rows"), r"前 10 行中没有含“\1”的表头"),
)


def _reason(v: Visit, text: str) -> str:
    return _in_words(v, text, _REASONS_ZH)


def roster_problems(v: Visit, fields: dict[str, str]) -> list[dict[str, Any]]:
    """A refused roster's problems as rows of a table: (row number or None, column, problem)."""
    rows = []
    for where, what in fields.items():
        found = _ROW.fullmatch(where)
        if found:
            rows.append({"row": int(found.group(1)), "field": found.group(2), "problem": _reason(v, what)})
        else:
            rows.append({"row": None, "field": FIELD_LABELS.get(where, (where, where))[0 if v.lang == "zh" else 1],
                         "problem": _reason(v, what)})
    return sorted(rows, key=lambda r: (r["row"] or 0, r["field"]))


def _roster_page(v: Visit, *, refusal: str | None = None, problems: list | None = None, file_name: str = "",
                 errors: dict[str, str] | None = None, result: dict[str, Any] | None = None,
                 status: int = 200) -> Response:
    return v.render("staff_roster.html", status=status, title=v.t("名册导入", "Roster import"), refusal=refusal,
                    problems=problems or [], file_name=file_name, errors=errors or {}, result=result,
                    max_kb=MAX_UPLOAD // 1000)


def _people(v: Visit, ids: list[str], position: str | None) -> list[str]:
    names = []
    for member_id in ids[:MAX_BATCH]:
        try:
            names.append(v.get(f"/api/members/{member_id}", wait_for=position)["name"])
        except (Problem, KeyError, TypeError):
            names.append(v.name(member_id))
    return names


@page("/roster", methods=("GET", "POST"), roles=STAFF)
def roster(v: Visit) -> Response:
    """Upload a roster (CSV or XLSX) and import it: all rows or none; a refusal names each
    bad cell (row, column, what it must be) in a table."""
    if v.request.method == "GET":
        result = None
        if v.query("rows"):
            appointed = [i for i in (v.query("appointed") or "").split(",") if i]
            changed = [i for i in (v.query("changed") or "").split(",") if i]
            result = {"rows": v.query("rows"), "unchanged": v.query("unchanged") or "0",
                      "appointed": _people(v, appointed, v.query("wait_for")), "n_appointed": v.query("n_appointed"),
                      "changed": _people(v, changed, v.query("wait_for")), "n_changed": v.query("n_changed")}
        return _roster_page(v, result=result)
    if (v.request.content_length or 0) > MAX_UPLOAD + 20_000:
        return _roster_page(v, refusal=v.t(f"文件过大：名册文件最大 {MAX_UPLOAD // 1000} KB。未导入任何内容。",
                                           f"The file is too large: at most {MAX_UPLOAD // 1000} KB. Nothing was imported."),
                            errors={"file": v.t("文件过大", "too large")}, status=413)
    upload = v.request.files.get("file")
    content = upload.read(MAX_UPLOAD + 1) if upload else b""
    file_name = (upload.filename or "").strip() if upload else ""
    if not upload or not file_name or not content:
        return _roster_page(v, refusal=v.t("请选择名册文件（CSV 或 XLSX）。未导入任何内容。",
                                           "Choose a roster file (CSV or XLSX). Nothing was imported."),
                            errors={"file": v.t("必填", "required")}, file_name=file_name, status=422)
    if len(content) > MAX_UPLOAD:
        return _roster_page(v, refusal=v.t(f"文件过大：名册文件最大 {MAX_UPLOAD // 1000} KB。未导入任何内容。",
                                           f"The file is too large: at most {MAX_UPLOAD // 1000} KB. Nothing was imported."),
                            errors={"file": v.t("文件过大", "too large")}, file_name=file_name, status=413)
    try:
        done = v.post("/api/rosters", {"file_name": file_name[-200:],
                                       "content_base64": base64.b64encode(content).decode("ascii")})
    except Problem as problem:
        if problem.status == 401:
            raise
        fields = refusal_fields(problem.extra.get("invalid_params"))
        problems = roster_problems(v, fields)
        cells = sum(1 for p in problems if p["row"] is not None)
        message = (v.t(f"名册有 {len(problems)} 处问题，未导入任何内容。请修改后重新上传。",
                       f"The roster has {len(problems)} problem(s); nothing was imported. Correct them and "
                       "upload it again.") if cells else _message(v, problem))
        return _roster_page(v, refusal=message, problems=problems, file_name=file_name,
                            status=problem.status)
    query = {"rows": done.get("rows", 0), "unchanged": done.get("unchanged", 0),
             "n_appointed": len(done.get("appointed", [])), "n_changed": len(done.get("changed", [])),
             "appointed": ",".join(done.get("appointed", [])[:MAX_BATCH]),
             "changed": ",".join(done.get("changed", [])[:MAX_BATCH]), "wait_for": done.get("position") or ""}
    return v.redirect("/roster?" + urlencode({k: value for k, value in query.items() if value != ""}), flash="roster")


# -- coverage -------------------------------------------------------------------------------------

@page("/coverage", roles=COVERAGE_READERS)
def coverage(v: Visit) -> Response:
    """Every community with the members who look after it; the uncovered ones first marked."""
    township = v.query("township")
    townships = v.get("/api/organisations", kind="township", limit=500)["items"]
    found = v.get("/api/coverage", township=township)
    stations = {o["org_id"]: o["name"] for o in v.get("/api/organisations", kind="station", limit=500)["items"]}
    rows = [dict(c, station_names=[stations.get(s) or v.name(s) for s in c.get("stations", [])])
            for c in found["communities"]]
    uncovered_only = v.query("uncovered") == "true"
    if uncovered_only:
        rows = [r for r in rows if not r["covered"]]
    return v.render("staff_coverage.html", title=v.t("社区覆盖", "Coverage of communities"), rows=rows,
                    total=found["total"], covered=found["covered"], uncovered=len(found["uncovered"]),
                    townships=[(t["org_id"], t["name"]) for t in townships], township=township or "",
                    uncovered_only=uncovered_only)


__all__ = ["bar_chart", "roster_problems"]
