"""Notifications 通知 through the HTTP API, on the real RabbitMQ (issue 14): a member reads their
inbox and marks notices read, a unit's people read their unit's, another member is refused;
preferences round-trip, staff set the committee's default; following needs a published case;
a mail the unit's mailbox refuses is listed as undeliverable for staff and auditors and sent
when staff try again (a local SMTP server); an organisation's contact details are staff's to
keep and appear in no log, event or answer of notify. And schemathesis over the notification
routes.

Only HTTP: every step and every read goes through the gateway. Notices are queued by the notify
service's reactions to the proposals service's events (another log), so an inbox is polled until
the notice is in it; a read after a notify command waits for the command's position."""

from __future__ import annotations

import logging
import typing

import pytest

from services.gateway import api
from services.members.service import MembersService
from services.notify import domain as notify_domain
from services.notify.service import NotifyService
from services.proposals.service import ProposalsService
from tests.support.mail import LocalSmtpServer

from .conftest import store_of, wait_until
from .test_gateway_http import (START, SUBMISSION, TREE, Client, fuzz, ok, open_accounts,
                                refused, start_gateway)
from .test_proposals_directory import seed_directory

EN = {"Accept-Language": "en-US,en;q=0.9"}
USERS = {  # name -> (user id, role, organisation)
    "staff": ("staff-01", "staff", "proposal-committee"),
    "member": ("m-001", "member", "经济界"),
    "other member": ("m-002", "member", "教育界"),
    "unit": ("u-mzj-01", "unit", "mzj"),
    "auditor": ("audit-01", "auditor", "inspection"),
    "public": ("resident-01", "public", "public"),
}
UNIT = ("/api/organisations", {"org_id": "mzj", "kind": "handling_unit", "name": "市民政局", "parent": "lc"})
OFFICE_CONTACT = {"phone": "13912345678", "email": "office@mzj.example.cn"}
INBOX = "/api/notifications"


@pytest.fixture
def smtp():
    """A local mail server the notify service sends e-mail to."""
    with LocalSmtpServer() as server:
        yield server


@pytest.fixture
def gateway(container_factory, config, smtp):
    """The proposals, members, notify (sending e-mail to ``smtp``) and gateway services on the
    test's own vhost, the committee's tree with the handling unit, and one account (signed in)
    per person of USERS."""
    fixed = {**config, "XIESHANG_FIXED_TIME": START}
    proposals = container_factory(ProposalsService, fixed)
    proposals.start()
    seed_directory(proposals, members=[("m-001", "王丽"), ("m-002", "李明")], units=[("mzj", "市民政局")])
    members = container_factory(MembersService, fixed)
    members.start()
    notify = container_factory(NotifyService, {**fixed, "XIESHANG_SMTP_HOST": smtp.host,
                                               "XIESHANG_SMTP_PORT": str(smtp.port)})
    notify.start()
    client = start_gateway(container_factory, fixed)
    open_accounts(client, USERS)
    for path, body in [*TREE, UNIT]:
        made = client.call("POST", path, "staff", json=body)
        assert made.status_code == 201, made.text
    client.proposals, client.members, client.notify = proposals, members, notify
    return client


# -- steps ---------------------------------------------------------------------------------------

def invalid(answer, *fields: str) -> dict:
    """A 422 naming exactly ``fields``."""
    problem = refused(answer, 422)
    assert {p["name"] for p in problem["invalid_params"]} == set(fields), problem
    return problem


def filed_case(client: Client, consent: bool = True) -> str:
    """A proposal of the member (m-001), filed by staff."""
    pid = ok(client.call("POST", "/api/proposals", "member",
                         json={**SUBMISSION, "publish_consent": consent}), 201)["proposal_id"]
    ok(client.call("POST", f"/api/proposals/{pid}/file", "staff", json={}))
    return pid


def inbox(client: Client, role: str, **params) -> dict:
    return ok(client.call("GET", INBOX, role, params=params))


def notices_about(client: Client, role: str, pid: str, count: int = 1, **params) -> list[dict]:
    """The notices of ``role``'s inbox (or ``user``'s) about case ``pid``, once there are ``count``."""
    return wait_until(lambda: (lambda items: items if len(items) >= count else None)(
        inbox(client, role, subject=f"proposal-{pid}", **params)["items"]),
        timeout=15, what=f"{count} notice(s) about {pid} for {role}")


def unread(client: Client, role: str, **params) -> int:
    return ok(client.call("GET", f"{INBOX}/unread-count", role, params=params))["unread"]


