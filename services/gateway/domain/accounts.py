"""A person's account (stream ``account-<user_id>``): its state and its administration."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterable

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotAllowed, WrongState
from xieshang.kernel.envelope import Actor
from xieshang.kernel.messages import role_label

from .checks import _require_account, _require_admin, _text_problem, iso, parse_time
from .events import (AccountDisabled, AccountEnabled, AccountLocked, AccountRegistered,
                     AccountRoleChanged, AccountUnlocked, LoginFailed, LoginSucceeded, PasswordSet,
                     TokenRevoked)
from .vocabulary import (ACCOUNT_ROLES, ADMIN, COUNTED_FAILURES, DISPLAY_NAME_MAX, ORGANISATION_RULE,
                         PUBLIC, PUBLIC_ORGANISATION, REASON_MAX, REGISTRARS, REMEMBERED_FAILURES,
                         RESERVED_IDS, SYSTEM, valid_id, valid_organisation)

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
    # tokens revoked at logout, (token id, when it expires), until they expire
    revoked_tokens: tuple[tuple[str, datetime], ...] = ()

    @property
    def exists(self) -> bool:
        return self.registered

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.role, self.organisation)

    def is_revoked(self, token_id: str) -> bool:
        return any(revoked == token_id for revoked, _ in self.revoked_tokens)

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
    # An event that ends every session forgets the revoked tokens: none of them holds any more.
    if isinstance(event, AccountRoleChanged):
        return replace(state, role=event.role, organisation=event.organisation,
                       sessions=state.sessions + 1, revoked_tokens=())
    if isinstance(event, PasswordSet):
        return replace(state, has_password=True, sessions=state.sessions + 1, revoked_tokens=())
    if isinstance(event, TokenRevoked):
        at = parse_time(event.at)
        alive = tuple((t, until) for t, until in state.revoked_tokens if until > at)
        return replace(state, revoked_tokens=alive + ((event.token_id, parse_time(event.expires_at)),))
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
        return replace(state, disabled=True, disabled_reason=event.reason, sessions=state.sessions + 1,
                       revoked_tokens=())
    if isinstance(event, AccountEnabled):
        return replace(state, disabled=False, disabled_reason="")
    return state


def fold_account(user_id: str, events: Iterable[DomainEvent], state: Account | None = None) -> Account:
    """The account after ``events``; from ``state`` (an earlier fold) when given."""
    state = state or Account(user_id)
    for event in events:
        state = apply(state, event)
    return state


def register_account(actor: Actor, state: Account, user_id: str, role: str, organisation: str,
                     display_name: str) -> list[DomainEvent]:
    """Open an account. Admins open any; staff open member, unit and leader accounts."""
    allowed = REGISTRARS.get(actor.role)
    if allowed is None:
        raise NotAllowed("register_account", ("only an admin, or staff for member, unit and leader "
                                              f"accounts, registers accounts; the actor is a {actor.role}",
                                              "只有管理员可以开通账户（工作人员可开通委员、承办单位和领导的账户）；"
                                              f"当前用户的身份是{role_label(actor.role)[1]}"))
    problems = _identity_problems(user_id, display_name)
    if role not in ACCOUNT_ROLES:
        problems["role"] = f"one of {', '.join(ACCOUNT_ROLES)}"
    if not valid_organisation(organisation):
        problems["organisation"] = ORGANISATION_RULE
    if problems:
        raise InvalidCommand(("the account is incomplete or malformed", "账户信息不完整或格式有误"), problems)
    if role not in allowed:
        raise NotAllowed("register_account", (f"a {actor.role} registers {', '.join(allowed)} accounts "
                                              f"only; a {role} account needs an admin",
                                              f"{role_label(actor.role)[1]}只能开通"
                                              f"{'、'.join(role_label(r)[1] for r in allowed)}的账户；"
                                              f"{role_label(role)[1]}的账户须由管理员开通"))
    if state.exists:
        raise WrongState("register_account", "registered",
                         ("change_role", "set_password", "disable_account"),
                         (f"the account {user_id!r} exists already", f"账户 {user_id!r} 已存在"))
    return [AccountRegistered(user_id, role, organisation, display_name.strip())]


def sign_up(state: Account, user_id: str, display_name: str) -> list[DomainEvent]:
    """A resident opens their own ``public`` account (no one signed in: the account acts for
    itself). Says no more about an existing id than that it is taken."""
    problems = _identity_problems(user_id, display_name)
    if problems:
        raise InvalidCommand(("the account is incomplete or malformed", "账户信息不完整或格式有误"),
                             problems)
    if state.exists:
        raise InvalidCommand(("this user id is taken: choose another", "此用户名已被使用，请换一个"),
                             {"user_id": "此用户名已被使用，请换一个 (this user id is taken: choose another)"})
    return [AccountRegistered(user_id, PUBLIC, PUBLIC_ORGANISATION, display_name.strip())]


def end_session(actor: Actor, state: Account, token_id: str, expires_at: datetime, now: datetime
                ) -> list[DomainEvent]:
    """Log out: the token ``token_id`` (valid until ``expires_at``) is refused from ``now`` on.
    Only the account's owner ends their own session; nothing if it has ended already."""
    if actor.user_id != state.user_id:
        raise NotAllowed("end_session", "only the account's owner logs out of its session")
    _require_account("end_session", state)
    if state.is_revoked(token_id):
        return []
    return [TokenRevoked(state.user_id, token_id, iso(expires_at), iso(now))]


