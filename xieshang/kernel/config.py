"""The one place that chooses adapters from configuration (environment or nameko config).

Nothing here connects at import time; call the factories from a composition root. Every SQLite
file the factories make goes through ``store.sql.sqlite_engine`` and so is the owner's only (the
service's data directory 0700, the files with their -wal/-shm 0600: ``store/sqlite.py``).

| setting          | meaning                                             | default                          |
| ---------------- | --------------------------------------------------- | -------------------------------- |
| AMQP_URI         | RabbitMQ                                            | amqp://guest:guest@127.0.0.1:5672/ |
| EVENT_STORE      | sqlite, postgres or esdb                            | sqlite                           |
| XIESHANG_DATA_DIR| where SQLite files live (one folder per service)    | ./data                           |
| DATABASE_URL     | PostgreSQL URL (event_store=postgres, read models)  | —                                |
| PG_SCHEMA_PREFIX | prefix of each service's schemas on PostgreSQL      | "" (schemas: proposals, proposals_views) |
| ESDB_URI         | EventStoreDB connection string (event_store=esdb)   | —                                |
| COMMITTEE_CODE   | the deployment's committee code                     | 640200 (石嘴山市政协, the demo)   |
| COMMITTEE_LEVEL  | national, province, city or county                  | city                             |
| XIESHANG_RPC_QUEUE_TYPE | classic or quorum: how each service declares ``rpc-<service>`` | classic           |
| XIESHANG_RPC_DELIVERY_LIMIT | quorum only: redeliveries of a call before it is dead-lettered | 3              |

The two RPC settings are read by ``RpcQueues.load`` (``xieshang.kernel.rpc`` says what they do);
every instance of a service must have the same, or the broker refuses the later ones.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Mapping

from .envelope import Deployment

DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
RPC_QUEUE_TYPE_KEY = "XIESHANG_RPC_QUEUE_TYPE"
RPC_DELIVERY_LIMIT_KEY = "XIESHANG_RPC_DELIVERY_LIMIT"
RPC_QUEUE_TYPES = ("classic", "quorum")
DEFAULT_RPC_DELIVERY_LIMIT = 3


class ConfigError(ValueError):
    """A setting is missing or wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    service: str
    amqp_uri: str = DEFAULT_AMQP_URI
    event_store: str = "sqlite"
    data_dir: str = "./data"
    database_url: str | None = None
    pg_schema_prefix: str = ""
    esdb_uri: str | None = None
    committee: str = "640200"
    level: str = "city"

    @property
    def deployment(self) -> Deployment:
        return Deployment(self.committee, self.level)

    @classmethod
    def load(cls, service: str, config: Mapping[str, Any] | None = None) -> "Settings":
        """Settings for ``service`` from a nameko config mapping, falling back to the environment."""
        src = setting_source(config)
        s = cls(
            service=service,
            amqp_uri=str(src.get("AMQP_URI") or DEFAULT_AMQP_URI),
            event_store=str(src.get("EVENT_STORE") or "sqlite").lower(),
            data_dir=str(src.get("XIESHANG_DATA_DIR") or "./data"),
            database_url=src.get("DATABASE_URL") or None,
            pg_schema_prefix=str(src.get("PG_SCHEMA_PREFIX") or ""),
            esdb_uri=src.get("ESDB_URI") or None,
            committee=str(src.get("COMMITTEE_CODE") or "640200"),
            level=str(src.get("COMMITTEE_LEVEL") or "city"),
        )
        s.check()
        return s

    def check(self) -> None:
        if self.event_store not in ("sqlite", "postgres", "esdb"):
            raise ConfigError(f"EVENT_STORE must be sqlite, postgres or esdb, not {self.event_store!r}")
        if self.event_store == "postgres" and not self.database_url:
            raise ConfigError("EVENT_STORE=postgres needs DATABASE_URL, e.g. "
                              "postgresql://postgres@127.0.0.1:5432/xieshang")
        if self.event_store == "esdb" and not self.esdb_uri:
            raise ConfigError("EVENT_STORE=esdb needs ESDB_URI, e.g. esdb://127.0.0.1:2113?tls=false")
        self.deployment  # validates the level

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    # -- derived places ----------------------------------------------------
    def service_dir(self) -> str:
        return os.path.join(self.data_dir, self.service)

    def events_schema(self) -> str:
        return f"{self.pg_schema_prefix}{self.service}"

    def views_schema(self) -> str:
        return f"{self.pg_schema_prefix}{self.service}_views"


