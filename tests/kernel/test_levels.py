"""Committees at different levels: links, link messages, and deployments linked by real shovels.

The broker tests run two deployments of a tiny service (tests/support/levels_services.py), each
in its own vhost made here, linked by the two shovels ``tools.levels.link`` makes; the vhosts
(and with them the shovels and queues) are deleted at the end.
"""

from __future__ import annotations

from collections import Counter

import kombu
import pytest
from click.testing import CliRunner

from tools import levels as tool
from tools.cli import main as cli
from xieshang.kernel.consumer import REASON_MALFORMED, list_dead_letters, replay_dead_letters
from xieshang.kernel.envelope import SYSTEM_ACTOR, Deployment, NewEvent
from xieshang.kernel.levels import (IN_EXCHANGE, INBOX_QUEUE, LINKS_KEY, OUT_EXCHANGE, REASON_MISADDRESSED,
                                    REASON_SENDER_MISMATCH, REASON_UNKNOWN, REASON_UNLINKED,
                                    LinkInbox, LinkOutbox, from_key, out_queue_name)
from xieshang.kernel.relay import Outgoing, Relay, RelayError
from xieshang.kernel.store.memory import MemoryEventStore

from ..conftest import AMQP_URI, unique
from ..support.consumer_services import wait_until
from ..support.levels_services import (CITY, COUNTY, MANAGEMENT, RECEIVED, REGION, SEND, SERVICE,
                                       Behaviour, make_level_service, send, store_of)
from ..support.levels_services import report as _report
from ..support.tcpproxy import TcpProxy



@pytest.mark.rabbit
def test_a_relay_with_messages_publishes_them_confirmed_and_mandatory():
    store = MemoryEventStore(COUNTY)
    exchange = unique("xs_levels_ex")
    envs = store.append("s", None, [NewEvent("E", {"i": i}, SYSTEM_ACTOR) for i in range(3)])

    def messages(env):
        return [Outgoing(f"k.{env.data['i']}", b'{"i":%d}' % env.data["i"], f"{env.event_id}:{n}",
                         {"n": n}) for n in range(2) if env.data["i"] != 1]

    with kombu.Connection(AMQP_URI) as conn:
        channel = conn.channel()
        queue = kombu.Queue(unique("xs_levels_q"), kombu.Exchange(exchange, type="topic", durable=True),
                            routing_key="k.*", durable=True)(channel)
        queue.declare()
        try:
            relay = Relay(store, AMQP_URI, service="svc", exchange=exchange, messages=messages,
                          mandatory=True)
            assert relay.run_once() == 3 and relay.sent == 4
            got = [queue.get(no_ack=True) for _ in range(4)]
            assert [m.properties["message_id"] for m in got] == [
                f"{envs[0].event_id}:0", f"{envs[0].event_id}:1", f"{envs[2].event_id}:0",
                f"{envs[2].event_id}:1"]
            assert got[0].headers == {"n": 0} and got[0].delivery_info["routing_key"] == "k.0"
            store.append("s", None, [NewEvent("E", {"i": 9}, SYSTEM_ACTOR)])
            relay.messages = lambda env: [Outgoing("nowhere", b"{}", env.event_id)]
            with pytest.raises(RelayError, match="returned 1 of 1"):
                relay.run_once()  # no queue takes it: not dropped, the checkpoint stays
            assert store.get_checkpoint(relay.name) == 3
        finally:
            queue.delete()
            kombu.Exchange(exchange)(channel).delete()


@pytest.mark.rabbit
def test_a_missing_vhost_is_named():
    lower = tool.Endpoint(f"amqp://guest:guest@127.0.0.1:5672/{unique('nope')}", MANAGEMENT,
                          "640302", "county")
    upper = tool.Endpoint("amqp://guest:guest@127.0.0.1:5672/", MANAGEMENT, "640300", "city")
    with pytest.raises(tool.LevelsError, match=f"vhost {lower.vhost!r} of committee 640302 does "
                                               "not exist"):
        tool.link(lower, upper)
    result = CliRunner().invoke(cli, ["levels", "link", "--lower-amqp", lower.amqp_uri,
                                      "--lower-committee", "640302", "--lower-level", "county",
                                      "--upper-amqp", upper.amqp_uri, "--upper-committee", "640300",
                                      "--upper-level", "city"])
    assert result.exit_code == 1 and "不存在" in result.output


