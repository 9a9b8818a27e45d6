"""The members service: the organisation tree, the member registry and duty points, a thin
nameko shell around services.members.domain.

Commands load a stream, fold it, let the domain decide and append at the version they folded
from: a concurrent change raises ConcurrencyError to the caller. Rights are checked from the
actor in the call's context. Contact details go to the private contact book (contacts.py),
never into an event, a log line or a read model.

Duty points come from events, each consumed by a handler:

* the proposals service's events, by type name from ``proposals.events`` (the contract is
  services/proposals/domain.py, documented there, not imported);
* this service's own events (activities recorded, menu sign-ups, a year's rules set), so that
  every credit takes the same at-least-once, idempotent path whatever its source.

Every credit is keyed in the member's ledger, so a redelivered or duplicated event credits
nothing twice; a handler whose effect is one append also carries the kernel's effect tracking.
Points are priced by the year's rules when credited; when staff change a year's rules, the
year's ledgers are priced again (``DutyPointsRecomputed``). A credit priced by rules that
changed while it was being appended is priced again at once (the handler re-reads the rules
after its append), so no credit keeps stale points whatever the interleaving.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import logging
import random
from collections import defaultdict
from typing import Any, Callable, Sequence

import eventlet
from nameko.rpc import rpc

from xieshang.kernel.clock import SHANGHAI, Clock, ClockProvider
from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.context import CommandContext, MissingActor
from xieshang.kernel.domain import DomainError, DomainEvent, InvalidCommand, NotAllowed, NotFound, NotYet
from xieshang.kernel.envelope import Envelope
from xieshang.kernel.runtime import EventStoreDependency, RequestContext
from xieshang.kernel.store import ConcurrencyError, EventStore, Tracking
from xieshang.kernel.views import ReadModels

from . import domain, roster, views
from .contacts import ContactBook, Contacts
from .domain import CONTACT_FIELDS, READERS_OF_ALL, STAFF, ContactDetails

log = logging.getLogger(__name__)

# Refusals are answers, not failures: nameko logs them as warnings, not tracebacks.
EXPECTED = (DomainError, MissingActor, ConcurrencyError)
PROPOSALS = domain.PROPOSALS
SELF = "members"
# A credit that loses a race on the ledger re-reads and decides again this many times (with a
# short random pause, so that two instances do not keep colliding) before the message goes
# back to the broker, which redelivers it.
LEDGER_ATTEMPTS = 30
VIEWS_TIMEOUT = 30.0
MAX_LIST = 1000


class MembersService:
    """委员: the organisation tree, appointment, stations, rosters, the duty ledger 履职积分."""

    name = "members"

    store: EventStore = EventStoreDependency()
    context = RequestContext()
    views = ReadModels(views.PROJECTIONS)
    tracking = EffectTracking()
    clock: Clock = ClockProvider()
    contacts: ContactBook = Contacts()

    # -- organisations -----------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def register_organisation(self, org_id: str, kind: str, name: str, parent: str | None = None,
                              level: str | None = None) -> dict[str, Any]:
        """Register a committee, special committee, sector, party/group, handling unit, township
        or community (``parent``: the id it belongs to)."""
        return self._decide_org(org_id, lambda ctx, state: domain.register_organisation(
            ctx.actor, state, self._org_index(), kind=kind, name=name, parent=parent, level=level))

    @rpc(expected_exceptions=EXPECTED)
    def define_station(self, station_id: str, name: str, station_type: str, level: str,
                       location: str | None = None,
                       communities: Sequence[str] | None = None) -> dict[str, Any]:
        return self._decide_org(station_id, lambda ctx, state: domain.define_station(
            ctx.actor, state, self._org_index(), name=name, station_type=station_type, level=level,
            location=location, communities=communities))

    @rpc(expected_exceptions=EXPECTED)
    def set_station_communities(self, station_id: str, communities: Sequence[str]) -> dict[str, Any]:
        return self._decide_org(station_id, lambda ctx, state: domain.set_station_communities(
            ctx.actor, state, self._org_index(), communities=communities))

    @rpc(expected_exceptions=EXPECTED)
    def rename_organisation(self, org_id: str, name: str) -> dict[str, Any]:
        return self._decide_org(org_id, lambda ctx, state: domain.rename_organisation(
            ctx.actor, state, self._org_index(), name=name))

    @rpc(expected_exceptions=EXPECTED)
    def close_organisation(self, org_id: str, reason: str) -> dict[str, Any]:
        return self._decide_org(org_id, lambda ctx, state: domain.close_organisation(
            ctx.actor, state, reason=reason))

    # -- members -------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def appoint_member(self, member_id: str, name: str, sector: str, term: str,
                       roles: Sequence[str] = (), station: str | None = None,
                       special_committees: Sequence[str] = (), levels: Sequence[str] | None = None,
                       cpc_member: bool = False, communities: Sequence[str] | None = None,
                       contact: dict | None = None) -> dict[str, Any]:
        """Appoint a member. ``sector``, ``special_committees`` and ``station`` name registered
        organisations (id or name); ``levels`` defaults to this committee's level; ``contact``
        ({phone, email, address}) goes to the private contact book only."""
        ctx = self.context.get()
        details = _contact_argument(contact)
        state, version = self._member(member_id)
        events = domain.appoint_member(
            ctx.actor, state, name=name, sector=sector, term=term, roles=roles, station=station,
            special_committees=special_committees,
            levels=[self.store.deployment.level] if levels is None else levels,
            cpc_member=cpc_member, communities=communities, index=self._org_index())
        if details is not None:
            events += domain.change_contact_details(ctx.actor, domain.fold_member(member_id, events, state),
                                                    self.contacts.get(member_id), details)
        envelopes = self._record(ctx, domain.member_stream(member_id), version, events)
        if details is not None:
            self.contacts.put(member_id, details)
        return self._receipt(envelopes, member_id=member_id)

    @rpc(expected_exceptions=EXPECTED)
    def assign_to_station(self, member_id: str, station: str,
                          communities: Sequence[str] | None = None) -> dict[str, Any]:
        """Assign (or reassign) a member to a station 下沉, optionally naming the communities they
        look after there (default: all the station covers)."""
        return self._decide_member(member_id, lambda ctx, state: domain.assign_to_station(
            ctx.actor, state, station=station, communities=communities, index=self._org_index()))

    @rpc(expected_exceptions=EXPECTED)
    def change_roles(self, member_id: str, roles: Sequence[str] | None = None,
                     special_committees: Sequence[str] | None = None,
                     levels: Sequence[str] | None = None, cpc_member: bool | None = None) -> dict[str, Any]:
        return self._decide_member(member_id, lambda ctx, state: domain.change_roles(
            ctx.actor, state, roles=roles, special_committees=special_committees, levels=levels,
            cpc_member=cpc_member, index=self._org_index()))

    @rpc(expected_exceptions=EXPECTED)
    def end_term(self, member_id: str, ended_on: str | None = None) -> dict[str, Any]:
        return self._decide_member(member_id, lambda ctx, state: domain.end_term(
            ctx.actor, state, ended_on=ended_on or self.clock.today().isoformat()))

    @rpc(expected_exceptions=EXPECTED)
    def resign_member(self, member_id: str, reason: str, resigned_on: str | None = None) -> dict[str, Any]:
        return self._decide_member(member_id, lambda ctx, state: domain.resign_member(
            ctx.actor, state, reason=reason, resigned_on=resigned_on or self.clock.today().isoformat()))

    @rpc(expected_exceptions=EXPECTED)
    def set_contact_details(self, member_id: str, phone: str | None = None, email: str | None = None,
                            address: str | None = None) -> dict[str, Any]:
        """Replace the member's contact details (staff or the member themselves)."""
        ctx = self.context.get()
        details = domain.check_contact_details(phone, email, address)
        state, version = self._member(member_id)
        events = domain.change_contact_details(ctx.actor, state, self.contacts.get(member_id), details)
        envelopes = self._record(ctx, domain.member_stream(member_id), version, events) if events else []
        self.contacts.put(member_id, details)
        return self._receipt(envelopes, member_id=member_id, stream=domain.member_stream(member_id))

    @rpc(expected_exceptions=EXPECTED)
    def erase_contact_details(self, member_id: str) -> dict[str, Any]:
        """Forget the member's contact details (e.g. once they left the committee)."""
        ctx = self.context.get()
        state, version = self._member(member_id)
        events = domain.erase_contact_details(ctx.actor, state, self.contacts.get(member_id))
        envelopes = self._record(ctx, domain.member_stream(member_id), version, events) if events else []
        self.contacts.erase(member_id)
        return self._receipt(envelopes, member_id=member_id, stream=domain.member_stream(member_id))

    @rpc(expected_exceptions=EXPECTED)
    def get_contact_details(self, member_id: str) -> dict[str, Any]:
        """The member's contact details: for staff and the member themselves only."""
        actor = self.context.get().actor
        if not (actor.role == STAFF or (actor.role == domain.MEMBER and actor.user_id == member_id)):
            raise NotAllowed("read contact details", "only committee staff or the member themselves")
        domain.require_member(self._member(member_id)[0])
        return {"member_id": member_id, **(self.contacts.get(member_id) or ContactDetails()).to_dict()}

    @rpc(expected_exceptions=EXPECTED)
    def import_roster(self, file_name: str, content_base64: str) -> dict[str, Any]:
        """Import a roster 委员名册 (CSV or XLSX, base64): validated whole first, every bad cell
        reported in one InvalidCommand ("row 12, 界别"), nothing written unless all rows are good.
        Importing the same file again changes nothing."""
        ctx = self.context.get()
        if ctx.actor.role != STAFF:
            raise NotAllowed("import_roster", f"only committee staff import rosters; the actor's role "
                                              f"is {ctx.actor.role!r}")
        if not isinstance(file_name, str) or not 1 <= len(file_name) <= 200:
            raise InvalidCommand("bad file name", {"file_name": "the roster file's name, e.g. 委员名册.xlsx"})
        try:
            raw = base64.b64decode(content_base64 or b"", validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise InvalidCommand("the roster is not base64",
                                 {"content_base64": "the file's bytes in base64"}) from None
        parsed = roster.read_roster(file_name, raw)
        loaded = {row.member_id: self._member(row.member_id) for row in parsed.rows}
        plans = roster.plan_import(ctx.actor, parsed, {m: s for m, (s, _) in loaded.items()},
                                   self._org_index(), [self.store.deployment.level])
        writes: list[tuple[str, list[DomainEvent], ContactDetails | None]] = []
        for plan in plans:
            details = None
            # A blank contact cell keeps what the book holds: an import never forgets personal
            # data by accident (erase_contact_details does, on purpose).
            given = [f for f in CONTACT_FIELDS if getattr(plan.row.contact, f)]
            events = list(plan.events)
            if given:
                before = self.contacts.get(plan.row.member_id)
                kept = before or ContactDetails()
                details = ContactDetails(**{f: getattr(plan.row.contact if f in given else kept, f)
                                            for f in CONTACT_FIELDS})
                events += domain.change_contact_details(ctx.actor, plan.after, before, details)
            if events:
                writes.append((plan.row.member_id, events, details))
        digest = hashlib.sha256(raw).hexdigest()
        result = {"digest": digest, "rows": len(parsed.rows), "appointed": [], "changed": [],
                  "unchanged": len(parsed.rows) - len(writes), "events": 0}
        if not writes:
            return result
        # All or nothing: every row was decided on the member's stream as read above; if any of
        # them moved since, nothing is written and the caller imports again.
        for member_id, _, _ in writes:
            if self.store.stream_version(domain.member_stream(member_id)) != loaded[member_id][1]:
                raise ConcurrencyError(domain.member_stream(member_id), loaded[member_id][1],
                                       self.store.stream_version(domain.member_stream(member_id)))
        importing = dataclasses.replace(ctx, reason=f"名册导入 {file_name} ({digest[:12]})")
        for member_id, events, details in writes:
            self._record(importing, domain.member_stream(member_id), loaded[member_id][1], events)
            if details is not None:
                self.contacts.put(member_id, details)
            kind = "appointed" if isinstance(events[0], domain.MemberAppointed) else "changed"
            result[kind].append(member_id)
            result["events"] += len(events)
        stream = domain.roster_import_stream(digest)
        summary = domain.RosterImported(digest=digest, file_name=str(file_name)[:200], rows=len(parsed.rows),
                                        appointed=result["appointed"], changed=result["changed"],
                                        unchanged=result["unchanged"])
        last = self._record(importing, stream, self.store.stream_version(stream), [summary])[-1]
        log.info("roster %s imported: %d appointed, %d changed, %d unchanged", digest[:12],
                 len(result["appointed"]), len(result["changed"]), result["unchanged"])
        return {**result, "stream": stream, "position": last.position}

    # -- duty points: rules, activities, menus, assessments -------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def set_point_rules(self, year: int, points: dict, caps: dict | None = None) -> dict[str, Any]:
        """Set the committee's points rules for ``year`` (the whole table); the year's ledgers
        are then priced again."""
        ctx = self.context.get()
        rules, version = self._rules(_year(year))
        envelopes = self._record(ctx, self._rules_stream(rules.year), version,
                                 domain.set_point_rules(ctx.actor, rules, points=points, caps=caps))
        return self._receipt(envelopes, stream=self._rules_stream(rules.year),
                             rules=self._rules(rules.year)[0].to_dict())

    @rpc(expected_exceptions=EXPECTED)
    def point_rules(self, year: int) -> dict[str, Any]:
        return self._rules(_year(year))[0].to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def record_activity(self, activity_id: str, kind: str, title: str, held_on: str,
                        participants: Sequence[str], excused: Sequence[str] = ()) -> dict[str, Any]:
        """Record a meeting, inspection, research, consultation, plenary speech or community
        service and who took part (for a meeting also who was excused)."""
        ctx = self.context.get()
        stream = domain.activity_stream(_checked_id(activity_id, "activity_id"))
        events, version = self._read(stream)
        named = [m for m in (*(participants or ()), *(excused or ())) if isinstance(m, str)]
        members = {m: self._member(m)[0] for m in dict.fromkeys(named)}
        decided = domain.record_activity(ctx.actor, domain.fold_activity(activity_id, events), members,
                                         kind=kind, title=title, held_on=held_on,
                                         participants=participants, excused=excused)
        return self._receipt(self._record(ctx, stream, version, decided), activity_id=activity_id)

    @rpc(expected_exceptions=EXPECTED)
    def publish_menu(self, menu_id: str, year: int, title: str, items: Sequence[dict],
                     sector: str | None = None) -> dict[str, Any]:
        """Publish a duty menu 履职菜单 (``sector``: for that sector's members only)."""
        ctx = self.context.get()
        stream = domain.menu_stream(_checked_id(menu_id, "menu_id"))
        events, version = self._read(stream)
        sector_id = None
        if sector is not None:
            found, problem = self._org_index().find(("sector",), sector)
            if found is None:
                raise InvalidCommand("unknown sector", {"sector": problem or "unknown"})
            sector_id = found.org_id
        decided = domain.publish_menu(ctx.actor, domain.fold_menu(menu_id, events), year=year, title=title,
                                      items=items, sector=sector_id)
        return self._receipt(self._record(ctx, stream, version, decided), menu_id=menu_id)

    @rpc(expected_exceptions=EXPECTED)
    def sign_up_for_menu(self, menu_id: str, item_ids: Sequence[str],
                         member_id: str | None = None) -> dict[str, Any]:
        """A member signs up for menu items (staff may designate items for ``member_id``)."""
        ctx = self.context.get()
        member_id = member_id or ctx.actor.user_id
        stream = domain.menu_stream(_checked_id(menu_id, "menu_id"))
        events, version = self._read(stream)
        decided = domain.sign_up_for_menu(ctx.actor, domain.fold_menu(menu_id, events),
                                          self._member(member_id)[0], item_ids=item_ids)
        envelopes = self._record(ctx, stream, version, decided) if decided else []
        return self._receipt(envelopes, menu_id=menu_id, stream=stream)

    @rpc(expected_exceptions=EXPECTED)
    def get_menu(self, menu_id: str, after_position: int = 0) -> dict[str, Any]:
        """The menu, who signed up for what, and who still lacks their minimum (永嘉: two items
        for standing committee and party members, one for everyone else)."""
        menu = domain.fold_menu(menu_id, self._read(domain.menu_stream(_checked_id(menu_id, "menu_id")))[0])
        if menu.published is None:
            raise NotFound(f"no duty menu {menu_id!r}")
        self._wait(after_position)
        with self.views.connect() as conn:
            serving = views.list_members(conn, *self._member_views(), sector=menu.published.sector,
                                         status=domain.ACTIVE)
        members = []
        for m in serving:
            state = domain.Member(m["member_id"], True, roles=tuple(m["roles"]), cpc_member=m["cpc_member"])
            chosen = list(menu.sign_ups.get(m["member_id"], ()))
            members.append({"member_id": m["member_id"], "name": m["name"], "items": chosen,
                            "minimum": state.menu_minimum, "met": len(chosen) >= state.menu_minimum})
        return {**menu.published.to_data(), "members": members,
                "short": [m["member_id"] for m in members if not m["met"]]}

    @rpc(expected_exceptions=EXPECTED)
    def conclude_assessment(self, member_id: str, year: int, outcome: str, note: str = "") -> dict[str, Any]:
        """Conclude the member's annual assessment 履职考核 on the year's points as they stand."""
        ctx = self.context.get()
        member = self._member(member_id)[0]
        stream = domain.ledger_stream(member_id)
        events, version = self._read(stream)
        decided = domain.conclude_assessment(ctx.actor, member, domain.fold_ledger(member_id, events),
                                             self._rules(_year(year))[0], outcome=outcome, note=note)
        return self._receipt(self._record(ctx, stream, version, decided), member_id=member_id)

    # -- reactions: the proposals service's events ------------------------------------------------
    @handle_event(PROPOSALS, "ProposalSubmitted")
    def on_proposal_submitted(self, envelope: Envelope) -> None:
        """提交提案: the proposer is credited; the case's proposer is noted (for a key designation)."""
        self._credit(envelope, self._proposal_credits(envelope))
        self._note_case(envelope)

    @handle_event(PROPOSALS, "ProposalFiled")
    def on_proposal_filed(self, envelope: Envelope) -> None:
        """提案立案 earns the proposer the points of ``proposal_filed``."""
        self._credit(envelope, self._proposal_credits(envelope), tracking=self.tracking(envelope))

    @handle_event(PROPOSALS, "CoSignatureConfirmed")
    def on_co_signature_confirmed(self, envelope: Envelope) -> None:
        self._credit(envelope, self._proposal_credits(envelope), tracking=self.tracking(envelope))

    @handle_event(PROPOSALS, "MergedProposalAdded")
    def on_merged_proposal_added(self, envelope: Envelope) -> None:
        """并案: the merged case's proposers are credited and join the surviving case's proposers."""
        self._credit(envelope, self._proposal_credits(envelope))
        self._note_case(envelope)

    @handle_event(PROPOSALS, "ProposalDesignatedKey")
    def on_proposal_designated_key(self, envelope: Envelope) -> None:
        """重点提案: every proposer of the case is credited, once its proposers are known."""
        self._note_case(envelope)

    @handle_event(PROPOSALS, "ReplyRated")
    def on_reply_rated(self, envelope: Envelope) -> None:
        """The rater took part in the evaluation 评."""
        self._credit(envelope, self._proposal_credits(envelope), tracking=self.tracking(envelope))

    # -- reactions: this service's own events --------------------------------------------------------
    @handle_event(SELF, "ActivityRecorded")
    def on_activity_recorded(self, envelope: Envelope) -> None:
        event = domain.registry.decode(envelope)
        assert isinstance(event, domain.ActivityRecorded)
        self._credit(envelope, domain.activity_credits(event, event_id=envelope.event_id,
                                                       stream=envelope.stream, service=SELF),
                     tracking=self.tracking(envelope))

    @handle_event(SELF, "MenuSignedUp")
    def on_menu_signed_up(self, envelope: Envelope) -> None:
        event = domain.registry.decode(envelope)
        assert isinstance(event, domain.MenuSignedUp)
        self._credit(envelope, domain.menu_credits(event, event_id=envelope.event_id,
                                                   stream=envelope.stream, service=SELF),
                     tracking=self.tracking(envelope))

    @handle_event(SELF, "PointRulesSet")
    def on_point_rules_set(self, envelope: Envelope) -> None:
        """A year's rules changed: price every ledger of the year again. Ledgers credited after
        this event are priced by the new rules already (or again by their own handler)."""
        year = int(envelope.data["year"])
        if envelope.data.get("committee") != self.store.deployment.committee:
            return
        if not self.views.wait_for(envelope.position, timeout=VIEWS_TIMEOUT):
            raise NotYet(f"the ledger view has not reached position {envelope.position}; retrying")
        with self.views.connect() as conn:
            affected = views.members_with_entries(conn, self.views.projection("duty_ledger"), year)
        ctx = CommandContext.caused_by(envelope, reason=f"duty points rules of {year} changed")
        for member_id in affected:
            self._recompute(ctx, member_id, year)

    # -- queries -----------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def get_member(self, member_id: str) -> dict[str, Any]:
        """The member and their duty ledger, folded from their streams (no contact details)."""
        member = domain.require_member(self._member(member_id)[0])
        entries, ledger_version = self._read(domain.ledger_stream(member_id))
        ledger = domain.fold_ledger(member_id, entries)
        points = sum(ledger.year_total(y, self._rules(y)[0].caps if y else {}) for y in ledger.years())
        return {**member.to_dict(), "points": points, "ledger": [e.to_data() for e in ledger.entries],
                "ledger_version": ledger_version}

    @rpc(expected_exceptions=EXPECTED)
    def list_members(self, sector: str | None = None, after_position: int = 0, station: str | None = None,
                     status: str | None = None) -> list[dict[str, Any]]:
        """Appointed members with their points, from the read model, highest points first."""
        self._wait(after_position)
        with self.views.connect() as conn:
            return views.list_members(conn, *self._member_views(), sector=sector, station=station,
                                      status=status)

    @rpc(expected_exceptions=EXPECTED)
    def get_organisation(self, org_id: str) -> dict[str, Any]:
        events, _ = self._read(domain.org_stream(_checked_id(org_id, "org_id")))
        state = domain.fold_organisation(org_id, events)
        if not state.exists:
            raise NotFound(f"no organisation {org_id!r}")
        return state.to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def list_organisations(self, kind: str | None = None, parent: str | None = None,
                           include_closed: bool = False, after_position: int = 0) -> list[dict[str, Any]]:
        self._wait(after_position)
        with self.views.connect() as conn:
            return views.organisations(conn, self.views.projection("organisations"), kind=kind,
                                       parent=parent, include_closed=include_closed)

    @rpc(expected_exceptions=EXPECTED)
    def coverage(self, township: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """Every community with the members who look after it; ``uncovered`` lists those without."""
        self._wait(after_position)
        with self.views.connect() as conn:
            return views.coverage(conn, self.views.projection("organisations"),
                                  self.views.projection("member_directory"), township=township)

    @rpc(expected_exceptions=EXPECTED)
    def ranking(self, year: int, sector: str | None = None, limit: int | None = None,
                after_position: int = 0) -> list[dict[str, Any]]:
        """The year's points ranking 履职积分排名 (published regularly: no personal data)."""
        if limit is not None and (not isinstance(limit, int) or not 1 <= limit <= MAX_LIST):
            raise InvalidCommand("bad limit", {"limit": f"an integer from 1 to {MAX_LIST}"})
        self._wait(after_position)
        with self.views.connect() as conn:
            directory, ledger, orgs = self._member_views()
            rows = views.ranking(conn, ledger, directory, orgs, _year(year), sector=sector, limit=limit)
        if self._actor_role() not in READERS_OF_ALL:
            for row in rows:   # an assessment's outcome (约谈 above all) is not for publication
                row.pop("assessment")
        return rows

    @rpc(expected_exceptions=EXPECTED)
    def get_dossier(self, member_id: str, year: int | None = None) -> dict[str, Any]:
        """The member's duty dossier 履职档案 per year: every credited activity with the event that
        earned it, the totals per activity (caps applied), the recomputations when the year's
        rules changed, and the assessment as it was concluded. For staff, leaders, auditors and
        the member themselves."""
        actor = self.context.get().actor
        if not (actor.role in READERS_OF_ALL or (actor.role == domain.MEMBER and actor.user_id == member_id)):
            raise NotAllowed("read this dossier", "staff, leaders, auditors and the member themselves")
        member = domain.require_member(self._member(member_id)[0])
        ledger = domain.fold_ledger(member_id, self._read(domain.ledger_stream(member_id))[0])
        years = [_year(year)] if year is not None else sorted(set(ledger.years()) | set(ledger.assessments))
        return {"member": member.to_dict(), "years": [self._dossier_year(ledger, y) for y in years]}

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.store.head(), "views": self.views.position()}

    # -- plumbing: credits -----------------------------------------------------------------------------
    def _proposal_credits(self, envelope: Envelope) -> list[domain.Credit]:
        return domain.proposal_credits(envelope.type, envelope.data, event_id=envelope.event_id,
                                       stream=envelope.stream, year=_year_of(envelope))

    def _note_case(self, envelope: Envelope) -> None:
        """Note what the event says about its case, then credit the key designation to every
        proposer known by now (whichever of the two events came first)."""
        proposal_id = str(envelope.data["proposal_id"])
        stream = domain.case_stream(proposal_id)
        ctx = CommandContext.caused_by(envelope, reason="proposal case noted for duty points")
        for _ in range(LEDGER_ATTEMPTS):
            events, version = self._read(stream)
            case = domain.fold_case(proposal_id, events)
            noted = domain.note_case(case, envelope.type, envelope.data, event_id=envelope.event_id,
                                     stream=envelope.stream, year=_year_of(envelope))
            if not noted:
                break
            try:
                self._record(ctx, stream, version, noted)
                case = domain.fold_case(proposal_id, [*events, *noted])
                break
            except ConcurrencyError:
                _pause()
        else:
            raise ConcurrencyError(stream, version, self.store.stream_version(stream))
        self._credit(envelope, domain.key_credits(case))

    def _credit(self, envelope: Envelope, credits: list[domain.Credit],
                tracking: Tracking | None = None) -> None:
        """Award ``credits`` (one append per member and year). ``tracking`` marks the event
        processed with the append, so only a handler whose effect is one append passes it."""
        ctx = CommandContext.caused_by(envelope, reason="duty points: " + ", ".join(
            dict.fromkeys(c.activity for c in credits)))
        groups: dict[tuple[str, int], list[domain.Credit]] = defaultdict(list)
        for c in credits:
            groups[(c.member_id, c.year)].append(c)
        for member_id, year in groups:
            self._award(ctx, member_id, year, groups[(member_id, year)],
                        tracking if len(groups) == 1 else None)

    def _award(self, ctx: CommandContext, member_id: str, year: int, credits: list[domain.Credit],
               tracking: Tracking | None) -> None:
        stream = domain.ledger_stream(member_id)
        for _ in range(LEDGER_ATTEMPTS):
            events, version = self._read(stream)
            rules = self._rules(year)[0]
            decided = domain.award(domain.fold_ledger(member_id, events), credits, rules)
            if not decided:
                return
            try:
                self._record(ctx, stream, version, decided, tracking=tracking)
                break
            except ConcurrencyError:
                _pause()   # another credit of this member came first: decide again
        else:
            raise ConcurrencyError(stream, version, self.store.stream_version(stream))
        if self._rules(year)[0].version != rules.version:
            # The year's rules changed between our reading them and our append: the recompute
            # that followed the change may not have seen this entry.
            self._recompute(CommandContext(actor=ctx.actor, reason=f"duty points rules of {year} changed",
                                           correlation_id=ctx.correlation_id,
                                           causation_id=ctx.causation_id), member_id, year)

    def _recompute(self, ctx: CommandContext, member_id: str, year: int) -> None:
        stream = domain.ledger_stream(member_id)
        for _ in range(LEDGER_ATTEMPTS):
            events, version = self._read(stream)
            decided = domain.recompute_year(domain.fold_ledger(member_id, events), self._rules(year)[0])
            if not decided:
                return
            try:
                self._record(ctx, stream, version, decided)
                return
            except ConcurrencyError:
                _pause()
        raise ConcurrencyError(stream, version, self.store.stream_version(stream))

    # -- plumbing: streams ----------------------------------------------------------------------------
    def _read(self, stream: str) -> tuple[list[DomainEvent], int]:
        envelopes = self.store.read_stream(stream)
        events = [domain.registry.decode(e) for e in envelopes if e.type in domain.registry]
        return events, envelopes[-1].version if envelopes else 0

    def _member(self, member_id: str) -> tuple[domain.Member, int]:
        events, version = self._read(domain.member_stream(_checked_id(member_id, "member_id")))
        return domain.fold_member(member_id, events), version

    def _rules_stream(self, year: int) -> str:
        return domain.rules_stream(self.store.deployment.committee, year)

    def _rules(self, year: int) -> tuple[domain.PointRules, int]:
        events, version = self._read(self._rules_stream(year))
        return domain.fold_point_rules(self.store.deployment.committee, year, events), version

    def _decide_member(self, member_id: str,
                       decide: Callable[[CommandContext, domain.Member], list[DomainEvent]],
                       ) -> dict[str, Any]:
        ctx = self.context.get()
        state, version = self._member(member_id)
        events = decide(ctx, state)
        envelopes = self._record(ctx, domain.member_stream(member_id), version, events) if events else []
        return self._receipt(envelopes, member_id=member_id, stream=domain.member_stream(member_id))

    def _decide_org(self, org_id: str,
                    decide: Callable[[CommandContext, domain.Organisation], list[DomainEvent]],
                    ) -> dict[str, Any]:
        ctx = self.context.get()
        stream = domain.org_stream(_checked_id(org_id, "org_id"))
        events, version = self._read(stream)
        decided = decide(ctx, domain.fold_organisation(org_id, events))
        envelopes = self._record(ctx, stream, version, decided) if decided else []
        return self._receipt(envelopes, org_id=org_id, stream=stream)

    def _record(self, ctx: CommandContext, stream: str, expected_version: int,
                events: list[DomainEvent], tracking: Tracking | None = None) -> list[Envelope]:
        if not events:  # the decision is that nothing changes (a repeated command)
            return []
        return self.store.append(stream, expected_version, [
            ctx.new_event(e.type_name(), e.to_data(), schema_version=e.SCHEMA_VERSION,
                          occurred_at=self.clock.now()) for e in events], tracking=tracking)

    def _receipt(self, envelopes: list[Envelope], **extra: Any) -> dict[str, Any]:
        if not envelopes:   # already so (a repeated command): nothing recorded
            return {**extra, "version": None, "position": self.store.head(), "event": None,
                    "event_id": None, "events": []}
        last = envelopes[-1]
        return {"stream": last.stream, **extra, "version": last.version, "position": last.position,
                "event": last.type, "event_id": last.event_id, "events": [e.type for e in envelopes]}

    def _actor_role(self) -> str | None:
        try:
            return self.context.get().actor.role
        except MissingActor:   # a query anyone may make
            return None

    # -- plumbing: read models --------------------------------------------------------------------------
    def _org_index(self) -> domain.OrgIndex:
        """Every organisation, as of the store's head (so a command sees what came before it)."""
        if not self.views.wait_for(self.store.head(), timeout=VIEWS_TIMEOUT):
            raise NotYet("the organisation view is behind the store; try again shortly")
        with self.views.connect() as conn:
            return views.org_index(conn, self.views.projection("organisations"))

    def _member_views(self) -> tuple[Any, Any, Any]:
        return (self.views.projection("member_directory"), self.views.projection("duty_ledger"),
                self.views.projection("organisations"))

    def _wait(self, after_position: Any) -> None:
        if not isinstance(after_position, int) or after_position < 0:
            raise InvalidCommand("bad after_position", {"after_position": "a log position (integer >= 0)"})
        if after_position > self.store.head():  # never written here: waiting would be in vain
            raise InvalidCommand(f"position {after_position} is not in the members log",
                                 {"after_position": f"a position this service returned (its log ends "
                                                    f"at {self.store.head()})"})
        if after_position and not self.views.wait_for(after_position):
            raise NotYet(f"the read models have not caught up with position {after_position} "
                         "yet; try again shortly")

    def _dossier_year(self, ledger: domain.Ledger, year: int) -> dict[str, Any]:
        rules = self._rules(year)[0]
        entries = ledger.year_entries(year)
        per: dict[str, dict[str, Any]] = {}
        for e in entries:
            row = per.setdefault(e.activity, {"activity": e.activity,
                                              "label": domain.ACTIVITIES.get(e.activity),
                                              "count": 0, "points": 0, "cap": rules.caps.get(e.activity)})
            row["count"] += 1
            row["points"] += e.points
        for row in per.values():
            row["counted"] = min(row["points"], row["cap"]) if row["cap"] is not None else row["points"]
        assessment = ledger.assessments.get(year)
        return {"year": year, "rules_version": rules.version, "total": ledger.year_total(year, rules.caps),
                "activities": sorted(per.values(), key=lambda r: r["activity"]),
                "entries": [{**e.to_data(), "label": domain.ACTIVITIES.get(e.activity)} for e in entries],
                "recomputations": [r.to_data() for r in ledger.recomputations if r.year == year],
                "assessment": assessment.to_data() if assessment else None}


def _year_of(envelope: Envelope) -> int:
    """The year an event counts in: the committee's (Beijing) calendar year it happened in."""
    return envelope.occurred_at.astimezone(SHANGHAI).year


def _year(year: Any) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidCommand("bad year", {"year": "a year, e.g. 2024"})
    return year


def _checked_id(value: Any, key: str) -> str:
    if not isinstance(value, str) or not domain._ID.match(value):
        raise InvalidCommand(f"bad {key}", {key: "1 to 64 letters, digits, _ . : -"})
    return value


def _contact_argument(contact: Any) -> ContactDetails | None:
    if contact is None:
        return None
    if not isinstance(contact, dict) or set(contact) - set(CONTACT_FIELDS):
        raise InvalidCommand("bad contact details",
                             {"contact": f"a mapping with {', '.join(CONTACT_FIELDS)}"})
    return domain.check_contact_details(**contact)


def _pause() -> None:
    eventlet.sleep(random.uniform(0.001, 0.02))
