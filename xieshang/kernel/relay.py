"""The relay: publishes committed events from the store (the outbox) to RabbitMQ.

The store is the only source: nothing publishes in the code path that appends. A relay
reads the log by position after its checkpoint, publishes each event to the service's
event exchange (nameko's convention: a durable topic exchange ``<service>.events``, the
routing key is the event type), waits until the broker has confirmed every message of
the batch (publisher confirms), and only then moves its checkpoint.

Delivery is at least once: after any failure (broker unreachable, connection lost, a
message nacked or not confirmed in time) the checkpoint stays where it was and the relay
republishes from it, so consumers may see an event twice and deduplicate by event id
(the AMQP ``message_id``). Per store, events leave in position order.

Only the holder of the store lease ``relay:<exchange>`` publishes, so several instances
of a service can each run a relay and one of them does the work.

A relay may publish other messages than the raw envelopes: given ``messages``, a function
of an envelope to the ``Outgoing`` messages it makes (none, one or several), it publishes
those instead, with the same guarantees (position order, confirms awaited, the checkpoint
moved only past a confirmed batch; a batch that makes no message just moves it). Such a
relay has a name of its own (``name``, or the default ``relay:<exchange>`` of its own
exchange), so it keeps its own checkpoint and lease beside the service's event relay
(``xieshang.kernel.levels.LinkOutbox`` publishes link messages so).

Running one::

    relay = Relay(store, amqp_uri, service="proposals")
    store.subscribe(relay.wake)          # commits in this process go out at once
    stop = threading.Event()
    threading.Thread(target=relay.run, args=(stop,), daemon=True).start()
    ...
    stop.set()
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, Sequence

import kombu

from .envelope import Envelope, utcnow
from .store.port import EventStore

log = logging.getLogger(__name__)

PERSISTENT = 2
STOP_CHECK = 0.25  # seconds: how soon an idle loop notices its stop event


class RelayError(Exception):
    """The broker did not confirm a batch: it nacked a message, did not answer in time, or
    returned a mandatory message that no queue took."""


@dataclass(frozen=True)
class Outgoing:
    """One message a relay with ``messages`` publishes for an event: to the relay's exchange
    with ``routing_key``, the ``body`` as is, the AMQP ``message_id`` (what consumers
    deduplicate by) and ``headers``; persistent."""

    routing_key: str
    body: bytes
    message_id: str
    headers: Mapping[str, Any] = field(default_factory=dict)
    type: str | None = None
    content_type: str = "application/json"


class Relay:
    """Publishes a store's committed events to RabbitMQ, in position order, at least once.

    ``run_once`` publishes everything after the checkpoint (if this instance holds the
    lease) and raises on failure, with the checkpoint unmoved; ``run`` repeats it until
    stopped, and retries failures with backoff instead of raising.
    """

    def __init__(self, store: EventStore, amqp_uri: str, *, service: str,
                 exchange: str | None = None, batch: int = 500, holder: str | None = None,
                 lease_ttl: float = 10.0, clock: Callable[[], datetime] = utcnow,
                 poll_interval: float = 0.5, max_backoff: float = 5.0,
                 confirm_timeout: float = 30.0, connect_timeout: float = 5.0,
                 messages: Callable[[Envelope], Sequence[Outgoing]] | None = None,
                 name: str | None = None, declare: Callable[[Any], None] | None = None,
                 mandatory: bool = False):
        """``messages``: publish what it makes of each event instead of the envelope (see the
        module docstring); ``name``: the checkpoint and lease name (default
        ``relay:<exchange>``); ``declare(channel)``: called on every new connection after the
        exchange is declared, to declare what else the messages need (their queues);
        ``mandatory``: a message no queue takes fails the batch instead of being dropped by
        the broker."""
        if batch < 1:
            raise ValueError(f"batch must be at least 1, got {batch}")
        if lease_ttl <= 0 or poll_interval <= 0:
            raise ValueError("lease_ttl and poll_interval must be positive")
        self.store = store
        self.amqp_uri = amqp_uri
        self.service = service
        self.exchange_name = exchange or f"{service}.events"
        self.name = name or f"relay:{self.exchange_name}"
        self.messages = messages
        self.declare = declare
        self.mandatory = mandatory
        self.batch = batch
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_ttl = lease_ttl
        self.clock = clock
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.confirm_timeout = confirm_timeout
        self.connect_timeout = connect_timeout
        # What this instance has done, for health checks and tests.
        self.published = 0  # events past the checkpoint (for ``messages``: also those making none)
        self.sent = 0  # messages the broker confirmed (with ``messages``)
        self.failures = 0
        self.last_error: str | None = None
        self._wakeup = threading.Event()
        self._stop: Any = None
        self._leader = False
        self._lease_checked_at: datetime | None = None
        self._conn: kombu.Connection | None = None
        self._channel: Any = None
        self._producer: kombu.Producer | None = None
        self._confirms: _Confirms | None = None

    # -- driving ----------------------------------------------------------
    def wake(self, position: int | None = None) -> None:
        """Publish soon: a store listener (``store.subscribe(relay.wake)``) after a commit."""
        self._wakeup.set()

    @property
    def is_leader(self) -> bool:
        """Whether this instance held the lease when it last looked."""
        return self._leader

    def run_once(self) -> int:
        """Publish every event after the checkpoint; return how many were published.

        Returns 0 without publishing when another instance holds the lease. Raises when
        the broker or the store fails; the checkpoint then stays at the last confirmed batch.
        """
        total = 0
        try:
            while self._hold_lease() and not self._stopping():
                after = self.store.get_checkpoint(self.name)
                page = self.store.read_all(after, self.batch)
                if not page:
                    break
                self._publish(page)
                self._advance(page[-1].position)
                total += len(page)
                self.published += len(page)
        except BaseException:
            self._disconnect()
            raise
        return total

    def run(self, stop: Any = None) -> None:
        """Publish until ``stop`` (a ``threading.Event``-like object) is set.

        Never raises on a failure: it logs it (ids and positions only), disconnects, waits
        with exponential backoff and tries again from the checkpoint.
        """
        stop = stop if stop is not None else threading.Event()
        self._stop = stop
        streak = 0
        log.info("%s started as %s on %s", self.name, self.holder, self._broker())
        try:
            while not stop.is_set():
                self._wakeup.clear()
                try:
                    count = self.run_once()
                except Exception as exc:  # the loop must outlive any failure
                    streak += 1
                    self.failures += 1
                    self.last_error = type(exc).__name__
                    delay = self._backoff(streak)
                    log.warning(
                        "%s: publication failed (%s: %s); checkpoint stays at %s; "
                        "retry %d in %.1fs", self.name, type(exc).__name__, _short(exc),
                        self._checkpoint_or_unknown(), streak, delay)
                    stop.wait(delay)
                    continue
                if streak:
                    log.info("%s: publishing again after %d failed attempts; checkpoint at %s",
                             self.name, streak, self._checkpoint_or_unknown())
                    streak = 0
                if count:
                    log.debug("%s: published %d events", self.name, count)
                self._idle(stop)
        finally:
            self.close()
            log.info("%s stopped", self.name)

    def close(self) -> None:
        """Close the broker connection (the next publication reconnects)."""
        self._disconnect(graceful=True)

    # -- one batch --------------------------------------------------------
    def _publish(self, envelopes: Sequence[Envelope]) -> None:
        """Publish ``envelopes`` in order and return once the broker confirmed them all."""
        if self.messages is not None:
            self._publish_messages([m for env in envelopes for m in self.messages(env)])
            return
        self._connect()
        assert self._producer is not None and self._confirms is not None
        confirms = self._confirms
        tags = confirms.expect(len(envelopes))
        for env in envelopes:
            self._producer.publish(
                env.to_json(),
                routing_key=env.type,
                exchange=self.exchange_name,
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=PERSISTENT,
                message_id=env.event_id,
                type=env.type,
                app_id=self.service,
                headers=_headers(env),
                retry=False,
            )
        confirms.wait(self._conn, tags, self.confirm_timeout)

    def _publish_messages(self, outgoing: Sequence[Outgoing]) -> None:
        """Publish what ``messages`` made of a batch; nothing to publish needs no broker."""
        if not outgoing:
            return
        self._connect()
        assert self._producer is not None and self._confirms is not None
        confirms = self._confirms
        tags = confirms.expect(len(outgoing))
        for out in outgoing:
            self._producer.publish(
                out.body,
                routing_key=out.routing_key,
                exchange=self.exchange_name,
                content_type=out.content_type,
                content_encoding="utf-8",
                delivery_mode=PERSISTENT,
                message_id=out.message_id,
                type=out.type,
                app_id=self.service,
                headers=dict(out.headers),
                mandatory=self.mandatory,
                retry=False,
            )
        confirms.wait(self._conn, tags, self.confirm_timeout)
        self.sent += len(outgoing)

    def _advance(self, position: int) -> None:
        """Move the checkpoint past a batch the broker confirmed."""
        self.store.set_checkpoint(self.name, position)

    # -- lease ------------------------------------------------------------
    def _hold_lease(self) -> bool:
        now = self.clock()
        # Renew a held lease when a third of it is gone; a standby asks at the same pace,
        # so it takes over at most lease_ttl * 4/3 after the holder stops.
        if self._lease_checked_at is not None and now - self._lease_checked_at < timedelta(
                seconds=self.lease_ttl / 3):
            return self._leader
        leader = self.store.try_lease(self.name, self.holder, self.lease_ttl, now)
        if leader != self._leader:
            log.info("%s: %s %s the lease", self.name, self.holder,
                     "holds" if leader else "does not hold")
        self._leader = leader
        self._lease_checked_at = now
        return leader

    # -- broker connection ------------------------------------------------
    def _connect(self) -> None:
        if self._conn is not None:
            return
        conn = kombu.Connection(self.amqp_uri, connect_timeout=self.connect_timeout)
        try:
            # One attempt: the run loop owns retries and backoff (kombu's connect() would
            # try twice, two seconds apart).
            conn.ensure_connection(max_retries=0, reraise_as_library_errors=False)
            channel = conn.channel()
            if not hasattr(channel, "confirm_select"):
                raise RelayError(f"transport {conn.transport_cls!r} has no publisher confirms: "
                                 "the relay needs an AMQP broker (amqp:// or pyamqp://)")
            confirms = _Confirms()
            channel.events["basic_ack"].add(confirms.on_ack)
            channel.events["basic_nack"].add(confirms.on_nack)
            channel.events["basic_return"].add(confirms.on_return)
            channel.confirm_select()
            exchange = kombu.Exchange(self.exchange_name, type="topic", durable=True,
                                      delivery_mode=PERSISTENT)
            exchange(channel).declare()
            if self.declare is not None:
                self.declare(channel)
            producer = kombu.Producer(channel, exchange=exchange, auto_declare=False)
        except BaseException:
            _quietly(conn.release)
            raise
        self._conn, self._channel, self._producer, self._confirms = conn, channel, producer, confirms
        log.info("%s: connected to %s", self.name, self._broker())

    def _disconnect(self, graceful: bool = False) -> None:
        conn, self._conn = self._conn, None
        self._channel = self._producer = self._confirms = None
        if conn is None:
            return
        # After a failure the connection may be dead or half-open: drop the socket without
        # the closing handshake. A graceful close waits for the broker, but not for long.
        if graceful:
            try:
                conn.connection.transport.sock.settimeout(2.0)
            except Exception:
                graceful = False
        if not (graceful and _quietly(conn.release)):
            _quietly(conn.collect)

    # -- helpers ----------------------------------------------------------
    def _idle(self, stop: Any) -> None:
        # Wait for a wake-up or the poll interval, in slices, so that setting ``stop`` (an
        # event this relay cannot hook into) ends a long poll interval soon.
        deadline = time.monotonic() + self.poll_interval
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._wakeup.wait(min(remaining, STOP_CHECK)):
                return

    def _stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    def _backoff(self, streak: int) -> float:
        base = min(self.max_backoff, self.poll_interval * 2 ** (streak - 1))
        return base * random.uniform(0.8, 1.0)

    def _checkpoint_or_unknown(self) -> str:
        try:
            return str(self.store.get_checkpoint(self.name))
        except Exception:
            return "?"

    def _broker(self) -> str:
        try:
            return kombu.Connection(self.amqp_uri).as_uri()  # hides the password
        except Exception:
            return "the broker"


class _Confirms:
    """Publisher-confirm bookkeeping of one channel: delivery tags count from 1 per channel."""

    def __init__(self) -> None:
        self.sent = 0
        self.unconfirmed: set[int] = set()
        self.nacked = 0
        self.returned = 0

    def expect(self, n: int) -> range:
        tags = range(self.sent + 1, self.sent + n + 1)
        self.unconfirmed.update(tags)
        self.sent += n
        return tags

    def on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple)

    def on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self.nacked += len(self._settle(delivery_tag, multiple))

    def on_return(self, exc: Any, exchange: str, routing_key: str, message: Any) -> None:
        # A mandatory message no queue took; the broker returns it before confirming it.
        self.returned += 1

    def _settle(self, tag: int, multiple: bool) -> set[int]:
        done = {t for t in self.unconfirmed if t <= tag} if multiple else {tag} & self.unconfirmed
        self.unconfirmed -= done
        return done

    def wait(self, conn: kombu.Connection, tags: range, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.unconfirmed and not self.nacked:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RelayError(f"the broker did not confirm {len(self.unconfirmed)} of "
                                 f"{len(tags)} messages within {timeout}s")
            try:
                conn.drain_events(timeout=remaining)
            except socket.timeout:
                pass
        if self.nacked:
            raise RelayError(f"the broker refused (nacked) {self.nacked} of {len(tags)} messages")
        if self.returned:
            raise RelayError(f"the broker returned {self.returned} of {len(tags)} messages: no "
                             "queue is bound for their routing key")


def _headers(env: Envelope) -> dict[str, Any]:
    return {
        "event_type": env.type,
        "stream": env.stream,
        "version": env.version,
        "position": env.position,
        "committee": env.deployment.committee,
        "level": env.deployment.level,
        "correlation_id": env.correlation_id,
    }


def _short(exc: BaseException) -> str:
    # Broker and driver errors carry codes and reply texts, not event data; keep them short.
    return str(exc).splitlines()[0][:200] if str(exc) else "no message"


def _quietly(fn: Callable[[], Any]) -> bool:
    try:
        fn()
        return True
    except Exception:
        log.debug("relay: ignoring an error while closing a broker connection", exc_info=True)
        return False