def _identity_problems(user_id: Any, display_name: Any) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not valid_id(user_id):
        problems["user_id"] = ("1 to 64 letters, digits or _ . : - , starting with a letter or "
                               "digit")
    elif user_id.lower() in RESERVED_IDS:
        problems["user_id"] = f"{user_id!r} is reserved for the system"
    name_problem = _text_problem(display_name, DISPLAY_NAME_MAX)
    if name_problem:
        problems["display_name"] = name_problem
    return problems


def change_role(actor: Actor, state: Account, role: str, organisation: str) -> list[DomainEvent]:
    _require_admin("change_role", actor)
    _require_account("change_role", state)
    if actor.user_id == state.user_id:
        raise NotAllowed("change_role", ("an admin does not change their own role: ask another admin",
                                         "管理员不能更改自己的角色，请另一位管理员办理"))
    problems: dict[str, str] = {}
    if role not in ACCOUNT_ROLES:
        problems["role"] = f"one of {', '.join(ACCOUNT_ROLES)}"
    if not valid_organisation(organisation):
        problems["organisation"] = ORGANISATION_RULE
    if problems:
        raise InvalidCommand(("the new role is malformed", "新角色格式有误"), problems)
    if (role, organisation) == (state.role, state.organisation):
        return []
    return [AccountRoleChanged(state.user_id, role, organisation, state.role, state.organisation)]


def change_password(actor: Actor, state: Account) -> list[DomainEvent]:
    """Record that a new password was set: by the account's owner or an admin; the first
    password also by whoever may register such an account (staff enrolling a member)."""
    owner_or_admin = actor.user_id == state.user_id or actor.role in (ADMIN, SYSTEM)
    registrar = state.exists and not state.has_password and state.role in REGISTRARS.get(actor.role, ())
    if not (owner_or_admin or registrar):
        raise NotAllowed("set_password", ("only the account's owner or an admin sets its password",
                                          "只有账户本人或管理员可以设置密码"))
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
        raise NotAllowed("disable_account", ("an admin does not disable their own account",
                                             "管理员不能停用自己的账户"))
    problem = _text_problem(reason, REASON_MAX)
    if problem:
        raise InvalidCommand(("say why the account is disabled", "请说明停用账户的理由"), {"reason": problem})
    if state.disabled:
        return []
    return [AccountDisabled(state.user_id, reason.strip())]


def enable_account(actor: Actor, state: Account) -> list[DomainEvent]:
    _require_admin("enable_account", actor)
    _require_account("enable_account", state)
    return [AccountEnabled(state.user_id)] if state.disabled else []
