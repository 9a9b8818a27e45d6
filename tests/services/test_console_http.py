"""The web console over plain HTTP (no browser): its session cookie, CSRF on every form, the
lockout the API has, its security headers, and pages for those who may not open them."""

from __future__ import annotations

import re

import pytest
import requests

from .test_gateway_http import PASSWORD, USERS, open_accounts, start_gateway

pytestmark = pytest.mark.rabbit


@pytest.fixture
def console(container_factory, rabbit_config, tmp_path):
    config = {**rabbit_config, "XIESHANG_DATA_DIR": str(tmp_path), "XIESHANG_FIXED_TIME": "2024-03-01T09:00:00+08:00"}
    client = start_gateway(container_factory, config)
    open_accounts(client, {"staff": (*USERS["staff"][:1], "staff", USERS["staff"][1]),
                           "member": (USERS["member"][0], "member", USERS["member"][1])})
    return client.base


class Browser:
    """Keeps the console's cookies as a browser does on a loopback address (Secure cookies are
    sent over plain HTTP to 127.0.0.1), and follows no redirect by itself."""

    def __init__(self, base: str):
        self.base, self.cookies, self.set_cookies = base, {}, []

    def request(self, method: str, path: str, **kw) -> requests.Response:
        headers = {**kw.pop("headers", {}), "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        answer = requests.request(method, self.base + path, headers=headers, allow_redirects=False,
                                  timeout=10, **kw)
        self.set_cookies = answer.raw.headers.getlist("Set-Cookie")
        for line in self.set_cookies:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in line:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return answer

    def get(self, path: str, **kw) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.request("POST", path, **kw)

    def csrf(self, path: str = "/login") -> str:
        page = self.get(path)
        assert page.status_code == 200, page.text
        return re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)


def test_logging_in_sets_a_secure_httponly_session_cookie_and_logging_out_ends_the_token(console):
    s = Browser(console)
    answer = s.post("/login", data={"csrf": s.csrf(), "user_id": USERS["staff"][0], "password": PASSWORD})
    assert answer.status_code == 303 and answer.headers["Location"] == "/worklist"
    [cookie] = [c for c in s.set_cookies if c.startswith("xs_session=")]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    session_token = s.cookies["xs_session"]
    # the token is the API's: it works there, until the console's logout ends it everywhere
    assert requests.get(console + "/api/auth/me", headers={"Authorization": f"Bearer {session_token}"},
                        timeout=10).status_code == 200
    account = s.get("/account")
    assert account.status_code == 200 and "staff-01" in account.text
    assert account.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert account.headers["X-Frame-Options"] == "DENY" and account.headers["Cache-Control"] == "no-store"
    logout = s.post("/logout", data={"csrf": s.csrf("/account")})
    assert logout.status_code == 303 and logout.headers["Location"] == "/login"
    assert requests.get(console + "/api/auth/me", headers={"Authorization": f"Bearer {session_token}"},
                        timeout=10).status_code == 401


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused_and_changes_nothing(console):
    s = Browser(console)
    s.csrf()
    no_token = s.post("/login", data={"user_id": USERS["staff"][0], "password": PASSWORD})
    assert no_token.status_code == 400 and "表单已过期" in no_token.text and "xs_session" not in s.cookies
    other_site = s.post("/login", data={"csrf": s.csrf(), "user_id": USERS["staff"][0], "password": PASSWORD},
                        headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 400 and "xs_session" not in s.cookies
    # a token made for another browser's cookie does not pass either
    crossed = s.post("/login", data={"csrf": Browser(console).csrf(), "user_id": USERS["staff"][0],
                                     "password": PASSWORD})
    assert crossed.status_code == 400 and "xs_session" not in s.cookies
    # the same form with its own token logs in
    assert s.post("/login", data={"csrf": s.csrf(), "user_id": USERS["staff"][0],
                                  "password": PASSWORD}).status_code == 303


def test_wrong_passwords_lock_the_account_as_the_api_does_and_the_page_says_so(console):
    s = Browser(console)
    seen = set()
    for _ in range(12):
        answer = s.post("/login", data={"csrf": s.csrf(), "user_id": USERS["member"][0],
                                        "password": "wrong-password-123"})
        assert answer.status_code in (401, 429), answer.status_code
        seen.add(answer.status_code)
        assert 'value="m-001"' in answer.text  # what was typed is kept
    assert 429 in seen or "锁定" in answer.text or "过多" in answer.text
    # the right password now: still refused while locked or throttled, through the API too
    api = requests.post(console + "/api/auth/login", json={"user_id": USERS["member"][0], "password": PASSWORD},
                        timeout=10)
    assert api.status_code in (401, 429)


def test_pages_for_the_signed_in_send_others_to_log_in_and_roles_that_may_not_are_told(console):
    anonymous = requests.get(console + "/account", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 303 and anonymous.headers["Location"].startswith("/login?next=")
    missing = requests.get(console + "/no-such-page", timeout=10)
    assert missing.status_code == 404 and "页面不存在" in missing.text
    assert missing.headers["Content-Type"].startswith("text/html")
    # the API's own unknown routes stay problem+json
    assert requests.get(console + "/api/nowhere", timeout=10).headers["Content-Type"].startswith(
        "application/problem+json")
    css = requests.get(console + "/static/console.css", timeout=10)
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert requests.get(console + "/static/../service.py", timeout=10).status_code == 404
