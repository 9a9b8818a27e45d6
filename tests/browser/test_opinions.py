"""Opinion reports 社情民意 in the browser, the whole 征-编-报-督-复 loop, each person in their
own session: a member submits (a bad field refused in place first), staff check, adopt,
forward and report it from the desk, the unit it was forwarded to feeds back (and may open no
other report), the leader it was put before instructs, staff tell the member, who sees it all.
Staff combine reports from the desk; a returned report is revised by its submitter."""

from __future__ import annotations

import uuid

MEMBER, STAFF, LEADER, AUDITOR = "m-szs-005", "staff-szs-001", "leader-szs-01", "auditor-szs-01"
UNIT = "u-szs-jtj"                     # 市交通运输局
UNIT_USER = f"{UNIT}-handler"
CHECKS = ("political", "facts", "content", "wording")
CONTENT = ("多个老旧小区公交站台没有遮雨棚和座椅，老年人候车不便，雨天尤甚。\n"
           "建议交通运输部门对全市站台逐一排查，优先改造老年人集中的社区站台。")


def _until(tab, path: str, text: str, what: str) -> None:
    """Open ``path`` until it shows ``text`` (lists come from read models that follow the log)."""
    def shown() -> bool:
        tab.open(path)
        return text in tab.text
    tab.wait(shown, what)


def _open(tab, command: str) -> None:
    """Unfold a command's form on a report's page."""
    details = tab.find(f"#do-{command}")
    if details.get_attribute("open") is None:
        tab.find(f"#do-{command} > summary").click()


def _send(tab, command: str) -> None:
    tab.click(f"#do-{command} button[type=submit]")


def _submit_by_api(api, member: str, title: str) -> str:
    made = api(member, "POST", "/api/opinion-reports", json={"title": title, "content": CONTENT,
                                                             "category": "society"})
    assert made.status_code == 201, made.text
    return made.json()["report_id"]


