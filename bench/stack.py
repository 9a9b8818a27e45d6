"""4. The real stack: commands per second through nameko RPC and the HTTP gateway, and the
latency from a command's acceptance to its effect in another service's read model.

Every service runs as ``python -m nameko run --config infra/nameko.yaml <module>`` in its own
process, on SQLite stores in a temporary data directory, against a RabbitMQ virtual host made
for this run (and deleted after it): proposals, members (which credits duty points when a
proposal is filed), the gateway (with a bootstrap admin who opens the clients' accounts), and
the references ``bench_noop`` and ``bench_noop_http`` (bench.noop_service): a
no-op RPC, a no-op HTTP request, and an HTTP request making one no-op RPC to another process. The
clients are processes of their own (bench.stack_client).

Figures:
* commands/s through RPC: green-thread clients repeating the lifecycle submit, file, assign,
  reply, rate, close, at several concurrencies (the best is reported), beside no-op RPCs/s at
  the same concurrency;
* through the HTTP gateway: the same lifecycle through its JSON API with bearer tokens (accounts
  made through ``POST /api/accounts`` before the clock starts), beside ``GET /noop-rpc``; and
  ``GET /api/public/proposals`` (HTTP → RPC → the proposals read model), the same reference;
* end to end: after ``file_proposal``'s RPC reply, how long until the proposer's row is in the
  members service's ``member_directory`` (relay → RabbitMQ → members' handler appends the duty
  points → its projection), polled every 0.2 ms in the members' views file; one command in
  flight, and again while other clients run the lifecycle at half the best commands/s;
* scale-out: the proposals and members services on PostgreSQL (``EVENT_STORE=postgres``, their
  schemas under a ``PG_SCHEMA_PREFIX`` made for the run), commands/s through RPC with two
  proposals instances on the one schema, beside one instance with the same clients; each on a
  fresh virtual host and fresh schemas, one after the other.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from base64 import b64encode
from typing import Any
from urllib.parse import quote, urlparse

from tools.catalog import GATEWAY, service_module

from .common import AMQP_URI, LOWER, RABBIT_API, PgSchemas, Result, log

# What this section starts: of the stack's processes (tools.catalog), those the lifecycle touches,
# and the two references.
MEASURED = ("proposals", "members", GATEWAY)
STARTED = {
    **{name: service_module(name) for name in MEASURED},
    "bench_noop": "bench.noop_service:NoopService",
    "bench_noop_http": "bench.noop_service:NoopHttpService",
}
# The scale-out run on PostgreSQL: what it starts (the proposals service is what is scaled).
SCALED = "proposals"
ON_POSTGRES = {name: service_module(name) for name in ("proposals", "members")}
STARTUP_TIMEOUT = 90.0
TARGET_COMMANDS = 400
TARGET_HTTP_COMMANDS = 350
TARGET_E2E_ONE = 15.0
TARGET_E2E_HALF = 50.0


class RabbitAdmin:
    """The management API: a virtual host for this run, deleted afterwards."""

    def __init__(self, api: str = RABBIT_API):
        u = urlparse(api)
        self.base = f"{u.scheme}://{u.hostname}:{u.port or 15672}{u.path}"
        self.auth = "Basic " + b64encode(f"{u.username or 'guest'}:{u.password or 'guest'}".encode()).decode()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": self.auth, "content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None

    def overview(self) -> dict:
        return self._call("GET", "/overview")

    def create_vhost(self, name: str, user: str = "guest") -> None:
        self._call("PUT", f"/vhosts/{quote(name, safe='')}", {})
        self._call("PUT", f"/permissions/{quote(name, safe='')}/{quote(user, safe='')}",
                   {"configure": ".*", "write": ".*", "read": ".*"})

    def consumers(self, vhost: str, queue: str) -> int:
        """How many consumers the queue has (0 if it does not exist yet)."""
        try:
            return int(self._call("GET", f"/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}")
                       .get("consumers") or 0)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return 0
            raise

    def delete_vhost(self, name: str) -> None:
        try:
            self._call("DELETE", f"/vhosts/{quote(name, safe='')}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vhost_uri(base: str, vhost: str) -> str:
    u = urlparse(base)
    return f"{u.scheme}://{u.netloc}/{quote(vhost, safe='')}"


class Stack:
    """The services' ``nameko run`` processes for one run: ``started`` (name → module), each
    ``instances.get(name, 1)`` times, with ``store_env`` choosing their store (SQLite files in
    the work folder unless it says otherwise)."""

    def __init__(self, workdir: str, amqp_uri: str, *, started: dict[str, str] = STARTED,
                 instances: dict[str, int] | None = None, store_env: dict[str, str] | None = None,
                 admin: "RabbitAdmin | None" = None, vhost: str | None = None):
        from tools.stack import nameko_config

        self.config = str(nameko_config())
        self.workdir = workdir
        self.data = os.path.join(workdir, "data")
        self.amqp_uri = amqp_uri
        self.started = started
        self.instances = instances or {}
        self.store_env = store_env or {"EVENT_STORE": "sqlite"}
        self.admin_api, self.vhost = admin, vhost
        self.ports = {GATEWAY: free_port(), "bench_noop_http": free_port()}
        self.procs: dict[str, subprocess.Popen] = {}
        self.secret = uuid.uuid4().hex + uuid.uuid4().hex
        self.admin = ("bench-admin", "pw-" + uuid.uuid4().hex)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self) -> None:
        for name, module in self.started.items():
            for k in range(self.instances.get(name, 1)):
                key = name if k == 0 else f"{name}#{k + 1}"
                env = {**os.environ, "AMQP_URI": self.amqp_uri, "XIESHANG_DATA_DIR": self.data,
                       "LOG_LEVEL": "WARNING", "PYTHONWARNINGS": "ignore",
                       "WEB_SERVER_ADDRESS": f"127.0.0.1:{self.ports.get(name, free_port())}"}
                env.pop("DATABASE_URL", None)
                env.pop("PG_SCHEMA_PREFIX", None)
                env.update(self.store_env)
                if name == GATEWAY:
                    env.update(XIESHANG_TOKEN_SECRET=self.secret, XIESHANG_ADMIN_USER=self.admin[0],
                               XIESHANG_ADMIN_PASSWORD=self.admin[1])
                logf = open(os.path.join(self.workdir, f"{key}.log"), "wb")
                self.procs[key] = subprocess.Popen(
                    [sys.executable, "-m", "nameko", "run", "--config", self.config, module],
                    env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        pending = set(self.started)
        from nameko.standalone.rpc import ClusterRpcProxy

        while pending:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}: {self.log_tail(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready within {STARTUP_TIMEOUT:.0f} s: {sorted(pending)}")
            for name in sorted(pending):
                try:
                    if name in self.ports:  # the HTTP ones
                        path = "/noop" if name == "bench_noop_http" else "/api/public/proposals"
                        with urllib.request.urlopen(self.url(name) + path, timeout=2) as resp:
                            resp.read()
                    else:
                        with ClusterRpcProxy({"AMQP_URI": self.amqp_uri}, timeout=2) as rpc:
                            service = getattr(rpc, name)
                            service.noop() if name == "bench_noop" else service.health()
                    wanted = self.instances.get(name, 1)
                    # One answer may come from any instance: every one consumes its RPC queue once up.
                    if wanted > 1 and (self.admin_api is None or self.vhost is None or
                                       self.admin_api.consumers(self.vhost, f"rpc-{name}") < wanted):
                        continue
                    pending.discard(name)
                except Exception:
                    pass
            time.sleep(0.3)

    def log_tail(self, name: str, size: int = 1500) -> str:
        try:
            with open(os.path.join(self.workdir, f"{name}.log"), "rb") as f:
                return f.read()[-size:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def client(mode: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.stack_client",
                           mode, json.dumps(args)], capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"stack client {mode} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def client_async(mode: str, args: dict[str, Any]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-W", "ignore", "-m", "bench.stack_client",
                             mode, json.dumps(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def log_tails(stack: "Stack", names) -> None:  # noqa: ANN001
    """The end of each named service's log, after a failed run."""
    for name in names:
        log(f"  --- {name} log tail ---\n{stack.log_tail(name, 800)}")


