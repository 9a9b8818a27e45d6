"""Case numbers 案号: one stream per session (``casenumbers-<session>``), numbers handed out
one after the other, so that they are unique, sequential and gap-free: a number taken for a
filing that then fails is released, and the next filing takes it."""

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

    def of(self, proposal_id: str) -> str | None:
        for seq, pid in self.held.items():
            if pid == proposal_id:
                return self.numbers[seq]
        return None


def fold_case_numbers(session: str, events: Iterable[DomainEvent]) -> CaseNumbers:
    held: dict[int, str] = {}
    numbers: dict[int, str] = {}
    released: set[int] = set()
    for e in events:
        if isinstance(e, CaseNumberAssigned):
            held[e.sequence] = e.proposal_id
            numbers[e.sequence] = e.case_number
            released.discard(e.sequence)
        elif isinstance(e, CaseNumberReleased) and held.get(e.sequence) == e.proposal_id:
            del held[e.sequence]
            released.add(e.sequence)
    return CaseNumbers(session, held, frozenset(released), numbers)


def format_case_number(session: str, sequence: int) -> str:
    return f"{session}-{sequence:03d}"


def assign_case_number(numbers: CaseNumbers, proposal_id: str) -> list[DomainEvent]:
    """The next case number of the session for ``proposal_id`` (none if it holds one already):
    the lowest released number first, else one past the highest."""
    if numbers.of(proposal_id):
        return []
    sequence = min(numbers.released) if numbers.released else max(
        [*numbers.held, *numbers.released], default=0) + 1
    return [CaseNumberAssigned(session=numbers.session, sequence=sequence,
                               case_number=format_case_number(numbers.session, sequence),
                               proposal_id=proposal_id)]


def release_case_number(numbers: CaseNumbers, proposal_id: str) -> list[DomainEvent]:
    for seq, pid in numbers.held.items():
        if pid == proposal_id:
            return [CaseNumberReleased(session=numbers.session, sequence=seq,
                                       case_number=numbers.numbers[seq], proposal_id=proposal_id)]
    return []

def case_numbers_fold(session: str) -> Callable[[Iterable[DomainEvent]], CaseNumbers]:
    """The fold of the session's case-number stream (what ``Streams.load`` takes)."""
    return partial(fold_case_numbers, session)
