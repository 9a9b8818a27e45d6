"""What every service answers about its own log, for people who audit it (over RPC, so that
the web console and the gateway show it without a shell on the server):

* ``stream_history``: a stream's events (who, when, on whose behalf, why, what) and its state as
  of a moment, folded by the service's own fold where it has one (``STATE_FOLDERS`` of its
  ``audit`` module, as ``xieshang as-of`` does), else by merging the events' data;
* ``verify_log``: the hash chain walked, the first bad position named;
* ``vocabulary``: the words of the service's codes (commands, states, events, categories …), so
  that an interface shows words, never codes, without importing the service.

Staff and auditors read histories and the verify status (a history holds what only they may
read, ratings among it); anyone may ask for the words. Services mix ``AuditReads`` in
(it needs the kernel's ``WritePath`` as ``streams`` and ``RequestContext`` as ``context``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable, Mapping

from .clock import SHANGHAI
from .domain import InvalidCommand, NotAllowed
from .envelope import Envelope
from .messages import only_roles, vocabulary
from .rpc import rpc
from .runtime import EXPECTED

AUDIT_READERS = ("staff", "auditor")
MAX_HISTORY = 2000  # events of one stream shown at once (a case has tens)
_STREAM = re.compile(r"^[A-Za-z][A-Za-z0-9_]*-[A-Za-z0-9_.:-]{1,200}$|^[A-Za-z][A-Za-z0-9_-]{0,100}$")

StateFolder = Callable[[list[Envelope]], dict[str, Any]]


def parse_moment(value: str | None, field: str = "until") -> datetime | None:
    """An ISO 8601 time (a time without a zone is read in Asia/Shanghai; a date alone is its
    00:00), None for none; InvalidCommand naming ``field`` otherwise."""
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidCommand((f"{field} is not a time", f"{field} 不是有效的时间"),
                             {field: "an ISO 8601 time, e.g. 2026-05-01T14:30"}) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def generic_fold(events: list[Envelope]) -> dict[str, Any]:
    """State of a stream without a domain fold: each event's data merged in order, plus the
    stream version and the last event."""
    state: dict[str, Any] = {}
    for e in events:
        state.update(e.data)
        state["version"] = e.version
        state["last_event"] = {"type": e.type, "position": e.position, "event_id": e.event_id,
                               "recorded_at": e.recorded_at.isoformat()}
    return state


def category(stream: str) -> str:
    return stream.split("-", 1)[0]


def history_of(envelopes: list[Envelope], until: datetime | None,
               folders: Mapping[str, StateFolder]) -> dict[str, Any]:
    """The events recorded up to ``until`` (all without it) and the state they fold to."""
    upto = [e for e in envelopes if until is None or e.recorded_at <= until]
    folder = folders.get(category(envelopes[0].stream)) if envelopes else None
    state = (folder or generic_fold)(upto) if upto else None
    return {
        "events": [{"position": e.position, "version": e.version, "type": e.type,
                    "recorded_at": e.recorded_at.isoformat(), "actor": e.actor.to_dict(),
                    "on_behalf_of": e.on_behalf_of, "reason": e.reason, "data": dict(e.data)}
                   for e in upto[-MAX_HISTORY:]],
        "total": len(envelopes), "shown": len(upto), "state": state,
        "folded_by": "service" if folder else "generic",
    }


class AuditReads:
    """Entry points on the service's own log (see the module)."""

    state_folders: Mapping[str, StateFolder] = {}

    def _require_auditor(self, what: tuple[str, str]) -> None:
        actor = self.context.get().actor
        if actor.role not in AUDIT_READERS:
            raise NotAllowed(what[0], only_roles(AUDIT_READERS, what[0], actor.role))

    @rpc(expected_exceptions=EXPECTED)
    def stream_history(self, stream: str, until: str | None = None) -> dict[str, Any]:
        """A stream's events and its state as of ``until`` (ISO time; default: now)."""
        self._require_auditor(("read a stream's history", "查看流的历史"))
        if not isinstance(stream, str) or not _STREAM.match(stream):
            raise InvalidCommand(("bad stream name", "流名称有误"),
                                 {"stream": "a stream name such as proposal-<id>"})
        moment = parse_moment(until)
        envelopes = self.streams.store.read_stream(stream)
        return {"service": self.name, "stream": stream, "until": moment.isoformat() if moment else None,
                **history_of(envelopes, moment, self.state_folders)}

    @rpc(expected_exceptions=EXPECTED)
    def verify_log(self) -> dict[str, Any]:
        """The hash chain of the service's whole log walked: intact, or the first bad position."""
        self._require_auditor(("verify the log", "校验日志"))
        report = self.streams.store.verify()
        return {"service": self.name, "ok": report.ok, "checked": report.checked,
                "last_position": report.last_position, "first_bad_position": report.first_bad_position,
                "problem": report.problem}

    @rpc
    def vocabulary(self) -> dict[str, Any]:
        """The words of the service's codes, [English, Chinese] each (messages.vocabulary)."""
        return vocabulary(self.name)
