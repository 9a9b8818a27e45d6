"""Consultations 协商议事 (the eight steps 八步议事法): the feedback service's commands and queries
on them, mixed into FeedbackService (which gives ``streams``, ``context``, ``clock``, ``views``,
``link_outbox``).

Every command is parsed once, then decided on the consultation's stream
(``consultation-<id>``) by services.feedback.domain.consultations; the topic lists (stream
TOPIC_LISTS_STREAM) are folded for the commands that check a topic against them, and the ids a
command names are looked up in the directory first (``directory.entries``). A result turned
into an opinion report records the conversion on the consultation, then the report's first event
on its own stream (``opinion-<id>``, its source ``consultation:<id>``), so each names the other.

A timer reminds the participants of a meeting planned within MEETING_REMIND_DAYS_BEFORE days
(once per plan revision), reminds units of follow-up tasks due within TASK_REMIND_DAYS_BEFORE
days and records those that became overdue, escalated to the leaders who approved and decided
(once per task), as the system, at the clock's date.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Callable, Sequence

from nameko.timer import timer

from xieshang.kernel.consumer import handle_event
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainEvent, InvalidCommand
from xieshang.kernel.envelope import SYSTEM_ACTOR, Actor, Envelope, new_id
from xieshang.kernel.ids import check_id, is_id
from xieshang.kernel.rpc import rpc
from xieshang.kernel.runtime import EXPECTED
from xieshang.kernel.views import PageRequest

from . import consultation_views, directory, domain, links
from .domain import access
from .domain import consultations as cs
from .domain.vocabulary import CONSULTATION_STATES, TOPIC_LISTS_STREAM, opinion_stream

log = logging.getLogger(__name__)

MAX_LIST = 500
MAX_CALENDAR_DAYS = 366
DEADLINE_CHECK_SECONDS = 300
TIMER_EVENTS = {"ConsultationMeetingDueSoon": "meetings_reminded",
                "FollowUpTaskDueSoon": "reminded",
                "FollowUpTaskOverdue": "overdue"}  # what check_consultation_deadlines counts


class ConsultationCommands:
    """The RPCs of consultations (mixed into the service class)."""

    # -- the topic lists 议题清单 -----------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def consultation_topic_lists(self) -> dict[str, Any]:
        """The kinds that may 可协商 and may not 不可协商 be consulted on, and the lists' version."""
        self.context.get()
        lists = self._topic_lists()
        return {**lists.to_dict(), "committee": self._committee()}

    @rpc(expected_exceptions=EXPECTED)
    def amend_topic_lists(self, kind: str, listing: str, label: str, reason: str) -> dict[str, Any]:
        """Staff put a kind on a list or take it off both, saying why (each change an event)."""
        cmd = cs.AmendTopicLists.parse(kind=kind, listing=listing, label=label, reason=reason)
        ctx = self.context.get()
        committee = self._committee()
        receipt = self.streams.decide(ctx, TOPIC_LISTS_STREAM, cs.topic_lists_fold(),
                                      lambda lists: cs.amend_topic_lists(ctx.actor, lists, cmd,
                                                                         committee=committee))
        return receipt.with_result(lists_version=receipt.version).to_dict()

    # -- 1 议题收集, 2 议题确定 ----------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def propose_consultation_topic(self, title: str, description: str, topic_kind: str, source: str,
                                   township: str | None = None) -> dict[str, Any]:
        """Staff or a member raise a topic → {"consultation_id"}; a forbidden kind is refused at
        once, the rule named."""
        cmd = cs.ProposeConsultationTopic.parse(title=title, description=description,
                                                topic_kind=topic_kind, source=source, township=township)
        ctx = self.context.get()
        known = directory.entries(self.streams, [cmd.township] if cmd.township else [])
        consultation_id = new_id()
        stream = cs.consultation_stream(consultation_id)
        events = cs.propose_consultation_topic(ctx.actor, consultation_id, cmd,
                                               lists=self._topic_lists(), directory=known)
        envelopes = self.streams.record(ctx, stream, 0, events)
        return self.streams.receipt(stream, envelopes, {"consultation_id": consultation_id}).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def decide_consultation_topic(self, consultation_id: str, note: str = "") -> dict[str, Any]:
        """Staff decide the topic, checked against the lists as they are now."""
        cmd = cs.DecideConsultationTopic.parse(consultation_id=consultation_id, note=note)
        lists = self._topic_lists()
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.decide_consultation_topic(
            actor, state, cmd, lists=lists))

    @rpc(expected_exceptions=EXPECTED)
    def set_aside_consultation_topic(self, consultation_id: str, reason: str) -> dict[str, Any]:
        cmd = cs.SetAsideConsultationTopic.parse(consultation_id=consultation_id, reason=reason)
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.set_aside_consultation_topic(
            actor, state, cmd))

    @rpc(expected_exceptions=EXPECTED)
    def approve_consultation_topic(self, consultation_id: str, note: str = "") -> dict[str, Any]:
        """The same-level party organisation approves the topic (leaders only)."""
        cmd = cs.ApproveConsultationTopic.parse(consultation_id=consultation_id, note=note)
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.approve_consultation_topic(
            actor, state, cmd))

    @rpc(expected_exceptions=EXPECTED)
    def reject_consultation_topic(self, consultation_id: str, reason: str) -> dict[str, Any]:
        cmd = cs.RejectConsultationTopic.parse(consultation_id=consultation_id, reason=reason)
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.reject_consultation_topic(
            actor, state, cmd))

    # -- 3 制定方案, 4 议前调研 -----------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def plan_consultation(self, consultation_id: str, held_on: str, place: str,
                          members: Sequence[str] = (), departments: Sequence[str] = (),
                          residents: int = 0, stakeholders: Sequence[str] = (),
                          agenda: str | None = None) -> dict[str, Any]:
        """Staff draw up the plan (again before the meeting: a new revision)."""
        cmd = cs.PlanConsultation.parse(consultation_id=consultation_id, held_on=held_on, place=place,
                                        members=members, departments=departments, residents=residents,
                                        stakeholders=stakeholders, agenda=agenda)
        known = directory.entries(self.streams, [cmd.place, *cmd.members, *cmd.departments])
        for _ in range(2):   # the station's location, then a community's township
            more = [i for i in cs.place_ids(cmd.place, known) if i not in known]
            if more:
                known = {**known, **directory.entries(self.streams, more)}
        today = self.clock.today()
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.plan_consultation(
            actor, state, cmd, today=today, directory=known))

    @rpc(expected_exceptions=EXPECTED)
    def record_consultation_research(self, consultation_id: str, kind: str, held_on: str,
                                     members: Sequence[str], summary: str) -> dict[str, Any]:
        """Staff record research before the meeting → {"research_id"}."""
        cmd = cs.RecordConsultationResearch.parse(consultation_id=consultation_id, kind=kind,
                                                  held_on=held_on, members=members, summary=summary)
        known = directory.entries(self.streams, cmd.members)
        research_id, today = new_id(), self.clock.today()
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.record_consultation_research(
            actor, state, cmd, research_id=research_id, today=today, directory=known),
            research_id=research_id)

    # -- 5 协商议事, 6 公开公示, 7 组织决定 -------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def record_consultation_meeting(self, consultation_id: str, held_on: str, members: Sequence[str],
                                    departments: Sequence[str] = (), residents: int = 0,
                                    stakeholders: Sequence[str] = (), speakers: Sequence[str] = (),
                                    opinions: Sequence[str] = (),
                                    outcomes: Sequence[str] = ()) -> dict[str, Any]:
        """Staff record the meeting: who attended, who spoke, the opinions and the outcomes agreed."""
        cmd = cs.RecordConsultationMeeting.parse(
            consultation_id=consultation_id, held_on=held_on, members=members, departments=departments,
            residents=residents, stakeholders=stakeholders, speakers=speakers, opinions=opinions,
            outcomes=outcomes)
        known = directory.entries(self.streams, [*cmd.members, *cmd.departments])
        today = self.clock.today()
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.record_consultation_meeting(
            actor, state, cmd, today=today, directory=known))

    @rpc(expected_exceptions=EXPECTED)
    def publish_consultation_results(self, consultation_id: str, channel: str, text: str,
                                     until: str) -> dict[str, Any]:
        cmd = cs.PublishConsultationResults.parse(consultation_id=consultation_id, channel=channel,
                                                  text=text, until=until)
        today = self.clock.today()
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.publish_consultation_results(
            actor, state, cmd, today=today))

    @rpc(expected_exceptions=EXPECTED)
    def decide_consultation(self, consultation_id: str, adopted_outcomes: Sequence[int],
                            text: str) -> dict[str, Any]:
        """The party organisation's decision (leaders only): the outcomes adopted, by number."""
        cmd = cs.DecideConsultation.parse(consultation_id=consultation_id,
                                          adopted_outcomes=adopted_outcomes, text=text)
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.decide_consultation(
            actor, state, cmd))

    # -- 8 跟踪落实 ---------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def assign_follow_up_task(self, consultation_id: str, unit: str, outcome: int, task: str,
                              deadline: str) -> dict[str, Any]:
        """Staff give a unit a task carrying out an adopted outcome → {"task_id"}."""
        cmd = cs.AssignFollowUpTask.parse(consultation_id=consultation_id, unit=unit, outcome=outcome,
                                          task=task, deadline=deadline)
        known = directory.entries(self.streams, [cmd.unit])
        task_id, today = new_id(), self.clock.today()
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.assign_follow_up_task(
            actor, state, cmd, task_id=task_id, today=today, directory=known), task_id=task_id)

    @rpc(expected_exceptions=EXPECTED)
    def complete_follow_up_task(self, consultation_id: str, task_id: str, report: str) -> dict[str, Any]:
        """The unit of the task reports it done, once."""
        cmd = cs.CompleteFollowUpTask.parse(consultation_id=consultation_id, task_id=task_id, report=report)
        today = self.clock.today()
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.complete_follow_up_task(
            actor, state, cmd, today=today), task_id=cmd.task_id)

    @rpc(expected_exceptions=EXPECTED)
    def record_follow_up_visit(self, consultation_id: str, visited_on: str, members: Sequence[str],
                               findings: str) -> dict[str, Any]:
        cmd = cs.RecordFollowUpVisit.parse(consultation_id=consultation_id, visited_on=visited_on,
                                           members=members, findings=findings)
        known = directory.entries(self.streams, cmd.members)
        today = self.clock.today()
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.record_follow_up_visit(
            actor, state, cmd, today=today, directory=known))

    @rpc(expected_exceptions=EXPECTED)
    def record_satisfaction_survey(self, consultation_id: str, respondents: int, satisfied: int,
                                   basically_satisfied: int, dissatisfied: int,
                                   note: str = "") -> dict[str, Any]:
        cmd = cs.RecordSatisfactionSurvey.parse(consultation_id=consultation_id, respondents=respondents,
                                                satisfied=satisfied, basically_satisfied=basically_satisfied,
                                                dissatisfied=dissatisfied, note=note)
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.record_satisfaction_survey(
            actor, state, cmd))

    @rpc(expected_exceptions=EXPECTED)
    def convert_consultation_result(self, consultation_id: str, into: str, title: str, content: str,
                                    category: str, body: dict | None = None) -> dict[str, Any]:
        """Staff turn a result into an opinion report (→ {"report_id"}: the new report, through
        the usual loop, its source ``consultation:<id>``) or a collective proposal of ``body``
        (the proposals service takes it up)."""
        cmd = cs.ConvertConsultationResult.parse(consultation_id=consultation_id, into=into, title=title,
                                                 content=content, category=category, body=body)
        ctx = self.context.get()
        report_id = new_id() if cmd.into == cs.OPINION_REPORT else None
        ids = {"consultation_id": cmd.consultation_id, **({"report_id": report_id} if report_id else {})}
        receipt = self.streams.decide(
            ctx, cs.consultation_stream(cmd.consultation_id), cs.consultation_fold(cmd.consultation_id),
            lambda state: cs.convert_consultation_result(ctx.actor, state, cmd, report_id=report_id),
            ids=ids)
        return receipt.to_dict()  # the report itself: on_consultation_result_converted, just after

    @handle_event("feedback", "ConsultationResultConverted")
    def on_consultation_result_converted(self, envelope: Envelope) -> None:
        """The report a result became is recorded as a reaction to the conversion, once (the
        conversion names it; the outbox delivers the event at least once; a redelivery finds the
        report there), so the consultation never names a report that is not recorded."""
        if envelope.data.get("into") != cs.OPINION_REPORT:
            return
        converted = domain.registry.decode(envelope)
        assert isinstance(converted, cs.ConsultationResultConverted) and converted.target_id
        report_id = converted.target_id
        ctx = CommandContext.caused_by(envelope, actor=envelope.actor,
                                       reason="a consultation's result turned into an opinion report 协商成果转社情民意")
        self.streams.decide(ctx, opinion_stream(report_id), domain.report_fold(report_id),
                            lambda state: [] if state.exists else cs.opinion_report_events(envelope.actor, converted),
                            retry=True, tracking=self.tracking(envelope))

    @rpc(expected_exceptions=EXPECTED)
    def close_consultation(self, consultation_id: str, summary: str) -> dict[str, Any]:
        cmd = cs.CloseConsultation.parse(consultation_id=consultation_id, summary=summary)
        return self._on_consultation(cmd.consultation_id, lambda actor, state: cs.close_consultation(
            actor, state, cmd))

    @timer(interval=DEADLINE_CHECK_SECONDS)
    def check_consultation_deadlines(self) -> dict[str, int]:
        """Remind participants of meetings soon (once per plan revision) and units of follow-up
        tasks due soon, and record tasks that became overdue (escalated), each once per task."""
        ctx = CommandContext(actor=SYSTEM_ACTOR, reason="consultation deadline check 协商议事期限检查")
        today = self.clock.today()
        counts = {"meetings_reminded": 0, "reminded": 0, "overdue": 0}
        # Candidates only: each is decided on its stream, so a lagging view delays, never repeats.
        self.views.wait_for(self.streams.store.head(), timeout=30)
        with self.views.connect() as conn:
            due = consultation_views.consultations_due(conn, self.views, today=today)
        for consultation_id in due:
            receipt = self.streams.decide(
                ctx, cs.consultation_stream(consultation_id), cs.consultation_fold(consultation_id),
                lambda state: cs.remind_or_record_overdue(state, today=today),
                retry=True, ids={"consultation_id": consultation_id})
            for event_type in receipt.events:
                counts[TIMER_EVENTS[event_type]] += 1
        if any(counts.values()):
            log.info("consultation deadline check on %s: %s", today, counts)
        return counts

    # -- queries ---------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def get_consultation(self, consultation_id: str, after_position: int = 0) -> dict[str, Any]:
        """A consultation folded from its stream (always current), as the caller may read it."""
        actor = self.context.get().actor
        stream = cs.consultation_stream(check_id(consultation_id, "consultation_id"))
        self.views.read_after(after_position)
        loaded = self.streams.load(stream, cs.consultation_fold(consultation_id))
        state = cs.require_reader(actor, cs.require_consultation(loaded.state))
        return {**cs.consultation_as_seen_by(actor, state), "stream": stream, "version": loaded.version}

    @rpc(expected_exceptions=EXPECTED)
    def consultations(self, status: str | None = None, township: str | None = None,
                      place: str | None = None, year: int | None = None, limit: int = 100,
                      cursor: str | None = None, q: str | None = None,
                      after_position: int = 0) -> dict[str, Any]:
        """The consultations, latest activity first, with their state and next step."""
        access.require_list_reader(self.context.get().actor, "read consultations")
        problems: dict[str, str] = {}
        if status is not None and status not in CONSULTATION_STATES:
            problems["status"] = f"one of 取值之一: {', '.join(CONSULTATION_STATES)}"
        for name, value in (("township", township), ("place", place)):
            if value is not None and (not isinstance(value, str) or not _is_id(value)):
                problems[name] = "an id 标识"
        if year is not None and not _is_year(year):
            problems["year"] = "a year, e.g. 2024 年度，如 2024"
        if problems:
            raise InvalidCommand(("bad filters", "筛选条件有误"), problems)
        page = PageRequest.parse("consultations", limit, cursor, q, max_limit=MAX_LIST)
        return self._read_consultations(after_position, lambda conn: consultation_views.consultations(
            conn, self.views, page, status=status, township=township, place=place, year=year))

    @rpc(expected_exceptions=EXPECTED)
    def consultation_calendar(self, date_from: str, date_to: str, place: str | None = None,
                              township: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """The meetings planned and held from ``date_from`` to ``date_to`` (inclusive), by date."""
        access.require_list_reader(self.context.get().actor, "read consultations")
        problems: dict[str, str] = {}
        days = {}
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            try:
                days[name] = date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
            except ValueError:
                days[name] = None
            if days[name] is None:
                problems[name] = "an ISO date, e.g. 2024-06-30 日期格式如 2024-06-30"
        if not problems and not 0 <= (days["date_to"] - days["date_from"]).days < MAX_CALENDAR_DAYS:
            problems["date_to"] = (f"on or after date_from, within {MAX_CALENDAR_DAYS} days "
                                   f"不早于起始日期，且跨度不超过 {MAX_CALENDAR_DAYS} 天")
        for name, value in (("township", township), ("place", place)):
            if value is not None and (not isinstance(value, str) or not _is_id(value)):
                problems[name] = "an id 标识"
        if problems:
            raise InvalidCommand(("bad range", "日期范围有误"), problems)
        return self._read_consultations(after_position, lambda conn: consultation_views.calendar(
            conn, self.views, date_from=days["date_from"], date_to=days["date_to"], place=place,
            township=township))

    @rpc(expected_exceptions=EXPECTED)
    def unit_follow_up_tasks(self, unit: str, open_only: bool = True, limit: int = 100,
                             cursor: str | None = None, q: str | None = None,
                             after_position: int = 0) -> dict[str, Any]:
        """A unit's follow-up tasks, most urgent first, with deadlines (overdue flagged)."""
        access.require_list_reader(self.context.get().actor, "read consultations",
                                   unit=check_id(unit, "unit"))
        page = PageRequest.parse("unit_follow_up_tasks", limit, cursor, q, max_limit=MAX_LIST)
        today = self.clock.today()
        return self._read_consultations(after_position, lambda conn: consultation_views.unit_tasks(
            conn, self.views, unit, page, today=today, open_only=bool(open_only)))

    @rpc(expected_exceptions=EXPECTED)
    def consultation_statistics(self, year: int, after_position: int = 0) -> dict[str, Any]:
        """The year's figures (consultation_views.statistics says each one)."""
        access.require_list_reader(self.context.get().actor, "read the statistics")
        if not _is_year(year):
            raise InvalidCommand(("bad year", "年度有误"), {"year": "a year, e.g. 2024 年度，如 2024"})
        return self._read_consultations(after_position, lambda conn: consultation_views.statistics(
            conn, self.views, year))

    # -- the one way a command on a consultation goes ---------------------------------------
    def _on_consultation(self, consultation_id: str,
                         decide: Callable[[Actor, cs.Consultation], list[DomainEvent]],
                         **ids: Any) -> dict[str, Any]:
        ctx = self.context.get()
        return self.streams.decide(ctx, cs.consultation_stream(consultation_id),
                                   cs.consultation_fold(consultation_id),
                                   lambda state: decide(ctx.actor, state),
                                   ids={"consultation_id": consultation_id, **ids}).to_dict()

    def _topic_lists(self) -> cs.TopicLists:
        return self.streams.load(TOPIC_LISTS_STREAM, cs.topic_lists_fold()).state

    def _committee(self) -> str:
        return links.describe(self.link_outbox)["committee"]

    def _read_consultations(self, after_position: int, query: Callable[[Any], Any]) -> Any:
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            return query(conn)


def _is_year(year: Any) -> bool:
    return not isinstance(year, bool) and isinstance(year, int) and 2000 <= year <= 2100


def _is_id(value: str) -> bool:
    return is_id(value)
