"""Event store on EventStoreDB (esdbclient over gRPC). Decisions: docs/adr/0004-eventstoredb.md.

One server can hold the logs of several services (and tests): every stream of this store is
named ``{prefix}-{stream}``, and ``read_all``/``head``/``verify`` filter ``$all`` on that name
server-side. Internal streams (``{prefix}~processed-…``, ``~checkpoint-…``, ``~lease-…``) use
another separator, so the filter never sees them.

What differs from the SQL stores, because EventStoreDB has no cross-stream transaction and
no lock on ``$all``:

* Positions are ``$all`` commit positions: increasing, not contiguous.
* The hash chain is kept per stream (the predecessor is the previous event of the same
  stream, the hash covers the stream version instead of the position).
* Event ids are checked for duplicates within the target stream only.
* A tracked append (``tracking=``) uses ids derived from the consumer and the upstream event,
  so a repeated effect is recognised as already stored, and leaves a marker stream that
  ``is_processed`` looks up.

gRPC must not run on the eventlet hub: when eventlet has monkeypatched the process, grpc and
esdbclient are imported against the original ``threading``/``time`` modules and every store
operation runs in an OS thread through ``eventlet.tpool``.
"""

from __future__ import annotations

import re
import sys
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Sequence

import orjson

from ..envelope import Deployment, Envelope, NewEvent, encode_body, utcnow
from ..greening import eventlet_is_patched
from .port import (GENESIS_HASH, ConcurrencyError, DuplicateEventError, EventStore, StoreError,
                   Tracking, VerifyReport, chain_hash, stamp, validate_append)

PREFIX_RE = re.compile(r"^[A-Za-z0-9_]{1,60}$")
# A write at "any version" still appends at the exact version it read (the chain needs the
# predecessor); when another writer gets in between, it re-reads and tries again this often.
ANY_VERSION_ATTEMPTS = 20
SMALL_STREAM_ATTEMPTS = 20
PAGE = 1000
# Checkpoint and lease streams only ever need their last event.
SMALL_STREAM_MAX_COUNT = 10
# Some servers report "no position" as the largest unsigned 64-bit number.
_NO_POSITION = 2**63

TRACKING_NAMESPACE = uuid.UUID("6f1d4c2a-8e53-5b7e-9a41-2c0d7e3b9f10")
ENVELOPE_FORMAT = "xieshang.envelope/1"


# ---------------------------------------------------------------------------------------
# Pure parts: names, versions, ids, envelope <-> EventStoreDB event (no server, no grpc)
# ---------------------------------------------------------------------------------------

def check_prefix(prefix: str) -> str:
    if not PREFIX_RE.match(prefix or ""):
        raise ValueError(
            f"EventStoreDB stream prefix must be 1 to 60 letters, digits or '_', got {prefix!r} "
            "(a '-' would make one service's streams look like another's)")
    return prefix


def event_stream_name(prefix: str, stream: str) -> str:
    """The EventStoreDB stream that holds our ``stream``."""
    return f"{prefix}-{stream}"


def logical_stream_name(prefix: str, esdb_stream: str) -> str | None:
    """Our stream name for an EventStoreDB stream of this prefix, or None if it is not one."""
    head = f"{prefix}-"
    return esdb_stream[len(head):] if esdb_stream.startswith(head) else None


def events_filter(prefix: str) -> str:
    """Stream-name pattern of this prefix's event streams (esdbclient anchors it with ^…$)."""
    return re.escape(prefix) + "-.*"


def processed_stream_name(prefix: str, consumer: str, event_id: str) -> str:
    return f"{prefix}~processed-{consumer}~{event_id}"


def checkpoint_stream_name(prefix: str, name: str) -> str:
    return f"{prefix}~checkpoint-{name}"


def lease_stream_name(prefix: str, name: str) -> str:
    return f"{prefix}~lease-{name}"


def esdb_revision(version: int) -> int | None:
    """EventStoreDB's revision of the last event of a stream at our ``version`` (None: no stream).

    Our versions count events from 1; EventStoreDB numbers them from 0.
    """
    if version < 0:
        raise ValueError(f"a stream version is never negative, got {version}")
    return None if version == 0 else version - 1


def our_version(revision: int | None) -> int:
    """Our version of a stream whose last event has EventStoreDB ``revision`` (None: no stream)."""
    return 0 if revision is None else revision + 1


