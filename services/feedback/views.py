"""Read models of the feedback service (opinion reports 社情民意信息), built from its own log by
position.

Every table here is rebuilt from the events alone (xieshang.kernel.projection): a handler reads
nothing but its envelope and its own projection's tables, so a rebuild equals the live model.
Queries may join the two projections (they are in one views database).

* ``OpinionReports``: one row per report (where it stands: status, the four checks, reported,
  forwarded, instructed, informed), the people it belongs to, the units it was forwarded to,
  the leaders it was put before.
        queries: ``desk`` (editors), ``submitter_reports`` (members and informants: their own),
        ``unit_reports`` (handling units), ``leader_reports`` (leaders), ``inbox`` (reports
        received from lower committees), ``reports_awaiting_feedback`` (the deadline timer)
* ``OpinionStatistics``: per report its year and kind, and the distinct facts of what became of
  it (adopted, reported to whom, forwarded to which unit …).        query: ``statistics``

A report's ``year`` is the year, in Beijing time (Asia/Shanghai), of its first event
(``OpinionReportSubmitted``, ``OpinionReportsCombined`` or ``OpinionReceivedFromBelow``): every
figure of a year counts that year's reports, whenever what is counted happened to them.
Times are the events' ``occurred_at`` in UTC, as ISO 8601 strings (seconds); dates are the
committee's (Beijing) ISO dates. No table holds a name or contact details: submitters,
contributors, units and leaders are ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timezone
from typing import Any, Iterable, Mapping, Sequence

import sqlalchemy as sa

from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.domain import InvalidCommand
from xieshang.kernel.envelope import Envelope
from xieshang.kernel.projection import Projection, find_projection
from xieshang.kernel.view_writes import ViewConnection
from xieshang.kernel.views import PageRequest, select_page

from .domain.vocabulary import (ADOPTED, CHANNELS, CHECKS, COMBINED, INFORMANT, LEADER_OFFICES,
                                MEMBER, NOT_ADOPTED, RETURNED, SUBMITTED, SUBMITTERS,
                                UPPER_DECISIONS)

STATUSES = (SUBMITTED, RETURNED, COMBINED, ADOPTED, NOT_ADOPTED)
# How a report came to be here (its first event).
OWN, COMBINED_KIND, FROM_BELOW = "own", "combined", "from_below"
KINDS = (OWN, COMBINED_KIND, FROM_BELOW)
# A person's relation to a report: its submitter, or a contributor to a combined report
# (the submitter of one of its sources).
SUBMITTER, CONTRIBUTOR = "submitter", "contributor"

Row = dict[str, Any]


def _ts(env: Envelope) -> str:
    return env.occurred_at.astimezone(timezone.utc).isoformat(timespec="seconds")


def _day(env: Envelope) -> str:
    return env.occurred_at.astimezone(SHANGHAI).date().isoformat()


def _year(env: Envelope) -> int:
    return env.occurred_at.astimezone(SHANGHAI).year


def _rid(env: Envelope) -> str:
    return env.data["report_id"]


def _id(length: int = 64) -> sa.String:
    return sa.String(length)


def _check_column(check: str) -> str:
    return f"check_{check}"


_CHECK_COLUMNS = tuple(_check_column(c) for c in CHECKS)
_NO_CHECKS = {c: None for c in _CHECK_COLUMNS}


def _appended(values: Iterable[Any], more: Iterable[Any]) -> list[Any]:
    """``values`` followed by those of ``more`` not among them yet, in order."""
    return list(dict.fromkeys([*values, *more]))


# -- the reports: one row each, with their people, units and leaders ------------------------

class OpinionReports(Projection):
    """One row per report (``opinion_reports``); the people a report belongs to
    (``opinion_report_people``); per (report, unit) what it was forwarded for
    (``opinion_forwards``); per (report, leader) the leaders it was put before for instruction
    and their instructions (``opinion_leaders``).

    ``position``/``updated_at`` are those of the report's latest event, so "newest first" on
    the desk means latest activity; ``submitted_position``/``submitted_at`` those of its first.
    A check column (``check_political`` …) is None until recorded, then whether it passed (the
    latest record since the last submission or revision counts): a check is *pending* until
    recorded as passed, so a failed check stays pending."""

    name = "opinion_reports"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.reports = sa.Table(
            "opinion_reports", metadata,
            sa.Column("report_id", _id(), primary_key=True),
            sa.Column("kind", sa.String(16), nullable=False),                # own | combined | from_below
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("status", sa.String(16), nullable=False, index=True),
            sa.Column("channel", sa.String(16), nullable=False, index=True),
            sa.Column("category", sa.String(16), nullable=False),
            sa.Column("submitter", _id(), index=True),                      # own reports only
            sa.Column("submitter_role", sa.String(16), nullable=False),     # member | informant
            sa.Column("source", sa.String(120)),                            # "proposal:<id>"
            sa.Column("year", sa.Integer, nullable=False, index=True),
            sa.Column("submitted_at", sa.String(32), nullable=False),
            sa.Column("submitted_position", sa.BigInteger, nullable=False, index=True),
            *(sa.Column(c, sa.Boolean) for c in _CHECK_COLUMNS),
            sa.Column("origin_committee", sa.String(16), index=True),
            sa.Column("origin_level", sa.String(16)),
            sa.Column("origin_report_id", _id()),
            sa.Column("combined_into", _id()),
            sa.Column("source_reports", sa.JSON, nullable=False),           # of a combined report
            sa.Column("sources", sa.Integer, nullable=False),
            sa.Column("decided_at", sa.String(32)),                         # adopted / not adopted
            sa.Column("reported_party_committee", sa.Boolean, nullable=False),
            sa.Column("reported_government", sa.Boolean, nullable=False),
            sa.Column("reported_upper", sa.JSON, nullable=False),           # committee codes
            sa.Column("reported_at", sa.String(32)),                        # the first report
            sa.Column("forwarded", sa.Boolean, nullable=False),
            sa.Column("units", sa.JSON, nullable=False),                    # forwarded to
            sa.Column("instructions", sa.Integer, nullable=False),
            sa.Column("feedback", sa.Integer, nullable=False),
            sa.Column("informed", sa.Boolean, nullable=False),
            sa.Column("decided_above", sa.JSON, nullable=False),            # {code: [decisions]}
            sa.Column("updated_at", sa.String(32), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False, index=True),
        )
        self.people = sa.Table(
            "opinion_report_people", metadata,
            sa.Column("report_id", _id(), primary_key=True),
            sa.Column("person", _id(), primary_key=True, index=True),
            sa.Column("relation", sa.String(16), nullable=False),
        )
        self.forwards = sa.Table(
            "opinion_forwards", metadata,
            sa.Column("report_id", _id(), primary_key=True),
            sa.Column("unit", _id(), primary_key=True, index=True),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("deadline", sa.String(10), nullable=False),
            sa.Column("forwarded_on", sa.String(10), nullable=False),
            sa.Column("fed_back_on", sa.String(10)),
            sa.Column("on_time", sa.Boolean),
            sa.Column("position", sa.BigInteger, nullable=False),          # of the forwarding
        )
        self.leaders = sa.Table(
            "opinion_leaders", metadata,
            sa.Column("report_id", _id(), primary_key=True),
            sa.Column("leader", _id(), primary_key=True, index=True),
            sa.Column("reported_on", sa.String(10)),        # None: instructed without being listed
            sa.Column("instructions", sa.Integer, nullable=False),
            sa.Column("instructed_on", sa.String(10)),      # of the latest instruction
            sa.Column("leader_level", sa.String(16)),       # of the latest instruction
            sa.Column("office", sa.String(20)),             # of the latest instruction
            sa.Column("position", sa.BigInteger, nullable=False),  # of the row's first event
        )

    # -- writing ----------------------------------------------------------------------
    def _update(self, conn: ViewConnection, env: Envelope, **values: Any) -> None:
        conn.update(self.reports, {"report_id": _rid(env)},
                    updated_at=_ts(env), position=env.position, **values)

    def _current(self, conn: ViewConnection, env: Envelope) -> Row | None:
        return conn.one(self.reports, {"report_id": _rid(env)})

    def _new(self, conn: ViewConnection, env: Envelope, kind: str, **values: Any) -> None:
        d = env.data
        conn.insert(self.reports, {
            "report_id": d["report_id"], "kind": kind, "title": d["title"], "status": SUBMITTED,
            "channel": d["channel"], "category": d["category"], "submitter": None, "source": None,
            "year": _year(env), "submitted_at": _ts(env), "submitted_position": env.position,
            **_NO_CHECKS, "origin_committee": None, "origin_level": None,
            "origin_report_id": None, "combined_into": None, "source_reports": [], "sources": 0,
            "decided_at": None, "reported_party_committee": False, "reported_government": False,
            "reported_upper": [], "reported_at": None, "forwarded": False, "units": [],
            "instructions": 0, "feedback": 0, "informed": False, "decided_above": {},
            "updated_at": _ts(env), "position": env.position, **values})

    def on_OpinionReportSubmitted(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._new(conn, env, OWN, submitter=d["submitter"], submitter_role=d["submitter_role"],
                  source=d.get("source"))
        conn.insert(self.people, report_id=d["report_id"], person=d["submitter"], relation=SUBMITTER)

    def on_OpinionReportsCombined(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        sources = list(d.get("sources") or ())
        # A combined report is a member's when any of its contributors is a member.
        self._new(conn, env, COMBINED_KIND, submitter_role=MEMBER if d.get("members") else INFORMANT,
                  source_reports=sources, sources=len(sources))
        conn.insert_ignore(self.people, [
            {"report_id": d["report_id"], "person": p, "relation": CONTRIBUTOR}
            for p in dict.fromkeys(d.get("contributors") or ())])

    def on_OpinionReceivedFromBelow(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._new(conn, env, FROM_BELOW, submitter_role=d["submitter_role"],
                  origin_committee=d["origin_committee"], origin_level=d["origin_level"],
                  origin_report_id=d["origin_report_id"])

    def on_OpinionReportReturned(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=RETURNED)

    def on_OpinionReportRevised(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data   # the checks start again
        self._update(conn, env, status=SUBMITTED, title=d["title"], category=d["category"],
                     **_NO_CHECKS)

    def on_OpinionReportCombinedInto(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=COMBINED, combined_into=env.data["into"])

    def on_OpinionReportCombinationReleased(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=SUBMITTED, combined_into=None)

    def on_OpinionCheckRecorded(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        if d["check"] in CHECKS:
            self._update(conn, env, **{_check_column(d["check"]): bool(d["passed"])})
        else:  # not a check of this vocabulary: nothing to show, the activity still counts
            self._update(conn, env)

    def on_OpinionReportAdopted(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=ADOPTED, title=env.data["title"], decided_at=_ts(env))

    def on_OpinionReportNotAdopted(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=NOT_ADOPTED, decided_at=_ts(env))

    def on_OpinionReportReported(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        row = self._current(conn, env)
        if row is None:
            return
        self._update(conn, env, title=d["title"], category=d["category"],
                     reported_party_committee=row["reported_party_committee"] or bool(d["party_committee"]),
                     reported_government=row["reported_government"] or bool(d["government"]),
                     reported_upper=_appended(row["reported_upper"] or (), d.get("upper") or ()),
                     reported_at=row["reported_at"] or _ts(env))
        conn.insert_ignore(self.leaders, [
            {"report_id": d["report_id"], "leader": leader, "reported_on": _day(env),
             "instructions": 0, "instructed_on": None, "leader_level": None, "office": None,
             "position": env.position}
            for leader in dict.fromkeys(d.get("leaders") or ())])

    def on_OpinionReportForwarded(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        row = self._current(conn, env)
        if row is None:
            return
        units = list(dict.fromkeys(d.get("units") or ()))
        self._update(conn, env, forwarded=True, units=_appended(row["units"] or (), units))
        for unit in units:  # forwarded again to a unit: a new task, its feedback awaited anew
            conn.delete(self.forwards, report_id=d["report_id"], unit=unit)
        conn.insert(self.forwards, [
            {"report_id": d["report_id"], "unit": unit, "title": d["title"],
             "deadline": d["deadline"], "forwarded_on": _day(env), "fed_back_on": None,
             "on_time": None, "position": env.position} for unit in units])

    def on_OpinionFeedbackReceived(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        row = self._current(conn, env)
        if row is None:
            return
        self._update(conn, env, feedback=row["feedback"] + 1)
        conn.update(self.forwards, {"report_id": d["report_id"], "unit": d["unit"]},
                    fed_back_on=d.get("received_on") or _day(env), on_time=bool(d["on_time"]))

    def on_LeaderInstructionRecorded(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        row = self._current(conn, env)
        if row is None:
            return
        self._update(conn, env, instructions=row["instructions"] + 1)
        key = {"report_id": d["report_id"], "leader": d["leader"]}
        latest = {"instructed_on": _day(env), "leader_level": d.get("leader_level"),
                  "office": d.get("office")}
        mine = conn.one(self.leaders, key)
        if mine is None:   # a leader the report was not put before (a paper instruction)
            conn.insert(self.leaders, {**key, "reported_on": None, "instructions": 1, **latest,
                                       "position": env.position})
        else:
            conn.update(self.leaders, key, instructions=mine["instructions"] + 1, **latest)

    def on_SubmitterInformed(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, informed=True)

    def on_OpinionDecidedAbove(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        row = self._current(conn, env)
        if row is None:
            return
        decided = {k: list(v) for k, v in (row["decided_above"] or {}).items()}
        decided[d["upper_committee"]] = _appended(decided.get(d["upper_committee"], ()),
                                                  (d["decision"],))
        self._update(conn, env, decided_above=decided)


def _desk_item(row: Row) -> Row:
    """A reports row as lists answer it: the check columns become ``pending_checks`` (not
    recorded as passed since the last submission or revision, in CHECKS order) and
    ``failed_checks`` (recorded as not passed, still pending)."""
    checks = {c: row.pop(_check_column(c)) for c in CHECKS}
    row["pending_checks"] = [c for c in CHECKS if checks[c] is not True]
    row["failed_checks"] = [c for c in CHECKS if checks[c] is False]
    return row


def desk(conn: sa.Connection, projections: Any, page: PageRequest | None = None, *,
         status: str | Sequence[str] | None = None, channel: str | None = None,
         check_pending: str | None = None, from_below: bool | None = None,
         year: int | None = None) -> Any:
    """The editors' desk 编辑工作台: reports, latest activity first.

    Each item: every column of ``opinion_reports`` (report_id, kind, title, status, channel,
    category, submitter (None for combined reports and reports from below), submitter_role,
    source, year, submitted_at, submitted_position, origin_committee, origin_level,
    origin_report_id, combined_into, source_reports, sources, decided_at,
    reported_party_committee, reported_government, reported_upper, reported_at, forwarded,
    units, instructions, feedback, informed, decided_above, updated_at, position) but the check
    columns, given as ``pending_checks`` and ``failed_checks`` (lists, in CHECKS order).

    ``status``: one status or several; ``channel``, ``year``: match their column;
    ``from_below``: True only reports received from lower committees, False only this
    committee's own and combined ones; ``check_pending`` (one of CHECKS): reports still lacking
    that check (not recorded as passed, or recorded as failed), among the reports in editing
    (status submitted) unless ``status`` says which. None means any. ``page``: a page of them
    (``q`` searches title, submitter and origin report id); None: every row, as a list."""
    t = find_projection(projections, OpinionReports).reports
    c = t.c
    q = sa.select(*(col for col in t.columns))
    if check_pending is not None:
        if check_pending not in CHECKS:
            raise InvalidCommand(("bad check", "审核关口有误"),
                                 {"check_pending": f"one of {', '.join(CHECKS)} 四关之一"})
        column = c[_check_column(check_pending)]
        q = q.where(sa.or_(column.is_(None), column.is_(False)))
        if status is None:
            status = SUBMITTED
    if status is not None:
        q = q.where(c.status == status if isinstance(status, str) else c.status.in_(list(status)))
    if from_below is not None:
        q = q.where(c.origin_committee.is_not(None) if from_below else c.origin_committee.is_(None))
    for column, value in ((c.channel, channel), (c.year, year)):
        if value is not None:
            q = q.where(column == value)
    return select_page(conn, q, page, item=_desk_item,
                       order=((c.position, True), (c.report_id, False)),
                       search=(c.title, c.submitter, c.origin_report_id))


_OWN_COLUMNS = ("report_id", "kind", "title", "status", "channel", "category", "year",
                "submitted_at", "combined_into", "informed", "updated_at")


def submitter_reports(conn: sa.Connection, projections: Any, submitter: str,
                      page: PageRequest | None = None) -> Any:
    """The reports of one member or informant 我的社情民意, newest first: those they submitted
    and the combined reports their reports went into.

    Each item: report_id, relation ("submitter" | "contributor"), kind, title, status, channel,
    category, year, submitted_at, combined_into (a source's combined report), informed (they
    were told what became of it), updated_at. What became of it beyond the status reaches them
    as the staff's information 情况通报. ``page``: a page of them (``q`` searches the title);
    None: every row, as a list."""
    p = find_projection(projections, OpinionReports)
    r, m = p.reports, p.people
    q = (sa.select(r.c.report_id, m.c.relation, *(r.c[k] for k in _OWN_COLUMNS[1:]))
         .join(r, r.c.report_id == m.c.report_id).where(m.c.person == submitter))
    return select_page(conn, q, page, search=(r.c.title,),
                       order=((r.c.submitted_position, True), (r.c.report_id, False)))


def unit_reports(conn: sa.Connection, projections: Any, unit: str,
                 page: PageRequest | None = None, *, today: date, open_only: bool = True) -> Any:
    """The reports forwarded to a handling unit 转交, most urgent first (by deadline).

    Each item: report_id, title (as forwarded), category, status, deadline, forwarded_on,
    fed_back (its written feedback was received), fed_back_on, on_time (the feedback came by the
    deadline; None until then), due_in_days (deadline minus ``today``; None once fed back) and
    overdue (no feedback and the deadline has passed on ``today``). ``open_only``: only those
    still waiting for the unit's feedback. ``page``: a page of them (``q`` searches the title);
    None: every row, as a list."""
    p = find_projection(projections, OpinionReports)
    f, r = p.forwards, p.reports
    q = (sa.select(f.c.report_id, f.c.title, r.c.category, r.c.status, f.c.deadline,
                   f.c.forwarded_on, f.c.fed_back_on, f.c.on_time)
         .join(r, r.c.report_id == f.c.report_id).where(f.c.unit == unit))
    if open_only:
        q = q.where(f.c.fed_back_on.is_(None))

    def item(row: Row) -> Row:
        row["fed_back"] = row["fed_back_on"] is not None
        due = None if row["fed_back"] else (date.fromisoformat(row["deadline"]) - today).days
        row["due_in_days"] = due
        row["overdue"] = due is not None and due < 0
        return row

    return select_page(conn, q, page, item=item, search=(f.c.title,),
                       order=((f.c.deadline, False), (f.c.report_id, False)))


def reports_awaiting_feedback(conn: sa.Connection, projections: Any, *, due_by: date) -> list[str]:
    """The ids of the reports forwarded to a unit that has not fed back yet, with a deadline on
    or before ``due_by`` (the deadline timer's candidates; it decides on each report's stream),
    each once, in id order."""
    f = find_projection(projections, OpinionReports).forwards
    q = (sa.select(f.c.report_id).distinct()
         .where(f.c.fed_back_on.is_(None), f.c.deadline <= due_by.isoformat())
         .order_by(f.c.report_id))
    return list(conn.execute(q).scalars())


def leader_reports(conn: sa.Connection, projections: Any, leader: str,
                   page: PageRequest | None = None, *, pending_only: bool = True) -> Any:
    """The reports put before a leader for instruction 领导批示, newest first.

    Each item: report_id, title, category, channel, status, reported_on (None: the leader
    instructed a report not put before them), instructions (theirs), instructed (at least one),
    instructed_on (of their latest), office and leader_level (of their latest).
    ``pending_only``: only those they have not instructed yet. ``page``: a page of them (``q``
    searches the title); None: every row, as a list."""
    p = find_projection(projections, OpinionReports)
    ld, r = p.leaders, p.reports
    q = (sa.select(ld.c.report_id, r.c.title, r.c.category, r.c.channel, r.c.status,
                   ld.c.reported_on, ld.c.instructions, ld.c.instructed_on, ld.c.office,
                   ld.c.leader_level)
         .join(r, r.c.report_id == ld.c.report_id).where(ld.c.leader == leader))
    if pending_only:
        q = q.where(ld.c.instructions == 0)

    def item(row: Row) -> Row:
        row["instructed"] = row["instructions"] > 0
        return row

    return select_page(conn, q, page, item=item, search=(r.c.title,),
                       order=((ld.c.position, True), (ld.c.report_id, False)))


def inbox(conn: sa.Connection, projections: Any, page: PageRequest | None = None, *,
          committee: str | None = None) -> Any:
    """Reports received from lower committees 下级报送, newest first (by when received), each a
    desk item (see ``desk``). ``committee``: only those from this lower committee (its code).
    ``page``: a page of them (``q`` searches title and origin report id); None: every row."""
    t = find_projection(projections, OpinionReports).reports
    c = t.c
    q = sa.select(*(col for col in t.columns)).where(c.origin_committee.is_not(None))
    if committee is not None:
        q = q.where(c.origin_committee == committee)
    return select_page(conn, q, page, item=_desk_item, search=(c.title, c.origin_report_id),
                       order=((c.submitted_position, True), (c.report_id, False)))


# -- the year's statistics -----------------------------------------------------------------

# The facts of a report (``opinion_stat_facts.fact``) and what their ``key`` holds.
F_COMBINED_INTO = "combined_into"        # "": this report went into a combined one
F_ADOPTED, F_NOT_ADOPTED = "adopted", "not_adopted"
F_REPORTED = "reported"                  # "": reported anywhere
F_PARTY, F_GOVERNMENT = "reported_party_committee", "reported_government"
F_UPPER = "reported_upper"               # the upper committee's code
F_OUTCOME = "upper_outcome"              # "<code>:<decision>" (OpinionDecidedAbove)
F_FORWARDED, F_FED_BACK, F_ON_TIME = "forwarded", "fed_back", "fed_back_on_time"   # the unit
F_INSTRUCTION = "instruction"            # the instruction's event id
F_OFFICE = "instructed_office"           # the instructing leader's office
F_INFORMED = "informed"


class OpinionStatistics(Projection):
    """For the year's figures: per report (``opinion_stat_reports``) its year, its kind (own,
    combined, from_below), channel, submitter_role and origin committee; per report the distinct
    facts of what became of it (``opinion_stat_facts``: one row per (report, fact, key), so
    every figure of distinct reports is a count of rows)."""

    name = "opinion_statistics"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.reports = sa.Table(
            "opinion_stat_reports", metadata,
            sa.Column("report_id", _id(), primary_key=True),
            sa.Column("year", sa.Integer, nullable=False, index=True),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("channel", sa.String(16), nullable=False),
            sa.Column("submitter_role", sa.String(16), nullable=False),
            sa.Column("origin_committee", sa.String(16)),
        )
        self.facts = sa.Table(
            "opinion_stat_facts", metadata,
            sa.Column("report_id", _id(), primary_key=True),
            sa.Column("fact", sa.String(32), primary_key=True),
            sa.Column("key", sa.String(200), primary_key=True),
        )

    def _new(self, conn: ViewConnection, env: Envelope, kind: str, submitter_role: str,
             origin_committee: str | None = None) -> None:
        d = env.data
        conn.insert(self.reports, report_id=d["report_id"], year=_year(env), kind=kind,
                    channel=d["channel"], submitter_role=submitter_role,
                    origin_committee=origin_committee)

    def _facts(self, conn: ViewConnection, env: Envelope, *facts: tuple[str, str]) -> None:
        conn.insert_ignore(self.facts, [{"report_id": _rid(env), "fact": f, "key": k}
                                        for f, k in dict.fromkeys(facts)])

    def on_OpinionReportSubmitted(self, conn: ViewConnection, env: Envelope) -> None:
        self._new(conn, env, OWN, env.data["submitter_role"])

    def on_OpinionReportsCombined(self, conn: ViewConnection, env: Envelope) -> None:
        self._new(conn, env, COMBINED_KIND, MEMBER if env.data.get("members") else INFORMANT)

    def on_OpinionReceivedFromBelow(self, conn: ViewConnection, env: Envelope) -> None:
        self._new(conn, env, FROM_BELOW, env.data["submitter_role"], env.data["origin_committee"])

    def on_OpinionReportCombinedInto(self, conn: ViewConnection, env: Envelope) -> None:
        self._facts(conn, env, (F_COMBINED_INTO, ""))

    def on_OpinionReportCombinationReleased(self, conn: ViewConnection, env: Envelope) -> None:
        conn.delete(self.facts, report_id=_rid(env), fact=F_COMBINED_INTO, key="")

    def on_OpinionReportAdopted(self, conn: ViewConnection, env: Envelope) -> None:
        self._facts(conn, env, (F_ADOPTED, ""))

    def on_OpinionReportNotAdopted(self, conn: ViewConnection, env: Envelope) -> None:
        self._facts(conn, env, (F_NOT_ADOPTED, ""))

    def on_OpinionReportReported(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._facts(conn, env, (F_REPORTED, ""),
                    *([(F_PARTY, "")] if d["party_committee"] else []),
                    *([(F_GOVERNMENT, "")] if d["government"] else []),
                    *((F_UPPER, code) for code in d.get("upper") or ()))

    def on_OpinionReportForwarded(self, conn: ViewConnection, env: Envelope) -> None:
        self._facts(conn, env, *((F_FORWARDED, unit) for unit in env.data.get("units") or ()))

    def on_OpinionFeedbackReceived(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._facts(conn, env, (F_FED_BACK, d["unit"]), *([(F_ON_TIME, d["unit"])] if d["on_time"] else []))

    def on_LeaderInstructionRecorded(self, conn: ViewConnection, env: Envelope) -> None:
        self._facts(conn, env, (F_INSTRUCTION, env.event_id), (F_OFFICE, env.data["office"]))

    def on_SubmitterInformed(self, conn: ViewConnection, env: Envelope) -> None:
        self._facts(conn, env, (F_INFORMED, ""))

    def on_OpinionDecidedAbove(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._facts(conn, env, (F_OUTCOME, f"{d['upper_committee']}:{d['decision']}"))


def statistics(conn: sa.Connection, projections: Any, year: int, *,
               names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The figures of one year 年度统计 over the reports of ``year`` (the year, in Beijing
    time, of a report's first event), whatever happened to them and whenever. Every figure
    counts distinct reports unless it says otherwise. ``projections``: the OpinionStatistics
    projection or what holds it (a service's ``Views``, a ProjectionRunner, a list of them).
    ``names``: upper committees' names by code, for ``summary`` (else the codes).

    * ``reports``: the year's reports of every kind (collected + combined + received from below).
    * ``collected`` 收集: this committee's own submissions (OpinionReportSubmitted: by members and
      informants, proposals converted 提案转 included); combined reports and reports received
      from below are counted apart, below.
    * ``by_channel``: the collected by channel, every channel of CHANNELS listed.
    * ``by_submitter_kind``: the collected by the submitter's role (member, informant).
    * ``received_from_below``: ``total`` reports received from lower committees and
      ``by_committee`` {lower committee code: reports}.
    * ``combined`` 综合: ``reports`` combined reports made (OpinionReportsCombined) and
      ``sources`` reports that went into a combined report (OpinionReportCombinedInto).
    * ``adopted`` 采用, ``not_adopted`` 不予采用: reports of any kind so decided here.
    * ``reported`` 报送: ``reports`` reported anywhere, ``party_committee`` and ``government``
      reported to this level's party committee / government, ``upper`` {upper committee code:
      reports reported to it}.
    * ``upper_outcomes``: {upper committee code: {decision: reports}} of what upper committees
      decided on the reports (OpinionDecidedAbove, every one of UPPER_DECISIONS listed), for
      every code reported to or deciding.
    * ``forwarded`` 转交: ``reports`` forwarded to at least one unit and ``assignments``
      (report, unit) pairs forwarded.
    * ``fed_back`` 书面反馈: ``reports`` with at least one unit's feedback and ``assignments``
      (report, unit) pairs with feedback.
    * ``on_time``: ``assignments`` (report, unit) pairs with a feedback received by the
      deadline, and ``rate`` = on_time assignments / fed back assignments (None if none).
    * ``instructed`` 领导批示: reports with at least one leader's instruction; ``instructions``:
      the instructions themselves (events, not distinct reports); ``instructed_by_office``:
      {office: reports instructed by a leader of that office}, every office listed.
    * ``informed`` 情况通报: reports whose submitters were told what became of them.
    * ``summary``: the sentence committees publish (``summary``).
    """
    s = find_projection(projections, OpinionStatistics)
    r, f = s.reports, s.facts
    reports = [dict(x) for x in conn.execute(sa.select(r).where(r.c.year == year)).mappings()]
    facts = [tuple(x) for x in conn.execute(
        sa.select(f.c.report_id, f.c.fact, f.c.key)
        .join(r, r.c.report_id == f.c.report_id).where(r.c.year == year))]
    return compute_statistics(year, reports, facts, names=names)


