"""Notifications on the real RabbitMQ with a real local SMTP server (aiosmtpd): every person and
unit a proposal concerns is told each step, in the inbox and by mail, once; failures are retried
and end visible; a killed sender loses nothing; no contact detail is in notify's events, logs or
read models."""

from __future__ import annotations

import collections
import logging

import pytest
import sqlalchemy as sa

from services.members.service import MembersService
from services.notify.service import NotifyService
from services.proposals.service import ProposalsService
from xieshang.kernel.envelope import Actor

from ..support.mail import SERVER_LOGGERS, LocalSmtpServer
from ..support.sms_provider import LocalSmsProvider
from ..support.views import every_row_as_text
from .conftest import STAFF, store_of, wait_until

START = "2024-03-01T09:00:00+08:00"
SUBMISSION = dict(title="关于完善社区居家养老服务的提案", reasons="社区养老服务网点少，助餐助浴难。",
                  suggestions="统筹建设社区养老服务综合体，推广长者食堂。", category="society")
PEOPLE = {"m-li": "李明", "m-wang": "王芳", "m-zhang": "张伟"}
UNITS = {"mzj": "市民政局", "jyj": "市教育局", "zjj": "市住建局"}
OFFICE = ("proposal-committee", "政协提案委员会")
ADDRESS = {**{m: f"{m}@members.example.cn" for m in PEOPLE}, **{u: f"{u}@units.example.cn" for u in UNITS},
           OFFICE[0]: "tian@office.example.cn"}
PHONE = {"m-li": "13900000001", "m-wang": "13900000002", "m-zhang": "13900000003"}


def member(mid: str) -> Actor:
    return Actor(mid, "member", "经济界")


def unit_actor(uid: str) -> Actor:
    return Actor(f"{uid}-handler", "unit", uid)


@pytest.fixture
def smtp():
    with LocalSmtpServer() as server:
        yield server


def smtp_config(smtp: LocalSmtpServer) -> dict:
    return {"XIESHANG_SMTP_HOST": smtp.host, "XIESHANG_SMTP_PORT": str(smtp.port),
            "XIESHANG_SMTP_SENDER": "政协提案委员会 <noreply@xieshang.test>",
            "XIESHANG_NOTIFY_RETRY_SECONDS": "0.2", "XIESHANG_NOTIFY_LEASE_SECONDS": "2"}


def sms_config(sms) -> dict:
    return {"XIESHANG_SMS_ENDPOINT": sms.endpoint, "XIESHANG_SMS_ACCESS_KEY_ID": "LTAI-local-test",
            "XIESHANG_SMS_ACCESS_KEY_SECRET": "local-test-secret", "XIESHANG_SMS_SIGN_NAME": "石嘴山政协",
            "XIESHANG_SMS_TEMPLATES": "proposal_filed:SMS_1001,*:SMS_1000"}


def start_stack(container_factory, config: dict, rpc_as, notify_config: dict | None) -> dict:
    """Members and proposals (and notify with ``notify_config``, unless None) on one broker; the
    directory and every address set."""
    members = container_factory(MembersService, config)
    proposals = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": START})
    notify = None if notify_config is None else container_factory(NotifyService, {**config, **notify_config})
    for c in (members, proposals, notify):
        if c is not None:
            c.start()
    staff = rpc_as(STAFF)
    staff.members.register_organisation(OFFICE[0], "special_committee", OFFICE[1])
    for uid, name in UNITS.items():
        staff.members.register_organisation(uid, "handling_unit", name)
    staff.members.register_organisation("s-jjj", "sector", "经济界")
    for mid, name in PEOPLE.items():
        staff.members.appoint_member(mid, name, "经济界", "第十届")
        staff.members.set_contact_details(mid, email=ADDRESS[mid], phone=PHONE[mid])
    for org in (*UNITS, OFFICE[0]):
        staff.members.set_organisation_contact(org, email=ADDRESS[org])
    wait_until(lambda: all(e["kind"] for e in staff.proposals.directory([*PEOPLE, *UNITS]).values()),
               what="the proposals directory")
    if notify is not None:
        wait_for_directory(notify)
    return {"members": members, "proposals": proposals, "notify": notify}


