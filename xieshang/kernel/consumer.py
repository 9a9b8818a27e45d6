"""Acting on another service's events, exactly once in effect.

A relay publishes each committed event of service ``S`` to the durable topic exchange
``S.events`` (routing key: the event type; body: ``Envelope.to_json()``; message id: the
event id). A consuming service declares a handler::

    class Notices:
        name = "notices"
        streams = WritePath(domain.registry)   # the service's own write path
        tracking = EffectTracking()

        @handle_event("proposals", "ProposalFiled")
        def on_filed(self, envelope):
            self.streams.decide(CommandContext.caused_by(envelope), f"notices-{envelope.stream}",
                                domain.fold, lambda log: domain.notices_for(log, envelope),
                                retry=True, tracking=self.tracking(envelope))

The envelope a handler receives has been decoded through the producer's published contract
(``xieshang.kernel.contracts``: old schema versions upcast); a subscription to an event the
producer does not publish stops the service at start.

Delivery is at least once (redelivery after a crash, a lost ack, a relay that publishes
twice); the effect is exactly once because the handler's append carries a ``Tracking``
that the store records in the same transaction as the new events: a repeat appends
nothing. Before the handler runs, the entrypoint may also ask the store whether the
event was already processed and skip it, which saves work but decides nothing.

Queues. One durable quorum queue per (consuming service, method), shared by all of the
service's instances (competing consumers). A handler that raises is retried (reject with
requeue; the quorum queue counts deliveries). On its last allowed delivery the entrypoint
dead-letters the message itself: it republishes it (publisher confirms) to the
``xieshang.dead-letters`` exchange with headers naming the error and the number of
deliveries, then acks the original. We do it ourselves rather than let the broker do it
because a broker dead-lettering copies the original message and has no room for the
reason; the operator needs to see why. The broker's own limit (``x-delivery-limit``,
one above ours) stays as a backstop for messages that never reach a verdict (a worker
that dies mid-handling every time), and those arrive with RabbitMQ's ``x-death`` headers.
If the process dies between the confirmed republish and the ack, the message is
delivered once more and may reach the dead-letter queue twice; replaying both is
harmless because the effect is tracked.

A body that is not an envelope is dead-lettered at once, with a log line naming its
message id; it never reaches a handler and never stops the service.

The queue, retry and dead-letter machinery is ``DeadLetteringEntrypoint``; the event handlers
(``EventEntrypoint``) and the inbox of messages from linked committees
(``xieshang.kernel.levels.link_inbox``) are its two kinds.

Operators list and replay dead letters with ``list_dead_letters`` and
``replay_dead_letters`` (the ``xieshang`` CLI wraps them). The RPC queues, when they are quorum
queues (``xieshang.kernel.rpc``), dead-letter the same way, into ``rpc-<service>.dead``: those
calls can be listed (the method is the routing key), never replayed.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, Iterable, Mapping

from amqp.exceptions import ChannelError, NotFound, PreconditionFailed
from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu import Connection, Exchange, Producer, Queue
from kombu.exceptions import OperationalError
from nameko.amqp.publish import get_connection, get_producer
from nameko.constants import (AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, DEFAULT_RETRY_POLICY,
                              HEADER_PREFIX, LOGIN_METHOD_CONFIG_KEY, PERSISTENT)
from nameko.containers import WorkerContext
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import DependencyProvider, Entrypoint
from nameko.messaging import QueueConsumer
from nameko.rpc import RPC_QUEUE_TEMPLATE
from nameko.standalone.events import get_event_exchange
from nameko.utils import sanitize_url

from .contracts import contract_of
from .envelope import Envelope, EnvelopeError
from .store.port import Tracking

_log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "xieshang.dead-letters"

# Headers we put on a message we dead-letter ourselves (never event data).
ERROR_HEADER = "x-xieshang-error"
REASON_HEADER = "x-xieshang-reason"
DELIVERIES_HEADER = "x-xieshang-deliveries"
CONSUMER_HEADER = "x-xieshang-consumer"
DEAD_AT_HEADER = "x-xieshang-dead-at"
ROUTING_KEY_HEADER = "x-xieshang-routing-key"
REPLAYS_HEADER = "x-xieshang-replays"

REASON_HANDLER_FAILED = "handler_failed"
REASON_MALFORMED = "malformed"
REASON_REFUSED = "refused"  # the handler's error says another delivery would not help

# Broker headers that describe one trip through a queue; a replayed message starts afresh.
_TRIP_HEADERS = ("x-delivery-count", "x-death", "x-first-death-reason", "x-first-death-queue",
                 "x-first-death-exchange", "x-last-death-reason", "x-last-death-queue",
                 "x-last-death-exchange", ERROR_HEADER, REASON_HEADER, DELIVERIES_HEADER,
                 CONSUMER_HEADER, DEAD_AT_HEADER)

MAX_ERROR_LENGTH = 500


class ConsumerSetupError(RuntimeError):
    """The broker refused the consumer's queues (e.g. a queue exists with other arguments)."""