def test_a_report_goes_round_the_whole_loop(tab, phone, api):
    title = f"关于老旧小区公交站台加装遮雨棚的建议 {uuid.uuid4().hex[:6]}"

    # 征: a member submits; a content too short is refused in place, the field named in Chinese
    tab.login(MEMBER)
    tab.open("/opinions/new")
    assert tab.find("header nav a[aria-current=page]").text == "报送社情民意"
    tab.shot("opinion-new")
    tab.fill("#f-title", title)
    tab.fill("#f-content", "站台太少")
    tab.click("main form button[type=submit]")
    assert tab.find(".refusal[role=alert]").text == "请检查：内容。"
    assert "内容：至少 10 个字" in tab.find("#f-content-error").text
    assert tab.value("#f-title") == title and tab.value("#f-content") == "站台太少"
    tab.shot("opinion-new-refused")
    mine = api(MEMBER, "GET", "/api/opinion-reports/mine", params={"q": title}).json()
    assert mine["items"] == []          # nothing was recorded
    tab.fill("#f-content", CONTENT)
    tab.choose("#f-category", "society")
    tab.click("main form button[type=submit]")
    assert "已提交" in tab.text and title in tab.find("h1").text and "待编辑" in tab.text
    report_id = tab.path.split("?")[0].rsplit("/", 1)[1]
    tab.shot("opinion-report-submitted")
    _until(tab, "/opinions/mine", title, "my new report in my list")
    tab.shot("opinion-mine")
    tab.logout()

    # 编: staff find it on the desk, try to adopt too early, record the four checks, adopt
    tab.login(STAFF)
    _until(tab, "/opinions?status=submitted&check_pending=political&q=" + title[-6:], title, "the desk")
    row = next(r for r in tab.find_all("main tbody tr") if title in r.text)
    assert "政治关" in row.text and "文字关" in row.text and "待编辑" in row.text
    tab.shot("opinion-desk")
    tab.click(f"main a[href='/opinions/{report_id}']")
    assert "四关" in tab.text and "报送人" in tab.text
    _open(tab, "adopt_opinion_report")
    _send(tab, "adopt_opinion_report")
    refusal = tab.find("#do-adopt_opinion_report .refusal[role=alert]").text
    assert "政治关" in refusal, refusal   # the refusal names the checks not passed
    assert tab.find("#do-adopt_opinion_report").get_attribute("open") is not None
    tab.shot("opinion-adopt-refused")
    for check in CHECKS:
        _open(tab, "record_opinion_check")
        tab.choose("#do-record_opinion_check #f-check", check)
        tab.find("#do-record_opinion_check #f-passed").click()
        tab.fill("#do-record_opinion_check #f-note", "审核通过")
        _send(tab, "record_opinion_check")
        assert "操作已完成" in tab.text
    assert "四关均已通过" in tab.text
    _open(tab, "adopt_opinion_report")
    _send(tab, "adopt_opinion_report")
    assert "已采用" in tab.find("dl.facts").text

    # 报、督: forwarded to a unit with a deadline, reported to the party committee and the leader
    _open(tab, "forward_opinion")
    assert tab.value("#do-forward_opinion #f-deadline")      # a deadline is suggested
    tab.find(f"#do-forward_opinion input[name=units][value={UNIT}]").click()
    _send(tab, "forward_opinion")
    forwards = tab.find("section[aria-labelledby=forwards-h]").text
    assert "市交通运输局" in forwards and "待反馈" in forwards
    _open(tab, "report_opinion")
    tab.find("#do-report_opinion #f-party_committee").click()
    tab.find(f"#do-report_opinion input[name=leaders][value={LEADER}]").click()
    _send(tab, "report_opinion")
    reported = tab.find("section[aria-labelledby=reported-h]").text
    assert "党委" in reported and "周卫东" in reported
    assert "leader-szs-01" not in tab.text and UNIT not in tab.text   # names, never ids
    tab.shot("opinion-report-staff")
    tab.logout()

    # 督: the unit sees it among its reports, feeds back; it may open no other report
    other = _submit_by_api(api, "m-szs-006", f"另一篇未转交的信息 {uuid.uuid4().hex[:6]}")
    tab.login(UNIT_USER)
    assert tab.find("header nav").text.count("社情民意反馈") == 1
    _until(tab, "/opinions/unit", title, "the report in the unit's list")
    assert "剩 15 天" in tab.text
    tab.shot("opinion-unit")
    tab.click(f"main a[href='/opinions/{report_id}']")
    assert "本单位的反馈任务" in tab.text and "报送人" not in tab.text and "四关审核" not in tab.text
    _open(tab, "send_opinion_feedback")
    tab.shot("opinion-report-unit")
    tab.fill("#do-send_opinion_feedback #f-text", "已对全市站台排查，年内改造 30 个老年人集中社区的站台。")
    _send(tab, "send_opinion_feedback")
    assert "已反馈" in tab.find("section[aria-labelledby=forward-h]").text
    tab.open(f"/opinions/{other}")
    assert "无权查看" in tab.find("h1").text and "未转交给本单位" in tab.text
    tab.shot("opinion-unit-not-allowed")
    assert api(UNIT_USER, "GET", f"/api/opinion-reports/{other}").status_code == 403
    tab.logout()

    # 督: the leader it was put before instructs
    tab.login(LEADER)
    _until(tab, "/opinions/leader", title, "the report awaiting the leader")
    tab.shot("opinion-leader")
    tab.click(f"main a[href='/opinions/{report_id}']")
    _open(tab, "record_leader_instruction")
    assert not tab.find_all("#do-record_leader_instruction #f-leader")   # a leader instructs as themself
    tab.fill("#do-record_leader_instruction #f-text", "请交通运输局抓紧落实，年底前完成改造。")
    tab.choose("#do-record_leader_instruction #f-leader_level", "city")
    tab.find("#do-record_leader_instruction input[name=office][value=committee]").click()
    _send(tab, "record_leader_instruction")
    assert "请交通运输局抓紧落实" in tab.find("section[aria-labelledby=instructions-h]").text
    tab.shot("opinion-report-leader")
    tab.logout()

    # 复: staff tell the member; the history shows every step
    tab.login(STAFF)
    tab.open(f"/opinions/{report_id}")
    assert "年内改造 30 个" in tab.text      # the unit's written feedback
    _open(tab, "inform_submitter")
    tab.fill("#do-inform_submitter #f-text", "您的信息已被采用，报送市委，获领导批示，市交通运输局已书面反馈。")
    _send(tab, "inform_submitter")
    history = tab.find("section[aria-labelledby=history-h]").text
    for step in ("报送社情民意信息", "四关审核", "采用", "转交承办单位", "书面反馈", "领导批示", "情况通报"):
        assert step in history, step
    tab.shot("opinion-report-history")
    tab.logout()

    # the member sees where it ended, on the desktop and on the phone
    tab.login(MEMBER)
    _until(tab, "/opinions/mine", "已通报", "the report informed in my list")
    row = next(r for r in tab.find_all("main tbody tr") if title in r.text)
    assert "已采用" in row.text
    tab.click(f"main a[href='/opinions/{report_id}']")
    assert "您的信息已被采用" in tab.find("section[aria-labelledby=notices-h]").text
    assert "请交通运输局抓紧落实" in tab.text and "已反馈" in tab.text
    assert not tab.find_all("#do-inform_submitter")      # no staff command for a member
    tab.shot("opinion-report-member")
    tab.logout()
    phone.login(MEMBER)
    phone.open(f"/opinions/{report_id}")
    phone.shot("opinion-report-phone")
    phone.open("/opinions/new")
    phone.shot("opinion-new-phone")
    phone.logout()


