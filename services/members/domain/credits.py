"""Where credits come from outside this service: the proposals service's events (by type name
and data, the contract being services/proposals' events, not imported; a proposal with a
``source``, taken up by staff from a consultation's result, credits nobody: its submission here,
its filing in the service, which credits a collective proposal's proposer only if they are a
member), and what this service
notes about a proposal case (stream ``case-<proposal id>``) so that a key designation credits
every proposer whichever of the events arrives first; and the feedback service's events about
opinion reports 社情民意信息 (the same way, services/feedback's events being the contract).

``members`` on the feedback events are the members among the report's submitters (informants
信息员 have no ledger here, so an event with none credits nobody). Each of their credits is keyed
by what earns it, not by the event that carried it, so a redelivery or a second event saying the
same thing credits nothing twice:

* ``OpinionReportAdopted``: ``opinion_adopted`` once per report and member
  (``opinion-adopted:<report>``);
* ``OpinionDecidedAbove`` with decision ``adopted``: ``opinion_reported_upward`` once per
  report, upper committee and member (``opinion-upper:<report>:<upper committee>``); with
  decision ``instructed``: ``leader_instruction`` once per upper committee's event
  (``opinion-instruction:<upper event id>``); its other decisions credit nothing;
* ``LeaderInstructionRecorded`` (a leader of this level): ``leader_instruction`` once per
  instruction event (``opinion-instruction:<event id>``).

And the feedback service's consultations 协商议事 and democratic supervision groups 民主监督组
(``consultation_credits``), keyed the same way, in the year the activity took place (a research
record's or a meeting's ``held_on``, a group's ``year``), as an activity record is:

* ``ConsultationResearchRecorded``: ``consultation_research`` once per research record and
  member (``consultation-research:<research id>``);
* ``ConsultationMeetingHeld``: ``consultation_meeting`` once per consultation and attending
  member (``consultation-meeting:<consultation id>``; members planned but absent earn nothing);
* ``SupervisionGroupFormed``: ``supervision_group`` once per group for its leader and each of
  its members (``supervision-group:<group id>``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from xieshang.kernel.domain import DomainEvent

from .events import CaseKeyDesignationNoted, CaseProposersNoted
from .points import Credit
from .vocabulary import PROPOSALS


def proposal_credits(event_type: str, data: Mapping[str, Any], *, event_id: str, stream: str,
                     year: int) -> list[Credit]:
    """The credits a proposals event earns directly (key designations need the case's
    proposers: see ``CaseNotes``)."""
    def credit(member: Any, activity: str, note: str = "") -> Credit:
        return Credit(str(member), activity, PROPOSALS, event_id, stream, year, event_id, note)

    title = str(data.get("title") or "")
    if event_type == "ProposalSubmitted" and data.get("source"):
        return []   # taken up from elsewhere (a consultation's result), entered by staff: nobody's duty
    if event_type == "ProposalSubmitted":
        return [credit(data["proposer"], "proposal_submitted", f"提交提案《{title}》")]
    if event_type == "ProposalFiled":
        return [credit(data["proposer"], "proposal_filed",
                       f"提案立案 {data.get('case_number', '')}".strip())]
    if event_type == "CoSignatureConfirmed":
        return [credit(data["co_signer"], "proposal_co_signed")]
    if event_type == "MergedProposalAdded":
        return [credit(p, "proposal_merged") for p in dict.fromkeys(data.get("proposers") or ())]
    if event_type == "ReplyRated":
        return [credit(data["rater"], "reply_rated", f"第{data.get('round', 1)}轮答复评价")]
    return []


@dataclass(frozen=True)
class CaseNotes:
    """What this service learnt about one proposal: its proposers and its key designation."""

    proposal_id: str
    proposers: tuple[str, ...] = ()
    key: CaseKeyDesignationNoted | None = None


def fold_case(proposal_id: str, events: Iterable[DomainEvent], initial: CaseNotes | None = None) -> CaseNotes:
    """The case after ``events`` (applied to ``initial``, by default a case nothing is known of)."""
    state = initial or CaseNotes(proposal_id)
    for e in events:
        if isinstance(e, CaseProposersNoted):
            state = dataclasses.replace(state, proposers=tuple(dict.fromkeys((*state.proposers, *e.proposers))))
        elif isinstance(e, CaseKeyDesignationNoted) and state.key is None:
            state = dataclasses.replace(state, key=e)
    return state


def note_case(case: CaseNotes, event_type: str, data: Mapping[str, Any], *, event_id: str,
              stream: str, year: int) -> list[DomainEvent]:
    """Note the proposers (ProposalSubmitted, MergedProposalAdded) or the key designation
    (ProposalDesignatedKey) of a case, if they are new."""
    if event_type == "ProposalSubmitted" and data.get("source"):
        return []   # its proposer is the staff member who took it up (see proposal_credits)
    if event_type in ("ProposalSubmitted", "MergedProposalAdded"):
        people = ([data["proposer"]] if event_type == "ProposalSubmitted"
                  else list(data.get("proposers") or ()))
        new = [p for p in dict.fromkeys(people) if p not in case.proposers]
        return [CaseProposersNoted(proposal_id=case.proposal_id, proposers=new,
                                   source_event_id=event_id)] if new else []
    if event_type == "ProposalDesignatedKey" and case.key is None:
        return [CaseKeyDesignationNoted(proposal_id=case.proposal_id, source_event_id=event_id,
                                        source_stream=stream, year=year)]
    return []


def key_credits(case: CaseNotes) -> list[Credit]:
    """Every proposer of a key case earns ``proposal_made_key`` once per case, whenever both
    the designation and the proposer are known (in whichever order they arrived)."""
    if case.key is None:
        return []
    k = case.key
    return [Credit(p, "proposal_made_key", PROPOSALS, k.source_event_id, k.source_stream, k.year,
                   f"key:{case.proposal_id}", "提案列为重点提案") for p in case.proposers]


# -- the feedback service: opinion reports 社情民意信息 -------------------------------------------

# The service whose events earn these credits (its published name).
FEEDBACK = "feedback"

# The event types credited here (the feedback service's contract names them).
OPINION_CREDIT_EVENTS = ("OpinionReportAdopted", "OpinionDecidedAbove", "LeaderInstructionRecorded")

# How a note names the level and the office of a leader who instructed (the feedback service's
# LEVELS and LEADER_OFFICES); an unknown code is shown as it is.
_LEVELS = {"national": "全国", "province": "省（自治区）", "city": "市", "county": "县（区）"}
_OFFICES = {"party_committee": "党委", "government": "政府", "committee": "政协"}


def opinion_credits(event_type: str, data: Mapping[str, Any], *, event_id: str, stream: str,
                    year: int) -> list[Credit]:
    """The credits a feedback event earns: one per member among the report's submitters."""
    report_id = str(data.get("report_id") or "")
    members = list(dict.fromkeys(str(m) for m in data.get("members") or ()))

    def credits(activity: str, key: str, note: str) -> list[Credit]:
        return [Credit(m, activity, FEEDBACK, event_id, stream, year, key, note) for m in members]

    if event_type == "OpinionReportAdopted":
        title = str(data.get("title") or "")
        return credits("opinion_adopted", f"opinion-adopted:{report_id}",
                       f"社情民意信息《{title}》被采用" if title else "社情民意信息被采用")
    if event_type == "OpinionDecidedAbove":
        upper = str(data.get("upper_committee") or "")
        decision = data.get("decision")
        if decision == "adopted":
            return credits("opinion_reported_upward", f"opinion-upper:{report_id}:{upper}",
                           f"社情民意信息被上级政协（{upper}）采用")
        if decision == "instructed":
            detail = data.get("detail") or {}
            return credits("leader_instruction", f"opinion-instruction:{data.get('upper_event_id') or event_id}",
                           _instruction_note(detail.get("leader_level"), detail.get("office"),
                                             f"经上级政协（{upper}）报送"))
        return []
    if event_type == "LeaderInstructionRecorded":
        return credits("leader_instruction", f"opinion-instruction:{event_id}",
                       _instruction_note(data.get("leader_level"), data.get("office")))
    return []


