"""Read models of the notify service: the in-app inbox 站内信."""

from __future__ import annotations

import sqlalchemy as sa

from xieshang.kernel.projection import Projection
from xieshang.kernel.view_writes import ViewConnection


class Inbox(Projection):
    """One row per queued in-app notification, looked up by recipient."""

    name = "inbox"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "inbox", metadata,
            sa.Column("notification_id", sa.String(36), primary_key=True),
            sa.Column("recipient", sa.String(64), nullable=False, index=True),
            sa.Column("kind", sa.String(64), nullable=False),
            sa.Column("subject", sa.String(200), nullable=False),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("body", sa.Text, nullable=False),
            sa.Column("queued_at", sa.String(32), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False, index=True),
        )

    def on_NotificationQueued(self, conn: ViewConnection, envelope) -> None:
        d = envelope.data
        if d.get("channel", "inbox") != "inbox":
            return
        conn.insert(self.rows, notification_id=d["notification_id"], recipient=d["recipient"], kind=d["kind"],
                    subject=d["subject"], title=d["title"], body=d["body"],
                    queued_at=envelope.occurred_at.isoformat(timespec="seconds"), position=envelope.position)


def PROJECTIONS() -> list[Projection]:  # noqa: N802 - the name every service's views module exports
    return [Inbox()]