def wait_for_directory(notify) -> None:
    store = store_of(notify)
    wait_until(lambda: all(store.stream_version(f"directory-{p}") > 0 for p in [*PEOPLE, *UNITS, OFFICE[0]]),
               what="the notify directory")


@pytest.fixture
def stack(container_factory, config, rpc_as, smtp):
    return start_stack(container_factory, config, rpc_as, smtp_config(smtp))


def inbox(rpc_as, party: str) -> list[dict]:
    reader = rpc_as(member(party)) if party in PEOPLE else rpc_as(STAFF)
    return reader.notify.inbox(party, limit=500)["items"]


def told(rpc_as, expected: dict[str, list[str]]) -> None:
    """Wait until each party's inbox holds exactly ``expected`` kinds (in any order)."""
    def now():
        return {p: sorted(n["kind"] for n in inbox(rpc_as, p)) for p in expected}
    want = {p: sorted(k) for p, k in expected.items()}
    wait_until(lambda: now() == want, timeout=20, what=f"the notices {want} (have {now()})")


def test_everyone_a_proposal_concerns_is_told_each_step_by_inbox_and_mail_once(stack, rpc_as, smtp):
    staff = rpc_as(STAFF)
    li, wang, zhang = (rpc_as(member(m)) for m in PEOPLE)
    pid = li.proposals.submit_proposal(**SUBMISSION, kind="joint", co_signers=["m-wang"])["proposal_id"]
    told(rpc_as, {"m-wang": ["cosign_requested"]})
    wang.proposals.confirm_co_signature(pid)
    told(rpc_as, {"m-li": ["cosign_confirmed"]})
    merged = zhang.proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(pid)
    told(rpc_as, {"m-li": ["cosign_confirmed", "proposal_filed"], "m-wang": ["cosign_requested", "proposal_filed"]})
    staff.proposals.merge_proposal(merged, pid)
    told(rpc_as, {"m-zhang": ["proposal_merged"]})
    wait_until(lambda: any(e.type == "AudienceNoted" and e.data.get("role") == "merged"
                           for e in store_of(stack["notify"]).read_stream(f"notices-proposal-{pid}")),
               what="the merged proposer in the case's audience")

    staff.proposals.assign_proposal(pid, "mzj", co_units=["jyj"])
    told(rpc_as, {"mzj": ["proposal_assigned_lead"], "jyj": ["proposal_assigned_co"]})
    rpc_as(unit_actor("mzj")).proposals.object_to_assignment(pid, "该事项属住建部门职责")
    told(rpc_as, {OFFICE[0]: ["assignment_objected"]})
    staff.proposals.reassign_proposal(pid, "zjj", co_units=["jyj"])
    told(rpc_as, {"zjj": ["proposal_assigned_lead"], "mzj": ["proposal_assigned_lead", "proposal_reassigned_away"]})
    rpc_as(unit_actor("zjj")).proposals.reply_to_proposal(pid, "C", "因用地指标所限，暂不具备建设条件。")
    told(rpc_as, {p: ["proposal_assigned", "proposal_reassigned", "rating_requested",
                      *(["cosign_confirmed", "proposal_filed"] if p == "m-li" else []),
                      *(["cosign_requested", "proposal_filed"] if p == "m-wang" else []),
                      *(["proposal_merged"] if p == "m-zhang" else [])] for p in PEOPLE})
    li.proposals.rate_reply(pid, "unsatisfied", "basically_satisfied")
    wang.proposals.rate_reply(pid, "satisfied", "satisfied")
    zhang.proposals.rate_reply(pid, "basically_satisfied", "satisfied")  # the last: re-handling, round 2
    told(rpc_as, {"zjj": ["proposal_assigned_lead", "rehandling_lead"],
                  "jyj": ["proposal_assigned_co", "proposal_assigned_co", "rehandling_co"]})
    rpc_as(unit_actor("zjj")).proposals.reply_to_proposal(pid, "A", "已调整用地，建成长者食堂两处。")
    for rater in (li, wang, zhang):
        rater.proposals.rate_reply(pid, "satisfied", "satisfied")
    last = staff.proposals.close_proposal(pid)
    assert last["event"] == "ProposalClosed"

    after_all = {"m-li": ["cosign_confirmed", "proposal_filed", "proposal_assigned", "proposal_reassigned",
                          "rating_requested", "rehandling_started", "rating_requested", "proposal_closed"],
                 "m-wang": ["cosign_requested", "proposal_filed", "proposal_assigned", "proposal_reassigned",
                            "rating_requested", "rehandling_started", "rating_requested", "proposal_closed"],
                 "m-zhang": ["proposal_merged", "proposal_assigned", "proposal_reassigned", "rating_requested",
                             "rehandling_started", "rating_requested", "proposal_closed"],
                 "mzj": ["proposal_assigned_lead", "proposal_reassigned_away"],
                 "jyj": ["proposal_assigned_co", "proposal_assigned_co", "rehandling_co"],
                 "zjj": ["proposal_assigned_lead", "rehandling_lead"],
                 OFFICE[0]: ["assignment_objected"]}
    told(rpc_as, after_all)
    expected_mails = sum(len(k) for k in after_all.values())
    mails = smtp.wait_for(expected_mails, timeout=30)
    # once: no more mails arrive than notices (the sender keeps running a while)
    wait_until(lambda: all(d["state"] == "sent" for d in _deliveries(stack["notify"])), what="every delivery sent")
    assert len(smtp.messages) == expected_mails

    by_address = collections.defaultdict(list)
    for mail in mails:
        by_address[mail["To"]].append(mail)
    for party, kinds in after_all.items():
        notices = inbox(rpc_as, party)
        got = by_address[ADDRESS[party]]
        assert sorted(m["Subject"] for m in got) == sorted(n["title"] for n in notices), party
        assert len({m["Message-ID"] for m in got}) == len(got)
        bodies = "\n".join(m.get_content() for m in got)
        for notice in notices:
            assert notice["body"] in bodies
    # names, never ids; and the dates in Chinese
    texts = "\n".join(n["body"] for p in after_all for n in inbox(rpc_as, p))
    assert "市住建局" in texts and "王芳" in texts
    for raw_id in ("zjj", "mzj", "jyj", "m-li", "m-wang", "m-zhang"):
        assert raw_id not in texts


