"""The stack section's clients, each run as its own process (``python -m
bench.stack_client MODE JSON-ARGS``), printing one JSON object.

``throughput``, ``commands`` and ``load`` run on eventlet green threads (as nameko's own clients do), each
green thread with its own RPC proxies (one per actor: the member, staff, the unit) or its own
keep-alive HTTP connection. ``sample`` runs without eventlet, one command in flight, and polls
the members service's views database between the command's reply and the moment its effect is
visible there.

The lifecycle every command client repeats: submit (member), file (staff), assign (staff),
reply A (unit), rate (member), close (staff): six commands, as a committee's year has them.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from typing import Any, Callable

MODE = sys.argv[1] if len(sys.argv) > 1 else ""
if MODE in ("throughput", "commands", "load"):
    import eventlet

    eventlet.monkey_patch()

import warnings  # noqa: E402

warnings.filterwarnings("ignore")

from xieshang.kernel.context import CommandContext  # noqa: E402
from xieshang.kernel.envelope import Actor  # noqa: E402

STAFF = Actor("staff-001", "staff", "proposal-committee")
TEXT = ("近年来，我市老旧小区改造工作取得了积极成效，但仍存在改造标准不统一、配套设施不完善等问题。" * 4)
CALL_TIMEOUT = 30


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q * (len(s) - 1)))))]


def summary(lat: list[float], seconds: float, errors: int = 0, **more: Any) -> dict[str, Any]:
    return {"count": len(lat), "per_s": len(lat) / seconds if seconds else None,
            "p50_ms": (pct(lat, 0.5) or 0) * 1000, "p99_ms": (pct(lat, 0.99) or 0) * 1000,
            "errors": errors, **more}


class Proxies:
    """One ClusterRpcProxy per actor, started on first use."""

    def __init__(self, amqp_uri: str):
        self.config = {"AMQP_URI": amqp_uri}
        self._open: dict[str, Any] = {}
        self._containers: list[Any] = []

    def __call__(self, actor: Actor | None, service: str) -> Any:
        from nameko.standalone.rpc import ClusterRpcProxy

        key = actor.user_id if actor else ""
        if key not in self._open:
            ctx = CommandContext(actor=actor).to_context_data() if actor else {}
            proxy = ClusterRpcProxy(self.config, context_data=ctx, timeout=CALL_TIMEOUT)
            self._containers.append(proxy)
            self._open[key] = proxy.start()
        return getattr(self._open[key], service)

    def stop(self) -> None:
        for p in self._containers:
            try:
                p.stop()
            except Exception:
                pass


def member(m: str) -> Actor:
    return Actor(m, "member", "界别")


def unit(u: str) -> Actor:
    return Actor(f"{u}-handler", "unit", u)


def make_known(proxies: Proxies, members: list[str], units: list[str], timeout: float = 60.0) -> None:
    """Appoint ``members`` and register ``units`` in the members service, then wait until the
    proposals service's directory (which checks every id a command names) has them: the
    benchmark's cases name only people and units the committee knows, as real ones do."""
    staff = proxies(STAFF, "members")
    for org_id, kind, name in (("bench-c", "committee", "基准测试政协"), ("bench-s", "sector", "界别")):
        try:
            staff.register_organisation(org_id, kind, name, parent=None if kind == "committee" else "bench-c",
                                        level="county" if kind == "committee" else None)
        except Exception:  # registered by an earlier run on the same data
            pass
    for u in units:
        try:
            staff.register_organisation(u, "handling_unit", f"承办单位{u}")
        except Exception:
            pass
    for m in members:
        try:
            staff.appoint_member(m, f"委员{m}", "界别", "第十届")
        except Exception:
            pass
    wanted, deadline = [*members, *units], time.monotonic() + timeout
    while time.monotonic() < deadline:
        known = {}
        for i in range(0, len(wanted), 200):
            known.update(proxies(STAFF, "proposals").directory(wanted[i:i + 200]))
        if all(entry.get("kind") for entry in known.values()):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the proposals directory did not learn {len(wanted)} ids within {timeout:.0f} s")


