"""The gateway's events: recorded in its private log (``publish_events = False``), never
published. No event carries a secret."""

from __future__ import annotations

from dataclasses import dataclass

from xieshang.kernel.domain import DomainEvent, EventRegistry
from xieshang.kernel.anchoring import register_checkpoint_events
from xieshang.kernel.integration import NOTHING_WITHHELD, Publication

from .vocabulary import SUBSCRIBER

registry = EventRegistry()

@registry.register
@dataclass(frozen=True)
class AccountRegistered(DomainEvent):
    """An account was opened for ``user_id`` in ``role`` at ``organisation`` (a committee
    office, a sector 界别 for members, a unit's code for units)."""

    user_id: str
    role: str
    organisation: str
    display_name: str


@registry.register
@dataclass(frozen=True)
class AccountRoleChanged(DomainEvent):
    """An admin changed the account's role or organisation; its sessions end."""

    user_id: str
    role: str
    organisation: str
    previous_role: str
    previous_organisation: str


@registry.register
@dataclass(frozen=True)
class PasswordSet(DomainEvent):
    """A new password was set (by its owner or an admin: see the envelope's actor); the
    sessions of the account end. The hash is never in an event."""

    user_id: str


@registry.register
@dataclass(frozen=True)
class LoginFailed(DomainEvent):
    """A login was refused at ``at`` (ISO time): ``reason`` is wrong_password, no_password
    (none set yet), locked (refused without looking at the password) or disabled (right
    password, disabled account)."""

    user_id: str
    reason: str
    at: str


@registry.register
@dataclass(frozen=True)
class LoginSucceeded(DomainEvent):
    user_id: str
    at: str


@registry.register
@dataclass(frozen=True)
class TokenRevoked(DomainEvent):
    """The account's owner logged out: the token ``token_id`` (its ``jti``) is refused from now
    on, on every gateway instance; ``expires_at`` (ISO time) is when it would have expired
    anyway (after which it need not be remembered); ``at``: when (ISO time)."""

    user_id: str
    token_id: str
    expires_at: str
    at: str


@registry.register
@dataclass(frozen=True)
class AccountLocked(DomainEvent):
    """``failures`` failed logins in a row locked the account until ``until`` (ISO time)."""

    user_id: str
    until: str
    failures: int


@registry.register
@dataclass(frozen=True)
class AccountUnlocked(DomainEvent):
    """Admin ``by`` lifted a lockout (and forgot the failed logins counted towards one)."""

    user_id: str
    by: str


@registry.register
@dataclass(frozen=True)
class AccountDisabled(DomainEvent):
    """No more logins; the account's sessions end."""

    user_id: str
    reason: str


@registry.register
@dataclass(frozen=True)
class AccountEnabled(DomainEvent):
    """A disabled account may log in again."""

    user_id: str


@registry.register
@dataclass(frozen=True)
class ApiKeyIssued(DomainEvent):
    """An API key for ``system`` (a subscriber system) acting for ``organisation``. The secret
    part of the key is shown once, to the admin, and stored only as a digest."""

    key_id: str
    system: str
    organisation: str
    role: str = SUBSCRIBER


@registry.register
@dataclass(frozen=True)
class ApiKeyRevoked(DomainEvent):
    key_id: str
    reason: str


# Signed checkpoints of this log's head (xieshang.kernel.anchoring): public, hashes only.
register_checkpoint_events(registry)

# -- what leaves the service (the integration contract, ADR 0012) --------------------------------
# The gateway's log is private through and through: accounts, logins and keys.
PUBLICATION = Publication("gateway", registry, public={"LogCheckpointed": NOTHING_WITHHELD}, private={
    name: "accounts, logins and keys of people and systems" for name in registry.names()
    if name != "LogCheckpointed"})
