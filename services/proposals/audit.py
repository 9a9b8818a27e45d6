"""State folders for audits: ``xieshang as-of`` folds a stream read up to a point in time.

STATE_FOLDERS maps a stream category (the part of the stream name before the first "-") to
a function from that stream's envelopes (oldest first, possibly cut short) to the state then,
as a JSON-ready dict.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from xieshang.kernel.envelope import Envelope

from . import domain
from .calendar import official_calendar


def _decoded(envelopes: list[Envelope]):
    return domain.registry.decode_all(envelopes)


def proposal_state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
    envelopes = list(envelopes)
    if not envelopes:
        return {}
    proposal_id = envelopes[0].stream.split("-", 1)[1]
    state = domain.fold(proposal_id, _decoded(envelopes)).to_dict()
    return {**state, "version": envelopes[-1].version}


def case_numbers_state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
    envelopes = list(envelopes)
    if not envelopes:
        return {}
    session = envelopes[0].stream.split("-", 1)[1]
    numbers = domain.fold_case_numbers(session, _decoded(envelopes))
    return {"session": session,
            "held": {numbers.numbers[seq]: pid for seq, pid in sorted(numbers.held.items())},
            "released": sorted(numbers.numbers[seq] for seq in numbers.released)}


def handling_rules_state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
    rules = domain.fold_rules(_decoded(list(envelopes)), official_calendar())
    return {"rules": rules.rules.to_dict(), "calendar": rules.calendar.to_dict()}


STATE_FOLDERS: dict[str, Callable[[Iterable[Envelope]], dict[str, Any]]] = {
    "proposal": proposal_state,
    "casenumbers": case_numbers_state,
    "handling": handling_rules_state,
}
