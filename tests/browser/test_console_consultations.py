"""Consultations 协商议事 and supervision groups 民主监督组 in the browser, each person in their
own session: staff raise a topic and decide it, the party organisation (a leader) approves it,
staff plan it at a 民生议事堂 (set up through the API), record the research, the meeting and the
publication, the leader decides, staff give a unit a task, the unit reports it done from its
list, staff record the visit and the survey and close it; the calendar, the topic lists and
the year's figures. Then a supervision round: formed, fact finding, an opinion, the
department's report from its list, the verdict, closed. A screenshot of every page."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

STAFF, LEADER, AUDITOR = "staff-szs-001", "leader-szs-01", "auditor-szs-01"
UNIT = "u-szs-zjj"                      # 市住房和城乡建设局
UNIT_USER = f"{UNIT}-handler"
MEMBERS = ("m-szs-001", "m-szs-002")    # 王建国, 李秀兰


def _until(tab, path: str, text: str, what: str) -> None:
    """Open ``path`` until it shows ``text`` (lists come from read models that follow the log)."""
    def shown() -> bool:
        tab.open(path)
        return text in tab.text
    tab.wait(shown, what)


def _open(tab, command: str) -> None:
    details = tab.find(f"#do-{command}")
    if details.get_attribute("open") is None:
        tab.find(f"#do-{command} > summary").click()


def _send(tab, command: str) -> None:
    tab.click(f"#do-{command} button[type=submit]")
    assert not tab.find_all(".refusal"), tab.text[:3000]


def _set(tab, css: str, value: str) -> None:
    """A value set as a person's typing would leave it (date inputs take keys in the locale's order)."""
    tab.driver.execute_script("arguments[0].value = arguments[1]", tab.find(css), value)


def _tick(tab, css: str) -> None:
    box = tab.find(css)
    if not box.is_selected():
        box.click()


def _station(api, tag: str) -> tuple[str, str]:
    """A township and its 民生议事堂, set up by staff through the API; the feedback service's
    directory follows (its plan form offers the hall once it does)."""
    township, hall = f"twp-{tag}", f"hall-{tag}"
    made = api(STAFF, "POST", "/api/organisations", json={"org_id": township, "kind": "township",
                                                         "name": f"星海镇{tag}", "parent": "szs"})
    assert made.status_code == 201, made.text
    made = api(STAFF, "POST", "/api/stations", json={
        "station_id": hall, "name": f"星海镇民生议事堂{tag}", "station_type": "livelihood_hall",
        "level": "township", "location": township})
    assert made.status_code == 201, made.text
    return township, hall


def test_a_consultation_goes_through_the_eight_steps_and_a_supervision_round(tab, phone, api):
    tag = uuid.uuid4().hex[:6]
    title = f"星海镇老旧小区雨污分流改造 {tag}"
    township, hall = _station(api, tag)
    today = date.today().isoformat()   # the stack's clock is the real one

    # 1 议题收集: staff raise the residents' topic
    tab.login(STAFF)
    tab.open("/consultations")
    assert tab.find("header nav a[aria-current=page]").text == "协商议事"
    tab.click("main a[href='/consultations/new']")
    tab.fill("#f-title", title)
    tab.click("main form button[type=submit]")                 # nothing else filled: refused in place
    assert "议题说明" in tab.find(".refusal[role=alert]").text and tab.value("#f-title") == title
    tab.shot("consultation-new-refused")
    tab.fill("#f-description", "雨季污水外溢，群众反映强烈，需协商改造方案和资金分担。")
    tab.choose("#f-topic_kind", "infrastructure")
    tab.choose("#f-source", "resident")
    tab.click("main form button[type=submit]")
    assert "已提交" in tab.text and title in tab.find("h1").text and "议题收集" in tab.text
    consultation_id = tab.path.split("?")[0].rsplit("/", 1)[1]
    page = f"/consultations/{consultation_id}"

    # 2 确定议题 (staff); the approval is not theirs: no such form
    assert not tab.find_all("#do-approve_consultation_topic")
    _open(tab, "decide_consultation_topic")
    tab.fill("#do-decide_consultation_topic [name=note]", "属于基础设施建设事项，可以协商")
    _send(tab, "decide_consultation_topic")
    assert "待党组织批准" in tab.find("dl.facts").text
    tab.logout()

    tab.login(LEADER)
    _until(tab, "/consultations/leader", title, "the topic awaiting the party organisation")
    tab.shot("consultation-leader")
    tab.click(f"main a[href='{page}']")
    _open(tab, "approve_consultation_topic")
    _send(tab, "approve_consultation_topic")
    assert "待制定方案" in tab.find("dl.facts").text
    tab.logout()

    # 3 制定方案 at the hall (once the feedback service's directory knows it), 4 议前调研, 5 协商议事
    tab.login(STAFF)
    tab.wait(lambda: tab.open(page) or tab.find_all(f"#do-plan_consultation option[value='{hall}']"),
             "the new 民生议事堂 among the places")
    _open(tab, "plan_consultation")
    _set(tab, "#do-plan_consultation [name=held_on]", today)
    tab.choose("#do-plan_consultation [name=place]", hall)
    for member in MEMBERS:
        _tick(tab, f"#do-plan_consultation input[name=members][value={member}]")
    _tick(tab, f"#do-plan_consultation input[name=departments][value={UNIT}]")
    tab.fill("#do-plan_consultation [name=residents]", "12")
    tab.fill("#do-plan_consultation [name=stakeholders]", "沿街商户代表\n物业公司")
    tab.fill("#do-plan_consultation [name=agenda]", "一、通报改造方案；二、各方发言；三、形成协商成果。")
    _send(tab, "plan_consultation")
    plan = tab.find("section[aria-labelledby=plan-h]").text
    assert f"星海镇民生议事堂{tag}" in plan and "民生议事堂" in plan and "王建国" in plan and "市住房和城乡建设局" in plan
    _open(tab, "record_consultation_research")
    tab.choose("#do-record_consultation_research [name=kind]", "field_visit")
    _set(tab, "#do-record_consultation_research [name=held_on]", today)
    _tick(tab, f"#do-record_consultation_research input[name=members][value={MEMBERS[0]}]")
    tab.fill("#do-record_consultation_research [name=summary]", "实地查看了 3 个小区的排水管网，走访住户 40 户。")
    _send(tab, "record_consultation_research")
    _open(tab, "record_consultation_meeting")
    assert tab.find(f"#do-record_consultation_meeting input[name=members][value={MEMBERS[1]}]").is_selected()
    tab.find(f"#do-record_consultation_meeting input[name=members][value={MEMBERS[1]}]").click()  # absent
    _set(tab, "#do-record_consultation_meeting [name=held_on]", today)
    _tick(tab, f"#do-record_consultation_meeting input[name=speakers][value={MEMBERS[0]}]")
    tab.fill("#do-record_consultation_meeting [name=opinions]", "资金由区财政和产权单位共同分担")
    tab.fill("#do-record_consultation_meeting [name=outcomes]", "年内完成 3 个小区雨污分流改造\n建立管网日常巡查机制")
    tab.shot("consultation-planned")
    _send(tab, "record_consultation_meeting")
    meeting = tab.find("section[aria-labelledby=meeting-h]").text
    assert "李秀兰" in meeting and "缺席" in meeting and "建立管网日常巡查机制" in meeting

    # 6 公开公示
    _open(tab, "publish_consultation_results")
    tab.choose("#do-publish_consultation_results [name=channel]", "notice_board")
    tab.fill("#do-publish_consultation_results [name=text]", "协商结果：年内完成 3 个小区雨污分流改造。")
    _set(tab, "#do-publish_consultation_results [name=until]", (date.today() + timedelta(days=7)).isoformat())
    _send(tab, "publish_consultation_results")
    assert "政务公开栏" in tab.find("section[aria-labelledby=pub-h]").text
    tab.logout()

    # 7 组织决定 by the party organisation
    tab.login(LEADER)
    _until(tab, "/consultations/leader", title, "the results awaiting the decision")
    tab.open(page)
    _open(tab, "decide_consultation")
    for n in ("1", "2"):
        _tick(tab, f"#do-decide_consultation input[name=adopted_outcomes][value='{n}']")
    tab.fill("#do-decide_consultation [name=text]", "同意协商成果，由市住建局牵头落实。")
    _send(tab, "decide_consultation")
    assert "同意协商成果" in tab.find("section[aria-labelledby=decision-h]").text
    tab.logout()

    # 8 跟踪落实: a task to the unit
    tab.login(STAFF)
    tab.open(page)
    _open(tab, "assign_follow_up_task")
    tab.choose("#do-assign_follow_up_task [name=unit]", UNIT)
    tab.choose("#do-assign_follow_up_task [name=outcome]", "1")
    tab.fill("#do-assign_follow_up_task [name=task]", "完成 3 个小区雨污分流改造")
    assert tab.value("#do-assign_follow_up_task [name=deadline]")      # a deadline is suggested
    _send(tab, "assign_follow_up_task")
    assert "待落实" in tab.find("section[aria-labelledby=tasks-h]").text
    tab.logout()

    tab.login(UNIT_USER)
    _until(tab, "/consultations/tasks", title, "the task in the unit's list")
    assert tab.find("header nav a[aria-current=page]").text == "协商落实任务"
    box = tab.find("main details.command")
    box.find_element("css selector", "summary").click()
    tab.shot("consultation-unit-tasks")
    box.find_element("css selector", "textarea[name=report]").send_keys("3 个小区改造已完工并通过验收。")
    tab.click("main details.command button[type=submit]")
    assert "操作已完成" in tab.text
    tab.open(page)
    assert "已完成" in tab.find("section[aria-labelledby=tasks-h]").text and "议题说明" not in tab.text
    tab.shot("consultation-unit")
    tab.logout()

    # the visit, the survey, closed; the calendar, the lists, the figures
    tab.login(STAFF)
    tab.open(page)
    _open(tab, "record_follow_up_visit")
    _set(tab, "#do-record_follow_up_visit [name=visited_on]", today)
    _tick(tab, f"#do-record_follow_up_visit input[name=members][value={MEMBERS[0]}]")
    tab.fill("#do-record_follow_up_visit [name=findings]", "住户反映雨季不再外溢。")
    _send(tab, "record_follow_up_visit")
    _open(tab, "record_satisfaction_survey")
    for name, n in (("respondents", "20"), ("satisfied", "15"), ("basically_satisfied", "4"), ("dissatisfied", "2")):
        tab.fill(f"#do-record_satisfaction_survey [name={name}]", n)
    tab.click("#do-record_satisfaction_survey button[type=submit]")     # 15 + 4 + 2 is not 20
    assert tab.find("#do-record_satisfaction_survey .refusal[role=alert]").text
    assert tab.find("#do-record_satisfaction_survey").get_attribute("open") is not None
    tab.shot("consultation-survey-refused")
    tab.fill("#do-record_satisfaction_survey [name=dissatisfied]", "1")
    _send(tab, "record_satisfaction_survey")
    _open(tab, "close_consultation")
    tab.fill("#do-close_consultation [name=summary]", "改造完成，群众满意。")
    _send(tab, "close_consultation")
    assert "已办结" in tab.find("dl.facts").text
    history = tab.find("section[aria-labelledby=history-h]").text
    for event in ("议题收集", "党组织批准议题", "制定方案", "议前调研", "协商议事", "公开公示", "组织决定",
                  "交办落实任务", "落实任务完成", "跟踪回访", "满意度测评", "协商办结"):
        assert event in history, event
    assert hall not in tab.text and UNIT not in tab.text            # names, never ids
    tab.shot("consultation-closed")
    tab.click("header form[action='/language'] button")          # the same page in English
    assert "The plan" in tab.text and "Outcomes agreed" in tab.text and "协商方案" not in tab.text
    assert "Consultation closed" in tab.find("section[aria-labelledby=history-h]").text
    tab.shot("consultation-closed-en")
    tab.click("header form[action='/language'] button")
    _until(tab, f"/consultations?q={tag}", title, "the consultation in the list")
    assert "已办结" in tab.find("main tbody").text
    tab.shot("consultations")
    tab.open(f"/consultations/calendar?date_from={today}&date_to={today}")
    assert title in tab.text
    tab.shot("consultation-calendar")
    tab.open("/consultations/topic-lists")
    assert "不可协商事项" in tab.text and "党内事务和干部人事任免" in tab.text
    tab.fill("#f-kind", "infrastructure")
    tab.click("main section[aria-labelledby=amend-h] button[type=submit]")   # no words, no reason
    assert tab.find(".refusal[role=alert]").text
    tab.shot("consultation-topic-lists")
    tab.open(f"/consultations/statistics?year={date.today().year}")
    assert "民主监督" in tab.text and "民生议事堂" in tab.text
    tab.shot("consultation-statistics")

    # a supervision round: formed, fact finding, an opinion
    tab.open("/supervision-groups")
    group = f"老旧小区改造民主监督组 {tag}"
    tab.fill("#f-form-name", group)
    tab.choose("#f-form-leader", MEMBERS[0])
    _tick(tab, f"main input[name=members][value={MEMBERS[1]}]")
    tab.choose("#f-form-department", UNIT)
    tab.fill("#f-form-topic", "老旧小区改造工程质量和进度")
    tab.fill("#f-form-basis", "市政协年度民主监督工作方案")
    tab.click("main section[aria-labelledby=form-h] button[type=submit]")
    assert "操作已完成" in tab.text and group in tab.find("h1").text
    group_page = tab.path.split("?")[0]
    _open(tab, "record_fact_finding")
    tab.choose("#do-record_fact_finding [name=kind]", "site_visit")
    _set(tab, "#do-record_fact_finding [name=held_on]", today)
    _tick(tab, f"#do-record_fact_finding input[name=members][value={MEMBERS[0]}]")
    tab.fill("#do-record_fact_finding [name=findings]", "抽查 5 个小区，2 个小区进度滞后。")
    _send(tab, "record_fact_finding")
    _open(tab, "issue_supervision_opinion")
    tab.fill("#do-issue_supervision_opinion [name=text]", "请加快滞后小区的施工进度，并公开工程计划。")
    _set(tab, "#do-issue_supervision_opinion [name=deadline]", (date.today() + timedelta(days=20)).isoformat())
    _send(tab, "issue_supervision_opinion")
    assert "待部门报告办理情况" in tab.find("section[aria-labelledby=op-h]").text
    tab.shot("supervision-group-staff")
    tab.logout()

    # the department reports from its list; it sees no fact finding
    tab.login(UNIT_USER)
    _until(tab, "/supervision-groups/opinions", group, "the opinion in the department's list")
    tab.find("main details.command summary").click()
    tab.shot("supervision-unit-opinions")
    tab.find("main details.command textarea[name=report]").send_keys("已调整施工计划，月底前完工，计划已公开。")
    tab.click("main details.command button[type=submit]")
    assert "操作已完成" in tab.text
    tab.open(group_page)
    assert "监督调研" not in tab.text and "已办理，待核验" in tab.text
    tab.logout()

    # staff verify and close; the list
    tab.login(STAFF)
    tab.open(group_page)
    box = tab.find("details[id^=do-verify_supervision_effect]")
    box.find_element("css selector", "summary").click()
    box.find_element("css selector", "input[name=verdict][value=carried_out]").click()   # 落实到位
    box.find_element("css selector", "textarea[name=note]").send_keys("复查确认已按期完工")
    tab.click("details[id^=do-verify_supervision_effect] button[type=submit]")
    assert "已核验" in tab.text
    _open(tab, "close_supervision_group")
    tab.fill("#do-close_supervision_group [name=summary]", "监督意见均已落实到位。")
    _send(tab, "close_supervision_group")
    assert "已办结" in tab.find("dl.facts").text
    tab.shot("supervision-group-closed")
    _until(tab, f"/supervision-groups?q={tag}", group, "the group in the list")
    tab.shot("supervision-groups")
    tab.logout()

    # an auditor reads; a phone shows the consultation
    tab.login(AUDITOR)
    tab.open(page)
    assert not tab.find_all("details.command") and "办理过程" in tab.text
    tab.logout()
    phone.login(STAFF)
    phone.open(page)
    phone.shot("consultation-phone")
    phone.logout()
