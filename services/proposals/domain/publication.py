"""Publication 公开 (with the proposer's consent) and public comments: submitted by the public
or members, moderated by staff, answered by the lead unit."""

from __future__ import annotations

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed, WrongState
from xieshang.kernel.envelope import Actor
from xieshang.kernel.ids import is_id

from .checks import (check_length, require_case, require_comment, require_role, require_status,
                     required_text, stripped)
from .commands import (AnswerComment, ModerateComment, PublishProposal, SetPublicationConsent,
                       SubmitComment, UnpublishProposal)
from .events import (CommentAnswered, CommentApproved, CommentRejected, CommentSubmitted,
                     ProposalPublished, ProposalUnpublished, PublicationConsentChanged)
from .state import Proposal
from .vocabulary import MEMBER, MERGED, NOT_FILED, PUBLIC, PUBLISHABLE, STAFF, TEXT_LIMITS, UNIT


def set_publication_consent(actor: Actor, state: Proposal,
                            command: SetPublicationConsent) -> list[DomainEvent]:
    """The proposer agrees to publication, or withdraws; withdrawing unpublishes the case."""
    consent = command.consent
    require_case(state)
    if actor.role != MEMBER or actor.user_id != state.proposer:
        raise NotAllowed("set_publication_consent", f"only the proposer {state.proposer!r} decides")
    if state.status in (MERGED, NOT_FILED):
        raise WrongState("set_publication_consent", state.status, ())
    if not isinstance(consent, bool):
        raise InvalidCommand("bad consent", {"consent": "true or false"})
    if consent == state.publish_consent:
        return []
    events: list[DomainEvent] = [PublicationConsentChanged(proposal_id=state.proposal_id,
                                                           proposer=state.proposer, consent=consent)]
    if not consent and state.published:
        events.append(ProposalUnpublished(proposal_id=state.proposal_id,
                                          reason="the proposer withdrew consent to publication"))
    return events


def publish_proposal(actor: Actor, state: Proposal, command: PublishProposal) -> list[DomainEvent]:
    """Staff publish a filed case with the proposer's consent, under the given names."""
    proposer_names = command.proposer_names
    require_case(state)
    require_role(actor, (STAFF,), "publish_proposal", "only committee staff publish cases")
    require_status(state, PUBLISHABLE, "publish_proposal")
    if state.published:
        raise WrongState("publish_proposal", "published", ("unpublish_proposal",))
    if not state.publish_consent:
        raise WrongState("publish_proposal", "no consent of the proposer to publication",
                         ("set_publication_consent",))
    problems: dict[str, str] = {}
    if isinstance(proposer_names, str) or not proposer_names or not all(
            isinstance(n, str) and 1 <= len(n.strip()) <= 50 for n in proposer_names):
        problems["proposer_names"] = "the names to show, 1 to 50 characters each"
    if problems:
        raise InvalidCommand("the publication is incomplete or malformed", problems)
    return [ProposalPublished(proposal_id=state.proposal_id, case_number=state.case_number or "",
                              proposer_names=[n.strip() for n in proposer_names])]


def unpublish_proposal(actor: Actor, state: Proposal, command: UnpublishProposal) -> list[DomainEvent]:
    reason = command.reason
    require_case(state)
    require_role(actor, (STAFF,), "unpublish_proposal", "only committee staff unpublish cases")
    if not state.published:
        raise WrongState("unpublish_proposal", "not published", ("publish_proposal",))
    reason = required_text("reason", reason, *TEXT_LIMITS["reason"])
    return [ProposalUnpublished(proposal_id=state.proposal_id, reason=reason)]


def submit_comment(actor: Actor, state: Proposal, command: SubmitComment) -> list[DomainEvent]:
    """Anyone signed in (the public, members) comments on a published case; moderated first
    (``command.comment_id`` given: the service names a comment before it is submitted)."""
    comment_id, display_name, text = command.comment_id, command.display_name, command.text
    require_case(state)
    if actor.role not in (PUBLIC, MEMBER):
        raise NotAllowed("submit_comment", f"comments come from the public or members, not {actor.role!r}")
    if not state.published:
        raise WrongState("submit_comment", "not published", ())
    problems: dict[str, str] = {}
    if not isinstance(comment_id, str) or not is_id(comment_id):
        problems["comment_id"] = "an id (letters, digits, _ . : -)"
    elif state.comment(comment_id):
        return []  # a retried submission
    display_name, text = stripped(display_name), stripped(text)
    check_length(problems, "display_name", display_name, *TEXT_LIMITS["display_name"])
    check_length(problems, "text", text, *TEXT_LIMITS["text"])
    if problems:
        raise InvalidCommand("the comment is incomplete or malformed", problems)
    return [CommentSubmitted(proposal_id=state.proposal_id, comment_id=comment_id,
                             author=actor.user_id, display_name=display_name, text=text)]


def moderate_comment(actor: Actor, state: Proposal, command: ModerateComment) -> list[DomainEvent]:
    comment_id, approve, reason = command.comment_id, command.approve, command.reason
    require_case(state)
    require_role(actor, (STAFF,), "moderate_comment", "only committee staff moderate comments")
    comment = require_comment(state, comment_id)
    if comment.status != "pending":
        raise WrongState("moderate_comment", f"comment {comment.status}", ())
    if approve:
        return [CommentApproved(proposal_id=state.proposal_id, comment_id=comment_id)]
    reason = required_text("reason", reason, *TEXT_LIMITS["rejection_reason"])
    return [CommentRejected(proposal_id=state.proposal_id, comment_id=comment_id, reason=reason)]


def answer_comment(actor: Actor, state: Proposal, command: AnswerComment) -> list[DomainEvent]:
    comment_id, answer = command.comment_id, command.answer
    require_case(state)
    r = state.round
    if actor.role != UNIT or r is None or actor.organisation != r.lead_unit:
        raise NotAllowed("answer_comment", "only the lead unit answers comments")
    comment = require_comment(state, comment_id)
    if comment.status != "approved":
        raise WrongState("answer_comment", f"comment {comment.status}", ())
    if comment.answer is not None:
        raise WrongState("answer_comment", "comment answered", ())
    answer = required_text("answer", answer, *TEXT_LIMITS["answer"])
    return [CommentAnswered(proposal_id=state.proposal_id, comment_id=comment_id,
                            unit=actor.organisation, answer=answer)]
