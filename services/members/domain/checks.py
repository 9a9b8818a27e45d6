"""Checks of meaning the decisions share: they collect the problems of a command by field, so
that one InvalidCommand names every bad field (the shape was checked by ``Command.parse``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from xieshang.kernel.domain import InvalidCommand
from xieshang.kernel.ids import ID_RULE, is_id

FIRST_YEAR, LAST_YEAR = 2000, 2100


def check_id(problems: dict[str, str], key: str, value: Any, what: str = "an id") -> None:
    if not is_id(value):
        problems[key] = f"{ID_RULE} ({what})"


def required(problems: dict[str, str], key: str, value: Any, lo: int, hi: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not lo <= len(text) <= hi:
        problems[key] = f"text of {lo} to {hi} characters"
    return text


def iso_date(problems: dict[str, str], key: str, value: Any) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        problems[key] = "an ISO date, e.g. 2024-06-30"
        return ""


def is_year(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and FIRST_YEAR <= value <= LAST_YEAR


def check_year(value: Any) -> int:
    """``value`` if it is a year this service keeps, else InvalidCommand naming ``year``."""
    if not is_year(value):
        raise InvalidCommand(("bad year", "年度有误"), {"year": "a year, e.g. 2024"})
    return value
