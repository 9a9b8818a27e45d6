"""Who reads which inbox, and who sees deliveries.

An inbox belongs to a recipient id: a member's (or a leader's, or a public account's) user id, or
an organisation's id (a unit, the committee office), whose people read it together. User ids and
organisation ids share one namespace and anyone may sign up, so the directory says which an id
is (``kind``: ``member``, an organisation's kind, or None for an id it does not know, e.g. a
public account): an organisation's inbox is read by the people *of* it, a member's only by that
member signed in as a member or leader, never by an account that merely took the same name.
"""

from __future__ import annotations

from xieshang.kernel.domain import NotAllowed
from xieshang.kernel.envelope import Actor

# Roles that may read any inbox (to help a member who calls the office, or to audit).
READ_ANY_INBOX = ("staff", "auditor")
READ_DELIVERIES = ("staff", "auditor")
MEMBER_ROLES = ("member", "leader")
MEMBER_KIND = "member"


def owns_inbox(actor: Actor, recipient: str, kind: str | None = None) -> bool:
    """The recipient themselves, or one of the organisation's people."""
    if kind is None:                  # not in the directory: an account's own, or its organisation's
        return recipient in (actor.user_id, actor.organisation) and actor.role != "public" \
            or actor.user_id == recipient
    if kind == MEMBER_KIND:
        return actor.user_id == recipient and actor.role in MEMBER_ROLES
    return actor.organisation == recipient and actor.role != "public"


def may_read_inbox(actor: Actor, recipient: str, kind: str | None = None) -> bool:
    """The owner (``owns_inbox``); staff and auditors any."""
    return owns_inbox(actor, recipient, kind) or actor.role in READ_ANY_INBOX


def require_delivery_reader(actor: Actor) -> None:
    if actor.role not in READ_DELIVERIES:
        raise NotAllowed("read_deliveries", ("only staff and auditors see deliveries",
                                             "只有工作人员和审计人员可以查看投递情况"))


def require_staff(actor: Actor, command: str) -> None:
    if actor.role != "staff":
        raise NotAllowed(command, ("only staff may do this", "只有工作人员可以办理"))
