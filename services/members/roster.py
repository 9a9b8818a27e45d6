"""Rosters 委员名册 as committee staff keep them: CSV or XLSX with Chinese column headers.

``read_roster`` turns a file into rows, ``plan_import`` turns rows into the events that bring
each member to what the roster says. Both check everything before anything is written and
report every bad cell at once, named as staff see it ("row 12, 界别"). Pure: bytes in, rows
and events out (openpyxl only parses).

A row's member id is its 编号 column if the file has one, else derived from 届次, 界别 and
姓名, so that importing the same file again finds the same members and changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping, Sequence

from xieshang.kernel.domain import DomainError, DomainEvent, InvalidCommand
from xieshang.kernel.envelope import Actor
from xieshang.kernel.ids import ID_RULE, is_id

from . import domain
from .domain import ACTIVE, ContactDetails, Member, OrgIndex
from .domain.commands import AppointMember, AssignToStation, ChangeRoles

MAX_BYTES = 5_000_000
MAX_ROWS = 5_000
_NAMESPACE = uuid.UUID("6f1c2a1e-5b0e-4c57-9d1e-7a3f0c9b2d41")

# field -> the headers staff use for it (the first is the one we name in messages)
HEADERS: Mapping[str, tuple[str, ...]] = {
    "member_id": ("编号", "委员编号", "ID"),
    "name": ("姓名",),
    "sector": ("界别",),
    "special_committees": ("专委会", "专门委员会", "所属专委会"),
    "term": ("届次", "届别"),
    "roles": ("职务", "政协职务"),
    "station": ("工作站", "委员工作站", "联系站点", "下沉站点"),
    "communities": ("联系社区", "联系村社"),
    "cpc_member": ("政治面貌",),
    "levels": ("层级", "兼任"),
    "phone": ("手机", "手机号", "手机号码", "联系电话"),
    "email": ("邮箱", "电子邮箱", "Email"),
    "address": ("地址", "通讯地址"),
}
REQUIRED = ("name", "sector", "term")
ROLE_WORDS: Mapping[str, str | None] = {
    "常委": "standing_committee", "政协常委": "standing_committee", "常务委员": "standing_committee",
    "主席会议成员": "chairs_meeting", "主席": "chairs_meeting", "副主席": "chairs_meeting",
    "秘书长": "chairs_meeting", "委员": None, "政协委员": None,
}
LEVEL_WORDS: Mapping[str, str] = {
    "全国": "national", "全国政协": "national", "全国政协委员": "national",
    "省": "provincial", "省政协": "provincial", "省政协委员": "provincial", "自治区": "provincial",
    "自治区政协": "provincial", "市": "city", "市政协": "city", "市政协委员": "city",
    "县": "county", "区": "county", "县政协": "county", "区政协": "county", "县政协委员": "county",
    "区政协委员": "county",
}
CPC_WORDS = ("中共党员", "中共预备党员", "党员")
_SPLIT = re.compile(r"[、,，;；/\s]+")


@dataclass(frozen=True)
class RosterRow:
    """One member as the roster has them. ``given`` lists the fields whose columns the file has
    (a missing column leaves that part of an existing member as it is)."""

    line: int
    member_id: str
    name: str
    sector: str
    term: str
    special_committees: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    station: str | None = None
    communities: tuple[str, ...] = ()
    cpc_member: bool = False
    levels: tuple[str, ...] = ()
    contact: ContactDetails = field(default_factory=ContactDetails)
    given: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Roster:
    """The good rows of a roster file, and what is wrong with the others (cell -> what it must
    be), so that ``plan_import`` can report those together with its own findings."""

    rows: list[RosterRow]
    headers: Mapping[str, str]   # field -> the header as written in the file
    problems: dict[str, str] = field(default_factory=dict)

    def where(self, line: int, key: str) -> str:
        return f"row {line}, {self.headers.get(key, HEADERS[key][0])}"


def read_roster(file_name: str, content: bytes) -> Roster:
    """Parse a roster. A file that cannot be read raises InvalidCommand; bad cells are collected
    in ``Roster.problems`` ("row 12, 手机": what it must be) for ``plan_import`` to report with
    the rest. Cell values never appear in messages: a phone number must not end up in a log line."""
    if not isinstance(content, (bytes, bytearray)) or not content:
        raise InvalidCommand(("the roster file is empty", "名册文件是空的"), {"content": "the file's bytes"})
    if len(content) > MAX_BYTES:
        raise InvalidCommand(("the roster file is too large", "名册文件过大"), {"content": f"at most {MAX_BYTES} bytes"})
    table = _table(file_name, bytes(content))
    header_at, columns, problems = _columns(table)
    if problems:
        raise InvalidCommand(("the roster's header row is not usable", "名册的表头无法识别"), problems)
    headers = {key: table[header_at][i] for key, i in columns.items()}
    roster = Roster([], headers, problems)
    seen: dict[str, int] = {}
    body = [(n, cells) for n, cells in enumerate(table[header_at + 1:], header_at + 2)
            if any(c for c in cells)]
    if not body:
        raise InvalidCommand(("the roster has no members", "名册中没有委员"),
                             {"content": "at least one row under the header"})
    if len(body) > MAX_ROWS:
        raise InvalidCommand(("the roster is too long", "名册行数过多"), {"content": f"at most {MAX_ROWS} rows"})
    for line, cells in body:
        row = _row(roster, line, {k: (cells[i] if i < len(cells) else "") for k, i in columns.items()},
                   problems)
        if row is None:
            continue
        if row.member_id in seen:
            key = "member_id" if "member_id" in columns else "name"
            problems[roster.where(line, key)] = (
                f"the same member as row {seen[row.member_id]}" +
                ("" if key == "member_id" else ": same 姓名, 界别 and 届次; add a 编号 column to tell them apart"))
            continue
        seen[row.member_id] = line
        roster.rows.append(row)
    return roster


def refusal(problems: Mapping[str, str]) -> InvalidCommand:
    """One InvalidCommand naming every bad cell, in its fields and in its message (an RPC caller
    sees only the message)."""
    listed = "; ".join(f"{where}: {what}" for where, what in problems.items())
    return InvalidCommand((f"the roster has {len(problems)} problem(s); nothing was imported: {listed}",
                           f"名册有 {len(problems)} 处问题，未导入任何内容：{listed}"), problems)


def derive_member_id(term: str, sector: str, name: str) -> str:
    """The member id of a roster row without 编号: stable for the same 届次, 界别 and 姓名."""
    return "m-" + uuid.uuid5(_NAMESPACE, f"{term}|{sector}|{name}").hex[:16]


def _table(file_name: str, content: bytes) -> list[list[str]]:
    name = (file_name or "").lower()
    if name.endswith(".xlsx") or content[:2] == b"PK":
        return _xlsx(content)
    if name.endswith(".csv") or not name:
        return _csv(content)
    raise InvalidCommand(("unknown roster format", "名册格式无法识别"), {"file_name": "a .csv or .xlsx file"})


def _csv(content: bytes) -> list[list[str]]:
    # Excel on a Chinese Windows saves CSV as GB18030 (GBK); elsewhere it is UTF-8 with a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise InvalidCommand(("the CSV file's encoding is unknown", "CSV 文件的编码无法识别"),
                             {"content": "UTF-8 or GBK text"})
    try:
        return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:  # e.g. a field longer than the csv module allows
        raise InvalidCommand((f"the CSV file cannot be read: {exc}", f"CSV 文件无法读取：{exc}"),
                             {"content": "a CSV roster as staff keep it"}) from None


def _xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidCommand(("the file is not an XLSX workbook", "该文件不是 XLSX 工作簿"),
                             {"content": "an .xlsx file"}) from None
    try:
        sheet = book.worksheets[0]
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))   # a phone number typed into a number cell
    if isinstance(value, (datetime, date)):
        return value.isoformat()[:10]
    return str(value).strip()


def _columns(table: list[list[str]]) -> tuple[int, dict[str, int], dict[str, str]]:
    # Staff sheets often carry a title row or two above the header ("第十届委员名册").
    for at, cells in enumerate(table[:10]):
        names = [re.sub(r"[\s*＊]", "", c) for c in cells]
        if any(n in HEADERS["name"] for n in names):
            break
    else:
        return 0, {}, {"header": f"no header row with {HEADERS['name'][0]} in the first 10 rows"}
    columns: dict[str, int] = {}
    problems: dict[str, str] = {}
    for i, n in enumerate(names):
        key = next((k for k, words in HEADERS.items() if n in words), None)
        if key is None:
            continue   # columns we do not keep (序号, 性别, 工作单位, ...)
        if key in columns:
            problems["header"] = (f"two columns mean {HEADERS[key][0]}: "
                                  f"{table[at][columns[key]]} and {table[at][i]}")
        columns[key] = i
    missing = [HEADERS[k][0] for k in REQUIRED if k not in columns]
    if missing:
        problems["header"] = f"missing column(s) {', '.join(missing)}"
    return at, columns, problems


def _row(roster: Roster, line: int, cells: Mapping[str, str], problems: dict[str, str]) -> RosterRow | None:
    before = len(problems)

    def bad(key: str, what: str) -> None:
        problems[roster.where(line, key)] = what

    name, sector, term = cells.get("name", ""), cells.get("sector", ""), cells.get("term", "")
    for key, value, hi in (("name", name, 50), ("sector", sector, 64), ("term", term, 20)):
        if not 1 <= len(value) <= hi:
            bad(key, f"required, 1 to {hi} characters")
    member_id = cells.get("member_id", "")
    if member_id and not is_id(member_id):
        bad("member_id", ID_RULE)
    roles: list[str] = []
    for word in _words(cells.get("roles", "")):
        if word not in ROLE_WORDS:
            bad("roles", f"unknown 职务 {word!r}; known: {', '.join(ROLE_WORDS)}")
        elif ROLE_WORDS[word]:
            roles.append(ROLE_WORDS[word] or "")
    levels: list[str] = []
    for word in _words(cells.get("levels", "")):
        if word not in LEVEL_WORDS:
            bad("levels", f"unknown 层级 {word!r}; known: 全国, 省, 自治区, 市, 县, 区")
        else:
            levels.append(LEVEL_WORDS[word])
    communities = _words(cells.get("communities", ""))
    station = cells.get("station") or None
    if communities and not station:
        bad("communities", "communities are looked after from a station: fill in "
                           + roster.headers.get("station", "工作站"))
    try:
        contact = domain.check_contact_details(
            cells.get("phone"), cells.get("email"), cells.get("address"),
            where={k: roster.where(line, k) for k in domain.CONTACT_FIELDS})
    except InvalidCommand as exc:
        problems.update(exc.fields)
        contact = ContactDetails()
    if len(problems) > before:
        return None
    return RosterRow(
        line=line, member_id=member_id or derive_member_id(term, sector, name), name=name,
        sector=sector, term=term, special_committees=tuple(_words(cells.get("special_committees", ""))),
        roles=tuple(dict.fromkeys(roles)), station=station, communities=tuple(communities),
        cpc_member=cells.get("cpc_member", "") in CPC_WORDS, levels=tuple(dict.fromkeys(levels)),
        contact=contact, given=frozenset(k for k in cells if k != "member_id"))


def _words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text or "") if w]


# -- planning ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Planned:
    """What importing one row does: the member's events (maybe none) and the state after them."""

    row: RosterRow
    events: list[DomainEvent]
    after: Member


