"""The members service's vocabulary: roles, organisation kinds, station types, levels, states,
activities and their default points, limits, and the names of its streams.

Streams:

* ``org-<org id>``: one organisation of the committee's tree (DOMAIN.md, Organisations): the
  committee, its special committees 专门委员会, sectors 界别, parties and groups 党派团体,
  handling units 承办单位, townships/streets 乡镇/街道 and villages/communities 村/社区, and the
  stations 委员工作站、联络站/联系点、工作室、会客室、协商议事室 with the communities each covers.
* ``org-<org id>`` also records the fact (never the content) that an organisation's contact
  details (a handling unit's or the committee office's mailbox and phone) changed.
* ``member-<member id>``: a member's registration: appointment, station 下沉, roles, end of
  term, resignation, and the fact (never the content) that their contact details changed.
* ``ledger-<member id>``: the member's duty points 履职积分: one ``DutyPointsAwarded`` per
  credited activity, naming the event that earned it; recomputations when a year's rules
  change; the annual assessment 履职考核.
* ``pointrules-<committee>-<year>``: the points rules of one committee and year (data, not code).
* ``activity-<id>``: an activity staff recorded (a meeting, an inspection, ...) with who took part.
* ``menu-<id>``: a duty menu 菜单式履职 (永嘉) and the members' sign-ups.
* ``case-<proposal id>``: what this service learnt about a proposal from the proposals
  service's events (its proposers, its key designation), so that credits that need both do not
  depend on the order in which the two events arrive.
* ``rosterimport-<digest>``: a roster file that was imported, and what it changed.
"""

from __future__ import annotations

from typing import Mapping

from xieshang.kernel.anchoring import CHECKPOINT_LABELS
from xieshang.kernel.messages import register_labels, register_words

# Roles (Actor.role) this service knows.
STAFF, MEMBER, LEADER, AUDITOR = "staff", "member", "leader", "auditor"
SYSTEM = "system"   # another service acting on its own (the notify service asking for addresses)
READERS_OF_ALL = (STAFF, LEADER, AUDITOR)

# -- vocabulary (English in code, Chinese for the user interface) ---------------------------

ORG_KINDS: Mapping[str, str] = {
    "committee": "政协",
    "special_committee": "专门委员会",
    "sector": "界别",
    "party_group": "党派团体",
    "handling_unit": "承办单位",
    "township": "乡镇/街道",
    "community": "村/社区",
    "station": "委员履职站点",
}
STATION_TYPES: Mapping[str, str] = {
    "work_station": "委员工作站",
    "liaison_station": "委员联络站",
    "liaison_point": "委员联系点",
    "studio": "委员工作室",
    "reception_room": "委员会客室",
    "consultation_room": "协商议事室",
    # the consultation platforms of the seeds: 龙湾、平阳 run 民生议事堂 in every township and
    # 协商驿站 in villages (the feedback service holds consultations on these and the rooms above)
    "livelihood_hall": "民生议事堂",
    "consultation_post": "协商驿站",
}
STATION_LEVELS = ("township", "community")
COMMITTEE_LEVELS = ("city", "county")
LEVELS = ("national", "provincial", "city", "county")   # 全国、省、市、县 (a person may sit at several)
ROLES = ("standing_committee", "chairs_meeting")         # 常委, 主席会议成员
OPEN, CLOSED = "open", "closed"
ACTIVE, TERM_ENDED, RESIGNED = "active", "term_ended", "resigned"

