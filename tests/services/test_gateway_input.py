"""The gateway's HTTP input and output (issue 11, items 1, 2, 3 and 16): a body is read whatever
its framing and only as strict UTF-8 JSON; every answer carries the security headers; /health
shows details only to those who run the system. And a fuzz run: hostile bodies to every command
route find no 5xx and change nothing."""

from __future__ import annotations

import http.client
import io
import json
from urllib.parse import urlsplit

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway import api
from services.gateway.console.app import CSP as CONSOLE_CSP
from services.gateway.service import MAX_BODY, MAX_DEPTH, SECURITY_HEADERS, _request_body
from services.gateway.problems import Problem

from .test_gateway_http import APPOINTMENT, CONTACT, SUBMISSION, gateway  # noqa: F401 - the fixture

SUBMIT = next(r for r in api.ROUTES if r.rpc == "submit_proposal")
CONTACTS = next(r for r in api.ROUTES if r.rpc == "set_contact_details")
FILE = next(r for r in api.ROUTES if r.rpc == "file_proposal")       # a body of optional fields only
UNLOCK = next(r for r in api.ROUTES if r.rpc == "unlock")             # a command with no body model


class CountingStream(io.BytesIO):
    """A request stream that remembers how many bytes were taken from it."""

    taken = 0

    def read(self, size=-1):
        data = super().read(size)
        self.taken += len(data)
        return data


def request(body: bytes, *, chunked: bool = False, content_type: str = "application/json",
            method: str = "POST") -> Request:
    headers = {"Content-Type": content_type} if content_type else {}
    if chunked:  # what eventlet gives the app: no length, the chunks decoded on the stream
        headers["Transfer-Encoding"] = "chunked"
        environ = EnvironBuilder(method=method, headers=headers).get_environ()
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input"] = CountingStream(body)
    else:
        environ = EnvironBuilder(method=method, headers=headers, data=body).get_environ()
        environ["wsgi.input"] = CountingStream(body)
    return Request(environ)


def refusal(route: api.Route, req: Request) -> Problem:
    with pytest.raises(Problem) as caught:
        _request_body(req, route)
    return caught.value


# -- item 1: the body whatever its framing ----------------------------------------------------------

def test_a_chunked_body_is_read_not_taken_for_an_empty_one():
    body = json.dumps({"phone": "13812345678"}).encode()
    assert _request_body(request(body, chunked=True), CONTACTS) == {"phone": "13812345678"}
    assert _request_body(request(body), CONTACTS) == {"phone": "13812345678"}


@pytest.mark.parametrize("req", [
    pytest.param(lambda: request(b""), id="Content-Length: 0"),
    pytest.param(lambda: request(b"", chunked=True), id="chunked, no chunks"),
    pytest.param(lambda: request(b"", content_type=""), id="no body at all"),
])
def test_an_empty_body_is_refused_naming_the_body_never_read_as_an_empty_object(req):
    for route in (CONTACTS, FILE):  # also where every field is optional: {} is fine, nothing is not
        problem = refusal(route, req())
        assert problem.status == 400 and problem.code == "empty_body"
        assert problem.detail_zh.startswith("请求体为空") and problem.detail.startswith("the body is empty")
        assert problem.extra["invalid_params"][0]["name"] == "body"
    assert _request_body(request(b"{}"), FILE) == {}


@pytest.mark.parametrize("body, kind", [(b"[]", "an array"), (b'"x"', "a string"), (b"null", "null"),
                                        (b"1", "a number"), (b"true", "a boolean")])
def test_a_body_that_is_not_an_object_is_refused(body, kind):
    problem = refusal(CONTACTS, request(body))
    assert problem.status == 400 and problem.code == "body_not_an_object" and kind in problem.detail


def test_a_command_without_a_body_model_takes_no_body_or_an_empty_object():
    assert _request_body(request(b"", content_type=""), UNLOCK) == {}
    assert _request_body(request(b"{}"), UNLOCK) == {}
    assert refusal(UNLOCK, request(b'{"user_id": "x"}')).code == "unexpected_body"
    assert refusal(UNLOCK, request(b"[" * 1000)).code == "too_deep"


def test_a_body_with_a_byte_order_mark_is_refused():
    problem = refusal(CONTACTS, request(b"\xef\xbb\xbf" + json.dumps(CONTACT).encode()))
    assert problem.status == 400 and problem.code == "bad_encoding"
    assert "BOM" in problem.detail and "BOM" in problem.detail_zh


