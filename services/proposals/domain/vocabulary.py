"""The words of the proposals domain: roles, states, categories, kinds, limits, stream names.

The lifecycle 提、立、交、办、督、评 (DOMAIN.md §1):

    submitted ──file──> filed ──assign──> assigned ──reply──> replied ──close──> closed
      │  ▲                                   ▲  (object / reassign,        │
      │  └─revise── returned                 │   contacts, co-unit         │ an unsatisfied
      ├──return──> returned                  │   opinions, overdue)        │ rating
      ├──not file──> not_filed                └──── rehandling (round n+1) ─┘
      └──merge──> merged (points to the surviving case)

Beside the states: joint proposals wait for their co-signers' confirmation; key proposals 重点
have named supervisors and supervision records; publication needs the proposer's consent;
published cases take public comments, moderated by staff and answered by the lead unit.
"""

from __future__ import annotations

import re

# Roles (Actor.role) this service knows. Subscriber systems read, never write.
MEMBER, STAFF, UNIT, LEADER, PUBLIC, SYSTEM, AUDITOR = (
    "member", "staff", "unit", "leader", "public", "system", "auditor")
SUBSCRIBER = "subscriber"

# 经济、政治、文化、社会、生态文明 (the seeds' "五位一体" areas) and the rest.
CATEGORIES = ("economy", "politics", "culture", "society", "ecology", "other")
KINDS = ("individual", "joint", "collective")          # 个人, 联名, 集体
BODY_TYPES = ("party", "group", "sector", "special_committee")  # 党派, 团体, 界别, 专门委员会
REPLY_CLASSES = {
    "A": "solved or basically solved 已解决或基本解决",
    "B": "being solved or planned 正在解决或列入计划",
    "C": "cannot be solved for now 因条件限制暂不能解决",
}
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")  # 满意, 基本满意, 不满意
CONTACT_STAGES = ("before", "during", "after")                  # 办前, 办中, 办后
CONVERSIONS = ("opinion_report", "suggestion_letter")          # 转社情民意, 转意见建议
SUPERVISION_MODES = ("party_government_leader", "chairs_meeting", "special_committee",
                     "proposal_committee")                     # 领衔督办 … 跟踪督办
SUPERVISION_KINDS = ("inspection", "meeting", "research", "other")  # 视察, 督办会, 调研
# Lengths of what people write (characters, after trimming). The gateway's request models declare
# the same bounds; tests/services/test_gateway_vocabulary.py keeps the two equal.
TEXT_LIMITS: dict[str, tuple[int, int]] = {
    "title": (2, 200), "reasons": (2, 20_000), "suggestions": (2, 20_000), "reason": (2, 2000),
    "note": (2, 10_000), "summary": (2, 5000), "opinion": (2, 20_000), "reply": (2, 50_000),
    "text": (2, 2000), "display_name": (1, 30), "answer": (2, 5000), "rejection_reason": (2, 500),
}
CO_SIGN_WINDOW_DAYS = 7
URGENT_MAX_DAYS = 365

SUBMITTED, RETURNED, FILED, NOT_FILED, MERGED, ASSIGNED, REPLIED, CLOSED = (
    "submitted", "returned", "filed", "not_filed", "merged", "assigned", "replied", "closed")
OPEN = (SUBMITTED, RETURNED, FILED, ASSIGNED, REPLIED)
HANDLED = (ASSIGNED, REPLIED, CLOSED)
PUBLISHABLE = (FILED, ASSIGNED, REPLIED, CLOSED)

# What each state allows (besides key designation, supervision, publication and comments,
# which depend on flags as well; Proposal.next_commands() lists them all).
STATE_COMMANDS: dict[str, tuple[str, ...]] = {
    SUBMITTED: ("confirm_co_signature", "decline_co_signature", "file_proposal",
                "not_file_proposal", "return_proposal", "merge_proposal"),
    RETURNED: ("revise_proposal",),
    FILED: ("assign_proposal", "designate_key_proposal"),
    ASSIGNED: ("object_to_assignment", "reassign_proposal", "dismiss_objection", "record_contact",
               "send_co_unit_opinion", "reply_to_proposal", "designate_key_proposal"),
    REPLIED: ("rate_reply", "record_contact", "record_follow_up", "close_proposal",
              "designate_key_proposal"),
    NOT_FILED: (), MERGED: (), CLOSED: (),
}

# A session 届次/会次 labels case numbers: 2024, 11-3, 十一届三次 …
SESSION = re.compile(r"^[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff_.-]{0,19}$")

RULES_STREAM = "handling-rules"


def proposal_stream(proposal_id: str) -> str:
    return f"proposal-{proposal_id}"


def case_numbers_stream(session: str) -> str:
    return f"casenumbers-{session}"
