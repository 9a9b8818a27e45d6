"""The annual assessment 履职考核 of a member, concluded once on the year's points as they
stand (recorded in the member's ledger)."""

from __future__ import annotations

from xieshang.kernel.domain import DomainEvent, InvalidCommand, WrongState
from xieshang.kernel.envelope import Actor

from .access import require_staff
from .checks import is_year
from .commands import ConcludeAssessment
from .events import AnnualAssessmentConcluded
from .members import Member, require_member
from .points import Ledger, PointRules
from .vocabulary import OUTCOMES


def conclude_assessment(actor: Actor, ledger: Ledger, cmd: ConcludeAssessment, member: Member,
                        rules: PointRules) -> list[DomainEvent]:
    """Staff conclude a member's annual assessment 履职考核 of the rules' year, on the year's
    points as they stand (``rules``: the year's, ``cmd.year``). Once concluded it stays as it was."""
    outcome, note = cmd.outcome, cmd.note
    require_staff(actor, "conclude_assessment", "only committee staff conclude assessments")
    require_member(member)
    year = rules.year
    if year in ledger.assessments:
        done = ledger.assessments[year]
        raise WrongState("conclude_assessment", member.status, (),
                         (f"concluded for {year} ({done.outcome}, {done.points} points)",
                          f"{year} 年度考核已完成（{OUTCOMES.get(done.outcome, done.outcome)}，{done.points} 分）"))
    problems: dict[str, str] = {}
    if outcome not in OUTCOMES:
        problems["outcome"] = f"one of {', '.join(OUTCOMES)}"
    if not isinstance(note, str) or len(note) > 1000:
        problems["note"] = "text of at most 1000 characters"
    if not is_year(year):
        problems["year"] = "a year, e.g. 2024"
    if problems:
        raise InvalidCommand(("the assessment is malformed", "考核内容格式有误"), problems)
    return [AnnualAssessmentConcluded(member_id=member.member_id, year=year, outcome=outcome,
                                      points=ledger.year_total(year, rules.caps),
                                      rules_version=rules.version, note=note.strip())]

