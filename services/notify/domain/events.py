"""The notify service's published events (its contract; docs/events.md lists them).

Imports only the kernel. No event carries a contact detail: recipients are member, user or
organisation ids; an address is looked up at send time and forgotten (docs/notifications.md).

Streams: ``notices-<subject stream>`` (who was told what about one case, with the case's
audience and the deliveries planned), ``preferences-<user>`` (and ``preferences-committee``),
``reads-<user>``, ``delivery-<notification>.<channel>`` / ``delivery-digest.<…>`` (the attempts),
``digest-<recipient>.<channel>.<period>``, ``directory-<id>`` (names, from the members service),
``webhook-subscriptions``, ``webhook-event-<event id>`` and ``webhook-<subscription>.<event id>``
(signed webhooks: the subscriptions, a public event and its deliveries, one delivery's attempts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xieshang.kernel.directory import DirectoryEntryNoted
from xieshang.kernel.domain import DomainEvent, EventRegistry
from xieshang.kernel.anchoring import register_checkpoint_events
from xieshang.kernel.integration import NOTHING_WITHHELD, Publication

registry = EventRegistry()

# Names of members and organisations, so that notices say names, never ids.
DirectoryEntryNoted = registry.register(DirectoryEntryNoted)


@registry.register
@dataclass(frozen=True)
class NotificationQueued(DomainEvent):
    """A notice for ``recipient`` (member, user or organisation id) was put in their inbox.

    ``kind`` says what it is about (e.g. ``proposal_assigned_lead``, docs/notifications.md);
    ``subject`` is the stream of the case; ``source_event_id`` the event that caused it;
    ``title``/``body`` the text in ``locale``, from ``template`` with ``params`` (names, never ids).
    """

    notification_id: str
    recipient: str
    channel: str
    kind: str
    subject: str
    title: str
    body: str
    source_event_id: str
    locale: str = "zh-CN"
    params: dict = field(default_factory=dict)

    def identity(self) -> str:
        # The event id is the notification id: re-appending the same notice is a no-op.
        return self.notification_id


@registry.register
@dataclass(frozen=True)
class AudienceNoted(DomainEvent):
    """Who a case concerns, as learnt from its events: ``role`` (proposer, co_signer, merged,
    credited (the proposers an event of the case listed), lead_unit, co_unit, supervisor,
    submitter, member, unit) now includes ``parties``
    (``replace``: exactly these); ``facts`` the case's title, case number, published flag."""

    subject: str
    source_event_id: str
    role: str = ""
    parties: list = field(default_factory=list)
    replace: bool = False
    facts: dict = field(default_factory=dict)


@registry.register
@dataclass(frozen=True)
class ProposalFollowed(DomainEvent):
    """``follower`` (a public user, or anyone signed in) follows a published proposal 关注."""

    proposal_id: str
    follower: str


@registry.register
@dataclass(frozen=True)
class ProposalUnfollowed(DomainEvent):
    """``follower`` no longer follows the proposal."""

    proposal_id: str
    follower: str


@registry.register
@dataclass(frozen=True)
class NoticesRead(DomainEvent):
    """``reader`` marked notices of the inbox ``recipient`` read."""

    recipient: str
    reader: str
    notification_ids: list


@registry.register
@dataclass(frozen=True)
class NoticePreferenceSet(DomainEvent):
    """How ``user_id`` (or ``committee``: the defaults staff set) wants notices of ``kind``
    (``*``: every kind): on which ``channels`` (the inbox always), ``cadence`` immediate / daily
    / weekly digest, ``quiet_hours`` "HH:MM-HH:MM" in the committee's time zone (nothing is sent
    then; it waits for the end), ``locale``."""

    user_id: str
    kind: str
    channels: list
    cadence: str
    quiet_hours: str | None = None
    locale: str | None = None


@registry.register
@dataclass(frozen=True)
class DeliveryPlanned(DomainEvent):
    """The notice ``notification_id`` goes to ``recipient`` on ``channel``: at ``due_at`` (after
    quiet hours) or, with ``digest_period``, in that period's digest; ``quiet_hours`` the
    recipient's then (retries and the digest wait for their end too). Recorded with the notice."""

    notification_id: str
    recipient: str
    channel: str
    kind: str
    due_at: str
    digest_period: str | None = None
    cadence: str = "immediate"
    quiet_hours: str | None = None


