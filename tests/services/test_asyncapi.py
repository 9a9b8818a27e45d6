"""The AsyncAPI document of the integration exchange (docs/integration/asyncapi.json, ADR 0012).

* The official parser (@asyncapi/parser, run by node: tests/contract) finds no error in it, and
  does find one in a broken copy (so the check has teeth).
* The gateway serves it at ``/asyncapi.json``, the same as the checked-in file.
* The demo committee's year: every message on ``xieshang.integration`` and on the feed validates
  against the JSON Schema of its type.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.contract import validation

ROOT = Path(__file__).resolve().parent.parent.parent
CONTRACT = ROOT / "tests" / "contract"
VALIDATE = CONTRACT / "validate.mjs"


def _parse(path: Path) -> tuple[int, list[dict]]:
    """(exit code, diagnostics and summary as dicts) of the official parser on ``path``."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("no node on PATH: the AsyncAPI document is checked by the official parser "
                    "(@asyncapi/parser), which runs on Node.js")
    if not (CONTRACT / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail(f"no @asyncapi/parser under {CONTRACT}: run npm ci --prefix tests/contract "
                    "(infra/scripts/setup.sh does)")
    done = subprocess.run([node, str(VALIDATE), str(path)], cwd=CONTRACT, capture_output=True,
                          text=True, timeout=120)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stderr
    return done.returncode, lines


@pytest.mark.subprocess
def test_the_official_parser_finds_no_error_in_the_asyncapi_document():
    code, lines = _parse(validation.ASYNCAPI)
    errors = [d for d in lines if d.get("severity") == "error"]
    summary = lines[-1]
    assert code == 0 and not errors and summary["document"], "\n".join(map(json.dumps, errors or lines))
    document = json.loads(validation.ASYNCAPI.read_text(encoding="utf-8"))
    public = len(document["components"]["messages"])
    assert summary["messages"] == public == len(list(validation.SCHEMAS.glob("cn.gov.cppcc.*.json")))


@pytest.mark.subprocess
def test_the_parser_reports_a_broken_document(tmp_path):
    document = json.loads(validation.ASYNCAPI.read_text(encoding="utf-8"))
    broken = copy.deepcopy(document)
    first = next(iter(broken["components"]["messages"]))
    del broken["components"]["messages"][first]                       # a dangling $ref
    broken["channels"]["xieshang.integration"]["bindings"]["amqp"]["exchange"]["type"] = "round"
    (tmp_path / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    code, lines = _parse(tmp_path / "broken.json")
    assert code == 1 and any(d.get("severity") == "error" for d in lines), lines


def test_the_gateway_serves_the_asyncapi_document(container_factory, config):
    from tests.services.test_gateway_http import start_gateway

    gateway = start_gateway(container_factory, config)
    answer = gateway.call("GET", "/asyncapi.json")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == json.loads(validation.ASYNCAPI.read_text(encoding="utf-8"))
    assert answer.json()["asyncapi"] == "3.0.0"


@pytest.mark.slow
@pytest.mark.subprocess
def test_every_message_of_the_demo_year_validates_against_its_schema(rabbit_config, tmp_path, monkeypatch):
    """The demo stack (infra/scripts/run.sh), sealing its logs every second: what a subscriber's
    queue on the integration exchange gets, and what the feed gives, each validates against its
    type's schema, every service's checkpoints too."""
    import kombu
    import requests
    from nameko.testing.utils import find_free_port

    from tests.test_stack import started, stopped, wait_for_line
    from tools.stack import ADMIN_PASSWORD_FILE

    queue_name = f"subscriber.schemas-{uuid.uuid4().hex[:8]}"
    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        exchange = kombu.Exchange("xieshang.integration", "topic", durable=True)
        kombu.Queue(queue_name, exchange, routing_key="#", durable=True)(conn.channel()).declare()
    monkeypatch.setenv("XIESHANG_CHECKPOINT_INTERVAL", "1")
    data, port, out = tmp_path / "data", find_free_port(), tmp_path / "run.out"
    proc = started(["bash", "infra/scripts/run.sh", "--data-dir", str(data), "--web",
                    f"127.0.0.1:{port}"], rabbit_config["AMQP_URI"], out)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_line(out, "READY", proc, timeout=180)
        served = requests.get(f"{base}/asyncapi.json", timeout=10)
        assert served.status_code == 200
        assert served.json() == json.loads(validation.ASYNCAPI.read_text(encoding="utf-8"))

        admin = requests.post(f"{base}/api/auth/login", timeout=10, json={
            "user_id": "admin", "password": (data / ADMIN_PASSWORD_FILE).read_text().strip()}).json()
        key = requests.post(f"{base}/api/api-keys", timeout=10, json={"system": "OA", "organisation": "oa"},
                            headers={"Authorization": f"Bearer {admin['token']}"}).json()["api_key"]
        checkpoints = {f"cn.gov.cppcc.{s}.LogCheckpointed.v1"
                       for s in ("proposals", "members", "feedback", "notify", "gateway")}
        fed, cursor, deadline = [], None, time.monotonic() + 60
        while True:  # every page to the end, until every service's checkpoint is among them
            page = requests.get(f"{base}/api/feed", timeout=30, headers={"X-API-Key": key},
                                params={"limit": 1000, **({"after": cursor} if cursor else {})}).json()
            fed += page["events"]
            cursor = page["next"]
            if page["caught_up"] and (checkpoints <= {e["type"] for e in fed} or time.monotonic() > deadline):
                break
            if page["caught_up"]:
                time.sleep(0.5)  # polling the feed for the next seal, as a subscriber does
        fed_types = validation.check_all(fed)
        assert checkpoints <= fed_types, checkpoints - fed_types

        received: dict[str, dict] = {}
        wanted = {e["id"] for e in fed}
        deadline = time.monotonic() + 60
        with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
            simple = conn.SimpleQueue(queue_name)
            while not wanted <= set(received) and time.monotonic() < deadline:
                try:
                    message = simple.get(timeout=1)
                except simple.Empty:
                    continue
                event = json.loads(message.body)
                validation.check(event)
                assert message.properties["message_id"] == event["id"]
                assert message.delivery_info["routing_key"] == event["type"]
                assert message.headers.get("cloudEvents:specversion") == "1.0"
                received[event["id"]] = event
                message.ack()
            simple.close()
        assert wanted <= set(received), len(wanted - set(received))
        assert {f"cn.gov.cppcc.{t}.v1" for t in (
            "proposals.ProposalFiled", "proposals.ProposalAssigned", "proposals.ProposalReplied",
            "proposals.ProposalClosed", "members.MemberAppointed", "feedback.OpinionReportAdopted",
        )} <= fed_types
    finally:
        stopped(proc, 40)
        with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
            kombu.Queue(queue_name)(conn.channel()).delete()
