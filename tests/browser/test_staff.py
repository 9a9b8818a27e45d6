"""The staff's pages in the browser: the worklist (filters, search, the most urgent first, a
case opened) and bulk assignment 批量交办 with its refusals in place; the statistics dashboard
and the year-end report's download; the roster import with a bad row named; the communities'
coverage; a leader's view of the figures; the pages at phone size."""

from __future__ import annotations

import base64
import time
import uuid
from datetime import datetime, timedelta, timezone

import requests

STAFF, MEMBER, LEADER = "staff-szs-001", "m-szs-003", "leader-szs-01"
LCJ, ZJJ = "u-szs-lcj", "u-szs-zjj"          # 市林业和草原局, 市住房和城乡建设局 (tools/demo.py)
URGENCY = {"overdue": 0, "due-soon": 1, "": 2}


def _filed_cases(api, tag: str, n: int = 2) -> list[str]:
    """``n`` proposals of a member, filed by staff: the cases this test assigns."""
    pids = []
    for i in range(n):
        made = api(MEMBER, "POST", "/api/proposals", json={
            "title": f"关于{tag}片区第{i + 1}条背街小巷改造的提案", "reasons": "路面破损，雨天积水，居民出行不便。",
            "suggestions": "纳入年度城市更新计划，统一铺装排水。", "category": "society"})
        assert made.status_code == 201, made.text
        pid = made.json()["proposal_id"]
        filed = api(STAFF, "POST", f"/api/proposals/{pid}/file", json={})
        assert filed.status_code == 200, filed.text
        pids.append(pid)
    return pids


def _case(api, pid: str) -> dict:
    found = api(STAFF, "GET", f"/api/proposals/{pid}")
    assert found.status_code == 200, found.text
    return found.json()


def _open_until(tab, path: str, condition, what: str) -> None:
    """Open ``path`` again until ``condition()`` holds (the read models follow the log)."""
    deadline = time.monotonic() + 30
    while True:
        tab.open(path)
        if condition():
            return
        assert time.monotonic() < deadline, f"{what}: {tab.text[:1500]}"
        time.sleep(0.5)


def _rows(tab) -> list:
    return tab.find_all("table.worklist tbody tr")


def test_staff_filters_the_worklist_opens_a_case_and_assigns_two_cases_at_once(tab, api):
    tag = uuid.uuid4().hex[:6]
    pids = _filed_cases(api, tag)
    tab.login(STAFF)
    assert tab.path.startswith("/worklist")                  # the staff's start page
    assert tab.find("nav a[aria-current=page]").text == "工作清单"
    # the most urgent first: overdue rows, then those due soon, then the rest
    classes = [(r.get_attribute("class") or "").strip() for r in _rows(tab)]
    assert classes and [URGENCY.get(c, 2) for c in classes] == sorted(URGENCY.get(c, 2) for c in classes)
    tab.shot("staff-worklist")

    # filter and search through the form
    tab.fill("#f-q", tag)
    tab.choose("#f-status", "filed")
    tab.click("form[role=search] button[type=submit]")
    assert f"q={tag}" in tab.path and "status=filed" in tab.path
    _open_until(tab, tab.path, lambda: len(_rows(tab)) == 2, "the two filed cases in the worklist")
    assert "共 2 件" in tab.text and all(tag in r.text and "已立案" in r.text for r in _rows(tab))
    assert tab.value("#f-q") == tag
    tab.shot("staff-worklist-filtered")

    # open a case from the list, and come back
    tab.click(f"a[href='/cases/{pids[0]}']")
    assert tab.path == f"/cases/{pids[0]}" and f"关于{tag}片区第1条" in tab.text and "已立案" in tab.text
    tab.shot("staff-case-filed")
    listed = f"/worklist?status=filed&q={tag}"
    tab.open(listed)

    # no lead unit: refused by the form, naming the field in Chinese; what was typed kept
    later = (datetime.now(timezone(timedelta(hours=8))).date() + timedelta(days=40)).isoformat()
    for pid in pids:
        tab.find(f"#pick-{pid}").click()
    tab.driver.execute_script(f"document.querySelector('#f-deadline').value = '{later}'")
    tab.click("#assign button[type=submit]")
    assert "请检查：主办单位" in tab.find("#assign .refusal").text and "未交办任何提案" in tab.text
    assert "主办单位：必填" in tab.find("#f-lead_unit-error").text
    assert tab.value("#f-deadline") == later
    assert all(tab.find(f"#pick-{pid}").is_selected() for pid in pids)
    assert all(_case(api, pid)["status"] == "filed" for pid in pids)   # nothing changed
    tab.shot("staff-assign-refused")

    # a reply deadline in the past: each case refused by the service, shown per case
    tab.choose("#f-lead_unit", LCJ)
    tab.driver.execute_script("document.querySelector('#f-deadline').value = '2020-01-01'")
    tab.click("#assign button[type=submit]")
    refusal = tab.find("#assign .refusal").text
    assert "0 件已交办，2 件未交办" in refusal and "办理期限" in refusal
    assert "办理期限：须晚于今天" in tab.find("#f-deadline-error").text
    assert [li.text.count("未交办") for li in tab.find_all("#results li")] == [1, 1]
    assert tab.value("#f-lead_unit") == LCJ and tab.value("#f-deadline") == "2020-01-01"
    assert all(tab.find(f"#pick-{pid}").is_selected() for pid in pids)
    assert all(_case(api, pid)["status"] == "filed" for pid in pids)   # nothing changed
    tab.shot("staff-assign-deadline-refused")

    # corrected: both assigned, each said to be
    tab.driver.execute_script("document.querySelector('#f-deadline').value = ''")
    tab.find(f"input[name=co_units][value={ZJJ}]").click()
    tab.click("#assign button[type=submit]")
    assert "所选提案已交办" in tab.find(".flash").text
    results = tab.find_all("#results li")
    assert len(results) == 2 and all("已交办" in li.text and "市林业和草原局" in li.text for li in results)
    for pid in pids:
        case = _case(api, pid)
        assert case["status"] == "assigned", case
        assert (case["rounds"][-1]["lead_unit"], case["rounds"][-1]["co_units"]) == (LCJ, [ZJJ])
    tab.shot("staff-assign-done")
    # the assigned cases show their lead unit and deadline in the list
    tab.open(f"/worklist?q={tag}")
    assert all("市林业和草原局" in r.text and "已交办" in r.text for r in _rows(tab))
    tab.logout()


