"""A running service seals its log and publishes the checkpoint as a public CloudEvent (ADR 0012)."""

from __future__ import annotations

import kombu
from nameko.rpc import rpc

from xieshang.kernel.anchoring import (CHECKPOINT_STREAM, CheckpointSigner, read_evidence,
                                       register_checkpoint_events, verify_anchored)
from xieshang.kernel.config import Settings
from xieshang.kernel.domain import EventRegistry
from xieshang.kernel.integration import INTEGRATION_EXCHANGE, Publication, decode_cloud_event
from xieshang.kernel.runtime import EventStoreDependency

from ..conftest import new_event, unique
from .conftest import store_of, wait_until

registry = register_checkpoint_events(EventRegistry())


class Sealed:
    name = "sealed"
    store = EventStoreDependency()
    publication = Publication("sealed", registry, public={"LogCheckpointed": frozenset()}, private={})

    @rpc
    def noop(self):
        return None


def test_a_running_service_seals_its_log_and_publishes_the_checkpoint(container_factory, config, tmp_path):
    with kombu.Connection(config["AMQP_URI"]) as conn:
        queue = kombu.Queue(unique("subscriber.sealed"), kombu.Exchange(INTEGRATION_EXCHANGE, "topic", durable=True),
                            routing_key="cn.gov.cppcc.sealed.#", auto_delete=False)
        queue(conn.channel()).declare()
    container = container_factory(Sealed, {**config, "XIESHANG_CHECKPOINT_INTERVAL": "0.2"})
    container.start()
    store = store_of(container)
    store.append(unique("case"), None, [new_event(), new_event()])
    [checkpoint] = wait_until(lambda: store.read_stream(CHECKPOINT_STREAM), what="a checkpoint")
    assert checkpoint.data["position"] == 2 and checkpoint.data["service"] == "sealed"
    key = tmp_path / "keys" / "checkpoint-640200.key"
    assert key.exists() and key.stat().st_mode & 0o777 == 0o600

    with kombu.Connection(config["AMQP_URI"]) as conn:
        simple = conn.SimpleQueue(queue.name)
        message = simple.get(timeout=10)
        event = decode_cloud_event(message.body)
        message.ack()
        simple.close()
    assert event["type"] == "cn.gov.cppcc.sealed.LogCheckpointed.v1" and event["data"]["hash"] == checkpoint.data["hash"]
    # what a subscriber kept verifies the log, signed with the deployment's key
    signer = CheckpointSigner.load(Settings.load("sealed", config))
    report = verify_anchored(store, read_evidence(message.body if isinstance(message.body, str) else message.body.decode()), signer.public_key, service="sealed")
    assert report.ok, report.problem
