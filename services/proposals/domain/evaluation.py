"""督、评: key proposals and their supervision; the proposers' ratings (confidential, 背靠背),
rehandling after an unsatisfied rating, follow-up of B replies, closing."""

from __future__ import annotations

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed, WrongState
from xieshang.kernel.envelope import Actor

from ..calendar import deadline
from .checks import check_ids, check_length, require_case, require_role, require_status, stripped
from .commands import (CloseProposal, DesignateKeyProposal, RateReply, RecordFollowUp,
                       RecordSupervision)
from .events import (FollowUpRecorded, ProposalClosed, ProposalDesignatedKey, RehandlingStarted,
                     ReplyRated, SupervisionRecorded)
from .rules import Timing
from .state import Proposal
from .vocabulary import (ASSIGNED, FILED, LEADER, MEMBER, OPEN, RATINGS, REPLIED, STAFF,
                         SUPERVISION_KINDS, SUPERVISION_MODES, TEXT_LIMITS, UNIT)


def designate_key_proposal(actor: Actor, state: Proposal,
                           command: DesignateKeyProposal) -> list[DomainEvent]:
    """Staff make a filed case a key proposal 重点提案 with named supervisors."""
    supervisors, mode = command.supervisors, command.mode
    require_case(state)
    require_role(actor, (STAFF,), "designate_key_proposal", "only committee staff choose key proposals")
    require_status(state, (FILED, ASSIGNED, REPLIED), "designate_key_proposal")
    problems: dict[str, str] = {}
    names = check_ids(problems, "supervisors", supervisors)
    if not names and "supervisors" not in problems:
        problems["supervisors"] = "at least one supervisor (a leader's user id)"
    if mode not in SUPERVISION_MODES:
        problems["mode"] = f"one of {', '.join(SUPERVISION_MODES)}"
    if problems:
        raise InvalidCommand(("the key proposal designation is incomplete or malformed",
                              "重点提案的确定内容不完整或格式有误"), problems)
    if state.key and tuple(names) == state.supervisors and mode == state.supervision_mode:
        return []
    return [ProposalDesignatedKey(proposal_id=state.proposal_id, case_number=state.case_number or "",
                                  supervisors=names, mode=mode)]


def record_supervision(actor: Actor, state: Proposal, command: RecordSupervision) -> list[DomainEvent]:
    """A named supervisor (or staff) records supervision of a key proposal."""
    kind, note = command.kind, command.note
    require_case(state)
    if not state.key:
        raise WrongState("record_supervision", state.status or "none", ("designate_key_proposal",),
                         ("not a key proposal", "该提案不是重点提案"))
    if not (actor.role == STAFF or (actor.role == LEADER and actor.user_id in state.supervisors)):
        raise NotAllowed("record_supervision", ("only the key proposal's supervisors "
                                                f"({', '.join(state.supervisors)}) or staff record "
                                                f"supervision; {actor.user_id!r} is neither",
                                                f"只有该重点提案的督办领导（{'、'.join(state.supervisors)}）"
                                                f"或工作人员可以记录督办情况；{actor.user_id!r} 都不是"))
    require_status(state, OPEN, "record_supervision")
    problems: dict[str, str] = {}
    if kind not in SUPERVISION_KINDS:
        problems["kind"] = f"one of {', '.join(SUPERVISION_KINDS)}"
    note = stripped(note)
    check_length(problems, "note", note, *TEXT_LIMITS["note"])
    if problems:
        raise InvalidCommand(("the supervision record is incomplete or malformed", "督办记录不完整或格式有误"),
                             problems)
    return [SupervisionRecorded(proposal_id=state.proposal_id, supervisor=actor.user_id, kind=kind,
                                note=note)]


# -- decisions: evaluation (评) -------------------------------------------------------------------

def rate_reply(actor: Actor, state: Proposal, command: RateReply, *, timing: Timing) -> list[DomainEvent]:
    """A proposer rates the reply and the unit's attitude. (Once every proposer has rated, an
    unsatisfied rating starts a new handling round: ``start_rehandling``, which the system
    decides after the rating, as a reaction to it.)"""
    reply_rating, attitude_rating = command.reply_rating, command.attitude_rating
    require_case(state)
    if actor.role != MEMBER or actor.user_id not in state.proposers:
        # (the proposers are not named: a refusal must not tell anyone who they are)
        raise NotAllowed("rate_reply", ("only the case's proposers rate its reply",
                                        "只有本案的提案人可以评价办理答复"))
    require_status(state, (REPLIED,), "rate_reply")
    r = state.round
    if r.rated_by(actor.user_id):
        raise WrongState("rate_reply", state.status, (),
                         (f"you already rated the reply of round {r.number}",
                          f"您已评价过第 {r.number} 轮的办理答复"))
    problems: dict[str, str] = {}
    if reply_rating not in RATINGS:
        problems["reply_rating"] = f"one of {', '.join(RATINGS)}"
    if attitude_rating not in RATINGS:
        problems["attitude_rating"] = f"one of {', '.join(RATINGS)}"
    if problems:
        raise InvalidCommand("the rating is incomplete or malformed", problems)
    return [ReplyRated(proposal_id=state.proposal_id, round=r.number, rater=actor.user_id,
                       unit=r.lead_unit, reply_rating=reply_rating, attitude_rating=attitude_rating)]


