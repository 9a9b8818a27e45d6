"""Logging in and out, the language, the account page, and what happens to a forged form."""

from __future__ import annotations


def test_a_person_logs_in_sees_their_account_switches_language_and_logs_out(tab):
    tab.open("/account")
    assert "/login" in tab.path  # a page for the signed-in sends others to log in first
    tab.shot("login")
    tab.login("staff-szs-001")
    tab.open("/account")
    assert "提案委工作人员" in tab.text and "工作人员" in tab.text
    tab.shot("account")
    tab.click("header form[action='/language'] button")
    assert "My account" in tab.text and tab.find("html").get_attribute("lang") == "en"
    tab.click("header form[action='/language'] button")
    assert tab.find("html").get_attribute("lang") == "zh-CN"
    tab.logout()
    tab.open("/account")
    assert "/login" in tab.path


def test_a_wrong_password_is_refused_in_place_keeping_the_user_name(tab):
    tab.open("/login")
    tab.fill("#f-user_id", "m-szs-001")
    tab.fill("#f-password", "not-the-password")
    tab.click("main form button[type=submit]")
    assert "用户名或密码错误" in tab.text
    assert tab.value("#f-user_id") == "m-szs-001"
    tab.shot("login-refused")


def test_a_form_without_its_csrf_token_changes_nothing(tab):
    tab.login("m-szs-002")
    tab.driver.execute_script(
        "document.querySelector(\"header form[action='/logout'] input[name=csrf]\").value = 'forged'")
    tab.click("header form[action='/logout'] button")
    assert "表单已过期" in tab.text
    tab.open("/account")
    assert tab.path == "/account"  # still signed in: the forged logout did nothing