def test_the_dashboard_shows_the_figures_as_charts_and_the_report_downloads(tab, api, console):
    tab.login(STAFF)
    tab.click("nav a[href='/statistics']")
    year = datetime.now(timezone(timedelta(hours=8))).year
    assert tab.path == "/statistics" and f"{year} 年度统计" in tab.find("h1").text
    charts = tab.find_all("svg.chart[role=img]")
    assert len(charts) >= 4
    for chart in charts:   # each chart named and described, for those who do not see it
        labelled = chart.get_attribute("aria-labelledby").split()
        assert all(tab.find(f"#{i}").get_attribute("textContent") for i in labelled)
    assert "首轮按时答复率" in tab.text and "满意率" in tab.text and "各承办单位" in tab.text
    tab.shot("staff-statistics")

    # the year chooser
    tab.choose("#f-year", str(year - 1))
    tab.click("form[action='/statistics'] button")
    assert f"year={year - 1}" in tab.path and f"{year - 1} 年度统计" in tab.find("h1").text
    tab.open("/statistics")

    # the report: the console's link answers the workbook as a download
    link = tab.find(f"a[href='/statistics/{year}/report.xlsx']")
    session = tab.driver.get_cookie("xs_session")["value"]
    got = requests.get(console + link.get_attribute("pathname"), cookies={"xs_session": session}, timeout=60)
    assert got.status_code == 200, got.text[:500]
    assert got.content[:2] == b"PK" and got.headers["Content-Disposition"].startswith("attachment;")
    assert f"proposals-{year}.xlsx" in got.headers["Content-Disposition"]
    # … the API's route the same file
    by_api = api(STAFF, "GET", f"/api/statistics/{year}/report")
    assert by_api.status_code == 200 and base64.b64decode(by_api.json()["content_base64"])[:2] == b"PK"
    assert requests.get(console + f"/statistics/{year}/report.xlsx", timeout=30,
                        allow_redirects=False).status_code == 303   # not signed in: log in first
    # in English too
    tab.click("header form[action='/language'] button")
    assert f"Statistics {year}" in tab.find("h1").text and "Handling units" in tab.text
    tab.shot("staff-statistics-en")
    tab.click("header form[action='/language'] button")
    assert tab.find("html").get_attribute("lang") == "zh-CN"
    tab.logout()


