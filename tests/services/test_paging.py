"""Paging and search on the lists (issue 11, item 19): the proposals' read models paged on SQLite
and PostgreSQL (120 cases by 50: each once, in order, the total on every page, no cursor after
the last; q narrows and the total follows; a forged cursor is refused), and through the gateway
on the real RabbitMQ: ``limit``, ``cursor`` and ``q`` on inboxes and member lists, a forged
cursor a 422 naming ``cursor``, ``offset`` gone."""

from __future__ import annotations

import pytest

from services.proposals import views as v
from tests.conftest import DEPLOYMENT
from tests.services.test_gateway_http import APPOINTMENT, SUBMISSION, a_case, gateway  # noqa: F401 - a fixture
from tests.services.conftest import wait_until
from tests.services.test_proposals_views import Desk, member, proj
from xieshang.kernel.domain import InvalidCommand
from xieshang.kernel.projection import ProjectionRunner
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.views import PageRequest, encode_cursor

N = 120


@pytest.fixture
def backend(views_engine):
    """The proposals' read models on SQLite or PostgreSQL, fed from a memory store: (desk, runner)."""
    engine, schema = views_engine
    store = MemoryEventStore(DEPLOYMENT)
    runner = ProjectionRunner(store, engine, v.PROJECTIONS(), schema=schema, batch=500)
    runner.setup()
    yield Desk(store), runner


def hundred_and_twenty_cases(desk: Desk) -> None:
    """120 cases of m1, filed 2024-001 … 2024-120 and assigned to mzj on the same day (so the
    inbox's deadlines tie and its order falls to the case number); every third is about 养老,
    one title has a literal ``100%``."""
    for n in range(N):
        title = "关于完善社区养老服务的提案" if n % 3 == 0 else f"关于第{n}号道路改造的提案"
        desk.submit(member(1), f"P{n:03d}", title="关于实现100%垃圾分类的提案" if n == 7 else title)
        desk.file(f"P{n:03d}")
        desk.assign(f"P{n:03d}", "mzj")


def read(runner, fn, cls, *args, **kw):
    runner.catch_up()
    with runner.engine.connect() as conn:
        return fn(conn, proj(runner, cls), *args, **kw)


def pages(runner, fn, cls, *args, of: str, limit: int = 50, q: str | None = None, **kw) -> list[dict]:
    out, cursor = [], None
    while True:
        page = read(runner, fn, cls, *args, page=PageRequest.parse(of, limit, cursor, q), **kw)
        out.append(page)
        if (cursor := page["next_cursor"]) is None:
            return out
        assert len(out) <= N, "the cursor never ends"


def test_120_cases_page_by_50_once_each_in_order_with_the_total(backend):
    desk, runner = backend
    hundred_and_twenty_cases(desk)
    lists = {"worklist": (v.worklist, v.Worklist, ()), "unit_inbox": (v.unit_inbox, v.UnitInbox, ("mzj",)),
             "my_proposals": (v.cases_of_member, v.ProposerCases, ("m1",))}
    for of, (fn, cls, args) in lists.items():
        extra = {"today": desk.today} if of == "unit_inbox" else {}
        everything = read(runner, fn, cls, *args, **extra)          # no page: every row, a list
        assert len(everything) == N, of
        got = pages(runner, fn, cls, *args, of=of, **extra)
        assert [len(p["items"]) for p in got] == [50, 50, 20], of
        assert [p["total"] for p in got] == [N, N, N], of
        assert got[-1]["next_cursor"] is None and all(p["next_cursor"] for p in got[:-1]), of
        paged = [(r["proposal_id"], r.get("round")) for p in got for r in p["items"]]
        assert paged == [(r["proposal_id"], r.get("round")) for r in everything], of   # in order, once
        assert len(set(paged)) == N, of
    inbox = [r for p in pages(runner, v.unit_inbox, v.UnitInbox, "mzj", of="unit_inbox",
                              today=desk.today) for r in p["items"]]
    assert [r["case_number"] for r in inbox] == [f"2024-{n:03d}" for n in range(1, N + 1)]  # same deadline
    assert all(r["due_in_days"] is not None and r["overdue"] is False for r in inbox)   # made per row


