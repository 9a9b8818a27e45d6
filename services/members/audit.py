"""State folders for audits: ``xieshang as-of`` folds a stream read up to a point in time
(see services/proposals/audit.py for the shape). No state here holds contact details."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from xieshang.kernel.envelope import Envelope

from . import domain


def _split(envelopes: Iterable[Envelope]) -> tuple[str, list, list[Envelope]]:
    envelopes = list(envelopes)
    if not envelopes:
        return "", [], envelopes
    key = envelopes[0].stream.split("-", 1)[1]
    return key, domain.registry.decode_all(envelopes), envelopes


def _folder(fold: Callable[[str, list], Any]) -> Callable[[Iterable[Envelope]], dict[str, Any]]:
    def state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
        key, events, envs = _split(envelopes)
        if not envs:
            return {}
        folded = fold(key, events)
        as_dict = folded.to_dict() if hasattr(folded, "to_dict") else _plain(folded)
        return {**as_dict, "version": envs[-1].version}
    return state


def _plain(value: Any) -> Any:
    if hasattr(value, "to_data"):
        return value.to_data()
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _rules(key: str, events: list) -> domain.PointRules:
    committee, _, year = key.rpartition("-")
    return domain.fold_point_rules(committee, int(year), events)


STATE_FOLDERS: dict[str, Callable[[Iterable[Envelope]], dict[str, Any]]] = {
    "member": _folder(domain.fold_member),
    "ledger": _folder(domain.fold_ledger),
    "org": _folder(domain.fold_organisation),
    "pointrules": _folder(_rules),
    "activity": _folder(domain.fold_activity),
    "menu": _folder(domain.fold_menu),
    "case": _folder(domain.fold_case),
}

# Kept for callers of the first version.
member_state = STATE_FOLDERS["member"]
ledger_state = STATE_FOLDERS["ledger"]
