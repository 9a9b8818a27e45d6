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
        raise InvalidCommand("the key proposal designation is incomplete or malformed", problems)
    if state.key and tuple(names) == state.supervisors and mode == state.supervision_mode:
        return []
    return [ProposalDesignatedKey(proposal_id=state.proposal_id, case_number=state.case_number or "",
                                  supervisors=names, mode=mode)]


def record_supervision(actor: Actor, state: Proposal, command: RecordSupervision) -> list[DomainEvent]:
    """A named supervisor (or staff) records supervision of a key proposal."""
    kind, note = command.kind, command.note
    require_case(state)
    if not state.key:
        raise WrongState("record_supervision", "not a key proposal", ("designate_key_proposal",))
    if not (actor.role == STAFF or (actor.role == LEADER and actor.user_id in state.supervisors)):
        raise NotAllowed("record_supervision", "only the key proposal's supervisors "
                                               f"({', '.join(state.supervisors)}) or staff record "
                                               f"supervision; {actor.user_id!r} is neither")
    require_status(state, OPEN, "record_supervision")
    problems: dict[str, str] = {}
    if kind not in SUPERVISION_KINDS:
        problems["kind"] = f"one of {', '.join(SUPERVISION_KINDS)}"
    note = stripped(note)
    check_length(problems, "note", note, *TEXT_LIMITS["note"])
    if problems:
        raise InvalidCommand("the supervision record is incomplete or malformed", problems)
    return [SupervisionRecorded(proposal_id=state.proposal_id, supervisor=actor.user_id, kind=kind,
                                note=note)]


# -- decisions: evaluation (评) -------------------------------------------------------------------

def rate_reply(actor: Actor, state: Proposal, command: RateReply, *, timing: Timing) -> list[DomainEvent]:
    """A proposer rates the reply and the unit's attitude. Once every proposer has rated, an
    unsatisfied rating starts a new handling round."""
    reply_rating, attitude_rating = command.reply_rating, command.attitude_rating
    require_case(state)
    if actor.role != MEMBER or actor.user_id not in state.proposers:
        raise NotAllowed("rate_reply", f"only the case's proposers ({', '.join(state.proposers)}) "
                                       f"rate its reply; {actor.user_id!r} is not one")
    require_status(state, (REPLIED,), "rate_reply")
    r = state.round
    if r.rated_by(actor.user_id):
        raise WrongState("rate_reply", f"already rated by {actor.user_id} in round {r.number}", ())
    problems: dict[str, str] = {}
    if reply_rating not in RATINGS:
        problems["reply_rating"] = f"one of {', '.join(RATINGS)}"
    if attitude_rating not in RATINGS:
        problems["attitude_rating"] = f"one of {', '.join(RATINGS)}"
    if problems:
        raise InvalidCommand("the rating is incomplete or malformed", problems)
    events: list[DomainEvent] = [ReplyRated(proposal_id=state.proposal_id, round=r.number,
                                            rater=actor.user_id, unit=r.lead_unit,
                                            reply_rating=reply_rating, attitude_rating=attitude_rating)]
    ratings = [*(x[1] for x in r.ratings), reply_rating]
    if len(ratings) == len(state.proposers) and "unsatisfied" in ratings:
        days = timing.rules.rehandling_days
        events.append(RehandlingStarted(
            proposal_id=state.proposal_id, case_number=state.case_number or "", round=r.number + 1,
            lead_unit=r.lead_unit, co_units=list(r.co_units), started_on=timing.today.isoformat(),
            deadline=deadline(timing.today, days, timing.rules, timing.calendar).isoformat(),
            period_days=days, counting=timing.rules.counting))
    return events


def record_follow_up(actor: Actor, state: Proposal, command: RecordFollowUp) -> list[DomainEvent]:
    """Follow-up of a B-class reply 跟踪落实, by staff or the lead unit."""
    note, kept = command.note, command.kept
    require_case(state)
    r = state.round
    if not (actor.role == STAFF or (actor.role == UNIT and r and actor.organisation == r.lead_unit)):
        raise NotAllowed("record_follow_up", "only staff or the lead unit record follow-up")
    require_status(state, (REPLIED,), "record_follow_up")
    if r.reply_class != "B":
        raise WrongState("record_follow_up", f"replied {r.reply_class}: only B replies are followed up",
                         ("rate_reply", "close_proposal"))
    if state.follow_up_kept:
        raise WrongState("record_follow_up", "promise already kept", ("close_proposal",))
    problems: dict[str, str] = {}
    note = stripped(note)
    check_length(problems, "note", note, *TEXT_LIMITS["note"])
    if not isinstance(kept, bool):
        problems["kept"] = "true or false"
    if problems:
        raise InvalidCommand("the follow-up is incomplete or malformed", problems)
    return [FollowUpRecorded(proposal_id=state.proposal_id, round=r.number, note=note, kept=kept)]


def close_proposal(actor: Actor, state: Proposal, command: CloseProposal) -> list[DomainEvent]:
    """Staff close a replied case 办结: every proposer rated it and none is unsatisfied (that would
    have started a new round), and a B reply's promise is kept."""
    require_case(state)
    require_role(actor, (STAFF,), "close_proposal", "only proposal committee staff close cases")
    require_status(state, (REPLIED,), "close_proposal")
    r = state.round
    missing = [p for p in state.proposers if not r.rated_by(p)]
    if missing:
        raise WrongState("close_proposal", f"waiting for the rating of {', '.join(missing)}",
                         ("rate_reply",))
    if r.reply_class == "B" and not state.follow_up_kept:
        raise WrongState("close_proposal", "B reply not yet kept: follow it up until it is",
                         ("record_follow_up",))
    return [ProposalClosed(proposal_id=state.proposal_id, case_number=state.case_number or "",
                           rounds=len(state.rounds), reply_class=r.reply_class or "")]
