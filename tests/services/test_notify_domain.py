"""Who is told what, preferences, digests and deliveries, as pure decisions: no broker, no database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.domain import InvalidCommand, NotAllowed, WrongState
from xieshang.kernel.envelope import Actor

from services.notify import domain
from services.notify.domain.events import DeliveryPlanned, NotificationQueued, NoticePreferenceSet

pytestmark = pytest.mark.unit

NOW = datetime(2024, 3, 1, 9, 0, tzinfo=SHANGHAI).astimezone(timezone.utc)
NAMES = {"m-1": "李明", "m-2": "王芳", "m-3": "张伟", "m-4": "赵磊", "mzj": "民政局", "jyj": "教育局",
         "zjj": "住建局", "leader-1": "刘主席"}
CASE = {"proposal_id": "p1", "case_number": "2024-001", "title": "关于社区养老的提案"}
STAFF = Actor("s-1", "staff", "proposal-committee")


class Case:
    """A case's notices stream, fed event by event as the service would."""

    def __init__(self, names=NAMES, preference=lambda r, k: domain.Preference(), channels=("email",)):
        self.events: list = []
        self.names, self.preference, self.channels = names, preference, channels
        self.n = 0

    def feed(self, event_type: str, service: str = "proposals", **data) -> list:
        self.n += 1
        out = domain.notices_for(domain.fold(self.events), service=service, event_type=event_type,
                                 data={**CASE, **data}, subject="proposal-p1", source_event_id=f"e{self.n}",
                                 office="proposal-committee", now=NOW, names=self.names.get,
                                 preference=self.preference, channels=self.channels)
        self.events += out
        return out

    @staticmethod
    def told(out: list) -> dict[str, str]:
        return {e.recipient: e.kind for e in out if isinstance(e, NotificationQueued)}


def through_filing(case: Case) -> None:
    case.feed("ProposalSubmitted", proposer="m-1", co_signers=["m-2"], co_sign_deadline="2024-03-08")
    case.feed("CoSignatureConfirmed", co_signer="m-2")
    case.feed("ProposalFiled", proposer="m-1", co_signers=["m-2"])
    case.feed("MergedProposalAdded", merged_id="p2", proposers=["m-3"])


ASSIGNED = dict(proposer="m-1", round=1, lead_unit="mzj", co_units=["jyj"], started_on="2024-03-01",
                deadline="2024-06-28", period_days=90, counting="natural")


def test_every_proposer_and_unit_is_told_on_assignment_reassignment_rehandling_and_reply():
    case = Case()
    case.feed("ProposalSubmitted", proposer="m-1", co_signers=["m-2"], co_sign_deadline="2024-03-08")
    assert Case.told(case.events) == {"m-2": "cosign_requested"}
    assert Case.told(case.feed("CoSignatureConfirmed", co_signer="m-2")) == {"m-1": "cosign_confirmed"}
    assert Case.told(case.feed("ProposalFiled", proposer="m-1", co_signers=["m-2"])) == {
        "m-1": "proposal_filed", "m-2": "proposal_filed"}
    case.feed("MergedProposalAdded", merged_id="p2", proposers=["m-3"])
    assert Case.told(case.feed("ProposalAssigned", **ASSIGNED)) == {
        "mzj": "proposal_assigned_lead", "jyj": "proposal_assigned_co", "m-1": "proposal_assigned",
        "m-2": "proposal_assigned", "m-3": "proposal_assigned"}
    assert Case.told(case.feed("AssignmentObjected", round=1, unit="mzj", reason="不属本单位职责")) == {
        "proposal-committee": "assignment_objected"}
    assert Case.told(case.feed("ProposalReassigned", round=1, lead_unit="zjj", co_units=["jyj"],
                               previous_lead_unit="mzj", started_on="2024-03-05", deadline="2024-07-02",
                               period_days=90, counting="natural")) == {
        "zjj": "proposal_assigned_lead", "jyj": "proposal_assigned_co", "mzj": "proposal_reassigned_away",
        "m-1": "proposal_reassigned", "m-2": "proposal_reassigned", "m-3": "proposal_reassigned"}
    assert Case.told(case.feed("ReplyDueSoon", round=1, unit="zjj", deadline="2024-07-02", days_before=7)) == {
        "zjj": "reply_due_soon", "jyj": "reply_due_soon"}
    replied = dict(proposer="m-1", unit="zjj", reply_class="A", reply="…", on_time=True)
    assert Case.told(case.feed("ProposalReplied", **replied)) == {
        "m-1": "rating_requested", "m-2": "rating_requested", "m-3": "rating_requested"}
    assert Case.told(case.feed("RehandlingStarted", round=2, lead_unit="zjj", co_units=["jyj"],
                               started_on="2024-08-01", deadline="2024-09-01", period_days=30,
                               counting="natural")) == {
        "zjj": "rehandling_lead", "jyj": "rehandling_co", "m-1": "rehandling_started",
        "m-2": "rehandling_started", "m-3": "rehandling_started"}
    overdue = case.feed("ReplyOverdue", round=2, unit="zjj", deadline="2024-09-01", days_overdue=1,
                        escalate_to=["leader-1"])
    assert Case.told(overdue) == {"zjj": "reply_overdue", "jyj": "reply_overdue", "leader-1": "reply_overdue_escalated",
                                  "proposal-committee": "reply_overdue_escalated"}