_REVISION_IN_MESSAGE = re.compile(r"\bis (\d+)\b")


def version_from_conflict(message: str) -> int | None:
    """The stream's actual version named in esdbclient's WrongCurrentVersion message, if any.

    esdbclient says "Stream 'x' does not exist", "Stream position of last event is 4 not 2"
    or (older releases) "Current version is 4".
    """
    if "does not exist" in message:
        return 0
    m = _REVISION_IN_MESSAGE.search(message)
    return our_version(int(m.group(1))) if m else None


def esdb_event_id(event_id: str) -> uuid.UUID:
    """EventStoreDB needs UUID event ids: ours if it is one, else a stable UUID derived from it."""
    try:
        return uuid.UUID(event_id)
    except (ValueError, AttributeError, TypeError):
        return uuid.uuid5(TRACKING_NAMESPACE, f"event-id\x1f{event_id}")


def tracking_event_id(consumer: str, upstream_event_id: str, index: int) -> str:
    """The id of the ``index``-th event of ``consumer``'s effect of ``upstream_event_id``.

    The same effect always gets the same ids, so repeating it is recognised as already stored.
    """
    return str(uuid.uuid5(TRACKING_NAMESPACE, f"{consumer}\x1f{upstream_event_id}\x1f{index}"))


def tracking_marker_id(consumer: str, upstream_event_id: str) -> str:
    return str(uuid.uuid5(TRACKING_NAMESPACE, f"{consumer}\x1f{upstream_event_id}"))


def with_tracking_ids(events: Sequence[NewEvent], tracking: Tracking) -> list[NewEvent]:
    return [replace(e, event_id=tracking_event_id(tracking.consumer, tracking.event_id, i))
            for i, e in enumerate(events)]


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """An event as it is written to EventStoreDB (turned into an esdbclient NewEvent at the edge)."""

    id: uuid.UUID
    type: str
    data: bytes
    metadata: bytes


def link_hash(prev_hash: str, envelope: Envelope) -> str:
    """Hash of one event in its stream's chain: predecessor's hash, stream version, canonical body."""
    return chain_hash(prev_hash, envelope.version, encode_body(envelope.body()))


def seal_event(envelope: Envelope, prev_hash: str,
               tracking: Tracking | None = None) -> tuple[OutgoingEvent, str]:
    """The EventStoreDB event for ``envelope`` chained after ``prev_hash``, and its hash.

    The data is the canonical envelope body plus ``prev_hash`` and ``hash``; the metadata
    names the format and, for a tracked append, the consumer and upstream event.
    """
    digest = link_hash(prev_hash, envelope)
    data = encode_body({**envelope.body(), "prev_hash": prev_hash, "hash": digest})
    meta: dict[str, Any] = {"format": ENVELOPE_FORMAT, "type": envelope.type,
                            "schema_version": envelope.schema_version}
    if tracking is not None:
        meta["tracking"] = {"consumer": tracking.consumer, "event_id": tracking.event_id,
                            "position": tracking.position}
    return OutgoingEvent(esdb_event_id(envelope.event_id), envelope.type, data,
                         orjson.dumps(meta, option=orjson.OPT_SORT_KEYS)), digest


def record_position(record: Any) -> int:
    position = record.commit_position
    if position is None or position >= _NO_POSITION:
        raise StoreError(
            f"EventStoreDB returned no commit position for an event of {record.stream_name!r}: "
            "stream reads carry positions from EventStoreDB 22.10 on; use 22.10 or later")
    return int(position)


def split_data(data: bytes) -> tuple[dict[str, Any], str, str]:
    """(body, prev_hash, hash) of a stored event's data; raises ValueError if it is not ours."""
    d = orjson.loads(data)
    if not isinstance(d, dict):
        raise ValueError("event data is not a JSON object")
    prev, digest = d.pop("prev_hash"), d.pop("hash")
    if not isinstance(prev, str) or not isinstance(digest, str):
        raise ValueError("prev_hash and hash must be strings")
    return d, prev, digest


def envelope_from_record(record: Any) -> Envelope:
    """Our envelope for a recorded EventStoreDB event (anything with esdbclient's RecordedEvent
    attributes: data, commit_position, stream_name)."""
    try:
        body, prev, digest = split_data(record.data)
    except (orjson.JSONDecodeError, KeyError, ValueError) as exc:
        raise StoreError(f"event {record.id} in {record.stream_name!r} is not a xieshang "
                         f"envelope: {exc}") from None
    return Envelope.from_dict(body, position=record_position(record), prev_hash=prev, hash=digest)