class Lifecycles:
    """A client driving lifecycles one command at a time; ``step()`` does the next command."""

    def __init__(self, proxies: Proxies, worker: int, session: str):
        self.p = proxies
        self.m = f"m-load-{worker:03d}"
        self.u = f"u-load-{worker % 20:02d}"
        self.session = session
        self.pid: str | None = None
        self.i = 0

    def step(self) -> None:
        p, m, u = self.p, self.m, self.u
        k = self.i % 6
        self.i += 1
        try:
            if k == 0:
                self.pid = p(member(m), "proposals").submit_proposal(
                    "关于优化营商环境的提案", TEXT, "建议：具体措施。", "economy", session=self.session)["proposal_id"]
            elif k == 1:
                p(STAFF, "proposals").file_proposal(self.pid)
            elif k == 2:
                p(STAFF, "proposals").assign_proposal(self.pid, u)
            elif k == 3:
                p(unit(u), "proposals").reply_to_proposal(self.pid, "A", "答复意见：已研究落实。" * 10)
            elif k == 4:
                p(member(m), "proposals").rate_reply(self.pid, "satisfied", "satisfied")
            else:
                p(STAFF, "proposals").close_proposal(self.pid)
        except Exception:
            self.i = 0  # start a new lifecycle after any refusal or failure
            raise


def _green_run(workers: int, seconds: float, make: Callable[[int], Callable[[], None]],
               pace: float | None = None) -> dict[str, Any]:
    """``workers`` green threads calling their step until ``seconds`` pass; with ``pace``
    (calls/s for all together), each call waits for its slot in a shared schedule."""
    import eventlet

    lat: list[float] = []
    errors = [0]
    steps = [make(w) for w in range(workers)]
    for step in steps:  # connect and warm every proxy before the clock starts
        try:
            step()
        except Exception:
            pass
    start = time.perf_counter()
    deadline = start + seconds
    slot = [start]

    def loop(step: Callable[[], None]) -> None:
        while True:
            if pace:
                mine = slot[0]
                slot[0] += 1.0 / pace
                wait = mine - time.perf_counter()
                if wait > 0:
                    eventlet.sleep(wait)
            if time.perf_counter() >= deadline:
                return
            t0 = time.perf_counter()
            try:
                step()
                lat.append(time.perf_counter() - t0)
            except Exception:
                errors[0] += 1

    pool = eventlet.GreenPool(workers)
    for step in steps:
        pool.spawn(loop, step)
    pool.waitall()
    return summary(lat, time.perf_counter() - start, errors[0], workers=workers)


def _http_step(url: str) -> Callable[[int], Callable[[], None]]:
    from http.client import HTTPConnection
    from urllib.parse import urlparse

    u = urlparse(url)

    def make(_w: int) -> Callable[[], None]:
        conn = HTTPConnection(u.hostname, u.port, timeout=CALL_TIMEOUT)

        def step() -> None:
            conn.request("GET", u.path)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
        return step
    return make


class Http:
    """A keep-alive JSON client of the gateway for one green thread."""

    def __init__(self, url: str):
        from http.client import HTTPConnection
        from urllib.parse import urlparse

        u = urlparse(url)
        self.conn = HTTPConnection(u.hostname, u.port, timeout=CALL_TIMEOUT)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        headers = {"content-type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status} {raw[:300]!r}")
        return json.loads(raw) if raw else None


PASSWORD = "bench-password-0123456789"


def http_accounts(url: str, admin: tuple[str, str], workers: int) -> dict[str, str]:
    """Accounts for the HTTP lifecycle (staff, a member and a unit per worker): user id -> token."""
    h = Http(url)
    admin_token = h.call("POST", "/api/auth/login", {"user_id": admin[0], "password": admin[1]})["token"]
    people = [("staff-http", "staff", "proposal-committee")]
    people += [(f"m-http-{w:03d}", "member", "界别") for w in range(workers)]
    people += [(f"u-http-{w:02d}-handler", "unit", f"u-http-{w:02d}") for w in range(min(workers, 20))]
    tokens = {}
    for user_id, role, org in people:
        h.call("POST", "/api/accounts", {"user_id": user_id, "role": role, "organisation": org,
                                         "display_name": user_id, "password": PASSWORD}, admin_token)
        tokens[user_id] = h.call("POST", "/api/auth/login", {"user_id": user_id, "password": PASSWORD})["token"]
    return tokens


