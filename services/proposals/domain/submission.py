"""提、立: submission, co-signing, review, filing under a case number, not filing, merging."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Mapping

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed, WrongState
from xieshang.kernel.envelope import Actor
from xieshang.kernel.messages import state_label

from .checks import (check_ids, check_length, require_case, require_role, require_status,
                     required_text, stripped)
from .commands import (ConfirmCoSignature, DeclineCoSignature, FileProposal, MergeProposal,
                       NotFileProposal, ReturnProposal, ReviseProposal, SubmitProposal,
                       TakeUpConsultationResult)
from .events import (CoSignatureConfirmed, CoSignatureDeclined, MergedProposalAdded,
                     ProposalConvertedToOpinionReport, ProposalFiled, ProposalMerged, ProposalNotFiled,
                     ProposalReturned, ProposalRevised, ProposalSubmitted,
                     ProposalTakenUpFromConsultation)
from .state import Proposal
from .vocabulary import (ASSIGNED, BODY_TYPES, CATEGORIES, CO_SIGN_WINDOW_DAYS, CONVERSIONS, FILED,
                         KINDS, MEMBER, RETURNED, SESSION, STAFF, SUBMITTED, TEXT_LIMITS)


def submit_proposal(actor: Actor, on_behalf_of: str | None, proposal_id: str,
                    command: SubmitProposal, *, today: date) -> list[DomainEvent]:
    """A member submits (staff may enter one for a member named in ``on_behalf_of``).

    ``kind`` defaults to joint when there are co-signers, else individual. A collective
    proposal names its ``body`` (party, group, sector or special committee). The session
    defaults to this year's.
    """
    title, reasons, suggestions, category = (command.title, command.reasons, command.suggestions,
                                             command.category)
    co_signers, kind, body = command.co_signers, command.kind, command.body
    session, publish_consent = command.session or str(today.year), command.publish_consent
    if actor.role == MEMBER:
        proposer = actor.user_id
    elif actor.role == STAFF and on_behalf_of:
        proposer = on_behalf_of
    else:
        raise NotAllowed("submit_proposal", ("only a member submits a proposal (or staff on a "
                                             f"member's behalf); the actor's role is {actor.role!r}",
                                             "只有委员可以提交提案（工作人员可代委员提交）；"
                                             f"当前用户的身份是 {actor.role!r}"))
    problems: dict[str, str] = {}
    title, reasons, suggestions = _checked_text(problems, title, reasons, suggestions, category)
    signers = check_ids(problems, "co_signers", co_signers)
    if proposer in signers:
        problems["co_signers"] = "the proposer cannot co-sign their own proposal"
    kind = kind or ("joint" if signers else "individual")
    if kind not in KINDS:
        problems["kind"] = f"must be one of {', '.join(KINDS)}"
    elif kind == "joint" and not signers:
        problems["co_signers"] = "a joint proposal names at least one co-signer"
    elif kind != "joint" and signers:
        problems["co_signers"] = f"only a joint proposal has co-signers, not a {kind} one"
    if kind == "collective":
        if not isinstance(body, Mapping) or body.get("type") not in BODY_TYPES or \
                not isinstance(body.get("name"), str) or not 1 <= len(body["name"].strip()) <= 100:
            problems["body"] = f"a collective proposal names its body: type ({', '.join(BODY_TYPES)}) and name"
    elif body is not None:
        problems["body"] = "only a collective proposal has a body"
    if not isinstance(session, str) or not SESSION.fullmatch(session):
        problems["session"] = "the session 届次/会次, e.g. 2024 or 11-3 (letters, digits, - . _)"
    if not isinstance(publish_consent, bool):
        problems["publish_consent"] = "true or false"
    if problems:
        raise InvalidCommand(("the proposal is incomplete or malformed", "提案内容不完整或格式有误"), problems)
    window = (date.fromordinal(today.toordinal() + CO_SIGN_WINDOW_DAYS).isoformat()
              if kind == "joint" else None)
    return [ProposalSubmitted(proposal_id=proposal_id, proposer=proposer, title=title,
                              reasons=reasons, suggestions=suggestions, category=category,
                              co_signers=signers, kind=kind, session=session,
                              body=dict(body) if body else None, co_sign_deadline=window,
                              publish_consent=publish_consent)]


# The proposal a consultation's result becomes derives from the event that converted it, so a
# redelivered event finds its proposal there already.
FROM_CONSULTATION = uuid.UUID("0c6a4d1e-93b2-4f57-8a0e-2d5b7f3c9e41")


def consultation_proposal_id(source_event_id: str) -> str:
    """The id of the proposal taken up from the conversion event ``source_event_id``."""
    return str(uuid.uuid5(FROM_CONSULTATION, source_event_id))


def take_up_consultation_result(state: Proposal, command: TakeUpConsultationResult, *,
                                source_event_id: str, session: str) -> list[DomainEvent]:
    """协商成果转集体提案: a consultation's result becomes a collective proposal of its body, entered
    by the staff member who converted it, ``source`` ``consultation:<id>`` (once: nothing if the
    proposal exists already). The content is the proposal's reasons 案由 up to its first blank
    line and its suggestions 建议 after it (both the whole content when it has none, or a part is
    too short to stand alone); a category
    this service does not have is ``other``, an over-long title is cut. A body that is not one
    of BODY_TYPES with a name is refused (the event is then dead-lettered, naming the field)."""
    if state.exists:
        return []
    body = command.body
    name = body.get("name") if isinstance(body, Mapping) else None
    if not isinstance(body, Mapping) or body.get("type") not in BODY_TYPES or \
            not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise InvalidCommand(("a consultation's result becomes a collective proposal of a body",
                              "协商成果转为集体提案须注明提案单位"),
                             {"body": f"the collective body: type ({', '.join(BODY_TYPES)}) and name "
                                      "(集体提案的提案单位：类别与名称)"})
    title = stripped(command.title)[:TEXT_LIMITS["title"][1]]
    content = stripped(command.content)
    head, _, tail = content.partition("\n\n")
    # a part too short to stand alone (e.g. a one-character heading): the whole content for both
    parts = (stripped(head), stripped(tail))
    reasons, suggestions = parts if min(len(p) for p in parts) >= TEXT_LIMITS["reasons"][0] else (content, content)
    problems: dict[str, str] = {}
    check_length(problems, "title", title, *TEXT_LIMITS["title"])
    check_length(problems, "content", reasons, *TEXT_LIMITS["reasons"])
    check_length(problems, "content", suggestions, *TEXT_LIMITS["suggestions"])
    if problems:
        raise InvalidCommand(("the consultation's result is too short or too long for a proposal",
                              "协商成果的标题或内容长度不符合提案要求"), problems)
    body = {"type": str(body["type"]), "name": name.strip()}
    return [ProposalSubmitted(proposal_id=state.proposal_id, proposer=command.converted_by, title=title,
                              reasons=reasons, suggestions=suggestions,
                              category=command.category if command.category in CATEGORIES else "other",
                              kind="collective", session=session, body=body,
                              source=f"consultation:{command.consultation_id}"),
            ProposalTakenUpFromConsultation(proposal_id=state.proposal_id,
                                            consultation_id=command.consultation_id,
                                            source_event_id=source_event_id, title=title, body=body)]


def confirm_co_signature(actor: Actor, state: Proposal, command: ConfirmCoSignature, *,
                         today: date) -> list[DomainEvent]:
    return _co_sign(actor, state, today, confirm=True)


def decline_co_signature(actor: Actor, state: Proposal, command: DeclineCoSignature, *,
                         today: date) -> list[DomainEvent]:
    return _co_sign(actor, state, today, confirm=False)


def _co_sign(actor: Actor, state: Proposal, today: date, confirm: bool) -> list[DomainEvent]:
    command = "confirm_co_signature" if confirm else "decline_co_signature"
    require_case(state)
    if actor.role != MEMBER or actor.user_id not in state.co_signers:
        raise NotAllowed(command, (f"only a co-signer named on the proposal answers; "
                                   f"{actor.user_id!r} is not one",
                                   f"只有提案列明的附议人可以答复；{actor.user_id!r} 不是附议人"))
    require_status(state, (SUBMITTED,), command)
    if actor.user_id not in state.pending_co_signers():
        raise WrongState(command, state.status, (), (
            "you have already confirmed co-signing", "您已确认附议") if actor.user_id in state.confirmed
            else ("you have already declined co-signing", "您已拒绝附议"))
    if state.co_sign_deadline and today > date.fromisoformat(state.co_sign_deadline):
        raise WrongState(command, state.status, (), (f"co-signing closed on {state.co_sign_deadline}",
                                                     f"附议已于 {state.co_sign_deadline} 截止"))
    cls = CoSignatureConfirmed if confirm else CoSignatureDeclined
    return [cls(proposal_id=state.proposal_id, co_signer=actor.user_id)]


def return_proposal(actor: Actor, state: Proposal, command: ReturnProposal) -> list[DomainEvent]:
    """Staff return a submitted proposal for revision 退回修改."""
    reason = command.reason
    require_case(state)
    require_role(actor, (STAFF,), "return_proposal", "only proposal committee staff review proposals")
    require_status(state, (SUBMITTED,), "return_proposal")
    reason = required_text("reason", reason, *TEXT_LIMITS["reason"])
    return [ProposalReturned(proposal_id=state.proposal_id, reason=reason,
    proposers=list(state.proposers))]


def revise_proposal(actor: Actor, state: Proposal, command: ReviseProposal) -> list[DomainEvent]:
    """The proposer revises a returned proposal; it is submitted again."""
    title, reasons, suggestions, category = (command.title, command.reasons, command.suggestions,
                                             command.category)
    require_case(state)
    if actor.user_id != state.proposer:
        raise NotAllowed("revise_proposal", (f"only the proposer {state.proposer!r} revises it",
                                             f"只有提案人 {state.proposer!r} 可以修改提案"))
    require_status(state, (RETURNED,), "revise_proposal")
    problems: dict[str, str] = {}
    title, reasons, suggestions = _checked_text(problems, title, reasons, suggestions, category)
    if problems:
        raise InvalidCommand(("the revision is incomplete or malformed", "修改内容不完整或格式有误"), problems)
    return [ProposalRevised(proposal_id=state.proposal_id, title=title, reasons=reasons,
                            suggestions=suggestions, category=category)]


def check_fileable(actor: Actor, state: Proposal, today: date) -> None:
    """Raise unless staff may file this proposal now (before a case number is taken for it)."""
    require_case(state)
    require_role(actor, (STAFF,), "file_proposal", "only proposal committee staff file proposals")
    require_status(state, (SUBMITTED,), "file_proposal")
    pending = state.pending_co_signers()
    if pending and state.co_sign_deadline and today <= date.fromisoformat(state.co_sign_deadline):
        raise WrongState("file_proposal", state.status,
                         ("return_proposal", "not_file_proposal", "merge_proposal"),
                         (f"waiting for co-signers {', '.join(pending)} until {state.co_sign_deadline}",
                          f"附议人 {'、'.join(pending)} 尚未答复，附议期至 {state.co_sign_deadline}"))


def file_proposal(actor: Actor, state: Proposal, command: FileProposal, *, case_number: str,
                  today: date) -> list[DomainEvent]:
    """Staff file a submitted proposal 立案 under the case number taken for it."""
    check_fileable(actor, state, today)
    return [ProposalFiled(proposal_id=state.proposal_id, case_number=case_number,
                          proposer=state.proposer, title=state.title, category=state.category,
                          co_signers=list(state.confirmed), session=state.session, kind=state.kind)]


def not_file_proposal(actor: Actor, state: Proposal, command: NotFileProposal) -> list[DomainEvent]:
    """Staff decide not to file 不予立案, optionally converting it."""
    reason, conversion = command.reason, command.conversion
    require_case(state)
    require_role(actor, (STAFF,), "not_file_proposal", "only proposal committee staff review proposals")
    require_status(state, (SUBMITTED,), "not_file_proposal")
    problems: dict[str, str] = {}
    reason = stripped(reason)
    check_length(problems, "reason", reason, *TEXT_LIMITS["reason"])
    if conversion is not None and conversion not in CONVERSIONS:
        problems["conversion"] = f"none, or one of {', '.join(CONVERSIONS)}"
    if problems:
        raise InvalidCommand(("the decision is incomplete or malformed", "决定内容不完整或格式有误"), problems)
    events: list[DomainEvent] = [ProposalNotFiled(proposal_id=state.proposal_id,
                                                  proposer=state.proposer, reason=reason,
                                                  conversion=conversion,
                                                  proposers=list(state.proposers))]
    if conversion == "opinion_report":
        events.append(ProposalConvertedToOpinionReport(
            proposal_id=state.proposal_id, proposer=state.proposer, title=state.title,
            content=f"{state.reasons}\n\n{state.suggestions}", category=state.category))
    return events


def merge_proposal(actor: Actor, merged: Proposal, command: MergeProposal, *,
                   survivor: Proposal) -> list[DomainEvent]:
    """Staff merge ``merged`` into ``survivor`` (``command.into``) 并案: the events for the
    merged case's stream."""
    require_case(merged)
    require_case(survivor)
    require_role(actor, (STAFF,), "merge_proposal", "only proposal committee staff merge proposals")
    if command.proposal_id == command.into:
        raise InvalidCommand(("a proposal cannot be merged into itself", "提案不能并入自身"),
                             {"into": "another proposal"})
    if merged.merged_into == survivor.proposal_id:
        return []  # already done (a retried merge)
    require_status(merged, (SUBMITTED,), "merge_proposal")
    if survivor.status not in (SUBMITTED, FILED, ASSIGNED):
        raise InvalidCommand((f"cannot merge into a case in state {survivor.status!r}",
                              f"不能并入处于“{state_label(survivor.status or 'none', 'merge_proposal')[1]}”"
                              "状态的提案"),
                             {"into": "a submitted, filed or assigned proposal"})
    if merged.session != survivor.session:
        raise InvalidCommand(("merged proposals belong to the same session", "并案的提案须属于同一届次会次"),
                             {"into": f"a proposal of session {merged.session!r}"})
    return [ProposalMerged(proposal_id=merged.proposal_id, into=survivor.proposal_id,
                           proposers=list(merged.proposers))]


def add_merged_proposal(survivor: Proposal, merged_event: ProposalMerged) -> list[DomainEvent]:
    """The surviving case's side of a merge (idempotent)."""
    if merged_event.proposal_id in survivor.merged_from:
        return []
    return [MergedProposalAdded(proposal_id=survivor.proposal_id, merged_id=merged_event.proposal_id,
                                proposers=list(merged_event.proposers))]


def _checked_text(problems: dict[str, str], title: str, reasons: str, suggestions: str,
                  category: str) -> tuple[str, str, str]:
    """The proposal's text, trimmed; what is wrong with it (or its category) goes to ``problems``."""
    title, reasons, suggestions = stripped(title), stripped(reasons), stripped(suggestions)
    check_length(problems, "title", title, *TEXT_LIMITS["title"])
    check_length(problems, "reasons", reasons, *TEXT_LIMITS["reasons"])
    check_length(problems, "suggestions", suggestions, *TEXT_LIMITS["suggestions"])
    if category not in CATEGORIES:
        problems["category"] = f"must be one of {', '.join(CATEGORIES)}"
    return title, reasons, suggestions
