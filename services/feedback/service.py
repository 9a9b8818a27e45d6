"""The feedback service: opinion reports 社情民意信息, the whole 征-编-报-督-复 loop, and the
committees above and below this one (DOMAIN.md §3).

A thin nameko shell around services.feedback.domain: every command is parsed once, then goes
through the kernel's one write path (load the report's stream, fold, decide, record at the
version folded from). Lists and statistics come from the read models (views.py).

It also takes up proposals that were not filed and converted into opinion reports 提案转社情民意
(the proposals service's ``ProposalConvertedToOpinionReport``, decoded through the proposals
contract): each becomes one report whose id derives from the proposal's, recorded with the
kernel's effect tracking, so a redelivered event changes nothing.

Levels (docs/adr/0009): reporting to an upper committee records ``OpinionReportReported``; the
link outbox (``LinkOutbox``, an outbox relay of its own) sends it over the link to each upper
committee named, and sends the decisions taken here on reports from below back down. The link
inbox takes what other committees send: a report from below becomes ``OpinionReceivedFromBelow``,
a decision from above ``OpinionDecidedAbove`` on the report, each tracked by the sender's event
id, so a message delivered twice changes nothing.

A timer reminds the units a report was forwarded to before their feedback is due and records
each feedback that became overdue, once per unit (domain.remind_or_record_overdue), as the
system, at the injected clock's date (``XIESHANG_FIXED_TIME`` in tests); several instances may
run it at once: the append's expected version lets one of them record each event.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import date, timedelta
from typing import Any, Callable, Sequence

from xieshang.kernel import integration_reads  # the module: `nameko run` takes any class it finds
from xieshang.kernel.rpc import rpc  # nameko's @rpc, its queue declared as configured
from nameko.timer import timer

from xieshang.kernel.clock import Clock, ClockProvider
from xieshang.kernel.commands import Command
from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainError, DomainEvent, InvalidCommand
from xieshang.kernel.envelope import SYSTEM_ACTOR, Actor, Envelope, new_id
from xieshang.kernel.ids import check_id
from xieshang.kernel.levels import LinkTracking
from xieshang.kernel import audit_reads  # the module: nameko run takes a class at the top
from xieshang.kernel import directory_views
from xieshang.kernel.runtime import EXPECTED, RequestContext, WritePath
from xieshang.kernel.store import ConcurrencyError
from xieshang.kernel.streams import Streams
from xieshang.kernel.views import PageRequest, ReadModels

from . import audit
from . import domain, links, views
# the modules, not their mixins: `nameko run` would take a class found in this module's namespace
from . import consultation_links, consultations, directory, supervision
from .domain import access, commands

log = logging.getLogger(__name__)

# Report ids of converted proposals: the same proposal always gives the same report.
CONVERTED = uuid.UUID("5b0e7c8e-3f7a-4d53-9a57-6f1d2c7e0a11")
MAX_LIST = 500
DEADLINE_CHECK_SECONDS = 300
TIMER_EVENTS = {"OpinionFeedbackDueSoon": "reminded",
                "OpinionFeedbackOverdue": "overdue"}  # what check_deadlines counts


class FeedbackService(consultations.ConsultationCommands, supervision.SupervisionCommands,
                      consultation_links.ConsultationLinks, directory.DirectoryFollower,
                      audit_reads.AuditReads, integration_reads.IntegrationReads):
    """社情民意: members and informants submit opinion reports; staff edit, adopt, report and
    forward them; units feed back, leaders instruct; committees report to each other.
    协商议事 and 民主监督: consultations in eight steps and supervision groups (their mixins)."""

    name = "feedback"
    state_folders = audit.STATE_FOLDERS
    publication = domain.events.PUBLICATION  # what leaves the service (ADR 0012)

    streams: Streams = WritePath(domain.registry)
    context = RequestContext()
    tracking = EffectTracking()
    clock: Clock = ClockProvider()
    views = ReadModels(views.PROJECTIONS)
    link_outbox = links.outbox()    # its state names this deployment and its links
    link_tracking = LinkTracking()

    # -- 征: collection --------------------------------------------------------------------------
    @handle_event("proposals", "ProposalConvertedToOpinionReport")
    def on_proposal_converted(self, envelope: Envelope) -> None:
        d = envelope.data
        cmd = commands.TakeUpConvertedProposal.parse(
            proposal_id=d["proposal_id"], proposer=d["proposer"], title=d["title"],
            content=d["content"], category=d["category"])
        report_id = str(uuid.uuid5(CONVERTED, cmd.proposal_id))
        ctx = CommandContext.caused_by(envelope, reason="proposal not filed, converted 提案转社情民意")
        self.streams.decide(ctx, domain.opinion_stream(report_id), domain.report_fold(report_id),
                            lambda state: domain.convert_proposal(state, cmd),
                            retry=True, tracking=self.tracking(envelope))

    @rpc(expected_exceptions=EXPECTED)
    def submit_opinion_report(self, title: str, content: str, channel: str = "member",
                              category: str = "society") -> dict[str, Any]:
        cmd = commands.SubmitOpinionReport.parse(title=title, content=content, channel=channel,
                                                 category=category)
        ctx = self.context.get()
        report_id = new_id()
        stream = domain.opinion_stream(report_id)
        envelopes = self.streams.record(ctx, stream, 0, domain.submit_opinion_report(ctx.actor, report_id, cmd))
        return self.streams.receipt(stream, envelopes, {"report_id": report_id}).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def return_opinion_report(self, report_id: str, reason: str) -> dict[str, Any]:
        cmd = commands.ReturnOpinionReport.parse(report_id=report_id, reason=reason)
        return self._on_report(cmd, lambda actor, state: domain.return_opinion_report(actor, state, cmd))

    @rpc(expected_exceptions=EXPECTED)
    def revise_opinion_report(self, report_id: str, title: str, content: str,
                              category: str) -> dict[str, Any]:
        cmd = commands.ReviseOpinionReport.parse(report_id=report_id, title=title, content=content,
                                                 category=category)
        return self._on_report(cmd, lambda actor, state: domain.revise_opinion_report(actor, state, cmd))

    @rpc(expected_exceptions=EXPECTED)
    def combine_opinion_reports(self, sources: Sequence[str], title: str, content: str,
                                category: str) -> dict[str, Any]:
        """Combine reports awaiting editing into a new one 综合. Each source is marked first, at
        the version it was checked at; if one changed meanwhile, those already marked are
        released again and the combination is refused, so no source is ever both in a combined
        report and handled by itself. Then the combined report is recorded."""
        cmd = commands.CombineOpinionReports.parse(sources=sources, title=title, content=content,
                                                   category=category)
        ctx = self.context.get()
        loaded = [self.streams.load(domain.opinion_stream(s), domain.report_fold(s))
                  for s in dict.fromkeys(cmd.sources)]
        report_id = new_id()
        events = domain.combine_opinion_reports(ctx.actor, report_id, [l.state for l in loaded], cmd)
        follow_on = dataclasses.replace(ctx, reason=f"combined into report {report_id} 综合")
        marked = []
        try:
            for source in loaded:
                self.streams.record(follow_on, source.stream, source.version,
                                    domain.mark_combined(source.state, report_id))
                marked.append(source)
        except (ConcurrencyError, DomainError):
            release = dataclasses.replace(ctx, reason=f"combination into {report_id} not completed: "
                                                      "a source changed meanwhile 综合未完成")
            for source in marked:
                sid = source.state.report_id
                self.streams.decide(release, source.stream, domain.report_fold(sid),
                                    lambda state: domain.release_combined(state, report_id), retry=True)
            raise
        stream = domain.opinion_stream(report_id)
        envelopes = self.streams.record(ctx, stream, 0, events)
        return self.streams.receipt(stream, envelopes, {"report_id": report_id}).to_dict()

    # -- 编: the four checks, adoption -----------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def record_opinion_check(self, report_id: str, check: str, passed: bool, note: str) -> dict[str, Any]:
        cmd = commands.RecordOpinionCheck.parse(report_id=report_id, check=check, passed=passed, note=note)
        return self._on_report(cmd, lambda actor, state: domain.record_opinion_check(actor, state, cmd))

    @rpc(expected_exceptions=EXPECTED)
    def adopt_opinion_report(self, report_id: str, note: str = "") -> dict[str, Any]:
        cmd = commands.AdoptOpinionReport.parse(report_id=report_id, note=note)
        return self._on_report(cmd, lambda actor, state: domain.adopt_opinion_report(actor, state, cmd))

    @rpc(expected_exceptions=EXPECTED)
    def not_adopt_opinion_report(self, report_id: str, reason: str) -> dict[str, Any]:
        cmd = commands.NotAdoptOpinionReport.parse(report_id=report_id, reason=reason)
        return self._on_report(cmd, lambda actor, state: domain.not_adopt_opinion_report(actor, state, cmd))

    # -- 报、督、复 ---------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def report_opinion(self, report_id: str, party_committee: bool = False, government: bool = False,
                       upper: Sequence[str] = (), leaders: Sequence[str] = ()) -> dict[str, Any]:
        """Report 报送 to the party committee, the government and/or linked upper committees
        (``upper``: their codes; the link outbox sends it to each)."""
        cmd = commands.ReportOpinion.parse(report_id=report_id, party_committee=party_committee,
                                           government=government, upper=upper, leaders=leaders)
        linked = links.upper_codes(self.link_outbox)
        return self._on_report(cmd, lambda actor, state: domain.report_opinion(
            actor, state, cmd, linked_upper=linked))

    @rpc(expected_exceptions=EXPECTED)
    def forward_opinion(self, report_id: str, units: Sequence[str], deadline: str) -> dict[str, Any]:
        cmd = commands.ForwardOpinion.parse(report_id=report_id, units=units, deadline=deadline)
        today = self.clock.today()
        return self._on_report(cmd, lambda actor, state: domain.forward_opinion(actor, state, cmd, today=today))

    @rpc(expected_exceptions=EXPECTED)
    def send_opinion_feedback(self, report_id: str, text: str) -> dict[str, Any]:
        cmd = commands.SendOpinionFeedback.parse(report_id=report_id, text=text)
        today = self.clock.today()
        return self._on_report(cmd, lambda actor, state: domain.send_opinion_feedback(
            actor, state, cmd, today=today))

    @rpc(expected_exceptions=EXPECTED)
    def record_leader_instruction(self, report_id: str, text: str, leader_level: str, office: str,
                                  leader: str | None = None) -> dict[str, Any]:
        cmd = commands.RecordLeaderInstruction.parse(report_id=report_id, text=text,
                                                     leader_level=leader_level, office=office,
                                                     leader=leader)
        return self._on_report(cmd, lambda actor, state: domain.record_leader_instruction(actor, state, cmd))

    @rpc(expected_exceptions=EXPECTED)
    def inform_submitter(self, report_id: str, text: str) -> dict[str, Any]:
        cmd = commands.InformSubmitter.parse(report_id=report_id, text=text)
        return self._on_report(cmd, lambda actor, state: domain.inform_submitter(actor, state, cmd))

    @timer(interval=DEADLINE_CHECK_SECONDS)
    def check_deadlines(self) -> dict[str, int]:
        """Remind the units that owe feedback due within REMIND_DAYS_BEFORE days, and record the
        feedback that became overdue (each once per forwarded unit)."""
        ctx = CommandContext(actor=SYSTEM_ACTOR, reason="feedback deadline check 反馈期限检查")
        today = self.clock.today()
        counts = {"reminded": 0, "overdue": 0}
        for report_id in self._reports_due(today):
            receipt = self.streams.decide(
                ctx, domain.opinion_stream(report_id), domain.report_fold(report_id),
                lambda state: domain.remind_or_record_overdue(state, today=today),
                retry=True, ids={"report_id": report_id})
            for event_type in receipt.events:
                counts[TIMER_EVENTS[event_type]] += 1
        if any(counts.values()):
            log.info("feedback deadline check on %s: %s", today, counts)
        return counts

    # -- levels: the link inbox ---------------------------------------------------------------
    @links.inbox()
    def on_link_message(self, message) -> None:
        """A report from a lower committee, or an upper committee's decision on one of ours."""
        links.take(self.streams, message, self.link_tracking)

    # -- queries -------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def get_opinion_report(self, report_id: str, after_position: int = 0) -> dict[str, Any]:
        """A report folded from its stream (always current), as the caller may read it
        (domain.access: a unit sees the report and its own forwarding only)."""
        actor = self.context.get().actor
        stream = domain.opinion_stream(check_id(report_id, "report_id"))
        self.views.read_after(after_position)
        loaded = self.streams.load(stream, domain.report_fold(report_id))
        state = access.require_reader(actor, domain.require_report(loaded.state))
        return {**access.report_as_seen_by(actor, state), "stream": stream, "version": loaded.version}

    @rpc(expected_exceptions=EXPECTED)
    def opinion_desk(self, status: str | None = None, channel: str | None = None,
                     check_pending: str | None = None, from_below: bool | None = None,
                     year: int | None = None, limit: int = 100, cursor: str | None = None,
                     q: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """The editors' desk 编辑工作台: reports by state, channel and check still pending."""
        access.require_list_reader(self.context.get().actor, "read the desk")
        problems: dict[str, str] = {}
        if status is not None and status not in domain.vocabulary.STATE_COMMANDS:
            problems["status"] = f"one of {', '.join(domain.vocabulary.STATE_COMMANDS)}"
        if channel is not None and channel not in domain.CHANNELS:
            problems["channel"] = f"one of {', '.join(domain.CHANNELS)}"
        if check_pending is not None and check_pending not in domain.CHECKS:
            problems["check_pending"] = f"one of {', '.join(domain.CHECKS)}"
        if year is not None:
            _check_year(year)
        if problems:
            raise InvalidCommand(("bad filters", "筛选条件有误"), problems)
        page = PageRequest.parse("opinion_desk", limit, cursor, q, max_limit=MAX_LIST)
        return self._read(after_position, lambda conn: views.desk(
            conn, self.views, page, status=status, channel=channel, check_pending=check_pending,
            from_below=from_below, year=year))

    @rpc(expected_exceptions=EXPECTED)
    def my_opinion_reports(self, limit: int = 100, cursor: str | None = None, q: str | None = None,
                           after_position: int = 0) -> dict[str, Any]:
        """The caller's own reports (as submitter or contributor to a combined one), newest first."""
        actor = self.context.get().actor
        page = PageRequest.parse("my_opinion_reports", limit, cursor, q, max_limit=MAX_LIST)
        return self._read(after_position, lambda conn: views.submitter_reports(conn, self.views, actor.user_id, page))

    @rpc(expected_exceptions=EXPECTED)
    def unit_opinion_reports(self, unit: str, open_only: bool = True, limit: int = 100,
                             cursor: str | None = None, q: str | None = None,
                             after_position: int = 0) -> dict[str, Any]:
        """The reports forwarded to a unit, with their deadlines (overdue flagged)."""
        access.require_list_reader(self.context.get().actor, "read these reports",
                                   unit=check_id(unit, "unit"))
        page = PageRequest.parse("unit_opinion_reports", limit, cursor, q, max_limit=MAX_LIST)
        today = self.clock.today()
        return self._read(after_position, lambda conn: views.unit_reports(
            conn, self.views, unit, page, open_only=open_only, today=today))

    @rpc(expected_exceptions=EXPECTED)
    def leader_opinion_reports(self, leader: str, pending_only: bool = True, limit: int = 100,
                               cursor: str | None = None, q: str | None = None,
                               after_position: int = 0) -> dict[str, Any]:
        """The reports put before a leader for instruction (pending: not instructed by them yet)."""
        access.require_list_reader(self.context.get().actor, "read these reports",
                                   leader=check_id(leader, "leader"))
        page = PageRequest.parse("leader_opinion_reports", limit, cursor, q, max_limit=MAX_LIST)
        return self._read(after_position, lambda conn: views.leader_reports(
            conn, self.views, leader, page, pending_only=pending_only))

    @rpc(expected_exceptions=EXPECTED)
    def opinion_inbox(self, limit: int = 100, cursor: str | None = None, q: str | None = None,
                      after_position: int = 0) -> dict[str, Any]:
        """The upper-level inbox: reports received from lower committees, newest first."""
        access.require_list_reader(self.context.get().actor, "read the desk")
        page = PageRequest.parse("opinion_inbox", limit, cursor, q, max_limit=MAX_LIST)
        return self._read(after_position, lambda conn: views.inbox(conn, self.views, page))

    @rpc(expected_exceptions=EXPECTED)
    def opinion_statistics(self, year: int, after_position: int = 0) -> dict[str, Any]:
        """The year's figures, as committees publish them (views.statistics says each one)."""
        access.require_list_reader(self.context.get().actor, "read the statistics")
        _check_year(year)
        names = links.names(self.link_outbox)
        return self._read(after_position, lambda conn: views.statistics(conn, self.views, year, names=names))

    @rpc(expected_exceptions=EXPECTED)
    def directory(self, ids: Sequence[str] | str, after_position: int = 0) -> dict[str, Any]:
        """What the directory knows of ``ids`` (members, units, townships, communities, stations:
        kind, name, active; unknown: kind null), e.g. to wait for it to follow the members
        service before planning a consultation at a station just set up."""
        access.require_list_reader(self.context.get().actor, "read the directory")
        self.views.read_after(after_position)
        return directory_views.describe_entries(self.streams, ids, most=MAX_LIST)

    @rpc
    def levels(self) -> dict[str, Any]:
        """This deployment and the committees it is linked to (no addresses, no credentials)."""
        return links.describe(self.link_outbox)

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.streams.store.head(), "views": self.views.position()}

    # -- the one way a command on a report goes -------------------------------------------------
    def _on_report(self, cmd: Command, decide: Callable[[Actor, domain.OpinionReport], list[DomainEvent]]
                   ) -> dict[str, Any]:
        ctx = self.context.get()
        report_id = cmd.report_id  # type: ignore[attr-defined]
        return self.streams.decide(ctx, domain.opinion_stream(report_id), domain.report_fold(report_id),
                                   lambda state: decide(ctx.actor, state),
                                   ids={"report_id": report_id}).to_dict()

    def _reports_due(self, today: date) -> list[str]:
        # Candidates only: each is decided on its stream, so a lagging view delays, never repeats.
        self.views.wait_for(self.streams.store.head(), timeout=30)
        due_by = today + timedelta(days=domain.REMIND_DAYS_BEFORE)
        with self.views.connect() as conn:
            return views.reports_awaiting_feedback(conn, self.views, due_by=due_by)

    def _read(self, after_position: int, query: Callable[[Any], Any]) -> Any:
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            return query(conn)


def _check_year(year: Any) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidCommand(("bad year", "年度有误"), {"year": "a year, e.g. 2024 年度，如 2024"})
    return year