# -- two deployments on real shovels ----------------------------------------------------------------

class Side:
    """One running deployment of the test service in its own vhost."""

    def __init__(self, deployment: Deployment, vhost: str, container, behaviour: Behaviour,
                 shovel_uri: str | None = None):
        self.deployment, self.vhost, self.container, self.behaviour = (deployment, vhost,
                                                                       container, behaviour)
        self.amqp_uri = f"{AMQP_URI.rstrip('/')}/{vhost}"
        self.endpoint = tool.Endpoint(self.amqp_uri, MANAGEMENT, deployment.committee,
                                      deployment.level, shovel_uri)

    @property
    def store(self):
        return store_of(self.container)

    @property
    def inbox(self) -> LinkInbox:
        from nameko.testing.utils import get_extension

        return get_extension(self.container, LinkInbox)

    @property
    def outbox_relay(self) -> Relay:
        from nameko.testing.utils import get_extension

        return get_extension(self.container, LinkOutbox).relay

    def send(self, kind: str, to: Deployment, n: int):
        return self.store.append(f"sent-{unique()}", None, [send(kind, to.committee, n)])[0]

    def received(self) -> list:
        return [e for e in self.store.read_all() if e.type == RECEIVED]

    def received_counts(self) -> Counter:
        return Counter(e.data["origin"] for e in self.received())

    def waiting_for(self, to: Deployment) -> int:
        """Messages ready in the queue for ``to`` (exact: AMQP, not the management stats)."""
        with kombu.Connection(self.amqp_uri) as conn:
            return conn.channel().queue_declare(out_queue_name(to.committee),
                                                passive=True).message_count


@pytest.fixture
def deployments(rabbit_manager, container_factory, tmp_path):
    """``start(deployment, links, shovel_uri=None, reply=False, **settings) -> Side``: a
    deployment of the test service in a fresh vhost; everything is stopped and the vhosts
    deleted afterwards."""
    sides: list[Side] = []

    def start(deployment: Deployment, links: str, shovel_uri: str | None = None,
              reply: bool = False, **settings: str) -> Side:
        vhost = unique("xs_levels")
        rabbit_manager.create_vhost(vhost)
        rabbit_manager.set_vhost_permissions(vhost, "guest", ".*", ".*", ".*")
        behaviour = Behaviour(reply=reply)
        config = {"AMQP_URI": f"{AMQP_URI.rstrip('/')}/{vhost}",
                  "COMMITTEE_CODE": deployment.committee, "COMMITTEE_LEVEL": deployment.level,
                  LINKS_KEY: links, "EVENT_STORE": "sqlite",
                  "XIESHANG_DATA_DIR": str(tmp_path / deployment.committee), "max_workers": 4,
                  **settings}
        container = container_factory(make_level_service(behaviour), config)
        side = Side(deployment, vhost, container, behaviour, shovel_uri)
        sides.append(side)
        container.start()
        return side

    yield start
    for side in sides:
        side.container.stop()
    for side in sides:
        rabbit_manager.delete_vhost(side.vhost)  # its shovels, exchanges and queues with it


def _county_and_city(deployments, *, reply=False):
    county = deployments(COUNTY, "upper:640300:city:吴忠市政协")
    city = deployments(CITY, "lower:640302:county:利通区政协", reply=reply)
    return county, city


def _linked(lower: Side, upper: Side) -> None:
    names = tool.link(lower.endpoint, upper.endpoint)
    assert names == {"lower": "xieshang.levels.to.640300", "upper": "xieshang.levels.to.640302"}
    tool.wait_running(lower.endpoint, upper.endpoint, timeout=20)


