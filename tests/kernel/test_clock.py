"""The injected clock, and its nameko provider."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from nameko.testing.services import dummy, entrypoint_hook

from xieshang.kernel.clock import SHANGHAI, Clock, ClockProvider, FixedClock, SystemClock
from xieshang.kernel.config import ConfigError

UTC = timezone.utc


def test_the_system_clock_is_aware_utc():
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0) and before <= now <= datetime.now(UTC)


def test_today_is_the_date_in_china_by_default():
    clock = FixedClock(datetime(2024, 9, 30, 16, 30, tzinfo=UTC))  # 00:30 on 1 Oct in Beijing
    assert clock.today() == date(2024, 10, 1)
    assert clock.today(UTC) == date(2024, 9, 30)
    assert SHANGHAI.utcoffset(None) == timedelta(hours=8)


def test_a_fixed_clock_reports_utc_whatever_zone_it_was_given():
    clock = FixedClock(datetime(2024, 10, 1, 8, 0, tzinfo=SHANGHAI))
    assert clock.now() == datetime(2024, 10, 1, 0, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_a_fixed_clock_stands_still_until_set_or_advanced():
    clock = FixedClock(datetime(2024, 9, 27, 1, 0, tzinfo=UTC))
    assert clock.now() == clock.now() == datetime(2024, 9, 27, 1, 0, tzinfo=UTC)
    assert clock.advance(days=3, hours=2) == datetime(2024, 9, 30, 3, 0, tzinfo=UTC)
    assert clock.now() == datetime(2024, 9, 30, 3, 0, tzinfo=UTC)
    clock.set(datetime(2024, 2, 18, 9, 0, tzinfo=SHANGHAI))
    assert clock.today() == date(2024, 2, 18)
    clock.advance(minutes=-1)
    assert clock.now() == datetime(2024, 2, 18, 0, 59, tzinfo=UTC)


def test_a_fixed_clock_refuses_naive_times():
    with pytest.raises(ValueError, match="timezone-aware.*2024-10-01T08:00:00 has no zone"):
        FixedClock(datetime(2024, 10, 1, 8, 0))
    clock = FixedClock(datetime(2024, 10, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2024, 10, 2))
    assert clock.now() == datetime(2024, 10, 1, tzinfo=UTC)
    with pytest.raises(TypeError, match="not date"):
        FixedClock(date(2024, 10, 1))  # type: ignore[arg-type]


def test_the_clock_is_a_port():
    with pytest.raises(TypeError):
        Clock()  # type: ignore[abstract]
    assert isinstance(SystemClock(), Clock) and isinstance(FixedClock(datetime.now(UTC)), Clock)


# -- the provider, on a minimal container --------------------------------------------------------

class FakeContainer:
    service_name = "test"

    def __init__(self, config: dict):
        self.config = config


def bound_provider(config: dict) -> tuple[ClockProvider, FakeContainer]:
    container = FakeContainer(config)  # kept alive: the provider holds only a weak proxy
    provider = ClockProvider().bind(container, "clock")
    provider.setup()
    return provider, container


def test_the_provider_gives_the_system_clock_by_default():
    provider, _container = bound_provider({})
    assert isinstance(provider.clock, SystemClock)
    assert provider.get_dependency(worker_ctx=None) is provider.clock


@pytest.mark.parametrize("value, utc", [
    ("2024-09-27T09:00:00+08:00", datetime(2024, 9, 27, 1, 0, tzinfo=UTC)),
    ("2024-09-27T01:00:00Z", datetime(2024, 9, 27, 1, 0, tzinfo=UTC)),
])
def test_the_provider_gives_a_fixed_clock_when_configured(value, utc):
    provider, _container = bound_provider({"XIESHANG_FIXED_TIME": value})
    assert isinstance(provider.clock, FixedClock) and provider.clock.now() == utc
    assert provider.get_dependency(worker_ctx=None) is provider.clock


@pytest.mark.parametrize("value", ["2024-09-27T09:00:00", "next tuesday"])
def test_a_bad_fixed_time_is_a_config_error(value):
    with pytest.raises(ConfigError, match="XIESHANG_FIXED_TIME must be an ISO 8601 time with a zone"):
        bound_provider({"XIESHANG_FIXED_TIME": value})


def test_a_clock_put_in_before_setup_is_kept():
    container = FakeContainer({})
    provider = ClockProvider().bind(container, "clock")
    mine = FixedClock(datetime(2024, 1, 1, tzinfo=UTC))
    provider.clock = mine
    provider.setup()
    assert provider.get_dependency(worker_ctx=None) is mine


# -- the provider, in a real container -------------------------------------------------------------

class TimeService:
    name = "time_service"
    clock = ClockProvider()

    @dummy
    def today(self) -> str:
        return self.clock.today().isoformat()


def clock_provider_of(container) -> ClockProvider:
    return next(d for d in container.dependencies if isinstance(d, ClockProvider))


def test_workers_share_the_containers_clock_which_tests_can_advance(container_factory):
    container = container_factory(TimeService, {"XIESHANG_FIXED_TIME": "2024-09-30T23:30:00+08:00"})
    container.start()
    provider = clock_provider_of(container)
    assert provider in container.extensions
    with entrypoint_hook(container, "today") as today:
        assert today() == "2024-09-30"
    provider.clock.advance(hours=1)
    with entrypoint_hook(container, "today") as today:
        assert today() == "2024-10-01"
    provider.clock = FixedClock(datetime(2024, 2, 18, tzinfo=SHANGHAI))
    with entrypoint_hook(container, "today") as today:
        assert today() == "2024-02-18"


def test_two_containers_have_their_own_clocks(container_factory):
    config = {"XIESHANG_FIXED_TIME": "2024-09-30T12:00:00+08:00"}
    a, b = container_factory(TimeService, config), container_factory(TimeService, dict(config))
    a.start(), b.start()
    clock_provider_of(a).clock.advance(days=1)
    assert clock_provider_of(a).clock is not clock_provider_of(b).clock
    with entrypoint_hook(b, "today") as today:
        assert today() == "2024-09-30"
