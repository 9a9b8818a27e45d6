"""8. The web console: how long the gateway takes to render the staff worklist of a committee
with 1,000 cases, beside the JSON it is made from, and how much JavaScript the pages load.

The stack (bench.stack's ``Stack``): the proposals service, the members service and the gateway
(whose web port serves the console), each its own ``nameko run`` process on SQLite stores, on a
RabbitMQ virtual host made for the run. The proposals service runs as it ships, on a clock the
bench sets (``BenchClockProposals`` below: its own clock provider and one RPC that moves the
clock and runs the deadline timer's check at once, as the timer would on that day).

Before the clock starts, through the services' own RPC commands as staff, members and units
(the units and members registered in the members service first, then waited for in the
proposals service's directory): a committee of 1,000 proposals in varied states, loaded on a
day 100 days ago (submitted, returned, not filed, filed, assigned with the counted 90-day
deadline, assigned with a deadline due within a week, assigned with a later one, replied,
closed; some joint with a confirmed co-signer, some with co-units, some key proposals); then the
clock moves to today and the deadline check raises the overdue events (the 90-day deadlines
passed ten days ago) and the reminders, and the worklist read model shows them. A staff account
is opened through ``POST /api/accounts``, and the bench logs in through the console's own login
form (``GET /login``: the ``xs_csrf`` cookie and the form's hidden ``csrf`` field; ``POST
/login``: the ``xs_session`` cookie).

Figures, from a client process of its own (``python -m bench.console_pages client ARGS-JSON``:
one keep-alive ``http.client`` connection, one request in flight, each page and its reference
interleaved request by request so that both see the same load), each beside a reference
measured in the same run:

* ``GET /worklist`` as staff open it (the page's own defaults: the most urgent first, its page
  size of 50) p50/p95/p99 (target: p95 under 200 ms) and its bytes. Reference: ``GET
  /api/worklist?order=urgent&limit=50`` as the same staff (the session's token as a bearer
  token): the JSON the page is made from (checked: the page links the very cases the JSON lists,
  in its order). A second reference: the page's three API calls one after another (that
  worklist, the handling units to assign to, the rows' units' names), the rest of the page's
  time being its own (rendering, the session, the names).
* the 11th page (``?cursor=``, the keyset cursor of cases 501..550), beside the same call with
  that cursor; ``?limit=500`` too, should the page take a limit (it does not: 50 a page);
* ``GET /cases/<id>`` (a case's page: its facts, its commands as forms, its history) beside ``GET
  /api/proposals/<id>``;
* the worklist page and its JSON again with 4 clients at once (threads, each its own
  connection), p95;
* the JavaScript a console page loads: the bytes of every ``<script>`` (inline, or its ``src``
  fetched) on every page of the staff menu, the login page and a case page, the most on one page;
  target 100 KB. Reference: the HTML and stylesheets a page loads (their mean).

``python -m bench.console_pages client ARGS-JSON`` is the client process.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from services.proposals.service import ProposalsService
from xieshang.kernel.clock import SHANGHAI, ClockProvider, FixedClock
from xieshang.kernel.rpc import rpc  # the services' own (nameko's would be a second consumer of the queue)

SECTION = "8. console"
START_ENV = "XIESHANG_BENCH_CLOCK_START"     # where BenchClockProposals' clock starts (ISO 8601, zoned)
DAYS_BACK = 100                              # the committee's cases were loaded this many days ago
TARGET_P95_MS = 200.0
TARGET_JS_KB = 100.0
PASSWORD = "bench-console-password-2024"
STAFF_ID, STAFF_ORG = "staff-cb-001", "proposal-committee"
LEADER_ID = "leader-cb-01"
SIZES = {"smoke": {"proposals": 60, "members": 12, "units": 6, "requests": 30, "warm": 5, "threads": 4,
                   "clients": 2},
         "quick": {"proposals": 1000, "members": 60, "units": 20, "requests": 200, "warm": 20, "threads": 6,
                   "clients": 4},
         "full": {"proposals": 1000, "members": 120, "units": 20, "requests": 1000, "warm": 50, "threads": 6,
                  "clients": 4}}
# Where each case ends, out of every 100 (spread through the load, not in blocks).
MIX = (("submitted", 8), ("returned", 2), ("not_filed", 3), ("filed", 12), ("overdue", 15),
       ("due_soon", 7), ("assigned", 23), ("replied", 15), ("closed", 15))
PLAN = [state for state, share in MIX for _ in range(share)]
BUREAUS = ("民政局", "教育局", "住房和城乡建设局", "卫生健康委员会", "交通运输局", "自然资源局",
           "生态环境局", "人力资源和社会保障局", "财政局", "发展和改革委员会", "工业和信息化局",
           "商务局", "文化旅游局", "农业农村局", "水务局", "应急管理局", "市场监督管理局", "公安局",
           "城市管理局", "医疗保障局")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("建国", "秀兰", "志强", "丽华", "海涛", "文静", "卫东", "明", "芳", "军", "敏", "伟", "娟", "磊")
SECTORS = ("经济界", "教育界", "医药卫生界", "农业农村界", "科技界", "民建")
CATEGORIES = ("economy", "society", "ecology", "culture", "politics")
TOPICS = ("进一步加强城市老旧小区改造和社区养老服务设施建设", "完善农村义务教育阶段寄宿制学校建设",
          "推进城乡供水一体化和农村饮水安全提升", "优化营商环境、支持民营企业高质量发展",
          "提升星海湖湿地生态功能", "加强工业遗存保护利用", "提升食品安全治理水平",
          "完善森林和园林垃圾处置", "住宅小区新能源汽车充电设施建设", "构建全民健身服务体系",
          "尽快完善市区公交站点", "加强燃气安全管理和管道更新改造")
REASONS = ("近年来，我市在该领域的工作取得了积极成效，但仍存在标准不统一、配套设施不完善、"
           "部门协同不足等问题，群众反映较为集中。") * 3
SUGGESTIONS = "一是统筹规划，明确责任分工；二是加大投入，完善配套设施；三是建立长效机制，定期评估公开。"


# -- the proposals service on a clock the bench sets (``nameko run bench.console_pages:BenchClockProposals``)

class StartsInThePast(ClockProvider):
    """The container's clock: a FixedClock at ``$XIESHANG_BENCH_CLOCK_START`` (the bench's
    process only; the shipped provider reads the container's config alone)."""

    def setup(self) -> None:
        if self.clock is None:
            self.clock = FixedClock(datetime.fromisoformat(os.environ[START_ENV]))


