"""The year report of opinion reports 社情民意信息年度统计: the year's statistics and the table of
the year's reports, as CSV and one XLSX workbook.

CSV files are UTF-8 with a byte order mark, which Excel in China needs to read them as UTF-8.
Headers are "中文 english_key", so that people read them and programs can split them. Like the
proposals report's internal version it names people by id only: the submitter of a report, or
the contributors of a combined one (no names, no contact details, no texts of the reports).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

import sqlalchemy as sa

from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.projection import find_projection
from xieshang.kernel.tables import figure_rows, write_csv, write_xlsx

from .domain.vocabulary import CHECKS, ROLE_LABELS
from .views import OpinionReports, statistics

Row = dict[str, Any]

STATISTICS_COLUMNS = (("section", "分项"), ("item", "指标"), ("label", "名称"), ("value", "数值"))
REPORT_COLUMNS = (
    ("report_id", "编号"), ("kind", "来源"), ("title", "标题"), ("status", "状态"),
    ("channel", "渠道"), ("category", "类别"), ("submitters", "报送人"),
    ("submitter_role", "报送人身份"), ("submitted_on", "报送日期"),
    ("origin_committee", "下级政协"), ("origin_report_id", "下级信息编号"),
    ("sources", "综合篇数"), ("combined_into", "已综合入"), ("pending_checks", "未过关口"),
    ("decided_on", "采用处理日期"), ("reported_party_committee", "报送党委"),
    ("reported_government", "报送政府"), ("reported_upper", "报送上级政协"),
    ("decided_above", "上级政协处理"), ("units", "转交单位"), ("feedback", "书面反馈数"),
    ("instructions", "领导批示数"), ("informed", "已通报报送人"),
)

CHANNEL_LABELS = {"leader": "领导点", "committee": "专委会搜", "member": "委员提",
                  "activity": "活动找", "proposal": "提案转", "meeting": "会议集"}
KIND_LABELS = {"own": "收集", "combined": "综合", "from_below": "下级报送"}
DECISION_LABELS = {"adopted": "采用", "not_adopted": "不予采用", "reported": "继续报送",
                   "forwarded": "转交", "instructed": "领导批示", "fed_back": "反馈"}
OFFICE_LABELS = {"party_committee": "党委", "government": "政府", "committee": "政协"}
SECTION_LABELS = {
    "overall": "总体", "by_channel": "按渠道", "by_submitter_kind": "按报送人身份",
    "received_from_below": "接收下级政协报送", "combined": "综合", "reported": "报送",
    "upper_outcomes": "上级政协处理情况", "forwarded": "转交", "fed_back": "书面反馈",
    "on_time": "按时反馈", "instructed_by_office": "领导批示（按所在机关）",
}
ITEM_LABELS = {
    "year": "年度", "collected": "收集篇数", "adopted": "采用篇数", "not_adopted": "不予采用篇数",
    "instructed": "获领导批示篇数", "instructions": "领导批示件次", "informed": "已通报篇数",
    "summary": "综述", "total": "合计", "by_committee": "按下级政协", "sources": "被综合篇数",
    "party_committee": "党委", "government": "政府", "upper": "上级政协",
    "assignments": "件次（按单位）", "rate": "按时反馈率",
    **CHANNEL_LABELS, **{k: v[1] for k, v in ROLE_LABELS.items() if k in ("member", "informant")},
}


def write_year_report(conn: sa.Connection, projections: Sequence[Any] | Any, year: int,
                      out_dir: str | Path, *, names: Mapping[str, str] | None = None) -> list[Path]:
    """Write the report of ``year`` into ``out_dir`` (created if need be) and return the paths:
    ``opinion-reports-<year>-statistics.csv``, ``opinion-reports-<year>-reports.csv`` and
    ``opinion-reports-<year>.xlsx`` (sheets statistics and reports).

    ``projections``: the service's projections as set up by its runner (the runner's list, the
    runner itself or a service's ``Views``). ``names``: upper committees' names by code, for
    the summary sentence (else their codes)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stat_rows = statistics_rows(statistics(conn, projections, year, names=names))
    reports = report_rows(conn, projections, year)
    paths = [out / f"opinion-reports-{year}-statistics.csv",
             out / f"opinion-reports-{year}-reports.csv", out / f"opinion-reports-{year}.xlsx"]
    write_csv(paths[0], STATISTICS_COLUMNS, stat_rows)
    write_csv(paths[1], REPORT_COLUMNS, reports)
    write_xlsx(paths[2], [("statistics", STATISTICS_COLUMNS, stat_rows),
                          ("reports", REPORT_COLUMNS, reports)],
               is_rate=_is_rate, wide=("title", "value", "label"))
    return paths