def test_a_unit_dropped_on_reassignment_is_told_and_codes_are_written_as_words():
    case = Case()
    through_filing(case)
    case.feed("ProposalAssigned", **ASSIGNED)
    told = Case.told(case.feed("ProposalReassigned", round=1, lead_unit="zjj", co_units=[],
                               previous_lead_unit="mzj", started_on="2024-03-05", deadline="2024-07-02",
                               period_days=90, counting="natural"))
    assert told["mzj"] == told["jyj"] == "proposal_reassigned_away"
    [activity] = [e for e in case.feed("ActivityRecorded", service="members", activity_id="a1", kind="inspection",
                                       title="视察养老机构", held_on="2024-03-05", participants=["m-1"])
                  if isinstance(e, NotificationQueued)]
    assert "视察“视察养老机构”" in activity.body and "inspection" not in activity.body
    [assessed] = [e for e in case.feed("AnnualAssessmentConcluded", service="members", member_id="m-1",
                                       year=2024, outcome="talked_to", points=12, rules_version=1)
                  if isinstance(e, NotificationQueued)]
    assert "约谈通报" in assessed.body and "talked_to" not in assessed.body
    [not_filed] = [e for e in case.feed("ProposalNotFiled", proposer="m-1", reason="属个人诉求",
                                        conversion="suggestion_letter") if isinstance(e, NotificationQueued)
                   and e.recipient == "m-1"]
    assert "意见建议" in not_filed.body and "社情民意" not in not_filed.body


def test_texts_name_people_and_units_never_their_ids_and_speak_the_recipients_language():
    english = {"m-2"}
    case = Case(names={"m-1": "李明", "m-2": "王芳", "mzj": "民政局"},
                preference=lambda r, k: domain.Preference(locale="en" if r in english else "zh-CN"))
    through_filing(case)
    out = case.feed("ProposalAssigned", **ASSIGNED)
    bodies = {e.recipient: e.body for e in out if isinstance(e, NotificationQueued)}
    assert "民政局" in bodies["m-1"] and "2024年6月28日" in bodies["m-1"]
    assert "相关单位会办" in bodies["m-1"]          # jyj is not in the directory: its word, not its id
    assert "The proposal" in bodies["m-2"] and "28 Jun 2024" in bodies["m-2"]
    for body in bodies.values():
        assert "mzj" not in body and "jyj" not in body and "m-1" not in body


def test_a_cause_queues_each_notice_once_and_plans_the_deliveries_the_preference_asks_for():
    digest = {"m-1": domain.Preference(channels=("inbox", "email", "sms"), cadence="daily")}
    case = Case(preference=lambda r, k: digest.get(r, domain.Preference()), channels=("email", "sms"))
    through_filing(case)
    out = case.feed("ProposalAssigned", **ASSIGNED)
    plans = {(e.recipient, e.channel): e for e in out if isinstance(e, DeliveryPlanned)}
    assert plans[("m-1", "email")].digest_period == "2024-03-01"
    assert plans[("m-1", "sms")].digest_period == "2024-03-01"
    assert ("m-2", "sms") not in plans and plans[("m-2", "email")].digest_period is None
    assert plans[("m-2", "email")].due_at == NOW.isoformat()
    # the same event again (a redelivery the tracking missed): nothing new
    again = domain.notices_for(domain.fold(case.events), service="proposals", event_type="ProposalAssigned",
                               data={**CASE, **ASSIGNED}, subject="proposal-p1", source_event_id=f"e{case.n}",
                               office="proposal-committee", now=NOW, names=NAMES.get,
                               preference=lambda r, k: domain.Preference(), channels=("email",))
    assert again == []