class DeadLetterError(RuntimeError):
    """A dead-letter operation cannot be done (e.g. the queue does not exist)."""


# -- names and topology -------------------------------------------------------

def consumer_name(service: str, method: str) -> str:
    """The name an effect is tracked under: ``service.method``."""
    return f"{service}.{method}"


def event_queue_name(source_service: str, event_type: str, service: str, method: str) -> str:
    """The queue of one handler (nameko's service-pool naming)."""
    return f"evt-{source_service}-{event_type}--{service}.{method}"


def dead_letter_queue_name(queue: str) -> str:
    return f"{queue}.dead"


def dead_letter_exchange() -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)


def dead_letter_queue(queue: str) -> Queue:
    """The durable (classic) queue holding ``queue``'s dead letters.

    Classic on purpose: listing re-queues messages, which a quorum queue would count as
    failed deliveries.
    """
    return Queue(dead_letter_queue_name(queue), exchange=dead_letter_exchange(), routing_key=queue,
                 durable=True)


def event_queue(source_service: str, event_type: str, queue: str, max_deliveries: int,
                config: Mapping[str, Any] | None = None) -> Queue:
    """The durable quorum queue of one handler, bound to ``source_service``'s events exchange.

    Everything that declares this queue must pass the same arguments, or the broker refuses.
    """
    # The broker dead-letters after max_deliveries + 1 deliveries: one more than the entrypoint
    # allows, so it only steps in when the entrypoint never reached a verdict (see the module
    # docstring).
    return Queue(
        queue, exchange=get_event_exchange(source_service, config or {}), routing_key=event_type,
        durable=True, auto_delete=False, exclusive=False,
        queue_arguments=quorum_queue_arguments(queue, max_deliveries))


def quorum_queue_arguments(queue: str, delivery_limit: int) -> dict[str, Any]:
    """The arguments of a durable quorum queue that the broker dead-letters into
    ``dead_letter_queue(queue)`` once a message was returned to it more than ``delivery_limit``
    times (``delivery_limit + 1`` deliveries in all). The event queues and, when configured,
    the RPC queues (``xieshang.kernel.rpc``) are declared with them."""
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        "x-dead-letter-routing-key": queue,
        # Broker-side dead-lettering must not lose messages either (at-least-once needs
        # reject-publish; no length limit is set, so nothing is ever rejected for it).
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


# -- tracking helpers -----------------------------------------------------------

def effect_tracking(consumer: str | WorkerContext, envelope: Envelope) -> Tracking:
    """The ``Tracking`` to pass to the store's ``append`` when handling ``envelope``.

    ``consumer`` is a worker context (inside a handler) or a ``service.method`` name.
    """
    if isinstance(consumer, WorkerContext):
        consumer = consumer_name(consumer.service_name, consumer.entrypoint.method_name)
    return Tracking(consumer=consumer, event_id=envelope.event_id, position=envelope.position)


class EffectTracking(DependencyProvider):
    """Injects ``tracking(envelope) -> Tracking`` for the running handler."""

    def get_dependency(self, worker_ctx: WorkerContext) -> Callable[[Envelope], Tracking]:
        return partial(effect_tracking, worker_ctx)


# -- the entrypoint -----------------------------------------------------------------

