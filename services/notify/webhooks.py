"""The notify service's adapters for signed webhooks (domain/webhooks.py, docs/notifications.md):

* ``WebhookSecrets``: where the subscriptions' signing secrets are kept, outside the log (ADR
  0005): a table of notify's private database, ``<data>/notify/private.sqlite`` (created
  ``0600`` in a ``0700`` folder, ``secure_delete`` on) or the ``<prefix>notify_private`` schema
  on PostgreSQL. The events name only a secret's id (drawn afresh for each secret, so a
  rotation that lost a race or crashed before its event leaves only a row nobody names); no
  read model, log line or error holds a secret.
* ``WebhookSender``: one HTTP POST of a CloudEvent (structured JSON), signed per Standard
  Webhooks with the ``standardwebhooks`` package (``webhook-id`` = the event id, so a receiver
  recognises a repeat; ``webhook-timestamp``; ``webhook-signature``, one ``v1,`` signature per
  secret in use). Redirects are not followed. What comes back is the HTTP status or the class
  of the failure, never the answer's body.
* ``integration_events``: the entrypoint that takes every message of the integration exchange
  ``xieshang.integration`` (queue ``notify.webhooks``, bound ``#``; only CloudEvents of public
  events are published there), validated by the CloudEvents SDK; dead-lettering like an event
  handler's queue (xieshang.kernel.consumer).
"""

from __future__ import annotations

import abc
import http.client
import logging
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, Collection, Mapping
from urllib.parse import urlsplit

import sqlalchemy as sa
from kombu import Exchange, Queue
from nameko.containers import WorkerContext
from nameko.extensions import DependencyProvider
from standardwebhooks import Webhook

from xieshang.kernel.config import Settings, setting_number, setting_source
from xieshang.kernel.consumer import (REASON_MALFORMED, DeadLetteringEntrypoint, consumer_name,
                                      dead_letter_queue, quorum_queue_arguments)
from xieshang.kernel.ids import is_id
from xieshang.kernel.integration import CONTENT_TYPE, INTEGRATION_EXCHANGE, decode_cloud_event
from xieshang.kernel.store.port import Tracking
from xieshang.kernel.private_store import PrivateStore, private_engine

from .domain.webhooks import WebhookPolicy

log = logging.getLogger(__name__)

WEBHOOK_QUEUE = "notify.webhooks"
MAX_DELIVERIES = 5
USER_AGENT = "xieshang-webhooks/1"
MAX_ANSWER_READ = 64 * 1024     # read (and drop) at most this much of an answer


# -- settings -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WebhookSettings:
    policy: WebhookPolicy = WebhookPolicy()
    timeout_seconds: float = 10.0
    batch: int = 100
    concurrency: int = 8

    @classmethod
    def load(cls, config: Mapping[str, Any] | None) -> "WebhookSettings":
        src, base = setting_source(config), WebhookPolicy()

        def seconds(key: str, default: float) -> float:
            return setting_number(src, key, default, float)

        def count(key: str, default: int) -> int:
            return setting_number(src, key, default, int, most=100_000, what="a whole number above 0")
        return cls(policy=WebhookPolicy(
            base_seconds=seconds("XIESHANG_WEBHOOK_RETRY_SECONDS", base.base_seconds),
            max_seconds=seconds("XIESHANG_WEBHOOK_RETRY_MAX_SECONDS", base.max_seconds),
            give_up_after_seconds=seconds("XIESHANG_WEBHOOK_GIVE_UP_SECONDS", base.give_up_after_seconds),
            lease_seconds=seconds("XIESHANG_WEBHOOK_LEASE_SECONDS", base.lease_seconds),
            rotation_overlap_seconds=seconds("XIESHANG_WEBHOOK_ROTATION_OVERLAP_SECONDS",
                                             base.rotation_overlap_seconds)),
            timeout_seconds=seconds("XIESHANG_WEBHOOK_TIMEOUT_SECONDS", 10.0),
            batch=count("XIESHANG_WEBHOOK_BATCH", 100),
            concurrency=count("XIESHANG_WEBHOOK_CONCURRENCY", 8))


# -- the secrets --------------------------------------------------------------------------------

class WebhookSecrets(abc.ABC):
    """Port: the signing secrets of the subscriptions, by subscription id and secret id."""

    @abc.abstractmethod
    def put(self, subscription_id: str, secret_id: str, secret: str) -> None:
        """Keep ``secret`` under ``secret_id`` (a fresh id each time)."""

    @abc.abstractmethod
    def get(self, subscription_id: str, secret_ids: Collection[str]) -> dict[str, str]:
        """The secrets kept of those ids, by id."""

    @abc.abstractmethod
    def forget_others(self, subscription_id: str, keep: Collection[str]) -> int:
        """Forget the subscription's secrets but those of ``keep``; how many there were."""

    def close(self) -> None:  # pragma: no cover - trivial
        pass


