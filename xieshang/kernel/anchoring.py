"""Anchored history: the log's head sealed now and then by a signed checkpoint (ed25519).

The hash chain shows a row changed behind the store's back, but not a tamperer who rewrites
rows and recomputes the chain and the chain head, or deletes the last rows and rewinds the
head. So every few minutes (``XIESHANG_CHECKPOINT_INTERVAL``, default 300 s) the ``Sealer`` of
a service signs its log's head, ``(position, hash)``, with a key that does not live in the
database, and appends that as a ``LogCheckpointed`` event to the stream ``log-checkpoints``. The
event is public: it leaves on the integration exchange and the feed, and goes up to the upper
committee where one is linked, so copies of it are kept where the tamperer cannot reach them.

``check_checkpoints`` compares the log with checkpoints (its own, and those of a file: the feed,
or what the upper level kept) and names the first position that can no longer be trusted:

* a signed hash that is not the log's hash at its position (a rewrite, the chain recomputed):
  the position after the last checkpoint that still matches, or exactly the row when the
  feed's events (``xsposition``, ``xshash``) pin the rows around it;
* a checkpoint past the log's head (the tail deleted, the head rewound): the head + 1;
* a checkpoint in the log with a bad signature, an unknown key, or of another log: its row.

What is signed (``statement``) is the UTF-8 bytes of ``xieshang.checkpoint.v1`` and a newline,
then the canonical JSON (keys sorted, no spaces) of ``committee``, ``hash``, ``key_id``,
``level``, ``position``, ``sealed_at`` and ``service``; anyone with the public key and any
ed25519 library can check it. ``key_id`` is ``ed25519:`` and the first 16 hex digits of the
SHA-256 of the raw 32-byte public key.

The private key is a PEM (PKCS #8) file, ``XIESHANG_CHECKPOINT_KEY`` or by default
``keys/checkpoint-<committee>.key`` beside the data folder (not in it: a copy of the data is
no copy of the key); it is made when missing, readable by its owner only, with its public key
beside it (``.pub``, the file ``xieshang verify --public-key`` takes).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
import stat
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping

import orjson

from .config import ConfigError, Settings, setting_number, setting_source, setting_text
from .domain import DomainEvent, EventRegistry
from .envelope import SYSTEM_ACTOR, Envelope, NewEvent, _iso, utcnow
from .store.port import ConcurrencyError, EventStore, VerifyReport

log = logging.getLogger(__name__)

CHECKPOINT_STREAM = "log-checkpoints"
CHECKPOINT_TYPE = "LogCheckpointed"
KEY_SETTING = "XIESHANG_CHECKPOINT_KEY"
INTERVAL_SETTING = "XIESHANG_CHECKPOINT_INTERVAL"
DEFAULT_INTERVAL = 300.0
SEALER_LEASE = "sealer"
STATEMENT_PREFIX = b"xieshang.checkpoint.v1\n"
KEY_ID_PREFIX = "ed25519:"
SEAL_REASON = "log checkpoint 日志封存"
# The words of the checkpoint events, for every service's vocabulary (EVENT_LABELS).
CHECKPOINT_LABELS = {"LogCheckpointed": ("log head sealed by a signed checkpoint", "日志封存（签名检查点）"),
                     "CheckpointReceived": ("a lower level's checkpoint kept", "留存下级日志封存")}
LINK_KIND = "log.checkpointed"  # a checkpoint going up to a linked upper committee
# Checkpoint event ids are fixed by what they seal, so sealing the same head twice is one event.
_ID_NAMESPACE = uuid.UUID("6f6b2b1e-3d0c-5b5e-9a57-6c6f67636b70")


# -- the event --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogCheckpointed(DomainEvent):
    """The head of ``service``'s log at ``committee`` (``level``) was ``position`` with chain
    ``hash`` at ``sealed_at`` (UTC, ISO 8601), signed (``signature``, base64) with the ed25519
    key ``key_id``. Public in every service (the gateway's too)."""

    service: str
    committee: str
    level: str
    position: int
    hash: str
    sealed_at: str
    key_id: str
    signature: str

    def identity(self) -> str | None:
        return checkpoint_id(self.service, self.committee, self.position, self.hash)

    def statement(self) -> bytes:
        return statement(self.service, self.committee, self.level, self.position, self.hash,
                         self.sealed_at, self.key_id)


@dataclass(frozen=True)
class CheckpointReceived(DomainEvent):
    """A lower committee's checkpoint of one of its logs (the fields of its ``LogCheckpointed``,
    signature and all), received over the link and kept here, on the stream
    ``lower-checkpoints-<committee>``, out of that committee's reach; ``origin_event_id``,
    ``origin_position`` and ``origin_hash`` are the checkpoint event's own in the lower log.
    ``xieshang history lower-checkpoints-<committee> --json`` gives the lower committee the file
    its ``verify --checkpoints`` takes."""

    service: str
    committee: str
    level: str
    position: int
    hash: str
    sealed_at: str
    key_id: str
    signature: str
    origin_event_id: str
    origin_position: int
    origin_hash: str

    def identity(self) -> str | None:
        return str(uuid.uuid5(_ID_NAMESPACE, f"kept|{self.origin_event_id}"))


def kept_stream(committee: str) -> str:
    """Where an upper committee keeps the checkpoints of lower committee ``committee``."""
    return f"lower-checkpoints-{committee}"


def checkpoint_id(service: str, committee: str, position: int, hash_: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{service}|{committee}|{position}|{hash_}"))


def register_checkpoint_events(registry: EventRegistry, *, kept: bool = False) -> EventRegistry:
    """Add ``LogCheckpointed`` to a service's registry (its published contract); with ``kept``
    also ``CheckpointReceived`` (the service that keeps lower committees' checkpoints)."""
    registry.register(LogCheckpointed)
    if kept:
        registry.register(CheckpointReceived)
    return registry


CHECKPOINT_FIELDS = ("service", "committee", "level", "position", "hash", "sealed_at", "key_id",
                     "signature")


def received_checkpoint(payload: Mapping[str, Any], *, committee: str, level: str,
                        origin_event_id: str, origin_position: int,
                        origin_hash: str) -> CheckpointReceived:
    """The ``CheckpointReceived`` of a checkpoint sent by committee ``committee`` (``level``);
    ValueError naming the field when the payload is no checkpoint of that committee's."""
    missing = [k for k in CHECKPOINT_FIELDS if k not in payload]
    if missing:
        raise ValueError(f"检查点缺少 {missing[0]} (the checkpoint lacks {', '.join(missing)})")
    if payload["committee"] != committee or payload["level"] != level:
        raise ValueError(f"检查点的 committee/level 须为发送方的 (the checkpoint's committee and "
                         f"level must be the sender's, {committee} {level}, not "
                         f"{payload['committee']} {payload['level']})")
    for name in CHECKPOINT_FIELDS:
        kind = int if name == "position" else str
        if type(payload[name]) is not kind:
            raise ValueError(f"检查点的 {name} 类型不对 (the checkpoint's {name} must be a "
                             f"{kind.__name__})")
    return CheckpointReceived(**{k: payload[k] for k in CHECKPOINT_FIELDS},
                              origin_event_id=origin_event_id, origin_position=origin_position,
                              origin_hash=origin_hash)


def statement(service: str, committee: str, level: str, position: int, hash_: str,
              sealed_at: str, key_id: str) -> bytes:
    """The bytes a checkpoint's signature is over (see the module)."""
    return STATEMENT_PREFIX + orjson.dumps(
        {"committee": committee, "hash": hash_, "key_id": key_id, "level": level,
         "position": position, "sealed_at": sealed_at, "service": service},
        option=orjson.OPT_SORT_KEYS)


# -- keys -------------------------------------------------------------------------------------
def _ed25519():
    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519


def key_id_of(public_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KEY_ID_PREFIX + hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def default_key_path(settings: Settings) -> str:
    """``keys/checkpoint-<committee>.key`` beside the data folder (not in it)."""
    parent = os.path.dirname(os.path.abspath(settings.data_dir))
    return os.path.join(parent, "keys", f"checkpoint-{settings.committee}.key")


def key_path(settings: Settings, config: Mapping[str, Any] | None = None) -> str:
    return setting_text(setting_source(config), KEY_SETTING) or default_key_path(settings)


class CheckpointSigner:
    """Signs checkpoints with one ed25519 private key."""

    def __init__(self, private_key: Any):
        self._key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def generate(cls) -> "CheckpointSigner":
        return cls(_ed25519().Ed25519PrivateKey.generate())

    @classmethod
    def from_file(cls, path: str, *, create: bool = True) -> "CheckpointSigner":
        """The key in the PEM file ``path``; made (0600, its folder 0700, the public key beside
        it as ``<path>.pub``) when missing and ``create``. ConfigError naming the file if it
        cannot be read or is not an ed25519 private key."""
        if not os.path.exists(path):
            if not create:
                raise ConfigError(f"{KEY_SETTING}: 封存密钥文件不存在 (the checkpoint key file "
                                  f"{path} does not exist)")
            _create_key_file(path)
        _owner_only_file(path)
        from cryptography.hazmat.primitives import serialization

        try:
            with open(path, "rb") as f:
                key = serialization.load_pem_private_key(f.read(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"{KEY_SETTING}: 无法读取封存密钥 {path} (cannot read the checkpoint "
                              f"key {path}: {type(exc).__name__})") from None
        if not isinstance(key, _ed25519().Ed25519PrivateKey):
            raise ConfigError(f"{KEY_SETTING}: {path} 不是 ed25519 私钥 (is not an ed25519 "
                              "private key)")
        signer = cls(key)
        pub = path + ".pub"
        if not os.path.exists(pub):
            _write_new(pub, public_pem(signer.public_key), 0o644)
        return signer

    @classmethod
    def load(cls, settings: Settings, config: Mapping[str, Any] | None = None) -> "CheckpointSigner":
        """The deployment's key: ``XIESHANG_CHECKPOINT_KEY`` or the default path, made if missing."""
        return cls.from_file(key_path(settings, config))

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._key.sign(message)).decode("ascii")

    def public_pem(self) -> bytes:
        return public_pem(self.public_key)

    def private_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())


def _create_key_file(path: str) -> None:
    """A new key at ``path``, unless another process made one first (then that one stays)."""
    from .store.sqlite import DIRECTORY_MODE

    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, mode=DIRECTORY_MODE, exist_ok=True)
    signer = CheckpointSigner.generate()
    _write_new(path, signer.private_pem(), 0o600)


def _write_new(path: str, content: bytes, mode: int) -> None:
    """Write ``content`` to ``path`` with ``mode`` unless it exists: written to a file of our
    own first, then linked into place, so no reader ever sees a half-written key."""
    tmp = f"{path}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.chmod(tmp, mode)  # the umask may have taken bits away from a public key
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def _owner_only_file(path: str) -> None:
    try:
        if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
            os.chmod(path, 0o600)
            log.warning("the checkpoint key %s was readable by others: made owner-only", path)
    except PermissionError:
        log.warning("the checkpoint key %s is not ours to make owner-only: fix its mode", path)


def load_public_keys(paths: Iterable[str]) -> dict[str, Any]:
    """Public keys by key id from PEM files (public keys, or private keys whose public half is
    taken); ValueError naming the file that holds none."""
    from cryptography.hazmat.primitives import serialization

    keys: dict[str, Any] = {}
    for path in paths:
        with open(path, "rb") as f:
            raw = f.read()
        try:
            if b"PRIVATE KEY" in raw:
                key = serialization.load_pem_private_key(raw, password=None).public_key()
            else:
                key = serialization.load_pem_public_key(raw)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: 不是 PEM 公钥 (not a PEM public key: {exc})") from None
        if not isinstance(key, _ed25519().Ed25519PublicKey):
            raise ValueError(f"{path}: 不是 ed25519 公钥 (not an ed25519 public key)")
        keys[key_id_of(key)] = key
    return keys


def _keys(public_key: Any) -> dict[str, Any]:
    if public_key is None:
        return {}
    if isinstance(public_key, Mapping):
        return dict(public_key)
    if isinstance(public_key, (list, tuple, set, frozenset)):
        return {key_id_of(k): k for k in public_key}
    return {key_id_of(public_key): public_key}


# -- sealing ----------------------------------------------------------------------------------
def seal(store: EventStore, signer: CheckpointSigner, clock: Callable[[], datetime] = utcnow, *,
         service: str) -> list[Envelope]:
    """Append a checkpoint of the log's head, unless nothing but checkpoints follows the last
    one (or the log is empty): the stored envelope, or []."""
    version = store.stream_version(CHECKPOINT_STREAM)
    if version:
        last = store.read_stream(CHECKPOINT_STREAM, version)[-1]
        if not store.read_all(last.position, 1):
            return []
    head = store.head()
    if head == 0:
        return []
    sealed = store.read_all(head - 1, 1)[0]
    dep = store.deployment
    sealed_at = _iso(clock())
    signature = signer.sign(statement(service, dep.committee, dep.level, sealed.position,
                                      sealed.hash, sealed_at, signer.key_id))
    event = LogCheckpointed(service, dep.committee, dep.level, sealed.position, sealed.hash,
                            sealed_at, signer.key_id, signature)
    new = NewEvent(CHECKPOINT_TYPE, event.to_data(), SYSTEM_ACTOR,
                   schema_version=LogCheckpointed.SCHEMA_VERSION, event_id=event.identity(),
                   occurred_at=clock(), reason=SEAL_REASON)
    try:
        return store.append(CHECKPOINT_STREAM, version, [new])
    except ConcurrencyError:  # another instance sealed meanwhile
        return []


def checkpoint_interval(config: Mapping[str, Any] | None = None) -> float:
    return setting_number(setting_source(config), INTERVAL_SETTING, DEFAULT_INTERVAL, float)


class Sealer:
    """Seals a store's head every ``interval`` seconds, where this instance holds the lease
    ``sealer`` (one instance of a service seals). ``run(stop)`` loops until ``stop`` is set and
    outlives any failure (logged, then tried again at the next interval)."""

    def __init__(self, store: EventStore, signer: CheckpointSigner, *, service: str,
                 interval: float = DEFAULT_INTERVAL, clock: Callable[[], datetime] = utcnow,
                 holder: str | None = None):
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self.store, self.signer, self.service = store, signer, service
        self.interval, self.clock = interval, clock
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # Held across one interval and a half, renewed at each: a stopped holder's standby
        # seals within two intervals.
        self.lease_ttl = interval * 1.5 + 5
        self.sealed = 0
        self.failures = 0
        self.last_error: str | None = None

    def run_once(self) -> list[Envelope]:
        if not self.store.try_lease(SEALER_LEASE, self.holder, self.lease_ttl, self.clock()):
            return []
        stored = seal(self.store, self.signer, self.clock, service=self.service)
        self.sealed += len(stored)
        return stored

    def run(self, stop: Any = None) -> None:
        stop = stop if stop is not None else threading.Event()
        log.info("sealer of %s started as %s (every %.0f s, key %s)", self.service, self.holder,
                 self.interval, self.signer.key_id)
        while not stop.wait(self.interval):
            try:
                stored = self.run_once()
            except Exception as exc:  # the loop must outlive any failure
                self.failures += 1
                self.last_error = type(exc).__name__
                log.warning("sealer of %s: sealing failed (%s); trying again in %.0f s",
                            self.service, type(exc).__name__, self.interval)
                continue
            for env in stored:
                log.info("sealer of %s: sealed position %s at position %s", self.service,
                         env.data["position"], env.position)
        log.info("sealer of %s stopped", self.service)


# -- checking ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Claim:
    """What a piece of evidence says the log held: the hash at ``position``. ``signed``: a
    checkpoint whose signature checked; otherwise a copy of an event (the feed's ``xshash``)."""

    position: int
    hash: str
    where: str
    signed: bool


@dataclass
class AnchoredReport(VerifyReport):
    """A ``VerifyReport`` of the log against checkpoints, with what the evidence covered:
    ``checkpoints`` signed checkpoints checked, ``pins`` event copies compared, ``anchored``
    the highest position a signed checkpoint vouches for (0: none), ``notes`` what was passed
    over (copies refuted by a signed checkpoint, further problems), ``other_logs`` how many
    records were of other services or committees (passed over)."""

    checkpoints: int = 0
    pins: int = 0
    anchored: int = 0
    other_logs: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Evidence:
    """One record of a checkpoints file: a checkpoint's data (or None) and the row it came in
    (position and hash of the event copied, where the record says: the feed's ``xsposition``
    and ``xshash``, an envelope's, a link message's), its service and committee."""

    where: str
    checkpoint: Mapping[str, Any] | None = None
    position: int | None = None
    hash: str | None = None
    service: str | None = None
    committee: str | None = None


def read_evidence(text: str, origin: str = "the checkpoints") -> list[Evidence]:
    """The records of a checkpoints file: JSON lines, or one JSON document (a list, or a feed
    page ``{"events": [...]}``), of CloudEvents from the feed, envelopes (``xieshang history
    --json``), link messages (``log.checkpointed``) or bare checkpoint data. ValueError naming
    the line that is none of them."""
    stripped = text.strip()
    records: list[tuple[str, Any]] = []
    whole = None
    if stripped[:1] in ("[", "{"):
        try:
            whole = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            whole = None
    if isinstance(whole, list):
        records = [(f"{origin} item {i}", r) for i, r in enumerate(whole, 1)]
    elif isinstance(whole, dict) and isinstance(whole.get("events"), list):
        records = [(f"{origin} event {i}", r) for i, r in enumerate(whole["events"], 1)]
    elif isinstance(whole, dict):
        records = [(f"{origin} line 1", whole)]
    else:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append((f"{origin} line {number}", orjson.loads(line)))
            except orjson.JSONDecodeError as exc:
                raise ValueError(f"{origin} 第 {number} 行不是 JSON (line {number} is not "
                                 f"JSON: {exc})") from None
    out = []
    for where, record in records:
        found = _evidence(where, record)
        if found is None:
            raise ValueError(f"{where}: 不是检查点、事件或反馈流记录 (neither a checkpoint, a "
                             "CloudEvent, an envelope nor a link message)")
        out.append(found)
    return out


def _is_checkpoint(d: Any) -> bool:
    return isinstance(d, Mapping) and {"service", "committee", "position", "hash", "signature",
                                       "key_id"} <= set(d)


def _evidence(where: str, d: Any) -> Evidence | None:
    if not isinstance(d, Mapping):
        return None
    if "specversion" in d:  # a CloudEvent from the feed or the integration exchange
        source = str(d.get("source", ""))
        committee = source.rpartition(":")[2] if source.startswith("urn:cppcc:") else None
        ce_type = str(d.get("type", ""))
        data = d.get("data")
        is_cp = f".{CHECKPOINT_TYPE}." in f".{ce_type}." or ce_type.endswith(f".{CHECKPOINT_TYPE}")
        return Evidence(where, data if is_cp and _is_checkpoint(data) else None,
                        _int(d.get("xsposition")), _str(d.get("xshash")),
                        _str(d.get("xsservice")), committee)
    if "kind" in d and "payload" in d:  # a link message kept by the upper level
        payload = d.get("payload")
        sender = d.get("sender") if isinstance(d.get("sender"), Mapping) else {}
        cp = payload if _is_checkpoint(payload) else None
        return Evidence(where, cp, _int(d.get("position")), _str(d.get("hash")),
                        cp["service"] if cp else None, _str(sender.get("committee")))
    if "event_id" in d and "data" in d:  # an envelope
        data = d.get("data")
        dep = d.get("deployment") if isinstance(d.get("deployment"), Mapping) else {}
        if _is_checkpoint(data) and d.get("type") != CHECKPOINT_TYPE:
            # kept by the upper committee (CheckpointReceived): the envelope is of its log, the
            # checkpoint and its origin row of ours
            return Evidence(where, data, _int(data.get("origin_position")),
                            _str(data.get("origin_hash")), _str(data["service"]),
                            _str(data["committee"]))
        cp = data if _is_checkpoint(data) else None
        service = _str(d.get("service")) or (cp["service"] if cp else None)
        return Evidence(where, cp, _int(d.get("position")), _str(d.get("hash")), service,
                        _str(dep.get("committee")))
    if _is_checkpoint(d):
        return Evidence(where, d, service=_str(d.get("service")), committee=_str(d.get("committee")))
    return None


def _int(v: Any) -> int | None:
    return v if type(v) is int else None


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def verify_signature(checkpoint: Mapping[str, Any], keys: Mapping[str, Any]) -> str | None:
    """None when ``checkpoint`` is signed by one of ``keys``; otherwise what is wrong."""
    try:
        cp = LogCheckpointed(**{k: checkpoint[k] for k in (
            "service", "committee", "level", "position", "hash", "sealed_at", "key_id", "signature")})
    except (KeyError, TypeError):
        return "it lacks a field of a checkpoint"
    key = keys.get(cp.key_id)
    if key is None:
        return f"it is signed with the key {cp.key_id!r}, not one of the keys given"
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(base64.b64decode(cp.signature, validate=True), cp.statement())
    except (InvalidSignature, ValueError, TypeError):
        return "its signature does not verify: its content was altered, or someone else signed it"
    return None


def check_checkpoints(store: EventStore, checkpoints: Iterable[Evidence | Mapping[str, Any]],
                      public_key: Any, *, service: str | None = None,
                      in_log: bool = True) -> AnchoredReport:
    """Compare ``store``'s log with checkpoints: those given (``Evidence`` from
    ``read_evidence``, or checkpoint dicts) and, with ``in_log``, the log's own. ``public_key``:
    an ed25519 public key, a list of them, or a dict by key id. ``service``: the log's service
    (records of other services and committees are passed over; None: any service).

    Assumes the chain itself walks clean (``store.verify()``): a hash that matches vouches for
    every row up to it only then (``verify_anchored`` does both)."""
    keys = _keys(public_key)
    committee = store.deployment.committee
    report = AnchoredReport()
    claims: list[Claim] = []
    problems: list[tuple[int | None, str]] = []  # (first bad position, problem)

    def ours(ev_service: str | None, ev_committee: str | None) -> bool:
        return ((service is None or ev_service in (None, service))
                and ev_committee in (None, committee))

    evidence = [e if isinstance(e, Evidence) else Evidence("a checkpoint given", e, service=e.get(
        "service"), committee=e.get("committee")) for e in checkpoints]
    for ev in evidence:
        if not ours(ev.service, ev.committee):
            report.other_logs += 1
            continue
        if ev.position is not None and ev.hash is not None:
            claims.append(Claim(ev.position, ev.hash, f"{ev.where} (a copy of position "
                                                     f"{ev.position})", False))
        if ev.checkpoint is not None:
            wrong = verify_signature(ev.checkpoint, keys)
            if wrong:
                problems.append((None, f"the checkpoint of {ev.where} cannot be trusted: {wrong}"))
                continue
            claims.append(Claim(int(ev.checkpoint["position"]), ev.checkpoint["hash"],
                                f"the checkpoint of {ev.where}", True))
    if in_log:
        for env in store.read_stream(CHECKPOINT_STREAM):
            if env.type != CHECKPOINT_TYPE:
                continue
            cp = env.data
            wrong = verify_signature(cp, keys)
            if wrong is None and (cp.get("committee") != committee
                                  or (service is not None and cp.get("service") != service)):
                wrong = (f"it seals the log of {cp.get('service')} at {cp.get('committee')}, not "
                         "this one: it was copied here")
            if wrong is None and not (1 <= int(cp["position"]) < env.position):
                wrong = (f"it seals position {cp['position']}, which does not lie before its own "
                         "row: it was moved")
            if wrong:
                problems.append((env.position, f"the checkpoint at position {env.position} cannot "
                                               f"be trusted: {wrong}; the row was rewritten"))
                continue
            claims.append(Claim(int(cp["position"]), cp["hash"],
                                f"the checkpoint at position {env.position} of the log", True))

    report.checkpoints = sum(c.signed for c in claims)
    report.pins = sum(not c.signed for c in claims)
    head = store.head()
    actual = _hashes_at(store, {c.position for c in claims if 1 <= c.position <= head})
    matches = [c for c in claims if actual.get(c.position) == c.hash]
    report.anchored = max((c.position for c in matches if c.signed), default=0)
    mismatches = []
    for c in claims:
        if c.position in actual and actual[c.position] != c.hash:
            if not c.signed and c.position <= report.anchored:
                report.notes.append(f"{c.where} differs from the log, but a signed checkpoint at "
                                    f"position {report.anchored} vouches for the log there: the "
                                    "copy is wrong")
                continue
            mismatches.append(c)
        elif c.position < 1:
            problems.append((None, f"{c.where} names position {c.position}, which no log has"))
    if mismatches:
        bad = min(mismatches, key=lambda c: (c.position, not c.signed))
        below = max((c.position for c in matches if c.position < bad.position), default=0)
        first = below + 1
        if first == bad.position:
            text = (f"position {bad.position} was rewritten (the chain recomputed after it): "
                    f"{bad.where} holds another hash for it")
        else:
            since = f"position {below}" if below else "the start of the log"
            text = (f"a row between positions {first} and {bad.position} was rewritten and the "
                    f"chain recomputed: {bad.where} holds another hash for position "
                    f"{bad.position}; the last evidence that still matches is at {since}")
        problems.append((first, text))
    beyond = [c for c in claims if c.position > head]
    if beyond:
        end = max(c.position for c in beyond)
        witness = max(beyond, key=lambda c: (c.signed, c.position))  # a signed one, if any
        span = f"position {head + 1} is" if end == head + 1 else f"positions {head + 1} to {end} are"
        problems.append((head + 1, f"{span} missing: the log ends at {head}, but {witness.where} "
                                   f"saw it reach position {witness.position}; its last rows were "
                                   "deleted and its head rewound"))
    located = sorted((p for p in problems if p[0] is not None), key=lambda p: p[0])
    ordered = located + [p for p in problems if p[0] is None]
    if ordered:
        (report.first_bad_position, report.problem), others = ordered[0], ordered[1:]
        report.notes += [f"also: {text}" for _, text in others]
        first = report.first_bad_position
        report.last_position = report.checked = first - 1 if first else 0
    else:
        report.last_position = report.checked = head
    return report


def _hashes_at(store: EventStore, positions: set[int]) -> dict[int, str]:
    """The stored hash at each of ``positions`` (which all lie within the log)."""
    if not positions:
        return {}
    ordered = sorted(positions)
    if len(ordered) <= 64:
        out = {}
        for p in ordered:
            found = store.read_all(p - 1, 1)
            if found and found[0].position == p:
                out[p] = found[0].hash
        return out
    wanted, out = set(ordered), {}
    for env in store.iter_all(ordered[0] - 1):
        if env.position in wanted:
            out[env.position] = env.hash
        if env.position >= ordered[-1]:
            break
    return out


def verify_anchored(store: EventStore, checkpoints: Iterable[Evidence | Mapping[str, Any]],
                    public_key: Any, *, service: str | None = None, jobs: int = 1) -> AnchoredReport:
    """Walk the chain (``store.verify``), then check it against the checkpoints: the first bad
    position of either, the earlier one winning."""
    walked = store.verify(jobs=jobs)
    anchored = check_checkpoints(store, checkpoints, public_key, service=service)
    if walked.ok and anchored.ok:
        anchored.checked, anchored.last_position = walked.checked, walked.last_position
        return anchored
    candidates = [r for r in (walked, anchored) if not r.ok]
    located = [r for r in candidates if r.first_bad_position is not None]
    winner = min(located, key=lambda r: r.first_bad_position) if located else candidates[0]
    anchored.first_bad_position, anchored.problem = winner.first_bad_position, winner.problem
    anchored.checked, anchored.last_position = winner.checked, winner.last_position
    return anchored


# -- up a level -------------------------------------------------------------------------------
def checkpoints_up(uppers: Callable[[], Iterable[str]]) -> Callable[[Envelope, EventStore], list]:
    """A link outbox mapper (``xieshang.kernel.levels.LinkOutbox``): each ``LogCheckpointed`` of
    the log becomes a ``log.checkpointed`` message to every upper committee ``uppers()`` names,
    its payload the checkpoint as signed."""
    from .levels import LinkMessage

    def messages(envelope: Envelope, store: EventStore) -> list:
        if envelope.type != CHECKPOINT_TYPE:
            return []
        return [LinkMessage.of(envelope, LINK_KIND, code, dict(envelope.data)) for code in uppers()]

    return messages


def checkpoint_outbox(**kw: Any) -> Any:
    """A ``LinkOutbox`` that sends a service's checkpoints up (``checkpoints_up`` over its
    configured upper links), for a service that has no link outbox of its own: a dependency,
    ``checkpoints_up = checkpoint_outbox()``. (The feedback service's own outbox sends its.)"""
    from .levels import LinkOutbox

    class CheckpointOutbox(LinkOutbox):
        def __init__(self, **options: Any):
            super().__init__(lambda envelope, store: self._mapper(envelope, store), **options)

        def setup(self) -> None:
            super().setup()
            self._mapper = checkpoints_up(lambda: [link.committee for link in self.links.upper])

        def start(self) -> None:
            if self.links.upper:  # no upper level linked: nothing to send, no connection
                super().start()

    return CheckpointOutbox(**kw)


def sealer_for(store: EventStore, settings: Settings, config: Mapping[str, Any] | None = None,
               **kw: Any) -> Sealer:
    """The sealer a service's container runs: the deployment's key, the configured interval."""
    return Sealer(store, CheckpointSigner.load(settings, config), service=settings.service,
                  interval=checkpoint_interval(config), **kw)


__all__ = [
    "AnchoredReport", "CHECKPOINT_STREAM", "CheckpointReceived", "CheckpointSigner", "Evidence",
    "LogCheckpointed", "checkpoint_outbox", "checkpoints_up", "kept_stream", "received_checkpoint",
    "Sealer", "check_checkpoints", "load_public_keys", "read_evidence", "register_checkpoint_events",
    "seal", "sealer_for", "statement", "verify_anchored", "verify_signature",
]
