"""The relay publishes committed events to RabbitMQ, in order, at least once (real broker)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import kombu
import pytest
from nameko.standalone.events import get_event_exchange

from xieshang.kernel.envelope import Envelope, NewEvent
from xieshang.kernel.relay import Relay, RelayError
from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

from ..conftest import AMQP_URI, DEPLOYMENT, STAFF, new_event, unique
from ..support.tcpproxy import TcpProxy

pytestmark = pytest.mark.rabbit

REPO = Path(__file__).resolve().parents[2]
OUTAGE = float(os.environ.get("XIESHANG_OUTAGE_SECONDS", "60"))
PERSONAL = "张三-13800000000"  # stands for personal data: it must never reach a log line


# -- helpers ------------------------------------------------------------------
@dataclass
class Received:
    routing_key: str
    headers: dict
    properties: dict
    body: bytes

    @property
    def position(self) -> int:
        return self.headers["position"]

    @property
    def event_id(self) -> str:
        return self.properties["message_id"]


class Tap:
    """A durable queue bound to the relay's exchange (declared before publishing), read by basic_get."""

    def __init__(self, exchange: str, **queue_arguments):
        self.exchange = kombu.Exchange(exchange, type="topic", durable=True)
        self.conn = kombu.Connection(AMQP_URI)
        self.channel = self.conn.channel()
        self.queue = kombu.Queue(unique("xs_relay_q"), self.exchange, routing_key="#",
                                 durable=True, queue_arguments=queue_arguments or None)(self.channel)
        self.queue.declare()

    def get(self) -> Received | None:
        msg = self.queue.get(no_ack=True)
        if msg is None:
            return None
        body = msg.body  # py-amqp decodes a body that names its content_encoding
        body = body.encode(msg.content_encoding) if isinstance(body, str) else bytes(body)
        return Received(msg.delivery_info["routing_key"], dict(msg.headers), dict(msg.properties), body)

    def take(self, n: int, timeout: float = 20.0) -> list[Received]:
        """Exactly the next ``n`` messages (fails if they do not all arrive in time)."""
        got: list[Received] = []
        deadline = time.monotonic() + timeout
        while len(got) < n:
            msg = self.get()
            if msg is not None:
                got.append(msg)
                continue
            assert time.monotonic() < deadline, f"only {len(got)} of {n} messages arrived in {timeout}s"
            time.sleep(0.02)
        return got

    def rest(self) -> list[Received]:
        """Whatever is queued now."""
        got = []
        while (msg := self.get()) is not None:
            got.append(msg)
        return got

    def delete(self) -> None:
        try:
            self.queue.delete()
            self.exchange(self.channel).delete()
        finally:
            self.conn.release()


@pytest.fixture
def exchange():
    return unique("xs_relay_ex")


@pytest.fixture
def tap(exchange):
    t = Tap(exchange)
    yield t
    t.delete()


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "events.sqlite")


@pytest.fixture
def store(db):
    s = SqlEventStore(sqlite_engine(db), DEPLOYMENT)
    yield s
    s.close()


def append_events(store, n: int, *, streams: int = 3, chunk: int = 5, **data) -> list[Envelope]:
    out: list[Envelope] = []
    while len(out) < n:
        k = min(chunk, n - len(out))
        stream = f"case-{len(out) % streams}"
        out += store.append(stream, None, [new_event(f"Case{len(out) % 2}Noted", i=len(out) + i, **data)
                                           for i in range(k)])
    return out


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.05)


def first_occurrences(messages: list[Received]) -> list[int]:
    seen: set[str] = set()
    order = []
    for m in messages:
        if m.event_id not in seen:
            seen.add(m.event_id)
            order.append(m.position)
    return order