def preferences(client: Client, role: str, **params) -> dict:
    return ok(client.call("GET", "/api/notification-preferences", role, params=params))


# -- the inbox -------------------------------------------------------------------------------------

def test_a_member_reads_their_inbox_and_the_unread_count_falls_once_they_mark_it_read(gateway):
    pid = filed_case(gateway)
    [notice] = notices_about(gateway, "member", pid)
    assert notice["subject"] == f"proposal-{pid}" and notice["read_at"] is None
    assert notice["title"] and notice["body"] and notice["kind"] and notice["queued_at"]
    page = inbox(gateway, "member")
    assert page["unread"] >= 1 and notice["notification_id"] in [n["notification_id"] for n in page["items"]]
    before = unread(gateway, "member")
    assert before == page["unread"]
    assert ok(gateway.call("GET", f"{INBOX}/unread-count", "member"))["user_id"] == "m-001"

    marked = ok(gateway.call("POST", f"{INBOX}/read", "member",
                             json={"notification_ids": [notice["notification_id"]]}))
    assert marked["marked"] == 1 and marked["events"], marked
    after = unread(gateway, "member", wait_for=marked["position"])
    assert after == before - 1
    [seen] = inbox(gateway, "member", subject=f"proposal-{pid}", wait_for=marked["position"])["items"]
    assert seen["read_at"] is not None
    assert notice["notification_id"] not in [
        n["notification_id"] for n in inbox(gateway, "member", unread="true")["items"]]
    again = ok(gateway.call("POST", f"{INBOX}/read", "member",
                            json={"notification_ids": [notice["notification_id"]]}))
    assert again["marked"] == 0 and unread(gateway, "member", wait_for=again["position"]) == after
    # staff (to help a member who calls) and auditors read it too
    for role in ("staff", "auditor"):
        assert notice["notification_id"] in [n["notification_id"] for n in inbox(
            gateway, role, user="m-001", subject=f"proposal-{pid}")["items"]]


def test_the_inbox_pages_newest_first(gateway):
    first, second = filed_case(gateway), filed_case(gateway)
    notices_about(gateway, "member", first)
    notices_about(gateway, "member", second)
    one = inbox(gateway, "member", limit=1)
    assert len(one["items"]) == 1 and one["next_cursor"]
    two = inbox(gateway, "member", limit=1, cursor=one["next_cursor"])
    assert two["items"][0]["notification_id"] != one["items"][0]["notification_id"]
    assert [n["subject"] for n in (*one["items"], *two["items"])] == [f"proposal-{second}",
                                                                     f"proposal-{first}"]
    invalid(gateway.call("GET", INBOX, "member", params={"limit": 0}), "limit")
    invalid(gateway.call("GET", INBOX, "member", params={"unread": "perhaps"}), "unread")
    invalid(gateway.call("GET", INBOX, "member", params={"user": "not an id"}), "user")
    assert refused(gateway.call("GET", INBOX, "member", params={"cursor": "x!"}), 422)


def test_a_units_people_read_their_units_inbox(gateway):
    pid = filed_case(gateway)
    ok(gateway.call("POST", f"/api/proposals/{pid}/assignment", "staff", json={"lead_unit": "mzj"}))
    [notice] = notices_about(gateway, "unit", pid, user="mzj")
    assert notice["subject"] == f"proposal-{pid}"
    assert unread(gateway, "unit", user="mzj") >= 1
    marked = ok(gateway.call("POST", f"{INBOX}/read", "unit",
                             json={"user": "mzj", "notification_ids": [notice["notification_id"]]}))
    assert marked["marked"] == 1
    # the member is not told of the unit's notice, nor the unit of the member's
    assert notice["notification_id"] not in [n["notification_id"] for n in inbox(gateway, "member")["items"]]
    refused(gateway.call("GET", INBOX, "unit", params={"user": "m-001"}), 403)


def test_another_member_is_refused_the_inbox_naming_the_right(gateway):
    pid = filed_case(gateway)
    [notice] = notices_about(gateway, "member", pid)
    calls = [("GET", INBOX, {"params": {"user": "m-001"}}),
             ("GET", f"{INBOX}/unread-count", {"params": {"user": "m-001"}}),
             ("POST", f"{INBOX}/read", {"json": {"user": "m-001",
                                                 "notification_ids": [notice["notification_id"]]}}),
             ("GET", "/api/notification-preferences", {"params": {"user": "m-001"}}),
             ("PUT", "/api/notification-preferences", {"json": {"user": "m-001", "kind": "*",
                                                                "channels": ["inbox"]}})]
    for method, path, kw in calls:
        zh = refused(gateway.call(method, path, "other member", **kw), 403)
        assert zh["code"] == "not_allowed" and zh["missing"] and zh["missing_zh"], zh
        en = gateway.call(method, path, "other member", headers=EN, **kw).json()
        assert en["detail"] == en["detail_en"] == zh["detail_en"], en
    # nothing was marked read for them
    assert [n["read_at"] for n in notices_about(gateway, "member", pid)] == [None]
    # the gateway itself turns away those who have no inbox at all
    denied = refused(gateway.call("GET", INBOX, "admin"), 403)
    assert "one of the roles" in denied["missing"] and "无权查看通知" in denied["detail"]
    assert refused(gateway.call("GET", INBOX), 401)


