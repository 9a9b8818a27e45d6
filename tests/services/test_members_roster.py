"""Rosters as staff keep them (CSV in UTF-8 or GBK, XLSX with a title row and phone numbers as
numbers), pure: every bad cell reported at once, nothing planned unless all rows are good, a
second import of the same roster plans nothing."""

from __future__ import annotations

import dataclasses

import pytest

from services.members import domain as d
from services.members import roster as r
from services.members.domain import commands as c
from tests.fixtures.members import lucheng
from xieshang.kernel.domain import InvalidCommand
from xieshang.kernel.envelope import Actor

STAFF = Actor("staff-001", "staff", "committee-office")


def lucheng_index() -> d.OrgIndex:
    """The 鹿城 tree folded straight from the domain's decisions."""
    orgs: dict[str, d.Organisation] = {}
    for command, args in lucheng.tree_commands():
        org_id = args.get("org_id") or args["station_id"]
        state, index = d.Organisation(org_id), d.OrgIndex(dict(orgs))
        if command == "register_organisation":
            events = d.register_organisation(STAFF, state, c.RegisterOrganisation.parse(**args), index)
        else:
            events = d.define_station(STAFF, state, c.DefineStation.parse(**args), index)
        orgs[org_id] = d.fold_organisation(org_id, events)
    return d.OrgIndex(orgs)


def apply(plans: list[r.Planned], members: dict[str, d.Member]) -> dict[str, d.Member]:
    return {**members, **{p.row.member_id: p.after for p in plans}}


def test_the_lucheng_roster_reads_the_same_from_csv_gbk_csv_and_xlsx():
    rows = lucheng.roster_rows()
    read = [r.read_roster("名册.csv", lucheng.to_csv(rows)),
            r.read_roster("名册.csv", lucheng.to_csv(rows, "gb18030")),
            r.read_roster("名册.xlsx", lucheng.to_xlsx(rows))]
    assert read[0].rows == read[1].rows == [dataclass_without_line(x, read[0].rows[i])
                                            for i, x in enumerate(read[2].rows)]
    first = read[0].rows[0]
    assert (first.member_id, first.name, first.sector, first.roles, first.cpc_member) == (
        "LC-001", "王建国", "中共", ("standing_committee",), True)
    assert first.contact.phone == "13905770000" and read[2].rows[0].contact.phone == "13905770000"
    assert (first.line, read[2].rows[0].line) == (2, 3)   # spreadsheet rows: the XLSX has a title row
    assert len(read[0].rows) == 305


def dataclass_without_line(row: r.RosterRow, like: r.RosterRow) -> r.RosterRow:
    return dataclasses.replace(row, line=like.line)


def test_every_bad_cell_is_reported_at_once_without_its_value():
    rows = lucheng.roster_rows()[:8]
    rows[2][rows[0].index("姓名")] = ""
    rows[3][rows[0].index("手机")] = "139057"
    rows[4][rows[0].index("邮箱")] = "lc@"
    rows[5][rows[0].index("职务")] = "县长"
    rows[6][rows[0].index("编号")] = "LC-001"           # the same member as row 2
    rows[7][rows[0].index("界别")] = "经济届"           # found when planning, reported together
    parsed = r.read_roster("名册.csv", lucheng.to_csv(rows))
    assert [row.line for row in parsed.rows] == [2, 8]
    with pytest.raises(InvalidCommand) as err:
        r.plan_import(STAFF, parsed, {}, lucheng_index(), ["county"])
    assert list(err.value.fields) == ["row 3, 姓名", "row 4, 手机", "row 5, 邮箱", "row 6, 职务", "row 7, 编号",
                                      "row 8, 界别"]
    assert "nothing was imported" in str(err.value) and "row 6, 职务: unknown 职务 '县长'" in str(err.value)
    assert "139057" not in str(err.value.to_dict()) and "lc@" not in str(err.value.to_dict())


def test_references_are_checked_against_the_tree_row_by_row():
    rows = lucheng.roster_rows()[:6]
    h = rows[0]
    rows[1][h.index("界别")] = "经济届"                 # a typo
    rows[2][h.index("工作站")] = "月球街道委员工作站"
    rows[3][h.index("专委会")] = "外事委"
    rows[4][h.index("联系社区")] = "藤桥广场村"          # not covered by the row's station
    parsed = r.read_roster("名册.csv", lucheng.to_csv(rows))
    with pytest.raises(InvalidCommand) as err:
        r.plan_import(STAFF, parsed, {}, lucheng_index(), ["county"])
    assert set(err.value.fields) == {"row 2, 界别", "row 3, 工作站", "row 4, 专委会", "row 5, 联系社区"}
    assert "经济届" in err.value.fields["row 2, 界别"]   # names of organisations are no personal data


