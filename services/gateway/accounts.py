"""Accounts 账户 and API keys of the gateway: their events and decisions.

Pure, like every domain module: no I/O, no hashing, no tokens (those are auth.py's). State is
folded from events; every decision returns new events or raises a DomainError.

Streams:

* ``account-<user_id>``: one person's account: registration, role, password changes (the fact,
  never the hash), logins, lockouts, disabling.
* ``apikey-<key_id>``: one API key of a subscriber system: issued, revoked.

No event carries a secret. Events are kept forever and replayed; password hashes and API key
digests live in the gateway's credentials table (auth.Credentials), which can be wiped and
re-keyed without rewriting history.

Lockout: ``LockoutPolicy.max_failures`` failed logins within ``window_minutes`` lock the
account for ``lock_minutes`` (``AccountLocked``); it unlocks by itself when that time has
passed, or earlier by an admin (``AccountUnlocked``). Being events, a lockout holds on every
gateway instance.

Sessions: ``Account.sessions`` counts the events that end every session of the account
(``PasswordSet``, ``AccountRoleChanged``, ``AccountDisabled``); a token carries the count it
was issued at and is refused once the count has moved on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from xieshang.kernel.domain import (DomainError, DomainEvent, EventRegistry, InvalidCommand,
                                    NotAllowed, NotFound, WrongState)
from xieshang.kernel.envelope import Actor
from xieshang.kernel.ids import is_id

registry = EventRegistry()

# Roles (Actor.role). An admin administers accounts and API keys and nothing else: the other
# services know no "admin" role, so an admin's token grants no casework rights.
STAFF, MEMBER, UNIT, LEADER, AUDITOR, ADMIN, SUBSCRIBER, SYSTEM = (
    "staff", "member", "unit", "leader", "auditor", "admin", "subscriber", "system")
# informant: a registered opinion informant 信息员; public: a resident who comments on published
# proposals (read-only otherwise: the public pages need no account at all).
INFORMANT, PUBLIC = "informant", "public"
ACCOUNT_ROLES = (STAFF, MEMBER, UNIT, LEADER, AUDITOR, ADMIN, INFORMANT, PUBLIC)
# Who registers which accounts: staff enrol the members, units and leaders they work with;
# staff, auditor (who audit staff) and admin accounts need an admin. "system" is the
# gateway's own bootstrap (auth.Authenticator.ensure_admin).
REGISTRARS: dict[str, tuple[str, ...]] = {
    ADMIN: ACCOUNT_ROLES,
    SYSTEM: ACCOUNT_ROLES,
    STAFF: (MEMBER, UNIT, LEADER, INFORMANT, PUBLIC),
}
# Ids that name the system itself in events and context data: no person may take them.
RESERVED_IDS = frozenset({"system", "public", "anonymous", "gateway"})

# LoginFailed.reason; the first two count towards a lockout.
WRONG_PASSWORD, NO_PASSWORD, LOCKED, DISABLED = "wrong_password", "no_password", "locked", "disabled"
COUNTED_FAILURES = (WRONG_PASSWORD, NO_PASSWORD)
REMEMBERED_FAILURES = 100  # bounds the state of an account that fails for years without a success

DISPLAY_NAME_MAX = 50
REASON_MAX = 500
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # China keeps UTC+08:00 all year

# Organisations are ids ("proposal-committee", "mzj") or, for members, their sector's name as the
# members service records it ("经济界"): letters of any script, digits, _ . : -.
_ORGANISATION = re.compile(r"^[^\W_][\w.:-]{0,63}$")
ORGANISATION_RULE = ("the organisation: 1 to 64 letters (any script), digits or _ . : - , starting "
                     "with a letter or digit")


def account_stream(user_id: str) -> str:
    return f"account-{user_id}"


def api_key_stream(key_id: str) -> str:
    return f"apikey-{key_id}"


def valid_id(value: Any) -> bool:
    return is_id(value)


def valid_organisation(value: Any) -> bool:
    return isinstance(value, str) and bool(_ORGANISATION.fullmatch(value))


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


# -- events (the gateway's contract: recorded in its private log, never published) ---------

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


# -- state --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    user_id: str
    registered: bool = False
    role: str = ""
    organisation: str = ""
    display_name: str = ""
    has_password: bool = False
    disabled: bool = False
    disabled_reason: str = ""
    locked_until: datetime | None = None
    failures: tuple[datetime, ...] = ()  # counted failures since the last success, lock or unlock
    last_login: datetime | None = None
    sessions: int = 0

    @property
    def exists(self) -> bool:
        return self.registered

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.role, self.organisation)

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until

    def status(self, now: datetime) -> str:
        if not self.registered:
            return "unknown"
        if self.disabled:
            return "disabled"
        if self.is_locked(now):
            return "locked"
        return "active" if self.has_password else "no_password"

    def to_dict(self, now: datetime) -> dict[str, Any]:
        """What an admin may see of the account (nothing secret is in the state anyway)."""
        return {
            "user_id": self.user_id, "role": self.role, "organisation": self.organisation,
            "display_name": self.display_name, "status": self.status(now),
            "has_password": self.has_password, "disabled_reason": self.disabled_reason or None,
            "locked_until": iso(self.locked_until) if self.is_locked(now) else None,
            "recent_failures": len(self.failures),
            "last_login": iso(self.last_login) if self.last_login else None,
        }


def apply(state: Account, event: DomainEvent) -> Account:
    if isinstance(event, AccountRegistered):
        return replace(state, registered=True, role=event.role, organisation=event.organisation,
                       display_name=event.display_name)
    if isinstance(event, AccountRoleChanged):
        return replace(state, role=event.role, organisation=event.organisation,
                       sessions=state.sessions + 1)
    if isinstance(event, PasswordSet):
        return replace(state, has_password=True, sessions=state.sessions + 1)
    if isinstance(event, LoginFailed):
        if event.reason not in COUNTED_FAILURES:
            return state
        return replace(state, failures=(state.failures + (parse_time(event.at),))[-REMEMBERED_FAILURES:])
    if isinstance(event, LoginSucceeded):
        return replace(state, failures=(), last_login=parse_time(event.at))
    if isinstance(event, AccountLocked):
        return replace(state, locked_until=parse_time(event.until), failures=())
    if isinstance(event, AccountUnlocked):
        return replace(state, locked_until=None, failures=())
    if isinstance(event, AccountDisabled):
        return replace(state, disabled=True, disabled_reason=event.reason, sessions=state.sessions + 1)
    if isinstance(event, AccountEnabled):
        return replace(state, disabled=False, disabled_reason="")
    return state


def fold_account(user_id: str, events: Iterable[DomainEvent], state: Account | None = None) -> Account:
    """The account after ``events``; from ``state`` (an earlier fold) when given."""
    state = state or Account(user_id)
    for event in events:
        state = apply(state, event)
    return state


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    issued: bool = False
    system: str = ""
    organisation: str = ""
    role: str = SUBSCRIBER
    revoked: bool = False
    revoked_reason: str = ""

    @property
    def exists(self) -> bool:
        return self.issued

    @property
    def actor(self) -> Actor:
        """Who a request made with this key acts as: the subscriber system, by name."""
        return Actor(self.system, self.role, self.organisation)


def apply_api_key(state: ApiKey, event: DomainEvent) -> ApiKey:
    if isinstance(event, ApiKeyIssued):
        return replace(state, issued=True, system=event.system, organisation=event.organisation,
                       role=event.role)
    if isinstance(event, ApiKeyRevoked):
        return replace(state, revoked=True, revoked_reason=event.reason)
    return state


def fold_api_key(key_id: str, events: Iterable[DomainEvent]) -> ApiKey:
    state = ApiKey(key_id)
    for event in events:
        state = apply_api_key(state, event)
    return state


# -- login ------------------------------------------------------------------------------------

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


# -- account administration -----------------------------------------------------------------

def register_account(actor: Actor, state: Account, user_id: str, role: str, organisation: str,
                     display_name: str) -> list[DomainEvent]:
    """Open an account. Admins open any; staff open member, unit and leader accounts."""
    allowed = REGISTRARS.get(actor.role)
    if allowed is None:
        raise NotAllowed("register_account", "only an admin, or staff for member, unit and leader "
                                             f"accounts, registers accounts; the actor is a {actor.role}")
    problems: dict[str, str] = {}
    if not valid_id(user_id):
        problems["user_id"] = ("1 to 64 letters, digits or _ . : - , starting with a letter or "
                               "digit")
    elif user_id.lower() in RESERVED_IDS:
        problems["user_id"] = f"{user_id!r} is reserved for the system"
    if role not in ACCOUNT_ROLES:
        problems["role"] = f"one of {', '.join(ACCOUNT_ROLES)}"
    if not valid_organisation(organisation):
        problems["organisation"] = ORGANISATION_RULE
    name_problem = _text_problem(display_name, DISPLAY_NAME_MAX)
    if name_problem:
        problems["display_name"] = name_problem
    if problems:
        raise InvalidCommand("the account is incomplete or malformed", problems)
    if role not in allowed:
        raise NotAllowed("register_account", f"a {actor.role} registers {', '.join(allowed)} accounts "
                                             f"only; a {role} account needs an admin")
    if state.exists:
        raise WrongState("register_account", "registered",
                         ("change_role", "set_password", "disable_account"))
    return [AccountRegistered(user_id, role, organisation, display_name.strip())]


def change_role(actor: Actor, state: Account, role: str, organisation: str) -> list[DomainEvent]:
    _require_admin("change_role", actor)
    _require_account("change_role", state)
    if actor.user_id == state.user_id:
        raise NotAllowed("change_role", "an admin does not change their own role: ask another admin")
    problems: dict[str, str] = {}
    if role not in ACCOUNT_ROLES:
        problems["role"] = f"one of {', '.join(ACCOUNT_ROLES)}"
    if not valid_organisation(organisation):
        problems["organisation"] = ORGANISATION_RULE
    if problems:
        raise InvalidCommand("the new role is malformed", problems)
    if (role, organisation) == (state.role, state.organisation):
        return []
    return [AccountRoleChanged(state.user_id, role, organisation, state.role, state.organisation)]


def change_password(actor: Actor, state: Account) -> list[DomainEvent]:
    """Record that a new password was set: by the account's owner or an admin; the first
    password also by whoever may register such an account (staff enrolling a member)."""
    owner_or_admin = actor.user_id == state.user_id or actor.role in (ADMIN, SYSTEM)
    registrar = state.exists and not state.has_password and state.role in REGISTRARS.get(actor.role, ())
    if not (owner_or_admin or registrar):
        raise NotAllowed("set_password", "only the account's owner or an admin sets its password")
    _require_account("set_password", state)
    return [PasswordSet(state.user_id)]


def unlock_account(actor: Actor, state: Account, now: datetime) -> list[DomainEvent]:
    """Lift a lockout (and forget failed logins counted towards one); nothing if there is none."""
    _require_admin("unlock_account", actor)
    _require_account("unlock_account", state)
    if not state.is_locked(now) and not state.failures:
        return []
    return [AccountUnlocked(state.user_id, actor.user_id)]


def disable_account(actor: Actor, state: Account, reason: str) -> list[DomainEvent]:
    _require_admin("disable_account", actor)
    _require_account("disable_account", state)
    if actor.user_id == state.user_id:
        raise NotAllowed("disable_account", "an admin does not disable their own account")
    problem = _text_problem(reason, REASON_MAX)
    if problem:
        raise InvalidCommand("say why the account is disabled", {"reason": problem})
    if state.disabled:
        return []
    return [AccountDisabled(state.user_id, reason.strip())]


def enable_account(actor: Actor, state: Account) -> list[DomainEvent]:
    _require_admin("enable_account", actor)
    _require_account("enable_account", state)
    return [AccountEnabled(state.user_id)] if state.disabled else []


# -- API keys ---------------------------------------------------------------------------------

def issue_api_key(actor: Actor, state: ApiKey, key_id: str, system: str, organisation: str
                  ) -> list[DomainEvent]:
    _require_admin("issue_api_key", actor)
    problems: dict[str, str] = {}
    if not valid_id(key_id):
        problems["key_id"] = "1 to 64 letters, digits or _ . : -"
    if not valid_id(system):
        problems["system"] = ("the subscriber system's name: 1 to 64 letters, digits or _ . : - , "
                              "starting with a letter or digit")
    elif system.lower() in RESERVED_IDS:
        problems["system"] = f"{system!r} is reserved"
    if not valid_organisation(organisation):
        problems["organisation"] = ORGANISATION_RULE
    if problems:
        raise InvalidCommand("the API key request is malformed", problems)
    if state.exists:
        raise WrongState("issue_api_key", "issued", ("revoke_api_key",))
    return [ApiKeyIssued(key_id, system, organisation)]


def revoke_api_key(actor: Actor, state: ApiKey, reason: str) -> list[DomainEvent]:
    _require_admin("revoke_api_key", actor)
    if not state.exists:
        raise NotFound(f"there is no API key {state.key_id!r}")
    problem = _text_problem(reason, REASON_MAX)
    if problem:
        raise InvalidCommand("say why the key is revoked", {"reason": problem})
    return [] if state.revoked else [ApiKeyRevoked(state.key_id, reason.strip())]


# -- helpers ----------------------------------------------------------------------------------

def _require_admin(command: str, actor: Actor) -> None:
    if actor.role not in (ADMIN, SYSTEM):
        raise NotAllowed(command, f"only an admin may; the actor is a {actor.role}")


def _require_account(command: str, state: Account) -> None:
    if not state.exists:
        raise NotFound(f"there is no account {state.user_id!r}")


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

