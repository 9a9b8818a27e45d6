"""Members, handling units and leaders in the browser: a joint proposal submitted (first refused
in place), confirmed by its co-signer, handled by its unit, rated by its proposer (a rating the
unit never sees), closed to a member who is not on it; a leader's supervision of a key
proposal; a member's duty record and a menu sign-up; staff entering a paper proposal."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

PROPOSER, CO_SIGNER, OUTSIDER = "m-szs-002", "m-szs-003", "m-szs-006"   # 李秀兰, 马志强, 赵文静
UNIT, UNIT_USER = "u-szs-jtj", "u-szs-jtj-handler"                       # 市交通运输局
LEADER, STAFF = "leader-szs-01", "staff-szs-001"
RATING_WORDS = ("满意", "评价", "Satisfied", "rating")


def _mark() -> str:
    return uuid.uuid4().hex[:6]


def _ok(answer) -> dict:
    assert answer.status_code < 300, answer.text
    return answer.json()


def _run(tab, rpc: str, fields: dict[str, str] | None = None, choices: dict[str, str] | None = None) -> None:
    """Open the case page's form of ``rpc``, fill it in and send it; back on the case, done."""
    form = f"#do-{rpc}"
    tab.find(f"{form} summary").click()
    for name, value in (choices or {}).items():
        tab.find(f"{form} input[name={name}][value={value}]").click()
    for name, text in (fields or {}).items():
        tab.fill(f"{form} [name={name}]", text)
    tab.click(f"{form} button[type=submit]")
    assert "操作已完成" in tab.text, tab.text[:1500]


def _in_days(n: int) -> str:
    """The committee's date n days from today (Asia/Shanghai, as the services count)."""
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=n)).isoformat()


def _filed_and_assigned(api, member: str, title: str, unit: str, **assignment) -> str:
    """A proposal of ``member`` filed and assigned to ``unit`` through the API (setting a scene)."""
    pid = _ok(api(member, "POST", "/api/proposals", json={
        "title": title, "reasons": "居民反映的问题由来已久。", "suggestions": "统筹规划，分步实施。",
        "category": "society"}))["proposal_id"]
    _ok(api(STAFF, "POST", f"/api/proposals/{pid}/file", json={}))
    _ok(api(STAFF, "POST", f"/api/proposals/{pid}/assignment", json={"lead_unit": unit, **assignment}))
    return pid


def _my_cases(api, member: str, q: str | None = None) -> dict:
    return _ok(api(member, "GET", f"/api/members/{member}/proposals", params={"q": q} if q else {}))


