"""Two instances of the notify service on one PostgreSQL store and one broker, as
docker-compose.yml can run them: each notice is queued once and mailed once, whichever instance
takes the event or finds the delivery due."""

from __future__ import annotations

import eventlet
import pytest
import sqlalchemy as sa

from services.notify.service import NotifyService

from ..conftest import PG_URL, unique
from .conftest import STAFF, store_of, wait_until
from .test_notify_service import (_deliveries, inbox, member, smtp_config, start_stack, told,
                                  wait_for_directory, SUBMISSION, LocalSmtpServer)

pytestmark = [pytest.mark.rabbit, pytest.mark.postgres]


@pytest.fixture
def config(rabbit_config, tmp_path):
    prefix = unique("xn") + "_"
    yield {"AMQP_URI": rabbit_config["AMQP_URI"], "XIESHANG_DATA_DIR": str(tmp_path / "data"),
           "EVENT_STORE": "postgres", "DATABASE_URL": PG_URL, "PG_SCHEMA_PREFIX": prefix,
           "XIESHANG_RPC_QUEUE_TYPE": "quorum"}
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        for service in ("proposals", "members", "notify"):
            for schema in (f"{prefix}{service}", f"{prefix}{service}_views", f"{prefix}{service}_private"):
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def test_two_instances_queue_and_mail_each_notice_once(container_factory, config, rpc_as):
    with LocalSmtpServer() as smtp:
        first, second = (container_factory(NotifyService, {**config, **smtp_config(smtp)}) for _ in range(2))
        pool = eventlet.GreenPool()
        for c in (first, second):      # side by side: they race on the schemas and queues
            pool.spawn(c.start)
        pool.waitall()
        start_stack(container_factory, config, rpc_as, None)
        wait_for_directory(first)
        staff = rpc_as(STAFF)
        for n in range(4):
            pid = rpc_as(member("m-li")).proposals.submit_proposal(**SUBMISSION)["proposal_id"]
            staff.proposals.file_proposal(pid)
            staff.proposals.assign_proposal(pid, "mzj", co_units=["jyj", "zjj"])
        told(rpc_as, {"m-li": ["proposal_assigned", "proposal_filed"] * 4, "mzj": ["proposal_assigned_lead"] * 4,
                      "jyj": ["proposal_assigned_co"] * 4, "zjj": ["proposal_assigned_co"] * 4})
        smtp.wait_for(20, timeout=30)
        wait_until(lambda: all(d["state"] == "sent" for d in _deliveries(first)), what="every delivery sent")
        assert len(smtp.messages) == 20 and len({m["Message-ID"] for m in smtp.messages}) == 20
        store = store_of(first)
        started = [e for e in store.read_all() if e.type == "DeliveryAttemptStarted"]
        assert len(started) == 20 and len({e.stream for e in started}) == 20
        queued = [e for e in store.read_all() if e.type == "NotificationQueued"]
        assert len(queued) == len({e.event_id for e in queued}) == 20
        assert sorted(n["kind"] for n in inbox(rpc_as, "m-li")) == ["proposal_assigned"] * 4 + ["proposal_filed"] * 4
