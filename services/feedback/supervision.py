"""Democratic supervision groups 民主监督组: the feedback service's commands and queries on them,
mixed into FeedbackService (which gives ``streams``, ``context``, ``clock``, ``views``).

Every command is parsed once, then decided on the group's stream (``supervision-<id>``) by
services.feedback.domain.supervision; a group's leader, members and department are looked up
in the directory first (``directory.entries``). A timer reminds the department of each opinion
whose handling report is due within TASK_REMIND_DAYS_BEFORE days and records each that became
overdue, escalated to the group's leader, once per opinion, as the system, at the clock's date.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Callable, Sequence

from nameko.timer import timer

from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainEvent, InvalidCommand
from xieshang.kernel.envelope import SYSTEM_ACTOR, Actor, new_id
from xieshang.kernel.ids import check_id
from xieshang.kernel.rpc import rpc
from xieshang.kernel.runtime import EXPECTED
from xieshang.kernel.views import PageRequest

from . import directory, supervision_views
from .domain import access
from .domain import supervision as sv
from .domain.vocabulary import SUPERVISION_STATES, TASK_REMIND_DAYS_BEFORE, UNIT

log = logging.getLogger(__name__)

MAX_LIST = 500
DEADLINE_CHECK_SECONDS = 300
TIMER_EVENTS = {"SupervisionHandlingDueSoon": "reminded",
                "SupervisionHandlingOverdue": "overdue"}  # what check_supervision_deadlines counts


# What a department's list of the groups sent to it leaves out (sv.group_as_seen_by likewise).
UNIT_HIDDEN = frozenset({"leader", "members", "fact_findings"})


class SupervisionCommands:
    """The RPCs of supervision groups (mixed into the service class)."""

    @rpc(expected_exceptions=EXPECTED)
    def form_supervision_group(self, name: str, year: int, leader: str, members: Sequence[str],
                               department: str, topic: str, basis: str) -> dict[str, Any]:
        """Staff form a group: its leader and members (serving members), the department it
        supervises (an open handling unit), the topic and the basis 依据 → {"group_id"}."""
        cmd = sv.FormSupervisionGroup.parse(name=name, year=year, leader=leader, members=members,
                                            department=department, topic=topic, basis=basis)
        ctx = self.context.get()
        known = directory.entries(self.streams, [cmd.leader, *cmd.members, cmd.department])
        group_id = new_id()
        stream = sv.supervision_stream(group_id)
        events = sv.form_supervision_group(ctx.actor, group_id, cmd, directory=known)
        envelopes = self.streams.record(ctx, stream, 0, events)
        return self.streams.receipt(stream, envelopes, {"group_id": group_id}).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def record_fact_finding(self, group_id: str, kind: str, held_on: str, members: Sequence[str],
                            findings: str) -> dict[str, Any]:
        """Staff record the group's fact finding 监督调研 → {"activity_id"}."""
        cmd = sv.RecordFactFinding.parse(group_id=group_id, kind=kind, held_on=held_on,
                                         members=members, findings=findings)
        activity_id, today = new_id(), self.clock.today()
        return self._on_group(cmd.group_id, lambda actor, state: sv.record_fact_finding(
            actor, state, cmd, activity_id=activity_id, today=today), activity_id=activity_id)

    @rpc(expected_exceptions=EXPECTED)
    def issue_supervision_opinion(self, group_id: str, text: str, deadline: str) -> dict[str, Any]:
        """Staff issue the group's opinion 监督意见 to the department → {"opinion_id"}."""
        cmd = sv.IssueSupervisionOpinion.parse(group_id=group_id, text=text, deadline=deadline)
        opinion_id, today = new_id(), self.clock.today()
        return self._on_group(cmd.group_id, lambda actor, state: sv.issue_supervision_opinion(
            actor, state, cmd, opinion_id=opinion_id, today=today), opinion_id=opinion_id)

    @rpc(expected_exceptions=EXPECTED)
    def report_supervision_handling(self, group_id: str, opinion_id: str, report: str) -> dict[str, Any]:
        """The department (a unit account of it) reports how it handled the opinion, once."""
        cmd = sv.ReportSupervisionHandling.parse(group_id=group_id, opinion_id=opinion_id, report=report)
        today = self.clock.today()
        return self._on_group(cmd.group_id, lambda actor, state: sv.report_supervision_handling(
            actor, state, cmd, today=today), opinion_id=cmd.opinion_id)

    @rpc(expected_exceptions=EXPECTED)
    def verify_supervision_effect(self, group_id: str, opinion_id: str, verdict: str,
                                  note: str) -> dict[str, Any]:
        """Staff record the verdict on the effect of a handled opinion, once."""
        cmd = sv.VerifySupervisionEffect.parse(group_id=group_id, opinion_id=opinion_id,
                                               verdict=verdict, note=note)
        return self._on_group(cmd.group_id, lambda actor, state: sv.verify_supervision_effect(
            actor, state, cmd), opinion_id=cmd.opinion_id)

    @rpc(expected_exceptions=EXPECTED)
    def close_supervision_group(self, group_id: str, summary: str) -> dict[str, Any]:
        """Staff close the group's round once every opinion is verified."""
        cmd = sv.CloseSupervisionGroup.parse(group_id=group_id, summary=summary)
        return self._on_group(cmd.group_id, lambda actor, state: sv.close_supervision_group(
            actor, state, cmd))

    @timer(interval=DEADLINE_CHECK_SECONDS)
    def check_supervision_deadlines(self) -> dict[str, int]:
        """Remind the departments whose handling reports are due within TASK_REMIND_DAYS_BEFORE
        days, and record those that became overdue (escalated to the group's leader), each once
        per opinion."""
        ctx = CommandContext(actor=SYSTEM_ACTOR, reason="supervision deadline check 监督意见办理期限检查")
        today = self.clock.today()
        counts = {"reminded": 0, "overdue": 0}
        # Candidates only: each is decided on its stream, so a lagging view delays, never repeats.
        self.views.wait_for(self.streams.store.head(), timeout=30)
        with self.views.connect() as conn:
            due = supervision_views.groups_awaiting_handling(
                conn, self.views, due_by=today + timedelta(days=TASK_REMIND_DAYS_BEFORE))
        for group_id in due:
            receipt = self.streams.decide(
                ctx, sv.supervision_stream(group_id), sv.group_fold(group_id),
                lambda state: sv.remind_or_record_overdue(state, today=today),
                retry=True, ids={"group_id": group_id})
            for event_type in receipt.events:
                counts[TIMER_EVENTS[event_type]] += 1
        if any(counts.values()):
            log.info("supervision deadline check on %s: %s", today, counts)
        return counts

    # -- queries ---------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def get_supervision_group(self, group_id: str, after_position: int = 0) -> dict[str, Any]:
        """A group folded from its stream (always current), as the caller may read it: staff,
        leaders, auditors and its members all of it; the department what concerns it."""
        actor = self.context.get().actor
        stream = sv.supervision_stream(check_id(group_id, "group_id"))
        self.views.read_after(after_position)
        loaded = self.streams.load(stream, sv.group_fold(group_id))
        state = sv.require_reader(actor, sv.require_group(loaded.state))
        return {**sv.group_as_seen_by(actor, state), "stream": stream, "version": loaded.version}

    @rpc(expected_exceptions=EXPECTED)
    def supervision_groups(self, year: int | None = None, status: str | None = None,
                           department: str | None = None, limit: int = 100,
                           cursor: str | None = None, q: str | None = None,
                           after_position: int = 0) -> dict[str, Any]:
        """The groups, latest activity first (staff, leaders, auditors; a department those sent
        to it: ``department`` defaults to a unit's own organisation)."""
        actor = self.context.get().actor
        if department is None and actor.role == UNIT:
            department = actor.organisation
        if department is not None:
            check_id(department, "department")
        _require_groups_reader(actor, department)
        problems: dict[str, str] = {}
        if status is not None and status not in SUPERVISION_STATES:
            problems["status"] = f"one of 取值之一: {', '.join(SUPERVISION_STATES)}"
        if year is not None and not _is_year(year):
            problems["year"] = "a year, e.g. 2024 年度，如 2024"
        if problems:
            raise InvalidCommand(("bad filters", "筛选条件有误"), problems)
        page = PageRequest.parse("supervision_groups", limit, cursor, q, max_limit=MAX_LIST)
        found = self._read_supervision(after_position, lambda conn: supervision_views.groups(
            conn, self.views, page, year=year, status=status, department=department))
        if actor.role == UNIT:  # as on the group's page: not who is in it nor its fact finding
            found["items"] = [{k: v for k, v in row.items() if k not in UNIT_HIDDEN} for row in found["items"]]
        return found

    @rpc(expected_exceptions=EXPECTED)
    def department_supervision_opinions(self, department: str, open_only: bool = True,
                                        limit: int = 100, cursor: str | None = None,
                                        q: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """The opinions issued to a department, most urgent first, with their deadlines (open:
        not handled yet; overdue flagged)."""
        access.require_list_reader(self.context.get().actor, "read supervision groups",
                                   unit=check_id(department, "department"))
        page = PageRequest.parse("department_supervision_opinions", limit, cursor, q, max_limit=MAX_LIST)
        today = self.clock.today()
        return self._read_supervision(after_position, lambda conn: supervision_views.department_opinions(
            conn, self.views, department, page, today=today, open_only=bool(open_only)))

    @rpc(expected_exceptions=EXPECTED)
    def supervision_statistics(self, year: int, after_position: int = 0) -> dict[str, Any]:
        """The year's figures of the groups of ``year`` (supervision_views.statistics)."""
        access.require_list_reader(self.context.get().actor, "read the statistics")
        if not _is_year(year):
            raise InvalidCommand(("bad year", "年度有误"), {"year": "a year, e.g. 2024 年度，如 2024"})
        return self._read_supervision(after_position, lambda conn: supervision_views.statistics(
            conn, self.views, year))

    # -- the one way a command on a group goes --------------------------------------------
    def _on_group(self, group_id: str, decide: Callable[[Actor, sv.SupervisionGroup], list[DomainEvent]],
                  **ids: Any) -> dict[str, Any]:
        ctx = self.context.get()
        return self.streams.decide(ctx, sv.supervision_stream(group_id), sv.group_fold(group_id),
                                   lambda state: decide(ctx.actor, state),
                                   ids={"group_id": group_id, **ids}).to_dict()

    def _read_supervision(self, after_position: int, query: Callable[[Any], Any]) -> Any:
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            return query(conn)


def _is_year(year: Any) -> bool:
    return not isinstance(year, bool) and isinstance(year, int) and 2000 <= year <= 2100


def _require_groups_reader(actor: Actor, department: str | None) -> None:
    """Staff, leaders and auditors list every group; a department (unit) the groups sent to it."""
    access.require_list_reader(actor, "read supervision groups", unit=department)
