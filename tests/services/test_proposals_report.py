"""The year-end report: files, their rows against the statistics, the workbook, the charts."""

from __future__ import annotations

import csv
import struct
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xieshang.kernel import tables
from services.proposals import report
from services.proposals import views as v
from tests.services.test_proposals_views import Desk, proj, year_scenario
from tests.services.test_proposals_views import runner, store  # noqa: F401 - fixtures

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def scenario(store, runner) -> Desk:
    desk = year_scenario(Desk(store))
    runner.catch_up()
    return desk


def write(runner, out: Path, **kw) -> list[Path]:
    with runner.engine.connect() as conn:
        return report.write_year_report(conn, runner.projections, 2024, out, **kw)


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def keys(header: list[str]) -> list[str]:
    return [h.rsplit(" ", 1)[1] for h in header]


def test_the_report_files_and_the_statistics_csv(scenario, runner, tmp_path):
    paths = write(runner, tmp_path / "out")
    assert [p.name for p in paths] == [
        "proposals-2024-statistics.csv", "proposals-2024-cases.csv", "proposals-2024.xlsx",
        "proposals-2024-on-time-by-unit.png", "proposals-2024-satisfaction-by-unit.png"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)

    with runner.engine.connect() as conn:
        stats = v.statistics(conn, proj(runner, v.Statistics), 2024)
    header, *rows = read_csv(paths[0])
    assert header == ["分项 section", "指标 item", "数值 value"]
    expected = report.statistics_rows(stats)
    assert rows == [[r["section"], r["item"], tables.text(r["value"])] for r in expected]
    # Read back, the figures are the statistics' own (floats to the last digit).
    figures = {(s, i): value for s, i, value in rows}
    assert figures[("replies", "first_round_on_time_rate")] == repr(2 / 3)
    assert float(figures[("replies", "first_round_on_time_rate")]) == 2 / 3
    assert figures[("units", "wjw.on_time_rate")] == "0.0"
    assert figures[("units", "zjj.reply_classes.C")] == "1"
    assert figures[("rounds_needed", "2")] == "1"
    assert figures[("by_status", "closed")] == "2" and figures[("overall", "proposals")] == "7"
    assert figures[("satisfaction", "attitude.shares.unsatisfied")] == "0.25"


def test_the_cases_csv_internal_and_public(scenario, runner, tmp_path):
    internal = read_csv(write(runner, tmp_path / "internal")[1])
    with runner.engine.connect() as conn:  # the runner itself (or a service's Views) will do
        again = report.write_year_report(conn, runner, 2024, tmp_path / "again")
    assert read_csv(again[1]) == internal
    public = read_csv(write(runner, tmp_path / "public", public=True)[1])
    assert keys(internal[0]) == [k for k, _ in report.CASE_COLUMNS] + ["proposers"]
    assert keys(public[0]) == [k for k, _ in report.CASE_COLUMNS]
    cases = [dict(zip(keys(internal[0]), row)) for row in internal[1:]]
    assert [c["case_number"] for c in cases] == ["2024-001", "2024-002", "2024-003", "2024-004"]
    p1, p2, p3, p4 = cases
    assert (p1["title"], p1["status"], p1["co_units"], p1["reply_class"], p1["first_round_on_time"],
            p1["published"], p1["proposers"]) == ("关于发展夜间经济的提案", "closed", "wjw", "A", "yes",
                                                  "yes", "m1")
    assert (p2["rounds"], p2["reply_class"], p2["first_round_on_time"], p2["last_replied_on"],
            p2["closed_on"], p2["proposers"]) == ("2", "A", "no", "2024-06-03", "2024-06-03", "m2;m3")
    assert (p3["lead_unit"], p3["co_units"], p3["reply_class"]) == ("zjj", "mzj", "C")
    assert (p4["key"], p4["reply_class"], p4["first_round_on_time"], p4["proposers"]) == \
        ("yes", "", "", "m5;m1")
    # Public: the same rows without the proposers; no member id anywhere, and no rating.
    assert [row for row in public[1:]] == [row[:-1] for row in internal[1:]]
    text = (tmp_path / "public" / "proposals-2024-cases.csv").read_text(encoding="utf-8-sig")
    for secret in ("m1", "m2", "m5", "satisfied"):
        assert secret not in text


