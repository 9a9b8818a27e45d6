"""Signed webhooks on the real broker, to a local HTTP receiver that verifies every delivery with
the Standard Webhooks library (issue 16): the public events of a proposal's handling reach the
subscribed receivers once each, signed, and nothing private does; a receiver down for an hour of
(simulated) retries gets everything once it is up, nothing lost, nothing twice; a delivery
retried for a day is parked, listed for operators and replayed; a rotated secret signs beside
the old one for the overlap; no secret is in notify's log, read models or log lines."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kombu
import pytest
from nameko.exceptions import RemoteError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notify.service import NotifyService
from services.proposals.domain.events import PUBLICATION as PROPOSALS
from xieshang.kernel.clock import ClockProvider, FixedClock
from xieshang.kernel.consumer import list_dead_letters
from xieshang.kernel.envelope import Actor
from xieshang.kernel.integration import CONTENT_TYPE, INTEGRATION_EXCHANGE, encode_cloud_event, feed_page

from ..support.views import every_row_as_text
from .conftest import STAFF, entrypoint_of, store_of, wait_until
from .test_notify_delivery import BlackHole
from .test_notify_service import START, SUBMISSION, member, start_stack, unit_actor

ADMIN = Actor("admin-01", "admin", "it-office")
AUDITOR = Actor("audit-01", "auditor", "inspection")
FILED = "cn.gov.cppcc.proposals.ProposalFiled.v1"


class Receiver:
    """A local HTTP endpoint of a receiving system: it verifies each request's signature with
    ``standardwebhooks.Webhook(secret).verify`` (any of ``secrets``), answers ``status`` while
    one is set (``down``), and keeps what it accepted: (webhook-id, CloudEvent)."""

    def __init__(self, *secrets: str):
        self.secrets = list(secrets)
        self.status: int | None = None
        self.accepted: list[tuple[str, dict]] = []
        self.unverified: list[str] = []
        self.refused = 0
        self.last: tuple[bytes, dict[str, str]] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/xieshang"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    def receive(self, body: bytes, headers: dict[str, str]) -> int:
        for secret in self.secrets:
            try:
                event = Webhook(secret).verify(body, headers)
                break
            except WebhookVerificationError:
                continue
        else:
            with self._lock:
                self.unverified.append(headers.get("webhook-id", "?"))
            return 401
        with self._lock:
            self.last = (body, headers)
            if self.status is not None:
                self.refused += 1
                return self.status
            self.accepted.append((headers["webhook-id"], event))
        return 204

    def ids(self, but: str | None = None) -> list[str]:
        with self._lock:
            return [i for i, e in self.accepted if but is None or f".{but}." not in e["type"]]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = receiver.receive(body, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(*secrets: str) -> Receiver:
        made.append(Receiver(*secrets))
        return made[-1]
    yield make
    for r in made:
        r.close()


def clock_of(container) -> FixedClock:
    return next(d for d in container.dependencies if isinstance(d, ClockProvider)).clock


def start_notify(container_factory, config, **extra):
    notify = container_factory(NotifyService, {**config, "XIESHANG_FIXED_TIME": START, **extra})
    notify.start()       # its queue on the integration exchange bound before anything is published
    return notify


def publish(config, *types: str) -> list[str]:
    """Public events as a service's integration relay publishes them: CloudEvents, structured."""
    ids = []
    with kombu.Connection(config["AMQP_URI"]) as conn:
        exchange = kombu.Exchange(INTEGRATION_EXCHANGE, "topic", durable=True)
        producer = kombu.Producer(conn.channel(), exchange)
        for n, ce_type in enumerate(types, 1):
            event_id = str(uuid.uuid4())
            body = encode_cloud_event({
                "specversion": "1.0", "id": event_id, "source": "urn:cppcc:640200", "type": ce_type,
                "subject": f"proposal-{event_id[:8]}", "time": "2024-03-01T01:00:00Z",
                "datacontenttype": "application/json", "dataschema": f"urn:cppcc:schema:{ce_type}",
                "xsservice": "proposals", "xsposition": n, "xshash": "ab" * 32, "xslevel": "city",
                "xsrecordedat": "2024-03-01T01:00:00Z", "xsrole": "staff",
                "xsorganisation": "proposal-committee", "data": {"proposal_id": event_id[:8], "n": n}})
            producer.publish(body, routing_key=ce_type, content_type=CONTENT_TYPE, content_encoding="binary",
                             message_id=event_id, declare=[exchange], delivery_mode=2)
            ids.append(event_id)
    return ids


