"""The HTTP API: every route, who may call it, the schema of what it takes and what it gives.

One table (``ROUTES``) drives the request handling (service.py), the validation (the pydantic
models below) and the OpenAPI document (openapi.py), so they cannot drift apart. A route names
the RPC it calls; path parameters, query parameters and the JSON body become its keyword
arguments. The services check rights again themselves; the roles here only turn away, early and
with a clear answer, callers who could never succeed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from xieshang.kernel.ids import ID_MAX_LENGTH, ID_PATTERN
from xieshang.kernel.streams import Receipt
from xieshang.kernel.views import MAX_CURSOR, MAX_PAGE, MAX_Q

from .domain.passwords import MAX_PASSWORD_LENGTH
from .domain.vocabulary import SYSTEM_NAME_MAX, SYSTEM_NAME_PATTERN

# Roles (Actor.role). "public" is a signed-in resident (comments); no login at all is anonymous.
STAFF, MEMBER, UNIT, LEADER, AUDITOR, ADMIN, SUBSCRIBER, PUBLIC = (
    "staff", "member", "unit", "leader", "auditor", "admin", "subscriber", "public")
INFORMANT = "informant"
ANYONE_SIGNED_IN = frozenset({STAFF, MEMBER, UNIT, LEADER, AUDITOR, ADMIN, SUBSCRIBER, PUBLIC, INFORMANT})
READERS = frozenset({STAFF, AUDITOR, LEADER, SUBSCRIBER})
# Who reads the committee's member registry, menus, rankings and point rules (the members
# service itself checks only contact details and dossiers: see the routes).
COMMITTEE = frozenset({STAFF, MEMBER, LEADER, AUDITOR, SUBSCRIBER})

# RPCs whose decision takes the body's reason as an argument (it is also recorded as the events' reason)
TAKES_REASON = frozenset({"return_proposal", "not_file_proposal", "object_to_assignment",
                          "dismiss_objection", "unpublish_proposal", "moderate_comment",
                          "close_organisation", "resign_member", "erase_contact_details",
                          "return_opinion_report", "not_adopt_opinion_report",
                          "erase_organisation_contact", "amend_topic_lists",
                          "set_aside_consultation_topic", "reject_consultation_topic"})

MAX_ROSTER_BASE64 = 1_000_000  # the gateway takes bodies of up to 1 MB (service.MAX_BODY)

Id = Field(pattern=ID_PATTERN, min_length=1, max_length=ID_MAX_LENGTH)
Category = Literal["economy", "politics", "culture", "society", "ecology", "other"]
Rating = Literal["satisfied", "basically_satisfied", "unsatisfied"]


class Body(BaseModel):
    """Every command body may say why (``reason``) and, for staff entering something for a
    member, on whose behalf; both are recorded on the events."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000, description="why, recorded on the events")
    on_behalf_of: str | None = Field(default=None, pattern=ID_PATTERN,
                                     description="the member staff act for (paper submissions)")


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid")
    wait_for: int | None = Field(default=None, ge=0, le=2**53,
                                 description="a position from a command's answer: wait until the "
                                             "answer includes it (read your own writes)")


class Page(Query):
    """A page of a list (xieshang.kernel.views.PageRequest): the answer is ``PAGE(item)``."""

    limit: int = Field(default=100, ge=1, le=MAX_PAGE, description="items per page 每页条数")
    cursor: str | None = Field(default=None, min_length=1, max_length=MAX_CURSOR,
                               description="the next_cursor of the previous page 翻页标记 (base64url; "
                                           "the service checks it)")
    q: str | None = Field(default=None, min_length=1, max_length=MAX_Q,
                          description="search 搜索: the text anywhere in the fields people search "
                                      "(case-insensitive)")


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
    """Publish 公开 under the names of the proposer and of the co-signers who each consented, as
    the directory has them: no names are given (``proposer_names`` is refused as an unknown field)."""


class Comment(Body):
    text: str = Field(min_length=2, max_length=2000)
    display_name: str = Field(min_length=1, max_length=30)
    comment_id: str | None = Field(default=None, pattern=ID_PATTERN)


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


# -- members, organisations, duty (the members service) ----------------------------------------
# The members service's vocabulary, written out: the gateway does not import another service's
# modules. tests/services/test_gateway_http.py compares them with services/members/domain/vocabulary.py.
OrgKind = Literal["committee", "special_committee", "sector", "party_group", "handling_unit",
                  "township", "community"]                       # ORG_KINDS but station
AnyOrgKind = Literal["committee", "special_committee", "sector", "party_group", "handling_unit",
                     "township", "community", "station"]         # ORG_KINDS
StationType = Literal["work_station", "liaison_station", "liaison_point", "studio",
                      "reception_room", "consultation_room", "livelihood_hall", "consultation_post"]     # STATION_TYPES
StationLevel = Literal["township", "community"]                  # STATION_LEVELS
CommitteeLevel = Literal["city", "county"]                       # COMMITTEE_LEVELS
Level = Literal["national", "provincial", "city", "county"]      # LEVELS
MemberRole = Literal["standing_committee", "chairs_meeting"]     # ROLES
MemberStatus = Literal["active", "term_ended", "resigned"]       # ACTIVE, TERM_ENDED, RESIGNED
Activity = Literal["proposal_submitted", "proposal_filed", "proposal_co_signed", "proposal_made_key",
                   "proposal_merged", "reply_rated", "opinion_adopted", "opinion_reported_upward",
                   "leader_instruction", "meeting_attended", "meeting_excused", "inspection_joined",
                   "research_joined", "consultation_joined", "plenary_speech", "community_service",
                   "menu_signup", "consultation_research", "consultation_meeting",
                   "supervision_group"]                          # ACTIVITIES
ActivityKind = Literal["meeting", "inspection", "research", "consultation", "plenary_speech",
                       "community_service"]                      # ACTIVITY_KINDS
MenuForm = Literal["consultation", "research", "inspection", "supervision", "review"]  # MENU_FORMS
Outcome = Literal["commended", "normal", "talked_to"]            # OUTCOMES
Year = Field(ge=2000, le=2100)
# an organisation named by its id or its name (the members service resolves both)
OrgRef = Annotated[str, Field(min_length=1, max_length=100)]
IdStr = Annotated[str, Id]


class NewOrganisation(Body):
    org_id: str = Id
    kind: OrgKind = Field(description="stations are set up with POST /api/stations")
    name: str = Field(min_length=1, max_length=100)
    parent: str | None = Field(default=None, pattern=ID_PATTERN,
                               description="the id of the organisation it belongs to (none: the committee)")
    level: CommitteeLevel | None = Field(default=None, description="a committee's level (only a committee's)")


class NewStation(Body):
    station_id: str = Id
    name: str = Field(min_length=1, max_length=100)
    station_type: StationType
    level: StationLevel
    location: str | None = Field(default=None, pattern=ID_PATTERN,
                                 description="the township or community id it is in")
    communities: list[OrgRef] | None = Field(default=None, max_length=500, description=(
        "the communities it covers (ids or names); default: a community station covers its own"))


class StationCommunities(Body):
    communities: list[OrgRef] = Field(max_length=500, description="the whole list (ids or names)")


class NewName(Body):
    name: str = Field(min_length=1, max_length=100)


class Closure(Body):
    reason: str = Field(min_length=2, max_length=500)


class Erasure(Body):
    reason: str = Field(min_length=2, max_length=500, description="why the contact details are erased "
                                                                 "删除理由 (recorded on the event)")


class ContactIn(BaseModel):
    """Personal data: kept in the members service's private contact book only."""

    model_config = ConfigDict(extra="forbid")
    phone: str | None = Field(default=None, max_length=32, description="a mobile number, or a landline with "
                                                                       "its area code")
    email: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=200)


class Appointment(Body):
    member_id: str = Field(pattern=ID_PATTERN, min_length=1, max_length=ID_MAX_LENGTH,
                           description="the member's login id")
    name: str = Field(min_length=1, max_length=50)
    sector: str = Field(min_length=1, max_length=64, description="界别: a sector's id or name")
    term: str = Field(min_length=1, max_length=20, description="届, e.g. 第十届")
    roles: list[MemberRole] = Field(default_factory=list, max_length=10)
    station: OrgRef | None = Field(default=None, description="the station (id or name) they are assigned to")
    special_committees: list[OrgRef] = Field(default_factory=list, max_length=20)
    levels: list[Level] | None = Field(default=None, max_length=10,
                                       description="default: this committee's level")
    cpc_member: bool = False
    communities: list[OrgRef] | None = Field(default=None, max_length=200,
                                             description="those they look after at their station")
    contact: ContactIn | None = None


class StationAssignment(Body):
    station: OrgRef
    communities: list[OrgRef] | None = Field(default=None, max_length=200,
                                             description="default: every community the station covers")


class RolesChange(Body):
    """Omitted (or null) parts stay as they are."""

    roles: list[MemberRole] | None = Field(default=None, max_length=10)
    special_committees: list[OrgRef] | None = Field(default=None, max_length=20)
    levels: list[Level] | None = Field(default=None, max_length=10)
    cpc_member: bool | None = None


class EndOfTerm(Body):
    ended_on: date | None = Field(default=None, description="default: today")


class Resignation(Body):
    reason: str = Field(min_length=2, max_length=500)
    resigned_on: date | None = Field(default=None, description="default: today")


class ContactDetails(Body):
    """The whole set: a field left out is cleared."""

    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=200)


class Roster(BaseModel):
    """A roster file 委员名册 (the import records its own reason: the file and its digest)."""

    model_config = ConfigDict(extra="forbid")
    file_name: str = Field(min_length=1, max_length=200, description="e.g. 委员名册.xlsx (.csv or .xlsx)")
    content_base64: str = Field(min_length=1, max_length=MAX_ROSTER_BASE64,
                                description="the file's bytes in base64")


class PointRules(Body):
    points: dict[Activity, Annotated[int, Field(ge=0, le=100)]] = Field(
        description="points per activity; an activity left out earns 0")
    caps: dict[Activity, Annotated[int, Field(ge=1, le=10_000)]] | None = Field(
        default=None, description="the most points an activity earns in the year")


class NewActivity(Body):
    activity_id: str = Id
    kind: ActivityKind
    title: str = Field(min_length=2, max_length=200)
    held_on: date
    participants: list[IdStr] = Field(max_length=1000)
    excused: list[IdStr] = Field(default_factory=list, max_length=1000,
                                    description="members excused 请假 (a meeting only)")


class MenuItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str = Id
    title: str = Field(min_length=2, max_length=200)
    form: MenuForm


class NewMenu(Body):
    menu_id: str = Id
    year: int = Year
    title: str = Field(min_length=2, max_length=200)
    items: list[MenuItem] = Field(min_length=1, max_length=100)
    sector: OrgRef | None = Field(default=None, description="for this sector's members only")


class SignUp(Body):
    item_ids: list[IdStr] = Field(min_length=1, max_length=100)
    member_id: str | None = Field(default=None, pattern=ID_PATTERN,
                                  description="staff designating items for a member 指定认领 (default: "
                                              "the caller)")


class Assessment(Body):
    year: int = Year
    outcome: Outcome
    note: str = Field(default="", max_length=1000)