def test_a_report_goes_up_and_the_decision_comes_back(deployments):
    county, city = _county_and_city(deployments, reply=True)
    _linked(county, city)
    sent = county.send("opinion.reported", CITY, 1)

    wait_until(lambda: len(county.received()) == 1, what="the decision back at the county")
    [up] = city.received()
    assert up.data == {"origin": sent.event_id, "kind": "opinion.reported", "from": "640302",
                       "n": 1, "origin_hash": sent.hash, "origin_position": sent.position}
    reply = next(e for e in city.store.read_all() if e.type == SEND)
    [down] = county.received()
    assert down.data["origin"] == reply.event_id and down.data["origin_hash"] == reply.hash
    assert down.data["from"] == "640300" and down.data["kind"] == "opinion.decided"
    assert city.behaviour.calls[0].sender == COUNTY
    assert city.store.is_processed(f"{SERVICE}.on_link_message", sent.event_id)

    result = CliRunner().invoke(cli, ["levels", "status", "--amqp", county.amqp_uri,
                                      "--management", MANAGEMENT])
    assert result.exit_code == 0, result.output
    assert "xieshang.levels.to.640300" in result.output and "running" in result.output
    assert "guest:guest" not in result.output and "key from.640302" in result.output


def test_messages_sent_while_unlinked_arrive_once_when_linked_again(deployments):
    county, city = _county_and_city(deployments)
    _linked(county, city)
    first = [county.send("opinion.reported", CITY, n) for n in range(10)]
    wait_until(lambda: len(city.received()) >= 3, what="the first reports arriving")
    assert tool.unlink(county.endpoint, city.endpoint) == ["xieshang.levels.to.640300",
                                                           "xieshang.levels.to.640302"]
    wait_until(lambda: not tool.shovel_states(county.endpoint), what="the shovels gone")
    rest = [county.send("opinion.reported", CITY, n) for n in range(10, 30)]
    wait_until(lambda: county.outbox_relay.sent >= 30, what="all 30 in the county's queue")
    assert county.waiting_for(CITY) >= 20  # nothing takes them while the link is down
    assert len(city.received()) <= 10

    _linked(county, city)
    wait_until(lambda: len(city.received_counts()) == 30, what="every report at the city")
    counts = city.received_counts()
    assert set(counts) == {e.event_id for e in first + rest} and set(counts.values()) == {1}
    wait_until(lambda: county.waiting_for(CITY) == 0, what="the county's queue drained")
    assert tool.unlink(county.endpoint, city.endpoint) and not tool.unlink(county.endpoint,
                                                                            city.endpoint)


def test_an_unreachable_upper_broker_loses_nothing(deployments):
    with TcpProxy.for_uri(AMQP_URI, 5672) as proxy:
        county, city = _county_and_city(deployments)
        # The county's shovel reaches the city's broker through the proxy only.
        city.endpoint = tool.Endpoint(city.amqp_uri, MANAGEMENT, CITY.committee, CITY.level,
                                      proxy.uri(city.amqp_uri))
        _linked(county, city)
        before = [county.send("opinion.reported", CITY, n) for n in range(5)]
        wait_until(lambda: len(city.received()) == 5, what="the reports before the outage")

        proxy.cut()
        to_city = tool.shovel_name(CITY.committee)
        wait_until(lambda: tool.shovel_states(county.endpoint).get(to_city) != "running",
                   what="the county's shovel noticing the outage")
        during = [county.send("opinion.reported", CITY, n) for n in range(5, 25)]
        wait_until(lambda: county.outbox_relay.sent >= 25, what="the reports queued at the county")
        assert len(city.received()) == 5 and county.waiting_for(CITY) >= 20

        proxy.restore()
        wait_until(lambda: len(city.received_counts()) == 25, what="every report at the city")
        counts = city.received_counts()
        assert set(counts) == {e.event_id for e in before + during} and set(counts.values()) == {1}
        assert tool.shovel_states(county.endpoint)[to_city] == "running"


