"""State folders for audits (see services/proposals/audit.py for the shape)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from xieshang.kernel.envelope import Envelope

from . import domain


def _split(envelopes: Iterable[Envelope]) -> tuple[str, list, list[Envelope]]:
    envelopes = list(envelopes)
    if not envelopes:
        return "", [], envelopes
    member_id = envelopes[0].stream.split("-", 1)[1]
    return member_id, [domain.registry.decode(e) for e in envelopes if e.type in domain.registry], envelopes


def member_state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
    member_id, events, envs = _split(envelopes)
    return {**domain.fold_member(member_id, events).to_dict(), "version": envs[-1].version} if envs else {}


def ledger_state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
    member_id, events, envs = _split(envelopes)
    return {**domain.fold_ledger(member_id, events).to_dict(), "version": envs[-1].version} if envs else {}


STATE_FOLDERS: dict[str, Callable[[Iterable[Envelope]], dict[str, Any]]] = {
    "member": member_state,
    "ledger": ledger_state,
}
