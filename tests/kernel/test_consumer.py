"""Consuming another service's events: exactly one effect per event, retries, dead letters.

Every test runs in its own RabbitMQ vhost (nameko's ``rabbit_config``), so queues and the
shared dead-letter exchange never collide with other tests, and are removed afterwards.
"""

from __future__ import annotations

import logging
import random

import pytest
from kombu import Connection
from nameko.testing.utils import get_extension

from xieshang.kernel.consumer import (DeadLetterError, EventEntrypoint, dead_letter_queue,
                                      describe_error, effect_tracking, event_queue,
                                      event_queue_name, list_dead_letters, replay_dead_letters)
from xieshang.kernel.envelope import SYSTEM_ACTOR, NewEvent
from xieshang.kernel.store.memory import MemoryEventStore

from ..conftest import unique
from ..support.consumer_services import (DEPLOYMENT, STORE_PATH_KEY, Behaviour, Relay, SqliteStore,
                                         make_consumer_service, wait_until)

pytestmark = pytest.mark.rabbit

EVENT = "ThingHappened"


@pytest.fixture
def names():
    return {"source": unique("src"), "service": unique("svc")}


@pytest.fixture
def relay(rabbit_config, names):
    r = Relay(rabbit_config["AMQP_URI"], names["source"])
    yield r
    r.close()


@pytest.fixture
def start(container_factory, rabbit_config, names, tmp_path):
    """Start one container of a consuming service; returns (container, entrypoint, store)."""

    def start_(service_cls, max_workers: int = 10):
        config = {"AMQP_URI": rabbit_config["AMQP_URI"], "max_workers": max_workers,
                  STORE_PATH_KEY: str(tmp_path / f"{names['service']}.sqlite")}
        container = container_factory(service_cls, config)
        container.start()
        return (container, get_extension(container, EventEntrypoint),
                get_extension(container, SqliteStore).store)

    return start_


def queue_of(names) -> str:
    return event_queue_name(names["source"], EVENT, names["service"], "record")


def effects(store) -> list[str]:
    """The upstream event ids the consumer's store recorded an effect for."""
    return [e.data["upstream"] for e in store.iter_all()]


def settled(*entrypoints) -> int:
    return sum(ep.outcomes["handled"] + ep.outcomes["skipped"] + ep.outcomes["dead_lettered"]
               + ep.outcomes["malformed"] for ep in entrypoints)


# -- without a broker -----------------------------------------------------------------

def test_effect_tracking_names_the_consumer_and_the_event():
    upstream = MemoryEventStore(DEPLOYMENT)
    env = upstream.append("s", None, [NewEvent(EVENT, {"n": 1}, SYSTEM_ACTOR)])[0]
    t = effect_tracking("notices.on_filed", env)
    assert (t.consumer, t.event_id, t.position) == ("notices.on_filed", env.event_id, 1)


def test_describe_error_is_bounded_and_typed():
    assert describe_error(ValueError("bad")) == "ValueError: bad"
    assert describe_error(RuntimeError("x" * 2000)).endswith("…")
    assert len(describe_error(RuntimeError("x" * 2000))) == 500


# -- a. redelivery ----------------------------------------------------------------------

@pytest.mark.parametrize("precheck", [True, False], ids=["precheck", "tracking-only"])
def test_redelivered_event_has_exactly_one_effect(start, relay, names, precheck):
    # The first attempt fails *after* its effect committed: only the tracking in the
    # append can stop the retry and the two extra copies from repeating it.
    behaviour = Behaviour(fail_after_effect=1)
    service = make_consumer_service(names["service"], names["source"], EVENT, behaviour,
                                    precheck=precheck)
    _, ep, store = start(service, max_workers=1)  # one at a time: the counts are exact
    (env,) = relay.record(1, EVENT)
    for _ in range(3):
        relay.publish(env)

    wait_until(lambda: settled(ep) == 3, what="three copies settled")
    assert effects(store) == [env.event_id]
    assert store.is_processed(f"{names['service']}.record", env.event_id)
    assert ep.outcomes["retried"] == 1
    if precheck:
        assert behaviour.calls == 1 and ep.outcomes["skipped"] == 3
    else:
        assert behaviour.calls == 4 and ep.outcomes["handled"] == 3


# -- b. competing consumers -----------------------------------------------------------

@pytest.mark.parametrize("precheck", [True, False], ids=["precheck", "tracking-only"])
def test_two_instances_with_parallel_workers_make_one_effect_per_event(start, relay, names,
                                                                      precheck):
    behaviour = Behaviour()
    service = make_consumer_service(names["service"], names["source"], EVENT, behaviour,
                                    precheck=precheck)
    _, ep1, store = start(service, max_workers=4)
    _, ep2, _ = start(service, max_workers=4)
    envelopes = relay.record(500, EVENT)
    copies = envelopes + random.Random(7).sample(envelopes, 100)
    random.Random(8).shuffle(copies)
    for env in copies:
        relay.publish(env)

    wait_until(lambda: settled(ep1, ep2) == 600, timeout=60, what="600 messages settled")
    seen = effects(store)
    assert len(seen) == 500
    assert set(seen) == {e.event_id for e in envelopes}
    assert settled(ep1) > 0 and settled(ep2) > 0, "both instances should have taken work"
    if not precheck:
        assert behaviour.calls == 600  # every copy ran the handler; the tracking kept one effect