def test_refused_messages_are_dead_lettered_with_their_reason_and_never_handled(deployments):
    city = deployments(CITY, "lower:640302:county:利通区政协")
    stranger = Deployment("640381", "county")  # 青铜峡市政协: not linked to this city
    cases = {
        REASON_MALFORMED: (b'{"kind": "opinion.reported"', from_key("640302")),
        REASON_UNKNOWN: (_report(sender=stranger).to_json(), from_key("640381")),
        REASON_UNLINKED: (_report(kind="opinion.decided").to_json(), from_key("640302")),
        REASON_SENDER_MISMATCH: (_report(sender=stranger).to_json(), from_key("640302")),
        REASON_MISADDRESSED: (_report(to="640200").to_json(), from_key("640302")),
    }
    ids = {reason: unique(reason) for reason in cases}
    good = _report()
    with kombu.Connection(city.amqp_uri) as conn:
        producer = kombu.Producer(conn.channel())
        for reason, (body, key) in [*cases.items(), ("ok", (good.to_json(), from_key("640302")))]:
            producer.publish(body, exchange=IN_EXCHANGE, routing_key=key,
                             message_id=ids.get(reason, good.message_id),
                             content_type="application/json", content_encoding="utf-8",
                             delivery_mode=2)

    inbox = city.inbox
    wait_until(lambda: sum(inbox.outcomes[r] for r in cases) == 5 and inbox.outcomes["handled"] == 1,
               what="five refusals and one handled message")
    assert [m.event_id for m in city.behaviour.calls] == [good.event_id]
    assert list(city.received_counts()) == [good.event_id]
    letters = {d["message_id"]: d for d in list_dead_letters(city.amqp_uri, INBOX_QUEUE)}
    assert {mid: letters[mid]["reason"] for mid in ids.values()} == {i: r for r, i in ids.items()}
    assert {d["consumer"] for d in letters.values()} == {f"{SERVICE}.on_link_message"}
    assert "addressed to 640200" in letters[ids[REASON_MISADDRESSED]]["error"]

    # Replayed by an operator, a message is checked against the link it first came by.
    assert replay_dead_letters(city.amqp_uri, INBOX_QUEUE, [ids[REASON_MISADDRESSED]]) == 1
    wait_until(lambda: inbox.outcomes[REASON_MISADDRESSED] == 2, what="the replay refused again")
    assert inbox.outcomes[REASON_UNKNOWN] == 1 and len(city.behaviour.calls) == 1


def test_the_outbox_declares_its_queues_and_the_inbox_its_own(deployments):
    county = deployments(COUNTY, "upper:640300:city:吴忠市政协,upper:640000:province:宁夏回族自治区政协")
    with kombu.Connection(county.amqp_uri) as conn:
        channel = conn.channel()
        for queue in (out_queue_name("640300"), out_queue_name("640000"), INBOX_QUEUE,
                      f"{INBOX_QUEUE}.dead"):
            channel.queue_declare(queue, passive=True)  # raises if missing
        channel.exchange_declare(OUT_EXCHANGE, "topic", passive=True)
    # Without a link, what is sent waits in the queue of its committee.
    county.send("opinion.reported", REGION, 1)
    county.send("opinion.reported", CITY, 2)
    wait_until(lambda: county.outbox_relay.sent == 2, what="both confirmed")
    assert [county.waiting_for(d) for d in (CITY, REGION)] == [1, 1]


def test_no_relay_means_no_link_outbox(deployments):
    county = deployments(COUNTY, "upper:640300:city:吴忠市政协", XIESHANG_RELAY="0")
    assert county.outbox_relay is None
    county.send("opinion.reported", CITY, 1)
    with kombu.Connection(county.amqp_uri) as conn:
        channel = conn.channel()
        channel.queue_declare(INBOX_QUEUE, passive=True)  # the inbox still consumes
        with pytest.raises(Exception, match="NOT_FOUND"):
            channel.queue_declare(out_queue_name("640300"), passive=True)
