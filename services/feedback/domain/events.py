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
from xieshang.kernel.integration import NOTHING_WITHHELD, Publication

registry = EventRegistry()


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


# Signed checkpoints of this log's head (xieshang.kernel.anchoring): public, hashes only.
register_checkpoint_events(registry, kept=True)

# -- what leaves the service (the integration contract, ADR 0012) --------------------------------
# Public: a report once the committee makes it its own: adopted, reported to the Party committee,
# the government or the upper level, forwarded to units, their feedback and its deadlines,
# leaders' instructions, and what comes from below and above. Private: everything before
# adoption — a report is written by members, 信息员 and residents, and names them.
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
})
