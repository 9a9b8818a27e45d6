"""5. Growth: the cost of one command with few and with many events already stored.

The proposals service's own command methods run in this process (``events.Driver``, no RPC)
on a SQLite store holding 1,000 events and on the rebuild section's largest store (1M events in
a full run), each with its five read models caught up. A command's cost here is the command
(load the stream, fold, decide, append with its expected version) plus the read-model catch-up
of its events (``ProjectionRunner.catch_up``), as the service's follower thread would do it.
The lifecycles (submit, file, assign, reply, rate, close) alternate between the two stores.

Filing takes the session's next case number, which once meant reading the session's whole
case-number stream (its cost grew with the session's filings): measured apart, in a session
with about 900 filings (the large store's first) against a fresh one; the target is within 20%.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from .common import LOWER, Result, log, pct, times
from .events import STAFF, Driver, member, unit

COMMANDS = ("submit", "file", "assign", "reply", "rate", "close")
# file_proposal in a session holding ~1k case numbers against a fresh session: the target.
FILE_RATIO = 1.2


class Subject:
    def __init__(self, events_path: str, views_path: str):
        from services.proposals.views import PROJECTIONS
        from xieshang.kernel.contracts import contract_of
        from xieshang.kernel.projection import ProjectionRunner
        from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

        from .events import DEPLOYMENT

        self.store = SqlEventStore(sqlite_engine(events_path), DEPLOYMENT, create=False)
        self.runner = ProjectionRunner(self.store, sqlite_engine(views_path), PROJECTIONS(),
                                       registry=contract_of("proposals"))
        self.runner.setup()
        self.runner.catch_up()
        self.head = self.store.head()
        self.driver = Driver(self.store)
        self.driver.know([f"m-growth-{k:03d}" for k in range(50)], [f"u-growth-{k:02d}" for k in range(10)])
        self.times: dict[str, list[float]] = {c: [] for c in COMMANDS}
        self.catch_ups: list[float] = []
        self.k = 0

    def _timed(self, name: str, call) -> Any:  # noqa: ANN001
        t0 = time.perf_counter()
        out = call()
        t1 = time.perf_counter()
        self.runner.catch_up()
        t2 = time.perf_counter()
        self.times[name].append(t2 - t0)
        self.catch_ups.append(t2 - t1)
        return out

    def lifecycle(self, session: str) -> None:
        d = self.driver
        self.k += 1
        m, u = f"m-growth-{self.k % 50:03d}", f"u-growth-{self.k % 10:02d}"
        d.on(0)
        pid = self._timed("submit", lambda: d.as_(member(m)).submit_proposal(
            "关于优化营商环境的提案", "案由：情况说明。" * 20, "建议：具体措施。" * 10, "economy",
            session=session)["proposal_id"])
        d.on(5)
        self._timed("file", lambda: d.as_(STAFF).file_proposal(pid))
        d.on(10)
        self._timed("assign", lambda: d.as_(STAFF).assign_proposal(pid, u))
        d.on(40)
        self._timed("reply", lambda: d.as_(unit(u)).reply_to_proposal(pid, "A", "答复意见。" * 30))
        d.on(50)
        self._timed("rate", lambda: d.as_(member(m)).rate_reply(pid, "satisfied", "satisfied"))
        self._timed("close", lambda: d.as_(STAFF).close_proposal(pid))

    def all_times(self) -> list[float]:
        return [t for c in COMMANDS for t in self.times[c]]

    def close(self) -> None:
        self.store.close()
        self.runner.engine.dispose()


def run(*, quick: bool, smoke: bool, workdir: str, large: dict[str, str]) -> list[Result]:
    from .rebuild import make_store

    lifecycles = 3 if smoke else 30 if quick else 100
    small_dir = os.path.join(workdir, "growth-small")
    os.makedirs(small_dir, exist_ok=True)
    small_events = os.path.join(small_dir, "events.sqlite")
    make_store(small_events, 1_000, prefix="g")
    small = Subject(small_events, os.path.join(small_dir, "views.sqlite"))
    big = Subject(large["events"], large["views"])
    try:
        for subject in (small, big):  # warm caches and code paths
            subject.lifecycle("warm")
            subject.times = {c: [] for c in COMMANDS}
            subject.catch_ups = []
        for _ in range(lifecycles):
            small.lifecycle("growth")
            big.lifecycle("growth")
        # The case-number stream of a session: a fresh session against one with ~900 filings.
        full_session, fresh = [], []
        filings = 3 if smoke else 30
        for i in range(filings):
            for session, sink in (("b0000", full_session), (f"fresh{i}", fresh)):
                d = big.driver
                d.on(0)
                pid = d.as_(member("m-growth-x")).submit_proposal(
                    "关于优化营商环境的提案", "案由：情况说明。", "建议：具体措施。", "economy",
                    session=session)["proposal_id"]
                t0 = time.perf_counter()
                d.on(5)
                d.as_(STAFF).file_proposal(pid)
                sink.append(time.perf_counter() - t0)
        held = len(big.store.read_stream("casenumbers-b0000"))
    finally:
        small.close()
        big.close()
    s_all, b_all = small.all_times(), big.all_times()
    s_mean, b_mean = statistics.mean(s_all) * 1000, statistics.mean(b_all) * 1000
    log(f"  growth: one command + its read models, {small.head:,} events: {s_mean:.2f} ms; "
        f"{big.head:,} events: {b_mean:.2f} ms; filing in a session of {held} case numbers "
        f"{statistics.median(full_session) * 1000:.2f} ms vs fresh {statistics.median(fresh) * 1000:.2f} ms")
    per_command = {c: {"small_ms_p50": pct(small.times[c], 0.5) * 1000, "large_ms_p50": pct(big.times[c], 0.5) * 1000}
                   for c in COMMANDS}
    return [
        Result(id="growth.command", section="5. growth",
               figure=f"one command + its read-model update, {big.head:,} events stored (reference: {small.head:,})",
               unit="ms", ours=b_mean, reference=s_mean,
               reference_name=f"the same commands on a store of {small.head:,} events", better=LOWER,
               target=s_mean * 1.3, n=big.head,
               note="target: no growth beyond the ±30% noise of this machine",
               extra={"lifecycles": lifecycles, "commands_each": len(b_all),
                      "large_p50_ms": pct(b_all, 0.5) * 1000, "large_p99_ms": pct(b_all, 0.99) * 1000,
                      "small_p50_ms": pct(s_all, 0.5) * 1000, "small_p99_ms": pct(s_all, 0.99) * 1000,
                      "per_command": per_command, "path": "in-process service methods, no RPC",
                      "catch_up_small_ms": statistics.mean(small.catch_ups) * 1000,
                      "catch_up_large_ms": statistics.mean(big.catch_ups) * 1000,
                      "catch_up_share_small": statistics.mean(small.catch_ups) / statistics.mean(s_all)}),
        Result(id="growth.file_in_full_session", section="5. growth",
               figure=f"file_proposal in a session already holding {held} case numbers (reference: a fresh session)",
               unit="ms", ours=statistics.median(full_session) * 1000,
               reference=statistics.median(fresh) * 1000,
               reference_name="file_proposal in a fresh session, same store", better=LOWER, n=held,
               target=times(statistics.median(fresh) * 1000, FILE_RATIO),
               note=f"target: within {FILE_RATIO - 1:.0%} of a fresh session"),
    ]
