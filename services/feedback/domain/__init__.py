"""Opinion reports 社情民意信息: the feedback service's pure domain (no I/O, no framework).

``events`` is the published contract; ``vocabulary`` the words; ``reports`` the decisions on a
report; ``commands`` what callers ask for. Stream ``opinion-<uuid>``: one report, from
submission on (editing under the four checks, adoption, reporting upward, forwarding,
instructions and feedback to the submitter come later: DOMAIN.md §3).
"""

from xieshang.kernel.exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "commands": ("SubmitOpinionReport", "TakeUpConvertedProposal"),
    "events": ("OpinionReportSubmitted", "registry"),
    "reports": ("OpinionReport", "convert_proposal", "fold", "require", "submit_opinion_report"),
    "vocabulary": ("CATEGORIES", "CHANNELS", "SUBMITTERS", "opinion_stream"),
})
