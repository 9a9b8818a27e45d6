"""Child processes for the relay's crash tests; the parent SIGKILLs them at a chosen moment.

Each mode writes its progress to a status file (one line per step) that the parent waits on,
then blocks until it is killed:

* ``commit DB STATUS N EXCHANGE AMQP_URI`` — a service process: a relay is running and
  subscribed to the store, but is held back by a test hook before it touches the broker;
  the process appends N events (several streams, several appends), writes
  ``committed <head>`` and waits to be killed. No event is ever published by this process.
* ``relay DB STATUS EXCHANGE AMQP_URI BATCH`` — a relay that publishes a batch, has it
  confirmed by the broker, writes ``confirmed <last position>`` and then blocks before it
  moves its checkpoint.

Run as ``python -m tests.support.outbox_child MODE ...`` from the repository root.
"""

from __future__ import annotations

import sys
import threading

from xieshang.kernel.envelope import Actor, Deployment, NewEvent
from xieshang.kernel.relay import Relay
from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

DEPLOYMENT = Deployment("640200", "city")
STAFF = Actor("staff-001", "staff", "proposal-committee")
LEASE_TTL = 1.0  # short, so the parent's relay takes over soon after the kill
FOREVER = threading.Event()


def status(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


class HeldBackRelay(Relay):
    """A relay that stops before publishing anything, as if the process died right there."""

    def __init__(self, *args, status_path: str, **kw):
        super().__init__(*args, **kw)
        self.status_path = status_path

    def _publish(self, envelopes):
        status(self.status_path, f"relay-held {envelopes[0].position}")
        FOREVER.wait()


class StopsBeforeCheckpoint(Relay):
    """A relay that publishes and has a batch confirmed, then stops before the checkpoint moves."""

    def __init__(self, *args, status_path: str, **kw):
        super().__init__(*args, **kw)
        self.status_path = status_path

    def _advance(self, position: int) -> None:
        status(self.status_path, f"confirmed {position}")
        FOREVER.wait()


def commit(db: str, status_path: str, n: int, exchange: str, amqp_uri: str) -> None:
    store = SqlEventStore(sqlite_engine(db), DEPLOYMENT)
    relay = HeldBackRelay(store, amqp_uri, service="child", exchange=exchange,
                          lease_ttl=LEASE_TTL, status_path=status_path)
    store.subscribe(relay.wake)
    threading.Thread(target=relay.run, daemon=True).start()
    done = 0
    while done < n:
        chunk = min(7, n - done)
        stream = f"case-{done % 3}"
        store.append(stream, None, [NewEvent("CaseNoted", {"i": done + i}, STAFF)
                                    for i in range(chunk)])
        done += chunk
    status(status_path, f"committed {store.head()}")
    FOREVER.wait()


def relay(db: str, status_path: str, exchange: str, amqp_uri: str, batch: int) -> None:
    store = SqlEventStore(sqlite_engine(db), DEPLOYMENT)
    StopsBeforeCheckpoint(store, amqp_uri, service="child", exchange=exchange, batch=batch,
                          lease_ttl=LEASE_TTL, status_path=status_path).run_once()


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "commit":
        commit(args[0], args[1], int(args[2]), args[3], args[4])
    elif mode == "relay":
        relay(args[0], args[1], args[2], args[3], int(args[4]))
    else:
        sys.exit(f"unknown mode {mode!r}: use commit or relay")