# -- opinion reports 社情民意 (the feedback service) ------------------------------------------------
# The feedback service's vocabulary, written out (services/feedback/domain/vocabulary.py):
# tests/services/test_gateway_vocabulary.py compares the two.
OpinionChannel = Literal["leader", "committee", "member", "activity", "proposal", "meeting"]  # CHANNELS
OpinionCheck = Literal["political", "facts", "content", "wording"]                  # CHECKS
OpinionStatus = Literal["submitted", "returned", "combined", "adopted", "not_adopted"]  # STATE_COMMANDS
LeaderLevel = Literal["national", "province", "city", "county"]                    # LEVELS
LeaderOffice = Literal["party_committee", "government", "committee"]               # LEADER_OFFICES
MAX_OPINION_SOURCES = 50                                                            # MAX_SOURCES
MAX_OPINION_UNITS = 20
MAX_OPINION_LEADERS = 20
MAX_UPPER_COMMITTEES = 10
OPINION_TITLE = Field(min_length=2, max_length=200, description="标题")
OPINION_CONTENT = Field(min_length=10, max_length=20_000, description="正文: what was heard and what is "
                                                                      "suggested")


class SubmitOpinion(Body):
    title: str = OPINION_TITLE
    content: str = OPINION_CONTENT
    channel: OpinionChannel = Field(default="member", description="渠道 (六条渠道): leader 领导点, "
                                    "committee 专委会搜, member 委员提, activity 活动找, proposal 提案转, "
                                    "meeting 会议集")
    category: Category = "society"


class OpinionCheckBody(Body):
    check: OpinionCheck = Field(description="四关: political 政治关, facts 事实关, content 内容关, "
                                            "wording 文字关")
    passed: bool
    note: str = Field(min_length=2, max_length=2000, description="why it passed or not 审核意见")


class ReviseOpinion(Body):
    title: str = OPINION_TITLE
    content: str = OPINION_CONTENT
    category: Category


class CombineOpinions(Body):
    sources: list[IdStr] = Field(min_length=2, max_length=MAX_OPINION_SOURCES,
                                 description="the reports combined 综合 (each becomes part of the new one)")
    title: str = OPINION_TITLE
    content: str = OPINION_CONTENT
    category: Category


class AdoptOpinion(Body):
    note: str = Field(default="", min_length=2, max_length=2000, description="采用意见 (optional)")


class ReportOpinionBody(Body):
    """Where the adopted report goes 报送: never twice to the same target."""

    party_committee: bool = Field(default=False, description="the same level's party committee 党委")
    government: bool = Field(default=False, description="the same level's government 政府")
    upper: list[IdStr] = Field(default_factory=list, max_length=MAX_UPPER_COMMITTEES,
                               description="committee codes of linked upper committees 上级政协 "
                                           "(GET /api/levels lists them)")
    leaders: list[IdStr] = Field(default_factory=list, max_length=MAX_OPINION_LEADERS,
                                 description="the leaders it is put before for instruction 呈领导批示")


class ForwardOpinion(Body):
    units: list[IdStr] = Field(min_length=1, max_length=MAX_OPINION_UNITS,
                               description="the handling units 承办单位 it is forwarded to 转交")
    deadline: date = Field(description="written feedback due by 反馈期限")


class OpinionText(Body):
    text: str = Field(min_length=2, max_length=10_000)


class LeaderInstruction(Body):
    text: str = Field(min_length=2, max_length=10_000, description="批示内容")
    leader_level: LeaderLevel = Field(description="the leader's level 全国、省/自治区、市、县/区")
    office: LeaderOffice = Field(description="where the leader sits 党委、政府、政协")
    leader: str | None = Field(default=None, pattern=ID_PATTERN,
                               description="the leader (staff entering a paper instruction); default: "
                                           "the caller")


# -- consultations 协商议事 and supervision groups 民主监督组 (the feedback service) ------------------
# The feedback service's vocabulary, written out (services/feedback/domain/vocabulary.py):
# tests/services/test_gateway_consultations.py compares the two. A topic's kind is not: staff
# add kinds to the lists (amend_topic_lists), and GET /api/consultation-topic-lists names them.
ConsultationStatus = Literal["topic_proposed", "topic_set_aside", "topic_decided", "topic_approved",
                             "topic_rejected", "planned", "met", "results_published", "following_up",
                             "closed"]                                       # CONSULTATION_STATES
TopicSource = Literal["party_government", "member", "resident", "department"]  # TOPIC_SOURCES
TopicListing = Literal["allowed", "forbidden", "unlisted"]                   # LISTINGS
ResearchKind = Literal["field_visit", "survey", "forum", "interview", "records"]  # RESEARCH_KINDS
PublicationChannel = Literal["notice_board", "wechat", "resolution", "village_rules",
                             "website"]                                       # PUBLICATION_CHANNELS
ConversionTarget = Literal["opinion_report", "proposal"]   # what convert_consultation_result makes
SupervisionStatus = Literal["formed", "closed"]                              # SUPERVISION_STATES
FactFindingKind = Literal["site_visit", "briefing", "forum", "records_review", "open_day"]  # FACT_FINDING_KINDS
Verdict = Literal["carried_out", "partly_carried_out", "not_carried_out"]    # VERDICTS
MAX_CONSULTATION_PEOPLE = 200     # members or departments named in a plan or a meeting
MAX_GROUP_MEMBERS = 50            # services/feedback/domain/supervision.py MAX_MEMBERS
MAX_OUTCOMES = 50
MAX_RESIDENTS = 100_000
TopicKind = Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=ID_MAX_LENGTH,
                                 description="a kind of the topic lists (GET /api/consultation-topic-lists)")]
OutcomeText = Annotated[str, Field(min_length=2, max_length=2000)]
Stakeholder = Annotated[str, Field(min_length=1, max_length=100, description="described, never named "
                                                                             "(e.g. 沿街商户)")]
LONG_TEXT = Field(min_length=2, max_length=10_000)   # TEXT_LIMITS["text"]
NOTE = Field(default="", min_length=2, max_length=2000, description="说明 (optional)")  # TEXT_LIMITS["note"]


class AmendTopicLists(Body):
    """One change of the topic lists 协商议题清单: a kind put on the allowed 可协商 or forbidden
    不可协商 list (with its words), or taken off both (unlisted); the reason is recorded."""

    kind: str = Field(pattern=ID_PATTERN, min_length=1, max_length=ID_MAX_LENGTH,
                      description="the kind's code, e.g. public_services (a new one: letters, digits, _)")
    listing: TopicListing = Field(description="allowed 可协商, forbidden 不可协商, unlisted 移出清单")
    label: str = Field(min_length=2, max_length=200, description="its words 事项表述, e.g. 公共服务和民生实事")
    reason: str = Field(min_length=2, max_length=2000, description="why the lists change 修改理由")


class ProposeTopic(Body):
    title: str = Field(min_length=2, max_length=200, description="议题名称")
    description: str = Field(min_length=2, max_length=10_000, description="what is to be consulted on 议题说明")
    topic_kind: TopicKind
    source: TopicSource = Field(description="党政点题 party_government, 委员提题 member, 群众出题 resident, "
                                            "部门提题 department")
    township: str | None = Field(default=None, pattern=ID_PATTERN,
                                 description="the township or street 乡镇（街道） it concerns")


class TopicNote(Body):
    note: str = NOTE


class PlanConsultation(Body):
    """The plan 协商方案 (again before the meeting: a revision)."""

    held_on: date = Field(description="the meeting's date 协商日期 (not before today)")
    place: str = Field(pattern=ID_PATTERN, min_length=1, max_length=ID_MAX_LENGTH,
                       description="the station it is held at 协商平台 (民生议事堂, 协商驿站, 委员工作室 …)")
    members: list[IdStr] = Field(default_factory=list, max_length=MAX_CONSULTATION_PEOPLE,
                                 description="members taking part 参加委员")
    departments: list[IdStr] = Field(default_factory=list, max_length=MAX_CONSULTATION_PEOPLE,
                                     description="departments taking part 职能部门")
    residents: int = Field(default=0, ge=0, le=MAX_RESIDENTS, description="how many residents 群众代表人数")
    stakeholders: list[Stakeholder] = Field(default_factory=list, max_length=50,
                                            description="stakeholders 利益相关方, described")
    agenda: str = Field(min_length=2, max_length=10_000, description="the agenda 议程")


class ConsultationResearch(Body):
    kind: ResearchKind = Field(description="议前调研方式: field_visit 实地调研, survey 问卷调查, forum 座谈会, "
                                           "interview 走访, records 查阅资料")
    held_on: date
    members: list[IdStr] = Field(min_length=1, max_length=MAX_CONSULTATION_PEOPLE)
    summary: str = Field(min_length=2, max_length=10_000, description="what was found 调研情况")


class ConsultationMeeting(Body):
    """The meeting 协商议事: who came (planned members absent are recorded as such), who spoke,
    the opinions heard and the outcomes agreed (at least one)."""

    held_on: date
    members: list[IdStr] = Field(max_length=MAX_CONSULTATION_PEOPLE, description="members attending 出席委员")
    departments: list[IdStr] = Field(default_factory=list, max_length=MAX_CONSULTATION_PEOPLE)
    residents: int = Field(default=0, ge=0, le=MAX_RESIDENTS)
    stakeholders: list[Stakeholder] = Field(default_factory=list, max_length=50)
    speakers: list[IdStr] = Field(default_factory=list, max_length=MAX_CONSULTATION_PEOPLE,
                                  description="attending members and departments who spoke 发言")
    opinions: list[OutcomeText] = Field(default_factory=list, max_length=MAX_OUTCOMES,
                                        description="the opinions heard 各方意见")
    outcomes: list[OutcomeText] = Field(min_length=1, max_length=MAX_OUTCOMES,
                                        description="the outcomes agreed 协商成果 (numbered from 1)")


class PublishResults(Body):
    channel: PublicationChannel = Field(description="公开方式: 政务公开栏、微信平台、会议决议、村规民约、门户网站")
    text: str = LONG_TEXT
    until: date = Field(description="published until 公示截止")


class DecideConsultation(Body):
    adopted_outcomes: list[Annotated[int, Field(ge=1, le=MAX_OUTCOMES)]] = Field(
        min_length=1, max_length=MAX_OUTCOMES, description="the meeting's outcomes adopted, by number "
                                                           "(1 = the first) 采纳的协商成果")
    text: str = LONG_TEXT


class AssignFollowUpTask(Body):
    unit: str = Field(pattern=ID_PATTERN, min_length=1, max_length=ID_MAX_LENGTH,
                      description="the handling unit 承办单位")
    outcome: int = Field(ge=1, le=MAX_OUTCOMES, description="which adopted outcome, by number (1 = the first)")
    task: str = Field(min_length=2, max_length=10_000, description="what the unit is to do 落实任务")
    deadline: date = Field(description="done by 完成期限")


class CompleteFollowUpTask(Body):
    report: str = Field(min_length=2, max_length=10_000, description="what was done 落实情况")


class FollowUpVisit(Body):
    visited_on: date
    members: list[IdStr] = Field(min_length=1, max_length=MAX_CONSULTATION_PEOPLE)
    findings: str = Field(min_length=2, max_length=10_000, description="what the visit found 回访情况")


class SatisfactionSurvey(Body):
    """The three counts add up to the respondents."""

    respondents: int = Field(ge=1, le=MAX_RESIDENTS, description="参与测评人数")
    satisfied: int = Field(ge=0, le=MAX_RESIDENTS, description="满意")
    basically_satisfied: int = Field(ge=0, le=MAX_RESIDENTS, description="基本满意")
    dissatisfied: int = Field(ge=0, le=MAX_RESIDENTS, description="不满意")
    note: str = NOTE


