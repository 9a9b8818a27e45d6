"""The notify service's published events (its contract; docs/events.md lists them).

Imports only the kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

from xieshang.kernel.domain import DomainEvent, EventRegistry

registry = EventRegistry()


@registry.register
@dataclass(frozen=True)
class NotificationQueued(DomainEvent):
    """A notice for ``recipient`` (user or organisation id) was queued on ``channel``.

    ``kind`` says what it is about (e.g. ``proposal_filed``); ``subject`` is the stream of the
    case; ``source_event_id`` the event that caused it.
    """

    notification_id: str
    recipient: str
    channel: str
    kind: str
    subject: str
    title: str
    body: str
    source_event_id: str

    def identity(self) -> str:
        # The event id is the notification id: re-appending the same notice is a no-op.
        return self.notification_id
