"""Delivery on the real broker, with a local SMTP server and a local SMS provider: a daily digest
holds every notice of its day exactly once across a restart of the service; a sender killed
mid-delivery loses nothing and sends once; SMS through the provider's API for whoever prefers it;
reminders and escalations reach units and supervisors, after their quiet hours."""

from __future__ import annotations

import socket
import threading
from datetime import datetime

import pytest
from nameko.testing.services import entrypoint_hook

from services.notify.service import NotifyService
from xieshang.kernel.clock import ClockProvider, FixedClock
from xieshang.kernel.envelope import Actor

from ..support.mail import LocalSmtpServer
from ..support.sms_provider import LocalSmsProvider
from .conftest import STAFF, store_of, wait_until
from .test_notify_service import (ADDRESS, PHONE, START, SUBMISSION, _deliveries, inbox, member,
                                  sms_config, smtp_config, start_stack, told, unit_actor, wait_for_directory)


@pytest.fixture
def smtp():
    with LocalSmtpServer() as server:
        yield server


def clock_of(container) -> FixedClock:
    return next(d for d in container.dependencies if isinstance(d, ClockProvider)).clock


def file_and_assign(rpc_as, proposer: str = "m-li", unit: str = "mzj") -> str:
    pid = rpc_as(member(proposer)).proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    rpc_as(STAFF).proposals.file_proposal(pid)
    rpc_as(STAFF).proposals.assign_proposal(pid, unit)
    return pid


def mails_to(smtp: LocalSmtpServer, party: str) -> list:
    return [m for m in smtp.messages if m["To"] == ADDRESS[party]]


def test_a_daily_digest_holds_every_notice_of_its_day_exactly_once_across_a_restart(
        container_factory, config, rpc_as, smtp):
    fixed = {**smtp_config(smtp), "XIESHANG_FIXED_TIME": START}
    first = container_factory(NotifyService, {**config, **fixed})
    first.start()                                          # its queues bound before anything happens
    start_stack(container_factory, config, rpc_as, None)
    wait_for_directory(first)
    rpc_as(member("m-li")).notify.set_preference("m-li", "*", ["email"], "daily")

    pid = file_and_assign(rpc_as)
    told(rpc_as, {"m-li": ["proposal_assigned", "proposal_filed"], "mzj": ["proposal_assigned_lead"]})
    wait_until(lambda: mails_to(smtp, "mzj"), what="the unit's immediate mail")
    first.stop()                                            # a restart in the middle of the day

    second = container_factory(NotifyService, {**config, **fixed})
    second.start()
    rpc_as(unit_actor("mzj")).proposals.reply_to_proposal(pid, "A", "已建成社区长者食堂三处。")
    file_and_assign(rpc_as, unit="jyj")
    told(rpc_as, {"m-li": ["proposal_assigned", "proposal_assigned", "proposal_filed", "proposal_filed",
                           "rating_requested"]})
    assert mails_to(smtp, "m-li") == []                     # all waiting for the digest

    clock_of(second).set(datetime.fromisoformat("2024-03-02T00:05:00+08:00"))   # the day is over
    [digest] = [m for m in smtp.wait_for(3, timeout=20) if m["To"] == ADDRESS["m-li"]]
    text = digest.get_content()
    notices = inbox(rpc_as, "m-li")
    assert "2024年3月1日" in digest["Subject"] and "5" in text
    for notice in notices:
        assert text.count(notice["body"]) == 1, notice["kind"]
    # told the next day: in the next digest, not this one (and this one is not sent again)
    rpc_as(STAFF).proposals.designate_key_proposal(pid, ["m-li"], "chairs_meeting")
    told(rpc_as, {"m-li": [*sorted(n["kind"] for n in notices), "proposal_key_supervise"]})
    wait_until(lambda: all(d["state"] == "sent" for d in _deliveries(second) if d["kind"] == "digest"),
               what="the digest delivered")
    assert len(mails_to(smtp, "m-li")) == 1
    entries = store_of(second).read_stream("digest-m-li.email.2024-03-01")
    assert [e.type for e in entries] == ["DigestClosed"]
    assert sorted(entries[0].data["notification_ids"]) == sorted(n["notification_id"] for n in notices)


