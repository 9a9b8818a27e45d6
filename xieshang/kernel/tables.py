"""Tables for people's spreadsheets: the year-end reports' CSV and XLSX files.

CSV files are UTF-8 with a byte order mark, which Excel in China needs to read them as UTF-8.
Headers are "中文 english_key", so that people read them and programs can split them. A table
is ``columns`` (``(key, Chinese label)`` pairs) and ``rows`` (dicts by key).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

Row = Mapping[str, Any]
Columns = Sequence[tuple[str, str]]


def figure_rows(stats: Mapping[str, Any],
                label: Callable[[str, tuple[str, ...]], str] | None = None) -> list[dict[str, Any]]:
    """Nested statistics flattened into one row per figure: ``section`` the top-level key,
    ``item`` the path below it joined with dots (e.g. ``units`` / ``mzj.on_time_rate``), the
    top-level figures in section "overall"; with ``label``, ``label(section, path)`` names each
    figure for people."""
    rows: list[dict[str, Any]] = []

    def walk(section: str, path: tuple[str, ...], value: Any) -> None:
        if isinstance(value, Mapping):
            for k, sub in value.items():
                walk(section, (*path, str(k)), sub)
            return
        row = {"section": section, "item": ".".join(path)}
        if label is not None:
            row["label"] = label(section, path)
        rows.append({**row, "value": value})

    for key, value in stats.items():
        if isinstance(value, Mapping):
            walk(key, (), value)
        else:
            walk("overall", (key,), value)
    return rows


def header(columns: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{label} {key}" for key, label in columns]


def text(value: Any) -> str:
    """A value as a CSV cell: nothing for None, yes/no, lists joined with ``;``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ";".join(map(str, value))
    return str(value)  # floats: the shortest text that reads back as the same number


def cell(value: Any) -> Any:
    """A value as an XLSX cell: numbers and booleans stay such; lists become text."""
    return ";".join(map(str, value)) if isinstance(value, (list, tuple)) else value


def write_csv(path: Path, columns: Columns, rows: Iterable[Row]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header(columns))
        writer.writerows([text(r.get(key)) for key, _ in columns] for r in rows)


def write_xlsx(path: Path, sheets: Sequence[tuple[str, Columns, Sequence[Row]]], *,
               is_rate: Callable[[str, Row], bool] = lambda key, row: False,
               wide: Iterable[str] = ("title",)) -> None:
    """One workbook of ``sheets`` (title, columns, rows): the header row frozen, a float for
    which ``is_rate(key, row)`` holds shown as a percentage, the ``wide`` columns wide."""
    wide = set(wide)
    wb = Workbook()
    wb.remove(wb.active)
    for title, columns, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(header(columns))
        for r in rows:
            ws.append([cell(r.get(key)) for key, _ in columns])
            for written, (key, _) in zip(ws[ws.max_row], columns):
                if isinstance(written.value, float) and is_rate(key, r):
                    written.number_format = "0.0%"
        ws.freeze_panes = "A2"
        for i, (key, label) in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = \
                40 if key in wide else max(12, len(label) * 2 + 4)
    wb.save(path)
