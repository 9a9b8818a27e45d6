"""Publication 公开 (with the proposers' consent) and public comments: submitted by the public
or members, moderated by staff, answered by the lead unit."""

from __future__ import annotations

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed, NotYet, WrongState
from xieshang.kernel.envelope import Actor
from xieshang.kernel.ids import is_id

from .checks import (check_length, require_case, require_comment, require_role, require_status,
                     required_text, stripped)
from .commands import (AnswerComment, ModerateComment, PublishProposal, SetPublicationConsent,
                       SubmitComment, UnpublishProposal)
from .events import (CommentAnswered, CommentApproved, CommentRejected, CommentSubmitted,
                     ProposalPublished, ProposalUnpublished, PublicationConsentChanged)
from .directory import Entries, names_to_publish
from .state import Proposal
from .vocabulary import MEMBER, MERGED, NOT_FILED, PUBLIC, PUBLISHABLE, STAFF, TEXT_LIMITS, UNIT

_COMMENT_ZH = {"pending": "该评论尚待审核", "approved": "该评论已审核通过", "rejected": "该评论未通过审核"}


def set_publication_consent(actor: Actor, state: Proposal,
                            command: SetPublicationConsent) -> list[DomainEvent]:
    """The proposer agrees to publication, or withdraws; withdrawing unpublishes the case. A
    confirmed co-signer agrees (or not) to their own name being shown; withdrawing it from a
    published case unpublishes it too (staff may publish it again, without that name)."""
    consent = command.consent
    require_case(state)
    is_proposer = actor.role == MEMBER and actor.user_id == state.proposer
    if not is_proposer and not (actor.role == MEMBER and actor.user_id in state.confirmed):
        raise NotAllowed("set_publication_consent", (f"only the proposer {state.proposer!r} or a "
                                                     "co-signer who confirmed decides, each for "
                                                     "themselves",
                                                     f"只有提案人 {state.proposer!r} 或已确认附议的附议人"
                                                     "可以决定，各自为自己决定"))
    if state.status in (MERGED, NOT_FILED):
        raise WrongState("set_publication_consent", state.status, ())
    if not isinstance(consent, bool):
        raise InvalidCommand(("bad consent", "是否同意公开填写有误"), {"consent": "true or false"})
    given = state.publish_consent if is_proposer else actor.user_id in state.name_consents
    if consent == given:
        return []
    events: list[DomainEvent] = [PublicationConsentChanged(proposal_id=state.proposal_id,
                                                           proposer=actor.user_id, consent=consent)]
    if not consent and state.published:
        events.append(ProposalUnpublished(
            proposal_id=state.proposal_id,
            reason="the proposer withdrew consent to publication" if is_proposer else
            "a co-signer withdrew consent to showing their name"))
    return events


def publish_proposal(actor: Actor, state: Proposal, command: PublishProposal, *,
                     directory: Entries) -> list[DomainEvent]:
    """Staff publish a filed case with the proposer's consent, under the names of the proposer
    and of the confirmed co-signers who each consented (``state.published_people``), as the
    directory has them: nobody else's name, and no name typed in."""
    require_case(state)
    require_role(actor, (STAFF,), "publish_proposal", "only committee staff publish cases")
    if command.proposer_names is not None:
        raise InvalidCommand(
            ("the names shown come from the directory and each proposer's own consent; they "
             "cannot be given", "公开的提案人姓名取自名录和本人同意，不能填写"),
            {"proposer_names": "不接受此字段 (not accepted: leave it out)"})
    require_status(state, PUBLISHABLE, "publish_proposal")
    if state.published:
        raise WrongState("publish_proposal", state.status, ("unpublish_proposal",),
                         ("published already", "已经公开"))
    if not state.publish_consent:
        raise WrongState("publish_proposal", state.status, ("set_publication_consent",),
                         ("no consent of the proposer to publication", "提案人未同意公开"))
    names, missing = names_to_publish(directory, state.published_people)
    if missing:
        raise NotYet((f"the directory has no name for {', '.join(missing)} yet; try again shortly",
                      f"名录中还没有 {'、'.join(missing)} 的姓名，请稍后重试"))
    return [ProposalPublished(proposal_id=state.proposal_id, case_number=state.case_number or "",
                              proposer_names=names)]