def test_followers_hear_of_replies_only_to_a_published_proposal():
    case = Case()
    through_filing(case)
    log = domain.fold(case.events)
    public = Actor("pub-1", "public", "public")
    with pytest.raises(WrongState):
        domain.follow(public, log, "p1")
    case.feed("ProposalPublished", proposer_names=["李明"])
    case.events += domain.follow(public, domain.fold(case.events), "p1")
    assert domain.follow(public, domain.fold(case.events), "p1") == []
    told = Case.told(case.feed("ProposalReplied", proposer="m-1", unit="mzj", reply_class="A", reply="…",
                               on_time=True))
    assert told["pub-1"] == "followed_proposal_replied"


def test_opinion_reports_members_and_units_are_told_what_concerns_them():
    case = Case()
    case.feed("OpinionReportSubmitted", service="feedback", report_id="r1", submitter="m-1",
              submitter_role="member", title="关于助餐的建议", content="…", channel="member", category="x")
    assert Case.told(case.feed("OpinionReportAdopted", service="feedback", report_id="r1", title="关于助餐的建议",
                               members=["m-1"])) == {"m-1": "opinion_adopted"}
    assert Case.told(case.feed("OpinionReportForwarded", service="feedback", report_id="r1", units=["mzj"],
                               deadline="2024-04-01", title="关于助餐的建议")) == {"mzj": "opinion_forwarded"}
    assert Case.told(case.feed("OpinionFeedbackOverdue", service="feedback", report_id="r1", unit="mzj",
                               deadline="2024-04-01", days_overdue=1, title="关于助餐的建议")) == {
        "mzj": "opinion_feedback_overdue", "proposal-committee": "opinion_feedback_overdue"}
    assert Case.told(case.feed("LeaderInstructionRecorded", service="feedback", report_id="r1",
                               leader="leader-1", leader_level="city", office="市委", text="请民政局研究",
                               members=["m-1"])) == {"m-1": "opinion_instructed"}
    assert Case.told(case.feed("DutyMenuPublished", service="members", menu_id="mn", year=2024,
                               title="2024年履职菜单", items=[])) == {}


def test_preferences_resolve_own_then_committee_then_built_in_and_bad_fields_are_named():
    own = domain.fold_preferences([NoticePreferenceSet(user_id="m-1", kind="reply_overdue", channels=["sms"],
                                                       cadence="immediate", locale="en")])
    committee = domain.fold_preferences([NoticePreferenceSet(user_id="committee", kind="*",
                                                             channels=["inbox"], cadence="weekly")])
    assert domain.resolve(own, committee, "reply_overdue").to_dict() == {
        "channels": ["inbox", "sms"], "cadence": "immediate", "quiet_hours": None, "locale": "en",
        "source": "own"}
    assert domain.resolve(own, committee, "proposal_filed").source == "committee"
    assert domain.resolve(own, committee, "proposal_filed").locale == "en"
    assert domain.resolve(domain.Preferences(), domain.Preferences(), "proposal_filed").channels == ("inbox", "email")
    with pytest.raises(InvalidCommand) as err:
        domain.check_preference("nonsense", ["fax"], "hourly", "25:00-07:00", "fr")
    assert set(err.value.fields) == {"kind", "channels", "cadence", "quiet_hours", "locale"}
    member = Actor("m-2", "member", "经济界")
    checked = domain.check_preference("*", ["email"], "daily", None, None)
    with pytest.raises(NotAllowed):
        domain.set_preference(member, "m-1", domain.Preferences(), checked)
    with pytest.raises(NotAllowed):
        domain.set_preference(member, "committee", domain.Preferences(), checked)
    [event] = domain.set_preference(member, "m-2", domain.Preferences(), checked)
    assert domain.set_preference(member, "m-2", domain.fold_preferences([event]), checked) == []


