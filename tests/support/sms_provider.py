"""A local HTTP server speaking Aliyun dysmsapi's SendSms, for tests and benchmarks.

    with LocalSmsProvider("LTAI-test", "the-secret") as provider:
        channel = AliyunSmsChannel(provider.endpoint, access_key_id="LTAI-test",
                                   access_key_secret="the-secret", sign_name="政协",
                                   templates={"*": "SMS_0"})
        ...
        [sms] = provider.wait_for(1)   # the request's parameters, plus its BizId

It checks each request as Aliyun does: the AccessKeyId, the signature recomputed from the
parameters with the secret (HMAC-SHA1 over the canonical query, the secret plus "&" as key:
written here from Aliyun's description, not from the adapter), a nonce used once, the action
and version, and the parameters SendSms needs. ``fail_next(n, code)`` answers the next n
well-signed requests with an Aliyun Code (``"isv.BUSINESS_LIMIT_CONTROL"``: HTTP 200 and that
Code) or an HTTP status (``503``).

Works with OS threads and, under eventlet's monkey patching, with green threads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlsplit

REQUIRED = ("AccessKeyId", "Action", "Format", "PhoneNumbers", "SignName", "Signature",
            "SignatureMethod", "SignatureNonce", "SignatureVersion", "TemplateCode", "Timestamp",
            "Version")


def _encode(value: str) -> str:
    # Aliyun: URL-encode as UTF-8, then "+" -> "%20", "*" -> "%2A", "%7E" -> "~".
    return quote(value, safe="").replace("+", "%20").replace("*", "%2A").replace("%7E", "~")


def aliyun_signature(method: str, params: dict[str, str], secret: str) -> str:
    query = "&".join(f"{_encode(k)}={_encode(params[k])}" for k in sorted(params) if k != "Signature")
    to_sign = f"{method}&{_encode('/')}&{_encode(query)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


class LocalSmsProvider:
    def __init__(self, access_key_id: str = "LTAI-local-test", secret: str = "local-test-secret", *,
                 host: str = "127.0.0.1"):
        self.access_key_id, self.secret = access_key_id, secret
        self.messages: list[dict[str, str]] = []
        self.refused: list[str] = []  # the Code of each refused request
        self._nonces: set[str] = set()
        self._failures: list[tuple[str | int, int]] = []
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer((host, 0), _handler(self))
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        self.endpoint = f"http://{self.host}:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"sms-provider-{self.port}", daemon=True)
        self._thread.start()

    # -- what the test controls -----------------------------------------------------------
    def fail_next(self, n: int, code: str | int) -> None:
        """The next ``n`` well-signed requests get ``code``: an Aliyun Code or an HTTP status."""
        with self._changed:
            self._failures.append((code, n))

    def wait_for(self, n: int, timeout: float = 5.0) -> list[dict[str, str]]:
        """The accepted messages once there are ``n``; TimeoutError after ``timeout``."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= n, timeout):
                raise TimeoutError(f"{len(self.messages)} of {n} SMS arrived within {timeout}s")
            return list(self.messages)

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            self._thread.join(5)

    def __enter__(self) -> "LocalSmsProvider":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the provider's side --------------------------------------------------------------
    def answer(self, method: str, params: dict[str, str]) -> tuple[int, dict | str]:
        """(HTTP status, JSON body or text) for one request."""
        request_id = str(uuid.uuid4()).upper()
        missing = [k for k in REQUIRED if not params.get(k)]
        if missing:
            return self._refuse(400, "MissingParameter", f"{missing[0]} is mandatory for this action.", request_id)
        if params["AccessKeyId"] != self.access_key_id:
            return self._refuse(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", request_id)
        if (params["SignatureMethod"], params["SignatureVersion"]) != ("HMAC-SHA1", "1.0"):
            return self._refuse(400, "InvalidParameter", "SignatureMethod or SignatureVersion", request_id)
        expected = aliyun_signature(method, params, self.secret)
        if not hmac.compare_digest(expected, params["Signature"]):
            # Aliyun quotes its string to sign, the number in it: what an adapter must not echo
            query = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "Signature")
            return self._refuse(400, "SignatureDoesNotMatch", "Specified signature is not matched with our "
                                f"calculation. server string to sign is:{method}&%2F&{query}", request_id)
        if (params["Action"], params["Version"]) != ("SendSms", "2017-05-25"):
            return self._refuse(400, "InvalidAction.NotFound", "Specified api is not found", request_id)
        with self._changed:
            if params["SignatureNonce"] in self._nonces:
                return self._refuse(400, "SignatureNonceUsed", "Specified signature nonce was used already.", request_id)
            self._nonces.add(params["SignatureNonce"])
            failure = self._take_failure()
            if failure is None and params.get("TemplateParam"):
                try:
                    json.loads(params["TemplateParam"])
                except ValueError:
                    failure = "isv.INVALID_JSON_PARAM"
            if isinstance(failure, int):
                self.refused.append(f"HTTP {failure}")
                return failure, "Service Unavailable"
            if failure is not None:
                self.refused.append(failure)
                return 200, {"Code": failure, "Message": f"触发{failure}", "RequestId": request_id}
            biz_id = f"{len(self.messages) + 1:06d}^{uuid.uuid4().int % 10**10:010d}"
            accepted = {k: v for k, v in params.items() if k != "Signature"}
            accepted["BizId"] = biz_id
            self.messages.append(accepted)
            self._changed.notify_all()
        return 200, {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id}

    def _take_failure(self) -> str | int | None:
        if not self._failures:
            return None
        code, left = self._failures[0]
        if left <= 1:
            self._failures.pop(0)
        else:
            self._failures[0] = (code, left - 1)
        return code

    def _refuse(self, status: int, code: str, message: str, request_id: str):
        with self._changed:  # a re-entrant lock
            self.refused.append(code)
        return status, {"Code": code, "Message": message, "RequestId": request_id,
                        "HostId": "dysmsapi.aliyuncs.com", "Recommend": ""}


def _handler(provider: LocalSmsProvider):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self._serve("GET", urlsplit(self.path).query)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            query = urlsplit(self.path).query
            self._serve("POST", "&".join(p for p in (query, body) if p))

        def _serve(self, method: str, query: str) -> None:
            params = dict(parse_qsl(query, keep_blank_values=True))
            status, answer = provider.answer(method, params)
            if isinstance(answer, dict):
                data, kind = json.dumps(answer, ensure_ascii=False).encode(), "application/json;charset=utf-8"
            else:
                data, kind = answer.encode(), "text/plain;charset=utf-8"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # the request line is no business of a test's log
            pass

    return Handler