def deliveries(rpc_as, **query) -> list[dict]:
    head = rpc_as(ADMIN).notify.health()["head"]
    return rpc_as(ADMIN).notify.webhook_deliveries(limit=500, after_position=head, **query)["items"]


def subscribe(rpc_as, url: str, types: list[str], secret: str | None = None) -> tuple[str, str]:
    made = rpc_as(ADMIN).notify.create_webhook(url, types, secret=secret, description="OA 系统")
    assert made["events"] == ["WebhookSubscribed"]
    return made["subscription_id"], made.get("secret") or secret


# -- the proposal's public events reach the receivers, signed, once each; nothing private --------

def test_public_events_reach_each_subscribed_receiver_signed_once_each_and_nothing_private(
        container_factory, config, rpc_as, receivers, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="nameko.rpc")  # as infra/nameko.yaml keeps it (ADR 0005)
    notify = start_notify(container_factory, config)
    everything, only_filed = receivers(), receivers()
    all_id, all_secret = subscribe(rpc_as, everything.url, ["cn.gov.cppcc.proposals"])
    everything.secrets = [all_secret]
    given = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    filed_id, _ = subscribe(rpc_as, only_filed.url, [FILED], secret=given)
    only_filed.secrets = [given]
    assert all_secret.startswith("whsec_") and len(all_secret) > 40

    stack = start_stack(container_factory, config, rpc_as, None)
    pid = rpc_as(member("m-li")).proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    rpc_as(STAFF).proposals.file_proposal(pid)
    rpc_as(STAFF).proposals.assign_proposal(pid, "mzj")
    rpc_as(unit_actor("mzj")).proposals.reply_to_proposal(pid, "A", "已建成社区长者食堂三处。")
    rpc_as(member("m-li")).proposals.rate_reply(pid, "satisfied", "satisfied")   # private: 背靠背

    proposals_store = store_of(stack["proposals"])
    wait_until(lambda: proposals_store.stream_version(f"proposal-{pid}") and any(
        e.type == "ReplyRated" for e in proposals_store.read_stream(f"proposal-{pid}")), what="the rating")
    # (the log's checkpoints are public too, sealed on their own time: left out here)
    public = [e for e in feed_page(proposals_store, PROPOSALS, 0, ["cn.gov.cppcc.proposals"], 1000)["events"]
              if ".LogCheckpointed." not in e["type"]]
    assert {e["type"].split(".")[4] for e in public} >= {"ProposalFiled", "ProposalAssigned", "ProposalReplied"}
    wanted = sorted(e["id"] for e in public)
    wait_until(lambda: sorted(everything.ids(but="LogCheckpointed")) == wanted, timeout=30,
               what="every public event delivered")
    wait_until(lambda: len(only_filed.ids()) == 1, timeout=30, what="the filing delivered")

    assert everything.unverified == [] and only_filed.unverified == []
    assert [e["type"] for _, e in only_filed.accepted] == [FILED]
    assert only_filed.ids() == [e["id"] for e in public if e["type"] == FILED]
    by_id = {e["id"]: e for e in public}
    for webhook_id, event in everything.accepted:
        if ".LogCheckpointed." in event["type"]:
            continue
        assert event == by_id[webhook_id]            # the CloudEvent itself, as the feed gives it
        assert PROPOSALS.is_public(event["type"].split(".")[4])
    private_types = set(PROPOSALS.private)
    assert not any(e["type"].split(".")[4] in private_types for _, e in everything.accepted)
    # nothing twice, even after the timer has had more ticks
    delivered = [d for d in deliveries(rpc_as, state="delivered") if ".LogCheckpointed." not in d["ce_type"]]
    assert len(delivered) == len(wanted) + 1
    assert {d["subscription_id"] for d in delivered} == {all_id, filed_id}
    assert sorted(everything.ids(but="LogCheckpointed")) == wanted

    # no secret anywhere but the private store: not in the log, the read models or a log line
    kept = "\n".join(e.to_json().decode() for e in store_of(notify).read_all())
    views = next(d for d in notify.dependencies if type(d).__name__ == "ReadModels")
    kept += every_row_as_text(views.engine, views.schema)
    assert "WebhookSubscribed" in kept and kept.count(all_id) > 3   # it looked at the right things
    for secret in (all_secret, given, all_secret[len("whsec_"):], given[len("whsec_"):]):
        assert secret not in kept
    assert all_secret not in caplog.text and given not in caplog.text
    listed = rpc_as(AUDITOR).notify.webhooks()
    assert {s["subscription_id"] for s in listed["items"]} >= {all_id, filed_id}
    assert all_secret not in json.dumps(listed) and given not in json.dumps(listed)
    with pytest.raises(RemoteError) as refused:
        rpc_as(STAFF).notify.create_webhook(everything.url, [FILED])
    assert refused.value.exc_type == "NotAllowed"
    with pytest.raises(RemoteError) as bad:
        rpc_as(ADMIN).notify.create_webhook("http://oa.example.cn/hook", ["org.example"])
    assert bad.value.exc_type == "InvalidCommand"