# Every activity that can earn duty points, with its name in the UI. Points come from the
# year's rules (PointRules), never from here.
ACTIVITIES: Mapping[str, str] = {
    # from the proposals service's events
    "proposal_submitted": "提交提案",
    "proposal_filed": "提案立案",
    "proposal_co_signed": "联名附议",
    "proposal_made_key": "提案列为重点提案",
    "proposal_merged": "提案并案办理",
    "reply_rated": "评价提案办理答复",
    # from the feedback service's events (opinion reports 社情民意, credits.opinion_credits):
    # adopted here, adopted by an upper committee it was reported to, a leader's instruction
    # (of this level, or coming back from above)
    "opinion_adopted": "社情民意信息被采用",
    "opinion_reported_upward": "社情民意信息被上级政协采用",
    "leader_instruction": "社情民意信息获领导批示",
    # from the feedback service's consultations 协商议事 and supervision groups 民主监督组
    # (credits.consultation_credits): research before a meeting, the meeting attended, a group
    "consultation_research": "参加议前调研",
    "consultation_meeting": "参加协商议事会议",
    "supervision_group": "参加民主监督组",
    # recorded by staff in this service
    "meeting_attended": "参加会议",
    "meeting_excused": "请假缺席会议",
    "inspection_joined": "参加视察",
    "research_joined": "参加调研",
    "consultation_joined": "参加协商议事",
    "plenary_speech": "大会发言",
    "community_service": "进社区服务",
    "menu_signup": "菜单式履职认领",
}
# What an activity record (ActivityRecorded.kind) credits its participants with.
ACTIVITY_KINDS: Mapping[str, str] = {
    "meeting": "meeting_attended",
    "inspection": "inspection_joined",
    "research": "research_joined",
    "consultation": "consultation_joined",
    "plenary_speech": "plenary_speech",
    "community_service": "community_service",
}
MENU_FORMS = ("consultation", "research", "inspection", "supervision", "review")  # 协商、调研、视察、监督、评议
OUTCOMES: Mapping[str, str] = {"commended": "表彰", "normal": "合格", "talked_to": "约谈通报"}

# The points of a year for which staff set no rules (version 0 of every year's rules). An
# activity at 0 is still recorded in the ledger, so that the year's rules can price it later.
DEFAULT_POINT_RULES: Mapping[str, int] = {
    "proposal_submitted": 0,       # what is filed counts by default, not every submission
    "proposal_filed": 5,
    "proposal_co_signed": 1,
    "proposal_made_key": 3,
    "proposal_merged": 3,
    "reply_rated": 1,
    "opinion_adopted": 3,
    "opinion_reported_upward": 5,
    "leader_instruction": 8,
    "consultation_research": 2,
    "consultation_meeting": 2,
    "supervision_group": 3,
    "meeting_attended": 1,
    "meeting_excused": 0,
    "inspection_joined": 2,
    "research_joined": 2,
    "consultation_joined": 2,
    "plenary_speech": 5,
    "community_service": 2,
    "menu_signup": 1,
}
MAX_POINTS = 100
MAX_CAP = 10_000


# Which kinds an organisation may hang under (None: directly under the committee).
PARENT_KINDS: Mapping[str, tuple[str | None, ...]] = {
    "committee": (None, "committee"),
    "special_committee": (None, "committee"),
    "sector": (None, "committee"),
    "party_group": (None, "committee"),
    "handling_unit": (None, "committee"),
    "township": (None, "committee"),
    "community": ("township",),
}

# Personal data: never in events, logs or public views.
CONTACT_FIELDS = ("phone", "email", "address")
ORG_CONTACT_FIELDS = ("phone", "email")          # an office's telephone and mailbox
# Where a notice can be delivered (delivery_addresses): the e-mail, or a mobile for SMS.
DELIVERY_CHANNELS = ("email", "sms")
MAX_DELIVERY_IDS = 500

# The service whose events earn proposal credits, and this service's own name.
PROPOSALS = "proposals"
SELF = "members"


def member_stream(member_id: str) -> str:
    return f"member-{member_id}"


def ledger_stream(member_id: str) -> str:
    return f"ledger-{member_id}"


def org_stream(org_id: str) -> str:
    return f"org-{org_id}"


def rules_stream(committee: str, year: int) -> str:
    return f"pointrules-{committee}-{year}"


def activity_stream(activity_id: str) -> str:
    return f"activity-{activity_id}"


def menu_stream(menu_id: str) -> str:
    return f"menu-{menu_id}"


def case_stream(proposal_id: str) -> str:
    return f"case-{proposal_id}"


def roster_import_stream(digest: str) -> str:
    return f"rosterimport-{digest[:16]}"


