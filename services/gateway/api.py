"""The HTTP API: every route, who may call it, the schema of what it takes and what it gives.

One table (``ROUTES``) drives the request handling (service.py), the validation (the pydantic
models below) and the OpenAPI document (openapi.py), so they cannot drift apart. A route names
the RPC it calls; path parameters, query parameters and the JSON body become its keyword
arguments. The services check rights again themselves; the roles here only turn away, early and
with a clear answer, callers who could never succeed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# Roles (Actor.role). "public" is a signed-in resident (comments); no login at all is anonymous.
STAFF, MEMBER, UNIT, LEADER, AUDITOR, ADMIN, SUBSCRIBER, PUBLIC = (
    "staff", "member", "unit", "leader", "auditor", "admin", "subscriber", "public")
INFORMANT = "informant"
ANYONE_SIGNED_IN = frozenset({STAFF, MEMBER, UNIT, LEADER, AUDITOR, ADMIN, SUBSCRIBER, PUBLIC, INFORMANT})
READERS = frozenset({STAFF, AUDITOR, LEADER, SUBSCRIBER})

# RPCs whose decision takes the body's reason as an argument (it is also recorded as the events' reason)
TAKES_REASON = frozenset({"return_proposal", "not_file_proposal", "object_to_assignment",
                          "dismiss_objection", "unpublish_proposal", "moderate_comment"})

Id = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", min_length=1, max_length=64)
Category = Literal["economy", "politics", "culture", "society", "ecology", "other"]
Rating = Literal["satisfied", "basically_satisfied", "unsatisfied"]


class Body(BaseModel):
    """Every command body may say why (``reason``) and, for staff entering something for a
    member, on whose behalf; both are recorded on the events."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000, description="why, recorded on the events")
    on_behalf_of: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$",
                                     description="the member staff act for (paper submissions)")


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wait_for: int | None = Field(default=None, ge=0, le=2**53,
                                 description="a position from a command's answer: wait until the "
                                             "answer includes it (read your own writes)")


class Page(Query):
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


# -- bodies -----------------------------------------------------------------------------------

class CollectiveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["party", "group", "sector", "special_committee"]
    name: str = Field(min_length=1, max_length=100)


class SubmitProposal(Body):
    title: str = Field(min_length=2, max_length=200)
    reasons: str = Field(min_length=2, max_length=20_000, description="案由")
    suggestions: str = Field(min_length=2, max_length=20_000, description="建议")
    category: Category
    co_signers: list[str] = Field(default_factory=list, max_length=50)
    kind: Literal["individual", "joint", "collective"] | None = None
    session: str = Field(default="", max_length=20, description="届次/会次, e.g. 2024; default: this year")
    body: CollectiveBody | None = None
    publish_consent: bool = False


class Reason(Body):
    reason: str = Field(min_length=2, max_length=2000)


class Revise(Body):
    title: str = Field(min_length=2, max_length=200)
    reasons: str = Field(min_length=2, max_length=20_000)
    suggestions: str = Field(min_length=2, max_length=20_000)
    category: Category


class NotFile(Reason):
    conversion: Literal["opinion_report", "suggestion_letter"] | None = None


class Merge(Body):
    into: str = Id


class Assign(Body):
    lead_unit: str = Id
    co_units: list[str] = Field(default_factory=list, max_length=20)
    deadline: date | None = Field(default=None, description="a fixed date (else counted by the rules)")
    urgent: bool = False


class Reassign(Body):
    lead_unit: str = Id
    co_units: list[str] = Field(default_factory=list, max_length=20)
    deadline: date | None = None


class DismissObjection(Reason):
    unit: str = Id


class Contact(Body):
    stage: Literal["before", "during", "after"]
    summary: str = Field(min_length=2, max_length=5000)


class Opinion(Body):
    opinion: str = Field(min_length=2, max_length=20_000)


class Reply(Body):
    reply_class: Literal["A", "B", "C"]
    reply: str = Field(min_length=2, max_length=50_000)


class KeyProposal(Body):
    supervisors: list[str] = Field(min_length=1, max_length=20)
    mode: Literal["party_government_leader", "chairs_meeting", "special_committee", "proposal_committee"]


