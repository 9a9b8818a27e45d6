"""The proposals service: a thin nameko shell around services.proposals.domain.

Every command is parsed once into its command object, then goes through the kernel's one
write path (``self.streams``): load the case's stream, fold it, let the domain decide, record
at the version folded from. A person's command that lost a race raises ConcurrencyError to the
caller (who reloads and retries); a decision the system takes on its own (the timer, the
survivor's side of a merge, case numbers, recounted deadlines) is decided again on the new
state. Every command answers with the kernel's Receipt. The relay publishes the events.
The service checks rights itself from the actor in the call's context (the domain says who may
do what and who may read what), whatever the gateway checked before.

Time comes from the injected clock (``XIESHANG_FIXED_TIME`` in tests), deadlines from the
committee's rules and holiday calendar (stream ``handling-rules``). A timer reminds units before
deadlines and raises the overdue event once per round; several instances may run it at once:
the append's expected version lets one of them record each event.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
from typing import Any, Callable, Sequence

from xieshang.kernel import anchoring
from xieshang.kernel import integration_reads  # the module: `nameko run` takes any class it finds
from xieshang.kernel.rpc import rpc  # nameko's @rpc, its queue declared as configured
from nameko.timer import timer

from xieshang.kernel.clock import SHANGHAI, Clock, ClockProvider
from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.commands import Command
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotFound
from xieshang.kernel.envelope import SYSTEM_ACTOR, Actor, Envelope, new_id
from xieshang.kernel.ids import check_id
from xieshang.kernel import audit_reads  # the module: nameko run takes a class at the top
from xieshang.kernel import directory_views  # the module: its follower is mixed in via .directory
from xieshang.kernel.runtime import EXPECTED, RequestContext, WritePath
from xieshang.kernel.store import ConcurrencyError
from xieshang.kernel.streams import Receipt, Streams
from xieshang.kernel.views import PageRequest, ReadModels

from . import audit
from . import domain, views
from .calendar import calendar_warnings, official_calendar, reminder_dates
from . import directory  # the module, not its mixin: `nameko run` would take a class with
# entrypoints at the top of this module for a service of its own
from .directory import body_exists, entries, names_of
from .domain import access, commands

log = logging.getLogger(__name__)

MAX_LIST = 500
DEADLINE_CHECK_SECONDS = 300
CALENDAR_CHECK_SECONDS = 24 * 3600
REHANDLING = "an unsatisfied rating: handled again 重新办理"  # the new round's reason
# Who downloads the year-end report (a subscriber system reads its own unit's figures instead)
REPORT_READERS = (domain.STAFF, domain.AUDITOR, domain.LEADER)
TIMER_EVENTS = {"ReplyDueSoon": "reminded", "ReplyOverdue": "overdue",
                "ReplyDeadlineMoved": "moved"}  # what check_deadlines counts


def _due_soon(timing: domain.Timing) -> Callable[[Any], bool]:
    """Whether a deadline is within the reminder window today: the earliest reminder the rules
    give before it (the timer's ReplyDueSoon) is due."""
    def soon(deadline: Any) -> bool:
        reminders = reminder_dates(deadline, timing.rules, timing.calendar)
        return bool(reminders) and timing.today >= min(reminders.values())
    return soon


class ProposalsService(directory.DirectoryFollower, audit_reads.AuditReads, integration_reads.IntegrationReads):
    """提案: the whole 提、立、交、办、督、评 lifecycle, its worklists and statistics. The members,
    units and bodies a command names must be in the directory (``DirectoryFollower``)."""

    name = "proposals"
    state_folders = audit.STATE_FOLDERS
    # this log's checkpoints to the upper level, where one is linked (ADR 0012)
    checkpoints_up = anchoring.checkpoint_outbox()
    publication = domain.events.PUBLICATION  # what leaves the service (ADR 0012)

    streams: Streams = WritePath(domain.registry)
    context = RequestContext()
    views = ReadModels(views.PROJECTIONS)
    clock: Clock = ClockProvider()
    tracking = EffectTracking()

    # -- 提: submission ---------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def submit_proposal(self, title: str, reasons: str, suggestions: str, category: str,
                        co_signers: Sequence[str] = (), kind: str | None = None, session: str = "",
                        body: dict | None = None, publish_consent: bool = False) -> dict[str, Any]:
        command = commands.SubmitProposal.parse(
            title=title, reasons=reasons, suggestions=suggestions, category=category,
            co_signers=co_signers, kind=kind, session=session, body=body,
            publish_consent=publish_consent)
        ctx = self.context.get()
        proposal_id = new_id()
        events = domain.submit_proposal(ctx.actor, ctx.on_behalf_of, proposal_id, command,
                                        today=self.clock.today())
        self._check_submission(events[0], on_behalf_of=ctx.on_behalf_of)
        stream = domain.proposal_stream(proposal_id)
        return self.streams.receipt(stream, self.streams.record(ctx, stream, 0, events),
                                    {"proposal_id": proposal_id}).to_dict()

    @handle_event("feedback", "ConsultationResultConverted")
    def on_consultation_result_converted(self, envelope: Envelope) -> None:
        """协商成果转集体提案: a consultation's result converted ``into`` proposal becomes the
        collective proposal of its body (its id derived from the event: a redelivery finds it
        there), with ``ProposalTakenUpFromConsultation`` for the feedback service to link back.
        Its session is the year of the conversion; it is then reviewed and filed as any other."""
        d = envelope.data
        if d.get("into") != "proposal":
            return
        cmd = commands.TakeUpConsultationResult.parse(
            consultation_id=d["consultation_id"], title=d["title"], content=d["content"],
            category=d["category"], body=d.get("body"), converted_by=envelope.actor.user_id)
        proposal_id = domain.consultation_proposal_id(envelope.event_id)
        ctx = CommandContext.caused_by(envelope, reason="a consultation's result taken up 协商成果转集体提案")
        session = str(envelope.occurred_at.astimezone(SHANGHAI).year)
        self.streams.decide(ctx, domain.proposal_stream(proposal_id), domain.case_fold(proposal_id),
                            lambda case: domain.take_up_consultation_result(
                                case, cmd, source_event_id=envelope.event_id, session=session),
                            retry=True, tracking=self.tracking(envelope))

    @rpc(expected_exceptions=EXPECTED)
    def confirm_co_signature(self, proposal_id: str) -> dict[str, Any]:
        command = commands.ConfirmCoSignature.parse(proposal_id=proposal_id)
        return self._on_case(command, lambda actor, case: domain.confirm_co_signature(
            actor, case, command, today=self.clock.today()))

    @rpc(expected_exceptions=EXPECTED)
    def decline_co_signature(self, proposal_id: str) -> dict[str, Any]:
        command = commands.DeclineCoSignature.parse(proposal_id=proposal_id)
        return self._on_case(command, lambda actor, case: domain.decline_co_signature(
            actor, case, command, today=self.clock.today()))

    # -- 立: review ---------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def return_proposal(self, proposal_id: str, reason: str) -> dict[str, Any]:
        command = commands.ReturnProposal.parse(proposal_id=proposal_id, reason=reason)
        return self._on_case(command, lambda actor, case: domain.return_proposal(actor, case, command))

    @rpc(expected_exceptions=EXPECTED)
    def revise_proposal(self, proposal_id: str, title: str, reasons: str, suggestions: str,
                        category: str) -> dict[str, Any]:
        command = commands.ReviseProposal.parse(proposal_id=proposal_id, title=title, reasons=reasons,
                                                suggestions=suggestions, category=category)
        return self._on_case(command, lambda actor, case: domain.revise_proposal(actor, case, command))

    @rpc(expected_exceptions=EXPECTED)
    def file_proposal(self, proposal_id: str) -> dict[str, Any]:
        """File 立案 under the session's next case number (unique, sequential, gap-free).

        The number is taken before the filing is recorded, on the state the filing is decided
        on; if the case changed meanwhile (or the append failed), the number is given back so
        that the next filing takes it."""
        command = commands.FileProposal.parse(proposal_id=proposal_id)
        ctx = self.context.get()
        stream, fold = domain.proposal_stream(proposal_id), domain.case_fold(proposal_id)
        case = self.streams.load(stream, fold)
        today = self.clock.today()
        domain.check_fileable(ctx.actor, case.state, today)
        case_number = self._take_case_number(ctx, case.state.session, proposal_id)
        try:
            events = domain.file_proposal(ctx.actor, case.state, command, case_number=case_number,
                                          today=today)
            envelopes = self.streams.record(ctx, stream, case.version, events)
        except BaseException:
            # Unless it got filed under this number after all, give the number back.
            if self.streams.load(stream, fold).state.case_number != case_number:
                self._release_case_number(ctx, case.state.session, proposal_id)
            raise
        return self.streams.receipt(stream, envelopes, {"proposal_id": proposal_id}).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def not_file_proposal(self, proposal_id: str, reason: str,
                          conversion: str | None = None) -> dict[str, Any]:
        command = commands.NotFileProposal.parse(proposal_id=proposal_id, reason=reason,
                                                 conversion=conversion)
        return self._on_case(command, lambda actor, case: domain.not_file_proposal(actor, case, command))

    @rpc(expected_exceptions=EXPECTED)
    def merge_proposal(self, proposal_id: str, into: str) -> dict[str, Any]:
        """Merge ``proposal_id`` into ``into`` 并案; its proposers join the surviving case (a
        follow-on the system records on the survivor's stream, retried if it loses a race)."""
        command = commands.MergeProposal.parse(proposal_id=proposal_id, into=into)
        ctx = self.context.get()
        stream = domain.proposal_stream(proposal_id)
        merged = self.streams.load(stream, domain.case_fold(proposal_id))
        survivor = self.streams.load(domain.proposal_stream(into), domain.case_fold(into))
        events = domain.merge_proposal(ctx.actor, merged.state, command, survivor=survivor.state)
        envelopes = self.streams.record(ctx, stream, merged.version, events)
        marker = domain.ProposalMerged(proposal_id=proposal_id, into=into,
                                       proposers=list(merged.state.proposers))
        cause = (envelopes[-1].event_id if envelopes else
                 next((e.event_id for e in reversed(self.streams.store.read_stream(stream))
                       if e.type == "ProposalMerged"), None))
        self.streams.decide(self._reaction(cause, f"merged proposal {proposal_id} added 并案"),
                            domain.proposal_stream(into), domain.case_fold(into),
                            lambda state: domain.add_merged_proposal(state, marker), retry=True)
        return self.streams.receipt(stream, envelopes, {"proposal_id": proposal_id}).to_dict()

    # -- 交、办: assignment and handling --------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def assign_proposal(self, proposal_id: str, lead_unit: str, co_units: Sequence[str] = (),
                        deadline: str | None = None, urgent: bool = False) -> dict[str, Any]:
        command = commands.AssignProposal.parse(proposal_id=proposal_id, lead_unit=lead_unit,
                                                co_units=co_units, deadline=deadline, urgent=urgent)
        timing = self._timing()
        return self._on_case(command, lambda actor, case: self._with_known_units(
            domain.assign_proposal(actor, case, command, timing=timing)))

    @rpc(expected_exceptions=EXPECTED)
    def object_to_assignment(self, proposal_id: str, reason: str) -> dict[str, Any]:
        command = commands.ObjectToAssignment.parse(proposal_id=proposal_id, reason=reason)
        timing = self._timing()
        return self._on_case(command, lambda actor, case: domain.object_to_assignment(
            actor, case, command, timing=timing))

    @rpc(expected_exceptions=EXPECTED)
    def dismiss_objection(self, proposal_id: str, unit: str, reason: str) -> dict[str, Any]:
        command = commands.DismissObjection.parse(proposal_id=proposal_id, unit=unit, reason=reason)
        return self._on_case(command, lambda actor, case: domain.dismiss_objection(actor, case, command))

    @rpc(expected_exceptions=EXPECTED)
    def reassign_proposal(self, proposal_id: str, lead_unit: str, co_units: Sequence[str] = (),
                          deadline: str | None = None) -> dict[str, Any]:
        command = commands.ReassignProposal.parse(proposal_id=proposal_id, lead_unit=lead_unit,
                                                  co_units=co_units, deadline=deadline)
        timing = self._timing()
        return self._on_case(command, lambda actor, case: self._with_known_units(
            domain.reassign_proposal(actor, case, command, timing=timing)))

    @rpc(expected_exceptions=EXPECTED)
    def record_contact(self, proposal_id: str, stage: str, summary: str) -> dict[str, Any]:
        command = commands.RecordContact.parse(proposal_id=proposal_id, stage=stage, summary=summary)
        return self._on_case(command, lambda actor, case: domain.record_contact(actor, case, command))

    @rpc(expected_exceptions=EXPECTED)
    def send_co_unit_opinion(self, proposal_id: str, opinion: str) -> dict[str, Any]:
        command = commands.SendCoUnitOpinion.parse(proposal_id=proposal_id, opinion=opinion)
        return self._on_case(command, lambda actor, case: domain.send_co_unit_opinion(
            actor, case, command))

    @rpc(expected_exceptions=EXPECTED)
    def reply_to_proposal(self, proposal_id: str, reply_class: str, reply: str) -> dict[str, Any]:
        command = commands.ReplyToProposal.parse(proposal_id=proposal_id, reply_class=reply_class,
                                                 reply=reply)
        return self._on_case(command, lambda actor, case: domain.reply_to_proposal(
            actor, case, command, today=self.clock.today()))

    # -- 督: supervision ------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def designate_key_proposal(self, proposal_id: str, supervisors: Sequence[str],
                               mode: str) -> dict[str, Any]:
        command = commands.DesignateKeyProposal.parse(proposal_id=proposal_id,
                                                      supervisors=supervisors, mode=mode)
        return self._on_case(command, lambda actor, case: self._with_known_supervisors(
            domain.designate_key_proposal(actor, case, command)))

    @rpc(expected_exceptions=EXPECTED)
    def record_supervision(self, proposal_id: str, kind: str, note: str) -> dict[str, Any]:
        command = commands.RecordSupervision.parse(proposal_id=proposal_id, kind=kind, note=note)
        return self._on_case(command, lambda actor, case: domain.record_supervision(
            actor, case, command))

    # -- 评: evaluation --------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def rate_reply(self, proposal_id: str, reply_rating: str, attitude_rating: str) -> dict[str, Any]:
        command = commands.RateReply.parse(proposal_id=proposal_id, reply_rating=reply_rating,
                                           attitude_rating=attitude_rating)
        timing = self._timing()
        rated = self._on_case(command, lambda actor, case: domain.rate_reply(
            actor, case, command, timing=timing))
        if not rated["recorded"]:
            return rated
        # An unsatisfied rating, once every proposer rated: the system starts a new round, as
        # its reaction to the rating (actor system, caused by the ReplyRated).
        reaction = self._reaction(rated["event_id"], REHANDLING)
        rehandled = self._system_decision(reaction, command.proposal_id,
                                          lambda case: domain.start_rehandling(case, timing))
        if not rehandled.recorded:
            return rated
        return {**rated, "version": rehandled.version, "position": rehandled.position,
                "events": [*rated["events"], *rehandled.events], "event": rehandled.event,
                "event_id": rehandled.event_id}

    @rpc(expected_exceptions=EXPECTED)
    def record_follow_up(self, proposal_id: str, note: str, kept: bool) -> dict[str, Any]:
        command = commands.RecordFollowUp.parse(proposal_id=proposal_id, note=note, kept=kept)
        return self._on_case(command, lambda actor, case: domain.record_follow_up(actor, case, command))

    @rpc(expected_exceptions=EXPECTED)
    def close_proposal(self, proposal_id: str) -> dict[str, Any]:
        command = commands.CloseProposal.parse(proposal_id=proposal_id)
        return self._on_case(command, lambda actor, case: domain.close_proposal(actor, case, command))

    # -- publication and comments ----------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def set_publication_consent(self, proposal_id: str, consent: bool) -> dict[str, Any]:
        command = commands.SetPublicationConsent.parse(proposal_id=proposal_id, consent=consent)
        return self._on_case(command, lambda actor, case: domain.set_publication_consent(
            actor, case, command))

    @rpc(expected_exceptions=EXPECTED)
    def publish_proposal(self, proposal_id: str,
                         proposer_names: Sequence[str] | None = None) -> dict[str, Any]:
        """Publish under the names of the proposer and of the co-signers who each consented,
        from the directory (``proposer_names`` is refused: nobody types names in)."""
        command = commands.PublishProposal.parse(proposal_id=proposal_id,
                                                 proposer_names=proposer_names)
        return self._on_case(command, lambda actor, case: domain.publish_proposal(
            actor, case, command, directory=entries(self.streams, case.published_people)))

    @rpc(expected_exceptions=EXPECTED)
    def unpublish_proposal(self, proposal_id: str, reason: str) -> dict[str, Any]:
        command = commands.UnpublishProposal.parse(proposal_id=proposal_id, reason=reason)
        return self._on_case(command, lambda actor, case: domain.unpublish_proposal(
            actor, case, command))

    @rpc(expected_exceptions=EXPECTED)
    def submit_comment(self, proposal_id: str, text: str, display_name: str,
                       comment_id: str | None = None) -> dict[str, Any]:
        command = commands.SubmitComment.parse(proposal_id=proposal_id, text=text,
                                               display_name=display_name, comment_id=comment_id)
        if command.comment_id is None:
            command = dataclasses.replace(command, comment_id=new_id())
        return self._on_case(command, lambda actor, case: domain.submit_comment(actor, case, command),
                             comment_id=command.comment_id)

    @rpc(expected_exceptions=EXPECTED)
    def moderate_comment(self, proposal_id: str, comment_id: str, approve: bool,
                         reason: str | None = None) -> dict[str, Any]:
        command = commands.ModerateComment.parse(proposal_id=proposal_id, comment_id=comment_id,
                                                 approve=approve, reason=reason)
        return self._on_case(command, lambda actor, case: domain.moderate_comment(actor, case, command),
                             comment_id=comment_id)

    @rpc(expected_exceptions=EXPECTED)
    def answer_comment(self, proposal_id: str, comment_id: str, answer: str) -> dict[str, Any]:
        command = commands.AnswerComment.parse(proposal_id=proposal_id, comment_id=comment_id,
                                               answer=answer)
        return self._on_case(command, lambda actor, case: domain.answer_comment(actor, case, command),
                             comment_id=comment_id)

    # -- deadlines ---------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def set_handling_rules(self, rules: dict) -> dict[str, Any]:
        command = commands.SetHandlingRules.parse(rules=rules)
        ctx = self.context.get()
        receipt = self.streams.decide(ctx, domain.RULES_STREAM, self._rules_fold(),
                                      lambda _: domain.set_handling_rules(ctx.actor, command))
        return receipt.with_result(rules=self._timing().rules.to_dict()).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def amend_holiday_calendar(self, add_holidays: Sequence[str] = (), remove_holidays: Sequence[str] = (),
                               add_workdays: Sequence[str] = (),
                               remove_workdays: Sequence[str] = ()) -> dict[str, Any]:
        """Amend the holiday calendar, then move the deadlines of open cases counted by it
        (each move is an event whose reason names the amendment)."""
        command = commands.AmendHolidayCalendar.parse(
            add_holidays=add_holidays, remove_holidays=remove_holidays, add_workdays=add_workdays,
            remove_workdays=remove_workdays)
        ctx = self.context.get()
        receipt = self.streams.decide(ctx, domain.RULES_STREAM, self._rules_fold(),
                                      lambda current: domain.amend_holiday_calendar(
                                          ctx.actor, current, command))
        moved = self._recount_open_deadlines(self._reaction(
            receipt.event_id, f"holiday calendar amended: {ctx.reason or 'no reason given'}"))
        return receipt.with_result(deadlines_moved=moved).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def handling_rules(self, after_position: int = 0) -> dict[str, Any]:
        """The rules and the calendar (folded from their stream: always current; ``after_position``
        is taken as by every query), and ``warnings`` for staff: this or next year's calendar is
        missing (calendar.calendar_warnings)."""
        self.views.read_after(after_position)
        timing = self._timing()
        return {"rules": timing.rules.to_dict(), "calendar": timing.calendar.to_dict(),
                "today": timing.today.isoformat(),
                "warnings": self._calendar_warnings(self.context.get().actor, timing)}

    @timer(interval=CALENDAR_CHECK_SECONDS, eager=True)
    def check_calendar(self) -> list[dict[str, Any]]:
        """At start and daily: warn in the log when this or next year has no holiday calendar."""
        timing = self._timing()
        warnings = calendar_warnings(timing.calendar, timing.today)
        for w in warnings:
            log.warning("%s (%s)", w["message_en"], w["message"])
        return warnings

    @timer(interval=DEADLINE_CHECK_SECONDS)
    def check_deadlines(self) -> dict[str, int]:
        """Remind before deadlines, raise overdue events (once per round), and recount deadlines
        an interrupted calendar amendment left behind."""
        ctx = CommandContext(actor=SYSTEM_ACTOR, reason="deadline check")
        timing = self._timing()
        counts = {"reminded": 0, "overdue": 0, "moved": 0}
        for proposal_id in self._open_rounds():
            receipt = self._system_decision(ctx, proposal_id, lambda case: [
                *domain.recount_deadline(case, timing), *domain.remind_or_escalate(case, timing)])
            for event_type in receipt.events:
                counts[TIMER_EVENTS[event_type]] += 1
        counts["rehandled"] = self._catch_up_rehandling(timing)
        if any(counts.values()):
            log.info("deadline check on %s: %s", timing.today, counts)
        return counts

    # -- queries -------------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def get_proposal(self, proposal_id: str, after_position: int = 0) -> dict[str, Any]:
        """The case folded from its stream (always current), as the asking actor may see it
        (domain.access): ratings only for staff and auditors (a member sees their own), the
        units' texts for their lead unit. ``after_position`` is waited for as by every query,
        so that a read after any command of this service (the rules too) is never older."""
        actor = self.context.get().actor
        stream = domain.proposal_stream(check_id(proposal_id, "proposal_id"))
        self.views.read_after(after_position)
        case = self.streams.load(stream, domain.case_fold(proposal_id))
        return {**access.case_as_seen_by(actor, case.state), "stream": stream, "version": case.version}

    @rpc(expected_exceptions=EXPECTED)
    def worklist(self, status: str | None = None, unit: str | None = None, category: str | None = None,
                 session: str | None = None, year: int | None = None, overdue: bool | None = None,
                 key: bool | None = None, order: str | None = None, limit: int = 100,
                 cursor: str | None = None, q: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """Staff worklist with filters (staff, auditors and leaders): a page of it
        (xieshang.kernel.views.PageRequest; ``q`` searches title and case number), and for
        staff the ``warnings`` of handling_rules (a year without a holiday calendar).

        Each row says how its open round stands today (``due_in_days``, ``urgency``: overdue,
        or due soon = within the rules' reminder window). ``order``: "latest" (the default:
        latest activity first) or "urgent" (overdue first, then by nearest deadline, then
        latest activity; views.worklist)."""
        actor = self.context.get().actor
        access.require_reader(actor, "read the worklist")
        if order not in (None, *views.WORKLIST_ORDERS):
            raise InvalidCommand(("bad order", "排序方式有误"),
                                 {"order": " or ".join(views.WORKLIST_ORDERS)})
        order = order or views.LATEST
        page = PageRequest.parse("worklist" if order == views.LATEST else f"worklist_{order}", limit,
                                 cursor, q, max_limit=MAX_LIST)
        timing = self._timing()
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            found = views.worklist(conn, self.views.projection("worklist"), status=status, unit=unit,
                                   category=category, session=session, year=year, overdue=overdue,
                                   key=key, order=order, today=timing.today,
                                   due_soon=_due_soon(timing), page=page)
        found["warnings"] = self._calendar_warnings(actor, timing)
        return found

    @rpc(expected_exceptions=EXPECTED)
    def unit_inbox(self, unit: str, open_only: bool = True, limit: int = 100, cursor: str | None = None,
                   q: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """A unit's assignments with what is due and overdue (the unit itself, staff, auditors):
        a page of them, most urgent first (``q`` searches title and case number)."""
        access.require_inbox_reader(self.context.get().actor, unit)
        page = PageRequest.parse("unit_inbox", limit, cursor, q, max_limit=MAX_LIST)
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            return views.unit_inbox(conn, self.views.projection("unit_inbox"), unit,
                                    open_only=open_only, today=self.clock.today(), page=page)

    @rpc(expected_exceptions=EXPECTED)
    def my_proposals(self, member_id: str | None = None, limit: int = 100, cursor: str | None = None,
                     q: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """A member's own cases (as proposer, co-signer or merged proposer), with their own
        ratings: a page of them, newest first (``q`` searches title and case number)."""
        actor = self.context.get().actor
        member_id = member_id or actor.user_id
        access.require_cases_reader(actor, member_id)
        page = PageRequest.parse("my_proposals", limit, cursor, q, max_limit=MAX_LIST)
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            return views.cases_of_member(conn, self.views.projection("proposer_cases"), member_id,
                                         page=page)

    @rpc(expected_exceptions=EXPECTED)
    def public_proposals(self, category: str | None = None, limit: int = 100, cursor: str | None = None,
                         q: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """Published cases, for anyone (no personal data beyond the published proposer names):
        a page of them, latest publication first (``q`` searches title and case number)."""
        page = PageRequest.parse("public_proposals", limit, cursor, q, max_limit=MAX_LIST)
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            return views.public_list(conn, self.views.projection("public_cases"), category=category,
                                     page=page, names=self._names(conn))

    @rpc(expected_exceptions=EXPECTED)
    def public_proposal(self, case_number: str, after_position: int = 0) -> dict[str, Any]:
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            found = views.public_detail(conn, self.views.projection("public_cases"), case_number,
                                        names=self._names(conn))
        if found is None:
            raise NotFound((f"no published proposal {case_number!r}", f"没有公开的提案 {case_number!r}"))
        return found

    @rpc(expected_exceptions=EXPECTED)
    def statistics(self, year: int, after_position: int = 0) -> dict[str, Any]:
        """Yearly statistics of the committee (staff and auditors all of them; leaders and
        subscriber systems under disclosure control: domain.access.statistics_units)."""
        controlled, units = access.statistics_units(self.context.get().actor)
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise InvalidCommand(("bad year", "年度有误"), {"year": "a year, e.g. 2024"})
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            stats = views.statistics(conn, self.views, year)
        return views.disclose_statistics(stats, units=units) if controlled else stats

    @rpc(expected_exceptions=EXPECTED)
    def year_report(self, year: int, public: bool = False, after_position: int = 0) -> dict[str, Any]:
        """The year-end report's workbook, as ``xieshang report YEAR`` writes it
        (proposals-<year>.xlsx: the statistics, the cases, the units; report.py), in base64 with
        its file name. Staff and auditors the internal one (the proposers' ids) or, ``public``,
        the one to publish; leaders only that one (the satisfaction figures as they read them)."""
        actor = self.context.get().actor
        access.require_reader(actor, "download the year-end report", REPORT_READERS)
        if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
            raise InvalidCommand(("bad year", "年度有误"), {"year": "a year, e.g. 2024"})
        controlled, _units = access.statistics_units(actor)
        public = bool(public) or controlled
        self.views.read_after(after_position)
        from . import report  # (matplotlib and openpyxl: loaded when a report is asked for)
        with self.views.connect() as conn:
            content = report.year_report_xlsx(conn, self.views, year, public=public)
        return {"year": year, "public": public, "file_name": report.xlsx_name(year, public=public),
                "media_type": report.XLSX_TYPE, "size": len(content),
                "content_base64": base64.b64encode(content).decode("ascii")}

    @rpc(expected_exceptions=EXPECTED)
    def directory(self, ids: Sequence[str] | str, after_position: int = 0) -> dict[str, Any]:
        """What the directory knows of ``ids`` (members, units, bodies: kind, name, active; an
        unknown id has kind null): staff, auditors and leaders, e.g. to wait for the directory
        to follow the members service before naming what was just registered; members and units too
        (the web console names people and units, never shows their ids)."""
        access.require_reader(self.context.get().actor, "read the directory", access.DIRECTORY_READERS)
        self.views.read_after(after_position)  # (entries are read from their streams: current)
        return directory_views.describe_entries(self.streams, ids, most=MAX_LIST)

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.streams.store.head(), "views": self.views.position()}

    # -- the case, the rules, the case numbers ----------------------------------------------------------
    def _on_case(self, command: Command, decide: Callable[[Actor, domain.Proposal], list[DomainEvent]],
                 **ids: Any) -> dict[str, Any]:
        """A person's command on one case: decided on its current state, not retried."""
        ctx = self.context.get()
        pid = command.proposal_id
        return self.streams.decide(ctx, domain.proposal_stream(pid), domain.case_fold(pid),
                                   lambda case: decide(ctx.actor, case),
                                   ids={"proposal_id": pid, **ids}).to_dict()

    def _reaction(self, cause_id: str | None, reason: str,
                  correlation_id: str | None = None) -> CommandContext:
        """The context of what the system records in reaction to the event ``cause_id``: actor
        ``system``, caused by that event, in its correlation (by default the call's, which
        recorded it)."""
        return CommandContext(actor=SYSTEM_ACTOR, reason=reason,
                              correlation_id=correlation_id or self.context.get().correlation_id,
                              causation_id=cause_id)

    def _check_submission(self, submitted: domain.ProposalSubmitted, on_behalf_of: str | None) -> None:
        """The co-signers, the member staff act for and a collective proposal's body are in the
        directory (InvalidCommand naming each that is not)."""
        known = entries(self.streams, [*submitted.co_signers, *([on_behalf_of] if on_behalf_of else [])])
        found = True
        if submitted.body:
            self.views.wait_for(self.streams.store.head(), timeout=10)
            with self.views.connect() as conn:
                found = body_exists(conn, self.views.projection("directory"), submitted.body)
        domain.check_submission_refs(known, co_signers=submitted.co_signers,
                                     on_behalf_of=on_behalf_of,
                                     body_name=(submitted.body or {}).get("name"), body_found=found)

    def _with_known_units(self, events: list[DomainEvent]) -> list[DomainEvent]:
        """``events`` of an assignment, once its units are known to be open handling units."""
        for e in events:
            domain.check_assignment_units(entries(self.streams, [e.lead_unit, *e.co_units]),
                                          e.lead_unit, e.co_units)
        return events

    def _with_known_supervisors(self, events: list[DomainEvent]) -> list[DomainEvent]:
        for e in events:
            domain.check_supervisors(entries(self.streams, e.supervisors), e.supervisors)
        return events

    def _system_decision(self, ctx: CommandContext, proposal_id: str,
                         decide: Callable[[domain.Proposal], list[DomainEvent]]) -> Receipt:
        return self.streams.decide(ctx, domain.proposal_stream(proposal_id),
                                   domain.case_fold(proposal_id), decide, retry=True,
                                   ids={"proposal_id": proposal_id})

    def _names(self, conn: Any) -> views.Names | None:
        """The names of units (and members) for the views to show: the directory read model's,
        once this service has it; None before (the views then show the ids)."""
        try:
            projection = self.views.projection("directory")
        except KeyError:
            return None
        return lambda ids: names_of(conn, projection, ids)

    def _calendar_warnings(self, actor: Actor,
                           timing: domain.Timing | None = None) -> list[dict[str, Any]]:
        """For staff: this or next year has no holiday calendar (they are the ones to enter it)."""
        if actor.role != domain.STAFF:
            return []
        timing = timing or self._timing()
        return calendar_warnings(timing.calendar, timing.today)

    @staticmethod
    def _rules_fold():
        return domain.rules_fold(official_calendar())

    def _timing(self) -> domain.Timing:
        rules = self.streams.load(domain.RULES_STREAM, self._rules_fold()).state
        return rules.timing(self.clock.today())

    def _take_case_number(self, ctx: CommandContext, session: str, proposal_id: str) -> str:
        """The session's next case number for ``proposal_id`` (the one it holds, if it does);
        concurrent filings of one session each take the next one."""
        taken: list[str | None] = [None]

        def take(numbers: domain.CaseNumbers) -> list[DomainEvent]:
            events = domain.assign_case_number(numbers, proposal_id)
            taken[0] = events[0].case_number if events else numbers.of(proposal_id)
            return events

        # The session's numbers folded on from the copy this process kept (only the numbers
        # taken since are read): filing costs the same late in a session as early.
        stream = domain.case_numbers_stream(session)
        self.streams.decide(ctx, stream, None, take, retry=True, load=lambda: self.streams.load_kept(
            stream, domain.CaseNumbers(session), domain.fold_case_numbers_on))
        return taken[0]

    def _release_case_number(self, ctx: CommandContext, session: str, proposal_id: str) -> None:
        stream = domain.case_numbers_stream(session)
        try:
            self.streams.decide(ctx, stream, None,
                                lambda numbers: domain.release_case_number(numbers, proposal_id),
                                retry=True, load=lambda: self.streams.load_kept(
                                    stream, domain.CaseNumbers(session), domain.fold_case_numbers_on))
        except ConcurrencyError:
            log.error("could not release case number of %s in session %s", proposal_id, session)

    def _recount_open_deadlines(self, ctx: CommandContext) -> int:
        timing = self._timing()
        return sum(len(self._system_decision(
            ctx, pid, lambda case: domain.recount_deadline(case, timing)).events)
            for pid in self._open_rounds())

    def _catch_up_rehandling(self, timing: domain.Timing) -> int:
        """A new round the system did not start after an unsatisfied rating (the service stopped
        between the rating and its reaction, two writes): started now, still caused by the
        rating. Returns how many."""
        started = 0
        with self.views.connect() as conn:
            replied = [row["proposal_id"] for row in views.worklist(
                conn, self.views.projection("worklist"), status=domain.REPLIED)]
        for proposal_id in replied:
            stream = domain.proposal_stream(proposal_id)
            if not domain.rehandling_due(self.streams.load(stream, domain.case_fold(proposal_id)).state):
                continue
            rating = next(e for e in reversed(self.streams.store.read_stream(stream))
                          if e.type == "ReplyRated")
            ctx = self._reaction(rating.event_id, REHANDLING, rating.correlation_id)
            started += self._system_decision(ctx, proposal_id, lambda case: domain.start_rehandling(
                case, timing)).recorded
        return started

    def _open_rounds(self) -> list[str]:
        self.views.wait_for(self.streams.store.head(), timeout=30)
        with self.views.connect() as conn:
            return [row["proposal_id"] for row in views.worklist(
                conn, self.views.projection("worklist"), status=domain.ASSIGNED)]

    # -- the web console's public pages (issue 15) ----------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def my_comments(self, proposal_id: str, after_position: int = 0) -> dict[str, Any]:
        """The caller's own comments on a case 我的评论 (the public and members, who comment):
        each with its text, display name, moderation state (pending, approved, rejected: with
        the moderator's reason) and the unit's answer; never another person's comment. The
        public answer shows approved comments only, so this is how a commenter sees their own
        pending one. NotFound for a case that is not published, unless the caller commented on it."""
        actor = self.context.get().actor
        access.require_reader(actor, "read their own comments", (domain.PUBLIC, domain.MEMBER))
        stream = domain.proposal_stream(check_id(proposal_id, "proposal_id"))
        self.views.read_after(after_position)  # (the case is folded from its stream: current)
        events = domain.registry.decode_all(self.streams.store.read_stream(stream))
        case = domain.fold(proposal_id, events)
        mine = views.own_comments(case, events, actor.user_id)
        if not case.exists or (not case.published and not mine):
            raise NotFound((f"no published proposal {proposal_id!r}", f"没有公开的提案 {proposal_id!r}"))
        return {"proposal_id": proposal_id, "items": mine}