def tear_down(stack: "Stack", admin: "RabbitAdmin", vhost: str, workdir: str) -> None:
    """Stop the stack, delete its virtual host and its folder (whatever the run left)."""
    stack.stop()
    try:
        admin.delete_vhost(vhost)
    except Exception as exc:
        log(f"  could not delete vhost {vhost}: {exc}")
    shutil.rmtree(workdir, ignore_errors=True)


def best(levels: dict[str, dict]) -> tuple[str, dict]:
    return max(((c, r) for c, r in levels.items() if c != "1"), key=lambda cr: cr[1]["per_s"] or 0)


def run(*, quick: bool, smoke: bool, backends: set[str] = frozenset(), pg_url: str = "",
        schemas: PgSchemas | None = None, pg_skip: str | None = None) -> list[Result]:
    admin = RabbitAdmin()
    try:
        overview = admin.overview()
    except Exception as exc:
        why = f"RabbitMQ management API at {admin.base} unavailable: {type(exc).__name__}: {exc}"
        return skipped(why) + skipped_scale_out(why)
    rows = run_sqlite(admin, overview, quick=quick, smoke=smoke)
    if "postgresql" in backends:
        if pg_skip or schemas is None:
            rows += skipped_scale_out(pg_skip or "PostgreSQL not selected")
        else:
            rows += run_scale_out(admin, quick=quick, smoke=smoke, pg_url=pg_url, schemas=schemas)
    return rows