def _deliveries(container) -> list[dict]:
    views = next(d for d in container.dependencies if type(d).__name__ == "ReadModels")
    t = next(p for p in views.projections if p.name == "deliveries").rows
    with views.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(t)).mappings()]


def _file_and_assign(rpc_as) -> str:
    staff = rpc_as(STAFF)
    pid = rpc_as(member("m-li")).proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    staff.proposals.file_proposal(pid)
    staff.proposals.assign_proposal(pid, "mzj")
    return pid


def test_a_failing_smtp_server_leads_to_retries_then_a_visible_undeliverable_notice(stack, rpc_as, smtp):
    smtp.fail_next(2, 451)                     # transient twice: the third attempt is delivered
    pid = _file_and_assign(rpc_as)
    told(rpc_as, {"mzj": ["proposal_assigned_lead"], "m-li": ["proposal_assigned", "proposal_filed"]})
    smtp.wait_for(3, timeout=20)
    wait_until(lambda: all(d["state"] == "sent" for d in _deliveries(stack["notify"])), what="every delivery sent")
    assert len(smtp.messages) == 3
    staff = rpc_as(STAFF)
    outcomes = []
    for party in ("mzj", "m-li"):
        for notice in inbox(rpc_as, party):
            history = staff.notify.deliveries(notice["notification_id"])["channels"]["email"]
            attempted = [a["outcome"] for a in history["attempts"] if a["event"] == "DeliveryAttempted"]
            assert history["state"] == "sent" and attempted[-1] == "sent"
            outcomes += attempted
    assert sorted(outcomes) == ["retry", "retry", "sent", "sent", "sent"]     # the two refusals, retried

    smtp.fail_next(1, 550)                     # permanent: given up at once, listed for staff
    staff.proposals.designate_key_proposal(pid, ["m-zhang"], "chairs_meeting")
    told(rpc_as, {"m-zhang": ["proposal_key_supervise"]})
    listed = wait_until(lambda: staff.notify.undeliverable()["items"], what="the undeliverable notice")
    assert [(i["recipient"], i["kind"], i["reason"]) for i in listed] == [
        ("m-zhang", "proposal_key_supervise", "failed")]
    assert ADDRESS["m-zhang"] not in str(listed) and "550" in listed[0]["last_detail"]
    [notice] = inbox(rpc_as, "m-zhang")
    staff.notify.retry_delivery(notice["notification_id"], "email")
    wait_until(lambda: any(m["To"] == ADDRESS["m-zhang"] for m in smtp.messages), what="the retried mail")
    wait_until(lambda: not staff.notify.undeliverable()["items"], what="the list emptied")