# -- preferences ---------------------------------------------------------------------------------

def test_preferences_round_trip_and_bad_fields_are_named(gateway):
    known = preferences(gateway, "member")
    assert known["user_id"] == "m-001" and known["kinds_known"]
    kind = known["kinds_known"][0]
    assert known["kinds"][kind]["source"] == "default"
    wanted = {"kind": kind, "channels": ["inbox", "sms"], "cadence": "daily", "quiet_hours": "22:00-07:00",
              "locale": "en"}
    done = ok(gateway.call("PUT", "/api/notification-preferences", "member", json=wanted))
    assert done["events"] == ["NoticePreferenceSet"], done
    mine = preferences(gateway, "member")["kinds"][kind]
    assert {k: mine[k] for k in ("channels", "cadence", "quiet_hours", "locale", "source")} == {
        "channels": ["inbox", "sms"], "cadence": "daily", "quiet_hours": "22:00-07:00", "locale": "en",
        "source": "own"}
    # every kind at once, and the other member's stay as they were
    ok(gateway.call("PUT", "/api/notification-preferences", "member",
                    json={"kind": "*", "channels": ["inbox"], "cadence": "weekly"}))
    assert preferences(gateway, "other member")["kinds"][kind]["source"] == "default"
    # staff read a member's preferences (to help them)
    assert preferences(gateway, "staff", user="m-001")["kinds"][kind]["cadence"] == "daily"

    path = "/api/notification-preferences"
    invalid(gateway.call("PUT", path, "member", json={**wanted, "quiet_hours": "25:00-07:00"}), "quiet_hours")
    invalid(gateway.call("PUT", path, "member", json={**wanted, "channels": ["fax"]}), "channels.0")
    invalid(gateway.call("PUT", path, "member", json={**wanted, "cadence": "hourly"}), "cadence")
    invalid(gateway.call("PUT", path, "member", json={**wanted, "locale": "fr"}), "locale")
    invalid(gateway.call("PUT", path, "member", json={**wanted, "colour": "blue"}), "colour")
    invalid(gateway.call("PUT", path, "member", json={"channels": ["inbox"]}), "kind")
    unknown = refused(gateway.call("PUT", path, "member", json={**wanted, "kind": "no_such_kind"}), 422)
    assert [p["name"] for p in unknown["invalid_params"]] == ["kind"], unknown
    assert refused(gateway.call("PUT", path, "member", data=b"[]",
                                headers={"Content-Type": "application/json"}), 400)


def test_staff_set_the_committees_default_and_a_members_own_choice_wins(gateway):
    kind = preferences(gateway, "member")["kinds_known"][0]
    path = "/api/notification-preferences/committee"
    denied = refused(gateway.call("PUT", path, "member", json={"kind": kind, "channels": ["inbox"]}), 403)
    assert "staff" in denied["missing"] and "工作人员" in denied["detail"]
    done = ok(gateway.call("PUT", path, "staff", json={"kind": kind, "channels": ["inbox"], "cadence": "weekly"}))
    assert done["events"] == ["NoticePreferenceSet"]
    theirs = preferences(gateway, "other member")["kinds"][kind]
    assert (theirs["source"], theirs["cadence"], theirs["channels"]) == ("committee", "weekly", ["inbox"])
    ok(gateway.call("PUT", "/api/notification-preferences", "other member",
                    json={"kind": kind, "channels": ["inbox", "email"]}))
    theirs = preferences(gateway, "other member")["kinds"][kind]
    assert (theirs["source"], theirs["channels"]) == ("own", ["inbox", "email"])
    invalid(gateway.call("PUT", path, "staff", json={"kind": kind, "channels": ["inbox"], "user": "m-001"}),
            "user")


# -- following a published case -----------------------------------------------------------------

