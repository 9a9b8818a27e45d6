"""Who reads which inbox."""

from __future__ import annotations

from xieshang.kernel.envelope import Actor

# Roles that may read any inbox (to help a member who calls the office, or to audit).
READ_ANY_INBOX = ("staff", "auditor")


def may_read_inbox(actor: Actor, recipient: str) -> bool:
    """A member reads their own inbox, a unit's people their unit's; staff and auditors any."""
    return recipient in (actor.user_id, actor.organisation) or actor.role in READ_ANY_INBOX