@registry.register
@dataclass(frozen=True)
class DigestClosed(DomainEvent):
    """The digest of ``recipient`` on ``channel`` for ``period`` closed with exactly these
    notices (each notice is in one digest); it is then delivered like a notice, after the
    recipient's ``quiet_hours``."""

    recipient: str
    channel: str
    period: str
    cadence: str
    notification_ids: list
    quiet_hours: str | None = None


@registry.register
@dataclass(frozen=True)
class DeliveryAttemptStarted(DomainEvent):
    """Attempt ``attempt`` of delivery ``key`` started (the instance that recorded it sends;
    another one finding the stream moved on leaves it). If no outcome follows by
    ``lease_until`` (the sender died), the next attempt may start."""

    key: str
    attempt: int
    lease_until: str


@registry.register
@dataclass(frozen=True)
class DeliveryAttempted(DomainEvent):
    """The outcome of attempt ``attempt``: sent, retry (transient; next at ``retry_at``),
    failed (permanent) or no_address; ``detail`` the server's code, never an address."""

    key: str
    attempt: int
    outcome: str
    detail: str = ""
    retry_at: str | None = None
    provider_id: str | None = None


@registry.register
@dataclass(frozen=True)
class NoticeDelivered(DomainEvent):
    """Delivery ``key`` was accepted by the channel's server after ``attempts`` attempts."""

    key: str
    attempts: int


@registry.register
@dataclass(frozen=True)
class NoticeUndeliverable(DomainEvent):
    """Delivery ``key`` gave up after ``attempts`` (``reason``: failed, retries_exhausted,
    no_address): listed for staff, who may try it again."""

    key: str
    attempts: int
    reason: str
    detail: str = ""


@registry.register
@dataclass(frozen=True)
class DeliveryRetryRequested(DomainEvent):
    """Staff asked for an undeliverable delivery to be tried again (from attempt 1 of a new
    series)."""

    key: str



# -- signed webhooks 事件推送 (issue 16; docs/notifications.md "Webhooks") --------------------------
# Subscriptions are on one stream, ``webhook-subscriptions``; a public event taken from the
# integration exchange and the deliveries it needs are on ``webhook-event-<event id>``; each
# delivery's attempts on ``webhook-<subscription>.<event id>``. No secret is in any of them:
# secrets are in notify's private store (services/notify/webhooks.py, ADR 0005).

@registry.register
@dataclass(frozen=True)
class WebhookSubscribed(DomainEvent):
    """An administrator subscribed ``url`` (https; http only to this machine) to the public
    events whose CloudEvents type is one of ``types`` or starts with one of them (whole dotted
    parts); its signing secret is kept in the private store as ``secret_id`` (an id, not the
    secret)."""

    subscription_id: str
    url: str
    types: list
    secret_id: str
    description: str = ""


@registry.register
@dataclass(frozen=True)
class WebhookSecretRotated(DomainEvent):
    """The subscription signs with the secret ``secret_id`` from now on (and, until
    ``overlap_until``, with ``previous_secret_id`` as well, so that the receiver may change
    over: Standard Webhooks sends a signature per secret)."""

    subscription_id: str
    secret_id: str
    previous_secret_id: str | None = None
    overlap_until: str | None = None


@registry.register
@dataclass(frozen=True)
class WebhookDisabled(DomainEvent):
    """The subscription gets nothing more (deliveries under way are parked when due)."""

    subscription_id: str
    reason: str = ""


@registry.register
@dataclass(frozen=True)
class WebhookEventReceived(DomainEvent):
    """A public event arrived from the integration exchange, as the CloudEvent ``body`` (the
    structured JSON, exactly the bytes delivered) of type ``ce_type``, id ``event_id``."""

    event_id: str
    ce_type: str
    body: str


