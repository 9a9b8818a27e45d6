"""The proposals service: a thin nameko shell around services.proposals.domain.

Every command loads the case's stream, folds it, lets the domain decide, and appends the
decision with the version it folded from: a concurrent change raises ConcurrencyError to the
caller (who reloads and retries); nothing is overwritten. The relay publishes the events.
The service checks rights itself from the actor in the call's context (the domain says who may
do what), whatever the gateway checked before.

Time comes from the injected clock (``XIESHANG_FIXED_TIME`` in tests), deadlines from the
committee's rules and holiday calendar (stream ``handling-rules``). A timer reminds units before
deadlines and raises the overdue event once per round; several instances may run it at once:
the append's expected version lets one of them record each event.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

from nameko.rpc import rpc
from nameko.timer import timer

from xieshang.kernel.clock import Clock, ClockProvider
from xieshang.kernel.context import CommandContext, MissingActor
from xieshang.kernel.domain import DomainError, DomainEvent, InvalidCommand, NotAllowed, NotFound, NotYet
from xieshang.kernel.envelope import SYSTEM_ACTOR, Envelope, new_id
from xieshang.kernel.runtime import EventStoreDependency, RequestContext
from xieshang.kernel.store import ConcurrencyError, EventStore
from xieshang.kernel.views import ReadModels

from . import domain, views
from .calendar import china_2024_calendar
from .domain import AUDITOR, LEADER, MEMBER, STAFF, UNIT

log = logging.getLogger(__name__)

# Refusals are answers, not failures: nameko logs them as warnings, not tracebacks.
EXPECTED = (DomainError, MissingActor, ConcurrencyError)
MAX_LIST = 500
SYSTEM_RETRIES = 5        # reloads of a system decision (timer, follow-on) that lost a race
DEADLINE_CHECK_SECONDS = 300
READERS_OF_ALL = (STAFF, AUDITOR, LEADER, "subscriber")  # subscriber systems read, never write


class ProposalsService:
    """提案: the whole 提、立、交、办、督、评 lifecycle, its worklists and statistics."""

    name = "proposals"

    store: EventStore = EventStoreDependency()
    context = RequestContext()
    views = ReadModels(views.PROJECTIONS)
    clock: Clock = ClockProvider()

    # -- 提: submission ---------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def submit_proposal(self, title: str, reasons: str, suggestions: str, category: str,
                        co_signers: Sequence[str] = (), kind: str | None = None, session: str = "",
                        body: dict | None = None, publish_consent: bool = False) -> dict[str, Any]:
        ctx = self.context.get()
        proposal_id = new_id()
        events = domain.submit_proposal(
            ctx.actor, ctx.on_behalf_of, proposal_id, title=title, reasons=reasons,
            suggestions=suggestions, category=category, co_signers=co_signers, kind=kind,
            session=session or str(self.clock.today().year), body=body,
            publish_consent=publish_consent, today=self.clock.today())
        return self._receipt(proposal_id, self._record(ctx, domain.proposal_stream(proposal_id), 0,
                                                       events))

    @rpc(expected_exceptions=EXPECTED)
    def confirm_co_signature(self, proposal_id: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, state: domain.confirm_co_signature(
            ctx.actor, state, today=self.clock.today()))

    @rpc(expected_exceptions=EXPECTED)
    def decline_co_signature(self, proposal_id: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, state: domain.decline_co_signature(
            ctx.actor, state, today=self.clock.today()))

    # -- 立: review ---------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def return_proposal(self, proposal_id: str, reason: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.return_proposal(ctx.actor, s, reason))

    @rpc(expected_exceptions=EXPECTED)
    def revise_proposal(self, proposal_id: str, title: str, reasons: str, suggestions: str,
                        category: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.revise_proposal(
            ctx.actor, s, title=title, reasons=reasons, suggestions=suggestions, category=category))

    @rpc(expected_exceptions=EXPECTED)
    def file_proposal(self, proposal_id: str) -> dict[str, Any]:
        """File 立案 under the session's next case number (unique, sequential, gap-free)."""
        ctx = self.context.get()
        state, version = self._load(proposal_id)
        today = self.clock.today()
        domain.check_fileable(ctx.actor, state, today)
        case_number = self._take_case_number(ctx, state.session, proposal_id)
        try:
            events = domain.file_proposal(ctx.actor, state, case_number, today=today)
            envelopes = self._record(ctx, domain.proposal_stream(proposal_id), version, events)
        except BaseException:
            # The case changed meanwhile (or the append failed): unless it got filed under this
            # number after all, give the number back so the next filing takes it.
            if self._load(proposal_id)[0].case_number != case_number:
                self._release_case_number(ctx, state.session, proposal_id)
            raise
        return self._receipt(proposal_id, envelopes)

    @rpc(expected_exceptions=EXPECTED)
    def not_file_proposal(self, proposal_id: str, reason: str,
                          conversion: str | None = None) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.not_file_proposal(
            ctx.actor, s, reason=reason, conversion=conversion))

    @rpc(expected_exceptions=EXPECTED)
    def merge_proposal(self, proposal_id: str, into: str) -> dict[str, Any]:
        """Merge ``proposal_id`` into ``into`` 并案; its proposers join the surviving case."""
        ctx = self.context.get()
        merged, version = self._load(proposal_id)
        survivor, _ = self._load(into)
        events = domain.merge_proposal(ctx.actor, merged, survivor)
        envelopes = self._record(ctx, domain.proposal_stream(proposal_id), version, events) if events \
            else self.store.read_stream(domain.proposal_stream(proposal_id))[-1:]
        marker = domain.ProposalMerged(proposal_id=proposal_id, into=into,
                                       proposers=list(merged.proposers))
        self._system_decide(ctx, into, lambda state: domain.add_merged_proposal(state, marker))
        return self._receipt(proposal_id, envelopes)

    # -- 交、办: assignment and handling --------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def assign_proposal(self, proposal_id: str, lead_unit: str, co_units: Sequence[str] = (),
                        deadline: str | None = None, urgent: bool = False) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.assign_proposal(
            ctx.actor, s, lead_unit=lead_unit, co_units=co_units, deadline=deadline,
            urgent=urgent, timing=self._timing()))

    @rpc(expected_exceptions=EXPECTED)
    def object_to_assignment(self, proposal_id: str, reason: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.object_to_assignment(
            ctx.actor, s, reason=reason, timing=self._timing()))

    @rpc(expected_exceptions=EXPECTED)
    def dismiss_objection(self, proposal_id: str, unit: str, reason: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.dismiss_objection(
            ctx.actor, s, unit=unit, reason=reason))

    @rpc(expected_exceptions=EXPECTED)
    def reassign_proposal(self, proposal_id: str, lead_unit: str, co_units: Sequence[str] = (),
                          deadline: str | None = None) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.reassign_proposal(
            ctx.actor, s, lead_unit=lead_unit, co_units=co_units, deadline=deadline,
            timing=self._timing()))

    @rpc(expected_exceptions=EXPECTED)
    def record_contact(self, proposal_id: str, stage: str, summary: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.record_contact(
            ctx.actor, s, stage=stage, summary=summary))

    @rpc(expected_exceptions=EXPECTED)
    def send_co_unit_opinion(self, proposal_id: str, opinion: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.send_co_unit_opinion(
            ctx.actor, s, opinion=opinion))

    @rpc(expected_exceptions=EXPECTED)
    def reply_to_proposal(self, proposal_id: str, reply_class: str, reply: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.reply_to_proposal(
            ctx.actor, s, reply_class=reply_class, reply=reply, today=self.clock.today()))

    # -- 督: supervision ------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def designate_key_proposal(self, proposal_id: str, supervisors: Sequence[str],
                               mode: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.designate_key_proposal(
            ctx.actor, s, supervisors=supervisors, mode=mode))

    @rpc(expected_exceptions=EXPECTED)
    def record_supervision(self, proposal_id: str, kind: str, note: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.record_supervision(
            ctx.actor, s, kind=kind, note=note))

    # -- 评: evaluation --------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def rate_reply(self, proposal_id: str, reply_rating: str, attitude_rating: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.rate_reply(
            ctx.actor, s, reply_rating=reply_rating, attitude_rating=attitude_rating,
            timing=self._timing()))

    @rpc(expected_exceptions=EXPECTED)
    def record_follow_up(self, proposal_id: str, note: str, kept: bool) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.record_follow_up(
            ctx.actor, s, note=note, kept=kept))

    @rpc(expected_exceptions=EXPECTED)
    def close_proposal(self, proposal_id: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.close_proposal(ctx.actor, s))

    # -- publication and comments ----------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def set_publication_consent(self, proposal_id: str, consent: bool) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.set_publication_consent(
            ctx.actor, s, consent=consent))

    @rpc(expected_exceptions=EXPECTED)
    def publish_proposal(self, proposal_id: str, proposer_names: Sequence[str]) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.publish_proposal(
            ctx.actor, s, proposer_names=proposer_names))

    @rpc(expected_exceptions=EXPECTED)
    def unpublish_proposal(self, proposal_id: str, reason: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.unpublish_proposal(
            ctx.actor, s, reason=reason))

    @rpc(expected_exceptions=EXPECTED)
    def submit_comment(self, proposal_id: str, text: str, display_name: str,
                       comment_id: str | None = None) -> dict[str, Any]:
        comment_id = comment_id or new_id()
        receipt = self._decide(proposal_id, lambda ctx, s: domain.submit_comment(
            ctx.actor, s, comment_id=comment_id, display_name=display_name, text=text))
        return {**receipt, "comment_id": comment_id}

    @rpc(expected_exceptions=EXPECTED)
    def moderate_comment(self, proposal_id: str, comment_id: str, approve: bool,
                         reason: str | None = None) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.moderate_comment(
            ctx.actor, s, comment_id=comment_id, approve=approve, reason=reason))

    @rpc(expected_exceptions=EXPECTED)
    def answer_comment(self, proposal_id: str, comment_id: str, answer: str) -> dict[str, Any]:
        return self._decide(proposal_id, lambda ctx, s: domain.answer_comment(
            ctx.actor, s, comment_id=comment_id, answer=answer))

    # -- deadlines ---------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def set_handling_rules(self, rules: dict) -> dict[str, Any]:
        ctx = self.context.get()
        _, version = self._read(domain.RULES_STREAM)
        last = self._record(ctx, domain.RULES_STREAM, version, domain.set_handling_rules(ctx.actor, rules))
        return {"stream": domain.RULES_STREAM, "version": last[-1].version,
                "position": last[-1].position, "rules": self._timing().rules.to_dict()}

    @rpc(expected_exceptions=EXPECTED)
    def amend_holiday_calendar(self, add_holidays: Sequence[str] = (), remove_holidays: Sequence[str] = (),
                               add_workdays: Sequence[str] = (),
                               remove_workdays: Sequence[str] = ()) -> dict[str, Any]:
        """Amend the holiday calendar, then move the deadlines of open cases counted by it
        (each move is an event whose reason names the amendment)."""
        ctx = self.context.get()
        events, version = self._read(domain.RULES_STREAM)
        current = domain.fold_rules(events, china_2024_calendar())
        amendment = self._record(ctx, domain.RULES_STREAM, version, domain.amend_holiday_calendar(
            ctx.actor, current, add_holidays=add_holidays, remove_holidays=remove_holidays,
            add_workdays=add_workdays, remove_workdays=remove_workdays))[-1]
        moved = self._recount_open_deadlines(CommandContext(
            actor=ctx.actor, reason=f"holiday calendar amended: {ctx.reason or 'no reason given'}",
            correlation_id=ctx.correlation_id, causation_id=amendment.event_id))
        return {"stream": domain.RULES_STREAM, "version": amendment.version,
                "position": amendment.position, "deadlines_moved": moved}

    @rpc(expected_exceptions=EXPECTED)
    def handling_rules(self) -> dict[str, Any]:
        timing = self._timing()
        return {"rules": timing.rules.to_dict(), "calendar": timing.calendar.to_dict(),
                "today": timing.today.isoformat()}

    @timer(interval=DEADLINE_CHECK_SECONDS)
    def check_deadlines(self) -> dict[str, int]:
        """Remind before deadlines, raise overdue events (once per round), and recount deadlines
        an interrupted calendar amendment left behind."""
        ctx = CommandContext(actor=SYSTEM_ACTOR, reason="deadline check")
        timing = self._timing()
        counts = {"reminded": 0, "overdue": 0, "moved": 0}
        for proposal_id in self._open_rounds():
            for envelope in self._system_decide(ctx, proposal_id, lambda s: [
                    *domain.recount_deadline(s, timing), *domain.remind_or_escalate(s, timing)]):
                key = {"ReplyDueSoon": "reminded", "ReplyOverdue": "overdue",
                       "ReplyDeadlineMoved": "moved"}[envelope.type]
                counts[key] += 1
        if any(counts.values()):
            log.info("deadline check on %s: %s", timing.today, counts)
        return counts

    # -- queries -------------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def get_proposal(self, proposal_id: str) -> dict[str, Any]:
        """The case folded from its stream (always current), as the asking actor may see it:
        ratings only for staff and auditors (a member sees their own), never for units."""
        actor = self.context.get().actor
        state, version = self._load(proposal_id)
        if not state.exists:
            raise NotFound(f"no proposal {proposal_id!r}")
        involved = (actor.role in READERS_OF_ALL
                    or (actor.role == MEMBER and actor.user_id in (*state.proposers, *state.co_signers))
                    or (actor.role == UNIT and any(actor.organisation in r.units for r in state.rounds)))
        if not involved:
            raise NotAllowed("read this proposal", "it is not one of yours (staff, auditors, leaders, "
                                                   "its proposers and its units read it)")
        case = state.to_dict()
        for r in case["rounds"]:
            if actor.role == MEMBER:
                r["ratings"] = [x for x in r["ratings"] if x[0] == actor.user_id]
            elif actor.role not in (STAFF, AUDITOR):
                r.pop("ratings")
        if actor.role not in (STAFF, AUDITOR):
            for c in case["comments"]:
                c.pop("author")
        return {**case, "stream": domain.proposal_stream(proposal_id), "version": version}

    @rpc(expected_exceptions=EXPECTED)
    def worklist(self, status: str | None = None, unit: str | None = None, category: str | None = None,
                 session: str | None = None, year: int | None = None, overdue: bool | None = None,
                 key: bool | None = None, limit: int = 100, offset: int = 0,
                 after_position: int = 0) -> list[dict[str, Any]]:
        """Staff worklist with filters (staff, auditors and leaders)."""
        self._require_reader("read the worklist", READERS_OF_ALL)
        self._check_page(limit, offset)
        self._wait(after_position)
        with self.views.connect() as conn:
            return views.worklist(conn, self.views.projection("worklist"), status=status, unit=unit,
                                  category=category, session=session, year=year, overdue=overdue,
                                  key=key, limit=limit, offset=offset)

    @rpc(expected_exceptions=EXPECTED)
    def unit_inbox(self, unit: str, open_only: bool = True, after_position: int = 0) -> list[dict[str, Any]]:
        """A unit's assignments with what is due and overdue (the unit itself, staff, auditors)."""
        actor = self.context.get().actor
        if not (actor.role in (STAFF, AUDITOR) or (actor.role == UNIT and actor.organisation == unit)):
            raise NotAllowed("read this inbox", f"it belongs to unit {unit!r}")
        self._wait(after_position)
        with self.views.connect() as conn:
            return views.unit_inbox(conn, self.views.projection("unit_inbox"), unit,
                                    open_only=open_only, today=self.clock.today())

    @rpc(expected_exceptions=EXPECTED)
    def my_proposals(self, member_id: str | None = None, after_position: int = 0) -> list[dict[str, Any]]:
        """A member's own cases (as proposer, co-signer or merged proposer), with their own ratings."""
        actor = self.context.get().actor
        member_id = member_id or actor.user_id
        if not (actor.role in (STAFF, AUDITOR) or (actor.role == MEMBER and actor.user_id == member_id)):
            raise NotAllowed("read these cases", f"they are {member_id!r}'s")
        self._wait(after_position)
        with self.views.connect() as conn:
            return views.cases_of_member(conn, self.views.projection("proposer_cases"), member_id)

    @rpc(expected_exceptions=EXPECTED)
    def public_proposals(self, category: str | None = None, limit: int = 100, offset: int = 0,
                         after_position: int = 0) -> list[dict[str, Any]]:
        """Published cases, for anyone (no personal data beyond the published proposer names)."""
        self._check_page(limit, offset)
        self._wait(after_position)
        with self.views.connect() as conn:
            return views.public_list(conn, self.views.projection("public_cases"), category=category,
                                     limit=limit, offset=offset)

    @rpc(expected_exceptions=EXPECTED)
    def public_proposal(self, case_number: str, after_position: int = 0) -> dict[str, Any]:
        self._wait(after_position)
        with self.views.connect() as conn:
            found = views.public_detail(conn, self.views.projection("public_cases"), case_number)
        if found is None:
            raise NotFound(f"no published proposal {case_number!r}")
        return found

    @rpc(expected_exceptions=EXPECTED)
    def statistics(self, year: int, after_position: int = 0) -> dict[str, Any]:
        """Yearly statistics of the committee (staff, auditors and leaders)."""
        self._require_reader("read the statistics", READERS_OF_ALL)
        if not isinstance(year, int) or not 2000 <= year <= 2100:
            raise InvalidCommand("bad year", {"year": "a year, e.g. 2024"})
        self._wait(after_position)
        with self.views.connect() as conn:
            return views.statistics(conn, self.views, year)

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.store.head(), "views": self.views.position()}

    # -- plumbing --------------------------------------------------------------------------------------
    def _timing(self) -> domain.Timing:
        events, _ = self._read(domain.RULES_STREAM)
        rules = domain.fold_rules(events, china_2024_calendar())
        return domain.Timing(today=self.clock.today(), rules=rules.rules, calendar=rules.calendar)

    def _read(self, stream: str) -> tuple[list[DomainEvent], int]:
        envelopes = self.store.read_stream(stream)
        events = [domain.registry.decode(e) for e in envelopes if e.type in domain.registry]
        return events, envelopes[-1].version if envelopes else 0

    def _load(self, proposal_id: str) -> tuple[domain.Proposal, int]:
        if not isinstance(proposal_id, str) or not proposal_id or len(proposal_id) > 64:
            raise InvalidCommand("bad proposal id", {"proposal_id": "the proposal's id"})
        events, version = self._read(domain.proposal_stream(proposal_id))
        return domain.fold(proposal_id, events), version

    def _decide(self, proposal_id: str,
                decide: Callable[[CommandContext, domain.Proposal], list[DomainEvent]]) -> dict[str, Any]:
        """One command on one case: load, decide, append at the version decided on."""
        ctx = self.context.get()
        state, version = self._load(proposal_id)
        events = decide(ctx, state)
        if not events:  # already so (a repeated command): nothing to record
            return {"proposal_id": proposal_id, "stream": domain.proposal_stream(proposal_id),
                    "version": version, "position": self.store.head(), "event": None, "event_id": None}
        return self._receipt(proposal_id, self._record(ctx, domain.proposal_stream(proposal_id),
                                                       version, events))

    def _system_decide(self, ctx: CommandContext, proposal_id: str,
                       decide: Callable[[domain.Proposal], list[DomainEvent]]) -> list[Envelope]:
        """A decision the system takes on its own (timer, follow-on of a command): if another
        writer got in first, decide again on the new state."""
        for _ in range(SYSTEM_RETRIES):
            state, version = self._load(proposal_id)
            events = decide(state)
            if not events:
                return []
            try:
                return self._record(ctx, domain.proposal_stream(proposal_id), version, events)
            except ConcurrencyError:
                continue
        raise ConcurrencyError(domain.proposal_stream(proposal_id), version,
                               self.store.stream_version(domain.proposal_stream(proposal_id)))

    def _take_case_number(self, ctx: CommandContext, session: str, proposal_id: str) -> str:
        stream = domain.case_numbers_stream(session)
        for _ in range(50):  # concurrent filings of one session each take the next number
            events, version = self._read(stream)
            numbers = domain.fold_case_numbers(session, events)
            taken = domain.assign_case_number(numbers, proposal_id)
            if not taken:
                return numbers.of(proposal_id)
            try:
                self._record(ctx, stream, version, taken)
                return taken[0].case_number
            except ConcurrencyError:
                continue
        raise ConcurrencyError(stream, version, self.store.stream_version(stream))

    def _release_case_number(self, ctx: CommandContext, session: str, proposal_id: str) -> None:
        stream = domain.case_numbers_stream(session)
        for _ in range(50):
            events, version = self._read(stream)
            released = domain.release_case_number(domain.fold_case_numbers(session, events), proposal_id)
            if not released:
                return
            try:
                self._record(ctx, stream, version, released)
                return
            except ConcurrencyError:
                continue
        log.error("could not release case number of %s in session %s", proposal_id, session)

    def _recount_open_deadlines(self, ctx: CommandContext) -> int:
        timing = self._timing()
        return sum(len(self._system_decide(ctx, pid, lambda s: domain.recount_deadline(s, timing)))
                   for pid in self._open_rounds())

    def _open_rounds(self) -> list[str]:
        self.views.wait_for(self.store.head(), timeout=30)
        with self.views.connect() as conn:
            return [row["proposal_id"] for row in views.worklist(
                conn, self.views.projection("worklist"), status=domain.ASSIGNED, limit=None)]

    def _record(self, ctx: CommandContext, stream: str, expected_version: int,
                events: list[DomainEvent]) -> list[Envelope]:
        return self.store.append(stream, expected_version, [
            ctx.new_event(e.type_name(), e.to_data(), schema_version=e.SCHEMA_VERSION,
                          occurred_at=self.clock.now()) for e in events])

    def _require_reader(self, what: str, roles: tuple[str, ...]) -> None:
        actor = self.context.get().actor
        if actor.role not in roles:
            raise NotAllowed(what, f"only {', '.join(roles)} may; the actor's role is {actor.role!r}")

    def _wait(self, after_position: Any) -> None:
        if not isinstance(after_position, int) or after_position < 0:
            raise InvalidCommand("bad after_position", {"after_position": "a log position (integer >= 0)"})
        if after_position > self.store.head():  # never written here: waiting would be in vain
            raise InvalidCommand(f"position {after_position} is not in the proposals log",
                                 {"after_position": f"a position this service returned (its log ends "
                                                    f"at {self.store.head()})"})
        if after_position and not self.views.wait_for(after_position):
            raise NotYet(f"the read models have not caught up with position {after_position} "
                              "yet; try again shortly")

    @staticmethod
    def _check_page(limit: Any, offset: Any) -> None:
        problems = {}
        if not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
            problems["limit"] = f"an integer from 1 to {MAX_LIST}"
        if not isinstance(offset, int) or offset < 0:
            problems["offset"] = "an integer >= 0"
        if problems:
            raise InvalidCommand("bad page", problems)

    @staticmethod
    def _receipt(proposal_id: str, envelopes: list[Envelope]) -> dict[str, Any]:
        last = envelopes[-1]
        return {"proposal_id": proposal_id, "stream": last.stream, "version": last.version,
                "position": last.position, "event": last.type, "event_id": last.event_id,
                "events": [e.type for e in envelopes]}

