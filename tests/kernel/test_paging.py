"""Paging and search, one way for every list (xieshang.kernel.views): keyset pages over a stable
sort key with a tie-breaker, a total that follows the filters and ``q``, cursors that are
checked, and LIKE patterns whose ``%`` and ``_`` mean themselves. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa

from xieshang.kernel.domain import InvalidCommand
from xieshang.kernel.views import (MAX_PAGE, PageRequest, decode_cursor, encode_cursor,
                                   like_pattern, list_page, select_page)


@pytest.fixture
def things(views_engine):
    """A table of 120 things: ``rank`` has ties (every 3 share one), ``thing_id`` breaks them."""
    engine, schema = views_engine
    table = sa.Table("things", sa.MetaData(schema=schema),
                     sa.Column("thing_id", sa.String(20), primary_key=True),
                     sa.Column("rank", sa.Integer, nullable=False),
                     sa.Column("title", sa.Text, nullable=False))
    table.metadata.create_all(engine)
    titles = ["关于夜间经济的提案", "Parking near SCHOOLS", "100% 覆盖率", "snake_case 命名"]
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"thing_id": f"t-{n:03d}", "rank": n // 3,
                                       "title": titles[n % 4]} for n in range(120)])
    yield engine, table


def read(engine, table, page, **filters):
    c = table.c
    query = sa.select(table)
    for name, value in filters.items():
        query = query.where(c[name] == value)
    with engine.connect() as conn:
        return select_page(conn, query, page, order=((c.rank, True), (c.thing_id, False)),
                           search=(c.title, c.thing_id))


def every_page(engine, table, q=None, limit=50):
    pages, cursor = [], None
    while True:
        page = read(engine, table, PageRequest.parse("things", limit, cursor, q))
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor never ends"


def test_120_rows_by_50_come_once_each_in_order_with_the_total(things):
    engine, table = things
    pages = every_page(engine, table)
    assert [len(p["items"]) for p in pages] == [50, 50, 20]
    assert [p["total"] for p in pages] == [120, 120, 120]
    assert pages[-1]["next_cursor"] is None and all(p["next_cursor"] for p in pages[:-1])
    ids = [r["thing_id"] for p in pages for r in p["items"]]
    expected = [r["thing_id"] for r in sorted(
        ({"thing_id": f"t-{n:03d}", "rank": n // 3} for n in range(120)),
        key=lambda r: (-r["rank"], r["thing_id"]))]
    assert ids == expected and len(set(ids)) == 120
    # the sort key's columns are not in the items; the row's own columns are
    assert set(pages[0]["items"][0]) == {"thing_id", "rank", "title"}
    # every row at once, as a list, for internal callers
    assert [r["thing_id"] for r in read(engine, table, None)] == expected


def test_an_exact_last_page_has_no_next_cursor(things):
    engine, table = things
    pages = every_page(engine, table, limit=60)
    assert [len(p["items"]) for p in pages] == [60, 60] and pages[-1]["next_cursor"] is None
    nothing = read(engine, table, PageRequest("things", 10), rank=999)
    assert nothing == {"items": [], "total": 0, "next_cursor": None}


def test_q_filters_case_insensitively_and_the_total_follows(things):
    engine, table = things
    pages = every_page(engine, table, q="schools")
    assert [p["total"] for p in pages] == [30] and len(pages[0]["items"]) == 30
    assert {r["title"] for r in pages[0]["items"]} == {"Parking near SCHOOLS"}
    by_id = every_page(engine, table, q="T-11", limit=4)     # t-110 … t-119
    assert [p["total"] for p in by_id] == [10, 10, 10]
    assert sorted(r["thing_id"] for p in by_id for r in p["items"]) == [f"t-{n}" for n in range(110, 120)]
    chinese = read(engine, table, PageRequest.parse("things", 500, q="夜间"))
    assert chinese["total"] == 30
    filtered = read(engine, table, PageRequest.parse("things", 500, q="夜间"), rank=0)
    assert filtered["total"] == 1 and filtered["items"][0]["thing_id"] == "t-000"


def test_percent_and_underscore_in_q_mean_themselves(things):
    engine, table = things
    assert read(engine, table, PageRequest.parse("things", 500, q="100%"))["total"] == 30
    assert read(engine, table, PageRequest.parse("things", 500, q="%"))["total"] == 30
    assert read(engine, table, PageRequest.parse("things", 500, q="_"))["total"] == 30   # not any one char
    assert read(engine, table, PageRequest.parse("things", 500, q="e_c"))["total"] == 30  # snake_case
    assert read(engine, table, PageRequest.parse("things", 500, q="e%c"))["total"] == 0
    assert like_pattern("a%b_c\\d") == "%a\\%b\\_c\\\\d%"


def forged(payload) -> str:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


FORGED = {
    "not base64": "not a cursor!",
    "base64 of no JSON": forged(b"\xff\xfe"),
    "JSON not an object": forged([1, "t-001"]),
    "another list's": encode_cursor("members", [3, "t-001"]),
    "extra keys": forged({"of": "things", "after": [3, "t-001"], "admin": True}),
    "empty key": forged({"of": "things", "after": []}),
    "a float": forged({"of": "things", "after": [3.5, "t-001"]}),
    "a boolean": forged({"of": "things", "after": [True, "t-001"]}),
    "too long": "A" * 1001,
}


@pytest.mark.parametrize("why", FORGED)
def test_a_forged_cursor_is_refused_naming_cursor(why):
    with pytest.raises(InvalidCommand) as refused:
        PageRequest.parse("things", 50, FORGED[why])
    assert set(refused.value.fields) == {"cursor"}
    assert "next_cursor" in refused.value.fields["cursor"]


@pytest.mark.parametrize("after", [["t-001", 3], [3], [3, "t-001", 1]])
def test_a_cursor_whose_key_does_not_fit_the_list_is_refused(things, after):
    engine, table = things
    page = PageRequest.parse("things", 50, encode_cursor("things", after))
    with pytest.raises(InvalidCommand) as refused:
        read(engine, table, page)
    assert set(refused.value.fields) == {"cursor"}


def test_bad_limit_and_q_are_named():
    for limit in (0, MAX_PAGE + 1, "50", True, None, 2.0):
        with pytest.raises(InvalidCommand) as refused:
            PageRequest.parse("things", limit)
        assert set(refused.value.fields) == {"limit"}
    for q in ("", "   ", "x" * 101, 7):
        with pytest.raises(InvalidCommand) as refused:
            PageRequest.parse("things", 50, q=q)
        assert set(refused.value.fields) == {"q"}
    with pytest.raises(InvalidCommand) as refused:
        PageRequest.parse("things", 0, "??", "")
    assert set(refused.value.fields) == {"limit", "cursor", "q"}
    assert PageRequest.parse("things", 10, q="  夜间 ").q == "夜间"
    assert decode_cursor("things", encode_cursor("things", [3, "t-001"])) == (3, "t-001")


ROWS = [{"member_id": f"m-{n:03d}", "name": "张三" if n % 2 else "Li Si", "points": n % 7}
        for n in range(120)]
BY_POINTS = (("points", int, True), ("member_id", str, False))


def test_lists_in_memory_page_the_same_way():
    pages, cursor = [], None
    while True:
        page = list_page(ROWS, PageRequest.parse("members", 50, cursor), order=BY_POINTS,
                         search=("name", "member_id"))
        pages.append(page)
        if (cursor := page["next_cursor"]) is None:
            break
    assert [len(p["items"]) for p in pages] == [50, 50, 20] and {p["total"] for p in pages} == {120}
    ids = [r["member_id"] for p in pages for r in p["items"]]
    assert ids == [r["member_id"] for r in sorted(ROWS, key=lambda r: (-r["points"], r["member_id"]))]
    found = list_page(ROWS, PageRequest.parse("members", 50, q="li si"), order=BY_POINTS,
                      search=("name", "member_id"))
    assert found["total"] == 60 and found["next_cursor"] and {r["name"] for r in found["items"]} == {"Li Si"}
    assert list_page(ROWS, None, order=BY_POINTS)[0]["points"] == 6
    with pytest.raises(InvalidCommand) as refused:
        list_page(ROWS, PageRequest("members", 50, after=("m-001", 3)), order=BY_POINTS)
    assert set(refused.value.fields) == {"cursor"}
