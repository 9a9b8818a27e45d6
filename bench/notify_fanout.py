"""7. Notifications: how fast the notify service turns other services' events into inbox notices
and into mails that reach an SMTP server.

The stack (bench.stack's ``Stack``): the members service (the directory, the contact book that
``delivery_addresses`` answers from), the notify service with its e-mail channel pointed at a
local SMTP server in this process (``tests/support/mail.py``'s ``LocalSmtpServer``, aiosmtpd),
and the reference consumer below, each its own ``nameko run`` process on SQLite stores, on a
RabbitMQ virtual host made for the run. Before the clock starts the members service gets the
units (20) and members (one per notice of the menu, each with an e-mail address), and the notify
service's directory holds them all; a few events warm the path up.

The upstream events are appended to a store of this process and published by the kernel's own
relay (``xieshang.kernel.relay.Relay``) to ``proposals.events`` / ``members.events``, exactly as
the producers publish theirs, each case on its own stream:

* ``ProposalAssigned`` ×N, each with a lead unit, two co-units and the proposer: 4 notices (and
  4 mails) an event;
* one ``DutyMenuPublished`` for every member: M notices (and M mails) from one event.

Figures, each beside a reference measured in the same run:

* notices/s into the inbox: from the relay's first publication until the notify service's
  ``inbox`` read model holds every notice (its views file polled every 2 ms). References: the
  kernel's store appending the very events the notify service appended (read back from its
  store after the run) to a fresh SQLite store, one transaction per upstream event with its
  tracking; and a nameko consumer that does nothing (``NoopConsumer``: the kernel's
  ``handle_event`` entrypoint, same broker, same N events through its own exchange), as events/s
  × 4 notices an event;
* mails/s: from the first publication until the SMTP server has received every mail. Reference:
  a bare smtplib loop in a process of its own sending the same mails (the bytes received) to the
  same server, one connection per mail as the channel makes; the channel adapter alone
  (``SmtpChannel.send`` of the same messages, own process) is a second row.

``XIESHANG_NOTIFY_BATCH`` (and the notify service's other settings) in the environment reach the
notify process, e.g. ``XIESHANG_NOTIFY_BATCH=500 xieshang bench --sections notify``; the batch
in force is in each mail row's ``extra``.

``python -m bench.notify_fanout smtp MODE ARGS-JSON`` is the reference's client process.
"""

from __future__ import annotations

import email.policy
import email.utils
import importlib
import importlib.util
import json
import os
import smtplib
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from email import message_from_bytes
from pathlib import Path
from typing import Any, Callable

from nameko.rpc import rpc

from xieshang.kernel.consumer import handle_event

SECTION = "7. notify"
# The reference consumer's events arrive through an exchange of their own, which the notify
# service does not listen to.
REFERENCE_SOURCE = "bench_upstream"
NOOP = "bench_notify_noop"
FAN_OUT = 4                      # ProposalAssigned: lead unit, two co-units, the proposer
SIZES = {"smoke": {"events": 8, "members": 16, "units": 6, "warm": 2},
         "quick": {"events": 60, "members": 100, "units": 20, "warm": 3},
         "full": {"events": 200, "members": 300, "units": 20, "warm": 3}}
POLL = 0.002
SENDER = "政协提案委员会 <noreply@xieshang.bench>"
BUREAUS = ("民政局", "教育局", "住房和城乡建设局", "卫生健康委员会", "交通运输局", "自然资源局",
           "生态环境局", "人力资源和社会保障局", "财政局", "发展和改革委员会", "工业和信息化局",
           "商务局", "文化旅游局", "农业农村局", "水务局", "应急管理局", "市场监督管理局", "公安局",
           "城市管理局", "医疗保障局")
TITLES = ("关于进一步加强城市老旧小区改造和社区养老服务设施建设的提案",
          "关于完善农村义务教育阶段寄宿制学校建设的提案",
          "关于推进城乡供水一体化和农村饮水安全提升的提案",
          "关于优化营商环境、支持民营企业高质量发展的提案")


