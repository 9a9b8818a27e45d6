"""Committees at different levels: links, the messages that cross them, the outbox and the inbox.

Each deployment (one committee: national, province, city or county, ``envelope.LEVELS``) is its
own stack with its own broker or vhost. It is linked to the committees above and below it by
configuration (``XIESHANG_LINKS``, read by ``Links.load``) and, on the brokers, by two dynamic
shovels per link (``tools/levels.py`` makes them; docs/adr/0009-levels-linked-by-shovels.md says
why shovels). On every deployment's broker:

- ``xieshang.levels.out`` (topic exchange): what this deployment sends; a durable quorum queue
  ``xieshang.levels.out.<code>`` per linked committee, bound with ``to.<code>``, holds what
  waits for that committee (declared by ``LinkOutbox`` at start, so nothing is lost while a
  link is down);
- ``xieshang.levels.in`` (topic exchange): what the shovels deliver, with the routing key
  ``from.<code>`` set by the shovel of the link; the durable quorum queue
  ``xieshang.levels.inbox`` (bound with ``#``) is consumed by the one ``link_inbox`` handler
  of the deployment, with the kernel's dead-lettering (``xieshang.levels.inbox.dead``).

What crosses a link is a ``LinkMessage`` (JSON): the kind (``opinion.reported`` goes up,
``opinion.decided`` comes down), the sender, the committee it is for, and the sender's event it
was made of (id, type, stream, log position and chain hash). A service sends them with
``LinkOutbox(mapper)``, a relay of its own store that publishes ``mapper(envelope, store)``
(a list of ``LinkMessage``) in log order, at least once; it receives them with a method
decorated ``@link_inbox()``, which is handed each ``LinkMessage`` that passed the checks and
must make its effect an append with ``tracking=link_tracking(...)`` (the origin event id), so
that a message delivered twice has one effect. A message that does not parse, comes from an
unknown committee, from a link of the wrong direction for its kind, names a sender other than
the link it came by, or is addressed to another committee is dead-lettered at once with the
reason and never reaches the handler.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import orjson
from kombu import Exchange, Queue
from nameko.amqp.publish import get_connection
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY
from nameko.containers import WorkerContext
from nameko.extensions import DependencyProvider

from .config import ConfigError, Settings, setting_source
from .consumer import (REASON_MALFORMED, ROUTING_KEY_HEADER, DeadLetteringEntrypoint,
                       consumer_name, dead_letter_queue, quorum_queue_arguments)
from .domain import DomainError
from .envelope import LEVELS, Deployment, Envelope, EnvelopeError, _iso, _parse
from .relay import Outgoing, Relay
from .runtime import StoreHolder, _truthy
from .store.port import EventStore, Tracking

_log = logging.getLogger(__name__)

# -- names ------------------------------------------------------------------------------------

LINKS_KEY = "XIESHANG_LINKS"
DIRECTIONS = ("upper", "lower")

OUT_EXCHANGE = "xieshang.levels.out"
IN_EXCHANGE = "xieshang.levels.in"
INBOX_QUEUE = "xieshang.levels.inbox"
OUT_QUEUE_PREFIX = "xieshang.levels.out."
INBOX_MAX_DELIVERIES = 5
OUTBOX_RELAY = f"relay:{OUT_EXCHANGE}"  # the link outbox's checkpoint and lease

# The kinds of link message and which way each travels: "up" from a lower committee to an
# upper one, "down" back.
# "log.checkpointed": a signed checkpoint of one of the lower deployment's logs, which the upper
# keeps (xieshang.kernel.anchoring).
KINDS: Mapping[str, str] = {"opinion.reported": "up", "opinion.decided": "down",
                            "log.checkpointed": "up"}

# Why the inbox dead-letters a message without handling it (header x-xieshang-reason).
REASON_UNKNOWN = "unknown_deployment"      # not from a linked committee
REASON_UNLINKED = "unlinked"               # a linked committee, but the kind cannot come that way
REASON_MISADDRESSED = "misaddressed"       # for another committee
REASON_SENDER_MISMATCH = "sender_mismatch"  # the body names another sender than the link
REFUSALS = (REASON_MALFORMED, REASON_UNKNOWN, REASON_UNLINKED, REASON_MISADDRESSED,
            REASON_SENDER_MISMATCH)

# A committee code goes into queue names, routing keys and shovel names: no dots, no wildcards.
_CODE = re.compile(r"[0-9A-Za-z_-]+")


def out_queue_name(code: str) -> str:
    """The queue holding what waits for committee ``code``: ``xieshang.levels.out.<code>``."""
    return f"{OUT_QUEUE_PREFIX}{code}"


def to_key(code: str) -> str:
    """The routing key of a message for committee ``code`` on ``xieshang.levels.out``."""
    return f"to.{code}"


def from_key(code: str) -> str:
    """The routing key the link's shovel gives a message of committee ``code`` on the
    receiver's ``xieshang.levels.in``."""
    return f"from.{code}"


