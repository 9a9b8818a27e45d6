"""The notify service: turns other services' events into notices for the people concerned.

Each reaction is one append to ``notices-<subject stream>`` with the kernel's effect tracking,
so a redelivered event queues nothing twice; notification ids derived from the cause give the
same guarantee a second time.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from nameko.rpc import rpc

from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.context import CommandContext, MissingActor
from xieshang.kernel.domain import DomainError, DomainEvent, InvalidCommand, NotAllowed, NotYet
from xieshang.kernel.envelope import Envelope
from xieshang.kernel.runtime import EventStoreDependency, RequestContext
from xieshang.kernel.store import ConcurrencyError, EventStore
from xieshang.kernel.views import ReadModels

from . import domain
from .views import PROJECTIONS

EXPECTED = (DomainError, MissingActor, ConcurrencyError)
PROPOSALS = "proposals"
NOTICE_ATTEMPTS = 5
# Roles that may read any inbox (to help a member who calls the office, or to audit).
READ_ANY_INBOX = ("staff", "auditor")


class NotifyService:
    """通知: the in-app inbox of members and handling units."""

    name = "notify"

    store: EventStore = EventStoreDependency()
    context = RequestContext()
    views = ReadModels(PROJECTIONS)
    tracking = EffectTracking()

    # -- reactions ------------------------------------------------------------------------
    @handle_event(PROPOSALS, domain.PROPOSAL_FILED)
    def on_proposal_filed(self, envelope: Envelope) -> None:
        self._queue(envelope)

    @handle_event(PROPOSALS, domain.PROPOSAL_ASSIGNED)
    def on_proposal_assigned(self, envelope: Envelope) -> None:
        self._queue(envelope)

    @handle_event(PROPOSALS, domain.PROPOSAL_REPLIED)
    def on_proposal_replied(self, envelope: Envelope) -> None:
        self._queue(envelope)

    # -- queries --------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def inbox(self, user_id: str, after_position: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Notices for ``user_id`` (a member's id or a unit's organisation id), newest first.
        Readable by that user, by staff of that organisation, and by staff and auditors."""
        actor = self.context.get().actor
        if user_id not in (actor.user_id, actor.organisation) and actor.role not in READ_ANY_INBOX:
            raise NotAllowed("read this inbox", f"it belongs to {user_id!r}, not to "
                                                f"{actor.user_id!r} of {actor.organisation!r}")
        if not isinstance(limit, int) or not 1 <= limit <= 500:
            raise InvalidCommand("bad limit", {"limit": "an integer from 1 to 500"})
        if after_position and not self.views.wait_for(int(after_position)):
            raise NotYet(f"the inbox has not caught up with position {after_position} yet; "
                              "try again shortly")
        rows = self.views.projection("inbox").rows
        query = (sa.select(rows).where(rows.c.recipient == user_id)
                 .order_by(rows.c.position.desc()).limit(limit))
        with self.views.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.store.head(), "views": self.views.position()}

    # -- plumbing -------------------------------------------------------------------------
    def _queue(self, envelope: Envelope) -> None:
        ctx = CommandContext.caused_by(envelope, reason=f"notify about {envelope.type}")
        stream = domain.notices_stream(envelope.stream)
        for _attempt in range(NOTICE_ATTEMPTS):
            events, version = _read(self.store, stream)
            decided = domain.notices_for(domain.fold(events), event_type=envelope.type,
                                         data=envelope.data, subject=envelope.stream,
                                         source_event_id=envelope.event_id)
            if not decided:
                return
            try:
                self.store.append(stream, version, [_new_event(ctx, e) for e in decided],
                                  tracking=self.tracking(envelope))
                return
            except ConcurrencyError:
                continue  # another event about the same case was handled meanwhile
        raise ConcurrencyError(stream, version, self.store.stream_version(stream))


def _new_event(ctx: CommandContext, event: DomainEvent):
    # The event id is the notification id: re-appending the same notice is a no-op in the store.
    return ctx.new_event(event.type_name(), event.to_data(), schema_version=event.SCHEMA_VERSION,
                         event_id=event.notification_id)


def _read(store: EventStore, stream: str) -> tuple[list[DomainEvent], int]:
    envelopes = store.read_stream(stream)
    events = [domain.registry.decode(e) for e in envelopes if e.type in domain.registry]
    return events, envelopes[-1].version if envelopes else 0
