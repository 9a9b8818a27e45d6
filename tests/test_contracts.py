"""Read models and consumers read the producer's published contract: a handler (``on_<Type>``) or a
subscription (``handle_event(service, type)``) that names an event the producer does not publish
fails here, so a rename can never silently stop a read model or a reaction; and what handlers
receive has been decoded through the producer's registry (upcasters applied)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

import services
from xieshang.kernel.consumer import EventEntrypoint
from xieshang.kernel.contracts import contract_of
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainEvent, EventRegistry
from xieshang.kernel.envelope import Actor, Deployment
from xieshang.kernel.projection import Projection, ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore

SERVICES = sorted(m.name for m in pkgutil.iter_modules(services.__path__) if m.ispkg)
PUBLISHERS = [s for s in SERVICES if contract_of(s) is not None]


def _projections(service: str) -> list[Projection]:
    try:
        module = importlib.import_module(f"services.{service}.views")
    except ModuleNotFoundError:
        return []
    return list(module.PROJECTIONS())


def _subscriptions(service: str) -> list[tuple[str, str, str]]:
    module = importlib.import_module(f"services.{service}.service")
    found = []
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ != module.__name__:
            continue
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventEntrypoint):
                    found.append((f"{cls.__name__}.{name}", entrypoint.source_service,
                                  entrypoint.event_type))
    return found


def test_every_service_that_publishes_has_a_contract():
    assert {"proposals", "members", "feedback", "notify"} <= set(PUBLISHERS)
    for service in PUBLISHERS:
        module = importlib.import_module(f"services.{service}.domain.events")
        assert contract_of(service) is module.registry and module.registry.names()


@pytest.mark.parametrize("service", PUBLISHERS)
def test_projection_handlers_name_published_events(service):
    published = set(contract_of(service).names())
    handlers = {f"{p.name}.on_{t}": t for p in _projections(service) for t in p.handled_types()}
    unknown = sorted(h for h, t in handlers.items() if t not in published)
    assert not unknown, f"{service}: read-model handlers of events it does not publish: {unknown}"


@pytest.mark.parametrize("service", SERVICES)
def test_subscriptions_name_published_events(service):
    subscriptions = _subscriptions(service)
    wrong = [f"{where} subscribes to {source}.{type_}" for where, source, type_ in subscriptions
             if contract_of(source) is None or type_ not in contract_of(source)]
    assert not wrong, "; ".join(wrong)


def test_the_check_would_catch_a_rename():
    """The two checks above compare against the registry; here a stale name is caught by both the
    runner (at construction) and the comparison itself."""
    class Stale(Projection):
        name = "stale"

        def define(self, metadata):
            self.rows = sa.Table("stale", metadata, sa.Column("id", sa.Integer, primary_key=True))

        def on_ProposalFiled(self, conn, envelope):  # published
            pass

        def on_ProposalLodged(self, conn, envelope):  # not published: a rename left behind
            pass

    with pytest.raises(ValueError, match="ProposalLodged"):
        ProjectionRunner(MemoryEventStore(Deployment("640200", "city")), sa.create_engine("sqlite://"),
                         [Stale()], registry=contract_of("proposals"))
    assert "ProposalLodged" not in contract_of("proposals")


# -- handlers see the decoded, upcast shape ------------------------------------------------------

registry = EventRegistry()


@registry.register
@dataclass(frozen=True)
class Weighed(DomainEvent):
    SCHEMA_VERSION = 2
    grams: int


@registry.upcaster("Weighed", 1)
def _kilos_to_grams(data: dict) -> dict:
    return {"grams": data["kilos"] * 1000}


class Scale(Projection):
    name = "scale"

    def define(self, metadata):
        self.rows = sa.Table("scale", metadata, sa.Column("position", sa.Integer, primary_key=True),
                             sa.Column("grams", sa.Integer))

    def on_Weighed(self, conn, envelope):
        conn.execute(self.rows.insert().values(position=envelope.position, grams=envelope.data["grams"]))


def test_the_runner_hands_handlers_events_decoded_through_the_registry():
    store = MemoryEventStore(Deployment("640200", "city"))
    ctx = CommandContext(actor=Actor("staff-001", "staff", "office"))
    store.append("scale-1", 0, [ctx.new_event("Weighed", {"kilos": 2}, schema_version=1),
                                ctx.new_event("Weighed", {"grams": 5}, schema_version=2)])
    engine = sa.create_engine("sqlite://")
    runner = ProjectionRunner(store, engine, [Scale()], registry=registry)
    runner.setup()
    runner.catch_up()
    with engine.connect() as conn:
        assert [r.grams for r in conn.execute(runner.projection("scale").rows.select())] == [2000, 5]


def test_reading_a_contract_loads_the_events_not_the_decisions():
    """A consumer reads the producer's events module; the producer's decisions stay out of its
    process (a service's domain package offers its other names lazily)."""
    import ast
    import subprocess
    import sys

    probe = ("import sys, services\n"
             "from xieshang.kernel.contracts import contract_of\n"
             "assert 'ProposalFiled' in contract_of('proposals') and 'DutyPointsAwarded' in contract_of('members')\n"
             "print(sorted(m for m in sys.modules if m.startswith('services.')))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(ast.literal_eval(out.stdout.strip().splitlines()[-1]))
    assert {"services.proposals.domain.events", "services.members.domain.events"} <= loaded
    assert not {m for m in loaded if m.endswith((".submission", ".handling", ".points", ".service"))}, loaded
