"""Read models of the proposals service, built from its own log by position.

Every table here is rebuilt from the events alone (xieshang.kernel.projection): a handler reads
nothing but its envelope and its own projection's tables. Who may see what decides the split:

* ``Worklist`` (staff): one row per proposal, where it stands.           query: ``worklist``
* ``UnitInbox`` (handling units): their assignments per round. No ratings, no raters, no
  proposers, no comments: ratings are "背靠背", confidential from the units.  query: ``unit_inbox``
* ``ProposerCases`` (members): their own cases, and their own rating.   query: ``cases_of_member``
* ``PublicCases`` (the public): published cases only, under the names agreed at publication,
  approved comments without their authors.             queries: ``public_list``, ``public_detail``
* ``Statistics`` (staff, the year-end report): per case, per round's units, replies, ratings.
  query: ``statistics``; outside the office (leaders, subscriber systems, the public report)
  through ``disclose_statistics``: no satisfaction figure of fewer than 3 ratings.

Times are the events' ``occurred_at`` in UTC, as ISO 8601 strings (seconds); dates (deadlines)
are ISO dates; a proposal's ``year`` is the year of its submission in Beijing time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa

from xieshang.kernel.clock import SHANGHAI
from xieshang.kernel.envelope import Envelope
from xieshang.kernel.projection import Handler, Projection, find_projection
from xieshang.kernel.view_writes import ViewConnection
from xieshang.kernel.views import PageRequest, select_page

from . import domain
from .domain.vocabulary import STATE_LABELS
from .domain import (ASSIGNED, CATEGORIES, CLOSED, FILED, MERGED, NOT_FILED, RATINGS, REPLIED,
                     REPLY_CLASSES, RETURNED, SUBMITTED)

STATUSES = (SUBMITTED, RETURNED, FILED, NOT_FILED, MERGED, ASSIGNED, REPLIED, CLOSED)
LEAD, CO = "lead", "co"
PROPOSER, CO_SIGNER, MERGED_PROPOSER = "proposer", "co_signer", "merged_proposer"
APPROVED, REJECTED, PENDING = "approved", "rejected", "pending"
# "Satisfied" in the assessment sense 满意率: satisfied + basically satisfied.
CONTENT = (RATINGS[0], RATINGS[1])

Row = dict[str, Any]


def _ts(env: Envelope) -> str:
    return env.occurred_at.astimezone(timezone.utc).isoformat(timespec="seconds")


def _pid(env: Envelope) -> str:
    return env.data["proposal_id"]


def _id(length: int = 64) -> sa.String:
    return sa.String(length)


def _unit_rows(d: Mapping[str, Any], **extra: Any) -> list[Row]:
    return [{"unit": d["lead_unit"], "role": LEAD, **extra},
            *({"unit": u, "role": CO, **extra} for u in d.get("co_units") or ())]


# -- staff worklist ---------------------------------------------------------------------------

class Worklist(Projection):
    """Staff's worklist: one row per proposal. ``position``/``updated_at`` are those of the
    case's latest event (any event of its stream), so "newest first" means latest activity."""

    name = "worklist"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.cases = sa.Table(
            "proposal_worklist", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("case_number", sa.String(40), index=True),
            sa.Column("session", sa.String(20), nullable=False, index=True),
            sa.Column("year", sa.Integer, nullable=False, index=True),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("category", sa.String(32), nullable=False, index=True),
            sa.Column("status", sa.String(16), nullable=False, index=True),
            sa.Column("proposer", _id(), nullable=False, index=True),
            sa.Column("lead_unit", _id(), index=True),
            sa.Column("co_units", sa.JSON, nullable=False),
            sa.Column("round", sa.Integer, nullable=False),          # 0 until assigned
            sa.Column("deadline", sa.String(10)),                    # of the current round
            sa.Column("overdue", sa.Boolean, nullable=False),
            sa.Column("key", sa.Boolean, nullable=False),
            sa.Column("supervisors", sa.JSON, nullable=False),
            sa.Column("published", sa.Boolean, nullable=False),
            sa.Column("reply_class", sa.String(1)),                  # of the current round
            sa.Column("replied_on_time", sa.Boolean),                # of the current round
            sa.Column("merged_into", _id()),
            sa.Column("submitted_at", sa.String(32), nullable=False),
            sa.Column("filed_at", sa.String(32)),
            sa.Column("replied_at", sa.String(32)),                  # of the current round
            sa.Column("closed_at", sa.String(32)),
            sa.Column("updated_at", sa.String(32), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False, index=True),
        )
        # The current round's units, so that "lead or co-unit" is an indexed lookup on every
        # database instead of a search inside JSON.
        self.units = sa.Table(
            "proposal_worklist_units", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("unit", _id(), primary_key=True, index=True),
            sa.Column("role", sa.String(4), nullable=False),
        )

    def handler(self, event_type: str) -> Handler | None:
        # Any other event of a case's stream still moves its updated_at and position.
        specific = super().handler(event_type)
        if specific is None and event_type in domain.registry:
            return self._touch
        return specific

    def _touch(self, conn: ViewConnection, env: Envelope) -> None:
        pid = env.data.get("proposal_id")
        if isinstance(pid, str) and env.stream == domain.proposal_stream(pid):
            self._update(conn, env)

    def _update(self, conn: ViewConnection, env: Envelope, **values: Any) -> None:
        conn.update(self.cases, {"proposal_id": _pid(env)},
                    updated_at=_ts(env), position=env.position, **values)

    def _update_if_current_round(self, conn: ViewConnection, env: Envelope, **values: Any) -> None:
        # An event about an earlier round (the timer's, late) must not touch the current one.
        conn.update(self.cases, {"proposal_id": _pid(env), "round": env.data["round"]}, **values)

    def _set_units(self, conn: ViewConnection, env: Envelope) -> None:
        conn.delete(self.units, proposal_id=_pid(env))
        conn.insert(self.units, _unit_rows(env.data, proposal_id=_pid(env)))

    def on_ProposalSubmitted(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.cases,
                    proposal_id=d["proposal_id"], session=d.get("session") or "",
                    year=env.occurred_at.astimezone(SHANGHAI).year, kind=d.get("kind") or "individual",
                    title=d["title"], category=d["category"], status=SUBMITTED, proposer=d["proposer"],
                    co_units=[], round=0, overdue=False, key=False, supervisors=[], published=False,
                    submitted_at=_ts(env), updated_at=_ts(env), position=env.position)

    def on_ProposalReturned(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=RETURNED)

    def on_ProposalRevised(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=SUBMITTED, title=env.data["title"],
                     category=env.data["category"])

    def on_ProposalFiled(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._update(conn, env, status=FILED, case_number=d["case_number"], title=d["title"],
                     category=d["category"], filed_at=_ts(env))

    def on_ProposalNotFiled(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=NOT_FILED)

    def on_ProposalMerged(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=MERGED, merged_into=env.data["into"])

    def _new_round(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._update(conn, env, status=ASSIGNED, round=d["round"], lead_unit=d["lead_unit"],
                     co_units=list(d.get("co_units") or ()), deadline=d["deadline"], overdue=False,
                     reply_class=None, replied_on_time=None, replied_at=None)
        self._set_units(conn, env)

    on_ProposalAssigned = _new_round
    on_RehandlingStarted = _new_round

    def on_ProposalReassigned(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._update(conn, env, lead_unit=d["lead_unit"], co_units=list(d.get("co_units") or ()),
                     deadline=d["deadline"], overdue=False)
        self._set_units(conn, env)

    def on_ReplyOverdue(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env)
        self._update_if_current_round(conn, env, overdue=True)

    def on_ReplyDeadlineMoved(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env)
        self._update_if_current_round(conn, env, deadline=env.data["deadline"], overdue=False)

    def on_ProposalReplied(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._update(conn, env, status=REPLIED, reply_class=d["reply_class"],
                     replied_on_time=bool(d["on_time"]), replied_at=_ts(env), overdue=False)

    def on_ProposalDesignatedKey(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, key=True, supervisors=list(env.data["supervisors"]))

    def on_ProposalClosed(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=CLOSED, closed_at=_ts(env))

    def on_ProposalPublished(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, published=True)

    def on_ProposalUnpublished(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, published=False)


LATEST, URGENT = "latest", "urgent"
WORKLIST_ORDERS = (LATEST, URGENT)
NO_DEADLINE = "9999-12-31"   # sorts after every deadline
DUE_SOON_DAYS = 7            # the default reminder window (DeadlineRules.reminder_days' largest)


def worklist(conn: sa.Connection, projection: Worklist, *, status: str | Sequence[str] | None = None,
             unit: str | None = None, category: str | None = None, session: str | None = None,
             year: int | None = None, overdue: bool | None = None, key: bool | None = None,
             order: str = LATEST, today: date | None = None,
             due_soon: Callable[[date], bool] | None = None, page: PageRequest | None = None) -> Any:
    """Worklist rows (every column of ``proposal_worklist``), latest activity first.

    ``status``: one status or several; ``unit``: the current round's lead unit or any of its
    co-units; the other filters match their column; None means any. ``page``: a page of them
    (``q`` searches title and case number); None: every row, as a list.

    ``today`` (the committee's date): each row also says ``due_in_days`` (its open round's
    deadline minus today; None unless the case waits for its reply) and ``urgency``:
    "overdue" (the timer escalated it, or the deadline passed), "due_soon" (``due_soon(deadline)``,
    by default within DUE_SOON_DAYS days: the reminder window) or None.
    ``order`` "urgent" (needs ``today``): overdue rounds first (the longest overdue first), then
    the other open rounds by nearest deadline, then every other case latest activity first; the
    keyset cursor carries that order (a page boundary stays put while nothing changes, though
    a day passing may move a case up)."""
    if order not in WORKLIST_ORDERS:
        raise ValueError(f"order must be one of {WORKLIST_ORDERS}, not {order!r}")
    if order == URGENT and today is None:
        raise ValueError("the urgent order needs today's date")
    t, u = projection.cases, projection.units
    c = t.c
    q = sa.select(t)
    if status is not None:
        q = q.where(c.status == status if isinstance(status, str) else c.status.in_(list(status)))
    if unit is not None:
        q = q.where(sa.exists().where(u.c.proposal_id == c.proposal_id, u.c.unit == unit))
    for column, value in ((c.category, category), (c.session, session), (c.year, year),
                          (c.overdue, overdue), (c.key, key)):
        if value is not None:
            q = q.where(column == value)
    newest = ((c.position, True), (c.proposal_id, False))
    if order == URGENT:
        waiting = sa.and_(c.status == ASSIGNED, c.deadline.is_not(None))
        late = sa.and_(waiting, sa.or_(c.overdue.is_(True), c.deadline < today.isoformat()))
        rank = sa.type_coerce(sa.case((late, 0), (waiting, 1), else_=2), sa.Integer)
        due = sa.type_coerce(sa.case((waiting, c.deadline), else_=NO_DEADLINE), sa.String)
        ordering: tuple[tuple[Any, bool], ...] = ((rank, False), (due, False), *newest)
    else:
        ordering = newest
    item: Callable[[Row], Row] = dict
    if today is not None:
        soon = due_soon or (lambda d: (d - today).days <= DUE_SOON_DAYS)

        def item(row: Row) -> Row:
            waits = row["status"] == ASSIGNED and bool(row["deadline"])
            deadline = date.fromisoformat(row["deadline"]) if waits else None
            row["due_in_days"] = (deadline - today).days if deadline else None
            row["urgency"] = (None if deadline is None
                              else "overdue" if row["overdue"] or deadline < today
                              else "due_soon" if soon(deadline) else None)
            return dict(row)
    return select_page(conn, q, page, order=ordering, search=(c.title, c.case_number), item=item)


# -- handling units' inbox --------------------------------------------------------------------

class UnitInbox(Projection):
    """Per (proposal, round, unit): what a handling unit has to do. A reassignment replaces the
    round's rows: the units it was taken from no longer see it."""

    name = "unit_inbox"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.cases = sa.Table(
            "proposal_inbox_cases", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("case_number", sa.String(40), nullable=False),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("category", sa.String(32), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("key", sa.Boolean, nullable=False),
        )
        self.rows = sa.Table(
            "proposal_inbox", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("round", sa.Integer, primary_key=True),
            sa.Column("unit", _id(), primary_key=True, index=True),
            sa.Column("role", sa.String(4), nullable=False),
            sa.Column("lead_unit", _id(), nullable=False),
            sa.Column("started_on", sa.String(10), nullable=False),
            sa.Column("deadline", sa.String(10), nullable=False),
            sa.Column("replied", sa.Boolean, nullable=False),
            sa.Column("escalated", sa.Boolean, nullable=False),      # ReplyOverdue was raised
            sa.Column("objection_pending", sa.Boolean, nullable=False),
            sa.Column("opinion_sent", sa.Boolean, nullable=False),   # a co-unit's 会办意见
            sa.Column("position", sa.BigInteger, nullable=False),
        )

    def _status(self, conn: ViewConnection, env: Envelope, status: str) -> None:
        conn.update(self.cases, {"proposal_id": _pid(env)}, status=status)

    def _add_round(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.rows, _unit_rows(
            d, proposal_id=d["proposal_id"], round=d["round"], lead_unit=d["lead_unit"],
            started_on=d["started_on"], deadline=d["deadline"], replied=False, escalated=False,
            objection_pending=False, opinion_sent=False, position=env.position))

    def on_ProposalFiled(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.cases, proposal_id=d["proposal_id"], case_number=d["case_number"],
                    title=d["title"], category=d["category"], status=FILED, key=False)

    def _new_round(self, conn: ViewConnection, env: Envelope) -> None:
        self._status(conn, env, ASSIGNED)
        self._add_round(conn, env)

    on_ProposalAssigned = _new_round
    on_RehandlingStarted = _new_round

    def on_ProposalReassigned(self, conn: ViewConnection, env: Envelope) -> None:
        conn.delete(self.rows, proposal_id=_pid(env), round=env.data["round"])
        self._add_round(conn, env)

    def _flag(self, conn: ViewConnection, env: Envelope, unit: str | None, **values: Any) -> None:
        """Set ``values`` on the event's round: on one unit's row, or (``unit`` None) on all."""
        key = {"proposal_id": _pid(env), "round": env.data["round"]}
        if unit is not None:
            key["unit"] = unit
        conn.update(self.rows, key, **values)

    def on_AssignmentObjected(self, conn: ViewConnection, env: Envelope) -> None:
        self._flag(conn, env, env.data["unit"], objection_pending=True)

    def on_ObjectionDismissed(self, conn: ViewConnection, env: Envelope) -> None:
        self._flag(conn, env, env.data["unit"], objection_pending=False)

    def on_CoUnitOpinionSent(self, conn: ViewConnection, env: Envelope) -> None:
        self._flag(conn, env, env.data["unit"], opinion_sent=True)

    def on_ReplyOverdue(self, conn: ViewConnection, env: Envelope) -> None:
        self._flag(conn, env, None, escalated=True)

    def on_ReplyDeadlineMoved(self, conn: ViewConnection, env: Envelope) -> None:
        self._flag(conn, env, None, deadline=env.data["deadline"], escalated=False)

    def on_ProposalReplied(self, conn: ViewConnection, env: Envelope) -> None:
        self._status(conn, env, REPLIED)
        self._flag(conn, env, None, replied=True, escalated=False)

    def on_ProposalClosed(self, conn: ViewConnection, env: Envelope) -> None:
        self._status(conn, env, CLOSED)

    def on_ProposalDesignatedKey(self, conn: ViewConnection, env: Envelope) -> None:
        conn.update(self.cases, {"proposal_id": _pid(env)}, key=True)


def unit_inbox(conn: sa.Connection, projection: UnitInbox, unit: str, *, today: date,
               open_only: bool = True, page: PageRequest | None = None) -> Any:
    """The unit's assignments, most urgent first (by deadline).

    Each row: proposal_id, case_number, title, category, key, status (of the case), round,
    role ("lead" | "co"), lead_unit, started_on, deadline, replied (the round's reply was given),
    escalated (the timer raised ReplyOverdue and no reply or new deadline came since),
    objection_pending (this unit's), opinion_sent (this co-unit's), due_in_days (deadline minus
    ``today``; None once replied) and overdue (not replied and the deadline passed, or escalated).
    ``open_only``: only rounds still waiting for their reply. ``page``: a page of them (``q``
    searches title and case number); None: every row, as a list."""
    r, k = projection.rows, projection.cases
    q = (sa.select(r.c.proposal_id, k.c.case_number, k.c.title, k.c.category, k.c.key, k.c.status,
                   r.c.round, r.c.role, r.c.lead_unit, r.c.started_on, r.c.deadline, r.c.replied,
                   r.c.escalated, r.c.objection_pending, r.c.opinion_sent)
         .join(k, k.c.proposal_id == r.c.proposal_id).where(r.c.unit == unit))
    if open_only:
        q = q.where(r.c.replied.is_(False))

    def item(row: Row) -> Row:
        due = None if row["replied"] else (date.fromisoformat(row["deadline"]) - today).days
        row["due_in_days"] = due
        row["overdue"] = due is not None and (due < 0 or row["escalated"])
        return row

    return select_page(conn, q, page, item=item, search=(k.c.title, k.c.case_number),
                       order=((r.c.deadline, False), (k.c.case_number, False),
                              (r.c.proposal_id, False), (r.c.round, False)))


# -- members' own cases -----------------------------------------------------------------------

class ProposerCases(Projection):
    """Per (proposal, member): the member's relation to the case and their own rating of its
    current round. Co-signers appear on submission (``confirmed`` False until they confirm);
    one who declines, or had not confirmed when the case was filed, is taken off."""

    name = "proposer_cases"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.cases = sa.Table(
            "proposal_member_cases", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("case_number", sa.String(40)),
            sa.Column("title", sa.Text, nullable=False),
            sa.Column("category", sa.String(32), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("round", sa.Integer, nullable=False),
            sa.Column("lead_unit", _id()),
            sa.Column("reply_class", sa.String(1)),                   # of the current round
            sa.Column("merged_into", _id()),
            sa.Column("submitted_at", sa.String(32), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),     # of the submission
        )
        self.members = sa.Table(
            "proposal_members", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("member_id", _id(), primary_key=True, index=True),
            sa.Column("relation", sa.String(16), nullable=False),
            sa.Column("confirmed", sa.Boolean, nullable=False),
            sa.Column("reply_rating", sa.String(24)),                  # this member's, current round
            sa.Column("attitude_rating", sa.String(24)),
        )
        # Not a delete by key (every co-signer but those listed), so built once with parameters.
        m = self.members.c
        self._drop_unlisted_co_signers = self.members.delete().where(
            m.proposal_id == sa.bindparam("proposal_id"), m.relation == CO_SIGNER,
            m.member_id.not_in(sa.bindparam("listed", expanding=True)))

    def _case(self, conn: ViewConnection, env: Envelope, **values: Any) -> None:
        conn.update(self.cases, {"proposal_id": _pid(env)}, **values)

    def _member(self, env: Envelope, member: str) -> Row:
        return {"proposal_id": _pid(env), "member_id": member}

    def on_ProposalSubmitted(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.cases, proposal_id=d["proposal_id"], title=d["title"],
                    category=d["category"], status=SUBMITTED, round=0, submitted_at=_ts(env),
                    position=env.position)
        conn.insert(self.members, [
            {"proposal_id": d["proposal_id"], "member_id": d["proposer"], "relation": PROPOSER,
             "confirmed": True},
            *({"proposal_id": d["proposal_id"], "member_id": s, "relation": CO_SIGNER,
               "confirmed": False} for s in d.get("co_signers") or ())])

    def on_CoSignatureConfirmed(self, conn: ViewConnection, env: Envelope) -> None:
        conn.update(self.members, self._member(env, env.data["co_signer"]), confirmed=True)

    def on_CoSignatureDeclined(self, conn: ViewConnection, env: Envelope) -> None:
        conn.delete(self.members, **self._member(env, env.data["co_signer"]))

    def on_ProposalReturned(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=RETURNED)

    def on_ProposalRevised(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=SUBMITTED, title=env.data["title"],
                   category=env.data["category"])

    def on_ProposalFiled(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._case(conn, env, status=FILED, case_number=d["case_number"], title=d["title"],
                   category=d["category"])
        # The event lists the co-signers who confirmed: the others are not on the case.
        listed = list(d.get("co_signers") or ())
        if listed:
            conn.execute(self._drop_unlisted_co_signers,
                         {"proposal_id": d["proposal_id"], "listed": listed})
        else:  # most cases: no co-signer stays, a delete by key
            conn.delete(self.members, proposal_id=d["proposal_id"], relation=CO_SIGNER)

    def on_ProposalNotFiled(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=NOT_FILED)

    def on_ProposalMerged(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=MERGED, merged_into=env.data["into"])

    def on_MergedProposalAdded(self, conn: ViewConnection, env: Envelope) -> None:
        # A member already on the surviving case keeps their own relation to it.
        conn.insert_ignore(self.members, [
            {"proposal_id": _pid(env), "member_id": p, "relation": MERGED_PROPOSER,
             "confirmed": True} for p in dict.fromkeys(env.data.get("proposers") or ())])

    def on_ProposalAssigned(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._case(conn, env, status=ASSIGNED, round=d["round"], lead_unit=d["lead_unit"])

    def on_ProposalReassigned(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, lead_unit=env.data["lead_unit"])

    def on_RehandlingStarted(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._case(conn, env, status=ASSIGNED, round=d["round"], lead_unit=d["lead_unit"],
                   reply_class=None)
        # A new round: nobody has rated it yet.
        conn.update(self.members, {"proposal_id": d["proposal_id"]},
                    reply_rating=None, attitude_rating=None)

    def on_ProposalReplied(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=REPLIED, reply_class=env.data["reply_class"])

    def on_ReplyRated(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.update(self.members, self._member(env, d["rater"]),
                    reply_rating=d["reply_rating"], attitude_rating=d["attitude_rating"])

    def on_ProposalClosed(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=CLOSED)


def cases_of_member(conn: sa.Connection, projection: ProposerCases, member_id: str, *,
                    page: PageRequest | None = None) -> Any:
    """The member's cases, newest submission first. Each row: proposal_id, relation
    ("proposer" | "co_signer" | "merged_proposer"), confirmed, case_number, title, category,
    status, round, lead_unit, reply_class, merged_into, submitted_at, and the member's own
    reply_rating and attitude_rating of the current round (None until they rate it).
    ``page``: a page of them (``q`` searches title and case number); None: every row, as a list."""
    k, m = projection.cases, projection.members
    q = (sa.select(k.c.proposal_id, m.c.relation, m.c.confirmed, k.c.case_number, k.c.title,
                   k.c.category, k.c.status, k.c.round, k.c.lead_unit, k.c.reply_class,
                   k.c.merged_into, k.c.submitted_at, m.c.reply_rating, m.c.attitude_rating)
         .join(k, k.c.proposal_id == m.c.proposal_id).where(m.c.member_id == member_id))
    return select_page(conn, q, page, order=((k.c.position, True), (k.c.proposal_id, False)),
                       search=(k.c.title, k.c.case_number))


def proposers_by_case(conn: sa.Connection, projection: ProposerCases,
                      proposal_ids: Iterable[str]) -> dict[str, list[str]]:
    """The confirmed proposers of each case (proposer first, then co-signers, then the
    proposers of merged cases), for internal reports."""
    m = projection.members.c
    order = sa.case({PROPOSER: 0, CO_SIGNER: 1}, value=m.relation, else_=2)
    q = (sa.select(m.proposal_id, m.member_id)
         .where(m.proposal_id.in_(list(proposal_ids)), m.confirmed.is_(True))
         .order_by(m.proposal_id, order, m.member_id))
    out: dict[str, list[str]] = defaultdict(list)
    for pid, member in conn.execute(q):
        out[pid].append(member)
    return dict(out)


# -- the public's view --------------------------------------------------------------------------

_PUBLIC_FIELDS = ("case_number", "title", "category", "reasons", "suggestions", "status",
                  "lead_unit", "reply_class", "reply")


class PublicCases(Projection):
    """Published cases 公开 and their approved comments.

    ``proposal_public_cases`` and ``proposal_public_comments`` hold only what the public sees.
    What a case needs before it is published (its text, a reply given earlier) waits in
    ``proposal_public_staging``; comments wait for moderation in ``proposal_comment_queue``.
    No table here holds a proposer's or a commenter's id, or a rating."""

    name = "public_cases"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        def case_columns() -> list[sa.Column[Any]]:
            return [sa.Column("proposal_id", _id(), primary_key=True),
                    sa.Column("case_number", sa.String(40)),
                    sa.Column("title", sa.Text, nullable=False),
                    sa.Column("category", sa.String(32), nullable=False),
                    sa.Column("reasons", sa.Text, nullable=False),
                    sa.Column("suggestions", sa.Text, nullable=False),
                    sa.Column("status", sa.String(16), nullable=False),
                    sa.Column("lead_unit", _id()),
                    sa.Column("reply_class", sa.String(1)),   # of the latest round with a reply
                    sa.Column("reply", sa.Text)]

        self.staging = sa.Table("proposal_public_staging", metadata, *case_columns())
        self.cases = sa.Table(
            "proposal_public_cases", metadata, *case_columns(),
            sa.Column("proposer_names", sa.JSON, nullable=False),
            sa.Column("published_at", sa.String(32), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),      # of the publication
            sa.Index("ix_proposal_public_cases_case_number", "case_number"),
        )
        self.queue = sa.Table(
            "proposal_comment_queue", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("comment_id", _id(), primary_key=True),
            sa.Column("display_name", sa.String(60), nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("submitted_at", sa.String(32), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),
        )
        self.comments = sa.Table(
            "proposal_public_comments", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("comment_id", _id(), primary_key=True),
            sa.Column("display_name", sa.String(60), nullable=False),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("answer", sa.Text),
            sa.Column("submitted_at", sa.String(32), nullable=False),
            sa.Column("answered_at", sa.String(32)),
            sa.Column("position", sa.BigInteger, nullable=False),      # of the submission
        )
        # The rows publication and approval copy, read by key: built once with parameters.
        st, q = self.staging, self.queue
        self._staged = sa.select(st).where(st.c.proposal_id == sa.bindparam("proposal_id"))
        self._waiting = (sa.select(q.c.proposal_id, q.c.comment_id, q.c.display_name, q.c.text,
                                   q.c.submitted_at, q.c.position)
                         .where(q.c.proposal_id == sa.bindparam("proposal_id"),
                                q.c.comment_id == sa.bindparam("comment_id")))

    def _set(self, conn: ViewConnection, env: Envelope, **values: Any) -> None:
        # The staging row always, the public row when the case is published.
        for table in (self.staging, self.cases):
            conn.update(table, {"proposal_id": _pid(env)}, **values)

    def on_ProposalSubmitted(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.staging, proposal_id=d["proposal_id"], title=d["title"],
                    category=d["category"], reasons=d["reasons"], suggestions=d["suggestions"],
                    status=SUBMITTED)

    def on_ProposalRevised(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._set(conn, env, status=SUBMITTED, title=d["title"], category=d["category"],
                  reasons=d["reasons"], suggestions=d["suggestions"])

    def on_ProposalReturned(self, conn: ViewConnection, env: Envelope) -> None:
        self._set(conn, env, status=RETURNED)

    def on_ProposalNotFiled(self, conn: ViewConnection, env: Envelope) -> None:
        self._set(conn, env, status=NOT_FILED)

    def on_ProposalMerged(self, conn: ViewConnection, env: Envelope) -> None:
        self._set(conn, env, status=MERGED)

    def on_ProposalFiled(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._set(conn, env, status=FILED, case_number=d["case_number"], title=d["title"],
                  category=d["category"])

    def on_ProposalAssigned(self, conn: ViewConnection, env: Envelope) -> None:
        self._set(conn, env, status=ASSIGNED, lead_unit=env.data["lead_unit"])

    # A new round keeps showing the reply of the last round that has one.
    on_RehandlingStarted = on_ProposalAssigned

    def on_ProposalReassigned(self, conn: ViewConnection, env: Envelope) -> None:
        self._set(conn, env, lead_unit=env.data["lead_unit"])

    def on_ProposalReplied(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._set(conn, env, status=REPLIED, reply_class=d["reply_class"], reply=d["reply"])

    def on_ProposalClosed(self, conn: ViewConnection, env: Envelope) -> None:
        self._set(conn, env, status=CLOSED)

    def on_ProposalPublished(self, conn: ViewConnection, env: Envelope) -> None:
        staged = conn.execute(self._staged, {"proposal_id": _pid(env)}).mappings().one()
        conn.insert(self.cases, {**staged, "proposer_names": list(env.data["proposer_names"]),
                                 "published_at": _ts(env), "position": env.position})

    def on_ProposalUnpublished(self, conn: ViewConnection, env: Envelope) -> None:
        # Its comments stay (hidden by the queries' join) and show again if it is republished.
        conn.delete(self.cases, proposal_id=_pid(env))

    def _comment(self, env: Envelope) -> Row:
        return {"proposal_id": _pid(env), "comment_id": env.data["comment_id"]}

    def on_CommentSubmitted(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data  # the author's id is left out on purpose: it is never shown
        conn.insert(self.queue, proposal_id=d["proposal_id"], comment_id=d["comment_id"],
                    display_name=d["display_name"], text=d["text"], status=PENDING,
                    submitted_at=_ts(env), position=env.position)

    def on_CommentApproved(self, conn: ViewConnection, env: Envelope) -> None:
        waiting = conn.execute(self._waiting, self._comment(env)).mappings().one()
        conn.insert(self.comments, dict(waiting))
        conn.update(self.queue, self._comment(env), status=APPROVED)

    def on_CommentRejected(self, conn: ViewConnection, env: Envelope) -> None:
        conn.update(self.queue, self._comment(env), status=REJECTED)

    def on_CommentAnswered(self, conn: ViewConnection, env: Envelope) -> None:
        conn.update(self.comments, self._comment(env), answer=env.data["answer"],
                    answered_at=_ts(env))


_LIST_COLUMNS = ("proposal_id", "case_number", "title", "category", "proposer_names", "lead_unit",
                 "status", "reply_class", "published_at")

# What the public reads beside each code (the codes stay: programs use them).
STATUS_LABELS = {status: STATE_LABELS[status][1] for status in STATUSES}  # 已立案, 已答复 …
CATEGORY_LABELS = {"economy": "经济", "politics": "政治", "culture": "文化", "society": "社会",
                   "ecology": "生态文明", "other": "其他"}
REPLY_CLASS_LABELS = {"A": "A类：所提问题已解决或基本解决", "B": "B类：所提问题正在解决或已列入计划",
                      "C": "C类：所提问题因条件限制暂不能解决"}
Names = Callable[[Iterable[str]], Mapping[str, str]]


def labelled(rows: list[Row], names: Names | None = None) -> list[Row]:
    """Public rows with the Chinese labels beside their codes (``status_label``,
    ``category_label``, ``reply_class_label``) and ``lead_unit_name``: the name ``names`` gives
    for the unit's id (the directory), else the id itself (nothing else is known of it)."""
    known = dict(names(r["lead_unit"] for r in rows if r.get("lead_unit"))) if names else {}
    for r in rows:
        r["status_label"] = STATUS_LABELS.get(r["status"], r["status"])
        r["category_label"] = CATEGORY_LABELS.get(r["category"], r["category"])
        r["reply_class_label"] = REPLY_CLASS_LABELS.get(r.get("reply_class") or "")
        r["lead_unit_name"] = known.get(r["lead_unit"], r["lead_unit"]) if r.get("lead_unit") else None
    return rows


def public_list(conn: sa.Connection, projection: PublicCases, *, category: str | None = None,
                page: PageRequest | None = None, names: Names | None = None) -> Any:
    """Published cases, latest publication first. Each row: proposal_id (what a comment is
    posted to), case_number, title, category, proposer_names, lead_unit, status, reply_class,
    published_at, comments (approved ones), and the labels of ``labelled``."""
    t, cm = projection.cases, projection.comments
    count = (sa.select(sa.func.count()).select_from(cm)
             .where(cm.c.proposal_id == t.c.proposal_id).scalar_subquery())
    q = sa.select(*(t.c[n] for n in _LIST_COLUMNS), count.label("comments"))
    if category is not None:
        q = q.where(t.c.category == category)
    # ``page``: a page of them (``q`` searches title and case number); None: every row, as a list.
    found = select_page(conn, q, page, order=((t.c.position, True), (t.c.proposal_id, False)),
                        search=(t.c.title, t.c.case_number))
    labelled(found if isinstance(found, list) else found["items"], names)
    return found


def public_detail(conn: sa.Connection, projection: PublicCases, case_number: str, *,
                  names: Names | None = None) -> Row | None:
    """One published case: the list's fields and labels, reasons, suggestions, reply (the text of the
    latest round with a reply), and its approved comments in order, each with comment_id,
    display_name, text, answer (the lead unit's, or None), submitted_at, answered_at.
    None if no published case has that number."""
    t, cm = projection.cases, projection.comments
    row = conn.execute(sa.select(t).where(t.c.case_number == case_number)).mappings().first()
    if row is None:
        return None
    out = {k: row[k] for k in (*_LIST_COLUMNS, "reasons", "suggestions", "reply")}
    q = (sa.select(cm.c.comment_id, cm.c.display_name, cm.c.text, cm.c.answer, cm.c.submitted_at,
                   cm.c.answered_at)
         .where(cm.c.proposal_id == row["proposal_id"]).order_by(cm.c.position))
    out["comments"] = [dict(r) for r in conn.execute(q).mappings()]
    return labelled([out], names)[0]


# -- statistics -------------------------------------------------------------------------------

class Statistics(Projection):
    """The facts the year's statistics are counted from (see ``statistics``): per case, the
    final units of each round, each round's reply, each rating."""

    name = "statistics"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.cases = sa.Table(
            "proposal_stats_cases", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("year", sa.Integer, nullable=False, index=True),
            sa.Column("session", sa.String(20), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("category", sa.String(32), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("filed", sa.Boolean, nullable=False),
            sa.Column("case_number", sa.String(40)),
            sa.Column("lead_unit", _id()),
            sa.Column("rounds", sa.Integer, nullable=False),
        )
        self.units = sa.Table(
            "proposal_stats_units", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("round", sa.Integer, primary_key=True),
            sa.Column("unit", _id(), primary_key=True),
            sa.Column("role", sa.String(4), nullable=False),
        )
        self.replies = sa.Table(
            "proposal_stats_replies", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("round", sa.Integer, primary_key=True),
            sa.Column("unit", _id(), nullable=False),
            sa.Column("reply_class", sa.String(1), nullable=False),
            sa.Column("on_time", sa.Boolean, nullable=False),
            sa.Column("replied_on", sa.String(10), nullable=False),
        )
        self.ratings = sa.Table(
            "proposal_stats_ratings", metadata,
            sa.Column("proposal_id", _id(), primary_key=True),
            sa.Column("round", sa.Integer, primary_key=True),
            sa.Column("rater", _id(), primary_key=True),
            sa.Column("unit", _id(), nullable=False),
            sa.Column("reply_rating", sa.String(24), nullable=False),
            sa.Column("attitude_rating", sa.String(24), nullable=False),
        )

    def _case(self, conn: ViewConnection, env: Envelope, **values: Any) -> None:
        conn.update(self.cases, {"proposal_id": _pid(env)}, **values)

    def _add_units(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.units, _unit_rows(d, proposal_id=d["proposal_id"], round=d["round"]))

    def on_ProposalSubmitted(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.cases,
                    proposal_id=d["proposal_id"], year=env.occurred_at.astimezone(SHANGHAI).year,
                    session=d.get("session") or "", kind=d.get("kind") or "individual",
                    category=d["category"], status=SUBMITTED, filed=False, rounds=0)

    def on_ProposalRevised(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=SUBMITTED, category=env.data["category"])

    def on_ProposalReturned(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=RETURNED)

    def on_ProposalNotFiled(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=NOT_FILED)

    def on_ProposalMerged(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=MERGED)

    def on_ProposalFiled(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._case(conn, env, status=FILED, filed=True, case_number=d["case_number"],
                   category=d["category"])

    def _new_round(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._case(conn, env, status=ASSIGNED, rounds=d["round"], lead_unit=d["lead_unit"])
        self._add_units(conn, env)

    on_ProposalAssigned = _new_round
    on_RehandlingStarted = _new_round

    def on_ProposalReassigned(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._case(conn, env, lead_unit=d["lead_unit"])
        conn.delete(self.units, proposal_id=d["proposal_id"], round=d["round"])
        self._add_units(conn, env)

    def on_ProposalReplied(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._case(conn, env, status=REPLIED)
        replied_on = d.get("replied_on") or env.occurred_at.astimezone(SHANGHAI).date().isoformat()
        conn.insert(self.replies,
                    proposal_id=d["proposal_id"], round=d["round"], unit=d["unit"],
                    reply_class=d["reply_class"], on_time=bool(d["on_time"]), replied_on=replied_on)

    def on_ReplyRated(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.ratings,
                    proposal_id=d["proposal_id"], round=d["round"], rater=d["rater"], unit=d["unit"],
                    reply_rating=d["reply_rating"], attitude_rating=d["attitude_rating"])

    def on_ProposalClosed(self, conn: ViewConnection, env: Envelope) -> None:
        self._case(conn, env, status=CLOSED)


def statistics(conn: sa.Connection, projections: Statistics | Any, year: int) -> dict[str, Any]:
    """The figures of one year 年度统计, over the proposals submitted in ``year`` (the year of
    ProposalSubmitted's occurred_at in Beijing time), whenever they were handled. Rates are
    floats in [0, 1], or None when nothing was there to count. ``projections``: the Statistics
    projection, or what holds it (a service's ``Views``, a ProjectionRunner, a list of them).

    * ``proposals``: proposals submitted in the year (every status, merged and not filed ones too).
    * ``by_status``: their current status, every status of the lifecycle listed (0 if none).
    * ``filed``: those filed 立案 (a filed case stays filed: assigned, replied and closed too).
    * ``by_category``: filed cases by their category as filed, every category listed.
    * ``by_lead_unit``: filed cases that were assigned, by their current lead unit.
    * ``replies``: ``total`` replies (one per case and round, every round), ``on_time`` of them
      (replied by that round's deadline) and ``on_time_rate`` = on_time / total;
      ``first_round`` replies (round 1: each case's first reply), ``first_round_on_time`` and
      ``first_round_on_time_rate`` = first_round_on_time / first_round, the headline on-time
      rate 按时答复率 (later rounds have their own, shorter deadlines).
    * ``satisfaction``: over *final ratings*: for each (case, rater), the rating of the highest
      round that rater rated (a re-handled case counts once per proposer, with the last word).
      ``ratings`` = how many; for ``reply`` and ``attitude``: ``counts`` and ``shares`` per rating
      (satisfied, basically_satisfied, unsatisfied; share = count / ratings) and ``rate`` =
      (satisfied + basically_satisfied) / ratings, the satisfaction rate 满意率.
    * ``reply_classes``: over cases with at least one reply, each counted once with the class of
      its latest reply (highest round): ``cases``, ``counts`` and ``shares`` (count / cases) of A, B, C.
    * ``rounds_needed``: closed cases by their number of handling rounds (1 = no re-handling),
      every number from 1 to the highest listed; {} if none is closed.
    * ``units``: for every unit that is the lead or a co-unit of some round (as it stands after
      reassignments: a unit reassigned away within a round does not count for that round):
      ``assigned`` cases where it leads at least one round; ``co_assigned`` cases where it is a
      co-unit of at least one round; ``replies`` it gave (every round); ``replied`` cases it
      replied to at least once; ``first_round_replies``, ``first_round_on_time`` and
      ``on_time_rate`` = first_round_on_time / first_round_replies; ``ratings``: its final ratings,
      for each (case, rater) the rating of the highest round that rater rated this unit's reply;
      ``satisfaction_rate`` and ``attitude_satisfaction_rate`` = (satisfied + basically
      satisfied) / ratings, for the reply and for the contact attitude; ``reply_classes``: A, B, C
      counts over the cases it replied to, each with the class of its latest reply there.
    """
    s = find_projection(projections, Statistics)
    of_year = sa.select(s.cases.c.proposal_id).where(s.cases.c.year == year)

    def rows(table: sa.Table, where: sa.ColumnElement[bool]) -> list[Row]:
        return [dict(r) for r in conn.execute(sa.select(table).where(where)).mappings()]

    return compute_statistics(
        year, rows(s.cases, s.cases.c.year == year),
        *(rows(t, t.c.proposal_id.in_(of_year)) for t in (s.units, s.replies, s.ratings)))


def compute_statistics(year: int, cases: list[Row], units: list[Row], replies: list[Row],
                       ratings: list[Row]) -> dict[str, Any]:
    """``statistics`` on rows of the Statistics tables (pure; see its docstring)."""
    filed = [c for c in cases if c["filed"]]
    by_status = Counter(c["status"] for c in cases)
    by_category = Counter(c["category"] for c in filed)
    by_lead = Counter(c["lead_unit"] for c in filed if c["lead_unit"])

    first = [r for r in replies if r["round"] == 1]
    on_time = [r for r in replies if r["on_time"]]
    first_on_time = [r for r in first if r["on_time"]]

    closed_rounds = Counter(c["rounds"] for c in cases if c["status"] == CLOSED)
    rounds_needed = {n: closed_rounds.get(n, 0) for n in range(1, max(closed_rounds, default=0) + 1)}

    latest_class = {pid: r["reply_class"] for pid, r in _latest(replies, ("proposal_id",)).items()}

    by_unit: dict[str, dict[str, Any]] = {}
    unit_names = sorted({u["unit"] for u in units})
    for name in unit_names:
        mine = [u for u in units if u["unit"] == name]
        my_replies = [r for r in replies if r["unit"] == name]
        my_first = [r for r in my_replies if r["round"] == 1]
        my_first_on_time = sum(1 for r in my_first if r["on_time"])
        my_ratings = list(_latest([r for r in ratings if r["unit"] == name],
                                  ("proposal_id", "rater")).values())
        my_classes = Counter(r["reply_class"] for r in _latest(my_replies, ("proposal_id",)).values())
        by_unit[name] = {
            "assigned": len({u["proposal_id"] for u in mine if u["role"] == LEAD}),
            "co_assigned": len({u["proposal_id"] for u in mine if u["role"] == CO}),
            "replies": len(my_replies),
            "replied": len({r["proposal_id"] for r in my_replies}),
            "first_round_replies": len(my_first),
            "first_round_on_time": my_first_on_time,
            "on_time_rate": _rate(my_first_on_time, len(my_first)),
            "ratings": len(my_ratings),
            "satisfaction_rate": _rate(sum(r["reply_rating"] in CONTENT for r in my_ratings),
                                       len(my_ratings)),
            "attitude_satisfaction_rate": _rate(
                sum(r["attitude_rating"] in CONTENT for r in my_ratings), len(my_ratings)),
            "reply_classes": {k: my_classes.get(k, 0) for k in REPLY_CLASSES},
        }

    final = list(_latest(ratings, ("proposal_id", "rater")).values())
    classes = Counter(latest_class.values())
    return {
        "year": year,
        "proposals": len(cases),
        "filed": len(filed),
        "by_status": {k: by_status.get(k, 0) for k in STATUSES},
        "by_category": {k: by_category.get(k, 0) for k in CATEGORIES},
        "by_lead_unit": dict(sorted(by_lead.items())),
        "replies": {
            "total": len(replies), "on_time": len(on_time),
            "on_time_rate": _rate(len(on_time), len(replies)),
            "first_round": len(first), "first_round_on_time": len(first_on_time),
            "first_round_on_time_rate": _rate(len(first_on_time), len(first)),
        },
        "satisfaction": {
            "ratings": len(final),
            "reply": _shares([r["reply_rating"] for r in final]),
            "attitude": _shares([r["attitude_rating"] for r in final]),
        },
        "reply_classes": {
            "cases": len(latest_class),
            "counts": {k: classes.get(k, 0) for k in REPLY_CLASSES},
            "shares": {k: _rate(classes.get(k, 0), len(latest_class)) for k in REPLY_CLASSES},
        },
        "rounds_needed": rounds_needed,
        "units": by_unit,
    }


# Satisfaction figures over fewer ratings than this are withheld outside the committee's office
# (docs/proposals.md, "Who sees the satisfaction figures"): with 1 rating the rate is the rating,
# with 2 a rate of 0.5 or 1.0 tells each rater's word to anyone who knows one of them.
MIN_RATINGS_SHOWN = 3
FEWER_THAN_K = {"reason": f"少于{MIN_RATINGS_SHOWN}份评价，不公开",
                "reason_en": f"fewer than {MIN_RATINGS_SHOWN} ratings: not shown"}
COMPLEMENT = {"reason": "为防止推算出不公开的评价，不公开",
              "reason_en": "not shown, so that a withheld figure cannot be worked out from it"}
_UNIT_SATISFACTION = ("satisfaction_rate", "attitude_satisfaction_rate")


def disclose_statistics(stats: Mapping[str, Any], *, units: Iterable[str] | None = None,
                        min_ratings: int = MIN_RATINGS_SHOWN) -> dict[str, Any]:
    """``stats`` (from ``statistics``) as shown outside the committee's office: to leaders, to
    subscriber systems, in the public year report. Pure.

    ``units``: the only units whose figures are shown (a subscriber's own organisation); None:
    every unit. No satisfaction figure rests on fewer than ``min_ratings`` ratings:

    * a unit with 1 … min_ratings-1 final ratings shows its ``ratings`` count but no rates
      (``withheld``: ``FEWER_THAN_K``);
    * complementary suppression: the committee-wide figures minus the units shown give the
      units not shown together; if those hold 1 … min_ratings-1 ratings, the shown units with
      the fewest ratings are withheld too (``COMPLEMENT``) until they hold enough, or, if no unit
      is left to add, the committee-wide satisfaction is withheld;
    * the committee-wide satisfaction over 1 … min_ratings-1 ratings is withheld.
    """
    out = {k: v for k, v in stats.items() if k not in ("units", "satisfaction", "by_lead_unit")}
    keep = None if units is None else set(units)
    all_units: Mapping[str, Mapping[str, Any]] = stats["units"]
    shown = {u: dict(f) for u, f in all_units.items() if keep is None or u in keep}

    def scarce(n: int) -> bool:
        return 0 < n < min_ratings

    def withhold(figures: dict[str, Any], why: Mapping[str, str]) -> None:
        figures.update({k: None for k in _UNIT_SATISFACTION}, withheld=dict(why))

    hidden = sum(f["ratings"] for u, f in all_units.items() if u not in shown)
    for f in shown.values():
        if scarce(f["ratings"]):
            withhold(f, FEWER_THAN_K)
            hidden += f["ratings"]
    satisfaction = dict(stats["satisfaction"])
    total_shown = not scarce(satisfaction["ratings"])
    if total_shown and scarce(hidden):
        for f in sorted((f for f in shown.values() if "withheld" not in f and f["ratings"]),
                        key=lambda f: f["ratings"]):
            withhold(f, COMPLEMENT)
            hidden += f["ratings"]
            if not scarce(hidden):
                break
        total_shown = not scarce(hidden)
    if not total_shown:
        satisfaction.update(reply=None, attitude=None,
                            withheld=dict(FEWER_THAN_K if scarce(satisfaction["ratings"])
                                          else COMPLEMENT))
    out.update(satisfaction=satisfaction, units=shown,
               by_lead_unit={u: n for u, n in stats["by_lead_unit"].items()
                             if keep is None or u in keep},
               disclosure={"min_ratings": min_ratings,
                           "units": "all" if keep is None else sorted(keep)})
    return out


def _latest(rows: list[Row], key: tuple[str, ...]) -> dict[tuple[Any, ...] | Any, Row]:
    """Per ``key``, the row of the highest round."""
    out: dict[Any, Row] = {}
    for r in rows:
        k = r[key[0]] if len(key) == 1 else tuple(r[f] for f in key)
        if k not in out or r["round"] > out[k]["round"]:
            out[k] = r
    return out


def _shares(values: list[str]) -> dict[str, Any]:
    counts = Counter(values)
    return {"counts": {k: counts.get(k, 0) for k in RATINGS},
            "shares": {k: _rate(counts.get(k, 0), len(values)) for k in RATINGS},
            "rate": _rate(sum(counts.get(k, 0) for k in CONTENT), len(values))}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None




def PROJECTIONS() -> list[Projection]:  # noqa: N802 - the name every service's views module exports
    from .directory import Directory  # the members, units and bodies known (directory.py)

    return [Worklist(), UnitInbox(), ProposerCases(), PublicCases(), Statistics(), Directory()]


__all__ = ["PROJECTIONS", "Worklist", "UnitInbox", "ProposerCases", "PublicCases", "Statistics",
           "worklist", "unit_inbox", "cases_of_member", "proposers_by_case", "public_list",
           "public_detail", "statistics", "compute_statistics", "find_projection", "STATUSES",
           "disclose_statistics", "MIN_RATINGS_SHOWN", "labelled", "STATUS_LABELS",
           "CATEGORY_LABELS", "REPLY_CLASS_LABELS", "Names", "WORKLIST_ORDERS"]


# -- a commenter's own comments (the web console's public pages, issue 15) --------------------------

def own_comments(case: domain.Proposal, events: Iterable[Any], author: str) -> list[Row]:
    """The comments ``author`` wrote on ``case`` (pending, approved or rejected), in order: each
    with comment_id, display_name, text, status, answer, and for a rejected one the moderator's
    reason (from ``events``, the case's). Never anyone else's comment, nor an author's id."""
    reasons = {e.comment_id: e.reason for e in events if isinstance(e, domain.CommentRejected)}
    return [{"comment_id": c.comment_id, "display_name": c.display_name, "text": c.text,
             "status": c.status, "answer": c.answer,
             "reason": reasons.get(c.comment_id) if c.status == "rejected" else None}
            for c in case.comments if c.author == author]
