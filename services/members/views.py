"""Read models of the members service, built from its own log by position.

Each projection reads nothing but its envelopes and its own tables, so a rebuild equals the
live model; queries may join several (they are in one views database). None holds contact
details: they are in no event.

* ``Organisations``: the organisation tree, stations and the communities they cover.
                                              queries: ``organisations``, ``org_index``
* ``MemberDirectory``: one row per member: sector, roles, station, status.   query: ``list_members``
* statuses (MemberDirectory + Organisations): whether members serve and organisations are
  open, for ``delivery_addresses``.           query: ``statuses``
* ``DutyLedger``: every ledger entry as priced now, the caps of each year's rules, each member's
  total per year (caps applied), the concluded assessments.
                                              queries: ``ranking``, ``members_with_entries``
* coverage (Organisations + MemberDirectory): every community and the members who look after it.
                                              query: ``coverage``
* ``DutyMenus``: the published duty menus 履职菜单 and who signed up for which item.
                                              query: ``menus``
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping

import sqlalchemy as sa

from xieshang.kernel.envelope import Envelope
from xieshang.kernel.projection import Projection
from xieshang.kernel.view_writes import ViewConnection
from xieshang.kernel.views import PageRequest, list_page, select_page

from . import domain
from .domain import ACTIVE, OPEN

Row = dict[str, Any]


def _id() -> sa.String:
    return sa.String(64)


# -- organisations ---------------------------------------------------------------------------

class Organisations(Projection):
    name = "organisations"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "organisations", metadata,
            sa.Column("org_id", _id(), primary_key=True),
            sa.Column("kind", sa.String(32), nullable=False, index=True),
            sa.Column("name", sa.String(100), nullable=False),
            sa.Column("parent", _id(), index=True),
            sa.Column("level", sa.String(16)),
            sa.Column("station_type", sa.String(32)),
            sa.Column("station_level", sa.String(16)),
            sa.Column("location", _id()),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),
        )
        self.covered = sa.Table(
            "station_communities", metadata,
            sa.Column("station_id", _id(), primary_key=True),
            sa.Column("community_id", _id(), primary_key=True),
        )

    def _update(self, conn: ViewConnection, env: Envelope, **values: Any) -> None:
        conn.update(self.rows, {"org_id": env.data["org_id"]}, position=env.position, **values)

    def _cover(self, conn: ViewConnection, station_id: str, communities: Iterable[str]) -> None:
        conn.delete(self.covered, station_id=station_id)
        conn.insert(self.covered, [{"station_id": station_id, "community_id": c}
                                   for c in dict.fromkeys(communities)])

    def on_OrganisationRegistered(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.rows, org_id=d["org_id"], kind=d["kind"], name=d["name"], parent=d.get("parent"),
                    level=d.get("level"), status=OPEN, position=env.position)

    def on_StationDefined(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert(self.rows, org_id=d["org_id"], kind="station", name=d["name"], parent=d.get("location"),
                    station_type=d["station_type"], station_level=d["level"], location=d.get("location"),
                    status=OPEN, position=env.position)
        self._cover(conn, d["org_id"], d.get("communities") or ())

    def on_OrganisationRenamed(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, name=env.data["name"])

    def on_OrganisationClosed(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=domain.CLOSED)

    def on_StationCommunitiesSet(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env)
        self._cover(conn, env.data["org_id"], env.data["communities"])


def organisations(conn: sa.Connection, orgs: Organisations, *, kind: str | None = None,
                  parent: str | None = None, include_closed: bool = False,
                  page: PageRequest | None = None) -> Any:
    """The organisations (stations with the communities they cover), by kind and name.
    ``page``: a page of them (``q`` searches the name); None: every one, as a list."""
    t = orgs.rows
    query = sa.select(t)
    if kind:
        query = query.where(t.c.kind == kind)
    if parent:
        query = query.where(t.c.parent == parent)
    if not include_closed:
        query = query.where(t.c.status == OPEN)
    covered = _covered(conn, orgs)

    def item(r: Row) -> Row:
        r.pop("position")
        if r["kind"] == "station":
            r["communities"] = covered.get(r["org_id"], [])
        return r

    return select_page(conn, query, page, item=item, search=(t.c.name,),
                       order=((t.c.kind, False), (t.c.name, False), (t.c.org_id, False)))


def _covered(conn: sa.Connection, orgs: Organisations) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for station_id, community_id in conn.execute(
            sa.select(orgs.covered.c.station_id, orgs.covered.c.community_id)
            .order_by(orgs.covered.c.station_id, orgs.covered.c.community_id)):
        out[station_id].append(community_id)
    return out


def org_index(conn: sa.Connection, orgs: Organisations) -> domain.OrgIndex:
    """Every organisation (open or closed) as the domain's OrgIndex, to resolve references."""
    covered = _covered(conn, orgs)
    return domain.OrgIndex.of(
        domain.Organisation(r.org_id, r.status, r.kind, r.name, r.parent, r.level, r.station_type,
                            r.station_level, r.location, tuple(covered.get(r.org_id, ())))
        for r in conn.execute(sa.select(orgs.rows)))