def test_headers_are_found_under_a_title_and_missing_ones_are_named():
    with pytest.raises(InvalidCommand) as err:
        r.read_roster("x.csv", lucheng.to_csv([["姓名", "手机"], ["王丽", "13905770000"]]))
    assert err.value.fields == {"header": "missing column(s) 界别, 届次"}
    with pytest.raises(InvalidCommand) as err:
        r.read_roster("x.csv", lucheng.to_csv([["序号", "名字"], ["1", "王丽"]]))
    assert "姓名" in err.value.fields["header"]
    with pytest.raises(InvalidCommand):
        r.read_roster("x.csv", lucheng.to_csv([["姓名", "界别", "届次"]]))   # nobody in it
    with pytest.raises(InvalidCommand) as err:
        r.read_roster("x.pdf", b"%PDF-1.4")
    assert set(err.value.fields) == {"file_name"}
    with pytest.raises(InvalidCommand):
        r.read_roster("x.xlsx", b"PK not a workbook")
    with pytest.raises(InvalidCommand):
        r.read_roster("x.csv", b"")


def test_without_an_id_column_members_get_stable_ids_and_namesakes_must_be_told_apart():
    rows = [["姓名", "界别", "届次", "手机"], ["王丽", "经济界", "第十届", ""], ["李明", "教育界", "第十届", ""]]
    once = r.read_roster("x.csv", lucheng.to_csv(rows))
    again = r.read_roster("y.csv", lucheng.to_csv(rows))
    assert [x.member_id for x in once.rows] == [x.member_id for x in again.rows]
    assert once.rows[0].member_id == r.derive_member_id("第十届", "经济界", "王丽")
    twice = r.read_roster("x.csv", lucheng.to_csv(rows + [["王丽", "经济界", "第十届", ""]]))
    assert "row 4, 姓名" in twice.problems and "编号" in twice.problems["row 4, 姓名"]


def test_a_second_import_plans_nothing_and_a_changed_roster_plans_only_the_changes():
    index = lucheng_index()
    parsed = r.read_roster("名册.xlsx", lucheng.to_xlsx(lucheng.roster_rows()))
    plans = r.plan_import(STAFF, parsed, {}, index, ["county"])
    assert all(type(p.events[0]).__name__ == "MemberAppointed" for p in plans)
    members = apply(plans, {})
    assert members["LC-001"].levels == ("county",) and members["LC-001"].communities == ("lc-wuma-01",)
    assert all(p.events == [] for p in r.plan_import(STAFF, parsed, members, index, ["county"]))

    rows = lucheng.roster_rows()
    h = rows[0]
    rows[1][h.index("职务")] = "委员"                       # LC-001 leaves the standing committee
    rows[2][h.index("工作站")] = "山福镇委员工作站"          # LC-002 moves to 山福镇
    rows[2][h.index("联系社区")] = "山福东门村"
    changed = r.plan_import(STAFF, r.read_roster("名册.csv", lucheng.to_csv(rows)), members, index, ["county"])
    moved = {p.row.member_id: [type(e).__name__ for e in p.events] for p in changed if p.events}
    assert moved == {"LC-001": ["MemberRolesChanged"], "LC-002": ["MemberAssignedToStation"]}
    [move] = next(p.events for p in changed if p.row.member_id == "LC-002")
    assert (move.station, move.previous_station, move.communities) == ("st-shanfu", "st-wuma", ["lc-shanfu-01"])


def test_a_roster_cannot_move_a_serving_member_to_another_sector_name_or_term():
    index = lucheng_index()
    rows = lucheng.roster_rows()[:3]
    members = apply(r.plan_import(STAFF, r.read_roster("a.csv", lucheng.to_csv(rows)), {}, index, ["county"]), {})
    h = rows[0]
    rows[1][h.index("界别")] = "教育界"
    rows[1][h.index("届次")] = "第十一届"
    rows[2][h.index("姓名")] = "李四"
    with pytest.raises(InvalidCommand) as err:
        r.plan_import(STAFF, r.read_roster("b.csv", lucheng.to_csv(rows)), members, index, ["county"])
    assert set(err.value.fields) == {"row 2, 界别", "row 2, 届次", "row 3, 姓名"}
    assert "end it before" in err.value.fields["row 2, 届次"]


def test_an_optional_column_left_out_leaves_that_part_as_it_is():
    index = lucheng_index()
    full = lucheng.roster_rows()[:2]
    members = apply(r.plan_import(STAFF, r.read_roster("a.csv", lucheng.to_csv(full)), {}, index, ["county"]), {})
    assert members["LC-001"].roles == ("standing_committee",) and members["LC-001"].cpc_member
    narrow = [[row[i] for i in (1, 2, 3, 5)] for row in full]   # 编号, 姓名, 界别, 届次 only
    assert r.plan_import(STAFF, r.read_roster("b.csv", lucheng.to_csv(narrow)), members, index,
                         ["county"])[0].events == []
