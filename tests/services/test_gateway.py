"""The gateway's HTTP endpoints, calling the services by RPC on the real RabbitMQ."""

from __future__ import annotations

import requests
from nameko.testing.utils import find_free_port

from services.gateway.service import GatewayService
from services.proposals.service import ProposalsService

from .conftest import MEMBER, STAFF, wait_until
from .test_proposals_directory import seed_directory

ADMIN_PASSWORD = "root-of-trust-2024"

SUBMISSION = dict(title="关于提升湿地生态功能的提案", reasons="星海湖湿地部分区域水质下降。",
                  suggestions="实施补水和生态修复工程。", category="ecology")


def test_health_and_the_public_proposal_list(container_factory, config, rpc_as):
    port = find_free_port()
    web = {**config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "XIESHANG_ADMIN_USER": "admin",
           "XIESHANG_ADMIN_PASSWORD": ADMIN_PASSWORD}
    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": "2024-03-01T09:00:00+08:00"})
    proposals.start()
    seed_directory(proposals, members=[(MEMBER.user_id, "王建国")])
    container_factory(GatewayService, web).start()
    base = f"http://127.0.0.1:{port}"

    anonymous = requests.get(f"{base}/health", timeout=10)  # the status only: no log heads
    assert anonymous.status_code == 503 and anonymous.json() == {"status": "degraded"}
    token = requests.post(f"{base}/api/auth/login", json={"user_id": "admin", "password": ADMIN_PASSWORD},
                          timeout=10).json()["token"]
    health = requests.get(f"{base}/health", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    body = health.json()
    assert health.status_code == 503 and body["status"] == "degraded"
    assert body["services"]["proposals"]["ok"] is True
    assert body["services"]["members"] == {"ok": False, "error": "not running (no RPC queue)"}

    member, staff = rpc_as(MEMBER), rpc_as(STAFF)
    hidden = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]  # filed, not published
    staff.proposals.file_proposal(hidden)
    shown = member.proposals.submit_proposal(**SUBMISSION, publish_consent=True)["proposal_id"]
    staff.proposals.file_proposal(shown)
    staff.proposals.publish_proposal(shown)  # under the names of the proposers who consented

    def public():
        return requests.get(f"{base}/api/public/proposals", timeout=10).json()["items"]
    [row] = wait_until(public, what="the filed proposal in the public list")
    assert row["case_number"] == "2024-002" and row["status"] == "filed"
    assert row["proposer_names"] == ["王建国"]
    assert row["proposal_id"] == shown  # what a comment is posted to
    assert "proposer" not in row and "co_signers" not in row and MEMBER.user_id not in str(row)
    assert hidden not in str(public())