class EventConsumer(QueueConsumer):
    """nameko's queue consumer, handing over undecoded messages.

    kombu would decode a JSON body before we see it and raise inside the consume loop on a
    body it cannot decode, which kills the container; we parse the bytes ourselves.
    """

    def get_consumers(self, consumer_cls, channel):  # noqa: ANN001 - kombu callback
        for provider in self._providers:
            consumer = consumer_cls(queues=[provider.queue], accept=None,
                                    on_message=partial(self._on_raw_message, provider))
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()

    def _on_raw_message(self, provider, message) -> None:  # noqa: ANN001
        self.handle_message(provider, message.body, message)

    def reject_message(self, message) -> None:  # noqa: ANN001
        if message.channel.connection:
            try:
                message.reject(requeue=False)
            except AmqpConnectionError:  # pragma: no cover - the broker reclaims it anyway
                pass


class DeadLetteringEntrypoint(Entrypoint):
    """What every entrypoint on one of our durable quorum queues shares: its queue and the
    queue's dead-letter queue declared at start, undecoded messages handed over one by one
    (``_handle``, of the subclass), a handler that raises retried up to ``max_deliveries``
    deliveries and then dead-lettered with the error, messages refused at once dead-lettered
    with a reason (``_dead_letter_now``), and the optional pre-check whether an effect was
    recorded already.

    A subclass sets ``consumer`` (its tracking name), ``queue_name`` and ``queue`` in its
    ``setup`` and then calls ``_start_consuming``. ``outcomes`` counts what happened to each
    message once it was settled, for monitoring and tests.
    """

    queue_consumer = EventConsumer()

    consumer: str
    queue_name: str
    queue: Queue
    # Errors of the handler that another delivery cannot cure: dead-lettered at once
    # (reason ``refused``) instead of retried.
    refused_at_once: tuple[type[BaseException], ...] = ()

    def __init__(self, *, max_deliveries: int = 5, precheck: bool = True, **kwargs: Any):
        if max_deliveries < 1:
            raise ValueError(f"max_deliveries must be at least 1, not {max_deliveries}")
        self.max_deliveries = max_deliveries
        self.precheck = precheck
        self.outcomes: Counter[str] = Counter()
        self._is_processed: Callable[[str, str], bool] | None = None
        super().__init__(**kwargs)

    # -- lifecycle ----------------------------------------------------------
    def _start_consuming(self) -> None:
        """Find the pre-check, declare the queues and register with the queue consumer."""
        if self.precheck:
            self._is_processed = _find_processed_lookup(self.container)
        self._declare_topology()
        self.queue_consumer.register_provider(self)

    def stop(self) -> None:
        self.queue_consumer.unregister_provider(self)

    @property
    def _amqp(self) -> dict[str, Any]:
        config = self.container.config
        return {"ssl": config.get(AMQP_SSL_CONFIG_KEY),
                "login_method": config.get(LOGIN_METHOD_CONFIG_KEY)}

    def _declare_topology(self) -> None:
        uri = self.container.config[AMQP_URI_CONFIG_KEY]
        with get_connection(uri, **self._amqp) as conn:
            channel = conn.channel()
            try:
                self._declare(channel)
            except PreconditionFailed as exc:
                raise ConsumerSetupError(self._conflict(exc)) from None
            finally:
                try:
                    channel.close()
                except Exception:  # the channel may already be closed by the error
                    pass

    def _declare(self, channel) -> None:  # noqa: ANN001
        """Declare what the entrypoint consumes from (its dead-letter queue first)."""
        dead_letter_queue(self.queue_name)(channel).declare()
        self.queue(channel).declare()

    def _conflict(self, exc: PreconditionFailed) -> str:
        return (f"queue {self.queue_name!r} exists with other arguments than a quorum queue "
                f"with x-delivery-limit={self.max_deliveries} ({exc.reply_text}); it must be "
                "drained and deleted first")

    # -- messages ------------------------------------------------------------
    def handle_message(self, body: bytes, message) -> None:  # noqa: ANN001
        """Runs in a managed thread per message; an exception here would kill the container."""
        try:
            self._handle(body, message)
        except Exception:
            _log.exception("%s: unexpected error with message %s", self.consumer,
                           _message_id(message))
            if not message.acknowledged:
                self.queue_consumer.requeue_message(message)
                self.outcomes["retried"] += 1

    def _handle(self, body: bytes, message) -> None:  # noqa: ANN001
        raise NotImplementedError

    def _earlier_deliveries(self, message) -> int:  # noqa: ANN001
        """How often this queue delivered the message before (the quorum queue counts)."""
        return _delivery_count(message)

    def _spawn(self, message, subject: Any) -> None:  # noqa: ANN001
        """Run the handler on ``subject`` (what the message decoded to)."""
        try:
            self.container.spawn_worker(
                self, (subject,), {}, context_data=_context_data(message),
                handle_result=partial(self.handle_result, message, subject))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def _dead_letter_now(self, message, exc: BaseException, reason: str) -> None:  # noqa: ANN001
        """Dead-letter a message refused before any handler ran (``reason`` says why)."""
        if not self._dead_letter(message, exc, reason):
            self.queue_consumer.reject_message(message)  # the broker dead-letters it

    def _already_processed(self, event_id: str) -> bool:
        if self._is_processed is None:
            return False
        try:
            return bool(self._is_processed(self.consumer, event_id))
        except Exception as exc:  # only an optimisation: let the handler and its tracking decide
            _log.warning("%s: could not check whether event %s was processed (%s: %s)",
                         self.consumer, event_id, type(exc).__name__, exc)
            return False

    def _settle(self, message, what: str, result: Any, exc_info: Any) -> tuple[Any, Any]:  # noqa: ANN001
        """Ack a handled message; retry a failed one, or dead-letter it on its last delivery.
        ``what`` names the message in log lines (ids only)."""
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            self.outcomes["handled"] += 1
            return result, exc_info
        exc = exc_info[1]
        attempt = self._earlier_deliveries(message) + 1
        if isinstance(exc, self.refused_at_once):
            _log.error("%s: %s refused: %s; dead-lettering to %s", self.consumer, what,
                       describe_error(exc), dead_letter_queue_name(self.queue_name))
            self._dead_letter_now(message, exc, REASON_REFUSED)
            self.outcomes[REASON_REFUSED] += 1
            return result, exc_info
        if attempt < self.max_deliveries:
            _log.warning("%s: %s failed on delivery %d of %d: %s; will retry",
                         self.consumer, what, attempt, self.max_deliveries, describe_error(exc))
            self.queue_consumer.requeue_message(message)
            self.outcomes["retried"] += 1
        else:
            _log.error("%s: %s failed on delivery %d of %d: %s; dead-lettering to %s",
                       self.consumer, what, attempt, self.max_deliveries, describe_error(exc),
                       dead_letter_queue_name(self.queue_name))
            if self._dead_letter(message, exc, REASON_HANDLER_FAILED, attempt):
                self.outcomes["dead_lettered"] += 1
            else:
                # The broker dead-letters it once its own delivery limit is passed.
                self.queue_consumer.requeue_message(message)
                self.outcomes["retried"] += 1
        return result, exc_info

    def _dead_letter(self, message, exc: BaseException, reason: str,  # noqa: ANN001
                     deliveries: int | None = None) -> bool:
        """Republish ``message`` to our dead-letter queue with the error, then ack it.

        Returns False (and leaves the message unsettled) if the republish is not confirmed.
        """
        props = message.properties
        headers = {k: v for k, v in (message.headers or {}).items() if k != "x-delivery-count"}
        headers.update({
            ERROR_HEADER: describe_error(exc),
            REASON_HEADER: reason,
            DELIVERIES_HEADER: deliveries if deliveries is not None else self._earlier_deliveries(message) + 1,
            CONSUMER_HEADER: self.consumer,
            DEAD_AT_HEADER: datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
        # A replayed message arrives by its queue's name: keep the event's own routing key. One
        # that came by an exchange has its routing key there, whatever its headers claim.
        info = message.delivery_info or {}
        if info.get("exchange"):
            headers[ROUTING_KEY_HEADER] = info.get("routing_key", "")
        else:
            headers.setdefault(ROUTING_KEY_HEADER, info.get("routing_key", ""))
        try:
            with get_producer(self.container.config[AMQP_URI_CONFIG_KEY], True,
                              **self._amqp) as producer:
                producer.publish(
                    message.body, exchange=DEAD_LETTER_EXCHANGE, routing_key=self.queue_name,
                    mandatory=True, headers=headers, delivery_mode=PERSISTENT,
                    retry=True, retry_policy=DEFAULT_RETRY_POLICY,
                    **_copied_properties(props))
        except Exception as err:
            _log.error("%s: could not dead-letter message %s (%s); leaving it to the broker",
                       self.consumer, _message_id(message), describe_error(err))
            return False
        self.queue_consumer.ack_message(message)
        return True


class EventEntrypoint(DeadLetteringEntrypoint):
    """Calls the decorated method with each ``Envelope`` of ``source_service``'s ``event_type``.

    ``outcomes`` counts what happened to each message once it was settled (handled,
    skipped, retried, dead_lettered, malformed), for monitoring and tests.
    """

    def __init__(self, source_service: str, event_type: str, *, max_deliveries: int = 5,
                 precheck: bool = True, **kwargs: Any):
        self.source_service = source_service
        self.event_type = event_type
        super().__init__(max_deliveries=max_deliveries, precheck=precheck, **kwargs)

    # -- lifecycle ----------------------------------------------------------
    def setup(self) -> None:
        service = self.container.service_name
        self.consumer = consumer_name(service, self.method_name)
        self.queue_name = event_queue_name(self.source_service, self.event_type, service,
                                           self.method_name)
        self.queue = event_queue(self.source_service, self.event_type, self.queue_name,
                                 self.max_deliveries, self.container.config)
        # Read the producer's contract: a subscription to an event it does not publish (a
        # rename) stops the service at start, instead of silently never firing.
        self.registry = contract_of(self.source_service)
        if self.registry is not None and self.event_type not in self.registry:
            raise ConsumerSetupError(
                f"{self.consumer} subscribes to {self.source_service}.{self.event_type}, which "
                f"{self.source_service} does not publish; it publishes {self.registry.names()}")
        self._start_consuming()

    def _conflict(self, exc: PreconditionFailed) -> str:
        return (f"queue {self.queue_name!r} exists with other arguments than a quorum queue "
                f"with x-delivery-limit={self.max_deliveries} ({exc.reply_text}); a queue "
                "declared by nameko's own event_handler or with another max_deliveries must "
                "be drained and deleted first")

    # -- messages ------------------------------------------------------------
    def _handle(self, body: bytes, message) -> None:  # noqa: ANN001
        try:
            envelope = self._decoded(Envelope.from_json(body))
        except EnvelopeError as exc:
            _log.error("%s: message %s is not an event envelope (%s); dead-lettering it",
                       self.consumer, _message_id(message), exc)
            self._dead_letter_now(message, exc, REASON_MALFORMED)
            self.outcomes["malformed"] += 1
            return
        if self._already_processed(envelope.event_id):
            self.queue_consumer.ack_message(message)
            self.outcomes["skipped"] += 1
            return
        self._spawn(message, envelope)

    def _decoded(self, envelope: Envelope) -> Envelope:
        """The envelope with its data decoded through the producer's registry (upcast)."""
        if self.registry is None:
            return envelope
        try:
            return self.registry.upcast(envelope)
        except Exception as exc:  # not the contract's shape: as unreadable as a broken body
            raise EnvelopeError(f"{envelope.type} v{envelope.schema_version} does not decode "
                                f"through {self.source_service}'s contract: {exc!r}") from None

    def handle_result(self, message, envelope: Envelope, worker_ctx: WorkerContext,  # noqa: ANN001
                      result: Any = None, exc_info: Any = None) -> tuple[Any, Any]:
        return self._settle(message, f"event {envelope.event_id} ({envelope.type})", result,
                            exc_info)


def handle_event(source_service: str, event_type: str, *, max_deliveries: int = 5,
                 precheck: bool = True, **kwargs: Any):
    """Decorate a service method to handle ``event_type`` events of ``source_service``.

    The method receives an ``Envelope``. It must make its effect an append to the service's
    own store with ``tracking=effect_tracking(...)``; then redeliveries change nothing.
    A handler that raises is retried up to ``max_deliveries`` deliveries in all, then
    dead-lettered. With ``precheck`` (the default), a dependency provider of the service
    that has a method ``is_processed(consumer, event_id)`` is asked first, and events it
    reports as processed are acked without running the handler.
    """
    return EventEntrypoint.decorator(source_service, event_type, max_deliveries=max_deliveries,
                                     precheck=precheck, **kwargs)


def _find_processed_lookup(container) -> Callable[[str, str], bool] | None:  # noqa: ANN001
    for provider in container.dependencies:
        lookup = getattr(provider, "is_processed", None)
        if callable(lookup):
            return lookup
    return None


def _context_data(message) -> dict[str, Any]:  # noqa: ANN001
    # Only nameko's own context headers: broker headers (x-death, ...) must not travel on
    # with calls the handler makes.
    prefix = f"{HEADER_PREFIX}."
    return {k[len(prefix):]: v for k, v in (message.headers or {}).items() if k.startswith(prefix)}


def _delivery_count(message) -> int:  # noqa: ANN001
    """Earlier deliveries of this message, as counted by the quorum queue."""
    try:
        return int((message.headers or {}).get("x-delivery-count") or 0)
    except (TypeError, ValueError):
        return 0


def _message_id(message) -> str:  # noqa: ANN001
    return str(message.properties.get("message_id") or
               f"<no message id, delivery tag {message.delivery_tag}>")


def _copied_properties(props: Mapping[str, Any]) -> dict[str, Any]:
    out = {"content_type": props.get("content_type") or "application/octet-stream",
           "content_encoding": props.get("content_encoding") or "binary"}
    for key in ("message_id", "type", "correlation_id", "timestamp", "app_id"):
        if props.get(key) is not None:
            out[key] = props[key]
    return out


def describe_error(exc: BaseException) -> str:
    """``module.Type: message``, cut to a bounded length (no traceback)."""
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    text = f"{name}: {exc}"
    return text if len(text) <= MAX_ERROR_LENGTH else text[:MAX_ERROR_LENGTH - 1] + "…"


# -- operator tools -------------------------------------------------------------------

def _source_queue(queue: str) -> str:
    suffix = ".dead"
    return queue[:-len(suffix)] if queue.endswith(suffix) else queue


def _dead_letter_count(channel, queue: str, amqp_uri: str) -> int:  # noqa: ANN001
    try:
        _, count, _ = channel.queue_declare(queue=dead_letter_queue_name(queue), passive=True)
    except NotFound:
        raise DeadLetterError(
            f"no dead-letter queue {dead_letter_queue_name(queue)!r} on {sanitize_url(amqp_uri)}: "
            "is the queue name right, and has its consuming service started once?") from None
    return int(count)


def _fetch(channel, queue: str, count: int) -> Iterable[Any]:  # noqa: ANN001
    """Up to ``count`` dead letters, each held (unacked) by ``channel`` until settled."""
    dead = Queue(dead_letter_queue_name(queue), channel=channel, no_declare=True)
    for _ in range(count):
        message = dead.get(no_ack=False, accept=None)
        if message is None:
            return
        yield message


def describe_dead_letter(message) -> dict[str, Any]:  # noqa: ANN001
    """What an operator needs to know about one dead letter (no event data)."""
    headers = message.headers or {}
    props = message.properties
    info: dict[str, Any] = {
        "message_id": props.get("message_id"),
        # An RPC call has no message id; its correlation id is what the caller's logs show.
        "correlation_id": props.get("correlation_id"),
        "event_id": None, "event_type": None, "stream": None, "position": None,
        "deliveries": headers.get(DELIVERIES_HEADER),
        "error": headers.get(ERROR_HEADER),
        "reason": headers.get(REASON_HEADER) or headers.get("x-first-death-reason"),
        "first_death_reason": headers.get("x-first-death-reason"),
        "consumer": headers.get(CONSUMER_HEADER),
        "dead_at": headers.get(DEAD_AT_HEADER),
        "replays": headers.get(REPLAYS_HEADER, 0),
    }
    deaths = headers.get("x-death") or []
    if deaths and info["dead_at"] is None:
        when = deaths[0].get("time")
        info["dead_at"] = when.isoformat() if isinstance(when, datetime) else when
    try:
        envelope = Envelope.from_json(message.body)
    except EnvelopeError:
        keys = deaths[0].get("routing-keys") if deaths else None
        info["event_type"] = headers.get(ROUTING_KEY_HEADER) or (keys[0] if keys else None)
    else:
        info.update(event_id=envelope.event_id, event_type=envelope.type,
                    stream=envelope.stream, position=envelope.position)
    return info


def list_dead_letters(amqp_uri: str, queue: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """Describe the dead letters of handler queue ``queue`` (oldest first) without consuming them.

    Each message is fetched unacked and returned to its place afterwards.
    """
    queue = _source_queue(queue)
    with Connection(amqp_uri) as conn:
        channel = conn.channel()
        count = _dead_letter_count(channel, queue, amqp_uri)
        if limit is not None:
            count = min(count, limit)
        held = []
        try:
            for message in _fetch(channel, queue, count):
                held.append(message)
            return [describe_dead_letter(m) for m in held]
        finally:
            for message in held:
                message.reject(requeue=True)
            channel.close()


def replay_dead_letters(amqp_uri: str, queue: str, message_ids: Iterable[str] | None = None) -> int:
    """Move dead letters of ``queue`` back to it (all, or those with the given message ids).

    Each is republished to ``queue`` through the default exchange (so no other consumer
    sees it again) with publisher confirms, and only then removed from the dead-letter
    queue. Returns how many were moved.
    """
    queue = _source_queue(queue)
    if queue.startswith(RPC_QUEUE_TEMPLATE.format("")):
        # A call is answered to a caller who waits seconds; by now it has timed out (told to try
        # again), so sending the call again would only run it with nobody to answer.
        raise DeadLetterError(
            f"{queue!r} is an RPC queue: its dead letters are calls whose callers timed out long "
            "ago, and are not replayed (list them to see which methods failed; the callers retry)")
    wanted = None if message_ids is None else set(message_ids)
    moved = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        count = _dead_letter_count(channel, queue, amqp_uri)
        publish_channel = conn.channel()
        try:
            publish_channel.queue_declare(queue=queue, passive=True)
        except NotFound:
            raise DeadLetterError(
                f"queue {queue!r} does not exist on {sanitize_url(amqp_uri)}: start its consuming "
                "service once to declare it, then replay") from None
        producer = Producer(publish_channel)
        kept = []
        try:
            for message in _fetch(channel, queue, count):
                if wanted is not None and message.properties.get("message_id") not in wanted:
                    kept.append(message)
                    continue
                headers = {k: v for k, v in (message.headers or {}).items()
                           if k not in _TRIP_HEADERS}
                deaths = (message.headers or {}).get("x-death") or []
                if ROUTING_KEY_HEADER not in headers and deaths and deaths[0].get("routing-keys"):
                    # dead-lettered by the broker: the routing key it came by is in x-death
                    headers[ROUTING_KEY_HEADER] = deaths[0]["routing-keys"][0]
                headers[REPLAYS_HEADER] = int(headers.get(REPLAYS_HEADER) or 0) + 1
                try:
                    producer.publish(message.body, exchange="", routing_key=queue, mandatory=True,
                                     headers=headers, delivery_mode=PERSISTENT,
                                     **_copied_properties(message.properties))
                except (ChannelError, OperationalError) as exc:
                    kept.append(message)
                    raise DeadLetterError(
                        f"could not republish dead letter {_message_id(message)} to {queue!r}: "
                        f"{exc}; it stays in the dead-letter queue") from exc
                message.ack()
                moved += 1
        finally:
            for message in kept:
                try:
                    message.reject(requeue=True)
                except Exception:  # a closed channel returns it to the queue anyway
                    pass
            for ch in (publish_channel, channel):
                try:
                    ch.close()
                except Exception:
                    pass
    _log.info("replayed %d dead letter(s) to %s", moved, queue)
    return moved
