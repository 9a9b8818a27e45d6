"""Two instances of the proposals service on one PostgreSQL schema pair and one broker, as
docker-compose.yml runs them (quorum RPC queues): they serve as one service.

What must happen once per deployment holds with two: case numbers stay sequential and gap-free
when filings race on both instances, one relay publishes (the lease), the deadline timer firing
on both records each reminder and overdue event once, and a read on one instance waits for a
write made on the other. Then the same through ``tools.stack.scaled_stack`` (separate `nameko run`
processes), which the benchmarks use.

Each test has its own RabbitMQ virtual host and its own PostgreSQL schemas (dropped afterwards).
"""

from __future__ import annotations

import contextlib
from datetime import datetime

import eventlet
import pytest
import requests
import sqlalchemy as sa
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook
from nameko.testing.utils import get_extension

from services.proposals.service import ProposalsService
from tools.stack import scaled_stack
from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import Actor
from xieshang.kernel.rpc import RpcQueueConsumer
from xieshang.kernel.runtime import StoreHolder

from .conftest import PG_URL, unique
from .services.conftest import MEMBER, STAFF, UNIT, store_of, wait_until
from .services.test_proposals_directory import seed_directory
from .services.test_proposals_service import DIRECTORY, START, SUBMISSION, clock_of

pytestmark = [pytest.mark.rabbit, pytest.mark.postgres]


@pytest.fixture
def pg_prefix():
    """A schema prefix of this test's own; its schemas are dropped after the containers stop."""
    prefix = unique("xs") + "_"
    yield prefix
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        for service in ("proposals", "gateway"):
            for schema in (f"{prefix}{service}", f"{prefix}{service}_views"):
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def config(pg_prefix, rabbit_config) -> dict:
    return {"AMQP_URI": rabbit_config["AMQP_URI"], "EVENT_STORE": "postgres", "DATABASE_URL": PG_URL,
            "PG_SCHEMA_PREFIX": pg_prefix, "XIESHANG_FIXED_TIME": START,
            "XIESHANG_RPC_QUEUE_TYPE": "quorum"}


@pytest.fixture
def two(pg_prefix, container_factory, config):
    """Two running proposals instances on the same schemas and queues, the directory seeded."""
    first, second = (container_factory(ProposalsService, dict(config)) for _ in range(2))
    pool = eventlet.GreenPool()
    for c in (first, second):  # side by side: they race on creating the schemas and queues
        pool.spawn(c.start)
    pool.waitall()
    seed_directory(first, **DIRECTORY)
    return first, second


@pytest.fixture
def rpc_as(config):
    with contextlib.ExitStack() as stack:
        def open_as(actor: Actor):
            return stack.enter_context(ClusterRpcProxy(
                config, context_data=CommandContext(actor=actor).to_context_data(), timeout=20))
        yield open_as


def consumers_of(amqp_uri: str, queue: str) -> int:
    with Connection(amqp_uri) as conn:
        return conn.channel().queue_declare(queue=queue, passive=True).consumer_count


def test_two_instances_on_one_schema_serve_as_one_service(two, rpc_as, config, rabbit_manager,
                                                          rabbit_config):
    first, second = two
    assert rabbit_manager.get_queue(rabbit_config["vhost"], "rpc-proposals")["type"] == "quorum"
    assert consumers_of(config["AMQP_URI"], "rpc-proposals") == 2
    member, staff = rpc_as(MEMBER), rpc_as(STAFF)
    pids = [member.proposals.submit_proposal(**SUBMISSION)["proposal_id"] for _ in range(12)]

    # Filings race on both instances (a proxy per green thread): one number each, none skipped.
    proxies = [rpc_as(Actor(f"staff-{i:03d}", "staff", "proposal-committee")) for i in range(12)]
    receipts = list(eventlet.GreenPool(12).imap(
        lambda args: args[0].proposals.file_proposal(args[1]), zip(proxies, pids)))
    numbers = sorted(staff.proposals.get_proposal(pid)["case_number"] for pid in pids)
    assert numbers == [f"2024-{n:03d}" for n in range(1, 13)]
    taken = store_of(second).read_stream("casenumbers-2024")
    assert sorted(e.data["sequence"] for e in taken) == list(range(1, 13))
    consumers = [get_extension(c, RpcQueueConsumer) for c in two]
    assert all(c.outcomes["delivered"] for c in consumers), [c.outcomes for c in consumers]

    # Whichever instance answers a query waits for the write the other one made.
    last = max(r["position"] for r in receipts)
    for _ in range(4):
        page = staff.proposals.worklist(status="filed", after_position=last)
        assert sorted(row["proposal_id"] for row in page["items"]) == sorted(pids)

    # One relay publishes (it holds the lease in the store); the other stands by.
    relays = [get_extension(c, StoreHolder).relay for c in two]
    wait_until(lambda: sum(r.is_leader for r in relays) == 1, what="one relay holding the lease")


