"""Who is told what (docs/notifications.md): the notices an upstream event calls for, each queued
once, with the deliveries the recipients' preferences ask for.

A case's notices stream folds its **audience** (proposer, confirmed co-signers, merged proposers,
units, supervisors, followers; an opinion report's submitters and members) from what its events
said (``AudienceNoted``), so a later event reaches everyone it concerns, though it names only
some of them. A notification id is derived from the causing event and the recipient: the same
cause never queues the same notice twice. Texts are rendered per recipient in their language
with the names the directory has (``names``); an id the directory does not know is written as
what it is ("承办单位", "委员"), never as the id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping, Sequence

from xieshang.kernel.domain import DomainEvent

from .events import AudienceNoted, DeliveryPlanned, NotificationQueued, ProposalFollowed, ProposalUnfollowed
from .preferences import Preference, after_quiet_hours, digest_period, period_end
from .templates import render
from .vocabulary import DEFAULT_LOCALE, IMMEDIATE, INBOX, REACTS_TO

_NAMESPACE = uuid.UUID("6f1d2a52-3c1b-4a4e-9a51-0d7c59b1e7a1")
PROPOSER_ROLES = ("proposer", "co_signer", "merged", "credited")
SUBMITTER_ROLES = ("submitter", "member")


@dataclass(frozen=True)
class NoticeLog:
    """One case's notices: the ids queued, its audience by role, and facts (title, case number,
    published)."""

    ids: frozenset[str] = frozenset()
    audience: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)
    followers: frozenset[str] = frozenset()

    def has(self, notification_id: str) -> bool:
        return notification_id in self.ids

    def of(self, *roles: str) -> list[str]:
        return list(dict.fromkeys(p for r in roles for p in self.audience.get(r, ())))


def fold(events: Iterable[DomainEvent]) -> NoticeLog:
    ids: set[str] = set()
    audience: dict[str, tuple[str, ...]] = {}
    facts: dict[str, Any] = {}
    followers: set[str] = set()
    for e in events:
        if isinstance(e, NotificationQueued):
            ids.add(e.notification_id)
        elif isinstance(e, AudienceNoted):
            facts.update(e.facts)
            if e.role:
                kept = () if e.replace else audience.get(e.role, ())
                audience[e.role] = tuple(dict.fromkeys((*kept, *e.parties)))
        elif isinstance(e, ProposalFollowed):
            followers.add(e.follower)
        elif isinstance(e, ProposalUnfollowed):
            followers.discard(e.follower)
    return NoticeLog(frozenset(ids), audience, facts, frozenset(followers))


def notification_id(source_event_id: str, recipient: str, channel: str = INBOX) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{source_event_id}|{recipient}|{channel}"))


# -- what each upstream event says: audience changes, and (recipient, kind, params) ----------

@dataclass
class Reaction:
    """What one upstream event calls for (built by the rules below)."""

    audience: list[tuple[str, list[str], bool]] = field(default_factory=list)  # (role, parties, replace)
    facts: dict[str, Any] = field(default_factory=dict)
    notices: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)  # (recipient, kind, params)

    def note(self, role: str, parties: Iterable[str], replace: bool = False) -> None:
        self.audience.append((role, [p for p in parties if p], replace))

    def tell(self, recipients: Iterable[str], kind: str, **params: Any) -> None:
        self.notices.extend((r, kind, params) for r in recipients if r)


# A name to write for a party the directory does not know (never its id).
UNIT_WORD, PERSON_WORD = ("相关单位", "the unit"), ("相关委员", "the member")


@dataclass(frozen=True)
class Name:
    """A party to be written by name in the recipient's language."""

    party: str
    unknown: tuple[str, str] = PERSON_WORD


@dataclass(frozen=True)
class Names:
    """Several parties, joined."""

    parties: tuple[str, ...]
    unknown: tuple[str, str] = UNIT_WORD
    prefix: tuple[str, str] = ("", "")       # written before, when there are any
    suffix: tuple[str, str] = ("", "")


