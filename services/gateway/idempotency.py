"""Idempotency keys: a command sent again with the same ``Idempotency-Key`` (or the same
``X-Request-ID``) gets the first answer again instead of being carried out twice.

The answers are kept in a table of the gateway's own views database (on PostgreSQL, in its
schema), so that every gateway instance sees the others' keys. A key is claimed by inserting a
*pending* row first: the primary key (caller, key) lets one request win a race; the other sees
the pending row and is told to wait (409). The answer then replaces the pending row and is kept
for ``ttl_seconds`` (config ``XIESHANG_IDEMPOTENCY_TTL``, 24 h by default). A pending row left
behind by a gateway that died is taken over after ``lease_seconds``.

Nothing secret is ever kept: logins and the commands whose bodies carry a password take no key
(NOT_KEPT), and an API key's issuance is kept as "already issued" only (SECRET_ANSWERS).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Literal, Mapping

import sqlalchemy as sa

from xieshang.kernel.clock import Clock

# Commands that take no key: a login's answer is a token, and the others' bodies carry a
# password (a fingerprint, a fast hash of the body, must not be one of a password).
NOT_KEPT = frozenset({"login", "sign_up", "register", "set_password"})
# Commands whose answer carries a secret: only that they happened is kept (a replay says so).
SECRET_ANSWERS = frozenset({"issue_api_key", "create_webhook", "rotate_webhook_secret"})
DEFAULT_TTL = 24 * 3600   # seconds an answer is kept
LEASE = 60                # seconds after which a pending claim counts as abandoned
TABLE = "gateway_idempotency"


def fingerprint(method: str, path: str, query: Mapping[str, Any], body: Any, key: bytes = b"") -> str:
    """What makes two requests "the same": the route (method and path), the query and the body
    as JSON values (key order and spacing do not count). Keyed (HMAC-SHA256 with a key derived
    from the gateway's token secret): a body may hold personal data, such as a phone number, and
    a plain hash of so small a space could be searched back to the number."""
    canonical = json.dumps({"method": method, "path": path, "query": dict(sorted(query.items())),
                            "body": body}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Answer:
    """A kept answer: replayed as it was (the status, the content type and the body)."""

    status: int
    content_type: str
    body: str


@dataclass(frozen=True)
class Claim:
    """``new``: this request holds the key, carry it out and ``finish`` (or ``release``);
    ``replay``: answer ``answer``; ``mismatch``: the key was used for another request;
    ``running``: the first request with this key is still being handled."""

    outcome: Literal["new", "replay", "mismatch", "running"]
    scope: str
    key: str
    answer: Answer | None = None


def idempotency_metadata(schema: str | None = None) -> sa.MetaData:
    md = sa.MetaData(schema=schema)
    sa.Table(
        TABLE, md,
        sa.Column("scope", sa.String(200), primary_key=True),   # who: user:<id> or key:<key id>
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),       # pending | done
        sa.Column("status", sa.Integer),
        sa.Column("content_type", sa.String(100)),
        sa.Column("body", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),      # seconds since the epoch
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    return md


class IdempotencyKeys:
    """The kept answers, by caller and key."""

    def __init__(self, engine: sa.Engine, clock: Clock, *, schema: str | None = None,
                 ttl_seconds: float = DEFAULT_TTL, lease_seconds: float = LEASE, create: bool = True):
        if ttl_seconds <= 0:
            raise ValueError("XIESHANG_IDEMPOTENCY_TTL must be a positive number of seconds")
        self.engine, self.clock = engine, clock
        self.dialect = engine.dialect.name
        self.ttl, self.lease = float(ttl_seconds), float(lease_seconds)
        self.metadata = idempotency_metadata(schema)
        self.table = self.metadata.tables[f"{schema}.{TABLE}" if schema else TABLE]
        self._last_purge = float("-inf")
        if create:
            self.create_schema()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], engine: sa.Engine, clock: Clock, *,
                    schema: str | None = None) -> "IdempotencyKeys":
        raw = config.get("XIESHANG_IDEMPOTENCY_TTL")
        try:
            ttl = float(raw) if raw not in (None, "") else DEFAULT_TTL
        except (TypeError, ValueError):
            raise ValueError(f"XIESHANG_IDEMPOTENCY_TTL must be a number of seconds, not {raw!r}") from None
        return cls(engine, clock, schema=schema, ttl_seconds=ttl)

    def create_schema(self) -> None:
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":  # instances starting together: one creates the table
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('xieshang.idempotency'))"))
            self.metadata.create_all(conn, checkfirst=True)

    # -- the three steps of a request --------------------------------------------------------
    def claim(self, scope: str, key: str, fingerprint: str) -> Claim:
        now = self._now()
        self._purge_now_and_then(now)
        t = self.table
        for _ in range(5):  # a row that expires or is abandoned under us: look again
            if self._insert_pending(scope, key, fingerprint, now):
                return Claim("new", scope, key)
            with self.engine.begin() as conn:
                row = conn.execute(sa.select(t).where(t.c.scope == scope, t.c.key == key)).first()
                if row is None:
                    continue
                if row.expires_at <= now or (row.state == "pending" and row.created_at <= now - self.lease):
                    conn.execute(t.delete().where(t.c.scope == scope, t.c.key == key,
                                                  t.c.created_at == row.created_at))
                    continue
            if row.fingerprint != fingerprint:
                return Claim("mismatch", scope, key)
            if row.state == "pending":
                return Claim("running", scope, key)
            return Claim("replay", scope, key, Answer(row.status, row.content_type, row.body))
        return Claim("running", scope, key)

    def finish(self, claim: Claim, answer: Answer) -> None:
        t = self.table
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.scope == claim.scope, t.c.key == claim.key,
                                          t.c.state == "pending")
                         .values(state="done", status=answer.status, content_type=answer.content_type,
                                 body=answer.body))

    def release(self, claim: Claim) -> None:
        """Forget a claim whose request did not come to an answer worth keeping (the gateway or
        a service failed): the client's retry is carried out."""
        t = self.table
        with self.engine.begin() as conn:
            conn.execute(t.delete().where(t.c.scope == claim.scope, t.c.key == claim.key,
                                          t.c.state == "pending"))

    def purge(self) -> int:
        """Drop the answers kept longer than the TTL; returns how many."""
        t = self.table
        with self.engine.begin() as conn:
            return conn.execute(t.delete().where(t.c.expires_at <= self._now())).rowcount or 0

    # -- plumbing --------------------------------------------------------------------------------
    def _insert_pending(self, scope: str, key: str, fingerprint: str, now: float) -> bool:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(self.table).values(scope=scope, key=key, fingerprint=fingerprint, state="pending",
                                         created_at=now, expires_at=now + self.ttl)
        with self.engine.begin() as conn:
            return conn.execute(stmt.on_conflict_do_nothing(index_elements=["scope", "key"])).rowcount == 1

    def _purge_now_and_then(self, now: float) -> None:
        if now - self._last_purge >= 60 or now < self._last_purge:
            self._last_purge = now
            self.purge()

    def _now(self) -> float:
        return self.clock.now().timestamp()