def sender_of(routing_key: str) -> str | None:
    """The committee code a ``from.<code>`` routing key names (None for any other key)."""
    prefix, _, code = (routing_key or "").partition(".")
    return code if prefix == "from" and _CODE.fullmatch(code) else None


def out_exchange() -> Exchange:
    return Exchange(OUT_EXCHANGE, type="topic", durable=True)


def in_exchange() -> Exchange:
    return Exchange(IN_EXCHANGE, type="topic", durable=True)


def out_queue(code: str) -> Queue:
    """The durable quorum queue of what waits for committee ``code`` (a shovel's source).

    Everything that declares it (the service, ``tools/levels.py``) declares it so."""
    name = out_queue_name(code)
    return Queue(name, exchange=out_exchange(), routing_key=to_key(code), durable=True,
                 auto_delete=False, queue_arguments={"x-queue-type": "quorum"})


def inbox_queue(max_deliveries: int = INBOX_MAX_DELIVERIES) -> Queue:
    """The durable quorum queue the shovels deliver into (bound to ``xieshang.levels.in``
    with ``#``), dead-lettering like an event handler's queue."""
    return Queue(INBOX_QUEUE, exchange=in_exchange(), routing_key="#", durable=True,
                 auto_delete=False, queue_arguments=quorum_queue_arguments(INBOX_QUEUE,
                                                                           max_deliveries))


def declare_link_topology(channel: Any, links: Iterable["Link | str"] = (), *,
                          outbound: bool = True, inbox: bool = True,
                          max_deliveries: int = INBOX_MAX_DELIVERIES) -> None:
    """Declare on ``channel`` (a kombu/py-amqp channel) a deployment's side of its links:
    with ``outbound`` the outbound exchange and a queue per linked committee (``links``:
    ``Link`` or committee codes), with ``inbox`` the inbound exchange, the inbox and its
    dead-letter queue. Idempotent; the broker refuses (PRECONDITION_FAILED) a queue that
    exists with other arguments."""
    if outbound:
        out_exchange()(channel).declare()
        for link in links:
            out_queue(link.committee if isinstance(link, Link) else link)(channel).declare()
    if inbox:
        in_exchange()(channel).declare()
        dead_letter_queue(INBOX_QUEUE)(channel).declare()
        inbox_queue(max_deliveries)(channel).declare()


# -- links --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Link:
    """One linked committee, as this deployment sees it: ``upper`` (it reports to them) or
    ``lower`` (they report to it), its committee code, level and name."""

    direction: str
    committee: str
    level: str
    name: str

    @property
    def deployment(self) -> Deployment:
        return Deployment(self.committee, self.level)

    @property
    def out_queue(self) -> str:
        return out_queue_name(self.committee)

    def to_dict(self) -> dict[str, str]:
        return {"direction": self.direction, "committee": self.committee, "level": self.level,
                "name": self.name}


