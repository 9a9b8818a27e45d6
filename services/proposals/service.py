"""The proposals service: a thin nameko shell around services.proposals.domain.

Every command loads the case's stream, folds it, lets the domain decide, and appends the
decision with the version it folded from: a concurrent change raises ConcurrencyError to the
caller (who reloads and retries); nothing is overwritten. The relay publishes the events.
"""

from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa
from nameko.rpc import rpc

from xieshang.kernel.context import CommandContext, MissingActor
from xieshang.kernel.domain import DomainError, DomainEvent, InvalidCommand, NotFound
from xieshang.kernel.envelope import Envelope, new_id, utcnow
from xieshang.kernel.runtime import EventStoreDependency, RequestContext
from xieshang.kernel.store import ConcurrencyError, EventStore
from xieshang.kernel.views import ReadModels

from . import domain
from .views import PROJECTIONS, PUBLIC_COLUMNS, PUBLIC_STATUSES

# Refusals are answers, not failures: nameko logs them as warnings, not tracebacks.
EXPECTED = (DomainError, MissingActor, ConcurrencyError)
MAX_LIST = 500


class ProposalsService:
    """提案: submit, file, assign, reply; the case by id and the list from the read model."""

    name = "proposals"

    store: EventStore = EventStoreDependency()
    context = RequestContext()
    views = ReadModels(PROJECTIONS)

    # -- commands -------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def submit_proposal(self, title: str, reasons: str, suggestions: str, category: str,
                        co_signers: Sequence[str] = ()) -> dict[str, Any]:
        ctx = self.context.get()
        proposal_id = new_id()
        events = domain.submit_proposal(ctx.actor, ctx.on_behalf_of, proposal_id, title=title,
                                        reasons=reasons, suggestions=suggestions,
                                        category=category, co_signers=co_signers)
        return self._receipt(proposal_id, self._record(ctx, domain.proposal_stream(proposal_id), 0,
                                                       events))

    @rpc(expected_exceptions=EXPECTED)
    def file_proposal(self, proposal_id: str, case_number: str) -> dict[str, Any]:
        ctx = self.context.get()
        state, version = self._load(proposal_id)
        events = domain.file_proposal(ctx.actor, state, case_number)
        self._reserve_case_number(ctx, events[0].case_number, proposal_id)
        return self._receipt(proposal_id, self._record(ctx, domain.proposal_stream(proposal_id),
                                                       version, events))

    @rpc(expected_exceptions=EXPECTED)
    def assign_proposal(self, proposal_id: str, lead_unit: str, reply_deadline: str | None = None,
                        co_units: Sequence[str] = ()) -> dict[str, Any]:
        ctx = self.context.get()
        state, version = self._load(proposal_id)
        events = domain.assign_proposal(ctx.actor, state, lead_unit=lead_unit, co_units=co_units,
                                        reply_deadline=reply_deadline, today=utcnow().date())
        return self._receipt(proposal_id, self._record(ctx, domain.proposal_stream(proposal_id),
                                                       version, events))

    @rpc(expected_exceptions=EXPECTED)
    def reply_to_proposal(self, proposal_id: str, reply_class: str, reply: str) -> dict[str, Any]:
        ctx = self.context.get()
        state, version = self._load(proposal_id)
        events = domain.reply_to_proposal(ctx.actor, state, reply_class=reply_class, reply=reply,
                                          today=utcnow().date())
        return self._receipt(proposal_id, self._record(ctx, domain.proposal_stream(proposal_id),
                                                       version, events))

    # -- queries --------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def get_proposal(self, proposal_id: str) -> dict[str, Any]:
        """The case folded from its stream (always current, no read model involved)."""
        state, version = self._load(proposal_id)
        if not state.exists:
            raise NotFound(f"no proposal {proposal_id!r}")
        return {**state.to_dict(), "stream": domain.proposal_stream(proposal_id), "version": version}

    @rpc(expected_exceptions=EXPECTED)
    def list_proposals(self, status: str | None = None, public: bool = False,
                       after_position: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """Proposals from the read model, newest first. ``after_position``: wait until the list
        includes that event (read your own writes). ``public``: only filed cases, without
        personal data."""
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
            raise InvalidCommand("bad limit", {"limit": f"an integer from 1 to {MAX_LIST}"})
        if after_position and not self.views.wait_for(int(after_position)):
            raise DomainError(f"the proposal list has not caught up with position {after_position} "
                              "yet; try again shortly")
        rows = self.views.projection("proposal_list").rows
        query = sa.select(rows).order_by(rows.c.position.desc()).limit(limit)
        if status:
            query = query.where(rows.c.status == status)
        if public:
            query = query.where(rows.c.status.in_(PUBLIC_STATUSES))
        with self.views.connect() as conn:
            found = [dict(r) for r in conn.execute(query).mappings()]
        if public:
            return [{k: r[k] for k in PUBLIC_COLUMNS} for r in found]
        return found

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.store.head(), "views": self.views.position()}

    # -- plumbing -------------------------------------------------------------------------
    def _load(self, proposal_id: str) -> tuple[domain.Proposal, int]:
        if not isinstance(proposal_id, str) or not proposal_id:
            raise InvalidCommand("bad proposal id", {"proposal_id": "the proposal's id"})
        events, version = _read(self.store, domain.proposal_stream(proposal_id))
        return domain.fold(proposal_id, events), version

    def _reserve_case_number(self, ctx: CommandContext, case_number: str, proposal_id: str) -> None:
        stream = domain.case_number_stream(case_number)
        for _attempt in range(3):
            held, version = _read(self.store, stream)
            events = domain.reserve_case_number(held, case_number, proposal_id)
            if not events:
                return
            try:
                self._record(ctx, stream, version, events)
                return
            except ConcurrencyError:
                continue  # someone took it meanwhile: the next read says who
        raise ConcurrencyError(stream, version, self.store.stream_version(stream))

    def _record(self, ctx: CommandContext, stream: str, expected_version: int,
                events: list[DomainEvent]) -> list[Envelope]:
        return self.store.append(stream, expected_version, [
            ctx.new_event(e.type_name(), e.to_data(), schema_version=e.SCHEMA_VERSION) for e in events])

    @staticmethod
    def _receipt(proposal_id: str, envelopes: list[Envelope]) -> dict[str, Any]:
        last = envelopes[-1]
        return {"proposal_id": proposal_id, "stream": last.stream, "version": last.version,
                "position": last.position, "event": last.type, "event_id": last.event_id}


def _read(store: EventStore, stream: str) -> tuple[list[DomainEvent], int]:
    envelopes = store.read_stream(stream)
    events = [domain.registry.decode(e) for e in envelopes if e.type in domain.registry]
    return events, envelopes[-1].version if envelopes else 0
