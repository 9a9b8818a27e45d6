"""The feedback service's published events (its contract; docs/events.md and docs/feedback.md
list them).

Opinion reports 社情民意信息, the 征-编-报-督-复 loop (DOMAIN.md §3), one stream per report
(``opinion-<report id>``)::

    submitted ─checks (four)─> adopted ─> reported (party committee, government, upper
      │ ▲                        │        committees) · forwarded to units ─> feedback
      │ │                        │        (reminded when due soon, recorded overdue if late)
      │ └─revise── returned      │        · leaders' instructions · outcomes from above
      ├─return──> returned       └──────> the submitter informed 情况通报
      ├─combine─> combined (into a new report)
      └─not adopt─> not_adopted

A report from a lower committee starts with ``OpinionReceivedFromBelow`` instead of
``OpinionReportSubmitted`` and is handled in the same loop; what the upper committee decides on
it comes back to the lower committee's report as ``OpinionDecidedAbove``. Both carry the other
side's event id, log position and chain hash, so an auditor can match the two logs.

Who did it, when, on whose behalf and why is on every envelope. ``members`` on the events that
earn duty points are the members among the report's submitters (informants have no ledger).
Imports only the kernel: other services' consumers decode these events through ``registry``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xieshang.kernel.domain import DomainEvent, EventRegistry
from xieshang.kernel.anchoring import register_checkpoint_events
from xieshang.kernel.directory import DirectoryEntryNoted
from xieshang.kernel.integration import NOTHING_WITHHELD, Publication

registry = EventRegistry()

# The service's copy of the members service's directory: the members, units and stations a
# consultation's plan or a supervision group names (xieshang.kernel.directory).
DirectoryEntryNoted = registry.register(DirectoryEntryNoted)


# -- 征: collection --------------------------------------------------------------------------

@registry.register
@dataclass(frozen=True)
class OpinionReportSubmitted(DomainEvent):
    """A member or an informant submitted an opinion report, collected through ``channel``
    (one of CHANNELS). ``submitter`` is a user id; ``submitter_role`` is member or informant."""

    report_id: str
    submitter: str
    submitter_role: str
    title: str
    content: str
    channel: str
    category: str
    source: str | None = None  # e.g. "proposal:<id>" for a proposal converted 提案转


@registry.register
@dataclass(frozen=True)
class OpinionReportReturned(DomainEvent):
    """Staff returned the report to its submitter for revision 退回修改 (the checks start again
    after the revision)."""

    report_id: str
    submitter: str
    reason: str


@registry.register
@dataclass(frozen=True)
class OpinionReportRevised(DomainEvent):
    """The submitter revised a returned report."""

    report_id: str
    title: str
    content: str
    category: str


@registry.register
@dataclass(frozen=True)
class OpinionReportsCombined(DomainEvent):
    """Staff combined several reports into this new one 综合. ``contributors`` are the sources'
    submitters (user ids, in the sources' order), ``members`` those of them who are members."""

    report_id: str
    sources: list[str]
    title: str
    content: str
    category: str
    channel: str
    contributors: list[str]
    members: list[str]


@registry.register
@dataclass(frozen=True)
class OpinionReportCombinedInto(DomainEvent):
    """This report became part of the combined report ``into`` (on the source's stream)."""

    report_id: str
    into: str


@registry.register
@dataclass(frozen=True)
class OpinionReportCombinationReleased(DomainEvent):
    """A combination this report was marked for could not be completed (another source had
    changed meanwhile): the report awaits editing again, as before."""

    report_id: str
    into: str


# -- 编: editing under the four checks, adoption ----------------------------------------------

@registry.register
@dataclass(frozen=True)
class OpinionCheckRecorded(DomainEvent):
    """An editor recorded one of the four checks 四关 (``check``: political, facts, content,
    wording), passed or not, with a note saying why."""

    report_id: str
    check: str
    passed: bool
    note: str


@registry.register
@dataclass(frozen=True)
class OpinionReportAdopted(DomainEvent):
    """Staff adopted the report 采用 (every check passed)."""

    report_id: str
    title: str
    members: list[str]
    note: str = ""


@registry.register
@dataclass(frozen=True)
class OpinionReportNotAdopted(DomainEvent):
    """Staff decided not to adopt the report 不予采用, saying why."""

    report_id: str
    reason: str


# -- 报: reporting ---------------------------------------------------------------------------

@registry.register
@dataclass(frozen=True)
class OpinionReportReported(DomainEvent):
    """Staff reported the adopted report 报送 to the same level's party committee and/or
    government, and/or to upper-level committees (``upper``: their committee codes; each gets
    the report over its link). ``leaders``: the leaders it is put before for instruction.
    ``title``, ``content``, ``category`` are the text as reported."""

    report_id: str
    party_committee: bool
    government: bool
    upper: list[str]
    leaders: list[str]
    title: str
    content: str
    category: str
    channel: str
    submitter_role: str


# -- 督: forwarding, feedback, instructions ---------------------------------------------------

@registry.register
@dataclass(frozen=True)
class OpinionReportForwarded(DomainEvent):
    """Staff forwarded the report 转交 to handling units, each to send written feedback by
    ``deadline`` (ISO date)."""

    report_id: str
    units: list[str]
    deadline: str
    title: str


@registry.register
@dataclass(frozen=True)
class OpinionFeedbackReceived(DomainEvent):
    """A unit the report was forwarded to sent its written feedback 书面反馈."""

    report_id: str
    unit: str
    text: str
    deadline: str
    received_on: str
    on_time: bool


@registry.register
@dataclass(frozen=True)
class OpinionFeedbackDueSoon(DomainEvent):
    """A reminder: ``unit`` owes its written feedback on the report by ``deadline``, due in
    ``days_before`` days (0: today). Recorded by the system once per unit the report was
    forwarded to, when the deadline is near and that unit has not fed back yet."""

    report_id: str
    unit: str
    deadline: str
    days_before: int
    title: str


@registry.register
@dataclass(frozen=True)
class OpinionFeedbackOverdue(DomainEvent):
    """``unit`` let ``deadline`` pass without its written feedback on the report, now
    ``days_overdue`` days late. Recorded by the system once per unit the report was forwarded
    to (the feedback may still come, and is then not on time)."""

    report_id: str
    unit: str
    deadline: str
    days_overdue: int
    title: str


@registry.register
@dataclass(frozen=True)
class LeaderInstructionRecorded(DomainEvent):
    """A leader's instruction 批示 on the report: who (``leader``), at which level and office
    (LEADER_OFFICES), and the text. ``members`` as on OpinionReportAdopted."""

    report_id: str
    leader: str
    leader_level: str
    office: str
    text: str
    members: list[str]


# -- 复: the submitter told what happened ------------------------------------------------------

@registry.register
@dataclass(frozen=True)
class SubmitterInformed(DomainEvent):
    """Staff told the submitters what became of the report 情况通报 (adoption, reporting,
    instructions, the units' action)."""

    report_id: str
    submitters: list[str]
    text: str


# -- levels: committees that report to each other --------------------------------------------

@registry.register
@dataclass(frozen=True)
class OpinionReceivedFromBelow(DomainEvent):
    """A lower committee reported one of its reports to this one: this report (its id derives
    from the origin's committee and report id) is handled here in its own loop. ``origin_*``
    name the lower committee's report and its ``OpinionReportReported`` event: the event id,
    its position in the lower committee's feedback log and its chain hash."""

    report_id: str
    origin_committee: str
    origin_level: str
    origin_report_id: str
    origin_event_id: str
    origin_position: int
    origin_hash: str
    title: str
    content: str
    category: str
    channel: str
    submitter_role: str


@registry.register
@dataclass(frozen=True)
class OpinionDecidedAbove(DomainEvent):
    """An upper committee this report was reported to decided on it (``decision``: one of
    UPPER_DECISIONS: adopted, not_adopted, reported further, forwarded, instructed, fed back),
    recorded on the report here. ``detail`` is what the decision said (a reason, the targets
    reported to, the units and deadline, the instruction's level, office and text, the
    feedback). ``upper_*`` name the upper committee's report and event: its id, position in the
    upper committee's feedback log and chain hash. ``members``: as on OpinionReportAdopted, for
    the decisions that earn duty points (adopted, instructed)."""

    report_id: str
    upper_committee: str
    upper_level: str
    upper_report_id: str
    upper_event_id: str
    upper_position: int
    upper_hash: str
    decision: str
    detail: dict = field(default_factory=dict)
    members: list[str] = field(default_factory=list)


# -- consultations 协商议事: the eight steps 八步议事法 (DOMAIN.md §3) ----------------------------
#
# One stream per consultation (``consultation-<id>``); the committee's topic lists on
# ``consultation-topic-lists``::
#
#   topic_proposed ─decide (lists checked)─> topic_decided ─approve (party organisation)─> topic_approved
#     └─set aside─> topic_set_aside           └─reject─> topic_rejected
#   topic_approved ─plan─> planned (research 议前调研, re-plan) ─meeting─> met ─publish─> results_published
#     ─decide (party organisation)─> following_up (tasks to units, visit 回访, survey) ─close─> closed
#
# ``members`` on the events that earn duty points are the members who took part (the members
# service credits them, once per research record, meeting or group and member).

@registry.register
@dataclass(frozen=True)
class ConsultationTopicListAmended(DomainEvent):
    """Staff amended the committee's topic lists 议题清单: topic kind ``kind`` is now
    ``listing`` (allowed 可协商, forbidden 不可协商, or unlisted: taken off both), under the
    label ``label`` (Chinese, as the rule is named in a refusal), for ``reason``. ``version``
    counts the amendments (0: the default lists of vocabulary.DEFAULT_TOPIC_LISTS)."""

    committee: str
    kind: str
    listing: str
    label: str
    reason: str
    version: int


@registry.register
@dataclass(frozen=True)
class ConsultationTopicProposed(DomainEvent):
    """议题收集: a topic was raised (``source``: TOPIC_SOURCES — set by the Party and government
    党政点题, raised by members 委员提题, by residents 群众出题 (entered by staff), by departments)
    on topic kind ``topic_kind``, for township ``township`` (an organisation id, None: the whole
    committee). ``proposer`` is the user who entered it."""

    consultation_id: str
    title: str
    description: str
    topic_kind: str
    source: str
    proposer: str
    proposer_role: str
    township: str | None = None


@registry.register
@dataclass(frozen=True)
class ConsultationTopicSetAside(DomainEvent):
    """Staff did not take the topic up 议题不予采纳, saying why."""

    consultation_id: str
    reason: str


@registry.register
@dataclass(frozen=True)
class ConsultationTopicDecided(DomainEvent):
    """议题确定: staff (for the consultation council 协商议事会) decided the topic, checked
    against the topic lists of version ``lists_version``: its kind is allowed under ``rule``
    (the allowed kind's label); it now awaits the same-level party organisation's approval."""

    consultation_id: str
    title: str
    topic_kind: str
    rule: str
    lists_version: int
    note: str = ""


@registry.register
@dataclass(frozen=True)
class ConsultationTopicApproved(DomainEvent):
    """The same-level party organisation 同级党组织 approved the topic (``approver``: the
    leader who did, for ``organisation``)."""

    consultation_id: str
    title: str
    approver: str
    organisation: str
    note: str = ""


@registry.register
@dataclass(frozen=True)
class ConsultationTopicRejected(DomainEvent):
    """The same-level party organisation did not approve the topic, saying why."""

    consultation_id: str
    approver: str
    organisation: str
    reason: str


@registry.register
@dataclass(frozen=True)
class ConsultationPlanned(DomainEvent):
    """制定方案: the plan — when (``held_on``, ISO date), where (``place``: a station or platform
    of the members service's organisation tree, with its name, type and township), who takes part
    by kind (members and departments by id; residents 群众代表 as a number; stakeholders 利益相关方
    as organisations' descriptions, never people's names) and the agenda. Recorded again when
    the plan changes before the meeting (``revision`` 1, 2, …)."""

    consultation_id: str
    title: str
    held_on: str
    place: str
    place_name: str
    place_type: str
    township: str | None
    members: list[str]
    departments: list[str]
    residents: int
    stakeholders: list[str]
    agenda: str
    revision: int = 1


@registry.register
@dataclass(frozen=True)
class ConsultationResearchRecorded(DomainEvent):
    """议前调研: research before the meeting (``kind``: RESEARCH_KINDS), on ``held_on``, by
    ``members``, with what it found."""

    consultation_id: str
    research_id: str
    kind: str
    held_on: str
    members: list[str]
    summary: str


@registry.register
@dataclass(frozen=True)
class ConsultationMeetingHeld(DomainEvent):
    """协商议事: the meeting's record — who attended (members, departments, residents' number,
    stakeholders), members planned but absent, who spoke (ids of attending members and
    departments), the opinions voiced and the outcomes agreed 议定事项. ``members``: the members
    who attended (duty points)."""

    consultation_id: str
    title: str
    held_on: str
    place: str
    place_type: str
    township: str | None
    members: list[str]
    absent_members: list[str]
    departments: list[str]
    residents: int
    stakeholders: list[str]
    speakers: list[str]
    opinions: list[str]
    outcomes: list[str]


@registry.register
@dataclass(frozen=True)
class ConsultationResultsPublished(DomainEvent):
    """公开公示: the results were published through ``channel`` (PUBLICATION_CHANNELS) on
    ``published_on``, shown until ``until`` (ISO dates)."""

    consultation_id: str
    title: str
    channel: str
    text: str
    published_on: str
    until: str


@registry.register
@dataclass(frozen=True)
class ConsultationDecided(DomainEvent):
    """组织决定: the same-level party organisation decided on the results (``decider``: the
    leader who recorded it, for ``organisation``): ``adopted_outcomes`` are the agreed outcomes
    it adopted (their texts, in the meeting's order), ``text`` the decision."""

    consultation_id: str
    title: str
    decider: str
    organisation: str
    adopted_outcomes: list[str]
    text: str


@registry.register
@dataclass(frozen=True)
class FollowUpTaskAssigned(DomainEvent):
    """跟踪落实: staff gave ``unit`` the task ``task`` carrying out the adopted ``outcome``, to be
    done by ``deadline`` (ISO date)."""

    consultation_id: str
    task_id: str
    unit: str
    outcome: str
    task: str
    deadline: str
    title: str


@registry.register
@dataclass(frozen=True)
class FollowUpTaskCompleted(DomainEvent):
    """The unit reported the task done, with what it did, on ``completed_on``."""

    consultation_id: str
    task_id: str
    unit: str
    report: str
    deadline: str
    completed_on: str
    on_time: bool


@registry.register
@dataclass(frozen=True)
class FollowUpTaskDueSoon(DomainEvent):
    """A reminder: ``unit`` owes task ``task_id`` by ``deadline``, due in ``days_before`` days.
    Recorded by the system once per task."""

    consultation_id: str
    task_id: str
    unit: str
    deadline: str
    days_before: int
    title: str


@registry.register
@dataclass(frozen=True)
class FollowUpTaskOverdue(DomainEvent):
    """``unit`` let the task's ``deadline`` pass, now ``days_overdue`` days late; escalated to
    ``escalate_to`` (the party organisation's leaders who approved and decided). Recorded by
    the system once per task."""

    consultation_id: str
    task_id: str
    unit: str
    deadline: str
    days_overdue: int
    title: str
    escalate_to: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class ConsultationMeetingDueSoon(DomainEvent):
    """A reminder to the participants (``members``, ``departments``) that the meeting is on
    ``held_on`` at ``place_name``, in ``days_before`` days. Recorded by the system once per
    plan revision."""

    consultation_id: str
    title: str
    held_on: str
    place_name: str
    days_before: int
    members: list[str]
    departments: list[str]
    revision: int = 1


@registry.register
@dataclass(frozen=True)
class ConsultationFollowUpVisited(DomainEvent):
    """回访: a follow-up visit on ``visited_on`` by ``members``, with what it found."""

    consultation_id: str
    visited_on: str
    members: list[str]
    findings: str


@registry.register
@dataclass(frozen=True)
class ConsultationSurveyRecorded(DomainEvent):
    """The participants' satisfaction survey 满意度测评: of ``respondents``, how many were
    satisfied 满意, basically satisfied 基本满意 and dissatisfied 不满意 (the three add up)."""

    consultation_id: str
    respondents: int
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    note: str = ""


@registry.register
@dataclass(frozen=True)
class ConsultationResultConverted(DomainEvent):
    """A result of the consultation became an opinion report (``into`` opinion_report:
    ``target_id`` the report, whose source is ``consultation:<id>``) or goes to the proposals
    service as a collective proposal of ``body`` ({type, name}: the collective body 集体提案;
    ``into`` proposal, ``target_id`` None until it links back)."""

    consultation_id: str
    into: str
    title: str
    content: str
    category: str
    target_id: str | None = None
    body: dict | None = None


@registry.register
@dataclass(frozen=True)
class ConsultationLinkedToProposal(DomainEvent):
    """The proposals service took the result up as proposal ``proposal_id`` (its event
    ``source_event_id``): the consultation and the proposal now name each other."""

    consultation_id: str
    proposal_id: str
    source_event_id: str


@registry.register
@dataclass(frozen=True)
class ConsultationClosed(DomainEvent):
    """Staff closed the consultation: every task done, the visit made and the survey taken."""

    consultation_id: str
    title: str
    summary: str


# -- democratic supervision groups 民主监督组 (DOMAIN.md §3) -----------------------------------
#
# One stream per group (``supervision-<id>``): formed ─fact finding, opinions issued to the
# department ─> its handling reports (by a deadline; reminded, overdue escalated) ─> the group
# verifies each opinion's effect ─close (every opinion verified)─> closed.

@registry.register
@dataclass(frozen=True)
class SupervisionGroupFormed(DomainEvent):
    """Staff formed a supervision group for ``year``: its ``leader`` and ``members`` (member ids,
    the leader not among them), the ``department`` supervised (a handling unit), the ``topic``
    and the standard it supervises against ``basis`` 依据."""

    group_id: str
    name: str
    year: int
    leader: str
    members: list[str]
    department: str
    topic: str
    basis: str


@registry.register
@dataclass(frozen=True)
class SupervisionFactFindingRecorded(DomainEvent):
    """The group found facts (``kind``: FACT_FINDING_KINDS — site visit, briefing, forum,
    records review, open day) on ``held_on``, with ``members`` taking part."""

    group_id: str
    activity_id: str
    kind: str
    held_on: str
    members: list[str]
    findings: str


@registry.register
@dataclass(frozen=True)
class SupervisionOpinionIssued(DomainEvent):
    """The group issued a supervision opinion 监督意见 to the department, which reports how it
    handled it by ``deadline`` (ISO date)."""

    group_id: str
    opinion_id: str
    department: str
    text: str
    deadline: str
    issued_on: str
    title: str


@registry.register
@dataclass(frozen=True)
class SupervisionHandlingReported(DomainEvent):
    """The department reported how it handled the opinion 办理情况, on ``reported_on``."""

    group_id: str
    opinion_id: str
    department: str
    report: str
    deadline: str
    reported_on: str
    on_time: bool


@registry.register
@dataclass(frozen=True)
class SupervisionHandlingDueSoon(DomainEvent):
    """A reminder: the department owes its handling report by ``deadline``, in ``days_before``
    days. Recorded by the system once per opinion."""

    group_id: str
    opinion_id: str
    department: str
    deadline: str
    days_before: int
    title: str


@registry.register
@dataclass(frozen=True)
class SupervisionHandlingOverdue(DomainEvent):
    """The department let the deadline pass, ``days_overdue`` days late; escalated to
    ``escalate_to`` (the group's leader). Recorded by the system once per opinion."""

    group_id: str
    opinion_id: str
    department: str
    deadline: str
    days_overdue: int
    title: str
    escalate_to: list[str] = field(default_factory=list)


@registry.register
@dataclass(frozen=True)
class SupervisionEffectVerified(DomainEvent):
    """The group verified the effect of the department's handling (``verdict``: VERDICTS —
    carried out 落实到位, partly 部分落实, not carried out 未落实), with a note."""

    group_id: str
    opinion_id: str
    department: str
    verdict: str
    note: str


@registry.register
@dataclass(frozen=True)
class SupervisionGroupClosed(DomainEvent):
    """Staff closed the group's round: every opinion it issued was verified."""

    group_id: str
    name: str
    summary: str


# Signed checkpoints of this log's head (xieshang.kernel.anchoring): public, hashes only.
register_checkpoint_events(registry, kept=True)

# -- what leaves the service (the integration contract, ADR 0012) --------------------------------
# Public: a report once the committee makes it its own: adopted, reported to the Party committee,
# the government or the upper level, forwarded to units, their feedback and its deadlines,
# leaders' instructions, and what comes from below and above. Private: everything before
# adoption — a report is written by members, 信息员 and residents, and names them. Consultations
# and supervision groups: public from the topic approved and the group formed on (the council's
# and the committee's own acts, as they are published 公开公示); private: who raised a topic,
# topics not taken up, the working notes of research and fact finding.
PUBLICATION = Publication("feedback", registry, public={
    "LogCheckpointed": NOTHING_WITHHELD,
    "CheckpointReceived": NOTHING_WITHHELD,  # a lower level's checkpoint, kept here
    "OpinionReportAdopted": NOTHING_WITHHELD,
    "OpinionReportReported": NOTHING_WITHHELD,
    "OpinionReportForwarded": NOTHING_WITHHELD,
    "OpinionFeedbackReceived": NOTHING_WITHHELD,
    "OpinionFeedbackDueSoon": NOTHING_WITHHELD,
    "OpinionFeedbackOverdue": NOTHING_WITHHELD,
    "LeaderInstructionRecorded": NOTHING_WITHHELD,
    "OpinionReceivedFromBelow": NOTHING_WITHHELD,
    "OpinionDecidedAbove": NOTHING_WITHHELD,
    # consultations: once the council takes a topic up, as the results are published 公开公示;
    # what residents said and the members' absences stay here
    "ConsultationTopicListAmended": NOTHING_WITHHELD,
    "ConsultationTopicApproved": NOTHING_WITHHELD,
    "ConsultationPlanned": NOTHING_WITHHELD,
    # attendance stays here: with the plan's participants it would tell who was absent
    "ConsultationMeetingHeld": ("members", "absent_members", "speakers", "opinions"),
    "ConsultationResultsPublished": NOTHING_WITHHELD,
    "ConsultationDecided": NOTHING_WITHHELD,
    "FollowUpTaskAssigned": NOTHING_WITHHELD,
    "FollowUpTaskCompleted": NOTHING_WITHHELD,
    "FollowUpTaskDueSoon": NOTHING_WITHHELD,
    "FollowUpTaskOverdue": NOTHING_WITHHELD,
    "ConsultationMeetingDueSoon": NOTHING_WITHHELD,
    "ConsultationFollowUpVisited": ("findings",),
    "ConsultationSurveyRecorded": ("note",),
    "ConsultationResultConverted": NOTHING_WITHHELD,
    "ConsultationLinkedToProposal": NOTHING_WITHHELD,
    "ConsultationClosed": NOTHING_WITHHELD,
    # supervision: the group, its opinions, the department's handling and the verdicts
    "SupervisionGroupFormed": NOTHING_WITHHELD,
    "SupervisionOpinionIssued": NOTHING_WITHHELD,
    "SupervisionHandlingReported": NOTHING_WITHHELD,
    "SupervisionHandlingDueSoon": NOTHING_WITHHELD,
    "SupervisionHandlingOverdue": NOTHING_WITHHELD,
    "SupervisionEffectVerified": ("note",),
    "SupervisionGroupClosed": NOTHING_WITHHELD,
}, private={
    "OpinionReportSubmitted": "names its submitter (a member, an informant or a resident)",
    "OpinionReportReturned": "the committee's review with the submitter",
    "OpinionReportRevised": "a submitter's revision before adoption",
    "OpinionReportsCombined": "names the contributors of the combined reports",
    "OpinionReportCombinedInto": "editing before adoption",
    "OpinionReportCombinationReleased": "editing before adoption",
    "OpinionCheckRecorded": "the committee's internal checks of a draft",
    "OpinionReportNotAdopted": "a submitter's report the committee did not take up",
    "SubmitterInformed": "names the submitters told of the outcome",
    "DirectoryEntryNoted": "this service's copy of the members service's directory",
    "ConsultationTopicProposed": "names who raised the topic, before the council takes it up",
    "ConsultationTopicSetAside": "a topic the council did not take up",
    "ConsultationTopicDecided": "awaits the party organisation's approval: public once approved",
    "ConsultationTopicRejected": "the party organisation's deliberation on a topic",
    "ConsultationResearchRecorded": "research notes before the meeting name the people met",
    "SupervisionFactFindingRecorded": "the group's working notes name the people and cases met",
})
