"""The members service: the organisation tree, the member registry and duty points, a thin
nameko shell around services.members.domain.

Every command parses its arguments into its command (``domain.commands``) once, then goes
through the kernel's one write path (``self.streams``): load the stream, fold it, let the domain
decide, record at the version folded from (a concurrent change raises ConcurrencyError to the
caller), and answer with the stream's ``Receipt``. Rights are checked from the actor in the
call's context (``domain.access``). Contact details (members' and organisations') go to the
private contact book (contacts.py), never into an event, a log line or a read model (ADR 0005);
the notify service asks where its notices go (``delivery_addresses``, as ``system`` only).

Duty points come from events, each consumed by a handler:

* the proposals service's events, by type name from ``proposals.events`` (its contract is
  services/proposals' events module, documented there, not imported);
* the feedback service's events (opinion reports adopted, adopted above, instructed on), the
  same way from ``feedback.events`` (``domain.opinion_credits``), and its consultations'
  research and meetings and its supervision groups (``domain.consultation_credits``);
* this service's own events (activities recorded, menu sign-ups, a year's rules set), so that
  every credit takes the same at-least-once, idempotent path whatever its source.

Every credit is keyed in the member's ledger, so a redelivered or duplicated event credits
nothing twice; a handler whose effect is one append also carries the kernel's effect tracking.
A credit is a decision the system takes on its own: it is decided again when it loses a race
on the ledger (the kernel's one retry policy). Points are priced by the year's rules when
credited; when staff change a year's rules, the year's ledgers are priced again
(``DutyPointsRecomputed``). A credit priced by rules that changed while it was being appended
is priced again at once (the handler re-reads the rules after its append), so no credit keeps
stale points whatever the interleaving.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import logging
import time
from collections import defaultdict
from typing import Any, Sequence

from xieshang.kernel import anchoring
from xieshang.kernel import integration_reads  # the module: `nameko run` takes any class it finds
from xieshang.kernel.rpc import rpc  # nameko's @rpc, its queue declared as configured

from xieshang.kernel.clock import SHANGHAI, Clock, ClockProvider
from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.context import CommandContext, MissingActor
from xieshang.kernel.domain import DomainEvent, InvalidCommand, NotFound, NotYet
from xieshang.kernel.envelope import Actor, Envelope
from xieshang.kernel.ids import check_id
from xieshang.kernel import audit_reads  # the module: nameko run takes a class at the top
from xieshang.kernel.runtime import EXPECTED, RequestContext, WritePath
from xieshang.kernel.store import ConcurrencyError, Tracking
from xieshang.kernel.streams import Streams
from xieshang.kernel.views import PageRequest, ReadModels

from . import audit
from . import domain, roster, views
from .contacts import ORGANISATIONS, ContactBook, Contacts
from .domain import CONTACT_FIELDS, FEEDBACK, ORG_CONTACT_FIELDS, PROPOSALS, SELF, ContactDetails, access
from .domain import commands as c

log = logging.getLogger(__name__)

VIEWS_TIMEOUT = 30.0
READ_TIMEOUT = 10.0   # how long a query waits for the reactions to a caller's position
MAX_LIST = 500


class MembersService(audit_reads.AuditReads, integration_reads.IntegrationReads):
    """委员: the organisation tree, appointment, stations, rosters, the duty ledger 履职积分."""

    name = "members"
    state_folders = audit.STATE_FOLDERS
    # this log's checkpoints to the upper level, where one is linked (ADR 0012)
    checkpoints_up = anchoring.checkpoint_outbox()
    publication = domain.events.PUBLICATION  # what leaves the service (ADR 0012)

    streams: Streams = WritePath(domain.registry)
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
        cmd = c.RegisterOrganisation.parse(org_id=org_id, kind=kind, name=name, parent=parent, level=level)
        return self._decide_org(cmd.org_id, lambda actor, state: domain.register_organisation(
            actor, state, cmd, self._org_index()))

    @rpc(expected_exceptions=EXPECTED)
    def define_station(self, station_id: str, name: str, station_type: str, level: str,
                       location: str | None = None,
                       communities: Sequence[str] | None = None) -> dict[str, Any]:
        cmd = c.DefineStation.parse(station_id=station_id, name=name, station_type=station_type,
                                    level=level, location=location, communities=communities)
        return self._decide_org(cmd.station_id, lambda actor, state: domain.define_station(
            actor, state, cmd, self._org_index()))

    @rpc(expected_exceptions=EXPECTED)
    def set_station_communities(self, station_id: str, communities: Sequence[str]) -> dict[str, Any]:
        cmd = c.SetStationCommunities.parse(station_id=station_id, communities=communities)
        return self._decide_org(cmd.station_id, lambda actor, state: domain.set_station_communities(
            actor, state, cmd, self._org_index()))

    @rpc(expected_exceptions=EXPECTED)
    def rename_organisation(self, org_id: str, name: str) -> dict[str, Any]:
        cmd = c.RenameOrganisation.parse(org_id=org_id, name=name)
        return self._decide_org(cmd.org_id, lambda actor, state: domain.rename_organisation(
            actor, state, cmd, self._org_index()))

    @rpc(expected_exceptions=EXPECTED)
    def close_organisation(self, org_id: str, reason: str) -> dict[str, Any]:
        cmd = c.CloseOrganisation.parse(org_id=org_id, reason=reason)
        return self._decide_org(cmd.org_id, lambda actor, state: domain.close_organisation(actor, state, cmd))

    @rpc(expected_exceptions=EXPECTED)
    def set_organisation_contact(self, org_id: str, phone: str | None = None,
                                 email: str | None = None) -> dict[str, Any]:
        """Replace an open organisation's phone and mailbox (staff): where notices to it (a
        handling unit, the committee office) are delivered."""
        cmd = c.SetOrganisationContact.parse(org_id=org_id, phone=phone, email=email)
        details = domain.check_organisation_contact(cmd.phone, cmd.email)
        receipt = self._decide_org(cmd.org_id, lambda actor, state: domain.change_organisation_contact(
            actor, state, self.contacts.get(cmd.org_id, of=ORGANISATIONS), details))
        self.contacts.put(cmd.org_id, details, of=ORGANISATIONS)
        return receipt

    @rpc(expected_exceptions=EXPECTED)
    def erase_organisation_contact(self, org_id: str, reason: str = "") -> dict[str, Any]:
        """Forget the organisation's contact details (staff; also once it is closed), saying why:
        ``OrganisationContactErased`` records the reason and which fields were kept."""
        cmd = c.EraseOrganisationContact.parse(org_id=org_id, reason=reason)
        receipt = self._decide_org(cmd.org_id, lambda actor, state: domain.erase_organisation_contact(
            actor, state, self.contacts.get(cmd.org_id, of=ORGANISATIONS), cmd))
        self.contacts.erase(cmd.org_id, of=ORGANISATIONS)
        return receipt

    @rpc(expected_exceptions=EXPECTED)
    def get_organisation_contact(self, org_id: str) -> dict[str, Any]:
        """The organisation's phone and mailbox: for staff only."""
        access.require_staff(self.context.get().actor, "get_organisation_contact",
                             ("only committee staff read the organisations' contact details",
                              "只有工作人员可以查看单位联系方式"))
        domain.require_organisation(self._organisation(org_id), open_only=False)
        details = self.contacts.get(org_id, of=ORGANISATIONS) or ContactDetails()
        return {"org_id": org_id, **{f: getattr(details, f) for f in ORG_CONTACT_FIELDS}}

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
        cmd = c.AppointMember.parse(member_id=member_id, name=name, sector=sector, term=term, roles=roles,
                                    station=station, special_committees=special_committees,
                                    levels=levels, cpc_member=cpc_member, communities=communities,
                                    contact=contact)
        details = _contact_argument(cmd.contact)

        def decide(actor, state: domain.Member) -> list[DomainEvent]:
            events = domain.appoint_member(actor, state, cmd, self._org_index(),
                                           default_levels=[self.streams.store.deployment.level])
            if details is not None:
                events += domain.change_contact_details(actor, domain.fold_member(cmd.member_id, events, state),
                                                        self.contacts.get(cmd.member_id), details)
            return events

        receipt = self._decide_member(cmd.member_id, decide)
        if details is not None:
            self.contacts.put(cmd.member_id, details)
        return receipt

    @rpc(expected_exceptions=EXPECTED)
    def assign_to_station(self, member_id: str, station: str,
                          communities: Sequence[str] | None = None) -> dict[str, Any]:
        """Assign (or reassign) a member to a station 下沉, optionally naming the communities they
        look after there (default: all the station covers)."""
        cmd = c.AssignToStation.parse(member_id=member_id, station=station, communities=communities)
        return self._decide_member(cmd.member_id, lambda actor, state: domain.assign_to_station(
            actor, state, cmd, self._org_index()))

    @rpc(expected_exceptions=EXPECTED)
    def change_roles(self, member_id: str, roles: Sequence[str] | None = None,
                     special_committees: Sequence[str] | None = None,
                     levels: Sequence[str] | None = None, cpc_member: bool | None = None) -> dict[str, Any]:
        cmd = c.ChangeRoles.parse(member_id=member_id, roles=roles, special_committees=special_committees,
                                  levels=levels, cpc_member=cpc_member)
        return self._decide_member(cmd.member_id, lambda actor, state: domain.change_roles(
            actor, state, cmd, self._org_index()))

    @rpc(expected_exceptions=EXPECTED)
    def end_term(self, member_id: str, ended_on: str | None = None) -> dict[str, Any]:
        cmd = c.EndTerm.parse(member_id=member_id, ended_on=ended_on)
        return self._decide_member(cmd.member_id, lambda actor, state: domain.end_term(
            actor, state, cmd, self.clock.today()))

    @rpc(expected_exceptions=EXPECTED)
    def resign_member(self, member_id: str, reason: str, resigned_on: str | None = None) -> dict[str, Any]:
        cmd = c.ResignMember.parse(member_id=member_id, reason=reason, resigned_on=resigned_on)
        return self._decide_member(cmd.member_id, lambda actor, state: domain.resign_member(
            actor, state, cmd, self.clock.today()))

    @rpc(expected_exceptions=EXPECTED)
    def set_contact_details(self, member_id: str, phone: str | None = None, email: str | None = None,
                            address: str | None = None) -> dict[str, Any]:
        """Replace the member's contact details (staff or the member themselves)."""
        cmd = c.SetContactDetails.parse(member_id=member_id, phone=phone, email=email, address=address)
        details = domain.check_contact_details(cmd.phone, cmd.email, cmd.address)
        receipt = self._decide_member(cmd.member_id, lambda actor, state: domain.change_contact_details(
            actor, state, self.contacts.get(cmd.member_id), details))
        self.contacts.put(cmd.member_id, details)
        return receipt

    @rpc(expected_exceptions=EXPECTED)
    def erase_contact_details(self, member_id: str, reason: str = "") -> dict[str, Any]:
        """Forget the member's contact details (e.g. on their request, or once they left the
        committee), saying why: ``ContactDetailsErased`` records the reason and which fields
        were kept; the contact book then forgets the values (also in its files)."""
        cmd = c.EraseContactDetails.parse(member_id=member_id, reason=reason)
        receipt = self._decide_member(cmd.member_id, lambda actor, state: domain.erase_contact_details(
            actor, state, self.contacts.get(cmd.member_id), cmd))
        self.contacts.erase(cmd.member_id)
        return receipt

    @rpc(expected_exceptions=EXPECTED)
    def get_contact_details(self, member_id: str) -> dict[str, Any]:
        """The member's contact details: for staff and the member themselves only."""
        access.require_contact_details_right(self.context.get().actor, member_id, "read contact details")
        domain.require_member(self._member(member_id))
        return {"member_id": member_id, **(self.contacts.get(member_id) or ContactDetails()).to_dict()}

    @rpc(expected_exceptions=EXPECTED)
    def delivery_addresses(self, party_ids: Sequence[str], channel: str) -> dict[str, str | None]:
        """Where notices on ``channel`` ("email", "sms") reach each of ``party_ids`` (members and
        organisations, at most MAX_DELIVERY_IDS): the e-mail, or the mobile number; None when
        none is kept, it was erased, the member no longer serves or the organisation is closed.
        For the notify service only (an actor of role ``system``). Nothing here logs the values."""
        access.require_delivery_lookup_right(self._actor(), "delivery_addresses")
        cmd = domain.check_delivery_query(c.DeliveryAddresses.parse(party_ids=party_ids, channel=channel))
        if not self.views.wait_for(self.streams.store.head(), timeout=READ_TIMEOUT):
            raise NotYet(("the member directory is behind the store; try again shortly",
                          "委员名录尚未更新，请稍后再试"))
        with self.views.connect() as conn:
            members, orgs = views.statuses(conn, self.views.projection("member_directory"),
                                           self.views.projection("organisations"), set(cmd.party_ids))
        serving, open_orgs = domain.reachable(cmd.party_ids, members, orgs)
        contacts = {**self.contacts.get_many(open_orgs, of=ORGANISATIONS), **self.contacts.get_many(serving)}
        return domain.delivery_addresses(cmd, contacts)

    @rpc(expected_exceptions=EXPECTED)
    def import_roster(self, file_name: str, content_base64: str) -> dict[str, Any]:
        """Import a roster 委员名册 (CSV or XLSX, base64): validated whole first, every bad cell
        reported in one InvalidCommand ("row 12, 界别"), nothing written unless all rows are good.
        Importing the same file again changes nothing. The receipt is the summary stream's
        (``rosterimport-<digest>``), with what the import did: ``digest``, ``rows``,
        ``appointed``, ``changed``, ``unchanged`` and ``member_events`` (how many events the
        member streams got)."""
        ctx = self.context.get()
        access.require_staff(ctx.actor, "import_roster", "only committee staff import rosters")
        cmd = c.ImportRoster.parse(file_name=file_name, content_base64=content_base64)
        if not 1 <= len(cmd.file_name) <= 200:
            raise InvalidCommand(("bad file name", "文件名有误"), {"file_name": "the roster file's name, e.g. 委员名册.xlsx"})
        try:
            raw = base64.b64decode(cmd.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidCommand(("the roster is not base64", "名册内容不是 base64 编码"),
                                 {"content_base64": "the file's bytes in base64"}) from None
        parsed = roster.read_roster(cmd.file_name, raw)
        loaded = {row.member_id: self.streams.load(domain.member_stream(check_id(row.member_id, "member_id")),
                                                   _member_fold(row.member_id)) for row in parsed.rows}
        plans = roster.plan_import(ctx.actor, parsed, {m: ld.state for m, ld in loaded.items()},
                                   self._org_index(), [self.streams.store.deployment.level])
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
        stream = domain.roster_import_stream(digest)
        result = {"digest": digest, "rows": len(parsed.rows), "appointed": [], "changed": [],
                  "unchanged": len(parsed.rows) - len(writes), "member_events": 0}
        if not writes:
            return self.streams.unchanged(stream, self.streams.store.stream_version(stream)) \
                .with_result(**result).to_dict()
        # All or nothing: every row was decided on the member's stream as read above; if any of
        # them moved since, nothing is written and the caller imports again.
        store = self.streams.store
        for member_id, _, _ in writes:
            at = loaded[member_id]
            if store.stream_version(at.stream) != at.version:
                raise ConcurrencyError(at.stream, at.version, store.stream_version(at.stream))
        importing = dataclasses.replace(ctx, reason=f"名册导入 {cmd.file_name} ({digest[:12]})")
        for member_id, events, details in writes:
            self.streams.record(importing, loaded[member_id].stream, loaded[member_id].version, events)
            if details is not None:
                self.contacts.put(member_id, details)
            kind = "appointed" if isinstance(events[0], domain.MemberAppointed) else "changed"
            result[kind].append(member_id)
            result["member_events"] += len(events)
        summary = domain.RosterImported(digest=digest, file_name=cmd.file_name, rows=len(parsed.rows),
                                        appointed=result["appointed"], changed=result["changed"],
                                        unchanged=result["unchanged"])
        recorded = self.streams.record(importing, stream, store.stream_version(stream), [summary])
        log.info("roster %s imported: %d appointed, %d changed, %d unchanged", digest[:12],
                 len(result["appointed"]), len(result["changed"]), result["unchanged"])
        return self.streams.receipt(stream, recorded).with_result(**result).to_dict()

    # -- duty points: rules, activities, menus, assessments -------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def set_point_rules(self, year: int, points: dict, caps: dict | None = None) -> dict[str, Any]:
        """Set the committee's points rules for ``year`` (the whole table); the year's ledgers
        are then priced again. The receipt carries the year's ``rules`` as they are now."""
        ctx = self.context.get()
        cmd = c.SetPointRules.parse(year=year, points=points, caps=caps)
        year = domain.check_year(cmd.year)
        receipt = self.streams.decide(ctx, self._rules_stream(year), _rules_fold(self._committee, year),
                                      lambda rules: domain.set_point_rules(ctx.actor, rules, cmd))
        return receipt.with_result(rules=self._rules(year).to_dict()).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def point_rules(self, year: int) -> dict[str, Any]:
        return self._rules(domain.check_year(year)).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def record_activity(self, activity_id: str, kind: str, title: str, held_on: str,
                        participants: Sequence[str], excused: Sequence[str] = ()) -> dict[str, Any]:
        """Record a meeting, inspection, research, consultation, plenary speech or community
        service and who took part (for a meeting also who was excused)."""
        ctx = self.context.get()
        cmd = c.RecordActivity.parse(activity_id=activity_id, kind=kind, title=title, held_on=held_on,
                                     participants=participants, excused=excused)
        members = {m: self._member(m) for m in dict.fromkeys((*cmd.participants, *cmd.excused))}
        return self.streams.decide(
            ctx, domain.activity_stream(cmd.activity_id),
            lambda events: domain.fold_activity(cmd.activity_id, events),
            lambda state: domain.record_activity(ctx.actor, state, cmd, members),
            ids={"activity_id": cmd.activity_id}).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def publish_menu(self, menu_id: str, year: int, title: str, items: Sequence[dict],
                     sector: str | None = None) -> dict[str, Any]:
        """Publish a duty menu 履职菜单 (``sector``: for that sector's members only)."""
        ctx = self.context.get()
        cmd = c.PublishMenu.parse(menu_id=menu_id, year=year, title=title, items=items, sector=sector)
        return self.streams.decide(
            ctx, domain.menu_stream(cmd.menu_id), _menu_fold(cmd.menu_id),
            lambda menu: domain.publish_menu(ctx.actor, menu, cmd,
                                             self._org_index() if cmd.sector is not None else None),
            ids={"menu_id": cmd.menu_id}).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def sign_up_for_menu(self, menu_id: str, item_ids: Sequence[str],
                         member_id: str | None = None) -> dict[str, Any]:
        """A member signs up for menu items (staff may designate items for ``member_id``)."""
        ctx = self.context.get()
        cmd = c.SignUpForMenu.parse(menu_id=menu_id, item_ids=item_ids, member_id=member_id)
        member = self._member(cmd.member_id or ctx.actor.user_id)
        return self.streams.decide(
            ctx, domain.menu_stream(cmd.menu_id), _menu_fold(cmd.menu_id),
            lambda menu: domain.sign_up_for_menu(ctx.actor, menu, cmd, member),
            ids={"menu_id": cmd.menu_id}).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def get_menu(self, menu_id: str, after_position: int = 0) -> dict[str, Any]:
        """The menu, who signed up for what, and who still lacks their minimum (永嘉: two items
        for standing committee and party members, one for everyone else)."""
        menu = self.streams.load(domain.menu_stream(check_id(menu_id, "menu_id")), _menu_fold(menu_id)).state
        if menu.published is None:
            raise NotFound((f"no duty menu {menu_id!r}", f"没有履职菜单 {menu_id!r}"))
        self.views.read_after(after_position)
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
    def list_menus(self, year: int, sector: str | None = None, limit: int = 100, cursor: str | None = None,
                   q: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """The year's published duty menus 履职菜单, latest first, a page of them (``q`` searches
        the title; ``sector``, an id or a name: only the menus open to that sector's members).
        Each with its items, how many members signed up and, for a member asking, ``mine``: the
        items they hold (``get_menu`` tells who signed up for what)."""
        page = PageRequest.parse("list_menus", limit, cursor, q, max_limit=MAX_LIST)
        year = domain.check_year(year)
        actor = self._actor()
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            return views.menus(conn, self.views.projection("duty_menus"), self.views.projection("organisations"),
                               year, sector=sector, page=page,
                               member_id=actor.user_id if actor is not None and actor.role == domain.MEMBER
                               else None)

    @rpc(expected_exceptions=EXPECTED)
    def conclude_assessment(self, member_id: str, year: int, outcome: str, note: str = "") -> dict[str, Any]:
        """Conclude the member's annual assessment 履职考核 on the year's points as they stand."""
        ctx = self.context.get()
        cmd = c.ConcludeAssessment.parse(member_id=member_id, year=year, outcome=outcome, note=note)
        member = self._member(cmd.member_id)
        rules = self._rules(domain.check_year(cmd.year))
        return self.streams.decide(
            ctx, domain.ledger_stream(cmd.member_id), _ledger_fold(cmd.member_id),
            lambda ledger: domain.conclude_assessment(ctx.actor, ledger, cmd, member, rules),
            ids={"member_id": cmd.member_id}).to_dict()

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

    # -- reactions: the feedback service's events (opinion reports 社情民意) -------------------------
    @handle_event(FEEDBACK, "OpinionReportAdopted")
    def on_opinion_report_adopted(self, envelope: Envelope) -> None:
        """社情民意信息被采用: every member among the submitters, once per report."""
        self._credit(envelope, self._opinion_credits(envelope), tracking=self.tracking(envelope))

    @handle_event(FEEDBACK, "OpinionDecidedAbove")
    def on_opinion_decided_above(self, envelope: Envelope) -> None:
        """An upper committee adopted the report (once per upper committee) or a leader there
        instructed on it (once per instruction); its other decisions earn nothing."""
        self._credit(envelope, self._opinion_credits(envelope), tracking=self.tracking(envelope))

    @handle_event(FEEDBACK, "LeaderInstructionRecorded")
    def on_leader_instruction_recorded(self, envelope: Envelope) -> None:
        """领导批示 at this level: every member among the submitters, once per instruction."""
        self._credit(envelope, self._opinion_credits(envelope), tracking=self.tracking(envelope))

    # -- reactions: the feedback service's consultations 协商议事 and supervision groups 民主监督组 --
    @handle_event(FEEDBACK, "ConsultationResearchRecorded")
    def on_consultation_research_recorded(self, envelope: Envelope) -> None:
        """议前调研: every member who took part, once per research record."""
        self._credit(envelope, self._consultation_credits(envelope), tracking=self.tracking(envelope))

    @handle_event(FEEDBACK, "ConsultationMeetingHeld")
    def on_consultation_meeting_held(self, envelope: Envelope) -> None:
        """协商议事会议: every member who attended, once per consultation."""
        self._credit(envelope, self._consultation_credits(envelope), tracking=self.tracking(envelope))

    @handle_event(FEEDBACK, "SupervisionGroupFormed")
    def on_supervision_group_formed(self, envelope: Envelope) -> None:
        """民主监督组: the group's leader and each of its members, once per group."""
        self._credit(envelope, self._consultation_credits(envelope), tracking=self.tracking(envelope))

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
        if envelope.data.get("committee") != self._committee:
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
    def get_member(self, member_id: str, after_position: int = 0) -> dict[str, Any]:
        """The member and their duty ledger, folded from their streams (no contact details).
        ``after_position``: see ``get_dossier``."""
        member = domain.require_member(self._member(member_id))
        loaded = self._ledger_after(member_id, after_position)
        ledger = loaded.state
        points = sum(ledger.year_total(y, self._rules(y).caps if y else {}) for y in ledger.years())
        return {**member.to_dict(), "points": points, "ledger": [e.to_data() for e in ledger.entries],
                "ledger_version": loaded.version}

    @rpc(expected_exceptions=EXPECTED)
    def list_members(self, sector: str | None = None, after_position: int = 0, station: str | None = None,
                     status: str | None = None, limit: int = 100, cursor: str | None = None,
                     q: str | None = None) -> dict[str, Any]:
        """Appointed members with their points, from the read model, highest points first: a
        page of them (``q`` searches name, member id and sector)."""
        page = PageRequest.parse("list_members", limit, cursor, q, max_limit=MAX_LIST)
        self._points_read_after(after_position)
        with self.views.connect() as conn:
            return views.list_members(conn, *self._member_views(), sector=sector, station=station,
                                      status=status, page=page)

    @rpc(expected_exceptions=EXPECTED)
    def get_organisation(self, org_id: str) -> dict[str, Any]:
        state = self._organisation(org_id)
        if not state.exists:
            raise NotFound((f"no organisation {org_id!r}", f"没有组织 {org_id!r}"))
        return state.to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def list_organisations(self, kind: str | None = None, parent: str | None = None,
                           include_closed: bool = False, limit: int = 100, cursor: str | None = None,
                           q: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """A page of the organisations, by kind and name (``q`` searches the name)."""
        page = PageRequest.parse("list_organisations", limit, cursor, q, max_limit=MAX_LIST)
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            return views.organisations(conn, self.views.projection("organisations"), kind=kind,
                                       parent=parent, include_closed=include_closed, page=page)

    @rpc(expected_exceptions=EXPECTED)
    def coverage(self, township: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """Every community with the members who look after it; ``uncovered`` lists those without."""
        self.views.read_after(after_position)
        with self.views.connect() as conn:
            return views.coverage(conn, self.views.projection("organisations"),
                                  self.views.projection("member_directory"), township=township)

    @rpc(expected_exceptions=EXPECTED)
    def ranking(self, year: int, sector: str | None = None, limit: int = 100, cursor: str | None = None,
                q: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """The year's points ranking 履职积分排名, a page of it (published regularly: no personal
        data; an assessment's outcome only for READERS_OF_ALL; ``q`` finds people in it and
        leaves their ranks as they are)."""
        page = PageRequest.parse("ranking", limit, cursor, q, max_limit=MAX_LIST)
        year = domain.check_year(year)
        self._points_read_after(after_position)
        with self.views.connect() as conn:
            directory, ledger, orgs = self._member_views()
            found = views.ranking(conn, ledger, directory, orgs, year, sector=sector, page=page)
        return {**found, "items": access.ranking_as_seen_by(self._actor_role(), found["items"])}

    @rpc(expected_exceptions=EXPECTED)
    def get_dossier(self, member_id: str, year: int | None = None, after_position: int = 0) -> dict[str, Any]:
        """The member's duty dossier 履职档案 per year: every credited activity with the event that
        earned it, the totals per activity (caps applied), the recomputations when the year's
        rules changed, and the assessment as it was concluded. For staff, leaders, auditors and
        the member themselves.

        The ledger is folded from the member's stream, but what reaches it comes from this
        service's reactions (credits for activities and menu sign-ups, the repricing after a
        rules change), which run after the command that caused them answered. With
        ``after_position`` (a position a command of this service answered with) the dossier
        waits until those reactions are in the ledger: every year's entries priced by the
        year's rules as they are now, and the credits of the event at that position."""
        access.require_dossier_reader(self.context.get().actor, member_id)
        member = domain.require_member(self._member(member_id))
        if year is not None:
            year = domain.check_year(year)
        ledger = self._ledger_after(member_id, after_position).state
        years = ([year] if year is not None else sorted(set(ledger.years()) | set(ledger.assessments)))
        return {"member": member.to_dict(), "years": [self._dossier_year(ledger, y) for y in years]}

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.streams.store.head(), "views": self.views.position()}

    # -- credits: decisions the system takes on its own, retried on a lost race -----------------------
    def _proposal_credits(self, envelope: Envelope) -> list[domain.Credit]:
        credits = domain.proposal_credits(envelope.type, envelope.data, event_id=envelope.event_id,
                                          stream=envelope.stream, year=_year_of(envelope))
        if envelope.type == "ProposalFiled" and envelope.data.get("kind") == "collective":
            # a collective proposal entered by staff (a consultation's result) has no member to credit
            credits = [c for c in credits if self._member(c.member_id).appointed]
        return credits

    def _opinion_credits(self, envelope: Envelope) -> list[domain.Credit]:
        return domain.opinion_credits(envelope.type, envelope.data, event_id=envelope.event_id,
                                      stream=envelope.stream, year=_year_of(envelope))

    def _consultation_credits(self, envelope: Envelope) -> list[domain.Credit]:
        return domain.consultation_credits(envelope.type, envelope.data, event_id=envelope.event_id,
                                           stream=envelope.stream, year=_year_of(envelope))

    def _note_case(self, envelope: Envelope) -> None:
        """Note what the event says about its case, then credit the key designation to every
        proposer known by now (whichever of the two events came first)."""
        proposal_id = str(envelope.data["proposal_id"])
        ctx = CommandContext.caused_by(envelope, reason="proposal case noted for duty points")
        after: dict[str, domain.CaseNotes] = {}

        def note(case: domain.CaseNotes) -> list[DomainEvent]:
            noted = domain.note_case(case, envelope.type, envelope.data, event_id=envelope.event_id,
                                     stream=envelope.stream, year=_year_of(envelope))
            after["case"] = domain.fold_case(proposal_id, noted, case)
            return noted

        self.streams.decide(ctx, domain.case_stream(proposal_id),
                            lambda events: domain.fold_case(proposal_id, events), note, retry=True)
        self._credit(envelope, domain.key_credits(after["case"]))

    def _credit(self, envelope: Envelope, credits: list[domain.Credit],
                tracking: Tracking | None = None) -> None:
        """Award ``credits`` (one append per member and year). ``tracking`` marks the event
        processed with the append, so only a handler whose effect is one append passes it."""
        ctx = CommandContext.caused_by(envelope, reason="duty points: " + ", ".join(
            dict.fromkeys(credit.activity for credit in credits)))
        groups: dict[tuple[str, int], list[domain.Credit]] = defaultdict(list)
        for credit in credits:
            groups[(credit.member_id, credit.year)].append(credit)
        for member_id, year in groups:
            self._award(ctx, member_id, year, groups[(member_id, year)],
                        tracking if len(groups) == 1 else None)

    def _award(self, ctx: CommandContext, member_id: str, year: int, credits: list[domain.Credit],
               tracking: Tracking | None) -> None:
        priced: dict[str, domain.PointRules] = {}

        def award(ledger: domain.Ledger) -> list[DomainEvent]:
            priced["rules"] = self._rules(year)
            return domain.award(ledger, credits, priced["rules"])

        receipt = self.streams.decide(ctx, domain.ledger_stream(member_id), None, award, retry=True,
                                      tracking=tracking, load=self._kept_ledger(member_id))
        if receipt.recorded and self._rules(year).version != priced["rules"].version:
            # The year's rules changed between our reading them and our append: the recompute
            # that followed the change may not have seen this entry.
            self._recompute(dataclasses.replace(ctx, reason=f"duty points rules of {year} changed"),
                            member_id, year)

    def _recompute(self, ctx: CommandContext, member_id: str, year: int) -> None:
        self.streams.decide(ctx, domain.ledger_stream(member_id), None,
                            lambda ledger: domain.recompute_year(ledger, self._rules(year)), retry=True,
                            load=self._kept_ledger(member_id))

    def _kept_ledger(self, member_id: str):
        # The member's ledger folded on from the copy this process kept: a credit costs the same
        # for a member with hundreds of entries as for a new one (only the entries since are read).
        stream = domain.ledger_stream(member_id)
        return lambda: self.streams.load_kept(stream, domain.Ledger(member_id), domain.fold_ledger_on)

    # -- the streams of this service ------------------------------------------------------------------
    @property
    def _committee(self) -> str:
        return self.streams.store.deployment.committee

    def _member(self, member_id: str) -> domain.Member:
        return self.streams.load(domain.member_stream(check_id(member_id, "member_id")),
                                 _member_fold(member_id)).state

    def _organisation(self, org_id: str) -> domain.Organisation:
        return self.streams.load(domain.org_stream(check_id(org_id, "org_id")), _org_fold(org_id)).state

    def _rules_stream(self, year: int) -> str:
        return domain.rules_stream(self._committee, year)

    def _rules(self, year: int) -> domain.PointRules:
        return self.streams.load(self._rules_stream(year), _rules_fold(self._committee, year)).state

    def _decide_member(self, member_id: str, decide) -> dict[str, Any]:
        ctx = self.context.get()
        return self.streams.decide(ctx, domain.member_stream(member_id), _member_fold(member_id),
                                   lambda state: decide(ctx.actor, state),
                                   ids={"member_id": member_id}).to_dict()

    def _decide_org(self, org_id: str, decide) -> dict[str, Any]:
        ctx = self.context.get()
        return self.streams.decide(ctx, domain.org_stream(org_id), _org_fold(org_id),
                                   lambda state: decide(ctx.actor, state), ids={"org_id": org_id}).to_dict()

    def _actor(self) -> Actor | None:
        try:
            return self.context.get().actor
        except MissingActor:   # a query anyone may make, or one refused without an actor
            return None

    def _actor_role(self) -> str | None:
        actor = self._actor()
        return None if actor is None else actor.role

    def _ledger_after(self, member_id: str, after_position: int):
        """The member's ledger (loaded: state and version); after ``after_position``, once the
        reactions it waits for are in it (``get_dossier``), or NotYet after READ_TIMEOUT."""
        stream, fold = domain.ledger_stream(check_id(member_id, "member_id")), _ledger_fold(member_id)
        self.views.read_after(after_position)   # checks the position; the views hold it
        if not after_position:
            return self.streams.load(stream, fold)
        owed = [key for member, key in self._credits_of(after_position) if member == member_id]
        deadline = time.monotonic() + READ_TIMEOUT
        while True:
            loaded = self.streams.load(stream, fold)
            ledger = loaded.state
            if all(ledger.credited_for(key) for key in owed) and not any(
                    domain.recompute_year(ledger, self._rules(y)) for y in ledger.years()):
                return loaded
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotYet((f"the duty points of {member_id} have not caught up with position "
                              f"{after_position} yet; try again shortly",
                              f"{member_id} 的履职积分尚未更新到位置 {after_position}，请稍后再试"))
            # Woken by the next append to the log (or polled): the reactions append to it.
            self.views.wait_for(self.streams.store.head() + 1, timeout=min(remaining, 0.25))

    def _points_read_after(self, after_position: int) -> None:
        """``read_after`` for the queries that show points from the ledger view (ranking,
        members): then wait until the view holds the reactions to the event at that position
        (its credits; after a rules change, every entry priced by its year's rules as they are
        now), or NotYet after READ_TIMEOUT."""
        self.views.read_after(after_position)
        if not after_position:
            return
        owed = self._credits_of(after_position)
        ledger = self.views.projection("duty_ledger")
        deadline = time.monotonic() + READ_TIMEOUT
        while True:
            with self.views.connect() as conn:
                priced = views.rules_versions_priced(conn, ledger)
                ready = views.credited(conn, ledger, owed)
            if ready and all(versions == {self._rules(year).version} for year, versions in priced.items()):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NotYet((f"the duty points have not caught up with position {after_position} "
                              "yet; try again shortly", f"履职积分尚未更新到位置 {after_position}，请稍后再试"))
            self.views.wait_for(self.streams.store.head() + 1, timeout=min(remaining, 0.25))

    def _credits_of(self, position: int) -> list[tuple[str, str]]:
        """The (member id, credit key) pairs this service's reactions credit for the event at
        ``position`` of its log (an activity recorded, a menu sign-up), if it is one."""
        found = [e for e in self.streams.store.read_all(after=position - 1, limit=1) if e.position == position]
        if not found or found[0].type not in ("ActivityRecorded", "MenuSignedUp"):
            return []
        envelope = found[0]
        event = domain.registry.decode(envelope)
        credits = (domain.activity_credits if envelope.type == "ActivityRecorded" else domain.menu_credits)(
            event, event_id=envelope.event_id, stream=envelope.stream, service=SELF)
        return [(credit.member_id, credit.credit_key) for credit in credits if credit.activity in domain.ACTIVITIES]

    # -- read models -----------------------------------------------------------------------------------
    def _org_index(self) -> domain.OrgIndex:
        """Every organisation, as of the store's head (so a command sees what came before it)."""
        if not self.views.wait_for(self.streams.store.head(), timeout=VIEWS_TIMEOUT):
            raise NotYet("the organisation view is behind the store; try again shortly")
        with self.views.connect() as conn:
            return views.org_index(conn, self.views.projection("organisations"))

    def _member_views(self) -> tuple[Any, Any, Any]:
        return (self.views.projection("member_directory"), self.views.projection("duty_ledger"),
                self.views.projection("organisations"))

    def _dossier_year(self, ledger: domain.Ledger, year: int) -> dict[str, Any]:
        rules = self._rules(year)
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


# -- the folds of this service's streams --------------------------------------------------------------

def _member_fold(member_id: str):
    return lambda events: domain.fold_member(member_id, events)


def _org_fold(org_id: str):
    return lambda events: domain.fold_organisation(org_id, events)


def _ledger_fold(member_id: str):
    return lambda events: domain.fold_ledger(member_id, events)


def _menu_fold(menu_id: str):
    return lambda events: domain.fold_menu(menu_id, events)


def _rules_fold(committee: str, year: int):
    return lambda events: domain.fold_point_rules(committee, year, events)


def _year_of(envelope: Envelope) -> int:
    """The year an event counts in: the committee's (Beijing) calendar year it happened in."""
    return envelope.occurred_at.astimezone(SHANGHAI).year


def _contact_argument(contact: dict | None) -> ContactDetails | None:
    if contact is None:
        return None
    if set(contact) - set(CONTACT_FIELDS):
        raise InvalidCommand(("bad contact details", "联系方式有误"),
                             {"contact": f"a mapping with {', '.join(CONTACT_FIELDS)}"})
    return domain.check_contact_details(**contact)