@pytest.mark.parametrize("chunked", [False, True], ids=["Content-Length", "chunked"])
def test_a_body_over_the_limit_is_413_and_no_more_than_the_limit_is_read(chunked):
    body = b'{"address": "' + b"x" * (3 * MAX_BODY) + b'"}'
    req = request(body, chunked=chunked)
    problem = refusal(CONTACTS, req)
    assert problem.status == 413
    assert req.environ["wsgi.input"].taken <= MAX_BODY + 1
    just = b'{"address": "' + b"x" * (MAX_BODY - 20) + b'"}'
    assert len(_request_body(request(just, chunked=chunked), CONTACTS)["address"]) == MAX_BODY - 20


# -- item 2: nesting ------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"[" * 970, b"[" * 970 + b"]" * 970, b'{"a":' * 100 + b"1" + b"}" * 100,
                                  b'{"reason": ' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}"])
def test_deeply_nested_json_is_400_never_a_recursion_error(body):
    problem = refusal(SUBMIT, request(body))
    assert problem.status == 400 and problem.code == "too_deep"


def test_nesting_up_to_the_limit_is_parsed_and_brackets_in_strings_do_not_count():
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    assert _request_body(request(json.dumps({"reason": json.loads(nested)}).encode()), FILE)
    text = {"reason": "[" * 5000 + '\\"{' * 100}
    assert _request_body(request(json.dumps(text).encode()), FILE) == text


@pytest.mark.timeout(60)  # before the fix: about 20 minutes (quadratic in the body's length)
def test_a_body_of_unterminated_escapes_is_refused_at_once_not_scanned_from_every_quote():
    # '"\\' repeated: every quote opens a string that never closes. The nesting count must not
    # scan the rest of the body from each of them (one login request froze the gateway).
    problem = refusal(SUBMIT, request(b'"\\' * 250_000))
    assert problem.status == 400


# -- item 3: strict parsing -----------------------------------------------------------------------

def test_utf16_and_other_charsets_are_refused():
    body = json.dumps({"phone": "13812345678"})
    for encoded in (body.encode("utf-16"), body.encode("utf-16-le"), body.encode("utf-32")):
        assert refusal(CONTACTS, request(encoded)).status == 400
    assert refusal(CONTACTS, request(b"\xff" + body.encode())).code == "bad_encoding"
    wrong = refusal(CONTACTS, request(body.encode(), content_type="application/json; charset=utf-16"))
    assert wrong.status == 415 and "UTF-8" in wrong.detail and "UTF-8" in wrong.detail_zh
    latin = refusal(CONTACTS, request(body.encode(), content_type="application/json; charset=latin-1"))
    assert latin.status == 415
    for fine in ("application/json; charset=utf-8", "application/json; charset=UTF-8", "application/json"):
        assert _request_body(request(body.encode(), content_type=fine), CONTACTS) == {"phone": "13812345678"}


@pytest.mark.parametrize("body, key", [
    (b'{"user_id": "nobody", "user_id": "m-szs-002", "password": "x"}', "user_id"),
    (b'{"items": [{"item_id": "a", "item_id": "b"}]}', "item_id"),
    (b'{"a": {"b": {"c": 1, "c": 1}}}', "c"),
])
def test_duplicate_keys_at_any_depth_are_refused_naming_the_key(body, key):
    problem = refusal(SUBMIT, request(body))
    assert problem.status == 400 and problem.code == "duplicate_key"
    assert problem.extra["invalid_params"] == [{"name": key, "reason": "given more than once"}]
    assert f'"{key}"' in problem.detail and f'"{key}"' in problem.detail_zh


@pytest.mark.parametrize("body", [b'{"n": NaN}', b'{"n": Infinity}', b'{"n": -Infinity}',
                                  b'{"reason": "\\ud800"}', b'{"n": 1' + b"0" * 5000 + b"}", b"{not json"])
def test_nan_infinity_lone_surrogates_and_broken_json_are_400(body):
    assert refusal(SUBMIT, request(body)).status == 400


# -- over HTTP, on the real broker ------------------------------------------------------------------

