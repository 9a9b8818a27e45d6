"""The checks every decision on a report makes: it exists, the actor may, the state allows, the
text fits. Each refusal names the command, or the fields, that are wrong."""

from __future__ import annotations

from typing import Any, Iterable

from xieshang.kernel.domain import InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor
from xieshang.kernel.ids import is_id
from xieshang.kernel.messages import only_roles

from .state import OpinionReport
from .vocabulary import CATEGORIES, TEXT_LIMITS

TEXT_NAMES_ZH = {"title": "标题", "content": "内容", "reason": "理由", "note": "说明", "text": "内容"}


def require_report(state: OpinionReport) -> OpinionReport:
    if not state.exists:
        raise NotFound((f"no opinion report {state.report_id!r}", f"未找到社情民意信息 {state.report_id!r}"))
    return state


def require_role(actor: Actor, roles: Iterable[str], command: str, why: tuple[str, str] | None = None) -> None:
    roles = tuple(roles)
    if actor.role not in roles:
        raise NotAllowed(command, only_roles(roles, command, actor.role, why))


def require_status(state: OpinionReport, statuses: Iterable[str], command: str,
                   why: tuple[str, str] | None = None) -> None:
    if state.status not in tuple(statuses):
        raise WrongState(command, state.status or "none", state.next_commands(), why)


def check_text(problems: dict[str, str], name: str, value: Any, limits: str | None = None) -> str:
    """``value`` trimmed; a problem noted under ``name`` if it is not text of the allowed length."""
    lo, hi = TEXT_LIMITS[limits or name]
    value = value.strip() if isinstance(value, str) else value
    if not isinstance(value, str) or not lo <= len(value) <= hi:
        zh = TEXT_NAMES_ZH.get(limits or name, name)
        problems[name] = f"text of {lo} to {hi} characters {zh} {lo} 至 {hi} 字"
        return ""
    return value


def check_category(problems: dict[str, str], category: Any) -> str:
    if category not in CATEGORIES:
        problems["category"] = f"one of 取值之一: {', '.join(CATEGORIES)}"
    return category


def check_ids(problems: dict[str, str], name: str, values: Iterable[Any], *, least: int = 0,
              most: int = 50) -> list[str]:
    values = list(values)
    bad = [v for v in values if not isinstance(v, str) or not is_id(v)]
    if bad:
        problems[name] = f"not ids 不是标识: {bad!r}"
    elif len(set(values)) != len(values):
        problems[name] = "an id is repeated 标识重复"
    elif not least <= len(values) <= most:
        problems[name] = f"{least} to {most} ids {least} 至 {most} 个"
    return values


def refuse_if(problems: dict[str, str], message: tuple[str, str]) -> None:
    if problems:
        raise InvalidCommand(message, problems)