def unit(party: str) -> Name:
    return Name(party, UNIT_WORD)


def words(zh: str, en: str) -> tuple[str, str]:
    return (zh, en)


# The other services' codes in words (their vocabularies are theirs: notify keeps its own).
CONVERSION_WORDS = {"opinion_report": ("，已转为社情民意信息办理。", "; it is taken on as an opinion report."),
                    "suggestion_letter": ("，已转为意见建议办理。", "; it is taken on as a suggestion.")}
ACTIVITY_WORDS = {"meeting": ("会议", "meeting"), "inspection": ("视察", "inspection"),
                  "research": ("调研", "research"), "consultation": ("协商", "consultation"),
                  "plenary_speech": ("大会发言", "plenary speech"),
                  "community_service": ("社区服务", "community service")}
OUTCOME_WORDS = {"commended": ("表彰", "commended"), "normal": ("合格", "satisfactory"),
                 "talked_to": ("约谈通报", "a talk with the committee")}
DECISION_WORDS = {"adopted": ("采用", "adopted"), "not_adopted": ("未采用", "not adopted"),
                  "reported": ("报送", "sent on"), "forwarded": ("转交有关单位办理", "forwarded to the units"),
                  "instructed": ("获领导批示", "a leader's instruction"), "fed_back": ("收到办理反馈", "feedback received")}


