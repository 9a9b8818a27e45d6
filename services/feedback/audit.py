"""State folders for audits (see services/proposals/audit.py for the shape): an opinion report,
a consultation, a supervision group, each folded from its stream ``<kind>-<id>``."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from xieshang.kernel.envelope import Envelope

from . import domain
from .domain import consultations as consultation_domain
from .domain import supervision as supervision_domain
from .domain.vocabulary import TOPIC_LISTS_STREAM

Folder = Callable[[Iterable[Envelope]], dict[str, Any]]


def _folder(fold: Callable[[str, Iterable[Any]], Any]) -> Folder:
    def state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
        envelopes = list(envelopes)
        if not envelopes:
            return {}
        case_id = envelopes[0].stream.split("-", 1)[1]
        events = domain.registry.decode_all(envelopes)
        return {**fold(case_id, events).to_dict(), "version": envelopes[-1].version}
    return state


opinion_state = _folder(domain.fold)
supervision_state = _folder(supervision_domain.fold)


_one_consultation = _folder(consultation_domain.fold)


def consultation_state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
    """A consultation, or the committee's topic lists (their stream is ``consultation-topic-lists``)."""
    envelopes = list(envelopes)
    if envelopes and envelopes[0].stream == TOPIC_LISTS_STREAM:
        lists = consultation_domain.fold_topic_lists(domain.registry.decode_all(envelopes))
        return {**lists.to_dict(), "version": envelopes[-1].version}
    return _one_consultation(envelopes)


STATE_FOLDERS: dict[str, Folder] = {
    "opinion": opinion_state,
    "consultation": consultation_state,
    "supervision": supervision_state,
}