def unpublish_proposal(actor: Actor, state: Proposal, command: UnpublishProposal) -> list[DomainEvent]:
    reason = command.reason
    require_case(state)
    require_role(actor, (STAFF,), "unpublish_proposal", "only committee staff unpublish cases")
    if not state.published:
        raise WrongState("unpublish_proposal", state.status, ("publish_proposal",),
                         ("not published", "尚未公开"))
    reason = required_text("reason", reason, *TEXT_LIMITS["reason"])
    return [ProposalUnpublished(proposal_id=state.proposal_id, reason=reason)]


def submit_comment(actor: Actor, state: Proposal, command: SubmitComment) -> list[DomainEvent]:
    """Anyone signed in (the public, members) comments on a published case; moderated first
    (``command.comment_id`` given: the service names a comment before it is submitted)."""
    comment_id, display_name, text = command.comment_id, command.display_name, command.text
    require_case(state)
    if actor.role not in (PUBLIC, MEMBER):
        raise NotAllowed("submit_comment", (f"comments come from the public or members, not {actor.role!r}",
                                            f"只有公众或委员可以发表评论，当前用户的身份是 {actor.role!r}"))
    if not state.published:
        raise WrongState("submit_comment", state.status or "none", (), ("not published", "提案尚未公开"))
    problems: dict[str, str] = {}
    if not isinstance(comment_id, str) or not is_id(comment_id):
        problems["comment_id"] = "an id (letters, digits, _ . : -)"
    elif state.comment(comment_id):
        return []  # a retried submission
    display_name, text = stripped(display_name), stripped(text)
    check_length(problems, "display_name", display_name, *TEXT_LIMITS["display_name"])
    check_length(problems, "text", text, *TEXT_LIMITS["text"])
    if problems:
        raise InvalidCommand(("the comment is incomplete or malformed", "评论内容不完整或格式有误"), problems)
    return [CommentSubmitted(proposal_id=state.proposal_id, comment_id=comment_id,
                             author=actor.user_id, display_name=display_name, text=text)]


def moderate_comment(actor: Actor, state: Proposal, command: ModerateComment) -> list[DomainEvent]:
    comment_id, approve, reason = command.comment_id, command.approve, command.reason
    require_case(state)
    require_role(actor, (STAFF,), "moderate_comment", "only committee staff moderate comments")
    comment = require_comment(state, comment_id)
    if comment.status != "pending":
        raise WrongState("moderate_comment", state.status, (), (f"comment {comment.status} already",
                                                                _COMMENT_ZH.get(comment.status, comment.status)))
    if approve:
        return [CommentApproved(proposal_id=state.proposal_id, comment_id=comment_id)]
    reason = required_text("reason", reason, *TEXT_LIMITS["rejection_reason"])
    return [CommentRejected(proposal_id=state.proposal_id, comment_id=comment_id, reason=reason)]


def answer_comment(actor: Actor, state: Proposal, command: AnswerComment) -> list[DomainEvent]:
    comment_id, answer = command.comment_id, command.answer
    require_case(state)
    r = state.round
    if actor.role != UNIT or r is None or actor.organisation != r.lead_unit:
        raise NotAllowed("answer_comment", ("only the lead unit answers comments", "只有主办单位可以回复评论"))
    comment = require_comment(state, comment_id)
    if comment.status != "approved":
        raise WrongState("answer_comment", state.status, (), (f"comment {comment.status}, not approved",
                                                              _COMMENT_ZH.get(comment.status, comment.status)))
    if comment.answer is not None:
        raise WrongState("answer_comment", state.status, (), ("comment answered already", "该评论已回复"))
    answer = required_text("answer", answer, *TEXT_LIMITS["answer"])
    return [CommentAnswered(proposal_id=state.proposal_id, comment_id=comment_id,
                            unit=actor.organisation, answer=answer)]
