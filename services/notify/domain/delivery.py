"""Delivery you can trust: each attempt to send a notice (or a digest) on a channel, and its
outcome, is an event on the delivery's own stream.

An attempt is started by recording ``DeliveryAttemptStarted`` at the stream's version: of two
instances the second finds the stream moved on and leaves it, so a notice is sent by one only.
If the sender dies before the outcome, the attempt's lease runs out and the next attempt starts;
the message keeps its Message-ID (e-mail) or OutId (SMS), so a mail that did leave in that
moment is recognisable as the same. Transient failures are retried with exponential backoff;
a permanent failure, no address, or the last allowed attempt ends as ``NoticeUndeliverable``,
listed for staff, who may ask for it to be tried again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from xieshang.kernel.domain import DomainEvent, WrongState

from .preferences import after_quiet_hours
from .events import (DeliveryAttemptStarted, DeliveryAttempted, DeliveryRetryRequested, NoticeDelivered,
                     NoticeUndeliverable)
from .vocabulary import (OUTCOME_FAILED, OUTCOME_NO_ADDRESS, OUTCOME_RETRY, OUTCOME_SENT, PLANNED,
                         SENDING, SENT, SKIPPED, UNDELIVERABLE)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long apart a failing delivery is tried (``XIESHANG_NOTIFY_*``)."""

    max_attempts: int = 6
    base_seconds: float = 30.0
    max_seconds: float = 3600.0
    lease_seconds: float = 120.0

    def backoff(self, attempt: int) -> timedelta:
        return timedelta(seconds=min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Delivery:
    key: str
    state: str = PLANNED
    attempt: int = 0             # the last attempt started (in the current series)
    lease_until: str | None = None
    retry_at: str | None = None
    detail: str = ""
    total_attempts: int = 0


def fold_delivery(key: str, events: Iterable[DomainEvent]) -> Delivery:
    d = Delivery(key)
    for e in events:
        if isinstance(e, DeliveryAttemptStarted):
            d = Delivery(key, SENDING, e.attempt, e.lease_until, None, d.detail, d.total_attempts + 1)
        elif isinstance(e, DeliveryAttempted):
            if e.attempt != d.attempt or d.state != SENDING:
                continue   # a late outcome of an attempt whose lease ran out: what happened, no more
            d = Delivery(key, PLANNED, d.attempt, None, e.retry_at, e.detail, d.total_attempts)
        elif isinstance(e, NoticeDelivered):
            d = Delivery(key, SENT, d.attempt, None, None, d.detail, d.total_attempts)
        elif isinstance(e, NoticeUndeliverable):
            state = SKIPPED if e.reason == OUTCOME_NO_ADDRESS else UNDELIVERABLE
            d = Delivery(key, state, d.attempt, None, None, e.detail, d.total_attempts)
        elif isinstance(e, DeliveryRetryRequested):
            d = Delivery(key, PLANNED, 0, None, None, d.detail, d.total_attempts)
    return d


def delivery_fold(key: str):
    return lambda events: fold_delivery(key, events)


def start_attempt(d: Delivery, now: datetime, policy: RetryPolicy) -> list[DomainEvent]:
    """Start the next attempt if one is due: planned and past its retry time, or sending with
    its lease run out (the sender died). Nothing otherwise (another instance has it, or done)."""
    if d.state == PLANNED and (d.retry_at is None or datetime.fromisoformat(d.retry_at) <= now):
        pass
    elif d.state == SENDING and d.lease_until and datetime.fromisoformat(d.lease_until) <= now:
        pass
    else:
        return []
    lease = now + timedelta(seconds=policy.lease_seconds)
    return [DeliveryAttemptStarted(key=d.key, attempt=d.attempt + 1, lease_until=lease.isoformat())]


def record_outcome(d: Delivery, attempt: int, status: str, detail: str, now: datetime,
                   policy: RetryPolicy, provider_id: str | None = None,
                   quiet_hours: str | None = None) -> list[DomainEvent]:
    """The outcome of ``attempt`` and where it leaves the delivery. An outcome of an attempt
    that is no longer the current one (its lease ran out and another began) is still recorded,
    as what happened, but decides nothing."""
    if d.state != SENDING or d.attempt != attempt:
        if d.state != SENDING:
            return []
        late = [DeliveryAttempted(key=d.key, attempt=attempt, outcome=status, detail=detail,
                                  provider_id=provider_id)]
        # it did leave: the attempt under way may send it again (the same Message-ID), but no
        # further one starts
        return late + ([NoticeDelivered(key=d.key, attempts=attempt)] if status == OUTCOME_SENT else [])
    if status == OUTCOME_SENT:
        return [DeliveryAttempted(key=d.key, attempt=attempt, outcome=status, detail=detail,
                                  provider_id=provider_id),
                NoticeDelivered(key=d.key, attempts=attempt)]
    if status == OUTCOME_RETRY and attempt < policy.max_attempts:
        retry_at = after_quiet_hours(now + policy.backoff(attempt), quiet_hours).isoformat()
        return [DeliveryAttempted(key=d.key, attempt=attempt, outcome=status, detail=detail,
                                  retry_at=retry_at)]
    reason = {OUTCOME_RETRY: "retries_exhausted", OUTCOME_FAILED: OUTCOME_FAILED,
              OUTCOME_NO_ADDRESS: OUTCOME_NO_ADDRESS}.get(status, OUTCOME_FAILED)
    return [DeliveryAttempted(key=d.key, attempt=attempt, outcome=status, detail=detail),
            NoticeUndeliverable(key=d.key, attempts=attempt, reason=reason, detail=detail)]


def request_retry(d: Delivery) -> list[DomainEvent]:
    """Staff try an undeliverable (or skipped) delivery again."""
    if d.state not in (UNDELIVERABLE, SKIPPED):
        raise WrongState("retry_delivery", d.state if d.total_attempts or d.state != PLANNED else "none",
                         [], ("only an undeliverable notice is tried again", "只有无法投递的通知才能重新投递"))
    return [DeliveryRetryRequested(key=d.key)]
