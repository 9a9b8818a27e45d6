"""Duty points from the proposals service's events, across services on the real RabbitMQ.

The proposals service runs for real and publishes through its relay; the members service
consumes. The ledger must equal a from-scratch replay of the proposals log through the members
domain, whatever happened on the way: events published twice, a second members instance on the
same store handling events at the same time, and the members service stopped while about a
thousand proposal events went by. And, without a broker, a credit priced by rules that changed
while it was being recorded is priced again.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from functools import lru_cache

import pytest
from kombu import Connection, Producer
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import worker_factory

from services.members import domain as d
from services.members.service import MembersService
from services.proposals.service import ProposalsService
from xieshang.kernel.clock import SHANGHAI, FixedClock
from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import Actor, Envelope, NewEvent
from xieshang.kernel.store import Tracking
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.streams import Streams

from ..conftest import DEPLOYMENT
from .conftest import STAFF, entrypoint_of, store_of, wait_until
from .test_proposals_directory import seed_directory

pytestmark = [pytest.mark.rabbit, pytest.mark.slow]

FIXED = "2024-03-01T09:00:00+08:00"
MEMBERS = [f"m-{n:02d}" for n in range(20)]
UNIT = Actor("u-mzj-001", "unit", "mzj")
LEADER = Actor("leader-001", "leader", "chairs-meeting")
TEXT = dict(reasons="社区健身场地不足，器材老化。", suggestions="利用闲置地块建设口袋公园和健身步道。", category="society")
CONSUMED = ("ProposalSubmitted", "ProposalFiled", "CoSignatureConfirmed", "MergedProposalAdded",
            "ProposalDesignatedKey", "ReplyRated")
HANDLERS = ("on_proposal_submitted", "on_proposal_filed", "on_co_signature_confirmed",
            "on_merged_proposal_added", "on_proposal_designated_key", "on_reply_rated")


def member(member_id: str) -> Actor:
    return Actor(member_id, "member", "经济界")


@pytest.fixture
def rpc(config):
    """``rpc(actor)``: a started proxy per actor, reused (the drive makes hundreds of calls)."""
    proxies = []

    @lru_cache(maxsize=None)
    def open_as(actor: Actor):
        proxy = ClusterRpcProxy(config, context_data=CommandContext(actor=actor).to_context_data(), timeout=30)
        proxies.append(proxy)
        return proxy.start()

    yield open_as
    for proxy in proxies:
        proxy.stop()


def drive(rpc, i: int) -> None:
    """Proposal ``i``'s life: joint (every third), a second proposal merged into it (every
    seventh), filed, key (every fourth), assigned, replied, rated by every proposer."""
    proposer = MEMBERS[i % 20]
    co_signers = [MEMBERS[(i + 1) % 20]] if i % 3 == 0 else []
    pid = rpc(member(proposer)).proposals.submit_proposal(title=f"关于全民健身的提案之{i}", co_signers=co_signers,
                                                          **TEXT)["proposal_id"]
    for c in co_signers:
        rpc(member(c)).proposals.confirm_co_signature(pid)
    raters = [proposer]
    if i % 7 == 0:
        other = MEMBERS[(i + 5) % 20]
        merged = rpc(member(other)).proposals.submit_proposal(title=f"关于健身步道的提案之{i}", **TEXT)["proposal_id"]
        rpc(STAFF).proposals.merge_proposal(merged, pid)
        raters.append(other)
    rpc(STAFF).proposals.file_proposal(pid)
    if i % 4 == 0:
        rpc(STAFF).proposals.designate_key_proposal(pid, [LEADER.user_id], "proposal_committee")
    rpc(STAFF).proposals.assign_proposal(pid, "mzj", deadline="2024-05-31")
    rpc(UNIT).proposals.reply_to_proposal(pid, "A", "已建成口袋公园12个。")
    for rater in dict.fromkeys(raters):
        rpc(member(rater)).proposals.rate_reply(pid, "satisfied", "satisfied")


def replay(proposals_log: list[Envelope], committee: str) -> dict[str, list[tuple]]:
    """The ledgers from scratch: every proposals event, in log order, through the members domain
    with the default rules."""
    events: dict[str, list] = {}
    cases: dict[str, list] = {}

    def award(credits: list[d.Credit]) -> None:
        for c in credits:
            ledger = d.fold_ledger(c.member_id, events.get(c.member_id, []))
            events.setdefault(c.member_id, []).extend(d.award(ledger, [c], d.PointRules(committee, c.year)))

    for e in proposals_log:
        if e.type not in CONSUMED:
            continue
        year = e.occurred_at.astimezone(SHANGHAI).year
        award(d.proposal_credits(e.type, e.data, event_id=e.event_id, stream=e.stream, year=year))
        if e.type in ("ProposalSubmitted", "MergedProposalAdded", "ProposalDesignatedKey"):
            pid = e.data["proposal_id"]
            case = d.fold_case(pid, cases.get(pid, []))
            cases.setdefault(pid, []).extend(d.note_case(case, e.type, e.data, event_id=e.event_id,
                                                         stream=e.stream, year=year))
            award(d.key_credits(d.fold_case(pid, cases[pid])))
    return {m: entries(d.fold_ledger(m, evs)) for m, evs in events.items()}


def entries(ledger: d.Ledger) -> list[tuple]:
    return sorted((e.credit_key, e.activity, e.points, e.year, e.source_service, e.source_event_id,
                   e.source_stream) for e in ledger.entries)


def live(members_store) -> dict[str, list[tuple]]:
    """The members service's ledgers as recorded; fails if any credit was recorded twice."""
    by_stream: dict[str, list] = {}
    for e in members_store.read_all():
        if e.stream.startswith("ledger-"):
            by_stream.setdefault(e.stream, []).append(d.registry.decode(e))
    out = {}
    for stream, evs in by_stream.items():
        awarded = Counter(e.credit_key for e in evs if isinstance(e, d.DutyPointsAwarded))
        assert max(awarded.values()) == 1, f"{stream} credits {awarded.most_common(1)} more than once"
        member_id = stream[len("ledger-"):]
        out[member_id] = entries(d.fold_ledger(member_id, evs))
    return out


