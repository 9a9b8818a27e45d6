"""The checks every decision makes: the case exists, the actor may, the state allows, the text
fits. Each refusal names the command, or the fields, that are wrong."""

from __future__ import annotations

from datetime import date
from typing import Any

from xieshang.kernel.domain import InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor
from xieshang.kernel.ids import is_id
from xieshang.kernel.messages import command_label, only_roles

from .state import Comment, HandlingRound, Proposal
from .vocabulary import UNIT


def require_case(state: Proposal) -> None:
    if not state.exists:
        raise NotFound((f"no proposal {state.proposal_id!r}", f"没有提案 {state.proposal_id!r}"))


def require_role(actor: Actor, roles: tuple[str, ...], command: str, why: str) -> None:
    if actor.role not in roles:
        raise NotAllowed(command, only_roles(roles, command, actor.role, why))


def require_status(state: Proposal, statuses: tuple[str, ...], command: str) -> None:
    if state.status not in statuses:
        raise WrongState(command, state.status or "none", state.next_commands())


def require_unit_of_round(actor: Actor, state: Proposal, command: str) -> HandlingRound:
    r = state.round
    if actor.role != UNIT or r is None or actor.organisation not in r.units:
        raise NotAllowed(command, ("only a unit the case is assigned to "
                                   f"({', '.join(r.units) if r else 'none yet'}); the actor is "
                                   f"{actor.role!r} of {actor.organisation!r}",
                                   f"只有本提案的承办单位（{'、'.join(r.units) if r else '尚未交办'}）"
                                   f"可以{command_label(command)[1]}；当前用户是 {actor.organisation!r} "
                                   f"的 {actor.role!r}"))
    return r


def require_comment(state: Proposal, comment_id: str) -> Comment:
    comment = state.comment(comment_id) if isinstance(comment_id, str) else None
    if comment is None:
        raise NotFound((f"no comment {comment_id!r} on proposal {state.proposal_id!r}",
                        f"提案 {state.proposal_id!r} 没有评论 {comment_id!r}"))
    return comment


def check_units(problems: dict[str, str], lead_unit: Any, co_units: Any) -> tuple[str, list[str]]:
    if not isinstance(lead_unit, str) or not is_id(lead_unit):
        problems["lead_unit"] = "a unit id (letters, digits, _ . : -)"
    units = check_ids(problems, "co_units", co_units)
    if lead_unit in units:
        problems["co_units"] = "the lead unit cannot also be a co-handling unit"
    return lead_unit, units


def stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def required_text(name: str, value: Any, lo: int, hi: int) -> str:
    problems: dict[str, str] = {}
    value = stripped(value)
    check_length(problems, name, value, lo, hi)
    if problems:
        raise InvalidCommand((f"bad {name}", f"“{name}”填写有误"), problems)
    return value


def check_length(problems: dict[str, str], name: str, value: Any, lo: int, hi: int) -> None:
    if not isinstance(value, str) or not lo <= len(value) <= hi:
        problems[name] = f"text of {lo} to {hi} characters"


def check_ids(problems: dict[str, str], name: str, values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        problems[name] = "a list of ids"
        return []
    bad = [v for v in values if not isinstance(v, str) or not is_id(v)]
    if bad:
        problems[name] = f"not ids: {bad!r}"
        return []
    if len(set(values)) != len(values):
        problems[name] = "an id is repeated"
        return []
    return list(values)


def check_dates(problems: dict[str, str], name: str, values: Any) -> list[date]:
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        problems[name] = "a list of ISO dates"
        return []
    out = []
    for v in values:
        try:
            out.append(date.fromisoformat(str(v)))
        except ValueError:
            problems[name] = f"not an ISO date: {v!r}"
            return []
    return out
