"""Proposals 提案: the proposals service's published events and its decisions.

This module is the service's contract with the world (docs/events.md): the events below are
what the service records and what its relay publishes to ``proposals.events``. It is pure:
no I/O, no framework; state is folded from events and every decision either returns new
events or raises a DomainError.

Streams:

* ``proposal-<uuid>``: one proposal's case, from submission on.
* ``casenumber-<case number>``: the reservation of a case number 案号, so that no two
  proposals are filed under the same number (its first event wins).

Lifecycle covered here: submitted 提交 → filed 立案 → assigned 交办 → replied 答复.
Returning, merging, co-handling opinions, supervision, rating and publication come later.

Events never carry contact details: a proposer or co-signer is named by member id only.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Sequence

from xieshang.kernel.domain import (DomainEvent, EventRegistry, InvalidCommand, NotAllowed, NotFound,
                                    WrongState)
from xieshang.kernel.envelope import Actor

registry = EventRegistry()

# Roles (Actor.role) this service knows.
MEMBER, STAFF, UNIT = "member", "staff", "unit"

# 经济、政治、文化、社会、生态文明 (the seeds' "五位一体" areas) and the rest.
CATEGORIES = ("economy", "politics", "culture", "society", "ecology", "other")
REPLY_CLASSES = {
    "A": "solved or basically solved 已解决或基本解决",
    "B": "being solved or planned 正在解决或列入计划",
    "C": "cannot be solved for now 因条件限制暂不能解决",
}
DEFAULT_REPLY_MONTHS = 3

SUBMITTED, FILED, ASSIGNED, REPLIED = "submitted", "filed", "assigned", "replied"
NEXT_COMMANDS = {
    SUBMITTED: ("file_proposal",),
    FILED: ("assign_proposal",),
    ASSIGNED: ("reply_to_proposal",),
    REPLIED: (),
}

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_CASE_NUMBER = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff()（）〔〕_.-]{0,39}$")


def proposal_stream(proposal_id: str) -> str:
    return f"proposal-{proposal_id}"


def case_number_stream(case_number: str) -> str:
    return f"casenumber-{case_number}"


# -- events (the published contract) ---------------------------------------------------------

@registry.register
@dataclass(frozen=True)
class ProposalSubmitted(DomainEvent):
    """A member submitted a proposal 提交提案 (staff may enter a paper one on the member's behalf).

    ``category`` is one of CATEGORIES; ``co_signers`` are the member ids of a joint proposal
    联名提案 (empty for an individual one).
    """

    proposal_id: str
    proposer: str
    title: str
    reasons: str
    suggestions: str
    category: str
    co_signers: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class ProposalFiled(DomainEvent):
    """The proposal committee filed the proposal 立案 under ``case_number`` 案号.

    Carries the proposer and co-signers so that duty points and notifications need no lookup.
    """

    proposal_id: str
    case_number: str
    proposer: str
    title: str
    category: str
    co_signers: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class ProposalAssigned(DomainEvent):
    """Staff assigned the proposal 交办 to a lead unit 主办 (and co-handling units 会办),
    to reply by ``reply_deadline`` (ISO date, usually three months on)."""

    proposal_id: str
    case_number: str
    title: str
    proposer: str
    lead_unit: str
    reply_deadline: str
    co_units: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class ProposalReplied(DomainEvent):
    """The lead unit replied 答复, classed A, B or C (see REPLY_CLASSES).

    ``on_time`` says whether the reply came by the deadline (the unit's on-time rate).
    """

    proposal_id: str
    case_number: str
    title: str
    proposer: str
    unit: str
    reply_class: str
    reply: str
    on_time: bool


@registry.register
@dataclass(frozen=True)
class CaseNumberReserved(DomainEvent):
    """Case number ``case_number`` is taken by ``proposal_id`` (first event of its stream wins)."""

    case_number: str
    proposal_id: str


# -- state -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Proposal:
    """A proposal's state as folded from its stream."""

    proposal_id: str = ""
    status: str | None = None  # None: no such proposal
    proposer: str = ""
    title: str = ""
    reasons: str = ""
    suggestions: str = ""
    category: str = ""
    co_signers: tuple[str, ...] = ()
    case_number: str | None = None
    lead_unit: str | None = None
    co_units: tuple[str, ...] = ()
    reply_deadline: str | None = None
    reply_class: str | None = None
    reply: str | None = None
    replied_on_time: bool | None = None

    @property
    def exists(self) -> bool:
        return self.status is not None

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["co_signers"], d["co_units"] = list(self.co_signers), list(self.co_units)
        d["next_commands"] = list(NEXT_COMMANDS.get(self.status or "", ()))
        return d


def apply(state: Proposal, event: DomainEvent) -> Proposal:
    replace = dataclasses.replace
    if isinstance(event, ProposalSubmitted):
        return Proposal(proposal_id=event.proposal_id, status=SUBMITTED, proposer=event.proposer,
                        title=event.title, reasons=event.reasons, suggestions=event.suggestions,
                        category=event.category, co_signers=tuple(event.co_signers))
    if isinstance(event, ProposalFiled):
        return replace(state, status=FILED, case_number=event.case_number)
    if isinstance(event, ProposalAssigned):
        return replace(state, status=ASSIGNED, lead_unit=event.lead_unit,
                       co_units=tuple(event.co_units), reply_deadline=event.reply_deadline)
    if isinstance(event, ProposalReplied):
        return replace(state, status=REPLIED, reply_class=event.reply_class, reply=event.reply,
                       replied_on_time=event.on_time)
    return state


def fold(proposal_id: str, events: Iterable[DomainEvent]) -> Proposal:
    state = Proposal(proposal_id=proposal_id)
    for event in events:
        state = apply(state, event)
    return state


# -- decisions --------------------------------------------------------------------------------

def submit_proposal(actor: Actor, on_behalf_of: str | None, proposal_id: str, *, title: str,
                    reasons: str, suggestions: str, category: str,
                    co_signers: Sequence[str] = ()) -> list[DomainEvent]:
    """A member submits; staff may submit for a member named in ``on_behalf_of``."""
    if actor.role == MEMBER:
        proposer = actor.user_id
    elif actor.role == STAFF and on_behalf_of:
        proposer = on_behalf_of
    else:
        raise NotAllowed("submit_proposal", "only a member submits a proposal (or staff on a "
                                            f"member's behalf); the actor's role is {actor.role!r}")
    problems: dict[str, str] = {}
    title, reasons, suggestions = _text(title), _text(reasons), _text(suggestions)
    _check_length(problems, "title", title, 2, 200)
    _check_length(problems, "reasons", reasons, 2, 20_000)
    _check_length(problems, "suggestions", suggestions, 2, 20_000)
    if category not in CATEGORIES:
        problems["category"] = f"must be one of {', '.join(CATEGORIES)}"
    signers = _id_list(problems, "co_signers", co_signers)
    if proposer in signers:
        problems["co_signers"] = "the proposer cannot co-sign their own proposal"
    if problems:
        raise InvalidCommand("the proposal is incomplete or malformed", problems)
    return [ProposalSubmitted(proposal_id=proposal_id, proposer=proposer, title=title,
                              reasons=reasons, suggestions=suggestions, category=category,
                              co_signers=signers)]


def file_proposal(actor: Actor, state: Proposal, case_number: str) -> list[DomainEvent]:
    """Staff of the proposal committee file a submitted proposal under a case number."""
    _require(state)
    _require_role(actor, STAFF, "file_proposal", "only proposal committee staff file proposals")
    _require_status(state, SUBMITTED, "file_proposal")
    case_number = _text(case_number)
    if not isinstance(case_number, str) or not _CASE_NUMBER.match(case_number):
        raise InvalidCommand("bad case number", {"case_number": "1 to 40 letters, digits, "
                                                                "Chinese characters, brackets, - . _"})
    return [ProposalFiled(proposal_id=state.proposal_id, case_number=case_number,
                          proposer=state.proposer, title=state.title, category=state.category,
                          co_signers=list(state.co_signers))]


def reserve_case_number(reservations: Sequence[DomainEvent], case_number: str,
                        proposal_id: str) -> list[DomainEvent]:
    """Take ``case_number`` for ``proposal_id``: no event if it already holds it, an error
    if another proposal does."""
    for event in reservations:
        if isinstance(event, CaseNumberReserved):
            if event.proposal_id == proposal_id:
                return []
            raise InvalidCommand(f"case number {case_number!r} is already used",
                                 {"case_number": f"already given to proposal {event.proposal_id}"})
    return [CaseNumberReserved(case_number=case_number, proposal_id=proposal_id)]


def assign_proposal(actor: Actor, state: Proposal, *, lead_unit: str,
                    co_units: Sequence[str] = (), reply_deadline: str | None = None,
                    today: date) -> list[DomainEvent]:
    """Staff assign a filed proposal to a lead unit; the deadline defaults to three months on."""
    _require(state)
    _require_role(actor, STAFF, "assign_proposal", "only proposal committee staff assign proposals")
    _require_status(state, FILED, "assign_proposal")
    problems: dict[str, str] = {}
    if not isinstance(lead_unit, str) or not _ID.match(lead_unit):
        problems["lead_unit"] = "a unit id (letters, digits, _ . : -)"
    units = _id_list(problems, "co_units", co_units)
    if lead_unit in units:
        problems["co_units"] = "the lead unit cannot also be a co-handling unit"
    deadline = add_months(today, DEFAULT_REPLY_MONTHS)
    if reply_deadline:
        try:
            deadline = date.fromisoformat(str(reply_deadline))
        except ValueError:
            problems["reply_deadline"] = "an ISO date, e.g. 2024-06-30"
        else:
            if deadline <= today:
                problems["reply_deadline"] = f"must be after today ({today.isoformat()})"
    if problems:
        raise InvalidCommand("the assignment is incomplete or malformed", problems)
    return [ProposalAssigned(proposal_id=state.proposal_id, case_number=state.case_number or "",
                             title=state.title, proposer=state.proposer, lead_unit=lead_unit,
                             reply_deadline=deadline.isoformat(), co_units=units)]


def reply_to_proposal(actor: Actor, state: Proposal, *, reply_class: str, reply: str,
                      today: date) -> list[DomainEvent]:
    """The assigned lead unit replies, classing the outcome A, B or C."""
    _require(state)
    if actor.role != UNIT or (state.lead_unit and actor.organisation != state.lead_unit):
        raise NotAllowed("reply_to_proposal",
                         f"only the lead unit{f' {state.lead_unit!r}' if state.lead_unit else ''} "
                         f"replies; the actor is {actor.role!r} of {actor.organisation!r}")
    _require_status(state, ASSIGNED, "reply_to_proposal")
    problems: dict[str, str] = {}
    if reply_class not in REPLY_CLASSES:
        problems["reply_class"] = "A, B or C"
    reply = _text(reply)
    _check_length(problems, "reply", reply, 2, 50_000)
    if problems:
        raise InvalidCommand("the reply is incomplete or malformed", problems)
    on_time = today <= date.fromisoformat(state.reply_deadline) if state.reply_deadline else True
    return [ProposalReplied(proposal_id=state.proposal_id, case_number=state.case_number or "",
                            title=state.title, proposer=state.proposer, unit=actor.organisation,
                            reply_class=reply_class, reply=reply, on_time=on_time)]


# -- helpers -----------------------------------------------------------------------------------

def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day if it is shorter (30 Nov + 3 → 28 Feb)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _require(state: Proposal) -> None:
    if not state.exists:
        raise NotFound(f"no proposal {state.proposal_id!r}")


def _require_role(actor: Actor, role: str, command: str, why: str) -> None:
    if actor.role != role:
        raise NotAllowed(command, f"{why}; the actor's role is {actor.role!r}")


def _require_status(state: Proposal, status: str, command: str) -> None:
    if state.status != status:
        raise WrongState(command, state.status or "none", NEXT_COMMANDS.get(state.status or "", ()))


def _text(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _check_length(problems: dict[str, str], name: str, value: Any, lo: int, hi: int) -> None:
    if not isinstance(value, str) or not lo <= len(value) <= hi:
        problems[name] = f"text of {lo} to {hi} characters"


def _id_list(problems: dict[str, str], name: str, values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not all(isinstance(v, str) and _ID.match(v) for v in values):
        problems[name] = "a list of ids (letters, digits, _ . : -)"
        return []
    return list(dict.fromkeys(values))  # keep order, drop repeats
