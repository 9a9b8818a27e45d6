"""The OpenAPI 3.1 document, generated from the same route table and models that validate
requests (api.py), so the document says what the gateway does."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from xieshang.kernel.ids import ID_PATTERN

from .api import ROUTES, Route
from .idempotency import NOT_KEPT

PROBLEM = {
    "type": "object", "required": ["type", "title", "status", "detail", "request_id", "code"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"}, "request_id": {"type": "string"},
        "code": {"type": "string"},
        "invalid_params": {"type": "array", "items": {
            "type": "object", "required": ["name", "reason"],
            "properties": {"name": {"type": "string"}, "reason": {"type": "string"}}}},
        "state": {"type": "string"}, "allowed": {"type": "array", "items": {"type": "string"}},
        "missing": {"type": "string"},
    },
}
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
# Path parameters are ids: letters, digits and _ . : - (what the services accept as ids).
ID = {"type": "string", "pattern": ID_PATTERN}
PATH_PARAMETERS = {
    # 案号: the session (letters, digits, Chinese) and a sequence number, e.g. 2024-001
    "case_number": {"type": "string", "pattern": r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff_.-]{0,39}$"},
}


# Commands of a signed-in caller take an idempotency key (service.py, idempotency.py).
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{8,128}$"},
    "description": "幂等键: send the command again with the same key and body and get the first answer "
                   "again (header Idempotent-Replayed: true), nothing recorded twice; the same key with "
                   "another body is 422 idempotency_key_reused, while the first still runs 409. Kept 24 h "
                   "per caller. The caller's own X-Request-ID counts as a key too. An API key's issuance "
                   "is replayed as 409 already_issued (the key is shown once).",
}
REPLAYED = {"schema": {"const": "true"},
            "description": "present when the answer is the kept answer of an earlier request with the same "
                           "Idempotency-Key (or X-Request-ID)"}


def idempotent(route: Route) -> bool:
    """Whether the route takes an idempotency key: every command of a signed-in caller, but
    those whose body carries a password (idempotency.NOT_KEPT)."""
    return route.is_command and route.roles is not None and route.rpc not in NOT_KEPT


def openapi_path(rule: str) -> str:
    return _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule)


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _schema_of(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def operation_id(route: Route) -> str:
    """The route's RPC, or, where several services answer the same RPC (their histories, their
    words), the service's name and the RPC: unique, as OpenAPI wants."""
    shared = sum(1 for r in ROUTES if r.rpc == route.rpc) > 1
    return f"{route.service}_{route.rpc}" if shared else route.rpc


def _operation(route: Route, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": operation_id(route),
        "summary": route.summary, "tags": [route.tag],
        "parameters": [], "responses": {},
    }
    for kind, name in _PARAM.findall(route.path):
        op["parameters"].append({"name": name, "in": "path", "required": True,
                                 "schema": {"type": "integer", "minimum": 2000, "maximum": 2100}
                                 if kind == "int" else PATH_PARAMETERS.get(name, ID)})
    if route.query is not None:
        schema = route.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            prop = {k: v for k, v in prop.items() if k != "title"}
            op["parameters"].append({"name": name, "in": "query", "required": False, "schema": prop,
                                     **({"description": prop["description"]} if "description" in prop else {})})
    if idempotent(route):
        op["parameters"].append(IDEMPOTENCY_KEY)
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": _schema_of(route.body, components)}}}
    op["responses"][str(route.status)] = {
        "description": "done" if route.is_command else "found",
        "headers": {"X-Request-ID": {"schema": {"type": "string"},
                                     "description": "the request's id, also the events' correlation id"}},
        "content": {"application/json": {"schema": route.response}}}
    if idempotent(route):
        op["responses"][str(route.status)]["headers"]["Idempotent-Replayed"] = REPLAYED
    op["responses"]["400"] = _problem("malformed request: no body, not a JSON object, not UTF-8 JSON (a BOM, "
                                      "a duplicate key, NaN, nested over 32 deep), a body where none is "
                                      "taken, a bad Idempotency-Key, or both a token and an API key")
    if route.body is not None or route.query is not None or _PARAM.search(route.path):
        # a path parameter too: werkzeug routes any text, the service checks it (an id's form, a year)
        op["responses"]["422"] = _problem("invalid input: invalid_params names each field")
    if route.body is not None or route.is_command:
        op["responses"]["413"] = _problem("the body is too large")
        op["responses"]["415"] = _problem("the body is not application/json, or its charset is not UTF-8")
    if route.roles is None:
        op["security"] = []
        # an invalid token is refused even where none is needed: say so rather than ignore it
        op["responses"]["401"] = _problem("a token or API key was sent but does not hold")
    if route.rpc == "login":
        op["responses"]["401"] = _problem("wrong user id or password, or the account is locked or "
                                          "disabled: the same answer for each, so that none tells "
                                          "which ids exist")
        op["responses"]["429"] = _problem("too many attempts: Retry-After says when to try again")
    elif route.rpc == "sign_up":
        op["responses"]["429"] = _problem("too many sign-ups from this address: Retry-After says when")
    else:
        op["responses"]["401"] = _problem("not signed in, or the token expired")
        op["responses"]["403"] = _problem("signed in without the right: missing names it")
    op["responses"]["404"] = _problem("no such case, comment, member, organisation, menu, opinion report, notification "
                                        "or route")
    if route.query is not None:  # the web server's own answer, before the gateway reads a byte
        op["responses"]["414"] = {"description": "the URL is longer than the web server takes (8 KB, "
                                                 "percent-encoding included)"}
    if route.is_command:
        op["responses"]["409"] = _problem("wrong state (state, allowed) or a concurrent change; or a "
                                          "request with the same Idempotency-Key still runs "
                                          "(idempotency_key_in_progress)")
        op["responses"]["422"] = _problem("invalid input: invalid_params names each field; or the "
                                          "Idempotency-Key was used for another request "
                                          "(idempotency_key_reused)")
    op["responses"]["503"] = _problem("a service did not answer in time, or a read model lags: retry")
    return op


def document(title: str = "xieshang 协商 API", version: str = "0.1.0",
             extra_routes: list[Route] | None = None) -> dict[str, Any]:
    components: dict[str, Any] = {"Problem": PROBLEM}
    paths: dict[str, Any] = {}
    for route in [*ROUTES, *(extra_routes or [])]:
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = _operation(route, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Casework of a political consultative committee: proposals, members, "
                                "opinion reports 社情民意. "
                                "Errors are application/problem+json (RFC 9457). Commands answer with "
                                "the position of their last event; pass it as wait_for to a query to "
                                "read your own writes."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                           "description": "from POST /api/auth/login"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                           "description": "for subscriber systems"},
            },
        },
        "security": [{"bearer": []}, {"apiKey": []}],
    }
