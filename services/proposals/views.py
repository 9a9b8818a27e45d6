"""Read models of the proposals service, built from its own log by position."""

from __future__ import annotations

import sqlalchemy as sa

from xieshang.kernel.projection import Projection

from .domain import ASSIGNED, FILED, REPLIED, SUBMITTED

PUBLIC_STATUSES = (FILED, ASSIGNED, REPLIED)
# What the public may see of a case (no proposer, no co-signers, no reasons text yet:
# publication with the proposer's consent comes later).
PUBLIC_COLUMNS = ("case_number", "title", "category", "status", "lead_unit", "reply_deadline",
                  "reply_class", "filed_at")


class ProposalList(Projection):
    """One row per proposal: where it stands, for lists and statistics."""

    name = "proposal_list"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "proposal_list", metadata,
            sa.Column("proposal_id", sa.String(64), primary_key=True),
            sa.Column("case_number", sa.String(40), index=True),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("category", sa.String(32), nullable=False),
            sa.Column("status", sa.String(32), nullable=False, index=True),
            sa.Column("proposer", sa.String(64), nullable=False, index=True),
            sa.Column("co_signers", sa.JSON, nullable=False),
            sa.Column("lead_unit", sa.String(64), index=True),
            sa.Column("co_units", sa.JSON),
            sa.Column("reply_deadline", sa.String(10)),
            sa.Column("reply_class", sa.String(1)),
            sa.Column("replied_on_time", sa.Boolean),
            sa.Column("submitted_at", sa.String(32), nullable=False),
            sa.Column("filed_at", sa.String(32)),
            sa.Column("updated_at", sa.String(32), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),
        )

    def _update(self, conn: sa.Connection, envelope, **values) -> None:
        conn.execute(self.rows.update()
                     .where(self.rows.c.proposal_id == envelope.data["proposal_id"])
                     .values(updated_at=_ts(envelope), position=envelope.position, **values))

    def on_ProposalSubmitted(self, conn: sa.Connection, envelope) -> None:
        d = envelope.data
        conn.execute(self.rows.insert().values(
            proposal_id=d["proposal_id"], title=d["title"], category=d["category"],
            status=SUBMITTED, proposer=d["proposer"], co_signers=list(d.get("co_signers") or ()),
            submitted_at=_ts(envelope), updated_at=_ts(envelope), position=envelope.position))

    def on_ProposalFiled(self, conn: sa.Connection, envelope) -> None:
        self._update(conn, envelope, status=FILED, case_number=envelope.data["case_number"],
                     filed_at=_ts(envelope))

    def on_ProposalAssigned(self, conn: sa.Connection, envelope) -> None:
        d = envelope.data
        self._update(conn, envelope, status=ASSIGNED, lead_unit=d["lead_unit"],
                     co_units=list(d.get("co_units") or ()), reply_deadline=d["reply_deadline"])

    def on_ProposalReplied(self, conn: sa.Connection, envelope) -> None:
        d = envelope.data
        self._update(conn, envelope, status=REPLIED, reply_class=d["reply_class"],
                     replied_on_time=bool(d["on_time"]))


def _ts(envelope) -> str:
    return envelope.occurred_at.isoformat(timespec="seconds")


def PROJECTIONS() -> list[Projection]:  # noqa: N802 - the name every service's views module exports
    return [ProposalList()]
