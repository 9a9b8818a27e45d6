"""The inbox's commands: marking notices read, following a published proposal, closing a digest."""

from __future__ import annotations

from typing import Iterable, Sequence

from xieshang.kernel.domain import DomainEvent, NotAllowed, WrongState
from xieshang.kernel.envelope import Actor

from .access import may_read_inbox, owns_inbox
from .events import DigestClosed, NoticesRead, ProposalFollowed, ProposalUnfollowed
from .notices import NoticeLog


def fold_reads(events: Iterable[DomainEvent]) -> frozenset[str]:
    return frozenset(n for e in events if isinstance(e, NoticesRead) for n in e.notification_ids)


def mark_read(actor: Actor, recipient: str, read: frozenset[str],
              notification_ids: Sequence[str], kind: str | None = None) -> list[DomainEvent]:
    """The notices (of ``recipient``'s inbox) not read before, read now by ``actor``: the
    recipient themselves or people of the organisation (staff and auditors only look)."""
    require_inbox_owner(actor, recipient, kind)
    new = [n for n in dict.fromkeys(notification_ids) if n not in read]
    return [NoticesRead(recipient=recipient, reader=actor.user_id, notification_ids=new)] if new else []


def require_inbox_owner(actor: Actor, recipient: str, kind: str | None = None) -> None:
    if not owns_inbox(actor, recipient, kind):
        raise NotAllowed("mark_read", (f"the inbox is {recipient!r}'s", f"这是 {recipient!r} 的收件箱"))


def require_inbox_reader(actor: Actor, recipient: str, kind: str | None = None) -> None:
    if not may_read_inbox(actor, recipient, kind):
        raise NotAllowed("read_inbox", (f"it belongs to {recipient!r}, not to {actor.user_id!r} of "
                                        f"{actor.organisation!r}",
                                        f"这是 {recipient!r} 的收件箱，不是 {actor.organisation!r} 的 "
                                        f"{actor.user_id!r} 的"))


def follow(actor: Actor, log: NoticeLog, proposal_id: str) -> list[DomainEvent]:
    """Anyone signed in may follow a published proposal 关注 (to be told of its reply)."""
    if not log.facts.get("published"):
        raise WrongState("follow_proposal", "unpublished", [],
                         ("only a published proposal can be followed", "只能关注已公开的提案"))
    if actor.user_id in log.followers:
        return []
    return [ProposalFollowed(proposal_id=proposal_id, follower=actor.user_id)]


def unfollow(actor: Actor, log: NoticeLog, proposal_id: str) -> list[DomainEvent]:
    if actor.user_id not in log.followers:
        return []
    return [ProposalUnfollowed(proposal_id=proposal_id, follower=actor.user_id)]


def fold_digest(events: Iterable[DomainEvent]) -> DigestClosed | None:
    return next((e for e in events if isinstance(e, DigestClosed)), None)


def close_digest(closed: DigestClosed | None, *, recipient: str, channel: str, period: str,
                 cadence: str, notification_ids: Sequence[str], quiet_hours: str | None = None) -> list[DomainEvent]:
    """Close the period's digest with exactly these notices, once."""
    if closed is not None or not notification_ids:
        return []
    return [DigestClosed(recipient=recipient, channel=channel, period=period, cadence=cadence,
                         notification_ids=list(dict.fromkeys(notification_ids)), quiet_hours=quiet_hours)]