def run_sqlite(admin: RabbitAdmin, overview: dict, *, quick: bool, smoke: bool) -> list[Result]:
    """Every figure but the scale-out: the services on SQLite."""
    vhost = f"xieshang-bench-{uuid.uuid4().hex[:8]}"
    workdir = tempfile.mkdtemp(prefix="xieshang-bench-stack-")
    admin.create_vhost(vhost)
    stack = Stack(workdir, vhost_uri(AMQP_URI, vhost))
    seconds = 0.8 if smoke else 1.0 if quick else 6.0
    levels = [8] if smoke or quick else [4, 8, 16]
    samples = 10 if smoke else 30 if quick else 200
    try:
        t0 = time.monotonic()
        stack.start()
        log(f"  stack: {len(STARTED)} services up in {time.monotonic() - t0:.1f} s (vhost {vhost})")
        tp = client("throughput", {"amqp_uri": stack.amqp_uri, "seconds": seconds, "concurrency": levels,
                                   "noop_url": stack.url("bench_noop_http"), "gateway_url": stack.url(GATEWAY),
                                   "published": 5 if smoke else 20, "admin": list(stack.admin)}, timeout=600)
        c_best, cmd = best(tp["commands_rpc"])
        noop_same = tp["noop_rpc"][c_best]
        log(f"  stack: {cmd['per_s']:,.0f} commands/s over RPC at {c_best} clients "
            f"(no-op RPC {noop_same['per_s']:,.0f}/s)")
        views = os.path.join(stack.data, "members", "views.sqlite")
        sample_args = {"amqp_uri": stack.amqp_uri, "members_views": views, "samples": samples,
                       "visible_timeout": 5.0, "max_seconds": 120}
        one = client("sample", sample_args, timeout=300)
        log(f"  stack: e2e one in flight p50 {one['e2e']['p50_ms']:.1f} ms p99 {one['e2e']['p99_ms']:.1f} ms")
        half_rate = (cmd["per_s"] or 0) / 2
        load_seconds = 3.0 if smoke or quick else 12.0
        loader = client_async("load", {"amqp_uri": stack.amqp_uri, "rate": half_rate,
                                       "workers": int(c_best), "seconds": load_seconds + 2})
        time.sleep(1.5)  # the load's clients connect and warm up first
        half = client("sample", {**sample_args, "samples": samples, "max_seconds": load_seconds,
                                 "gap": 0.005}, timeout=300)
        out_raw, err_raw = loader.communicate(timeout=120)
        if loader.returncode != 0:
            raise RuntimeError(f"load client failed: {err_raw[-2000:]}")
        achieved = json.loads(out_raw.strip().splitlines()[-1])
        log(f"  stack: e2e at {achieved['per_s']:,.0f} commands/s (half of the best) p50 "
            f"{half['e2e']['p50_ms']:.1f} ms p99 {half['e2e']['p99_ms']:.1f} ms")
    except Exception as exc:
        log(f"  stack failed: {exc}")
        log_tails(stack, STARTED)
        stack.stop()
        return skipped(f"stack failed: {type(exc).__name__}: {str(exc)[:300]}")
    finally:
        tear_down(stack, admin, vhost, workdir)

    gw_c, gw = best(tp["gateway_public"])
    ref_gw = tp["noop_http_rpc"][gw_c]
    rabbit = overview.get("rabbitmq_version")
    common = {"rabbitmq": rabbit, "store": "sqlite", "services": sorted(STARTED)}
    return [
        Result(id="stack.rpc.commands", section="4. stack",
               figure=f"commands/s through nameko RPC (lifecycle mix, {c_best} clients)", unit="commands/s",
               ours=cmd["per_s"], reference=noop_same["per_s"],
               reference_name=f"nameko no-op RPC calls/s, {c_best} clients", target=TARGET_COMMANDS,
               extra={**common, "levels": tp["commands_rpc"], "noop_levels": tp["noop_rpc"]}),
        Result(id="stack.rpc.command_latency", section="4. stack",
               figure="command latency through RPC, one in flight, p50", unit="ms",
               ours=tp["commands_rpc"]["1"]["p50_ms"], reference=tp["noop_rpc"]["1"]["p50_ms"],
               reference_name="nameko no-op RPC, one in flight, p50", better=LOWER,
               extra={"ours_p99_ms": tp["commands_rpc"]["1"]["p99_ms"],
                      "noop_p99_ms": tp["noop_rpc"]["1"]["p99_ms"]}),
        http_row(tp),
        Result(id="stack.http.public_list", section="4. stack",
               figure=f"GET /api/public/proposals through the gateway ({gw_c} clients)", unit="requests/s",
               ours=gw["per_s"], reference=ref_gw["per_s"],
               reference_name=f"GET /noop-rpc (HTTP → one no-op RPC), {gw_c} clients",
               extra={"levels": tp["gateway_public"], "noop_http_rpc": tp["noop_http_rpc"],
                      "noop_http": tp["noop_http"], "one_in_flight_p50_ms": tp["gateway_public"]["1"]["p50_ms"]}),
        Result(id="stack.e2e.one.p50", section="4. stack",
               figure="command accepted → visible in another service's read model, one in flight, p50",
               unit="ms", ours=one["e2e"]["p50_ms"], reference=tp["noop_rpc"]["1"]["p50_ms"],
               reference_name="nameko no-op RPC round trip, p50", better=LOWER, n=one["e2e"]["count"],
               extra={"not_visible_within_5s": one["e2e"]["errors"], "file_rpc_p50_ms": one["file_rpc"]["p50_ms"],
                      "segments": one.get("segments"),
                      "visible_in": f"members views: {one['visible_in']}"}),
        Result(id="stack.e2e.one.p99", section="4. stack",
               figure="command accepted → visible in another service's read model, one in flight, p99",
               unit="ms", ours=one["e2e"]["p99_ms"], reference=tp["noop_rpc"]["1"]["p99_ms"],
               reference_name="nameko no-op RPC round trip, p99", better=LOWER, target=TARGET_E2E_ONE,
               n=one["e2e"]["count"]),
        Result(id="stack.e2e.half.p50", section="4. stack",
               figure=f"command accepted → visible elsewhere, at half load ({achieved['per_s']:,.0f} commands/s), p50",
               unit="ms", ours=half["e2e"]["p50_ms"], reference=one["e2e"]["p50_ms"],
               reference_name="the same, one in flight, p50", better=LOWER, n=half["e2e"]["count"],
               extra={"load": achieved, "not_visible_within_5s": half["e2e"]["errors"],
                      "segments": half.get("segments")}),
        Result(id="stack.e2e.half.p99", section="4. stack",
               figure=f"command accepted → visible elsewhere, at half load ({achieved['per_s']:,.0f} commands/s), p99",
               unit="ms", ours=half["e2e"]["p99_ms"], reference=one["e2e"]["p99_ms"],
               reference_name="the same, one in flight, p99", better=LOWER, target=TARGET_E2E_HALF,
               n=half["e2e"]["count"]),
    ]