def _proposal_rules(r: Reaction, t: str, d: Mapping[str, Any], log: NoticeLog, office: str) -> None:
    facts = {k: d[k] for k in ("title", "case_number") if d.get(k)}
    r.facts.update(facts)
    case = {"title": d.get("title") or log.facts.get("title", ""),
            "case": d.get("case_number") or log.facts.get("case_number", "")}
    # everyone credited: those the event names (at the time it was recorded) and those the case's
    # earlier events named, whatever order they were handled in here
    named = [d.get("proposer", ""), *(d.get("proposers") or ())]
    if d.get("proposers"):
        r.note("credited", d["proposers"])
    proposers = [p for p in dict.fromkeys([*log.of(*PROPOSER_ROLES), *named]) if p] \
        if t != "ProposalSubmitted" else log.of(*PROPOSER_ROLES)
    if t == "ProposalSubmitted":
        r.note("proposer", [d["proposer"]], replace=True)
        r.tell(d.get("co_signers") or (), "cosign_requested", proposer=Name(d["proposer"]),
               deadline=d.get("co_sign_deadline") or "", **case)
    elif t == "CoSignatureConfirmed":
        r.note("co_signer", [d["co_signer"]])
        r.tell(log.of("proposer"), "cosign_confirmed", co_signer=Name(d["co_signer"]), **case)
    elif t == "CoSignatureDeclined":
        r.tell(log.of("proposer"), "cosign_declined", co_signer=Name(d["co_signer"]), **case)
    elif t == "ProposalReturned":
        r.tell(proposers, "proposal_returned", reason=d.get("reason", ""), **case)
    elif t == "ProposalFiled":
        r.note("proposer", [d["proposer"]])
        r.note("co_signer", d.get("co_signers") or ())
        r.tell(list(dict.fromkeys([*proposers, *(d.get("co_signers") or ())])), "proposal_filed", **case)
    elif t == "ProposalNotFiled":
        conversion = CONVERSION_WORDS.get(d.get("conversion") or "", "")
        r.tell(proposers, "proposal_not_filed",
               reason=d.get("reason", ""), conversion=conversion, **case)
    elif t == "ProposalMerged":
        r.tell(list(dict.fromkeys([*proposers, *(d.get("proposers") or ())])), "proposal_merged", **case)
    elif t == "MergedProposalAdded":
        r.note("merged", d.get("proposers") or ())
    elif t in ("ProposalAssigned", "ProposalReassigned"):
        co = d.get("co_units") or []
        r.note("lead_unit", [d["lead_unit"]], replace=True)
        r.note("co_unit", co, replace=True)
        timing = {"deadline": d.get("deadline", ""), **case}
        r.tell([d["lead_unit"]], "proposal_assigned_lead", **timing)
        r.tell(co, "proposal_assigned_co", unit=unit(d["lead_unit"]), **timing)
        if t == "ProposalAssigned":
            r.tell(proposers, "proposal_assigned",
                   unit=unit(d["lead_unit"]),
                   co_units=Names(tuple(co), prefix=words("，", ", with "), suffix=words("会办", "")),
                   **timing)
        else:
            staying = {d["lead_unit"], *co}
            relieved = [u for u in [d["previous_lead_unit"], *log.of("lead_unit", "co_unit")] if u not in staying]
            r.tell(relieved, "proposal_reassigned_away", unit=unit(d["lead_unit"]), **case)
            r.tell(proposers, "proposal_reassigned", unit=unit(d["lead_unit"]), **timing)
    elif t == "AssignmentObjected":
        r.tell([office], "assignment_objected", unit=unit(d["unit"]), reason=d.get("reason", ""), **case)
    elif t == "ObjectionDismissed":
        r.tell([d["unit"]], "objection_dismissed", reason=d.get("reason", ""), **case)
    elif t == "CoUnitOpinionSent":
        r.tell([d["lead_unit"]], "co_unit_opinion_received", unit=unit(d["unit"]), **case)
    elif t == "ProposalReplied":
        r.tell(proposers, "rating_requested",
               unit=unit(d["unit"]), reply_class=d.get("reply_class", ""), **case)
        if log.facts.get("published"):
            r.tell(sorted(log.followers), "followed_proposal_replied", unit=unit(d["unit"]), **case)
    elif t == "ReplyDueSoon":
        r.tell([d["unit"], *log.of("co_unit")], "reply_due_soon", deadline=d["deadline"],
               days=d.get("days_before", ""), **case)
    elif t == "ReplyOverdue":
        timing = {"deadline": d["deadline"], "days": d.get("days_overdue", ""), **case}
        r.tell([d["unit"], *log.of("co_unit")], "reply_overdue", **timing)
        above = [*(d.get("escalate_to") or ()), *log.of("supervisor"), office]
        r.tell([p for p in dict.fromkeys(above) if p != d["unit"]], "reply_overdue_escalated",
               unit=unit(d["unit"]), **timing)
    elif t == "ReplyDeadlineMoved":
        r.tell(log.of("lead_unit", "co_unit"), "reply_deadline_moved", deadline=d["deadline"], **case)
    elif t == "ProposalDesignatedKey":
        r.note("supervisor", d.get("supervisors") or (), replace=True)
        r.tell(d.get("supervisors") or (), "proposal_key_supervise", **case)
    elif t == "RehandlingStarted":
        co = d.get("co_units") or []
        r.note("lead_unit", [d["lead_unit"]], replace=True)
        r.note("co_unit", co, replace=True)
        timing = {"deadline": d.get("deadline", ""), "round": d.get("round", ""), **case}
        r.tell([d["lead_unit"]], "rehandling_lead", **timing)
        r.tell(co, "rehandling_co", unit=unit(d["lead_unit"]), **timing)
        r.tell(proposers, "rehandling_started", unit=unit(d["lead_unit"]), **timing)
    elif t == "ProposalClosed":
        r.tell(proposers, "proposal_closed", **case)
        if log.facts.get("published"):
            r.tell(sorted(log.followers), "followed_proposal_closed", **case)
    elif t == "ProposalPublished":
        r.facts["published"] = True
    elif t == "ProposalUnpublished":
        r.facts["published"] = False


