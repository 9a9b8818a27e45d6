"""Two instances of the notify service on one PostgreSQL store and one broker (docker-compose.yml
can run them): each public event a subscription wants is planned once and POSTed once, whichever
instance takes it from the integration exchange or finds the delivery due; the secrets are in
the shared private schema."""

from __future__ import annotations

import eventlet
import pytest
import sqlalchemy as sa

from services.notify.service import NotifyService

from ..conftest import PG_URL, unique
from .conftest import store_of, wait_until
from .test_webhooks import ADMIN, FILED, START, Receiver, publish, subscribe

pytestmark = [pytest.mark.rabbit, pytest.mark.postgres]


class Later:
    """A description said when a wait fails: what things were like then."""

    def __init__(self, say):
        self.say = say

    def __str__(self) -> str:
        return self.say()


@pytest.fixture
def config(rabbit_config, tmp_path):
    prefix = unique("xw") + "_"
    yield {"AMQP_URI": rabbit_config["AMQP_URI"], "XIESHANG_DATA_DIR": str(tmp_path / "data"),
           "EVENT_STORE": "postgres", "DATABASE_URL": PG_URL, "PG_SCHEMA_PREFIX": prefix,
           "XIESHANG_FIXED_TIME": START}
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        for schema in (f"{prefix}notify", f"{prefix}notify_views", f"{prefix}notify_private"):
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def test_two_instances_post_each_event_once_to_each_subscriber(container_factory, config, rpc_as):
    first, second = (container_factory(NotifyService, config) for _ in range(2))
    pool = eventlet.GreenPool()
    for c in (first, second):      # side by side: they race on the schemas and queues
        pool.spawn(c.start)
    pool.waitall()
    one, two = Receiver(), Receiver()
    try:
        one.secrets = [subscribe(rpc_as, one.url, ["cn.gov.cppcc.proposals"])[1]]
        two.secrets = [subscribe(rpc_as, two.url, [FILED])[1]]
        ids = publish(config, *[FILED, "cn.gov.cppcc.proposals.ProposalAssigned.v1"] * 10)
        wait_until(lambda: len(one.ids()) == 20 and len(two.ids()) == 10, timeout=60,
                   what=Later(lambda: f"every delivery (so far {len(one.ids())} and {len(two.ids())}; "
                                      f"{rpc_as(ADMIN).notify.webhook_deliveries(limit=100)['items']})"))
        assert sorted(one.ids()) == sorted(ids) and sorted(two.ids()) == sorted(ids[::2])
        assert one.unverified == two.unverified == []
        store = store_of(first)
        wait_until(lambda: sum(e.type == "WebhookDelivered" for e in store.read_all()) == 30, what="recorded")
        events = list(store.read_all())
        started = [e for e in events if e.type == "WebhookAttemptStarted"]
        assert len(started) == 30 and len({e.stream for e in started}) == 30
        assert sum(e.type == "WebhookEventReceived" for e in events) == 20
        assert len(rpc_as(ADMIN).notify.webhooks()["items"]) == 2
    finally:
        one.close()
        two.close()