# What a refusal calls each command, state and role (xieshang.kernel.messages): English, Chinese.
COMMAND_LABELS: dict[str, tuple[str, str]] = {
    "register_organisation": ("register the organisation", "登记组织"),
    "define_station": ("set up the station", "设立履职站点"),
    "rename_organisation": ("rename the organisation", "更改组织名称"),
    "close_organisation": ("close the organisation", "撤销组织"),
    "set_station_communities": ("set the communities the station covers", "设置站点联系的社区"),
    "appoint_member": ("appoint the member", "任命委员"),
    "assign_to_station": ("assign the member to a station", "安排委员进站"),
    "change_roles": ("change the member's roles", "调整委员职务"),
    "end_term": ("record the end of the member's term", "登记委员届满"),
    "resign_member": ("record the member's resignation", "登记委员辞任"),
    "set_contact_details": ("change the contact details", "修改联系方式"),
    "get_contact_details": ("read the contact details", "查看联系方式"),
    "read contact details": ("read the contact details", "查看联系方式"),
    "erase_contact_details": ("erase the contact details", "删除联系方式"),
    "set_organisation_contact": ("change the organisation's contact details", "修改单位联系方式"),
    "erase_organisation_contact": ("erase the organisation's contact details", "删除单位联系方式"),
    "get_organisation_contact": ("read the organisation's contact details", "查看单位联系方式"),
    "delivery_addresses": ("look up where notices are delivered", "查询通知送达地址"),
    "import_roster": ("import the roster", "导入委员名册"),
    "set_point_rules": ("set the duty points rules", "设置履职积分规则"),
    "record_activity": ("record the activity", "登记履职活动"),
    "publish_menu": ("publish the duty menu", "发布履职菜单"),
    "sign_up_for_menu": ("sign up for menu items", "认领履职菜单"),
    "conclude_assessment": ("conclude the annual assessment", "完成年度履职考核"),
    "read this dossier": ("read this duty dossier", "查看此履职档案"),
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    "": ("not recorded", "尚未登记"), ACTIVE: ("active", "在任"), TERM_ENDED: ("term ended", "已届满"),
    RESIGNED: ("resigned", "已辞任"), OPEN: ("open", "正常"), CLOSED: ("closed", "已撤销"),
    "recorded": ("recorded", "已登记"), "published": ("published", "已发布"),
}
ROLE_LABELS: dict[str, tuple[str, str]] = {
    STAFF: ("staff", "工作人员"), MEMBER: ("member", "委员"), LEADER: ("leader", "领导"),
    AUDITOR: ("auditor", "审计人员"), SYSTEM: ("system", "系统"),
}
register_labels("members", COMMAND_LABELS, STATE_LABELS, ROLE_LABELS)


# -- the words a page shows for codes (xieshang.kernel.messages.vocabulary): English, Chinese ----

