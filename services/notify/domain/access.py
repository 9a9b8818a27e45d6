"""Who reads which inbox, and who sees deliveries."""

from __future__ import annotations

from xieshang.kernel.domain import NotAllowed
from xieshang.kernel.envelope import Actor

# Roles that may read any inbox (to help a member who calls the office, or to audit).
READ_ANY_INBOX = ("staff", "auditor")
READ_DELIVERIES = ("staff", "auditor")


def may_read_inbox(actor: Actor, recipient: str) -> bool:
    """A member reads their own inbox, a unit's people their unit's; staff and auditors any."""
    return recipient in (actor.user_id, actor.organisation) or actor.role in READ_ANY_INBOX


def require_delivery_reader(actor: Actor) -> None:
    if actor.role not in READ_DELIVERIES:
        raise NotAllowed("read_deliveries", ("only staff and auditors see deliveries",
                                             "只有工作人员和审计人员可以查看投递情况"))


def require_staff(actor: Actor, command: str) -> None:
    if actor.role != "staff":
        raise NotAllowed(command, ("only staff may do this", "只有工作人员可以办理"))
