"""The store contract, run against every backend."""

from __future__ import annotations

import os

import pytest

from xieshang.kernel.store import sql
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine

from ..conftest import DEPLOYMENT, PG_URL
from .store_contract import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self):
        return MemoryEventStore(DEPLOYMENT)

    @pytest.fixture
    def second_store(self, store):
        return store


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = SqlEventStore(sqlite_engine(str(tmp_path / "events.sqlite")), DEPLOYMENT)
        yield s
        s.close()

    @pytest.fixture
    def second_store(self, store, tmp_path):
        s = SqlEventStore(sqlite_engine(str(tmp_path / "events.sqlite")), DEPLOYMENT)
        yield s
        s.close()


@pytest.mark.postgres
class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, pg_schema):
        s = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema)
        yield s
        s.close()

    @pytest.fixture
    def second_store(self, store, pg_schema):
        s = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema)
        yield s
        s.close()


@pytest.mark.postgres
class TestPostgresStoreOneTripAlways(TestPostgresStore):
    """The contract again with every append at an expected version in one round trip
    (``xs_append()``), single events too."""

    @pytest.fixture(autouse=True)
    def one_trip_always(self, monkeypatch):
        monkeypatch.setattr(sql, "ONE_TRIP_MIN_EVENTS", 1)


@pytest.mark.postgres
class TestPostgresStoreTwoTripsAlways(TestPostgresStore):
    """The contract again with every append in two round trips, batches too."""

    @pytest.fixture(autouse=True)
    def two_trips_always(self, monkeypatch):
        monkeypatch.setattr(sql, "ONE_TRIP_MIN_EVENTS", 10**9)


ESDB_URI = os.environ.get("ESDB_URI")


@pytest.mark.skipif(not ESDB_URI, reason="EventStoreDB contract skipped: ESDB_URI is not set "
                    "(no EventStoreDB server can be installed on this machine)")
class TestEsdbStore(StoreContract):
    gap_free_positions = False

    @pytest.fixture
    def store(self):
        from xieshang.kernel.store.esdb import EsdbEventStore

        from ..conftest import unique

        s = EsdbEventStore(ESDB_URI, DEPLOYMENT, prefix=unique("xs"))
        yield s
        s.close()

    @pytest.fixture
    def second_store(self, store):
        from xieshang.kernel.store.esdb import EsdbEventStore

        s = EsdbEventStore(ESDB_URI, DEPLOYMENT, prefix=store.prefix)
        yield s
        s.close()
