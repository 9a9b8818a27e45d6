"""The public's pages, the auditors' and everyone's notifications, in a real browser on the
whole stack: an anonymous visitor finds a published case and sees its reply and no personal
data; a resident signs up, comments (refused in place first), sees the comment pending and
follows the case, which another visitor does not see; the auditor sees every log intact and a
case's state as of a moment between two of its events; a member marks a notice read and sets
how notices reach them."""

from __future__ import annotations

import re
import time
import uuid
from datetime import datetime, timedelta, timezone

from selenium.webdriver.common.by import By

PASSWORD = "demo-password-2024"
STAFF, AUDITOR = "staff-szs-001", "auditor-szs-01"
PHONE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
SHANGHAI = timezone(timedelta(hours=8))


def _proposal(api, member: str, title: str, *, publish: bool = False, pause: float = 0.0) -> dict:
    """A proposal of ``member``, filed by staff (and published): its id, stream and case number."""
    made = api(member, "POST", "/api/proposals", json={
        "title": title, "reasons": "小区周边缺少公共停车位，夜间占道停车严重。",
        "suggestions": "利用边角地建设立体停车场，错时开放机关单位停车位。", "category": "society",
        "publish_consent": publish})
    assert made.status_code == 201, made.text
    pid = made.json()["proposal_id"]
    time.sleep(pause)
    filed = api(STAFF, "POST", f"/api/proposals/{pid}/file", json={})
    assert filed.status_code == 200, filed.text
    receipt = filed.json()
    if publish:
        published = api(STAFF, "POST", f"/api/proposals/{pid}/publication", json={})
        assert published.status_code == 200, published.text
        receipt = published.json()
    case = api(STAFF, "GET", f"/api/proposals/{pid}").json()
    return {"proposal_id": pid, "stream": f"proposal-{pid}", "case_number": case["case_number"],
            "position": receipt["position"], "title": title}


def _published(api, case: dict) -> None:
    """Wait until the public list and the notify service both know the case is published."""
    deadline = time.monotonic() + 30
    while True:
        found = api(STAFF, "GET", "/api/public/proposals", params={"q": case["title"],
                                                                   "wait_for": case["position"]}).json()
        follow = api(STAFF, "GET", f"/api/proposals/{case['proposal_id']}/follow").json()
        if found["total"] == 1 and follow.get("published"):
            return
        assert time.monotonic() < deadline, (found, follow)
        time.sleep(0.2)


def _no_personal_data(html: str) -> None:
    page = re.sub(r'name="csrf" value="[0-9a-f]+"', "", html)  # the form tokens are hex, not data
    assert "m-szs-" not in page and "u-szs-" not in page and "leader-szs" not in page
    assert "@" not in page
    assert not PHONE.search(page), PHONE.search(page)


def test_an_anonymous_visitor_finds_a_published_case_and_its_reply_without_personal_data(tab, phone):
    tab.open("/public")
    assert tab.find("h1").text == "公开提案"
    assert [a.text for a in tab.find_all("header nav a")] == ["公开提案", "注册"]
    _no_personal_data(tab.html)
    tab.shot("public-list")
    tab.fill("#f-q", "星海湖")
    tab.click("form[role=search] button[type=submit]")
    assert "星海湖" in tab.value("#f-q") and "共 1 件" in tab.text
    tab.choose("#f-category", "culture")
    tab.click("form[role=search] button[type=submit]")
    assert "没有找到公开的提案" in tab.text  # 星海湖 is 生态文明, not 文化
    tab.choose("#f-category", "ecology")
    tab.click("form[role=search] button[type=submit]")
    tab.click("ul.cases h2 a")
    assert tab.path.startswith("/public/")
    text = tab.text
    assert "关于提升星海湖湿地生态功能的提案" in text and "已办结" in text and "生态文明" in text
    assert "已完成生态补水2000万立方米" in text and "A类" in text  # the reply
    assert "市林业和草原局" in text and "马志强" in text        # names, never ids
    assert "湿地变美了" in text and "观鸟步道已列入明年计划" in text  # an approved comment, answered
    assert "登录后可发表评论" in text and not tab.find_all("form[action$='/comments']")
    _no_personal_data(tab.html)
    tab.shot("public-case")
    phone.open("/public")
    _no_personal_data(phone.html)
    phone.shot("public-list-phone")
    phone.open(tab.path)
    phone.shot("public-case-phone")


