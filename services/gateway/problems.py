"""Errors as ``application/problem+json`` (RFC 9457): one table from what went wrong to the
HTTP status, with a message a person understands and the offending fields.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

PROBLEM_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 413: "Request too large", 415: "Unsupported media type",
    422: "Invalid input", 423: "Account locked", 429: "Too many requests", 500: "Internal error",
    503: "Service unavailable",
}

# A refusal from a service (its exc_type) -> HTTP status.
STATUS_OF_REFUSAL = {
    "InvalidCommand": 422, "NotAllowed": 403, "MissingActor": 401, "WrongState": 409,
    "ConcurrencyError": 409, "NotFound": 404, "NotYet": 503, "DomainError": 422,
}


class Problem(Exception):
    """An HTTP error answer. ``extra`` goes into the body (code, invalid_params, state, …)."""

    def __init__(self, status: int, detail: str, *, code: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code or _default_code(status)
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str, request_id: str) -> dict[str, Any]:
        return {"type": f"urn:xieshang:problem:{self.code}", "title": TITLES.get(self.status, "Error"),
                "status": self.status, "detail": self.detail, "instance": instance,
                "request_id": request_id, "code": self.code,
                **{k: v for k, v in self.extra.items() if v is not None}}

    def response(self, instance: str, request_id: str) -> Response:
        return Response(json.dumps(self.body(instance, request_id), ensure_ascii=False),
                        status=self.status, content_type=f"{PROBLEM_TYPE}; charset=utf-8",
                        headers={**self.headers, "X-Request-ID": request_id})


def from_refusal(exc_type: str, message: str, details: dict[str, Any] | None) -> Problem:
    """A service's refusal (RemoteError or RemoteRefusal) as a Problem."""
    details = dict(details or {})
    status = STATUS_OF_REFUSAL.get(exc_type, 422)
    extra: dict[str, Any] = {}
    if details.get("fields"):
        extra["invalid_params"] = [{"name": k, "reason": v} for k, v in details["fields"].items()]
    for key in ("state", "allowed", "missing", "stream", "expected_version", "actual_version"):
        if key in details:
            extra[key] = details[key]
    headers = {"Retry-After": "1"} if status == 503 else None
    return Problem(status, message or exc_type, code=details.get("code") or _default_code(status),
                   headers=headers, **extra)


def invalid_input(errors: list[dict[str, Any]], where: str) -> Problem:
    """A pydantic validation failure as a 422 naming each field."""
    params = []
    for e in errors:
        name = ".".join(str(p) for p in e.get("loc", ())) or where
        params.append({"name": name, "reason": e.get("msg", "invalid")})
    names = ", ".join(p["name"] for p in params)
    return Problem(422, f"the {where} is invalid: check {names}", code="invalid_input",
                   invalid_params=params)


def _default_code(status: int) -> str:
    return {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
            422: "invalid_input", 423: "locked", 429: "throttled", 500: "internal_error",
            503: "unavailable"}.get(status, "error")
