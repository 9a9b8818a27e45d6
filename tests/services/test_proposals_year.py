"""A whole year of one committee through the proposals service on the real RabbitMQ.

200 proposals across 20 handling units, 50 members, with every outcome: returned and revised,
returned for good, not filed (some converted), merged, joint with co-signers (one declining),
objections (reassigned or dismissed), key proposals, on-time and late replies A/B/C, overdue
cases never replied, unsatisfied ratings and a second round, B follow-ups kept or not, closed
and still open cases. The plan below says what happens to case ``i``; the expected statistics
are counted from the plan by hand (plain loops over what the plan did), never from events.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from functools import lru_cache

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from services.proposals.domain import CATEGORIES
from services.proposals.service import ProposalsService
from xieshang.kernel.clock import ClockProvider
from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import Actor

pytestmark = [pytest.mark.rabbit, pytest.mark.slow]

N = 200
UNITS = [f"u{n:02d}" for n in range(1, 21)]
MEMBERS = [f"m-{n:03d}" for n in range(50)]
STAFF = Actor("staff-001", "staff", "proposal-committee")
LEADER = Actor("leader-001", "leader", "chairs-meeting")
CONTENT = ("satisfied", "basically_satisfied")


# -- the plan: what happens to case i --------------------------------------------------------------

def proposer(i): return MEMBERS[i % 50]
def not_filed(i): return i % 25 == 0                 # 8 cases, half of them converted
def converted(i): return i % 50 == 0
def merged(i): return i % 25 == 1                    # 8 cases, merged into case i + 1
def returned_for_good(i): return i % 40 == 9         # 5 cases, never revised
def returned_and_revised(i): return i % 20 == 3      # 10 cases
def joint(i): return i % 10 == 5                     # two co-signers
def declines(i): return i % 30 == 5                  # ... the second of whom declines
def co_signers(i): return [MEMBERS[(i + 1) % 50], MEMBERS[(i + 2) % 50]] if joint(i) else []
def filed(i): return not (not_filed(i) or merged(i) or returned_for_good(i))
def category(i): return CATEGORIES[i % len(CATEGORIES)]
def lead(i): return UNITS[i % 20]
def co_unit(i): return [UNITS[(i + 7) % 20]] if i % 3 == 0 else []
def reassigned(i): return i % 50 == 10               # the lead objects; staff reassign
def dismissed(i): return i % 50 == 30                # the lead objects; staff keep it
def final_lead(i): return UNITS[(i + 1) % 20] if reassigned(i) else lead(i)
def key(i): return i % 33 == 4
def never_replied(i): return i % 17 == 11
def late(i): return i % 13 == 12 and not never_replied(i)
def reply_class(i): return "A" if i % 10 < 6 else "B" if i % 10 < 8 else "C"
def unrated(i): return i % 19 == 18                  # the proposers never rate
def rehandled(i): return reply_class(i) == "C" and i % 4 == 0
def kept(i): return i % 3 != 2                       # a B reply's promise is kept


def raters(i) -> list[str]:
    people = [proposer(i)] + [c for n, c in enumerate(co_signers(i)) if not (n == 1 and declines(i))]
    if merged(i - 1):
        people.append(proposer(i - 1))
    return people


def first_rating(i, rater) -> tuple[str, str]:
    if rehandled(i) and rater == proposer(i):
        reply = "unsatisfied"
    else:
        reply = "basically_satisfied" if i % 7 == 0 else "satisfied"
    return reply, ("basically_satisfied" if i % 9 == 0 else "satisfied")


def replied(i): return filed(i) and not never_replied(i)


def closed(i):
    return replied(i) and not unrated(i) and (reply_class(i) != "B" or kept(i))


# -- driving the service ---------------------------------------------------------------------------

@pytest.fixture
def year(container_factory, config):
    container = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": "2024-01-10T09:00:00+08:00"})
    container.start()
    from .test_proposals_directory import seed_directory  # the members and units named here
    seed_directory(container, members=[*MEMBERS, LEADER.user_id], units=UNITS)
    clock = next(d for d in container.dependencies if isinstance(d, ClockProvider)).clock
    proxies = []

    @lru_cache(maxsize=None)
    def rpc(actor: Actor):
        proxy = ClusterRpcProxy(config, context_data=CommandContext(actor=actor).to_context_data(),
                                timeout=30)
        proxies.append(proxy)
        return proxy.start().proposals

    def on(day: str):
        clock.set(datetime.fromisoformat(f"{day}T10:00:00+08:00"))

    yield container, rpc, on
    for proxy in proxies:
        proxy.stop()


def member(m): return Actor(m, "member", "界别")
def unit(u): return Actor(f"{u}-handler", "unit", u)


def test_a_year_of_proposals_gives_the_statistics_counted_by_hand(year):
    container, rpc, on = year
    staff = rpc(STAFF)
    ids: dict[int, str] = {}

    on("2024-01-10")                                               # 提: submission
    for i in range(N):
        ids[i] = rpc(member(proposer(i))).submit_proposal(
            f"关于第{i}件事项的提案", "案由：情况说明。", "建议：具体措施。", category(i),
            co_signers=co_signers(i))["proposal_id"]
        for n, c in enumerate(co_signers(i)):
            signer = rpc(member(c))
            (signer.decline_co_signature if n == 1 and declines(i) else signer.confirm_co_signature)(ids[i])

    on("2024-01-12")                                               # 立: review
    for i in range(N):
        if returned_for_good(i) or returned_and_revised(i):
            staff.return_proposal(ids[i], "一事一案，请修改")
        if returned_and_revised(i):
            rpc(member(proposer(i))).revise_proposal(ids[i], f"关于第{i}件事项的提案（修改稿）",
                                                     "案由：补充调研数据。", "建议：分步实施。", category(i))
    on("2024-01-15")
    for i in range(N):
        if filed(i):
            staff.file_proposal(ids[i])
        elif not_filed(i):
            staff.not_file_proposal(ids[i], "不符合立案标准", "opinion_report" if converted(i) else None)
    for i in range(N):
        if merged(i):
            staff.merge_proposal(ids[i], ids[i + 1])

    on("2024-01-20")                                               # 交: assignment
    for i in range(N):
        if filed(i):
            staff.assign_proposal(ids[i], lead(i), co_units=co_unit(i))
            if key(i):
                staff.designate_key_proposal(ids[i], [LEADER.user_id], "chairs_meeting")
    on("2024-01-22")
    for i in range(N):
        if filed(i) and (reassigned(i) or dismissed(i)):
            rpc(unit(lead(i))).object_to_assignment(ids[i], "不属于本单位职责")
            if reassigned(i):
                staff.reassign_proposal(ids[i], final_lead(i), co_units=co_unit(i))
            else:
                staff.dismiss_objection(ids[i], lead(i), "职责明确，维持交办")

    on("2024-03-01")                                               # 办: replies on time
    for i in range(N):
        if replied(i) and not late(i):
            rpc(unit(final_lead(i))).reply_to_proposal(ids[i], reply_class(i), "答复意见。")
    on("2024-05-01")                                               # 督: the timer
    from nameko.testing.services import entrypoint_hook
    with entrypoint_hook(container, "check_deadlines") as check:
        counts = check()
    overdue_cases = [i for i in range(N) if filed(i) and (late(i) or never_replied(i))]
    assert counts["overdue"] == len(overdue_cases)
    on("2024-05-10")
    for i in range(N):
        if replied(i) and late(i):
            rpc(unit(final_lead(i))).reply_to_proposal(ids[i], reply_class(i), "答复意见（逾期）。")

    on("2024-05-15")                                               # 评: ratings
    for i in range(N):
        if replied(i) and not unrated(i):
            for rater in raters(i):
                rpc(member(rater)).rate_reply(ids[i], *first_rating(i, rater))
    on("2024-06-01")
    for i in range(N):
        if replied(i) and not unrated(i) and rehandled(i):
            rpc(unit(final_lead(i))).reply_to_proposal(ids[i], "A", "重新办理，已解决。")
    on("2024-06-05")
    for i in range(N):
        if replied(i) and not unrated(i) and rehandled(i):
            for rater in raters(i):
                rpc(member(rater)).rate_reply(ids[i], "satisfied", "satisfied")
    on("2024-06-11")
    last = None
    for i in range(N):
        if closed(i):
            if reply_class(i) == "B":
                staff.record_follow_up(ids[i], "承诺事项已落实", True)
            last = staff.close_proposal(ids[i])
    stats = staff.statistics(2024, after_position=last["position"])

    # -- the same figures, counted by hand from the plan -------------------------------------
    status = {}
    for i in range(N):
        status[i] = ("not_filed" if not_filed(i) else "merged" if merged(i) else
                     "returned" if returned_for_good(i) else "assigned" if never_replied(i) else
                     "closed" if closed(i) else "replied")
    assert stats["proposals"] == 200
    assert stats["filed"] == sum(filed(i) for i in range(N)) == 179
    assert {k: v for k, v in stats["by_status"].items() if v} == dict(Counter(status.values()))
    assert stats["by_status"]["not_filed"] == 8 and stats["by_status"]["merged"] == 8
    assert stats["by_status"]["returned"] == 5 and stats["by_status"]["assigned"] == 12
    assert stats["by_category"] == {c: sum(filed(i) and category(i) == c for i in range(N))
                                    for c in CATEGORIES}
    assert stats["by_lead_unit"] == dict(sorted(Counter(final_lead(i) for i in range(N) if filed(i)).items()))

    first_round = [i for i in range(N) if replied(i)]
    first_on_time = [i for i in first_round if not late(i)]
    second_round = [i for i in first_round if not unrated(i) and rehandled(i)]
    assert stats["replies"]["first_round"] == len(first_round) == 167
    assert stats["replies"]["first_round_on_time"] == len(first_on_time)
    assert stats["replies"]["first_round_on_time_rate"] == pytest.approx(len(first_on_time) / len(first_round))
    assert stats["replies"]["total"] == len(first_round) + len(second_round)
    assert stats["replies"]["on_time"] == len(first_on_time) + len(second_round)

    final = {}  # (case, rater) -> (reply rating, attitude rating), the last word
    for i in first_round:
        if unrated(i):
            continue
        for rater in raters(i):
            final[(i, rater)] = ("satisfied", "satisfied") if rehandled(i) else first_rating(i, rater)
    assert stats["satisfaction"]["ratings"] == len(final)
    for n, aspect in enumerate(("reply", "attitude")):
        counted = Counter(r[n] for r in final.values())
        assert stats["satisfaction"][aspect]["counts"] == {k: counted.get(k, 0) for k in
                                                         ("satisfied", "basically_satisfied", "unsatisfied")}
        assert stats["satisfaction"][aspect]["rate"] == pytest.approx(
            sum(counted[k] for k in CONTENT) / len(final))
    assert stats["satisfaction"]["reply"]["counts"]["unsatisfied"] == 0  # all re-handled to satisfaction

    latest = {i: ("A" if i in second_round else reply_class(i)) for i in first_round}
    classes = Counter(latest.values())
    assert stats["reply_classes"]["counts"] == {k: classes.get(k, 0) for k in "ABC"}
    assert stats["reply_classes"]["shares"] == pytest.approx({k: classes.get(k, 0) / len(latest) for k in "ABC"})
    closed_rounds = Counter(2 if i in second_round else 1 for i in range(N) if closed(i))
    assert stats["rounds_needed"] == {str(n): closed_rounds[n] for n in (1, 2)}
    assert closed_rounds[2] == len(second_round) > 0

    per_unit = defaultdict(lambda: {"assigned": 0, "first": 0, "first_on_time": 0, "ratings": []})
    for i in range(N):
        if filed(i):
            per_unit[final_lead(i)]["assigned"] += 1
        if i in first_round:
            u = per_unit[final_lead(i)]
            u["first"] += 1
            u["first_on_time"] += not late(i)
            u["ratings"] += [final[(i, r)][0] for r in raters(i) if (i, r) in final]
    assert set(per_unit) == set(UNITS)
    for name, u in per_unit.items():
        got = stats["units"][name]
        assert (got["assigned"], got["first_round_replies"], got["first_round_on_time"]) == (
            u["assigned"], u["first"], u["first_on_time"]), name
        assert got["on_time_rate"] == (pytest.approx(u["first_on_time"] / u["first"]) if u["first"]
                                       else None), name
        assert got["satisfaction_rate"] == (pytest.approx(sum(r in CONTENT for r in u["ratings"])
                                                          / len(u["ratings"])) if u["ratings"] else None), name

    # The handling units' inboxes show the overdue cases never replied, and the public sees none
    # of this year's cases: none was published.
    for i in range(N):
        if filed(i) and never_replied(i):
            inbox = rpc(unit(final_lead(i))).unit_inbox(final_lead(i), limit=500)
            assert inbox["next_cursor"] is None   # all of it on one page
            assert [r["overdue"] for r in inbox["items"] if r["proposal_id"] == ids[i]] == [True]
    assert staff.public_proposals()["items"] == []
