"""Read models of supervision groups 民主监督组, rebuilt from the events alone
(xieshang.kernel.projection): a handler reads nothing but its envelope and its own tables.

* ``SupervisionGroups``: one row per group (``supervision_groups``: where it stands, how many
  opinions issued, handled, verified) and one per opinion (``supervision_opinions``: its
  deadline, the department's report, the reminders and overdue records, the verdict).
        queries: ``groups`` (the list), ``department_opinions`` (a department's opinions with
        deadlines and the overdue flag), ``statistics`` (the year's figures),
        ``groups_awaiting_handling`` (the deadline timer's candidates)

A group's ``year`` is the year it was formed for (``SupervisionGroupFormed.year``). Times are
the events' ``occurred_at`` in UTC (ISO 8601, seconds); dates the committee's ISO dates. No
table holds a name of a person: the leader, members and department are ids; no table holds
the fact-finding notes (only how many fact findings a group recorded).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timezone
from typing import Any

import sqlalchemy as sa

from xieshang.kernel.envelope import Envelope
from xieshang.kernel.projection import Projection, find_projection
from xieshang.kernel.view_writes import ViewConnection
from xieshang.kernel.views import PageRequest, select_page

from .domain.vocabulary import CLOSED, FORMED, VERDICTS

Row = dict[str, Any]


def _ts(env: Envelope) -> str:
    return env.occurred_at.astimezone(timezone.utc).isoformat(timespec="seconds")


def _id(length: int = 64) -> sa.String:
    return sa.String(length)


class SupervisionGroups(Projection):
    """One row per group (``supervision_groups``) and per opinion (``supervision_opinions``).
    ``position``/``updated_at`` of a group are those of its latest event (newest first = latest
    activity); ``formed_position`` of its first."""

    name = "supervision_groups"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.groups = sa.Table(
            "supervision_groups", metadata,
            sa.Column("group_id", _id(), primary_key=True),
            sa.Column("name", sa.Text, nullable=False),
            sa.Column("year", sa.Integer, nullable=False, index=True),
            sa.Column("status", sa.String(16), nullable=False, index=True),
            sa.Column("leader", _id(), nullable=False),
            sa.Column("members", sa.JSON, nullable=False),
            sa.Column("department", _id(), nullable=False, index=True),
            sa.Column("topic", sa.Text, nullable=False),
            sa.Column("fact_findings", sa.Integer, nullable=False),
            sa.Column("opinions", sa.Integer, nullable=False),
            sa.Column("handled", sa.Integer, nullable=False),
            sa.Column("verified", sa.Integer, nullable=False),
            sa.Column("formed_at", sa.String(32), nullable=False),
            sa.Column("formed_position", sa.BigInteger, nullable=False),
            sa.Column("closed_at", sa.String(32)),
            sa.Column("updated_at", sa.String(32), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False, index=True),
        )
        self.opinions = sa.Table(
            "supervision_opinions", metadata,
            sa.Column("opinion_id", _id(), primary_key=True),
            sa.Column("group_id", _id(), nullable=False, index=True),
            sa.Column("department", _id(), nullable=False, index=True),
            sa.Column("title", sa.Text, nullable=False),             # the group's name
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("deadline", sa.String(10), nullable=False),
            sa.Column("issued_on", sa.String(10), nullable=False),
            sa.Column("reported_on", sa.String(10)),
            sa.Column("on_time", sa.Boolean),
            sa.Column("reminded", sa.Boolean, nullable=False),      # SupervisionHandlingDueSoon
            sa.Column("overdue_recorded", sa.Boolean, nullable=False),  # SupervisionHandlingOverdue
            sa.Column("verdict", sa.String(24)),
            sa.Column("position", sa.BigInteger, nullable=False),   # of the issuing
        )

    # -- writing ----------------------------------------------------------------------
    def _group(self, conn: ViewConnection, env: Envelope) -> Row | None:
        return conn.one(self.groups, {"group_id": env.data["group_id"]})

    def _touch(self, conn: ViewConnection, env: Envelope, **values: Any) -> None:
        conn.update(self.groups, {"group_id": env.data["group_id"]},
                    updated_at=_ts(env), position=env.position, **values)

    def _count(self, conn: ViewConnection, env: Envelope, column: str) -> None:
        row = self._group(conn, env)
        if row is not None:
            self._touch(conn, env, **{column: row[column] + 1})

    def on_SupervisionGroupFormed(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.groups, {
            "group_id": d["group_id"], "name": d["name"], "year": int(d["year"]), "status": FORMED,
            "leader": d["leader"], "members": list(d.get("members") or ()),
            "department": d["department"], "topic": d["topic"], "fact_findings": 0, "opinions": 0,
            "handled": 0, "verified": 0, "formed_at": _ts(env), "formed_position": env.position,
            "closed_at": None, "updated_at": _ts(env), "position": env.position})

    def on_SupervisionFactFindingRecorded(self, conn: ViewConnection, env: Envelope) -> None:
        self._count(conn, env, "fact_findings")

    def on_SupervisionOpinionIssued(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._count(conn, env, "opinions")
        conn.insert_ignore(self.opinions, [{
            "opinion_id": d["opinion_id"], "group_id": d["group_id"], "department": d["department"],
            "title": d["title"], "text": d["text"], "deadline": d["deadline"],
            "issued_on": d["issued_on"], "reported_on": None, "on_time": None, "reminded": False,
            "overdue_recorded": False, "verdict": None, "position": env.position}])

    def on_SupervisionHandlingReported(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._count(conn, env, "handled")
        conn.update(self.opinions, {"opinion_id": d["opinion_id"]},
                    reported_on=d["reported_on"], on_time=bool(d["on_time"]))

    def on_SupervisionHandlingDueSoon(self, conn: ViewConnection, env: Envelope) -> None:
        conn.update(self.opinions, {"opinion_id": env.data["opinion_id"]}, reminded=True)

    def on_SupervisionHandlingOverdue(self, conn: ViewConnection, env: Envelope) -> None:
        conn.update(self.opinions, {"opinion_id": env.data["opinion_id"]}, overdue_recorded=True)

    def on_SupervisionEffectVerified(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._count(conn, env, "verified")
        conn.update(self.opinions, {"opinion_id": d["opinion_id"]}, verdict=d["verdict"])

    def on_SupervisionGroupClosed(self, conn: ViewConnection, env: Envelope) -> None:
        self._touch(conn, env, status=CLOSED, closed_at=_ts(env))


# -- queries --------------------------------------------------------------------------------

def next_step(row: Row) -> str | None:
    """What the group does next, as its row says (the first of the state's next_commands that
    moves it on; None once closed)."""
    if row["status"] != FORMED:
        return None
    if row["opinions"] == 0:
        return "issue_supervision_opinion"
    if row["handled"] < row["opinions"]:
        return "report_supervision_handling"
    if row["verified"] < row["opinions"]:
        return "verify_supervision_effect"
    return "close_supervision_group"


def _group_item(row: Row) -> Row:
    row["next_step"] = next_step(row)
    return row


def groups(conn: sa.Connection, projections: Any, page: PageRequest | None = None, *,
           year: int | None = None, status: str | None = None,
           department: str | None = None) -> Any:
    """The groups, latest activity first. Each item: every column of ``supervision_groups``
    (group_id, name, year, status, leader, members, department, topic, fact_findings,
    opinions, handled, verified, formed_at, formed_position, closed_at, updated_at, position)
    and ``next_step``. ``year``, ``status``, ``department``: match their column (None: any).
    ``page``: a page (``q`` searches name and topic); None: every row, as a list."""
    t = find_projection(projections, SupervisionGroups).groups
    q = sa.select(*t.columns)
    for column, value in ((t.c.year, year), (t.c.status, status), (t.c.department, department)):
        if value is not None:
            q = q.where(column == value)
    return select_page(conn, q, page, item=_group_item, search=(t.c.name, t.c.topic),
                       order=((t.c.position, True), (t.c.group_id, False)))


def department_opinions(conn: sa.Connection, projections: Any, department: str,
                        page: PageRequest | None = None, *, today: date, open_only: bool = True) -> Any:
    """The opinions issued to ``department``, most urgent first (by deadline). Each item:
    opinion_id, group_id, group_name, topic, text, deadline, issued_on, reported_on, handled,
    on_time (None until handled), verdict, due_in_days (deadline minus ``today``; None once
    handled), overdue (not handled and the deadline passed on ``today``). ``open_only``: only
    those not handled yet. ``page``: a page (``q`` searches the text and the group's name and
    topic); None: every row, as a list."""
    p = find_projection(projections, SupervisionGroups)
    o, g = p.opinions, p.groups
    q = (sa.select(o.c.opinion_id, o.c.group_id, g.c.name.label("group_name"), g.c.topic, o.c.text,
                   o.c.deadline, o.c.issued_on, o.c.reported_on, o.c.on_time, o.c.verdict)
         .join(g, g.c.group_id == o.c.group_id).where(o.c.department == department))
    if open_only:
        q = q.where(o.c.reported_on.is_(None))

    def item(row: Row) -> Row:
        row["handled"] = row["reported_on"] is not None
        due = None if row["handled"] else (date.fromisoformat(row["deadline"]) - today).days
        row["due_in_days"] = due
        row["overdue"] = due is not None and due < 0
        return row

    return select_page(conn, q, page, item=item, search=(o.c.text, g.c.name, g.c.topic),
                       order=((o.c.deadline, False), (o.c.opinion_id, False)))


def groups_awaiting_handling(conn: sa.Connection, projections: Any, *, due_by: date) -> list[str]:
    """The ids of the groups at work with an opinion not handled yet whose deadline is on or
    before ``due_by`` (the deadline timer's candidates; it decides on each group's stream),
    each once, in id order."""
    p = find_projection(projections, SupervisionGroups)
    o, g = p.opinions, p.groups
    q = (sa.select(o.c.group_id).distinct().join(g, g.c.group_id == o.c.group_id)
         .where(g.c.status == FORMED, o.c.reported_on.is_(None), o.c.deadline <= due_by.isoformat())
         .order_by(o.c.group_id))
    return list(conn.execute(q).scalars())


def statistics(conn: sa.Connection, projections: Any, year: int) -> dict[str, Any]:
    """The figures of the groups of ``year`` (the year each was formed for):

    * ``groups``: groups formed; ``departments``: distinct departments they supervised;
      ``closed``: groups closed.
    * ``opinions``: opinions issued; ``handled``: those the department reported on;
      ``handled_on_time``: reported by the deadline; ``verified``: those verified, and
      ``verdicts`` {verdict: opinions}, every one of VERDICTS listed.
    * ``overdue``: opinions whose handling was late: recorded overdue by the timer
      (SupervisionHandlingOverdue) or reported after the deadline."""
    p = find_projection(projections, SupervisionGroups)
    g, o = p.groups, p.opinions
    rows = [dict(r) for r in conn.execute(
        sa.select(g.c.group_id, g.c.department, g.c.status).where(g.c.year == year)).mappings()]
    opinions = [dict(r) for r in conn.execute(
        sa.select(o.c.reported_on, o.c.on_time, o.c.overdue_recorded, o.c.verdict)
        .join(g, g.c.group_id == o.c.group_id).where(g.c.year == year)).mappings()]
    verdicts = Counter(x["verdict"] for x in opinions if x["verdict"] is not None)
    return {
        "year": year,
        "groups": len(rows),
        "departments": len({x["department"] for x in rows}),
        "opinions": len(opinions),
        "handled": sum(1 for x in opinions if x["reported_on"] is not None),
        "handled_on_time": sum(1 for x in opinions if x["on_time"] is True),
        "verified": sum(verdicts.values()),
        "verdicts": {v: verdicts.get(v, 0) for v in VERDICTS},
        "closed": sum(1 for x in rows if x["status"] == CLOSED),
        "overdue": sum(1 for x in opinions if x["overdue_recorded"] or x["on_time"] is False),
    }


def PROJECTIONS() -> list[Projection]:  # noqa: N802 - as every views module
    return [SupervisionGroups()]


__all__ = ["PROJECTIONS", "SupervisionGroups", "groups", "department_opinions",
           "groups_awaiting_handling", "statistics", "next_step"]
