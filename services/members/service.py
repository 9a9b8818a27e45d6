"""The members service: the member registry and duty points, a thin shell around its domain.

It reacts to the proposals service's published events (by type name; the contract is
services/proposals/domain.py, documented, not imported). Each reaction is one append to the
member's ledger carrying the kernel's effect tracking, so a redelivered event credits nothing
twice; the ledger also refuses a second credit for the same source event.
"""

from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa
from nameko.rpc import rpc

from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.context import CommandContext, MissingActor
from xieshang.kernel.domain import DomainError, DomainEvent, InvalidCommand
from xieshang.kernel.envelope import Envelope
from xieshang.kernel.runtime import EventStoreDependency, RequestContext
from xieshang.kernel.store import ConcurrencyError, EventStore
from xieshang.kernel.views import ReadModels

from . import domain
from .views import PROJECTIONS

EXPECTED = (DomainError, MissingActor, ConcurrencyError)
PROPOSALS = "proposals"
# A reaction that loses a race on the ledger re-reads and decides again this many times before
# giving the message back to the broker (which redelivers it).
LEDGER_ATTEMPTS = 5


class MembersService:
    """委员: appointment, the duty ledger, and points for what members' work earns."""

    name = "members"

    store: EventStore = EventStoreDependency()
    context = RequestContext()
    views = ReadModels(PROJECTIONS)
    tracking = EffectTracking()

    # -- commands -------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def appoint_member(self, member_id: str, name: str, sector: str, term: str,
                       roles: Sequence[str] = (), station: str | None = None) -> dict[str, Any]:
        ctx = self.context.get()
        if not isinstance(member_id, str):
            raise InvalidCommand("bad member id", {"member_id": "the member's login id"})
        stream = domain.member_stream(member_id)
        events, version = _read(self.store, stream)
        decided = domain.appoint_member(ctx.actor, domain.fold_member(member_id, events), name=name,
                                        sector=sector, term=term, roles=roles, station=station)
        last = self._record(ctx, stream, version, decided)[-1]
        return {"member_id": member_id, "stream": stream, "version": last.version,
                "position": last.position, "event": last.type, "event_id": last.event_id}

    # -- reactions ------------------------------------------------------------------------
    @handle_event(PROPOSALS, "ProposalFiled")
    def on_proposal_filed(self, envelope: Envelope) -> None:
        """提案立案 earns the proposer the points of ``proposal_filed``."""
        self._award(envelope, envelope.data["proposer"], "proposal_filed",
                    note=f"提案立案 {envelope.data.get('case_number', '')}".strip())

    # -- queries --------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def get_member(self, member_id: str) -> dict[str, Any]:
        """The member and their duty ledger, folded from their streams."""
        events, _ = _read(self.store, domain.member_stream(member_id))
        member = domain.require_member(domain.fold_member(member_id, events))
        entries, ledger_version = _read(self.store, domain.ledger_stream(member_id))
        ledger = domain.fold_ledger(member_id, entries)
        return {**member.to_dict(), "points": ledger.total, "ledger": ledger.to_dict()["entries"],
                "ledger_version": ledger_version}

    @rpc(expected_exceptions=EXPECTED)
    def list_members(self, sector: str | None = None, after_position: int = 0) -> list[dict[str, Any]]:
        """Appointed members with their points, from the read model, highest points first."""
        if after_position and not self.views.wait_for(int(after_position)):
            raise DomainError(f"the member list has not caught up with position {after_position} "
                              "yet; try again shortly")
        rows = self.views.projection("member_directory").rows
        query = (sa.select(rows).where(rows.c.appointed.is_(True))
                 .order_by(rows.c.points.desc(), rows.c.member_id))
        if sector:
            query = query.where(rows.c.sector == sector)
        with self.views.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.store.head(), "views": self.views.position()}

    # -- plumbing -------------------------------------------------------------------------
    def _award(self, envelope: Envelope, member_id: str, activity: str, note: str = "") -> None:
        ctx = CommandContext.caused_by(envelope, reason=f"duty points: {activity}")
        stream = domain.ledger_stream(member_id)
        for _attempt in range(LEDGER_ATTEMPTS):
            events, version = _read(self.store, stream)
            decided = domain.award_points(domain.fold_ledger(member_id, events), activity=activity,
                                          source_service=PROPOSALS, source_event_id=envelope.event_id,
                                          source_stream=envelope.stream, note=note)
            if not decided:
                return
            try:
                self._record(ctx, stream, version, decided, tracking=self.tracking(envelope))
                return
            except ConcurrencyError:
                continue  # another reaction credited this member meanwhile: decide again
        raise ConcurrencyError(stream, version, self.store.stream_version(stream))

    def _record(self, ctx: CommandContext, stream: str, expected_version: int,
                events: list[DomainEvent], tracking=None) -> list[Envelope]:
        return self.store.append(stream, expected_version, [
            ctx.new_event(e.type_name(), e.to_data(), schema_version=e.SCHEMA_VERSION) for e in events],
            tracking=tracking)


def _read(store: EventStore, stream: str) -> tuple[list[DomainEvent], int]:
    envelopes = store.read_stream(stream)
    events = [domain.registry.decode(e) for e in envelopes if e.type in domain.registry]
    return events, envelopes[-1].version if envelopes else 0