def send(client, method: str, path: str, body=b"", *, role: str = "anonymous", headers=None):
    """One raw request (``body`` bytes, or a list of chunks for Transfer-Encoding: chunked):
    (status, headers, parsed JSON answer)."""
    address = urlsplit(client.base)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        head = {"Content-Type": "application/json", **client.tokens[role], **(headers or {})}
        if isinstance(body, list):
            conn.request(method, path, body=iter(body), headers={**head, "Transfer-Encoding": "chunked"},
                         encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers={**head, "Content-Length": str(len(body))})
        answer = conn.getresponse()
        data = answer.read()
        return answer.status, dict(answer.getheaders()), json.loads(data) if data else None
    finally:
        conn.close()


def test_contact_details_survive_chunked_empty_and_bom_bodies(gateway):
    assert gateway.call("POST", "/api/members", "staff", json=APPOINTMENT).status_code == 201
    path = "/api/members/m-001/contact-details"
    changed = {**CONTACT, "email": "wl@example.cn"}
    encoded = json.dumps(changed, ensure_ascii=False).encode()
    status, _, receipt = send(gateway, "PUT", path, [encoded[:10], encoded[10:]], role="member")
    assert status == 200 and receipt["event"] == "ContactDetailsChanged", receipt
    assert gateway.call("GET", path, "staff").json() == {"member_id": "m-001", **changed}  # read, not {}
    for body, expected in ((b"", 400), (b"\xef\xbb\xbf" + encoded, 400), ([b""], 400),
                           (changed_utf16 := json.dumps(changed).encode("utf-16"), 400),
                           ([b'{"address": "' + b"x" * 65536] * 48 + [b'"}'], 413)):
        status, _, problem = send(gateway, "PUT", path, body, role="member")
        assert status == expected, (body[:20], problem)
        assert problem["status"] == expected and problem["detail"]
    assert changed_utf16
    assert gateway.call("GET", path, "staff").json() == {"member_id": "m-001", **changed}  # not erased


def test_nested_duplicate_and_utf16_logins_are_400_without_a_token(gateway):
    status, _, problem = send(gateway, "POST", "/api/auth/login", b"[" * 970)
    assert status == 400 and problem["code"] == "too_deep"
    status, _, problem = send(gateway, "POST", "/api/auth/login", (
        '{"user_id": "nobody", "user_id": "m-001", "password": "%s"}' % "correct-horse-battery").encode())
    assert status == 400 and problem["code"] == "duplicate_key" and "token" not in problem
    login = json.dumps({"user_id": "m-001", "password": "correct-horse-battery"})
    status, _, problem = send(gateway, "POST", "/api/auth/login", login.encode("utf-16"))
    assert status == 400 and "token" not in problem
    status, _, problem = send(gateway, "POST", "/api/auth/login", login.encode("utf-16-le"),
                              headers={"Content-Type": "application/json; charset=utf-16"})
    assert status == 415
    status, _, answer = send(gateway, "POST", "/api/auth/login", login.encode())
    assert status == 200 and answer["token"]


def test_every_answer_carries_the_security_headers_and_public_ones_may_be_cached(gateway):
    answers = {
        "public list": gateway.call("GET", "/api/public/proposals"),
        "signed-in read": gateway.call("GET", "/api/worklist", "staff"),
        "command": gateway.call("POST", "/api/proposals", "member", json={"title": ""}),
        "problem": gateway.call("GET", "/api/worklist"),
        "no such API route": gateway.call("GET", "/api/nowhere", "staff"),
        "no route at all": gateway.call("GET", "/nowhere"),
        "wrong method": gateway.call("DELETE", "/api/worklist", "staff"),
        "openapi": gateway.call("GET", "/openapi.json"),
        "health": gateway.call("GET", "/health"),
    }
    for what, answer in answers.items():
        for name, value in SECURITY_HEADERS.items():
            if what == "no route at all" and name == "Content-Security-Policy":
                value = CONSOLE_CSP  # a path the API does not take is the web console's (its 404 page)
            assert answer.headers.get(name) == value, (what, name, dict(answer.headers))
        assert answer.status_code < 500 or what == "health", (what, answer.status_code)
    assert answers["public list"].headers["Cache-Control"] == "public, max-age=60"
    assert "Authorization" in answers["public list"].headers["Vary"]
    assert answers["openapi"].headers["Cache-Control"].startswith("public")
    for what in ("signed-in read", "command", "problem", "no such API route", "no route at all", "health"):
        assert answers[what].headers["Cache-Control"] == "no-store", what
    signed_in = gateway.call("GET", "/api/public/proposals", "member")  # may differ: no shared cache
    assert signed_in.headers["Cache-Control"] == "no-store"