def test_following_is_refused_for_an_unpublished_proposal(gateway):
    pid = filed_case(gateway)
    path = f"/api/proposals/{pid}/follow"
    unpublished = gateway.call("POST", path, "public", json={})
    assert unpublished.status_code in (403, 409, 422), unpublished.text
    problem = refused(unpublished, unpublished.status_code)
    assert problem["detail_zh"] and "follow" in problem["detail_en"]
    published = ok(gateway.call("POST", f"/api/proposals/{pid}/publication", "staff", json={}))
    assert published["events"] == ["ProposalPublished"]
    followed = wait_until(lambda: (lambda a: a if a.status_code == 200 else None)(
        gateway.call("POST", path, "public")), timeout=15, what="the publication reaching notify")
    assert followed.json()["events"] == ["ProposalFollowed"]
    assert ok(gateway.call("POST", path, "public"))["events"] == []  # following again changes nothing
    assert ok(gateway.call("POST", path, "other member"))["events"] == ["ProposalFollowed"]
    assert ok(gateway.call("DELETE", path, "public"))["events"] == ["ProposalUnfollowed"]
    assert refused(gateway.call("POST", path, "admin"), 403)
    assert refused(gateway.call("POST", path, "public", json={"colour": "blue"}), 400)


# -- deliveries: staff and auditors -------------------------------------------------------------

def undeliverable(client: Client, role: str = "staff", **params) -> dict:
    return ok(client.call("GET", f"{INBOX}/undeliverable", role, params=params))


def test_a_notice_given_up_on_is_listed_for_staff_and_sent_when_they_try_again(gateway, smtp):
    ok(gateway.call("PUT", "/api/organisations/mzj/contact", "staff", json={"email": OFFICE_CONTACT["email"]}))
    pid = filed_case(gateway)
    smtp.fail_next(1, 550)  # the unit's mailbox refuses the first mail: no retry will help
    ok(gateway.call("POST", f"/api/proposals/{pid}/assignment", "staff", json={"lead_unit": "mzj"}))
    [notice] = notices_about(gateway, "unit", pid, user="mzj")
    nid = notice["notification_id"]
    given_up = wait_until(lambda: next((i for i in undeliverable(gateway)["items"]
                                        if i["notification_id"] == nid), None),
                          timeout=15, what="the refused mail in the undeliverable list")
    assert (given_up["channel"], given_up["recipient"], given_up["attempts"]) == ("email", "mzj", 1)
    assert given_up["title"] == notice["title"] and given_up["given_up_at"]
    record = ok(gateway.call("GET", f"{INBOX}/{nid}/deliveries", "auditor"))
    assert record["channels"]["email"]["state"] == "undeliverable" and record["channels"]["email"]["attempts"]
    # the member has no address kept: skipped, listed when asked for
    assert any(i["recipient"] == "m-001" for i in undeliverable(gateway, "auditor", include_skipped="true")["items"])
    assert not any(i["recipient"] == "m-001" for i in undeliverable(gateway)["items"])

    retry = f"{INBOX}/{nid}/deliveries/email/retry"
    assert "staff" in refused(gateway.call("POST", retry, "auditor", json={}), 403)["missing"]
    invalid(gateway.call("POST", f"{INBOX}/{nid}/deliveries/fax/retry", "staff", json={}), "channel")
    again = ok(gateway.call("POST", retry, "staff", json={"reason": "单位邮箱已恢复"}))
    assert again["events"] == ["DeliveryRetryRequested"], again
    [mail] = smtp.wait_for(1, timeout=15)
    assert mail["To"] == OFFICE_CONTACT["email"] and mail["Subject"] == notice["title"]
    wait_until(lambda: ok(gateway.call("GET", f"{INBOX}/{nid}/deliveries", "staff"))["channels"]["email"][
        "state"] == "sent", timeout=15, what="the delivery recorded as sent")
    assert nid not in [i["notification_id"] for i in undeliverable(gateway)["items"]]
    assert refused(gateway.call("POST", retry, "staff", json={}), 409)  # sent: nothing to try again
    # no answer, no event of the notify service holds the address
    answers = str([undeliverable(gateway, include_skipped="true"),
                   ok(gateway.call("GET", f"{INBOX}/{nid}/deliveries", "staff"))])
    recorded = str([e.data for e in store_of(gateway.notify).read_all()])
    assert OFFICE_CONTACT["email"] not in answers + recorded