class HttpLifecycles:
    """The same lifecycle as ``Lifecycles``, through the gateway's HTTP API."""

    def __init__(self, url: str, tokens: dict[str, str], worker: int, session: str):
        self.h = Http(url)
        self.staff = tokens["staff-http"]
        self.member = tokens[f"m-http-{worker:03d}"]
        self.unit_id = f"u-http-{worker % 20:02d}"
        self.unit = tokens[f"{self.unit_id}-handler"]
        self.session = session
        self.pid: str | None = None
        self.i = 0

    def step(self) -> None:
        k = self.i % 6
        self.i += 1
        base = f"/api/proposals/{self.pid}"
        try:
            if k == 0:
                self.pid = self.h.call("POST", "/api/proposals", {
                    "title": "关于优化营商环境的提案", "reasons": TEXT, "suggestions": "建议：具体措施。",
                    "category": "economy", "session": self.session}, self.member)["proposal_id"]
            elif k == 1:
                self.h.call("POST", base + "/file", {}, self.staff)
            elif k == 2:
                self.h.call("POST", base + "/assignment", {"lead_unit": self.unit_id}, self.staff)
            elif k == 3:
                self.h.call("POST", base + "/reply", {"reply_class": "A", "reply": "答复意见：已研究落实。" * 10},
                            self.unit)
            elif k == 4:
                self.h.call("POST", base + "/rating", {"reply_rating": "satisfied",
                                                       "attitude_rating": "satisfied"}, self.member)
            else:
                self.h.call("POST", base + "/close", {}, self.staff)
        except Exception:
            self.i = 0
            raise


def throughput(a: dict[str, Any]) -> dict[str, Any]:
    seconds, levels = a["seconds"], a["concurrency"]
    proxies = Proxies(a["amqp_uri"])
    out: dict[str, Any] = {}
    try:
        workers = max([1, *a["concurrency"]])
        make_known(proxies, [*(f"m-pub-{i:03d}" for i in range(a.get("published", 20))),
                             *(f"m-load-{w:03d}" for w in range(workers))],
                   [f"u-load-{k:02d}" for k in range(20)])
        # Some published cases, so the public list the gateway serves is not empty.
        for i in range(a.get("published", 20)):
            m = f"m-pub-{i:03d}"
            pid = proxies(member(m), "proposals").submit_proposal(
                "关于优化营商环境的提案", TEXT, "建议：具体措施。", "economy", session="pub",
                publish_consent=True)["proposal_id"]
            proxies(STAFF, "proposals").file_proposal(pid)
            proxies(STAFF, "proposals").publish_proposal(pid)

        def noop_rpc(_w: int) -> Callable[[], None]:
            own = Proxies(a["amqp_uri"])
            return lambda: own(None, "bench_noop").noop()

        def commands(c: int) -> Callable[[int], Callable[[], None]]:
            return lambda w: Lifecycles(Proxies(a["amqp_uri"]), w, f"load-{c}").step

        out["noop_rpc"] = {str(c): _green_run(c, seconds, noop_rpc) for c in [1, *levels]}
        out["commands_rpc"] = {str(c): _green_run(c, seconds, commands(c)) for c in [1, *levels]}
        if a.get("admin"):
            try:
                tokens = http_accounts(a["gateway_url"], tuple(a["admin"]), max(levels))

                def http_commands(c: int) -> Callable[[int], Callable[[], None]]:
                    return lambda w: HttpLifecycles(a["gateway_url"], tokens, w, f"http-{c}").step

                out["commands_http"] = {str(c): _green_run(c, seconds, http_commands(c)) for c in [1, *levels]}
            except Exception as exc:  # reported, not fatal: the gateway's API is young
                out["commands_http_error"] = f"{type(exc).__name__}: {exc}"[:500]
        out["noop_http"] = {str(c): _green_run(c, seconds, _http_step(a["noop_url"] + "/noop"))
                            for c in [1, *levels]}
        out["noop_http_rpc"] = {str(c): _green_run(c, seconds, _http_step(a["noop_url"] + "/noop-rpc"))
                                for c in [1, *levels]}
        out["gateway_public"] = {str(c): _green_run(c, seconds, _http_step(a["gateway_url"] + "/api/public/proposals"))
                                 for c in [1, *levels]}
    finally:
        proxies.stop()
    return out


def commands(a: dict[str, Any]) -> dict[str, Any]:
    """Only the lifecycle through RPC, at each concurrency (the scale-out comparison)."""
    proxies = Proxies(a["amqp_uri"])
    try:
        make_known(proxies, [f"m-load-{w:03d}" for w in range(max(a["concurrency"]))],
                   [f"u-load-{k:02d}" for k in range(20)])
    finally:
        proxies.stop()

    def clients(c: int) -> Callable[[int], Callable[[], None]]:
        return lambda w: Lifecycles(Proxies(a["amqp_uri"]), w, f"scale-{c}").step

    return {"commands_rpc": {str(c): _green_run(c, a["seconds"], clients(c)) for c in a["concurrency"]}}


