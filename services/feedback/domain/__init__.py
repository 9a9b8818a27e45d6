"""Opinion reports 社情民意信息: the feedback service's pure domain (no I/O, no framework).

``events`` is the published contract; ``vocabulary`` the words; ``reports`` the decisions on a
report; ``commands`` what callers ask for. Stream ``opinion-<uuid>``: one report, from
submission on (editing under the four checks, adoption, reporting upward, forwarding,
instructions and feedback to the submitter come later: DOMAIN.md §3).
"""


from .commands import SubmitOpinionReport, TakeUpConvertedProposal
from .events import OpinionReportSubmitted, registry
from .reports import OpinionReport, convert_proposal, fold, require, submit_opinion_report
from .vocabulary import CATEGORIES, CHANNELS, SUBMITTERS, opinion_stream

__all__ = ["CATEGORIES", "CHANNELS", "OpinionReport", "OpinionReportSubmitted", "SUBMITTERS",
           "SubmitOpinionReport", "TakeUpConvertedProposal", "convert_proposal", "fold",
           "opinion_stream", "registry", "require", "submit_opinion_report"]