def compute_statistics(year: int, reports: list[Row], facts: Iterable[tuple[str, str, str]], *,
                       names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``statistics`` on rows of the OpinionStatistics tables (pure; see its docstring)."""
    facts = list(facts)
    by_fact: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for rid, fact, key in facts:
        by_fact[fact].append((rid, key))

    def reports_with(fact: str) -> int:
        return len({rid for rid, _ in by_fact[fact]})

    def per_key(fact: str) -> Counter:
        return Counter(key for _, key in by_fact[fact])   # rows are distinct per report and key

    own = [x for x in reports if x["kind"] == OWN]
    below = [x for x in reports if x["kind"] == FROM_BELOW]
    channels = Counter(x["channel"] for x in own)
    roles = Counter(x["submitter_role"] for x in own)
    upper = per_key(F_UPPER)
    outcomes: dict[str, dict[str, int]] = {}
    for code in sorted({*upper, *(k.split(":", 1)[0] for _, k in by_fact[F_OUTCOME])}):
        outcomes[code] = {d: 0 for d in UPPER_DECISIONS}
    for key, n in per_key(F_OUTCOME).items():
        code, decision = key.split(":", 1)
        outcomes[code][decision] = outcomes[code].get(decision, 0) + n
    offices = per_key(F_OFFICE)
    fed_back, on_time = len(by_fact[F_FED_BACK]), len(by_fact[F_ON_TIME])
    stats: dict[str, Any] = {
        "year": year,
        "reports": len(reports),
        "collected": len(own),
        "by_channel": {ch: channels.get(ch, 0) for ch in CHANNELS},
        "by_submitter_kind": {role: roles.get(role, 0) for role in SUBMITTERS},
        "received_from_below": {
            "total": len(below),
            "by_committee": dict(sorted(Counter(x["origin_committee"] for x in below).items())),
        },
        "combined": {"reports": sum(1 for x in reports if x["kind"] == COMBINED_KIND),
                     "sources": reports_with(F_COMBINED_INTO)},
        "adopted": reports_with(F_ADOPTED),
        "not_adopted": reports_with(F_NOT_ADOPTED),
        "reported": {"reports": reports_with(F_REPORTED),
                     "party_committee": reports_with(F_PARTY),
                     "government": reports_with(F_GOVERNMENT),
                     "upper": dict(sorted(upper.items()))},
        "upper_outcomes": outcomes,
        "forwarded": {"reports": reports_with(F_FORWARDED),
                      "assignments": len(by_fact[F_FORWARDED])},
        "fed_back": {"reports": reports_with(F_FED_BACK), "assignments": fed_back},
        "on_time": {"assignments": on_time, "rate": on_time / fed_back if fed_back else None},
        "instructed": reports_with(F_INSTRUCTION),
        "instructions": len(by_fact[F_INSTRUCTION]),
        "instructed_by_office": {o: offices.get(o, 0) for o in LEADER_OFFICES},
        "informed": reports_with(F_INFORMED),
    }
    stats["summary"] = summary(stats, names)
    return stats


def summary(stats: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """The year in one sentence, as committees publish it, e.g. 「收集社情民意信息 12 篇，采用
    5 篇，向党委报送 2 篇、向宁夏回族自治区政协报送 3 篇、向吴忠市政协报送 1 篇，转交 2 篇。」
    The clauses on reports received from below, on reporting and on instructions appear when
    their figure is not 0. Upper committees are named by ``names`` (code → name; the service
    passes its links' names), in that mapping's order, the others by their code, in code order."""
    names = dict(names or {})
    parts = [f"收集社情民意信息 {stats['collected']} 篇"]
    below = stats["received_from_below"]["total"]
    if below:
        parts.append(f"接收下级政协报送 {below} 篇")
    parts.append(f"采用 {stats['adopted']} 篇")
    reported = stats["reported"]
    targets = []
    if reported["party_committee"]:
        targets.append(f"向党委报送 {reported['party_committee']} 篇")
    if reported["government"]:
        targets.append(f"向政府报送 {reported['government']} 篇")
    upper: Mapping[str, int] = reported["upper"]
    for code in [*(c for c in names if c in upper), *sorted(c for c in upper if c not in names)]:
        if upper[code]:
            targets.append(f"向{names.get(code) or code}报送 {upper[code]} 篇")
    if targets:
        parts.append("、".join(targets))
    parts.append(f"转交 {stats['forwarded']['reports']} 篇")
    if stats["instructed"]:
        parts.append(f"获领导批示 {stats['instructed']} 篇")
    return "，".join(parts) + "。"


# -- helpers --------------------------------------------------------------------------------



def PROJECTIONS() -> list[Projection]:  # noqa: N802 - the name every service's views module exports
    from . import consultation_views, supervision_views  # they import this module's helpers
    from .directory import Directory
    return [OpinionReports(), OpinionStatistics(), Directory(), *consultation_views.PROJECTIONS(),
            *supervision_views.PROJECTIONS()]


__all__ = ["PROJECTIONS", "OpinionReports", "OpinionStatistics", "desk", "submitter_reports",
           "unit_reports", "leader_reports", "inbox", "reports_awaiting_feedback", "statistics",
           "compute_statistics", "summary", "find_projection", "STATUSES", "KINDS", "OWN",
           "COMBINED_KIND", "FROM_BELOW", "SUBMITTER", "CONTRIBUTOR"]
