"""The services' RPC queues as configured (xieshang.kernel.rpc): nameko's classic queue by default,
a quorum queue with a delivery limit and dead-lettering with XIESHANG_RPC_QUEUE_TYPE=quorum.

On the real broker, each test in its own virtual host (nameko's ``rabbit_config``); what the broker
declared is read back through its management API. (The broker's clients are imported where they
are used: the first two tests need no broker and stay in the fast tier.)"""

from __future__ import annotations

import logging

import eventlet
import pytest
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc as NamekoRpc
from nameko.testing.utils import get_extension

from xieshang.kernel.config import ConfigError, RpcQueues
from xieshang.kernel.consumer import (DEAD_LETTER_EXCHANGE, ConsumerSetupError, DeadLetterError,
                                      list_dead_letters, replay_dead_letters)
from xieshang.kernel.rpc import Rpc, RpcQueueConsumer, rpc, rpc_queue, rpc_queue_name

from ..conftest import unique
from ..support.consumer_services import wait_until

QUORUM = {"XIESHANG_RPC_QUEUE_TYPE": "quorum", "XIESHANG_RPC_DELIVERY_LIMIT": "2"}


class Crash(DependencyProvider):
    """``crash()`` kills the worker's container as a dying process would: the call it runs is
    never answered nor acked, and the broker takes it back when the connection drops."""

    def setup(self) -> None:
        self.crashed = eventlet.event.Event()

    def get_dependency(self, worker_ctx):
        def crash() -> None:
            eventlet.spawn(self.container.kill)
            self.crashed.send(True)
            eventlet.sleep(30)  # killed before this ends
        return crash


def make_service(name: str) -> type:
    class Service:
        crash = Crash()

        @rpc
        def echo(self, value):
            return value

        @rpc
        def poison(self):
            self.crash()

    Service.name = name
    return Service


@pytest.fixture
def service_name():
    return unique("svc")


@pytest.fixture
def start(container_factory, rabbit_config, service_name):
    """Start an instance of the test service with ``settings`` added to its config."""

    def start_(**settings):
        container = container_factory(make_service(service_name),
                                      {"AMQP_URI": rabbit_config["AMQP_URI"], **settings})
        container.start()
        return container
    return start_


@pytest.fixture
def call(rabbit_config, service_name):
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy({"AMQP_URI": rabbit_config["AMQP_URI"]}, timeout=15) as proxy:
        yield getattr(proxy, service_name)


def broker_queue(rabbit_manager, rabbit_config, name: str) -> dict:
    return rabbit_manager.get_queue(rabbit_config["vhost"], name)


def consumers_of(amqp_uri: str, name: str) -> int:
    """The queue's consumers now (the management API's figure lags by its statistics interval)."""
    from kombu import Connection

    with Connection(amqp_uri) as conn:
        return conn.channel().queue_declare(queue=name, passive=True).consumer_count


# -- without a broker ---------------------------------------------------------------------------

def test_the_default_is_nameko_own_classic_queue(monkeypatch):
    monkeypatch.delenv("XIESHANG_RPC_QUEUE_TYPE", raising=False)
    monkeypatch.delenv("XIESHANG_RPC_DELIVERY_LIMIT", raising=False)
    settings = RpcQueues.load({})
    assert (settings.queue_type, settings.delivery_limit, settings.quorum) == ("classic", 3, False)
    queue = rpc_queue("proposals", settings)
    assert (queue.name, queue.routing_key, queue.durable) == ("rpc-proposals", "proposals.*", True)
    assert not queue.queue_arguments and queue.exchange.name == "nameko-rpc"
    assert issubclass(Rpc, NamekoRpc) and isinstance(Rpc.rpc_consumer, RpcQueueConsumer)


def test_the_quorum_setting_and_its_checks(monkeypatch):
    monkeypatch.setenv("XIESHANG_RPC_QUEUE_TYPE", "quorum")  # the config mapping wins over it
    assert RpcQueues.load({"XIESHANG_RPC_QUEUE_TYPE": "Classic"}).queue_type == "classic"
    settings = RpcQueues.load({"XIESHANG_RPC_DELIVERY_LIMIT": "5"})
    assert (settings.queue_type, settings.delivery_limit) == ("quorum", 5)
    arguments = rpc_queue("members", settings).queue_arguments
    assert arguments["x-queue-type"] == "quorum" and arguments["x-delivery-limit"] == 5
    assert (arguments["x-dead-letter-exchange"], arguments["x-dead-letter-routing-key"]) == (
        DEAD_LETTER_EXCHANGE, "rpc-members")
    with pytest.raises(ConfigError, match="classic or quorum, not 'stream'"):
        RpcQueues.load({"XIESHANG_RPC_QUEUE_TYPE": "stream"})
    for bad in ("-1", "three", "2.5"):
        with pytest.raises(ConfigError, match="XIESHANG_RPC_DELIVERY_LIMIT must be a whole number"):
            RpcQueues.load({"XIESHANG_RPC_DELIVERY_LIMIT": bad})