def load(a: dict[str, Any]) -> dict[str, Any]:
    def commands(w: int) -> Callable[[], None]:
        return Lifecycles(Proxies(a["amqp_uri"]), 100 + w, "halfload").step
    return _green_run(a["workers"], a["seconds"], commands, pace=a["rate"])


def sample(a: dict[str, Any]) -> dict[str, Any]:
    """One command in flight: submit, then file (timed); from file's reply until the members
    service's read model shows the duty points that filing earned (its views SQLite file,
    polled every 0.2 ms): the ``ledger_entries`` row whose source is the ProposalFiled event,
    or, where the members service has no ledger table, the proposer's ``member_directory`` row."""
    import sqlite3

    proxies = Proxies(a["amqp_uri"])
    views = sqlite3.connect(f"file:{a['members_views']}?mode=ro", uri=True, isolation_level=None,
                            check_same_thread=False)
    tables = {r[0] for r in views.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "ledger_entries" in tables:
        probe, what = "SELECT position FROM ledger_entries WHERE source_event_id = ?", "ledger_entries"
    else:
        probe, what = "SELECT position FROM member_directory WHERE member_id = ?", "member_directory"
    e2e, rpc_lat, timeouts = [], [], 0
    marks: list[tuple[str, float, float, int]] = []  # (filed event id, reply, visible, members position)
    run = uuid.uuid4().hex[:6]
    e2e_members = [f"m-e2e-{run}-{i:03d}" for i in range(a["samples"] + 3)]
    make_known(proxies, e2e_members, [])
    deadline = time.monotonic() + a["max_seconds"]
    try:
        for i in range(a["samples"] + 3):
            if time.monotonic() > deadline:
                break
            m = e2e_members[i]
            pid = proxies(member(m), "proposals").submit_proposal(
                "关于优化营商环境的提案", TEXT, "建议：具体措施。", "economy", session="e2e")["proposal_id"]
            t0 = time.perf_counter()
            receipt = proxies(STAFF, "proposals").file_proposal(pid)
            accepted = time.perf_counter()
            key = receipt["event_id"] if what == "ledger_entries" else m
            limit = accepted + a["visible_timeout"]
            seen = None
            while True:
                row = views.execute(probe, (key,)).fetchone()
                now = time.perf_counter()
                if row is not None:
                    seen = now
                    break
                if now > limit:
                    break
                time.sleep(0.0002)
            if i < 3:
                continue  # warm-up
            rpc_lat.append(accepted - t0)
            if seen is None:
                timeouts += 1
            else:
                e2e.append(seen - accepted)
                now_wall = time.time()
                marks.append((receipt["event_id"], now_wall - (time.perf_counter() - accepted),
                              now_wall - (time.perf_counter() - seen), int(row[0])))
            time.sleep(a.get("gap", 0.02))
    finally:
        proxies.stop()
        views.close()
    return {"e2e": summary(e2e, sum(e2e) or 1.0, timeouts), "file_rpc": summary(rpc_lat, sum(rpc_lat) or 1.0),
            "e2e_ms": [x * 1000 for x in e2e], "visible_in": what,
            "segments": segments(a, marks)}


def segments(a: dict[str, Any], marks: list[tuple[str, float, float, int]]) -> dict[str, Any]:
    """Split each sample by the events' own ``recorded_at`` (same machine, same clock): from the
    reply until the members service recorded the duty points (relay, broker, handler), and from
    there until its read model showed them (its follower). Best effort: {} if the files differ."""
    import sqlite3
    from datetime import datetime

    data = os.path.dirname(os.path.dirname(a["members_views"]))
    try:
        members = sqlite3.connect(f"file:{os.path.join(data, 'members', 'events.sqlite')}?mode=ro", uri=True)
        react, follow = [], []
        for _event_id, reply, visible, position in marks:
            row = members.execute("SELECT body FROM events WHERE position = ?", (position,)).fetchone()
            if row is None:
                continue
            recorded = datetime.fromisoformat(json.loads(row[0])["recorded_at"]).timestamp()
            react.append(recorded - reply)
            follow.append(visible - recorded)
        members.close()
    except Exception as exc:  # the members service's files are its own business: report, don't fail
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}
    return {"reply_to_members_append": summary(react, 1.0), "members_append_to_visible": summary(follow, 1.0)}


def main() -> None:
    args = json.loads(sys.argv[2])
    fn = {"throughput": throughput, "commands": commands, "load": load, "sample": sample}[MODE]
    print(json.dumps(fn(args)))


if __name__ == "__main__":
    main()
