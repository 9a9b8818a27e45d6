"""The injected clock: decisions, deadlines and reminders ask a Clock for the time, never
``datetime.now()``, so that tests (and demos) can fix and move time.

    class ProposalsService:
        name = "proposals"
        clock = ClockProvider()

        @rpc
        def assign_proposal(self, ...):
            today = self.clock.today()

A container's clock is the system clock, unless its config sets ``XIESHANG_FIXED_TIME`` to an
ISO 8601 time with a zone (e.g. ``2024-09-27T09:00:00+08:00``): then it is a FixedClock at
that time, which tests reach through the provider to set or advance.
"""

from __future__ import annotations

import abc
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from nameko.extensions import DependencyProvider

from .config import ConfigError

# China keeps UTC+08:00 all year (no daylight saving time), so a fixed offset is exact.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

FIXED_TIME_KEY = "XIESHANG_FIXED_TIME"


class Clock(abc.ABC):
    """Port: the current time."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""

    def today(self, tz: tzinfo = SHANGHAI) -> date:
        """The local date in ``tz`` (China's by default): a committee's day starts at
        midnight Beijing time, not UTC."""
        return self.now().astimezone(tz).date()


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock(Clock):
    """A clock that stands still until told: ``set(at)`` or ``advance(days=1, hours=2)``."""

    def __init__(self, at: datetime):
        self._at = _aware_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = _aware_utc(at)

    def advance(self, **timedelta_kwargs: float) -> datetime:
        """Move forward (or back, with negative amounts); returns the new time."""
        self._at += timedelta(**timedelta_kwargs)
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


def _aware_utc(at: datetime) -> datetime:
    if not isinstance(at, datetime):
        raise TypeError(f"a FixedClock needs a datetime, not {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a FixedClock needs a timezone-aware datetime; {at.isoformat()} has no "
                         "zone (add one, e.g. tzinfo=timezone.utc or SHANGHAI)")
    return at.astimezone(timezone.utc)


def clock_from_config(config: Any) -> Clock:
    """FixedClock if ``config`` sets XIESHANG_FIXED_TIME, else SystemClock.

    Only the container's config is read, not the environment: a stray environment variable
    must not freeze a production service's time.
    """
    raw = (config or {}).get(FIXED_TIME_KEY)
    if not raw:
        return SystemClock()
    try:
        at = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
        return FixedClock(at)
    except ValueError as exc:
        raise ConfigError(f"{FIXED_TIME_KEY} must be an ISO 8601 time with a zone, e.g. "
                          f"2024-09-27T09:00:00+08:00; got {raw!r} ({exc})") from None


class ClockProvider(DependencyProvider):
    """Gives each worker the container's Clock (one per container, made at setup).

    Tests find the provider in ``container.dependencies`` and use or replace ``provider.clock``;
    a clock put there before the container starts is kept.
    """

    clock: Clock | None = None

    def setup(self) -> None:
        if self.clock is None:
            self.clock = clock_from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> Clock:
        return self.clock
