"""Signed webhooks 事件推送: other systems told of public events by an HTTP POST (issue 16).

Administrators subscribe a receiving system's URL to CloudEvents types (or type prefixes).
Every public event the services publish on the integration exchange is taken once
(``plan``): when a subscription wants it, the event (its CloudEvent, the exact bytes to send)
and one ``WebhookPlanned`` per subscription are recorded in one append. Each delivery then has
its own stream of attempts, decided here as the notices' deliveries are (domain/delivery.py,
ADR 0010): an attempt is started by an append at the stream's version (a lease), its outcome
recorded (the receiver's HTTP status or the class of the failure, never a body), a failure
retried with exponential backoff for at least ``give_up_after`` (a day), then parked. An
operator replays a parked delivery: a new series of attempts.

The secrets a delivery is signed with are not here: the subscription's events name only the
id of its secret (services/notify/webhooks.py keeps them, ADR 0005).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Iterable
from urllib.parse import urlsplit

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor
from xieshang.kernel.integration import TYPE_PREFIX, type_matches

from .events import (WebhookAttempted, WebhookAttemptStarted, WebhookDelivered, WebhookDisabled,
                     WebhookEventReceived, WebhookParked, WebhookPlanned, WebhookReplayRequested,
                     WebhookSecretRotated, WebhookSubscribed)
from .vocabulary import (ACTIVE, DELIVERED, DISABLED, OUTCOME_RETRY, PARKED, PLANNED, SENDING,
                         WEBHOOK_ADMINS, WEBHOOK_READERS, webhook_key)

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32                   # what a generated secret has
SECRET_MIN_BYTES, SECRET_MAX_BYTES = 24, 64
MAX_URL = 2000
MAX_TYPES = 50
MAX_DESCRIPTION = 200
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
GONE = "gone"
_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)*")


@dataclass(frozen=True)
class WebhookPolicy:
    """How a failing webhook is retried (``XIESHANG_WEBHOOK_*``): ``base_seconds`` doubling,
    at most ``max_seconds`` apart, for at least ``give_up_after_seconds`` from the series'
    first attempt; then parked."""

    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    give_up_after_seconds: float = 24 * 3600.0
    lease_seconds: float = 60.0
    rotation_overlap_seconds: float = 24 * 3600.0

    def backoff(self, attempt: int) -> timedelta:
        exponent = min(max(attempt - 1, 0), 40)      # 2**40 times the base is past any cap
        return timedelta(seconds=min(self.max_seconds, self.base_seconds * 2 ** exponent))


# -- who --------------------------------------------------------------------------------------

def require_webhook_admin(actor: Actor, command: str) -> None:
    if actor.role not in WEBHOOK_ADMINS:
        raise NotAllowed(command, ("only administrators manage webhooks",
                                   "只有系统管理员可以管理事件推送"))


def require_webhook_reader(actor: Actor) -> None:
    if actor.role not in WEBHOOK_READERS:
        raise NotAllowed("read_webhooks", ("only administrators and auditors see webhooks",
                                           "只有系统管理员和审计人员可以查看事件推送"))


# -- what a subscription takes ------------------------------------------------------------------

def check_url(url: object) -> str:
    """An absolute https URL, or http to this machine (a test's receiver, a local relay)."""
    wrong = InvalidCommand(("bad webhook URL", "推送地址无效"), {
        "url": "https:// 地址（仅本机可用 http://），不含用户名密码与 # 片段，至多 2000 字符 "
               "(an https URL, or http to localhost; no user or password, no fragment; at most 2000 characters)"})
    if not isinstance(url, str) or not url or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise wrong
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise wrong from None
    host = (parts.hostname or "").lower()
    if (not host or parts.username is not None or parts.password is not None or parts.fragment
            or parts.scheme not in ("https", "http") or (parts.scheme == "http" and host not in LOCAL_HOSTS)
            or (port is not None and not 0 < port < 65536)):
        raise wrong
    return url


def check_types(types: object) -> tuple[str, ...]:
    """CloudEvents types (``cn.gov.cppcc.proposals.ProposalFiled.v1``) or prefixes of whole
    dotted parts (``cn.gov.cppcc.proposals``: every type of the proposals service)."""
    rule = (f"1 至 {MAX_TYPES} 个以 {TYPE_PREFIX} 开头的事件类型或前缀 (1 to {MAX_TYPES} CloudEvents "
            f"types or type prefixes, each starting with {TYPE_PREFIX})")
    if not isinstance(types, (list, tuple)) or not 1 <= len(types) <= MAX_TYPES:
        raise InvalidCommand(("bad event types", "事件类型有误"), {"types": rule})
    problems = {f"types[{i}]": rule for i, t in enumerate(types)
                if not isinstance(t, str) or len(t) > 200 or not _TYPE.fullmatch(t)
                or not type_matches(t, [TYPE_PREFIX])}
    if problems:
        raise InvalidCommand(("bad event types", "事件类型有误"), problems)
    return tuple(dict.fromkeys(types))


def check_description(description: object) -> str:
    if description is None:
        return ""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise InvalidCommand(("bad description", "说明有误"),
                             {"description": f"至多 {MAX_DESCRIPTION} 字 (at most {MAX_DESCRIPTION} characters)"})
    return description.strip()


def check_secret(secret: object) -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 24 to 64 random bytes."""
    rule = (f"whsec_ 加 {SECRET_MIN_BYTES} 至 {SECRET_MAX_BYTES} 字节的 base64 (whsec_ followed by the "
            f"base64 of {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} random bytes)")
    wrong = InvalidCommand(("bad webhook secret", "签名密钥格式有误"), {"secret": rule})
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise wrong
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except ValueError:
        raise wrong from None
    if not SECRET_MIN_BYTES <= len(raw) <= SECRET_MAX_BYTES:
        raise wrong
    return secret


def new_secret(random_bytes: bytes) -> str:
    """A secret from ``random_bytes`` (the caller draws them: the domain has no randomness)."""
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode("ascii")


# -- the subscriptions ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    url: str
    types: tuple[str, ...]
    description: str = ""
    secret_id: str = ""
    state: str = ACTIVE
    previous_secret_id: str | None = None
    overlap_until: str | None = None     # the previous secret signs too, until then

    def wants(self, ce_type: str) -> bool:
        return self.state == ACTIVE and type_matches(ce_type, self.types)

    def signing_secret_ids(self, now: datetime) -> list[str]:
        """The secrets a delivery is signed with now: the current one, and the one before
        while the rotation's overlap lasts."""
        ids = [self.secret_id]
        if (self.previous_secret_id and self.overlap_until
                and datetime.fromisoformat(self.overlap_until) > now):
            ids.append(self.previous_secret_id)
        return ids


@dataclass(frozen=True)
class Subscriptions:
    by_id: dict[str, Subscription] = field(default_factory=dict)

    def get(self, subscription_id: str) -> Subscription:
        if subscription_id not in self.by_id:
            raise NotFound(("no such webhook subscription", "没有这个事件推送订阅"))
        return self.by_id[subscription_id]

    def wanting(self, ce_type: str) -> list[Subscription]:
        return [s for _, s in sorted(self.by_id.items()) if s.wants(ce_type)]


def fold_subscriptions_on(subs: Subscriptions, events: Iterable[DomainEvent]) -> Subscriptions:
    by_id = dict(subs.by_id)
    for e in events:
        if isinstance(e, WebhookSubscribed):
            by_id[e.subscription_id] = Subscription(e.subscription_id, e.url, tuple(e.types),
                                                    e.description, e.secret_id)
        elif isinstance(e, WebhookSecretRotated) and e.subscription_id in by_id:
            by_id[e.subscription_id] = replace(by_id[e.subscription_id], secret_id=e.secret_id,
                                               previous_secret_id=e.previous_secret_id,
                                               overlap_until=e.overlap_until)
        elif isinstance(e, WebhookDisabled) and e.subscription_id in by_id:
            by_id[e.subscription_id] = replace(by_id[e.subscription_id], state=DISABLED)
    return Subscriptions(by_id)


def fold_subscriptions(events: Iterable[DomainEvent]) -> Subscriptions:
    return fold_subscriptions_on(Subscriptions(), events)


def subscribe(actor: Actor, subs: Subscriptions, subscription_id: str, secret_id: str, url: object,
              types: object, description: object = None) -> list[DomainEvent]:
    require_webhook_admin(actor, "create_webhook")
    checked = (check_url(url), check_types(types), check_description(description))
    if subscription_id in subs.by_id:
        raise WrongState("create_webhook", subs.by_id[subscription_id].state, [],
                         ("a subscription with this id exists", "已有此编号的订阅"))
    return [WebhookSubscribed(subscription_id=subscription_id, url=checked[0], types=list(checked[1]),
                              secret_id=secret_id, description=checked[2])]


def rotate_secret(actor: Actor, subs: Subscriptions, subscription_id: str, secret_id: str, now: datetime,
                  policy: WebhookPolicy) -> list[DomainEvent]:
    require_webhook_admin(actor, "rotate_webhook_secret")
    sub = subs.get(subscription_id)
    if sub.state != ACTIVE:
        raise WrongState("rotate_webhook_secret", sub.state, [])
    until = now + timedelta(seconds=policy.rotation_overlap_seconds)
    return [WebhookSecretRotated(subscription_id=subscription_id, secret_id=secret_id,
                                 previous_secret_id=sub.secret_id, overlap_until=until.isoformat())]


def disable(actor: Actor, subs: Subscriptions, subscription_id: str, reason: str | None) -> list[DomainEvent]:
    require_webhook_admin(actor, "disable_webhook")
    sub = subs.get(subscription_id)
    if sub.state == DISABLED:
        return []   # already so: a repeated command changes nothing
    return [WebhookDisabled(subscription_id=subscription_id, reason=(reason or "").strip()[:500])]


# -- taking a public event -----------------------------------------------------------------------

def fold_received(events: Iterable[DomainEvent]) -> WebhookEventReceived | None:
    """The event as received (None: not yet)."""
    return next((e for e in events if isinstance(e, WebhookEventReceived)), None)


def plan(received: WebhookEventReceived | None, subs: Subscriptions, *, event_id: str, ce_type: str,
         body: str, now: datetime) -> list[DomainEvent]:
    """The event and one delivery per subscription that wants it, in one append; nothing when
    none does (or when it was taken before)."""
    if received is not None:
        return []
    wanting = subs.wanting(ce_type)
    if not wanting:
        return []
    due = now.isoformat()
    return [WebhookEventReceived(event_id=event_id, ce_type=ce_type, body=body),
            *[WebhookPlanned(key=webhook_key(s.subscription_id, event_id), subscription_id=s.subscription_id,
                             event_id=event_id, ce_type=ce_type, due_at=due) for s in wanting]]


# -- one delivery's attempts ------------------------------------------------------------------------

@dataclass(frozen=True)
class WebhookDelivery:
    key: str
    state: str = PLANNED
    series: int = 1
    attempt: int = 0                    # the last attempt started in the current series
    series_started: str | None = None   # when its first attempt started
    lease_until: str | None = None
    retry_at: str | None = None
    total_attempts: int = 0


def fold_webhook(key: str, events: Iterable[DomainEvent]) -> WebhookDelivery:
    d = WebhookDelivery(key)
    for e in events:
        if isinstance(e, WebhookAttemptStarted):
            d = replace(d, state=SENDING, attempt=e.attempt, lease_until=e.lease_until, retry_at=None,
                        total_attempts=d.total_attempts + 1, series=e.series,
                        series_started=e.series_started or d.series_started)
        elif isinstance(e, WebhookAttempted):
            if e.attempt != d.attempt or d.state != SENDING:
                continue   # a late outcome of an attempt whose lease ran out: what happened, no more
            d = replace(d, state=PLANNED, lease_until=None, retry_at=e.retry_at)
        elif isinstance(e, WebhookDelivered):
            d = replace(d, state=DELIVERED, lease_until=None, retry_at=None)
        elif isinstance(e, WebhookParked):
            d = replace(d, state=PARKED, lease_until=None, retry_at=None)
        elif isinstance(e, WebhookReplayRequested):
            d = replace(d, state=PLANNED, series=e.series, attempt=0, series_started=None,
                        lease_until=None, retry_at=None)
    return d


def webhook_fold(key: str):
    return lambda events: fold_webhook(key, events)


def start_attempt(d: WebhookDelivery, now: datetime, policy: WebhookPolicy) -> list[DomainEvent]:
    """The next attempt, if one is due: planned and past its retry time, or sending with its
    lease run out (the sender died). Nothing otherwise (another instance has it, or done)."""
    if d.state == PLANNED and (d.retry_at is None or datetime.fromisoformat(d.retry_at) <= now):
        pass
    elif d.state == SENDING and d.lease_until and datetime.fromisoformat(d.lease_until) <= now:
        pass
    else:
        return []
    lease = now + timedelta(seconds=policy.lease_seconds)
    return [WebhookAttemptStarted(key=d.key, attempt=d.attempt + 1, lease_until=lease.isoformat(),
                                  series=d.series, series_started=d.series_started or now.isoformat())]


def record_outcome(d: WebhookDelivery, attempt: int, status: int | None, error: str | None,
                   now: datetime, policy: WebhookPolicy) -> list[DomainEvent]:
    """What attempt ``attempt`` came to (``status``: the HTTP status, or None with ``error``,
    the failure's class) and where it leaves the delivery. A 2xx delivers; a 410 parks it (the
    receiver says it is gone for good); anything else is retried until the series has lasted
    ``give_up_after``, then parked. An outcome of an attempt no longer the current one is
    recorded as what happened, and decides nothing unless it delivered."""
    delivered = status is not None and 200 <= status < 300
    if d.state != SENDING:
        return []
    if d.attempt != attempt:
        late = [WebhookAttempted(key=d.key, attempt=attempt, outcome=DELIVERED if delivered else OUTCOME_RETRY,
                                 status=status, error=error)]
        return late + ([WebhookDelivered(key=d.key, attempts=attempt)] if delivered else [])
    if delivered:
        return [WebhookAttempted(key=d.key, attempt=attempt, outcome=DELIVERED, status=status),
                WebhookDelivered(key=d.key, attempts=attempt)]
    if status == 410:
        return [WebhookAttempted(key=d.key, attempt=attempt, outcome=GONE, status=status),
                WebhookParked(key=d.key, attempts=attempt, reason=GONE)]
    started = datetime.fromisoformat(d.series_started) if d.series_started else now
    if now - started >= timedelta(seconds=policy.give_up_after_seconds):
        return [WebhookAttempted(key=d.key, attempt=attempt, outcome=OUTCOME_RETRY, status=status, error=error),
                WebhookParked(key=d.key, attempts=attempt, reason="retries_exhausted")]
    retry_at = (now + policy.backoff(attempt)).isoformat()
    return [WebhookAttempted(key=d.key, attempt=attempt, outcome=OUTCOME_RETRY, status=status, error=error,
                             retry_at=retry_at)]


def park_disabled(d: WebhookDelivery) -> list[DomainEvent]:
    """A delivery due for a subscription disabled since it was planned: parked (replayed, it
    would be parked again until the subscription is active)."""
    if d.state in (DELIVERED, PARKED):
        return []
    return [WebhookParked(key=d.key, attempts=d.attempt, reason=DISABLED)]


def request_replay(actor: Actor, d: WebhookDelivery) -> list[DomainEvent]:
    """An operator tries a parked delivery again: a new series from attempt 1."""
    require_webhook_admin(actor, "replay_webhooks")
    if d.state != PARKED:
        raise WrongState("replay_webhooks", d.state if d.total_attempts else "none", [],
                         ("only a parked delivery is replayed", "只有暂停重试的推送才能重新推送"))
    return [WebhookReplayRequested(key=d.key, series=d.series + 1)]