# -- a receiver down for an hour, then up ------------------------------------------------------------

def test_a_receiver_down_for_an_hour_of_retries_gets_every_event_once_when_it_is_up(
        container_factory, config, rpc_as, receivers):
    notify = start_notify(container_factory, config)
    receiver = receivers()
    sid, secret = subscribe(rpc_as, receiver.url, ["cn.gov.cppcc.proposals"])
    receiver.secrets, receiver.status = [secret], 503
    ids = publish(config, FILED, "cn.gov.cppcc.proposals.ProposalAssigned.v1", FILED,
                  "cn.gov.cppcc.members.MemberAppointed.v1")    # not subscribed
    clock = clock_of(notify)
    wait_until(lambda: len([d for d in deliveries(rpc_as) if d["attempts"] >= 1 and d["state"] == "planned"]) == 3,
               timeout=20, what="the first attempts failed")
    start = clock.now()
    while clock.now() - start < timedelta(hours=1):
        rows = deliveries(rpc_as)
        attempts = {d["key"]: d["attempts"] for d in rows}
        assert all(d["state"] == "planned" and d["last_status"] == 503 for d in rows), rows
        clock.advance(seconds=min(30 * 2 ** (a - 1) for a in attempts.values()))  # the next retry is due
        wait_until(lambda: all(d["attempts"] > attempts[d["key"]] and d["state"] == "planned"
                               for d in deliveries(rpc_as)), timeout=20, what="the next attempts")
    tried = {d["key"]: d["attempts"] for d in deliveries(rpc_as)}
    assert min(tried.values()) >= 7            # 30 s, 1, 2, 4, 8, 16, 32 minutes: an hour of them
    receiver.status = None                     # up again
    clock.advance(hours=1)
    wait_until(lambda: sorted(receiver.ids()) == sorted(ids[:3]), timeout=20, what="everything delivered")
    wait_until(lambda: all(d["state"] == "delivered" for d in deliveries(rpc_as)), what="recorded as delivered")
    assert sorted(receiver.ids()) == sorted(ids[:3]) and receiver.unverified == []
    history = rpc_as(AUDITOR).notify.webhook_attempts(f"{sid}.{ids[0]}")
    outcomes = [(a["outcome"], a["status"]) for a in history["attempts"] if a["event"] == "WebhookAttempted"]
    assert outcomes[:-1] == [("retry", 503)] * (len(outcomes) - 1) and outcomes[-1] == ("delivered", 204)
    assert history["attempts"][-1]["event"] == "WebhookDelivered" and history["state"] == "delivered"


# -- parked after a day, listed, replayed; a rotated secret ---------------------------------------