@registry.register
@dataclass(frozen=True)
class WebhookPlanned(DomainEvent):
    """The event goes to subscription ``subscription_id`` (delivery ``key``), due at ``due_at``;
    recorded with the event in one append."""

    key: str
    subscription_id: str
    event_id: str
    ce_type: str
    due_at: str


@registry.register
@dataclass(frozen=True)
class WebhookAttemptStarted(DomainEvent):
    """Attempt ``attempt`` of delivery ``key`` (series ``series``, whose first attempt started
    at ``series_started``) started; the instance whose append won sends. Without an outcome by
    ``lease_until`` the next attempt may start."""

    key: str
    attempt: int
    lease_until: str
    series: int = 1
    series_started: str | None = None


@registry.register
@dataclass(frozen=True)
class WebhookAttempted(DomainEvent):
    """The outcome of attempt ``attempt``: ``delivered`` (a 2xx), ``retry`` (next at
    ``retry_at``) or ``gone`` (410); ``status`` the receiver's HTTP status, or ``error`` the
    class of the failure (e.g. ``ConnectionRefusedError``, ``TimeoutError``), never a body."""

    key: str
    attempt: int
    outcome: str
    status: int | None = None
    error: str | None = None
    retry_at: str | None = None


@registry.register
@dataclass(frozen=True)
class WebhookDelivered(DomainEvent):
    """Delivery ``key`` was accepted (a 2xx) at attempt ``attempts`` of its series."""

    key: str
    attempts: int


@registry.register
@dataclass(frozen=True)
class WebhookParked(DomainEvent):
    """Delivery ``key`` stopped being retried after ``attempts`` attempts (``reason``:
    retries_exhausted (a day and more of them), gone (the receiver said 410), disabled (the
    subscription was)): listed for operators, who may replay it."""

    key: str
    attempts: int
    reason: str


@registry.register
@dataclass(frozen=True)
class WebhookReplayRequested(DomainEvent):
    """An operator asked for a parked delivery to be tried again: series ``series`` begins at
    attempt 1."""

    key: str
    series: int


# Signed checkpoints of this log's head (xieshang.kernel.anchoring): public, hashes only.
register_checkpoint_events(registry)

# -- what leaves the service (the integration contract, ADR 0012) --------------------------------
# Nothing of notify's own is public: every event is about a person (a notice to someone, what
# they follow and read, how they want to be told, whether it reached them); only the log's
# checkpoints leave it.
PUBLICATION = Publication("notify", registry, public={"LogCheckpointed": NOTHING_WITHHELD}, private={
    "DirectoryEntryNoted": "this service's copy of the members service's directory",
    "NotificationQueued": "a notice to a person",
    "AudienceNoted": "who is told about a case",
    "ProposalFollowed": "a person's choice to follow a case",
    "ProposalUnfollowed": "a person's choice to follow a case",
    "NoticesRead": "what a person has read",
    "NoticePreferenceSet": "a person's notice preferences",
    "DeliveryPlanned": "a notice's delivery to a person",
    "DigestClosed": "a person's digest",
    "DeliveryAttemptStarted": "a notice's delivery to a person",
    "DeliveryAttempted": "a notice's delivery to a person",
    "NoticeDelivered": "a notice's delivery to a person",
    "NoticeUndeliverable": "a notice's delivery to a person",
    "DeliveryRetryRequested": "a notice's delivery to a person",
    # webhooks: where other systems are told, and whether they were (the events themselves are
    # public already: they came from the integration exchange)
    "WebhookSubscribed": "a receiving system's address, the operators' configuration",
    "WebhookSecretRotated": "the operators' configuration of a receiving system",
    "WebhookDisabled": "the operators' configuration of a receiving system",
    "WebhookEventReceived": "a copy of another service's public event, published there",
    "WebhookPlanned": "a delivery to a receiving system",
    "WebhookAttemptStarted": "a delivery to a receiving system",
    "WebhookAttempted": "a delivery to a receiving system",
    "WebhookDelivered": "a delivery to a receiving system",
    "WebhookParked": "a delivery to a receiving system",
    "WebhookReplayRequested": "a delivery to a receiving system",
})
