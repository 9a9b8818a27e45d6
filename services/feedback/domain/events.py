"""The feedback service's published events (its contract; docs/events.md lists them).

Imports only the kernel: other services' consumers decode these events through ``registry``.
"""

from __future__ import annotations

from dataclasses import dataclass

from xieshang.kernel.domain import DomainEvent, EventRegistry

registry = EventRegistry()


@registry.register
@dataclass(frozen=True)
class OpinionReportSubmitted(DomainEvent):
    """A member or an informant submitted an opinion report, collected through ``channel``
    (one of CHANNELS). ``submitter`` is a user id; ``submitter_role`` is member or informant."""

    report_id: str
    submitter: str
    submitter_role: str
    title: str
    content: str
    channel: str
    category: str
    source: str | None = None  # e.g. "proposal:<id>" for a proposal converted 提案转