def test_staff_combine_reports_from_the_desk(tab, api):
    tag = uuid.uuid4().hex[:6]
    first = _submit_by_api(api, "m-szs-001", f"关于夜市噪音扰民的信息 {tag}")
    second = _submit_by_api(api, "m-szs-002", f"关于夜市占道经营的信息 {tag}")
    tab.login(STAFF)
    _until(tab, f"/opinions?q={tag}", "夜市占道经营", "both reports on the desk")
    _until(tab, f"/opinions?q={tag}", "夜市噪音扰民", "both reports on the desk")
    combined_title = f"关于规范夜市经营秩序的综合信息 {tag}"
    # one ticked only: refused in place, what was typed kept
    tab.find(f"#src-{first}").click()
    tab.fill("#f-title", combined_title)
    tab.fill("#f-content", "两位委员反映夜市噪音扰民和占道经营问题，建议统一规划夜市经营区域，明确经营时段。")
    tab.click(".opinion-combine button[type=submit]")
    assert "来源信息：至少 2 项" in tab.text and "类别：必填" in tab.text
    assert tab.value("#f-title") == combined_title and tab.find(f"#src-{first}").is_selected()
    tab.shot("opinion-combine-refused")
    tab.choose(".opinion-combine #f-category", "economy")
    tab.find(f"#src-{second}").click()
    tab.click(".opinion-combine button[type=submit]")
    assert "操作已完成" in tab.text and combined_title in tab.find("h1").text
    sources = tab.find("section[aria-labelledby=sources-h]").text
    assert "夜市噪音扰民" in sources and "夜市占道经营" in sources
    contributors = tab.text
    assert "来源信息报送人" in contributors
    tab.shot("opinion-combined")
    tab.click("header form[action='/language'] button")          # the same page in English
    assert "Combined from" in tab.text and "Contributors" in tab.text and "Being edited" not in tab.text
    assert tab.find("html").get_attribute("lang") == "en"
    tab.shot("opinion-combined-en")
    tab.click("header form[action='/language'] button")
    tab.open(f"/opinions/{first}")
    assert "已综合" in tab.text and combined_title in tab.text
    tab.logout()


def test_a_returned_report_is_revised_by_its_submitter(tab, api):
    tag = uuid.uuid4().hex[:6]
    report_id = _submit_by_api(api, "m-szs-003", f"关于校园周边交通安全的信息 {tag}")
    tab.login(STAFF)
    tab.open(f"/opinions/{report_id}")
    _open(tab, "return_opinion_report")
    tab.fill("#do-return_opinion_report #f-reason", "请补充涉及的学校和路段")
    _send(tab, "return_opinion_report")
    assert "已退回修改" in tab.text
    tab.logout()
    tab.login("m-szs-003")
    tab.open(f"/opinions/{report_id}")
    assert "请补充涉及的学校和路段" in tab.text
    _open(tab, "revise_opinion_report")
    assert tab.value("#do-revise_opinion_report #f-title").endswith(tag)   # the report as it stands
    tab.fill("#do-revise_opinion_report #f-content", "短")
    _send(tab, "revise_opinion_report")
    assert "内容：至少 10 个字" in tab.find("#do-revise_opinion_report").text
    assert tab.value("#do-revise_opinion_report #f-content") == "短"
    tab.shot("opinion-revise-refused")
    tab.fill("#do-revise_opinion_report #f-content",
             "实验小学、第二中学门前路段上下学高峰拥堵，缺少交通协管员，建议增设护学岗和减速带。")
    _send(tab, "revise_opinion_report")
    assert "待编辑" in tab.find("dl.facts").text and "实验小学" in tab.text
    tab.logout()


def test_leaders_and_auditors_read_the_desk_and_members_may_not(tab):
    tab.login(AUDITOR)
    tab.open("/opinions")
    assert "社情民意编辑工作台" in tab.find("h1").text and not tab.find_all(".opinion-combine")
    tab.shot("opinion-desk-auditor")
    tab.open("/opinions/inbox")
    tab.shot("opinion-inbox")
    tab.logout()
    tab.login(LEADER)
    tab.open("/opinions/leader")
    tab.click("main a[href='/opinions']")
    assert "社情民意编辑工作台" in tab.find("h1").text and not tab.find_all(".opinion-combine")
    tab.logout()
    tab.login(MEMBER)
    tab.open("/opinions")
    assert "无权访问" in tab.find("h1").text
    tab.logout()