def _instruction_note(level: Any, office: Any, via: str = "") -> str:
    """E.g. 社情民意信息获市政府领导批示."""
    where = "".join(labels.get(str(code), str(code))
                    for code, labels in ((level, _LEVELS), (office, _OFFICES)) if code)
    return f"社情民意信息{via}获{where}领导批示"


# -- the feedback service: consultations 协商议事 and supervision groups 民主监督组 ------------------

# The event types credited here (the feedback service's contract names them).
CONSULTATION_CREDIT_EVENTS = ("ConsultationResearchRecorded", "ConsultationMeetingHeld",
                              "SupervisionGroupFormed")


def consultation_credits(event_type: str, data: Mapping[str, Any], *, event_id: str, stream: str,
                         year: int) -> list[Credit]:
    """The credits a consultation's or a supervision group's event earns: one per member who
    took part. ``year`` is the event's own year, used when the event names no date of its own."""
    def credits(people: Iterable[Any], activity: str, key: str, note: str, in_year: int) -> list[Credit]:
        return [Credit(m, activity, FEEDBACK, event_id, stream, in_year, key, note)
                for m in dict.fromkeys(str(p) for p in people if p)]

    if event_type == "ConsultationResearchRecorded":
        return credits(data.get("members") or (), "consultation_research",
                       f"consultation-research:{data.get('research_id') or event_id}", "参加议前调研",
                       _year_of_date(data.get("held_on"), year))
    if event_type == "ConsultationMeetingHeld":
        title = str(data.get("title") or "")
        return credits(data.get("members") or (), "consultation_meeting",
                       f"consultation-meeting:{data.get('consultation_id') or event_id}",
                       f"参加协商议事会议《{title}》" if title else "参加协商议事会议",
                       _year_of_date(data.get("held_on"), year))
    if event_type == "SupervisionGroupFormed":
        name = str(data.get("name") or "")
        group_year = data.get("year")
        return credits([data.get("leader"), *(data.get("members") or ())], "supervision_group",
                       f"supervision-group:{data.get('group_id') or event_id}",
                       f"参加民主监督组（{name}）" if name else "参加民主监督组",
                       int(group_year) if isinstance(group_year, int) and not isinstance(group_year, bool)
                       else year)
    return []


def _year_of_date(value: Any, default: int) -> int:
    """The year of an ISO date (``held_on``), or ``default`` when there is none."""
    text = str(value or "")
    return int(text[:4]) if len(text) >= 4 and text[:4].isdigit() else default
