"""Notifications 通知: the notify service's pure domain (no I/O, no framework).

The service tells people what concerns them (DOMAIN.md §4, docs/notifications.md): in the
in-app inbox 站内信, by e-mail and by SMS, as each person's preferences say. ``events`` is the
published contract, ``vocabulary`` the words and streams, ``notices`` who is told what,
``templates`` the texts, ``preferences`` channels, digests and quiet hours, ``delivery`` the
attempts and their outcomes, ``inbox`` reading and following, ``access`` who sees what.
"""

from xieshang.kernel.exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "access": ("READ_ANY_INBOX", "owns_inbox", "may_read_inbox", "require_delivery_reader", "require_staff"),
    "events": ("NotificationQueued", "AudienceNoted", "ProposalFollowed", "ProposalUnfollowed",
        "NoticesRead", "NoticePreferenceSet", "DeliveryPlanned", "DigestClosed",
        "DeliveryAttemptStarted", "DeliveryAttempted", "NoticeDelivered", "NoticeUndeliverable",
        "DeliveryRetryRequested", "DirectoryEntryNoted", "registry"),
    "notices": ("NoticeLog", "fold", "notices_for", "notification_id", "react", "plan_deliveries"),
    "templates": ("TEMPLATES", "KINDS", "render", "format_date"),
    "preferences": ("Preference", "Preferences", "fold_preferences", "resolve", "check_preference",
        "set_preference", "after_quiet_hours", "digest_period", "period_end", "next_period"),
    "delivery": ("RetryPolicy", "Delivery", "fold_delivery", "delivery_fold", "start_attempt",
        "record_outcome", "request_retry"),
    "inbox": ("fold_reads", "mark_read", "require_inbox_owner", "require_inbox_reader", "follow", "unfollow", "fold_digest",
        "close_digest"),
    "vocabulary": ("REACTS_TO", "INBOX", "EMAIL", "SMS", "CHANNELS", "SENT_CHANNELS", "CADENCES", "IMMEDIATE",
        "DAILY", "WEEKLY", "COMMITTEE", "EVERY_KIND", "PROPOSALS", "MEMBERS", "FEEDBACK", "PLANNED",
        "SENDING", "SENT", "UNDELIVERABLE", "SKIPPED", "OUTCOME_SENT", "OUTCOME_RETRY",
        "OUTCOME_FAILED", "OUTCOME_NO_ADDRESS", "notices_stream", "preferences_stream",
        "reads_stream", "delivery_key", "digest_key", "delivery_stream", "digest_stream"),
})
