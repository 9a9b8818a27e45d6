"""Case numbers folded on from a kept state (issue 12): the same numbers as folding the session's
whole stream, for every log the rules allow, and a filing reads only the numbers taken since."""

from __future__ import annotations

import random
from datetime import datetime

from nameko.testing.services import worker_factory

from services.proposals import domain as d
from services.proposals.service import ProposalsService
from xieshang.kernel.clock import FixedClock
from xieshang.kernel.context import CommandContext
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.streams import Streams

from ..conftest import DEPLOYMENT
from .conftest import MEMBER, STAFF

SUBMISSION = dict(title="关于构建全民健身服务体系的提案", reasons="社区健身场地不足，器材老化。",
                  suggestions="利用闲置地块建设口袋公园和健身步道。", category="society")
START = "2024-03-01T09:00:00+08:00"


def rules_as_they_read(events):
    """The session's numbers as the rules say, by a plain walk: an assignment holds its number;
    a release frees it if its proposal holds it; the next number is the lowest free one, else
    one past the highest ever taken."""
    held, numbers, released = {}, {}, set()
    for e in events:
        if isinstance(e, d.CaseNumberAssigned):
            held[e.sequence], numbers[e.sequence] = e.proposal_id, e.case_number
            released.discard(e.sequence)
        elif held.get(e.sequence) == e.proposal_id:
            del held[e.sequence]
            released.add(e.sequence)
    following = min(released) if released else max([*held, *released], default=0) + 1
    return held, numbers, released, following


def a_session(rng: random.Random, n: int) -> list:
    """A log as the service writes it: filings take numbers, failed filings give them back,
    and a stranger's release (which the rules ignore) now and then."""
    events, numbers = [], d.fold_case_numbers("2024", [])
    proposals = [f"p{i}" for i in range(n // 2)]
    for _ in range(n):
        pid = rng.choice(proposals)
        roll = rng.random()
        if roll < 0.6:
            new = d.assign_case_number(numbers, pid)
        elif roll < 0.9:
            new = d.release_case_number(numbers, pid)
        else:
            new = [d.CaseNumberReleased(session="2024", sequence=rng.randint(1, 5),
                                        case_number="2024-000", proposal_id="stranger")]
        events += new
        numbers = d.fold_case_numbers_on(numbers, new)
    return events


def test_folding_on_from_any_point_gives_the_numbers_the_rules_give():
    rng = random.Random(12)
    for _ in range(40):
        events = a_session(rng, rng.randint(0, 60))
        whole = d.fold_case_numbers("2024", events)
        held, numbers, released, following = rules_as_they_read(events)
        assert (dict(whole.held), dict(whole.numbers), set(whole.released)) == (held, numbers, released)
        taken = d.assign_case_number(whole, "newcomer")[0]
        assert taken.sequence == following and taken.case_number == d.format_case_number("2024", following)
        for pid in {e.proposal_id for e in events}:
            holds = next((seq for seq, holder in held.items() if holder == pid), None)
            assert whole.of(pid) == (numbers[holds] if holds else None)
            assert [e.sequence for e in d.release_case_number(whole, pid)] == ([holds] if holds else [])
        split = rng.randint(0, len(events))
        assert d.fold_case_numbers_on(d.fold_case_numbers("2024", events[:split]), events[split:]) == whole


def test_a_filing_reads_only_the_case_numbers_taken_since_the_last():
    reads: list[int] = []

    class CountingStore(MemoryEventStore):
        def read_stream(self, stream, from_version=1):
            found = super().read_stream(stream, from_version)
            if stream.startswith("casenumbers-"):
                reads.append(len(found))
            return found

    store = CountingStore(DEPLOYMENT)
    clock = FixedClock(datetime.fromisoformat(START))

    def service():  # a worker per call, as nameko gives them, on one store
        worker = worker_factory(ProposalsService, streams=Streams(store, d.registry, clock), clock=clock)
        worker.context.get.return_value = CommandContext(actor=MEMBER)
        return worker

    pids = [service().submit_proposal(**SUBMISSION)["proposal_id"] for _ in range(30)]
    for pid in pids:
        worker = service()
        worker.context.get.return_value = CommandContext(actor=STAFF)
        worker.file_proposal(pid)
    assert sorted(service().get_proposal(pid)["case_number"] for pid in pids) == [
        f"2024-{n:03d}" for n in range(1, 31)]
    assert max(reads) == 1  # never the whole stream: at most the one number taken since