class ConvertResult(Body):
    into: ConversionTarget = Field(description="opinion_report 社情民意信息 (a new report, through the usual "
                                               "loop) or proposal 提案 (a collective proposal of the body)")
    title: str = Field(min_length=2, max_length=200)
    content: str = Field(min_length=10, max_length=20_000)
    category: Category
    body: CollectiveBody | None = Field(default=None, description="the collective body (a proposal only)")


class CloseConsultation(Body):
    summary: str = Field(min_length=2, max_length=10_000, description="办结总结")


class FormSupervisionGroup(Body):
    name: str = Field(min_length=2, max_length=200, description="the group's name 监督组名称")
    year: int = Year
    leader: str = Field(pattern=ID_PATTERN, min_length=1, max_length=ID_MAX_LENGTH,
                        description="the member who leads it 组长 (not among members)")
    members: list[IdStr] = Field(min_length=1, max_length=MAX_GROUP_MEMBERS, description="组员")
    department: str = Field(pattern=ID_PATTERN, min_length=1, max_length=ID_MAX_LENGTH,
                            description="the department supervised 被监督部门 (a handling unit)")
    topic: str = Field(min_length=2, max_length=200, description="监督议题")
    basis: str = Field(min_length=2, max_length=10_000, description="监督依据")


class FactFinding(Body):
    kind: FactFindingKind = Field(description="实地视察、听取情况汇报、民意座谈、查阅资料、开放日/听证会")
    held_on: date
    members: list[IdStr] = Field(min_length=1, max_length=MAX_GROUP_MEMBERS + 1,
                                 description="the group's people taking part")
    findings: str = Field(min_length=2, max_length=10_000)


class SupervisionOpinionBody(Body):
    text: str = LONG_TEXT
    deadline: date = Field(description="the department reports how it handled it by 办理期限")


class HandlingReport(Body):
    report: str = Field(min_length=2, max_length=10_000, description="how the opinion was handled 办理情况")


class VerifyEffect(Body):
    verdict: Verdict = Field(description="落实到位 carried_out, 部分落实 partly_carried_out, 未落实 not_carried_out")
    note: str = Field(min_length=2, max_length=2000, description="核验说明")


class CloseGroup(Body):
    summary: str = Field(min_length=2, max_length=10_000, description="工作总结")


# -- notifications 通知 (the notify service) -------------------------------------------------------
# The notify service's vocabulary, written out: tests/services/test_gateway_notify.py compares
# them with services/notify/domain. Notice kinds are not: the service names those it knows
# (``kinds_known``) and refuses another, naming the field.
NotifyChannel = Literal["inbox", "email", "sms"]                 # CHANNELS
Cadence = Literal["immediate", "daily", "weekly"]                # CADENCES
Locale = Literal["zh-CN", "en"]                                  # LOCALES
MAX_NOTICE_KIND = 64
MAX_MARKED = MAX_PAGE  # a page's notices, read at once
QUIET_HOURS = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]")
USER = Field(default=None, pattern=ID_PATTERN, description="whose 谁的: a person's id or, for a unit's "
                                                          "people, their unit's id (default: the caller)")


class PreferenceBody(Body):
    kind: str = Field(min_length=1, max_length=MAX_NOTICE_KIND,
                      description="a notice kind (kinds_known of GET /api/notification-preferences), "
                                  "or * for every kind 全部类型")
    channels: list[NotifyChannel] = Field(max_length=3, description="站内 inbox (always, listed or "
                                                                     "not), 邮件 email, 短信 sms")
    cadence: Cadence = Field(default="immediate", description="at once 即时, or a daily or weekly digest 摘要")
    quiet_hours: str | None = Field(default=None, max_length=11, json_schema_extra={
        "pattern": "^" + QUIET_HOURS.pattern + "$"},
        description="免打扰时段 HH:MM-HH:MM, e.g. 22:00-07:00; null: none")
    locale: Locale | None = Field(default=None, description="the language of the notices 语言 (default: "
                                                            "Chinese)")

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str | None) -> str | None:
        if value is not None and not QUIET_HOURS.fullmatch(value):
            raise ValueError("HH:MM-HH:MM, e.g. 22:00-07:00 (格式为 时:分-时:分)")
        return value


class Preference(PreferenceBody):
    user: str | None = USER


class MarkRead(Body):
    user: str | None = USER
    notification_ids: list[IdStr] = Field(min_length=1, max_length=MAX_MARKED,
                                          description="the notices read 已读 (others' are refused)")


class OrganisationContact(Body):
    """An organisation's contact details (a handling unit's, the committee office's), for its
    notices: kept in the members service's private contact book only. The whole set: a field
    left out is cleared."""

    phone: str | None = Field(default=None, max_length=32, description="a mobile number, for SMS")
    email: str | None = Field(default=None, max_length=200)


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
    password: str = Field(min_length=10, max_length=MAX_PASSWORD_LENGTH)


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=10, max_length=MAX_PASSWORD_LENGTH)


class AccountReason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=2, max_length=500)


class NewApiKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # the domain's own rule (services/gateway/domain/vocabulary.py), so that the two agree
    system: str = Field(pattern=SYSTEM_NAME_PATTERN, min_length=1, max_length=SYSTEM_NAME_MAX,
                        description="the subscriber system's name, e.g. OA or 审计OA: letters (Latin "
                                    "or Chinese), digits, _ . : -")
    organisation: str = Field(min_length=1, max_length=64)


class PublicSignUp(BaseModel):
    """A resident's own account (role public): the password follows the same rules as any."""

    model_config = ConfigDict(extra="forbid")
    user_id: str = Id
    display_name: str = Field(min_length=1, max_length=50, description="the name shown with comments")
    password: str = Field(min_length=10, max_length=MAX_PASSWORD_LENGTH)


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
NULLABLE = {"type": ["string", "null"]}
ACCOUNT = {"type": "object", "required": ["user_id", "role", "organisation", "status"],
           "properties": {"user_id": {"type": "string"}, "role": {"type": "string"},
                          "organisation": {"type": "string"}, "display_name": {"type": "string"},
                          "status": {"enum": ["active", "no_password", "locked", "disabled"]},
                          "has_password": {"type": "boolean"}, "disabled_reason": NULLABLE,
                          "locked_until": NULLABLE, "recent_failures": {"type": "integer"},
                          "last_login": NULLABLE}}


# -- queries ----------------------------------------------------------------------------------

class FeedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: str | None = Field(default=None, min_length=1, max_length=MAX_CURSOR,
                              description="the next of the previous page 上次的 next (none: from the start)")
    types: str | None = Field(default=None, min_length=1, max_length=4000,
                              description="CloudEvents types or type prefixes, comma-separated 事件类型")
    limit: int = Field(default=100, ge=1, le=1000, description="events per page 每页条数")


class WorklistQuery(Page):
    status: Literal["submitted", "returned", "filed", "not_filed", "merged", "assigned", "replied",
                    "closed"] | None = None
    unit: str | None = Field(default=None, pattern=ID_PATTERN)
    category: Category | None = None
    session: str | None = Field(default=None, max_length=20)
    year: int | None = Field(default=None, ge=2000, le=2100)
    overdue: bool | None = None
    key: bool | None = None
    order: Literal["latest", "urgent"] | None = Field(
        default=None, description="latest (the default): latest activity first; urgent: overdue "
                                  "first, then by nearest deadline, then latest activity 紧急优先")


class InboxQuery(Page):
    open_only: bool = True


class PublicQuery(Page):
    category: Category | None = None


class OrganisationsQuery(Page):
    kind: AnyOrgKind | None = None
    parent: str | None = Field(default=None, pattern=ID_PATTERN)
    include_closed: bool = False


class MembersQuery(Page):
    sector: str | None = Field(default=None, min_length=1, max_length=100, description="id or name")
    station: str | None = Field(default=None, min_length=1, max_length=100, description="id or name")
    status: MemberStatus | None = None


class DirectoryQuery(Query):
    ids: str = Field(min_length=1, max_length=2000,  # a URL stays well under the server's line limit
                     description="comma-separated ids of members, units or bodies")


class CoverageQuery(Query):
    township: str | None = Field(default=None, min_length=1, max_length=100, description="id or name")


class RankingQuery(Page):
    sector: str | None = Field(default=None, min_length=1, max_length=100, description="id or name")


class DossierQuery(Query):
    """The dossier is folded from the member's streams; what reaches them comes from the
    service's reactions (credits, the repricing after a rules change): ``wait_for`` a command's
    position waits for those reactions."""

    year: int | None = Field(default=None, ge=2000, le=2100, description="one year (default: every year)")


class OpinionDeskQuery(Page):
    status: OpinionStatus | None = None
    channel: OpinionChannel | None = None
    check_pending: OpinionCheck | None = Field(default=None, description="reports whose check this is "
                                                                         "still pending 待审")
    from_below: bool | None = Field(default=None, description="received from a lower committee 下级报送")
    year: int | None = Field(default=None, ge=2000, le=2100)


class UnitOpinionQuery(Page):
    open_only: bool = Field(default=True, description="only those still awaiting the unit's feedback")


class LeaderOpinionQuery(Page):
    pending_only: bool = Field(default=True, description="only those still awaiting the leader's "
                                                         "instruction")


class ConsultationsQuery(Page):
    status: ConsultationStatus | None = None
    township: str | None = Field(default=None, pattern=ID_PATTERN)
    place: str | None = Field(default=None, pattern=ID_PATTERN, description="a station's id")
    year: int | None = Field(default=None, ge=2000, le=2100)


class CalendarQuery(Query):
    date_from: date = Field(description="from 起始日期")
    date_to: date = Field(description="to 截止日期 (inclusive)")
    place: str | None = Field(default=None, pattern=ID_PATTERN, description="a station's id")
    township: str | None = Field(default=None, pattern=ID_PATTERN)


class TasksQuery(Page):
    open_only: bool = Field(default=True, description="only those not completed yet 仅未完成")


class SupervisionGroupsQuery(Page):
    year: int | None = Field(default=None, ge=2000, le=2100)
    status: SupervisionStatus | None = None
    department: str | None = Field(default=None, pattern=ID_PATTERN)


class DepartmentOpinionsQuery(Page):
    open_only: bool = Field(default=True, description="only those not handled yet 仅待办理")


class NotificationsQuery(Query):
    user: str | None = USER
    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="items per page 每页条数")
    cursor: str | None = Field(default=None, min_length=1, max_length=MAX_CURSOR,
                               description="the next_cursor of the previous page 翻页标记")
    unread: bool = Field(default=False, description="only the unread 仅未读")
    subject: str | None = Field(default=None, pattern=ID_PATTERN,
                                description="only those about one case: its stream, e.g. proposal-…")


class UnreadQuery(Query):
    user: str | None = USER