class Supervision(Body):
    kind: Literal["inspection", "meeting", "research", "other"]
    note: str = Field(min_length=2, max_length=10_000)


class Rate(Body):
    reply_rating: Rating
    attitude_rating: Rating


class FollowUp(Body):
    note: str = Field(min_length=2, max_length=10_000)
    kept: bool


class Consent(Body):
    consent: bool


class Publish(Body):
    proposer_names: list[str] = Field(min_length=1, max_length=50)


class Comment(Body):
    text: str = Field(min_length=2, max_length=2000)
    display_name: str = Field(min_length=1, max_length=30)
    comment_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class Moderate(Body):
    approve: bool
    reason: str | None = Field(default=None, max_length=500)


class Answer(Body):
    answer: str = Field(min_length=2, max_length=5000)


class Rules(Body):
    rules: dict[str, Any] = Field(description="counting (calendar|working), reply_days, urgent_reply_days, "
                                              "objection_days, rehandling_days, reminder_days")


class CalendarAmendment(Body):
    add_holidays: list[date] = Field(default_factory=list, max_length=366)
    remove_holidays: list[date] = Field(default_factory=list, max_length=366)
    add_workdays: list[date] = Field(default_factory=list, max_length=366)
    remove_workdays: list[date] = Field(default_factory=list, max_length=366)


# -- accounts (handled by the gateway itself) ----------------------------------------------------

class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class NewAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Id
    role: Literal["staff", "member", "unit", "leader", "auditor", "admin", "informant", "public"]
    organisation: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=50)
    password: str = Field(min_length=10, max_length=1024)


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=10, max_length=1024)


class AccountReason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=500)


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str = Field(min_length=1, max_length=100, description="the subscriber system, e.g. OA")
    organisation: str = Field(min_length=1, max_length=64)


ACTOR = {"type": "object", "required": ["user_id", "role", "organisation"],
         "properties": {"user_id": {"type": "string"}, "role": {"type": "string"},
                        "organisation": {"type": "string"}}}
TOKEN = {"type": "object", "required": ["token", "token_type", "expires_at", "actor"],
         "properties": {"token": {"type": "string"}, "token_type": {"const": "Bearer"},
                        "expires_at": {"type": "string"}, "actor": ACTOR}}
API_KEY = {"type": "object", "required": ["key_id", "api_key"],
           "properties": {"key_id": {"type": "string"}, "api_key": {"type": "string"},
                          "system": {"type": "string"}}}
DONE = {"type": "object", "required": ["user_id"], "properties": {"user_id": {"type": "string"}}}


# -- queries ----------------------------------------------------------------------------------

class WorklistQuery(Page):
    status: Literal["submitted", "returned", "filed", "not_filed", "merged", "assigned", "replied",
                    "closed"] | None = None
    unit: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
    category: Category | None = None
    session: str | None = Field(default=None, max_length=20)
    year: int | None = Field(default=None, ge=2000, le=2100)
    overdue: bool | None = None
    key: bool | None = None


class InboxQuery(Query):
    open_only: bool = True


class PublicQuery(Page):
    category: Category | None = None


# -- responses (JSON Schema) -------------------------------------------------------------------

RECEIPT = {
    "type": "object", "required": ["stream", "version", "position"],
    "properties": {
        "proposal_id": {"type": "string"}, "stream": {"type": "string"},
        "version": {"type": "integer"}, "position": {"type": "integer"},
        "event": {"type": ["string", "null"]}, "event_id": {"type": ["string", "null"]},
        "events": {"type": "array", "items": {"type": "string"}},
        "comment_id": {"type": "string"},
    },
}
OBJECT = {"type": "object"}
OBJECTS = {"type": "array", "items": {"type": "object"}}
PROPOSAL = {"type": "object", "required": ["proposal_id", "status", "title", "rounds", "next_commands"],
            "properties": {"proposal_id": {"type": "string"}, "status": {"type": "string"},
                           "title": {"type": "string"}, "case_number": {"type": ["string", "null"]},
                           "rounds": {"type": "array", "items": {"type": "object"}},
                           "next_commands": {"type": "array", "items": {"type": "string"}}}}
