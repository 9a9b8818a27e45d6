"""State folders for audits: ``xieshang as-of`` folds a stream read up to a point in time.

STATE_FOLDERS maps a stream category (the part of the stream name before the first "-") to
a function from that stream's envelopes (oldest first, possibly cut short) to the state then,
as a JSON-ready dict.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from xieshang.kernel.envelope import Envelope

from . import domain


def _decoded(envelopes: list[Envelope]):
    return [domain.registry.decode(e) for e in envelopes if e.type in domain.registry]


def proposal_state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
    envelopes = list(envelopes)
    if not envelopes:
        return {}
    proposal_id = envelopes[0].stream.split("-", 1)[1]
    state = domain.fold(proposal_id, _decoded(envelopes)).to_dict()
    return {**state, "version": envelopes[-1].version}


def case_number_state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
    held = [e for e in _decoded(list(envelopes)) if isinstance(e, domain.CaseNumberReserved)]
    return {"case_number": held[0].case_number, "proposal_id": held[0].proposal_id} if held else {}


STATE_FOLDERS: dict[str, Callable[[Iterable[Envelope]], dict[str, Any]]] = {
    "proposal": proposal_state,
    "casenumber": case_number_state,
}