class MemoryWebhookSecrets(WebhookSecrets):
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def put(self, subscription_id: str, secret_id: str, secret: str) -> None:
        with self._lock:
            self._rows[(subscription_id, secret_id)] = secret

    def get(self, subscription_id: str, secret_ids: Collection[str]) -> dict[str, str]:
        return {i: self._rows[(subscription_id, i)] for i in secret_ids if (subscription_id, i) in self._rows}

    def forget_others(self, subscription_id: str, keep: Collection[str]) -> int:
        with self._lock:
            old = [k for k in self._rows if k[0] == subscription_id and k[1] not in keep]
            for k in old:
                del self._rows[k]
            return len(old)


class SqlWebhookSecrets(PrivateStore, WebhookSecrets):
    TABLE = "webhook_secrets"
    NAME = "the webhook secrets"

    def __init__(self, engine: sa.Engine, schema: str | None = None):
        super().__init__(engine, schema)
        self.rows = sa.Table(
            self.TABLE, self.metadata,
            sa.Column("subscription_id", sa.String(64), primary_key=True),
            sa.Column("secret_id", sa.String(64), primary_key=True),
            sa.Column("secret", sa.String(200), nullable=False),
            sa.Column("kept_at", sa.String(40), nullable=False),
        )
        self._create()

    def put(self, subscription_id: str, secret_id: str, secret: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.rows.insert().values(
                subscription_id=subscription_id, secret_id=secret_id, secret=secret,
                kept_at=datetime.now(timezone.utc).isoformat(timespec="seconds")))

    def get(self, subscription_id: str, secret_ids: Collection[str]) -> dict[str, str]:
        t = self.rows
        if not secret_ids:
            return {}
        with self.engine.connect() as conn:
            return {r.secret_id: r.secret for r in conn.execute(sa.select(t.c.secret_id, t.c.secret).where(
                t.c.subscription_id == subscription_id, t.c.secret_id.in_(list(secret_ids))))}

    def forget_others(self, subscription_id: str, keep: Collection[str]) -> int:
        t = self.rows
        with self.engine.begin() as conn:
            gone = conn.execute(t.delete().where(t.c.subscription_id == subscription_id,
                                                 t.c.secret_id.not_in(list(keep)))).rowcount
        if gone:   # the old pages out of the write-ahead log too
            self._forget()
        return gone


def make_webhook_secrets(settings: Settings) -> SqlWebhookSecrets:
    """notify's private store of webhook secrets, beside its event store."""
    return SqlWebhookSecrets(*private_engine(settings))


class Secrets(DependencyProvider):
    """Gives each worker the container's store of webhook secrets (made when it starts)."""

    store: WebhookSecrets | None = None

    def setup(self) -> None:
        if self.store is None:
            self.store = make_webhook_secrets(Settings.load(self.container.service_name, self.container.config))

    def stop(self) -> None:
        if self.store is not None:
            self.store.close()

    kill = stop

    def get_dependency(self, worker_ctx) -> WebhookSecrets:  # noqa: ANN001
        return self.store


class WebhookConfig(DependencyProvider):
    def setup(self) -> None:
        self.settings = WebhookSettings.load(self.container.config)

    def get_dependency(self, worker_ctx) -> WebhookSettings:  # noqa: ANN001
        return self.settings


# -- sending ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What one POST came to: the HTTP status, or None and the failure's class name."""

    status: int | None
    error: str | None = None