def _members_rules(r: Reaction, t: str, d: Mapping[str, Any], log: NoticeLog,
                   members_of: Callable[[str | None], list[str]]) -> None:
    if d.get("title"):
        r.facts["title"] = d["title"]
    if t == "ActivityRecorded":
        r.tell(d.get("participants") or (), "activity_recorded",
               activity=ACTIVITY_WORDS.get(d.get("kind", ""), words("履职活动", "activity")),
               title=d.get("title", ""), held_on=d.get("held_on", ""))
    elif t == "DutyMenuPublished":
        r.tell(members_of(d.get("sector")), "duty_menu_published", year=d.get("year", ""),
               title=d.get("title", ""))
    elif t == "MenuSignedUp":
        kind = "menu_designated" if d.get("designated") else "menu_signed_up"
        r.tell([d["member_id"]], kind, year=d.get("year", ""), count=len(d.get("item_ids") or ()),
               title=log.facts.get("title", ""))
    elif t == "AnnualAssessmentConcluded":
        r.tell([d["member_id"]], "assessment_concluded", year=d.get("year", ""),
               outcome=OUTCOME_WORDS.get(d.get("outcome", ""), words("已评定", "concluded")),
               points=d.get("points", ""))


def _feedback_rules(r: Reaction, t: str, d: Mapping[str, Any], log: NoticeLog, office: str) -> None:
    if d.get("title"):
        r.facts["title"] = d["title"]
    report = {"title": d.get("title") or log.facts.get("title", "")}
    submitters = log.of(*SUBMITTER_ROLES)
    if t == "OpinionReportSubmitted":
        r.note("submitter", [d["submitter"]])
    elif t == "OpinionReportsCombined":
        r.note("member", d.get("members") or ())
        r.note("submitter", d.get("contributors") or ())
    elif t == "OpinionReportReturned":
        r.tell([d.get("submitter") or "", *submitters], "opinion_returned", reason=d.get("reason", ""), **report)
    elif t == "OpinionReportAdopted":
        r.note("member", d.get("members") or ())
        r.tell([*submitters, *(d.get("members") or ())], "opinion_adopted", **report)
    elif t == "OpinionReportNotAdopted":
        r.tell(submitters, "opinion_not_adopted", reason=d.get("reason", ""), **report)
    elif t == "OpinionReportReported":
        targets = [words(*w) for flag, w in (("party_committee", ("党委", "the party committee")),
                                             ("government", ("政府", "the government"))) if d.get(flag)]
        if d.get("leaders"):
            targets.append(words("有关领导", "the leaders"))
        if d.get("upper"):
            targets.append(words("上级政协", "the committee above"))
        r.tell(submitters, "opinion_reported", targets=Joined(tuple(targets)), **report)
    elif t == "OpinionReportForwarded":
        r.note("unit", d.get("units") or ())
        r.tell(d.get("units") or (), "opinion_forwarded", deadline=d.get("deadline", ""), **report)
    elif t == "OpinionFeedbackReceived":
        late = "" if d.get("on_time", True) else words("（已逾期）", " (late)")
        r.tell([office], "opinion_feedback_received", unit=unit(d["unit"]), late=late, **report)
    elif t == "OpinionFeedbackDueSoon":
        r.tell([d["unit"]], "opinion_feedback_due_soon", deadline=d["deadline"],
               days=d.get("days_before", ""), **report)
    elif t == "OpinionFeedbackOverdue":
        timing = {"deadline": d["deadline"], "days": d.get("days_overdue", ""), **report}
        r.tell([d["unit"], office], "opinion_feedback_overdue", unit=unit(d["unit"]), **timing)
    elif t == "LeaderInstructionRecorded":
        r.tell([*submitters, *(d.get("members") or ())], "opinion_instructed",
               leader=Name(d.get("leader", ""), words("领导", "a leader")), text=d.get("text", ""), **report)
    elif t == "SubmitterInformed":
        r.tell([*(d.get("submitters") or ()), *submitters], "opinion_informed", text=d.get("text", ""), **report)
    elif t == "OpinionReceivedFromBelow":
        r.tell([office], "opinion_received_from_below", **report)
    elif t == "OpinionDecidedAbove":
        decision = DECISION_WORDS.get(d.get("decision", ""), words("已处理", "handled"))
        r.tell([*submitters, *(d.get("members") or ())], "opinion_decided_above", decision=decision, **report)
    else:
        _consultation_rules(r, t, d, log, office)


