"""The services' RPC entrypoint: nameko's ``@rpc``, with its queue declared as configured.

nameko 2.14 gives each service one durable queue, ``rpc-<service>``, bound to the ``nameko-rpc``
topic exchange with ``<service>.*``; every instance of the service consumes it (competing
consumers) and answers to the caller's reply queue. ``rpc`` here is the same entrypoint, only the
queue is declared from the configuration (``config.RpcQueues``):

* ``XIESHANG_RPC_QUEUE_TYPE=classic`` (the default): exactly nameko's classic queue;
* ``XIESHANG_RPC_QUEUE_TYPE=quorum``: a durable quorum queue (replicated on a cluster) with
  ``x-delivery-limit`` = ``XIESHANG_RPC_DELIVERY_LIMIT`` (default 3) that the broker dead-letters
  into ``rpc-<service>.dead`` through the ``xieshang.dead-letters`` exchange, as the event
  queues (``consumer.quorum_queue_arguments``).

What the limit is for. nameko acks a call once its worker has finished, with a result or with an
error (an error is an answer too). A call goes back to the queue only when the instance holding
it never finished it: the process died (killed, out of memory, a crash in a library), lost its
broker connection, or was killed before the worker started. A call that kills whoever takes it (a
poison call) would come back for ever on a classic queue and take the service's instances down one
after another. On the quorum queue it is dead-lettered once it has been delivered
``delivery_limit + 1`` times without an answer, and the instances live on. Its caller has long timed out by then (the gateway answers 503 "try again"
after ``XIESHANG_RPC_TIMEOUT``); the dead letter keeps the method (its routing key) and the
broker's reason, for the operator (``consumer.list_dead_letters("rpc-<service>")``). Dead-lettered
calls are not replayed: nobody waits for their answer. A call delivered again may have had its
effect already (the instance died after recording, before the answer), as with any retry.

Each redelivered call is logged (a warning naming the method and the delivery), so that the calls
that keep killing instances can be found before they are dead-lettered.

Every instance of a service must have the same setting: the broker refuses to declare a queue
with arguments other than it has (PRECONDITION_FAILED), and nothing changes a queue's type in
place. The entrypoint declares the queue itself at start, and a mismatch stops the service with
``ConsumerSetupError`` saying how to migrate (docs/operations.md, "RPC queues").

The replies stay on nameko's reply queues (``rpc.reply-<service>-<uuid>``, one per caller
instance, expiring when unused): per-instance, short-lived, they are classic by design.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, Mapping

from amqp.exceptions import PreconditionFailed
from kombu import Queue
from nameko.amqp.publish import get_connection
from nameko.amqp.publish import Publisher
from nameko.constants import (AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, DEFAULT_SERIALIZER,
                              LOGIN_METHOD_CONFIG_KEY, SERIALIZER_CONFIG_KEY)
from nameko.rpc import RPC_QUEUE_TEMPLATE, Responder, Rpc as NamekoRpc, RpcConsumer, get_rpc_exchange
from nameko.utils import sanitize_url

from .config import RPC_DELIVERY_LIMIT_KEY, RPC_QUEUE_TYPE_KEY, RpcQueues
from .consumer import ConsumerSetupError, dead_letter_queue, quorum_queue_arguments

_log = logging.getLogger(__name__)


def rpc_queue_name(service: str) -> str:
    return RPC_QUEUE_TEMPLATE.format(service)


def rpc_queue(service: str, settings: RpcQueues, config: Mapping[str, Any] | None = None) -> Queue:
    """The RPC queue of ``service`` as ``settings`` declare it (classic: nameko's own)."""
    name = rpc_queue_name(service)
    arguments = quorum_queue_arguments(name, settings.delivery_limit) if settings.quorum else None
    return Queue(name, exchange=get_rpc_exchange(config or {}), routing_key=f"{service}.*",
                 durable=True, queue_arguments=arguments)


def declare_rpc_queue(config: Mapping[str, Any], service: str, settings: RpcQueues) -> Queue:
    """Declare ``service``'s RPC queue (and, for quorum, its dead-letter queue) on the broker of
    ``config``; ``ConsumerSetupError`` with the way to migrate if it exists otherwise."""
    queue = rpc_queue(service, settings, config)
    uri = config[AMQP_URI_CONFIG_KEY]
    with get_connection(uri, ssl=config.get(AMQP_SSL_CONFIG_KEY),
                        login_method=config.get(LOGIN_METHOD_CONFIG_KEY)) as conn:
        channel = conn.channel()
        try:
            if settings.quorum:
                dead_letter_queue(queue.name)(channel).declare()
            queue(channel).declare()
        except PreconditionFailed as exc:
            raise ConsumerSetupError(_mismatch(service, queue.name, settings, uri, exc.reply_text)) from None
        finally:
            try:
                channel.close()
            except Exception:  # the broker closes the channel itself after a refusal
                pass
    return queue


def _mismatch(service: str, queue: str, settings: RpcQueues, uri: str, refusal: str) -> str:
    wanted = (f"{RPC_QUEUE_TYPE_KEY}=quorum, {RPC_DELIVERY_LIMIT_KEY}={settings.delivery_limit}"
              if settings.quorum else f"{RPC_QUEUE_TYPE_KEY}=classic")
    return (f"the RPC queue {queue!r} on {sanitize_url(uri)} exists with other arguments than "
            f"{wanted} asks for ({refusal}). The broker changes no queue's type or arguments in "
            f"place: either give this instance the setting the other instances of {service} have, "
            f"or migrate: stop every instance of {service}, delete the queue (rabbitmqctl "
            f"delete_queue {queue} -p <vhost>, or the management UI; the calls left in it have "
            "already timed out for their callers), then start the instances, all with the new "
            "setting. Meanwhile calls to the service fail at once (UnknownService). See "
            "docs/operations.md, \"RPC queues\".")


class RpcQueueConsumer(RpcConsumer):
    """nameko's RpcConsumer, declaring ``rpc-<service>`` as configured.

    ``outcomes`` counts the calls this instance took (``delivered``) and those among them that
    had been delivered before (``redelivered``), for monitoring and tests.
    """

    def __init__(self) -> None:
        super().__init__()
        self.outcomes: Counter[str] = Counter()

    def setup(self) -> None:
        if self.queue is not None:
            return
        self.settings = RpcQueues.load(self.container.config)
        self.queue = declare_rpc_queue(self.container.config, self.container.service_name,
                                       self.settings)
        self.queue_consumer.register_provider(self)
        self._registered = True

    def handle_message(self, body: Any, message: Any) -> None:
        self.outcomes["delivered"] += 1
        if message.delivery_info.get("redelivered"):
            self.outcomes["redelivered"] += 1
            self._log_redelivery(message)
        super().handle_message(body, message)

    def _log_redelivery(self, message: Any) -> None:
        method = message.delivery_info.get("routing_key")
        if self.settings.quorum:
            returns = int((message.headers or {}).get("x-delivery-count") or 0)
            left = (f"delivery {returns + 1} of at most {self.settings.delivery_limit + 1}, then "
                    f"dead-lettered to {dead_letter_queue(self.queue.name).name}")
        else:
            left = "a classic queue delivers it again for as long as it is not answered"
        _log.warning("call %s (correlation id %s) is delivered again (%s): an instance that "
                     "held it died or lost its broker connection before answering; it may have "
                     "had its effect already", method, message.properties.get("correlation_id"),
                     left)


    def handle_result(self, message: Any, result: Any, exc_info: Any) -> tuple[Any, Any]:
        # nameko's own, with answers sent by _Answer (no publisher confirm).
        config = self.container.config
        answer = _Answer(config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
                         config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
                         ssl=config.get(AMQP_SSL_CONFIG_KEY),
                         login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = answer.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class _UnconfirmedPublisher(Publisher):
    use_confirms = False


class _Answer(Responder):
    """An RPC answer sent without waiting for the broker's publisher confirm.

    A confirm per answer was a fifth of a busy service's time (a round trip to the broker before
    the worker is free; py-spy on the proposals service, docs/performance.md). An answer the
    broker loses leaves its caller to time out, which a confirm would not have prevented either
    (the caller is gone or waits the same): the command's events are in the store already, a
    retry meets the recorded state, and through the gateway the same idempotency key gets the
    recorded answer. Events are still
    published with confirms (the outbox relay): those must never be lost."""

    publisher_cls = _UnconfirmedPublisher


class Rpc(NamekoRpc):
    rpc_consumer = RpcQueueConsumer()


rpc = Rpc.decorator
