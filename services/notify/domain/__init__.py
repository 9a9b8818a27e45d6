"""Notifications 通知: the notify service's pure domain (no I/O, no framework).

The service tells people what concerns them (DOMAIN.md §4); here, through the in-app inbox
站内信 only (e-mail, SMS and webhooks come later). ``events`` is the published contract,
``vocabulary`` the words and streams, ``notices`` who is told what, ``access`` who reads an inbox.
"""

from .access import READ_ANY_INBOX, may_read_inbox
from .events import NotificationQueued, registry
from .notices import NoticeLog, fold, notices_for, notification_id
from .vocabulary import INBOX, PROPOSAL_ASSIGNED, PROPOSAL_FILED, PROPOSAL_REPLIED, notices_stream

__all__ = ["INBOX", "NoticeLog", "NotificationQueued", "PROPOSAL_ASSIGNED", "PROPOSAL_FILED",
           "PROPOSAL_REPLIED", "READ_ANY_INBOX", "fold", "may_read_inbox", "notices_for",
           "notices_stream", "notification_id", "registry"]