def test_the_last_allowed_attempt_ends_in_the_undeliverable_list(container_factory, config, rpc_as, smtp):
    start_stack(container_factory, config, rpc_as, {**smtp_config(smtp), "XIESHANG_NOTIFY_MAX_ATTEMPTS": "2"})
    rpc_as(member("m-li")).notify.set_preference("m-li", "*", ["inbox"])      # only the unit is mailed
    smtp.fail_next(2, 451)
    _file_and_assign(rpc_as)
    staff = rpc_as(STAFF)
    [item] = wait_until(lambda: staff.notify.undeliverable()["items"], what="the notice given up")
    assert (item["recipient"], item["reason"], item["attempts"]) == ("mzj", "retries_exhausted", 2)
    assert smtp.messages == []


def test_no_contact_detail_is_in_notifys_events_logs_or_read_models(container_factory, config, rpc_as, smtp,
                                                                   caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("nameko", "kombu", "amqp"):
        logging.getLogger(name).setLevel(logging.INFO)   # the transport's debug lines, as in production
    with LocalSmsProvider() as sms:
        stack = start_stack(container_factory, config, rpc_as, {**smtp_config(smtp), **sms_config(sms)})
        rpc_as(member("m-li")).notify.set_preference("m-li", "*", ["email", "sms"])
        rpc_as(member("m-wang")).notify.set_preference("m-wang", "*", ["sms"])
        smtp.fail_next(1, 550)                        # a refusal quotes the address: never kept
        _file_and_assign(rpc_as)
        pid = rpc_as(member("m-wang")).proposals.submit_proposal(**SUBMISSION)["proposal_id"]
        rpc_as(STAFF).proposals.file_proposal(pid)
        sms.wait_for(3, timeout=20)
        wait_until(lambda: all(d["state"] in ("sent", "undeliverable") for d in _deliveries(stack["notify"]))
                   and len(_deliveries(stack["notify"])) == 6, what="every delivery ended")
    staff = rpc_as(STAFF)
    answers = str(staff.notify.undeliverable(include_skipped=True)) + "".join(
        str(staff.notify.deliveries(n["notification_id"])) for p in ("m-li", "m-wang", "mzj")
        for n in inbox(rpc_as, p))
    store = store_of(stack["notify"])
    everything = "\n".join(str(e.to_json()) for e in store.read_all())
    views = next(d for d in stack["notify"].dependencies if type(d).__name__ == "ReadModels")
    everything += every_row_as_text(views.engine, views.schema)
    logged = "\n".join(str(r.getMessage()) for r in caplog.records if not r.name.startswith(SERVER_LOGGERS))
    for address in [*ADDRESS.values(), *PHONE.values()]:
        assert address not in everything
        assert address not in logged
        assert address not in answers
    assert "mzj" in everything                       # the search does look at the right things