# The domain's field names in a decision's InvalidCommand -> the roster's columns.
_COLUMN_OF = {"name": "name", "sector": "sector", "term": "term", "station": "station",
              "communities": "communities", "special_committees": "special_committees",
              "levels": "levels", "roles": "roles", "member_id": "member_id", "cpc_member": "cpc_member"}


def plan_import(actor: Actor, roster: Roster, members: Mapping[str, Member], index: OrgIndex,
                default_levels: Sequence[str]) -> list[Planned]:
    """The events that bring each member to what the roster says: an appointment for a new
    member (or a former one, for a new term), else a reassignment and a change of roles where
    they differ. Raises one InvalidCommand naming every bad cell, those ``read_roster`` found
    and those found here; plans nothing unless every row is good."""
    problems: dict[str, str] = dict(roster.problems)
    plans: list[Planned] = []
    for row in roster.rows:
        state = members.get(row.member_id) or Member(row.member_id)
        try:
            events = _plan_row(actor, row, state, index, default_levels, roster, problems)
        except DomainError as exc:
            fields = getattr(exc, "fields", None) or {"name": str(exc)}
            for key, what in fields.items():
                problems[roster.where(row.line, _COLUMN_OF.get(key, "name"))] = what
            continue
        plans.append(Planned(row, events, domain.fold_member(row.member_id, events, state)))
    if problems:
        raise refusal(dict(sorted(problems.items(), key=lambda p: _cell_order(p[0]))))
    return plans