PUBLIC_CASE = {"type": "object", "required": ["case_number", "title", "proposer_names"],
               "properties": {"case_number": {"type": "string"}, "title": {"type": "string"},
                              "proposer_names": {"type": "array", "items": {"type": "string"}}}}


@dataclass(frozen=True)
class Route:
    method: str
    path: str                       # werkzeug rule: /api/proposals/<proposal_id>/file
    summary: str
    service: str
    rpc: str
    roles: frozenset[str] | None    # None: public, no login needed
    body: type[BaseModel] | None = None
    query: type[Query] | None = None
    status: int = 200
    response: dict = field(default_factory=lambda: OBJECT)
    tag: str = "proposals"
    # how path parameters and query fields are passed (renamed) to the RPC
    rename: tuple[tuple[str, str], ...] = (("wait_for", "after_position"),)

    @property
    def is_command(self) -> bool:
        return self.method in ("POST", "PUT", "DELETE")


def _command(path: str, rpc: str, summary: str, roles: set[str], body: type[Body] | None = Body,
             status: int = 200) -> Route:
    return Route("POST", f"/api/proposals/<proposal_id>/{path}", summary, "proposals", rpc,
                 frozenset(roles), body=body, status=status, response=RECEIPT)


def _account(method: str, path: str, handler: str, summary: str, roles: frozenset[str] | None,
             body: type[BaseModel] | None, response: dict, status: int = 200) -> Route:
    return Route(method, path, summary, "gateway", handler, roles, body=body, status=status,
                 response=response, tag="accounts", rename=())


