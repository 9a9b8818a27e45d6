"""The index of every published event in docs/events.md, made from the services' contracts.

``xieshang event-index`` prints it; ``--write`` puts it into docs/events.md between its markers.
tests/test_docs.py checks that the page holds exactly what this makes, so the catalogue names
every event each service records, with its fields and the first sentence of its docstring.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
from pathlib import Path

import click

from tools.catalog import SERVICES

START, END = "<!-- event-index:start -->", "<!-- event-index:end -->"
EVENTS_MD = Path(__file__).resolve().parent.parent / "docs" / "events.md"


def _summary(cls: type) -> str:
    doc = " ".join((cls.__doc__ or "").split())
    if not doc or doc.startswith(f"{cls.__name__}("):   # dataclass's generated signature
        return ""
    first = re.split(r"(?<=[.。])\s", doc, maxsplit=1)[0]
    return first.replace("|", "\\|")


def _leaves(publication, name: str) -> str:
    """Whether the event leaves the service (ADR 0012): public (and what it withholds), or
    private and why."""
    if publication.is_public(name):
        withheld = sorted(publication.public[name])
        return "public" + (f" (without {', '.join(withheld)})" if withheld else "")
    return f"private: {publication.private[name]}".replace("|", "\\|")


def render() -> str:
    lines = ["| service | event | fields | what it records | to other systems |",
             "| --- | --- | --- | --- | --- |"]
    for service in [*SERVICES, "gateway"]:
        module = importlib.import_module(f"services.{service}.domain.events")
        registry = module.registry
        for name in registry.names():
            cls = registry.event_class(name)
            fields = ", ".join(f.name for f in dataclasses.fields(cls))
            lines.append(f"| {service} | `{name}` | {fields} | {_summary(cls)} | "
                         f"{_leaves(module.PUBLICATION, name)} |")
    return "\n".join(lines)


def current() -> str:
    text = EVENTS_MD.read_text()
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


@click.command("event-index")
@click.option("--write", is_flag=True, help="write it into docs/events.md")
def event_index(write: bool) -> None:
    """The index of every event of every service (docs/events.md)."""
    table = render()
    if not write:
        click.echo(table)
        return
    text = EVENTS_MD.read_text()
    head, rest = text.split(START, 1)
    EVENTS_MD.write_text(f"{head}{START}\n{table}\n{END}{rest.split(END, 1)[1]}")
    click.echo(f"wrote {len(table.splitlines()) - 2} events into {EVENTS_MD}")