def test_quiet_hours_hold_a_message_until_they_end_and_periods_are_local():
    late = datetime(2024, 3, 1, 23, 30, tzinfo=SHANGHAI)
    assert domain.after_quiet_hours(late, "22:00-07:00") == datetime(2024, 3, 2, 7, 0, tzinfo=SHANGHAI)
    early = datetime(2024, 3, 2, 6, 0, tzinfo=SHANGHAI)
    assert domain.after_quiet_hours(early, "22:00-07:00") == datetime(2024, 3, 2, 7, 0, tzinfo=SHANGHAI)
    noon = datetime(2024, 3, 2, 12, 0, tzinfo=SHANGHAI)
    assert domain.after_quiet_hours(noon, "22:00-07:00") == noon
    assert domain.after_quiet_hours(noon, "12:00-13:30") == datetime(2024, 3, 2, 13, 30, tzinfo=SHANGHAI)
    # 16:30 UTC on 1 March is 00:30 on 2 March in the committee's zone
    utc = datetime(2024, 3, 1, 16, 30, tzinfo=timezone.utc)
    assert domain.digest_period(utc, "daily") == "2024-03-02"
    assert domain.digest_period(utc, "weekly") == "2024-W09"
    assert domain.period_end("2024-03-02", "daily") == datetime(2024, 3, 3, tzinfo=SHANGHAI)
    assert domain.period_end("2024-W09", "weekly") == datetime(2024, 3, 4, tzinfo=SHANGHAI)
    assert domain.next_period("2024-W09", "weekly") == "2024-W10"


POLICY = domain.RetryPolicy(max_attempts=3, base_seconds=10, max_seconds=60, lease_seconds=30)


def deliver(events: list, now: datetime, status: str | None = None) -> list:
    state = domain.fold_delivery("n.email", events)
    started = domain.start_attempt(state, now, POLICY)
    events += started
    if started and status is not None:
        events += domain.record_outcome(domain.fold_delivery("n.email", events), started[0].attempt,
                                        status, "SMTP 451", now, POLICY)
    return started


def test_a_delivery_is_started_once_retried_with_backoff_and_given_up_visibly():
    events: list = []
    assert deliver(events, NOW, "retry")[0].attempt == 1
    assert deliver(events, NOW + timedelta(seconds=5)) == []        # not yet: backoff 10 s
    assert deliver(events, NOW + timedelta(seconds=11), "retry")[0].attempt == 2
    assert deliver(events, NOW + timedelta(seconds=25)) == []        # backoff 20 s
    deliver(events, NOW + timedelta(seconds=40), "retry")
    state = domain.fold_delivery("n.email", events)
    assert (state.state, events[-1].reason, events[-1].attempts) == ("undeliverable", "retries_exhausted", 3)
    assert deliver(events, NOW + timedelta(hours=1)) == []
    events += domain.request_retry(state)
    assert deliver(events, NOW + timedelta(hours=1), "sent")[0].attempt == 1
    assert domain.fold_delivery("n.email", events).state == "sent"
    with pytest.raises(WrongState):
        domain.request_retry(domain.fold_delivery("n.email", events))


def test_an_attempt_whose_sender_died_is_taken_up_when_its_lease_runs_out():
    events: list = []
    deliver(events, NOW)                                              # started, then nothing
    assert deliver(events, NOW + timedelta(seconds=10)) == []         # another instance: leased
    second = deliver(events, NOW + timedelta(seconds=31), "sent")
    assert second[0].attempt == 2 and domain.fold_delivery("n.email", events).state == "sent"
    # the first sender's late outcome changes nothing
    assert domain.record_outcome(domain.fold_delivery("n.email", events), 1, "sent", "", NOW, POLICY) == []


def test_permanent_failures_and_missing_addresses_end_at_once():
    events: list = []
    deliver(events, NOW, "failed")
    assert domain.fold_delivery("n.email", events).state == "undeliverable"
    events = []
    deliver(events, NOW, "no_address")
    assert domain.fold_delivery("n.email", events).state == "skipped"


def test_a_digest_closes_once_with_its_notices():
    closed = domain.close_digest(None, recipient="m-1", channel="email", period="2024-03-01", cadence="daily",
                                 notification_ids=["a", "b", "a"])
    assert closed[0].notification_ids == ["a", "b"]
    assert domain.close_digest(closed[0], recipient="m-1", channel="email", period="2024-03-01",
                               cadence="daily", notification_ids=["c"]) == []


def test_every_kind_has_both_languages_and_renders_without_leftover_braces():
    for kind in domain.TEMPLATES:
        for locale in ("zh-CN", "en"):
            title, body = domain.render(kind, {}, locale)
            assert "{" not in title + body, (kind, locale)


