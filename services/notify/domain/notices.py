"""Who is told what: the notices an upstream event calls for, each queued once.

A notification id is derived from the causing event and the recipient, so the same cause never
queues the same notice twice. Recipients are user ids (members) or organisation ids (handling
units): a unit's people read their unit's inbox. Texts are in Chinese (the default locale).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from xieshang.kernel.domain import DomainEvent

from .events import NotificationQueued
from .vocabulary import INBOX, PROPOSAL_ASSIGNED, PROPOSAL_FILED, PROPOSAL_REPLIED

_NAMESPACE = uuid.UUID("6f1d2a52-3c1b-4a4e-9a51-0d7c59b1e7a1")


@dataclass(frozen=True)
class NoticeLog:
    """Notifications already queued about one subject."""

    ids: frozenset[str] = frozenset()

    def has(self, notification_id: str) -> bool:
        return notification_id in self.ids


def fold(events: Iterable[DomainEvent]) -> NoticeLog:
    ids = {e.notification_id for e in events if isinstance(e, NotificationQueued)}
    return NoticeLog(frozenset(ids))


def notification_id(source_event_id: str, recipient: str, channel: str = INBOX) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{source_event_id}|{recipient}|{channel}"))


def notices_for(log: NoticeLog, *, event_type: str, data: Mapping[str, Any], subject: str,
                source_event_id: str) -> list[DomainEvent]:
    """The notifications an upstream event calls for, minus those already queued."""
    out: list[DomainEvent] = []
    for recipient, kind, title, body in _compose(event_type, data):
        nid = notification_id(source_event_id, recipient)
        if not log.has(nid):
            out.append(NotificationQueued(notification_id=nid, recipient=recipient, channel=INBOX,
                                          kind=kind, subject=subject, title=title, body=body,
                                          source_event_id=source_event_id))
    return out


def _compose(event_type: str, d: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    title, case = d.get("title", ""), d.get("case_number", "")
    if event_type == PROPOSAL_FILED:
        return [(d["proposer"], "proposal_filed", "提案已立案",
                 f"您的提案《{title}》已立案，案号 {case}。")]
    if event_type == PROPOSAL_ASSIGNED:
        deadline = d.get("deadline", "")
        out = [(d["lead_unit"], "proposal_assigned", "提案交办（主办）",
                f"提案《{title}》（案号 {case}）已交由贵单位主办，请于 {deadline} 前答复提案人。")]
        out += [(unit, "proposal_assigned", "提案交办（会办）",
                 f"提案《{title}》（案号 {case}）请贵单位会办，并于 {deadline} 前将意见送主办单位。")
                for unit in d.get("co_units") or ()]
        out.append((d["proposer"], "proposal_assigned", "提案已交办",
                    f"您的提案《{title}》（案号 {case}）已交 {d['lead_unit']} 主办，答复期限 {deadline}。"))
        return out
    if event_type == PROPOSAL_REPLIED:
        return [(d["proposer"], "proposal_replied", "提案已答复，请评价",
                 f"您的提案《{title}》（案号 {case}）已收到 {d['unit']} 的答复"
                 f"（{d['reply_class']} 类），请对办理情况作出评价。")]
    return []