# -- on the broker --------------------------------------------------------------------------------

def test_by_default_the_rpc_queue_is_classic_as_nameko_declares_it(start, call, rabbit_manager,
                                                                   rabbit_config, service_name):
    start()
    assert call.echo("你好") == "你好"
    queue = broker_queue(rabbit_manager, rabbit_config, rpc_queue_name(service_name))
    assert queue["type"] == "classic" and queue["durable"] and queue["arguments"] == {}


def test_with_the_quorum_setting_the_rpc_queue_is_quorum_with_a_limit_and_dead_lettering(
        start, call, rabbit_manager, rabbit_config, service_name):
    start(**QUORUM)
    assert call.echo({"n": 1}) == {"n": 1}
    name = rpc_queue_name(service_name)
    queue = broker_queue(rabbit_manager, rabbit_config, name)
    assert queue["type"] == "quorum" and queue["durable"]
    assert queue["arguments"]["x-queue-type"] == "quorum"
    assert queue["arguments"]["x-delivery-limit"] == 2
    assert queue["arguments"]["x-dead-letter-exchange"] == DEAD_LETTER_EXCHANGE
    assert queue["arguments"]["x-dead-letter-routing-key"] == name
    dead = broker_queue(rabbit_manager, rabbit_config, f"{name}.dead")
    assert dead["type"] == "classic" and dead["durable"]
    bindings = rabbit_manager.get_queue_bindings(rabbit_config["vhost"], f"{name}.dead")
    assert {(b["source"], b["routing_key"]) for b in bindings} >= {(DEAD_LETTER_EXCHANGE, name)}


def test_two_instances_share_the_quorum_rpc_queue_and_both_answer(start, call, rabbit_manager,
                                                                  rabbit_config, service_name):
    consumers = [get_extension(start(**QUORUM), RpcQueueConsumer) for _ in range(2)]
    name = rpc_queue_name(service_name)
    assert broker_queue(rabbit_manager, rabbit_config, name)["type"] == "quorum"
    assert consumers_of(rabbit_config["AMQP_URI"], name) == 2
    answered = []
    # The broker hands the calls out in turn: a handful reaches both instances.
    while not all(c.outcomes["delivered"] for c in consumers) and len(answered) < 200:
        answered.append(call.echo(len(answered)))
    assert answered == list(range(len(answered)))
    assert all(c.outcomes["delivered"] for c in consumers)


def test_a_call_that_kills_every_instance_is_dead_lettered_after_the_limit(
        start, call, rabbit_config, service_name, caplog):
    caplog.set_level(logging.WARNING, logger="xieshang.kernel.rpc")
    container = start(**QUORUM)
    call.poison.call_async()  # its caller would time out: nobody answers
    deliveries = 0
    for attempt in range(1 + 2):  # the first delivery and XIESHANG_RPC_DELIVERY_LIMIT=2 more
        container = container if attempt == 0 else start(**QUORUM)
        get_extension(container, Crash).crashed.wait()
        container.wait()  # killed: the call goes back to the queue
        deliveries += 1
    name = rpc_queue_name(service_name)
    wait_until(lambda: list_dead_letters(rabbit_config["AMQP_URI"], name),
               what="the poison call in the dead-letter queue")
    letters = list_dead_letters(rabbit_config["AMQP_URI"], name)
    assert len(letters) == 1 and letters[0]["correlation_id"]
    assert letters[0]["reason"] == "delivery_limit"
    assert letters[0]["event_type"] == f"{service_name}.poison"  # the method that was called
    # The next instance lives on and answers.
    survivor = start(**QUORUM)
    assert call.echo("still here") == "still here"
    assert not get_extension(survivor, Crash).crashed.ready() and deliveries == 3
    warnings = [r.getMessage() for r in caplog.records if "delivered again" in r.getMessage()]
    assert [w.split("(delivery ")[1].split(",")[0] for w in warnings] == ["2 of at most 3",
                                                                         "3 of at most 3"]
    with pytest.raises(DeadLetterError, match="RPC queue"):
        replay_dead_letters(rabbit_config["AMQP_URI"], name)


@pytest.mark.parametrize("first, then", [({}, QUORUM), (QUORUM, {}),
                                         (QUORUM, {**QUORUM, "XIESHANG_RPC_DELIVERY_LIMIT": "4"})],
                         ids=["classic-then-quorum", "quorum-then-classic", "another-limit"])
def test_an_instance_with_another_setting_stops_and_says_how_to_migrate(start, call, first, then,
                                                                         service_name):
    start(**first)
    assert call.echo(1) == 1
    with pytest.raises(ConsumerSetupError) as refused:
        start(**then)
    message = str(refused.value)
    assert f"'rpc-{service_name}'" in message and "inequivalent arg" in message
    assert f"stop every instance of {service_name}" in message
    assert f"delete_queue rpc-{service_name}" in message and "docs/operations.md" in message
    assert call.echo(2) == 2  # the instance that was there first serves on
