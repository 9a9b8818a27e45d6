"""The one contract every event store adapter passes. Subclass it once per backend and
provide a ``store`` fixture (and ``second_store``: another handle on the same log)."""

from __future__ import annotations

import threading
import uuid

import pytest

from xieshang.kernel.envelope import Envelope
from xieshang.kernel.store import ConcurrencyError, DuplicateEventError, Tracking

from ..conftest import new_event, unique


class StoreContract:
    # Whether positions are contiguous (1, 2, 3…). EventStoreDB's commit positions are not.
    gap_free_positions = True

    def test_append_and_read_stream(self, store):
        s = unique("proposal")
        stored = store.append(s, 0, [new_event("ProposalSubmitted", title="路灯"), new_event("ProposalFiled")])
        assert [e.version for e in stored] == [1, 2]
        assert [e.type for e in stored] == ["ProposalSubmitted", "ProposalFiled"]
        read = store.read_stream(s)
        assert [e.event_id for e in read] == [e.event_id for e in stored]
        assert read[0].data == {"title": "路灯"}
        assert read[0].actor.role == "staff" and read[0].reason == "test"
        assert read[0].deployment == store.deployment
        assert read[0].correlation_id == read[0].event_id  # defaults to itself
        assert store.stream_version(s) == 2
        assert store.read_stream(s, from_version=2)[0].type == "ProposalFiled"

    def test_unknown_stream_is_empty(self, store):
        assert store.read_stream(unique("none")) == []
        assert store.stream_version(unique("none")) == 0

    def test_wrong_expected_version_raises_and_stores_nothing(self, store):
        s = unique("proposal")
        store.append(s, 0, [new_event()])
        head = store.head()
        with pytest.raises(ConcurrencyError) as err:
            store.append(s, 0, [new_event(), new_event()])
        assert err.value.actual == 1 and err.value.expected == 0
        assert store.stream_version(s) == 1
        assert store.head() == head

    def test_any_version(self, store):
        s = unique("proposal")
        store.append(s, None, [new_event()])
        store.append(s, None, [new_event()])
        assert store.stream_version(s) == 2

    def test_concurrent_appends_at_same_version_exactly_one_wins(self, store, second_store):
        for _ in range(5):
            s = unique("proposal")
            store.append(s, 0, [new_event()])
            barrier = threading.Barrier(2)
            outcomes = []

            def attempt(st):
                barrier.wait()
                try:
                    st.append(s, 1, [new_event("A"), new_event("B"), new_event("C")])
                    outcomes.append("ok")
                except ConcurrencyError:
                    outcomes.append("conflict")

            threads = [threading.Thread(target=attempt, args=(st,)) for st in (store, second_store)]
            [t.start() for t in threads]
            [t.join(30) for t in threads]
            assert sorted(outcomes) == ["conflict", "ok"]
            events = store.read_stream(s)
            assert [e.version for e in events] == [1, 2, 3, 4]  # nothing partial from the loser

    def test_multi_event_append_is_atomic(self, store):
        s = unique("proposal")
        first = new_event()
        store.append(s, 0, [first])
        head = store.head()
        # the second event repeats a stored id: the whole batch must be refused
        with pytest.raises(DuplicateEventError):
            store.append(s, 1, [new_event(), _same_id(first)])
        assert store.stream_version(s) == 1 and store.head() == head

    def test_reappending_stored_event_ids_is_a_noop(self, store):
        s = unique("proposal")
        batch = [new_event(), new_event()]
        stored = store.append(s, 0, batch)
        head = store.head()
        again = store.append(s, 0, batch)
        assert [e.event_id for e in again] == [e.event_id for e in stored]
        assert [e.position for e in again] == [e.position for e in stored]
        assert store.head() == head and store.stream_version(s) == 2

    def test_read_all_in_commit_order(self, store):
        start = store.head()
        streams = [unique("s") for _ in range(3)]
        appended = []
        for i in range(6):
            appended += store.append(streams[i % 3], None, [new_event(n=i)])
        got = [e for e in store.read_all(after=start) if e.stream in streams]
        assert [e.event_id for e in got] == [e.event_id for e in appended]
        positions = [e.position for e in got]
        assert positions == sorted(positions)
        if self.gap_free_positions:
            assert positions == list(range(start + 1, start + 7))
        # paging from a position
        page = store.read_all(after=appended[2].position, limit=2)
        assert [e.event_id for e in page] == [e.event_id for e in appended[3:5]]
        assert store.head() >= appended[-1].position

    def test_envelope_round_trips_through_json(self, store):
        stored = store.append(unique("s"), 0, [new_event(title="长者食堂", n=3)])[0]
        again = Envelope.from_json(stored.to_json())
        assert again == stored

    def test_tracking_records_effect_once(self, store):
        upstream = str(uuid.uuid4())
        tracking = Tracking("notify.on-proposal-filed", upstream, 7)
        s = unique("notification")
        assert not store.is_processed(tracking.consumer, upstream)
        assert len(store.append(s, None, [new_event()], tracking=tracking)) == 1
        assert store.is_processed(tracking.consumer, upstream)
        assert store.append(s, None, [new_event()], tracking=tracking) == []
        assert store.stream_version(s) == 1

    def test_checkpoints_never_move_back(self, store):
        name = unique("relay")
        assert store.get_checkpoint(name) == 0
        store.set_checkpoint(name, 5)
        store.set_checkpoint(name, 3)
        assert store.get_checkpoint(name) == 5

    def test_lease_has_one_holder_until_it_expires(self, store):
        from datetime import datetime, timedelta, timezone

        name, now = unique("lease"), datetime(2026, 11, 23, tzinfo=timezone.utc)
        assert store.try_lease(name, "a", 10, now)
        assert not store.try_lease(name, "b", 10, now + timedelta(seconds=5))
        assert store.try_lease(name, "a", 10, now + timedelta(seconds=5))
        assert store.try_lease(name, "b", 10, now + timedelta(seconds=16))

    def test_verify_intact_log(self, store):
        store.append(unique("s"), 0, [new_event(), new_event()])
        report = store.verify()
        assert report.ok, report.problem
        assert report.checked >= 2


def _same_id(e):
    from dataclasses import replace

    return replace(new_event(), event_id=e.event_id)