# -- c. consumer down ---------------------------------------------------------------------

def test_events_published_while_the_consumer_is_down_are_processed_once(start, relay, names):
    service = make_consumer_service(names["service"], names["source"], EVENT, Behaviour())
    container, _, _ = start(service)  # declares the queue
    container.stop()
    envelopes = relay.record(2000, EVENT)
    for env in envelopes:
        relay.publish(env)

    _, ep, store = start(service)
    wait_until(lambda: store.head() >= 2000, timeout=60, what="2,000 effects")
    wait_until(lambda: settled(ep) == 2000, what="2,000 messages settled")
    seen = effects(store)
    assert len(seen) == 2000 and set(seen) == {e.event_id for e in envelopes}


# -- d. dead letters ----------------------------------------------------------------------

def test_failing_event_is_dead_lettered_listed_and_replayed_once(start, relay, names,
                                                                rabbit_config):
    uri = rabbit_config["AMQP_URI"]
    behaviour = Behaviour(always_fail=True)
    service = make_consumer_service(names["service"], names["source"], EVENT, behaviour,
                                    max_deliveries=3)
    _, ep, store = start(service)
    (env,) = relay.record(1, EVENT)
    relay.publish(env)

    wait_until(lambda: ep.outcomes["dead_lettered"] == 1, what="dead-lettering")
    assert behaviour.calls == 3 and ep.outcomes["retried"] == 2
    queue = queue_of(names)
    listed = list_dead_letters(uri, queue)
    assert list_dead_letters(uri, queue) == listed, "listing must not consume"
    (dead,) = listed
    assert dead["message_id"] == dead["event_id"] == env.event_id
    assert (dead["event_type"], dead["stream"], dead["position"]) == (EVENT, env.stream, 1)
    assert dead["deliveries"] == 3 and dead["reason"] == "handler_failed"
    assert dead["error"] == "RuntimeError: the handler is broken"
    assert store.head() == 0

    assert replay_dead_letters(uri, queue, message_ids=["some-other-id"]) == 0
    behaviour.always_fail = False
    assert replay_dead_letters(uri, queue) == 1
    wait_until(lambda: ep.outcomes["handled"] == 1, what="the replayed event handled")
    assert effects(store) == [env.event_id]
    assert list_dead_letters(uri, queue) == []
    # Replaying a second copy (e.g. dead-lettered twice) changes nothing.
    relay.publish(env)
    wait_until(lambda: settled(ep) == 3, what="the extra copy settled")
    assert effects(store) == [env.event_id]


def test_broker_backstop_dead_letters_with_its_own_reason(relay, names, rabbit_config):
    # A message no entrypoint ever settles (say its worker dies every time) is dead-lettered
    # by the broker after max_deliveries + 1 deliveries, with the broker's reason.
    uri = rabbit_config["AMQP_URI"]
    queue = queue_of(names)
    (env,) = relay.record(1, EVENT)
    with Connection(uri) as conn:
        channel = conn.channel()
        dead_letter_queue(queue)(channel).declare()
        q = event_queue(names["source"], EVENT, queue, max_deliveries=1)(channel)
        q.declare()
        relay.publish(env)
        for _ in range(2):
            _get(q).requeue()
    wait_until(lambda: len(list_dead_letters(uri, queue)) == 1, what="broker dead-lettering")
    (dead,) = list_dead_letters(uri, queue)
    assert dead["event_id"] == env.event_id and dead["reason"] == "delivery_limit"
    assert dead["error"] is None


def _get(queue):
    got = []
    wait_until(lambda: got.append(queue.get(no_ack=False)) or got[-1] is not None,
               what="a delivery")
    return got[-1]


# -- e. malformed messages ----------------------------------------------------------------

def test_malformed_message_goes_straight_to_dead_letters(start, relay, names, rabbit_config,
                                                         caplog):
    uri = rabbit_config["AMQP_URI"]
    behaviour = Behaviour()
    service = make_consumer_service(names["service"], names["source"], EVENT, behaviour)
    _, ep, store = start(service)
    caplog.set_level(logging.ERROR, logger="xieshang.kernel.consumer")
    relay.publish_raw(b"not json at all", EVENT, "bad-json")
    relay.publish_raw(b'{"event_id": "x"}', EVENT, "bad-envelope")
    (env,) = relay.record(1, EVENT)
    relay.publish(env)

    wait_until(lambda: settled(ep) == 3, what="three messages settled")
    assert ep.outcomes["malformed"] == 2 and behaviour.calls == 1
    assert effects(store) == [env.event_id]
    assert any("bad-json" in r.getMessage() for r in caplog.records)
    dead = {d["message_id"]: d for d in list_dead_letters(uri, queue_of(names))}
    assert set(dead) == {"bad-json", "bad-envelope"}
    assert dead["bad-json"]["reason"] == "malformed" and dead["bad-json"]["deliveries"] == 1
    assert dead["bad-json"]["error"].startswith("xieshang.kernel.envelope.EnvelopeError: ")
    assert dead["bad-envelope"]["event_type"] == EVENT


def test_list_names_a_missing_queue(rabbit_config):
    with pytest.raises(DeadLetterError, match="no dead-letter queue"):
        list_dead_letters(rabbit_config["AMQP_URI"], "evt-nope-Nothing--nobody.nothing")
