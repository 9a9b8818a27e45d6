"""Signed webhooks, the pure domain (services/notify/domain/webhooks.py): what a subscription
takes, which events it wants, and one delivery's attempts with a fixed clock: retried with a
doubling backoff capped at an hour for at least a day, then parked, and replayed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.notify.domain import webhooks as wh
from services.notify.domain.events import (WebhookAttempted, WebhookDelivered, WebhookParked,
                                           WebhookPlanned, WebhookReplayRequested)
from xieshang.kernel.domain import InvalidCommand, NotAllowed, WrongState
from xieshang.kernel.envelope import Actor

ADMIN = Actor("admin-1", "admin", "it")
STAFF = Actor("staff-1", "staff", "proposal-committee")
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
FILED = "cn.gov.cppcc.proposals.ProposalFiled.v1"
SECRET = wh.new_secret(bytes(range(32)))


def subscriptions(*made: tuple[str, list[str]]) -> wh.Subscriptions:
    events = []
    for sid, types in made:
        events += wh.subscribe(ADMIN, wh.Subscriptions(), sid, f"s-{sid}", "https://oa.example.cn/hook", types)
    return wh.fold_subscriptions(events)


def test_a_subscription_takes_https_or_local_http_types_of_ours_and_a_standard_secret():
    assert wh.check_url("https://oa.example.cn/hooks?x=1") == "https://oa.example.cn/hooks?x=1"
    assert wh.check_url("http://127.0.0.1:8080/in")
    for bad in ("http://oa.example.cn/in", "ftp://x/", "https://user:pw@oa.example.cn/", "https://x/#f",
                "https:///nohost", "", None, "https://x/ y"):
        with pytest.raises(InvalidCommand) as e:
            wh.check_url(bad)
        assert set(e.value.fields) == {"url"}
    assert wh.check_types(["cn.gov.cppcc.proposals", FILED, FILED]) == ("cn.gov.cppcc.proposals", FILED)
    with pytest.raises(InvalidCommand) as e:
        wh.check_types(["cn.gov.cppcc.proposals", "org.example.Other", ""])
    assert set(e.value.fields) == {"types[1]", "types[2]"}
    with pytest.raises(InvalidCommand):
        wh.check_types([])
    assert SECRET.startswith("whsec_") and wh.check_secret(SECRET) == SECRET
    for bad in ("whsec_short", "nope", "whsec_" + "!" * 44, 7):
        with pytest.raises(InvalidCommand) as e:
            wh.check_secret(bad)
        assert set(e.value.fields) == {"secret"} and "whsec_" in e.value.fields["secret"]


def test_only_administrators_manage_and_nothing_names_a_secret():
    with pytest.raises(NotAllowed):
        wh.subscribe(STAFF, wh.Subscriptions(), "wh-1", "s-1", "https://oa.example.cn/", [FILED])
    [made] = wh.subscribe(ADMIN, wh.Subscriptions(), "wh-1", "s-1", "https://oa.example.cn/", [FILED])
    assert SECRET not in repr(made) and made.secret_id == "s-1"
    subs = wh.fold_subscriptions([made])
    with pytest.raises(WrongState):
        wh.subscribe(ADMIN, subs, "wh-1", "s-2", "https://oa.example.cn/", [FILED])


def test_an_event_is_planned_once_for_each_active_subscription_that_wants_it():
    subs = subscriptions(("wh-a", ["cn.gov.cppcc.proposals"]), ("wh-b", [FILED]),
                         ("wh-c", ["cn.gov.cppcc.members"]), ("wh-d", ["cn.gov.cppcc.proposals.ProposalFiled"]))
    subs = wh.fold_subscriptions_on(subs, wh.disable(ADMIN, subs, "wh-d", "moved"))
    events = wh.plan(None, subs, event_id="e-1", ce_type=FILED, body="{}", now=T0)
    assert [type(e).__name__ for e in events] == ["WebhookEventReceived", "WebhookPlanned", "WebhookPlanned"]
    assert [e.key for e in events if isinstance(e, WebhookPlanned)] == ["wh-a.e-1", "wh-b.e-1"]
    assert wh.plan(wh.fold_received(events), subs, event_id="e-1", ce_type=FILED, body="{}", now=T0) == []
    assert wh.plan(None, subs, event_id="e-2", ce_type="cn.gov.cppcc.feedback.X.v1", body="{}", now=T0) == []
    # a prefix is of whole dotted parts
    assert not subscriptions(("wh-e", ["cn.gov.cppcc.prop"])).wanting(FILED)


def test_rotation_signs_with_both_secrets_for_the_overlap_then_with_the_new_one():
    subs = subscriptions(("wh-a", [FILED]))
    policy = wh.WebhookPolicy()
    rotated = wh.fold_subscriptions_on(subs, wh.rotate_secret(ADMIN, subs, "wh-a", "s-new", T0, policy))
    sub = rotated.by_id["wh-a"]
    assert sub.signing_secret_ids(T0 + timedelta(hours=1)) == ["s-new", "s-wh-a"]
    assert sub.signing_secret_ids(T0 + timedelta(days=1, seconds=1)) == ["s-new"]
    assert wh.disable(ADMIN, rotated, "wh-a", None) and not wh.disable(
        ADMIN, wh.fold_subscriptions_on(rotated, wh.disable(ADMIN, rotated, "wh-a", None)), "wh-a", None)


class Delivery:
    """One delivery's stream, decided on with a clock the test moves."""

    def __init__(self, policy: wh.WebhookPolicy = wh.WebhookPolicy()):
        self.key, self.events, self.policy, self.now = "wh-a.e-1", [], policy, T0

    @property
    def state(self) -> wh.WebhookDelivery:
        return wh.fold_webhook(self.key, self.events)

    def attempt(self, status: int | None, error: str | None = None) -> list:
        started = wh.start_attempt(self.state, self.now, self.policy)
        assert started, f"nothing due at {self.now} ({self.state})"
        self.events += started
        outcome = wh.record_outcome(self.state, started[0].attempt, status, error, self.now, self.policy)
        self.events += outcome
        return outcome

    def wait_for_retry(self) -> timedelta:
        due = datetime.fromisoformat(self.state.retry_at)
        assert wh.start_attempt(self.state, due - timedelta(seconds=1), self.policy) == []
        waited, self.now = due - self.now, due
        return waited