# A supervision group's people, as its notice says what they are in it.
GROUP_ROLE_WORDS = {"leader": ("组长", "the leader"), "member": ("成员", "a member")}


def _escalated(r: Reaction, d: Mapping[str, Any], office: str, kind: str, **params: Any) -> None:
    """An overdue task or opinion: the unit told, and those it is escalated to and staff (as
    ReplyOverdue does; never the unit itself twice)."""
    timing = {"deadline": d["deadline"], "days": d.get("days_overdue", ""), **params}
    r.tell([d["unit"]], kind, **timing)
    above = [*(d.get("escalate_to") or ()), office]
    r.tell([p for p in dict.fromkeys(above) if p != d["unit"]], f"{kind}_escalated",
           unit=unit(d["unit"]), **timing)


def _consultation_rules(r: Reaction, t: str, d: Mapping[str, Any], log: NoticeLog, office: str) -> None:
    """Consultations 协商议事 (stream ``consultation-<id>``) and democratic supervision groups
    民主监督组 (``supervision-<id>``): the participants invited and reminded, the units given
    tasks and the departments opinions, reminded, and told when late with those above them."""
    title = {"title": d.get("title") or log.facts.get("title", "")}
    if t == "ConsultationPlanned":
        kind = "consultation_invited" if int(d.get("revision") or 1) <= 1 else "consultation_plan_changed"
        r.tell([*(d.get("members") or ()), *(d.get("departments") or ())], kind,
               held_on=d.get("held_on", ""), place=d.get("place_name", ""), agenda=d.get("agenda", ""), **title)
    elif t == "ConsultationMeetingDueSoon":
        r.tell([*(d.get("members") or ()), *(d.get("departments") or ())], "consultation_meeting_due_soon",
               held_on=d.get("held_on", ""), place=d.get("place_name", ""), days=d.get("days_before", ""),
               **title)
    elif t == "FollowUpTaskAssigned":
        r.tell([d["unit"]], "follow_up_task_assigned", outcome=d.get("outcome", ""), task=d.get("task", ""),
               deadline=d.get("deadline", ""), **title)
    elif t == "FollowUpTaskDueSoon":
        r.tell([d["unit"]], "follow_up_task_due_soon", deadline=d["deadline"], days=d.get("days_before", ""),
               **title)
    elif t == "FollowUpTaskOverdue":
        _escalated(r, d, office, "follow_up_task_overdue", **title)
    elif t == "SupervisionGroupFormed":
        r.facts["title"] = d.get("name", "")
        group = {"title": d.get("name", ""), "year": d.get("year", ""), "topic": d.get("topic", ""),
                 "department": unit(d.get("department", ""))}
        r.tell([d.get("leader") or ""], "supervision_group_formed", role=GROUP_ROLE_WORDS["leader"], **group)
        r.tell(d.get("members") or (), "supervision_group_formed", role=GROUP_ROLE_WORDS["member"], **group)
    elif t == "SupervisionOpinionIssued":
        r.tell([d["department"]], "supervision_opinion_issued", text=d.get("text", ""),
               deadline=d.get("deadline", ""), **title)
    elif t == "SupervisionHandlingDueSoon":
        r.tell([d["department"]], "supervision_handling_due_soon", deadline=d["deadline"],
               days=d.get("days_before", ""), **title)
    elif t == "SupervisionHandlingOverdue":
        _escalated(r, {**d, "unit": d["department"]}, office, "supervision_handling_overdue", **title)


@dataclass(frozen=True)
class Joined:
    """Several (zh, en) words, joined in the recipient's language."""

    parts: tuple[tuple[str, str], ...]


