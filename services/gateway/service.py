"""The gateway: the stack's HTTP front door (for now: health and the public proposal list).

It holds no store and no state; it calls the services by RPC, each call bounded by a timeout
so a service that is down makes the answer degraded, not hung. The full API (authentication,
every command, error mapping) is a later issue.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import eventlet
from nameko.exceptions import RemoteError, UnknownService
from nameko.rpc import RpcProxy
from nameko.web.handlers import http
from werkzeug.wrappers import Response

SERVICES = ("proposals", "members", "notify", "feedback")
HEALTH_TIMEOUT = 3.0
QUERY_TIMEOUT = 10.0


class GatewayService:
    """HTTP: ``GET /health`` and ``GET /api/public/proposals``."""

    name = "gateway"

    proposals = RpcProxy("proposals")
    members = RpcProxy("members")
    notify = RpcProxy("notify")
    feedback = RpcProxy("feedback")

    @http("GET", "/health")
    def health(self, request) -> Response:
        """Asks every service for its health in parallel; 200 if all answer in time, else 503."""
        pool = eventlet.GreenPool(len(SERVICES))
        checks = dict(zip(SERVICES, pool.imap(self._check, SERVICES)))
        ok = all(c["ok"] for c in checks.values())
        return _json({"status": "ok" if ok else "degraded", "services": checks}, 200 if ok else 503)

    @http("GET", "/api/public/proposals")
    def public_proposals(self, request) -> Response:
        """Published proposals as the public may see them (no personal data), newest first."""
        try:
            rows = _within(QUERY_TIMEOUT, lambda: self.proposals.public_proposals())
        except eventlet.Timeout:
            return _json({"error": "timeout", "message": "the proposals service did not answer "
                                                         f"within {QUERY_TIMEOUT:.0f} s"}, 504)
        except (RemoteError, UnknownService) as exc:
            return _json({"error": "unavailable", "message": f"proposals service: {exc}"}, 502)
        return _json({"proposals": rows, "count": len(rows)})

    def _check(self, service: str) -> dict[str, Any]:
        proxy = getattr(self, service)
        try:
            answer = _within(HEALTH_TIMEOUT, lambda: proxy.health())
        except eventlet.Timeout:
            return {"ok": False, "error": f"no answer within {HEALTH_TIMEOUT:.0f} s"}
        except UnknownService:
            return {"ok": False, "error": "not running (no RPC queue)"}
        except Exception as exc:  # whatever went wrong is what the operator needs to read
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"ok": True, **answer}


def _within(seconds: float, call: Callable[[], Any]) -> Any:
    with eventlet.Timeout(seconds):
        return call()


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, default=str), status=status,
                    content_type="application/json; charset=utf-8")