def http_row(tp: dict[str, Any]) -> Result:
    levels = tp.get("commands_http")
    if not levels:
        return Result(id="stack.http.commands", section="4. stack",
                      figure="commands/s through the HTTP gateway", unit="commands/s", ours=None,
                      reference=None, reference_name="HTTP → one no-op RPC", target=TARGET_HTTP_COMMANDS,
                      note=f"not measured: {tp.get('commands_http_error') or 'no command endpoints'}")
    c, r = best(levels)
    return Result(id="stack.http.commands", section="4. stack",
                  figure=f"commands/s through the HTTP gateway (lifecycle mix, {c} clients, bearer tokens)",
                  unit="commands/s", ours=r["per_s"], reference=tp["noop_http_rpc"][c]["per_s"],
                  reference_name=f"GET /noop-rpc (HTTP → one no-op RPC), {c} clients", target=TARGET_HTTP_COMMANDS,
                  extra={"levels": levels, "one_in_flight_p50_ms": levels["1"]["p50_ms"],
                         "one_in_flight_p99_ms": levels["1"]["p99_ms"]})


def run_scale_out(admin: RabbitAdmin, *, quick: bool, smoke: bool, pg_url: str,
                  schemas: PgSchemas) -> list[Result]:
    """Commands/s through RPC with two proposals instances on one PostgreSQL schema, beside one
    instance: the same clients, each run on its own virtual host and schemas."""
    seconds = 0.8 if smoke else 1.5 if quick else 6.0
    levels = [8] if smoke or quick else [8, 16]
    runs: dict[int, dict[str, Any]] = {}
    for count in (1, 2):
        vhost = f"xieshang-bench-{uuid.uuid4().hex[:8]}"
        workdir = tempfile.mkdtemp(prefix="xieshang-bench-scale-")
        prefix = schemas.prefix(f"stack{count}")
        admin.create_vhost(vhost)
        stack = Stack(workdir, vhost_uri(AMQP_URI, vhost), started=ON_POSTGRES, instances={SCALED: count},
                      store_env={"EVENT_STORE": "postgres", "DATABASE_URL": pg_url, "PG_SCHEMA_PREFIX": prefix},
                      admin=admin, vhost=vhost)
        try:
            t0 = time.monotonic()
            stack.start()
            log(f"  scale-out: {count} {SCALED} instance(s) and members on PostgreSQL up in "
                f"{time.monotonic() - t0:.1f} s")
            runs[count] = client("commands", {"amqp_uri": stack.amqp_uri, "seconds": seconds,
                                              "concurrency": levels}, timeout=300)
            c, r = best(runs[count]["commands_rpc"])
            log(f"  scale-out: {count} instance(s): {r['per_s']:,.0f} commands/s at {c} clients "
                f"({r['errors']} refused or failed)")
        except Exception as exc:
            log(f"  scale-out with {count} instance(s) failed: {exc}")
            log_tails(stack, stack.procs)
            return skipped_scale_out(f"the run with {count} {SCALED} instance(s) failed: "
                                     f"{type(exc).__name__}: {str(exc)[:300]}")
        finally:
            tear_down(stack, admin, vhost, workdir)
            try:
                schemas.drop_prefixed(prefix)
            except Exception as exc:  # drop_all tries again at the end of the run
                log(f"  could not drop the schemas {prefix}*: {exc}")
    c, two = best(runs[2]["commands_rpc"])
    one = runs[1]["commands_rpc"][c]
    return [Result(
        id="stack.postgresql.two_instances", section="4. stack",
        figure=f"commands/s through nameko RPC, two {SCALED} instances on one PostgreSQL schema "
               f"(lifecycle mix, {c} clients)", unit="commands/s", ours=two["per_s"], reference=one["per_s"],
        reference_name=f"one {SCALED} instance on PostgreSQL, same {c} clients, same run",
        extra={"store": "postgresql", "services": sorted(ON_POSTGRES), "two_levels": runs[2]["commands_rpc"],
               "one_levels": runs[1]["commands_rpc"]})]


def skipped_scale_out(why: str) -> list[Result]:
    return [Result(id="stack.postgresql.two_instances", section="4. stack",
                   figure=f"commands/s through nameko RPC, two {SCALED} instances on one PostgreSQL schema",
                   unit="commands/s", ours=None, reference=None, reference_name="", note=why)]


def skipped(why: str) -> list[Result]:
    ids = ["stack.rpc.commands", "stack.rpc.command_latency", "stack.http.commands", "stack.http.public_list",
           "stack.e2e.one.p50", "stack.e2e.one.p99", "stack.e2e.half.p50", "stack.e2e.half.p99"]
    return [Result(id=i, section="4. stack", figure=i, unit="", ours=None, reference=None, reference_name="",
                   note=why) for i in ids]