class Running:
    """A relay's ``run`` loop in a thread (a green thread under the test suite's eventlet)."""

    def __init__(self, relay: Relay):
        self.relay = relay
        self.stop = threading.Event()
        self.thread = threading.Thread(target=relay.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the relay loop did not stop"


def relay_for(store, exchange, uri=AMQP_URI, **kw) -> Relay:
    kw.setdefault("poll_interval", 0.1)
    return Relay(store, uri, service="proposals", exchange=exchange, **kw)


# -- 1. happy path --------------------------------------------------------------
def test_publishes_each_committed_event_once_in_position_order(store, exchange, tap):
    stored = append_events(store, 120)
    relay = relay_for(store, exchange, batch=50)

    assert relay.run_once() == 120
    assert relay.run_once() == 0
    assert store.get_checkpoint(f"relay:{exchange}") == store.head() == 120

    got = tap.take(120)
    assert tap.rest() == []
    assert [m.position for m in got] == list(range(1, 121))
    for msg, env in zip(got, stored):
        assert msg.routing_key == env.type
        assert Envelope.from_json(msg.body) == env
        assert msg.body == env.to_json()
        assert msg.properties["message_id"] == env.event_id
        assert msg.properties["content_type"] == "application/json"
        assert msg.properties["content_encoding"] == "utf-8"
        assert msg.properties["delivery_mode"] == 2
        assert msg.headers == {
            "event_type": env.type, "stream": env.stream, "version": env.version,
            "position": env.position, "committee": "640200", "level": "city",
            "correlation_id": env.correlation_id,
        }
    relay.close()


def test_default_exchange_is_the_nameko_event_exchange_of_the_service(store):
    service = unique("svc")
    relay = Relay(store, AMQP_URI, service=service)
    assert relay.exchange_name == f"{service}.events"
    assert relay.name == f"relay:{service}.events"
    tap = Tap(relay.exchange_name)
    try:
        append_events(store, 2)
        assert relay.run_once() == 2
        # nameko declares its event exchange with these arguments; a mismatch would fail here.
        with kombu.Connection(AMQP_URI) as conn:
            get_event_exchange(service, {})(conn.channel()).declare()
        assert [m.position for m in tap.take(2)] == [1, 2]
    finally:
        relay.close()
        tap.delete()


def test_wake_publishes_new_commits_at_once(store, exchange, tap):
    relay = relay_for(store, exchange, poll_interval=30)  # only a wake-up can be this quick
    store.subscribe(relay.wake)
    running = Running(relay)
    try:
        for n in range(1, 4):
            env = store.append(f"case-{n}", 0, [new_event()])[0]
            started = time.monotonic()
            assert tap.take(1, timeout=5)[0].event_id == env.event_id
            assert time.monotonic() - started < 5
    finally:
        running.close()


def test_a_nacked_batch_leaves_the_checkpoint_and_is_published_again(store, exchange):
    # A full queue that rejects publishes makes the broker nack: a real refusal, no mock.
    full = Tap(exchange, **{"x-max-length": 3, "x-overflow": "reject-publish"})
    relay = relay_for(store, exchange, batch=10)
    try:
        append_events(store, 6)
        with pytest.raises(RelayError, match="nacked"):
            relay.run_once()
        assert store.get_checkpoint(relay.name) == 0
    finally:
        full.delete()
    tap = Tap(exchange)
    try:
        assert relay.run_once() == 6
        assert [m.position for m in tap.take(6)] == [1, 2, 3, 4, 5, 6]
        assert store.get_checkpoint(relay.name) == 6
    finally:
        relay.close()
        tap.delete()


# -- 2. crashes -------------------------------------------------------------------
def spawn(tmp_path, *args) -> tuple[subprocess.Popen, Path]:
    status = tmp_path / f"status-{unique()}"
    status.touch()
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.outbox_child", args[0],
                             args[1], str(status), *map(str, args[2:])], cwd=REPO)
    return proc, status


def wait_status(proc, status: Path, prefix: str, timeout: float = 30) -> int:
    def line():
        return next((x for x in status.read_text().splitlines() if x.startswith(prefix)), None)

    wait_for(lambda: line() is not None or proc.poll() is not None, timeout, f"child to say {prefix!r}")
    assert line() is not None, f"child exited with {proc.returncode} before {prefix!r}"
    return int(line().split()[1])


def kill(proc) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL


def test_events_committed_by_a_process_killed_before_publication_are_published(tmp_path, db, exchange, tap):
    proc, status = spawn(tmp_path, "commit", db, 40, exchange, AMQP_URI)
    try:
        head = wait_status(proc, status, "committed")
        assert head == 40
        # Its relay was woken and read the log, but is held back before it touches the broker.
        assert wait_status(proc, status, "relay-held") == 1
    finally:
        kill(proc)
    assert tap.rest() == []

    store = SqlEventStore(sqlite_engine(db), DEPLOYMENT)
    try:
        stored = store.read_all()
        relay = relay_for(store, exchange, lease_ttl=1.0, batch=15)
        running = Running(relay)  # takes over once the dead process's lease expires
        try:
            got = tap.take(40)
            wait_for(lambda: store.get_checkpoint(relay.name) == 40, 10, "the checkpoint")
        finally:
            running.close()
        assert [m.event_id for m in got] == [e.event_id for e in stored]
        assert [m.position for m in got] == list(range(1, 41))
        assert tap.rest() == []
    finally:
        store.close()


def test_a_relay_killed_before_its_checkpoint_moves_is_republished_from_the_checkpoint(
        tmp_path, store, db, exchange, tap):
    stored = append_events(store, 25)
    proc, status = spawn(tmp_path, "relay", db, exchange, AMQP_URI, 10)
    try:
        assert wait_status(proc, status, "confirmed") == 10
    finally:
        kill(proc)
    assert store.get_checkpoint(f"relay:{exchange}") == 0
    before = tap.take(10)
    assert [m.position for m in before] == list(range(1, 11))  # published and confirmed

    relay = relay_for(store, exchange, lease_ttl=1.0, batch=10)
    wait_for(lambda: relay.run_once() > 0, 10, "the lease of the killed relay to expire")
    relay.run_once()
    relay.close()
    assert store.get_checkpoint(relay.name) == 25

    messages = before + tap.rest()
    assert len(messages) == 35  # the unconfirmed-by-checkpoint batch twice, the rest once
    assert first_occurrences(messages) == list(range(1, 26))
    assert {m.event_id for m in messages} == {e.event_id for e in stored}
    assert [m.position for m in messages[10:]] == list(range(1, 26))


