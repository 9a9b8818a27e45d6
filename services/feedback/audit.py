"""State folders for audits (see services/proposals/audit.py for the shape)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from xieshang.kernel.envelope import Envelope

from . import domain


def opinion_state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
    envelopes = list(envelopes)
    if not envelopes:
        return {}
    report_id = envelopes[0].stream.split("-", 1)[1]
    events = domain.registry.decode_all(envelopes)
    return {**domain.fold(report_id, events).to_dict(), "version": envelopes[-1].version}


STATE_FOLDERS: dict[str, Callable[[Iterable[Envelope]], dict[str, Any]]] = {
    "opinion": opinion_state,
}
