"""Single-event append throughput of SqlEventStore on SQLite and PostgreSQL (one writer).

Run: .venv/bin/python bench/append_rate.py [--eventlet] [-n 5000]
--eventlet runs it like a nameko service does: monkey-patched, psycopg2 through psycogreen.
"""

from __future__ import annotations

import argparse
import sys

if "--eventlet" in sys.argv:
    import eventlet

    eventlet.monkey_patch()

import os  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from xieshang.kernel.envelope import Actor, Deployment, NewEvent  # noqa: E402
from xieshang.kernel.greening import cooperate_with_eventlet  # noqa: E402
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine  # noqa: E402

PG_URL = os.environ.get("XIESHANG_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
DEPLOYMENT = Deployment("640200", "city")
ACTOR = Actor("bench", "staff", "bench")


def rate(store: SqlEventStore, n: int) -> float:
    streams = [f"s-{uuid.uuid4().hex[:8]}" for _ in range(50)]
    events = [NewEvent("Benchmarked", {"i": i, "title": "路灯不亮"}, ACTOR) for i in range(n)]
    for i in range(200):  # warm up the pool and the caches
        store.append(f"warm-{i}", 0, [NewEvent("Warm", {}, ACTOR)])
    t0 = time.perf_counter()
    for i, e in enumerate(events):
        store.append(streams[i % 50], None, [e])
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=5000)
    ap.add_argument("--eventlet", action="store_true")
    args = ap.parse_args()
    if args.eventlet:
        cooperate_with_eventlet()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlEventStore(sqlite_engine(os.path.join(tmp, "events.sqlite")), DEPLOYMENT)
        print(f"sqlite     {rate(store, args.n):8.0f} appends/s")
        store.close()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=schema)
    try:
        print(f"postgresql {rate(store, args.n // 2):8.0f} appends/s")
    finally:
        with store.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        store.close()


if __name__ == "__main__":
    main()