def rehandling_due(state: Proposal) -> bool:
    """Every proposer has rated the reply of this round, and one of them is unsatisfied."""
    r = state.round
    if not state.exists or state.status != REPLIED or r is None:
        return False
    return (all(r.rated_by(p) for p in state.proposers)
            and any(rating[1] == "unsatisfied" for rating in r.ratings))


def start_rehandling(state: Proposal, timing: Timing) -> list[DomainEvent]:
    """The system's reaction to the last rating: a new round if it is due (idempotent: once the
    round started, nothing is due)."""
    if not rehandling_due(state):
        return []
    r, days = state.round, timing.rules.rehandling_days
    return [RehandlingStarted(
        proposal_id=state.proposal_id, case_number=state.case_number or "", round=r.number + 1,
        lead_unit=r.lead_unit, co_units=list(r.co_units), started_on=timing.today.isoformat(),
        deadline=deadline(timing.today, days, timing.rules, timing.calendar).isoformat(),
        period_days=days, counting=timing.rules.counting, proposers=list(state.proposers))]


def record_follow_up(actor: Actor, state: Proposal, command: RecordFollowUp) -> list[DomainEvent]:
    """Follow-up of a B-class reply 跟踪落实, by staff or the lead unit."""
    note, kept = command.note, command.kept
    require_case(state)
    r = state.round
    if not (actor.role == STAFF or (actor.role == UNIT and r and actor.organisation == r.lead_unit)):
        raise NotAllowed("record_follow_up", ("only staff or the lead unit record follow-up",
                                              "只有工作人员或主办单位可以记录跟踪落实情况"))
    require_status(state, (REPLIED,), "record_follow_up")
    if r.reply_class != "B":
        raise WrongState("record_follow_up", state.status, ("rate_reply", "close_proposal"),
                         (f"replied {r.reply_class}: only B replies are followed up",
                          f"答复为 {r.reply_class} 类，只有 B 类答复需要跟踪落实"))
    if state.follow_up_kept:
        raise WrongState("record_follow_up", state.status, ("close_proposal",),
                         ("promise already kept", "答复承诺已落实"))
    problems: dict[str, str] = {}
    note = stripped(note)
    check_length(problems, "note", note, *TEXT_LIMITS["note"])
    if not isinstance(kept, bool):
        problems["kept"] = "true or false"
    if problems:
        raise InvalidCommand(("the follow-up is incomplete or malformed", "跟踪落实记录不完整或格式有误"),
                             problems)
    return [FollowUpRecorded(proposal_id=state.proposal_id, round=r.number, note=note, kept=kept)]


def close_proposal(actor: Actor, state: Proposal, command: CloseProposal) -> list[DomainEvent]:
    """Staff close a replied case 办结: every proposer rated it and none is unsatisfied (that would
    have started a new round), and a B reply's promise is kept."""
    require_case(state)
    require_role(actor, (STAFF,), "close_proposal", "only proposal committee staff close cases")
    require_status(state, (REPLIED,), "close_proposal")
    r = state.round
    # a proposal taken up from elsewhere (a consultation's result: its proposer is the staff member
    # who converted it) has no member to rate it; the consultation's follow-up visit 回访 does
    missing = [] if state.source else [p for p in state.proposers if not r.rated_by(p)]
    if missing:
        raise WrongState("close_proposal", state.status, ("rate_reply",),
                         (f"waiting for the rating of {', '.join(missing)}",
                          f"尚待 {'、'.join(missing)} 评价答复"))
    if rehandling_due(state):
        raise WrongState("close_proposal", state.status, (),
                         ("an unsatisfied rating: the case is handled again",
                          "有不满意的评价，提案将重新办理"))
    if r.reply_class == "B" and not state.follow_up_kept:
        raise WrongState("close_proposal", state.status, ("record_follow_up",),
                         ("B reply not yet kept: follow it up until it is",
                          "B 类答复的承诺尚未落实，请继续跟踪落实"))
    return [ProposalClosed(proposal_id=state.proposal_id, case_number=state.case_number or "",
                           rounds=len(state.rounds), reply_class=r.reply_class or "",
                           proposers=list(state.proposers))]
