"""Notifications 通知: the notify service's pure domain (no I/O, no framework).

The service tells people what concerns them (DOMAIN.md §4); here, through the in-app inbox
站内信 only (e-mail, SMS and webhooks come later). ``events`` is the published contract,
``vocabulary`` the words and streams, ``notices`` who is told what, ``access`` who reads an inbox.
"""

from xieshang.kernel.exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, globals(), {
    "access": ("READ_ANY_INBOX", "may_read_inbox"),
    "events": ("NotificationQueued", "registry"),
    "notices": ("NoticeLog", "fold", "notices_for", "notification_id"),
    "vocabulary": ("INBOX", "PROPOSAL_ASSIGNED", "PROPOSAL_FILED", "PROPOSAL_REPLIED",
        "notices_stream"),
})
