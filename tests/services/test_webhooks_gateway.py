"""Signed webhooks through the HTTP API (issue 16): an administrator subscribes a receiver, is
shown its secret once, lists, rotates, disables; auditors read; anyone else is turned away; a
parked delivery is listed and replayed over HTTP; and schemathesis over the webhook routes as an
administrator finds no server error and no answer unlike the OpenAPI document."""

from __future__ import annotations

import pytest

from services.gateway import api
from services.notify.service import NotifyService
from services.notify.webhooks import Answer, Sender

from .conftest import wait_until
from .test_gateway_http import START, fuzz, ok, open_accounts, refused, start_gateway
from .test_webhooks import FILED, Receiver, clock_of, publish

class NoNetwork:
    def post(self, url, msg_id, body, secrets):
        return Answer(None, "ConnectionRefusedError")


USERS = {"auditor": ("audit-01", "auditor", "inspection"), "staff": ("staff-01", "staff", "proposal-committee")}


@pytest.fixture
def gateway(container_factory, config):
    notify = container_factory(NotifyService, {**config, "XIESHANG_FIXED_TIME": START})
    notify.start()
    client = start_gateway(container_factory, {**config, "XIESHANG_FIXED_TIME": START})
    open_accounts(client, USERS)
    client.notify = notify
    return client


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_an_administrator_manages_webhooks_over_http_and_replays_a_parked_delivery(gateway, config, receiver):
    made = ok(gateway.call("POST", "/api/webhooks", "admin", json={
        "url": receiver.url, "types": [FILED], "description": "市政府OA"}), 201)
    sid, secret = made["subscription_id"], made["secret"]
    assert made["events"] == ["WebhookSubscribed"] and secret.startswith("whsec_")
    receiver.secrets, receiver.status = [secret], 503
    problem = refused(gateway.call("POST", "/api/webhooks", "staff", json={"url": receiver.url, "types": [FILED]}), 403)
    assert "one of the roles" in problem["missing"]
    bad = refused(gateway.call("POST", "/api/webhooks", "admin", json={
        "url": "http://oa.example.cn/hook", "types": ["cn.gov.cppcc.proposals"]}), 422)
    assert [p["name"] for p in bad["invalid_params"]] == ["url"]

    listed = ok(gateway.call("GET", "/api/webhooks", "auditor"))
    assert [(s["subscription_id"], s["state"], s["types"]) for s in listed["items"]] == [(sid, "active", [FILED])]
    assert secret not in str(listed)

    [event_id] = publish(config, FILED)
    wait_until(lambda: ok(gateway.call("GET", "/api/webhook-deliveries", "auditor"))["items"][:1]
               and ok(gateway.call("GET", "/api/webhook-deliveries", "auditor"))["items"][0]["attempts"] == 1,
               timeout=20, what="a first attempt")
    clock_of(gateway.notify).advance(hours=24, seconds=1)
    wait_until(lambda: ok(gateway.call("GET", f"/api/webhook-deliveries?state=parked&subscription={sid}",
                                       "admin"))["items"], timeout=20, what="parked")
    key = f"{sid}.{event_id}"
    attempts = ok(gateway.call("GET", f"/api/webhook-deliveries/{key}", "auditor"))
    assert attempts["state"] == "parked" and attempts["attempts"][-1]["reason"] == "retries_exhausted"

    rotated = ok(gateway.call("POST", f"/api/webhooks/{sid}/secret", "admin", json={"reason": "yearly change"}))
    receiver.secrets, receiver.status = [rotated["secret"]], None
    refused(gateway.call("POST", f"/api/webhooks/{sid}/replay", "auditor", json={}), 403)
    replayed = ok(gateway.call("POST", f"/api/webhooks/{sid}/replay", "admin", json={"key": key}))
    assert replayed["replayed"] == 1
    wait_until(lambda: receiver.ids() == [event_id], timeout=20, what="the replayed delivery")

    disabled = ok(gateway.call("POST", f"/api/webhooks/{sid}/disable", "admin", json={"reason": "系统停用"}))
    assert disabled["events"] == ["WebhookDisabled"]
    [listed] = ok(gateway.call("GET", f"/api/webhooks?wait_for={disabled['position']}", "admin"))["items"]
    assert listed["state"] == "disabled" and listed["disabled_at"]
    missing = refused(gateway.call("POST", "/api/webhooks/wh-none/secret", "admin", json={}), 404)
    assert missing["code"] == "not_found"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_on_the_webhook_routes(gateway, receiver):
    # the generated subscriptions name any host: nothing of this test leaves the machine
    sender = next(d for d in gateway.notify.dependencies if isinstance(d, Sender))
    sender.sender = NoNetwork()
    ok(gateway.call("POST", "/api/webhooks", "admin", json={"url": receiver.url, "types": [FILED]}), 201)
    operations = [r for r in api.ROUTES if r.tag == api.WEBHOOKS]
    fuzz(gateway, "admin", len(operations), "--include-tag", api.WEBHOOKS, "--max-examples", "5")