def chain_tip(record: Any | None) -> str:
    """The hash a new event must chain to, given its stream's last stored event (or None)."""
    if record is None:
        return GENESIS_HASH
    try:
        return split_data(record.data)[2]
    except (orjson.JSONDecodeError, KeyError, ValueError) as exc:
        raise StoreError(f"the last event of {record.stream_name!r} is not a xieshang envelope "
                         f"({exc}): cannot chain to it") from None


def check_link(record: Any, prefix: str, expected_version: int, prev_hash: str) -> str | None:
    """Why ``record`` breaks its stream's chain (None if it is sound).

    ``expected_version``/``prev_hash``: the version and hash its predecessor in the same
    stream leads us to expect (1 and GENESIS_HASH for a stream's first event).
    """
    stream = logical_stream_name(prefix, record.stream_name)
    version = our_version(record.stream_position)
    if version > expected_version:
        return (f"stream {stream!r} starts at version {version}, not {expected_version}: "
                f"versions {expected_version} to {version - 1} were deleted or truncated"
                if expected_version == 1 else
                f"stream {stream!r} jumps from version {expected_version - 1} to {version}: "
                "events were deleted")
    if version < expected_version:
        return f"stream {stream!r} repeats version {version}"
    try:
        body, stored_prev, digest = split_data(record.data)
    except (orjson.JSONDecodeError, KeyError, ValueError) as exc:
        return f"version {version} of stream {stream!r} is not a xieshang envelope: {exc}"
    if stored_prev != prev_hash:
        return (f"version {version} of stream {stream!r} does not follow version {version - 1}: "
                "an event was inserted, replaced or reordered here")
    if chain_hash(stored_prev, version, encode_body(body)) != digest:
        return f"version {version} of stream {stream!r} was modified: its content does not match its hash"
    if (body.get("stream"), body.get("version"), body.get("type")) != (stream, version, record.type) \
            or not isinstance(body.get("event_id"), str) \
            or esdb_event_id(body["event_id"]) != record.id:
        return (f"version {version} of stream {stream!r} was modified: its EventStoreDB record "
                "(stream, revision, type, id) differs from its hashed body")
    return None


# ---------------------------------------------------------------------------------------
# Importing esdbclient so that gRPC never runs on the eventlet hub
# ---------------------------------------------------------------------------------------

_ESDB: SimpleNamespace | None = None
# Modules grpc and esdbclient must see unpatched: grpc's channel threads, conditions and
# esdbclient's reconnect sleep/locks would otherwise be green and deadlock in OS threads.
_REAL_MODULES = ("threading", "_thread", "time", "queue")


def _thread_is_patched() -> bool:
    try:
        import eventlet.patcher
    except ImportError:  # pragma: no cover - eventlet is a dependency
        return False
    return eventlet.patcher.is_monkey_patched("thread")


def load_esdbclient() -> SimpleNamespace:
    """Import esdbclient (once). Under eventlet, grpc is imported against the real threading
    module; if something imported grpc green before us, refuse rather than deadlock later."""
    global _ESDB
    if _ESDB is not None:
        return _ESDB
    patched = _thread_is_patched()
    if patched and "grpc" not in sys.modules:
        from eventlet import patcher

        # Imported first with the usual (green) modules: they are shared with the rest of
        # the service and must not change behind its back.
        import asyncio  # noqa: F401
        import concurrent.futures  # noqa: F401

        saved = {name: sys.modules.get(name) for name in _REAL_MODULES}
        try:
            for name in _REAL_MODULES:
                sys.modules[name] = patcher.original(name)
            import grpc  # noqa: F401
            import grpc._channel  # noqa: F401
            import esdbclient  # noqa: F401
        finally:
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module
    import esdbclient
    import esdbclient.exceptions as errors

    if patched:
        import grpc._channel

        if grpc._channel.threading is sys.modules["threading"]:
            raise StoreError(
                "grpc was imported after eventlet.monkey_patch() by something other than "
                "xieshang.kernel.store.esdb, so its threads are green and would deadlock: call "
                "xieshang.kernel.store.esdb.load_esdbclient() before anything else imports grpc")
    _ESDB = SimpleNamespace(
        Client=esdbclient.EventStoreDBClient, NewEvent=esdbclient.NewEvent,
        StreamState=esdbclient.StreamState, Error=errors.EventStoreDBClientException,
        NotFound=errors.NotFound,
        WrongCurrentVersion=errors.WrongCurrentVersion, StreamIsDeleted=errors.StreamIsDeleted)
    return _ESDB


