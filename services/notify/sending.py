"""The notify service's adapters for sending: its settings, the channels (services/notify/channels)
and the address book, which asks the members service for an address at send time.

Addresses are held only while a message is handed to its channel: never in an event, a read
model, a log line or an error (the members service's ``delivery_addresses`` answers only an
actor of role ``system``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from xieshang.kernel.config import setting_number, setting_source, setting_text
from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import Actor

from .channels import Channel, channels_from_config
from .domain.delivery import RetryPolicy

NOTIFY_ACTOR = Actor("notify", "system", "notify")
DEFAULT_OFFICE = "proposal-committee"   # the committee office 提案委员会 staff work in


@dataclass(frozen=True)
class NotifySettings:
    office: str = DEFAULT_OFFICE
    policy: RetryPolicy = RetryPolicy()
    digest_grace_seconds: float = 60.0
    batch: int = 100
    concurrency: int = 8       # sends at once (green threads): a relay's round trips overlap

    @classmethod
    def load(cls, config: Mapping[str, Any] | None) -> "NotifySettings":
        """From the nameko config, then the environment; ConfigError names a bad setting."""
        src, base = setting_source(config), RetryPolicy()

        def count(key: str, default: int) -> int:
            return setting_number(src, key, default, int, most=100_000, what="a whole number above 0")

        def seconds(key: str, default: float) -> float:
            return setting_number(src, key, default, float)
        return cls(office=setting_text(src, "XIESHANG_NOTIFY_OFFICE") or DEFAULT_OFFICE,
                   policy=RetryPolicy(max_attempts=count("XIESHANG_NOTIFY_MAX_ATTEMPTS", base.max_attempts),
                                      base_seconds=seconds("XIESHANG_NOTIFY_RETRY_SECONDS", base.base_seconds),
                                      max_seconds=seconds("XIESHANG_NOTIFY_RETRY_MAX_SECONDS", base.max_seconds),
                                      lease_seconds=seconds("XIESHANG_NOTIFY_LEASE_SECONDS", base.lease_seconds)),
                   digest_grace_seconds=seconds("XIESHANG_NOTIFY_DIGEST_GRACE_SECONDS", 60.0),
                   batch=count("XIESHANG_NOTIFY_BATCH", 100),
                   concurrency=count("XIESHANG_NOTIFY_CONCURRENCY", 8))


class Settings(DependencyProvider):
    def setup(self) -> None:
        self.settings = NotifySettings.load(self.container.config)

    def get_dependency(self, worker_ctx) -> NotifySettings:
        return self.settings


class Channels(DependencyProvider):
    """The channels configured for this deployment (e-mail, SMS), by name."""

    def setup(self) -> None:
        self.channels: dict[str, Channel] = channels_from_config(self.container.config)

    def stop(self) -> None:
        for channel in self.channels.values():
            channel.close()

    kill = stop

    def get_dependency(self, worker_ctx) -> dict[str, Channel]:
        return self.channels


class AddressBook(RpcProxy):
    """``lookup(party_ids, channel) -> {party_id: address | None}`` from the members service, asked
    as the notify service (role ``system``), whatever call the worker is serving."""

    def __init__(self, **options: Any):
        super().__init__("members", **options)

    def get_dependency(self, worker_ctx):
        members = super().get_dependency(worker_ctx)
        return _Lookup(worker_ctx, members)


class _Lookup:
    def __init__(self, worker_ctx, members):
        self._worker_ctx, self._members = worker_ctx, members

    def __call__(self, party_ids: Sequence[str], channel: str) -> dict[str, str | None]:
        data = self._worker_ctx.data          # what nameko puts into the call's headers
        saved = dict(data)
        data.clear()
        data.update(CommandContext(actor=NOTIFY_ACTOR, reason=f"{channel} delivery").to_context_data())
        try:
            return self._members.delivery_addresses(list(party_ids), channel)
        finally:
            data.clear()
            data.update(saved)
