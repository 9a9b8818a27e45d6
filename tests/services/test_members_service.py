"""The members service through nameko on the real RabbitMQ, with a fixed clock: the organisation
tree, appointments, rosters, contact details that never leave the private contact book, and duty
points from recorded activities, menus and rule changes."""

from __future__ import annotations

import base64
import logging
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from kombu import Connection, Queue
from nameko.exceptions import RemoteError
from nameko.standalone.events import get_event_exchange

from services.members.contacts import SqlContactBook
from services.members.service import MembersService
from tests.fixtures.members import lucheng
from xieshang.kernel.envelope import Actor
from xieshang.kernel.store.sql import sqlite_engine
from xieshang.kernel.streams import Receipt

from ..support.views import every_row_as_text
from .conftest import STAFF, store_of, wait_until

pytestmark = [pytest.mark.rabbit]

FIXED = "2024-03-01T09:00:00+08:00"
WANG = Actor("m-wang", "member", "经济界")
LEADER = Actor("leader-001", "leader", "chairs-meeting")


@pytest.fixture
def members(container_factory, config):
    container = container_factory(MembersService, {**config, "XIESHANG_FIXED_TIME": FIXED})
    container.start()
    return container


def remote_error(call, *args, **kwargs) -> RemoteError:
    with pytest.raises(RemoteError) as err:
        call(*args, **kwargs)
    return err.value