def signature_headers(msg_id: str, body: str, secrets: list[str], at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of ``body``: one ``v1,`` signature per secret."""
    at = at.astimezone(timezone.utc)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            # standardwebhooks takes a naive-or-UTC datetime: it reads the fields as UTC
            "webhook-signature": " ".join(Webhook(s).sign(msg_id, at.replace(tzinfo=None), body)
                                          for s in secrets)}


class WebhookSender:
    """POSTs a signed CloudEvent. The signature's timestamp is the real time of sending
    (receivers reject one more than a few minutes off their own clock), whatever the clock
    that decides retries says."""

    def __init__(self, timeout: float = 10.0, wall_clock: Callable[[], datetime] | None = None):
        self.timeout = timeout
        self.wall_clock = wall_clock or (lambda: datetime.now(timezone.utc))

    def post(self, url: str, msg_id: str, body: str, secrets: list[str]) -> Answer:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        data = body.encode("utf-8")
        headers = {"Content-Type": CONTENT_TYPE, "Content-Length": str(len(data)),
                   "User-Agent": USER_AGENT,
                   **signature_headers(msg_id, body, secrets, self.wall_clock())}
        if parts.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout)
        try:
            conn.request("POST", path, body=data, headers=headers)
            response = conn.getresponse()
            response.read(MAX_ANSWER_READ)
            return Answer(response.status)
        except (socket.timeout, TimeoutError):
            return Answer(None, "TimeoutError")
        except (OSError, http.client.HTTPException, ValueError) as e:   # refused, reset, garbled, TLS
            return Answer(None, type(e).__name__)
        finally:
            conn.close()


class Sender(DependencyProvider):
    sender: WebhookSender | None = None

    def setup(self) -> None:
        if self.sender is None:
            self.sender = WebhookSender(WebhookSettings.load(self.container.config).timeout_seconds)

    def get_dependency(self, worker_ctx) -> WebhookSender:  # noqa: ANN001
        return self.sender


# -- taking the integration exchange's messages ------------------------------------------------

@dataclass(frozen=True)
class PublicEvent:
    """A CloudEvent as it came: its id, type, position in its service's log and the exact
    JSON text (what is delivered)."""

    event_id: str
    ce_type: str
    position: int
    body: str


def integration_exchange() -> Exchange:
    return Exchange(INTEGRATION_EXCHANGE, type="topic", durable=True)


def webhook_queue(max_deliveries: int = MAX_DELIVERIES) -> Queue:
    return Queue(WEBHOOK_QUEUE, exchange=integration_exchange(), routing_key="#", durable=True,
                 auto_delete=False, queue_arguments=quorum_queue_arguments(WEBHOOK_QUEUE, max_deliveries))


class IntegrationEvents(DeadLetteringEntrypoint):
    """Calls the decorated method with each ``PublicEvent`` of the integration exchange; a
    message that is not a valid CloudEvent is dead-lettered at once."""

    QUEUE = WEBHOOK_QUEUE   # for operator tools: the one queue, whatever the method is called

    def setup(self) -> None:
        self.consumer = consumer_name(self.container.service_name, self.method_name)
        self.queue_name = WEBHOOK_QUEUE
        self.queue = webhook_queue(self.max_deliveries)
        self._start_consuming()

    def _declare(self, channel: Any) -> None:
        integration_exchange()(channel).declare()
        dead_letter_queue(WEBHOOK_QUEUE)(channel).declare()
        self.queue(channel).declare()

    def _handle(self, body: bytes, message: Any) -> None:
        try:
            text = body if isinstance(body, str) else bytes(body).decode("utf-8")
            event = decode_cloud_event(text)
            if not is_id(event["id"]) or not isinstance(event["type"], str) or len(event["type"]) > 200:
                raise ValueError("the id or the type is not one of ours")
            public = PublicEvent(event["id"], event["type"], int(event.get("xsposition") or 0), text)
        except Exception as exc:   # not a CloudEvent (the SDK says why): never a handler's business
            log.error("%s: message %s is not a CloudEvent (%s); dead-lettering it", self.consumer,
                      message.properties.get("message_id") or "<no message id>", type(exc).__name__)
            self._dead_letter_now(message, exc, REASON_MALFORMED)
            self.outcomes[REASON_MALFORMED] += 1
            return
        if self._already_processed(public.event_id):
            self.queue_consumer.ack_message(message)
            self.outcomes["skipped"] += 1
            return
        self._spawn(message, public)

    def handle_result(self, message: Any, public: PublicEvent, worker_ctx: WorkerContext,
                      result: Any = None, exc_info: Any = None) -> tuple[Any, Any]:
        return self._settle(message, f"public event {public.event_id} ({public.ce_type})", result, exc_info)


def integration_events(*, max_deliveries: int = MAX_DELIVERIES, precheck: bool = True, **kwargs: Any):
    """Decorate a service method to take every public event of the integration exchange."""
    return IntegrationEvents.decorator(max_deliveries=max_deliveries, precheck=precheck, **kwargs)


def public_event_tracking(consumer: str | WorkerContext, event: PublicEvent) -> Tracking:
    if isinstance(consumer, WorkerContext):
        consumer = consumer_name(consumer.service_name, consumer.entrypoint.method_name)
    return Tracking(consumer=consumer, event_id=event.event_id, position=event.position)


class PublicEventTracking(DependencyProvider):
    """Injects ``tracking(event) -> Tracking`` for the running integration handler."""

    def get_dependency(self, worker_ctx: WorkerContext) -> Callable[[PublicEvent], Tracking]:
        return partial(public_event_tracking, worker_ctx)