def test_a_late_outcome_of_a_stalled_attempt_neither_restarts_nor_hides_the_current_one():
    events: list = []
    deliver(events, NOW)                                              # attempt 1 stalls
    second = deliver(events, NOW + timedelta(seconds=31))             # its lease ran out: attempt 2
    assert second[0].attempt == 2
    # attempt 1 comes back failing (transient) while attempt 2 is under way: nothing restarts
    events += domain.record_outcome(domain.fold_delivery("n.email", events), 1, "retry", "SMTP 451",
                                    NOW + timedelta(seconds=32), POLICY)
    state = domain.fold_delivery("n.email", events)
    assert (state.state, state.attempt) == ("sending", 2)
    assert domain.start_attempt(state, NOW + timedelta(seconds=33), POLICY) == []
    # attempt 2's own outcome still counts
    events += domain.record_outcome(state, 2, "sent", "SMTP 250", NOW + timedelta(seconds=34), POLICY)
    assert domain.fold_delivery("n.email", events).state == "sent"
    # a late "sent" of attempt 1 ends the delivery: no third send
    other: list = []
    deliver(other, NOW)
    deliver(other, NOW + timedelta(seconds=31))
    other += domain.record_outcome(domain.fold_delivery("n.email", other), 1, "sent", "SMTP 250",
                                   NOW + timedelta(seconds=32), POLICY)
    assert domain.fold_delivery("n.email", other).state == "sent"
    assert domain.start_attempt(domain.fold_delivery("n.email", other), NOW + timedelta(hours=1), POLICY) == []


def test_an_account_named_like_a_unit_or_a_member_does_not_get_their_inbox():
    squatter = Actor("proposal-committee", "public", "public")
    assert not domain.owns_inbox(squatter, "proposal-committee", "special_committee")
    assert not domain.owns_inbox(Actor("m-1", "public", "public"), "m-1", "member")
    assert domain.owns_inbox(Actor("m-1", "member", "经济界"), "m-1", "member")
    assert domain.owns_inbox(Actor("mzj-handler", "unit", "mzj"), "mzj", "handling_unit")
    assert not domain.owns_inbox(Actor("mzj", "unit", "jyj"), "mzj", "handling_unit")
    assert domain.owns_inbox(Actor("pub-1", "public", "public"), "pub-1", None)   # a follower's own
    assert domain.may_read_inbox(STAFF, "m-1", "member")
    with pytest.raises(NotAllowed):
        domain.mark_read(squatter, "proposal-committee", frozenset(), ["n1"], "special_committee")
    with pytest.raises(NotAllowed):
        domain.set_preference(squatter, "proposal-committee", domain.Preferences(),
                              domain.check_preference("*", [], "immediate", None, None),
                              party_kind="special_committee")


def test_the_proposers_an_event_lists_are_told_though_their_own_events_come_later():
    case = Case()
    case.feed("ProposalSubmitted", proposer="m-1", co_signers=["m-2"], co_sign_deadline="2024-03-08")
    # the assignment arrives before the confirmation and the merge (separate queues)
    told = Case.told(case.feed("ProposalAssigned", **{**ASSIGNED, "proposers": ["m-1", "m-2", "m-3"]}))
    assert {p: told[p] for p in ("m-1", "m-2", "m-3")} == dict.fromkeys(("m-1", "m-2", "m-3"), "proposal_assigned")
    case.feed("CoSignatureConfirmed", co_signer="m-2")
    case.feed("MergedProposalAdded", merged_id="p2", proposers=["m-3"])
    replied = Case.told(case.feed("ProposalReplied", proposer="m-1", unit="mzj", reply_class="A", reply="…",
                                  on_time=True))
    assert set(replied) == {"m-1", "m-2", "m-3"}


def test_the_services_settings_are_read_and_a_bad_one_is_named():
    from services.notify.sending import NotifySettings
    from xieshang.kernel.config import ConfigError

    settings = NotifySettings.load({"XIESHANG_NOTIFY_BATCH": "20", "XIESHANG_NOTIFY_RETRY_SECONDS": "0.5",
                                    "XIESHANG_NOTIFY_OFFICE": "office-1"})
    assert (settings.batch, settings.policy.base_seconds, settings.office) == (20, 0.5, "office-1")
    assert NotifySettings.load({}).policy == domain.RetryPolicy()
    for key, value in (("XIESHANG_NOTIFY_BATCH", "lots"), ("XIESHANG_NOTIFY_MAX_ATTEMPTS", "0"),
                       ("XIESHANG_NOTIFY_LEASE_SECONDS", "-1")):
        with pytest.raises(ConfigError, match=key):
            NotifySettings.load({key: value})