ROUTES: list[Route] = [
    # accounts, tokens and API keys: the gateway's own
    _account("POST", "/api/auth/login", "login", "Log in: a token for Authorization: Bearer", None,
             Login, TOKEN),
    _account("GET", "/api/auth/me", "me", "Who the token or key names", ANYONE_SIGNED_IN,
             None, ACTOR),
    _account("POST", "/api/accounts", "register", "Open an account", frozenset({ADMIN, STAFF}),
             NewAccount, ACTOR, status=201),
    _account("PUT", "/api/accounts/<user_id>/password", "set_password", "Set a new password (ends "
             "every session of the account)", ANYONE_SIGNED_IN - {SUBSCRIBER}, NewPassword, DONE),
    _account("POST", "/api/accounts/<user_id>/unlock", "unlock", "Unlock a locked account",
             frozenset({ADMIN}), None, DONE),
    _account("POST", "/api/accounts/<user_id>/disable", "disable", "Disable an account",
             frozenset({ADMIN}), AccountReason, DONE),
    _account("POST", "/api/api-keys", "issue_api_key", "Issue an API key for a subscriber system "
             "(shown once)", frozenset({ADMIN}), NewApiKey, API_KEY, status=201),
    _account("POST", "/api/api-keys/<key_id>/revocation", "revoke_api_key", "Revoke an API key",
             frozenset({ADMIN}), AccountReason, {"type": "object"}),
    # 提
    Route("POST", "/api/proposals", "Submit a proposal 提交提案", "proposals", "submit_proposal",
          frozenset({MEMBER, STAFF}), body=SubmitProposal, status=201, response=RECEIPT),
    _command("co-signature/confirm", "confirm_co_signature", "Confirm co-signing 附议确认", {MEMBER}),
    _command("co-signature/decline", "decline_co_signature", "Decline co-signing", {MEMBER}),
    # 立
    _command("return", "return_proposal", "Return for revision 退回修改", {STAFF}, Reason),
    _command("revision", "revise_proposal", "Revise a returned proposal", {MEMBER}, Revise),
    _command("file", "file_proposal", "File 立案 under the next case number", {STAFF}),
    _command("not-file", "not_file_proposal", "Do not file 不予立案 (optionally convert)", {STAFF}, NotFile),
    _command("merge", "merge_proposal", "Merge into another case 并案", {STAFF}, Merge),
    # 交、办
    _command("assignment", "assign_proposal", "Assign to units 交办", {STAFF}, Assign),
    _command("objection", "object_to_assignment", "Object to the assignment 申请调整", {UNIT}, Reason),
    _command("reassignment", "reassign_proposal", "Reassign the current round", {STAFF}, Reassign),
    _command("objection/dismissal", "dismiss_objection", "Keep the assignment despite an objection",
             {STAFF}, DismissObjection),
    _command("contacts", "record_contact", "Record a contact with the proposer 办前/办中/办后",
             {UNIT}, Contact),
    _command("co-unit-opinions", "send_co_unit_opinion", "Send a co-unit's opinion 会办意见", {UNIT}, Opinion),
    _command("reply", "reply_to_proposal", "Reply A/B/C 答复", {UNIT}, Reply),
    # 督
    _command("key", "designate_key_proposal", "Make it a key proposal 重点提案", {STAFF}, KeyProposal),
    _command("supervision", "record_supervision", "Record supervision 督办", {LEADER, STAFF}, Supervision),
    # 评
    _command("rating", "rate_reply", "Rate the reply 评价", {MEMBER}, Rate),
    _command("follow-ups", "record_follow_up", "Follow up a B reply 跟踪落实", {STAFF, UNIT}, FollowUp),
    _command("close", "close_proposal", "Close the case 办结", {STAFF}),
    # publication
    _command("publication-consent", "set_publication_consent", "Consent to publication", {MEMBER}, Consent),
    _command("publication", "publish_proposal", "Publish 公开", {STAFF}, Publish),
    _command("unpublication", "unpublish_proposal", "Withdraw from publication", {STAFF}, Reason),
    _command("comments", "submit_comment", "Comment on a published case 我评论", {PUBLIC, MEMBER},
             Comment, status=201),
    Route("POST", "/api/proposals/<proposal_id>/comments/<comment_id>/moderation", "Approve or reject a "
          "comment 审核", "proposals", "moderate_comment", frozenset({STAFF}), body=Moderate,
          response=RECEIPT),
    Route("POST", "/api/proposals/<proposal_id>/comments/<comment_id>/answer", "Answer a comment",
          "proposals", "answer_comment", frozenset({UNIT}), body=Answer, response=RECEIPT),
    # rules
    Route("GET", "/api/handling-rules", "Deadline rules and the holiday calendar", "proposals",
          "handling_rules", ANYONE_SIGNED_IN, tag="rules"),
    Route("PUT", "/api/handling-rules", "Set the deadline rules", "proposals", "set_handling_rules",
          frozenset({STAFF}), body=Rules, tag="rules"),
    Route("POST", "/api/holiday-calendar/amendments", "Amend the holiday calendar (moves open deadlines)",
          "proposals", "amend_holiday_calendar", frozenset({STAFF}), body=CalendarAmendment,
          status=201, tag="rules"),
    # queries
    Route("GET", "/api/proposals/<proposal_id>", "A case as the caller may see it", "proposals",
          "get_proposal", frozenset({STAFF, AUDITOR, LEADER, MEMBER, UNIT, SUBSCRIBER}),
          response=PROPOSAL, rename=()),
    Route("GET", "/api/worklist", "Staff worklist with filters", "proposals", "worklist", READERS,
          query=WorklistQuery, response=OBJECTS),
    Route("GET", "/api/units/<unit>/inbox", "A unit's assignments, due and overdue", "proposals",
          "unit_inbox", frozenset({UNIT, STAFF, AUDITOR}), query=InboxQuery, response=OBJECTS),
    Route("GET", "/api/members/<member_id>/proposals", "A member's own cases", "proposals",
          "my_proposals", frozenset({MEMBER, STAFF, AUDITOR}), query=Query, response=OBJECTS),
    Route("GET", "/api/statistics/<int:year>", "Yearly statistics", "proposals", "statistics", READERS,
          query=Query, tag="statistics"),
    Route("GET", "/api/public/proposals", "Published proposals (no login)", "proposals",
          "public_proposals", None, query=PublicQuery, response={"type": "array", "items": PUBLIC_CASE},
          tag="public"),
    Route("GET", "/api/public/proposals/<case_number>", "A published proposal with its reply and comments",
          "proposals", "public_proposal", None, query=Query, response=PUBLIC_CASE, tag="public"),
]
