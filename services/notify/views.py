"""Read models of the notify service: the inbox 站内信, the deliveries still to send (and those
given up), the digests' entries, and the webhook subscriptions and deliveries. Built only from the service's events; no contact detail is
in any of them (addresses are looked up at send time)."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from xieshang.kernel.directory_views import Directory
from xieshang.kernel.projection import Projection
from xieshang.kernel.view_writes import ViewConnection

from .domain.preferences import after_quiet_hours, next_period, period_end
from .domain.vocabulary import (ACTIVE, DELIVERED, DISABLED, OUTCOME_NO_ADDRESS, OUTCOME_RETRY, PARKED,
                                PLANNED, SENDING, SENT, SKIPPED, UNDELIVERABLE, digest_key)


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


class Inbox(Projection):
    """One row per notice, looked up by recipient (and case); ``read_at`` once read."""

    name = "inbox"
    version = 2

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "inbox", metadata,
            sa.Column("notification_id", sa.String(36), primary_key=True),
            sa.Column("recipient", sa.String(128), nullable=False),
            sa.Column("kind", sa.String(64), nullable=False),
            sa.Column("subject", sa.String(200), nullable=False),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("locale", sa.String(8), nullable=False),
            sa.Column("params", sa.Text, nullable=False),     # the template's values (JSON): for SMS
            sa.Column("queued_at", sa.String(32), nullable=False),
            sa.Column("read_at", sa.String(32)),
            sa.Column("position", sa.BigInteger, nullable=False),
            sa.Index("ix_inbox_recipient", "recipient", "position"),
            sa.Index("ix_inbox_subject", "subject"),
        )

    def on_NotificationQueued(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        conn.insert(self.rows, notification_id=d["notification_id"], recipient=d["recipient"], kind=d["kind"],
                    subject=d["subject"], title=d["title"], body=d["body"], locale=d.get("locale") or "zh-CN",
                    params=json.dumps(d.get("params") or {}, ensure_ascii=False), queued_at=envelope.occurred_at.isoformat(timespec="seconds"), read_at=None,
                    position=envelope.position)

    def on_NoticesRead(self, conn: ViewConnection, envelope) -> None:
        at = envelope.occurred_at.isoformat(timespec="seconds")
        for nid in envelope.data["notification_ids"]:
            conn.update(self.rows, {"notification_id": nid}, read_at=at)


class Deliveries(Projection):
    """One row per delivery (a notice, or a closed digest, on one channel): what the sender
    looks for (``due`` passed, or a ``lease`` run out) and what staff see when one is given up."""

    name = "deliveries"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "deliveries", metadata,
            sa.Column("key", sa.String(300), primary_key=True),
            sa.Column("notification_id", sa.String(36)),          # None: a digest
            sa.Column("notification_ids", sa.Text),               # a digest's notices (JSON)
            sa.Column("recipient", sa.String(128), nullable=False),
            sa.Column("channel", sa.String(16), nullable=False),
            sa.Column("kind", sa.String(64), nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("due", sa.Float, nullable=False),
            sa.Column("lease", sa.Float),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("detail", sa.Text, nullable=False),
            sa.Column("reason", sa.String(32)),
            sa.Column("quiet_hours", sa.String(11)),
            sa.Column("given_up_at", sa.String(32)),
            sa.Column("position", sa.BigInteger, nullable=False),
            sa.Index("ix_deliveries_state_due", "state", "due"),
        )

    def _set(self, conn: ViewConnection, envelope, **values) -> None:
        conn.update(self.rows, {"key": envelope.data["key"]}, position=envelope.position, **values)

    def on_DeliveryPlanned(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        if d.get("digest_period"):
            return  # in a digest (DigestEntries)
        conn.insert(self.rows, key=f"{d['notification_id']}.{d['channel']}", notification_id=d["notification_id"],
                    notification_ids=None, recipient=d["recipient"], channel=d["channel"], kind=d["kind"],
                    state=PLANNED, due=_epoch(d["due_at"]), lease=None, attempts=0, detail="", reason=None,
                    quiet_hours=d.get("quiet_hours"), given_up_at=None, position=envelope.position)

    def on_DigestClosed(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        conn.insert(self.rows, key=digest_key(d["recipient"], d["channel"], d["period"]), notification_id=None,
                    notification_ids=json.dumps(d["notification_ids"]), recipient=d["recipient"],
                    channel=d["channel"], kind="digest", state=PLANNED,
                    due=after_quiet_hours(envelope.occurred_at, d.get("quiet_hours")).timestamp(), lease=None,
                    attempts=0, detail="", reason=None, quiet_hours=d.get("quiet_hours"), given_up_at=None,
                    position=envelope.position)

    def on_DeliveryAttemptStarted(self, conn: ViewConnection, envelope) -> None:
        self._set(conn, envelope, state=SENDING, lease=_epoch(envelope.data["lease_until"]),
                  attempts=envelope.data["attempt"])

    def on_DeliveryAttempted(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        if d["outcome"] == OUTCOME_RETRY and d.get("retry_at"):
            self._set(conn, envelope, state=PLANNED, due=_epoch(d["retry_at"]), lease=None,
                      detail=d.get("detail") or "")
        else:
            self._set(conn, envelope, detail=d.get("detail") or "")

    def on_NoticeDelivered(self, conn: ViewConnection, envelope) -> None:
        self._set(conn, envelope, state=SENT, lease=None)

    def on_NoticeUndeliverable(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        self._set(conn, envelope, state=SKIPPED if d["reason"] == OUTCOME_NO_ADDRESS else UNDELIVERABLE,
                  lease=None, reason=d["reason"], detail=d.get("detail") or "",
                  given_up_at=envelope.occurred_at.isoformat(timespec="seconds"))

    def on_DeliveryRetryRequested(self, conn: ViewConnection, envelope) -> None:
        self._set(conn, envelope, state=PLANNED, due=envelope.occurred_at.timestamp(), lease=None,
                  reason=None, given_up_at=None)


class DigestEntries(Projection):
    """The notices waiting for a digest, by recipient, channel and period. A notice planned
    for a period whose digest already closed without it goes to the next period: each notice is
    in exactly one digest, and a rebuild puts it in the same one (the log's order decides)."""

    name = "digest_entries"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "digest_entries", metadata,
            sa.Column("notification_id", sa.String(36), primary_key=True),
            sa.Column("channel", sa.String(16), primary_key=True),
            sa.Column("recipient", sa.String(128), nullable=False),
            sa.Column("period", sa.String(16), nullable=False),
            sa.Column("cadence", sa.String(16), nullable=False),
            sa.Column("ends", sa.Float, nullable=False),
            sa.Column("quiet_hours", sa.String(11)),
            sa.Column("closed", sa.Boolean, nullable=False),
            sa.Index("ix_digest_entries_open", "closed", "ends"),
        )
        self.closed = sa.Table(
            "digests_closed", metadata,
            sa.Column("recipient", sa.String(128), primary_key=True),
            sa.Column("channel", sa.String(16), primary_key=True),
            sa.Column("period", sa.String(16), primary_key=True),
        )

    def _is_closed(self, conn, recipient: str, channel: str, period: str) -> bool:
        t = self.closed
        return conn.execute(sa.select(t.c.period).where(
            t.c.recipient == recipient, t.c.channel == channel, t.c.period == period)).first() is not None

    def on_DeliveryPlanned(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        if not d.get("digest_period"):
            return
        period, cadence = d["digest_period"], d["cadence"]
        while self._is_closed(conn, d["recipient"], d["channel"], period):
            period = next_period(period, cadence)
        conn.insert(self.rows, notification_id=d["notification_id"], channel=d["channel"],
                    recipient=d["recipient"], period=period, cadence=cadence,
                    ends=period_end(period, cadence).timestamp(), quiet_hours=d.get("quiet_hours"), closed=False)

    def on_DigestClosed(self, conn: ViewConnection, envelope) -> None:
        d, t = envelope.data, self.rows
        conn.insert(self.closed, recipient=d["recipient"], channel=d["channel"], period=d["period"])
        listed = set(d["notification_ids"])
        waiting = conn.execute(sa.select(t.c.notification_id, t.c.cadence).where(
            t.c.recipient == d["recipient"], t.c.channel == d["channel"], t.c.period == d["period"],
            t.c.closed.is_(False))).all()
        later = next_period(d["period"], d["cadence"])
        for row in waiting:
            key = {"notification_id": row.notification_id, "channel": d["channel"]}
            if row.notification_id in listed:
                conn.update(t, key, closed=True)
            else:   # planned after the closer looked: the next digest has it
                conn.update(t, key, period=later, ends=period_end(later, row.cadence).timestamp())


class WebhookSubscriptions(Projection):
    """The webhook subscriptions, for administrators and auditors (never a secret)."""

    name = "webhook_subscriptions"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "webhook_subscriptions", metadata,
            sa.Column("subscription_id", sa.String(64), primary_key=True),
            sa.Column("url", sa.Text, nullable=False),
            sa.Column("types", sa.Text, nullable=False),           # JSON list
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("created_at", sa.String(32), nullable=False),
            sa.Column("rotated_at", sa.String(32)),
            sa.Column("disabled_at", sa.String(32)),
            sa.Column("position", sa.BigInteger, nullable=False),
        )

    def on_WebhookSubscribed(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        conn.insert(self.rows, subscription_id=d["subscription_id"], url=d["url"], types=json.dumps(d["types"]),
                    description=d.get("description") or "", state=ACTIVE,
                    created_at=envelope.occurred_at.isoformat(timespec="seconds"), rotated_at=None,
                    disabled_at=None, position=envelope.position)

    def on_WebhookSecretRotated(self, conn: ViewConnection, envelope) -> None:
        conn.update(self.rows, {"subscription_id": envelope.data["subscription_id"]},
                    rotated_at=envelope.occurred_at.isoformat(timespec="seconds"), position=envelope.position)

    def on_WebhookDisabled(self, conn: ViewConnection, envelope) -> None:
        conn.update(self.rows, {"subscription_id": envelope.data["subscription_id"]}, state=DISABLED,
                    disabled_at=envelope.occurred_at.isoformat(timespec="seconds"), position=envelope.position)


class WebhookDeliveries(Projection):
    """One row per webhook delivery (a public event to a subscription): what the webhook
    sender looks for (``due`` passed, or a ``lease`` run out) and what operators see parked."""

    name = "webhook_deliveries"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "webhook_deliveries", metadata,
            sa.Column("key", sa.String(200), primary_key=True),
            sa.Column("subscription_id", sa.String(64), nullable=False),
            sa.Column("event_id", sa.String(64), nullable=False),
            sa.Column("ce_type", sa.String(200), nullable=False),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("due", sa.Float, nullable=False),
            sa.Column("lease", sa.Float),
            sa.Column("series", sa.Integer, nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),          # in the current series
            sa.Column("last_status", sa.Integer),
            sa.Column("last_error", sa.String(100)),
            sa.Column("reason", sa.String(32)),
            sa.Column("planned_at", sa.String(32), nullable=False),
            sa.Column("parked_at", sa.String(32)),
            sa.Column("position", sa.BigInteger, nullable=False),
            sa.Index("ix_webhook_deliveries_state_due", "state", "due"),
            sa.Index("ix_webhook_deliveries_subscription", "subscription_id", "state"),
        )

    def _set(self, conn: ViewConnection, envelope, **values) -> None:
        conn.update(self.rows, {"key": envelope.data["key"]}, position=envelope.position, **values)

    def on_WebhookPlanned(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        conn.insert(self.rows, key=d["key"], subscription_id=d["subscription_id"], event_id=d["event_id"],
                    ce_type=d["ce_type"], state=PLANNED, due=_epoch(d["due_at"]), lease=None, series=1,
                    attempts=0, last_status=None, last_error=None, reason=None,
                    planned_at=envelope.occurred_at.isoformat(timespec="seconds"), parked_at=None,
                    position=envelope.position)

    def on_WebhookAttemptStarted(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        self._set(conn, envelope, state=SENDING, lease=_epoch(d["lease_until"]), attempts=d["attempt"])

    def on_WebhookAttempted(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        values = {"last_status": d.get("status"), "last_error": d.get("error")}
        if d["outcome"] == OUTCOME_RETRY and d.get("retry_at"):
            values.update(state=PLANNED, due=_epoch(d["retry_at"]), lease=None)
        self._set(conn, envelope, **values)

    def on_WebhookDelivered(self, conn: ViewConnection, envelope) -> None:
        self._set(conn, envelope, state=DELIVERED, lease=None)

    def on_WebhookParked(self, conn: ViewConnection, envelope) -> None:
        self._set(conn, envelope, state=PARKED, lease=None, reason=envelope.data["reason"],
                  parked_at=envelope.occurred_at.isoformat(timespec="seconds"))

    def on_WebhookReplayRequested(self, conn: ViewConnection, envelope) -> None:
        self._set(conn, envelope, state=PLANNED, due=envelope.occurred_at.timestamp(), lease=None,
                  series=envelope.data["series"], attempts=0, reason=None, parked_at=None)


def PROJECTIONS() -> list[Projection]:  # noqa: N802 - the name every service's views module exports
    return [Inbox(), Deliveries(), DigestEntries(), Directory(), WebhookSubscriptions(), WebhookDeliveries()]
