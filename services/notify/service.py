"""The notify service: tells people what concerns them (docs/notifications.md).

* **Reactions.** Every event of another service that concerns someone is one decision on the
  case's ``notices-<stream>``: what it says of the case's audience, each recipient's notice
  (once per recipient and cause; the kernel's effect tracking makes a redelivery a no-op) and the
  deliveries their preferences ask for, all in one append, so a notice is never queued without
  its deliveries.
* **Delivery.** A timer sends what is due: it starts an attempt on the delivery's own stream
  (the instance whose append wins sends; the other leaves it), asks the members service for the
  address, hands the message to the channel, and records the outcome. Failures are retried with
  backoff and end in the undeliverable list; an attempt whose sender died is taken up again when
  its lease runs out.
* **Digests.** A notice for a daily or weekly digest waits in its period; once the period is
  over, the digest is closed with exactly the notices it holds (``DigestClosed``) and delivered
  like a notice.
* **Signed webhooks.** Administrators subscribe other systems' URLs to public event types; every
  CloudEvent of the integration exchange that a subscription wants is recorded with its
  deliveries in one append, and a timer POSTs them signed per Standard Webhooks, retried with
  backoff for a day, then parked for an operator to replay (domain/webhooks.py, webhooks.py).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from typing import Any, Sequence

import eventlet
import sqlalchemy as sa
from nameko.exceptions import RemoteError
from nameko.timer import timer

from xieshang.kernel import anchoring
from xieshang.kernel import integration_reads  # the module: `nameko run` takes any class it finds
from xieshang.kernel import directory_views
from xieshang.kernel.clock import Clock, ClockProvider
from xieshang.kernel.consumer import EffectTracking, handle_event
from xieshang.kernel.context import CommandContext
from xieshang.kernel.directory_views import entries
from xieshang.kernel.domain import InvalidCommand, NotFound, WrongState
from xieshang.kernel.envelope import SYSTEM_ACTOR, Envelope
from xieshang.kernel.ids import check_id
from xieshang.kernel.rpc import rpc  # nameko's @rpc, its queue declared as configured
from xieshang.kernel import audit_reads  # the module: nameko run takes a class at the top
from xieshang.kernel.runtime import EXPECTED, RequestContext, WritePath
from xieshang.kernel.store.port import ConcurrencyError
from xieshang.kernel.streams import Streams
from xieshang.kernel.views import PageRequest, ReadModels, select_page

from . import audit
from . import domain
from . import webhooks
from .channels import Message
from .domain import webhooks as wh
from .domain.templates import format_period
from .domain.vocabulary import (ACTIVE, COMMITTEE, PARKED, REACTS_TO, SENT_CHANNELS, SUBSCRIPTIONS_STREAM,
                                WEBHOOK_DELIVERY_STATES, webhook_event_stream, webhook_stream)
from .sending import AddressBook, Channels, NotifySettings, Settings
from .views import PROJECTIONS

log = logging.getLogger(__name__)

MAX_LIST = 500
DIGEST_KEY = re.compile(r"digest\.[A-Za-z0-9_-]{1,128}\.(email|sms)\.[0-9]{4}-(W[0-9]{2}|[0-9]{2}-[0-9]{2})")
WEBHOOK_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
DELIVERY_TICK_SECONDS = 1.0
DRAIN_SECONDS = 5.0        # a tick sends batch after batch this long, then lets the digests close
FOOTER = {"zh-CN": "\n\n——\n本通知由政协履职服务平台发送，详情请登录平台查看。",
          "en": "\n\n--\nSent by the committee's casework system; sign in for the details."}


def _as_digest_key(notification_id: Any) -> str | None:
    """A digest has no notification id: the undeliverable list gives its key, which the same
    argument (and the HTTP path) takes."""
    return notification_id if isinstance(notification_id, str) and notification_id.startswith("digest.") else None


def _webhook_key(key: Any) -> str:
    if not isinstance(key, str) or not 3 <= len(key) <= 200 or not WEBHOOK_KEY.fullmatch(key):
        raise InvalidCommand(("no such webhook delivery", "没有这项推送"),
                             {"key": "推送的编号，见推送列表 (a delivery's key, as the deliveries' list gives it)"})
    return key


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _reaction(service: str):
    def react(self, envelope: Envelope) -> None:
        self._react(service, envelope)
    return react


class NotifyService(directory_views.DirectoryFollower, audit_reads.AuditReads, integration_reads.IntegrationReads):
    """通知: inbox, e-mail and SMS for members, units, staff, leaders and the public."""

    name = "notify"
    state_folders = audit.STATE_FOLDERS
    # this log's checkpoints to the upper level, where one is linked (ADR 0012)
    checkpoints_up = anchoring.checkpoint_outbox()
    publication = domain.events.PUBLICATION  # what leaves the service (ADR 0012)

    streams: Streams = WritePath(domain.registry)
    context = RequestContext()
    views = ReadModels(PROJECTIONS)
    tracking = EffectTracking()
    clock: Clock = ClockProvider()
    settings: NotifySettings = Settings()
    channels = Channels()
    addresses = AddressBook()
    webhook_secrets = webhooks.Secrets()
    webhook_sender = webhooks.Sender()
    webhook_settings: webhooks.WebhookSettings = webhooks.WebhookConfig()
    public_tracking = webhooks.PublicEventTracking()

    # -- reactions: one handler (and queue) per upstream event type ------------------------
    for _service, _types in REACTS_TO.items():
        for _type in _types:
            locals()[f"on_{_snake(_type)}"] = handle_event(_service, _type)(_reaction(_service))
    del _service, _types, _type

    def _react(self, service: str, envelope: Envelope) -> None:
        ctx = CommandContext.caused_by(envelope, reason=f"notify about {envelope.type}")
        committee = self.streams.load(domain.preferences_stream(COMMITTEE), domain.fold_preferences).state
        own: dict[str, domain.Preferences] = {}
        known: dict[str, str | None] = {}

        def preference(recipient: str, kind: str) -> domain.Preference:
            if recipient not in own:
                own[recipient] = self.streams.load(domain.preferences_stream(recipient),
                                                   domain.fold_preferences).state
            return domain.resolve(own[recipient], committee, kind)

        def names(party: str) -> str | None:
            if party not in known:
                entry = entries(self.streams, [party]).get(party)
                known[party] = entry.name if entry is not None else None
            return known[party]

        def members_of(sector: str | None) -> list[str]:
            t = self.views.projection("directory").entries
            query = sa.select(t.c.entry_id).where(t.c.kind == "member", t.c.active.is_(True))
            if sector:
                query = query.where(t.c.sector == sector)
            with self.views.connect() as conn:
                return [r.entry_id for r in conn.execute(query.order_by(t.c.entry_id))]

        now, office, available = self.clock.now(), self.settings.office, tuple(self.channels)
        self.streams.decide(
            ctx, domain.notices_stream(envelope.stream), domain.fold,
            lambda case: domain.notices_for(
                case, service=service, event_type=envelope.type, data=envelope.data,
                subject=envelope.stream, source_event_id=envelope.event_id, office=office, now=now,
                names=names, preference=preference, channels=available, members_of=members_of),
            retry=True, tracking=self.tracking(envelope))

    # -- the inbox ----------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def inbox(self, user_id: str, limit: int = 50, cursor: str | None = None, unread_only: bool = False,
              subject: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """A page of the notices of ``user_id`` (a person's id or an organisation's), newest
        first, with the unread count; ``subject`` (a case's stream) narrows it to one case.
        Readable by that person, by people of that organisation, and by staff and auditors."""
        actor = self.context.get().actor
        domain.require_inbox_reader(actor, check_id(user_id, "user_id"), self._kind(user_id))
        page = PageRequest.parse("inbox", limit, cursor, max_limit=MAX_LIST)
        self.views.read_after(after_position)
        t = self.views.projection("inbox").rows
        query = sa.select(t.c.notification_id, t.c.kind, t.c.subject, t.c.title, t.c.body, t.c.locale,
                          t.c.queued_at, t.c.read_at, t.c.position).where(t.c.recipient == user_id)
        if subject is not None:
            query = query.where(t.c.subject == str(subject))
        if unread_only:
            query = query.where(t.c.read_at.is_(None))
        with self.views.connect() as conn:
            found = select_page(conn, query, page, order=[(t.c.position, True)])
            found["unread"] = self._unread(conn, t, user_id)
        return found

    @staticmethod
    def _unread(conn, t, user_id: str) -> int:
        return conn.execute(sa.select(sa.func.count()).where(
            t.c.recipient == user_id, t.c.read_at.is_(None))).scalar_one()

    @rpc(expected_exceptions=EXPECTED)
    def unread_count(self, user_id: str, after_position: int = 0) -> dict[str, Any]:
        actor = self.context.get().actor
        domain.require_inbox_reader(actor, check_id(user_id, "user_id"), self._kind(user_id))
        self.views.read_after(after_position)
        t = self.views.projection("inbox").rows
        with self.views.connect() as conn:
            return {"user_id": user_id, "unread": self._unread(conn, t, user_id)}

    @rpc(expected_exceptions=EXPECTED)
    def mark_read(self, user_id: str, notification_ids: Sequence[str], after_position: int = 0) -> dict[str, Any]:
        """Mark notices of the inbox read (the person, or people of the organisation). Every id
        must be a notice of this inbox (InvalidCommand naming each that is not)."""
        ctx = self.context.get()
        kind = self._kind(check_id(user_id, "user_id"))
        domain.require_inbox_owner(ctx.actor, user_id, kind)   # before saying which ids exist
        if (not isinstance(notification_ids, (list, tuple)) or not 1 <= len(notification_ids) <= MAX_LIST
                or not all(isinstance(n, str) for n in notification_ids)):
            raise InvalidCommand(("the notices to mark read are malformed", "要标为已读的通知有误"),
                                 {"notification_ids": f"1 至 {MAX_LIST} 个通知编号 (1 to {MAX_LIST} notification ids)"})
        self.views.read_after(after_position)
        t = self.views.projection("inbox").rows
        with self.views.connect() as conn:
            mine = {r.notification_id for r in conn.execute(sa.select(t.c.notification_id).where(
                t.c.recipient == user_id, t.c.notification_id.in_(list(notification_ids))))}
        problems = {f"notification_ids[{i}]": "不是此收件箱的通知 (not a notice of this inbox)"
                    for i, n in enumerate(notification_ids) if n not in mine}
        if problems:
            raise InvalidCommand(("the notices to mark read are malformed", "要标为已读的通知有误"), problems)
        marked: list[str] = []

        def decide(read):
            events = domain.mark_read(ctx.actor, user_id, read, notification_ids, kind)
            marked[:] = [n for e in events for n in e.notification_ids]
            return events
        receipt = self.streams.decide(ctx, domain.reads_stream(user_id), domain.fold_reads, decide,
                                      retry=True, ids={"user_id": user_id})
        return receipt.with_result(marked=len(marked)).to_dict()

    def _kind(self, party: str) -> str | None:
        """What the directory knows ``party`` as (member, an organisation's kind, None)."""
        entry = entries(self.streams, [party]).get(party)
        return entry.kind if entry is not None else None

    # -- preferences ------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def preferences(self, user_id: str) -> dict[str, Any]:
        """How each kind of notice reaches ``user_id`` (their own setting, the committee's, or
        the built-in one), and the channels this deployment has."""
        actor = self.context.get().actor
        if user_id != COMMITTEE:
            domain.require_inbox_reader(actor, check_id(user_id, "user_id"), self._kind(user_id))
        own = self.streams.load(domain.preferences_stream(user_id), domain.fold_preferences).state
        committee = self.streams.load(domain.preferences_stream(COMMITTEE), domain.fold_preferences).state
        return {"user_id": user_id,
                "kinds": {k: domain.resolve(own, committee, k).to_dict() for k in domain.KINDS},
                "kinds_known": list(domain.KINDS),
                "channels_available": ["inbox", *self.channels]}

    @rpc(expected_exceptions=EXPECTED)
    def set_preference(self, user_id: str, kind: str, channels: Sequence[str], cadence: str = "immediate",
                       quiet_hours: str | None = None, locale: str | None = None) -> dict[str, Any]:
        """Set how notices of ``kind`` (``*``: every kind) reach ``user_id``."""
        return self._set_preference(check_id(user_id, "user_id"), kind, channels, cadence, quiet_hours, locale)

    @rpc(expected_exceptions=EXPECTED)
    def set_committee_default(self, kind: str, channels: Sequence[str], cadence: str = "immediate",
                              quiet_hours: str | None = None, locale: str | None = None) -> dict[str, Any]:
        """Staff: the committee's default for ``kind``, for everyone who did not choose."""
        return self._set_preference(COMMITTEE, kind, channels, cadence, quiet_hours, locale)

    def _set_preference(self, user_id, kind, channels, cadence, quiet_hours, locale) -> dict[str, Any]:
        ctx = self.context.get()
        checked = domain.check_preference(kind, channels, cadence, quiet_hours, locale)
        party_kind = None if user_id == COMMITTEE else self._kind(user_id)
        return self.streams.decide(ctx, domain.preferences_stream(user_id), domain.fold_preferences,
                                   lambda prefs: domain.set_preference(ctx.actor, user_id, prefs, checked,
                                                                       party_kind=party_kind),
                                   ids={"user_id": user_id, "kind": kind}).to_dict()

    # -- following a published proposal -----------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def follow_proposal(self, proposal_id: str) -> dict[str, Any]:
        """Follow a published proposal 关注: be told when it is replied to and closed."""
        return self._follow(proposal_id, domain.follow)

    @rpc(expected_exceptions=EXPECTED)
    def unfollow_proposal(self, proposal_id: str) -> dict[str, Any]:
        return self._follow(proposal_id, domain.unfollow)

    def _follow(self, proposal_id: str, decision) -> dict[str, Any]:
        ctx = self.context.get()
        pid = check_id(proposal_id, "proposal_id")
        # Re-decided on a conflict: the reactions write the same stream, and following depends
        # on nothing the person saw.
        return self.streams.decide(ctx, domain.notices_stream(f"proposal-{pid}"), domain.fold,
                                   lambda log_: decision(ctx.actor, log_, pid), retry=True,
                                   ids={"proposal_id": pid}).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def following(self, proposal_id: str) -> dict[str, Any]:
        """Whether the caller follows the proposal 是否关注 (their own following only), and whether
        it may be followed (published, as this service learnt it)."""
        actor = self.context.get().actor
        pid = check_id(proposal_id, "proposal_id")
        log_ = self.streams.load(domain.notices_stream(f"proposal-{pid}"), domain.fold).state
        return {"proposal_id": pid, "following": actor.user_id in log_.followers,
                "published": bool(log_.facts.get("published"))}

    # -- deliveries, for staff ----------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def undeliverable(self, limit: int = 50, cursor: str | None = None, include_skipped: bool = False,
                      after_position: int = 0) -> dict[str, Any]:
        """Deliveries given up (failed, retries exhausted; with ``include_skipped`` also those
        of people without an address for the channel), newest first: staff and auditors."""
        domain.require_delivery_reader(self.context.get().actor)
        page = PageRequest.parse("undeliverable", limit, cursor, max_limit=MAX_LIST)
        self.views.read_after(after_position)
        d, i = self.views.projection("deliveries").rows, self.views.projection("inbox").rows
        states = [domain.UNDELIVERABLE, *([domain.SKIPPED] if include_skipped else [])]
        query = (sa.select(d.c.key, d.c.notification_id, d.c.channel, d.c.recipient, d.c.kind, i.c.title,
                           d.c.attempts, d.c.reason, d.c.detail.label("last_detail"), d.c.given_up_at)
                 .select_from(d.outerjoin(i, i.c.notification_id == d.c.notification_id))
                 .where(d.c.state.in_(states)))
        with self.views.connect() as conn:
            return select_page(conn, query, page, order=[(d.c.position, True), (d.c.key, False)])

    @rpc(expected_exceptions=EXPECTED)
    def deliveries(self, notification_id: str | None = None, key: str | None = None) -> dict[str, Any]:
        """Every attempt to send the notice (or a digest, by the ``key`` the undeliverable list
        gives, also taken as ``notification_id``), by channel, with its outcome: staff and
        auditors."""
        domain.require_delivery_reader(self.context.get().actor)
        key = key if key is not None else _as_digest_key(notification_id)
        if key is not None:
            keys = {self._digest_key(key).rsplit(".", 2)[-2]: key}
        else:
            nid = check_id(notification_id, "notification_id")
            keys = {channel: domain.delivery_key(nid, channel) for channel in SENT_CHANNELS}
        out: dict[str, Any] = {}
        for channel, k in keys.items():
            envelopes = self.streams.store.read_stream(domain.delivery_stream(k))
            if not envelopes:
                continue
            state = domain.fold_delivery(k, domain.registry.decode_all(envelopes))
            out[channel] = {"key": k, "state": state.state, "attempts": [
                {"event": e.type, "at": e.occurred_at.isoformat(), **{f: v for f, v in e.data.items() if f != "key"}}
                for e in envelopes]}
        return {"notification_id": notification_id, "channels": out}

    @rpc(expected_exceptions=EXPECTED)
    def retry_delivery(self, notification_id: str | None = None, channel: str | None = None,
                       key: str | None = None) -> dict[str, Any]:
        """Staff: try an undeliverable notice again on ``channel`` (or a digest, by its ``key``
        from the undeliverable list): a new series of attempts."""
        ctx = self.context.get()
        domain.require_staff(ctx.actor, "retry_delivery")
        key = key if key is not None else _as_digest_key(notification_id)
        if key is not None:
            key = self._digest_key(key)
        else:
            nid = check_id(notification_id, "notification_id")
            if channel not in SENT_CHANNELS:
                raise InvalidCommand(("no such channel", "没有这种投递渠道"),
                                     {"channel": f"渠道 (one of): {', '.join(SENT_CHANNELS)}"})
            key = domain.delivery_key(nid, channel)
        return self.streams.decide(ctx, domain.delivery_stream(key), domain.delivery_fold(key),
                                   domain.request_retry, ids={"key": key}).to_dict()

    @staticmethod
    def _digest_key(key: Any) -> str:
        if not isinstance(key, str) or not DIGEST_KEY.fullmatch(key):
            raise InvalidCommand(("no such delivery", "没有这项投递"),
                                 {"key": "汇总投递的编号，如 digest.m-1.email.2024-03-01 "
                                         "(a digest's key, as the undeliverable list gives it)"})
        return key

    @rpc
    def health(self) -> dict[str, Any]:
        return {"service": self.name, "head": self.streams.store.head(), "views": self.views.position(),
                "channels": sorted(self.channels)}

    # -- the sender ---------------------------------------------------------------------------------
    @timer(interval=DELIVERY_TICK_SECONDS)
    def deliver_due(self) -> dict[str, int]:
        """Send what is due (planned and past its time, or a sender's lease run out), a batch at a
        time, several sends at once, until none is left or the tick's time is up; then close the
        digests whose period is over."""
        counts = {"sent": 0, "retry": 0, "given_up": 0, "taken": 0}
        started = time.monotonic()
        while True:
            due = self._due()
            self._send_batch(due, counts)
            if len(due) < self.settings.batch or time.monotonic() - started > DRAIN_SECONDS:
                break
            self.views.read_after(self.streams.store.head())   # the next batch, not this one again
        self._close_digests()
        if any(counts.values()):
            log.info("deliveries: %s", counts)
        return counts

    def _due(self) -> list[dict[str, Any]]:
        now = self.clock.now().timestamp()
        d = self.views.projection("deliveries").rows
        query = (sa.select(d).where(sa.or_(sa.and_(d.c.state == domain.PLANNED, d.c.due <= now),
                                           sa.and_(d.c.state == domain.SENDING, d.c.lease <= now)))
                 .order_by(d.c.due).limit(self.settings.batch))
        with self.views.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def _send_batch(self, due: list[dict[str, Any]], counts: dict[str, int]) -> None:
        by_channel: dict[str, list[dict[str, Any]]] = {}
        for row in due:
            by_channel.setdefault(row["channel"], []).append(row)
        pool = eventlet.GreenPool(self.settings.concurrency)   # a relay's round trips overlap
        for channel, rows in by_channel.items():
            try:
                addresses = self.addresses(sorted({r["recipient"] for r in rows}), channel) or {}
            except RemoteError as e:   # the members service not ready (NotYet): next tick
                log.warning("no %s addresses this time (%s); the deliveries wait", channel, e.exc_type)
                continue
            for outcome in pool.imap(lambda row: self._deliver(row, addresses.get(row["recipient"])), rows):
                counts[outcome] += 1

    def _deliver(self, row: dict[str, Any], address: str | None) -> str:
        key, policy = row["key"], self.settings.policy
        stream, fold = domain.delivery_stream(key), domain.delivery_fold(key)
        ctx = CommandContext(actor=SYSTEM_ACTOR, reason=f"deliver {row['kind']} by {row['channel']}")
        loaded = self.streams.load(stream, fold)
        started = domain.start_attempt(loaded.state, self.clock.now(), policy)
        if not started:
            return "taken"
        try:
            self.streams.record(ctx, stream, loaded.version, started)
        except ConcurrencyError:
            return "taken"      # another instance started it first: it sends
        attempt = started[0].attempt
        channel = self.channels.get(row["channel"])
        provider_id = None
        if address is None:
            status, detail = domain.OUTCOME_NO_ADDRESS, f"no {row['channel']} address kept"
        elif channel is None:
            status, detail = domain.OUTCOME_FAILED, f"channel {row['channel']} not configured"
        else:
            outcome = channel.send(self._message(row, address))
            status, detail, provider_id = outcome.status, outcome.detail, outcome.provider_id
        events = self.streams.decide(ctx, stream, fold, lambda d: domain.record_outcome(
            d, attempt, status, detail, self.clock.now(), policy, provider_id, row["quiet_hours"]),
            retry=True).events
        if "NoticeDelivered" in events:
            return "sent"
        return "given_up" if "NoticeUndeliverable" in events else "retry"

    def _message(self, row: dict[str, Any], address: str) -> Message:
        t = self.views.projection("inbox").rows
        ids = json.loads(row["notification_ids"]) if row["notification_ids"] else [row["notification_id"]]
        with self.views.connect() as conn:
            found = {r.notification_id: r for r in conn.execute(
                sa.select(t.c.notification_id, t.c.title, t.c.body, t.c.locale, t.c.kind, t.c.params)
                .where(t.c.notification_id.in_(ids)))}
        notices = [found[i] for i in ids if i in found]
        locale = notices[0].locale if notices else "zh-CN"
        if row["notification_id"] is not None:
            n = notices[0]
            return Message(message_id=f"{row['key']}@xieshang", channel=row["channel"], to=address,
                           subject=n.title, text=n.body + FOOTER.get(locale, ""), template=n.kind,
                           params=json.loads(n.params))
        period = row["key"].rsplit(".", 1)[-1]
        items = "\n".join(f"· {n.title}：{n.body}" if locale == "zh-CN" else f"- {n.title}: {n.body}"
                          for n in notices)
        words = format_period(period, locale)
        title, body = domain.render("digest", {"period": words, "count": str(len(notices)), "items": items}, locale)
        return Message(message_id=f"{row['key']}@xieshang", channel=row["channel"], to=address,
                       subject=title, text=body + FOOTER.get(locale, ""), template="digest",
                       params={"period": period, "count": str(len(notices))})

    def _close_digests(self) -> int:
        """Close each digest whose period (and a grace for notices still on their way) is over,
        with exactly the notices it holds; each notice is in one digest (views.DigestEntries)."""
        t = self.views.projection("digest_entries").rows
        ended = self.clock.now().timestamp() - self.settings.digest_grace_seconds
        group = sa.select(t.c.recipient, t.c.channel, t.c.period, t.c.cadence, t.c.quiet_hours).where(
            t.c.closed.is_(False), t.c.ends <= ended).distinct()
        with self.views.connect() as conn:
            groups = conn.execute(group).all()
        if not groups:
            return 0
        self.views.read_after(self.streams.store.head())   # every notice planned so far is seen
        ctx = CommandContext(actor=SYSTEM_ACTOR, reason="digest period over")
        closed = 0
        for recipient, channel, period, cadence, quiet_hours in groups:
            with self.views.connect() as conn:
                ids = [r.notification_id for r in conn.execute(sa.select(t.c.notification_id).where(
                    t.c.recipient == recipient, t.c.channel == channel, t.c.period == period,
                    t.c.closed.is_(False)).order_by(t.c.notification_id))]
            receipt = self.streams.decide(
                ctx, domain.digest_stream(recipient, channel, period), domain.fold_digest,
                lambda done: domain.close_digest(done, recipient=recipient, channel=channel, period=period,
                                                 cadence=cadence, notification_ids=ids, quiet_hours=quiet_hours),
                retry=True)
            closed += bool(receipt.events)
        return closed

    # -- signed webhooks 事件推送 (docs/notifications.md, Webhooks) ---------------------------------
    def _subscriptions(self) -> wh.Subscriptions:
        return self.streams.load_kept(SUBSCRIPTIONS_STREAM, wh.Subscriptions(), wh.fold_subscriptions_on).state

    @webhooks.integration_events()
    def on_public_event(self, event: webhooks.PublicEvent) -> None:
        """A public event of any service: recorded with a delivery per subscription that wants
        it, in one append (once: the event's id is tracked), or nothing when none does."""
        ctx = CommandContext(actor=SYSTEM_ACTOR, reason=f"webhooks for {event.ce_type}")
        subs, now = self._subscriptions(), self.clock.now()
        self.streams.decide(ctx, webhook_event_stream(event.event_id), wh.fold_received,
                            lambda received: wh.plan(received, subs, event_id=event.event_id,
                                                     ce_type=event.ce_type, body=event.body, now=now),
                            retry=True, tracking=self.public_tracking(event))

    @rpc(expected_exceptions=EXPECTED)
    def create_webhook(self, url: str, types: Sequence[str], secret: str | None = None,
                       description: str | None = None) -> dict[str, Any]:
        """Administrators: subscribe ``url`` to the public events of ``types`` (CloudEvents types
        or prefixes). The signing secret is ``secret`` if given, else a new one, answered once
        (``secret``); it is kept in the private store only."""
        ctx = self.context.get()
        wh.require_webhook_admin(ctx.actor, "create_webhook")
        wh.subscribe(ctx.actor, wh.Subscriptions(), "check", "check", url, types, description)  # checked first
        given = secret is not None
        secret = wh.check_secret(secret) if given else wh.new_secret(os.urandom(wh.SECRET_BYTES))
        subscription_id, secret_id = f"wh-{uuid.uuid4().hex[:16]}", uuid.uuid4().hex
        # the secret first: a subscription never exists without its secret (a failed append
        # leaves a row no event names)
        self.webhook_secrets.put(subscription_id, secret_id, secret)
        receipt = self.streams.decide(
            ctx, SUBSCRIPTIONS_STREAM, wh.fold_subscriptions,
            lambda subs: wh.subscribe(ctx.actor, subs, subscription_id, secret_id, url, types, description),
            retry=True, ids={"subscription_id": subscription_id})
        return receipt.with_result(**({} if given else {"secret": secret})).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def rotate_webhook_secret(self, subscription_id: str, secret: str | None = None) -> dict[str, Any]:
        """Administrators: a new signing secret (``secret`` if given, else a new one, answered
        once). The one before still signs too for the overlap (a day by default)."""
        ctx = self.context.get()
        wh.require_webhook_admin(ctx.actor, "rotate_webhook_secret")
        sid = check_id(subscription_id, "subscription_id")
        given = secret is not None
        secret = wh.check_secret(secret) if given else wh.new_secret(os.urandom(wh.SECRET_BYTES))
        policy = self.webhook_settings.policy
        wh.rotate_secret(ctx.actor, self._subscriptions(), sid, "check", self.clock.now(), policy)  # refused first
        secret_id = uuid.uuid4().hex
        self.webhook_secrets.put(sid, secret_id, secret)
        receipt = self.streams.decide(
            ctx, SUBSCRIPTIONS_STREAM, wh.fold_subscriptions,
            lambda subs: wh.rotate_secret(ctx.actor, subs, sid, secret_id, self.clock.now(), policy),
            retry=True, ids={"subscription_id": sid})
        rotated = self._subscriptions().by_id[sid]
        self.webhook_secrets.forget_others(sid, [i for i in (rotated.secret_id, rotated.previous_secret_id) if i])
        return receipt.with_result(**({} if given else {"secret": secret})).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def disable_webhook(self, subscription_id: str) -> dict[str, Any]:
        """Administrators: the subscription gets nothing more (the call's reason is recorded);
        its deliveries still due are parked."""
        ctx = self.context.get()
        sid = check_id(subscription_id, "subscription_id")
        return self.streams.decide(ctx, SUBSCRIPTIONS_STREAM, wh.fold_subscriptions,
                                   lambda subs: wh.disable(ctx.actor, subs, sid, ctx.reason),
                                   retry=True, ids={"subscription_id": sid}).to_dict()

    @rpc(expected_exceptions=EXPECTED)
    def webhooks(self, limit: int = 50, cursor: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """The webhook subscriptions, newest first (never a secret): administrators and auditors."""
        wh.require_webhook_reader(self.context.get().actor)
        page = PageRequest.parse("webhooks", limit, cursor, max_limit=MAX_LIST)
        self.views.read_after(after_position)
        t = self.views.projection("webhook_subscriptions").rows
        query = sa.select(t.c.subscription_id, t.c.url, t.c.types, t.c.description, t.c.state,
                          t.c.created_at, t.c.rotated_at, t.c.disabled_at)
        with self.views.connect() as conn:
            found = select_page(conn, query, page, order=[(t.c.position, True), (t.c.subscription_id, False)])
        for item in found["items"]:
            item["types"] = json.loads(item["types"])
        return found

    @rpc(expected_exceptions=EXPECTED)
    def webhook_deliveries(self, subscription_id: str | None = None, state: str | None = None,
                           limit: int = 50, cursor: str | None = None, after_position: int = 0) -> dict[str, Any]:
        """Webhook deliveries, the latest first, of one subscription or all, in one state
        (``parked``: those an operator may replay): administrators and auditors."""
        wh.require_webhook_reader(self.context.get().actor)
        if subscription_id is not None:
            check_id(subscription_id, "subscription_id")
        if state is not None and state not in WEBHOOK_DELIVERY_STATES:
            raise InvalidCommand(("no such delivery state", "没有这种推送状态"),
                                 {"state": f"状态 (one of): {', '.join(WEBHOOK_DELIVERY_STATES)}"})
        page = PageRequest.parse("webhook_deliveries", limit, cursor, max_limit=MAX_LIST)
        self.views.read_after(after_position)
        t = self.views.projection("webhook_deliveries").rows
        query = sa.select(t.c.key, t.c.subscription_id, t.c.event_id, t.c.ce_type, t.c.state, t.c.series,
                          t.c.attempts, t.c.last_status, t.c.last_error, t.c.reason, t.c.planned_at,
                          t.c.parked_at)
        if subscription_id is not None:
            query = query.where(t.c.subscription_id == subscription_id)
        if state is not None:
            query = query.where(t.c.state == state)
        with self.views.connect() as conn:
            return select_page(conn, query, page, order=[(t.c.position, True), (t.c.key, False)])

    @rpc(expected_exceptions=EXPECTED)
    def webhook_attempts(self, key: str) -> dict[str, Any]:
        """Every attempt of one webhook delivery (``key`` from the deliveries' list), with its
        outcome: administrators and auditors."""
        wh.require_webhook_reader(self.context.get().actor)
        key = _webhook_key(key)
        envelopes = self.streams.store.read_stream(webhook_stream(key))
        if not envelopes:
            raise NotFound(("no such webhook delivery", "没有这项推送"))
        state = wh.fold_webhook(key, domain.registry.decode_all(envelopes))
        return {"key": key, "state": state.state, "series": state.series, "attempts": [
            {"event": e.type, "at": e.occurred_at.isoformat(), **{f: v for f, v in e.data.items() if f != "key"}}
            for e in envelopes]}

    @rpc(expected_exceptions=EXPECTED)
    def replay_webhooks(self, subscription_id: str, key: str | None = None) -> dict[str, Any]:
        """Administrators: try the parked deliveries of a subscription again (only ``key``, if
        given): each a new series of attempts. ``replayed`` says how many."""
        ctx = self.context.get()
        wh.require_webhook_admin(ctx.actor, "replay_webhooks")
        sid = check_id(subscription_id, "subscription_id")
        sub = self._subscriptions().get(sid)
        if sub.state != ACTIVE:
            raise WrongState("replay_webhooks", sub.state, [],
                             ("the subscription is disabled", "该订阅已停用"))
        self.views.read_after(self.streams.store.head())
        t = self.views.projection("webhook_deliveries").rows
        query = sa.select(t.c.key).where(t.c.subscription_id == sid, t.c.state == PARKED)
        if key is not None:
            query = query.where(t.c.key == _webhook_key(key))
        with self.views.connect() as conn:
            keys = [r.key for r in conn.execute(query.order_by(t.c.position))]
        if key is not None and not keys:
            raise InvalidCommand(("no such parked delivery", "没有这项暂停的推送"),
                                 {"key": "此订阅暂停重试的推送编号 (a parked delivery of this subscription)"})
        last, replayed = None, 0
        for k in keys:
            receipt = self.streams.decide(ctx, webhook_stream(k), wh.webhook_fold(k),
                                          lambda d: wh.request_replay(ctx.actor, d) if d.state == PARKED else [],
                                          retry=True)
            if receipt.events:
                last, replayed = receipt, replayed + 1
        if last is None:
            last = self.streams.unchanged(SUBSCRIPTIONS_STREAM, self.streams.store.stream_version(SUBSCRIPTIONS_STREAM))
        return last.with_result(subscription_id=sid, replayed=replayed).to_dict()

    @timer(interval=DELIVERY_TICK_SECONDS)
    def deliver_webhooks(self) -> dict[str, int]:
        """POST what is due (planned and past its time, or a sender's lease run out), a batch at
        a time, several at once, until none is left or the tick's time is up."""
        counts = {"delivered": 0, "retry": 0, "parked": 0, "taken": 0}
        started, settings = time.monotonic(), self.webhook_settings
        while True:
            due = self._due_webhooks(settings.batch)
            pool = eventlet.GreenPool(settings.concurrency)
            for outcome in pool.imap(self._deliver_webhook, due):
                counts[outcome] += 1
            if len(due) < settings.batch or time.monotonic() - started > DRAIN_SECONDS:
                break
            self.views.read_after(self.streams.store.head())
        if any(counts.values()):
            log.info("webhooks: %s", counts)
        return counts

    def _due_webhooks(self, batch: int) -> list[dict[str, Any]]:
        now = self.clock.now().timestamp()
        t = self.views.projection("webhook_deliveries").rows
        query = (sa.select(t.c.key, t.c.subscription_id, t.c.event_id)
                 .where(sa.or_(sa.and_(t.c.state == domain.PLANNED, t.c.due <= now),
                               sa.and_(t.c.state == domain.SENDING, t.c.lease <= now)))
                 .order_by(t.c.due).limit(batch))
        with self.views.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def _deliver_webhook(self, row: dict[str, Any]) -> str:
        key, policy = row["key"], self.webhook_settings.policy
        stream, fold = webhook_stream(key), wh.webhook_fold(key)
        ctx = CommandContext(actor=SYSTEM_ACTOR, reason="deliver a webhook")
        sub = self._subscriptions().by_id.get(row["subscription_id"])
        loaded = self.streams.load(stream, fold)
        if sub is None or sub.state != ACTIVE:
            try:
                return "parked" if self.streams.record(ctx, stream, loaded.version, wh.park_disabled(loaded.state)) \
                    else "taken"
            except ConcurrencyError:
                return "taken"
        started = wh.start_attempt(loaded.state, self.clock.now(), policy)
        if not started:
            return "taken"
        try:
            self.streams.record(ctx, stream, loaded.version, started)
        except ConcurrencyError:
            return "taken"      # another instance started it first: it sends
        attempt = started[0].attempt
        received = wh.fold_received(self.streams.read(webhook_event_stream(row["event_id"]))[0])
        ids = sub.signing_secret_ids(self.clock.now())
        kept = self.webhook_secrets.get(sub.subscription_id, ids)
        secrets = [kept[i] for i in ids if i in kept]
        if received is None:
            answer = webhooks.Answer(None, "EventNotKept")
        elif not secrets:
            answer = webhooks.Answer(None, "SecretNotKept")
        else:
            answer = self.webhook_sender.post(sub.url, row["event_id"], received.body, secrets)
        events = self.streams.decide(ctx, stream, fold, lambda d: wh.record_outcome(
            d, attempt, answer.status, answer.error, self.clock.now(), policy), retry=True).events
        if "WebhookDelivered" in events:
            return "delivered"
        return "parked" if "WebhookParked" in events else "retry"
