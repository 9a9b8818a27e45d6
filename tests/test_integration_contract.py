"""The integration contract (issue 16, ADR 0012): other systems get public events only.

* A subscriber's broker user (infra/rabbitmq/definitions.json) reads the integration exchange
  and nothing else: binding a queue to a service's internal exchange is refused by the broker.
* The demo committee's year, run by `infra/scripts/run.sh`: every public event reaches a
  subscriber queue on ``xieshang.integration`` and the catch-up feed, each a valid CloudEvent,
  and no rating, no account event, no commenter, no contact detail.
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
import time  # noqa: E402

import requests  # noqa: E402
from nameko.testing.utils import find_free_port  # noqa: E402

from tests.test_stack import started, stopped, wait_for_line  # noqa: E402
from tools.stack import ADMIN_PASSWORD_FILE  # noqa: E402
from xieshang.kernel.config import Settings, make_event_store  # noqa: E402
from xieshang.kernel.integration import decode_cloud_event  # noqa: E402

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


@pytest.mark.slow
def test_a_year_of_the_demo_reaches_subscribers_and_the_feed_public_events_only(rabbit_config, tmp_path,
                                                                                  monkeypatch):
    # The subscriber's queue exists before the stack starts, so it sees everything published.
    queue_name = f"subscriber.test-{uuid.uuid4().hex[:8]}"
    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        exchange = kombu.Exchange("xieshang.integration", "topic", durable=True)
        kombu.Queue(queue_name, exchange, routing_key="#", durable=True)(conn.channel()).declare()

    data, port, out = tmp_path / "data", find_free_port(), tmp_path / "run.out"
    proc = started(["bash", "infra/scripts/run.sh", "--data-dir", str(data), "--web",
                    f"127.0.0.1:{port}"], rabbit_config["AMQP_URI"], out)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_line(out, "READY", proc, timeout=180)
        # What the logs hold that is public: the expected set.
        publications = _publications()
        expected, private_ids = {}, set()
        for service in SERVICES:
            store = make_event_store(Settings.load(service, {"XIESHANG_DATA_DIR": str(data)}))
            try:
                for env in store.iter_all():
                    if publications[service].is_public(env.type):
                        expected[env.event_id] = (service, env.type)
                    else:
                        private_ids.add(env.event_id)
            finally:
                store.close()
        types = {t for _, t in expected.values()}
        assert {"ProposalFiled", "ProposalAssigned", "ProposalReplied", "ProposalClosed",
                "MemberAppointed", "OpinionReportAdopted"} <= types
        assert private_ids and not types & {"ReplyRated", "CommentSubmitted", "ContactDetailsChanged",
                                            "AccountRegistered", "NotificationQueued"}

        # 1. the integration exchange: every public event, once each, valid CloudEvents
        received: dict[str, dict] = {}
        deadline = time.monotonic() + 60
        with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
            simple = conn.SimpleQueue(queue_name)
            while set(received) != set(expected) and time.monotonic() < deadline:
                try:
                    message = simple.get(timeout=1)
                except simple.Empty:
                    continue
                assert message.content_type.startswith("application/cloudevents+json")
                event = decode_cloud_event(message.body)
                assert message.properties["message_id"] == event["id"]
                received[event["id"]] = event
                message.ack()
            simple.close()
        assert set(received) == set(expected), (len(received), len(expected))
        _assert_public_only(received.values(), expected)

        # 2. the feed, page by page with an API key, from the start: the same events, in order
        admin = requests.post(f"{base}/api/auth/login", timeout=10, json={
            "user_id": "admin", "password": (data / ADMIN_PASSWORD_FILE).read_text().strip()}).json()
        key = requests.post(f"{base}/api/api-keys", timeout=10, json={"system": "OA", "organisation": "oa"},
                            headers={"Authorization": f"Bearer {admin['token']}"}).json()["api_key"]
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
        assert len(ids) == len(set(ids)) and set(ids) == set(expected)
        for service in SERVICES:  # each log's order kept
            positions = [e["xsposition"] for e in fed if e["xsservice"] == service]
            assert positions == sorted(positions)
        _assert_public_only(fed, expected)
        # a type filter: only what was asked
        only = requests.get(f"{base}/api/feed", timeout=30, headers={"X-API-Key": key},
                            params={"types": "cn.gov.cppcc.proposals.ProposalFiled.v1", "limit": 1000}).json()
        assert only["events"] and {e["type"] for e in only["events"]} == {"cn.gov.cppcc.proposals.ProposalFiled.v1"}
        # a cursor not made by the feed is refused, naming the field
        bad = requests.get(f"{base}/api/feed", timeout=10, headers={"X-API-Key": key}, params={"after": "v1.x"})
        assert bad.status_code == 422 and "after" in bad.text
        # staff and members have no feed (it is for systems, and auditors)
        from tools.demo import DEMO_PASSWORD, STAFF
        staff = requests.post(f"{base}/api/auth/login", timeout=10,
                              json={"user_id": STAFF.user_id, "password": DEMO_PASSWORD}).json()
        refused = requests.get(f"{base}/api/feed", timeout=10, headers={"Authorization": f"Bearer {staff['token']}"})
        assert refused.status_code == 403
    finally:
        stopped(proc, 40)
        with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
            kombu.Queue(queue_name)(conn.channel()).delete()


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