@dataclass(frozen=True)
class Links:
    """This deployment's links (setting ``XIESHANG_LINKS``), in the order configured."""

    links: tuple[Link, ...] = ()

    def __iter__(self) -> Iterator[Link]:
        return iter(self.links)

    def __len__(self) -> int:
        return len(self.links)

    def __contains__(self, code: object) -> bool:
        return self.get(code) is not None  # type: ignore[arg-type]

    def get(self, code: str) -> Link | None:
        """The link to committee ``code``, or None."""
        return next((link for link in self.links if link.committee == code), None)

    @property
    def upper(self) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.direction == "upper")

    @property
    def lower(self) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.direction == "lower")

    def may_send(self, kind: str, code: str) -> bool:
        """Whether a message of ``kind`` may go to committee ``code`` (up to an upper link,
        down to a lower one)."""
        link = self.get(code)
        return link is not None and KINDS.get(kind) == ("up" if link.direction == "upper"
                                                         else "down")

    def to_list(self) -> list[dict[str, str]]:
        return [link.to_dict() for link in self.links]

    @classmethod
    def parse(cls, text: str | None, deployment: Deployment | None = None) -> "Links":
        """Links from the setting's text: entries ``direction:code:level:name`` separated by
        ``,`` (the name may contain ``:``). With ``deployment`` (this one), a link to itself,
        an upper link not above it or a lower link not below it is refused too.
        Raises ``ConfigError`` naming the setting and the entry."""
        links: list[Link] = []
        entries = [e.strip() for e in (text or "").split(",")]
        for number, entry in enumerate(entries, start=1):
            if not entry:
                continue
            links.append(_parse_link(number, entry, deployment))
            code = links[-1].committee
            if sum(1 for link in links if link.committee == code) > 1:
                raise _link_error(number, entry, f"委员会代码 {code} 重复配置",
                                  f"committee {code} is linked twice")
        return cls(tuple(links))

    @classmethod
    def load(cls, config: Mapping[str, Any] | None = None,
             deployment: Deployment | None = None) -> "Links":
        """The links of a nameko config mapping's ``XIESHANG_LINKS``, falling back to the
        environment; none when it is unset or empty."""
        return cls.parse(str(setting_source(config).get(LINKS_KEY) or ""), deployment)


def _link_error(number: int, entry: str, zh: str, en: str) -> ConfigError:
    return ConfigError(f"{LINKS_KEY} 第 {number} 项 {entry!r}：{zh} "
                       f"({LINKS_KEY} entry {number} {entry!r}: {en}; entries are "
                       "direction:code:level:name separated by ',', e.g. "
                       "upper:640000:province:宁夏回族自治区政协)")


def _parse_link(number: int, entry: str, own: Deployment | None) -> Link:
    parts = [p.strip() for p in entry.split(":", 3)]
    if len(parts) != 4:
        raise _link_error(number, entry, "须为 方向:委员会代码:级别:名称 四部分",
                          "it needs four parts, direction:code:level:name")
    direction, code, level, name = parts
    if direction not in DIRECTIONS:
        raise _link_error(number, entry, "方向须为 upper（上级）或 lower（下级）",
                          f"the direction must be upper or lower, not {direction!r}")
    if not _CODE.fullmatch(code):
        raise _link_error(number, entry, "委员会代码只能由字母、数字、-、_ 组成",
                          f"the committee code must be letters, digits, - or _, not {code!r}")
    if level not in LEVELS:
        raise _link_error(number, entry, f"级别须为 {'、'.join(LEVELS)} 之一",
                          f"the level must be one of {', '.join(LEVELS)}, not {level!r}")
    if not name:
        raise _link_error(number, entry, "名称不能为空", "the name must not be empty")
    if own is not None:
        if code == own.committee:
            raise _link_error(number, entry, "不能与本委员会自身建立联系",
                              f"{code} is this deployment's own committee")
        above = LEVELS.index(level) < LEVELS.index(own.level)
        below = LEVELS.index(level) > LEVELS.index(own.level)
        if direction == "upper" and not above:
            raise _link_error(number, entry, f"上级委员会的级别须高于本级（{own.level}）",
                              f"an upper committee must be above this one's level {own.level}")
        if direction == "lower" and not below:
            raise _link_error(number, entry, f"下级委员会的级别须低于本级（{own.level}）",
                              f"a lower committee must be below this one's level {own.level}")
    return Link(direction, code, level, name)


# -- the message --------------------------------------------------------------------------------

class LinkMessageError(ValueError):
    """A link message is malformed; ``field`` names what is wrong."""

    def __init__(self, field: str, zh: str, en: str):
        self.field = field
        super().__init__(f"联系消息的 {field} {zh} (link message {field}: {en})")