class PreferencesQuery(BaseModel):
    """No wait_for: preferences are read from their stream, always current."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = USER


class UndeliverableQuery(Query):
    include_skipped: bool = Field(default=False, description="also those of people without an address "
                                                             "for the channel 无联系方式")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="items per page 每页条数")
    cursor: str | None = Field(default=None, min_length=1, max_length=MAX_CURSOR,
                               description="the next_cursor of the previous page 翻页标记")


# -- responses (JSON Schema) -------------------------------------------------------------------

# Every command of every service answers this receipt (xieshang.kernel.streams.Receipt).
RECEIPT = {
    "type": "object", "required": list(Receipt.CORE),
    "description": "What a command recorded: the stream it decided on and its version afterwards, "
                   "the log position of its last event (or the log's head when it recorded nothing: "
                   "pass it as wait_for to read your own write), the event types recorded (empty: "
                   "nothing changed, e.g. a repeated command), plus the ids it named or created and "
                   "what it computed.",
    "properties": {
        "stream": {"type": "string"}, "version": {"type": "integer"},
        "position": {"type": "integer"}, "recorded": {"type": "boolean"},
        "event": {"type": ["string", "null"]}, "event_id": {"type": ["string", "null"]},
        "events": {"type": "array", "items": {"type": "string"}},
        "proposal_id": {"type": "string"}, "comment_id": {"type": "string"},
        "org_id": {"type": "string"}, "member_id": {"type": "string"},
        "activity_id": {"type": "string"}, "menu_id": {"type": "string"},
        "rules": {"type": "object"}, "deadlines_moved": {"type": "integer"},
        "user_id": {"type": "string"}, "key_id": {"type": "string"},
        "report_id": {"type": "string"},
    },
}

def with_receipt(schema: dict) -> dict:
    """``schema``'s properties and requirements beside the receipt's."""
    return {"type": "object", "required": [*RECEIPT["required"], *schema.get("required", ())],
            "properties": {**RECEIPT["properties"], **schema.get("properties", {})}}


OBJECT = {"type": "object"}
OBJECTS = {"type": "array", "items": {"type": "object"}}


def PAGE(item: dict) -> dict:  # noqa: N802 - a schema, like the constants around it
    """A page of a list of ``item`` (the answer of every list route)."""
    return {"type": "object", "required": ["items", "total", "next_cursor"],
            "properties": {"items": {"type": "array", "items": item},
                           "total": {"type": "integer", "minimum": 0,
                                     "description": "how many match the filters and q, on every page"},
                           "next_cursor": {"type": ["string", "null"],
                                           "description": "pass as cursor for the next page; null: the last"}}}
PROPOSAL = {"type": "object", "required": ["proposal_id", "status", "title", "rounds", "next_commands"],
            "properties": {"proposal_id": {"type": "string"}, "status": {"type": "string"},
                           "title": {"type": "string"}, "case_number": {"type": ["string", "null"]},
                           "rounds": {"type": "array", "items": {"type": "object"}},
                           "next_commands": {"type": "array", "items": {"type": "string"}}}}
PUBLIC_CASE = {"type": "object",
               "required": ["proposal_id", "case_number", "title", "proposer_names", "status",
                            "status_label", "category", "category_label"],
               "properties": {"proposal_id": {"type": "string", "description": "what a comment is "
                                                                              "posted to"},
                              "case_number": {"type": "string"}, "title": {"type": "string"},
                              "proposer_names": {"type": "array", "items": {"type": "string"}},
                              "status": {"type": "string"}, "status_label": {"type": "string"},
                              "category": {"type": "string"}, "category_label": {"type": "string"},
                              "lead_unit": {"type": ["string", "null"]},
                              "lead_unit_name": {"type": ["string", "null"]},
                              "reply_class": {"type": ["string", "null"]},
                              "reply_class_label": {"type": ["string", "null"]}}}

STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
STRS = {"type": "array", "items": STR}
NULLABLE_STR = {"type": ["string", "null"]}
ORGANISATION = {
    "type": "object", "required": ["org_id", "kind", "name", "status"],
    "properties": {"org_id": STR, "kind": STR, "name": STR, "status": STR, "parent": NULLABLE_STR,
                   "level": NULLABLE_STR, "station_type": NULLABLE_STR, "station_level": NULLABLE_STR,
                   "location": NULLABLE_STR, "communities": STRS},
}
_MEMBER_PROPERTIES = {
    "member_id": STR, "name": STR, "sector": STR, "term": STR, "roles": STRS,
    "station": NULLABLE_STR, "special_committees": STRS, "levels": STRS, "cpc_member": BOOL,
    "communities": STRS, "status": STR, "appointed": BOOL,
}
MEMBER_RECORD = {  # never contact details
    "type": "object", "required": ["member_id", "name", "sector", "term", "roles", "status", "points",
                                   "ledger"],
    "properties": {**_MEMBER_PROPERTIES, "points": INT, "ledger_version": INT,
                   "ledger": {"type": "array", "items": {"type": "object"}}},
    "not": {"anyOf": [{"required": ["phone"]}, {"required": ["email"]}, {"required": ["address"]}]},
}
MEMBER_ROWS = PAGE({
    "type": "object", "required": ["member_id", "name", "sector", "status", "points"],
    "properties": {**_MEMBER_PROPERTIES, "points": INT, "sector_name": STR, "station_name": NULLABLE_STR}})
CONTACT_DETAILS = {
    "type": "object", "required": ["member_id", "phone", "email", "address"],
    "properties": {"member_id": STR, "phone": NULLABLE_STR, "email": NULLABLE_STR, "address": NULLABLE_STR},
}
ORGANISATION_CONTACT = {
    "type": "object", "required": ["org_id", "phone", "email"],
    "properties": {"org_id": STR, "phone": NULLABLE_STR, "email": NULLABLE_STR},
}
ROSTER_IMPORT = {
    "type": "object", "required": [*RECEIPT["required"], "digest", "rows", "appointed", "changed",
                                   "unchanged", "member_events"],
    "properties": {**RECEIPT["properties"], "digest": STR, "rows": INT, "appointed": STRS,
                   "changed": STRS, "unchanged": INT, "member_events": INT},
}
POINT_RULES = {
    "type": "object", "required": ["committee", "year", "version", "points", "caps"],
    "properties": {"committee": STR, "year": INT, "version": INT,
                   "points": {"type": "object", "additionalProperties": INT},
                   "caps": {"type": "object", "additionalProperties": INT}},
}
MENU = {
    "type": "object", "required": ["menu_id", "year", "title", "items", "members", "short"],
    "properties": {
        "menu_id": STR, "year": INT, "title": STR, "sector": NULLABLE_STR,
        "items": {"type": "array", "items": {"type": "object", "required": ["item_id", "title", "form"],
                                             "properties": {"item_id": STR, "title": STR, "form": STR}}},
        "members": {"type": "array", "items": {
            "type": "object", "required": ["member_id", "items", "minimum", "met"],
            "properties": {"member_id": STR, "name": STR, "items": STRS, "minimum": INT, "met": BOOL}}},
        "short": STRS,
    },
}
COVERAGE = {
    "type": "object", "required": ["communities", "total", "covered", "uncovered"],
    "properties": {
        "communities": {"type": "array", "items": {
            "type": "object", "required": ["community_id", "name", "stations", "members", "covered"],
            "properties": {"community_id": STR, "name": STR, "township_id": NULLABLE_STR,
                           "township": NULLABLE_STR, "stations": STRS, "covered": BOOL,
                           "members": {"type": "array", "items": {"type": "object"}}}}},
        "total": INT, "covered": INT, "uncovered": STRS,
    },
}
RANKING = PAGE({
    "type": "object", "required": ["member_id", "name", "sector", "points", "rank"],
    "properties": {"member_id": STR, "name": STR, "sector": STR, "sector_name": STR, "status": STR,
                   "points": INT, "entries": INT, "rank": INT,
                   "assessment": NULLABLE_STR}})  # the assessment: for staff, leaders and auditors only
DOSSIER = {
    "type": "object", "required": ["member", "years"],
    "properties": {
        "member": {"type": "object", "required": ["member_id", "name"], "properties": _MEMBER_PROPERTIES},
        "years": {"type": "array", "items": {
            "type": "object", "required": ["year", "rules_version", "total", "activities", "entries"],
            "properties": {"year": INT, "rules_version": INT, "total": INT,
                           "activities": {"type": "array", "items": {"type": "object"}},
                           "entries": {"type": "array", "items": {"type": "object"}},
                           "recomputations": {"type": "array", "items": {"type": "object"}},
                           "assessment": {"type": ["object", "null"]}}}},
    },
}

OPINION_REPORT = {  # a unit it was forwarded to sees the report and its own ``forward`` only
    "type": "object", "required": ["report_id", "status", "title", "next_commands"],
    "properties": {"report_id": STR, "status": STR, "title": STR, "content": STR, "channel": STR,
                   "category": STR, "submitters": STRS, "pending_checks": STRS, "next_commands": STRS,
                   "checks": {"type": "array", "items": {
                       "type": "object", "required": ["check", "passed", "note"],
                       "properties": {"check": STR, "passed": BOOL, "note": STR}}},
                   "forwards": {"type": "array", "items": {"type": "object"}},
                   "forward": {"type": ["object", "null"]},
                   "instructions": {"type": "array", "items": {"type": "object"}}},
}
_COUNT = {"type": "integer", "minimum": 0}
OPINION_STATISTICS = {
    "type": "object", "required": ["year", "reports", "collected", "by_channel", "adopted", "not_adopted",
                                   "reported", "forwarded", "fed_back", "instructed", "summary"],
    "properties": {"year": INT, "reports": _COUNT, "collected": _COUNT, "adopted": _COUNT,
                   "not_adopted": _COUNT, "instructed": _COUNT, "informed": _COUNT,
                   "by_channel": {"type": "object", "additionalProperties": _COUNT},
                   "by_submitter_kind": {"type": "object", "additionalProperties": _COUNT},
                   "reported": {"type": "object"}, "forwarded": {"type": "object"},
                   "fed_back": {"type": "object"}, "summary": STR},
}
_LINK = {"type": "object", "required": ["direction", "committee", "level", "name"],
         "properties": {"direction": {"enum": ["upper", "lower"]}, "committee": STR, "level": STR,
                        "name": STR}}
LEVELS_ANSWER = {  # committee codes, levels and names only: no addresses, no credentials
    "type": "object", "required": ["committee", "level", "upper", "lower"],
    "properties": {"committee": STR, "level": STR, "upper": {"type": "array", "items": _LINK},
                   "lower": {"type": "array", "items": _LINK}},
}

# A consultation as the caller may read it (a unit: title, status and its own tasks only).
CONSULTATION = {
    "type": "object", "required": ["consultation_id", "status", "title", "next_commands", "stream", "version"],
    "properties": {"consultation_id": STR, "status": STR, "title": STR, "description": STR,
                   "topic_kind": STR, "source": STR, "township": NULLABLE_STR, "next_commands": STRS,
                   "stream": STR, "version": INT, "plan": {"type": ["object", "null"]},
                   "meeting": {"type": ["object", "null"]}, "tasks": OBJECTS},
}
TOPIC_LISTS = {
    "type": "object", "required": ["committee", "version", "allowed", "forbidden"],
    "properties": {"committee": STR, "version": INT, **{listing: {"type": "array", "items": {
        "type": "object", "required": ["kind", "label"], "properties": {"kind": STR, "label": STR}}}
        for listing in ("allowed", "forbidden")}},
}
_BY = {"type": "object", "additionalProperties": _COUNT}
CONSULTATION_STATISTICS = {
    "type": "object", "required": ["year", "held", "held_by_place_type", "held_by_place", "held_by_township",
                                   "topics", "topics_by_source", "outcomes_agreed", "outcomes_adopted",
                                   "tasks", "tasks_completed", "tasks_on_time", "closed", "survey"],
    "properties": {"year": INT, "held": _COUNT, "held_by_place_type": _BY, "held_by_place": _BY,
                   "held_by_township": _BY, "topics": _COUNT, "topics_by_source": _BY,
                   "outcomes_agreed": _COUNT, "outcomes_adopted": _COUNT, "tasks": _COUNT,
                   "tasks_completed": _COUNT, "tasks_on_time": _COUNT, "closed": _COUNT,
                   "survey": {"type": "object", "required": ["respondents", "satisfied", "basically_satisfied",
                                                             "dissatisfied", "satisfaction_rate"],
                              "properties": {"respondents": _COUNT, "satisfied": _COUNT,
                                             "basically_satisfied": _COUNT, "dissatisfied": _COUNT,
                                             "satisfaction_rate": {"type": ["number", "null"]}}}},
}
# A group as the caller may read it (the department: never the fact finding nor the group's people).
SUPERVISION_GROUP = {
    "type": "object", "required": ["group_id", "status", "name", "topic", "opinions", "next_commands",
                                   "stream", "version"],
    "properties": {"group_id": STR, "status": STR, "name": STR, "year": INT, "leader": STR, "members": STRS,
                   "department": STR, "topic": STR, "basis": STR, "activities": OBJECTS, "opinions": OBJECTS,
                   "summary": NULLABLE_STR, "next_commands": STRS, "stream": STR, "version": INT},
}
SUPERVISION_STATISTICS = {
    "type": "object", "required": ["year", "groups", "departments", "opinions", "handled", "handled_on_time",
                                   "verified", "verdicts", "closed", "overdue"],
    "properties": {"year": INT, "groups": _COUNT, "departments": _COUNT, "opinions": _COUNT,
                   "handled": _COUNT, "handled_on_time": _COUNT, "verified": _COUNT, "verdicts": _BY,
                   "closed": _COUNT, "overdue": _COUNT},
}
CONSULTATION_CALENDAR = {"type": "object"}   # the meetings planned and held in the range, by date


# Notices and delivery records name people by id: never an address (no phone, no e-mail).
NO_ADDRESS = {"not": {"anyOf": [{"required": ["phone"]}, {"required": ["email"]}, {"required": ["to"]}]}}
NOTIFICATION = {
    "type": "object", "required": ["notification_id", "kind", "subject", "title", "body", "queued_at",
                                   "read_at"],
    "properties": {"notification_id": STR, "kind": STR, "subject": STR, "title": STR, "body": STR,
                   "queued_at": STR, "read_at": NULLABLE_STR},
    **NO_ADDRESS,
}
NOTIFICATIONS = {
    "type": "object", "required": ["items", "total", "next_cursor", "unread"],
    "properties": {"items": {"type": "array", "items": NOTIFICATION}, "total": _COUNT,
                   "next_cursor": {"type": ["string", "null"], "description": "pass as cursor for the "
                                                                               "next page; null: the last"},
                   "unread": _COUNT},
}
UNREAD = {"type": "object", "required": ["user_id", "unread"],
          "properties": {"user_id": STR, "unread": _COUNT}}
PREFERENCE = {
    "type": "object", "required": ["channels", "cadence", "quiet_hours", "locale", "source"],
    "properties": {"channels": STRS, "cadence": {"enum": ["immediate", "daily", "weekly"]},
                   "quiet_hours": NULLABLE_STR, "locale": STR,
                   "source": {"enum": ["own", "committee", "default"]}},
}
PREFERENCES = {
    "type": "object", "required": ["user_id", "kinds", "kinds_known"],
    "properties": {"user_id": STR, "kinds": {"type": "object", "additionalProperties": PREFERENCE},
                   "kinds_known": STRS, "channels_available": STRS},
}
MARKED = with_receipt({"required": ["marked"], "properties": {"marked": _COUNT}})
UNDELIVERABLE = {
    "type": "object", "required": ["items", "total", "next_cursor"],
    "properties": {"total": _COUNT, "items": {"type": "array", "items": {
        "type": "object", "required": ["key", "notification_id", "channel", "recipient", "kind", "title",
                                       "attempts", "last_detail", "given_up_at"],
        # a digest's delivery has no notice of its own: notification_id and title null
        "properties": {"key": STR, "notification_id": NULLABLE_STR, "channel": STR,
                       "recipient": {**STR, "description": "a member's, user's or organisation's id"},
                       "kind": STR, "title": NULLABLE_STR, "attempts": _COUNT, "reason": NULLABLE_STR,
                       "last_detail": NULLABLE_STR, "given_up_at": NULLABLE_STR},
        **NO_ADDRESS}},
        "next_cursor": {"type": ["string", "null"]}},
}
DELIVERIES = {
    "type": "object", "required": ["notification_id", "channels"],
    "properties": {"notification_id": STR, "channels": {"type": "object", "additionalProperties": {
        "type": "object", "required": ["state", "attempts"],
        "properties": {"state": STR, "attempts": {"type": "array", "items": {"type": "object", **NO_ADDRESS}}},
        **NO_ADDRESS}}},
}


AUDIT_READERS = frozenset({STAFF, AUDITOR})
LOGGED_SERVICES = ("proposals", "members", "feedback", "notify")


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    until: str | None = Field(default=None, max_length=40, description="a moment (ISO 8601; without a "
                              "zone: Asia/Shanghai): the events recorded up to it and the state then")


HISTORY = {"type": "object", "required": ["service", "stream", "events", "total", "state"],
           "properties": {"service": STR, "stream": STR, "until": NULLABLE_STR,
                          "events": {"type": "array", "items": OBJECT}, "total": _COUNT, "shown": _COUNT,
                          "state": {"type": ["object", "null"]}, "folded_by": STR}}
FEED_READERS = frozenset({SUBSCRIBER, AUDITOR, ADMIN})
FEED = {"type": "object", "required": ["events", "next", "caught_up"], "properties": {
    "events": {"type": "array", "items": {"type": "object"},
               "description": "the CloudEvents of the page, structured JSON (see /asyncapi.json)"},
    "next": {"type": "string", "description": "the cursor to ask after next time"},
    "caught_up": {"type": "boolean", "description": "nothing public follows, for now"}}}
VERIFIED = {"type": "object", "required": ["service", "ok", "checked"],
            "properties": {"service": STR, "ok": {"type": "boolean"}, "checked": _COUNT,
                           "last_position": _COUNT, "first_bad_position": {"type": ["integer", "null"]},
                           "problem": NULLABLE_STR}}


class YearReportQuery(Query):
    public: bool = Field(default=False, description="the version to publish (without the proposers' "
                                                    "ids); leaders always get that one")


YEAR_REPORT = {  # the year-end report's workbook, as `xieshang report` writes it
    "type": "object", "required": ["year", "public", "file_name", "media_type", "size", "content_base64"],
    "properties": {"year": INT, "public": BOOL, "file_name": STR, "media_type": STR, "size": INT,
                   "content_base64": {**STR, "description": "the XLSX file's bytes in base64"}},
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str                       # werkzeug rule: /api/proposals/<proposal_id>/file
    summary: str
    service: str
    rpc: str
    roles: frozenset[str] | None    # None: public, no login needed
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None  # a Query, unless the RPC takes no after_position
    status: int = 200
    response: dict = field(default_factory=lambda: OBJECT)
    tag: str = "proposals"
    # how path parameters and query fields are passed (renamed) to the RPC
    rename: tuple[tuple[str, str], ...] = (("wait_for", "after_position"),)
    # RPC arguments (after renaming) that default to the caller's user id when not given
    for_caller: tuple[str, ...] = ()

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


def _members(method: str, path: str, rpc: str, summary: str, roles: frozenset[str] | set[str], *,
             body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
             status: int = 200, response: dict | None = None, tag: str = "members") -> Route:
    """A route to the members service (commands answer with the receipt)."""
    return Route(method, path, summary, "members", rpc, frozenset(roles), body=body, query=query,
                 status=status, response=response or RECEIPT, tag=tag)


NOTIFY = "notifications"
# Who has an inbox: every person signed in (a resident who follows a published case, too), not
# an administrator (no casework) nor a subscriber system.
NOTICE_HOLDERS = ANYONE_SIGNED_IN - {ADMIN, SUBSCRIBER}
DELIVERY_READERS = frozenset({STAFF, AUDITOR})
_FOR_CALLER = {"rename": (("wait_for", "after_position"), ("user", "user_id"), ("unread", "unread_only")),
               "for_caller": ("user_id",)}


def _notify(method: str, path: str, rpc: str, summary: str, roles: frozenset[str] | set[str], *,
            body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
            response: dict | None = None, **kw: Any) -> Route:
    """A route to the notify service (commands answer with the receipt)."""
    return Route(method, path, summary, "notify", rpc, frozenset(roles), body=body, query=query,
                 response=response or RECEIPT, tag=NOTIFY, **kw)


# webhooks (issue 16): the notify service's signed webhooks to other systems (docs/notifications.md)
WEBHOOKS = "webhooks"
WEBHOOK_ADMINS, WEBHOOK_READERS = frozenset({ADMIN}), frozenset({ADMIN, AUDITOR})
WebhookState = Literal["planned", "sending", "delivered", "parked"]   # WEBHOOK_DELIVERY_STATES
WEBHOOK_SECRET = Field(default=None, min_length=30, max_length=200,
                       description="a Standard Webhooks secret (whsec_ and the base64 of 24 to 64 random "
                                   "bytes); none: a new one, answered once 签名密钥")


class NewWebhook(Body):
    url: str = Field(min_length=8, max_length=2000, description="where the events are POSTed: https (http only "
                                                                "to localhost) 推送地址")
    types: list[Annotated[str, Field(min_length=12, max_length=200)]] = Field(
        min_length=1, max_length=50, description="CloudEvents types or prefixes of whole dotted parts, e.g. "
                                                 "cn.gov.cppcc.proposals (see /asyncapi.json) 事件类型")
    secret: str | None = WEBHOOK_SECRET
    description: str | None = Field(default=None, max_length=200, description="the receiving system 说明")


class NewWebhookSecret(Body):
    secret: str | None = WEBHOOK_SECRET


class WebhookReplay(Body):
    key: str | None = Field(default=None, min_length=3, max_length=200,
                            description="one parked delivery (its key, <subscription>.<event id>); none: "
                                        "every parked one of the subscription")


class WebhooksQuery(Query):
    limit: int = Field(default=50, ge=1, le=MAX_PAGE, description="items per page 每页条数")
    cursor: str | None = Field(default=None, min_length=1, max_length=MAX_CURSOR,
                               description="the next_cursor of the previous page 翻页标记")


class WebhookDeliveriesQuery(WebhooksQuery):
    subscription: str | None = Field(default=None, pattern=ID_PATTERN, description="one subscription's")
    state: WebhookState | None = Field(default=None, description="parked: those an operator may replay")


_NULLABLE_INT = {"type": ["integer", "null"]}
WEBHOOK = {"type": "object", "required": ["subscription_id", "url", "types", "state", "created_at"],
           "properties": {"subscription_id": STR, "url": STR, "types": STRS, "description": STR, "state": STR,
                          "created_at": STR, "rotated_at": NULLABLE_STR, "disabled_at": NULLABLE_STR},
           "not": {"required": ["secret"]}}
WEBHOOK_DELIVERY = {"type": "object", "required": ["key", "subscription_id", "event_id", "ce_type", "state",
                                                   "attempts"],
                    "properties": {"key": STR, "subscription_id": STR, "event_id": STR, "ce_type": STR,
                                   "state": STR, "series": INT, "attempts": INT, "last_status": _NULLABLE_INT,
                                   "last_error": NULLABLE_STR, "reason": NULLABLE_STR, "planned_at": STR,
                                   "parked_at": NULLABLE_STR}}
WEBHOOK_MADE = with_receipt({"required": ["subscription_id"], "properties": {
    "subscription_id": STR, "secret": {**STR, "description": "the new secret, shown this once (absent when "
                                                             "the request gave it)"}}})
WEBHOOK_ATTEMPTS = {"type": "object", "required": ["key", "state", "attempts"],
                    "properties": {"key": STR, "state": STR, "series": INT, "attempts": OBJECTS}}
WEBHOOKS_REPLAYED = with_receipt({"required": ["replayed"], "properties": {"replayed": INT}})


def _webhook(method: str, path: str, rpc: str, summary: str, roles: frozenset[str], **kw: Any) -> Route:
    """A route to the notify service's webhooks."""
    kw.setdefault("response", RECEIPT)
    return Route(method, path, summary, "notify", rpc, roles, tag=WEBHOOKS, **kw)


