"""An API key of a subscriber system (stream ``apikey-<key_id>``): issued, revoked."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotFound, WrongState
from xieshang.kernel.envelope import Actor

from .checks import _require_admin, _text_problem
from .events import ApiKeyIssued, ApiKeyRevoked
from .vocabulary import (ORGANISATION_RULE, REASON_MAX, RESERVED_IDS, SUBSCRIBER, SYSTEM_NAME_RULE,
                         valid_id, valid_organisation, valid_system_name)

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


def issue_api_key(actor: Actor, state: ApiKey, key_id: str, system: str, organisation: str
                  ) -> list[DomainEvent]:
    _require_admin("issue_api_key", actor)
    problems: dict[str, str] = {}
    if not valid_id(key_id):
        problems["key_id"] = "1 to 64 letters, digits or _ . : -"
    if not valid_system_name(system):
        problems["system"] = SYSTEM_NAME_RULE
    elif system.lower() in RESERVED_IDS:
        problems["system"] = f"{system!r} is reserved"
    if not valid_organisation(organisation):
        problems["organisation"] = ORGANISATION_RULE
    if problems:
        raise InvalidCommand(("the API key request is malformed", "API 密钥申请格式有误"), problems)
    if state.exists:
        raise WrongState("issue_api_key", "issued", ("revoke_api_key",),
                         ("the key exists already", "该密钥已存在"))
    return [ApiKeyIssued(key_id, system, organisation)]


def revoke_api_key(actor: Actor, state: ApiKey, reason: str) -> list[DomainEvent]:
    _require_admin("revoke_api_key", actor)
    if not state.exists:
        raise NotFound((f"there is no API key {state.key_id!r}", f"没有 API 密钥 {state.key_id!r}"))
    problem = _text_problem(reason, REASON_MAX)
    if problem:
        raise InvalidCommand(("say why the key is revoked", "请说明吊销密钥的理由"), {"reason": problem})
    return [] if state.revoked else [ApiKeyRevoked(state.key_id, reason.strip())]