class BlackHole:
    """A server that accepts connections and never answers (a relay that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted.append(conn)

    def close(self):
        # the accept loop ends before its socket closes: no one is left waiting on a number the
        # system may hand out again
        self._stop.set()
        self._thread.join(timeout=5)
        for c in self.accepted:
            c.close()
        self.sock.close()


def test_a_sender_killed_mid_delivery_loses_nothing_and_sends_each_notice_once(
        container_factory, config, rpc_as, smtp):
    hole = BlackHole()
    try:
        hanging = {**smtp_config(smtp), "XIESHANG_SMTP_PORT": str(hole.port), "XIESHANG_SMTP_TIMEOUT": "60"}
        first = container_factory(NotifyService, {**config, **hanging})
        first.start()
        start_stack(container_factory, config, rpc_as, None)
        wait_for_directory(first)
        file_and_assign(rpc_as)
        told(rpc_as, {"m-li": ["proposal_assigned", "proposal_filed"], "mzj": ["proposal_assigned_lead"]})
        wait_until(lambda: any(d["state"] == "sending" for d in _deliveries(first)), what="a send under way")
        first.kill()                                        # mid-delivery

        second = container_factory(NotifyService, {**config, **smtp_config(smtp)})
        second.start()
        smtp.wait_for(3, timeout=30)
        wait_until(lambda: all(d["state"] == "sent" for d in _deliveries(second)), what="every delivery sent")
        assert len(smtp.messages) == 3 and len({m["Message-ID"] for m in smtp.messages}) == 3
        cut = [d for d in _deliveries(second) if d["attempts"] == 2]
        assert cut, "the attempt cut short was taken up again"
        history = [e.type for e in store_of(second).read_stream(f"delivery-{cut[0]['key']}")]
        assert history == ["DeliveryAttemptStarted", "DeliveryAttemptStarted", "DeliveryAttempted",
                           "NoticeDelivered"]
    finally:
        hole.close()


def test_sms_reaches_whoever_prefers_it_through_the_providers_api(container_factory, config, rpc_as, smtp):
    with LocalSmsProvider() as sms:
        start_stack(container_factory, config, rpc_as, {**smtp_config(smtp), **sms_config(sms)})
        sms.fail_next(1, "isv.BUSINESS_LIMIT_CONTROL")       # throttled once: tried again
        rpc_as(member("m-wang")).notify.set_preference("m-wang", "*", ["sms"], "immediate")
        pid = rpc_as(member("m-wang")).proposals.submit_proposal(**SUBMISSION)["proposal_id"]
        rpc_as(STAFF).proposals.file_proposal(pid)
        [message] = sms.wait_for(1, timeout=20)
        assert (message["PhoneNumbers"], message["TemplateCode"], message["SignName"]) == (
            PHONE["m-wang"], "SMS_1001", "石嘴山政协")
        assert SUBMISSION["title"] in message["TemplateParam"]
        [notice] = inbox(rpc_as, "m-wang")
        assert message["OutId"].startswith(notice["notification_id"])
        assert mails_to(smtp, "m-wang") == []                 # not by e-mail: SMS only
        history = rpc_as(STAFF).notify.deliveries(notice["notification_id"])["channels"]["sms"]
        assert [a["outcome"] for a in history["attempts"] if a["event"] == "DeliveryAttempted"] == ["retry", "sent"]
        assert "BUSINESS_LIMIT_CONTROL" in history["attempts"][1]["detail"]


def test_reminders_and_escalations_reach_the_unit_and_supervisors_after_quiet_hours(
        container_factory, config, rpc_as, smtp):
    stack = start_stack(container_factory, config, rpc_as, {**smtp_config(smtp), "XIESHANG_FIXED_TIME": START})
    notify, proposals = stack["notify"], stack["proposals"]
    staff = rpc_as(STAFF)
    pid = file_and_assign(rpc_as)
    staff.proposals.designate_key_proposal(pid, ["m-zhang"], "chairs_meeting")
    # the unit wants no mail before 10:00; reminders reach it then
    rpc_as(Actor("mzj-handler", "unit", "mzj")).notify.set_preference("mzj", "reply_due_soon", ["email"],
                                                                      quiet_hours="06:00-10:00")

    def check_deadlines():
        with entrypoint_hook(proposals, "check_deadlines") as check:
            return check()
    deadline = rpc_as(member("m-li")).proposals.get_proposal(pid)["rounds"][0]["deadline"]
    clock_of(proposals).set(datetime.fromisoformat("2024-05-23T09:00:00+08:00"))   # a week before
    assert check_deadlines()["reminded"] == 1
    told(rpc_as, {"mzj": ["proposal_assigned_lead", "reply_due_soon"]})
    wait_until(lambda: len(mails_to(smtp, "mzj")) == 1, what="the assignment mail")
    assert [m["Subject"] for m in mails_to(smtp, "mzj")] == ["提案交办（主办）"]   # the reminder waits
    clock_of(notify).set(datetime.fromisoformat("2024-03-01T10:00:01+08:00"))
    wait_until(lambda: len(mails_to(smtp, "mzj")) == 2, what="the reminder after the quiet hours")

    clock_of(proposals).advance(days=9)
    assert check_deadlines()["overdue"] == 1
    told(rpc_as, {"mzj": ["proposal_assigned_lead", "reply_due_soon", "reply_overdue"],
                  "m-zhang": ["proposal_key_supervise", "reply_overdue_escalated"],
                  "proposal-committee": ["reply_overdue_escalated"]})
    [escalation] = [n for n in inbox(rpc_as, "m-zhang") if n["kind"] == "reply_overdue_escalated"]
    assert "市民政局" in escalation["body"] and deadline[:4] + "年" in escalation["body"]
    wait_until(lambda: any(m["Subject"] == escalation["title"] for m in mails_to(smtp, "m-zhang")),
               what="the escalation by mail")


def test_opinion_reports_activities_and_menus_reach_members_units_and_staff(container_factory, config, rpc_as, smtp):
    from services.feedback.service import FeedbackService

    feedback = container_factory(FeedbackService, {**config, "XIESHANG_FIXED_TIME": START})
    feedback.start()
    start_stack(container_factory, config, rpc_as, smtp_config(smtp))
    staff, li = rpc_as(STAFF), rpc_as(member("m-li"))
    rid = li.feedback.submit_opinion_report("关于社区助餐点布局的建议", "老城区助餐点少，老人就餐不便，建议增设。")[
        "report_id"]
    for check in ("political", "facts", "content", "wording"):
        staff.feedback.record_opinion_check(rid, check, True, "通过")
    staff.feedback.adopt_opinion_report(rid)
    staff.feedback.forward_opinion(rid, ["mzj"], "2024-03-15")
    told(rpc_as, {"m-li": ["opinion_adopted"], "mzj": ["opinion_forwarded"]})
    clock_of(feedback).set(datetime.fromisoformat("2024-03-13T09:00:00+08:00"))
    with entrypoint_hook(feedback, "check_deadlines") as check:
        assert check()["reminded"] == 1
    told(rpc_as, {"mzj": ["opinion_feedback_due_soon", "opinion_forwarded"]})
    rpc_as(unit_actor("mzj")).feedback.send_opinion_feedback(rid, "已在老城区新增助餐点两处。")
    told(rpc_as, {"proposal-committee": ["opinion_feedback_received"]})

    staff.members.record_activity("act-1", "inspection", "视察社区养老服务", "2024-03-05", participants=["m-wang"])
    staff.members.publish_menu("menu-2024", 2024, "2024年履职菜单", items=[
        {"item_id": "i1", "title": "养老服务调研", "form": "research"}])
    told(rpc_as, {"m-wang": ["activity_recorded", "duty_menu_published"], "m-zhang": ["duty_menu_published"]})
    rpc_as(member("m-zhang")).members.sign_up_for_menu("menu-2024", ["i1"])
    told(rpc_as, {"m-zhang": ["duty_menu_published", "menu_signed_up"]})
    [signed] = [n for n in inbox(rpc_as, "m-zhang") if n["kind"] == "menu_signed_up"]
    assert "2024年履职菜单" in signed["body"]
    wait_until(lambda: len([m for m in smtp.messages if m["To"] == ADDRESS["mzj"]]) == 2, what="the unit's mails")