class BenchClockProposals(ProposalsService):
    """The proposals service as it ships, on the bench's clock, with one RPC more."""

    clock = StartsInThePast()

    @rpc
    def bench_move_clock(self, at: str) -> dict[str, int]:
        """Set the clock to ``at`` and run the deadline timer's check now (reminders, overdue)."""
        self.clock.set(datetime.fromisoformat(at))
        return self.check_deadlines()


# -- the section ------------------------------------------------------------------------------

def run(*, quick: bool, smoke: bool) -> list:
    from .stack import RabbitAdmin

    admin = RabbitAdmin()
    try:
        overview = admin.overview()
    except Exception as exc:
        return skipped(f"RabbitMQ management API at {admin.base} unavailable: {type(exc).__name__}: {exc}")
    mode = "smoke" if smoke else "quick" if quick else "full"
    return ConsoleRun(admin, SIZES[mode], overview.get("rabbitmq_version")).run()


class ConsoleRun:
    """One run of the section: the stack, the committee's cases, the login, the client."""

    def __init__(self, admin, size: dict[str, int], rabbit: str | None):  # noqa: ANN001
        from tools.catalog import GATEWAY, service_module

        from .common import AMQP_URI
        from .stack import Stack, vhost_uri

        self.admin, self.size, self.rabbit = admin, size, rabbit
        self.vhost = f"xieshang-bench-{uuid.uuid4().hex[:8]}"
        self.workdir = tempfile.mkdtemp(prefix="xieshang-bench-console-")
        today = datetime.now(SHANGHAI).replace(hour=9, minute=0, second=0, microsecond=0)
        self.today = today
        self.start = today - timedelta(days=DAYS_BACK)
        self.gateway = GATEWAY
        self.stack = Stack(self.workdir, vhost_uri(AMQP_URI, self.vhost),
                           store_env={"EVENT_STORE": "sqlite", START_ENV: self.start.isoformat()},
                           started={"proposals": "bench.console_pages:BenchClockProposals",
                                    "members": service_module("members"), GATEWAY: service_module(GATEWAY)})
        self.units = [f"u-cb-{k:02d}" for k in range(size["units"])]
        self.members = [f"m-cb-{k:04d}" for k in range(size["members"])]
        self.views = os.path.join(self.stack.data, "proposals", "views.sqlite")

    def run(self) -> list:
        from .common import log
        from .stack import log_tails, tear_down

        size = self.size
        try:
            self.admin.create_vhost(self.vhost)
            t0 = time.monotonic()
            self.stack.start()
            log(f"  console: proposals, members and the gateway up in {time.monotonic() - t0:.1f} s "
                f"(vhost {self.vhost})")
            t0 = time.monotonic()
            self.make_directory()
            log(f"  console: {len(self.units)} units and {len(self.members) + 1} members known to the proposals "
                f"service in {time.monotonic() - t0:.1f} s")
            loaded = self.load()
            log(f"  console: {size['proposals']} proposals loaded on {self.start.date()} with "
                f"{loaded['commands']} commands in {loaded['seconds']:.1f} s ({loaded['per_s']:.0f} commands/s)")
            t0 = time.monotonic()
            moved = self.move_clock()
            log(f"  console: clock moved to {self.today.date()}: {moved['timer']} by the deadline check; the "
                f"worklist shows {moved['overdue']} overdue in {time.monotonic() - t0:.1f} s")
            self.open_account()
            session = self.log_in()
            log("  console: logged in through the console's login form")
            pages = self.targets(session)
            log(f"  console: worklist page size {pages['page_size']} (limit=500 "
                f"{'taken' if pages['limit500'] else 'not taken'}); measuring {len(pages['targets'])} paths, "
                f"{size['requests']} requests each, interleaved; the same cases as the references: "
                f"{[p['same_cases'] for p in pages['pairs']]}")
            measured = client({"host": "127.0.0.1", "port": self.stack.ports[self.gateway],
                               "targets": pages["targets"], "requests": size["requests"], "warm": size["warm"],
                               "concurrency": size["clients"], "concurrent": pages["concurrent"]}, timeout=900)
            for name, m in measured["targets"].items():
                log(f"  console: {name:<16} p50 {m['p50_ms']:7.1f}  p95 {m['p95_ms']:7.1f}  p99 {m['p99_ms']:7.1f} ms"
                    f"  {m['bytes']:>9,} bytes  {m['tail_stalls_30ms']:>3} stalled ≥30 ms after the headers")
            if "concurrent" in measured:
                for name, m in measured["concurrent"]["targets"].items():
                    log(f"  console: {name:<16} p50 {m['p50_ms']:7.1f}  p95 {m['p95_ms']:7.1f}  p99 "
                        f"{m['p99_ms']:7.1f} ms at {size['clients']} clients")
            scripts = self.javascript(session, pages)
            log(f"  console: {scripts['pages']} pages load {scripts['script_bytes']:,} bytes of JavaScript "
                f"({scripts['scripts']} <script> elements); HTML and CSS {scripts['other_bytes']:,} bytes")
        except Exception as exc:  # the suite makes it the section's failed row, with the traceback
            log(f"  console failed: {type(exc).__name__}: {exc}")
            log_tails(self.stack, self.stack.procs)
            raise
        finally:
            tear_down(self.stack, self.admin, self.vhost, self.workdir)
        return self.rows(loaded, moved, pages, measured, scripts)

    # -- before the clock ---------------------------------------------------------------------
    def rpc(self, actor):  # noqa: ANN001 - an Actor
        from nameko.standalone.rpc import ClusterRpcProxy

        from xieshang.kernel.context import CommandContext

        return ClusterRpcProxy({"AMQP_URI": self.stack.amqp_uri},
                               context_data=CommandContext(actor=actor, reason="bench: console").to_context_data(),
                               timeout=60)

    def make_directory(self) -> None:
        """The committee's organisation tree, its units and members (and a leader to supervise
        key proposals), each with a Chinese name; then wait until the proposals service's
        directory knows them all (it follows the members service's events)."""
        with self.rpc(staff()) as proxy:
            m = proxy.members
            m.register_organisation("cb-c", "committee", "基准测试市政协", parent=None, level="city")
            for k, sector in enumerate(SECTORS):
                m.register_organisation(f"cb-s{k}", "sector", sector, parent="cb-c")
            m.register_organisation(STAFF_ORG, "special_committee", "提案委员会", parent="cb-c")
            for k, u in enumerate(self.units):
                m.register_organisation(u, "handling_unit", "市" + BUREAUS[k % len(BUREAUS)]
                                        + (str(k // len(BUREAUS) + 1) if k >= len(BUREAUS) else ""), parent="cb-c")
            for k, member_id in enumerate(self.members):
                m.appoint_member(member_id, person_name(k), SECTORS[k % len(SECTORS)], "第十一届")
            m.appoint_member(LEADER_ID, "周卫东", SECTORS[0], "第十一届", roles=["chairs_meeting"])
            wanted = [*self.members, LEADER_ID, *self.units]
            deadline = time.monotonic() + 120
            while True:
                known: dict[str, Any] = {}
                for i in range(0, len(wanted), 200):
                    known.update(proxy.proposals.directory(wanted[i:i + 200]))
                missing = [i for i in wanted if not (known.get(i) or {}).get("kind")]
                if not missing:
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the proposals directory does not know {len(missing)} of {len(wanted)} "
                                       f"ids after 120 s (e.g. {missing[:3]})")
                time.sleep(0.2)

    def load(self) -> dict[str, Any]:
        """Every case through its commands, on ``threads`` threads (each its own RPC proxies);
        the counts by state the load meant to make."""
        n, threads = self.size["proposals"], self.size["threads"]
        counts = [0] * threads
        errors: list[str] = []
        plan = {state: 0 for state, _ in MIX}
        for k in range(n):
            plan[PLAN[(k * 37) % len(PLAN)]] += 1

        def work(t: int) -> None:
            loader = Loader(self, counts, t)
            try:
                for k in range(t, n, threads):
                    loader.case(k)
            except Exception as exc:  # the first failure fails the run, saying which command
                errors.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            finally:
                loader.close()

        t0 = time.perf_counter()
        workers = [threading.Thread(target=work, args=(t,), name=f"bench-console-load-{t}") for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seconds = time.perf_counter() - t0
        if errors:
            raise RuntimeError(f"loading the cases failed: {errors[0]}")
        return {"proposals": n, "commands": sum(counts), "seconds": seconds, "per_s": sum(counts) / seconds,
                "planned": plan}

    def move_clock(self) -> dict[str, Any]:
        """Move the proposals service's clock to today and run its deadline check; wait until the
        worklist read model holds every case and shows the overdue ones."""
        from .notify_fanout import count, wait_for

        with self.rpc(staff()) as proxy:
            timer = proxy.proposals.bench_move_clock(self.today.isoformat())
        n = self.size["proposals"]
        wait_for(lambda: count(self.views, "SELECT count(*) FROM proposal_worklist") >= n
                 and count(self.views, "SELECT count(*) FROM proposal_worklist WHERE overdue") >= timer["overdue"],
                 timeout=120, what="the worklist read model's cases and overdue flags", poll=0.05)
        by_state = {}
        for status in ("submitted", "returned", "not_filed", "filed", "assigned", "replied", "closed"):
            by_state[status] = count(self.views, f"SELECT count(*) FROM proposal_worklist WHERE status = '{status}'")
        return {"timer": timer, "overdue": count(self.views, "SELECT count(*) FROM proposal_worklist WHERE overdue"),
                "by_status": by_state, "key": count(self.views, "SELECT count(*) FROM proposal_worklist WHERE key")}

    def open_account(self) -> None:
        """The staff account the bench logs in with, opened by the gateway's bootstrap admin."""
        url = self.stack.url(self.gateway)
        token = http_json(url, "POST", "/api/auth/login",
                          {"user_id": self.stack.admin[0], "password": self.stack.admin[1]})["token"]
        http_json(url, "POST", "/api/accounts", {"user_id": STAFF_ID, "role": "staff", "organisation": STAFF_ORG,
                                                 "display_name": "提案委工作人员", "password": PASSWORD},
                  token=token)

    def log_in(self) -> dict[str, str]:
        """Through the console's login form: the csrf cookie and field, then the session cookie."""
        browser = Browser("127.0.0.1", self.stack.ports[self.gateway])
        page = browser.get("/login")
        if page.status != 200:
            raise RuntimeError(f"GET /login answered {page.status}")
        field = re.search(r'name="csrf" value="([^"]+)"', page.text)
        if not field or "xs_csrf" not in browser.cookies:
            raise RuntimeError("the login page has no csrf field or set no xs_csrf cookie")
        answer = browser.post("/login", {"csrf": field.group(1), "user_id": STAFF_ID, "password": PASSWORD})
        if answer.status != 303 or "xs_session" not in browser.cookies:
            raise RuntimeError(f"POST /login answered {answer.status} without a session: {answer.text[:300]}")
        return dict(browser.cookies)

    def targets(self, cookies: dict[str, str]) -> dict[str, Any]:
        """What the client times: pairs of a page and its reference, the API call(s) it is made
        from with the same filters, limit and cursor, as the same staff: the worklist as staff
        open it (the most urgent first, its page size), its 11th page (the keyset cursor of
        cases 501..550), with ?limit=500 if the page takes a limit; a case's page."""
        browser = Browser("127.0.0.1", self.stack.ports[self.gateway], cookies)
        token = cookies["xs_session"]
        size, order = worklist_page_size(), "urgent"
        api_path = "/api/worklist?" + urlencode({"order": order, "limit": size})
        first = json.loads(browser.get(api_path, token=token).text)
        case_id = first["items"][0]["proposal_id"]
        pairs = []
        page = browser.get("/worklist")
        worklist = page.status == 200
        if worklist:
            pairs.append(pair("worklist", "/worklist", api_path, page.text, first, cookies, token,
                              "GET /worklist, first page (most urgent first)",
                              f"GET /api/worklist?order={order}&limit={size} (the page's JSON), same staff", True))
            # what else the page asks the API for: the units to assign to, the names of the rows' units
            units = sorted({i["lead_unit"] for i in first["items"] if i.get("lead_unit")})
            calls = [api_path, "/api/organisations?" + urlencode({"kind": "handling_unit", "limit": 500})]
            if units:
                calls.append("/api/directory?" + urlencode({"ids": ",".join(units)}))
            pairs[-1]["targets"] += [{"name": "calls_worklist", "paths": calls, "token": token},
                                     {"name": "fresh_worklist", "path": "/worklist", "cookies": cookies,
                                      "fresh": True}]
            pairs[-1]["calls"] = calls
            cursor, answer, k = None, first, 1
            while k < 11 and answer.get("next_cursor"):
                cursor = answer["next_cursor"]
                answer = json.loads(browser.get(api_path + "&" + urlencode({"cursor": cursor}), token=token).text)
                k += 1
            if cursor and k == 11:
                deep = "/worklist?" + urlencode({"cursor": cursor})
                pairs.append(pair("worklist_p11", deep, api_path + "&" + urlencode({"cursor": cursor}),
                                  browser.get(deep).text, answer, cookies, token,
                                  "GET /worklist?cursor=…, 11th page",
                                  "GET /api/worklist, same order, limit and cursor", False))
            big_path = "/worklist?" + urlencode({"limit": 500})
            big = browser.get(big_path)
            if big.status == 200 and rows_in(big.text) > rows_in(page.text):
                api500 = "/api/worklist?" + urlencode({"order": order, "limit": 500})
                pairs.append(pair("worklist500", big_path, api500, big.text,
                                  json.loads(browser.get(api500, token=token).text), cookies, token,
                                  "GET /worklist?limit=500", f"GET {api500}, same staff", True))
        case = browser.get(f"/cases/{case_id}")
        pairs.append(pair("case", f"/cases/{case_id}", f"/api/proposals/{case_id}", case.text, None, cookies, token,
                          "GET /cases/<id>, a case's page (facts, command forms, history)",
                          "GET /api/proposals/<id>, same staff", False))
        targets = [t for p in pairs for t in p.pop("targets")]
        concurrent = ["worklist", "ref_worklist"] if worklist else ["case", "ref_case"]
        return {"pairs": pairs, "targets": targets, "concurrent": concurrent, "worklist": worklist,
                "page_size": size, "order": order, "limit500": any(p["name"] == "worklist500" for p in pairs),
                "case_id": case_id, "total": first.get("total")}

    def javascript(self, cookies: dict[str, str], pages: dict[str, Any]) -> dict[str, Any]:
        """Every page of the staff menu, the login page and a case page: the bytes of their
        scripts (inline, or fetched from their src once each), and of their HTML and
        stylesheets."""
        port = self.stack.ports[self.gateway]
        signed_in = Browser("127.0.0.1", port, cookies)
        anonymous = Browser("127.0.0.1", port)
        first = signed_in.get("/worklist")
        paths = ["/worklist", f"/cases/{pages['case_id']}", *menu_links(first.text)]
        fetched: dict[str, int] = {}
        out = {"pages": 0, "scripts": 0, "script_bytes": 0, "html_bytes": 0, "css_bytes": 0, "per_page": {},
               "csp": first.headers.get("content-security-policy", "")}
        seen: set[str] = set()
        for browser, path in [(anonymous, "/login"), *((signed_in, p) for p in paths)]:
            if path in seen:
                continue
            seen.add(path)
            answer = browser.get(path)
            if not answer.headers.get("content-type", "").startswith("text/html"):
                out["per_page"][path] = {"status": answer.status}
                continue
            # an error page counts too: it is the console's layout (a service not in this stack: 503)
            parsed = Assets()
            parsed.feed(answer.text)
            page_js = sum(len(s.encode()) for s in parsed.inline_scripts)
            for src in parsed.script_srcs:
                page_js += asset_bytes(browser, urljoin(path, src), fetched)
            css = sum(asset_bytes(browser, urljoin(path, href), fetched) for href in parsed.stylesheets)
            out["pages"] += 1
            out["scripts"] += len(parsed.inline_scripts) + len(parsed.script_srcs)
            out["script_bytes"] += page_js
            out["html_bytes"] += len(answer.body)
            out["css_bytes"] += css
            out["per_page"][path] = {"status": answer.status, "html_bytes": len(answer.body), "script_bytes": page_js,
                                     "css_bytes": css, "handlers": parsed.handlers}
        out["other_bytes"] = out["html_bytes"] + out["css_bytes"]
        out["largest_page_script_bytes"] = max((p.get("script_bytes", 0) for p in out["per_page"].values()),
                                               default=0)
        return out

    # -- the figures ------------------------------------------------------------------------------
    def rows(self, loaded: dict, moved: dict, pages: dict, measured: dict, scripts: dict) -> list:
        from .common import LOWER, Result

        t = measured["targets"]
        n = self.size["proposals"]
        common = {"rabbitmq": self.rabbit, "store": "sqlite", "proposals": n, "load": loaded, "worklist": moved,
                  "requests": self.size["requests"], "warm": self.size["warm"], "one_in_flight": True,
                  "page_size": pages["page_size"], "order": pages["order"], "client": measured.get("client")}
        rows = []
        if not pages["worklist"]:
            rows.append(Result(id="console.worklist_page_p95_ms", section=SECTION, figure="GET /worklist, p95",
                               unit="ms", ours=None, reference=None, reference_name="", better=LOWER,
                               target=TARGET_P95_MS, note="not measured: the console has no /worklist page"))
        for p in pages["pairs"]:
            ours, base = t[p["name"]], t["ref_" + p["name"]]
            label = p["label"] + (f": {p['rows']} of {n:,} cases" if p["rows"] else f" ({n:,} cases)")
            facts = {k: p[k] for k in ("path", "reference_path", "rows", "reference_rows", "same_cases")}
            for q in ("p50", "p95", "p99"):
                rows.append(Result(
                    id=f"console.{p['id']}_{q}_ms", section=SECTION, figure=f"{label}, {q}", unit="ms",
                    ours=ours[f"{q}_ms"], reference=base[f"{q}_ms"], reference_name=f"{p['reference_label']}, {q}",
                    better=LOWER, target=TARGET_P95_MS if p["target"] and q == "p95" else None, n=ours["count"],
                    note=p["note"] if q == "p50" else "",
                    extra={**common, **facts, "ours": ours, "reference": base} if q == "p95" else {}))
            rows.append(Result(
                id=f"console.{p['id']}_bytes", section=SECTION, figure=f"{p['label']}: bytes of the HTML",
                unit="bytes", ours=float(ours["bytes"]), reference=float(base["bytes"]),
                reference_name=f"{p['reference_label']}: bytes of the JSON", better=LOWER, n=1))
        if "calls_worklist" in t:
            p = next(p for p in pages["pairs"] if p["name"] == "worklist")
            ours, base = t["worklist"], t["calls_worklist"]
            rows.append(Result(
                id="console.worklist_page_p50_ms.vs_calls", section=SECTION,
                figure=f"{p['label']}: {p['rows']} of {n:,} cases, p50, vs the API calls it makes", unit="ms",
                ours=ours["p50_ms"], reference=base["p50_ms"],
                reference_name=f"the page's {len(p['calls'])} API calls one after another (its worklist, the "
                               f"handling units, the units' names), same staff, p50", better=LOWER, n=ours["count"],
                extra={"calls": p["calls"], "calls_timing": base, "page": ours,
                       "page_own_ms_p50": ours["p50_ms"] - base["p50_ms"]}))
        if "fresh_worklist" in t:
            ours, base = t["worklist"], t["fresh_worklist"]
            rows.append(Result(
                id="console.worklist_page_p95_ms.vs_new_connections", section=SECTION,
                figure="GET /worklist, first page, p95, on the kept-alive connection", unit="ms",
                ours=ours["p95_ms"], reference=base["p95_ms"],
                reference_name="the same page on a new connection each time, p95", better=LOWER, n=ours["count"],
                extra={"kept_alive": ours, "new_connections": base,
                       "tail_stalls_30ms": {"kept_alive": ours["tail_stalls_30ms"],
                                            "new_connections": base["tail_stalls_30ms"],
                                            "json_kept_alive": t["ref_worklist"]["tail_stalls_30ms"]}}))
        together = measured.get("concurrent")
        if together:
            name = pages["concurrent"][0]
            p = next(p for p in pages["pairs"] if p["name"] == name)
            ours, base = together["targets"][name], together["targets"]["ref_" + name]
            c = together["clients"]
            rows.append(Result(
                id=f"console.{p['id']}_{c}clients_p95_ms", section=SECTION,
                figure=f"{p['label']}, {c} clients at once, p95", unit="ms", ours=ours["p95_ms"],
                reference=base["p95_ms"], reference_name=f"{p['reference_label']}, the same {c} clients, p95",
                better=LOWER, n=ours["count"], extra={**together, "one_in_flight": False}))
        rows.append(Result(
            id="console.javascript_kb", section=SECTION,
            figure=f"JavaScript a console page loads (every <script>; the most of {scripts['pages']} pages)",
            unit="KB", ours=scripts["largest_page_script_bytes"] / 1024,
            reference=scripts["other_bytes"] / 1024 / max(scripts["pages"], 1),
            reference_name="the HTML and stylesheets a page loads (mean of the same pages)", better=LOWER,
            target=TARGET_JS_KB, n=scripts["pages"],
            note="" if scripts["script_bytes"] else "no <script> on any page (the pages' CSP allows none)",
            extra=scripts))
        return rows


def pair(name: str, path: str, reference_path: str, html: str, api: dict | None, cookies: dict[str, str],
         token: str, label: str, reference_label: str, target: bool) -> dict[str, Any]:
    """A page and its reference, with what shows they list the same cases (the cases the page
    links to, in order, against the reference's items)."""
    ids = re.findall(r'href="/cases/([0-9a-f-]{36})"', html)
    shown = list(dict.fromkeys(ids))
    wanted = [i["proposal_id"] for i in api["items"]] if api else None
    same = None if wanted is None else shown == wanted
    note = "" if same in (None, True) else (f"the page links {len(shown)} cases, the reference lists "
                                            f"{len(wanted)}: not the same list")
    ids_ = {"worklist": "worklist_page", "worklist_p11": "worklist_page11", "worklist500": "worklist_page500",
            "case": "case_page"}
    return {"name": name, "id": ids_[name], "path": path, "reference_path": reference_path, "label": label,
            "reference_label": reference_label, "target": target, "rows": rows_in(html) if api else None,
            "reference_rows": len(wanted) if wanted is not None else None, "same_cases": same, "note": note,
            "targets": [{"name": name, "path": path, "cookies": cookies},
                        {"name": "ref_" + name, "path": reference_path, "token": token}]}


def worklist_page_size() -> int:
    """The worklist page's page size (the staff pages' ``PAGE_SIZE``; 50 if it has none)."""
    try:
        from services.gateway.console.pages import staff as staff_pages
    except Exception:
        return 50
    return int(getattr(staff_pages, "PAGE_SIZE", 50))


class Loader:
    """One loading thread: RPC proxies per actor (opened on first use), and one case's commands."""

    def __init__(self, run: ConsoleRun, counts: list[int], thread: int):
        self.run, self.counts, self.thread = run, counts, thread
        self.proxies: dict[str, Any] = {}
        self.started: list[Any] = []

    def __call__(self, actor) -> Any:  # noqa: ANN001
        if actor.user_id not in self.proxies:
            proxy = self.run.rpc(actor)
            self.started.append(proxy)
            self.proxies[actor.user_id] = proxy.start().proposals
        self.counts[self.thread] += 1
        return self.proxies[actor.user_id]

    def close(self) -> None:
        for proxy in self.started:
            try:
                proxy.stop()
            except Exception:
                pass

    def case(self, k: int) -> None:
        """Case ``k``: submitted by a member (every tenth joint, its co-signer confirming), and
        taken as far as its planned state."""
        r = self.run
        state = PLAN[(k * 37) % len(PLAN)]
        proposer = r.members[k % len(r.members)]
        co_signer = r.members[(k + 7) % len(r.members)] if k % 10 == 3 else None
        title = f"关于{TOPICS[k % len(TOPICS)]}的提案（{k + 1:04d}）"
        pid = self(member(proposer)).submit_proposal(
            title, REASONS, SUGGESTIONS, CATEGORIES[k % len(CATEGORIES)],
            co_signers=[co_signer] if co_signer else [], publish_consent=k % 2 == 0)["proposal_id"]
        if co_signer:
            self(member(co_signer)).confirm_co_signature(pid)
        if state == "submitted":
            return
        if state == "returned":
            self(staff()).return_proposal(pid, "一事一案：请将不同事项分为两件提案")
            return
        if state == "not_filed":
            self(staff()).not_file_proposal(pid, "反映个案问题，不符合立案标准", conversion="opinion_report")
            return
        self(staff()).file_proposal(pid)
        if state == "filed":
            return
        if k % 20 == 1:
            self(staff()).designate_key_proposal(pid, [LEADER_ID], "chairs_meeting")
        lead = r.units[k % len(r.units)]
        co_units = [r.units[(k + j) % len(r.units)] for j in (3, 5)][:k % 3]
        deadline = None
        if state == "due_soon":
            deadline = (r.today + timedelta(days=3 + k % 4)).date().isoformat()
        elif state == "assigned":
            deadline = (r.today + timedelta(days=20 + k % 40)).date().isoformat()
        # overdue, replied, closed: the deadline the committee's rules count (90 days)
        self(staff()).assign_proposal(pid, lead, co_units, deadline=deadline)
        if state in ("overdue", "due_soon", "assigned"):
            return
        # replied: A, B or C; closed: A, or B followed up until kept
        reply_class = "ABC"[k % 3] if state == "replied" else "AB"[k % 2]
        self(unit(lead)).reply_to_proposal(pid, reply_class, "经研究，已将建议纳入明年工作计划，具体措施如下：" * 3)
        if state == "replied":
            return
        self(member(proposer)).rate_reply(pid, "satisfied", "satisfied")
        if co_signer:
            self(member(co_signer)).rate_reply(pid, "basically_satisfied", "satisfied")
        if reply_class == "B":
            self(unit(lead)).record_follow_up(pid, "承诺事项已全部落实", kept=True)
        self(staff()).close_proposal(pid)


def staff():
    from xieshang.kernel.envelope import Actor

    return Actor(STAFF_ID, "staff", STAFF_ORG)


def member(member_id: str):
    from xieshang.kernel.envelope import Actor

    return Actor(member_id, "member", "界别")


def unit(unit_id: str):
    from xieshang.kernel.envelope import Actor

    return Actor(f"{unit_id}-handler", "unit", unit_id)


def person_name(k: int) -> str:
    return SURNAMES[k % len(SURNAMES)] + GIVEN[(k // len(SURNAMES)) % len(GIVEN)] + (
        str(k // (len(SURNAMES) * len(GIVEN))) if k >= len(SURNAMES) * len(GIVEN) else "")


# -- HTTP in the bench's process (not timed) -----------------------------------------------------

class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes, set_cookies: list[str]):
        self.status, self.headers, self.body, self.set_cookies = status, headers, body, set_cookies

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class Browser:
    """Cookies as a browser on a loopback address keeps them (Secure ones too), no redirects."""

    def __init__(self, host: str, port: int, cookies: dict[str, str] | None = None):
        self.host, self.port = host, port
        self.cookies = dict(cookies or {})

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                token: str | None = None) -> Answer:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        elif self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            set_cookies = resp.headers.get_all("Set-Cookie") or []
            answer = Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, set_cookies)
        finally:
            conn.close()
        for line in set_cookies:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if value and "Max-Age=0" not in line:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        return answer

    def get(self, path: str, token: str | None = None) -> Answer:
        return self.request("GET", path, token=token)

    def post(self, path: str, form: dict[str, str]) -> Answer:
        return self.request("POST", path, form=form)


def http_json(url: str, method: str, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=json.dumps(body).encode(), headers=headers)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status >= 300:
        raise RuntimeError(f"{method} {path} answered {resp.status}: {data[:300]!r}")
    return json.loads(data) if data else None


def rows_in(html: str) -> int:
    """Rows of the page's tables (each case a row), or its list items if it has no table."""
    body = len(re.findall(r"<tr[\s>]", html)) - len(re.findall(r"<thead", html))
    return body if body > 0 else len(re.findall(r"<li[\s>]", html))


def menu_links(html: str) -> list[str]:
    """The local GET links of a page's navigation (its <nav> elements)."""
    out = []
    for nav in re.findall(r"<nav\b.*?</nav>", html, flags=re.S):
        for href in re.findall(r'<a\b[^>]*href="([^"]+)"', nav):
            if href.startswith("/") and not href.startswith("//") and href not in out:
                out.append(href.split("#", 1)[0])
    return out


class Assets(HTMLParser):
    """A page's scripts (inline text, src), stylesheets and inline event handlers (on*=)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.inline_scripts: list[str] = []
        self.script_srcs: list[str] = []
        self.stylesheets: list[str] = []
        self.handlers = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.handlers += sum(1 for k, _ in attrs if k.startswith("on"))
        if tag == "script":
            if a.get("src"):
                self.script_srcs.append(a["src"])
            else:
                self._in_script = True
                self.inline_scripts.append("")
        elif tag == "link" and "stylesheet" in (a.get("rel") or "") and a.get("href"):
            self.stylesheets.append(a["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_scripts[-1] += data


def asset_bytes(browser: Browser, path: str, fetched: dict[str, int]) -> int:
    if path not in fetched:
        answer = browser.get(path)
        fetched[path] = len(answer.body) if answer.status == 200 else 0
    return fetched[path]


def client(args: dict[str, Any], timeout: float) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.console_pages", "client", json.dumps(args)],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"console client failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def skipped(why: str) -> list:
    from .common import Result

    ids = [f"console.{what}_{q}" for what in ("worklist_page", "worklist_page11", "case_page")
           for q in ("p50_ms", "p95_ms", "p99_ms", "bytes")]
    return [Result(id=i, section=SECTION, figure=i, unit="", ours=None, reference=None, reference_name="",
                   note=why) for i in [*ids, "console.javascript_kb"]]


# -- the client (its own process) -----------------------------------------------------------------

def _rounds(host: str, port: int, targets: list[dict[str, Any]], n: int, warm: int) -> dict[str, Any]:
    """``n`` rounds (after ``warm`` untimed ones), each one GET of every target in turn on one
    keep-alive connection (a target with ``fresh`` on a new connection each time): each target's
    latencies (s), the time from its answer's headers to the end of its body (s), its last size
    and statuses."""
    headers = {}
    for t in targets:
        h = {"Accept-Encoding": "identity"}
        if t.get("token"):
            h["Authorization"] = f"Bearer {t['token']}"
        if t.get("cookies"):
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in t["cookies"].items())
        headers[t["name"]] = h
    kept = http.client.HTTPConnection(host, port, timeout=60)
    out = {t["name"]: {"lat": [], "tail": [], "bytes": 0, "statuses": {}} for t in targets}
    reconnects = 0
    for i in range(warm + n):
        for t in targets:
            name = t["name"]
            conn = http.client.HTTPConnection(host, port, timeout=60) if t.get("fresh") else kept
            t0 = time.perf_counter()
            size, status, tail = 0, 200, 0.0
            for path in t.get("paths") or [t["path"]]:   # several: one after the other, timed together
                try:
                    conn.request("GET", path, headers=headers[name])
                    resp = conn.getresponse()
                    t_headers = time.perf_counter()
                    body = resp.read()
                except (http.client.HTTPException, OSError):
                    conn.close()   # the server closed the kept connection: one more, timed with this request
                    conn = http.client.HTTPConnection(host, port, timeout=60)
                    reconnects += 1
                    conn.request("GET", path, headers=headers[name])
                    resp = conn.getresponse()
                    t_headers = time.perf_counter()
                    body = resp.read()
                tail += time.perf_counter() - t_headers
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection(host, port, timeout=60)
                    reconnects += 1
                size += len(body)
                status = status if resp.status == 200 else resp.status
            elapsed = time.perf_counter() - t0
            if t.get("fresh"):
                conn.close()
            else:
                kept = conn
            if i < warm:
                continue
            o = out[name]
            o["lat"].append(elapsed)
            o["tail"].append(tail)
            o["bytes"] = size
            o["statuses"][str(status)] = o["statuses"].get(str(status), 0) + 1
    kept.close()
    return {"targets": out, "reconnects": reconnects}


def _summary(parts: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    from .common import pct

    out = {}
    for name in parts[0]["targets"]:
        values = [x for p in parts for x in p["targets"][name]["lat"]]
        statuses: dict[str, int] = {}
        for p in parts:
            for s, c in p["targets"][name]["statuses"].items():
                statuses[s] = statuses.get(s, 0) + c
        bad = {s: c for s, c in statuses.items() if s != "200"}
        if bad:
            raise SystemExit(f"{name}: answers other than 200: {bad}")
        tails = [x for p in parts for x in p["targets"][name]["tail"]]
        out[name] = {"count": len(values), "p50_ms": pct(values, 0.5) * 1000, "p95_ms": pct(values, 0.95) * 1000,
                     "p99_ms": pct(values, 0.99) * 1000, "mean_ms": sum(values) / len(values) * 1000,
                     "max_ms": max(values) * 1000, "min_ms": min(values) * 1000,
                     "bytes": parts[0]["targets"][name]["bytes"], "statuses": statuses,
                     # the body's end 30 ms or more after its headers: a delayed ACK held its last segment
                     "tail_p50_ms": pct(tails, 0.5) * 1000,
                     "tail_stalls_30ms": sum(1 for x in tails if x >= 0.030)}
    total = sum(o["count"] for o in out.values())
    return {"targets": out, "seconds": seconds, "requests_per_s": total / seconds if seconds else None,
            "reconnects": sum(p["reconnects"] for p in parts)}


def _client_main(args: dict[str, Any]) -> dict[str, Any]:
    """One client on one keep-alive connection, one request in flight, the targets interleaved;
    then ``concurrency`` such clients at once (threads, each its own connection), on the
    targets of ``concurrent`` (names)."""
    host, port, targets = args["host"], args["port"], args["targets"]
    t0 = time.perf_counter()
    one = _summary([_rounds(host, port, targets, args["requests"], args["warm"])], time.perf_counter() - t0)
    out: dict[str, Any] = {"targets": one["targets"],
                           "client": {"seconds": one["seconds"], "reconnects": one["reconnects"],
                                      "how": "http.client, one keep-alive connection, one request in flight, "
                                             "targets interleaved"}}
    c = args.get("concurrency") or 0
    if c > 1:
        chosen = [t for t in targets if t["name"] in args["concurrent"]]
        parts: list[dict[str, Any]] = [{}] * c
        n = max(1, args["requests"] // c)

        def client_thread(k: int) -> None:
            parts[k] = _rounds(host, port, chosen, n, max(1, args["warm"] // c))

        threads = [threading.Thread(target=client_thread, args=(k,)) for k in range(c)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if any(not p for p in parts):
            raise SystemExit("a concurrent client failed")
        out["concurrent"] = {**_summary(parts, time.perf_counter() - t0), "clients": c,
                             "how": f"{c} threads, each its own keep-alive connection, targets interleaved"}
    return out


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    if len(sys.argv) != 3 or sys.argv[1] != "client":
        raise SystemExit("usage: python -m bench.console_pages client ARGS-JSON")
    print(json.dumps(_client_main(json.loads(sys.argv[2]))))