def small_tree(staff) -> None:
    staff.members.register_organisation("lc", "committee", "鹿城区政协", level="county")
    staff.members.register_organisation("s-jj", "sector", "经济界", parent="lc")
    staff.members.register_organisation("s-jy", "sector", "教育界", parent="lc")
    staff.members.register_organisation("c-ta", "special_committee", "提案委", parent="lc")
    staff.members.register_organisation("wuma", "township", "五马街道", parent="lc")
    staff.members.register_organisation("wuma-1", "community", "五马东门社区", parent="wuma")
    staff.members.register_organisation("wuma-2", "community", "五马西山社区", parent="wuma")
    staff.members.define_station("st-wuma", "五马街道委员工作站", "work_station", "township", location="wuma",
                                 communities=["wuma-1", "wuma-2"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def relayed(container) -> bool:
    store = store_of(container)
    return store.get_checkpoint("relay:members.events") >= store.head()


def test_the_tree_and_a_member_through_the_service(members, rpc_as):
    staff = rpc_as(STAFF)
    small_tree(staff)
    receipt = staff.members.appoint_member(WANG.user_id, "王丽", "经济界", "第十届", roles=["standing_committee"],
                                           station="五马街道委员工作站", special_committees=["提案委"],
                                           levels=["provincial", "county"],
                                           contact={"phone": "13812345678", "email": "wangli@example.cn"})
    assert receipt["events"] == ["MemberAppointed", "ContactDetailsChanged"]
    member = staff.members.get_member(WANG.user_id)
    assert (member["sector"], member["station"], member["special_committees"], member["levels"]) == (
        "s-jj", "st-wuma", ["c-ta"], ["provincial", "county"])
    assert "phone" not in member and member["points"] == 0 and member["ledger"] == []
    assert rpc_as(WANG).members.get_contact_details(WANG.user_id)["phone"] == "13812345678"
    assert remote_error(rpc_as(Actor("m-other", "member", "教育界")).members.get_contact_details,
                        WANG.user_id).exc_type == "NotAllowed"

    staff.members.define_station("lp-wuma-1", "五马东门社区委员联系点", "liaison_point", "community",
                                 location="wuma-1")
    moved = staff.members.assign_to_station(WANG.user_id, "lp-wuma-1")
    assert moved["event"] == "MemberAssignedToStation"
    assert staff.members.assign_to_station(WANG.user_id, "lp-wuma-1")["event"] is None   # already there
    staff.members.change_roles(WANG.user_id, roles=[], cpc_member=True)
    cover = staff.members.coverage(after_position=store_of(members).head())
    assert (cover["total"], cover["uncovered"]) == (2, ["wuma-2"])
    [listed] = staff.members.list_members(sector="经济界")["items"]
    assert (listed["station_name"], listed["roles"], listed["cpc_member"]) == ("五马东门社区委员联系点", [], True)

    staff.members.rename_organisation("s-jj", "经济界别")
    assert staff.members.get_organisation("s-jj")["name"] == "经济界别"
    assert staff.members.list_members(sector="经济界别")["items"][0]["member_id"] == WANG.user_id
    staff.members.close_organisation("lp-wuma-1", "联系点撤并")
    assert staff.members.coverage(after_position=store_of(members).head())["covered"] == 0
    names = [o["name"] for o in staff.members.list_organisations(kind="station")["items"]]
    assert names == ["五马街道委员工作站"]

    ended = staff.members.end_term(WANG.user_id)
    assert ended["event"] == "MemberTermEnded"
    assert store_of(members).read_stream(f"member-{WANG.user_id}")[-1].data["ended_on"] == "2024-03-01"
    assert staff.members.list_members(status="term_ended")["items"][0]["member_id"] == WANG.user_id


def test_refusals_say_why_and_change_nothing(members, rpc_as):
    staff, wang = rpc_as(STAFF), rpc_as(WANG)
    small_tree(staff)
    staff.members.appoint_member(WANG.user_id, "王丽", "s-jj", "第十届")
    head = store_of(members).head()
    err = remote_error(wang.members.appoint_member, "m-x", "李明", "经济界", "第十届")
    assert err.exc_type == "NotAllowed" and "only committee staff appoint members" in err.value
    err = remote_error(staff.members.appoint_member, WANG.user_id, "王丽", "经济界", "第十届")
    assert err.exc_type == "WrongState" and "in state 'active'" in err.value
    assert "end_term" in err.details["allowed"] and "record the end of the member's term" in err.value
    err = remote_error(staff.members.appoint_member, "m-y", "李明", "经济届", "第十届", station="火星站")
    assert err.exc_type == "InvalidCommand" and set(err.details["fields"]) == {"sector", "station"}
    err = remote_error(staff.members.appoint_member, "m-y", "李明", "经济界", "第十届", contact={"phone": "12"})
    assert err.exc_type == "InvalidCommand" and set(err.details["fields"]) == {"phone"}
    err = remote_error(staff.members.register_organisation, "wuma-3", "community", "无街道社区")
    assert err.exc_type == "InvalidCommand"
    err = remote_error(staff.members.get_member, "m-nobody")
    assert err.exc_type == "NotFound"
    err = remote_error(staff.members.close_organisation, "nowhere", "撤销")
    assert err.exc_type == "NotFound"
    err = remote_error(wang.members.set_point_rules, 2024, {"proposal_filed": 9})
    assert err.exc_type == "NotAllowed"
    err = remote_error(wang.members.get_dossier, "m-other")
    assert err.exc_type == "NotAllowed"
    assert store_of(members).head() == head


def lucheng_tree(staff) -> None:
    for command, args in lucheng.tree_commands():
        getattr(staff.members, command)(**args)


@pytest.mark.slow
def test_a_roster_imports_all_or_nothing_and_again_changes_nothing(members, rpc_as, config):
    staff = rpc_as(STAFF)
    lucheng_tree(staff)
    store = store_of(members)
    rows = lucheng.roster_rows()
    bad = [list(row) for row in rows]
    bad[12][rows[0].index("界别")] = "经济届"
    bad[40][rows[0].index("手机")] = "1390577"
    bad[41][rows[0].index("工作站")] = ""
    bad[41][rows[0].index("联系社区")] = "五马东门社区"
    head = store.head()
    err = remote_error(staff.members.import_roster, "名册.xlsx", b64(lucheng.to_xlsx(bad)))
    assert err.exc_type == "InvalidCommand" and "nothing was imported" in err.value
    # the title row is row 1 and the header row 2: data row i is spreadsheet row i + 2
    assert list(err.details["fields"]) == ["row 14, 界别", "row 42, 手机", "row 43, 联系社区"]
    assert all(cell in err.value for cell in err.details["fields"])   # one message names them all
    assert "1390577" not in err.value + repr(err.details)
    assert store.head() == head
    private = SqlContactBook(sqlite_engine(f"{config['XIESHANG_DATA_DIR']}/members/private.sqlite"))
    with private.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(private.rows)).scalar() == 0

    done = staff.members.import_roster("鹿城区政协委员名册.xlsx", b64(lucheng.to_xlsx(rows)))
    assert (len(done["appointed"]), done["changed"], done["unchanged"]) == (305, [], 0)
    cover = staff.members.coverage(after_position=done["position"])
    assert (cover["total"], cover["covered"], cover["uncovered"]) == (152, 152, [])
    assert private.get("LC-001").phone == "13905770000"

    head = store.head()
    again = staff.members.import_roster("鹿城区政协委员名册.xlsx", b64(lucheng.to_xlsx(rows)))
    as_csv = staff.members.import_roster("名册.csv", b64(lucheng.to_csv(rows, "gb18030")))
    for answer in (again, as_csv):
        assert (answer["appointed"], answer["changed"], answer["unchanged"], answer["member_events"]) == (
            [], [], 305, 0)
        assert (answer["recorded"], answer["events"]) == (False, [])
    assert store.head() == head

    rows[5][rows[0].index("手机")] = "13905779999"
    rows[6][rows[0].index("职务")] = "常委"
    rows[7][rows[0].index("手机")] = ""            # a blank cell keeps what the contact book holds
    changed = staff.members.import_roster("名册-修订.csv", b64(lucheng.to_csv(rows)))
    assert changed["changed"] == ["LC-005", "LC-006"] and changed["member_events"] == 2
    assert changed["events"] == ["RosterImported"] and changed["stream"] == f"rosterimport-{changed['digest'][:16]}"
    assert private.get("LC-007").phone == lucheng.members()[6].phone
    history = store.read_stream("member-LC-005")
    assert history[-1].type == "ContactDetailsChanged" and history[-1].data == {"member_id": "LC-005",
                                                                                "fields": ["phone"]}
    assert history[-1].reason.startswith("名册导入 名册-修订.csv")
    assert private.get("LC-005").phone == "13905779999"
    assert store.read_stream(f"rosterimport-{done['digest'][:16]}")[0].data["rows"] == 305
    private.close()


def test_contact_details_never_reach_the_bus_a_log_line_or_a_view(members, rpc_as, config, caplog):
    caplog.set_level(logging.DEBUG)
    secrets = ["13812345678", "wang.private@example.cn", "温州市鹿城区蝉街88号", "13977776666"]
    secrets += [value for m in lucheng.members()[:20] for value in (m.phone, m.email, m.address)]
    with Connection(config["AMQP_URI"]) as conn:
        spy = Queue(f"spy-{uuid.uuid4().hex[:8]}", exchange=get_event_exchange("members", config),
                    routing_key="#", durable=False, auto_delete=False)(conn.channel())
        spy.declare()
        staff, wang = rpc_as(STAFF), rpc_as(WANG)
        lucheng_tree(staff)
        staff.members.import_roster("名册.csv", b64(lucheng.to_csv(lucheng.roster_rows()[:21])))
        staff.members.appoint_member(WANG.user_id, "王丽", "经济界", "第十届", station="五马街道委员工作站",
                                     contact={"phone": "13812345678", "email": "wang.private@example.cn",
                                              "address": "温州市鹿城区蝉街88号"})
        wang.members.set_contact_details(WANG.user_id, phone="13977776666", email="wang.private@example.cn",
                                         address="温州市鹿城区蝉街88号")
        remote_error(wang.members.set_contact_details, WANG.user_id, phone="13977776666x")
        wait_until(lambda: relayed(members), what="the relay to publish every event")
        published = []
        while (message := spy.get(no_ack=True, accept=None)) is not None:
            published.append(_text(message.body) + repr(message.headers) + repr(message.properties))
        spy.delete()
    changes = [p for p in published if "ContactDetailsChanged" in p]
    assert len(published) == store_of(members).head() and len(changes) == 22
    for text in (*published, caplog.text, *(e.to_json().decode() for e in store_of(members).read_all())):
        leaked = [s for s in secrets if s in text]
        assert not leaked, [line for line in text.splitlines() if any(s in line for s in leaked)][:3]
    views = sqlite_engine(f"{config['XIESHANG_DATA_DIR']}/members/views.sqlite")
    everything = every_row_as_text(views)
    views.dispose()
    assert "LC-001" in everything and not [s for s in secrets if s in everything]

    # Only now read them back: a caller's nameko logs RPC replies at DEBUG (nameko.rpc), which is
    # the caller's business (keep nameko.rpc at INFO in production), not the service's.
    assert rpc_as(STAFF).members.get_contact_details(WANG.user_id)["phone"] == "13977776666"
    erased = rpc_as(STAFF).members.erase_contact_details(WANG.user_id, reason="委员申请删除联系方式")
    assert erased["event"] == "ContactDetailsErased"
    assert rpc_as(STAFF).members.get_contact_details(WANG.user_id)["phone"] is None


def test_an_erasure_says_why_and_leaves_the_number_in_no_file(members, rpc_as, config):
    """The erased values are in no file of the data directory while the service runs (the
    contact book's file and its -wal/-shm, the event log and the views with theirs)."""
    staff, wang = rpc_as(STAFF), rpc_as(WANG)
    secrets = ["13912340987", "13956785432", "erase.me.please@example.cn"]
    staff.members.register_organisation("s-jj", "sector", "经济界")
    staff.members.appoint_member(WANG.user_id, "王丽", "经济界", "第十届", contact={"phone": secrets[0]})
    wang.members.set_contact_details(WANG.user_id, phone=secrets[1], email=secrets[2])
    store = store_of(members)
    head = store.head()
    for reason in ("", "x"):   # an erasure says why: refused, nothing changes
        assert remote_error(staff.members.erase_contact_details, WANG.user_id,
                            reason=reason).exc_type == "InvalidCommand"
    assert store.head() == head and wang.members.get_contact_details(WANG.user_id)["phone"] == secrets[1]

    erased = wang.members.erase_contact_details(WANG.user_id, reason="本人申请删除联系方式")
    assert (erased["events"], erased["recorded"]) == (["ContactDetailsErased"], True)
    [event] = store.read_stream(f"member-{WANG.user_id}")[-1:]
    assert (event.type, event.data) == ("ContactDetailsErased", {
        "member_id": WANG.user_id, "fields": ["phone", "email"], "reason": "本人申请删除联系方式"})
    assert wang.members.get_contact_details(WANG.user_id) == {
        "member_id": WANG.user_id, "phone": None, "email": None, "address": None}
    again = staff.members.erase_contact_details(WANG.user_id, reason="再次删除")
    assert again["recorded"] is False   # nothing was kept

    data = Path(config["XIESHANG_DATA_DIR"])
    files = [p for p in data.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"private.sqlite", "private.sqlite-wal", "events.sqlite", "events.sqlite-wal"} <= names, names
    for path in files:
        content = path.read_bytes()
        assert not [s for s in secrets if s.encode() in content], path


@pytest.mark.slow
def test_points_from_activities_menus_and_a_rule_change(members, rpc_as):
    staff = rpc_as(STAFF)
    small_tree(staff)
    people = {"m-a": [], "m-b": ["standing_committee"], "m-c": []}
    for member_id, roles in people.items():
        staff.members.appoint_member(member_id, f"委员{member_id[-1]}", "经济界", "第十届", roles=roles)
    staff.members.appoint_member("m-d", "委员d", "教育界", "第十届")
    meeting = staff.members.record_activity("cwh-2024-03", "meeting", "常委会第三次会议", "2024-04-18",
                                            participants=["m-a", "m-b"], excused=["m-c"])
    staff.members.record_activity("insp-2024-05", "inspection", "视察老旧小区改造", "2024-05-09",
                                  participants=["m-a"])
    staff.members.publish_menu("menu-2024", 2024, "经济界履职菜单", sector="经济界", items=[
        {"item_id": "i1", "title": "助力经济稳进提质调研", "form": "research"},
        {"item_id": "i2", "title": "全域旅游环境整治协商", "form": "consultation"}])
    assert remote_error(rpc_as(Actor("m-d", "member", "教育界")).members.sign_up_for_menu, "menu-2024",
                        ["i1"]).exc_type == "InvalidCommand"
    # a standing committee member holds two items over the year, signing up one at a time
    m_b = rpc_as(Actor("m-b", "member", "经济界")).members
    first = m_b.sign_up_for_menu("menu-2024", ["i1"])
    assert first["event"] == "MenuSignedUp"
    menu = staff.members.get_menu("menu-2024")
    assert menu["short"] == ["m-a", "m-b", "m-c"]
    assert [(m["member_id"], m["items"], m["met"]) for m in menu["members"]][1] == ("m-b", ["i1"], False)
    # the credit is a reaction: the dossier read at the sign-up's position holds it
    [year] = m_b.get_dossier("m-b", after_position=first["position"])["years"]
    assert "menu:menu-2024:i1" in [e["credit_key"] for e in year["entries"]]
    m_b.sign_up_for_menu("menu-2024", ["i2"])
    rpc_as(Actor("m-a", "member", "经济界")).members.sign_up_for_menu("menu-2024", ["i2"])
    menu = staff.members.get_menu("menu-2024")
    assert menu["short"] == ["m-c"] and [m["minimum"] for m in menu["members"]] == [1, 2, 1]
    # the year's menus: those open to a sector, with what the member asking holds
    staff.members.publish_menu("menu-2024-all", 2024, "全体委员履职菜单", items=[
        {"item_id": "a1", "title": "民生实事协商", "form": "consultation"}])
    listed = m_b.list_menus(2024, sector="经济界", after_position=staff.members.health()["head"])
    assert [(m["menu_id"], m["mine"], m["signed_up"]) for m in listed["items"]] == [
        ("menu-2024-all", [], 0), ("menu-2024", ["i1", "i2"], 2)]
    assert listed["items"][1]["sector_name"] == "经济界" and listed["total"] == 2
    education = rpc_as(Actor("m-d", "member", "教育界")).members.list_menus(2024, sector="教育界")
    assert [m["menu_id"] for m in education["items"]] == ["menu-2024-all"]
    assert "mine" not in staff.members.list_menus(2024, q="经济")["items"][0]
    assert staff.members.list_menus(2025)["items"] == []

    def points(member_id):
        return staff.members.get_member(member_id)["points"]
    # defaults: meeting 1, inspection 2, menu sign-up 1 per item, excused 0
    wait_until(lambda: (points("m-a"), points("m-b")) == (4, 3), what="the activities' and menus' points")
    wait_until(lambda: len(staff.members.get_member("m-c")["ledger"]) == 1, what="the excused entry")
    [entry] = staff.members.get_member("m-c")["ledger"]
    assert (entry["activity"], entry["points"], entry["source_service"], entry["source_event_id"],
            entry["source_stream"]) == ("meeting_excused", 0, "members", meeting["event_id"],
                                        "activity-cwh-2024-03")

    assessed = staff.members.conclude_assessment("m-a", 2024, "commended", "履职突出")
    assert assessed["event"] == "AnnualAssessmentConcluded"
    assert remote_error(staff.members.conclude_assessment, "m-a", 2024, "normal").exc_type == "WrongState"
    rules = staff.members.set_point_rules(2024, {"meeting_attended": 3, "inspection_joined": 5,
                                                 "menu_signup": 2, "meeting_excused": 1},
                                          caps={"menu_signup": 2})
    # read right after the change, at its position: the ledgers are priced again by then
    at = rules["position"]
    dossier = rpc_as(Actor("m-a", "member", "经济界")).members.get_dossier("m-a", after_position=at)
    assert [staff.members.get_member(m, after_position=at)["points"] for m in ("m-a", "m-b", "m-c")] == [
        10, 5, 1]
    assert [(r["member_id"], r["points"]) for r in staff.members.ranking(2024, after_position=at)["items"]] == [
        ("m-a", 10), ("m-b", 5), ("m-c", 1), ("m-d", 0)]
    [year] = dossier["years"]
    assert (year["year"], year["rules_version"], year["total"]) == (2024, 1, 10)
    assert year["assessment"]["points"] == 4 and year["assessment"]["rules_version"] == 0   # as concluded
    [recomputed] = year["recomputations"]
    assert recomputed["total"] == 10 and {c["activity"] for c in recomputed["changes"]} == {
        "meeting_attended", "inspection_joined", "menu_signup"}
    assert {a["activity"]: (a["count"], a["counted"]) for a in year["activities"]} == {
        "meeting_attended": (1, 3), "inspection_joined": (1, 5), "menu_signup": (1, 2)}
    head = store_of(members).head()
    board = rpc_as(LEADER).members.ranking(2024, after_position=head)["items"]
    assert [(r["member_id"], r["points"], r["rank"], r["assessment"]) for r in board] == [
        ("m-a", 10, 1, "commended"), ("m-b", 5, 2, None), ("m-c", 1, 3, None), ("m-d", 0, 4, None)]
    assert rpc_as(LEADER).members.get_dossier("m-b", 2024)["years"][0]["total"] == 5
    public = rpc_as(Actor("m-b", "member", "经济界")).members.ranking(2024)["items"]
    assert [r["points"] for r in public] == [10, 5, 1, 0] and "assessment" not in public[0]


def _text(body) -> str:
    return body.decode() if isinstance(body, bytes) else str(body)


def test_every_command_answers_one_receipt_and_stamps_the_fixed_time(members, rpc_as):
    """Commands that record and commands that change nothing (repeated) answer the same receipt
    shape, with the stream's version; every event recorded, also by the service's own handlers,
    occurred at the container's fixed time."""
    staff = rpc_as(STAFF)
    roster = "姓名,界别,届次\n李明,经济界,第十届\n".encode()
    receipts = {
        "register": staff.members.register_organisation("s-jj", "sector", "经济界"),
        "appoint": staff.members.appoint_member(WANG.user_id, "王丽", "经济界", "第十届",
                                                contact={"phone": "13812345678"}),
        "same contact": staff.members.set_contact_details(WANG.user_id, phone="13812345678"),
        "same name": staff.members.rename_organisation("s-jj", "经济界"),
        "rules": staff.members.set_point_rules(2024, {"meeting_attended": 2}),
        "same rules": staff.members.set_point_rules(2024, {"meeting_attended": 2}),
        "activity": staff.members.record_activity("meet-1", "meeting", "常委会第一次会议", "2024-02-20",
                                                  participants=[WANG.user_id]),
        "import": staff.members.import_roster("名册.csv", b64(roster)),
        "same import": staff.members.import_roster("名册.csv", b64(roster)),
        "end": staff.members.end_term(WANG.user_id),
    }
    store = store_of(members)
    for what, receipt in receipts.items():
        assert set(Receipt.CORE) <= set(receipt), what
        assert type(receipt["version"]) is int and receipt["version"] >= 1, (what, receipt)
    for what in ("same contact", "same name", "same rules", "same import"):
        receipt = receipts[what]
        assert (receipt["recorded"], receipt["event"], receipt["event_id"], receipt["events"]) == (
            False, None, None, []), what
    assert receipts["same contact"]["version"] == receipts["appoint"]["version"] == 2
    assert receipts["same name"]["version"] == receipts["register"]["version"] == 1
    assert receipts["same rules"]["version"] == receipts["rules"]["version"] == 1
    assert receipts["same rules"]["rules"]["points"] == {"meeting_attended": 2}
    assert receipts["same import"]["version"] == receipts["import"]["version"] == 1
    assert (receipts["import"]["appointed"], receipts["same import"]["unchanged"]) == (
        receipts["import"]["appointed"], 1) and len(receipts["import"]["appointed"]) == 1
    assert receipts["end"]["member_id"] == WANG.user_id and receipts["activity"]["activity_id"] == "meet-1"

    wait_until(lambda: store.stream_version(f"ledger-{WANG.user_id}") == 1, what="the meeting's credit")
    at = datetime.fromisoformat(FIXED)
    recorded = store.read_all()
    assert {e.type for e in recorded} >= {"OrganisationRegistered", "MemberAppointed", "ContactDetailsChanged",
                                          "PointRulesSet", "ActivityRecorded", "DutyPointsAwarded",
                                          "RosterImported", "MemberTermEnded"}
    assert [e.type for e in recorded if e.occurred_at != at] == []