OPINIONS = "opinion-reports"
OPINION_READERS = frozenset({STAFF, LEADER, AUDITOR})  # who reads every report and the figures


def _opinion(path: str, rpc: str, summary: str, roles: set[str], body: type[Body] = Body) -> Route:
    """A command on one opinion report (it answers the receipt)."""
    return Route("POST", f"/api/opinion-reports/<report_id>/{path}", summary, "feedback", rpc,
                 frozenset(roles), body=body, response=RECEIPT, tag=OPINIONS)


CONSULTATIONS, SUPERVISION = "consultations", "supervision-groups"
# who reads every consultation, every group and the figures (api.OPINION_READERS: feedback's READERS)
CONSULTATION_READERS = OPINION_READERS
# who may open one consultation or one group (the service says how much each of them sees)
CONSULTATION_INSIDE = frozenset({STAFF, LEADER, AUDITOR, MEMBER, UNIT})


def _consultation(path: str, rpc: str, summary: str, roles: set[str], body: type[Body] = Body,
                  status: int = 200) -> Route:
    """A command on one consultation (it answers the receipt)."""
    return Route("POST", f"/api/consultations/<consultation_id>/{path}", summary, "feedback", rpc,
                 frozenset(roles), body=body, status=status, response=RECEIPT, tag=CONSULTATIONS)


