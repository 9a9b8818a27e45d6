"""The notify service: turns other services' events into notices for the people concerned.

Each reaction is one append to ``notices-<subject stream>`` with the kernel's effect tracking,
so a redelivered event queues nothing twice; notification ids derived from the cause give the
same guarantee a second time.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from xieshang.kernel.rpc import rpc  # nameko's @rpc, its queue declared as configured

from xieshang.kernel.clock import Clock, ClockProvider
from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import NotAllowed
from xieshang.kernel.envelope import Envelope
from xieshang.kernel.ids import check_id
from xieshang.kernel.runtime import EXPECTED, RequestContext, WritePath
from xieshang.kernel.streams import Streams
from xieshang.kernel.views import ReadModels, check_page

from . import domain
from .views import PROJECTIONS

PROPOSALS = "proposals"
MAX_LIST = 500


class NotifyService:
    """通知: the in-app inbox of members and handling units."""

    name = "notify"

    streams: Streams = WritePath(domain.registry)
    context = RequestContext()
    views = ReadModels(PROJECTIONS)
    tracking = EffectTracking()
    clock: Clock = ClockProvider()

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
        if not domain.may_read_inbox(actor, check_id(user_id, "user_id")):
            raise NotAllowed("read_inbox", (f"it belongs to {user_id!r}, not to "
                                            f"{actor.user_id!r} of {actor.organisation!r}",
                                            f"这是 {user_id!r} 的收件箱，不是 {actor.organisation!r} 的 "
                                            f"{actor.user_id!r} 的"))
        check_page(limit, 0, MAX_LIST)
        self.views.read_after(after_position)
        rows = self.views.projection("inbox").rows
        query = (sa.select(rows).where(rows.c.recipient == user_id)
                 .order_by(rows.c.position.desc()).limit(limit))
        with self.views.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.streams.store.head(), "views": self.views.position()}

    # -- reactions' one decision ----------------------------------------------------------
    def _queue(self, envelope: Envelope) -> None:
        ctx = CommandContext.caused_by(envelope, reason=f"notify about {envelope.type}")
        self.streams.decide(
            ctx, domain.notices_stream(envelope.stream), domain.fold,
            lambda log: domain.notices_for(log, event_type=envelope.type, data=envelope.data,
                                           subject=envelope.stream, source_event_id=envelope.event_id),
            retry=True, tracking=self.tracking(envelope))