# -- the reference consumer (run as ``nameko run bench.notify_fanout:NoopConsumer``) ----------

_SEEN: list[float] = []


class NoopConsumer:
    """Takes ProposalAssigned events through the kernel's entrypoint and does nothing with them."""

    name = NOOP

    @handle_event(REFERENCE_SOURCE, "ProposalAssigned")
    def on_proposal_assigned(self, envelope) -> None:  # noqa: ANN001 - an Envelope
        _SEEN.append(time.time())

    @rpc
    def seen(self) -> dict[str, Any]:
        return {"count": len(_SEEN), "last": _SEEN[-1] if _SEEN else None}

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name}


# -- the section ------------------------------------------------------------------------------

def run(*, quick: bool, smoke: bool) -> list:
    from .stack import RabbitAdmin

    admin = RabbitAdmin()
    try:
        overview = admin.overview()
    except Exception as exc:
        return skipped(f"RabbitMQ management API at {admin.base} unavailable: {type(exc).__name__}: {exc}")
    try:
        server_cls = local_smtp_server()
    except Exception as exc:  # aiosmtpd is a dev extra
        return skipped(f"no local SMTP server (tests/support/mail.py, aiosmtpd: pip install -e '.[dev]'): "
                       f"{type(exc).__name__}: {exc}")
    mode = "smoke" if smoke else "quick" if quick else "full"
    with server_cls() as server:
        return Fanout(admin, server, SIZES[mode], overview.get("rabbitmq_version")).run()


