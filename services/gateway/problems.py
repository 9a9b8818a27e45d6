"""Errors as ``application/problem+json`` (RFC 9457): one table from what went wrong to the
HTTP status, with a message a person understands and the offending fields.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from xieshang.kernel.messages import ZH, joined, role_label

from .domain.vocabulary import ROUTE_ACTIONS

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


# What the gateway's refusals of credentials say in Chinese, by their code (auth.AuthError).
AUTH_ZH = {
    "bad_credentials": "用户名或密码错误。",
    "invalid_token": "令牌无效或格式有误，请重新登录。",
    "token_expired": "登录已过期，请重新登录。",
    "session_ended": "此会话已结束（账户的密码、角色或状态已变更，或已退出登录），请重新登录。",
    "not_a_session": "该令牌不是登录会话的令牌，请重新登录。",
    "invalid_api_key": "API 密钥无效。",
    "api_key_revoked": "该 API 密钥已被吊销。",
    "ambiguous_credentials": "请只发送令牌（Authorization）或 API 密钥（X-API-Key）中的一种。",
    "account_locked": "账户已被锁定，请稍后再试或联系管理员。",
    "account_disabled": "账户已停用，请联系管理员。",
    "throttled": "尝试次数过多，请稍后再试。",
}


class Problem(Exception):
    """An HTTP error answer. ``extra`` goes into the body (code, invalid_params, state, …).

    ``detail`` is English, ``detail_zh`` Chinese (English when not given); the body's
    ``detail`` is in the language asked for (xieshang.kernel.messages.preferred_language), and
    ``detail_zh`` and ``detail_en`` carry both."""

    def __init__(self, status: int, detail: str, *, detail_zh: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.code = status, detail, code or _default_code(status)
        self.detail_zh = detail_zh or detail
        self.headers = headers or {}
        self.extra = extra

    def body(self, instance: str, request_id: str, language: str = ZH) -> dict[str, Any]:
        return {"type": f"urn:xieshang:problem:{self.code}", "title": TITLES.get(self.status, "Error"),
                "status": self.status, "detail": self.detail_zh if language == ZH else self.detail,
                "detail_zh": self.detail_zh, "detail_en": self.detail, "instance": instance,
                "request_id": request_id, "code": self.code,
                **{k: v for k, v in self.extra.items() if v is not None}}

    def response(self, instance: str, request_id: str, language: str = ZH) -> Response:
        return Response(json.dumps(self.body(instance, request_id, language), ensure_ascii=False),
                        status=self.status, content_type=f"{PROBLEM_TYPE}; charset=utf-8",
                        headers={**self.headers, "X-Request-ID": request_id})


def from_refusal(exc_type: str, message: str, details: dict[str, Any] | None) -> Problem:
    """A service's refusal (RemoteError or RemoteRefusal) as a Problem."""
    details = dict(details or {})
    status = STATUS_OF_REFUSAL.get(exc_type, 422)
    extra: dict[str, Any] = {}
    if details.get("fields"):
        extra["invalid_params"] = [{"name": k, "reason": v} for k, v in details["fields"].items()]
    for key in ("state", "allowed", "missing", "missing_zh", "stream", "expected_version", "actual_version"):
        if key in details:
            extra[key] = details[key]
    headers = {"Retry-After": "1"} if status == 503 else None
    return Problem(status, details.get("message_en") or message or exc_type,
                   detail_zh=details.get("message_zh"), code=details.get("code") or _default_code(status),
                   headers=headers, **extra)


def invalid_input(errors: list[dict[str, Any]], where: str) -> Problem:
    """A pydantic validation failure as a 422 naming each field."""
    params = []
    for e in errors:
        name = ".".join(str(p) for p in e.get("loc", ())) or where
        params.append({"name": name, "reason": e.get("msg", "invalid")})
    names = ", ".join(p["name"] for p in params)
    where_zh = {"query": "查询参数", "request body": "请求体"}.get(where, where)
    return Problem(422, f"the {where} is invalid: check {names}", code="invalid_input",
                   detail_zh=f"{where_zh}有误，请检查：{'、'.join(p['name'] for p in params)}。",
                   invalid_params=params)


def route_action(service: str, rpc: str, summary: str) -> tuple[str, str]:
    """What a route does, as a verb phrase in English and Chinese ("read a case", "查看提案");
    for a route without one in ROUTE_ACTIONS, its summary's English words."""
    if (service, rpc) in ROUTE_ACTIONS:
        return ROUTE_ACTIONS[(service, rpc)]
    words = "".join(c for c in summary if not "\u4e00" <= c <= "\u9fff").split()
    en = " ".join(words) or rpc.replace("_", " ")
    en = en[0].lower() + en[1:]
    return en, en


def forbidden(role: str, roles: Any, action: tuple[str, str]) -> Problem:
    """The gateway's 403: the caller's role may not do what the route does."""
    (r_en, r_zh), (a_en, a_zh) = role_label(role), action
    o_en, o_zh = joined(role_label(r) for r in sorted(roles))
    return Problem(403, f"A {r_en} may not {a_en}: only {o_en} may.",
                   detail_zh=f"{r_zh}无权{a_zh}，只有{o_zh.replace('、', '或')}可以{a_zh}。",
                   missing=f"one of the roles {', '.join(sorted(roles))}",
                   missing_zh=f"须为以下角色之一：{o_zh}")


def auth_problem(exc: Any) -> Problem:
    """A refusal of credentials (auth.AuthError) as a Problem, in both languages."""
    zh = getattr(exc, "message_zh", None)
    if not zh or zh == str(exc):  # not translated where it was raised: by its code
        zh = AUTH_ZH.get(exc.code)
    return Problem(exc.status, str(exc), detail_zh=zh, code=exc.code, headers=exc.headers())


def _default_code(status: int) -> str:
    return {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
            422: "invalid_input", 423: "locked", 429: "throttled", 500: "internal_error",
            503: "unavailable"}.get(status, "error")
