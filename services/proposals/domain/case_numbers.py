"""Case numbers 案号: one stream per session (``casenumbers-<session>``), numbers handed out
one after the other, so that they are unique, sequential and gap-free: a number taken for a
filing that then fails is released, and the next filing takes it.

The state of a session also knows who holds which number and the highest number taken, so
that a decision costs the same in a session of a thousand numbers as in a new one, and it can
be folded on from where a kept copy was (``fold_case_numbers_on``): the service folds only the
numbers taken since its last filing, not the session's whole stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Iterable, Mapping

from xieshang.kernel.domain import DomainEvent

from .events import CaseNumberAssigned, CaseNumberReleased


@dataclass(frozen=True)
class CaseNumbers:
    """The case numbers of one session: who holds which, and which are free again."""

    session: str
    held: Mapping[int, str] = field(default_factory=dict)       # sequence -> proposal id
    released: frozenset[int] = frozenset()
    numbers: Mapping[int, str] = field(default_factory=dict)    # sequence -> case number
    holders: Mapping[str, int] = field(default_factory=dict)    # proposal id -> its sequence
    highest: int = 0                                            # the highest sequence taken

    def of(self, proposal_id: str) -> str | None:
        sequence = self.holders.get(proposal_id)
        return None if sequence is None else self.numbers[sequence]


def fold_case_numbers(session: str, events: Iterable[DomainEvent],
                      numbers: CaseNumbers | None = None) -> CaseNumbers:
    """The session's numbers after ``events``, folded on from ``numbers`` (none: from the
    start). Every sequence ever assigned is held or released, so ``highest`` is the highest
    of those, as it always was."""
    start = numbers or CaseNumbers(session)
    held, numbered, holders = dict(start.held), dict(start.numbers), dict(start.holders)
    released, highest = set(start.released), start.highest
    for e in events:
        if isinstance(e, CaseNumberAssigned):
            previous = held.get(e.sequence)
            if previous is not None and holders.get(previous) == e.sequence:
                del holders[previous]
            held[e.sequence] = e.proposal_id
            holders.setdefault(e.proposal_id, e.sequence)
            numbered[e.sequence] = e.case_number
            released.discard(e.sequence)
            highest = max(highest, e.sequence)
        elif isinstance(e, CaseNumberReleased) and held.get(e.sequence) == e.proposal_id:
            del held[e.sequence]
            if holders.get(e.proposal_id) == e.sequence:
                del holders[e.proposal_id]
            released.add(e.sequence)
    return CaseNumbers(start.session, held, frozenset(released), numbered, holders, highest)


def fold_case_numbers_on(numbers: CaseNumbers, events: Iterable[DomainEvent]) -> CaseNumbers:
    """``numbers`` brought up to date with the session's ``events`` recorded after them."""
    events = list(events)
    return fold_case_numbers(numbers.session, events, numbers) if events else numbers


def format_case_number(session: str, sequence: int) -> str:
    return f"{session}-{sequence:03d}"


def assign_case_number(numbers: CaseNumbers, proposal_id: str) -> list[DomainEvent]:
    """The next case number of the session for ``proposal_id`` (none if it holds one already):
    the lowest released number first, else one past the highest."""
    if numbers.of(proposal_id):
        return []
    sequence = min(numbers.released) if numbers.released else numbers.highest + 1
    return [CaseNumberAssigned(session=numbers.session, sequence=sequence,
                               case_number=format_case_number(numbers.session, sequence),
                               proposal_id=proposal_id)]


def release_case_number(numbers: CaseNumbers, proposal_id: str) -> list[DomainEvent]:
    sequence = numbers.holders.get(proposal_id)
    if sequence is None:
        return []
    return [CaseNumberReleased(session=numbers.session, sequence=sequence,
                               case_number=numbers.numbers[sequence], proposal_id=proposal_id)]


def case_numbers_fold(session: str) -> Callable[[Iterable[DomainEvent]], CaseNumbers]:
    """The fold of the session's case-number stream (what ``Streams.load`` takes)."""
    return partial(fold_case_numbers, session)
