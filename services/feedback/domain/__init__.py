"""Opinion reports 社情民意信息: the feedback service's pure domain (no I/O, no framework).

``events`` is the published contract; ``vocabulary`` the words; ``state`` a report folded from
its stream (``opinion-<uuid>``); the decisions by stage of the 征-编-报-督-复 loop (DOMAIN.md §3):
``submission`` (submit, convert a proposal, return, revise, combine), ``editing`` (the four checks,
adopt or not), ``handling`` (report, forward, feedback and its deadlines, instructions, inform the
submitter), and ``levels`` (reports received from below, decisions coming back from above);
``access`` who reads what; ``commands`` what callers ask for.
"""

from xieshang.kernel.exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "access": ("may_read", "require_reader", "require_list_reader", "report_as_seen_by"),
    "commands": ("SubmitOpinionReport", "TakeUpConvertedProposal", "RecordOpinionCheck",
                 "ReturnOpinionReport", "ReviseOpinionReport", "CombineOpinionReports",
                 "AdoptOpinionReport", "NotAdoptOpinionReport", "ReportOpinion", "ForwardOpinion",
                 "SendOpinionFeedback", "RecordLeaderInstruction", "InformSubmitter"),
    "events": ("OpinionReportSubmitted", "OpinionReportReported", "OpinionReceivedFromBelow",
               "OpinionDecidedAbove", "registry"),
    "state": ("OpinionReport", "fold", "report_fold"),
    "checks": ("require_report",),
    "submission": ("submit_opinion_report", "convert_proposal", "return_opinion_report",
                   "revise_opinion_report", "combine_opinion_reports", "mark_combined",
                   "release_combined"),
    "editing": ("record_opinion_check", "adopt_opinion_report", "not_adopt_opinion_report"),
    "handling": ("report_opinion", "forward_opinion", "send_opinion_feedback",
                 "record_leader_instruction", "inform_submitter", "remind_or_record_overdue"),
    "levels": ("receive_from_below", "record_decision_from_above", "decision_for_below",
               "reported_payload"),
    "vocabulary": ("CATEGORIES", "CHANNELS", "CHECKS", "SUBMITTERS", "LEVELS", "REMIND_DAYS_BEFORE",
                   "opinion_stream", "received_report_id"),
})
