"""The checks every decision on a report, a consultation or a supervision group makes: it exists,
the actor may, the state allows, the text and the dates fit, the directory knows the people and
units named. Each refusal names the command, or the fields, that are wrong."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping

from xieshang.kernel.directory import LAG, MEMBER_ENTRY, UNIT_ENTRY, DirectoryEntry
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


def require_status(state: Any, statuses: Iterable[str], command: str,
                   why: tuple[str, str] | None = None) -> None:
    """``state`` (a report, a consultation, a group: its ``status`` and ``next_commands()``) is
    in one of ``statuses``."""
    if state.status not in tuple(statuses):
        raise WrongState(command, state.status or "none", state.next_commands(), why)


def check_text(problems: dict[str, str], name: str, value: Any, limits: str | None = None) -> str:
    """``value`` trimmed; a problem noted under ``name`` if it is not text of the allowed length."""
    return check_sized_text(problems, name, value, TEXT_LIMITS[limits or name],
                            TEXT_NAMES_ZH.get(limits or name, name))


def check_sized_text(problems: dict[str, str], key: str, value: Any, limits: tuple[int, int], zh: str, *,
                     optional: bool = False) -> str:
    """``value`` trimmed; a problem noted under ``key`` if it is not text of ``limits`` characters
    (named ``zh`` in the refusal; ``optional``: "" is fine too)."""
    lo, hi = limits
    value = value.strip() if isinstance(value, str) else value
    if optional and value == "":
        return ""
    if not isinstance(value, str) or not lo <= len(value) <= hi:
        problems[key] = f"text of {lo} to {hi} characters {zh} {lo} 至 {hi} 字"
        return ""
    return value


def check_date(problems: dict[str, str], name: str, value: Any) -> date | None:
    """An ISO date (YYYY-MM-DD), or a problem noted under ``name``."""
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    problems[name] = "an ISO date, e.g. 2024-06-30 日期格式如 2024-06-30"
    return None


def member_problem(entry: DirectoryEntry | None, entry_id: str) -> str | None:
    """Why ``entry_id`` may not be named as a member (None: a serving member)."""
    if entry is None or entry.kind != MEMBER_ENTRY:
        return f"未知的委员 {entry_id!r} (no member {entry_id!r} in the directory); {LAG}"
    if not entry.active:
        return f"委员 {entry_id!r} 已不在任 (member {entry_id!r} is no longer serving)"
    return None


def unit_problem(entry: DirectoryEntry | None, entry_id: str) -> str | None:
    """Why ``entry_id`` may not be named as a department (None: an open handling unit)."""
    if entry is None or entry.kind != UNIT_ENTRY:
        return f"未知的职能部门 {entry_id!r} (no handling unit {entry_id!r} in the directory); {LAG}"
    if not entry.active:
        return f"职能部门 {entry_id!r} 已撤销 (handling unit {entry_id!r} is closed)"
    return None


def check_people(problems: dict[str, str], name: str, ids: list[str],
                 directory: Mapping[str, DirectoryEntry], problem_of=member_problem) -> None:
    """A problem under ``name[i]`` for each id the directory does not allow (none if ``name`` is
    already wrong)."""
    if name in problems:
        return
    for i, entry_id in enumerate(ids):
        if (problem := problem_of(directory.get(entry_id), entry_id)) is not None:
            problems[f"{name}[{i}]"] = problem


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
