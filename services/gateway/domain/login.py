"""Logging in: the lockout policy and what an attempt records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from xieshang.kernel.domain import DomainError, DomainEvent, NotFound

from .accounts import Account
from .checks import beijing, iso
from .events import AccountLocked, LoginFailed, LoginSucceeded
from .vocabulary import DISABLED, LOCKED, NO_PASSWORD, REMEMBERED_FAILURES, WRONG_PASSWORD

@dataclass(frozen=True)
class LockoutPolicy:
    """``max_failures`` failed logins within ``window_minutes`` lock the account for ``lock_minutes``."""

    max_failures: int = 5
    window_minutes: float = 15
    lock_minutes: float = 15

    def __post_init__(self) -> None:
        if not (isinstance(self.max_failures, int) and 1 <= self.max_failures <= REMEMBERED_FAILURES):
            raise ValueError(f"max_failures must be an integer from 1 to {REMEMBERED_FAILURES}, "
                             f"not {self.max_failures!r}")
        if not (self.window_minutes > 0 and self.lock_minutes > 0):
            raise ValueError("window_minutes and lock_minutes must be positive")

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    @property
    def lock(self) -> timedelta:
        return timedelta(minutes=self.lock_minutes)


class LoginRefused(DomainError):
    """A login was refused: ``reason`` is bad_credentials, locked (``until``: ISO time) or disabled."""

    BAD_CREDENTIALS = "bad_credentials"

    def __init__(self, reason: str, until: str | None = None, failures: int | None = None):
        self.reason, self.until, self.failures = reason, until, failures
        self.code = {LOCKED: "account_locked", DISABLED: "account_disabled"}.get(reason, "bad_credentials")
        if reason == LOCKED:
            after = f"after {failures} failed logins " if failures else ""
            self.message = (f"the account is locked {after}until {beijing(until)} Beijing time "
                            f"({until}); try again then, or ask an administrator to unlock it")
        elif reason == DISABLED:
            self.message = "the account is disabled; ask an administrator"
        else:
            self.message = "wrong user id or password"
        super().__init__(reason, until, failures)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if self.until:
            d["until"] = self.until
        return d


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt records (``events``) and, unless it succeeded, why it is refused."""

    events: list[DomainEvent]
    refused: LoginRefused | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None


def record_login(state: Account, ok: bool, now: datetime, policy: LockoutPolicy = LockoutPolicy()
                 ) -> LoginOutcome:
    """A login attempt at ``now`` whose password was right (``ok``) or not.

    While the account is locked the attempt is refused whatever the password, so that guessing
    goes on learning nothing. A disabled account tells so only to whoever knows its password;
    wrong passwords count towards a lockout on disabled accounts as on any other.
    """
    if not state.exists:
        raise NotFound(f"there is no account {state.user_id!r}")
    at = iso(now)
    if state.is_locked(now):
        return LoginOutcome([LoginFailed(state.user_id, LOCKED, at)],
                            LoginRefused(LOCKED, iso(state.locked_until)))
    ok = ok and state.has_password
    if ok and state.disabled:
        return LoginOutcome([LoginFailed(state.user_id, DISABLED, at)], LoginRefused(DISABLED))
    if ok:
        return LoginOutcome([LoginSucceeded(state.user_id, at)])
    events: list[DomainEvent] = [
        LoginFailed(state.user_id, WRONG_PASSWORD if state.has_password else NO_PASSWORD, at)]
    recent = [t for t in state.failures if t > now - policy.window] + [now]
    if len(recent) >= policy.max_failures:
        until = iso(now + policy.lock)
        events.append(AccountLocked(state.user_id, until, len(recent)))
        return LoginOutcome(events, LoginRefused(LOCKED, until, len(recent)))
    return LoginOutcome(events, LoginRefused(LoginRefused.BAD_CREDENTIALS))