def react(log: NoticeLog, *, service: str, event_type: str, data: Mapping[str, Any], office: str,
          members_of: Callable[[str | None], list[str]] = lambda sector: []) -> Reaction:
    """What ``event_type`` of ``service`` calls for, given the case's log so far."""
    r = Reaction()
    if event_type not in REACTS_TO.get(service, ()):
        return r
    if service == "proposals":
        _proposal_rules(r, event_type, data, log, office)
    elif service == "members":
        _members_rules(r, event_type, data, log, members_of)
    elif service == "feedback":
        _feedback_rules(r, event_type, data, log, office)
    return r


# -- from a reaction to events -------------------------------------------------------------

def _text(value: Any, locale: str, names: Callable[[str], str | None]) -> Any:
    zh = locale == DEFAULT_LOCALE
    if isinstance(value, Name):
        return names(value.party) or value.unknown[0 if zh else 1]
    if isinstance(value, Names):
        if not value.parties:
            return ""
        listed = ("、" if zh else ", ").join(names(p) or value.unknown[0 if zh else 1] for p in value.parties)
        return f"{value.prefix[0 if zh else 1]}{listed}{value.suffix[0 if zh else 1]}"
    if isinstance(value, Joined):
        return ("、" if zh else ", ").join(p[0 if zh else 1] for p in value.parts)
    if isinstance(value, tuple) and len(value) == 2:
        return value[0 if zh else 1]
    return value


def notices_for(log: NoticeLog, *, service: str, event_type: str, data: Mapping[str, Any],
                subject: str, source_event_id: str, office: str, now: datetime,
                names: Callable[[str], str | None], preference: Callable[[str, str], Preference],
                channels: Sequence[str] = (), members_of: Callable[[str | None], list[str]] = lambda s: [],
                ) -> list[DomainEvent]:
    """The events an upstream event calls for on its case's notices stream: what it says of the
    case's audience, then each recipient's notice (once per recipient and cause) and its planned
    deliveries on the available ``channels`` as the recipient's preference says."""
    r = react(log, service=service, event_type=event_type, data=data, office=office, members_of=members_of)
    out: list[DomainEvent] = []
    for role, parties, replace in r.audience:
        current = log.audience.get(role, ())
        if (tuple(parties) != current) if replace else not set(parties) <= set(current):
            out.append(AudienceNoted(subject=subject, source_event_id=source_event_id, role=role,
                                     parties=parties, replace=replace))
    new_facts = {k: v for k, v in r.facts.items() if log.facts.get(k) != v}
    if new_facts:
        out.append(AudienceNoted(subject=subject, source_event_id=source_event_id, facts=new_facts))
    told: set[str] = set()
    for recipient, kind, params in r.notices:
        if recipient in told:
            continue   # one notice per person and cause (the first reason given)
        told.add(recipient)
        nid = notification_id(source_event_id, recipient)
        if log.has(nid):
            continue
        pref = preference(recipient, kind)
        values = {k: str(_text(v, pref.locale, names)) for k, v in params.items()}
        title, body = render(kind, values, pref.locale)
        out.append(NotificationQueued(notification_id=nid, recipient=recipient, channel=INBOX,
                                      kind=kind, subject=subject, title=title, body=body,
                                      source_event_id=source_event_id, locale=pref.locale,
                                      params=values))
        out.extend(plan_deliveries(nid, recipient, kind, pref, now, channels))
    return out


def plan_deliveries(nid: str, recipient: str, kind: str, pref: Preference, now: datetime,
                    channels: Sequence[str]) -> list[DeliveryPlanned]:
    """One delivery per channel the recipient wants and the deployment has."""
    out = []
    for channel in pref.channels:
        if channel == INBOX or channel not in channels:
            continue
        if pref.cadence == IMMEDIATE:
            due, period = after_quiet_hours(now, pref.quiet_hours), None
        else:
            period = digest_period(now, pref.cadence)
            due = after_quiet_hours(period_end(period, pref.cadence), pref.quiet_hours)
        out.append(DeliveryPlanned(notification_id=nid, recipient=recipient, channel=channel, kind=kind,
                                   due_at=due.isoformat(), digest_period=period, cadence=pref.cadence,
                                   quiet_hours=pref.quiet_hours))
    return out
