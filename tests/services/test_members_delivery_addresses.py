"""Organisations' contact details and where notices are delivered (``delivery_addresses``),
through the members service on the real RabbitMQ: staff keep a handling unit's or the committee
office's phone and mailbox in the private contact book; the notify service, acting as
``system``, asks for members' and organisations' e-mail or mobile numbers. No value reaches an
event, the bus, a log line, a view or (once erased) a file."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy

from services.members.domain import MAX_DELIVERY_IDS
from xieshang.kernel.envelope import Actor
from xieshang.kernel.store.sql import sqlite_engine

from ..support.views import every_row_as_text
from .conftest import MEMBER, STAFF, UNIT, store_of, wait_until
from .test_members_service import members, remote_error  # noqa: F401 - the fixture, and its refusal helper

pytestmark = [pytest.mark.rabbit]

NOTIFY = Actor("notify", "system", "notify")
AUDITOR = Actor("auditor-001", "auditor", "audit-office")


def a_tree(staff) -> None:
    staff.members.register_organisation("lc", "committee", "鹿城区政协", level="county")
    staff.members.register_organisation("lc-office", "handling_unit", "鹿城区政协办公室", parent="lc")
    staff.members.register_organisation("s-jj", "sector", "经济界", parent="lc")
    staff.members.register_organisation("mzj", "handling_unit", "区民政局", parent="lc")
    staff.members.register_organisation("jtj", "handling_unit", "区交通局", parent="lc")


def last_event(container, stream: str):
    return store_of(container).read_stream(stream)[-1]


def test_staff_keep_an_organisations_phone_and_mailbox(members, rpc_as):
    staff = rpc_as(STAFF)
    a_tree(staff)
    store = store_of(members)
    receipt = staff.members.set_organisation_contact("mzj", phone="0577-88881234", email="mzj-office@example.cn")
    assert (receipt["org_id"], receipt["events"], receipt["recorded"]) == ("mzj", ["OrganisationContactChanged"], True)
    event = last_event(members, "org-mzj")
    assert (event.type, event.data) == ("OrganisationContactChanged", {"org_id": "mzj", "fields": ["phone", "email"]})
    assert staff.members.get_organisation_contact("mzj") == {
        "org_id": "mzj", "phone": "0577-88881234", "email": "mzj-office@example.cn"}
    assert staff.members.get_organisation("mzj")["name"] == "区民政局"   # the organisation is as it was

    again = staff.members.set_organisation_contact("mzj", phone="0577-88881234", email="mzj-office@example.cn")
    assert (again["recorded"], again["event"], again["version"]) == (False, None, receipt["version"])
    changed = staff.members.set_organisation_contact("mzj", phone="0577-88881234", email="mzj@example.cn")
    assert last_event(members, "org-mzj").data == {"org_id": "mzj", "fields": ["email"]}
    assert changed["version"] == receipt["version"] + 1

    # refusals name the field (Chinese and English) or the missing right, and change nothing
    head = store.head()
    for actor in (MEMBER, UNIT, AUDITOR):
        for call, args in ((rpc_as(actor).members.set_organisation_contact, {"phone": "13812345678"}),
                           (rpc_as(actor).members.erase_organisation_contact, {"reason": "单位撤并"}),
                           (rpc_as(actor).members.get_organisation_contact, {})):
            assert remote_error(call, "mzj", **args).exc_type == "NotAllowed"
    unknown = remote_error(staff.members.set_organisation_contact, "no-such-unit", email="x@example.cn")
    assert unknown.exc_type == "InvalidCommand" and list(unknown.details["fields"]) == ["org_id"]
    assert "no-such-unit" in unknown.value and "没有登记组织" in unknown.details["message_zh"]
    for err in (remote_error(staff.members.get_organisation_contact, "no-such-unit"),
                remote_error(staff.members.erase_organisation_contact, "no-such-unit", reason="无此单位")):
        assert (err.exc_type, list(err.details["fields"])) == ("InvalidCommand", ["org_id"])
    bad = remote_error(staff.members.set_organisation_contact, "mzj", phone="0577-8888", email="mzj-at-example")
    assert bad.exc_type == "InvalidCommand" and set(bad.details["fields"]) == {"phone", "email"}
    assert "0577-8888" not in bad.value + repr(bad.details) and "mzj-at-example" not in bad.value + repr(bad.details)
    emptied = remote_error(staff.members.set_organisation_contact, "mzj")
    assert emptied.exc_type == "InvalidCommand" and set(emptied.details["fields"]) == {"phone", "email"}
    bad_id = remote_error(staff.members.set_organisation_contact, "bad id!", email="x@example.cn")
    assert list(bad_id.details["fields"]) == ["org_id"]
    for reason in ("", "x"):
        err = remote_error(staff.members.erase_organisation_contact, "mzj", reason=reason)
        assert (err.exc_type, list(err.details["fields"])) == ("InvalidCommand", ["reason"])
    assert store.head() == head and staff.members.get_organisation_contact("mzj")["email"] == "mzj@example.cn"

    erased = staff.members.erase_organisation_contact("mzj", reason="单位更换办公电话和邮箱")
    assert (erased["events"], erased["recorded"]) == (["OrganisationContactErased"], True)
    assert last_event(members, "org-mzj").data == {"org_id": "mzj", "fields": ["phone", "email"],
                                                   "reason": "单位更换办公电话和邮箱"}
    assert staff.members.get_organisation_contact("mzj") == {"org_id": "mzj", "phone": None, "email": None}
    assert staff.members.erase_organisation_contact("mzj", reason="再次删除")["recorded"] is False

    # a closed organisation's details can be read and erased, no longer set
    staff.members.set_organisation_contact("jtj", email="jtj-office@example.cn")
    staff.members.close_organisation("jtj", "机构改革撤并")
    closed = remote_error(staff.members.set_organisation_contact, "jtj", email="new@example.cn")
    assert (closed.exc_type, list(closed.details["fields"])) == ("InvalidCommand", ["org_id"])
    assert "closed" in closed.value and "已撤销" in closed.details["message_zh"]
    assert staff.members.get_organisation_contact("jtj")["email"] == "jtj-office@example.cn"
    assert staff.members.erase_organisation_contact("jtj", reason="单位已撤销")["event"] == "OrganisationContactErased"
    assert staff.members.get_organisation_contact("jtj")["email"] is None


def test_where_notices_reach_members_and_organisations(members, rpc_as):
    staff, notify = rpc_as(STAFF), rpc_as(NOTIFY)
    a_tree(staff)
    staff.members.appoint_member("m-mobile", "王丽", "经济界", "第十届",
                                 contact={"phone": "+86 138-1234-5678", "email": "wangli@example.cn"})
    staff.members.appoint_member("m-landline", "李明", "经济界", "第十届", contact={"phone": "0577-88776655"})
    staff.members.appoint_member("m-none", "张华", "经济界", "第十届")
    staff.members.appoint_member("m-ended", "陈静", "经济界", "第十届",
                                 contact={"phone": "13911112222", "email": "chen@example.cn"})
    staff.members.end_term("m-ended")
    staff.members.appoint_member("m-resigned", "赵强", "经济界", "第十届", contact={"email": "zhao@example.cn"})
    staff.members.resign_member("m-resigned", "工作调动")
    staff.members.appoint_member("m-erased", "刘洋", "经济界", "第十届", contact={"email": "liu@example.cn"})
    staff.members.erase_contact_details("m-erased", reason="本人申请删除联系方式")
    staff.members.set_organisation_contact("mzj", phone="13700001111", email="mzj-office@example.cn")
    staff.members.set_organisation_contact("lc-office", phone="0577-88990000", email="office@example.cn")
    staff.members.set_organisation_contact("jtj", email="jtj-office@example.cn")
    staff.members.close_organisation("jtj", "机构改革撤并")

    ids = ["m-mobile", "m-landline", "m-none", "m-ended", "m-resigned", "m-erased", "mzj", "lc-office",
           "jtj", "s-jj", "nobody-at-all"]
    assert notify.members.delivery_addresses(ids, "email") == {
        "m-mobile": "wangli@example.cn", "m-landline": None, "m-none": None, "m-ended": None,
        "m-resigned": None, "m-erased": None, "mzj": "mzj-office@example.cn", "lc-office": "office@example.cn",
        "jtj": None, "s-jj": None, "nobody-at-all": None}
    assert notify.members.delivery_addresses(ids, "sms") == {
        "m-mobile": "13812345678", "m-landline": None, "m-none": None, "m-ended": None, "m-resigned": None,
        "m-erased": None, "mzj": "13700001111", "lc-office": None, "jtj": None, "s-jj": None,
        "nobody-at-all": None}
    assert notify.members.delivery_addresses([], "email") == {}
    many = [f"m-{n}" for n in range(MAX_DELIVERY_IDS - 1)] + ["m-mobile"]
    assert notify.members.delivery_addresses(many, "email")["m-mobile"] == "wangli@example.cn"

    # what changes is seen at once: a new number, an erasure, a closure
    staff.members.set_contact_details("m-mobile", phone="13800009999")
    staff.members.erase_organisation_contact("lc-office", reason="办公室邮箱停用")
    staff.members.close_organisation("mzj", "机构改革撤并")
    assert notify.members.delivery_addresses(["m-mobile", "lc-office", "mzj"], "sms") == {
        "m-mobile": "13800009999", "lc-office": None, "mzj": None}
    assert notify.members.delivery_addresses(["m-mobile"], "email") == {"m-mobile": None}


def test_only_the_system_asks_where_notices_go(members, rpc_as, config):
    staff = rpc_as(STAFF)
    a_tree(staff)
    staff.members.appoint_member("m-mobile", "王丽", "经济界", "第十届", contact={"phone": "13812345678"})
    for actor in (STAFF, MEMBER, UNIT, AUDITOR, Actor("m-mobile", "member", "经济界")):
        err = remote_error(rpc_as(actor).members.delivery_addresses, ["m-mobile"], "sms")
        assert err.exc_type == "NotAllowed" and "system" in err.value and "系统" in err.details["message_zh"]
        # the right first: a caller without it learns nothing from the arguments either
        assert remote_error(rpc_as(actor).members.delivery_addresses, ["m-mobile"], "fax").exc_type == "NotAllowed"
    with ClusterRpcProxy(config, timeout=15) as anonymous:   # no actor in the context at all
        assert remote_error(anonymous.members.delivery_addresses, ["m-mobile"], "sms").exc_type == "NotAllowed"

    notify = rpc_as(NOTIFY)
    for args, field in ((["m-mobile"], "fax"), "channel"), \
                       (([f"m-{n}" for n in range(MAX_DELIVERY_IDS + 1)], "email"), "party_ids"), \
                       ((["m-mobile", "not an id"], "email"), "party_ids"), \
                       (("m-mobile", "email"), "party_ids"):
        err = remote_error(notify.members.delivery_addresses, *args)
        assert (err.exc_type, list(err.details["fields"])) == ("InvalidCommand", [field]), args
        assert err.details["message_zh"] and err.value


def test_no_value_reaches_an_event_the_bus_a_log_line_a_view_or_an_erased_file(members, rpc_as, config, caplog):
    caplog.set_level(logging.DEBUG)
    # as in production (infra/nameko.yaml): at DEBUG nameko.rpc logs the replies a *caller* gets,
    # and this test is the notify service's caller
    caplog.set_level(logging.INFO, logger="nameko.rpc")
    kept = ["13812345678", "wang.private@example.cn", "13700001111", "mzj.private@example.cn",
            "0577-88990011", "office.private@example.cn"]
    erased = ["13755554444", "jtj.erased@example.cn"]
    refused = ["0577-12x", "not-an-address"]
    with Connection(config["AMQP_URI"]) as conn:
        spy = Queue(f"spy-{uuid.uuid4().hex[:8]}", exchange=get_event_exchange("members", config),
                    routing_key="#", durable=False, auto_delete=False)(conn.channel())
        spy.declare()
        staff, notify = rpc_as(STAFF), rpc_as(NOTIFY)
        a_tree(staff)
        staff.members.appoint_member("m-wang", "王丽", "经济界", "第十届",
                                     contact={"phone": kept[0], "email": kept[1]})
        staff.members.set_organisation_contact("mzj", phone=kept[2], email=kept[3])
        staff.members.set_organisation_contact("lc-office", phone=kept[4], email=kept[5])
        staff.members.set_organisation_contact("jtj", phone=erased[0], email=erased[1])
        remote_error(staff.members.set_organisation_contact, "mzj", phone=refused[0], email=refused[1])
        staff.members.erase_organisation_contact("jtj", reason="单位申请删除联系方式")
        asked = ["m-wang", "mzj", "lc-office", "jtj"]
        assert notify.members.delivery_addresses(asked, "email") == dict(zip(asked, [kept[1], kept[3], kept[5], None]))
        assert notify.members.delivery_addresses(asked, "sms") == dict(zip(asked, [kept[0], kept[2], None, None]))
        remote_error(rpc_as(STAFF).members.delivery_addresses, ["m-wang", "mzj"], "email")
        wait_until(lambda: store_of(members).get_checkpoint("relay:members.events") >= store_of(members).head(),
                   what="the relay to publish every event")
        published = []
        while (message := spy.get(no_ack=True, accept=None)) is not None:
            body = message.body.decode() if isinstance(message.body, bytes) else str(message.body)
            published.append(body + repr(message.headers) + repr(message.properties))
        spy.delete()
    store = store_of(members)
    events = [e.to_json().decode() for e in store.read_all()]
    assert len(published) == store.head()
    assert sum("OrganisationContactChanged" in p for p in published) == 3
    assert sum("OrganisationContactErased" in p for p in published) == 1
    secrets = kept + erased + refused
    for text in (*published, caplog.text, *events):
        leaked = [s for s in secrets if s in text]
        assert not leaked, [line for line in text.splitlines() if any(s in line for s in leaked)][:3]
    views = sqlite_engine(f"{config['XIESHANG_DATA_DIR']}/members/views.sqlite")
    everything = every_row_as_text(views)
    views.dispose()
    assert "mzj" in everything and not [s for s in secrets if s in everything]

    # the erased values are in no file of the data directory (searched while the service runs)
    files = [p for p in Path(config["XIESHANG_DATA_DIR"]).rglob("*") if p.is_file()]
    assert {"private.sqlite", "private.sqlite-wal"} <= {p.name for p in files}
    for path in files:
        content = path.read_bytes()
        assert not [s for s in erased if s.encode() in content], path