def _cell_order(where: str) -> tuple[int, str]:
    found = re.match(r"row (\d+), (.*)", where)
    return (int(found.group(1)), found.group(2)) if found else (0, where)


def _plan_row(actor: Actor, row: RosterRow, state: Member, index: OrgIndex,
              default_levels: Sequence[str], roster: Roster, problems: dict[str, str]) -> list[DomainEvent]:
    given = row.given
    if state.status != ACTIVE:
        return domain.appoint_member(actor, state, AppointMember(
            member_id=row.member_id, name=row.name, sector=row.sector, term=row.term, roles=row.roles,
            station=row.station, special_committees=row.special_committees,
            levels=row.levels or tuple(default_levels), cpc_member=row.cpc_member,
            communities=row.communities or None), index)
    found, problem = index.find(("sector",), row.sector)
    mismatch = {
        "name": None if row.name == state.name else f"{state.member_id} is registered as {state.name}",
        "sector": problem if found is None else None if found.org_id == state.sector else (
            f"{state.member_id} is registered in sector {state.sector}; a roster does not move a "
            "member to another sector"),
        "term": None if row.term == state.term else (
            f"{state.member_id} serves the term {state.term}; end it before importing {row.term}"),
    }
    bad = {roster.where(row.line, k): v for k, v in mismatch.items() if v}
    if bad:
        problems.update(bad)
        return []
    events: list[DomainEvent] = []
    if row.station:
        events += domain.assign_to_station(actor, state, AssignToStation(
            member_id=row.member_id, station=row.station, communities=row.communities or None), index)
    events += domain.change_roles(actor, state, ChangeRoles(
        member_id=row.member_id,
        roles=row.roles if "roles" in given else None,
        special_committees=row.special_committees if "special_committees" in given else None,
        levels=(row.levels or None) if "levels" in given else None,
        cpc_member=row.cpc_member if "cpc_member" in given else None), index)
    return events