# -- members ---------------------------------------------------------------------------------

class MemberDirectory(Projection):
    """One row per appointed member (points are in DutyLedger)."""

    name = "member_directory"
    version = 2

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "member_directory", metadata,
            sa.Column("member_id", _id(), primary_key=True),
            sa.Column("name", sa.String(50), nullable=False),
            sa.Column("sector", _id(), nullable=False, index=True),
            sa.Column("term", sa.String(20), nullable=False),
            sa.Column("roles", sa.JSON, nullable=False),
            sa.Column("special_committees", sa.JSON, nullable=False),
            sa.Column("levels", sa.JSON, nullable=False),
            sa.Column("cpc_member", sa.Boolean, nullable=False),
            sa.Column("station", _id(), index=True),
            sa.Column("communities", sa.JSON, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),
        )

    def _update(self, conn: ViewConnection, env: Envelope, **values: Any) -> None:
        conn.update(self.rows, {"member_id": env.data["member_id"]}, position=env.position, **values)

    def on_MemberAppointed(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        values = dict(name=d["name"], sector=d["sector"], term=d["term"], roles=list(d.get("roles") or ()),
                      special_committees=list(d.get("special_committees") or ()),
                      levels=list(d.get("levels") or ()), cpc_member=bool(d.get("cpc_member")),
                      station=d.get("station"), communities=list(d.get("communities") or ()),
                      status=ACTIVE, position=env.position)
        key = {"member_id": d["member_id"]}
        if conn.one(self.rows, key) is None:
            conn.insert(self.rows, **key, **values)
        else:   # appointed again (a new term): the row takes the new appointment
            conn.update(self.rows, key, **values)

    def on_MemberAssignedToStation(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, station=env.data["station"],
                     communities=list(env.data.get("communities") or ()))

    def on_MemberRolesChanged(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        self._update(conn, env, roles=list(d["roles"]), special_committees=list(d["special_committees"]),
                     levels=list(d["levels"]), cpc_member=bool(d["cpc_member"]))

    def on_MemberTermEnded(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=domain.TERM_ENDED)

    def on_MemberResigned(self, conn: ViewConnection, env: Envelope) -> None:
        self._update(conn, env, status=domain.RESIGNED)


def list_members(conn: sa.Connection, directory: MemberDirectory, ledger: "DutyLedger",
                 orgs: Organisations, *, sector: str | None = None, station: str | None = None,
                 status: str | None = None, page: PageRequest | None = None) -> Any:
    """Appointed members with their points (every year, caps applied), highest first. ``sector``
    and ``station`` match an id or a name. ``page``: a page of them (``q`` searches the name,
    member id and sector, by id or name); None: every one, as a list."""
    t, totals = directory.rows, ledger.totals
    points = (sa.select(totals.c.member_id, sa.func.sum(totals.c.total).label("points"))
              .group_by(totals.c.member_id).subquery())
    query = (sa.select(t, sa.func.coalesce(points.c.points, 0).label("points"))
             .outerjoin(points, points.c.member_id == t.c.member_id))
    names = _names(conn, orgs)
    if sector:
        query = query.where(t.c.sector.in_(_ids_named(names, sector)))
    if station:
        query = query.where(t.c.station.in_(_ids_named(names, station)))
    if status:
        query = query.where(t.c.status == status)
    rows = []
    for r in conn.execute(query).mappings():
        row = dict(r)
        row.pop("position")
        row["points"] = int(row["points"] or 0)
        row["appointed"] = True
        row["sector_name"] = names.get(row["sector"], row["sector"])
        row["station_name"] = names.get(row["station"]) if row["station"] else None
        rows.append(row)
    return list_page(rows, page, order=_BY_POINTS, search=_MEMBER_SEARCH)


_BY_POINTS = (("points", int, True), ("member_id", str, False))
_MEMBER_SEARCH = ("name", "member_id", "sector", "sector_name")


def _names(conn: sa.Connection, orgs: Organisations) -> dict[str, str]:
    return {r.org_id: r.name for r in conn.execute(sa.select(orgs.rows.c.org_id, orgs.rows.c.name))}


def _ids_named(names: Mapping[str, str], ref: str) -> list[str]:
    return [ref] + [org_id for org_id, name in names.items() if name == ref]


def statuses(conn: sa.Connection, directory: MemberDirectory, orgs: Organisations,
             ids: Iterable[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(the status of each member, of each organisation) among ``ids`` that the views know."""
    ids = list(ids)
    members = {r.member_id: r.status for r in conn.execute(
        sa.select(directory.rows.c.member_id, directory.rows.c.status).where(directory.rows.c.member_id.in_(ids)))}
    organisations = {r.org_id: r.status for r in conn.execute(
        sa.select(orgs.rows.c.org_id, orgs.rows.c.status).where(orgs.rows.c.org_id.in_(ids)))}
    return members, organisations


def coverage(conn: sa.Connection, orgs: Organisations, directory: MemberDirectory, *,
             township: str | None = None) -> dict[str, Any]:
    """Every open community with the serving members who look after it (through an open station
    that covers it, or the communities named on their assignment); ``uncovered`` lists those
    without any. ``township`` (an id or name) narrows it to one township's communities."""
    o = orgs.rows
    places = {r.org_id: r for r in conn.execute(
        sa.select(o.c.org_id, o.c.name, o.c.kind, o.c.parent, o.c.status)
        .where(o.c.kind.in_(("township", "community", "station"))))}
    stations_of: dict[str, list[str]] = defaultdict(list)
    covered_by: dict[str, list[str]] = defaultdict(list)
    for station_id, community_id in conn.execute(sa.select(orgs.covered.c.station_id,
                                                           orgs.covered.c.community_id)):
        station = places.get(station_id)
        if station is not None and station.status == OPEN:
            covered_by[station_id].append(community_id)
            stations_of[community_id].append(station_id)
    d = directory.rows
    members_of: dict[str, list[Row]] = defaultdict(list)
    for m in conn.execute(sa.select(d.c.member_id, d.c.name, d.c.station, d.c.communities)
                          .where(d.c.status == ACTIVE, d.c.station.is_not(None))):
        if m.station not in covered_by:
            continue   # a closed station, or one that covers no community
        mine = covered_by[m.station]
        for community_id in ([c for c in m.communities if c in mine] if m.communities else mine):
            members_of[community_id].append({"member_id": m.member_id, "name": m.name, "station": m.station})
    wanted = None
    if township:
        wanted = {p.org_id for p in places.values() if p.kind == "township"
                  and (p.org_id == township or p.name == township)}
    rows = []
    for c in sorted((p for p in places.values() if p.kind == "community" and p.status == OPEN),
                    key=lambda p: (places[p.parent].name if p.parent in places else "", p.name, p.org_id)):
        if wanted is not None and c.parent not in wanted:
            continue
        members = sorted(members_of.get(c.org_id, []), key=lambda m: m["member_id"])
        rows.append({"community_id": c.org_id, "name": c.name, "township_id": c.parent,
                     "township": places[c.parent].name if c.parent in places else None,
                     "stations": sorted(stations_of.get(c.org_id, [])), "members": members,
                     "covered": bool(members)})
    return {"communities": rows, "total": len(rows), "covered": sum(r["covered"] for r in rows),
            "uncovered": [r["community_id"] for r in rows if not r["covered"]]}


# -- duty points -----------------------------------------------------------------------------

class DutyLedger(Projection):
    """Ledger entries as priced now, caps per year, and totals per member and year."""

    name = "duty_ledger"
    version = 2   # 2: entries indexed by member and year (every credit reads its member's year)

    def define(self, metadata: sa.MetaData) -> None:
        self.entries = sa.Table(
            "ledger_entries", metadata,
            sa.Column("member_id", _id(), primary_key=True),
            sa.Column("credit_key", sa.String(200), primary_key=True),
            sa.Column("year", sa.Integer, nullable=False),
            sa.Column("activity", sa.String(40), nullable=False),
            sa.Column("points", sa.Integer, nullable=False),
            sa.Column("rules_version", sa.Integer, nullable=False),
            sa.Column("source_service", sa.String(40), nullable=False),
            sa.Column("source_event_id", sa.String(64), nullable=False),
            sa.Column("source_stream", sa.String(200), nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),
            sa.Index("ix_ledger_entries_member_year", "member_id", "year"),
        )
        self.caps = sa.Table(
            "ledger_caps", metadata,
            sa.Column("year", sa.Integer, primary_key=True),
            sa.Column("activity", sa.String(40), primary_key=True),
            sa.Column("cap", sa.Integer, nullable=False),
        )
        self.totals = sa.Table(
            "ledger_totals", metadata,
            sa.Column("member_id", _id(), primary_key=True),
            sa.Column("year", sa.Integer, primary_key=True),
            sa.Column("total", sa.Integer, nullable=False),
            sa.Column("entries", sa.Integer, nullable=False),
        )
        self.assessments = sa.Table(
            "assessments", metadata,
            sa.Column("member_id", _id(), primary_key=True),
            sa.Column("year", sa.Integer, primary_key=True),
            sa.Column("outcome", sa.String(16), nullable=False),
            sa.Column("points", sa.Integer, nullable=False),
            sa.Column("rules_version", sa.Integer, nullable=False),
        )
        # The two reads of every credit, built once with parameters: a query built per event
        # costs several times what the database does for it (docs/performance.md, rebuild).
        e, caps, member, year = self.entries, self.caps, sa.bindparam("member_id"), sa.bindparam("year")
        self._has_entry = sa.select(e.c.credit_key).where(e.c.member_id == member,
                                                          e.c.credit_key == sa.bindparam("credit_key"))
        # a member's year: points and entries per activity, with the activity's cap (if any)
        self._year_points = (
            sa.select(e.c.activity, sa.func.sum(e.c.points), sa.func.count(), caps.c.cap)
            .select_from(e.outerjoin(caps, (caps.c.year == e.c.year) & (caps.c.activity == e.c.activity)))
            .where(e.c.member_id == member, e.c.year == year)
            .group_by(e.c.activity, caps.c.cap))

    def _refresh(self, conn: ViewConnection, member_id: str, year: int) -> None:
        """Write the member's total of ``year`` again from its entries, caps applied."""
        per_activity = conn.execute(self._year_points, {"member_id": member_id, "year": year}).all()
        points = [(activity, summed) for activity, summed, _, _ in per_activity]
        caps = {activity: cap for activity, _, _, cap in per_activity if cap is not None}
        conn.delete(self.totals, member_id=member_id, year=year)
        conn.insert(self.totals, member_id=member_id, year=year, total=domain.capped_total(points, caps),
                    entries=sum(n for _, _, n, _ in per_activity))

    def on_DutyPointsAwarded(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        key = d.get("credit_key") or d["source_event_id"]
        if conn.execute(self._has_entry, {"member_id": d["member_id"], "credit_key": key}).first():
            return   # the ledger's fold keeps the first of a key too
        year = int(d.get("year") or 0)
        conn.insert(self.entries, member_id=d["member_id"], credit_key=key, year=year, activity=d["activity"],
                    points=int(d["points"]), rules_version=int(d.get("rules_version") or 0),
                    source_service=d["source_service"], source_event_id=d["source_event_id"],
                    source_stream=d["source_stream"], position=env.position)
        self._refresh(conn, d["member_id"], year)

    def on_DutyPointsRecomputed(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        mine = {"member_id": d["member_id"], "year": d["year"]}
        conn.update(self.entries, mine, rules_version=d["rules_version"])
        for change in d["changes"]:
            conn.update(self.entries, {**mine, "credit_key": change["credit_key"]},
                        points=int(change["after"]))
        self._refresh(conn, d["member_id"], int(d["year"]))

    def on_PointRulesSet(self, conn: ViewConnection, env: Envelope) -> None:
        year = int(env.data["year"])
        conn.delete(self.caps, year=year)
        conn.insert(self.caps, [{"year": year, "activity": a, "cap": int(c)}
                                for a, c in (env.data.get("caps") or {}).items()])
        for (member_id,) in conn.execute(sa.select(self.totals.c.member_id)
                                         .where(self.totals.c.year == year)).all():
            self._refresh(conn, member_id, year)

    def on_AnnualAssessmentConcluded(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data   # concluded once: a second conclusion of the year leaves the first
        conn.insert_ignore(self.assessments, member_id=d["member_id"], year=d["year"],
                           outcome=d["outcome"], points=d["points"], rules_version=d["rules_version"])


def members_with_entries(conn: sa.Connection, ledger: DutyLedger, year: int) -> list[str]:
    t = ledger.totals
    return [m for (m,) in conn.execute(sa.select(t.c.member_id).where(t.c.year == year)
                                       .order_by(t.c.member_id))]


def rules_versions_priced(conn: sa.Connection, ledger: DutyLedger) -> dict[int, set[int]]:
    """Per year, the rules versions the ledger's entries are priced by (one once every ledger
    of the year was priced again after a rules change)."""
    e = ledger.entries
    found: dict[int, set[int]] = {}
    for year, version in conn.execute(sa.select(e.c.year, e.c.rules_version).distinct()):
        found.setdefault(year, set()).add(version)
    return found


def credited(conn: sa.Connection, ledger: DutyLedger, credits: list[tuple[str, str]]) -> bool:
    """Whether the ledger holds every (member id, credit key) of ``credits``."""
    e = ledger.entries
    return all(conn.execute(sa.select(e.c.credit_key).where(e.c.member_id == m, e.c.credit_key == k)).first()
               for m, k in credits)


def ranking(conn: sa.Connection, ledger: DutyLedger, directory: MemberDirectory, orgs: Organisations,
            year: int, *, sector: str | None = None, page: PageRequest | None = None) -> Any:
    """The year's ranking 履职积分排名: every appointed member (with 0 if they earned nothing),
    highest total first; equal totals share a rank (1, 2, 2, 4). ``page``: a page of it (``q``
    searches name, member id and sector, and leaves the ranks as they are); None: all, as a list."""
    d, t, a = directory.rows, ledger.totals, ledger.assessments
    totals = {m: (total, n) for m, total, n in conn.execute(
        sa.select(t.c.member_id, t.c.total, t.c.entries).where(t.c.year == year))}
    assessed = {m: o for m, o in conn.execute(sa.select(a.c.member_id, a.c.outcome).where(a.c.year == year))}
    names = _names(conn, orgs)
    query = sa.select(d.c.member_id, d.c.name, d.c.sector, d.c.status)
    if sector:
        query = query.where(d.c.sector.in_(_ids_named(names, sector)))
    rows = [{"member_id": m.member_id, "name": m.name, "sector": m.sector,
             "sector_name": names.get(m.sector, m.sector), "status": m.status,
             "points": totals.get(m.member_id, (0, 0))[0], "entries": totals.get(m.member_id, (0, 0))[1],
             "assessment": assessed.get(m.member_id)} for m in conn.execute(query)]
    rows.sort(key=lambda r: (-r["points"], r["member_id"]))
    for n, row in enumerate(rows):
        row["rank"] = rows[n - 1]["rank"] if n and rows[n - 1]["points"] == row["points"] else n + 1
    return list_page(rows, page, order=_BY_POINTS, search=_MEMBER_SEARCH)


# -- duty menus ------------------------------------------------------------------------------

class DutyMenus(Projection):
    """One row per published duty menu 履职菜单, and one per (menu, member, item) signed up for."""

    name = "duty_menus"
    version = 1

    def define(self, metadata: sa.MetaData) -> None:
        self.rows = sa.Table(
            "duty_menus", metadata,
            sa.Column("menu_id", _id(), primary_key=True),
            sa.Column("year", sa.Integer, nullable=False, index=True),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("sector", _id()),
            sa.Column("items", sa.JSON, nullable=False),
            sa.Column("position", sa.BigInteger, nullable=False),
        )
        self.sign_ups = sa.Table(
            "duty_menu_sign_ups", metadata,
            sa.Column("menu_id", _id(), primary_key=True),
            sa.Column("member_id", _id(), primary_key=True, index=True),
            sa.Column("item_id", _id(), primary_key=True),
        )

    def on_DutyMenuPublished(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data   # published once (the domain refuses a second publication of a menu)
        conn.insert_ignore(self.rows, menu_id=d["menu_id"], year=int(d["year"]), title=d["title"],
                           sector=d.get("sector"), items=list(d["items"]), position=env.position)

    def on_MenuSignedUp(self, conn: ViewConnection, env: Envelope) -> None:
        d = env.data
        conn.insert_ignore(self.sign_ups, [{"menu_id": d["menu_id"], "member_id": d["member_id"],
                                            "item_id": i} for i in dict.fromkeys(d["item_ids"])])


def menus(conn: sa.Connection, projection: DutyMenus, orgs: Organisations, year: int, *,
          sector: str | None = None, member_id: str | None = None, page: PageRequest | None = None) -> Any:
    """The year's published menus, latest first. ``sector`` (an id or a name): only those open to
    that sector's members (every member's menus and the sector's own). Each row: menu_id, year,
    title, sector, sector_name, items, signed_up (how many members signed up for any item) and,
    with ``member_id``, ``mine``: the items that member holds. ``page``: a page of them (``q``
    searches the title); None: every one, as a list."""
    t, s = projection.rows, projection.sign_ups
    names = _names(conn, orgs)
    query = sa.select(t).where(t.c.year == year)
    if sector:
        query = query.where(sa.or_(t.c.sector.is_(None), t.c.sector.in_(_ids_named(names, sector))))
    counts = {m: n for m, n in conn.execute(
        sa.select(s.c.menu_id, sa.func.count(sa.distinct(s.c.member_id))).group_by(s.c.menu_id))}
    held: dict[str, list[str]] = defaultdict(list)
    if member_id:
        for m, item in conn.execute(sa.select(s.c.menu_id, s.c.item_id).where(s.c.member_id == member_id)):
            held[m].append(item)

    def item(r: Row) -> Row:
        r.pop("position")
        r["sector_name"] = names.get(r["sector"], r["sector"]) if r["sector"] else None
        r["signed_up"] = int(counts.get(r["menu_id"], 0))
        if member_id:
            order = [i["item_id"] for i in r["items"]]
            r["mine"] = sorted(held.get(r["menu_id"], []), key=lambda i: order.index(i) if i in order else 0)
        return r

    return select_page(conn, query, page, item=item, search=(t.c.title,),
                       order=((t.c.position, True), (t.c.menu_id, False)))


def PROJECTIONS() -> list[Projection]:  # noqa: N802 - the name every service's views module exports
    return [Organisations(), MemberDirectory(), DutyLedger(), DutyMenus()]