# What happened, as a timeline says it: one label per event type of domain/events.py.
EVENT_LABELS: dict[str, tuple[str, str]] = {
    "LogCheckpointed": CHECKPOINT_LABELS["LogCheckpointed"],  # xieshang.kernel.anchoring
    "OrganisationRegistered": ("Organisation registered", "登记组织"),
    "OrganisationRenamed": ("Organisation renamed", "组织更名"),
    "OrganisationClosed": ("Organisation closed", "撤销组织"),
    "StationDefined": ("Station set up", "设立履职站点"),
    "StationCommunitiesSet": ("Station's communities set", "设置站点联系社区"),
    "OrganisationContactChanged": ("Organisation's contact details changed", "单位联系方式变更"),
    "OrganisationContactErased": ("Organisation's contact details erased", "删除单位联系方式"),
    "MemberAppointed": ("Member appointed", "任命委员"),
    "MemberAssignedToStation": ("Assigned to a station", "委员进站"),
    "MemberRolesChanged": ("Roles changed", "委员职务调整"),
    "MemberTermEnded": ("Term ended", "委员届满"),
    "MemberResigned": ("Member resigned", "辞去委员"),
    "ContactDetailsChanged": ("Contact details changed", "联系方式变更"),
    "ContactDetailsErased": ("Contact details erased", "删除联系方式"),
    "RosterImported": ("Roster imported", "导入委员名册"),
    "PointRulesSet": ("Duty points rules set", "设置履职积分规则"),
    "DutyPointsAwarded": ("Duty points awarded", "履职积分入账"),
    "DutyPointsRecomputed": ("Duty points recomputed", "履职积分重算"),
    "AnnualAssessmentConcluded": ("Annual assessment concluded", "年度履职考核"),
    "ActivityRecorded": ("Activity recorded", "登记履职活动"),
    "DutyMenuPublished": ("Duty menu published", "发布履职菜单"),
    "MenuSignedUp": ("Signed up for menu items", "认领履职菜单"),
    "CaseProposersNoted": ("Proposers of a case noted", "同步提案人"),
    "CaseKeyDesignationNoted": ("Key proposal noted", "同步重点提案"),
}
ORG_KIND_LABELS: dict[str, tuple[str, str]] = {k: (en, ORG_KINDS[k]) for k, en in {
    "committee": "CPPCC committee", "special_committee": "Special committee", "sector": "Sector",
    "party_group": "Party or people's organisation", "handling_unit": "Handling unit",
    "township": "Township or street", "community": "Village or community", "station": "Members' station",
}.items()}
STATION_TYPE_LABELS: dict[str, tuple[str, str]] = {k: (en, STATION_TYPES[k]) for k, en in {
    "work_station": "Members' work station", "liaison_station": "Members' liaison station",
    "liaison_point": "Members' liaison point", "studio": "Members' studio",
    "reception_room": "Members' reception room", "consultation_room": "Consultation room",
    "livelihood_hall": "Livelihood hall", "consultation_post": "Consultation post",
}.items()}
STATION_LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "township": ("Township or street", "乡镇/街道"), "community": ("Village or community", "村/社区"),
}
# LEVELS, and so COMMITTEE_LEVELS.
LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "national": ("National", "全国"), "provincial": ("Provincial", "省级"),
    "city": ("City", "市级"), "county": ("County", "县级"),
}
MEMBER_ROLE_LABELS: dict[str, tuple[str, str]] = {
    "standing_committee": ("Standing committee member", "常委"),
    "chairs_meeting": ("Member of the chairs' meeting", "主席会议成员"),
}
ACTIVITY_LABELS: dict[str, tuple[str, str]] = {k: (en, ACTIVITIES[k]) for k, en in {
    "proposal_submitted": "Proposal submitted",
    "proposal_filed": "Proposal filed",
    "proposal_co_signed": "Proposal co-signed",
    "proposal_made_key": "Proposal made a key proposal",
    "proposal_merged": "Proposal merged",
    "reply_rated": "Reply rated",
    "opinion_adopted": "Opinion report adopted",
    "opinion_reported_upward": "Opinion report adopted above",
    "leader_instruction": "Leader's instruction on an opinion report",
    "consultation_research": "Research before a consultation meeting",
    "consultation_meeting": "Consultation meeting attended",
    "supervision_group": "Member of a democratic supervision group",
    "meeting_attended": "Meeting attended",
    "meeting_excused": "Excused from a meeting",
    "inspection_joined": "Inspection joined",
    "research_joined": "Research joined",
    "consultation_joined": "Consultation joined",
    "plenary_speech": "Plenary speech",
    "community_service": "Service in the community",
    "menu_signup": "Duty menu sign-up",
}.items()}
ACTIVITY_KIND_LABELS: dict[str, tuple[str, str]] = {
    "meeting": ("Meeting", "会议"), "inspection": ("Inspection", "视察"), "research": ("Research", "调研"),
    "consultation": ("Consultation", "协商议事"), "plenary_speech": ("Plenary speech", "大会发言"),
    "community_service": ("Service in the community", "进社区服务"),
}
MENU_FORM_LABELS: dict[str, tuple[str, str]] = {
    "consultation": ("Consultation", "协商"), "research": ("Research", "调研"),
    "inspection": ("Inspection", "视察"), "supervision": ("Supervision", "监督"),
    "review": ("Review", "评议"),
}
OUTCOME_LABELS: dict[str, tuple[str, str]] = {k: (en, OUTCOMES[k]) for k, en in {
    "commended": "Commended", "normal": "Satisfactory", "talked_to": "Called in for a talk",
}.items()}
register_words("members", "events", EVENT_LABELS)
register_words("members", "org_kinds", ORG_KIND_LABELS)
register_words("members", "station_types", STATION_TYPE_LABELS)
register_words("members", "station_levels", STATION_LEVEL_LABELS)
register_words("members", "levels", LEVEL_LABELS)
register_words("members", "member_roles", MEMBER_ROLE_LABELS)
register_words("members", "activities", ACTIVITY_LABELS)
register_words("members", "activity_kinds", ACTIVITY_KIND_LABELS)
register_words("members", "menu_forms", MENU_FORM_LABELS)
register_words("members", "outcomes", OUTCOME_LABELS)