def republish(config, envelopes: list[Envelope]) -> None:
    """Publish events again, as a relay does after a crash (same message ids)."""
    with Connection(config["AMQP_URI"]) as conn:
        producer = Producer(conn)
        for e in envelopes:
            producer.publish(e.to_json(), exchange=get_event_exchange("proposals", config), routing_key=e.type,
                             message_id=e.event_id, content_type="application/json", declare=[])


def failures(*containers) -> Counter:
    out: Counter = Counter()
    for container in containers:
        for name in HANDLERS:
            outcomes = entrypoint_of(container, name).outcomes
            out.update({k: outcomes[k] for k in ("dead_lettered", "malformed")})
    return out


def test_each_proposals_event_credits_its_member_with_a_link_to_it(container_factory, config, rpc):
    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": FIXED})
    members = container_factory(MembersService, config)
    proposals.start()
    members.start()
    seed_directory(proposals, members=[*MEMBERS, LEADER.user_id], units=["mzj"])
    rpc(STAFF).members.register_organisation("s-jj", "sector", "经济界")
    for m in ("m-00", "m-01", "m-05"):
        rpc(STAFF).members.appoint_member(m, f"委员{m}", "经济界", "第十届")
    drive(rpc, 0)   # joint (m-01 co-signs), m-05's proposal merged into it, key, rated by m-00 and m-05

    def activities(member_id: str) -> list[str]:
        return sorted(e["activity"] for e in rpc(STAFF).members.get_member(member_id)["ledger"])
    wait_until(lambda: activities("m-00") == ["proposal_filed", "proposal_made_key", "proposal_submitted",
                                              "reply_rated"], what="the proposer's credits")
    wait_until(lambda: activities("m-05") == ["proposal_made_key", "proposal_merged", "proposal_submitted",
                                              "reply_rated"], what="the merged proposer's credits")
    wait_until(lambda: activities("m-01") == ["proposal_co_signed"], what="the co-signer's credit")
    log = store_of(proposals).read_all()
    key = next(e for e in log if e.type == "ProposalDesignatedKey")
    made_key = next(e for e in rpc(STAFF).members.get_member("m-05")["ledger"]
                    if e["activity"] == "proposal_made_key")
    link = (made_key["source_service"], made_key["source_event_id"], made_key["source_stream"], made_key["points"])
    assert link == ("proposals", key.event_id, key.stream, d.DEFAULT_POINT_RULES["proposal_made_key"])
    dossier = rpc(member("m-00")).members.get_dossier("m-00")
    [year] = dossier["years"]
    assert year["year"] == 2024 and year["total"] == 5 + 3 + 0 + 1
    assert {e["label"] for e in year["entries"]} == {"提交提案", "提案立案", "提案列为重点提案", "评价提案办理答复"}
    assert live(store_of(members)) == replay(log, store_of(members).deployment.committee)