def test_a_resident_signs_up_comments_sees_it_pending_and_follows_the_case(tab, api):
    title = f"关于增设社区公共停车位的提案（{uuid.uuid4().hex[:6]}）"
    case = _proposal(api, "m-szs-005", title, publish=True)
    _published(api, case)
    resident = f"res-{uuid.uuid4().hex[:8]}"

    tab.open("/signup")
    tab.fill("#f-user_id", resident)
    tab.fill("#f-display_name", "社区居民小李")
    tab.fill("#f-password", PASSWORD)
    tab.fill("#f-password_again", PASSWORD + "x")
    tab.click("main form button[type=submit]")
    assert "两次输入的密码不一致" in tab.text and "再次输入密码：与密码不一致" in tab.text
    assert tab.value("#f-user_id") == resident and tab.value("#f-display_name") == "社区居民小李"
    tab.shot("signup-refused")
    tab.fill("#f-password", PASSWORD)
    tab.fill("#f-password_again", PASSWORD)
    tab.click("main form button[type=submit]")
    assert "/login" in tab.path and "注册成功" in tab.text
    tab.login(resident)
    assert tab.path == "/public"
    assert {"公开提案", "通知"} <= {a.text for a in tab.find_all("header nav a")}

    tab.open(f"/public/{case['case_number']}")
    assert title in tab.text and "您还没有评论此提案" in tab.text
    assert tab.value("#f-display_name") == "社区居民小李"
    # too short: refused in place, the field named in Chinese, what was typed kept, nothing recorded
    tab.fill("#f-display_name", "停车难的居民")
    tab.fill("#f-text", "好")
    tab.click("form[action$='/comments'] button[type=submit]")
    assert "请检查：内容" in tab.find("form[action$='/comments'] .refusal").text
    assert "内容：至少 2 个字" in tab.text
    assert tab.value("#f-text") == "好" and tab.value("#f-display_name") == "停车难的居民"
    assert "您还没有评论此提案" in tab.text
    tab.shot("public-comment-refused")
    assert api(resident, "GET", f"/api/proposals/{case['proposal_id']}/comments/mine").json()["items"] == []
    tab.fill("#f-text", "建议夜间开放学校操场停车。")
    tab.click("form[action$='/comments'] button[type=submit]")
    assert "评论已提交，审核通过后将公开显示" in tab.text
    mine = tab.find("#mine").text
    assert "建议夜间开放学校操场停车。" in mine and "待审核" in mine and "停车难的居民" in mine
    assert "建议夜间开放学校操场停车" not in tab.find("#comments").text  # not shown publicly yet
    # following
    tab.click("#follow button[type=submit]")
    assert "已关注此提案" in tab.text and "已关注" in tab.find("#follow").text
    assert tab.find("#follow button").text == "取消关注"
    _no_personal_data(tab.html.replace(resident, ""))  # (their own user name is in the header)
    tab.shot("public-comment-pending")
    tab.logout()

    # another visitor does not see the pending comment
    tab.open(f"/public/{case['case_number']}")
    assert title in tab.text and "建议夜间开放学校操场停车" not in tab.html
    assert "还没有公开的评论" in tab.text