class Fanout:
    """One run of the section: the stack, the upstream stores, the phases, the references."""

    def __init__(self, admin, server, size: dict[str, int], rabbit: str | None):  # noqa: ANN001
        from tools.catalog import service_module

        from .common import AMQP_URI
        from .stack import Stack, vhost_uri

        self.admin, self.server, self.size, self.rabbit = admin, server, size, rabbit
        self.vhost = f"xieshang-bench-{uuid.uuid4().hex[:8]}"
        self.workdir = tempfile.mkdtemp(prefix="xieshang-bench-notify-")
        admin.create_vhost(self.vhost)
        self.batch = os.environ.get("XIESHANG_NOTIFY_BATCH") or "50 (the default)"
        smtp = {"EVENT_STORE": "sqlite", "XIESHANG_SMTP_HOST": server.host, "XIESHANG_SMTP_PORT": str(server.port),
                "XIESHANG_SMTP_SENDER": SENDER}
        self.stack = Stack(self.workdir, vhost_uri(AMQP_URI, self.vhost), store_env=smtp,
                           started={"members": service_module("members"), "notify": service_module("notify"),
                                    NOOP: "bench.notify_fanout:NoopConsumer"})
        self.units = [f"u-nb-{k:02d}" for k in range(size["units"])]
        self.members = [f"m-nb-{k:04d}" for k in range(size["members"])]
        self.inbox_views = os.path.join(self.stack.data, "notify", "views.sqlite")
        self.notify_events = os.path.join(self.stack.data, "notify", "events.sqlite")
        self.upstream: dict[str, Upstream] = {}
        self.n_assigned = 0

    def run(self) -> list:
        from .common import Result, log
        from .stack import log_tails, tear_down

        size = self.size
        try:
            t0 = time.monotonic()
            self.stack.start()
            log(f"  notify: members, notify and the no-op consumer up in {time.monotonic() - t0:.1f} s "
                f"(vhost {self.vhost})")
            t0 = time.monotonic()
            self.make_directory()
            log(f"  notify: {len(self.units)} units and {len(self.members)} members with addresses known to "
                f"notify in {time.monotonic() - t0:.1f} s")
            warm = self.assigned(size["warm"])
            self.publish_and_wait("proposals", warm, size["warm"] * FAN_OUT, size["warm"] * FAN_OUT)
            noop = self.noop_reference(size["events"])
            log(f"  notify: no-op consumer {noop['per_s']:,.0f} events/s ({size['events']} events)")
            ids = self.assigned(size["events"])
            a = self.publish_and_wait("proposals", ids, size["events"] * FAN_OUT, size["events"] * FAN_OUT)
            log(f"  notify: ProposalAssigned ×{size['events']}: {a['inbox_per_s']:,.0f} notices/s to the inbox, "
                f"{a['mail_per_s']:,.0f} mails/s to SMTP")
            bare_a = smtp_client("bare", self.server, a["mails"], self.workdir)
            channel_a = smtp_client("channel", self.server, a["mails"], self.workdir)
            one_conn = smtp_client("one-connection", self.server, a["mails"], self.workdir)
            log(f"  notify: bare smtplib {bare_a['per_s']:,.0f} mails/s, SmtpChannel {channel_a['per_s']:,.0f}/s, "
                f"one connection {one_conn['per_s']:,.0f}/s")
            menu_id = self.menu()
            b = self.publish_and_wait("members", [menu_id], len(self.members), len(self.members))
            log(f"  notify: DutyMenuPublished to {len(self.members)} members: {b['inbox_per_s']:,.0f} notices/s "
                f"to the inbox, {b['mail_per_s']:,.0f} mails/s to SMTP")
            bare_b = smtp_client("bare", self.server, b["mails"], self.workdir)
            self.stack.stop()
            store_a, store_b = self.store_reference(ids, [menu_id])
            log(f"  notify: the kernel's store appending the same events: {store_a['per_s']:,.0f} notices/s "
                f"(one transaction per event), {store_b['per_s']:,.0f} notices/s (the menu's one)")
        except Exception as exc:
            log(f"  notify failed: {type(exc).__name__}: {exc}")
            log_tails(self.stack, self.stack.procs)
            return skipped(f"notify failed: {type(exc).__name__}: {str(exc)[:300]}")
        finally:
            for upstream in self.upstream.values():
                upstream.close()
            tear_down(self.stack, self.admin, self.vhost, self.workdir)

        n, m = size["events"] * FAN_OUT, len(self.members)
        common = {"rabbitmq": self.rabbit, "store": "sqlite", "notify_batch": self.batch,
                  "units": len(self.units), "members": m}
        mails_a = {k: v for k, v in a.items() if k != "mails"}
        mails_b = {k: v for k, v in b.items() if k != "mails"}
        return [
            Result(id="notify.inbox.assigned", section=SECTION,
                   figure=f"ProposalAssigned → inbox notices ({size['events']} events, 4 notices each: lead, "
                          f"2 co-units, proposer)", unit="notices/s", ours=a["inbox_per_s"], reference=store_a["per_s"],
                   reference_name="the kernel's store appending the same events notify appended, one "
                                  "transaction per upstream event, SQLite", n=n,
                   extra={**common, **mails_a, "store_reference": store_a}),
            Result(id="notify.inbox.assigned.vs_noop", section=SECTION,
                   figure=f"ProposalAssigned → inbox notices ({size['events']} events), vs a consumer doing nothing",
                   unit="notices/s", ours=a["inbox_per_s"], reference=noop["per_s"] * FAN_OUT,
                   reference_name=f"a no-op nameko consumer of the same {size['events']} events, same broker "
                                  f"(its events/s × 4)", n=n, extra={"noop": noop}),
            Result(id="notify.inbox.menu", section=SECTION,
                   figure=f"DutyMenuPublished → inbox notices (one event reaching {m} members)", unit="notices/s",
                   ours=b["inbox_per_s"], reference=store_b["per_s"],
                   reference_name="the kernel's store appending the same events notify appended (one transaction)",
                   n=m, extra={**common, **mails_b, "store_reference": store_b}),
            Result(id="notify.mail.assigned", section=SECTION,
                   figure=f"ProposalAssigned → mails at the SMTP server ({n} mails)", unit="mails/s",
                   ours=a["mail_per_s"], reference=bare_a["per_s"],
                   reference_name="bare smtplib loop, same mails, same server, one connection per mail", n=n,
                   extra={**common, "first_mail_ms": a["first_mail_ms"], "bare": bare_a,
                          "one_connection": one_conn}),
            Result(id="notify.mail.assigned.vs_channel", section=SECTION,
                   figure=f"ProposalAssigned → mails at the SMTP server ({n} mails), vs the channel alone",
                   unit="mails/s", ours=a["mail_per_s"], reference=channel_a["per_s"],
                   reference_name="SmtpChannel.send of the same messages in a loop (compose + one connection "
                                  "each)", n=n, extra={"channel": channel_a}),
            Result(id="notify.mail.menu", section=SECTION,
                   figure=f"DutyMenuPublished → mails at the SMTP server ({m} mails from one event)",
                   unit="mails/s", ours=b["mail_per_s"], reference=bare_b["per_s"],
                   reference_name="bare smtplib loop, same mails, same server, one connection per mail", n=m,
                   extra={**common, "first_mail_ms": b["first_mail_ms"], "bare": bare_b}),
        ]

    # -- before the clock ---------------------------------------------------------------------
    def rpc(self):
        from nameko.standalone.rpc import ClusterRpcProxy

        from xieshang.kernel.context import CommandContext

        from .events import STAFF

        return ClusterRpcProxy({"AMQP_URI": self.stack.amqp_uri},
                               context_data=CommandContext(actor=STAFF).to_context_data(), timeout=30)

    def make_directory(self) -> None:
        """The units and members, each with an e-mail address; then wait until the notify
        service's directory holds them all (it learns them from the members service's events)."""
        with self.rpc() as proxy:
            staff = proxy.members
            staff.register_organisation("bench-c", "committee", "基准测试政协", parent=None, level="county")
            staff.register_organisation("bench-s", "sector", "经济界", parent="bench-c")
            for k, u in enumerate(self.units):
                staff.register_organisation(u, "handling_unit", "市" + BUREAUS[k % len(BUREAUS)]
                                            + (str(k // len(BUREAUS) + 1) if k >= len(BUREAUS) else ""))
                staff.set_organisation_contact(u, email=f"{u}@units.bench.example.cn")
            for k, m in enumerate(self.members):
                staff.appoint_member(m, f"委员{k:04d}", "经济界", "第十届",
                                     contact={"email": f"{m}@members.bench.example.cn"})
        wanted = len(self.units) + len(self.members)
        wait_for(lambda: count(self.inbox_views, "SELECT count(*) FROM directory_entries WHERE kind IS NOT NULL "
                                                 "AND (entry_id LIKE 'u-nb-%' OR entry_id LIKE 'm-nb-%')") >= wanted,
                 timeout=120, what=f"the notify directory's {wanted} entries", poll=0.05)

    def assigned(self, n: int) -> list[str]:
        """Append ``n`` ProposalAssigned events (new cases) to the proposals upstream store; their ids."""
        from xieshang.kernel.envelope import NewEvent

        from services.proposals.domain.events import ProposalAssigned

        from .events import STAFF

        store = self.upstream_store("proposals").store
        ids = []
        for _ in range(n):
            k = self.n_assigned
            self.n_assigned += 1
            pid = str(uuid.uuid4())
            lead = self.units[k % len(self.units)]
            co = [self.units[(k + 1 + j) % len(self.units)] for j in range(2)]
            event = ProposalAssigned(
                proposal_id=pid, case_number=f"2024{k + 1:04d}", title=TITLES[k % len(TITLES)],
                proposer=self.members[k % len(self.members)], round=1, lead_unit=lead, co_units=co,
                started_on="2024-03-01", deadline="2024-05-30", period_days=90, counting="calendar")
            new = NewEvent(type=event.type_name(), data=event.to_data(), actor=STAFF)
            store.append(f"proposal-{pid}", 0, [new])
            ids.append(new.event_id)
        return ids

    def menu(self) -> str:
        from xieshang.kernel.envelope import NewEvent

        from services.members.domain.events import DutyMenuPublished

        from .events import STAFF

        menu_id = uuid.uuid4().hex[:12]
        forms = ("consultation", "research", "inspection", "supervision", "review")
        event = DutyMenuPublished(menu_id=menu_id, year=2024, title="2024年度委员履职菜单", sector=None,
                                  items=[{"item_id": f"i{j}", "title": f"履职项目{j + 1}", "form": f}
                                         for j, f in enumerate(forms)])
        new = NewEvent(type=event.type_name(), data=event.to_data(), actor=STAFF)
        self.upstream_store("members").store.append(f"menu-{menu_id}", 0, [new])
        return new.event_id

    def upstream_store(self, service: str) -> "Upstream":
        if service not in self.upstream:
            self.upstream[service] = Upstream(os.path.join(self.workdir, f"upstream-{service}.sqlite"),
                                              self.stack.amqp_uri, service)
        return self.upstream[service]

    # -- the clock ------------------------------------------------------------------------------
    def publish_and_wait(self, service: str, event_ids: list[str], notices: int, mails: int) -> dict[str, Any]:
        """Publish what the upstream store holds unpublished; time until the inbox holds
        ``notices`` more notices and the SMTP server ``mails`` more mails."""
        had_notices = count(self.inbox_views, "SELECT count(*) FROM inbox")
        had_mails = len(self.server.messages)
        relay = self.upstream_store(service).relay
        t0 = time.perf_counter()
        published = relay.run_once()
        t_published = time.perf_counter()
        if published != len(event_ids):
            raise RuntimeError(f"the relay published {published} events, not {len(event_ids)}")
        timeout = 60 + mails / 5
        t_inbox = t_first = t_mail = None
        deadline = t0 + timeout
        while t_inbox is None or t_mail is None:   # one loop: the first mail may come before the last notice
            now = time.perf_counter()
            got = len(self.server.messages) - had_mails
            if t_first is None and got >= 1:
                t_first = now
            if t_mail is None and got >= mails:
                t_mail = now
            if t_inbox is None and count(self.inbox_views, "SELECT count(*) FROM inbox") >= had_notices + notices:
                t_inbox = now
            if now > deadline:
                raise RuntimeError(f"not within {timeout:.0f} s: {notices} notices in the inbox "
                                   f"({'done' if t_inbox else 'not yet'}) and {mails} mails ({got} arrived)")
            time.sleep(POLL)
        received = self.server.messages[had_mails:had_mails + mails]
        time.sleep(0.3)  # a delivery sent twice within the tick fails the run
        if len(self.server.messages) != had_mails + mails:
            raise RuntimeError(f"{len(self.server.messages) - had_mails} mails arrived, not {mails}")
        return {"events": len(event_ids), "notices": notices, "mails_sent": mails,
                "publish_ms": (t_published - t0) * 1000,
                "inbox_s": t_inbox - t0, "inbox_per_s": notices / (t_inbox - t0),
                "first_mail_ms": (t_first - t0) * 1000,
                "mail_s": t_mail - t0, "mail_per_s": mails / (t_mail - t0),
                "mails": received}

    def noop_reference(self, n: int) -> dict[str, Any]:
        """The same kind of events, ``n`` of them, through a consumer doing nothing."""
        from xieshang.kernel.relay import Relay

        self.assigned(n)
        upstream = self.upstream_store("proposals")
        relay = Relay(upstream.store, self.stack.amqp_uri, service=REFERENCE_SOURCE)
        # only the events just appended: move its checkpoint past the earlier ones
        upstream.store.set_checkpoint(relay.name, upstream.store.head() - n)
        with self.rpc() as proxy:
            had = proxy[NOOP].seen()["count"]
            t0 = time.time()
            try:
                published = relay.run_once()
            finally:
                relay.close()
            deadline = time.monotonic() + 60
            while (seen := proxy[NOOP].seen())["count"] < had + n:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the no-op consumer took {seen['count'] - had} of {n} events in 60 s")
                time.sleep(0.02)
        # those events stay in the proposals store, already published to the reference's exchange only
        upstream.store.set_checkpoint(upstream.relay.name, upstream.store.head())
        return {"events": published, "seconds": seen["last"] - t0, "per_s": n / (seen["last"] - t0)}

    # -- after the run: the store reference ---------------------------------------------------
    def store_reference(self, assigned: list[str], menus: list[str]) -> tuple[dict, dict]:
        """Append what the notify service appended for ``assigned`` and ``menus`` (one append per
        upstream event, with its tracking) to a fresh store, and time it."""
        from xieshang.kernel.envelope import NewEvent
        from xieshang.kernel.store.port import Tracking
        from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

        from .events import DEPLOYMENT

        source = SqlEventStore(sqlite_engine(self.notify_events), DEPLOYMENT, create=False)
        try:
            caused: dict[str, list] = {}
            for env in source.read_all():
                caused.setdefault(env.causation_id or "", []).append(env)
        finally:
            source.close()

        def append_all(upstream_ids: list[str], consumer: str, label: str) -> dict[str, Any]:
            groups = [caused.get(i, []) for i in upstream_ids]
            notices = sum(1 for g in groups for e in g if e.type == "NotificationQueued")
            events = sum(len(g) for g in groups)
            target = SqlEventStore(sqlite_engine(os.path.join(self.workdir, f"reference-{label}.sqlite")),
                                   DEPLOYMENT)
            try:
                t0 = time.perf_counter()
                for upstream_id, group in zip(upstream_ids, groups):
                    if not group:
                        continue
                    new = [NewEvent(type=e.type, data=e.data, actor=e.actor, schema_version=e.schema_version,
                                    occurred_at=e.occurred_at, reason=e.reason, correlation_id=e.correlation_id,
                                    causation_id=e.causation_id) for e in group]
                    target.append(group[0].stream, 0, new, tracking=Tracking(consumer, upstream_id, 0))
                seconds = time.perf_counter() - t0
            finally:
                target.close()
            return {"notices": notices, "events": events, "appends": len(groups), "seconds": seconds,
                    "per_s": notices / seconds if seconds else None}

        return (append_all(assigned, "notify.on_proposal_assigned", "assigned"),
                append_all(menus, "notify.on_duty_menu_published", "menu"))


class Upstream:
    """A producer's store in this process, and the kernel's relay that publishes it as that producer."""

    def __init__(self, path: str, amqp_uri: str, service: str):
        from xieshang.kernel.relay import Relay
        from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

        from .events import DEPLOYMENT

        self.store = SqlEventStore(sqlite_engine(path), DEPLOYMENT)
        self.relay = Relay(self.store, amqp_uri, service=service)

    def close(self) -> None:
        self.relay.close()
        self.store.close()


# -- helpers ------------------------------------------------------------------------------------

def local_smtp_server() -> type:
    """``LocalSmtpServer`` of tests/support/mail.py (the checkout's: bench/ lives beside tests/)."""
    try:
        from tests.support.mail import LocalSmtpServer
    except ImportError:
        path = Path(__file__).resolve().parent.parent / "tests" / "support" / "mail.py"
        if not path.exists():
            raise
        spec = importlib.util.spec_from_file_location("xieshang_bench_mail", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        LocalSmtpServer = module.LocalSmtpServer
    importlib.import_module("aiosmtpd.controller")  # the server imports it lazily: fail here, saying so

    return LocalSmtpServer


def count(path: str, sql: str) -> int:
    """One number from a read model's SQLite file (read-only, as the stack section polls)."""
    if not os.path.exists(path):
        return 0
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:   # the table is not made yet
        return 0
    finally:
        conn.close()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str, poll: float = POLL) -> float:
    """perf_counter() once ``condition`` holds; RuntimeError after ``timeout`` seconds."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"not within {timeout:.0f} s: {what}")
        time.sleep(poll)
    return time.perf_counter()


def smtp_client(mode: str, server, mails: list, workdir: str) -> dict[str, Any]:  # noqa: ANN001
    """Send ``mails`` (as received) to ``server`` again from a process of its own; its figures."""
    path = os.path.join(workdir, f"mails-{uuid.uuid4().hex[:6]}.bin")
    with open(path, "wb") as f:
        for mail in mails:
            raw = mail.as_bytes(policy=email.policy.SMTP)
            f.write(struct.pack(">I", len(raw)) + raw)
    had = len(server.messages)
    args = {"host": server.host, "port": server.port, "mails": path}
    proc = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.notify_fanout", "smtp", mode,
                           json.dumps(args)], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"smtp client {mode} failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    server.wait_for(had + len(mails), timeout=30)
    os.remove(path)
    return out


def skipped(why: str) -> list:
    from .common import Result

    ids = ["notify.inbox.assigned", "notify.inbox.assigned.vs_noop", "notify.inbox.menu", "notify.mail.assigned",
           "notify.mail.assigned.vs_channel", "notify.mail.menu"]
    return [Result(id=i, section=SECTION, figure=i, unit="", ours=None, reference=None, reference_name="",
                   note=why) for i in ids]


# -- the reference's SMTP client (its own process) ------------------------------------------------

def _read_mails(path: str) -> list[bytes]:
    out = []
    with open(path, "rb") as f:
        while head := f.read(4):
            out.append(f.read(struct.unpack(">I", head)[0]))
    return out


def _smtp_main(mode: str, args: dict[str, Any]) -> dict[str, Any]:
    host, port = args["host"], args["port"]
    raws = _read_mails(args["mails"])
    mails = [message_from_bytes(r, policy=email.policy.default) for r in raws]
    envelopes = [(email.utils.parseaddr(SENDER)[1], [email.utils.parseaddr(m["To"])[1]]) for m in mails]
    refused = 0
    if mode == "bare":
        t0 = time.perf_counter()
        for raw, (sender, to) in zip(raws, envelopes):
            with smtplib.SMTP(host, port, timeout=10) as smtp:
                refused += len(smtp.sendmail(sender, to, raw))
    elif mode == "one-connection":
        t0 = time.perf_counter()
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            for raw, (sender, to) in zip(raws, envelopes):
                refused += len(smtp.sendmail(sender, to, raw))
    elif mode == "channel":
        from services.notify.channels import Message
        from services.notify.channels.smtp import SmtpChannel

        channel = SmtpChannel(host, port, sender=SENDER)
        messages = [Message(message_id=str(m["Message-ID"]).strip("<>"), channel="email", to=str(m["To"]),
                            subject=str(m["Subject"]), text=m.get_content()) for m in mails]
        t0 = time.perf_counter()
        for message in messages:
            refused += channel.send(message).status != "sent"
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    seconds = time.perf_counter() - t0
    return {"mode": mode, "mails": len(raws), "refused": refused, "seconds": seconds, "per_s": len(raws) / seconds,
            "mean_bytes": sum(map(len, raws)) / len(raws)}


if __name__ == "__main__":
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    if len(sys.argv) != 4 or sys.argv[1] != "smtp":
        raise SystemExit("usage: python -m bench.notify_fanout smtp bare|one-connection|channel ARGS-JSON")
    print(json.dumps(_smtp_main(sys.argv[2], json.loads(sys.argv[3]))))
