"""Consuming services, a stand-in relay and a store provider for the consumer tests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import eventlet
from kombu import Connection, Producer
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange

from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.envelope import SYSTEM_ACTOR, Deployment, Envelope, NewEvent
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

STORE_PATH_KEY = "CONSUMER_TEST_DB"
DEPLOYMENT = Deployment("640200", "city")


class SqliteStore(DependencyProvider):
    """The service's own event store: a SqlEventStore on the SQLite file ``config[CONSUMER_TEST_DB]``.

    A stand-in for the real provider; like it, it answers ``is_processed`` for the
    entrypoint's pre-check.
    """

    def setup(self) -> None:
        self.store = SqlEventStore(sqlite_engine(self.container.config[STORE_PATH_KEY]), DEPLOYMENT)

    def stop(self) -> None:
        self.store.close()

    def get_dependency(self, worker_ctx) -> SqlEventStore:  # noqa: ANN001
        return self.store

    def is_processed(self, consumer: str, event_id: str) -> bool:
        return self.store.is_processed(consumer, event_id)


@dataclass
class Behaviour:
    """How a test handler behaves; tests change it while the service runs."""

    fail_after_effect: int = 0  # raise this many times after the effect was appended
    always_fail: bool = False
    calls: int = 0


def make_consumer_service(name: str, source: str, event_type: str, behaviour: Behaviour,
                          **handler_options) -> type:
    """A service whose handler records one ``Seen`` event per upstream event, tracked."""

    class Consumer:
        store = SqliteStore()
        tracking = EffectTracking()

        @handle_event(source, event_type, **handler_options)
        def record(self, envelope: Envelope) -> None:
            behaviour.calls += 1
            if behaviour.always_fail:
                raise RuntimeError("the handler is broken")
            self.store.append(
                f"seen-{envelope.event_id}", None,
                [NewEvent("Seen", {"upstream": envelope.event_id}, SYSTEM_ACTOR,
                          causation_id=envelope.event_id, correlation_id=envelope.correlation_id)],
                tracking=self.tracking(envelope))
            if behaviour.fail_after_effect > 0:
                behaviour.fail_after_effect -= 1
                raise RuntimeError("failed after the effect was recorded")

    Consumer.name = name
    return Consumer


class Relay:
    """Publishes envelopes like the real relay: ``{source}.events``, key = type, id = event id."""

    def __init__(self, amqp_uri: str, source: str):
        self.source = source
        self.upstream = MemoryEventStore(DEPLOYMENT)
        self.exchange = get_event_exchange(source, {})
        self.connection = Connection(amqp_uri)
        self.producer = Producer(self.connection.channel(), exchange=self.exchange)
        self.exchange(self.producer.channel).declare()

    def record(self, n: int, event_type: str) -> list[Envelope]:
        """Append ``n`` events to the upstream store (not published yet)."""
        return [self.upstream.append(f"case-{i}", None,
                                     [NewEvent(event_type, {"i": i}, SYSTEM_ACTOR)])[0]
                for i in range(n)]

    def publish(self, envelope: Envelope) -> None:
        self.publish_raw(envelope.to_json(), envelope.type, envelope.event_id)

    def publish_raw(self, body: bytes, routing_key: str, message_id: str) -> None:
        self.producer.publish(body, routing_key=routing_key, content_type="application/json",
                              content_encoding="utf-8", message_id=message_id, delivery_mode=2)

    def close(self) -> None:
        self.connection.release()


def wait_until(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> float:
    """Wait (yielding to other green threads) until ``condition()``; returns seconds waited."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        eventlet.sleep(0.01)
    return time.monotonic() - start
