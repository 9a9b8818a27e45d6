"""Shared refusals, text checks and time formats of the accounts domain."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from xieshang.kernel.domain import NotAllowed, NotFound
from xieshang.kernel.envelope import Actor
from xieshang.kernel.messages import command_label, role_label

from .vocabulary import ADMIN, BEIJING, SYSTEM

if TYPE_CHECKING:
    from .accounts import Account

def _require_admin(command: str, actor: Actor) -> None:
    if actor.role not in (ADMIN, SYSTEM):
        raise NotAllowed(command, (f"only an admin may; the actor is a {actor.role}",
                                   f"只有管理员可以{command_label(command)[1]}；当前用户的身份是{role_label(actor.role)[1]}"))


def _require_account(command: str, state: Account) -> None:
    if not state.exists:
        raise NotFound((f"there is no account {state.user_id!r}", f"没有账户 {state.user_id!r}"))


def _text_problem(value: Any, max_length: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"1 to {max_length} characters"
    if len(value.strip()) > max_length:
        return f"at most {max_length} characters (this has {len(value.strip())})"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "no control characters (line breaks, tabs)"
    return None


def iso(at: datetime) -> str:
    """UTC, to the second: ``2024-09-27T01:15:00Z``."""
    return at.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def beijing(value: str | datetime | None) -> str:
    """``2024-09-27 09:15`` in Beijing time, for messages to people."""
    if value is None:
        return "?"
    at = parse_time(value) if isinstance(value, str) else value
    return at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