def _without_password(uri: str) -> str:
    return re.sub(r"//[^@/]*@", "//", uri)


def _os_lock():
    """A lock that works across OS threads even when eventlet patched ``threading``."""
    try:
        from eventlet import patcher
    except ImportError:  # pragma: no cover - eventlet is a dependency
        import threading

        return threading.Lock()
    return patcher.original("_thread").allocate_lock()


# ---------------------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------------------

class EsdbEventStore(EventStore):
    """One service's log on an EventStoreDB server, in the streams named ``{prefix}-…``.

    Nothing connects until the first operation. Under eventlet every operation runs in an OS
    thread (``eventlet.tpool``); the append listeners are called back in the caller's thread.
    """

    def __init__(self, uri: str, deployment: Deployment, *, prefix: str,
                 clock: Callable[[], datetime] = utcnow):
        super().__init__()
        if not uri:
            raise ValueError("EsdbEventStore needs a connection string, e.g. esdb://127.0.0.1:2113?tls=false")
        self.uri = uri
        self.deployment = deployment
        self.prefix = check_prefix(prefix)
        self.clock = clock
        self._esdb: SimpleNamespace | None = None  # esdbclient's names, loaded on first use
        self._client_obj: Any = None
        self._client_lock = _os_lock()

    def __repr__(self) -> str:
        return f"EsdbEventStore(prefix={self.prefix!r})"

    # -- running esdbclient off the hub -----------------------------------
    def _offload(self, fn: Callable[..., Any], *args: Any) -> Any:
        # Import in the caller's thread: the import swaps sys.modules entries for a moment,
        # which must not happen while another OS thread imports.
        self._esdb = load_esdbclient()
        if eventlet_is_patched():
            from eventlet import tpool

            return tpool.execute(self._guarded, fn, args)
        return self._guarded(fn, args)

    def _guarded(self, fn: Callable[..., Any], args: tuple) -> Any:
        try:
            return fn(*args)
        except self._esdb.Error as exc:
            raise StoreError(f"EventStoreDB at {_without_password(self.uri)} failed in "
                             f"{fn.__name__.lstrip('_')}: {type(exc).__name__}: {exc}") from exc

    def _client(self) -> Any:
        client = self._client_obj
        if client is None:
            with self._client_lock:
                if self._client_obj is None:
                    self._client_obj = self._esdb.Client(self.uri)
                client = self._client_obj
        return client

    # -- small helpers (run in the offloaded thread) ----------------------
    def _records(self, esdb_stream: str, from_revision: int | None = None,
                 limit: int = sys.maxsize) -> list[Any]:
        try:
            return list(self._client().get_stream(esdb_stream, stream_position=from_revision,
                                                  limit=limit))
        except (self._esdb.NotFound, self._esdb.StreamIsDeleted):
            return []

    def _last_record(self, esdb_stream: str) -> Any | None:
        try:
            found = self._client().get_stream(esdb_stream, backwards=True, limit=1)
        except (self._esdb.NotFound, self._esdb.StreamIsDeleted):
            return None
        return found[0] if found else None

    def _append_records(self, esdb_stream: str, revision: int | None,
                        events: Iterable[OutgoingEvent]) -> int:
        es = self._esdb
        current = es.StreamState.NO_STREAM if revision is None else revision
        return self._client().append_to_stream(
            esdb_stream, current_version=current,
            events=[es.NewEvent(type=e.type, data=e.data, metadata=e.metadata, id=e.id)
                    for e in events])

    def _all_records(self, after: int, limit: int | None) -> list[Any]:
        # Reading $all from a position includes the event at that position: skip it.
        count = sys.maxsize if limit is None else limit + (1 if after else 0)
        records = self._client().read_all(
            commit_position=after or None, filter_include=(events_filter(self.prefix),),
            filter_by_stream_name=True, limit=count)
        out = []
        for record in records:
            if record_position(record) <= after:
                continue
            out.append(record)
            if limit is not None and len(out) >= limit:
                break
        return out

    def _small_stream_append(self, esdb_stream: str, last: Any | None, type_: str,
                             data: dict[str, Any]) -> bool:
        """Append one event after ``last``; False if another writer got there first."""
        if last is None:
            # Checkpoint and lease streams need only their last event: let scavenging drop the rest.
            self._client().set_stream_metadata(
                esdb_stream, metadata={"$maxCount": SMALL_STREAM_MAX_COUNT})
        event = OutgoingEvent(uuid.uuid4(), type_, orjson.dumps(data), b"")
        try:
            self._append_records(esdb_stream, None if last is None else last.stream_position, [event])
        except self._esdb.WrongCurrentVersion:
            return False
        return True

    # -- writing ----------------------------------------------------------
    def append(self, stream: str, expected_version: int | None, events: Sequence[NewEvent],
               *, tracking: Tracking | None = None) -> list[Envelope]:
        validate_append(stream, events)
        if tracking is not None:
            events = with_tracking_ids(events, tracking)
        envelopes, committed = self._offload(self._append, stream, expected_version, list(events), tracking)
        if committed:
            self._notify(envelopes[-1].position)
        return envelopes

    def _append(self, stream: str, expected_version: int | None, events: list[NewEvent],
                tracking: Tracking | None) -> tuple[list[Envelope], bool]:
        """The stored envelopes, and whether this call committed them (False for a replay)."""
        es = self._esdb
        if tracking is not None and self._is_processed(tracking.consumer, tracking.event_id):
            return [], False
        name = event_stream_name(self.prefix, stream)
        ids = [esdb_event_id(e.event_id) for e in events]
        for _attempt in range(ANY_VERSION_ATTEMPTS):
            stored = self._records(name)
            by_id = {r.id: r for r in stored}
            known = [by_id[i] for i in ids if i in by_id]
            if known:
                if tracking is not None:
                    # The effect was stored but its marker not yet written (a crash in between).
                    self._mark_processed(tracking, stream)
                    return [], False
                if len(known) != len(ids):
                    raise DuplicateEventError(
                        f"{len(known)} of the {len(ids)} event ids are already stored in stream "
                        f"{stream!r}: a repeated append must repeat the whole batch")
                return [envelope_from_record(r) for r in known], False
            current = our_version(stored[-1].stream_position) if stored else 0
            if expected_version is not None and expected_version != current:
                raise ConcurrencyError(stream, expected_version, current)
            recorded_at = self.clock()
            prev = chain_tip(stored[-1] if stored else None)
            outgoing = []
            for i, new in enumerate(events):
                env = stamp(new, stream, current + i + 1, recorded_at, self.deployment)
                event, prev = seal_event(env, prev, tracking)
                outgoing.append(event)
            try:
                self._append_records(name, esdb_revision(current), outgoing)
            except es.WrongCurrentVersion as exc:
                if expected_version is None:
                    continue  # someone appended after our read: chain after their events instead
                actual = version_from_conflict(str(exc))
                if actual is None:
                    last = self._last_record(name)
                    actual = our_version(last.stream_position) if last else 0
                raise ConcurrencyError(stream, expected_version, actual) from None
            # Read back what is stored: each event's own commit position (the append only
            # returns the last one), and the truth if an identical concurrent append won.
            written = self._records(name, from_revision=current, limit=len(outgoing))
            if [r.id for r in written] != ids:
                raise StoreError(f"stream {stream!r} does not hold the events just appended at "
                                 f"version {current + 1}: it changed underneath this append")
            if tracking is not None:
                self._mark_processed(tracking, stream)
            return [envelope_from_record(r) for r in written], True
        raise ConcurrencyError(stream, None, self._stream_version(name))

    def _mark_processed(self, tracking: Tracking, stream: str) -> None:
        marker = OutgoingEvent(
            uuid.UUID(tracking_marker_id(tracking.consumer, tracking.event_id)), "EffectRecorded",
            orjson.dumps({"consumer": tracking.consumer, "event_id": tracking.event_id,
                          "position": tracking.position, "stream": stream}), b"")
        try:
            # Same id at "no stream" is idempotent; any other conflict means it is marked already.
            self._append_records(
                processed_stream_name(self.prefix, tracking.consumer, tracking.event_id), None, [marker])
        except self._esdb.WrongCurrentVersion:
            pass

    # -- reading ----------------------------------------------------------
    def read_stream(self, stream: str, from_version: int = 1) -> list[Envelope]:
        name = event_stream_name(self.prefix, stream)
        records = self._offload(self._records, name, max(from_version, 1) - 1)
        return [envelope_from_record(r) for r in records]

    def read_all(self, after: int = 0, limit: int | None = None) -> list[Envelope]:
        if limit is not None and limit <= 0:
            return []
        return [envelope_from_record(r) for r in self._offload(self._all_records, after, limit)]

    def head(self) -> int:
        return self._offload(self._head)

    def _head(self) -> int:
        return int(self._client().get_commit_position(
            filter_include=(events_filter(self.prefix),), filter_by_stream_name=True))

    def stream_version(self, stream: str) -> int:
        return self._offload(self._stream_version, event_stream_name(self.prefix, stream))

    def _stream_version(self, esdb_stream: str) -> int:
        last = self._last_record(esdb_stream)
        return our_version(last.stream_position) if last else 0

    # -- consumers, checkpoints, leases ----------------------------------
    def is_processed(self, consumer: str, event_id: str) -> bool:
        return self._offload(self._is_processed, consumer, event_id)

    def _is_processed(self, consumer: str, event_id: str) -> bool:
        return self._last_record(processed_stream_name(self.prefix, consumer, event_id)) is not None

    def get_checkpoint(self, name: str) -> int:
        return self._offload(self._get_checkpoint, checkpoint_stream_name(self.prefix, name))

    def _get_checkpoint(self, esdb_stream: str) -> int:
        last = self._last_record(esdb_stream)
        return int(orjson.loads(last.data)["position"]) if last else 0

    def set_checkpoint(self, name: str, position: int) -> None:
        self._offload(self._set_checkpoint, checkpoint_stream_name(self.prefix, name), int(position))

    def _set_checkpoint(self, esdb_stream: str, position: int) -> None:
        for _attempt in range(SMALL_STREAM_ATTEMPTS):
            last = self._last_record(esdb_stream)
            if last is not None and int(orjson.loads(last.data)["position"]) >= position:
                return
            if self._small_stream_append(esdb_stream, last, "CheckpointMoved", {"position": position}):
                return
        raise StoreError(f"checkpoint {esdb_stream!r} kept moving under {SMALL_STREAM_ATTEMPTS} attempts to set it")

    def try_lease(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        return self._offload(self._try_lease, lease_stream_name(self.prefix, name), holder,
                             now.timestamp(), float(ttl_seconds))

    def _try_lease(self, esdb_stream: str, holder: str, ts: float, ttl: float) -> bool:
        for _attempt in range(SMALL_STREAM_ATTEMPTS):
            last = self._last_record(esdb_stream)
            if last is not None:
                current = orjson.loads(last.data)
                if current["holder"] != holder and current["expires_at"] >= ts:
                    return False
            if self._small_stream_append(esdb_stream, last, "LeaseTaken",
                                         {"holder": holder, "expires_at": ts + ttl}):
                return True
            # another instance wrote the lease between our read and our write: decide again
        return False

    # -- audit ------------------------------------------------------------
    def verify(self, jobs: int = 1) -> VerifyReport:
        """One walk in this process: ``jobs`` is ignored here."""
        return self._offload(self._verify)

    def _verify(self) -> VerifyReport:
        report = VerifyReport()
        tips: dict[str, tuple[int, str]] = {}  # EventStoreDB stream -> (next version, its prev hash)
        after = 0
        while True:
            page = self._all_records(after, PAGE)
            if not page:
                return report
            for record in page:
                position = record_position(record)
                expected_version, prev = tips.get(record.stream_name, (1, GENESIS_HASH))
                problem = check_link(record, self.prefix, expected_version, prev)
                if problem:
                    report.first_bad_position = position
                    report.problem = f"position {position}: {problem}"
                    return report
                tips[record.stream_name] = (expected_version + 1, split_data(record.data)[2])
                report.checked += 1
                report.last_position = position
            after = report.last_position

    # -- lifecycle --------------------------------------------------------
    def close(self) -> None:
        client, self._client_obj = self._client_obj, None
        if client is not None:
            self._offload(client.close)

