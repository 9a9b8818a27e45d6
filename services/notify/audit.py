"""State folders for audits (see services/proposals/audit.py for the shape)."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from xieshang.kernel.envelope import Envelope

from . import domain


def notices_state(envelopes: Iterable[Envelope]) -> dict[str, Any]:
    envelopes = list(envelopes)
    if not envelopes:
        return {}
    queued = domain.registry.decode_all(envelopes)
    return {"subject": envelopes[0].stream.split("-", 1)[1], "version": envelopes[-1].version,
            "notifications": [{"recipient": n.recipient, "kind": n.kind, "title": n.title}
                              for n in queued if isinstance(n, domain.NotificationQueued)]}


STATE_FOLDERS: dict[str, Callable[[Iterable[Envelope]], dict[str, Any]]] = {
    "notices": notices_state,
}