@dataclass(frozen=True)
class LinkMessage:
    """What crosses a link: ``kind`` (``KINDS``), the ``sender`` deployment, ``to`` (the
    committee code it is for), the sender's event it was made of (``event_id``, ``event_type``,
    ``stream``, its log ``position`` and chain ``hash``, ``occurred_at``) and the kind's
    ``payload`` (a JSON object). Built (and decoded) valid or not at all: ``LinkMessageError``.

    The AMQP message id is ``<event_id>:<to>``: one event makes at most one message per
    committee. Keys of the JSON this code does not know are ignored (a newer sender may add
    some)."""

    kind: str
    sender: Deployment
    to: str
    event_id: str
    event_type: str
    stream: str
    position: int
    hash: str
    occurred_at: datetime
    payload: Mapping[str, Any]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise LinkMessageError("kind", f"须为 {'、'.join(KINDS)} 之一",
                                   f"must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not isinstance(self.sender, Deployment):
            raise LinkMessageError("sender", "须为 {committee, level}",
                                   "must be a deployment {committee, level}")
        if not isinstance(self.to, str) or not _CODE.fullmatch(self.to):
            raise LinkMessageError("to", "须为委员会代码", f"must be a committee code, not {self.to!r}")
        for name in ("event_id", "event_type", "stream", "hash"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise LinkMessageError(name, "须为非空字符串", f"must be a non-empty string, not {value!r}")
        if type(self.position) is not int or self.position < 1:
            raise LinkMessageError("position", "须为正整数",
                                   f"must be a whole number >= 1, not {self.position!r}")
        if not isinstance(self.occurred_at, datetime) or self.occurred_at.tzinfo is None:
            raise LinkMessageError("occurred_at", "须为带时区的时间",
                                   f"must be a timezone-aware time, not {self.occurred_at!r}")
        if not isinstance(self.payload, Mapping) or not all(isinstance(k, str) for k in self.payload):
            raise LinkMessageError("payload", "须为 JSON 对象", "must be a JSON object")

    @property
    def message_id(self) -> str:
        return f"{self.event_id}:{self.to}"

    @property
    def routing_key(self) -> str:
        """Its routing key on the sender's ``xieshang.levels.out``: ``to.<to>``."""
        return to_key(self.to)

    @classmethod
    def of(cls, envelope: Envelope, kind: str, to: str, payload: Mapping[str, Any]) -> "LinkMessage":
        """The message of ``kind`` for committee ``to`` made of ``envelope`` (a stored event of
        the sending deployment: its deployment is the sender)."""
        return cls(kind, envelope.deployment, to, envelope.event_id, envelope.type,
                   envelope.stream, envelope.position, envelope.hash, envelope.occurred_at,
                   dict(payload))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "sender": self.sender.to_dict(), "to": self.to,
                "event_id": self.event_id, "event_type": self.event_type, "stream": self.stream,
                "position": self.position, "hash": self.hash,
                "occurred_at": _iso(self.occurred_at), "payload": dict(self.payload)}

    def to_json(self) -> bytes:
        """Canonical JSON (sorted keys, UTF-8, no spaces)."""
        try:
            return orjson.dumps(self.to_dict(), option=orjson.OPT_SORT_KEYS)
        except TypeError as exc:
            raise LinkMessageError("payload", "含有不能编码为 JSON 的值",
                                   f"holds a value JSON cannot encode: {exc}") from None

    @classmethod
    def from_dict(cls, d: Any) -> "LinkMessage":
        if not isinstance(d, Mapping):
            raise LinkMessageError("body", "须为 JSON 对象", "must be a JSON object")
        missing = [k for k in ("kind", "sender", "to", "event_id", "event_type", "stream",
                               "position", "hash", "occurred_at", "payload") if k not in d]
        if missing:
            raise LinkMessageError(missing[0], "缺失", f"is missing (missing: {', '.join(missing)})")
        sender = d["sender"]
        if not isinstance(sender, Mapping) or not {"committee", "level"} <= set(sender):
            raise LinkMessageError("sender", "须为 {committee, level}",
                                   f"must be an object {{committee, level}}, not {sender!r}")
        try:
            deployment = Deployment(sender["committee"], sender["level"])
        except (EnvelopeError, TypeError) as exc:
            raise LinkMessageError("sender", "不是有效的委员会", str(exc)) from None
        if not isinstance(deployment.committee, str) or not isinstance(deployment.level, str):
            raise LinkMessageError("sender", "须为字符串", "committee and level must be strings")
        occurred = d["occurred_at"]
        try:
            occurred_at = _parse(occurred) if isinstance(occurred, str) else occurred
        except (ValueError, EnvelopeError) as exc:
            raise LinkMessageError("occurred_at", "不是 ISO 8601 时间",
                                   f"is not an ISO 8601 time: {exc}") from None
        return cls(d["kind"], deployment, d["to"], d["event_id"], d["event_type"], d["stream"],
                   d["position"], d["hash"], occurred_at, d["payload"])

    @classmethod
    def from_json(cls, raw: bytes | str) -> "LinkMessage":
        try:
            d = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise LinkMessageError("body", "不是有效的 JSON", f"is not valid JSON: {exc}") from None
        return cls.from_dict(d)


class LinkRefused(Exception):
    """Why the inbox refused a link message (``reason`` is one of ``REFUSALS``)."""

    def __init__(self, reason: str, text: str):
        self.reason = reason
        super().__init__(text)


def check_link_message(message: LinkMessage, routing_key: str, links: Links,
                       own: Deployment) -> LinkRefused | None:
    """Why deployment ``own`` with ``links`` must not apply ``message`` that arrived with
    ``routing_key`` (None if it may). The sender is the one the routing key names: the
    shovel of the link sets it, the body must agree."""
    code = sender_of(routing_key)
    link = links.get(code) if code else None
    if link is None:
        return LinkRefused(REASON_UNKNOWN, f"routing key {routing_key!r} names no linked committee "
                                           f"(linked: {', '.join(l.committee for l in links) or 'none'})")
    if message.sender.committee != link.committee or message.sender.level != link.level:
        return LinkRefused(REASON_SENDER_MISMATCH,
                           f"came by the link of {link.committee} ({link.level}) but names sender "
                           f"{message.sender.committee} ({message.sender.level})")
    expected = "lower" if KINDS[message.kind] == "up" else "upper"
    if link.direction != expected:
        return LinkRefused(REASON_UNLINKED,
                           f"{message.kind} comes from a {expected} committee; {link.committee} is "
                           f"linked as {link.direction}")
    if message.to != own.committee:
        return LinkRefused(REASON_MISADDRESSED,
                           f"addressed to {message.to}, this is {own.committee}")
    return None


# -- tracking -------------------------------------------------------------------------------------

def link_tracking(consumer: str | WorkerContext, message: LinkMessage) -> Tracking:
    """The ``Tracking`` of the append that applies ``message``: the handler's name
    (``service.method``, or the running worker's) and the origin event id, so a message
    delivered again (or sent again) appends nothing."""
    if isinstance(consumer, WorkerContext):
        consumer = consumer_name(consumer.service_name, consumer.entrypoint.method_name)
    return Tracking(consumer=consumer, event_id=message.event_id, position=message.position)


class LinkTracking(DependencyProvider):
    """Injects ``tracking(message) -> Tracking`` for the running ``link_inbox`` handler."""

    def get_dependency(self, worker_ctx: WorkerContext) -> Callable[[LinkMessage], Tracking]:
        return partial(link_tracking, worker_ctx)


# -- the outbox ------------------------------------------------------------------------------------

Mapper = Callable[[Envelope, EventStore], Sequence[LinkMessage]]


@dataclass(frozen=True)
class LinkOutboxState:
    """What a service's link outbox is and has done (``LinkOutbox``'s dependency)."""

    deployment: Deployment
    links: Links
    running: bool
    published: int   # events past the outbox's checkpoint by this instance
    sent: int        # link messages the broker confirmed
    unlinked: int    # messages for a committee not linked (that way): sent to wait in its queue
    failures: int
    last_error: str | None


class UnlinkedCommittee(RuntimeError):
    """A link message is for a committee this deployment has no link to: its queue is declared
    at the relay's next connection, and the batch is published again (nothing is dropped)."""

    def __init__(self, committee: str):
        self.committee = committee
        super().__init__(f"a link message for committee {committee}, which is not linked: "
                         f"declaring {out_queue_name(committee)} for it to wait in")


class LinkOutbox(DependencyProvider):
    """Sends a service's link messages: a relay over the container's store (the one
    ``StoreHolder``) that publishes ``mapper(envelope, store)`` of every event, in log order,
    to ``xieshang.levels.out`` with routing key ``to.<code>``, at least once, with its own
    checkpoint and lease (``relay:xieshang.levels.out``). Declares the outbound exchange and a
    queue per linked committee at start (and on every reconnect); publishes mandatory, so a
    message no queue takes fails the batch instead of vanishing.

    ``mapper`` returns the messages an event makes (mostly none); each must name this
    deployment as sender. Nothing is dropped: a message for a committee that is no longer
    linked (links are configuration, and may change while messages wait) is logged by ids and
    sent to a queue of its own for that committee, declared on the way (``UnlinkedCommittee``
    makes the relay reconnect and declare it), where it waits for a link; one for a committee
    linked the other way is sent too, and that committee's inbox dead-letters it, visibly.
    A mapper that raises stops the outbox at that event (logged, retried with backoff) until
    it is fixed. Off with ``XIESHANG_RELAY=0`` like the service's relay. Workers get a
    ``LinkOutboxState``.
    """

    holder = StoreHolder()

    def __init__(self, mapper: Mapper, *, batch: int = 200, poll_interval: float = 0.5):
        self.mapper = mapper
        self.batch = batch
        self.poll_interval = poll_interval

    def setup(self) -> None:
        self.settings = Settings.load(self.container.service_name, self.container.config)
        self.deployment = self.settings.deployment
        self.links = Links.load(self.container.config, self.deployment)
        self.relay: Relay | None = None
        self.unlinked = 0
        self._extra: set[str] = set()   # committees not linked that messages were made for
        self._stop = threading.Event()

    def start(self) -> None:
        config = self.container.config
        if not _truthy(config.get("XIESHANG_RELAY")):
            return
        with get_connection(config.get(AMQP_URI_CONFIG_KEY) or self.settings.amqp_uri,
                            ssl=config.get(AMQP_SSL_CONFIG_KEY),
                            login_method=config.get(LOGIN_METHOD_CONFIG_KEY)) as conn:
            channel = conn.channel()
            try:
                self._declare(channel)
            finally:
                channel.close()
        store = self.holder.store
        self.relay = Relay(store, self.settings.amqp_uri, service=self.settings.service,
                           exchange=OUT_EXCHANGE, name=OUTBOX_RELAY, batch=self.batch,
                           poll_interval=self.poll_interval, messages=self._outgoing,
                           declare=self._declare, mandatory=True)
        relay = self.relay
        store.subscribe(lambda _position: relay.wake())
        self.container.spawn_managed_thread(lambda: relay.run(self._stop),
                                            identifier="link-outbox")

    def stop(self) -> None:
        self._stop.set()
        if self.relay is not None:
            self.relay.wake()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx: WorkerContext) -> LinkOutboxState:
        relay = self.relay
        return LinkOutboxState(
            self.deployment, self.links, relay is not None and not self._stop.is_set(),
            relay.published if relay else 0, relay.sent if relay else 0, self.unlinked,
            relay.failures if relay else 0, relay.last_error if relay else None)

    def _declare(self, channel: Any) -> None:
        declare_link_topology(channel, [*self.links, *sorted(self._extra)], inbox=False)

    def _outgoing(self, envelope: Envelope) -> list[Outgoing]:
        out: list[Outgoing] = []
        for message in self.mapper(envelope, self.holder.store) or ():
            if not isinstance(message, LinkMessage):
                raise TypeError(f"the link mapper made {type(message).__name__} of event "
                                f"{envelope.event_id}, not a LinkMessage")
            if message.sender != self.deployment:
                raise LinkMessageError("sender", "须为本委员会",
                                       f"of event {envelope.event_id} is {message.sender}, not this "
                                       f"deployment {self.deployment}")
            if not self.links.may_send(message.kind, message.to):
                self.unlinked += 1
                link = self.links.get(message.to)
                _log.error("link outbox: event %s (%s) makes %s for %s, which is %s; it is sent to "
                           "wait in %s", envelope.event_id, envelope.type, message.kind, message.to,
                           f"linked as {link.direction}" if link else "not linked",
                           out_queue_name(message.to))
                if link is None and message.to not in self._extra:
                    self._extra.add(message.to)
                    raise UnlinkedCommittee(message.to)
            if any(o.message_id == message.message_id for o in out):
                raise ValueError(f"the link mapper made two messages {message.message_id} of "
                                 f"event {envelope.event_id}")
            out.append(Outgoing(
                routing_key=message.routing_key, body=message.to_json(),
                message_id=message.message_id, type=message.kind,
                headers={"kind": message.kind, "sender": message.sender.committee,
                         "to": message.to, "event_id": message.event_id}))
        return out