@dataclass(frozen=True)
class RpcQueues:
    """How a service declares its RPC queue ``rpc-<service>`` (``xieshang.kernel.rpc``).

    ``classic`` is nameko's own durable queue, as before; ``quorum`` a durable quorum queue that
    dead-letters a call after ``delivery_limit`` redeliveries (to ``rpc-<service>.dead``).
    """

    queue_type: str = "classic"
    delivery_limit: int = DEFAULT_RPC_DELIVERY_LIMIT

    @property
    def quorum(self) -> bool:
        return self.queue_type == "quorum"

    @classmethod
    def load(cls, config: Mapping[str, Any] | None = None) -> "RpcQueues":
        """From a nameko config mapping, falling back to the environment; ConfigError if wrong."""
        src = setting_source(config)
        queue_type = str(src.get(RPC_QUEUE_TYPE_KEY) or "classic").strip().lower()
        if queue_type not in RPC_QUEUE_TYPES:
            raise ConfigError(f"{RPC_QUEUE_TYPE_KEY} must be classic or quorum, not {queue_type!r}")
        raw = src.get(RPC_DELIVERY_LIMIT_KEY)
        raw = DEFAULT_RPC_DELIVERY_LIMIT if raw is None or str(raw).strip() == "" else raw
        try:
            limit = int(str(raw).strip())
        except ValueError:
            limit = -1
        if limit < 0:
            raise ConfigError(f"{RPC_DELIVERY_LIMIT_KEY} must be a whole number >= 0 (how often a "
                              f"call may be delivered again after its first delivery), not {raw!r}")
        return cls(queue_type, limit)


def setting_source(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The environment, overridden by the nameko config's plain values: where every setting is
    read from (a service's own settings too)."""
    src: dict[str, Any] = dict(os.environ)
    if config:
        src.update({k: v for k, v in config.items() if isinstance(v, (str, int, float, bool))})
    return src


def setting_text(src: Mapping[str, Any], key: str) -> str:
    """The setting ``key`` as text, stripped ("" if unset)."""
    value = src.get(key)
    return "" if value is None else str(value).strip()


def setting_flag(src: Mapping[str, Any], key: str) -> bool:
    """The setting ``key`` as a 0/1 flag (unset: 0); ConfigError naming it otherwise."""
    value = setting_text(src, key).lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{key} must be 0 or 1, not {value!r}")


def setting_number(src: Mapping[str, Any], key: str, default, kind, *, most: float | None = None,
                   what: str | None = None):
    """The setting ``key`` as a ``kind`` above 0 (and at most ``most``), ``default`` if unset;
    ConfigError naming it otherwise."""
    raw = setting_text(src, key)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if kind is int and most is None and what is None:   # the ports
        most, what = 65535, "a port number (1-65535)"
    if value is None or value <= 0 or (most is not None and value > most):
        raise ConfigError(f"{key} must be {what or 'a number of seconds above 0'}, not {raw!r}")
    return value


def make_event_store(settings: Settings, **kw: Any):
    """Build the event store the settings ask for."""
    if settings.event_store == "sqlite":
        from .store.sql import SqlEventStore, sqlite_engine

        path = os.path.join(settings.service_dir(), "events.sqlite")
        return SqlEventStore(sqlite_engine(path), settings.deployment, **kw)
    if settings.event_store == "postgres":
        from .store.sql import SqlEventStore, postgres_engine

        return SqlEventStore(postgres_engine(sqlalchemy_pg_url(settings.database_url)),
                             settings.deployment, schema=settings.events_schema(), **kw)
    from .store.esdb import EsdbEventStore

    return EsdbEventStore(settings.esdb_uri, settings.deployment, prefix=settings.service, **kw)


def make_views_engine(settings: Settings):
    """The SQLAlchemy engine and schema of the service's read models: (engine, schema or None)."""
    import sqlalchemy as sa

    if settings.event_store == "postgres" or (settings.database_url and settings.event_store == "esdb"):
        from .store.sql import postgres_engine

        engine = postgres_engine(sqlalchemy_pg_url(settings.database_url))
        schema = settings.views_schema()
        with engine.begin() as conn:
            # Instances starting together race on CREATE SCHEMA IF NOT EXISTS (a duplicate-key
            # error, not a no-op): serialise them, as the event store does for its schema.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
            conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        return engine, schema
    from .store.sql import sqlite_engine

    return sqlite_engine(os.path.join(settings.service_dir(), "views.sqlite")), None


def sqlalchemy_pg_url(url: str | None) -> str:
    """A DATABASE_URL as SQLAlchemy takes it (``postgresql://`` means psycopg2)."""
    assert url
    if url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url
