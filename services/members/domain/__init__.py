"""Members 委员, their organisations and their duty record 履职: the members service's domain.

Pure: no I/O, no framework. State is folded from events; every decision takes its command
(``commands``) and returns new events or raises a DomainError naming the fields, the current
state and the allowed commands.

* ``events``: the published contract (the registry and every event);
* ``vocabulary``: roles, kinds, states, activities, limits, stream names;
* ``access``: who may see and do what (pure);
* ``commands``: one frozen command per command of the service;
* one module per aggregate: ``organisations``, ``members``, ``contacts``, ``points`` (rules and
  ledgers), ``assessments``, ``credits`` (from the proposals service's events, case notes,
  and from the feedback service's: opinion reports, consultations, supervision groups),
  ``activities``, ``menus``.

Everything other code used from the single module of before is re-exported here.
"""

from xieshang.kernel.exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "access": (),
    "commands": (),
    "events": ("registry", "OrganisationRegistered", "OrganisationRenamed", "OrganisationClosed",
        "StationDefined", "StationCommunitiesSet", "OrganisationContactChanged",
        "OrganisationContactErased", "MemberAppointed", "MemberAssignedToStation",
        "MemberRolesChanged", "MemberTermEnded", "MemberResigned", "ContactDetailsChanged",
        "ContactDetailsErased", "RosterImported", "PointRulesSet", "DutyPointsAwarded",
        "DutyPointsRecomputed", "AnnualAssessmentConcluded", "ActivityRecorded", "DutyMenuPublished",
        "MenuSignedUp", "CaseProposersNoted", "CaseKeyDesignationNoted"),
    "vocabulary": ("STAFF", "MEMBER", "LEADER", "AUDITOR", "READERS_OF_ALL", "ORG_KINDS",
        "STATION_TYPES", "STATION_LEVELS", "COMMITTEE_LEVELS", "LEVELS", "ROLES", "OPEN",
        "CLOSED", "ACTIVE", "TERM_ENDED", "RESIGNED", "ACTIVITIES", "ACTIVITY_KINDS",
        "MENU_FORMS", "OUTCOMES", "DEFAULT_POINT_RULES", "MAX_POINTS", "MAX_CAP", "PARENT_KINDS",
        "CONTACT_FIELDS", "ORG_CONTACT_FIELDS", "DELIVERY_CHANNELS", "MAX_DELIVERY_IDS", "SYSTEM",
        "PROPOSALS", "SELF", "member_stream", "ledger_stream", "org_stream",
        "rules_stream", "activity_stream", "menu_stream", "case_stream", "roster_import_stream"),
    "organisations": ("Organisation", "ORG_COMMANDS", "fold_organisation", "OrgIndex",
        "register_organisation", "define_station", "set_station_communities",
        "rename_organisation", "close_organisation"),
    "members": ("Member", "MEMBER_COMMANDS", "fold_member", "require_member", "appoint_member",
        "assign_to_station", "change_roles", "end_term", "resign_member", "require_active"),
    "contacts": ("ContactDetails", "check_contact_details", "change_contact_details",
        "erase_contact_details", "check_organisation_contact", "change_organisation_contact",
        "erase_organisation_contact", "require_organisation", "check_delivery_query",
        "reachable", "delivery_address", "delivery_addresses"),
    "points": ("PointRules", "fold_point_rules", "set_point_rules", "Credit", "Ledger",
        "capped_total", "fold_ledger", "fold_ledger_on", "award_points", "award", "recompute_year"),
    "assessments": ("conclude_assessment",),
    "credits": ("proposal_credits", "CaseNotes", "fold_case", "note_case", "key_credits",
        "FEEDBACK", "OPINION_CREDIT_EVENTS", "opinion_credits", "CONSULTATION_CREDIT_EVENTS",
        "consultation_credits"),
    "activities": ("Activity", "fold_activity", "record_activity", "activity_credits"),
    "menus": ("Menu", "fold_menu", "publish_menu", "sign_up_for_menu", "menu_credits"),
    "checks": ("check_year",),
})
