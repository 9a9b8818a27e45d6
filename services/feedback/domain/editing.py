"""编: editing under the four checks 四关 (political, facts, content, wording), then adoption or
not, with a reason."""

from __future__ import annotations

from xieshang.kernel.domain import DomainEvent, WrongState
from xieshang.kernel.envelope import Actor

from .checks import check_text, refuse_if, require_report, require_role, require_status
from .commands import AdoptOpinionReport, NotAdoptOpinionReport, RecordOpinionCheck
from .events import OpinionCheckRecorded, OpinionReportAdopted, OpinionReportNotAdopted
from .state import OpinionReport
from .vocabulary import CHECK_LABELS, CHECKS, STAFF, SUBMITTED


def record_opinion_check(actor: Actor, state: OpinionReport, cmd: RecordOpinionCheck) -> list[DomainEvent]:
    """An editor records one check, passed or not, with a note (a check recorded again
    replaces the earlier verdict; both stay in the history)."""
    require_report(state)
    require_role(actor, (STAFF,), "record_opinion_check")
    require_status(state, (SUBMITTED,), "record_opinion_check")
    problems: dict[str, str] = {}
    if cmd.check not in CHECKS:
        problems["check"] = f"one of 取值之一: {', '.join(CHECKS)} (政治关、事实关、内容关、文字关)"
    note = check_text(problems, "note", cmd.note)
    refuse_if(problems, ("the check is incomplete or malformed", "审核记录不完整或格式有误"))
    return [OpinionCheckRecorded(report_id=state.report_id, check=cmd.check, passed=cmd.passed, note=note)]


def adopt_opinion_report(actor: Actor, state: OpinionReport, cmd: AdoptOpinionReport) -> list[DomainEvent]:
    """Staff adopt a report 采用 once it has passed all four checks."""
    require_report(state)
    require_role(actor, (STAFF,), "adopt_opinion_report")
    require_status(state, (SUBMITTED,), "adopt_opinion_report")
    pending = state.pending_checks()
    if pending:
        en = ", ".join(CHECK_LABELS[c][0] for c in pending)
        zh = "、".join(CHECK_LABELS[c][1] for c in pending)
        raise WrongState("adopt_opinion_report", state.status or "none", state.next_commands(),
                         (f"checks not passed yet: {en}", f"尚未通过：{zh}"))
    note = cmd.note.strip()
    if note:
        problems: dict[str, str] = {}
        note = check_text(problems, "note", note)
        refuse_if(problems, ("bad note", "采用说明填写有误"))
    return [OpinionReportAdopted(report_id=state.report_id, title=state.title,
                                 members=list(state.members), note=note)]


def not_adopt_opinion_report(actor: Actor, state: OpinionReport,
                             cmd: NotAdoptOpinionReport) -> list[DomainEvent]:
    """Staff decide not to adopt a report 不予采用, saying why."""
    require_report(state)
    require_role(actor, (STAFF,), "not_adopt_opinion_report")
    require_status(state, (SUBMITTED,), "not_adopt_opinion_report")
    problems: dict[str, str] = {}
    reason = check_text(problems, "reason", cmd.reason)
    refuse_if(problems, ("bad reason", "不予采用理由填写有误"))
    return [OpinionReportNotAdopted(report_id=state.report_id, reason=reason)]