def test_the_ledger_equals_a_replay_after_duplicates_concurrency_and_downtime(container_factory, config, rpc):
    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": FIXED})
    first = container_factory(MembersService, config)
    second = container_factory(MembersService, config)   # the same store folder: a second instance
    for container in (proposals, first, second):
        container.start()
    seed_directory(proposals, members=[*MEMBERS, LEADER.user_id], units=["mzj"])
    p_store, m_store = store_of(proposals), store_of(first)
    committee = m_store.deployment.committee

    def settled() -> bool:
        return live(m_store) == replay(p_store.read_all(), committee)

    # Two instances compete for the same queues while every event is also published twice.
    for i in range(40):
        drive(rpc, i)
    wait_until(lambda: p_store.get_checkpoint("relay:proposals.events") >= p_store.head(), what="the relay")
    republish(config, p_store.read_all())
    wait_until(settled, timeout=30, what="the ledgers of two instances to equal the replay")
    handled = Counter()
    for container in (first, second):
        for name in HANDLERS:
            handled[container is first] += entrypoint_of(container, name).outcomes["handled"]
    assert handled[True] and handled[False], handled   # both instances did some of the work

    # The members service is down while about a thousand proposal events go by.
    first.stop()
    second.stop()
    head = p_store.head()
    for i in range(40, 185):
        drive(rpc, i)
    assert p_store.head() - head >= 1000
    third = container_factory(MembersService, config)
    third.start()
    wait_until(settled, timeout=45, what="the ledgers to catch up with the backlog")
    republish(config, p_store.read_all()[-200:])   # and one more redelivery, after the catch-up
    skipped = lambda: sum(entrypoint_of(third, n).outcomes["skipped"] for n in HANDLERS)  # noqa: E731
    wait_until(lambda: skipped() > 0, what="redelivered events to be skipped")
    wait_until(settled, timeout=20, what="the ledgers to stay equal to the replay")
    assert failures(first, second, third) == Counter()
    ledger = live(m_store)
    assert len(ledger) == 20 and sum(len(v) for v in ledger.values()) > 700


class _RulesChangeWhileCrediting(MemoryEventStore):
    """Staff set the year's rules right after a credit has read them (and before it appends)."""

    def __init__(self):
        super().__init__(DEPLOYMENT)
        self.race = True

    def read_stream(self, stream, from_version=1):
        events = super().read_stream(stream, from_version)
        if stream.startswith("pointrules-") and self.race:
            self.race = False
            self.append(stream, 0, [CommandContext(actor=STAFF).new_event("PointRulesSet", d.PointRulesSet(
                committee=DEPLOYMENT.committee, year=2024, version=1, points={"proposal_filed": 9}).to_data())])
        return events


def test_a_credit_priced_by_rules_that_changed_meanwhile_is_priced_again():
    store = _RulesChangeWhileCrediting()
    clock = FixedClock(datetime.fromisoformat(FIXED))
    service = worker_factory(MembersService, streams=Streams(store, d.registry, clock), clock=clock)
    service.tracking.side_effect = lambda e: Tracking("members.on_proposal_filed", e.event_id, e.position)
    [filed] = MemoryEventStore(DEPLOYMENT).append("proposal-p1", 0, [NewEvent(
        "ProposalFiled", {"proposal_id": "p1", "case_number": "2024-001", "proposer": "m-1", "title": "t",
                          "category": "society"}, STAFF, occurred_at=datetime.fromisoformat(FIXED))])
    service.on_proposal_filed(filed)
    ledger = store.read_stream("ledger-m-1")
    assert [e.type for e in ledger] == ["DutyPointsAwarded", "DutyPointsRecomputed"]
    assert ledger[0].data["points"] == 5 and ledger[0].data["rules_version"] == 0   # priced by the defaults...
    [entry] = d.fold_ledger("m-1", [d.registry.decode(e) for e in ledger]).entries
    assert (entry.points, entry.rules_version) == (9, 1)                            # ...and again by the new rules
