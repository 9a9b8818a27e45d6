"""The opinion reports' year report: the files, their rows against the statistics, the
workbook, no personal data beyond ids, and `xieshang opinion-report`."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from xieshang.kernel import tables
from services.feedback import report
from services.feedback import views as v
from tests.services.test_feedback_views import HERE, NAMES, NATIONAL, REGION, Log, year_scenario
from tests.services.test_feedback_views import log, runner, store  # noqa: F401 - fixtures

SUMMARY = ("收集社情民意信息 6 篇，接收下级政协报送 2 篇，采用 3 篇，向党委报送 2 篇、向政府报送 1 篇、"
           "向宁夏回族自治区政协报送 3 篇、向全国政协报送 1 篇，转交 2 篇，获领导批示 2 篇。")


@pytest.fixture
def scenario(log, runner) -> Log:  # noqa: F811
    year_scenario(log)
    runner.catch_up()
    return log


def write(runner, out: Path, **kw) -> list[Path]:  # noqa: F811
    with runner.engine.connect() as conn:
        return report.write_year_report(conn, runner.projections, 2025, out, **kw)


def read_csv(path: Path) -> list[list[str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, for Excel"
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def keys(header: list[str]) -> list[str]:
    return [h.rsplit(" ", 1)[1] for h in header]


def test_the_files_and_the_statistics_csv(scenario, runner, tmp_path):  # noqa: F811
    paths = write(runner, tmp_path / "out", names=NAMES)
    assert [p.name for p in paths] == ["opinion-reports-2025-statistics.csv",
                                       "opinion-reports-2025-reports.csv", "opinion-reports-2025.xlsx"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)

    with runner.engine.connect() as conn:
        stats = v.statistics(conn, runner, 2025, names=NAMES)
    header, *rows = read_csv(paths[0])
    assert header == ["分项 section", "指标 item", "名称 label", "数值 value"]
    assert rows == [[r["section"], r["item"], r["label"], tables.text(r["value"])]
                    for r in report.statistics_rows(stats)]
    figures = {(s, i): value for s, i, _, value in rows}
    labels = {(s, i): label for s, i, label, _ in rows}
    assert figures[("overall", "collected")] == "6" and labels[("overall", "collected")] == "收集篇数"
    assert figures[("overall", "reports")] == "9" and labels[("overall", "reports")] == "信息总篇数"
    assert figures[("by_channel", "proposal")] == "1" and labels[("by_channel", "proposal")] == "按渠道·提案转"
    assert figures[("by_submitter_kind", "informant")] == "2"
    assert figures[("received_from_below", "by_committee.640302")] == "1"
    assert figures[("reported", f"upper.{REGION}")] == "3"
    assert labels[("reported", f"upper.{REGION}")] == f"报送·上级政协·{REGION}"
    assert figures[("reported", "party_committee")] == "2"
    assert figures[("upper_outcomes", f"{NATIONAL}.adopted")] == "1"
    assert labels[("upper_outcomes", f"{REGION}.instructed")] == f"上级政协处理情况·{REGION}·领导批示"
    assert figures[("forwarded", "assignments")] == "3" and labels[("forwarded", "reports")] == "转交·篇数"
    assert figures[("on_time", "rate")] == "0.5"
    assert figures[("overall", "instructions")] == "4"
    assert figures[("instructed_by_office", "committee")] == "1"
    assert figures[("overall", "summary")] == SUMMARY
    # without names the summary names the upper committees by code
    plain = {(s, i): value for s, i, _, value in read_csv(write(runner, tmp_path / "plain")[0])[1:]}
    assert "向640000报送 3 篇" in plain[("overall", "summary")]


def test_the_reports_csv(scenario, runner, tmp_path):  # noqa: F811
    log = scenario
    header, *rows = read_csv(write(runner, tmp_path / "out", names=NAMES)[1])
    assert keys(header) == [k for k, _ in report.REPORT_COLUMNS]
    assert header[:3] == ["编号 report_id", "来源 kind", "标题 title"]
    table = [dict(zip(keys(header), row)) for row in rows]
    back = {rid: name for name, rid in log.ids.items()}
    # the year's reports in the order they came in (r0 is of 2024)
    assert [back[r["report_id"]] for r in table] == ["r1", "r2", "r3", "r4", "r5", "c1", "r6", "b1", "b2"]
    r1, r2, r3, r4, r5, c1, r6, b1, b2 = table
    assert (r1["status"], r1["submitters"], r1["submitter_role"], r1["submitted_on"], r1["decided_on"]) == (
        "adopted", "m1", "member", "2025-01-01", "2025-03-01")
    assert (r1["reported_party_committee"], r1["reported_government"], r1["reported_upper"],
            r1["decided_above"], r1["units"], r1["feedback"], r1["instructions"], r1["informed"]) == (
        "yes", "no", REGION, f"{REGION}:adopted,instructed", "mzj;jtj", "2", "2", "yes")
    assert (r2["status"], r2["pending_checks"], r3["pending_checks"], r3["channel"]) == (
        "submitted", "facts;content;wording", "facts;content;wording", "proposal")
    assert (r4["status"], r4["combined_into"], r4["pending_checks"]) == ("combined", c1["report_id"], "")
    assert (c1["kind"], c1["submitters"], c1["sources"], c1["reported_upper"], c1["decided_above"]) == (
        "combined", "i2;m1", "2", f"{REGION};{NATIONAL}", f"{REGION}:not_adopted;{NATIONAL}:adopted")
    assert (r6["status"], r6["decided_on"], r6["informed"]) == ("not_adopted", "2025-02-10", "yes")
    assert (b1["kind"], b1["submitters"], b1["origin_committee"], b1["submitter_role"]) == (
        "from_below", "", "640302", "informant")
    assert b2["origin_report_id"].startswith("b2-origin-")
    assert b2["pending_checks"] == "political;facts;content;wording"
    assert r5["submitters"] == "i2"


def test_no_texts_and_no_people_but_ids(scenario, runner, tmp_path):  # noqa: F811
    paths = write(runner, tmp_path / "out", names=NAMES)
    text = "".join(p.read_text(encoding="utf-8-sig") for p in paths[:2])
    # the reports' texts, the reasons and notes, the units' feedback and leaders' words stay out
    for words in ("群众反映的情况和建议", "请补充数据来源", "数据来源不明", "已研究办理", "请有关部门研究办理",
                  "您报送的信息已被采用", "下级政协报送的内容"):
        assert words not in text
    # people appear only as the submitters' ids; staff, units' and leaders' people do not
    for person in ("staff-fb-01", "u-mzj-1", "ld-a", "ld-z"):
        assert person not in text


def test_the_workbook(scenario, runner, tmp_path):  # noqa: F811
    paths = write(runner, tmp_path / "out", names=NAMES)
    wb = load_workbook(paths[2])
    assert wb.sheetnames == ["statistics", "reports"]
    stats_sheet = [list(r) for r in wb["statistics"].iter_rows(values_only=True)]
    assert stats_sheet[0] == ["分项 section", "指标 item", "名称 label", "数值 value"]
    assert len(stats_sheet) == len(read_csv(paths[0]))
    values = {(s, i): value for s, i, _, value in stats_sheet[1:]}
    assert values[("overall", "collected")] == 6 and values[("overall", "summary")] == SUMMARY
    assert values[("on_time", "rate")] == 0.5
    rate_row = next(r for r in wb["statistics"].iter_rows(min_row=2) if r[1].value == "rate")
    assert rate_row[3].number_format == "0.0%"
    reports_sheet = list(wb["reports"].iter_rows(values_only=True))
    assert len(reports_sheet) == 10 and reports_sheet[0][0] == "编号 report_id"
    first = dict(zip(keys(list(reports_sheet[0])), reports_sheet[1]))
    assert (first["reported_party_committee"], first["instructions"], first["units"]) == (True, 2, "mzj;jtj")


def test_the_opinion_report_command(tmp_path, monkeypatch):
    from tools.cli import main
    from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

    for name in ("EVENT_STORE", "DATABASE_URL", "PG_SCHEMA_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COMMITTEE_CODE", HERE.committee)
    monkeypatch.setenv("COMMITTEE_LEVEL", HERE.level)
    monkeypatch.setenv("XIESHANG_LINKS", f"upper:{REGION}:province:宁夏回族自治区政协,"
                                         f"lower:640302:county:利通区政协")
    data = tmp_path / "data"
    monkeypatch.setenv("XIESHANG_DATA_DIR", str(data))  # --data-dir sets it: restored after the test
    (data / "feedback").mkdir(parents=True)
    events = SqlEventStore(sqlite_engine(str(data / "feedback" / "events.sqlite")), HERE)
    year_scenario(Log(events))
    events.close()

    result = CliRunner().invoke(main, ["opinion-report", "2025", "--out", str(tmp_path / "out"),
                                       "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    written = [Path(line) for line in result.stdout.splitlines()]
    assert [p.name for p in written] == ["opinion-reports-2025-statistics.csv",
                                         "opinion-reports-2025-reports.csv", "opinion-reports-2025.xlsx"]
    figures = {(s, i): value for s, i, _, value in read_csv(written[0])[1:]}
    assert figures[("overall", "collected")] == "6"
    # the region is named as the links name it; the national committee (not linked) by its code
    assert "向宁夏回族自治区政协报送 3 篇、向100000报送 1 篇，转交 2 篇" in figures[("overall", "summary")]
    assert len(read_csv(written[1])) == 10
    assert "opinion-report" in CliRunner().invoke(main, ["--help"]).output