# -- 3. broker outage -------------------------------------------------------------------
def outage(store, exchange, tap, seconds: float, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="xieshang.kernel.relay")
    proxy = TcpProxy.for_uri(AMQP_URI, 5672).start()
    relay = relay_for(store, exchange, proxy.uri(AMQP_URI), max_backoff=2.0, confirm_timeout=10)
    store.subscribe(relay.wake)
    running = Running(relay)
    try:
        first = append_events(store, 5, who=PERSONAL)
        assert [m.event_id for m in tap.take(5)] == [e.event_id for e in first]

        proxy.cut()
        during = append_events(store, 10, who=PERSONAL)
        wait_for(lambda: relay.failures >= 2, 30, "the relay to notice the outage")
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:  # keep committing while the broker stays unreachable
            during += append_events(store, 3, who=PERSONAL)
            running.stop.wait(min(5.0, max(0.0, ends - time.monotonic())))
        assert running.thread.is_alive()
        assert store.get_checkpoint(relay.name) == 5
        failures = relay.failures

        proxy.restore()
        got = tap.take(len(during), timeout=30)
        wait_for(lambda: store.get_checkpoint(relay.name) == store.head(), 10, "the checkpoint")
        got += tap.rest()
        assert first_occurrences(got) == [e.position for e in during]
        assert {m.event_id for m in got} == {e.event_id for e in during}
        assert running.thread.is_alive() and failures >= 2
    finally:
        running.close()
        proxy.close()
    assert "failed" in caplog.text and "publishing again" in caplog.text
    assert PERSONAL not in caplog.text  # logs carry ids and positions, never event data


def test_a_short_broker_outage_loses_nothing(store, exchange, tap, caplog):
    outage(store, exchange, tap, 2.0, caplog)


@pytest.mark.slow
def test_a_broker_outage_of_a_minute_loses_nothing(store, exchange, tap, caplog):
    outage(store, exchange, tap, OUTAGE, caplog)


def test_a_connection_lost_while_publishing_resumes_from_the_checkpoint(store, exchange, tap):
    n = 3000
    append_events(store, n, chunk=500)
    proxy = TcpProxy.for_uri(AMQP_URI, 5672).start()
    relay = relay_for(store, exchange, proxy.uri(AMQP_URI), batch=250, max_backoff=0.5)
    running = Running(relay)
    try:
        wait_for(lambda: store.get_checkpoint(relay.name) >= 500, 20, "part of the backlog")
        proxy.cut()  # while batches are in flight
        cut_at = store.get_checkpoint(relay.name)
        wait_for(lambda: relay.failures >= 1, 10, "the relay to notice")
        proxy.restore()
        wait_for(lambda: store.get_checkpoint(relay.name) == n, 30, "the whole backlog")
        assert running.thread.is_alive()
    finally:
        running.close()
        proxy.close()
    assert cut_at < n
    got = tap.take(n) + tap.rest()
    assert first_occurrences(got) == list(range(1, n + 1))


def test_the_relay_starts_while_the_broker_is_down(store, exchange, tap):
    proxy = TcpProxy.for_uri(AMQP_URI, 5672).start()
    proxy.cut()
    relay = relay_for(store, exchange, proxy.uri(AMQP_URI), max_backoff=0.5)
    running = Running(relay)
    try:
        stored = append_events(store, 4)
        wait_for(lambda: relay.failures >= 2, 10, "failed attempts")
        proxy.restore()
        assert [m.event_id for m in tap.take(4)] == [e.event_id for e in stored]
    finally:
        running.close()
        proxy.close()


# -- 4. two relays ---------------------------------------------------------------------
def test_only_the_lease_holder_publishes(db, exchange, tap):
    stores = [SqlEventStore(sqlite_engine(db), DEPLOYMENT) for _ in range(2)]
    relays = [relay_for(s, exchange, lease_ttl=1.0, batch=7) for s in stores]
    for s, r in zip(stores, relays):
        s.subscribe(r.wake)
    runs = [Running(r) for r in relays]
    try:
        stored = []
        for i in range(10):  # commits through both instances
            stored += append_events(stores[i % 2], 6)
        got = tap.take(60)
        wait_for(lambda: stores[0].get_checkpoint(relays[0].name) == 60, 10, "the checkpoint")
        assert [m.event_id for m in got] == [e.event_id for e in stored]
        assert tap.rest() == []
        assert sorted(r.published for r in relays) == [0, 60]
        assert sum(r.is_leader for r in relays) == 1

        # The holder stops; the other takes over once the lease has expired.
        leader = next(i for i, r in enumerate(relays) if r.is_leader)
        runs[leader].close()
        more = append_events(stores[leader], 5)
        assert [m.event_id for m in tap.take(5, timeout=15)] == [e.event_id for e in more]
        wait_for(lambda: relays[1 - leader].published == 5, 10, "the new holder's checkpoint")
    finally:
        for r in runs:
            if r.thread.is_alive():
                r.close()
        for s in stores:
            s.close()