def test_the_undeliverable_list_and_the_delivery_records_are_for_staff_and_auditors(gateway):
    pid = filed_case(gateway)
    [notice] = notices_about(gateway, "member", pid)
    nid = notice["notification_id"]
    for role in ("staff", "auditor"):
        page = undeliverable(gateway, role, limit=1)
        assert isinstance(page["items"], list) and page["total"] >= 0
        record = ok(gateway.call("GET", f"{INBOX}/{nid}/deliveries", role))
        assert record["notification_id"] == nid and isinstance(record["channels"], dict)
    for role in ("member", "unit", "public", "other member"):
        for path in (f"{INBOX}/undeliverable", f"{INBOX}/{nid}/deliveries"):
            denied = refused(gateway.call("GET", path, role), 403)
            assert "one of the roles auditor, staff" == denied["missing"], denied
        assert refused(gateway.call("POST", f"{INBOX}/{nid}/deliveries/email/retry", role, json={}), 403)
    invalid(gateway.call("GET", f"{INBOX}/undeliverable", "staff", params={"limit": 501}), "limit")
    invalid(gateway.call("GET", f"{INBOX}/undeliverable", "staff", params={"user": "m-001"}), "user")


# -- an organisation's contact details -------------------------------------------------------------

def test_an_organisations_contact_details_are_staffs_to_keep_and_never_logged(gateway, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="nameko.rpc")  # as infra/nameko.yaml keeps it
    path = "/api/organisations/mzj/contact"
    for role in ("unit", "member", "auditor"):
        assert refused(gateway.call("PUT", path, role, json=OFFICE_CONTACT), 403)
    kept = ok(gateway.call("PUT", path, "staff", json=OFFICE_CONTACT))
    assert kept["events"] == ["OrganisationContactChanged"], kept
    seen = gateway.call("GET", path, "staff")
    assert ok(seen) == {"org_id": "mzj", **OFFICE_CONTACT} and seen.headers["Cache-Control"] == "no-store"
    for role in ("unit", "member", "auditor", "public"):
        assert not any(v in refused(gateway.call("GET", path, role), 403)["detail_en"]
                       for v in OFFICE_CONTACT.values())
    bad = invalid(gateway.call("PUT", path, "staff", json={"phone": "12345"}), "phone")
    assert "12345" not in str(bad)
    invalid(gateway.call("PUT", path, "staff", json={**OFFICE_CONTACT, "fax": "0577-1"}), "fax")
    invalid(gateway.call("DELETE", path, "staff", json={}), "reason")
    erased = ok(gateway.call("DELETE", path, "staff", json={"reason": "单位联系方式变更，先行删除"}))
    assert erased["events"] == ["OrganisationContactErased"], erased
    assert ok(gateway.call("GET", path, "staff")) == {"org_id": "mzj", "phone": None, "email": None}
    invalid(gateway.call("PUT", "/api/organisations/no-such-org/contact", "staff", json=OFFICE_CONTACT),
            "org_id")
    [changed, gone] = [e for e in store_of(gateway.members).read_all()
                       if e.type in ("OrganisationContactChanged", "OrganisationContactErased")]
    assert (changed.data["org_id"], sorted(changed.data["fields"])) == ("mzj", ["email", "phone"])
    assert (gone.data["reason"], gone.reason) == ("单位联系方式变更，先行删除",) * 2
    recorded = str([e.data for e in store_of(gateway.members).read_all()])
    logged = caplog.text
    assert logged and not any(v in logged or v in recorded for v in OFFICE_CONTACT.values()), \
        "an organisation's contact details were logged or recorded in an event"


# -- the gateway against the notify service, without running it ------------------------------------

def _values(alias) -> set[str]:
    return set(typing.get_args(alias))


def test_the_notify_vocabulary_is_the_notify_domains():
    vocabulary = notify_domain.vocabulary
    assert _values(api.NotifyChannel) == set(vocabulary.CHANNELS)
    assert _values(api.Cadence) == set(vocabulary.CADENCES)
    assert _values(api.Locale) == set(vocabulary.LOCALES)
    retry = next(r for r in api.ROUTES if r.rpc == "retry_delivery")
    assert "<channel>" in retry.path and set(vocabulary.SENT_CHANNELS) < set(vocabulary.CHANNELS)


# -- schemathesis ----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_on_the_notification_routes(gateway):
    """Generated requests against the notification routes, with a notice in the member's inbox,
    as a member, staff and a unit: no 5xx, and every answer as the OpenAPI document says."""
    notices_about(gateway, "member", filed_case(gateway))
    operations = [r for r in api.ROUTES if r.tag == api.NOTIFY]
    for role in ("member", "staff", "unit"):
        fuzz(gateway, role, len(operations), "--include-tag", api.NOTIFY, "--max-examples", "3")