def test_a_joint_proposal_from_submission_to_a_rating_the_unit_never_sees(tab, phone, api):
    mark = _mark()
    title = f"关于优化城市公交线网的提案（{mark}）"
    reasons = "部分新建小区距公交站点超过一公里，居民出行不便。"
    before = _my_cases(api, PROPOSER)["total"]

    # the member submits a joint proposal: a title too short is refused in place, nothing recorded
    tab.login(PROPOSER)
    assert tab.path == "/mine"
    tab.open("/proposals/new")
    assert "提交提案" in tab.text and "马志强" in tab.text and "李秀兰" not in tab.find("form.form").text
    tab.shot("member-submit")
    tab.choose("#f-kind", "joint")
    tab.fill("#f-title", "公")
    tab.choose("#f-category", "society")
    tab.fill("#f-reasons", reasons)
    tab.fill("#f-suggestions", "优化线路布局，增设社区公交。")
    tab.find(f"input[name=co_signers][value={CO_SIGNER}]").click()
    tab.click("main form.form button[type=submit]")
    refusal = tab.find(".refusal").text
    assert "标题" in refusal and "标题" in tab.find("#f-title-error").text
    assert tab.value("#f-title") == "公" and tab.value("#f-reasons") == reasons
    assert tab.find(f"input[name=co_signers][value={CO_SIGNER}]").is_selected()
    assert tab.find("#f-kind option[value=joint]").is_selected()
    tab.shot("member-submit-refused")
    assert _my_cases(api, PROPOSER)["total"] == before   # nothing was recorded
    tab.fill("#f-title", title)
    tab.click("main form.form button[type=submit]")
    assert tab.path.startswith("/cases/") and "已提交" in tab.text and title in tab.text
    pid = tab.path.rsplit("/", 1)[1]
    assert "马志强（待确认）" in tab.text
    tab.logout()

    # the co-signer sees it waiting and confirms on the case page
    tab.login(CO_SIGNER)
    tab.open("/mine")
    tab.wait(lambda: title in tab.text, "the case in the co-signer's list")
    assert "请确认是否联名" in tab.find("section[aria-labelledby=waiting-h]").text
    tab.shot("member-mine-co-signer")
    tab.open(f"/cases/{pid}")
    _run(tab, "confirm_co_signature")
    assert "马志强（已确认）" in tab.text
    tab.logout()

    # the proposer sees it in their cases (also on a phone)
    tab.login(PROPOSER)
    tab.open("/mine")
    tab.wait(lambda: title in tab.text, "the case in the proposer's list")
    row = tab.find(f"tr[data-proposal='{pid}']").text
    assert "已提交" in row and "提案人" in row
    tab.shot("member-mine")
    phone.login(PROPOSER)
    phone.open("/mine")
    assert title in phone.text
    phone.shot("member-mine-phone")
    phone.logout()

    # staff file and assign it
    _ok(api(STAFF, "POST", f"/api/proposals/{pid}/file", json={}))
    assigned = _ok(api(STAFF, "POST", f"/api/proposals/{pid}/assignment", json={"lead_unit": UNIT}))

    # another case due in three days (a fixed deadline)
    soon = _filed_and_assigned(api, "m-szs-001", f"关于增设公交候车亭的提案（{mark}）", UNIT, deadline=_in_days(3))

    # the unit finds it in its inbox, records a contact and replies
    tab.logout()
    tab.login(UNIT_USER)
    assert tab.path == "/inbox"
    tab.open(f"/inbox?q={mark}")
    tab.wait(lambda: title in tab.text and soon in tab.html, "the cases in the unit's inbox")
    row = tab.find(f"tr[data-proposal='{pid}']")
    assert "主办" in row.text and "还剩" in row.text and "due-soon" not in row.get_attribute("class")
    assert "还剩 3 天" in tab.find(f"tr.due-soon[data-proposal='{soon}']").text
    assert [r.get_attribute("data-proposal") for r in tab.find_all("tbody tr")] == [soon, pid]   # most urgent first
    tab.open("/inbox")
    tab.shot("unit-inbox")
    phone.login(UNIT_USER)
    phone.open("/inbox")
    phone.shot("unit-inbox-phone")
    phone.logout()
    tab.open(f"/inbox?q={mark}")
    tab.click(f"tr[data-proposal='{pid}'] a")
    assert tab.path == f"/cases/{pid}" and "已交办" in tab.text
    _run(tab, "record_contact", {"summary": "办前电话联系提案人，商定调研线路。"}, {"stage": "before"})
    _run(tab, "reply_to_proposal", {"reply": "已新增社区公交线路两条，站点覆盖新建小区。"}, {"reply_class": "A"})
    assert "已答复" in tab.text and "已新增社区公交线路两条" in tab.text
    tab.shot("unit-case")
    tab.logout()

    # the proposer rates the reply on the case page: confidential
    tab.login(PROPOSER)
    tab.open("/mine")
    tab.wait(lambda: "请评价答复" in tab.text, "the reply waiting for a rating")
    tab.open(f"/cases/{pid}")
    _run(tab, "rate_reply", choices={"reply_rating": "satisfied", "attitude_rating": "basically_satisfied"})
    assert "评价（保密）" in tab.text and "基本满意" in tab.text
    tab.shot("member-case-rated")
    tab.logout()

    # the unit opens the case again: no rating anywhere on the page
    tab.login(UNIT_USER)
    tab.open(f"/cases/{pid}")
    assert title in tab.text and "已答复" in tab.text
    page = tab.find("body").text
    assert not [w for w in RATING_WORDS if w in page], page
    assert not tab.find_all("[id^=do-rate_reply]")
    tab.logout()

    # a member neither proposer nor co-signer: not allowed, and nothing of the case shown
    tab.login(OUTSIDER)
    tab.open(f"/cases/{pid}")
    assert "无权" in tab.text
    page = tab.find("body").text
    assert title not in page and reasons not in page and mark not in page
    tab.shot("member-case-not-allowed")
    tab.logout()
    assert assigned["proposal_id"] == pid


def test_a_leader_records_supervision_on_a_key_proposal(tab, api):
    mark = _mark()
    title = f"关于加强老旧小区燃气安全监管的提案（{mark}）"
    pid = _filed_and_assigned(api, "m-szs-004", title, "u-szs-zjj", deadline=_in_days(5))
    _ok(api(STAFF, "POST", f"/api/proposals/{pid}/key", json={"supervisors": [LEADER], "mode": "chairs_meeting"}))
    tab.login(LEADER)
    assert tab.path == "/supervision"
    tab.open(f"/supervision?q={mark}")
    tab.wait(lambda: title in tab.text, "the key proposal in the leader's list")
    row = tab.find(f"tr.due-soon[data-proposal='{pid}']").text
    assert "已交办" in row and "市住房和城乡建设局" in row and "张丽华" in row and "还剩 5 天" in row
    tab.open("/supervision")
    tab.shot("leader-supervision")
    tab.open(f"/supervision?q={mark}")
    tab.click(f"tr[data-proposal='{pid}'] a")
    assert "重点提案" in tab.text and "督办记录 0" in tab.text
    form = "#do-record_supervision"
    tab.find(f"{form} summary").click()
    tab.click(f"{form} button[type=submit]")           # empty: refused in place, naming the note
    assert "情况说明" in tab.find(f"{form} .refusal").text
    tab.choose(f"{form} select[name=kind]", "inspection")
    tab.fill(f"{form} [name=note]", "实地察看燃气管道改造进度。")
    tab.click(f"{form} button[type=submit]")
    assert "操作已完成" in tab.text and "督办记录 1" in tab.text
    tab.shot("leader-case")
    tab.logout()


