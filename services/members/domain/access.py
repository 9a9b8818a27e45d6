"""Who may do and see what in the members service: pure functions of the actor (its role and
user id) and the record concerned, used by the decisions and by the service's queries.

* contact details (personal data, ADR 0005): committee staff and the member themselves, to
  read, change and erase; an organisation's: committee staff;
* where notices are delivered (``delivery_addresses``: the e-mail or mobile of members and
  organisations): another service acting as ``system`` only (the notify service), never a person;
* a member's duty dossier 履职档案: staff, leaders, auditors (READERS_OF_ALL) and the member;
* the points ranking 履职积分排名 is published: anyone reads it, but an assessment's outcome
  (约谈 above all) only READERS_OF_ALL see;
* a menu sign-up: the member themselves, or staff designating items 指定认领;
* the organisation tree, appointments, rosters, rules, activities, menus and assessments:
  committee staff only.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from xieshang.kernel.domain import NotAllowed
from xieshang.kernel.envelope import Actor
from xieshang.kernel.messages import only_roles

from .vocabulary import MEMBER, READERS_OF_ALL, STAFF, SYSTEM


def is_staff(actor: Actor) -> bool:
    return actor.role == STAFF


def is_the_member(actor: Actor, member_id: str) -> bool:
    return actor.role == MEMBER and actor.user_id == member_id


def require_staff(actor: Actor, command: str, why: str) -> None:
    if not is_staff(actor):
        raise NotAllowed(command, only_roles((STAFF,), command, actor.role, why))


# -- contact details -------------------------------------------------------------------------

def may_handle_contact_details(actor: Actor, member_id: str) -> bool:
    """Read, change or erase the member's contact details: staff and the member themselves."""
    return is_staff(actor) or is_the_member(actor, member_id)


def require_contact_details_right(actor: Actor, member_id: str, command: str) -> None:
    if not may_handle_contact_details(actor, member_id):
        raise NotAllowed(command, ("only committee staff or the member themselves", "只有工作人员或委员本人可以办理"))


def require_delivery_lookup_right(actor: Actor | None, command: str) -> None:
    """``actor`` None: a call without one."""
    role = None if actor is None else actor.role
    if role != SYSTEM:
        raise NotAllowed(command, only_roles((SYSTEM,), command, role, (
            "only the notify service (acting as system) looks up where notices are delivered",
            "只有通知服务（以系统身份）可以查询通知送达地址")))


# -- the duty record ---------------------------------------------------------------------------

def may_read_dossier(actor: Actor, member_id: str) -> bool:
    return actor.role in READERS_OF_ALL or is_the_member(actor, member_id)


def require_dossier_reader(actor: Actor, member_id: str) -> None:
    if not may_read_dossier(actor, member_id):
        raise NotAllowed("read this dossier", ("staff, leaders, auditors and the member themselves",
                                               "只有工作人员、领导、审计人员和委员本人可以查看"))


def sees_assessments(role: str | None) -> bool:
    """Whether a reader of the ranking sees each member's assessment outcome (``role`` None: a
    query without an actor, e.g. the published ranking)."""
    return role in READERS_OF_ALL


def ranking_as_seen_by(role: str | None, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The ranking's rows as ``role`` may see them: without ``assessment`` unless READERS_OF_ALL."""
    if sees_assessments(role):
        return [dict(r) for r in rows]
    return [{k: v for k, v in r.items() if k != "assessment"} for r in rows]


# -- menus -------------------------------------------------------------------------------------

def may_sign_up(actor: Actor, member_id: str) -> bool:
    """A member signs up themselves; staff designate items for any member."""
    return is_staff(actor) or is_the_member(actor, member_id)