def test_q_narrows_the_list_and_the_total_follows(backend):
    desk, runner = backend
    hundred_and_twenty_cases(desk)
    care = pages(runner, v.worklist, v.Worklist, of="worklist", limit=15, q="养老")
    assert [p["total"] for p in care] == [N // 3] * 3             # every third is about 养老
    assert [len(p["items"]) for p in care] == [15, 15, 10]
    assert all("养老" in r["title"] for p in care for r in p["items"])
    by_number = read(runner, v.unit_inbox, v.UnitInbox, "mzj", today=desk.today,
                     page=PageRequest.parse("unit_inbox", 50, q="2024-11"))
    assert sorted(r["case_number"] for r in by_number["items"]) == [f"2024-{n}" for n in range(110, 120)]
    assert by_number["total"] == 10
    percent = read(runner, v.cases_of_member, v.ProposerCases, "m1",
                   page=PageRequest.parse("my_proposals", 50, q="100%"))
    assert [r["title"] for r in percent["items"]] == ["关于实现100%垃圾分类的提案"]
    nothing = read(runner, v.worklist, v.Worklist, status="closed",
                   page=PageRequest.parse("worklist", 50, q="养老"))
    assert nothing == {"items": [], "total": 0, "next_cursor": None}


def test_a_forged_cursor_is_refused(backend):
    desk, runner = backend
    hundred_and_twenty_cases(desk)
    for cursor in ("bm90LWpzb24", encode_cursor("unit_inbox", [10**6, "x"]), "%%%"):
        with pytest.raises(InvalidCommand) as refused:
            read(runner, v.worklist, v.Worklist, page=PageRequest.parse("worklist", 50, cursor))
        assert list(refused.value.fields) == ["cursor"]
    wrong_shape = PageRequest.parse("worklist", 50, encode_cursor("worklist", ["2024-001", 3]))
    with pytest.raises(InvalidCommand) as refused:
        read(runner, v.worklist, v.Worklist, page=wrong_shape)
    assert list(refused.value.fields) == ["cursor"]


# -- through the gateway, on the real RabbitMQ ---------------------------------------------------

def test_limit_cursor_and_q_on_the_inbox_and_the_member_list_over_http(gateway):  # noqa: F811
    pids = [a_case(gateway) for _ in range(5)]        # filed and assigned to mzj
    last = gateway.call("GET", f"/api/proposals/{pids[-1]}", "staff").json()
    wait_until(lambda: gateway.call("GET", "/api/units/mzj/inbox", "unit").json()["total"] == 5,
               what="the five cases in the unit's inbox")
    seen, cursor, totals = [], None, []
    while True:
        answer = gateway.call("GET", "/api/units/mzj/inbox", "unit", params={
            "limit": 2, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen += [r["proposal_id"] for r in body["items"]]
        totals.append(body["total"])
        if (cursor := body["next_cursor"]) is None:
            break
    assert sorted(seen) == sorted(pids) and len(seen) == 5 and totals == [5, 5, 5]
    by_number = gateway.call("GET", "/api/units/mzj/inbox", "unit", params={"q": last["case_number"]}).json()
    assert [r["proposal_id"] for r in by_number["items"]] == [pids[-1]] and by_number["total"] == 1

    for n in range(4):   # the worklist, searched by title
        title = "关于完善社区养老服务的提案" if n % 2 else f"关于第{n}号道路改造的提案"
        submitted = gateway.call("POST", "/api/proposals", "member", json={**SUBMISSION, "title": title})
        assert submitted.status_code == 201, submitted.text
    care = gateway.call("GET", "/api/worklist", "staff", params={
        "q": "养老", "limit": 1, "wait_for": submitted.json()["position"]}).json()
    assert care["total"] == 2 and [r["title"] for r in care["items"]] == ["关于完善社区养老服务的提案"]
    assert gateway.call("GET", "/api/worklist", "staff", params={"q": "养老", "cursor": care["next_cursor"]}
                        ).json()["next_cursor"] is None

    forged = gateway.call("GET", "/api/units/mzj/inbox", "unit", params={"cursor": "bm90LWpzb24"})
    assert forged.status_code == 422, forged.text
    assert [p["name"] for p in forged.json()["invalid_params"]] == ["cursor"]
    for params, name in (({"offset": 3}, "offset"), ({"limit": 0}, "limit"), ({"limit": 501}, "limit"),
                         ({"q": ""}, "q"), ({"q": "x" * 101}, "q"), ({"cursor": "not a cursor"}, "cursor")):
        refused = gateway.call("GET", "/api/worklist", "staff", params=params)
        assert refused.status_code == 422, (params, refused.text)
        assert name in [p["name"] for p in refused.json()["invalid_params"]], params

    for n, name in ((1, "王丽"), (2, "李强"), (3, "王芳")):
        appointed = gateway.call("POST", "/api/members", "staff", json={
            **APPOINTMENT, "member_id": f"m-10{n}", "name": name, "contact": None})
        assert appointed.status_code == 201, appointed.text
    wait = {"wait_for": appointed.json()["position"]}
    first = gateway.call("GET", "/api/members", "leader", params={"limit": 2, **wait}).json()
    rest = gateway.call("GET", "/api/members", "leader", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert (first["total"], rest["total"], rest["next_cursor"]) == (3, 3, None)
    assert [m["member_id"] for m in first["items"] + rest["items"]] == ["m-101", "m-102", "m-103"]
    wang = gateway.call("GET", "/api/members", "leader", params={"q": "王"}).json()
    assert (wang["total"], [m["name"] for m in wang["items"]]) == (2, ["王丽", "王芳"])
    assert gateway.call("GET", "/api/members", "leader", params={"q": "经济界"}).json()["total"] == 3
    ranked = gateway.call("GET", "/api/rankings/2024", "member", params={"q": "m-102"}).json()
    assert [(m["member_id"], m["rank"]) for m in ranked["items"]] == [("m-102", 1)] and ranked["total"] == 1
    orgs = gateway.call("GET", "/api/organisations", "member", params={"q": "五马", "limit": 1}).json()
    assert orgs["total"] >= 3 and len(orgs["items"]) == 1 and orgs["next_cursor"]
    other_list = gateway.call("GET", "/api/members", "leader", params={"cursor": orgs["next_cursor"]})
    assert other_list.status_code == 422 and other_list.json()["invalid_params"][0]["name"] == "cursor"
