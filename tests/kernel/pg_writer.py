"""A writer process for test_pg_late_commit: appends to one store on PostgreSQL, then prints
the ids of its events, in the order it appended them, as JSON on stdout.

Usage: python pg_writer.py URL SCHEMA APPLICATION_NAME WRITER_NO N_APPENDS
Every fourth append carries three events. Runs without eventlet: a plain blocking process.
"""

from __future__ import annotations

import json
import sys

from xieshang.kernel.envelope import Actor, Deployment, NewEvent
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine


def main(url: str, schema: str, application_name: str, writer_no: int, n_appends: int) -> None:
    actor = Actor(f"writer-{writer_no}", "staff", "test")
    store = SqlEventStore(postgres_engine(url, pool_size=1, connect_args={"application_name": application_name}),
                          Deployment("640200", "city"), schema=schema, create=False)
    ids = []
    for i in range(n_appends):
        batch = [NewEvent("Written", {"writer": writer_no, "i": i, "k": k}, actor)
                 for k in range(3 if i % 4 == 3 else 1)]
        stored = store.append(f"w{writer_no}-{i % 5}", None, batch)
        ids += [e.event_id for e in stored]
    store.close()
    json.dump(ids, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
