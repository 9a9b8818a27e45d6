"""The kernel's one write path (xieshang.kernel.streams) and command parsing, on the memory store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

import pytest

from xieshang.kernel.clock import FixedClock
from xieshang.kernel.commands import Command, Id
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainEvent, EventRegistry, InvalidCommand
from xieshang.kernel.envelope import Actor, Deployment
from xieshang.kernel.store import ConcurrencyError, Tracking
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.streams import Receipt, RetryPolicy, Streams

registry = EventRegistry()
AT = datetime(2024, 3, 1, 1, 30, tzinfo=timezone.utc)
STAFF = Actor("staff-001", "staff", "proposal-committee")


@registry.register
@dataclass(frozen=True)
class Counted(DomainEvent):
    SCHEMA_VERSION = 2
    n: int
    label: str = ""


@registry.upcaster("Counted", 1)
def _v1(data: dict) -> dict:
    return {**data, "label": "from v1"}


@registry.register
@dataclass(frozen=True)
class Noted(DomainEvent):
    note_id: str

    def identity(self) -> str:
        return self.note_id


def total(events) -> int:
    return sum(e.n for e in events if isinstance(e, Counted))


@pytest.fixture
def store():
    return MemoryEventStore(Deployment("640200", "city"))


@pytest.fixture
def streams(store):
    return Streams(store, registry, FixedClock(AT), RetryPolicy(attempts=3, pause_min=0, pause_max=0))


def ctx(**kw) -> CommandContext:
    return CommandContext(actor=STAFF, on_behalf_of=kw.get("on_behalf_of"), reason=kw.get("reason"),
                          correlation_id="corr-1", causation_id=kw.get("causation_id"))


def test_decide_records_with_the_context_and_the_injected_clock(streams, store):
    receipt = streams.decide(ctx(on_behalf_of="m-001", reason="why", causation_id="cause-1"), "count-a",
                             total, lambda state: [Counted(n=state + 1)], ids={"count_id": "a"})
    [e] = store.read_stream("count-a")
    assert (e.actor, e.on_behalf_of, e.reason, e.correlation_id, e.causation_id) == \
        (STAFF, "m-001", "why", "corr-1", "cause-1")
    assert e.occurred_at == AT and e.schema_version == 2 and e.data == {"n": 1, "label": ""}
    assert receipt == Receipt("count-a", 1, e.position, ("Counted",), e.event_id, {"count_id": "a"})
    assert receipt.to_dict() == {"count_id": "a", "stream": "count-a", "version": 1,
                                 "position": e.position, "recorded": True, "event": "Counted",
                                 "event_id": e.event_id, "events": ["Counted"]}


def test_nothing_decided_records_nothing_and_answers_the_same_shape(streams, store):
    streams.decide(ctx(), "count-a", total, lambda s: [Counted(n=1), Counted(n=2)])
    receipt = streams.decide(ctx(), "count-a", total, lambda s: [])
    assert receipt.to_dict() == {"stream": "count-a", "version": 2, "position": store.head(),
                                 "recorded": False, "event": None, "event_id": None, "events": []}
    assert set(receipt.to_dict()) >= set(Receipt.CORE)


def test_load_decodes_through_the_registry_with_upcasters(streams, store):
    old = ctx().new_event("Counted", {"n": 5}, schema_version=1)
    store.append("count-b", 0, [old, ctx().new_event("SomethingElse", {})])
    loaded = streams.load("count-b", total)
    assert loaded.state == 5 and loaded.version == 2
    assert loaded.events == [Counted(n=5, label="from v1")]


def test_a_person_s_command_sees_the_conflict(streams, store):
    def meanwhile(state):
        store.append("count-c", None, [ctx().new_event("Counted", {"n": 10}, schema_version=2)])
        return [Counted(n=1)]

    with pytest.raises(ConcurrencyError):
        streams.decide(ctx(), "count-c", total, meanwhile)
    assert store.stream_version("count-c") == 1   # only the other writer's event


def test_a_system_decision_is_decided_again_on_the_new_state(streams, store):
    seen = []

    def decide(state):
        seen.append(state)
        if len(seen) == 1:  # another instance gets in first, once
            store.append("count-d", None, [ctx().new_event("Counted", {"n": 10}, schema_version=2)])
        return [] if state >= 10 else [Counted(n=1)]

    receipt = streams.decide(ctx(), "count-d", total, decide, retry=True)
    assert seen == [0, 10] and not receipt.recorded and receipt.version == 1


def test_retries_are_bounded(streams, store):
    def always_beaten(state):
        store.append("count-e", None, [ctx().new_event("Counted", {"n": 1}, schema_version=2)])
        return [Counted(n=1)]

    with pytest.raises(ConcurrencyError):
        streams.decide(ctx(), "count-e", total, always_beaten, retry=True)
    assert store.stream_version("count-e") == 3   # three attempts, each beaten


def test_tracking_records_an_effect_once(streams, store):
    tracking = Tracking(consumer="svc.on_x", event_id="upstream-1", position=7)
    first = streams.decide(ctx(), "count-f", total, lambda s: [Counted(n=1)], tracking=tracking)
    again = streams.record(ctx(), "count-f", 1, [Counted(n=1)], tracking=tracking)
    assert first.recorded and again == [] and store.stream_version("count-f") == 1
    assert store.is_processed("svc.on_x", "upstream-1")


def test_an_event_that_fixes_its_id_is_recorded_under_it(streams, store):
    [e] = streams.record(ctx(), "notes-1", 0, [Noted(note_id="n-0001")])
    assert e.event_id == "n-0001"


# -- commands -------------------------------------------------------------------------------

@dataclass(frozen=True)
class AssignCase(Command):
    case_id: Id
    lead_unit: Id
    co_units: tuple[str, ...] = ()
    deadline: str | None = None
    urgent: bool = False
    stage: Literal["before", "during", "after"] = "before"
    days: int = 0


def test_a_command_is_parsed_once_into_a_frozen_typed_object():
    cmd = AssignCase.parse(case_id="c-1", lead_unit="u-lcj", co_units=["u-a", "u-b"], urgent=True)
    assert cmd == AssignCase("c-1", "u-lcj", ("u-a", "u-b"), None, True)
    with pytest.raises(Exception):
        cmd.urgent = False  # frozen


def test_a_bad_command_names_every_bad_field_and_nothing_else():
    with pytest.raises(InvalidCommand) as err:
        AssignCase.parse(case_id="c-1\n", lead_unit=7, co_units="u-a", urgent="yes", stage="later",
                         days=True, colour="red")
    assert set(err.value.fields) == {"case_id", "lead_unit", "co_units", "urgent", "stage", "days",
                                     "colour"}
    assert "assign_case" in str(err.value)
    with pytest.raises(InvalidCommand) as err:
        AssignCase.parse(case_id="c-1")
    assert err.value.fields == {"lead_unit": "required 必填"}


def test_catch_up_folds_only_what_came_after_a_cached_state(streams, store):
    streams.decide(ctx(), "count-g", total, lambda s: [Counted(n=2)])
    cached = streams.load("count-g", total)
    assert streams.catch_up(cached, lambda state, events: state + total(events)) is cached
    streams.decide(ctx(), "count-g", total, lambda s: [Counted(n=3), Counted(n=4)])
    later = streams.catch_up(cached, lambda state, events: state + total(events))
    assert (later.state, later.version, [e.n for e in later.events]) == (9, 3, [3, 4])


def test_a_decision_may_start_from_a_state_loaded_its_own_way(streams, store):
    loads = []

    def load():
        loads.append(1)
        return streams.load("count-h", total)

    receipt = streams.decide(ctx(), "count-h", None, lambda s: [Counted(n=s + 1)], load=load)
    assert loads == [1] and receipt.version == 1