def test_failures_are_retried_doubling_from_30_seconds_capped_at_an_hour_for_a_day_then_parked():
    d = Delivery()
    gaps = []
    while True:
        outcome = d.attempt(503 if len(gaps) % 2 else None, None if len(gaps) % 2 else "ConnectionRefusedError")
        if isinstance(outcome[-1], WebhookParked):
            break
        gaps.append(d.wait_for_retry())
    assert gaps[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert max(gaps) == timedelta(hours=1) and gaps[-1] == timedelta(hours=1)
    assert sum(gaps, timedelta()) >= timedelta(hours=24)
    parked = outcome[-1]
    assert parked.reason == "retries_exhausted" and parked.attempts == len(gaps) + 1 and d.state.state == "parked"
    attempted = [e for e in d.events if isinstance(e, WebhookAttempted)]
    assert {(e.status, e.error) for e in attempted} == {(None, "ConnectionRefusedError"), (503, None)}
    assert wh.start_attempt(d.state, d.now + timedelta(days=9), d.policy) == []   # parked stays parked

    with pytest.raises(NotAllowed):
        wh.request_replay(STAFF, d.state)
    d.events += wh.request_replay(ADMIN, d.state)
    assert isinstance(d.events[-1], WebhookReplayRequested) and d.state.series == 2
    assert [type(e) for e in d.attempt(204)] == [WebhookAttempted, WebhookDelivered]
    assert d.state.state == "delivered" and d.state.total_attempts == len(gaps) + 2
    with pytest.raises(WrongState):
        wh.request_replay(ADMIN, d.state)


def test_a_receiver_down_for_an_hour_gets_the_event_once_it_is_up():
    d = Delivery()
    while d.now - T0 < timedelta(hours=1):
        d.attempt(500)
        d.wait_for_retry()
    assert [type(e) for e in d.attempt(200)] == [WebhookAttempted, WebhookDelivered]
    assert d.state.state == "delivered" and sum(isinstance(e, WebhookDelivered) for e in d.events) == 1


def test_410_parks_at_once_and_a_sender_that_died_is_taken_over_after_its_lease():
    d = Delivery()
    assert [e.reason for e in d.attempt(410) if isinstance(e, WebhookParked)] == ["gone"]
    d = Delivery()
    d.events += wh.start_attempt(d.state, d.now, d.policy)              # the sender dies here
    assert wh.start_attempt(d.state, d.now + timedelta(seconds=59), d.policy) == []
    d.now += timedelta(seconds=60)
    assert [type(e) for e in d.attempt(200)] == [WebhookAttempted, WebhookDelivered]
    assert d.state.attempt == 2
    # the first sender's late outcome is what happened, and decides nothing more
    assert wh.record_outcome(d.state, 1, 200, None, d.now, d.policy) == []
    assert wh.park_disabled(d.state) == []