def test_health_shows_only_the_status_unless_staff_an_admin_or_an_auditor_asks(gateway):
    for role in ("anonymous", "member", "unit", "public", "subscriber"):
        answer = gateway.call("GET", "/health", role)
        assert answer.status_code == 503 and answer.json() == {"status": "degraded"}, role  # notify is down
    forged = gateway.call("GET", "/health", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 503 and forged.json() == {"status": "degraded"}
    for role in ("staff", "admin", "auditor"):
        answer = gateway.call("GET", "/health", role).json()
        assert answer["status"] == "degraded"
        assert answer["services"]["proposals"]["ok"] is True and answer["services"]["proposals"]["head"] > 0
        assert answer["services"]["notify"]["ok"] is False
        assert answer["services"]["gateway"]["head"] > 0


# -- the fuzz run: hostile bodies to every command route ----------------------------------------------

HUGE = b'{"reason": "' + b"x" * (MAX_BODY + 100) + b'"}'
HOSTILE = {
    "chunked, a field no model takes": [b'{"fuzz_', b'probe": 1}'],
    "chunked, over the limit": [HUGE[i:i + 65536] for i in range(0, len(HUGE), 65536)],
    "empty": b"",
    "BOM": b"\xef\xbb\xbf{}",
    "nested": b"[" * 970,
    "nested objects": b'{"a":' * 500 + b"1" + b"}" * 500,
    "UTF-16": "{}".encode("utf-16"),
    "UTF-16 as a charset": "{}".encode("utf-16-le"),
    "duplicate keys": b'{"reason": "\xe6\x94\xb9", "reason": "\xe6\x94\xb9\xe5\x8f\x98"}',
    "nested duplicate keys": b'{"items": [{"item_id": "a", "item_id": "b"}]}',
    "NaN": b'{"reason": NaN}',
    "not an object": b'["reason"]',
    "huge": HUGE,
}
PREFERRED = ("staff", "admin", "member", "unit", "leader", "public")


def heads(client) -> dict[str, int]:
    services = client.call("GET", "/health", "admin").json()["services"]
    return {name: check["head"] for name, check in services.items() if check["ok"]}


def test_hostile_bodies_to_every_command_find_no_server_error_and_change_nothing(gateway):
    submitted = gateway.call("POST", "/api/proposals", "member", json=SUBMISSION)
    assert submitted.status_code == 201, submitted.text
    pid = submitted.json()["proposal_id"]
    assert gateway.call("POST", "/api/members", "staff", json=APPOINTMENT).status_code == 201
    values = {"proposal_id": pid, "comment_id": "c-none", "member_id": "m-001", "int:year": "2024",
              "user_id": "m-001", "key_id": "k-none", "org_id": "s-jj", "station_id": "st-wuma",
              "menu_id": "menu-none", "report_id": "r-none", "notification_id": "n-none",
              "channel": "email", "subscription_id": "wh-none", "consultation_id": "cn-none",
              "task_id": "t-none", "group_id": "g-none", "opinion_id": "o-none"}
    before = heads(gateway)
    assert {"proposals", "members", "gateway"} <= set(before)
    tried = 0
    for route in (r for r in api.ROUTES if r.is_command):
        path = route.path
        for name, value in values.items():
            path = path.replace(f"<{name}>", value)
        assert "<" not in path, path
        role = "anonymous" if route.roles is None else next(r for r in PREFERRED if r in route.roles)
        for what, body in HOSTILE.items():
            if what == "empty" and route.body is None:
                continue  # no body is what a command without a body model takes
            headers = {"Content-Type": "application/json; charset=utf-16"} if "charset" in what else {}
            status, answer_headers, problem = send(gateway, route.method, path, body, role=role,
                                                   headers=headers)
            tried += 1
            assert status in (400, 413, 415, 422), (route.method, route.path, what, status, problem)
            assert problem["status"] == status and problem["detail"], (route.path, what)
            assert answer_headers["X-Content-Type-Options"] == "nosniff"
    assert tried > 400
    assert heads(gateway) == before, "a refused request recorded something"