def test_a_leader_reads_the_figures_under_disclosure_control_and_an_auditor_all_of_them(tab, api, console):
    tab.login(LEADER)
    tab.open("/statistics")
    assert "按公开规则显示" in tab.text and "公开版" in tab.text
    year = datetime.now(timezone(timedelta(hours=8))).year
    session = tab.driver.get_cookie("xs_session")["value"]
    got = requests.get(console + f"/statistics/{year}/report.xlsx", cookies={"xs_session": session}, timeout=60)
    assert got.status_code == 200 and f"proposals-{year}-public.xlsx" in got.headers["Content-Disposition"]
    tab.shot("leader-statistics")
    tab.open("/worklist")
    assert tab.find_all("table.worklist") and not tab.find_all("#assign")   # reads, assigns nothing
    tab.open("/roster")
    assert "无权访问" in tab.text
    tab.logout()
    # an auditor reads every figure as counted, and the internal report
    tab.login("auditor-szs-01")
    tab.open("/statistics")
    assert "按公开规则显示" not in tab.text and "下载公开版" in tab.text
    tab.open("/worklist?order=latest")
    assert tab.find_all("table.worklist") and not tab.find_all("#assign")
    tab.logout()


def _roster(path, rows: list[list[str]]) -> str:
    lines = ["姓名,界别,届次,工作站,联系社区", *(",".join(r) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def test_staff_imports_a_roster_sees_a_bad_row_named_and_then_the_coverage(tab, phone, api, tmp_path):
    tag = uuid.uuid4().hex[:6]
    township, covered, bare, station = (f"t-{tag}", f"c-{tag}-1", f"c-{tag}-2", f"st-{tag}")
    for org_id, kind, name, parent in ((township, "township", f"测试街道{tag}", None),
                                       (covered, "community", f"幸福社区{tag}", township),
                                       (bare, "community", f"和平社区{tag}", township)):
        made = api(STAFF, "POST", "/api/organisations", json={"org_id": org_id, "kind": kind, "name": name,
                                                             **({"parent": parent} if parent else {})})
        assert made.status_code == 201, made.text
    made = api(STAFF, "POST", "/api/stations", json={
        "station_id": station, "name": f"测试街道{tag}委员工作站", "station_type": "work_station",
        "level": "township", "location": township, "communities": [covered]})
    assert made.status_code == 201, made.text
    good = [f"赵{tag}", "经济界", "第十一届", f"测试街道{tag}委员工作站", f"幸福社区{tag}"]

    tab.login(STAFF)
    tab.click("nav a[href='/roster']")
    tab.shot("staff-roster")
    # a row without its 界别: refused, the row and column named, nothing imported
    tab.find("#f-file").send_keys(_roster(tmp_path / "委员名册.csv", [good, [f"钱{tag}", "", "第十一届", "", ""]]))
    tab.click("form[action='/roster'] button[type=submit]")
    assert "名册有 1 处问题，未导入任何内容" in tab.find(".refusal").text
    [row] = tab.find_all("table.problems tbody tr")
    assert [c.text.split("：")[-1] for c in row.find_elements("css selector", "td")] == \
        ["第 3 行", "界别", "必填，1 至 64 个字"]
    assert "委员名册.csv" in tab.text                                       # the file chosen, named
    members = api(STAFF, "GET", "/api/members", params={"q": f"赵{tag}"}).json()
    assert members["total"] == 0                                           # the good row neither
    tab.shot("staff-roster-refused")

    # corrected: imported, the new member named
    tab.find("#f-file").send_keys(_roster(tmp_path / "委员名册-改.csv", [good]))
    tab.click("form[action='/roster'] button[type=submit]")
    assert "名册已导入" in tab.find(".flash").text
    assert f"赵{tag}" in tab.find("#result").text and "新任命" in tab.text
    tab.shot("staff-roster-imported")

    # coverage: the community the new member looks after, and the one nobody does
    tab.click("nav a[href='/coverage']")
    tab.choose("#f-township", township)
    tab.click("form[action='/coverage'] button[type=submit]")
    _open_until(tab, f"/coverage?township={township}", lambda: f"赵{tag}" in tab.text,
                "the new member on the coverage page")
    rows = {r.find_element("css selector", "td:nth-child(2)").text.split("：")[-1]: r
            for r in tab.find_all("table.coverage tbody tr")}
    assert set(rows) == {f"幸福社区{tag}", f"和平社区{tag}"}
    assert f"赵{tag}" in rows[f"幸福社区{tag}"].text and "已覆盖" in rows[f"幸福社区{tag}"].text
    assert "uncovered" in rows[f"和平社区{tag}"].get_attribute("class") and "未覆盖" in rows[f"和平社区{tag}"].text
    tab.shot("staff-coverage")
    tab.logout()

    # the same pages at phone size
    phone.login(STAFF)
    phone.shot("staff-worklist-phone")
    phone.open("/statistics")
    phone.shot("staff-statistics-phone")
    phone.open(f"/coverage?township={township}")
    phone.shot("staff-coverage-phone")
    phone.open("/roster")
    phone.shot("staff-roster-phone")
    phone.logout()
