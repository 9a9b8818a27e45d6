"""The integration contract (issue 16, ADR 0012): other systems get public events only.

* A subscriber's broker user (infra/rabbitmq/definitions.json) reads the integration exchange
  and nothing else: binding a queue to a service's internal exchange is refused by the broker.
* The demo committee's year, run against the stack of `infra/scripts/run.sh`: every public event
  reaches a subscriber queue on ``xieshang.integration``, the catch-up feed and a signed webhook,
  each a valid CloudEvent that validates against its JSON Schema, and no rating, no account
  event, no commenter, no contact detail.
"""

from __future__ import annotations

import uuid

import amqp.exceptions
import kombu
import pytest

from tools.broker import apply_definitions
from tools.levels import Endpoint, _call

pytestmark = [pytest.mark.rabbit]


@pytest.fixture
def broker_users(rabbit_config):
    """The definitions' users made afresh (unique names) on the test's vhost: {file name: (name,
    password)}; removed afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = {"xieshang-services": f"t-services-{suffix}", "xieshang-subscriber": f"t-subscriber-{suffix}"}
    passwords = {k: uuid.uuid4().hex for k in names}
    endpoint = Endpoint(rabbit_config["AMQP_URI"], None, "")
    apply_definitions(endpoint, passwords, rename=names)
    yield endpoint, {k: (names[k], passwords[k]) for k in names}
    for name in names.values():
        _call(endpoint, "DELETE", "users", name)


def _connection(endpoint: Endpoint, user: str, password: str) -> kombu.Connection:
    vhost = endpoint.vhost
    return kombu.Connection(hostname="127.0.0.1", port=5672, userid=user, password=password,
                            virtual_host=vhost, connect_timeout=5)


def test_a_subscriber_user_reads_the_integration_exchange_and_cannot_bind_an_internal_one(broker_users):
    endpoint, users = broker_users
    with _connection(endpoint, *users["xieshang-services"]) as services:
        channel = services.channel()
        kombu.Exchange("proposals.events", "topic", durable=True)(channel).declare()
    with _connection(endpoint, *users["xieshang-subscriber"]) as sub:
        channel = sub.channel()
        integration = kombu.Exchange("xieshang.integration", "topic", durable=True, passive=True)
        ok = kombu.Queue(f"subscriber.oa-{uuid.uuid4().hex[:6]}", integration, routing_key="#",
                         auto_delete=True)
        ok(channel).declare()  # its own queue on the integration exchange: allowed
        with pytest.raises(amqp.exceptions.AccessRefused) as refused:
            ch2 = sub.channel()
            kombu.Queue(f"subscriber.spy-{uuid.uuid4().hex[:6]}",
                        kombu.Exchange("proposals.events", "topic", durable=True, passive=True),
                        routing_key="#", auto_delete=True)(ch2).declare()
        assert "proposals.events" in str(refused.value)
    with _connection(endpoint, *users["xieshang-subscriber"]) as sub:
        with pytest.raises(amqp.exceptions.AccessRefused):
            producer = kombu.Producer(sub.channel())
            producer.publish(b"{}", exchange="xieshang.integration", routing_key="x", retry=False)
            sub.drain_events(timeout=2)  # the refusal closes the channel asynchronously


# -- the demo committee's year, end to end ----------------------------------------------------
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import requests  # noqa: E402
from nameko.testing.utils import find_free_port  # noqa: E402

from tests.test_stack import started, stopped, wait_for_line  # noqa: E402
from tools.stack import ADMIN_PASSWORD_FILE  # noqa: E402
from xieshang.kernel.config import Settings, make_event_store  # noqa: E402
from xieshang.kernel.integration import decode_cloud_event  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("proposals", "members", "feedback", "notify", "gateway")
# What must never leave: data keys of ratings, commenters and contact details, and every type
# of the gateway's (accounts) and notify's (notices to people) own.
NEVER_KEYS = {"reply_rating", "attitude_rating", "rater", "author", "display_name", "phone",
              "mobile", "email", "address", "cpc_member", "password", "submitter", "contributors"}


def _publications():
    from services.feedback.domain.events import PUBLICATION as feedback
    from services.gateway.domain.events import PUBLICATION as gateway
    from services.members.domain.events import PUBLICATION as members
    from services.notify.domain.events import PUBLICATION as notify
    from services.proposals.domain.events import PUBLICATION as proposals
    return {"proposals": proposals, "members": members, "feedback": feedback, "notify": notify,
            "gateway": gateway}


def _keys(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from _keys(v)


def _public_in_logs(data) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """The public events the stack's logs hold (event id -> (service, type)), and the others' ids."""
    publications = _publications()
    public, private = {}, set()
    for service in SERVICES:
        store = make_event_store(Settings.load(service, {"XIESHANG_DATA_DIR": str(data)}))
        try:
            for env in store.iter_all():
                if publications[service].is_public(env.type):
                    public[env.event_id] = (service, env.type)
                else:
                    private.add(env.event_id)
        finally:
            store.close()
    return public, private


def _wait(what: str, done, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.2)


@pytest.mark.slow
def test_a_year_of_the_demo_reaches_subscribers_the_feed_and_webhooks_public_events_only(
        rabbit_config, tmp_path):
    from tests.services.test_webhooks import Receiver

    # The subscriber's queue exists before the stack starts, so it sees everything published.
    queue_name = f"subscriber.test-{uuid.uuid4().hex[:8]}"
    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        exchange = kombu.Exchange("xieshang.integration", "topic", durable=True)
        kombu.Queue(queue_name, exchange, routing_key="#", durable=True)(conn.channel()).declare()

    data, port, out = tmp_path / "data", find_free_port(), tmp_path / "run.out"
    proc = started(["bash", "infra/scripts/run.sh", "--no-demo", "--data-dir", str(data), "--web",
                    f"127.0.0.1:{port}"], rabbit_config["AMQP_URI"], out)
    base = f"http://127.0.0.1:{port}"
    receiver = None
    try:
        wait_for_line(out, "READY", proc, timeout=180)
        # An administrator gives the OA system an API key and a webhook for everything public,
        # before the year happens.
        admin = requests.post(f"{base}/api/auth/login", timeout=10, json={
            "user_id": "admin", "password": (data / ADMIN_PASSWORD_FILE).read_text().strip()}).json()
        as_admin = {"Authorization": f"Bearer {admin['token']}"}
        key = requests.post(f"{base}/api/api-keys", timeout=10, json={"system": "OA", "organisation": "oa"},
                            headers=as_admin).json()["api_key"]
        receiver = Receiver()
        made = requests.post(f"{base}/api/webhooks", timeout=10, headers=as_admin, json={
            "url": receiver.url, "types": ["cn.gov.cppcc"], "description": "OA 办公系统"})
        assert made.status_code == 201, made.text
        receiver.secrets.append(made.json()["secret"])

        # The demo committee's year (`xieshang demo` against the running services).
        loaded = subprocess.run([str(ROOT / ".venv" / "bin" / "xieshang"), "demo"], cwd=ROOT, timeout=300,
                                env={**os.environ, "AMQP_URI": rabbit_config["AMQP_URI"]},
                                capture_output=True, text=True)
        assert loaded.returncode == 0, loaded.stdout + loaded.stderr
        expected, private_ids = _public_in_logs(data)
        types = {t for _, t in expected.values()}
        assert {"ProposalFiled", "ProposalAssigned", "ProposalReplied", "ProposalClosed",
                "MemberAppointed", "OpinionReportAdopted"} <= types
        assert private_ids and not types & {"ReplyRated", "CommentSubmitted", "ContactDetailsChanged",
                                            "AccountRegistered", "NotificationQueued"}
        assert "ReplyRated" in {t for t in _types_of(data, private_ids)}  # the year had ratings

        # 1. the integration exchange: every public event, once each, valid CloudEvents
        received: dict[str, dict] = {}
        with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
            simple = conn.SimpleQueue(queue_name)
            deadline = time.monotonic() + 90
            while not set(expected) <= set(received) and time.monotonic() < deadline:
                try:
                    message = simple.get(timeout=1)
                except simple.Empty:
                    continue
                assert message.content_type.startswith("application/cloudevents+json")
                event = decode_cloud_event(message.body)
                assert message.properties["message_id"] == event["id"] and event["id"] not in received
                received[event["id"]] = event
                message.ack()
            simple.close()
        assert set(expected) <= set(received), (len(received), len(expected))

        # 2. the feed, page by page with the API key, from the start: the same events, in order
        fed, cursor, pages = [], None, 0
        while True:
            answer = requests.get(f"{base}/api/feed", timeout=30, headers={"X-API-Key": key},
                                  params={"limit": 20, **({"after": cursor} if cursor else {})})
            assert answer.status_code == 200, answer.text
            page = answer.json()
            fed += page["events"]
            cursor, pages = page["next"], pages + 1
            if page["caught_up"]:
                break
        assert pages > 2
        ids = [e["id"] for e in fed]
        assert len(ids) == len(set(ids)) and set(expected) <= set(ids)
        for service in SERVICES:  # each log's order kept
            positions = [e["xsposition"] for e in fed if e["xsservice"] == service]
            assert positions == sorted(positions)
        # a type filter: only what was asked
        only = requests.get(f"{base}/api/feed", timeout=30, headers={"X-API-Key": key},
                            params={"types": "cn.gov.cppcc.proposals.ProposalFiled.v1", "limit": 1000}).json()
        assert only["events"] and {e["type"] for e in only["events"]} == {"cn.gov.cppcc.proposals.ProposalFiled.v1"}
        # a cursor not made by the feed is refused, naming the field
        bad = requests.get(f"{base}/api/feed", timeout=10, headers={"X-API-Key": key}, params={"after": "v1.x"})
        assert bad.status_code == 422 and "after" in bad.text

        # 3. the webhook: every public event, signed (verified by the receiver), once each
        _wait("every public event delivered by webhook", lambda: set(expected) <= set(receiver.ids()))
        delivered = dict(receiver.accepted)
        assert len(receiver.accepted) == len(delivered) and not receiver.unverified

        # Nothing beyond what the logs hold public now (timers may have added some meanwhile).
        public_now, _ = _public_in_logs(data)
        for events in (received, {e["id"]: e for e in fed}, delivered):
            assert set(events) <= set(public_now)
            _assert_public_only(events.values(), public_now)
    finally:
        if receiver is not None:
            receiver.close()
        stopped(proc, 40)
        with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
            kombu.Queue(queue_name)(conn.channel()).delete()


def _types_of(data, ids: set[str]) -> set[str]:
    found = set()
    for service in SERVICES:
        store = make_event_store(Settings.load(service, {"XIESHANG_DATA_DIR": str(data)}))
        try:
            found |= {env.type for env in store.iter_all() if env.event_id in ids}
        finally:
            store.close()
    return found


def _assert_public_only(events, expected):
    from tests.contract.validation import check

    for event in events:
        check(event)  # its JSON Schema (docs/integration/schemas)
        service, type_name = expected[event["id"]]
        assert event["type"].startswith(f"cn.gov.cppcc.{service}.{type_name}.v")
        assert event["source"] == "urn:cppcc:640200" and event["specversion"] == "1.0"
        assert event["subject"] and isinstance(event["xsposition"], int) and len(event["xshash"]) == 64
        leaked = NEVER_KEYS & set(_keys(event["data"]))
        assert not leaked, (event["type"], leaked)
        assert "user_id" not in json.dumps(event)
