"""The directory 名录: the members, handling units and bodies the proposals service knows, learnt
from the members service's events (stream ``directory-<entry_id>``, one per member or organisation;
the entries, their folding and following are the kernel's, xieshang.kernel.directory).

A command may name only what the directory knows: co-signers and the member staff act for
(serving members), the lead and co-handling units (open handling units), a collective proposal's
body (an open party, group, sector or special committee, by name), a key proposal's supervisors
(known people). ``check_*`` raise InvalidCommand naming each unknown field; the service looks the
entries up and passes them in, so the decisions stay pure. The directory lags behind the members
service (the events arrive over the bus): a refusal says so, and staff try again shortly.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from xieshang.kernel.directory import (LAG, MEMBER_ENTRY, SOURCE_EVENTS, UNIT_ENTRY,  # noqa: F401 - re-exported
                                       DirectoryEntry, directory_stream, entry_fold, fold_entry,
                                       note_fact)
from xieshang.kernel.directory import facts_of as _facts_of
from xieshang.kernel.domain import InvalidCommand

from .events import DirectoryEntryNoted

BODY_KINDS = ("special_committee", "sector", "party_group")
ORG_KINDS = (UNIT_ENTRY, *BODY_KINDS)          # the members service's organisation kinds we keep
# A collective proposal's body type (vocabulary.BODY_TYPES) and the organisation kinds it may be.
BODY_TYPE_KINDS: Mapping[str, tuple[str, ...]] = {
    "party": ("party_group",), "group": ("party_group",), "sector": ("sector",),
    "special_committee": ("special_committee",)}


def facts_of(source_type: str, data: Mapping[str, Any], *, event_id: str,
             position: int) -> list[DirectoryEntryNoted]:
    """What a members service event says for the proposals service's directory (nothing for
    organisations of other kinds: committees, townships, communities, stations)."""
    return _facts_of(source_type, data, event_id=event_id, position=position, org_kinds=ORG_KINDS)


# -- checks: every id a command names must be in the directory ------------------------------------

Entries = Mapping[str, DirectoryEntry]


def _entry(entries: Entries, entry_id: str) -> DirectoryEntry:
    return entries.get(entry_id) or DirectoryEntry(entry_id)


def _member_problem(entry: DirectoryEntry) -> str | None:
    if not entry.is_member:
        return f"未知的委员 {entry.entry_id!r} (no member {entry.entry_id!r} in the directory); {LAG}"
    if not entry.active:
        return (f"委员 {entry.entry_id!r} 已不在任 (member {entry.entry_id!r} is no longer "
                "serving)")
    return None


def _unit_problem(entry: DirectoryEntry) -> str | None:
    if not entry.is_unit:
        return (f"未知的承办单位 {entry.entry_id!r} (no handling unit {entry.entry_id!r} in the "
                f"directory); {LAG}")
    if not entry.active:
        return f"承办单位 {entry.entry_id!r} 已撤销 (handling unit {entry.entry_id!r} is closed)"
    return None


def _person_problem(entry: DirectoryEntry) -> str | None:
    if entry.kind != MEMBER_ENTRY:
        return f"未知的人员 {entry.entry_id!r} (no one {entry.entry_id!r} in the directory); {LAG}"
    return None


def _raise(problems: dict[str, str], what: tuple[str, str]) -> None:
    if problems:
        raise InvalidCommand((f"{what[0]}: not in the directory", f"{what[1]}不在名录中"), problems)


def check_members(entries: Entries, ids: Iterable[str], name: str,
                  problems: dict[str, str] | None = None) -> dict[str, str]:
    """``name[i]`` for each id that is not a serving member."""
    problems = {} if problems is None else problems
    for i, member_id in enumerate(ids):
        if (problem := _member_problem(_entry(entries, member_id))) is not None:
            problems[f"{name}[{i}]"] = problem
    return problems


def check_submission_refs(entries: Entries, *, co_signers: Sequence[str], on_behalf_of: str | None,
                     body_name: str | None = None, body_found: bool = True) -> None:
    """A submission names serving co-signers, a serving member staff act for, and an existing
    body (``body_found``: the service found an open body of the type under ``body_name``)."""
    problems = check_members(entries, co_signers, "co_signers")
    if on_behalf_of is not None:
        if (problem := _member_problem(_entry(entries, on_behalf_of))) is not None:
            problems["on_behalf_of"] = problem
    if body_name is not None and not body_found:
        problems["body.name"] = (f"未知的提案集体 {body_name!r} (no such party, group, sector or "
                                 f"special committee of that type in the directory); {LAG}")
    _raise(problems, ("the members or the body the proposal names", "提案所列的委员或集体"))


def check_assignment_units(entries: Entries, lead_unit: str, co_units: Sequence[str]) -> None:
    """An assignment names open handling units (``lead_unit``, ``co_units[i]``)."""
    problems: dict[str, str] = {}
    if (problem := _unit_problem(_entry(entries, lead_unit))) is not None:
        problems["lead_unit"] = problem
    for i, unit in enumerate(co_units):
        if (problem := _unit_problem(_entry(entries, unit))) is not None:
            problems[f"co_units[{i}]"] = problem
    _raise(problems, ("the units of the assignment", "交办的承办单位"))


def check_supervisors(entries: Entries, supervisors: Sequence[str]) -> None:
    """A key proposal's supervisors are people the directory knows (``supervisors[i]``)."""
    problems: dict[str, str] = {}
    for i, person in enumerate(supervisors):
        if (problem := _person_problem(_entry(entries, person))) is not None:
            problems[f"supervisors[{i}]"] = problem
    _raise(problems, ("the supervisors", "督办领导"))


def names_to_publish(entries: Entries, people: Sequence[str]) -> tuple[list[str], list[str]]:
    """The names of ``people`` (in order) and the ids whose name the directory lacks."""
    names, missing = [], []
    for person in people:
        entry = _entry(entries, person)
        if entry.is_member and entry.name:
            names.append(entry.name)
        else:
            missing.append(person)
    return names, missing
