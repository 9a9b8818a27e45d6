"""The console in a real browser: the whole stack (``xieshang up`` with the demo committee, as
the README's first command runs it) on the real RabbitMQ, in a virtual host of its own, driven
by Debian's Chromium through its ChromeDriver (Selenium: WebDriver is plain HTTP, which the tests'
eventlet leaves working); axe-core (npm) checks each page against WCAG 2.2 AA.

One stack serves every browser test of the run (it takes a minute to start). Tests change the
demo committee's data, so each test makes what it needs itself (its own proposal, its own
report) or reads what the demo keeps as it is (the published cases, the closed one).
Screenshots go to ``test-artifacts/screenshots/`` (``XIESHANG_ARTIFACTS`` to choose another).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("XIESHANG_ARTIFACTS") or ROOT / "test-artifacts") / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
MANAGEMENT = os.environ.get("RABBIT_MANAGEMENT", "http://127.0.0.1:15672")
PASSWORD = "demo-password-2024"   # tools.demo.DEMO_PASSWORD
# WCAG 2.2 AA, as axe tags it
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

pytestmark = [pytest.mark.rabbit, pytest.mark.slow, pytest.mark.subprocess]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            for mark in ("rabbit", "slow", "subprocess"):
                item.add_marker(getattr(pytest.mark, mark))


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def console() -> Iterator[str]:
    """The console's base URL, the stack with the demo committee behind it."""
    vhost = f"xieshang-browser-{uuid.uuid4().hex[:8]}"
    auth = ("guest", "guest")
    # a run killed half-way leaves its virtual host behind, and each holds the broker's file
    # descriptors (its quorum queues): clear those no service is connected to any more
    listed = requests.get(f"{MANAGEMENT}/api/vhosts", auth=auth, timeout=30).json()
    connected = {c.get("vhost") for c in requests.get(f"{MANAGEMENT}/api/connections", auth=auth,
                                                      timeout=30).json()}
    for stale in (v["name"] for v in listed if v["name"].startswith("xieshang-browser-")):
        if stale not in connected:
            requests.delete(f"{MANAGEMENT}/api/vhosts/{quote(stale, safe='')}", auth=auth, timeout=60)
    made = requests.put(f"{MANAGEMENT}/api/vhosts/{quote(vhost, safe='')}", auth=auth, timeout=60)
    assert made.status_code in (201, 204), made.text
    requests.put(f"{MANAGEMENT}/api/permissions/{quote(vhost, safe='')}/guest", auth=auth, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    work = Path(tempfile.mkdtemp(prefix="xieshang-console-"))
    port = _free_port()
    out = work / "up.out"
    env = {**os.environ, "AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"}
    for key in ("EVENT_STORE", "DATABASE_URL", "XIESHANG_DATA_DIR", "XIESHANG_FIXED_TIME"):
        env.pop(key, None)
    with open(out, "wb") as sink:
        proc = subprocess.Popen([str(ROOT / ".venv" / "bin" / "xieshang"), "up", "--data-dir", str(work / "data"),
                                 "--web", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=sink,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while "READY" not in out.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the stack did not start:\n{out.read_text(errors='replace')}")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        requests.delete(f"{MANAGEMENT}/api/vhosts/{quote(vhost, safe='')}", auth=auth, timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def _driver(width: int, height: int, mobile: bool = False):
    for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            pytest.fail(f"no {what} at {path}: install Debian's {what} (infra/scripts/setup.sh does as root)")
    if not AXE.exists():
        pytest.fail(f"no axe-core at {AXE}: run npm ci --prefix tests/browser (infra/scripts/setup.sh does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--lang=zh-CN", "--hide-scrollbars"):
        options.add_argument(arg)
    if mobile:
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {
            "width": width, "height": height, "pixelRatio": 2, "touch": True}})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    return driver


class Tab:
    """A browser window on the console, with what every test does: log in and out, open a
    page, fill and send a form, check accessibility, keep a screenshot."""

    def __init__(self, driver: Any, base: str):
        self.driver, self.base = driver, base

    # -- finding and doing ----------------------------------------------------------------
    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    @property
    def url(self) -> str:
        return self.driver.current_url

    @property
    def path(self) -> str:
        return self.driver.current_url[len(self.base):]

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def fill(self, css: str, text: str) -> None:
        field = self.find(css)
        field.clear()
        field.send_keys(text)

    def choose(self, css: str, value: str) -> None:
        """Choose the option with ``value`` in the select ``css``."""
        from selenium.webdriver.support.ui import Select
        Select(self.find(css)).select_by_value(value)

    def click(self, css: str) -> None:
        """Click and, when it sends a form or follows a link, wait for the next page."""
        old = self.find("html")
        self.find(css).click()
        self.wait(lambda: _stale(old) and self.driver.execute_script("return document.readyState") == "complete",
                  f"the page after clicking {css}")

    def wait(self, condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = condition()
            except Exception:  # noqa: BLE001 - the page is changing under us: try again
                found = None
            if found:
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"waited {timeout:g} s for {what}; the page is {self.url}:\n{self.text[:2000]}")
            time.sleep(0.1)

    @property
    def text(self) -> str:
        try:
            return self.find("main").text
        except Exception:  # noqa: BLE001
            return self.driver.page_source

    @property
    def html(self) -> str:
        return self.driver.page_source

    def value(self, css: str) -> str:
        return self.find(css).get_attribute("value") or ""

    # -- sessions --------------------------------------------------------------------------
    def login(self, user_id: str, password: str = PASSWORD) -> None:
        self.open("/login")
        self.fill("#f-user_id", user_id)
        self.fill("#f-password", password)
        self.click("main form button[type=submit]")
        assert "/login" not in self.path, self.text[:500]

    def logout(self) -> None:
        self.click("header form[action='/logout'] button")
        assert "/login" in self.path and "您已安全退出" in self.text

    # -- checks ----------------------------------------------------------------------------
    def check_accessible(self, name: str) -> None:
        """axe-core on the page as it stands: no serious or critical WCAG 2.2 AA violation."""
        self.driver.execute_script(AXE.read_text())
        found = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
            ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            " nodes: v.nodes.slice(0, 5).map(n => n.target)})))).catch(e => done([{id: 'axe failed',"
            " impact: 'critical', help: String(e), nodes: []}]));", WCAG_TAGS)
        bad = [v for v in found if v.get("impact") in ("serious", "critical")]
        assert not bad, f"{name} ({self.url}): " + json.dumps(bad, ensure_ascii=False, indent=1)

    def shot(self, name: str, *, check: bool = True) -> Path:
        """Keep a screenshot of the whole page (and check it with axe unless told not to)."""
        import base64
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        size = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        width = self.driver.execute_script("return window.innerWidth")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "captureBeyondViewport": True, "format": "png",
            "clip": {"x": 0, "y": 0, "width": width, "height": min(size[1], 12000), "scale": 1}})
        path.write_bytes(base64.b64decode(shot["data"]))
        if check:
            self.check_accessible(name)
        return path


