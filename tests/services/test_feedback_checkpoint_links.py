"""Anchored history across levels: the feedback service's link outbox sends its log's checkpoints
up to each upper committee linked (``log.checkpointed``); the upper committee keeps each once, as
it came, on ``lower-checkpoints-<committee>``; and what it kept is the file the lower committee's
``verify --checkpoints`` takes, catching a tail deleted and the head rewound there."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial

import orjson
import pytest
from nameko.rpc import rpc

from services.feedback import links
from xieshang.kernel import levels
from xieshang.kernel.anchoring import (CHECKPOINT_STREAM, CheckpointSigner, check_checkpoints,
                                       checkpoint_outbox, kept_stream, read_evidence, seal)
from xieshang.kernel.clock import FixedClock
from xieshang.kernel.domain import EventRegistry, InvalidCommand
from xieshang.kernel.envelope import Deployment
from xieshang.kernel.levels import LinkMessage, link_tracking
from xieshang.kernel.runtime import EventStoreDependency
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.streams import Streams

from ..conftest import new_event, unique
from .conftest import store_of, wait_until
from .test_feedback_levels import CITY as CITY_SPEC
from .test_feedback_levels import COUNTY as COUNTY_SPEC
from .test_feedback_levels import deployments  # noqa: F401 - the fixture
from .test_feedback_levels import link_spec

COUNTY, CITY, PROVINCE = Deployment("640302", "county"), Deployment("640300", "city"), \
    Deployment("640000", "province")
SEALED_AT = datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def checkpoints_go_up(monkeypatch):
    # Until xieshang.kernel.levels.KINDS lists the kind itself (the lead's change).
    if links.CHECKPOINTED not in levels.KINDS:
        monkeypatch.setitem(levels.KINDS, links.CHECKPOINTED, "up")


@pytest.fixture
def county():
    store = MemoryEventStore(COUNTY)
    signer = CheckpointSigner.generate()
    for _ in range(2):
        for i in range(3):
            store.append(unique("opinion"), None, [new_event("Noted", n=i)])
        seal(store, signer, lambda: SEALED_AT, service="feedback")
    return store, signer


def sent_up(store) -> list[LinkMessage]:
    mapper = links.outbound_mapper(lambda: [CITY.committee, PROVINCE.committee])
    return [m for env in store.read_all() for m in mapper(env, store)]


def test_each_checkpoint_goes_up_to_every_upper_committee_linked(county):
    store, _ = county
    messages = sent_up(store)
    sealed = store.read_stream(CHECKPOINT_STREAM)
    assert [(m.kind, m.to, m.event_id) for m in messages] == [
        ("log.checkpointed", code, cp.event_id) for cp in sealed for code in ("640300", "640000")]
    first = messages[0]
    assert first.payload == dict(sealed[0].data) and first.sender == COUNTY
    assert (first.position, first.hash) == (sealed[0].position, sealed[0].hash)
    assert LinkMessage.from_json(first.to_json()) == first
    # Without upper links nothing goes anywhere.
    assert [m for env in store.read_all() for m in links.outbound_mapper()(env, store)] == []


def test_the_upper_committee_keeps_each_once_and_the_county_verifies_against_it(county):
    store, signer = county
    city = MemoryEventStore(CITY)
    streams = Streams(city, EventRegistry(), FixedClock(SEALED_AT))
    tracking = partial(link_tracking, "feedback.on_link_message")
    for message in sent_up(store):
        if message.to == CITY.committee:
            links.take(streams, message, tracking)
            links.take(streams, message, tracking)  # delivered twice: kept once
    kept = city.read_stream(kept_stream(COUNTY.committee))
    assert [e.type for e in kept] == ["CheckpointReceived"] * 2
    assert kept[0].actor.user_id == "committee:640302" and kept[0].data["position"] == 3
    assert kept[0].data["origin_position"] == 4

    # `xieshang history lower-checkpoints-640302 --json` at the city is the county's file.
    file = "\n".join(orjson.dumps({"service": "feedback", **e.to_dict()}).decode() for e in kept)
    evidence = read_evidence(file, "from-640300.jsonl")
    assert check_checkpoints(store, evidence, signer.public_key, service="feedback").ok

    # The county's tail deleted and its head rewound: the city's copy still shows the log
    # reached position 7 (sealed at 7, the checkpoint at 8).
    shortened = MemoryEventStore(COUNTY)
    for env in store.read_all(0, 5):
        shortened._log.append((env, b""))
        shortened._streams.setdefault(env.stream, []).append(env.position)
    report = check_checkpoints(shortened, evidence, signer.public_key, service="feedback")
    assert report.first_bad_position == 6, report.problem
    assert "positions 6 to 8 are missing" in report.problem
    assert "from-640300.jsonl line 2" in report.problem


def test_a_checkpoint_that_is_not_the_senders_is_refused(county):
    store, _ = county
    message = sent_up(store)[0]
    city = MemoryEventStore(CITY)
    streams = Streams(city, EventRegistry(), FixedClock(SEALED_AT))
    forged = LinkMessage(message.kind, message.sender, message.to, message.event_id,
                         message.event_type, message.stream, message.position, message.hash,
                         message.occurred_at, {**message.payload, "committee": "640303"})
    with pytest.raises(InvalidCommand) as refused:
        links.take(streams, forged, partial(link_tracking, "feedback.on_link_message"))
    assert "committee" in refused.value.fields["payload"]
    assert city.head() == 0
    lacking = LinkMessage(message.kind, message.sender, message.to, message.event_id,
                          message.event_type, message.stream, message.position, message.hash,
                          message.occurred_at, {"position": 3})
    with pytest.raises(InvalidCommand, match="malformed"):
        links.take(streams, lacking, partial(link_tracking, "feedback.on_link_message"))


@pytest.mark.rabbit
@pytest.mark.slow
def test_a_countys_checkpoints_reach_its_city_over_the_shovelled_link(deployments):
    # The real path: the county's feedback service seals (here by hand: the sealer's interval is
    # minutes), its link outbox sends the checkpoint over the shovel, the city's inbox keeps it.
    county, city = deployments((COUNTY_SPEC, [CITY_SPEC], []), (CITY_SPEC, [], [COUNTY_SPEC]))
    store = store_of(county.container)
    signer = CheckpointSigner.generate()
    store.append(unique("opinion"), None, [new_event("Noted")])
    [first] = seal(store, signer, lambda: SEALED_AT, service="feedback")
    store.append(unique("opinion"), None, [new_event("Noted")])
    [second] = seal(store, signer, lambda: SEALED_AT, service="feedback")
    kept = wait_until(lambda: len(city.envelopes(kept_stream(county.code))) == 2
                      and city.envelopes(kept_stream(county.code)), timeout=30,
                      what="the county's checkpoints at the city")
    assert [e.data["origin_event_id"] for e in kept] == [first.event_id, second.event_id]
    assert [e.data["signature"] for e in kept] == [first.data["signature"], second.data["signature"]]
    file = "\n".join(orjson.dumps(e.to_dict()).decode() for e in kept)
    report = check_checkpoints(store, read_evidence(file), signer.public_key, service="feedback")
    assert report.ok and report.anchored == second.data["position"], report.problem


class Sealing:
    """Another service of the county: no link outbox of its own, the kernel's checkpoint one."""

    name = "sealing"
    store = EventStoreDependency()
    checkpoints_up = checkpoint_outbox()

    @rpc
    def noop(self) -> None:
        return None


