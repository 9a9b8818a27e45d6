"""Read models of the members service: the member directory with each member's points."""

from __future__ import annotations

import sqlalchemy as sa

from xieshang.kernel.projection import Projection


class MemberDirectory(Projection):
    """One row per member, with the running total of duty points 履职积分.

    Points may arrive before the appointment (events of two services are not ordered with each
    other), so either event creates the row.
    """

    name = "member_directory"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "member_directory", metadata,
            sa.Column("member_id", sa.String(64), primary_key=True),
            sa.Column("name", sa.String(50)),
            sa.Column("sector", sa.String(50), index=True),
            sa.Column("term", sa.String(20)),
            sa.Column("roles", sa.JSON),
            sa.Column("station", sa.String(100)),
            sa.Column("appointed", sa.Boolean, nullable=False),
            sa.Column("points", sa.Integer, nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),
        )

    def _ensure(self, conn: sa.Connection, member_id: str, position: int) -> None:
        exists = conn.execute(sa.select(self.rows.c.member_id)
                              .where(self.rows.c.member_id == member_id)).first()
        if exists is None:
            conn.execute(self.rows.insert().values(member_id=member_id, appointed=False, points=0,
                                                   position=position))

    def on_MemberAppointed(self, conn: sa.Connection, envelope) -> None:
        d = envelope.data
        self._ensure(conn, d["member_id"], envelope.position)
        conn.execute(self.rows.update().where(self.rows.c.member_id == d["member_id"]).values(
            name=d["name"], sector=d["sector"], term=d["term"], roles=list(d.get("roles") or ()),
            station=d.get("station"), appointed=True, position=envelope.position))

    def on_DutyPointsAwarded(self, conn: sa.Connection, envelope) -> None:
        d = envelope.data
        self._ensure(conn, d["member_id"], envelope.position)
        conn.execute(self.rows.update().where(self.rows.c.member_id == d["member_id"]).values(
            points=self.rows.c.points + int(d["points"]), position=envelope.position))


def PROJECTIONS() -> list[Projection]:  # noqa: N802 - the name every service's views module exports
    return [MemberDirectory()]
