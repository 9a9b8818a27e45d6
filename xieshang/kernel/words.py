"""Words for people: dates in the committee's time zone.

Used by every service that writes for people (notify's texts, the web console's pages), so that
a date reads the same everywhere: "2024年6月28日" in Chinese, "28 Jun 2024" in English, times in
Asia/Shanghai. Nothing here does I/O.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .clock import SHANGHAI


def is_chinese(locale: str | None) -> bool:
    """Whether ``locale`` (zh, zh-CN, en, …) asks for Chinese; Chinese unless it says otherwise."""
    return not locale or locale.lower().startswith("zh")


def format_date(value: Any, locale: str) -> str:
    """An ISO date (or datetime, shown in the committee's time zone) in the locale's words; a
    value that is neither is returned as text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        local = value.astimezone(SHANGHAI)
        return (f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}" if is_chinese(locale)
                else f"{local:%d %b %Y %H:%M}")
    if isinstance(value, date):
        return (f"{value.year}年{value.month}月{value.day}日" if is_chinese(locale)
                else f"{value:%d %b %Y}")
    return "" if value is None else str(value)