def _stale(element: Any) -> bool:
    try:
        element.is_enabled()
    except Exception:  # noqa: BLE001 - StaleElementReferenceException: a new page
        return True
    return False


@pytest.fixture(scope="session")
def _desktop(console):
    driver = _driver(1280, 900)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def _phone(console):
    driver = _driver(390, 844, mobile=True)
    yield driver
    driver.quit()


def _fresh(driver: Any, base: str) -> Tab:
    driver.get(base + "/static/console.css")  # on the site, so that its cookies can be cleared
    driver.delete_all_cookies()
    return Tab(driver, base)


@pytest.fixture
def tab(_desktop, console) -> Tab:
    """The desktop browser, with no cookies (nobody signed in)."""
    return _fresh(_desktop, console)


@pytest.fixture
def phone(_phone, console) -> Tab:
    """A phone-sized browser (390 x 844, touch), with no cookies."""
    return _fresh(_phone, console)


@pytest.fixture(scope="session")
def api(console) -> Callable[..., requests.Response]:
    """The API as a demo user, for setting up what a test needs: api(user, method, path, json=…)."""
    tokens: dict[str, str] = {}

    def call(user: str, method: str, path: str, **kw: Any) -> requests.Response:
        if user not in tokens:
            login = requests.post(f"{console}/api/auth/login", json={"user_id": user, "password": PASSWORD},
                                  timeout=30)
            login.raise_for_status()
            tokens[user] = login.json()["token"]
        return requests.request(method, console + path, headers={"Authorization": f"Bearer {tokens[user]}"},
                                timeout=30, **kw)
    return call
