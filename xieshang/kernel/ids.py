"""The one id pattern: every id a caller names (members, units, organisations, proposals,
comments, activities, menus) is 1 to 64 letters, digits and ``_ . : -``, starting with a
letter or digit. The gateway's request models and every service's commands use it from here."""

from __future__ import annotations

import re
from typing import Any

from .domain import InvalidCommand

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
ID_MAX_LENGTH = 64
ID_RULE = "1 to 64 letters, digits, _ . : - (starting with a letter or digit)"

_ID = re.compile(ID_PATTERN)


def is_id(value: Any) -> bool:
    # fullmatch: with match, "$" lets a final newline through.
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def check_id(value: Any, field: str) -> str:
    """``value`` if it is an id, else InvalidCommand naming ``field``."""
    if not is_id(value):
        raise InvalidCommand((f"bad {field}", f"“{field}”标识无效"), {field: ID_RULE})
    return value
