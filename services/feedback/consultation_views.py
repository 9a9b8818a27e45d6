"""Read models of consultations 协商议事, rebuilt from the events alone
(xieshang.kernel.projection): a handler reads nothing but its envelope and its own tables.

* ``Consultations``: one row per consultation (``consultations``: where it stands, where and when
  it is planned or was held, how many outcomes agreed and adopted, tasks given and done, the
  visits, the survey's figures, the conversions) and one per follow-up task
  (``consultation_tasks``: its unit, deadline, completion, reminders and overdue records).
        queries: ``consultations`` (the list with the next step), ``calendar`` (meetings planned
        and held in a date range, by date), ``unit_tasks`` (a unit's tasks with deadlines and
        the overdue flag), ``statistics`` (the year's figures), ``consultations_due`` (the
        deadline timer's candidates)

A consultation's ``year`` is the year, in Beijing time, its topic was raised
(``ConsultationTopicProposed``); a meeting's year is that of its ``held_on``. Times are the
events' ``occurred_at`` in UTC (ISO 8601, seconds); dates the committee's ISO dates. No table
holds a name of a person, what residents said or research notes: members, units and proposers
are ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta, timezone
from typing import Any

import sqlalchemy as sa

from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.envelope import Envelope
from xieshang.kernel.projection import Projection, find_projection
from xieshang.kernel.view_writes import ViewConnection
from xieshang.kernel.views import PageRequest, select_page

from .domain.consultations import next_step as _next_step
from .domain.vocabulary import (CLOSED, CONSULTATION_PLACE_TYPES, FOLLOWING_UP, MEETING_REMIND_DAYS_BEFORE,
                                MET, PLANNED, RESULTS_PUBLISHED, TASK_REMIND_DAYS_BEFORE,
                                TOPIC_APPROVED, TOPIC_DECIDED, TOPIC_PROPOSED, TOPIC_REJECTED,
                                TOPIC_SET_ASIDE, TOPIC_SOURCES)

Row = dict[str, Any]


def _ts(env: Envelope) -> str:
    return env.occurred_at.astimezone(timezone.utc).isoformat(timespec="seconds")


def _day(env: Envelope) -> str:
    return env.occurred_at.astimezone(SHANGHAI).date().isoformat()


def _id(length: int = 64) -> sa.String:
    return sa.String(length)


class Consultations(Projection):
    """One row per consultation (``consultations``) and per follow-up task
    (``consultation_tasks``). ``position``/``updated_at`` of a consultation are those of its
    latest event (newest first = latest activity); ``proposed_position`` of its first.
    ``held_on`` is the planned date until the meeting is recorded (``met``), then the meeting's."""

    name = "consultations"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.consultations = sa.Table(
            "consultations", metadata,
            sa.Column("consultation_id", _id(), primary_key=True),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("status", sa.String(24), nullable=False, index=True),
            sa.Column("topic_kind", sa.String(64), nullable=False),
            sa.Column("source", sa.String(24), nullable=False),
            sa.Column("township", _id(), index=True),
            sa.Column("year", sa.Integer, nullable=False, index=True),
            sa.Column("proposed_at", sa.String(32), nullable=False),
            sa.Column("proposed_position", sa.BigInteger, nullable=False),
            sa.Column("lists_version", sa.Integer),
            sa.Column("place", _id(), index=True),
            sa.Column("place_name", sa.Text),
            sa.Column("place_type", sa.String(32)),
            sa.Column("held_on", sa.String(10), index=True),
            sa.Column("met", sa.Boolean, nullable=False),
            sa.Column("revision", sa.Integer, nullable=False),
            sa.Column("reminded_revision", sa.Integer, nullable=False),   # ConsultationMeetingDueSoon
            sa.Column("members", sa.JSON, nullable=False),     # planned, then attending
            sa.Column("departments", sa.JSON, nullable=False),
            sa.Column("research", sa.Integer, nullable=False),
            sa.Column("outcomes_agreed", sa.Integer, nullable=False),
            sa.Column("outcomes_adopted", sa.Integer, nullable=False),
            sa.Column("published_on", sa.String(10)),
            sa.Column("tasks", sa.Integer, nullable=False),
            sa.Column("tasks_completed", sa.Integer, nullable=False),
            sa.Column("tasks_on_time", sa.Integer, nullable=False),
            sa.Column("visits", sa.Integer, nullable=False),
            sa.Column("surveyed", sa.Boolean, nullable=False),
            sa.Column("respondents", sa.Integer, nullable=False),
            sa.Column("satisfied", sa.Integer, nullable=False),
            sa.Column("basically_satisfied", sa.Integer, nullable=False),
            sa.Column("dissatisfied", sa.Integer, nullable=False),
            sa.Column("reports", sa.JSON, nullable=False),      # opinion reports it became
            sa.Column("proposal_conversions", sa.Integer, nullable=False),
            sa.Column("proposals", sa.JSON, nullable=False),    # proposals linked back
            sa.Column("closed_at", sa.String(32)),
            sa.Column("updated_at", sa.String(32), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False, index=True),
        )
        self.tasks = sa.Table(
            "consultation_tasks", metadata,
            sa.Column("task_id", _id(), primary_key=True),
            sa.Column("consultation_id", _id(), nullable=False, index=True),
            sa.Column("unit", _id(), nullable=False, index=True),
            sa.Column("title", sa.Text, nullable=False),          # the consultation's
            sa.Column("outcome", sa.Text, nullable=False),
            sa.Column("task", sa.Text, nullable=False),
            sa.Column("deadline", sa.String(10), nullable=False),
            sa.Column("assigned_on", sa.String(10), nullable=False),
            sa.Column("completed_on", sa.String(10)),
            sa.Column("on_time", sa.Boolean),
            sa.Column("reminded", sa.Boolean, nullable=False),            # FollowUpTaskDueSoon
            sa.Column("overdue_recorded", sa.Boolean, nullable=False),    # FollowUpTaskOverdue
            sa.Column("position", sa.BigInteger, nullable=False),         # of the assignment
        )

    # -- writing ----------------------------------------------------------------------
    def _row(self, conn: ViewConnection, env: Envelope) -> Row | None:
        return conn.one(self.consultations, {"consultation_id": env.data["consultation_id"]})

    def _touch(self, conn: ViewConnection, env: Envelope, **values: Any) -> None:
        conn.update(self.consultations, {"consultation_id": env.data["consultation_id"]},
                    updated_at=_ts(env), position=env.position, **values)

    def _add(self, conn: ViewConnection, env: Envelope, **more: int) -> None:
        row = self._row(conn, env)
        if row is not None:
            self._touch(conn, env, **{k: row[k] + n for k, n in more.items()})

    def on_ConsultationTopicProposed(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.consultations, {
            "consultation_id": d["consultation_id"], "title": d["title"], "status": TOPIC_PROPOSED,
            "topic_kind": d["topic_kind"], "source": d["source"], "township": d.get("township"),
            "year": env.occurred_at.astimezone(SHANGHAI).year, "proposed_at": _ts(env),
            "proposed_position": env.position, "lists_version": None, "place": None,
            "place_name": None, "place_type": None, "held_on": None, "met": False, "revision": 0,
            "reminded_revision": 0, "members": [], "departments": [], "research": 0,
            "outcomes_agreed": 0, "outcomes_adopted": 0, "published_on": None, "tasks": 0,
            "tasks_completed": 0, "tasks_on_time": 0, "visits": 0, "surveyed": False,
            "respondents": 0, "satisfied": 0, "basically_satisfied": 0, "dissatisfied": 0,
            "reports": [], "proposal_conversions": 0, "proposals": [], "closed_at": None,
            "updated_at": _ts(env), "position": env.position})

    def on_ConsultationTopicSetAside(self, conn: ViewConnection, env: Envelope) -> None:
        self._touch(conn, env, status=TOPIC_SET_ASIDE)

    def on_ConsultationTopicDecided(self, conn: ViewConnection, env: Envelope) -> None:
        self._touch(conn, env, status=TOPIC_DECIDED, title=env.data["title"],
                    lists_version=int(env.data["lists_version"]))

    def on_ConsultationTopicApproved(self, conn: ViewConnection, env: Envelope) -> None:
        self._touch(conn, env, status=TOPIC_APPROVED)

    def on_ConsultationTopicRejected(self, conn: ViewConnection, env: Envelope) -> None:
        self._touch(conn, env, status=TOPIC_REJECTED)

    def on_ConsultationPlanned(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._touch(conn, env, status=PLANNED, place=d["place"], place_name=d["place_name"],
                    place_type=d["place_type"], township=d.get("township"), held_on=d["held_on"],
                    revision=int(d.get("revision") or 1), members=list(d.get("members") or ()),
                    departments=list(d.get("departments") or ()))

    def on_ConsultationMeetingDueSoon(self, conn: ViewConnection, env: Envelope) -> None:
        row = self._row(conn, env)
        if row is not None:
            self._touch(conn, env, reminded_revision=max(row["reminded_revision"],
                                                         int(env.data.get("revision") or 1)))

    def on_ConsultationResearchRecorded(self, conn: ViewConnection, env: Envelope) -> None:
        self._add(conn, env, research=1)

    def on_ConsultationMeetingHeld(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._touch(conn, env, status=MET, met=True, held_on=d["held_on"], place=d["place"],
                    place_type=d["place_type"], township=d.get("township"),
                    members=list(d.get("members") or ()), departments=list(d.get("departments") or ()),
                    outcomes_agreed=len(d.get("outcomes") or ()))

    def on_ConsultationResultsPublished(self, conn: ViewConnection, env: Envelope) -> None:
        self._touch(conn, env, status=RESULTS_PUBLISHED, published_on=env.data["published_on"])

    def on_ConsultationDecided(self, conn: ViewConnection, env: Envelope) -> None:
        self._touch(conn, env, status=FOLLOWING_UP,
                    outcomes_adopted=len(env.data.get("adopted_outcomes") or ()))

    def on_FollowUpTaskAssigned(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._add(conn, env, tasks=1)
        conn.insert_ignore(self.tasks, [{
            "task_id": d["task_id"], "consultation_id": d["consultation_id"], "unit": d["unit"],
            "title": d["title"], "outcome": d["outcome"], "task": d["task"], "deadline": d["deadline"],
            "assigned_on": _day(env), "completed_on": None, "on_time": None, "reminded": False,
            "overdue_recorded": False, "position": env.position}])

    def on_FollowUpTaskCompleted(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._add(conn, env, tasks_completed=1, tasks_on_time=1 if d["on_time"] else 0)
        conn.update(self.tasks, {"task_id": d["task_id"]}, completed_on=d["completed_on"],
                    on_time=bool(d["on_time"]))

    def on_FollowUpTaskDueSoon(self, conn: ViewConnection, env: Envelope) -> None:
        conn.update(self.tasks, {"task_id": env.data["task_id"]}, reminded=True)

    def on_FollowUpTaskOverdue(self, conn: ViewConnection, env: Envelope) -> None:
        conn.update(self.tasks, {"task_id": env.data["task_id"]}, overdue_recorded=True)

    def on_ConsultationFollowUpVisited(self, conn: ViewConnection, env: Envelope) -> None:
        self._add(conn, env, visits=1)

    def on_ConsultationSurveyRecorded(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._touch(conn, env, surveyed=True, **{k: int(d[k]) for k in (
            "respondents", "satisfied", "basically_satisfied", "dissatisfied")})

    def on_ConsultationResultConverted(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        row = self._row(conn, env)
        if row is None:
            return
        if d["into"] == "opinion_report" and d.get("target_id"):
            self._touch(conn, env, reports=list(dict.fromkeys([*row["reports"], d["target_id"]])))
        else:
            self._touch(conn, env, proposal_conversions=row["proposal_conversions"] + 1)

    def on_ConsultationLinkedToProposal(self, conn: ViewConnection, env: Envelope) -> None:
        row = self._row(conn, env)
        if row is not None:
            self._touch(conn, env, proposals=list(dict.fromkeys([*row["proposals"],
                                                                 env.data["proposal_id"]])))

    def on_ConsultationClosed(self, conn: ViewConnection, env: Envelope) -> None:
        self._touch(conn, env, status=CLOSED, closed_at=_ts(env))


# -- queries --------------------------------------------------------------------------------

def next_step(row: Row) -> str | None:
    """What moves the consultation on, as its row says (domain.consultations.next_step)."""
    return _next_step(row["status"], tasks=row["tasks"], open_tasks=row["tasks"] - row["tasks_completed"],
                      visited=row["visits"] > 0, surveyed=bool(row["surveyed"]))


def _item(row: Row) -> Row:
    row["next_step"] = next_step(row)
    return row


def consultations(conn: sa.Connection, projections: Any, page: PageRequest | None = None, *,
                  status: str | None = None, township: str | None = None, place: str | None = None,
                  year: int | None = None) -> Any:
    """The consultations, latest activity first. Each item: every column of ``consultations``
    (consultation_id, title, status, topic_kind, source, township, year, proposed_at,
    proposed_position, lists_version, place, place_name, place_type, held_on, met, revision,
    reminded_revision, members, departments, research, outcomes_agreed, outcomes_adopted,
    published_on, tasks, tasks_completed, tasks_on_time, visits, surveyed, respondents, satisfied,
    basically_satisfied, dissatisfied, reports, proposal_conversions, proposals, closed_at,
    updated_at, position) and ``next_step``. ``status``, ``township``, ``place``, ``year`` (the
    topic's): match their column (None: any). ``page``: a page (``q`` searches the title);
    None: every row, as a list."""
    t = find_projection(projections, Consultations).consultations
    q = sa.select(*t.columns)
    for column, value in ((t.c.status, status), (t.c.township, township), (t.c.place, place),
                          (t.c.year, year)):
        if value is not None:
            q = q.where(column == value)
    return select_page(conn, q, page, item=_item, search=(t.c.title,),
                       order=((t.c.position, True), (t.c.consultation_id, False)))


CALENDAR_FIELDS = ("consultation_id", "title", "status", "held_on", "met", "place", "place_name",
                   "place_type", "township", "revision")


def calendar(conn: sa.Connection, projections: Any, *, date_from: date, date_to: date,
             place: str | None = None, township: str | None = None) -> dict[str, Any]:
    """The meetings planned and held from ``date_from`` to ``date_to`` (inclusive): ``days``, one
    per date with a meeting, in date order, each {"date", "meetings": [...]} (consultation_id,
    title, status, held_on, met (held already), place, place_name, place_type, township,
    revision; in title order); ``total`` the meetings. ``place``, ``township``: only those."""
    t = find_projection(projections, Consultations).consultations
    q = (sa.select(*(t.c[k] for k in CALENDAR_FIELDS))
         .where(t.c.held_on.is_not(None), t.c.held_on >= date_from.isoformat(),
                t.c.held_on <= date_to.isoformat())
         .order_by(t.c.held_on, t.c.title, t.c.consultation_id))
    for column, value in ((t.c.place, place), (t.c.township, township)):
        if value is not None:
            q = q.where(column == value)
    by_day: dict[str, list[Row]] = defaultdict(list)
    for row in conn.execute(q).mappings():
        by_day[row["held_on"]].append(dict(row))
    return {"date_from": date_from.isoformat(), "date_to": date_to.isoformat(),
            "total": sum(len(v) for v in by_day.values()),
            "days": [{"date": day, "meetings": meetings} for day, meetings in by_day.items()]}


def unit_tasks(conn: sa.Connection, projections: Any, unit: str, page: PageRequest | None = None, *,
               today: date, open_only: bool = True) -> Any:
    """The follow-up tasks of ``unit``, most urgent first (by deadline). Each item: task_id,
    consultation_id, title (the consultation's), outcome, task, deadline, assigned_on,
    completed_on, on_time (None until done), done, due_in_days (deadline minus ``today``; None
    once done), overdue (not done and the deadline passed on ``today``). ``open_only``: only
    those not done. ``page``: a page (``q`` searches title, outcome and task); None: a list."""
    k = find_projection(projections, Consultations).tasks
    q = (sa.select(k.c.task_id, k.c.consultation_id, k.c.title, k.c.outcome, k.c.task, k.c.deadline,
                   k.c.assigned_on, k.c.completed_on, k.c.on_time)
         .where(k.c.unit == unit))
    if open_only:
        q = q.where(k.c.completed_on.is_(None))

    def item(row: Row) -> Row:
        row["done"] = row["completed_on"] is not None
        due = None if row["done"] else (date.fromisoformat(row["deadline"]) - today).days
        row["due_in_days"] = due
        row["overdue"] = due is not None and due < 0
        return row

    return select_page(conn, q, page, item=item, search=(k.c.title, k.c.outcome, k.c.task),
                       order=((k.c.deadline, False), (k.c.task_id, False)))


def consultations_due(conn: sa.Connection, projections: Any, *, today: date,
                      meeting_days_before: int = MEETING_REMIND_DAYS_BEFORE,
                      task_days_before: int = TASK_REMIND_DAYS_BEFORE) -> list[str]:
    """The ids of the consultations the deadline timer decides on today (candidates: it decides
    on each stream), each once, in id order: those planned for a meeting within
    ``meeting_days_before`` days whose plan revision was not reminded of yet, and those following
    up with a task not done, not recorded overdue, that is either due within
    ``task_days_before`` days and not reminded or past its deadline."""
    p = find_projection(projections, Consultations)
    t, k = p.consultations, p.tasks
    meetings = (sa.select(t.c.consultation_id)
                .where(t.c.status == PLANNED, t.c.held_on >= today.isoformat(),
                       t.c.held_on <= (today + timedelta(days=meeting_days_before)).isoformat(),
                       t.c.reminded_revision < t.c.revision))
    tasks = (sa.select(k.c.consultation_id).join(t, t.c.consultation_id == k.c.consultation_id)
             .where(t.c.status == FOLLOWING_UP, k.c.completed_on.is_(None), k.c.overdue_recorded.is_(False),
                    sa.or_(sa.and_(k.c.reminded.is_(False),
                                   k.c.deadline <= (today + timedelta(days=task_days_before)).isoformat()),
                           k.c.deadline < today.isoformat())))
    ids = set(conn.execute(meetings).scalars()) | set(conn.execute(tasks).scalars())
    return sorted(ids)


def statistics(conn: sa.Connection, projections: Any, year: int) -> dict[str, Any]:
    """The figures of ``year``:

    * ``topics``: topics raised in the year (Beijing time of ConsultationTopicProposed), and
      ``topics_by_source`` {source: topics}, every one of TOPIC_SOURCES listed.
    * ``held``: meetings held in the year (their ``held_on``); ``held_by_place_type`` {type:
      meetings}, every one of CONSULTATION_PLACE_TYPES listed; ``held_by_place`` {station id:
      meetings} and ``held_by_township`` {township id: meetings} (those held at a station of no
      known township are not in the latter), only those with meetings.
    * Of the consultations held in the year, whenever it happened: ``outcomes_agreed`` (the
      meetings' outcomes), ``outcomes_adopted`` (those the organisation adopted), ``tasks``
      (follow-up tasks given), ``tasks_completed``, ``tasks_on_time`` (done by the deadline),
      ``closed``, and ``survey`` — ``respondents``, ``satisfied``, ``basically_satisfied``,
      ``dissatisfied`` summed over their surveys and ``satisfaction_rate`` = (satisfied +
      basically satisfied) / respondents (None when no one responded)."""
    t = find_projection(projections, Consultations).consultations
    topics = [dict(r) for r in conn.execute(sa.select(t.c.source).where(t.c.year == year)).mappings()]
    held = [dict(r) for r in conn.execute(
        sa.select(t).where(t.c.met.is_(True), t.c.held_on >= f"{year:04d}-01-01",
                           t.c.held_on <= f"{year:04d}-12-31")).mappings()]
    sources = Counter(x["source"] for x in topics)
    types = Counter(x["place_type"] for x in held)
    survey = {k: sum(x[k] for x in held) for k in ("respondents", "satisfied", "basically_satisfied",
                                                   "dissatisfied")}
    survey["satisfaction_rate"] = ((survey["satisfied"] + survey["basically_satisfied"]) / survey["respondents"]
                                   if survey["respondents"] else None)
    return {
        "year": year,
        "held": len(held),
        "held_by_place_type": {pt: types.get(pt, 0) for pt in CONSULTATION_PLACE_TYPES},
        "held_by_place": dict(sorted(Counter(x["place"] for x in held).items())),
        "held_by_township": dict(sorted(Counter(x["township"] for x in held if x["township"]).items())),
        "topics": len(topics),
        "topics_by_source": {s: sources.get(s, 0) for s in TOPIC_SOURCES},
        "outcomes_agreed": sum(x["outcomes_agreed"] for x in held),
        "outcomes_adopted": sum(x["outcomes_adopted"] for x in held),
        "tasks": sum(x["tasks"] for x in held),
        "tasks_completed": sum(x["tasks_completed"] for x in held),
        "tasks_on_time": sum(x["tasks_on_time"] for x in held),
        "closed": sum(1 for x in held if x["status"] == CLOSED),
        "survey": survey,
    }


def PROJECTIONS() -> list[Projection]:  # noqa: N802 - as every views module
    return [Consultations()]


__all__ = ["PROJECTIONS", "Consultations", "consultations", "calendar", "unit_tasks",
           "consultations_due", "statistics", "next_step"]