@pytest.mark.rabbit
@pytest.mark.slow
def test_the_checkpoints_of_the_countys_other_services_go_up_too(deployments, container_factory,
                                                                  tmp_path):
    county, city = deployments((COUNTY_SPEC, [CITY_SPEC], []), (CITY_SPEC, [], [COUNTY_SPEC]))
    other = container_factory(Sealing, {
        "AMQP_URI": county.amqp_uri, "XIESHANG_DATA_DIR": str(tmp_path / "county-sealing"),
        "COMMITTEE_CODE": county.code, "COMMITTEE_LEVEL": county.level,
        "XIESHANG_LINKS": link_spec([CITY_SPEC], [])})
    other.start()
    store = store_of(other)
    signer = CheckpointSigner.generate()
    store.append(unique("case"), None, [new_event("Noted")])
    [sealed] = seal(store, signer, lambda: SEALED_AT, service="sealing")
    [kept] = wait_until(lambda: city.envelopes(kept_stream(county.code)), timeout=30,
                        what="the sealing service's checkpoint at the city")
    assert kept.data["service"] == "sealing" and kept.data["origin_event_id"] == sealed.event_id
    evidence = read_evidence(orjson.dumps(kept.to_dict()).decode())
    assert check_checkpoints(store, evidence, signer.public_key, service="sealing").anchored == 1