def test_a_member_sees_their_duty_record_and_signs_up_for_a_menu(tab, api):
    mark = _mark()
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    menu_id, menu_title = f"menu-{mark}", f"{year}年度全体委员履职菜单（{mark}）"
    _ok(api(STAFF, "POST", "/api/menus", json={"menu_id": menu_id, "year": year, "title": menu_title, "items": [
        {"item_id": "research", "title": "城乡公交一体化调研", "form": "research"},
        {"item_id": "consult", "title": "托育服务体系协商", "form": "consultation"}]}))
    tab.login("m-szs-005")
    tab.open("/duty")
    tab.wait(lambda: menu_title in tab.text, "the menu on the duty page")
    assert "刘海涛" in tab.text and "累计履职积分" in tab.text and "积分排名" in tab.text
    assert "第 " in tab.find("section[aria-labelledby=year-h]").text
    tab.shot("member-duty")
    tab.click(f"a[href='/duty/menus/{menu_id}']")
    assert menu_title in tab.text and "至少认领 1 项" in tab.text
    tab.click("main form.form button[type=submit]")    # nothing ticked: refused in place
    assert "认领事项" in tab.find(".refusal").text
    tab.find("input[name=item_ids][value=research]").click()
    tab.click("main form.form button[type=submit]")
    assert "操作已完成" in tab.text and "您已认领 1 项" in tab.text and "已达到要求" in tab.text
    tab.shot("member-menu")

    def on_duty_page(text: str) -> bool:
        tab.open(f"/duty?year={year}")
        return text in tab.text
    tab.wait(lambda: on_duty_page("我已认领 1 项"), "the sign-up on the duty page")
    tab.wait(lambda: on_duty_page(f"{menu_title} · 城乡公交一体化调研"), "the sign-up's credit in the dossier")
    tab.logout()


def test_staff_enter_a_paper_proposal_for_a_member(tab, api):
    mark = _mark()
    title = f"关于建设城市口袋公园的提案（{mark}）"
    tab.login(STAFF)
    tab.open("/proposals/new")
    assert "代录提案" in tab.text
    tab.fill("#f-title", title)
    tab.choose("#f-category", "ecology")
    tab.fill("#f-reasons", "中心城区绿地分布不均。")
    tab.fill("#f-suggestions", "利用边角地建设口袋公园。")
    tab.click("main form.form button[type=submit]")     # for whom? refused in place
    assert "代为提交的委员" in tab.find(".refusal").text and tab.value("#f-title") == title
    tab.shot("staff-submit-refused")
    tab.choose("#f-on_behalf_of", "m-szs-001")
    tab.click("main form.form button[type=submit]")
    assert tab.path.startswith("/cases/") and title in tab.text and "王建国" in tab.text
    assert "代 王建国" in tab.text   # the history says on whose behalf
    tab.logout()
    assert _my_cases(api, "m-szs-001", q=mark)["total"] == 1


def test_a_member_submits_a_collective_proposal_for_a_body(tab, api):
    mark = _mark()
    title = f"关于支持民营企业参与城市更新的提案（{mark}）"
    tab.login(OUTSIDER)   # 赵文静, of the 民建 sector
    tab.open("/proposals/new")
    tab.choose("#f-kind", "collective")
    tab.fill("#f-title", title)
    tab.choose("#f-category", "economy")
    tab.fill("#f-reasons", "民营企业参与城市更新的渠道不畅。")
    tab.fill("#f-suggestions", "出台参与城市更新的指引，明确收益分配。")
    tab.click("main form.form button[type=submit]")   # no body named: refused in place
    assert "集体提案单位" in tab.find(".refusal").text and "集体提案必填" in tab.find("#f-body-name-error").text
    assert tab.value("#f-title") == title and tab.find("#f-kind option[value=collective]").is_selected()
    tab.shot("member-submit-collective-refused")
    tab.choose("#f-body-type", "sector")
    tab.choose("#f-body-name", "民建")
    tab.click("main form.form button[type=submit]")
    assert tab.path.startswith("/cases/") and "集体提案" in tab.text and "民建（界别）" in tab.text
    tab.logout()
    [case] = _my_cases(api, OUTSIDER, q=mark)["items"]
    assert case["status"] == "submitted"
