"""Authentication at the gateway: who is calling.

    auth = Authenticator.from_config(config, store, views_engine, clock, schema=views_schema)
    auth.ensure_admin_from_config(config)                      # the first admin, once
    token, expires_at, actor = auth.login("staff-001", "…", client_ip="10.1.2.3")
    actor = auth.authenticate(request.headers)                 # None: no credentials sent

People log in with a user id and a password (argon2id) and get a signed token (JWT, HS256) that
expires after 8 hours; they send it as ``Authorization: Bearer <token>``. Subscriber systems
send an API key, ``X-API-Key: xs_<key id>_<secret>``. Whether a route needs either is the
caller's business: ``authenticate`` returns None when neither header is present.

Accounts and keys are event-sourced (domain/, in the gateway's own log): a lockout, a
disabled account, a changed password end sessions on every gateway instance. The secrets are
not in events: password hashes and API key digests live in the ``Credentials`` tables, on the
gateway's views database. Every instance must share that database and the event store (and
the token secret), as they share the accounts. The login throttle (``LoginThrottle``) is in
memory, per instance.

Never logged: passwords, tokens, API keys, hashes; nor a user id that matches no account
(people type their password into the user id field). Logged: user ids and outcomes.

Settings (nameko config):

* XIESHANG_TOKEN_SECRET: the key that signs tokens, at least 32 characters, the same on every
  instance. Required unless EVENT_STORE=sqlite (then a random one per process, with a warning).
* XIESHANG_TOKEN_TTL_SECONDS: how long a token is valid (default 28800: 8 hours).
* XIESHANG_ADMIN_USER, XIESHANG_ADMIN_PASSWORD, XIESHANG_ADMIN_ORGANISATION (default
  committee-office): the first admin, registered at start when absent; the password is used
  only while that account has none.
* XIESHANG_TRUSTED_PROXIES: addresses or networks (CIDR), comma-separated, of the reverse
  proxies in front of the gateway. A request from one of them is counted by the throttles
  under the right-most X-Forwarded-For address that is not one of them; with none set, under
  its peer address (the header is ignored).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import secrets
import threading
import time
import unicodedata
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from xieshang.kernel.clock import Clock
from xieshang.kernel.config import ConfigError
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainError, DomainEvent, InvalidCommand, NotFound, WrongState
from xieshang.kernel.envelope import SYSTEM_ACTOR, Actor
from xieshang.kernel.store.port import EventStore
from xieshang.kernel.streams import RETRY, Loaded, Receipt, Streams

from . import domain as accounts
from .domain import Account, ApiKey, LockoutPolicy, LoginRefused, iso, valid_id
from .domain.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problem  # noqa: F401

log = logging.getLogger(__name__)

TOKEN_SECRET_KEY = "XIESHANG_TOKEN_SECRET"
TOKEN_TTL_KEY = "XIESHANG_TOKEN_TTL_SECONDS"
TRUSTED_PROXIES_KEY = "XIESHANG_TRUSTED_PROXIES"
ADMIN_USER_KEY = "XIESHANG_ADMIN_USER"
ADMIN_PASSWORD_KEY = "XIESHANG_ADMIN_PASSWORD"
ADMIN_ORGANISATION_KEY = "XIESHANG_ADMIN_ORGANISATION"
DEFAULT_ADMIN_ORGANISATION = "committee-office"

DEFAULT_TOKEN_TTL = 8 * 3600
MAX_TOKEN_TTL = 7 * 24 * 3600
MIN_SECRET_BYTES = 32
MAX_TOKEN_LENGTH = 4096
ISSUER = "xieshang"

API_KEY_PREFIX = "xs_"
# Residents' sign-ups (POST /api/public/accounts): at most this many from one address in the window.
SIGN_UPS_PER_ADDRESS = 10
SIGN_UP_WINDOW_SECONDS = 3600.0
MAX_API_KEY_LENGTH = 200

# argon2id, t=2, m=32 MiB, p=1: a verify takes ~40 ms on the development machine (2 cores,
# measured with argon2-cffi 25.1; the library's default t=3, m=64 MiB, p=4 took ~100 ms and
# twice the memory). Above OWASP's minimum for argon2id (m=19 MiB, t=2, p=1). Each hash
# records its parameters: raise these and every password is rehashed at its next login.
ARGON2_PARAMETERS = {"time_cost": 2, "memory_cost": 32 * 1024, "parallelism": 1}

BAD_CREDENTIALS = "wrong user id or password"


class AuthError(DomainError):
    """Who is calling could not be established, or a login was refused.

    ``status`` is the HTTP status to answer with: 400 (both a token and an API key), 401 (bad
    or missing credentials, a locked or disabled account, expired or tampered token, ended
    session), 429 (throttled: ``retry_after`` seconds).
    ``headers()`` are the response headers that go with it.
    """

    def __init__(self, status: int, message: str, code: str = "unauthenticated",
                 retry_after: int | None = None, until: str | None = None):
        self.status, self.message, self.code = status, message, code
        self.retry_after, self.until = retry_after, until
        super().__init__(status, message, code, retry_after, until)

    def headers(self) -> dict[str, str]:
        h: dict[str, str] = {}
        if self.status == 401:
            h["WWW-Authenticate"] = 'Bearer realm="xieshang"'
        if self.retry_after is not None:
            h["Retry-After"] = str(self.retry_after)
        return h

    def to_dict(self) -> dict[str, Any]:
        d = {**super().to_dict(), "status": self.status}
        if self.retry_after is not None:
            d["retry_after"] = self.retry_after
        if self.until:
            d["until"] = self.until
        return d


class Throttled(AuthError):
    """429: too many login attempts ``per`` "address" or "user_id"; ``retry_after`` seconds."""

    def __init__(self, per: str, retry_after: int):
        self.per = per
        whose = "from this address" if per == "address" else "for this user id"
        super().__init__(429, f"too many login attempts {whose}; try again in {retry_after} s",
                         "too_many_attempts", retry_after)
        self.args = (per, retry_after)


class PasswordPolicyError(InvalidCommand):
    """The password breaks a rule of the policy; ``fields["password"]`` names the rule."""


def check_password(user_id: str, password: Any, display_name: str = "") -> str:
    """The password as it will be hashed (Unicode NFKC, so that the same characters typed on
    different keyboards or input methods match), or PasswordPolicyError naming the rule
    (domain/passwords.py: length, not common, not trivial, not the user id or name)."""
    if not isinstance(password, str):
        _weak(("the password must be text", "密码必须是文本"))
    normal = normalize_password(password)
    problem = password_problem(normal, user_id=str(user_id or ""), display_name=display_name)
    if problem:
        _weak(problem)
    return normal


def normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def _weak(rule: tuple[str, str]) -> None:
    """Refuse naming the field ``password``: its reason Chinese first, then English."""
    en, zh = rule
    raise PasswordPolicyError((f"the password is not accepted: {en}", f"密码不符合要求：{zh}"),
                              {"password": f"{zh} ({en})"})


# -- password hashing ---------------------------------------------------------------------------

def _off_the_hub(fn: Callable[..., Any], *args: Any) -> Any:
    """Run CPU-bound ``fn`` in eventlet's pool of OS threads when the process runs on eventlet
    (argon2's C code releases the GIL, so other green threads go on meanwhile); else inline."""
    from xieshang.kernel.greening import eventlet_is_patched

    if eventlet_is_patched():
        from eventlet import tpool

        return tpool.execute(fn, *args)
    return fn(*args)


def _semaphore(n: int):
    from xieshang.kernel.greening import eventlet_is_patched

    if eventlet_is_patched():
        from eventlet.semaphore import BoundedSemaphore

        return BoundedSemaphore(n)
    return threading.BoundedSemaphore(n)


class PasswordHashing:
    """argon2id hashes of passwords, computed off the eventlet hub.

    Inline, one verify stalls every green thread of the gateway for its ~40 ms (measured: a
    1 ms ticker saw a 45 ms gap per verify; through eventlet.tpool, 3 ms). At most
    ``max_concurrent`` run at once, which bounds the memory (32 MiB each) and leaves the other
    cores to the rest of the gateway.
    """

    def __init__(self, hasher: PasswordHasher | None = None, *, max_concurrent: int = 4,
                 run: Callable[..., Any] = _off_the_hub):
        self.hasher = hasher or PasswordHasher(**ARGON2_PARAMETERS)
        self._run_off_hub = run
        self._slots = _semaphore(max_concurrent)
        # Checked against when there is no hash to check (unknown user, no password yet), so
        # that those answers take as long as a wrong password.
        self._dummy = self.hasher.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        return self._run(self.hasher.hash, password)

    def verify(self, hashed: str | None, password: str) -> bool:
        """Whether ``password`` matches ``hashed``; a missing hash matches nothing (but costs
        as much time as a real one)."""
        try:
            return bool(self._run(self.hasher.verify, hashed or self._dummy, password)) and bool(hashed)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            log.error("a stored password hash could not be checked: it is corrupt or of an unknown kind")
            return False

    def needs_rehash(self, hashed: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(hashed)
        except InvalidHashError:
            return True

    def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        with self._slots:
            return self._run_off_hub(fn, *args)


# -- the secrets' tables --------------------------------------------------------------------------

def credentials_metadata(schema: str | None = None) -> sa.MetaData:
    md = sa.MetaData(schema=schema)
    sa.Table(
        "auth_passwords", md,
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("hash", sa.String(512), nullable=False),
        sa.Column("updated_at", sa.String(32), nullable=False),
    )
    sa.Table(
        "auth_api_keys", md,
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("system", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("issued_at", sa.String(32), nullable=False),
        sa.Column("revoked_at", sa.String(32)),
    )
    return md


@dataclass(frozen=True)
class StoredApiKey:
    key_id: str
    digest: str
    system: str
    organisation: str
    role: str
    revoked_at: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.system, self.role, self.organisation)


def api_key_digest(secret: str) -> str:
    """SHA-256 of an API key's secret part. A key's secret is 32 random bytes (256 bits), so
    unlike a password it cannot be guessed or looked up in a dictionary: a fast hash protects
    it as well as a slow one would, and costs microseconds instead of ~40 ms on every request
    a subscriber system makes."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class Credentials:
    """The gateway's secrets, beside its read models (never in the event log): argon2 hashes of
    passwords by user id; SHA-256 digests of API key secrets by key id, with what the key acts
    as and whether it was revoked (copied from the key's events, so that checking a key is one
    row read)."""

    def __init__(self, engine: sa.Engine, *, schema: str | None = None, create: bool = True):
        self.engine = engine
        self.dialect = engine.dialect.name
        if self.dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {self.dialect!r}: use sqlite or postgresql")
        self.metadata = credentials_metadata(schema)
        self.passwords = self.metadata.tables[_qualified(schema, "auth_passwords")]
        self.api_keys = self.metadata.tables[_qualified(schema, "auth_api_keys")]
        if create:
            self.create_schema()

    def create_schema(self) -> None:
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":  # instances starting together: one creates the tables
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('xieshang.auth'))"))
            self.metadata.create_all(conn, checkfirst=True)

    def password_hash(self, user_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(self.passwords.c.hash)
                                .where(self.passwords.c.user_id == user_id)).scalar()

    def set_password_hash(self, user_id: str, hashed: str, now: datetime) -> None:
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(self.passwords).values(user_id=user_id, hash=hashed, updated_at=iso(now))
        stmt = stmt.on_conflict_do_update(index_elements=["user_id"],
                                          set_={"hash": stmt.excluded.hash,
                                                "updated_at": stmt.excluded.updated_at})
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def api_key(self, key_id: str) -> StoredApiKey | None:
        t = self.api_keys
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.c.key_id, t.c.digest, t.c.system, t.c.organisation, t.c.role,
                                         t.c.revoked_at).where(t.c.key_id == key_id)).first()
        return StoredApiKey(*row) if row else None

    def add_api_key(self, key_id: str, digest: str, system: str, organisation: str, role: str,
                    now: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.api_keys.insert().values(key_id=key_id, digest=digest, system=system,
                                                       organisation=organisation, role=role,
                                                       issued_at=iso(now)))

    def revoke_api_key(self, key_id: str, now: datetime) -> None:
        t = self.api_keys
        with self.engine.begin() as conn:
            conn.execute(t.update().where(t.c.key_id == key_id, t.c.revoked_at.is_(None))
                         .values(revoked_at=iso(now)))


def _qualified(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


# -- tokens ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: who (``actor``), the account's session count when it was
    issued (``sessions``), its id and its times."""

    actor: Actor
    sessions: int
    token_id: str
    issued_at: datetime
    expires_at: datetime


class Tokens:
    """Expiring signed tokens: JWT, HS256, with the claims sub, role, org, iat, exp, jti, iss
    and gen (the account's session count). Times come from the injected clock, both when
    issuing and when checking, so tests move time rather than wait for it.

    ``leeway_seconds`` tolerates clocks of gateway instances that differ by that much.
    """

    algorithm = "HS256"

    def __init__(self, secret: str | bytes, clock: Clock, *, ttl_seconds: int = DEFAULT_TOKEN_TTL,
                 leeway_seconds: int = 30, issuer: str = ISSUER):
        key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if len(key) < MIN_SECRET_BYTES:
            raise ConfigError(f"{TOKEN_SECRET_KEY} must be at least {MIN_SECRET_BYTES} characters long "
                              f"(this one has {len(key)}); make one with: python -c 'import secrets; "
                              "print(secrets.token_urlsafe(48))'")
        if not (isinstance(ttl_seconds, int) and 60 <= ttl_seconds <= MAX_TOKEN_TTL):
            raise ConfigError(f"{TOKEN_TTL_KEY} must be a whole number of seconds from 60 to "
                              f"{MAX_TOKEN_TTL} (7 days), not {ttl_seconds!r}")
        self._key = key
        self.clock = clock
        self.ttl_seconds = ttl_seconds
        self.leeway_seconds = leeway_seconds
        self.issuer = issuer

    def derived_key(self, purpose: str) -> bytes:
        """A key for another purpose (e.g. the idempotency fingerprints), derived from the
        token secret: the same on every gateway instance, never the signing key itself."""
        return hmac.new(self._key, f"xieshang:{purpose}".encode("utf-8"), hashlib.sha256).digest()

    def __repr__(self) -> str:  # never the key
        return f"Tokens(ttl_seconds={self.ttl_seconds}, issuer={self.issuer!r})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], clock: Clock) -> "Tokens":
        """Tokens signed with ``XIESHANG_TOKEN_SECRET``.

        Without one: on a shared store (EVENT_STORE postgres or esdb, i.e. possibly several
        gateway instances behind one address) this refuses, since tokens signed by one instance
        would be refused by the next. On SQLite (one instance by design) it signs with a random
        key of this process and warns.
        """
        config = config or {}
        secret = str(config.get(TOKEN_SECRET_KEY) or "").strip()
        raw_ttl = config.get(TOKEN_TTL_KEY)
        try:
            ttl = int(raw_ttl) if raw_ttl not in (None, "") else DEFAULT_TOKEN_TTL
        except (TypeError, ValueError):
            raise ConfigError(f"{TOKEN_TTL_KEY} must be a whole number of seconds, not {raw_ttl!r}") from None
        if not secret:
            store = str(config.get("EVENT_STORE") or "sqlite").lower()
            if store != "sqlite":
                raise ConfigError(
                    f"{TOKEN_SECRET_KEY} is not set: with EVENT_STORE={store} several gateway instances "
                    "may serve one address, and they must sign tokens with the same key. Set it to "
                    "a random string of at least 32 characters, the same on every instance, e.g. "
                    "python -c 'import secrets; print(secrets.token_urlsafe(48))'")
            log.warning("%s is not set: this gateway process signs tokens with a random key of its "
                        "own, so tokens will not survive a restart and cannot be shared between "
                        "gateway instances. Set it for anything but a single local instance.",
                        TOKEN_SECRET_KEY)
            secret = secrets.token_urlsafe(48)
        return cls(secret, clock, ttl_seconds=ttl)

    def issue(self, actor: Actor, sessions: int = 0) -> tuple[str, datetime]:
        """A token for ``actor``, and when it expires."""
        issued = int(self.clock.now().timestamp())
        expires = issued + self.ttl_seconds
        claims = {"iss": self.issuer, "sub": actor.user_id, "role": actor.role, "org": actor.organisation,
                  "iat": issued, "exp": expires, "jti": uuid.uuid4().hex, "gen": sessions}
        return (jwt.encode(claims, self._key, algorithm=self.algorithm),
                datetime.fromtimestamp(expires, timezone.utc))

    def verify(self, token: str) -> Actor:
        """The actor a valid token names; AuthError(401) for an expired, invalid or tampered one."""
        return self.decode(token).actor

    def decode(self, token: str) -> TokenClaims:
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise AuthError(401, "the token is missing or malformed: send the token from the login "
                                 "as 'Authorization: Bearer <token>'", "invalid_token")
        try:
            claims = jwt.decode(
                token, self._key, algorithms=[self.algorithm], issuer=self.issuer,
                # Times are checked below against the injected clock, not the system's.
                options={"require": ["sub", "role", "org", "iat", "exp", "jti", "gen"],
                         "verify_exp": False, "verify_iat": False, "verify_nbf": False})
        except jwt.InvalidSignatureError:
            raise AuthError(401, "the token's signature does not match: it was altered, or signed "
                                 "by another system or an earlier key; log in again", "invalid_token") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(401, f"the token lacks the claim {exc.claim!r}: it was not issued by "
                                 "this gateway; log in again", "invalid_token") from None
        except jwt.InvalidIssuerError:
            raise AuthError(401, "the token was not issued by this system; log in again",
                            "invalid_token") from None
        except jwt.InvalidTokenError:
            raise AuthError(401, "the token is malformed (not a token issued at login); log in again",
                            "invalid_token") from None
        iat, exp, gen = claims["iat"], claims["exp"], claims["gen"]
        strings = all(isinstance(claims[k], str) and claims[k] for k in ("sub", "role", "org", "jti"))
        if not (strings and all(isinstance(v, int) and not isinstance(v, bool) for v in (iat, exp, gen))):
            raise AuthError(401, "the token's claims are malformed; log in again", "invalid_token")
        now = self.clock.now().timestamp()
        if now > exp + self.leeway_seconds:
            raise AuthError(401, f"the session expired at {accounts.beijing(_utc(exp))} Beijing time; "
                                 "log in again", "token_expired")
        if iat > now + self.leeway_seconds:
            raise AuthError(401, "the token was issued in the future: the clocks of the gateway "
                                 "instances disagree; log in again", "invalid_token")
        return TokenClaims(Actor(claims["sub"], claims["role"], claims["org"]), gen, claims["jti"],
                           _utc(iat), _utc(exp))


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


# -- login throttling -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Attempt:
    ip_key: str | None
    user_key: str | None
    at: float


class LoginThrottle:
    """Sliding windows in memory: at most ``per_ip`` logins in flight or failed from one client
    address, and ``per_user`` attempts at one user id, in any ``window_seconds``.

    Per gateway instance: N instances let N times as many attempts through. The lockout
    (domain/login.py) is the limit they share. A successful login is taken off both counts (its
    address's and its user id's): only failures add up, so that many people behind one address
    (a hall's Wi-Fi at a plenary session) can log in, and a person who logs in again and again
    (several devices, scripts) is never throttled. Attempts refused here count for nothing. ``max_keys`` bounds the memory an attacker
    spraying made-up user ids or addresses can take.
    """

    def __init__(self, clock: Clock, *, per_ip: int = 10, per_user: int = 5,
                 window_seconds: float = 60.0, max_keys: int = 100_000):
        self.clock = clock
        self.per_ip, self.per_user, self.window = per_ip, per_user, window_seconds
        self.max_keys = max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # held without I/O: safe under eventlet too

    def admit(self, client_ip: str | None, user_id: str | None) -> Attempt:
        """Count an attempt, or refuse it: Throttled (429, with a Retry-After)."""
        now = self.clock.now().timestamp()
        ip_key = f"ip:{client_ip[:64]}" if client_ip else None
        user_key = f"user:{user_id}" if user_id else None
        with self._lock:
            for key, limit, per in ((ip_key, self.per_ip, "address"), (user_key, self.per_user, "user_id")):
                if key is None:
                    continue
                hits = self._recent(key, now)
                if len(hits) >= limit:
                    retry = max(1, math.ceil(hits[0] + self.window - now))
                    if key == ip_key:  # user ids are logged by the caller, if they name an account
                        log.warning("login throttled: too many attempts from %s", client_ip)
                    raise Throttled(per, retry)
            for key in (ip_key, user_key):
                if key is not None:
                    self._hits.setdefault(key, deque()).append(now)
            if len(self._hits) > self.max_keys:
                self._shrink(now)
        return Attempt(ip_key, user_key, now)

    def succeeded(self, attempt: Attempt) -> None:
        """The attempt succeeded: it no longer counts against its address or its user id."""
        with self._lock:
            for key in (attempt.ip_key, attempt.user_key):
                hits = self._hits.get(key) if key is not None else None
                if hits is not None:
                    try:
                        hits.remove(attempt.at)
                    except ValueError:
                        pass

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            return deque()
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def _shrink(self, now: float) -> None:
        for key in list(self._hits):
            if not self._recent(key, now):
                del self._hits[key]
        for key in list(self._hits)[:max(0, len(self._hits) - self.max_keys)]:
            del self._hits[key]


# -- the client's address behind proxies -------------------------------------------------------

class TrustedProxies:
    """The proxies (addresses or networks, XIESHANG_TRUSTED_PROXIES) whose X-Forwarded-For is
    believed. A request whose peer is one of them comes from the right-most address of its
    X-Forwarded-For that is not one of them (each proxy appends the address it saw; those to
    the left of the first untrusted one are the client's to make up); any other request comes
    from its peer. With none (the default) the header is ignored: a client cannot choose the
    address the throttle counts it under."""

    def __init__(self, networks: Iterable[str]):
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)

    def __repr__(self) -> str:
        return f"TrustedProxies({[str(n) for n in self.networks]})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> "TrustedProxies":
        raw = str((config or {}).get(TRUSTED_PROXIES_KEY) or "")
        entries = [e for e in raw.replace(",", " ").split() if e]
        bad = []
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                bad.append(entry)
        if bad:
            raise ConfigError(f"{TRUSTED_PROXIES_KEY}: not an address or network: {', '.join(bad)} "
                              "(write addresses or CIDRs separated by commas, e.g. 10.0.0.0/8, 192.0.2.7)")
        return cls(entries)

    def trusts(self, address: str | None) -> bool:
        ip = _ip(address)
        return ip is not None and any(ip in n for n in self.networks if n.version == ip.version)

    def client(self, peer: str | None, forwarded_for: list[str]) -> str | None:
        if not self.networks or not self.trusts(peer):
            return peer
        hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                ip = _ip(hop)
                return str(ip) if ip is not None else hop[:64]
        return str(_ip(hops[0])) if hops and _ip(hops[0]) else peer


def _ip(address: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address in ``10.0.0.1``, ``10.0.0.1:5678``, ``::1``, ``[::1]:5678``; None if none."""
    if not address:
        return None
    text = address.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    return ip.ipv4_mapped or ip if isinstance(ip, ipaddress.IPv6Address) else ip


def _forwarded_for(headers: Mapping[str, str] | None) -> list[str]:
    if headers is None:
        return []
    if hasattr(headers, "getlist"):  # werkzeug: one value per header line
        return [v for v in headers.getlist("X-Forwarded-For") if isinstance(v, str)]
    value = _header(headers, "X-Forwarded-For")
    return [value] if value else []


# -- the service-facing API -----------------------------------------------------------------------

@dataclass
class _Cached:
    loaded: Loaded[Account]
    read_at: float


class Authenticator:
    """Accounts, logins, tokens and API keys over the gateway's event store, its Credentials
    and a Clock.

    Refusals: AuthError for authentication (see its statuses); the domain's errors
    (InvalidCommand incl. PasswordPolicyError, NotAllowed, NotFound, WrongState) for account
    administration, as every service raises them.

    ``refresh_seconds``: how old the copy of an account that ``authenticate`` checks a token
    against may be (0: read the account's new events, usually none, on every request; an
    account is folded once and then only from where it was).
    """

    def __init__(self, store: EventStore, credentials: Credentials, tokens: Tokens, clock: Clock, *,
                 policy: LockoutPolicy | None = None, throttle: LoginThrottle | None = None,
                 hashing: PasswordHashing | None = None, refresh_seconds: float = 0.0,
                 sign_ups: LoginThrottle | None = None, proxies: "TrustedProxies | None" = None):
        self.store = store
        self.streams = Streams(store, accounts.registry, clock)
        self.credentials = credentials
        self.tokens = tokens
        self.clock = clock
        self.policy = policy or LockoutPolicy()
        self.throttle = throttle or LoginThrottle(clock)
        self.sign_ups = sign_ups or LoginThrottle(clock, per_ip=SIGN_UPS_PER_ADDRESS, per_user=1,
                                                  window_seconds=SIGN_UP_WINDOW_SECONDS)
        self.proxies = proxies or TrustedProxies(())
        self.hashing = hashing or PasswordHashing()
        self.refresh_seconds = refresh_seconds
        self._accounts: dict[str, _Cached] = {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], store: EventStore, engine: sa.Engine, clock: Clock,
                    *, schema: str | None = None, **kw: Any) -> "Authenticator":
        kw.setdefault("proxies", TrustedProxies.from_config(config))
        return cls(store, Credentials(engine, schema=schema), Tokens.from_config(config, clock), clock, **kw)

    # -- logging in ---------------------------------------------------------------------------
    def login(self, user_id: str, password: str, client_ip: str | None = None
              ) -> tuple[str, datetime, Actor]:
        """A token for the account, when it expires, and who it names.

        Refusals: 401 for an unknown user id, a wrong password, a locked and a disabled account
        alike (same message and code, and the same argon2 work), so that the answer tells no
        one which ids exist; 429 when throttled (per address, and per user id whether or not
        it names an account).
        """
        try:
            attempt = self.throttle.admit(client_ip, user_id if valid_id(user_id) else None)
        except Throttled as throttled:
            if throttled.per == "user_id" and self._cached_account(user_id)[0].exists:
                log.warning("login throttled: too many attempts for %s", user_id)
            raise
        secret = normalize_password(password) if isinstance(password, str) and \
            len(password) <= 4 * MAX_PASSWORD_LENGTH else ""
        state = self._cached_account(user_id)[0]
        if not state.exists:
            self.hashing.verify(None, secret)
            log.info("login refused: no such account (the user id given is not logged)")
            raise AuthError(401, BAD_CREDENTIALS, "bad_credentials")
        now = self.clock.now()
        stored = None
        if state.is_locked(now):  # refused whatever the password: guessing learns nothing
            self.hashing.verify(None, secret)  # and as slowly as any other answer
            ok = False
        else:
            stored = self.credentials.password_hash(user_id)
            ok = self.hashing.verify(stored, secret)
        outcome, state = self._record_login(user_id, ok, now, sessions_seen=state.sessions)
        if outcome.refused is not None:
            raise self._refusal(user_id, outcome.refused, now)
        self.throttle.succeeded(attempt)
        if stored and self.hashing.needs_rehash(stored):
            self.credentials.set_password_hash(user_id, self.hashing.hash(secret), now)
            log.info("password hash of %s rehashed with the current parameters", user_id)
        token, expires_at = self.tokens.issue(state.actor, state.sessions)
        log.info("login: %s (%s at %s)", user_id, state.role, state.organisation)
        return token, expires_at, state.actor

    def authenticate(self, headers: Mapping[str, str]) -> Actor | None:
        """Who sent the request: the actor of a valid ``Authorization: Bearer`` token or
        ``X-API-Key``; None when neither header is present (the caller decides whether the
        route is public). AuthError(401) for credentials that do not hold."""
        authorization = _header(headers, "Authorization")
        api_key = _header(headers, "X-API-Key")
        if authorization and api_key:
            raise AuthError(400, "send either a token (Authorization) or an API key (X-API-Key), "
                                 "not both", "ambiguous_credentials")
        if api_key:
            return self._api_key_actor(api_key)
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "the Authorization header must be 'Bearer <token>', with the token "
                                 "from the login", "invalid_token")
        return self._session(token.strip())[1].actor

    def logout(self, headers: Mapping[str, str]) -> Receipt:
        """End the session of the bearer token sent (``TokenRevoked`` in the account's stream):
        from now on it answers 401 on every gateway instance. The account's other sessions go on."""
        if _header(headers, "X-API-Key") and not _header(headers, "Authorization"):
            raise AuthError(400, "an API key has no session to end: an administrator revokes it "
                                 "(POST /api/api-keys/<key_id>/revocation)", "not_a_session")
        scheme, _, token = (_header(headers, "Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "log out with the token from the login: Authorization: Bearer <token>",
                            "invalid_token")
        claims, state = self._session(token.strip())
        now = self.clock.now()
        receipt = self._decide_account(state.actor, state.user_id, lambda s: accounts.end_session(
            state.actor, s, claims.token_id, claims.expires_at, now))
        log.info("logout: %s", state.user_id)
        return receipt

    def _session(self, token: str) -> tuple[TokenClaims, Account]:
        """The claims of a token that holds, and its account; AuthError(401) otherwise."""
        claims = self.tokens.decode(token)
        user_id = claims.actor.user_id
        state, _ = self._cached_account(user_id, max_age=self.refresh_seconds)
        if state.exists and claims.sessions > state.sessions:  # our copy is older than the token
            state, _ = self._cached_account(user_id)
        if not state.exists or state.disabled or claims.sessions != state.sessions:
            raise AuthError(401, "this session has ended: the account's password, role or status "
                                 "changed since the login; log in again", "session_ended")
        if state.is_revoked(claims.token_id):
            raise AuthError(401, "this session has ended: you logged out; log in again", "session_ended")
        return claims, state

    # -- accounts ---------------------------------------------------------------------------
    def register(self, actor: Actor, user_id: str, role: str, organisation: str, display_name: str,
                 password: str) -> Receipt:
        """Open an account with its first password (the receipt of its stream: who it will act as
        is ``Actor(user_id, role, organisation)``)."""
        accounts.register_account(actor, self._cached_account(user_id)[0], user_id, role, organisation,
                                  display_name)  # refuse before hashing
        hashed = self.hashing.hash(check_password(user_id, password, display_name))
        # The account first: of two registrations racing for one id, only the one whose event
        # is appended goes on to store its password.
        self._decide_account(actor, user_id, lambda s: accounts.register_account(
            actor, s, user_id, role, organisation, display_name))
        receipt = self._set_hash_then_record(actor, user_id, hashed)
        log.info("account %s (%s at %s) registered by %s", user_id, role, organisation, actor.user_id)
        return receipt

    def sign_up(self, user_id: str, display_name: str, password: str, client_ip: str | None = None
                ) -> Receipt:
        """A resident opens their own ``public`` account (POST /api/public/accounts, no login).
        Every attempt counts against its client address (``sign_ups``, 429 beyond): an id that
        is taken is all a sign-up can tell, so the telling is rationed."""
        self.sign_ups.admit(client_ip, None)
        accounts.sign_up(self._cached_account(user_id)[0], user_id, display_name)  # refuse before hashing
        hashed = self.hashing.hash(check_password(user_id, password, display_name))
        resident = Actor(user_id, accounts.PUBLIC, accounts.PUBLIC_ORGANISATION)
        self._decide_account(resident, user_id, lambda s: accounts.sign_up(s, user_id, display_name))
        receipt = self._set_hash_then_record(resident, user_id, hashed)
        log.info("account %s (public) opened by the resident", user_id)
        return receipt

    def client_address(self, peer: str | None, headers: Mapping[str, str] | None = None) -> str | None:
        """The address a request comes from, for the throttles: the peer, or behind a trusted
        proxy (XIESHANG_TRUSTED_PROXIES) the right-most untrusted X-Forwarded-For address."""
        return self.proxies.client(peer, _forwarded_for(headers))

    def set_password(self, actor: Actor, user_id: str, password: str) -> Receipt:
        """A new password, set by the account's owner or an admin. Every session of the account
        ends, the caller's own included: log in again with the new password."""
        state = self._cached_account(user_id)[0]
        accounts.change_password(actor, state)  # refuse before hashing
        hashed = self.hashing.hash(check_password(user_id, password, state.display_name))
        receipt = self._set_hash_then_record(actor, user_id, hashed)
        log.info("password of %s set by %s", user_id, actor.user_id)
        return receipt

    def unlock(self, actor: Actor, user_id: str) -> Receipt:
        now = self.clock.now()
        receipt = self._decide_account(actor, user_id, lambda s: accounts.unlock_account(actor, s, now))
        if receipt.recorded:
            log.info("account %s unlocked by %s", user_id, actor.user_id)
        return receipt

    def disable(self, actor: Actor, user_id: str, reason: str) -> Receipt:
        receipt = self._decide_account(actor, user_id, lambda s: accounts.disable_account(actor, s, reason))
        if receipt.recorded:
            log.info("account %s disabled by %s", user_id, actor.user_id)
        return receipt

    def enable(self, actor: Actor, user_id: str) -> Receipt:
        receipt = self._decide_account(actor, user_id, lambda s: accounts.enable_account(actor, s))
        if receipt.recorded:
            log.info("account %s enabled by %s", user_id, actor.user_id)
        return receipt

    def change_role(self, actor: Actor, user_id: str, role: str, organisation: str) -> Receipt:
        receipt = self._decide_account(actor, user_id,
                                       lambda s: accounts.change_role(actor, s, role, organisation))
        if receipt.recorded:
            log.info("account %s is now %s at %s (by %s)", user_id, role, organisation, actor.user_id)
        return receipt

    def account(self, user_id: str) -> Account:
        """The account as it stands (NotFound if there is none). Rights are the caller's to check."""
        return self._account_or_not_found(user_id)

    def ensure_admin(self, user_id: str, password: str, *, organisation: str = DEFAULT_ADMIN_ORGANISATION,
                     display_name: str = "Administrator") -> bool:
        """Register the first admin unless the account exists; True if it was registered now.

        An existing account is left as it is (its password may have been changed since); only
        one left without a password (a start interrupted half-way) gets this one.
        """
        state = self._cached_account(user_id)[0]
        if state.exists:
            if state.role != accounts.ADMIN:
                log.warning("the bootstrap admin %s exists as a %s, not an admin: left as it is",
                            user_id, state.role)
            elif not state.has_password or self.credentials.password_hash(user_id) is None:
                self.set_password(SYSTEM_ACTOR, user_id, password)
            return False
        try:
            self.register(SYSTEM_ACTOR, user_id, accounts.ADMIN, organisation, display_name, password)
        except WrongState:  # another instance, starting at the same time, registered it
            return False
        return True

    def ensure_admin_from_config(self, config: Mapping[str, Any]) -> bool | None:
        """``ensure_admin`` with XIESHANG_ADMIN_USER and XIESHANG_ADMIN_PASSWORD; None when
        neither is set."""
        config = config or {}
        user = str(config.get(ADMIN_USER_KEY) or "").strip()
        password = str(config.get(ADMIN_PASSWORD_KEY) or "")
        if not user and not password:
            return None
        if not user or not password:
            raise ConfigError(f"set both {ADMIN_USER_KEY} and {ADMIN_PASSWORD_KEY}, or neither")
        organisation = str(config.get(ADMIN_ORGANISATION_KEY) or DEFAULT_ADMIN_ORGANISATION)
        try:
            return self.ensure_admin(user, password, organisation=organisation)
        except InvalidCommand as exc:
            raise ConfigError(f"{ADMIN_USER_KEY}/{ADMIN_PASSWORD_KEY}: {exc} {exc.fields}") from None

    # -- API keys ----------------------------------------------------------------------------
    def issue_api_key(self, actor: Actor, system: str, organisation: str) -> tuple[str, str, Receipt]:
        """A new API key for a subscriber system: (key id, the key, the receipt of its stream). The
        key is shown this once; only its digest is kept."""
        key_id = secrets.token_hex(8)
        receipt = self._decide_key(actor, key_id,
                                   lambda s: accounts.issue_api_key(actor, s, key_id, system, organisation))
        secret = secrets.token_urlsafe(32)
        self.credentials.add_api_key(key_id, api_key_digest(secret), system, organisation,
                                     accounts.SUBSCRIBER, self.clock.now())
        log.info("API key %s issued for %s (%s) by %s", key_id, system, organisation, actor.user_id)
        return key_id, f"{API_KEY_PREFIX}{key_id}_{secret}", receipt

    def revoke_api_key(self, actor: Actor, key_id: str, reason: str) -> Receipt:
        if not valid_id(key_id):
            raise NotFound(f"there is no API key {key_id!r}")
        accounts.revoke_api_key(actor, self._load_key(key_id), reason)  # refuse early
        # The key stops working first; the event follows (a crash between leaves a dead key
        # whose revocation is recorded when the admin repeats it, never a live revoked one).
        self.credentials.revoke_api_key(key_id, self.clock.now())
        receipt = self._decide_key(actor, key_id, lambda s: accounts.revoke_api_key(actor, s, reason))
        if receipt.recorded:
            log.info("API key %s revoked by %s", key_id, actor.user_id)
        return receipt

    def _api_key_actor(self, raw: str) -> Actor:
        key_id, secret = parse_api_key(raw)
        if key_id is None:
            raise AuthError(401, "the API key is malformed: send it as issued, "
                                 f"X-API-Key: {API_KEY_PREFIX}<key id>_<secret>", "invalid_api_key")
        stored = self.credentials.api_key(key_id)
        digest = api_key_digest(secret)
        if stored is None or not hmac.compare_digest(stored.digest, digest):
            log.info("API key refused: no such key or wrong secret (key id %s)", key_id)
            raise AuthError(401, "the API key is not valid", "invalid_api_key")
        if stored.revoked_at:
            log.info("API key refused: %s was revoked", key_id)
            raise AuthError(401, f"this API key was revoked on {accounts.beijing(stored.revoked_at)} "
                                 "Beijing time; ask for a new one", "api_key_revoked")
        return stored.actor

    # -- plumbing -----------------------------------------------------------------------------
    def _set_hash_then_record(self, actor: Actor, user_id: str, hashed: str) -> Receipt:
        # The hash first, then PasswordSet: the event never claims a password that is not
        # there, and the sessions it ends cannot outlive the old password.
        self.credentials.set_password_hash(user_id, hashed, self.clock.now())
        return self._decide_account(actor, user_id, lambda s: accounts.change_password(actor, s))

    def _record_login(self, user_id: str, ok: bool, now: datetime, sessions_seen: int
                      ) -> tuple[accounts.LoginOutcome, Account]:
        """Record the attempt; decided again on the new state if another writer got in first
        (the one retry policy). Who acts depends on the outcome: the account itself on success,
        the system on a refusal."""
        def attempt() -> accounts.LoginOutcome:
            loaded = self._account(user_id)
            # A password changed meanwhile: what was verified may have been the old one.
            outcome = accounts.record_login(loaded.state, ok and loaded.state.sessions == sessions_seen,
                                            now, self.policy)
            by = loaded.state.actor if outcome.ok else SYSTEM_ACTOR
            self.streams.record(CommandContext(actor=by), loaded.stream, loaded.version, outcome.events)
            return outcome
        outcome = RETRY.run(attempt)
        return outcome, self._account(user_id).state

    def _refusal(self, user_id: str, refused: LoginRefused, now: datetime) -> AuthError:
        """Every refusal answers alike (401, BAD_CREDENTIALS): were a locked or disabled account
        answered otherwise than an unknown id, the answers would tell which ids exist. The
        reason is recorded (LoginFailed, AccountLocked), logged, and shown to admins."""
        if refused.reason == accounts.LOCKED:
            if refused.failures:
                log.warning("login refused: %s locked until %s after %d failures", user_id,
                            refused.until, refused.failures)
            else:
                log.info("login refused: %s is locked until %s", user_id, refused.until)
        elif refused.reason == accounts.DISABLED:
            log.info("login refused: %s is disabled", user_id)
        else:
            log.info("login refused: wrong password for %s", user_id)
        return AuthError(401, BAD_CREDENTIALS, "bad_credentials")

    def _account_or_not_found(self, user_id: str) -> Account:
        state = self._cached_account(user_id)[0]
        if not state.exists:
            raise NotFound(f"there is no account {user_id!r}")
        return state

    def _cached_account(self, user_id: str, max_age: float = 0.0) -> tuple[Account, int]:
        loaded = self._account(user_id, max_age)
        return loaded.state, loaded.version

    def _account(self, user_id: str, max_age: float = 0.0) -> Loaded[Account]:
        """The account as of its stream's head: the cached copy brought up to date with the
        events after it (or the copy itself when it is at most ``max_age`` seconds old). An id
        that is not an id names no account, and is not looked up."""
        if not valid_id(user_id):
            return Loaded(accounts.account_stream(str(user_id)), Account(str(user_id)), 0, [])
        cached = self._accounts.get(user_id)
        if cached is not None and max_age > 0 and time.monotonic() - cached.read_at <= max_age:
            return cached.loaded
        start = cached.loaded if cached else Loaded(accounts.account_stream(user_id), Account(user_id), 0, [])
        loaded = self.streams.catch_up(start, lambda state, events: accounts.fold_account(user_id, events, state))
        if loaded.state.exists:  # ids of no account are not remembered: made-up ids cost no memory
            cached = self._accounts.get(user_id)
            if cached is None or cached.loaded.version <= loaded.version:
                self._accounts[user_id] = _Cached(loaded, time.monotonic())
        return loaded

    def _decide_account(self, actor: Actor, user_id: str, decide: Callable[[Account], list[DomainEvent]]
                        ) -> Receipt:
        """Decide on the account as of its head (through the cache) and record; decided again
        on the new state if another writer got in first."""
        return self.streams.decide(CommandContext(actor=actor), accounts.account_stream(user_id), None,
                                   decide, retry=True, load=lambda: self._account(user_id),
                                   ids={"user_id": user_id})

    def _load_key(self, key_id: str) -> ApiKey:
        return self.streams.load(accounts.api_key_stream(key_id), _api_key(key_id)).state

    def _decide_key(self, actor: Actor, key_id: str, decide: Callable[[ApiKey], list[DomainEvent]]
                    ) -> Receipt:
        return self.streams.decide(CommandContext(actor=actor), accounts.api_key_stream(key_id),
                                   _api_key(key_id), decide, retry=True, ids={"key_id": key_id})


def parse_api_key(raw: str) -> tuple[str | None, str]:
    """(key id, secret) of ``xs_<key id>_<secret>``; (None, "") when it is not of that form."""
    if not isinstance(raw, str) or len(raw) > MAX_API_KEY_LENGTH or not raw.startswith(API_KEY_PREFIX):
        return None, ""
    key_id, sep, secret = raw[len(API_KEY_PREFIX):].partition("_")
    if not sep or not secret or not valid_id(key_id):
        return None, ""
    return key_id, secret


def _api_key(key_id: str) -> Callable[[list[DomainEvent]], ApiKey]:
    return lambda events: accounts.fold_api_key(key_id, events)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, whatever the case of its name (werkzeug's headers are case-blind; a
    plain dict is not)."""
    value = headers.get(name) if hasattr(headers, "get") else None
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if str(k).lower() == lowered), None)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()