def test_the_deadline_timer_on_both_instances_records_each_event_once(two, rpc_as):
    first, second = two
    member, staff = rpc_as(MEMBER), rpc_as(STAFF)
    pid = member.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(pid)
    staff.proposals.assign_proposal(pid, "mzj")                       # due 2024-05-30

    def tick():
        def run(container):
            with entrypoint_hook(container, "check_deadlines") as check:
                return check()
        return list(eventlet.GreenPool().imap(run, two))  # both instances at the same moment

    for c in two:
        clock_of(c).set(datetime.fromisoformat("2024-05-23T09:00:00+08:00"))
    tick()
    for c in two:
        clock_of(c).advance(days=9)                                     # 1 June: overdue
    counts = tick() + tick()
    types = [e.type for e in store_of(first).read_stream(f"proposal-{pid}")]
    assert types.count("ReplyDueSoon") == 1 and types.count("ReplyOverdue") == 1
    assert sum(c["overdue"] for c in counts) == 1  # each instance says what it recorded itself
    inbox = wait_until(lambda: [r for r in rpc_as(UNIT).proposals.unit_inbox("mzj")["items"]
                                if r["overdue"]], what="the overdue case in the unit's inbox")
    assert inbox[0]["proposal_id"] == pid


@pytest.mark.slow
@pytest.mark.subprocess
def test_scaled_stack_starts_two_proposals_processes_on_postgres(rabbit_config, rabbit_manager,
                                                                 tmp_path):
    amqp_uri = rabbit_config["AMQP_URI"]
    admin = ("bench-admin", "pw-" + unique("x"))
    env = {"XIESHANG_ADMIN_USER": admin[0], "XIESHANG_ADMIN_PASSWORD": admin[1], "LOG_LEVEL": "WARNING"}
    with scaled_stack(amqp_uri, PG_URL, tmp_path, proposals=2, env=env) as stack:
        assert sorted(stack.processes) == ["gateway", "members", "proposals", "proposals-2"]
        assert stack.admin() == admin
        login = requests.post(f"http://{stack.local_address()}/api/auth/login",
                              json={"user_id": admin[0], "password": admin[1]}, timeout=20)
        assert login.status_code == 200, login.text
        prefix = stack.layout.schema_prefix
        assert stack.rpc_consumers("proposals") == 2
        assert rabbit_manager.get_queue(rabbit_config["vhost"], "rpc-proposals")["type"] == "quorum"
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=20) as rpc:
            heads = {rpc.proposals.health()["head"] for _ in range(6)}
        assert len(heads) == 1  # both answer from the one log
        public = requests.get(f"http://{stack.local_address()}/api/public/proposals", timeout=20)
        assert public.status_code == 200 and public.json()["items"] == []
    assert all(p.poll() is not None for p in stack.processes.values())
    engine = sa.create_engine(PG_URL)
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT schema_name FROM information_schema.schemata "
                                    "WHERE schema_name LIKE :p"), {"p": f"{prefix}%"}).all()
    engine.dispose()
    assert left == []
