"""Committees at different levels, each its own deployment (its own RabbitMQ virtual host and
stores), linked by real shovels made by ``tools.levels.link``: a county reports up to its city
and to the province, the upper levels adopt, report, forward and instruct, and what they decide
comes back to the county's report; a link down for a minute loses and duplicates nothing; a
message that is not from a linked committee is dead-lettered, never applied; each side's
history names the other side's event ids and chain hashes.

``XIESHANG_TEST_LINK_OUTAGE`` (seconds, default 60) is how long the link stays down.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from kombu import Connection, Exchange
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ClusterRpcProxy

from services.feedback.domain import CHECKS, received_report_id
from services.feedback.service import FeedbackService
from tools import levels as link_tool
from xieshang.kernel.consumer import list_dead_letters, replay_dead_letters
from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import Actor
from xieshang.kernel.levels import IN_EXCHANGE, INBOX_QUEUE, out_queue_name

from .conftest import store_of, wait_until

pytestmark = [pytest.mark.rabbit, pytest.mark.slow]

NOW = "2024-05-06T10:00:00+08:00"
YEAR = 2024
OUTAGE = float(os.environ.get("XIESHANG_TEST_LINK_OUTAGE", "60"))
TEXT = "村里的留守老人就医难，乡镇卫生院缺少全科医生，建议开展巡回医疗。"
COUNTY, CITY, PROVINCE = ("640302", "county", "利通区政协"), ("640300", "city", "吴忠市政协"), \
    ("640000", "province", "宁夏回族自治区政协")


@dataclass
class Deployment:
    code: str
    level: str
    name: str
    amqp_uri: str
    container: Any = None
    proxies: dict = field(default_factory=dict)

    @property
    def endpoint(self) -> link_tool.Endpoint:
        return link_tool.Endpoint(self.amqp_uri, None, self.code, self.level)

    def rpc(self, actor: Actor):
        if actor not in self.proxies:
            ctx = CommandContext(actor=actor)
            self.proxies[actor] = self._stack.enter_context(ClusterRpcProxy(
                {"AMQP_URI": self.amqp_uri}, context_data=ctx.to_context_data(), timeout=20))
        return self.proxies[actor].feedback

    @property
    def staff(self):
        return self.rpc(Actor(f"staff-{self.code}", "staff", f"office-{self.code}"))

    def envelopes(self, stream: str):
        return store_of(self.container).read_stream(stream)


def link_spec(upper: list[tuple], lower: list[tuple]) -> str:
    return ",".join([*(f"upper:{c}:{lv}:{n}" for c, lv, n in upper),
                     *(f"lower:{c}:{lv}:{n}" for c, lv, n in lower)])


@pytest.fixture
def deployments(container_factory, vhost_pipeline, rabbit_config, tmp_path):
    """``deployments(spec)``: start one feedback service per committee of ``spec`` (code, level,
    name, upper links, lower links), each in a vhost of its own, and link them with shovels."""
    made: list[Deployment] = []
    with contextlib.ExitStack() as stack:
        def start(*specs) -> list[Deployment]:
            for (code, level, name), upper, lower in specs:
                vhost = stack.enter_context(vhost_pipeline.get())
                base = rabbit_config["AMQP_URI"].rsplit("/", 1)[0].replace("pyamqp://", "amqp://", 1)
                uri = f"{base}/{vhost}"
                d = Deployment(code, level, name, uri)
                d._stack = stack
                config = {"AMQP_URI": uri, "XIESHANG_DATA_DIR": str(tmp_path / code),
                          "COMMITTEE_CODE": code, "COMMITTEE_LEVEL": level,
                          "XIESHANG_LINKS": link_spec(upper, lower), "XIESHANG_FIXED_TIME": NOW}
                d.container = container_factory(FeedbackService, config)
                d.container.start()
                made.append(d)
            by_code = {d.code: d for d in made}
            for (code, _, _), upper, _ in specs:
                for (upper_code, _, _) in upper:
                    link_tool.link(by_code[code].endpoint, by_code[upper_code].endpoint)
                    link_tool.wait_running(by_code[code].endpoint, by_code[upper_code].endpoint)
            return made
        yield start
        for lower in made:
            for upper in made:
                if lower is not upper:
                    with contextlib.suppress(Exception):
                        link_tool.unlink(lower.endpoint, upper.endpoint)
        for d in made:  # before their vhosts go
            d.container.kill()


MEMBER = Actor("m-lt-001", "member", "经济界")
INFORMANT = Actor("i-lt-001", "informant", "信息员")
UNIT = Actor("u-lt-wjw", "unit", "lt-wjw")


def submit(d: Deployment, actor: Actor, title: str) -> str:
    return d.rpc(actor).submit_opinion_report(title, TEXT, channel="member", category="society")["report_id"]


def adopt(d: Deployment, report_id: str) -> dict:
    for check in CHECKS:
        d.staff.record_opinion_check(report_id, check, True, "审核通过")
    return d.staff.adopt_opinion_report(report_id)


def received(d: Deployment, origin: Deployment, origin_report: str) -> str:
    """The id of ``origin_report`` at ``d``, once it has arrived there."""
    report_id = received_report_id(origin.code, origin_report)

    def arrived():
        try:
            return d.staff.get_opinion_report(report_id)
        except RemoteError:
            return None
    wait_until(arrived, timeout=30, what=f"report {origin_report} from {origin.code} at {d.code}")
    return report_id


def decisions(d: Deployment, report_id: str) -> list[tuple[str, str]]:
    return [(x["committee"], x["decision"]) for x in d.staff.get_opinion_report(report_id)["decisions_above"]]


def events_of(d: Deployment, stream: str, type_: str):
    return [e for e in d.envelopes(stream) if e.type == type_]


def test_a_county_reports_up_to_its_city_and_the_decisions_come_back(deployments):
    county, city = deployments(
        (COUNTY, [CITY], []),
        (CITY, [], [COUNTY]))
    leader = Actor("leader-wz-01", "leader", "吴忠市委")
    # 利通区: three reports collected, two adopted, one reported up to 吴忠市 and its party committee
    r1 = submit(county, MEMBER, "关于开展乡村巡回医疗的建议")
    r2 = submit(county, INFORMANT, "关于改善农村饮水安全的建议")
    r3 = submit(county, MEMBER, "关于规范校外培训的建议")
    adopt(county, r1)
    adopt(county, r2)
    county.staff.not_adopt_opinion_report(r3, "已有部门在办理")
    reported = county.staff.report_opinion(r1, party_committee=True, upper=[CITY[0]])
    assert reported["event"] == "OpinionReportReported"

    # 吴忠市: the report is in its inbox, handled in its own loop
    up = received(city, county, r1)
    inbox = city.staff.opinion_inbox()
    assert [i["report_id"] for i in inbox["items"]] == [up]
    adopt(city, up)
    city.staff.report_opinion(up, party_committee=True, leaders=[leader.user_id])
    city.rpc(leader).record_leader_instruction(up, "请市卫健委研究落实", "city", "party_committee")
    city.staff.forward_opinion(up, ["wz-wjw"], "2024-06-30")

    # what 吴忠市 decided is recorded on 利通区's report (the inbox's workers may take them in
    # any order)
    wait_until(lambda: len(decisions(county, r1)) == 4, timeout=30, what="the city's decisions")
    assert sorted(decisions(county, r1)) == sorted([(CITY[0], "adopted"), (CITY[0], "reported"),
                                                    (CITY[0], "instructed"), (CITY[0], "forwarded")])

    # never twice to the same upper committee
    with pytest.raises(RemoteError) as again:
        county.staff.report_opinion(r1, upper=[CITY[0]])
    assert again.value.exc_type == "WrongState" and "不能重复报送" in str(again.value.details)

    # each side's history names the other side's event id, position and chain hash
    [sent] = events_of(county, f"opinion-{r1}", "OpinionReportReported")
    [took] = events_of(city, f"opinion-{up}", "OpinionReceivedFromBelow")
    assert (took.data["origin_event_id"], took.data["origin_position"], took.data["origin_hash"]) == \
        (sent.event_id, sent.position, sent.hash)
    upper_events = {e.event_id: e for e in city.envelopes(f"opinion-{up}")}
    for noted in events_of(county, f"opinion-{r1}", "OpinionDecidedAbove"):
        source = upper_events[noted.data["upper_event_id"]]
        assert (noted.data["upper_position"], noted.data["upper_hash"]) == (source.position, source.hash)
        assert noted.causation_id == source.event_id and noted.actor.organisation == CITY[0]

    # the year's figures of both levels count the same reports, as counted here by hand
    county_stats = county.staff.opinion_statistics(YEAR)
    assert county_stats["collected"] == 3 and county_stats["adopted"] == 2
    assert county_stats["not_adopted"] == 1
    assert county_stats["by_submitter_kind"] == {"member": 2, "informant": 1}
    assert county_stats["reported"]["party_committee"] == 1
    assert county_stats["reported"]["upper"] == {CITY[0]: 1}
    outcomes = county_stats["upper_outcomes"][CITY[0]]
    assert (outcomes["adopted"], outcomes["instructed"], outcomes["forwarded"]) == (1, 1, 1)
    city_stats = city.staff.opinion_statistics(YEAR)
    assert city_stats["collected"] == 0
    assert city_stats["received_from_below"]["total"] == 1
    assert city_stats["received_from_below"]["by_committee"] == {COUNTY[0]: 1}
    assert (city_stats["adopted"], city_stats["instructed"]) == (1, 1)
    assert city_stats["forwarded"]["reports"] == 1
    assert "吴忠市政协报送 1 篇" in county_stats["summary"]


def test_a_link_down_for_a_minute_loses_and_duplicates_nothing(deployments):
    county, city = deployments(
        (COUNTY, [CITY], []),
        (CITY, [], [COUNTY]))
    first = submit(county, MEMBER, "关于增设公交线路的建议")
    adopt(county, first)
    county.staff.report_opinion(first, upper=[CITY[0]])
    up = received(city, county, first)

    link_tool.unlink(county.endpoint, city.endpoint)   # both shovels stopped
    # while the link is down: a report goes up, a decision comes down; both wait in the queues
    second = submit(county, MEMBER, "关于建设农贸市场的建议")
    adopt(county, second)
    county.staff.report_opinion(second, upper=[CITY[0]])
    adopt(city, up)
    wait_until(lambda: link_tool.waiting(county.endpoint, out_queue_name(CITY[0])) == 1, timeout=20,
               what="the report waiting in the county's queue for the city")
    wait_until(lambda: link_tool.waiting(city.endpoint, out_queue_name(COUNTY[0])) == 1, timeout=20,
               what="the decision waiting in the city's queue for the county")
    eventlet_sleep(OUTAGE)
    assert decisions(county, first) == []
    with pytest.raises(RemoteError):
        city.staff.get_opinion_report(received_report_id(COUNTY[0], second))

    link_tool.link(county.endpoint, city.endpoint)
    received(city, county, second)
    wait_until(lambda: decisions(county, first) == [(CITY[0], "adopted")], timeout=30,
               what="the decision made during the outage")
    # delivered again (a shovel replaying what it had not confirmed) changes nothing
    replay_last(county, city)
    wait_until(lambda: link_tool.waiting(city.endpoint, INBOX_QUEUE) == 0, timeout=20,
               what="the city's inbox drained")
    inbox = city.staff.opinion_inbox()
    assert sorted(i["report_id"] for i in inbox["items"]) == sorted(
        received_report_id(COUNTY[0], r) for r in (first, second))
    assert Counter(e.type for e in store_of(city.container).read_all(0, 1000)
                   )["OpinionReceivedFromBelow"] == 2
    assert decisions(county, first) == [(CITY[0], "adopted")]


def eventlet_sleep(seconds: float) -> None:
    """The outage itself: time passing is what is tested, not a condition to wait for."""
    import eventlet

    eventlet.sleep(seconds)


def replay_last(county: Deployment, city: Deployment) -> None:
    """Publish the county's last report message to the city's inbound exchange again, as the
    shovel would after a lost confirm."""
    [sent] = [e for e in store_of(county.container).read_all(0, 1000) if e.type == "OpinionReportReported"][-1:]
    from xieshang.kernel.levels import LinkMessage
    from services.feedback.domain import registry, reported_payload

    message = LinkMessage.of(sent, "opinion.reported", CITY[0], reported_payload(registry.decode(sent)))
    publish(city, message.to_json(), f"from.{COUNTY[0]}", message.message_id)


def publish(d: Deployment, body: bytes, routing_key: str, message_id: str, headers=None) -> None:
    with Connection(d.amqp_uri) as conn:
        producer = conn.Producer()
        producer.publish(body, exchange=Exchange(IN_EXCHANGE, type="topic", durable=True),
                         routing_key=routing_key, message_id=message_id, headers=headers or {},
                         content_type="application/json", delivery_mode=2)


def test_messages_not_from_a_linked_committee_are_dead_lettered_and_never_applied(deployments):
    county, city = deployments(
        (COUNTY, [CITY], []),
        (CITY, [], [COUNTY]))
    report = submit(county, MEMBER, "关于加强河道治理的建议")
    adopt(county, report)
    county.staff.report_opinion(report, upper=[CITY[0]])
    received(city, county, report)
    [sent] = events_of(county, f"opinion-{report}", "OpinionReportReported")
    body = json.loads(json.dumps({
        "kind": "opinion.reported", "sender": {"committee": COUNTY[0], "level": "county"},
        "to": CITY[0], "event_id": "forged-1", "event_type": sent.type, "stream": sent.stream,
        "position": sent.position, "hash": sent.hash, "occurred_at": "2024-05-06T02:00:00Z",
        "payload": {"report_id": "forged", "title": "伪造的信息", "content": TEXT,
                    "category": "society", "channel": "member", "submitter_role": "member"}}))
    forged = json.dumps(body, ensure_ascii=False).encode()
    publish(city, forged, "from.110000", "forged-1:unknown")              # no link of that committee
    publish(city, json.dumps({**body, "sender": {"committee": "640381", "level": "county"}}).encode(),
            f"from.{COUNTY[0]}", "forged-1:mismatch")                     # another sender than the link's
    publish(city, b"{not json", f"from.{COUNTY[0]}", "broken")
    publish(city, json.dumps({**body, "to": "640100"}).encode(), f"from.{COUNTY[0]}", "forged-1:elsewhere")
    publish(city, forged, f"from.{COUNTY[0]}", "forged-1:ok")             # by the county's link: its own
    dead = wait_until(lambda: (lambda d: d if len(d) >= 4 else None)(
        list_dead_letters(city.amqp_uri, INBOX_QUEUE)), timeout=20, what="the dead letters")
    reasons = Counter(d["reason"] for d in dead)
    assert reasons["unknown_deployment"] == 1 and reasons["sender_mismatch"] == 1
    assert reasons["malformed"] == 1 and reasons["misaddressed"] == 1
    # only what came by the county's link, addressed here, is applied (once)
    wait_until(lambda: city.staff.opinion_inbox()["total"] == 2, timeout=20, what="the county's message")
    assert all(i["origin_committee"] == COUNTY[0] for i in city.staff.opinion_inbox()["items"])

    # a message claiming, in a header, to have come by another link is refused, and replaying
    # its dead letter does not make it that link's
    spoof = {**body, "event_id": "forged-2", "sender": {"committee": "640000", "level": "province"}}
    publish(city, json.dumps(spoof).encode(), f"from.{COUNTY[0]}", "forged-2:spoof",
            headers={"x-xieshang-routing-key": "from.640000"})
    wait_until(lambda: any(d["message_id"] == "forged-2:spoof" for d in
                           list_dead_letters(city.amqp_uri, INBOX_QUEUE)), timeout=20, what="the spoof")
    assert replay_dead_letters(city.amqp_uri, INBOX_QUEUE, ["forged-2:spoof"]) == 1
    wait_until(lambda: [d["reason"] for d in list_dead_letters(city.amqp_uri, INBOX_QUEUE)
                        if d["message_id"] == "forged-2:spoof"] == ["sender_mismatch"], timeout=20,
               what="the replayed spoof refused again")
    assert city.staff.opinion_inbox()["total"] == 2

    # a decision from above on a report that was never reported there: refused at once
    other = submit(county, MEMBER, "关于增加社区停车位的建议")
    decided = {**body, "kind": "opinion.decided", "sender": {"committee": CITY[0], "level": "city"},
               "to": COUNTY[0], "event_id": "forged-3",
               "payload": {"report_id": other, "upper_report_id": received_report_id(COUNTY[0], other),
                           "decision": "adopted", "detail": {}}}
    publish(county, json.dumps(decided).encode(), f"from.{CITY[0]}", "forged-3:refused")
    refused = wait_until(lambda: [d for d in list_dead_letters(county.amqp_uri, INBOX_QUEUE)
                                  if d["message_id"] == "forged-3:refused"], timeout=20,
                         what="the decision refused")
    assert refused[0]["reason"] == "refused" and refused[0]["deliveries"] == 1
    assert decisions(county, other) == []


def test_a_county_reports_to_its_city_and_straight_to_the_province(deployments):
    county, city, province = deployments(
        (COUNTY, [CITY, PROVINCE], []),
        (CITY, [], [COUNTY]),
        (PROVINCE, [], [COUNTY]))
    reports = [submit(county, MEMBER, f"关于第{n}项民生实事的建议") for n in range(1, 4)]
    for r in reports:
        adopt(county, r)
    county.staff.report_opinion(reports[0], upper=[CITY[0], PROVINCE[0]])
    county.staff.report_opinion(reports[1], upper=[PROVINCE[0]])
    county.staff.forward_opinion(reports[2], ["lt-wjw"], "2024-06-30")
    county.rpc(UNIT).send_opinion_feedback(reports[2], "已安排巡回医疗车每周下乡")

    at_city = received(city, county, reports[0])
    at_province = [received(province, county, r) for r in reports[:2]]
    adopt(city, at_city)
    adopt(province, at_province[0])
    province.staff.not_adopt_opinion_report(at_province[1], "与已采用信息重复")
    province.staff.report_opinion(at_province[0], government=True)
    province.rpc(Actor("leader-nx-01", "leader", "自治区政府")).record_leader_instruction(
        at_province[0], "请自治区卫健委会同有关部门办理", "province", "government")

    wait_until(lambda: len(decisions(county, reports[0])) == 4, timeout=30, what="both levels' decisions")
    assert sorted(decisions(county, reports[0])) == sorted([
        (CITY[0], "adopted"), (PROVINCE[0], "adopted"), (PROVINCE[0], "reported"),
        (PROVINCE[0], "instructed")])
    wait_until(lambda: decisions(county, reports[1]) == [(PROVINCE[0], "not_adopted")], timeout=30,
               what="the province's refusal")

    stats = {d.code: d.staff.opinion_statistics(YEAR) for d in (county, city, province)}
    c = stats[COUNTY[0]]
    assert (c["collected"], c["adopted"]) == (3, 3)
    assert c["reported"]["upper"] == {CITY[0]: 1, PROVINCE[0]: 2}
    assert c["upper_outcomes"][PROVINCE[0]]["adopted"] == 1
    assert c["upper_outcomes"][PROVINCE[0]]["not_adopted"] == 1
    assert c["upper_outcomes"][PROVINCE[0]]["instructed"] == 1
    assert c["upper_outcomes"][CITY[0]]["adopted"] == 1
    assert c["forwarded"]["reports"] == 1 and c["fed_back"]["reports"] == 1
    assert c["on_time"]["assignments"] == 1
    assert "向宁夏回族自治区政协报送 2 篇" in c["summary"] and "向吴忠市政协报送 1 篇" in c["summary"]
    assert stats[CITY[0]]["received_from_below"]["by_committee"] == {COUNTY[0]: 1}
    assert stats[PROVINCE[0]]["received_from_below"]["by_committee"] == {COUNTY[0]: 2}
    assert (stats[PROVINCE[0]]["adopted"], stats[PROVINCE[0]]["not_adopted"]) == (1, 1)
    assert stats[PROVINCE[0]]["instructed"] == 1 and stats[CITY[0]]["adopted"] == 1
