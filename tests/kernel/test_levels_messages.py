"""Committees at different levels, without a broker: the links setting, link messages and
their checks, the link outbox's mapping and the tool's refusals (tests/kernel/test_levels.py
runs deployments linked by real shovels)."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace

import orjson
import pytest
from click.testing import CliRunner

from tools import levels as tool
from tools.cli import main as cli
from xieshang.kernel import levels
from xieshang.kernel.config import ConfigError
from xieshang.kernel.envelope import LEVELS, SYSTEM_ACTOR, Deployment, NewEvent
from xieshang.kernel.levels import (IN_EXCHANGE, KINDS, LINKS_KEY, REASON_MISADDRESSED,
                                    REASON_SENDER_MISMATCH, REASON_UNKNOWN, REASON_UNLINKED,
                                    LinkMessage, LinkMessageError, LinkOutbox, Links,
                                    UnlinkedCommittee, check_link_message, from_key, link_tracking,
                                    out_queue_name, sender_of, to_key)
from xieshang.kernel.relay import Relay
from xieshang.kernel.store.memory import MemoryEventStore

from ..conftest import unique
from ..support.levels_services import CITY, COUNTY, REGION, mapper, send
from ..support.levels_services import envelope as _envelope
from ..support.levels_services import report as _report


# -- links ------------------------------------------------------------------------------------------

def test_links_parse_the_setting():
    text = "upper:640000:province:宁夏回族自治区政协, upper:640300:city:吴忠市政协:直属,"
    links = Links.load({LINKS_KEY: text}, COUNTY)
    assert [(l.direction, l.committee, l.level, l.name) for l in links] == [
        ("upper", "640000", "province", "宁夏回族自治区政协"),
        ("upper", "640300", "city", "吴忠市政协:直属")]  # the name may hold ':'
    assert "640300" in links and "640302" not in links and len(links) == 2
    assert links.get("640000").out_queue == "xieshang.levels.out.640000"
    assert [l.committee for l in links.upper] == ["640000", "640300"] and links.lower == ()
    assert links.may_send("opinion.reported", "640300")
    assert not links.may_send("opinion.decided", "640300") and not links.may_send("opinion.reported", "1")
    city = Links.parse("upper:640000:province:宁夏,lower:640302:county:利通区", CITY)
    assert city.may_send("opinion.decided", "640302") and city.may_send("opinion.reported", "640000")
    assert city.to_list()[1] == {"direction": "lower", "committee": "640302", "level": "county",
                                 "name": "利通区"}
    assert len(Links.load({LINKS_KEY: ""})) == 0 and len(Links.load({})) == 0


def test_links_fall_back_to_the_environment(monkeypatch):
    monkeypatch.setenv(LINKS_KEY, "lower:640302:county:利通区政协")
    assert [l.committee for l in Links.load({}, CITY)] == ["640302"]
    assert len(Links.load({LINKS_KEY: "upper:640000:province:宁夏"}, CITY)) == 1  # config wins


@pytest.mark.parametrize("text, own, says", [
    ("upper:640000:province", None, "four parts"),
    ("up:640000:province:宁夏", None, "upper or lower"),
    ("upper:64.0000:province:宁夏", None, "committee code"),
    ("upper:640000:provincial:宁夏", None, "national, province, city, county"),
    ("upper:640000:province: ", None, "name must not be empty"),
    ("upper:640000:province:宁夏,lower:640000:county:x", None, "linked twice"),
    ("lower:640302:county:利通区", COUNTY, "own committee"),
    ("upper:640301:county:x", COUNTY, "must be above"),
    ("lower:640000:province:宁夏", CITY, "must be below"),
])
def test_a_bad_link_entry_names_the_setting_and_the_entry(text, own, says):
    with pytest.raises(ConfigError) as err:
        Links.parse(text, own)
    message = str(err.value)
    assert message.startswith(f"{LINKS_KEY} 第 ") and says in message
    assert f"{LINKS_KEY} entry " in message


def test_levels_are_the_four_committee_levels():
    assert LEVELS == ("national", "province", "city", "county")
    assert Deployment("100000", "national").level == "national"


# -- messages --------------------------------------------------------------------------------------

def test_a_link_message_round_trips_in_canonical_json():
    env = _envelope(COUNTY, n=3)
    message = LinkMessage.of(env, "opinion.reported", "640300", {"n": 3, "title": "饮水安全"})
    assert (message.sender, message.event_id, message.stream, message.position, message.hash) == (
        COUNTY, env.event_id, env.stream, env.position, env.hash)
    assert message.message_id == f"{env.event_id}:640300" and message.routing_key == "to.640300"
    raw = message.to_json()
    assert raw == orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
    assert set(orjson.loads(raw)) == {"kind", "sender", "to", "event_id", "event_type", "stream",
                                      "position", "hash", "occurred_at", "payload"}
    assert LinkMessage.from_json(raw) == message
    newer = {**orjson.loads(raw), "added_later": 1}  # keys this code does not know are ignored
    assert LinkMessage.from_dict(newer) == message


def _body(**changes):
    d = orjson.loads(_report().to_json())
    for key, value in changes.items():
        if value is ...:
            d.pop(key)
        else:
            d[key] = value
    return orjson.dumps(d)


@pytest.mark.parametrize("raw, field", [
    (b"not json", "body"),
    (b"[1, 2]", "body"),
    (_body(kind="opinion.gossip"), "kind"),
    (_body(hash=...), "hash"),
    (_body(sender={"committee": "640302"}), "sender"),
    (_body(sender={"committee": "640302", "level": "township"}), "sender"),
    (_body(sender={"committee": 640302, "level": "county"}), "sender"),
    (_body(to="640.300"), "to"),
    (_body(event_id=""), "event_id"),
    (_body(position=0), "position"),
    (_body(position="7"), "position"),
    (_body(position=True), "position"),
    (_body(occurred_at="2026-11-25T08:30:15"), "occurred_at"),
    (_body(occurred_at="yesterday"), "occurred_at"),
    (_body(payload=[1]), "payload"),
])
def test_a_malformed_link_message_names_what_is_wrong(raw, field):
    with pytest.raises(LinkMessageError) as err:
        LinkMessage.from_json(raw)
    assert err.value.field == field
    assert f"link message {field}" in str(err.value) and str(err.value).startswith("联系消息")


def test_a_link_message_is_built_valid_or_not_at_all():
    with pytest.raises(LinkMessageError, match="occurred_at"):
        LinkMessage("opinion.reported", COUNTY, "640300", "e", "T", "s", 1, "h",
                    datetime(2026, 11, 25), {})
    with pytest.raises(LinkMessageError, match="payload"):
        LinkMessage("opinion.reported", COUNTY, "640300", "e", "T", "s", 1, "h",
                    datetime(2026, 11, 25, tzinfo=timezone.utc), {"x": object()}).to_json()


def test_the_routing_key_names_the_sender():
    assert (to_key("640300"), from_key("640302")) == ("to.640300", "from.640302")
    assert sender_of("from.640302") == "640302"
    assert sender_of("to.640302") is None and sender_of("from.") is None
    assert sender_of("from.a.b") is None and sender_of("") is None
    assert out_queue_name("640300") == "xieshang.levels.out.640300"
    assert set(KINDS.values()) == {"up", "down"}


def test_the_receiver_believes_the_link_and_checks_the_rest():
    city_links = Links.parse("upper:640000:province:宁夏,lower:640302:county:利通区", CITY)
    report = _report()
    assert check_link_message(report, "from.640302", city_links, CITY) is None
    cases = {
        REASON_UNKNOWN: (report, "from.640399"),
        "unknown by key": (report, "xieshang.levels.inbox"),
        REASON_SENDER_MISMATCH: (_report(sender=Deployment("640381", "county")), "from.640302"),
        "mismatched level": (_report(sender=Deployment("640302", "city"), to="640300"), "from.640302"),
        REASON_UNLINKED: (_report(kind="opinion.decided"), "from.640302"),
        "report from above": (_report(sender=REGION), "from.640000"),
        REASON_MISADDRESSED: (_report(to="640200"), "from.640302"),
    }
    expected = {"unknown by key": REASON_UNKNOWN, "mismatched level": REASON_SENDER_MISMATCH,
                "report from above": REASON_UNLINKED}
    for case, (message, key) in cases.items():
        refused = check_link_message(message, key, city_links, CITY)
        assert refused is not None and refused.reason == expected.get(case, case), case
    decision = _report(sender=REGION, kind="opinion.decided")
    assert check_link_message(decision, "from.640000", city_links, CITY) is None


def test_link_tracking_is_the_origin_event():
    report = _report()
    tracking = link_tracking("feedback.on_link_message", report)
    assert (tracking.consumer, tracking.event_id, tracking.position) == (
        "feedback.on_link_message", report.event_id, report.position)


def test_the_outbox_drops_nothing_and_keeps_what_has_no_link_waiting(caplog, monkeypatch):
    store = MemoryEventStore(COUNTY)
    outbox = LinkOutbox(mapper)
    outbox.deployment, outbox.unlinked, outbox._extra = COUNTY, 0, set()
    outbox.links = Links.parse("upper:640300:city:吴忠市政协", COUNTY)
    outbox.holder = SimpleNamespace(store=store)
    [good, unlinked, wrong_way, other] = store.append("s", None, [
        send("opinion.reported", "640300", 1), send("opinion.reported", "640000", 2),
        send("opinion.decided", "640300", 3), NewEvent("Other", {}, SYSTEM_ACTOR)])
    [out] = outbox._outgoing(good)
    assert (out.routing_key, out.message_id, out.type) == ("to.640300", f"{good.event_id}:640300",
                                                           "opinion.reported")
    assert LinkMessage.from_json(out.body).event_id == good.event_id
    # not linked: the first time, the relay must declare its queue first (and try again)
    with pytest.raises(UnlinkedCommittee):
        outbox._outgoing(unlinked)
    declared = []
    monkeypatch.setattr(levels, "declare_link_topology",
                        lambda channel, links, **kw: declared.extend(links))
    outbox._declare(None)
    assert [getattr(x, "committee", x) for x in declared] == ["640300", "640000"]
    [waiting] = outbox._outgoing(unlinked)
    assert waiting.routing_key == "to.640000"
    [wrong] = outbox._outgoing(wrong_way)   # the receiver dead-letters it, visibly
    assert wrong.routing_key == "to.640300"
    assert outbox._outgoing(other) == [] and outbox.unlinked == 3
    assert "not linked" in caplog.text and "linked as upper" in caplog.text
    outbox.deployment = CITY  # a message naming another sender is a bug: it stops the outbox
    with pytest.raises(LinkMessageError, match="sender"):
        outbox._outgoing(good)


def test_a_relay_with_messages_moves_past_events_that_make_none_without_a_broker():
    store = MemoryEventStore(COUNTY)
    store.append("s", None, [NewEvent("Other", {"i": i}, SYSTEM_ACTOR) for i in range(3)])
    relay = Relay(store, "amqp://guest:guest@127.0.0.1:1/", service="svc", exchange=unique("ex"),
                  messages=lambda env: [], name="relay:links", connect_timeout=0.5)
    assert relay.run_once() == 3
    assert store.get_checkpoint("relay:links") == 3 and relay.sent == 0
    assert store.get_checkpoint(f"relay:{relay.exchange_name}") == 0  # the name is its own


# -- the tool, without links --------------------------------------------------------------------------

def test_endpoints_derive_vhost_and_management_url(monkeypatch):
    monkeypatch.delenv(tool.MANAGEMENT_URL_KEY, raising=False)
    ep = tool.Endpoint("amqp://u:p%40ss@rabbit.local:5672/%2Fcounty", None, "640302", "county")
    assert ep.vhost == "/county" and ep.local_uri == "amqp:///%2Fcounty"
    assert ep.management == "http://rabbit.local:15672" and ep.credentials == ("u", "p@ss")
    assert ep.reach_uri == ep.amqp_uri
    assert tool.vhost_of("amqp://guest:guest@h:5672/") == "/" and tool.vhost_of("amqp://h") == "/"
    assert tool.vhost_of("amqp://h/city") == "city"
    monkeypatch.setenv(tool.MANAGEMENT_URL_KEY, "http://admin:secret@mgmt:8080/rabbit/api/")
    ep = tool.Endpoint("amqp://guest:guest@h/v", None, "1", shovel_uri="amqp://x@peer/v")
    assert ep.management == "http://mgmt:8080/rabbit" and ep.credentials == ("admin", "secret")
    assert ep.reach_uri == "amqp://x@peer/v"
    definition = tool.shovel_definition(
        tool.Endpoint("amqp://g:g@h/county", None, "640302", "county"),
        tool.Endpoint("amqp://g:g@h/city", None, "640300", "city", "amqp://g:g@peer:5672/city"))
    assert definition == {
        "src-protocol": "amqp091", "src-uri": "amqp:///county",
        "src-queue": "xieshang.levels.out.640300", "src-delete-after": "never",
        "dest-protocol": "amqp091", "dest-uri": "amqp://g:g@peer:5672/city",
        "dest-exchange": IN_EXCHANGE, "dest-exchange-key": "from.640302",
        "ack-mode": "on-confirm", "reconnect-delay": tool.RECONNECT_DELAY}


def test_link_refuses_a_pair_in_the_wrong_order_before_calling_anything():
    lower = tool.Endpoint("amqp://g:g@127.0.0.1:1/a", "http://127.0.0.1:1", "640300", "city")
    upper = tool.Endpoint("amqp://g:g@127.0.0.1:1/b", "http://127.0.0.1:1", "640302", "county")
    with pytest.raises(tool.LevelsError, match="must be below"):
        tool.link(lower, upper)
    with pytest.raises(tool.LevelsError, match="itself"):
        tool.link(lower, tool.Endpoint("amqp://h/b", None, "640300", "province"))


def test_an_unreachable_management_api_is_named():
    lower = tool.Endpoint("amqp://g:g@127.0.0.1:1/a", "http://127.0.0.1:1", "640302", "county")
    upper = tool.Endpoint("amqp://g:g@127.0.0.1:1/b", "http://127.0.0.1:1", "640300", "city")
    with pytest.raises(tool.LevelsError, match="management API of committee 640302 is unreachable"):
        tool.link(lower, upper)
    result = CliRunner().invoke(cli, ["levels", "status", "--amqp", "amqp://g:g@127.0.0.1:1/a",
                                      "--management", "http://127.0.0.1:1"])
    assert result.exit_code == 1 and "管理接口无法连接" in result.output