def _group(path: str, rpc: str, summary: str, roles: set[str], body: type[Body] = Body,
           status: int = 200) -> Route:
    """A command on one supervision group (it answers the receipt)."""
    return Route("POST", f"/api/supervision-groups/<group_id>/{path}", summary, "feedback", rpc,
                 frozenset(roles), body=body, status=status, response=RECEIPT, tag=SUPERVISION)


ROUTES: list[Route] = [
    # accounts, tokens and API keys: the gateway's own
    _account("POST", "/api/auth/login", "login", "Log in: a token for Authorization: Bearer", None,
             Login, TOKEN),
    _account("GET", "/api/auth/me", "me", "Who the token or key names", ANYONE_SIGNED_IN,
             None, ACTOR),
    _account("POST", "/api/accounts", "register", "Open an account", frozenset({ADMIN, STAFF}),
             NewAccount, with_receipt(ACTOR), status=201),
    _account("PUT", "/api/accounts/<user_id>/password", "set_password", "Set a new password (ends "
             "every session of the account)", ANYONE_SIGNED_IN - {SUBSCRIBER}, NewPassword, with_receipt(DONE)),
    _account("POST", "/api/accounts/<user_id>/unlock", "unlock", "Unlock a locked account",
             frozenset({ADMIN}), None, with_receipt(DONE)),
    _account("POST", "/api/accounts/<user_id>/disable", "disable", "Disable an account",
             frozenset({ADMIN}), AccountReason, with_receipt(DONE)),
    _account("POST", "/api/api-keys", "issue_api_key", "Issue an API key for a subscriber system "
             "(shown once)", frozenset({ADMIN}), NewApiKey, with_receipt(API_KEY), status=201),
    _account("POST", "/api/api-keys/<key_id>/revocation", "revoke_api_key", "Revoke an API key",
             frozenset({ADMIN}), AccountReason, with_receipt({"required": ["key_id"]})),
    _account("GET", "/api/accounts/<user_id>", "get_account", "An account's status: locked (until "
             "when), disabled, recent failed logins", frozenset({ADMIN}), None, ACCOUNT),
    _account("POST", "/api/public/accounts", "sign_up", "Open a resident's own account 居民注册 (no "
             "login; throttled per address)", None, PublicSignUp, with_receipt(ACTOR), status=201),
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
    Route("GET", "/api/handling-rules", "Deadline rules and the holiday calendar (with warnings for "
          "staff: a year without a calendar)", "proposals", "handling_rules", ANYONE_SIGNED_IN,
          query=Query, tag="rules"),
    Route("PUT", "/api/handling-rules", "Set the deadline rules", "proposals", "set_handling_rules",
          frozenset({STAFF}), body=Rules, response=RECEIPT, tag="rules"),
    Route("POST", "/api/holiday-calendar/amendments", "Amend the holiday calendar (moves open deadlines)",
          "proposals", "amend_holiday_calendar", frozenset({STAFF}), body=CalendarAmendment,
          status=201, response=RECEIPT, tag="rules"),
    # queries
    Route("GET", "/api/directory", "What the proposals service's directory 名录 knows of the given ids "
          "(members, units, bodies: kind, name, active)", "proposals", "directory", READERS | {MEMBER, UNIT},
          query=DirectoryQuery, tag="rules"),
    Route("GET", "/api/feedback/directory", "What the feedback service's directory 名录 knows of the "
          "given ids (members, units, townships, communities, stations: kind, name, active)", "feedback",
          "directory", OPINION_READERS, query=DirectoryQuery, tag="rules"),
    Route("GET", "/api/proposals/<proposal_id>", "A case as the caller may see it", "proposals",
          "get_proposal", frozenset({STAFF, AUDITOR, LEADER, MEMBER, UNIT, SUBSCRIBER}),
          query=Query, response=PROPOSAL),
    Route("GET", "/api/worklist", "Staff worklist with filters", "proposals", "worklist", READERS,
          query=WorklistQuery, response=PAGE(OBJECT)),
    Route("GET", "/api/units/<unit>/inbox", "A unit's assignments, due and overdue", "proposals",
          "unit_inbox", frozenset({UNIT, STAFF, AUDITOR}), query=InboxQuery, response=PAGE(OBJECT)),
    Route("GET", "/api/members/<member_id>/proposals", "A member's own cases", "proposals",
          "my_proposals", frozenset({MEMBER, STAFF, AUDITOR}), query=Page, response=PAGE(OBJECT)),
    Route("GET", "/api/statistics/<int:year>", "Yearly statistics", "proposals", "statistics", READERS,
          query=Query, tag="statistics"),
    Route("GET", "/api/public/proposals", "Published proposals (no login)", "proposals",
          "public_proposals", None, query=PublicQuery, response=PAGE(PUBLIC_CASE),
          tag="public"),
    Route("GET", "/api/public/proposals/<case_number>", "A published proposal with its reply and comments",
          "proposals", "public_proposal", None, query=Query, response=PUBLIC_CASE, tag="public"),
    # -- the members service --------------------------------------------------------------
    # the organisation tree (committee, special committees, sectors, parties and groups, handling
    # units, townships, communities) and the stations 委员履职站点
    _members("POST", "/api/organisations", "register_organisation", "Register an organisation of the "
             "committee's tree", {STAFF}, body=NewOrganisation, status=201, tag="organisations"),
    _members("GET", "/api/organisations", "list_organisations", "The organisations (stations with the "
             "communities they cover)", ANYONE_SIGNED_IN, query=OrganisationsQuery,
             response=PAGE(ORGANISATION), tag="organisations"),
    _members("GET", "/api/organisations/<org_id>", "get_organisation", "An organisation or station",
             ANYONE_SIGNED_IN, response=ORGANISATION, tag="organisations"),
    _members("PUT", "/api/organisations/<org_id>/name", "rename_organisation", "Rename an organisation "
             "or station", {STAFF}, body=NewName, tag="organisations"),
    _members("POST", "/api/organisations/<org_id>/closure", "close_organisation", "Close an organisation "
             "or station (it stays in the tree's history)", {STAFF}, body=Closure, tag="organisations"),
    _members("POST", "/api/stations", "define_station", "Set up a station 委员工作站/联络站/联系点/工作室",
             {STAFF}, body=NewStation, status=201, tag="organisations"),
    _members("PUT", "/api/stations/<station_id>/communities", "set_station_communities", "Set the "
             "communities a station covers", {STAFF}, body=StationCommunities, tag="organisations"),
    _members("GET", "/api/coverage", "coverage", "Every community with the members who look after it "
             "(uncovered: those without)", COMMITTEE, query=CoverageQuery, response=COVERAGE,
             tag="organisations"),
    # members 委员
    _members("POST", "/api/members", "appoint_member", "Appoint a member 委员 (contact details go to "
             "the private contact book only)", {STAFF}, body=Appointment, status=201),
    _members("GET", "/api/members", "list_members", "Members with their points, highest first",
             COMMITTEE, query=MembersQuery, response=MEMBER_ROWS),
    _members("GET", "/api/members/<member_id>", "get_member", "A member and their duty ledger (no "
             "contact details)", COMMITTEE, query=Query, response=MEMBER_RECORD),
    _members("PUT", "/api/members/<member_id>/station", "assign_to_station", "Assign a member to a "
             "station 下沉", {STAFF}, body=StationAssignment),
    _members("PUT", "/api/members/<member_id>/roles", "change_roles", "Change a member's roles, special "
             "committees, levels or party membership", {STAFF}, body=RolesChange),
    _members("POST", "/api/members/<member_id>/end-of-term", "end_term", "Record the end of a member's "
             "term 届满", {STAFF}, body=EndOfTerm),
    _members("POST", "/api/members/<member_id>/resignation", "resign_member", "Record a member's "
             "resignation 辞去委员", {STAFF}, body=Resignation),
    _members("GET", "/api/members/<member_id>/contact-details", "get_contact_details", "A member's "
             "contact details (staff and the member themselves)", {STAFF, MEMBER},
             response=CONTACT_DETAILS),
    _members("PUT", "/api/members/<member_id>/contact-details", "set_contact_details", "Replace a "
             "member's contact details (staff and the member themselves)", {STAFF, MEMBER},
             body=ContactDetails),
    _members("DELETE", "/api/members/<member_id>/contact-details", "erase_contact_details", "Erase a "
             "member's contact details, saying why (staff and the member themselves)", {STAFF, MEMBER},
             body=Erasure),
    _members("POST", "/api/rosters", "import_roster", "Import a roster 委员名册 (CSV or XLSX): all rows or "
             "none; the same file again changes nothing", {STAFF}, body=Roster, response=ROSTER_IMPORT),
    # duty 履职: points rules, activities, menus 菜单式履职, assessments, rankings, dossiers
    _members("GET", "/api/point-rules/<int:year>", "point_rules", "The year's duty points rules",
             COMMITTEE, response=POINT_RULES, tag="duty"),
    _members("PUT", "/api/point-rules/<int:year>", "set_point_rules", "Set the year's duty points rules "
             "(the year's ledgers are priced again)", {STAFF}, body=PointRules, tag="duty"),
    _members("POST", "/api/activities", "record_activity", "Record an activity and who took part",
             {STAFF}, body=NewActivity, status=201, tag="duty"),
    _members("POST", "/api/menus", "publish_menu", "Publish a duty menu 履职菜单", {STAFF}, body=NewMenu,
             status=201, tag="duty"),
    _members("GET", "/api/menus/<menu_id>", "get_menu", "A duty menu, who signed up for what and who "
             "still lacks their minimum", COMMITTEE, query=Query, response=MENU, tag="duty"),
    _members("POST", "/api/menus/<menu_id>/sign-ups", "sign_up_for_menu", "Sign up for menu items 选单 "
             "(staff: designate them for a member)", {MEMBER, STAFF}, body=SignUp, tag="duty"),
    _members("POST", "/api/members/<member_id>/assessments", "conclude_assessment", "Conclude a "
             "member's annual assessment 履职考核", {STAFF}, body=Assessment, status=201, tag="duty"),
    _members("GET", "/api/members/<member_id>/dossier", "get_dossier", "A member's duty dossier 履职档案 "
             "(staff, leaders, auditors and the member themselves)", {STAFF, LEADER, AUDITOR, MEMBER},
             query=DossierQuery, response=DOSSIER, tag="duty"),
    _members("GET", "/api/rankings/<int:year>", "ranking", "The year's points ranking 履职积分排名",
             COMMITTEE, query=RankingQuery, response=RANKING, tag="duty"),
    # -- the feedback service: opinion reports 社情民意 (征-编-报-督-复) ----------------------------
    # 征: members and informants submit
    Route("POST", "/api/opinion-reports", "Submit an opinion report 报送社情民意信息", "feedback",
          "submit_opinion_report", frozenset({MEMBER, INFORMANT}), body=SubmitOpinion, status=201,
          response=RECEIPT, tag=OPINIONS),
    Route("GET", "/api/opinion-reports/mine", "The caller's own opinion reports 我的社情民意", "feedback",
          "my_opinion_reports", frozenset({MEMBER, INFORMANT}), query=Page, response=PAGE(OBJECT),
          tag=OPINIONS),
    Route("GET", "/api/opinion-reports/<report_id>", "An opinion report as the caller may see it",
          "feedback", "get_opinion_report", frozenset({STAFF, LEADER, AUDITOR, MEMBER, INFORMANT, UNIT}),
          query=Query, response=OPINION_REPORT, tag=OPINIONS),
    # 编: the four checks, return and revision, combining, adoption
    _opinion("checks", "record_opinion_check", "Record one of the four checks 四关 (政治关、事实关、"
             "内容关、文字关)", {STAFF}, OpinionCheckBody),
    _opinion("return", "return_opinion_report", "Return for revision 退回修改", {STAFF}, Reason),
    _opinion("revision", "revise_opinion_report", "Revise a returned report 修改", {MEMBER, INFORMANT},
             ReviseOpinion),
    Route("POST", "/api/opinion-reports/combinations", "Combine reports into a new one 综合", "feedback",
          "combine_opinion_reports", frozenset({STAFF}), body=CombineOpinions, status=201,
          response=RECEIPT, tag=OPINIONS),
    _opinion("adoption", "adopt_opinion_report", "Adopt 采用 (every check passed)", {STAFF}, AdoptOpinion),
    _opinion("non-adoption", "not_adopt_opinion_report", "Do not adopt 不予采用", {STAFF}, Reason),
    # 报: to the party committee, the government, upper committees; 督: units, leaders
    _opinion("reporting", "report_opinion", "Report to the party committee, government or upper "
             "committees 报送", {STAFF}, ReportOpinionBody),
    _opinion("forwarding", "forward_opinion", "Forward to units with a deadline 转交", {STAFF},
             ForwardOpinion),
    _opinion("feedback", "send_opinion_feedback", "A unit's written feedback 书面反馈", {UNIT}, OpinionText),
    _opinion("instructions", "record_leader_instruction", "Record a leader's instruction 领导批示",
             {LEADER, STAFF}, LeaderInstruction),
    # 复: the submitters told what became of it
    _opinion("notice", "inform_submitter", "Tell the submitters what happened 情况通报", {STAFF},
             OpinionText),
    # the lists
    Route("GET", "/api/opinion-desk", "The editors' desk 编辑工作台 with filters", "feedback",
          "opinion_desk", OPINION_READERS, query=OpinionDeskQuery, response=PAGE(OBJECT), tag=OPINIONS),
    Route("GET", "/api/units/<unit>/opinion-reports", "The reports forwarded to a unit, with deadlines",
          "feedback", "unit_opinion_reports", frozenset({UNIT, STAFF, AUDITOR}), query=UnitOpinionQuery,
          response=PAGE(OBJECT), tag=OPINIONS),
    Route("GET", "/api/leaders/<leader>/opinion-reports", "The reports put before a leader 待批示",
          "feedback", "leader_opinion_reports", frozenset({LEADER, STAFF, AUDITOR}),
          query=LeaderOpinionQuery, response=PAGE(OBJECT), tag=OPINIONS),
    Route("GET", "/api/opinion-inbox", "Reports received from lower committees 下级报送", "feedback",
          "opinion_inbox", OPINION_READERS, query=Page, response=PAGE(OBJECT), tag=OPINIONS),
    Route("GET", "/api/opinion-statistics/<int:year>", "The year's opinion report figures 社情民意统计",
          "feedback", "opinion_statistics", OPINION_READERS, query=Query, response=OPINION_STATISTICS,
          tag=OPINIONS),
    Route("GET", "/api/levels", "This committee's level and the committees it is linked to 上下级政协",
          "feedback", "levels", ANYONE_SIGNED_IN, response=LEVELS_ANSWER, tag="levels"),
    # -- the feedback service: consultations 协商议事 (the eight steps 八步议事法) -------------------
    # the topic lists 协商议题清单 (可协商 / 不可协商)
    Route("GET", "/api/consultation-topic-lists", "The topic lists 协商议题清单: the kinds that may and may "
          "not be consulted on", "feedback", "consultation_topic_lists", ANYONE_SIGNED_IN,
          response=TOPIC_LISTS, tag=CONSULTATIONS, rename=()),
    Route("POST", "/api/consultation-topic-lists/amendments", "Amend the topic lists 修改协商议题清单, saying "
          "why", "feedback", "amend_topic_lists", frozenset({STAFF}), body=AmendTopicLists, status=201,
          response=RECEIPT, tag=CONSULTATIONS),
    # 1 议题收集: staff or members raise a topic; a forbidden kind is refused at once, the rule named
    Route("POST", "/api/consultations", "Raise a consultation topic 提出协商议题", "feedback",
          "propose_consultation_topic", frozenset({STAFF, MEMBER}), body=ProposeTopic, status=201,
          response=RECEIPT, tag=CONSULTATIONS),
    Route("GET", "/api/consultations", "Consultations 协商议事 with their state and next step, filtered",
          "feedback", "consultations", CONSULTATION_READERS, query=ConsultationsQuery, response=PAGE(OBJECT),
          tag=CONSULTATIONS),
    Route("GET", "/api/consultations/<consultation_id>", "A consultation as the caller may see it",
          "feedback", "get_consultation", CONSULTATION_INSIDE, query=Query, response=CONSULTATION,
          tag=CONSULTATIONS),
    # 2 确定议题: staff decide it against the lists; the same-level party organisation approves 党组织审定
    _consultation("topic-decision", "decide_consultation_topic", "Decide the topic 确定议题 (checked against "
                  "the lists again)", {STAFF}, TopicNote),
    _consultation("set-aside", "set_aside_consultation_topic", "Set the topic aside 议题不予采纳", {STAFF}, Reason),
    _consultation("approval", "approve_consultation_topic", "Approve the topic (the party organisation) "
                  "党组织批准议题", {LEADER}, TopicNote),
    _consultation("rejection", "reject_consultation_topic", "Do not approve the topic (the party "
                  "organisation) 党组织不批准", {LEADER}, Reason),
    # 3 制定方案, 4 议前调研
    _consultation("plan", "plan_consultation", "Draw up (or revise) the plan 制定协商方案: when, where, who",
                  {STAFF}, PlanConsultation),
    _consultation("research", "record_consultation_research", "Record research before the meeting 议前调研",
                  {STAFF}, ConsultationResearch, status=201),
    # 5 协商议事, 6 公开公示, 7 组织决定
    _consultation("meeting", "record_consultation_meeting", "Record the meeting 协商议事: who came, who "
                  "spoke, the outcomes agreed", {STAFF}, ConsultationMeeting),
    _consultation("publication", "publish_consultation_results", "Publish the results 公开公示", {STAFF},
                  PublishResults),
    _consultation("decision", "decide_consultation", "The organisation's decision 组织决定: the outcomes "
                  "adopted", {LEADER}, DecideConsultation),
    # 8 跟踪落实: tasks to units, the visit, the survey; results turned into reports or proposals
    _consultation("follow-up-tasks", "assign_follow_up_task", "Give a unit a follow-up task 交办落实任务",
                  {STAFF}, AssignFollowUpTask, status=201),
    Route("POST", "/api/consultations/<consultation_id>/follow-up-tasks/<task_id>/completion", "Report a "
          "follow-up task done 报告落实情况 (the unit of the task)", "feedback", "complete_follow_up_task",
          frozenset({UNIT}), body=CompleteFollowUpTask, response=RECEIPT, tag=CONSULTATIONS),
    _consultation("follow-up-visits", "record_follow_up_visit", "Record the follow-up visit 跟踪回访", {STAFF},
                  FollowUpVisit),
    _consultation("survey", "record_satisfaction_survey", "Record the satisfaction survey 满意度测评", {STAFF},
                  SatisfactionSurvey),
    _consultation("conversion", "convert_consultation_result", "Turn a result into an opinion report or a "
                  "proposal 协商成果转化", {STAFF}, ConvertResult),
    _consultation("close", "close_consultation", "Close the consultation 协商办结 (every task done, visited, "
                  "surveyed)", {STAFF}, CloseConsultation),
    # the lists
    Route("GET", "/api/consultation-calendar", "The meetings planned and held in a date range 协商日历",
          "feedback", "consultation_calendar", CONSULTATION_READERS, query=CalendarQuery,
          response=CONSULTATION_CALENDAR, tag=CONSULTATIONS),
    Route("GET", "/api/consultation-statistics/<int:year>", "The year's consultation figures 协商议事统计",
          "feedback", "consultation_statistics", CONSULTATION_READERS, query=Query,
          response=CONSULTATION_STATISTICS, tag=CONSULTATIONS),
    Route("GET", "/api/units/<unit>/follow-up-tasks", "A unit's follow-up tasks 落实任务, with deadlines",
          "feedback", "unit_follow_up_tasks", frozenset({UNIT, STAFF, AUDITOR}), query=TasksQuery,
          response=PAGE(OBJECT), tag=CONSULTATIONS),
    # -- the feedback service: democratic supervision groups 民主监督组 ------------------------------
    Route("POST", "/api/supervision-groups", "Form a supervision group 组建民主监督组", "feedback",
          "form_supervision_group", frozenset({STAFF}), body=FormSupervisionGroup, status=201,
          response=RECEIPT, tag=SUPERVISION),
    Route("GET", "/api/supervision-groups", "Supervision groups 民主监督组, newest first (a department: "
          "those sent to it)", "feedback", "supervision_groups", CONSULTATION_READERS | {UNIT},
          query=SupervisionGroupsQuery, response=PAGE(OBJECT), tag=SUPERVISION),
    Route("GET", "/api/supervision-groups/<group_id>", "A supervision group as the caller may see it",
          "feedback", "get_supervision_group", CONSULTATION_INSIDE, query=Query, response=SUPERVISION_GROUP,
          tag=SUPERVISION),
    _group("fact-finding", "record_fact_finding", "Record the group's fact finding 监督调研", {STAFF},
           FactFinding, status=201),
    _group("opinions", "issue_supervision_opinion", "Issue a supervision opinion 提出监督意见 to the "
           "department", {STAFF}, SupervisionOpinionBody, status=201),
    Route("POST", "/api/supervision-groups/<group_id>/opinions/<opinion_id>/handling", "Report how the "
          "opinion was handled 报告办理情况 (the department)", "feedback", "report_supervision_handling",
          frozenset({UNIT}), body=HandlingReport, response=RECEIPT, tag=SUPERVISION),
    Route("POST", "/api/supervision-groups/<group_id>/opinions/<opinion_id>/verification", "Verify the "
          "effect 核验落实效果", "feedback", "verify_supervision_effect", frozenset({STAFF}), body=VerifyEffect,
          response=RECEIPT, tag=SUPERVISION),
    _group("close", "close_supervision_group", "Close the group's round 监督组工作办结 (every opinion "
           "verified)", {STAFF}, CloseGroup),
    Route("GET", "/api/units/<unit>/supervision-opinions", "The supervision opinions issued to a "
          "department 监督意见, open ones with deadlines", "feedback", "department_supervision_opinions",
          frozenset({UNIT, STAFF, AUDITOR}), query=DepartmentOpinionsQuery, response=PAGE(OBJECT),
          tag=SUPERVISION, rename=(("wait_for", "after_position"), ("unit", "department"))),
    Route("GET", "/api/supervision-statistics/<int:year>", "The year's supervision figures 民主监督统计",
          "feedback", "supervision_statistics", CONSULTATION_READERS, query=Query,
          response=SUPERVISION_STATISTICS, tag=SUPERVISION),
    # -- the notify service: the inbox 通知, preferences, follows, deliveries -----------------------
    _notify("GET", "/api/notifications", "inbox", "Notifications 通知, newest first (default: the "
            "caller's; a unit's people: their unit's)", NOTICE_HOLDERS, query=NotificationsQuery,
            response=NOTIFICATIONS, **_FOR_CALLER),
    _notify("GET", "/api/notifications/unread-count", "unread_count", "How many notifications are "
            "unread 未读数", NOTICE_HOLDERS, query=UnreadQuery, response=UNREAD, **_FOR_CALLER),
    _notify("POST", "/api/notifications/read", "mark_read", "Mark notifications as read 标为已读",
            NOTICE_HOLDERS, body=MarkRead, response=MARKED, **_FOR_CALLER),
    _notify("GET", "/api/notification-preferences", "preferences", "Notification preferences by kind: "
            "channels, cadence, quiet hours, language, and where each comes from", NOTICE_HOLDERS,
            query=PreferencesQuery, response=PREFERENCES, **_FOR_CALLER),
    _notify("PUT", "/api/notification-preferences", "set_preference", "Set how a kind of notification "
            "reaches the caller 通知方式 (kind * : every kind)", NOTICE_HOLDERS, body=Preference,
            **_FOR_CALLER),
    _notify("PUT", "/api/notification-preferences/committee", "set_committee_default", "Set the "
            "committee's default for a kind of notification 全委默认", {STAFF}, body=PreferenceBody),
    _notify("POST", "/api/proposals/<proposal_id>/follow", "follow_proposal", "Follow a published "
            "case 关注: be told what becomes of it", NOTICE_HOLDERS),
    _notify("DELETE", "/api/proposals/<proposal_id>/follow", "unfollow_proposal", "Stop following a "
            "case 取消关注", NOTICE_HOLDERS),
    _notify("GET", "/api/notifications/undeliverable", "undeliverable", "Notices given up on a channel "
            "无法送达 (e-mail, SMS), the latest first", DELIVERY_READERS, query=UndeliverableQuery,
            response=UNDELIVERABLE),
    _notify("GET", "/api/notifications/<notification_id>/deliveries", "deliveries", "A notification's "
            "deliveries: each channel's state and attempts 送达记录", DELIVERY_READERS,
            response=DELIVERIES),
    _notify("POST", "/api/notifications/<notification_id>/deliveries/<channel>/retry", "retry_delivery",
            "Try an undeliverable notice again on the channel 重新发送", {STAFF}, body=Body),
    # webhooks (issue 16): subscriptions of other systems to public events, signed deliveries
    _webhook("POST", "/api/webhooks", "create_webhook", "Subscribe a system's URL to public events 新建事件推送 "
             "(the secret is answered once)", WEBHOOK_ADMINS, body=NewWebhook, response=WEBHOOK_MADE, status=201),
    _webhook("GET", "/api/webhooks", "webhooks", "The webhook subscriptions 事件推送订阅 (never a secret)",
             WEBHOOK_READERS, query=WebhooksQuery, response=PAGE(WEBHOOK)),
    _webhook("POST", "/api/webhooks/<subscription_id>/secret", "rotate_webhook_secret", "A new signing secret "
             "更换签名密钥 (answered once; the old one signs too for a day)", WEBHOOK_ADMINS,
             body=NewWebhookSecret, response=WEBHOOK_MADE),
    _webhook("POST", "/api/webhooks/<subscription_id>/disable", "disable_webhook", "Disable a subscription "
             "停用事件推送 (reason: why)", WEBHOOK_ADMINS, body=Body),
    _webhook("POST", "/api/webhooks/<subscription_id>/replay", "replay_webhooks", "Replay a subscription's "
             "parked deliveries (or one) 重新推送", WEBHOOK_ADMINS, body=WebhookReplay, response=WEBHOOKS_REPLAYED),
    _webhook("GET", "/api/webhook-deliveries", "webhook_deliveries", "Webhook deliveries, the latest first "
             "(state=parked: the ones retries gave up on) 推送记录", WEBHOOK_READERS, query=WebhookDeliveriesQuery,
             response=PAGE(WEBHOOK_DELIVERY), rename=(("wait_for", "after_position"), ("subscription", "subscription_id"))),
    _webhook("GET", "/api/webhook-deliveries/<key>", "webhook_attempts", "Every attempt of one webhook delivery "
             "推送尝试记录", WEBHOOK_READERS, response=WEBHOOK_ATTEMPTS),
    # an organisation's contact details (a unit's, the office's): where its notices go
    _members("GET", "/api/organisations/<org_id>/contact", "get_organisation_contact", "An "
             "organisation's contact details (staff)", {STAFF}, response=ORGANISATION_CONTACT,
             tag="organisations"),
    _members("PUT", "/api/organisations/<org_id>/contact", "set_organisation_contact", "Replace an "
             "organisation's contact details (for its notices; private contact book only)", {STAFF},
             body=OrganisationContact, tag="organisations"),
    _members("DELETE", "/api/organisations/<org_id>/contact", "erase_organisation_contact", "Erase an "
             "organisation's contact details, saying why", {STAFF}, body=Erasure, tag="organisations"),
    # -- every log, for auditors 审计: a stream's history and state as of a moment, the chain verified
    *[Route("GET", f"/api/audit/{svc}/streams/<stream>", f"A stream's history in the {svc} service's log "
            "and its state as of a moment 历史与某时状态", svc, "stream_history", AUDIT_READERS,
            query=HistoryQuery, response=HISTORY, tag="audit", rename=()) for svc in LOGGED_SERVICES],
    *[Route("GET", f"/api/audit/{svc}/verify", f"The {svc} service's log verified: its hash chain "
            "walked 日志校验", svc, "verify_log", AUDIT_READERS, response=VERIFIED, tag="audit")
      for svc in LOGGED_SERVICES],
    _account("GET", "/api/audit/gateway/verify", "verify_log", "The gateway's own log (accounts) verified "
             "日志校验", AUDIT_READERS, None, VERIFIED),
    # -- the integration contract (ADR 0012): other systems' catch-up feed of public events
    Route("GET", "/api/feed", "Public events after a cursor, in order, as a CloudEvents JSON batch "
          "公开事件补取 (API-key holders)", "gateway", "feed", FEED_READERS, query=FeedQuery,
          response=FEED, tag="integration", rename=()),
    # the words of each service's codes, for interfaces that show words, never codes
    *[Route("GET", f"/api/vocabulary/{svc}", f"The words of the {svc} service's codes (states, "
            "commands, events …) in Chinese and English 术语", svc, "vocabulary", None,
            tag="vocabulary") for svc in LOGGED_SERVICES],
    # -- routes the web console's pages needed (console/pages) --------------------------------
    # (staff pages)
    Route("GET", "/api/statistics/<int:year>/report", "The year-end report 年度报告 (XLSX, base64): "
          "the workbook `xieshang report` writes", "proposals", "year_report",
          frozenset({STAFF, AUDITOR, LEADER}), query=YearReportQuery, response=YEAR_REPORT, tag="statistics"),
    # (member, unit and leader pages)
    _members("GET", "/api/duty-menus/<int:year>", "list_menus", "The year's duty menus 履职菜单 (sector: "
             "those open to its members; a member sees the items they hold)", COMMITTEE, query=RankingQuery,
             response=PAGE(OBJECT), tag="duty"),
    # (public, audit and notification pages)
    Route("GET", "/api/proposals/<proposal_id>/comments/mine", "The caller's own comments on a published "
          "case 我的评论, pending and rejected ones too (the public answer shows approved ones only)",
          "proposals", "my_comments", frozenset({PUBLIC, MEMBER}), query=Query, tag="public", response={
              "type": "object", "required": ["proposal_id", "items"],
              "properties": {"proposal_id": STR, "items": {"type": "array", "items": {
                  "type": "object", "required": ["comment_id", "display_name", "text", "status"],
                  "properties": {"comment_id": STR, "display_name": STR, "text": STR,
                                 "status": {"enum": ["pending", "approved", "rejected"]},
                                 "answer": NULLABLE_STR, "reason": NULLABLE_STR}}}}}),
    _notify("GET", "/api/proposals/<proposal_id>/follow", "following", "Whether the caller follows a case "
            "是否关注 (and whether it may be followed: published)", NOTICE_HOLDERS, response={
                "type": "object", "required": ["proposal_id", "following", "published"],
                "properties": {"proposal_id": STR, "following": BOOL, "published": BOOL}}),
    # last, so that a walk over the routes with one token per role ends each session at the end
    _account("POST", "/api/auth/logout", "logout", "Log out: the token sent answers 401 from now on",
             ANYONE_SIGNED_IN - {SUBSCRIBER}, None, with_receipt(DONE)),
]