# -- the inbox ------------------------------------------------------------------------------------

class LinkInbox(DeadLetteringEntrypoint):
    """Calls the decorated method with each ``LinkMessage`` that arrives in
    ``xieshang.levels.inbox`` and passes ``check_link_message``; refused ones are
    dead-lettered at once with their reason (``outcomes[reason]`` counts them). Failures of
    the handler are retried and dead-lettered like an event handler's.

    A message an operator replayed from the dead letters arrives through the default
    exchange; its link's routing key is then read from the dead letter's
    ``x-xieshang-routing-key`` header (only operators can publish there: a link's user may
    write to ``xieshang.levels.in`` only)."""

    # A domain refusal (a decision on a report never reported there, a malformed payload) is
    # the same at every delivery: dead-lettered at once, with the refusal.
    refused_at_once = (DomainError,)

    def __init__(self, *, max_deliveries: int = INBOX_MAX_DELIVERIES, precheck: bool = True,
                 **kwargs: Any):
        super().__init__(max_deliveries=max_deliveries, precheck=precheck, **kwargs)

    def _earlier_deliveries(self, message: Any) -> int:
        # A shovel copies the headers of what it moves, the sender's queue's x-delivery-count
        # too (after a link outage): only a redelivery by the inbox itself counts here.
        if not (message.delivery_info or {}).get("redelivered"):
            return 0
        return super()._earlier_deliveries(message)

    def setup(self) -> None:
        service = self.container.service_name
        self.consumer = consumer_name(service, self.method_name)
        self.queue_name = INBOX_QUEUE
        self.queue = inbox_queue(self.max_deliveries)
        self.deployment = Settings.load(service, self.container.config).deployment
        self.links = Links.load(self.container.config, self.deployment)
        self._start_consuming()

    def _declare(self, channel: Any) -> None:
        declare_link_topology(channel, outbound=False, max_deliveries=self.max_deliveries)

    def _conflict(self, exc: Any) -> str:
        return (f"queue {INBOX_QUEUE!r} exists with other arguments than a quorum queue with "
                f"x-delivery-limit={self.max_deliveries} ({exc.reply_text}): link_inbox's "
                "max_deliveries must be the one it was declared with (tools/levels.py declares "
                f"it with {INBOX_MAX_DELIVERIES}), or the queue drained and deleted first")

    def _handle(self, body: bytes, message: Any) -> None:
        try:
            link_message = LinkMessage.from_json(body)
        except LinkMessageError as exc:
            self._refuse(message, LinkRefused(REASON_MALFORMED, str(exc)))
            return
        refused = check_link_message(link_message, _link_routing_key(message), self.links,
                                     self.deployment)
        if refused is not None:
            self._refuse(message, refused)
            return
        if self._already_processed(link_message.event_id):
            self.queue_consumer.ack_message(message)
            self.outcomes["skipped"] += 1
            return
        self._spawn(message, link_message)

    def _refuse(self, message: Any, refused: LinkRefused) -> None:
        _log.error("%s: link message %s refused (%s: %s); dead-lettering it", self.consumer,
                   message.properties.get("message_id") or "<no message id>", refused.reason,
                   refused)
        self._dead_letter_now(message, refused, refused.reason)
        self.outcomes[refused.reason] += 1

    def handle_result(self, message: Any, link_message: LinkMessage, worker_ctx: WorkerContext,
                      result: Any = None, exc_info: Any = None) -> tuple[Any, Any]:
        return self._settle(message, f"link message {link_message.message_id} "
                                     f"({link_message.kind} from {link_message.sender.committee})",
                            result, exc_info)


def _link_routing_key(message: Any) -> str:
    info = message.delivery_info or {}
    if info.get("exchange") == "":  # replayed by an operator (see LinkInbox)
        return str((message.headers or {}).get(ROUTING_KEY_HEADER) or "")
    return str(info.get("routing_key") or "")


def link_inbox(*, max_deliveries: int = INBOX_MAX_DELIVERIES, precheck: bool = True,
               **kwargs: Any):
    """Decorate a service method to receive link messages from linked committees.

    The method gets a ``LinkMessage`` that came by a link of its sender and is addressed to
    this committee, and must make its effect an append with
    ``tracking=link_tracking(...)`` (or a ``LinkTracking`` dependency). One such handler per
    deployment (they would compete for the one inbox). With ``precheck``, a dependency that
    answers ``is_processed(consumer, event_id)`` (the kernel's store dependencies) is asked
    first and messages already applied are acked without running the handler.
    """
    return LinkInbox.decorator(max_deliveries=max_deliveries, precheck=precheck, **kwargs)
