"""The proposals domain 提案, pure: no I/O, no framework. State is folded from events, and every
decision returns new events or raises a DomainError.

    vocabulary   roles, states, categories, kinds, limits, stream names
    events       the published contract (what the relay publishes to ``proposals.events``)
    commands     one frozen command per RPC command, parsed once at the edge
    state        a case folded from its stream
    submission   提、立: submission, co-signing, review, filing, merging
    handling     交、办: assignment, objections, contacts, the reply, deadlines
    evaluation   督、评: key proposals and supervision, ratings, rehandling, closing
    publication  publication and public comments
    directory    the members, units and bodies known from the members service, and the checks
    case_numbers the gap-free case numbers of a session
    rules        the committee's deadline rules and holiday calendar, and Timing
    access       read rights (who sees which case and which parts of it)

Every name is offered here, imported on first use: ``from services.proposals import domain;
domain.fold(...)``; importing ``domain.events`` alone loads the contract, not the decisions.
"""

from xieshang.kernel.exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "access": ("READERS_OF_ALL", "SEE_EVERYTHING", "may_read_case", "visible_ratings",
        "may_see_comment_authors", "case_as_seen_by", "require_reader", "require_inbox_reader",
        "require_cases_reader"),
    "commands": (),
    "vocabulary": ("MEMBER", "STAFF", "UNIT", "LEADER", "PUBLIC", "SYSTEM", "AUDITOR",
        "SUBSCRIBER", "CATEGORIES", "KINDS", "BODY_TYPES", "REPLY_CLASSES", "RATINGS",
        "CONTACT_STAGES", "CONVERSIONS", "SUPERVISION_MODES", "SUPERVISION_KINDS",
        "CO_SIGN_WINDOW_DAYS", "URGENT_MAX_DAYS", "SUBMITTED", "RETURNED", "FILED", "NOT_FILED",
        "MERGED", "ASSIGNED", "REPLIED", "CLOSED", "OPEN", "HANDLED", "PUBLISHABLE",
        "STATE_COMMANDS", "SESSION", "RULES_STREAM", "proposal_stream", "case_numbers_stream"),
    "events": ("registry", "ProposalSubmitted", "CoSignatureConfirmed", "CoSignatureDeclined",
        "ProposalReturned", "ProposalRevised", "CaseNumberAssigned", "CaseNumberReleased",
        "ProposalFiled", "ProposalNotFiled", "ProposalConvertedToOpinionReport",
        "ProposalTakenUpFromConsultation", "ProposalMerged",
        "MergedProposalAdded", "ProposalAssigned", "AssignmentObjected", "ObjectionDismissed",
        "ProposalReassigned", "ContactRecorded", "CoUnitOpinionSent", "ProposalReplied",
        "ReplyDueSoon", "ReplyOverdue", "ReplyDeadlineMoved", "ProposalDesignatedKey",
        "SupervisionRecorded", "ReplyRated", "RehandlingStarted", "FollowUpRecorded",
        "ProposalClosed", "PublicationConsentChanged", "ProposalPublished", "ProposalUnpublished",
        "CommentSubmitted", "CommentApproved", "CommentRejected", "CommentAnswered",
        "HandlingRulesSet", "HolidayCalendarAmended", "DirectoryEntryNoted"),
    "state": ("HandlingRound", "Comment", "Proposal", "apply", "fold", "case_fold"),
    "case_numbers": ("CaseNumbers", "fold_case_numbers", "fold_case_numbers_on",
        "format_case_number", "assign_case_number", "release_case_number", "case_numbers_fold"),
    "rules": ("Timing", "HandlingRules", "fold_rules", "rules_fold", "set_handling_rules",
        "amend_holiday_calendar"),
    "submission": ("submit_proposal", "confirm_co_signature", "decline_co_signature",
        "return_proposal", "revise_proposal", "check_fileable", "file_proposal",
        "not_file_proposal", "merge_proposal", "add_merged_proposal",
        "take_up_consultation_result", "FROM_CONSULTATION", "consultation_proposal_id"),
    "handling": ("assign_proposal", "object_to_assignment", "dismiss_objection",
        "reassign_proposal", "record_contact", "send_co_unit_opinion", "reply_to_proposal",
        "remind_or_escalate", "recount_deadline"),
    "evaluation": ("designate_key_proposal", "record_supervision", "rate_reply",
        "rehandling_due", "start_rehandling", "record_follow_up", "close_proposal"),
    "directory": ("DirectoryEntry", "directory_stream", "fold_entry", "entry_fold", "facts_of",
        "note_fact", "check_members", "check_submission_refs", "check_assignment_units",
        "check_supervisors",
        "names_to_publish", "SOURCE_EVENTS", "BODY_TYPE_KINDS", "BODY_KINDS", "MEMBER_ENTRY",
        "UNIT_ENTRY"),
    "publication": ("set_publication_consent", "publish_proposal", "unpublish_proposal",
        "submit_comment", "moderate_comment", "answer_comment"),
})
