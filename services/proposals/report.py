"""The year-end report of the proposals 两公开一公示一通报: the year's statistics, the per-case
handling table and the units' results, as CSV, one XLSX workbook and two PNG charts.

CSV and XLSX as every report writes them (xieshang.kernel.tables: UTF-8 with a byte order mark
for Excel in China, headers "中文 english_key").
The public report (``public=True``) leaves out the proposers' ids and shows the satisfaction
figures as the API shows them to leaders (``views.disclose_statistics``: none over fewer than
3 ratings, nor one that would let a withheld figure be worked out); neither version shows a
rating of a single case (ratings are confidential: only rates per unit and overall appear).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Sequence

import sqlalchemy as sa

from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.projection import Projection, find_projection
from xieshang.kernel.tables import figure_rows, write_csv, write_xlsx

from .domain import REPLY_CLASSES
from .views import (ProposerCases, Statistics, Worklist, disclose_statistics,
                    proposers_by_case, statistics)

Row = dict[str, Any]

STATISTICS_COLUMNS = (("section", "分项"), ("item", "指标"), ("value", "数值"))
CASE_COLUMNS = (
    ("case_number", "案号"), ("title", "题目"), ("category", "类别"), ("kind", "类型"),
    ("status", "状态"), ("lead_unit", "主办单位"), ("co_units", "会办单位"), ("key", "重点提案"),
    ("rounds", "办理轮次"), ("reply_class", "答复类别"), ("first_round_on_time", "首轮按时答复"),
    ("last_replied_on", "最后答复日期"), ("closed_on", "办结日期"), ("published", "已公开"),
)
PROPOSERS_COLUMN = ("proposers", "提案人")
UNIT_COLUMNS = (
    ("unit", "承办单位"), ("assigned", "主办件数"), ("co_assigned", "会办件数"),
    ("replies", "答复次数"), ("replied", "已答复件数"), ("first_round_replies", "首轮答复件数"),
    ("first_round_on_time", "首轮按时答复件数"), ("on_time_rate", "按时答复率"),
    ("ratings", "测评数"), ("satisfaction_rate", "满意率"),
    ("attitude_satisfaction_rate", "办理态度满意率"),
    *((f"reply_class_{k}", f"{k}类") for k in REPLY_CLASSES),
    ("withheld", "不公开说明"),
)
# Families that render Chinese, most common on Linux servers first.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN", "SimHei",
                "Microsoft YaHei", "PingFang SC")


def write_year_report(conn: sa.Connection, projections: Sequence[Projection] | Any, year: int,
                      out_dir: str | Path, *, public: bool = False) -> list[Path]:
    """Write the report of ``year`` into ``out_dir`` (created if need be) and return the paths:
    ``proposals-<year>-statistics.csv``, ``proposals-<year>-cases.csv``,
    ``proposals-<year>.xlsx`` (sheets statistics, cases, units) and two charts,
    ``proposals-<year>-on-time-by-unit.png`` and ``proposals-<year>-satisfaction-by-unit.png``.

    ``projections``: the service's projections as set up by its runner (the runner's list, the
    runner itself or a service's ``Views``).
    ``public``: leave out the proposers' ids (the internal report lists them per case) and
    withhold the satisfaction figures of too few ratings (``disclose_statistics``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sheets = report_sheets(conn, projections, year, public=public)
    (_, _, stat_rows), (_, case_columns, cases), (_, _, units) = sheets

    paths = [out / f"proposals-{year}-statistics.csv", out / f"proposals-{year}-cases.csv",
             out / f"proposals-{year}.xlsx", out / f"proposals-{year}-on-time-by-unit.png",
             out / f"proposals-{year}-satisfaction-by-unit.png"]
    write_csv(paths[0], STATISTICS_COLUMNS, stat_rows)
    write_csv(paths[1], case_columns, cases)
    write_xlsx(paths[2], sheets, is_rate=_is_rate)
    _bar_chart(paths[3], {u["unit"]: u["on_time_rate"] for u in units},
               f"On-time reply rate by unit, {year} (first-round replies)", "按时答复率")
    _bar_chart(paths[4], {u["unit"]: u["satisfaction_rate"] for u in units},
               f"Satisfaction rate by unit, {year} (satisfied + basically satisfied)", "满意率",
               withheld=[u["unit"] for u in units if u.get("withheld")])
    return paths


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_sheets(conn: sa.Connection, projections: Sequence[Projection] | Any, year: int, *,
                  public: bool = False) -> list[tuple[str, Sequence[tuple[str, str]], list[Row]]]:
    """The workbook's sheets (title, columns, rows): statistics, cases, units."""
    stats = statistics(conn, projections, year)
    if public:
        stats = disclose_statistics(stats)
    case_columns = CASE_COLUMNS if public else (*CASE_COLUMNS, PROPOSERS_COLUMN)
    return [("statistics", STATISTICS_COLUMNS, statistics_rows(stats)),
            ("cases", case_columns, case_rows(conn, projections, year, public=public)),
            ("units", UNIT_COLUMNS, unit_rows(stats))]


def xlsx_name(year: int, *, public: bool = False) -> str:
    """The workbook's file name: the one write_year_report gives it (-public for the other)."""
    return f"proposals-{year}{'-public' if public else ''}.xlsx"


def year_report_xlsx(conn: sa.Connection, projections: Sequence[Projection] | Any, year: int, *,
                     public: bool = False) -> bytes:
    """The bytes of the workbook write_year_report writes (proposals-<year>.xlsx), for a
    download: the same sheets, the same cells."""
    with tempfile.TemporaryDirectory(prefix="xieshang-report-") as folder:
        path = Path(folder) / xlsx_name(year, public=public)
        write_xlsx(path, report_sheets(conn, projections, year, public=public), is_rate=_is_rate)
        return path.read_bytes()


def statistics_rows(stats: Row) -> list[Row]:
    """The statistics flattened: one row per figure, ``section`` the top-level key and ``item``
    the path below it joined with dots (e.g. units / mzj.on_time_rate); the top-level figures
    (year, proposals, filed) in section "overall"."""
    return figure_rows(stats)


def case_rows(conn: sa.Connection, projections: Sequence[Projection] | Any, year: int, *,
              public: bool = False) -> list[Row]:
    """The handling table: one row per case filed among the year's proposals, by case number.
    ``reply_class`` is that of the latest reply, ``first_round_on_time`` None until replied;
    dates are the committee's (Beijing) dates."""
    w = find_projection(projections, Worklist).cases.c
    s = find_projection(projections, Statistics).replies
    cases = conn.execute(sa.select(w.proposal_id, w.case_number, w.title, w.category, w.kind,
                                   w.status, w.lead_unit, w.co_units, w.key, w.round, w.closed_at,
                                   w.published)
                         .where(w.year == year, w.case_number.is_not(None))
                         .order_by(w.case_number)).mappings().all()
    ids = [c["proposal_id"] for c in cases]
    replies: dict[str, list[Row]] = {}
    for r in conn.execute(sa.select(s).where(s.c.proposal_id.in_(ids)).order_by(s.c.round)).mappings():
        replies.setdefault(r["proposal_id"], []).append(dict(r))
    proposers = {} if public else proposers_by_case(
        conn, find_projection(projections, ProposerCases), ids)
    rows = []
    for c in cases:
        mine = replies.get(c["proposal_id"], [])
        row = {
            **{k: c[k] for k in ("case_number", "title", "category", "kind", "status", "lead_unit",
                                 "key", "published")},
            "closed_on": _local_date(c["closed_at"]),
            "co_units": list(c["co_units"] or ()), "rounds": c["round"],
            "reply_class": mine[-1]["reply_class"] if mine else None,
            "first_round_on_time": next((r["on_time"] for r in mine if r["round"] == 1), None),
            "last_replied_on": mine[-1]["replied_on"] if mine else None,
        }
        if not public:
            row["proposers"] = proposers.get(c["proposal_id"], [])
        rows.append(row)
    return rows


def _local_date(timestamp: str | None) -> str | None:
    return datetime.fromisoformat(timestamp).astimezone(SHANGHAI).date().isoformat() if timestamp else None


def unit_rows(stats: Row) -> list[Row]:
    """One row per unit of ``stats["units"]``, the reply classes as reply_class_A, _B, _C."""
    return [{"unit": unit,
             **{k: v for k, v in figures.items() if k not in ("reply_classes", "withheld")},
             **{f"reply_class_{k}": n for k, n in figures["reply_classes"].items()},
             "withheld": (f"{figures['withheld']['reason']} ({figures['withheld']['reason_en']})"
                          if figures.get("withheld") else None)}
            for unit, figures in stats["units"].items()]


def _is_rate(key: str, row: Row) -> bool:
    """Rates and shares are shown as percentages (the statistics sheet says which in its item)."""
    path = str(row.get("item", "")).split(".") if key == "value" else [key]
    return path[-1].endswith("rate") or "shares" in path


def _bar_chart(path: Path, rates: dict[str, float | None], title: str, title_zh: str, *,
               withheld: Iterable[str] = ()) -> None:
    """A horizontal bar chart of the units' rates, best on top; units without a rate are left
    out (and said to be: nothing to count, or ``withheld``). Labels are unit ids; the title is
    Chinese too when a CJK font exists."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # (only where charts are drawn)
    from matplotlib.figure import Figure

    withheld = set(withheld)
    shown = sorted(((u, r) for u, r in rates.items() if r is not None), key=lambda x: (x[1], x[0]))
    font = cjk_font()
    fig = Figure(figsize=(8, 1.6 + 0.45 * max(len(shown), 1)), dpi=100)
    FigureCanvasAgg(fig)  # render with Agg, without touching pyplot's global state
    ax = fig.add_subplot()
    if shown:
        units, values = zip(*shown)
        bars = ax.barh(units, [100 * v for v in values], color="#b22222")
        ax.bar_label(bars, labels=[f"{100 * v:.1f}%" for v in values], padding=3)
    else:
        ax.set_yticks([])
        ax.text(50, 0.5, "no data", ha="center", va="center")
    ax.set_xlim(0, 110)
    ax.set_xlabel("percent")
    left_out = sorted(u for u, r in rates.items() if r is None and u not in withheld)
    notes = [f"nothing to count: {', '.join(left_out)}"] if left_out else []
    if withheld:
        notes.append(f"withheld (too few ratings): {', '.join(sorted(withheld))}")
    if notes:
        ax.set_ylabel(f"not shown ({'; '.join(notes)})", fontsize=7)
    ax.set_title(f"{title_zh} {title}" if font else title, fontfamily=font or None, fontsize=10)
    if font:
        for label in ax.get_yticklabels():
            label.set_fontfamily([font, "DejaVu Sans"])
    fig.tight_layout()
    fig.savefig(path, format="png")


def cjk_font() -> str | None:
    """The name of an installed font family that renders Chinese, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)