def test_the_workbook(scenario, runner, tmp_path):
    paths = write(runner, tmp_path)
    wb = load_workbook(paths[2])
    assert wb.sheetnames == ["statistics", "cases", "units"]
    stats_sheet = list(wb["statistics"].iter_rows(values_only=True))
    with runner.engine.connect() as conn:
        stats = v.statistics(conn, proj(runner, v.Statistics), 2024)
    assert stats_sheet[1:] == [(r["section"], r["item"], r["value"])
                               for r in report.statistics_rows(stats)]
    units = [dict(zip(keys(list(wb["units"].iter_rows(values_only=True))[0]), row))
             for row in list(wb["units"].iter_rows(values_only=True))[1:]]
    assert [u["unit"] for u in units] == ["mzj", "wjw", "zjj"]
    assert units[1] == {"unit": "wjw", "assigned": 1, "co_assigned": 1, "replies": 2, "replied": 1,
                        "first_round_replies": 1, "first_round_on_time": 0, "on_time_rate": 0.0,
                        "ratings": 2, "satisfaction_rate": 1.0, "attitude_satisfaction_rate": 1.0,
                        "reply_class_A": 1, "reply_class_B": 0, "reply_class_C": 0,
                        "withheld": None}
    assert wb["units"]["H2"].number_format == "0.0%"
    cases = list(wb["cases"].iter_rows(values_only=True))
    assert len(cases) == 5 and cases[1][0] == "2024-001" and cases[1][7] is False  # not key
    assert cases[4][-1] == "m5;m1"


def test_the_charts_are_png_images(scenario, runner, tmp_path):
    paths = write(runner, tmp_path)
    for path in paths[3:]:
        raw = path.read_bytes()
        assert raw[:8] == PNG_SIGNATURE and raw[12:16] == b"IHDR"
        width, height = struct.unpack(">II", raw[16:24])
        assert 600 <= width <= 1200 and 200 <= height <= 1200
        assert 5_000 < len(raw) < 500_000


def test_a_year_without_cases_still_gives_a_report(runner, tmp_path):
    paths = write(runner, tmp_path)
    assert read_csv(paths[1]) == [[f"{label} {key}" for key, label in
                                   (*report.CASE_COLUMNS, report.PROPOSERS_COLUMN)]]
    assert load_workbook(paths[2])["units"].max_row == 1
    assert paths[3].read_bytes()[:8] == PNG_SIGNATURE


def test_a_chinese_font_is_used_when_there_is_one(scenario, runner, tmp_path, monkeypatch):
    # No CJK font is guaranteed here: pretend the default font is one (its glyphs are missing,
    # which matplotlib only warns about), to run the bilingual branch.
    monkeypatch.setattr(report, "cjk_font", lambda: "DejaVu Sans")
    with pytest.warns(UserWarning, match="[Gg]lyph"):
        paths = write(runner, tmp_path)
    assert paths[3].read_bytes()[:8] == PNG_SIGNATURE


def test_the_public_report_shows_no_satisfaction_of_fewer_than_three_ratings(scenario, runner, tmp_path):
    # 2024: mzj and zjj have one rating each, wjw two: the internal report has their rates,
    # the public one none of them (the committee-wide figures, over 4 ratings, stay).
    internal = write(runner, tmp_path / "internal")
    paths = write(runner, tmp_path / "public", public=True)
    internal_units = {u["unit"]: u for u in _units(internal[2])}
    assert internal_units["zjj"]["attitude_satisfaction_rate"] == 0.0  # m4's "unsatisfied"
    units = _units(paths[2])
    assert [(u["unit"], u["ratings"], u["satisfaction_rate"], u["attitude_satisfaction_rate"])
            for u in units] == [("mzj", 1, None, None), ("wjw", 2, None, None), ("zjj", 1, None, None)]
    assert all(u["withheld"].startswith("少于3份评价，不公开") for u in units)
    figures = {(r[0], r[1]): r[2] for r in read_csv(paths[0])[1:]}
    assert not [k for k in figures if k[0] == "units" and k[1].endswith("satisfaction_rate")
                and figures[k]]
    assert figures[("satisfaction", "attitude.rate")] == "0.75"
    assert figures[("units", "zjj.withheld.reason")] == "少于3份评价，不公开"
    assert paths[4].read_bytes()[:8] == PNG_SIGNATURE


def _units(xlsx: Path) -> list[dict]:
    rows = list(load_workbook(xlsx)["units"].iter_rows(values_only=True))
    return [dict(zip(keys(list(rows[0])), row)) for row in rows[1:]]