def test_the_auditor_sees_every_log_intact_and_a_cases_state_as_of_a_moment(tab, api):
    title = f"关于规范共享单车停放的提案（{uuid.uuid4().hex[:6]}）"
    case = _proposal(api, "m-szs-003", title, pause=1.5)  # a second and more between its events
    tab.login(AUDITOR)
    assert tab.path == "/audit"
    rows = tab.find_all("table.stack tbody tr")
    assert len(rows) == 5 and all("完好" in r.text for r in rows), [r.text for r in rows]
    assert [r.find_element(By.CSS_SELECTOR, "th").text for r in rows] == [
        "提案", "委员与组织", "社情民意", "通知", "账户与登录"]
    tab.shot("audit")
    tab.fill("#f-q", title)
    tab.click("form[role=search] button[type=submit]")
    tab.click("a.history-link")
    assert tab.path.startswith("/audit/history")
    assert "当前状态" in tab.text and "已立案" in tab.find("tr[data-key=status] td.then").text
    events = tab.find_all("ol.audit-events > li")
    assert len(events) >= 2 and "提交提案" in events[0].text and "立案" in events[1].text
    assert "马志强（委员）" in events[0].text and "提案委工作人员（工作人员）" in events[1].text  # by name
    tab.shot("audit-history")

    # the state as of a moment between the submission and the filing: as it was then
    history = api(AUDITOR, "GET", f"/api/audit/proposals/streams/{case['stream']}").json()
    first, second = (datetime.fromisoformat(e["recorded_at"]) for e in history["events"][:2])
    between = first.astimezone(SHANGHAI).replace(microsecond=0, tzinfo=None) + timedelta(seconds=1)
    assert first < between.replace(tzinfo=SHANGHAI) < second
    tab.driver.execute_script("document.getElementById('f-until').value = arguments[0]",
                              between.isoformat(timespec="seconds"))
    tab.click("form[action='/audit/history'] button[type=submit]")
    assert tab.value("#f-until") == between.isoformat(timespec="seconds")
    assert "截至" in tab.find("#state-h").text
    status = tab.find("tr[data-key=status]")
    assert "已提交" in status.find_element(By.CSS_SELECTOR, "td.then").text
    assert "已立案" in status.find_element(By.CSS_SELECTOR, "td.now").text
    assert "已变化" in status.text
    assert len(tab.find_all("ol.audit-events > li")) == 1  # the events up to then
    tab.shot("audit-history-as-of")
    # a moment that is not one: refused in place, the field named
    tab.open(f"/audit/history?service=proposals&stream={case['stream']}&until=yesterday")
    assert "截至时间" in tab.text and tab.find(".refusal").text
    tab.logout()


def test_a_member_marks_a_notice_read_and_sets_how_notices_reach_them(tab, api):
    member = "m-szs-006"
    title = f"关于加快老旧小区加装电梯的提案（{uuid.uuid4().hex[:6]}）"
    _proposal(api, member, title)
    deadline = time.monotonic() + 30
    while not any(title in n["body"] for n in api(member, "GET", "/api/notifications",
                                                  params={"unread": "true"}).json()["items"]):
        assert time.monotonic() < deadline, "the filing's notice did not reach the member's inbox"
        time.sleep(0.3)

    tab.login(member)
    tab.open("/notifications?unread=1")
    assert tab.find("h1").text == "通知" and "未读" in tab.find(".unread-count").text
    before = int(re.search(r"未读 (\d+) 条", tab.find(".unread-count").text).group(1))
    mine = next(li for li in tab.find_all("li.notice-item") if title in li.text)
    assert "提案已立案" in mine.text and "未读" in mine.text
    tab.shot("notifications")
    tab.click(f"#{mine.get_attribute('id')} button.mark-read")
    assert "已标为已读" in tab.text and "/notifications" in tab.path and "unread=1" in tab.path
    assert title not in tab.text  # read: no longer among the unread
    after = int(re.search(r"未读 (\d+) 条", tab.find(".unread-count").text).group(1))
    assert after <= before - 1
    tab.open("/notifications")
    read = next(li for li in tab.find_all("li.notice-item") if title in li.text)
    assert "已读于" in read.text

    tab.click("a[href^='/notifications/preferences']")
    assert tab.find("h1").text == "通知设置"
    tab.shot("notification-preferences")
    tab.choose("#f-kind", "proposal_filed")
    tab.fill("#f-quiet_hours", "25:00-07:00")
    tab.click("form[action='/notifications/preferences'] button[type=submit]")
    assert "请检查：免打扰时段" in tab.find(".refusal").text and "免打扰时段：" in tab.text
    assert tab.value("#f-quiet_hours") == "25:00-07:00" and tab.value("#f-kind") == "proposal_filed"
    tab.shot("notification-preferences-refused")
    tab.fill("#f-quiet_hours", "22:00-07:00")
    tab.choose("#f-cadence", "daily")
    tab.choose("#f-locale", "en")
    tab.click("form[action='/notifications/preferences'] button[type=submit]")
    assert "通知设置已保存" in tab.text
    row = tab.find("tr[data-kind=proposal_filed]").text
    assert "每日汇总" in row and "22:00-07:00" in row and "英文" in row and "本人设置" in row
    assert tab.value("#f-kind") == "proposal_filed" and tab.value("#f-quiet_hours") == "22:00-07:00"
    tab.logout()