def test_a_delivery_retried_for_a_day_is_parked_listed_and_replayed_with_a_rotated_secret(
        container_factory, config, rpc_as, receivers):
    notify = start_notify(container_factory, config)
    receiver = receivers()
    sid, old = subscribe(rpc_as, receiver.url, [FILED])
    receiver.secrets, receiver.status = [old], 500
    [event_id] = publish(config, FILED)
    clock = clock_of(notify)
    wait_until(lambda: [d["attempts"] for d in deliveries(rpc_as)] == [1], timeout=20, what="a first attempt")
    clock.advance(hours=24, seconds=1)                            # a day of retries later
    wait_until(lambda: [d["state"] for d in deliveries(rpc_as)] == ["parked"], timeout=20, what="parked")
    [parked] = deliveries(rpc_as, state="parked", subscription_id=sid)
    assert (parked["key"], parked["reason"], parked["attempts"], parked["last_status"]) == (
        f"{sid}.{event_id}", "retries_exhausted", 2, 500)
    clock.advance(hours=5)
    assert [d["attempts"] for d in deliveries(rpc_as)] == [2]   # parked stays parked

    with pytest.raises(RemoteError) as refused:
        rpc_as(STAFF).notify.replay_webhooks(sid)
    assert refused.value.exc_type == "NotAllowed"
    rotated = rpc_as(ADMIN).notify.rotate_webhook_secret(sid)
    new = rotated["secret"]
    assert new != old and rotated["events"] == ["WebhookSecretRotated"]
    receiver.status = None                                        # up, still on the old secret
    replayed = rpc_as(ADMIN).notify.replay_webhooks(sid)
    assert replayed["replayed"] == 1
    wait_until(lambda: receiver.ids() == [event_id], timeout=20, what="the replayed delivery")
    # signed with both secrets during the overlap: the old and the new one verify it
    body, headers = receiver.last
    assert len(headers["webhook-signature"].split(" ")) == 2 and receiver.unverified == []
    assert Webhook(new).verify(body, headers) == Webhook(old).verify(body, headers)
    wait_until(lambda: [d["state"] for d in deliveries(rpc_as)] == ["delivered"], what="recorded")
    again = rpc_as(ADMIN).notify.replay_webhooks(sid)
    assert again["replayed"] == 0 and receiver.ids() == [event_id]
    history = rpc_as(ADMIN).notify.webhook_attempts(f"{sid}.{event_id}")
    assert [e["event"] for e in history["attempts"]] == [
        "WebhookAttemptStarted", "WebhookAttempted", "WebhookAttemptStarted", "WebhookAttempted", "WebhookParked",
        "WebhookReplayRequested", "WebhookAttemptStarted", "WebhookAttempted", "WebhookDelivered"]

    # disabled: the next event is not even planned
    assert rpc_as(ADMIN, "the OA system is replaced").notify.disable_webhook(sid)["events"] == ["WebhookDisabled"]
    taken = entrypoint_of(notify, "on_public_event").outcomes["handled"]
    publish(config, FILED)
    wait_until(lambda: entrypoint_of(notify, "on_public_event").outcomes["handled"] == taken + 1,
               what="the next event taken")
    assert len(deliveries(rpc_as)) == 1
    [listed] = rpc_as(ADMIN).notify.webhooks()["items"]
    assert listed["state"] == "disabled" and listed["types"] == [FILED]


# -- what is not a CloudEvent, and a receiver that never answers ------------------------------------

def test_a_message_that_is_no_cloud_event_is_dead_lettered_and_a_hung_receiver_is_a_timeout(
        container_factory, config, rpc_as):
    start_notify(container_factory, config, XIESHANG_WEBHOOK_TIMEOUT_SECONDS="0.5")
    hole = BlackHole()
    try:
        sid, _ = subscribe(rpc_as, f"http://127.0.0.1:{hole.port}/hook", [FILED])
        with kombu.Connection(config["AMQP_URI"]) as conn:
            exchange = kombu.Exchange(INTEGRATION_EXCHANGE, "topic", durable=True)
            kombu.Producer(conn.channel(), exchange).publish(
                b'{"specversion": "1.0", "type": "' + FILED.encode() + b'"}', routing_key=FILED,
                content_type=CONTENT_TYPE, content_encoding="binary", message_id="not-a-cloud-event",
                declare=[exchange])
        wait_until(lambda: list_dead_letters(config["AMQP_URI"], "notify.webhooks"), what="the dead letter")
        [dead] = list_dead_letters(config["AMQP_URI"], "notify.webhooks")
        assert (dead["message_id"], dead["reason"]) == ("not-a-cloud-event", "malformed")

        [event_id] = publish(config, FILED)                       # the service goes on
        wait_until(lambda: [d["last_error"] for d in deliveries(rpc_as)] == ["TimeoutError"], timeout=20,
                   what="the hung receiver's timeout")
        [row] = deliveries(rpc_as)
        assert (row["key"], row["state"], row["last_status"]) == (f"{sid}.{event_id}", "planned", None)
    finally:
        hole.close()
