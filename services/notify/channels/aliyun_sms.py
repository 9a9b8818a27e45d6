"""SMS through Aliyun's dysmsapi SendSms (阿里云短信服务), signed as Aliyun's RPC-style APIs are
(POP signature version 1.0, HMAC-SHA1), sent as a form POST so the number stays out of URLs.

Outcomes: Code "OK" -> sent (provider_id: BizId); throttling, Aliyun's own errors, HTTP 5xx, a
network failure or a timeout -> retry; every other code (a bad number, template, signature or
key, an empty balance) -> failed. Aliyun's Message text may quote the request (the number too),
so only its Code is kept.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Callable, Mapping

from . import SMS, Channel, Message, Outcome

log = logging.getLogger(__name__)

ACTION = "SendSms"
VERSION = "2017-05-25"
FALLBACK = "*"
# Worth trying again later; any other code but OK is not (docs: 短信服务 API 错误码).
TRANSIENT_CODES = frozenset({
    "isv.BUSINESS_LIMIT_CONTROL",   # the per-number minute/hour/day limit
    "isv.DAY_LIMIT_CONTROL",
    "isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "InternalError", "ServiceUnavailable",
    "SignatureNonceUsed",           # another request had our nonce: a new one will do
})
_PHONE = re.compile(r"^\+?\d{5,20}$")
_CODE_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")


def percent_encode(value: str) -> str:
    """RFC 3986 as Aliyun signs it: unreserved characters stay, space is %20, ``*`` is %2A."""
    return urllib.parse.quote(value, safe="~")


def string_to_sign(method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical)}"


def signature(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    """The Signature of ``params`` (without Signature itself) for an ``method`` request."""
    digest = hmac.new(f"{access_key_secret}&".encode(), string_to_sign(method, params).encode(),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def parse_templates(text: str) -> dict[str, str]:
    """``"proposal_assigned:SMS_1,*:SMS_0"`` -> {kind: TemplateCode}; ``*`` is for any other kind."""
    templates: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, sep, code = (s.strip() for s in item.partition(":"))
        if not sep or not kind or not code:
            raise ValueError(f"{item!r} is not kind:TemplateCode (e.g. proposal_assigned:SMS_123456789)")
        templates[kind] = code
    if not templates:
        raise ValueError("no template: give kind:TemplateCode pairs, * for any other kind")
    return templates


class AliyunSmsChannel(Channel):
    name = SMS

    def __init__(self, endpoint: str, *, access_key_id: str, access_key_secret: str,
                 sign_name: str, templates: Mapping[str, str], region: str = "cn-hangzhou",
                 timeout: float = 10.0, now: Callable[[], dt.datetime] | None = None):
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("endpoint must be an http(s) URL, e.g. https://dysmsapi.aliyuncs.com/")
        self.endpoint = urllib.parse.urlunsplit(parts._replace(path=parts.path or "/", query="", fragment=""))
        self.access_key_id, self._secret = access_key_id, access_key_secret
        self.sign_name, self.templates = sign_name, dict(templates)
        self.region, self.timeout = region, timeout
        self._now = now or (lambda: dt.datetime.now(dt.timezone.utc))

    def __repr__(self) -> str:
        return f"AliyunSmsChannel({self.endpoint}, key={self.access_key_id}, templates={sorted(self.templates)})"

    def template_for(self, kind: str) -> str | None:
        return self.templates.get(kind) or self.templates.get(FALLBACK)

    def send(self, message: Message) -> Outcome:
        outcome = self._send(message)
        level = logging.INFO if outcome.status == "sent" else logging.WARNING
        log.log(level, "sms %s: %s %s", message.message_id, outcome.status, outcome.detail)
        return outcome

    def request_params(self, message: Message, template: str) -> dict[str, str]:
        """The signed parameters of the SendSms request for ``message``."""
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": ACTION,
            "Format": "JSON",
            "OutId": message.message_id,
            "PhoneNumbers": message.to,
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": template,
            "Timestamp": self._now().astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": VERSION,
        }
        if message.params:
            params["TemplateParam"] = json.dumps({str(k): str(v) for k, v in message.params.items()},
                                                 ensure_ascii=False, separators=(",", ":"))
        params["Signature"] = signature("POST", params, self._secret)
        return params

    # -- the one attempt ------------------------------------------------------------------
    def _send(self, message: Message) -> Outcome:
        if not _PHONE.match(message.to or ""):
            return Outcome.failed("not a mobile number")
        template = self.template_for(message.template)
        if template is None:
            return Outcome.failed(f"no SMS template for {message.template!r} (XIESHANG_SMS_TEMPLATES)")
        body = urllib.parse.urlencode(self.request_params(message, template)).encode("ascii")
        request = urllib.request.Request(self.endpoint, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as e:  # Aliyun answers its refusals with 4xx and a JSON body
            status, raw = e.code, _read(e)
        except (socket.timeout, TimeoutError):
            return Outcome.retry("SMS timed out")
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                return Outcome.retry("SMS timed out")
            return Outcome.retry(f"SMS connection failed: {type(reason).__name__}")
        except (OSError, EOFError, http.client.HTTPException) as e:  # reset, dropped, garbled
            return Outcome.retry(f"SMS connection failed: {type(e).__name__}")
        return _classify(status, raw)


def _read(response) -> bytes:
    try:
        return response.read()
    except (OSError, EOFError):
        return b""


def _classify(status: int, raw: bytes) -> Outcome:
    try:
        answer = json.loads(raw)
        code = str(answer.get("Code") or "") if isinstance(answer, dict) else ""
    except ValueError:  # not JSON: a proxy's error page
        answer, code = {}, ""
    code = _CODE_CHARS.sub("", code)[:100]  # a code, whatever the server sent
    if status == 200 and code == "OK":
        return Outcome.sent("OK", provider_id=answer.get("BizId") or None)
    where = "" if status == 200 else f"HTTP {status} "
    if not code:
        detail = f"HTTP {status}" + ("" if status >= 500 else " without a Code")
        return Outcome.retry(detail) if status >= 500 or status == 429 else Outcome.failed(detail)
    if status >= 500 or status == 429 or code in TRANSIENT_CODES or code.startswith("Throttling"):
        return Outcome.retry(f"{where}{code}")
    return Outcome.failed(f"{where}{code}")