def statistics_rows(stats: Mapping[str, Any]) -> list[Row]:
    """The statistics flattened: one row per figure, ``section`` the top-level key and ``item``
    the path below it joined with dots (e.g. reported / upper.640000); the top-level figures
    (year, collected, adopted …, the summary) in section "overall"; ``label`` the figure's name
    in Chinese (codes of committees and units as they are)."""
    return figure_rows(stats, _label)


def _label(section: str, path: tuple[str, ...]) -> str:
    if section == "overall":
        return "信息总篇数" if path == ("reports",) else ITEM_LABELS.get(path[0], path[0])
    words = [SECTION_LABELS.get(section, section)]
    labels = (DECISION_LABELS if section == "upper_outcomes" else
              OFFICE_LABELS if section == "instructed_by_office" else ITEM_LABELS)
    for part in path:
        words.append("篇数" if part == "reports" else labels.get(part, part))
    return "·".join(words)


def report_rows(conn: sa.Connection, projections: Sequence[Any] | Any, year: int) -> list[Row]:
    """The table of the year's reports (every kind), in the order they came in. ``submitters``:
    the submitter's id, or a combined report's contributors' ids; dates are the committee's
    (Beijing) dates; ``decided_above`` as "code:decision,decision;code:…"."""
    p = find_projection(projections, OpinionReports)
    r, m = p.reports, p.people
    found = conn.execute(sa.select(r).where(r.c.year == year)
                         .order_by(r.c.submitted_position, r.c.report_id)).mappings().all()
    people: dict[str, list[str]] = {}
    for rid, person in conn.execute(
            sa.select(m.c.report_id, m.c.person)
            .join(r, r.c.report_id == m.c.report_id).where(r.c.year == year)
            .order_by(m.c.report_id, m.c.relation.desc(), m.c.person)):
        people.setdefault(rid, []).append(person)
    rows = []
    for x in found:
        pending = [c for c in CHECKS if x[f"check_{c}"] is not True]
        rows.append({
            **{k: x[k] for k in ("report_id", "kind", "title", "status", "channel", "category",
                                 "submitter_role", "origin_committee", "origin_report_id",
                                 "sources", "combined_into", "reported_party_committee",
                                 "reported_government", "feedback", "instructions", "informed")},
            "submitters": people.get(x["report_id"], []),
            "submitted_on": _local_date(x["submitted_at"]),
            "pending_checks": pending if x["status"] in ("submitted", "returned") else [],
            "decided_on": _local_date(x["decided_at"]),
            "reported_upper": list(x["reported_upper"] or ()),
            "decided_above": ";".join(f"{code}:{','.join(decisions)}"
                                      for code, decisions in (x["decided_above"] or {}).items()),
            "units": list(x["units"] or ()),
        })
    return rows


def _local_date(timestamp: str | None) -> str | None:
    return datetime.fromisoformat(timestamp).astimezone(SHANGHAI).date().isoformat() if timestamp else None


def _is_rate(key: str, row: Row) -> bool:
    return key == "value" and str(row.get("item", "")).endswith("rate")


__all__ = ["write_year_report", "statistics_rows", "report_rows", "STATISTICS_COLUMNS",
           "REPORT_COLUMNS"]
