"""Authentication at the gateway: accounts (pure domain), passwords, tokens, API keys, lockout
and throttling, on the in-memory event store, a SQLite credentials file and a fixed clock."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import jwt
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from werkzeug.datastructures import Headers

from services.gateway import domain as acc
from services.gateway.auth import (API_KEY_PREFIX, ARGON2_PARAMETERS, BAD_CREDENTIALS, AuthError,
                                   Authenticator, Credentials, LoginThrottle, PasswordHashing,
                                   PasswordPolicyError, Tokens, check_password, parse_api_key)
from xieshang.kernel.clock import FixedClock
from xieshang.kernel.config import ConfigError
from xieshang.kernel.domain import InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import SYSTEM_ACTOR, Actor, Deployment
from xieshang.kernel.store.memory import MemoryEventStore
from xieshang.kernel.store.sql import SqlEventStore, postgres_engine, sqlite_engine

from ..conftest import PG_URL

DEPLOYMENT = Deployment("640200", "city")
T0 = datetime(2024, 9, 27, 1, 0, tzinfo=timezone.utc)  # 09:00 in Beijing
SECRET = "test-secret-" + "x" * 40
PASSWORD = "绿水青山-correct-horse"
ADMIN_PASSWORD = "keep-it-secret-2024"
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # unit tests: ~1 ms a hash


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Gateway:
    """One gateway instance's authentication over a shared store and credentials database."""

    def __init__(self, store, engine, clock, schema=None, **kw):
        self.clock = clock
        self.store = store
        self.engine = engine
        kw.setdefault("hashing", PasswordHashing(FAST))
        self.auth = Authenticator(store, Credentials(engine, schema=schema), Tokens(SECRET, clock), clock, **kw)
        self.admin_id = "admin"
        self.auth.ensure_admin(self.admin_id, ADMIN_PASSWORD)
        self.admin = Actor(self.admin_id, "admin", "committee-office")

    def member(self, password: str = PASSWORD, role: str = "member", org: str = "经济界") -> Actor:
        user_id, org = uid(role[0]), "org-1" if org == "经济界" else org
        self.auth.register(self.admin, user_id, role, org, f"委员 {user_id}", password)
        return Actor(user_id, role, org)

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def engine(tmp_path):
    e = sqlite_engine(str(tmp_path / "gateway" / "views.sqlite"))
    yield e
    e.dispose()


@pytest.fixture
def store(clock):
    return MemoryEventStore(DEPLOYMENT, clock=clock.now)


@pytest.fixture
def gw(store, engine, clock):
    return Gateway(store, engine, clock)


def refused(call, *args, **kw) -> AuthError:
    with pytest.raises(AuthError) as info:
        call(*args, **kw)
    return info.value


def events_of(store, stream: str) -> list[tuple[str, dict]]:
    return [(e.type, dict(e.data)) for e in store.read_stream(stream)]


# -- the domain, pure -------------------------------------------------------------------------

ADMIN = Actor("admin-1", "admin", "committee-office")
STAFF = Actor("staff-001", "staff", "proposal-committee")
MEMBER = Actor("m-001", "member", "经济界")


def registered(user_id: str = "m-001", role: str = "member", *extra: acc.DomainEvent) -> acc.Account:
    return acc.fold_account(user_id, [acc.AccountRegistered(user_id, role, "org-1", "王建国"),
                                      acc.PasswordSet(user_id), *extra])


def test_who_registers_which_accounts():
    empty = acc.Account("m-100")
    [event] = acc.register_account(ADMIN, empty, "m-100", "auditor", "audit-office", "审计 李")
    assert event == acc.AccountRegistered("m-100", "auditor", "audit-office", "审计 李")
    assert acc.register_account(STAFF, empty, "m-100", "member", "经济界-1", " 王建国 ")[0].display_name == "王建国"
    for role in ("staff", "auditor", "admin"):
        with pytest.raises(NotAllowed, match="needs an admin"):
            acc.register_account(STAFF, empty, "m-100", role, "org-1", "某人")
    for actor in (MEMBER, Actor("u-1", "unit", "mzj"), Actor("a-1", "auditor", "audit")):
        with pytest.raises(NotAllowed, match="only an admin"):
            acc.register_account(actor, empty, "m-100", "member", "org-1", "某人")
    with pytest.raises(WrongState, match="registered"):
        acc.register_account(ADMIN, registered("m-100"), "m-100", "member", "org-1", "某人")


def test_registration_names_each_bad_field():
    with pytest.raises(InvalidCommand) as info:
        acc.register_account(ADMIN, acc.Account("x"), "-bad id", "king", "", "x" * 51)
    assert set(info.value.fields) == {"user_id", "role", "organisation", "display_name"}
    assert "at most 50" in info.value.fields["display_name"]
    with pytest.raises(InvalidCommand) as info:
        acc.register_account(ADMIN, acc.Account("system"), "System", "staff", "org", "系统")
    assert "reserved" in info.value.fields["user_id"]
    with pytest.raises(InvalidCommand, match="malformed") as info:
        acc.register_account(ADMIN, acc.Account("a"), "a", "staff", "org", "名\n字")
    assert "control" in info.value.fields["display_name"]


def test_five_failures_within_the_window_lock_and_the_lock_ends_by_itself():
    policy = acc.LockoutPolicy()
    state, now = registered(), T0
    for i in range(4):
        outcome = acc.record_login(state, False, now, policy)
        assert [type(e) for e in outcome.events] == [acc.LoginFailed]
        assert outcome.refused.code == "bad_credentials"
        state, now = acc.fold_account("m-001", outcome.events, state), now + timedelta(minutes=3)
    outcome = acc.record_login(state, False, now, policy)  # the 5th, 12 minutes after the 1st
    failed, locked = outcome.events
    assert locked == acc.AccountLocked("m-001", acc.iso(now + timedelta(minutes=15)), 5)
    assert outcome.refused.code == "account_locked" and "after 5 failed logins" in str(outcome.refused)
    state = acc.fold_account("m-001", outcome.events, state)

    later = now + timedelta(minutes=14)
    outcome = acc.record_login(state, True, later, policy)  # the right password changes nothing
    assert outcome.events == [acc.LoginFailed("m-001", "locked", acc.iso(later))]
    assert "locked until 2024-09-27 09:27 Beijing time" in str(outcome.refused)
    assert acc.record_login(state, True, now + timedelta(minutes=15), policy).ok


def test_failures_spread_wider_than_the_window_do_not_lock():
    state, now = registered(), T0
    for _ in range(12):
        outcome = acc.record_login(state, False, now, acc.LockoutPolicy())
        assert not any(isinstance(e, acc.AccountLocked) for e in outcome.events)
        state, now = acc.fold_account("m-001", outcome.events, state), now + timedelta(minutes=4)
    assert acc.record_login(state, True, now, acc.LockoutPolicy()).ok


def test_a_success_forgets_earlier_failures():
    state = registered()
    for ok in (False, False, False, False, True, False, False, False, False):
        state = acc.fold_account("m-001", acc.record_login(state, ok, T0).events, state)
    assert len(state.failures) == 4 and not state.is_locked(T0)


def test_a_disabled_account_says_so_only_to_whoever_knows_its_password():
    state = registered("m-001", "member", acc.AccountDisabled("m-001", "left the committee"))
    assert acc.record_login(state, True, T0).refused.code == "account_disabled"
    wrong = acc.record_login(state, False, T0)
    assert wrong.refused.code == "bad_credentials" and wrong.events[0].reason == "wrong_password"


def test_administration_rights():
    state = registered()
    for decide in (lambda a: acc.unlock_account(a, state, T0), lambda a: acc.disable_account(a, state, "x"),
                   lambda a: acc.enable_account(a, state), lambda a: acc.change_role(a, state, "staff", "o")):
        with pytest.raises(NotAllowed):
            decide(STAFF)
    with pytest.raises(NotAllowed, match="own"):
        acc.disable_account(ADMIN, registered("admin-1", "admin"), "bored")
    with pytest.raises(NotAllowed, match="own role"):
        acc.change_role(ADMIN, registered("admin-1", "admin"), "member", "org")
    with pytest.raises(NotFound):
        acc.unlock_account(ADMIN, acc.Account("nobody"), T0)
    assert acc.unlock_account(ADMIN, state, T0) == []  # nothing to unlock
    assert acc.change_role(ADMIN, state, "member", "org-1") == []  # already so
    with pytest.raises(InvalidCommand, match="say why"):
        acc.disable_account(ADMIN, state, "  ")
    with pytest.raises(NotAllowed, match="owner or an admin"):
        acc.change_password(MEMBER, registered("m-002"))
    assert acc.change_password(MEMBER, state) == [acc.PasswordSet("m-001")]


def test_sessions_end_with_a_password_role_or_status_change():
    state = registered()
    assert state.sessions == 1
    for event in (acc.PasswordSet("m-001"), acc.AccountRoleChanged("m-001", "staff", "o", "member", "org-1"),
                  acc.AccountDisabled("m-001", "x")):
        before, state = state.sessions, acc.apply(state, event)
        assert state.sessions == before + 1
    for event in (acc.LoginSucceeded("m-001", acc.iso(T0)), acc.AccountEnabled("m-001"),
                  acc.AccountUnlocked("m-001", "admin-1")):
        assert acc.apply(state, event).sessions == state.sessions


def test_no_event_has_room_for_a_secret():
    secretive = {"password", "hash", "secret", "digest", "token", "key"}
    for name in acc.registry.names():
        if name == "LogCheckpointed":  # the log's chain hash, signed: public by design
            continue
        fields = set(acc.registry._classes[name].__dataclass_fields__)
        assert not fields & secretive, name


# -- logging in ---------------------------------------------------------------------------------

def test_register_login_and_authenticate(gw):
    member = gw.member()
    token, expires_at, actor = gw.auth.login(member.user_id, PASSWORD, "10.0.0.1")
    assert actor == member and expires_at == T0 + timedelta(hours=8)
    assert gw.auth.authenticate(gw.bearer(token)) == member
    assert gw.auth.authenticate(Headers({"authorization": f"bearer {token}"})) == member
    assert gw.auth.authenticate({"authorization": f"Bearer {token}"}) == member  # case-blind
    assert gw.auth.authenticate({}) is None  # the caller decides whether that is enough
    assert [t for t, _ in events_of(gw.store, acc.account_stream(member.user_id))] == [
        "AccountRegistered", "PasswordSet", "LoginSucceeded"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"iss", "sub", "role", "org", "iat", "exp", "jti", "gen"}
    assert claims["exp"] - claims["iat"] == 8 * 3600


def test_staff_enrol_members_with_their_first_password(gw):
    staff = Actor(uid("s"), "staff", "proposal-committee")
    receipt = gw.auth.register(gw.admin, staff.user_id, "staff", "proposal-committee", "张科员", PASSWORD)
    assert receipt.stream == f"account-{staff.user_id}" and receipt.events == ("PasswordSet",)
    member = Actor(uid("m"), "member", "经济界-1")
    gw.auth.register(staff, member.user_id, "member", "经济界-1", "王建国", PASSWORD)
    assert gw.auth.login(member.user_id, PASSWORD)[2] == member
    with pytest.raises(NotAllowed, match="needs an admin"):
        gw.auth.register(staff, uid("a"), "admin", "committee-office", "某人", PASSWORD)
    with pytest.raises(NotAllowed, match="owner or an admin"):  # not a reset, once one is set
        gw.auth.set_password(staff, member.user_id, "another-password-1")
    with pytest.raises(NotAllowed):
        gw.auth.register(member, uid("m"), "member", "经济界-1", "某人", PASSWORD)


def test_wrong_password_and_unknown_user_get_the_same_answer_after_the_same_work(gw):
    member = gw.member()
    calls = []
    real_verify = gw.auth.hashing.verify
    gw.auth.hashing.verify = lambda hashed, pw: calls.append(hashed) or real_verify(hashed, pw)
    answers = [refused(gw.auth.login, member.user_id, "wrong-password-123"),
               refused(gw.auth.login, "no-such-user", PASSWORD),
               refused(gw.auth.login, "not a valid id!", PASSWORD),
               refused(gw.auth.login, member.user_id, None)]
    assert {(e.status, e.code, str(e)) for e in answers} == {(401, "bad_credentials", BAD_CREDENTIALS)}
    assert answers[0].headers() == {"WWW-Authenticate": 'Bearer realm="xieshang"'}
    assert len(calls) == 4  # an argon2 verify each time, against a dummy hash for unknown users
    assert calls[1] is None and calls[2] is None and calls[0].startswith("$argon2id$")
    assert not gw.store.read_stream(acc.account_stream("no-such-user"))  # no stream for made-up ids


def test_lockout_after_five_failures_and_its_end(gw):
    member = gw.member()
    for i in range(4):
        assert refused(gw.auth.login, member.user_id, f"wrong-{i}-password", "10.0.0.1").status == 401
        gw.clock.advance(minutes=2)
    locking = refused(gw.auth.login, member.user_id, "wrong-4-password", "10.0.0.1")
    # the caller learns nothing an unknown id would not tell: the same 401, no until, no Retry-After
    assert (locking.status, locking.code, str(locking)) == (401, "bad_credentials", BAD_CREDENTIALS)
    assert locking.until is None and "Retry-After" not in locking.headers()
    seen = gw.auth.account(member.user_id).to_dict(gw.clock.now())  # an admin sees the lock
    assert (seen["status"], seen["locked_until"]) == ("locked", "2024-09-27T01:23:00Z")

    gw.clock.advance(minutes=5)
    while_locked = refused(gw.auth.login, member.user_id, PASSWORD, "10.0.0.2")  # right password
    assert (while_locked.status, while_locked.code, str(while_locked)) == (401, "bad_credentials",
                                                                           BAD_CREDENTIALS)
    types = events_of(gw.store, acc.account_stream(member.user_id))
    assert [d["reason"] for t, d in types if t == "LoginFailed"] == ["wrong_password"] * 5 + ["locked"]
    assert [d for t, d in types if t == "AccountLocked"] == [
        {"user_id": member.user_id, "until": "2024-09-27T01:23:00Z", "failures": 5}]

    gw.clock.advance(minutes=10)  # 15 minutes after the lock
    assert gw.auth.login(member.user_id, PASSWORD, "10.0.0.2")[2] == member


def test_an_admin_unlocks(gw):
    member = gw.member()
    for i in range(5):
        gw.clock.advance(seconds=61)
        refused(gw.auth.login, member.user_id, f"wrong-{i}-password")
    assert gw.auth.account(member.user_id).status(gw.clock.now()) == "locked"
    with pytest.raises(NotAllowed):
        gw.auth.unlock(member, member.user_id)
    gw.auth.unlock(gw.admin, member.user_id)
    assert gw.auth.login(member.user_id, PASSWORD)[2] == member
    assert ("AccountUnlocked", {"user_id": member.user_id, "by": "admin"}) in events_of(
        gw.store, acc.account_stream(member.user_id))
    with pytest.raises(NotFound):
        gw.auth.unlock(gw.admin, "nobody-here")
    for probe in (lambda: gw.auth.unlock(member, "nobody-here"),  # rights first: no probing for ids
                  lambda: gw.auth.disable(member, "nobody-here", "x"),
                  lambda: gw.auth.set_password(member, "nobody-here", "some-password-1")):
        with pytest.raises(NotAllowed):
            probe()


def test_a_disabled_account(gw):
    member = gw.member()
    token, _, _ = gw.auth.login(member.user_id, PASSWORD)
    gw.auth.disable(gw.admin, member.user_id, "left the committee")
    assert refused(gw.auth.authenticate, gw.bearer(token)).code == "session_ended"
    disabled = refused(gw.auth.login, member.user_id, PASSWORD)
    assert (disabled.status, disabled.code, str(disabled)) == (401, "bad_credentials", BAD_CREDENTIALS)
    assert gw.auth.account(member.user_id).status(gw.clock.now()) == "disabled"
    assert refused(gw.auth.login, member.user_id, "wrong-password-0").status == 401
    gw.auth.enable(gw.admin, member.user_id)
    token, _, _ = gw.auth.login(member.user_id, PASSWORD)
    assert gw.auth.authenticate(gw.bearer(token)) == member


def test_a_new_password_ends_the_sessions(gw):
    member = gw.member()
    old, _, _ = gw.auth.login(member.user_id, PASSWORD)
    gw.auth.set_password(member, member.user_id, "a-brand-new-passphrase")
    ended = refused(gw.auth.authenticate, gw.bearer(old))
    assert (ended.status, ended.code) == (401, "session_ended") and "log in again" in str(ended)
    assert refused(gw.auth.login, member.user_id, PASSWORD).status == 401
    new, _, _ = gw.auth.login(member.user_id, "a-brand-new-passphrase")
    assert gw.auth.authenticate(gw.bearer(new)) == member
    with pytest.raises(NotAllowed):
        gw.auth.set_password(gw.member(), member.user_id, "taken-over-password")
    gw.auth.set_password(gw.admin, member.user_id, "reset-by-the-admin")  # an admin resets
    assert refused(gw.auth.authenticate, gw.bearer(new)).code == "session_ended"


def test_a_role_change_ends_the_sessions_and_the_next_token_has_the_new_role(gw):
    member = gw.member()
    token, _, _ = gw.auth.login(member.user_id, PASSWORD)
    gw.auth.change_role(gw.admin, member.user_id, "leader", "municipal-government")
    assert refused(gw.auth.authenticate, gw.bearer(token)).code == "session_ended"
    token, _, actor = gw.auth.login(member.user_id, PASSWORD)
    assert actor == Actor(member.user_id, "leader", "municipal-government")
    assert gw.auth.authenticate(gw.bearer(token)) == actor


def test_password_policy():
    assert check_password("m-001", "ten chars!") == "ten chars!"
    assert check_password("m-001", "ＧｒｅｅｎＨｉｌｌｓ７") == "GreenHills7"  # NFKC: full-width letters
    for user_id, password, rule, zh in [
            ("m-001", "short", "at least 10 characters (this one has 5)", "至少需要 10 个字符"),
            ("wang", "my-Wang-password", "must not contain the user id", "不能包含用户名"),
            ("m-001", 12345678901, "must be text", "必须是文本"),
            ("m-001", "x" * 257, "at most 256", "最多 256")]:
        with pytest.raises(PasswordPolicyError) as info:
            check_password(user_id, password)
        reason = info.value.fields["password"]
        assert reason.startswith("密码") and zh in reason and rule in reason and rule in str(info.value)
        assert zh in info.value.message_zh and isinstance(info.value, InvalidCommand)


def test_a_refused_password_leaves_no_account(gw):
    user_id = uid("m")
    with pytest.raises(PasswordPolicyError, match="at least 10"):
        gw.auth.register(gw.admin, user_id, "member", "org-1", "王建国", "123456")
    assert gw.store.stream_version(acc.account_stream(user_id)) == 0
    member = gw.member()
    with pytest.raises(PasswordPolicyError, match="user id"):
        gw.auth.set_password(member, member.user_id, f"{member.user_id}-2024!")
    with pytest.raises(WrongState):
        gw.auth.register(gw.admin, member.user_id, "member", "org-1", "王建国", PASSWORD)


# -- tokens ----------------------------------------------------------------------------------------

def test_tokens_expire_by_the_injected_clock(gw):
    member = gw.member()
    token, expires_at, _ = gw.auth.login(member.user_id, PASSWORD)
    gw.clock.advance(hours=7, minutes=59)
    assert gw.auth.authenticate(gw.bearer(token)) == member
    gw.clock.set(expires_at + timedelta(minutes=1))
    expired = refused(gw.auth.authenticate, gw.bearer(token))
    assert (expired.status, expired.code) == (401, "token_expired")
    assert "expired at 2024-09-27 17:00 Beijing time" in str(expired) and "log in again" in str(expired)


def test_tampered_and_foreign_tokens_are_refused(gw, clock):
    member = gw.member()
    token, _, _ = gw.auth.login(member.user_id, PASSWORD)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "role": "admin"}).encode()).rstrip(b"=").decode()
    unsigned = jwt.encode(claims, None, algorithm="none")
    foreign = Tokens("another-secret-" + "y" * 40, clock).issue(member, 1)[0]
    no_gen = jwt.encode({k: v for k, v in claims.items() if k != "gen"}, SECRET, algorithm="HS256")
    cases = {f"{header}.{forged}.{signature}": "signature does not match",
             foreign: "signature does not match",
             unsigned: "malformed",
             no_gen: "lacks the claim 'gen'",
             "not-a-token": "malformed",
             f"{header}.{payload}.{signature[:10]}{'A' if signature[10] != 'A' else 'B'}{signature[11:]}":
                 "signature does not match",
             token[:-2]: "malformed"}
    for bad, message in cases.items():
        error = refused(gw.auth.authenticate, gw.bearer(bad))
        assert (error.status, error.code) == (401, "invalid_token") and message in str(error), bad
    assert "Bearer <token>" in str(refused(gw.auth.authenticate, {"Authorization": f"Token {token}"}))
    assert refused(gw.auth.authenticate, {"Authorization": "Bearer "}).status == 401


def test_tokens_from_config(clock, caplog):
    with pytest.raises(ConfigError, match="XIESHANG_TOKEN_SECRET is not set"):
        Tokens.from_config({"EVENT_STORE": "postgres"}, clock)
    with pytest.raises(ConfigError, match="at least 32 characters"):
        Tokens.from_config({"XIESHANG_TOKEN_SECRET": "short"}, clock)
    with pytest.raises(ConfigError, match="TTL"):
        Tokens.from_config({"XIESHANG_TOKEN_SECRET": SECRET, "XIESHANG_TOKEN_TTL_SECONDS": "soon"}, clock)
    tokens = Tokens.from_config({"XIESHANG_TOKEN_SECRET": SECRET, "XIESHANG_TOKEN_TTL_SECONDS": "3600"}, clock)
    assert tokens.issue(MEMBER)[1] == T0 + timedelta(hours=1) and SECRET not in repr(tokens)
    with caplog.at_level(logging.WARNING, logger="services.gateway.auth"):
        one, two = Tokens.from_config({}, clock), Tokens.from_config({"EVENT_STORE": "sqlite"}, clock)
    assert "will not survive a restart" in caplog.text
    token, _ = one.issue(MEMBER)
    assert one.verify(token) == MEMBER
    assert refused(two.verify, token).code == "invalid_token"  # each process its own key


# -- API keys --------------------------------------------------------------------------------------

def test_api_keys(gw):
    key_id, key, _ = gw.auth.issue_api_key(gw.admin, "ningxia-oa", "yinchuan-office")
    assert key.startswith(f"{API_KEY_PREFIX}{key_id}_") and parse_api_key(key)[0] == key_id
    subscriber = Actor("ningxia-oa", "subscriber", "yinchuan-office")
    assert gw.auth.authenticate({"X-API-Key": key}) == subscriber
    assert gw.auth.authenticate(Headers({"x-api-key": key})) == subscriber
    wrong_secret = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert refused(gw.auth.authenticate, {"X-API-Key": wrong_secret}).code == "invalid_api_key"
    unknown_id = f"{API_KEY_PREFIX}nosuchkey_{key.split('_', 2)[2]}"
    assert refused(gw.auth.authenticate, {"X-API-Key": unknown_id}).status == 401
    assert "malformed" in str(refused(gw.auth.authenticate, {"X-API-Key": "abc"}))
    both = refused(gw.auth.authenticate, {"X-API-Key": key, "Authorization": "Bearer x"})
    assert (both.status, both.code) == (400, "ambiguous_credentials")

    member = gw.member()
    with pytest.raises(NotAllowed):
        gw.auth.issue_api_key(member, "rogue", "org-1")
    with pytest.raises(NotAllowed):
        gw.auth.revoke_api_key(member, key_id, "mine now")
    with pytest.raises(InvalidCommand) as info:
        gw.auth.issue_api_key(gw.admin, "bad name!", "org-1")
    assert "system" in info.value.fields

    gw.auth.revoke_api_key(gw.admin, key_id, "the OA system was replaced")
    revoked = refused(gw.auth.authenticate, {"X-API-Key": key})
    assert (revoked.status, revoked.code) == (401, "api_key_revoked")
    assert "revoked on 2024-09-27" in str(revoked)
    gw.auth.revoke_api_key(gw.admin, key_id, "again")  # already so: nothing new recorded
    assert [t for t, _ in events_of(gw.store, acc.api_key_stream(key_id))] == ["ApiKeyIssued", "ApiKeyRevoked"]
    with pytest.raises(NotFound):
        gw.auth.revoke_api_key(gw.admin, "0000000000000000", "no such key")


# -- throttling ------------------------------------------------------------------------------------

def test_throttle_per_user_id_counts_failures_and_answers_429_with_retry_after(store, engine, clock, caplog):
    gw = Gateway(store, engine, clock, policy=acc.LockoutPolicy(max_failures=20))  # no lockout here
    member = gw.member()
    for _ in range(12):  # logging in again and again (devices, scripts) is never throttled
        gw.auth.login(member.user_id, PASSWORD, "10.0.0.1")
    for i in range(5):
        refused(gw.auth.login, member.user_id, f"wrong-{i}-password", "10.0.0.1")
        gw.clock.advance(seconds=10)
    throttled = refused(gw.auth.login, member.user_id, PASSWORD, "10.0.0.9")
    assert (throttled.status, throttled.code) == (429, "too_many_attempts")
    assert throttled.retry_after == 10 and throttled.headers() == {"Retry-After": "10"}
    assert "for this user id; try again in 10 s" in str(throttled)
    assert f"login throttled: too many attempts for {member.user_id}" in caplog.text
    gw.clock.advance(seconds=10)
    assert gw.auth.login(member.user_id, PASSWORD, "10.0.0.9")[2] == member


def test_throttle_per_address_counts_failures_not_successes(gw):
    people = [gw.member() for _ in range(12)]
    for person in people:  # a hall full of members behind one address logs in
        gw.auth.login(person.user_id, PASSWORD, "192.0.2.1")
    for i in range(10):
        refused(gw.auth.login, f"guess-{i}", PASSWORD, "198.51.100.7")
    throttled = refused(gw.auth.login, people[0].user_id, PASSWORD, "198.51.100.7")
    assert throttled.status == 429 and "from this address" in str(throttled) and throttled.retry_after == 60
    assert gw.auth.login(people[0].user_id, PASSWORD, "192.0.2.1")[2] == people[0]


def test_throttle_window_slides_and_memory_is_bounded(clock):
    throttle = LoginThrottle(clock, per_ip=2, per_user=100, window_seconds=60, max_keys=50)
    throttle.admit("a", None)
    clock.advance(seconds=30)
    throttle.admit("a", None)
    assert refused(throttle.admit, "a", None).retry_after == 30
    clock.advance(seconds=30)
    throttle.admit("a", None)
    for i in range(500):
        throttle.admit(f"10.0.{i // 256}.{i % 256}", f"u{i}")
    assert len(throttle._hits) <= 51


# -- two instances, one store -------------------------------------------------------------------

def test_instances_share_lockouts_and_sessions_through_the_store(tmp_path, clock):
    engine = sqlite_engine(str(tmp_path / "shared" / "views.sqlite"))
    store = SqlEventStore(sqlite_engine(str(tmp_path / "shared" / "events.sqlite")), DEPLOYMENT,
                          clock=clock.now)
    one = Gateway(store, engine, clock)
    two = Gateway(store, engine, clock)  # its ensure_admin finds the admin there
    member = one.member()
    token, _, _ = one.auth.login(member.user_id, PASSWORD)
    assert two.auth.authenticate(two.bearer(token)) == member  # same secret, same accounts
    for i in range(5):
        clock.advance(seconds=61)
        refused((one if i % 2 else two).auth.login, member.user_id, f"wrong-{i}-password")
    assert refused(one.auth.login, member.user_id, PASSWORD).status == 401
    assert two.auth.account(member.user_id).status(clock.now()) == "locked"
    two.auth.unlock(two.admin, member.user_id)
    token, _, _ = one.auth.login(member.user_id, PASSWORD)
    two.auth.set_password(two.admin, member.user_id, "changed-on-instance-two")
    assert refused(one.auth.authenticate, one.bearer(token)).code == "session_ended"
    assert [t for t, _ in events_of(store, acc.account_stream("admin"))] == ["AccountRegistered", "PasswordSet"]
    store.close()
    engine.dispose()


@pytest.mark.postgres
def test_on_postgresql(pg_schema, clock):
    """The production-shaped stack: the log and the credentials on PostgreSQL (two instances)."""
    store = SqlEventStore(postgres_engine(PG_URL), DEPLOYMENT, schema=pg_schema, clock=clock.now)
    engine = postgres_engine(PG_URL)
    one = Gateway(store, engine, clock, schema=pg_schema)
    two = Gateway(store, engine, clock, schema=pg_schema)
    member = one.member()
    token, _, _ = two.auth.login(member.user_id, PASSWORD)
    assert one.auth.authenticate(one.bearer(token)) == member
    one.auth.set_password(member, member.user_id, "changed-on-postgres")  # an upsert
    assert refused(two.auth.authenticate, two.bearer(token)).code == "session_ended"
    assert two.auth.login(member.user_id, "changed-on-postgres")[2] == member
    key_id, key, _ = two.auth.issue_api_key(two.admin, "ningxia-oa", "yinchuan-office")
    assert one.auth.authenticate({"X-API-Key": key}).role == "subscriber"
    one.auth.revoke_api_key(one.admin, key_id, "rotated")
    assert refused(two.auth.authenticate, {"X-API-Key": key}).code == "api_key_revoked"
    store.close()
    engine.dispose()


# -- bootstrap -----------------------------------------------------------------------------------

def test_ensure_admin_is_idempotent_and_keeps_a_changed_password(gw):
    assert gw.auth.ensure_admin("admin", ADMIN_PASSWORD) is False
    gw.auth.set_password(gw.admin, "admin", "changed-by-its-owner")
    assert gw.auth.ensure_admin_from_config({"XIESHANG_ADMIN_USER": "admin",
                                             "XIESHANG_ADMIN_PASSWORD": ADMIN_PASSWORD}) is False
    assert gw.auth.login("admin", "changed-by-its-owner")[2] == gw.admin
    assert gw.auth.ensure_admin_from_config({}) is None
    with pytest.raises(ConfigError, match="or neither"):
        gw.auth.ensure_admin_from_config({"XIESHANG_ADMIN_USER": "root"})
    with pytest.raises(ConfigError, match="at least 10"):
        gw.auth.ensure_admin_from_config({"XIESHANG_ADMIN_USER": "root", "XIESHANG_ADMIN_PASSWORD": "root"})
    assert gw.auth.ensure_admin_from_config({"XIESHANG_ADMIN_USER": "root2",
                                             "XIESHANG_ADMIN_PASSWORD": "first-start-pw",
                                             "XIESHANG_ADMIN_ORGANISATION": "secretariat"}) is True
    assert gw.auth.login("root2", "first-start-pw")[2] == Actor("root2", "admin", "secretariat")
    [event] = [e for e in gw.store.read_stream(acc.account_stream("root2")) if e.type == "AccountRegistered"]
    assert event.actor == SYSTEM_ACTOR


# -- secrets stay secret ---------------------------------------------------------------------------

def test_no_secret_in_any_event_or_log_line(gw, caplog):
    caplog.set_level(logging.DEBUG)
    member = gw.member()
    token, _, _ = gw.auth.login(member.user_id, PASSWORD, "10.0.0.1")
    refused(gw.auth.login, PASSWORD, PASSWORD, "10.0.0.1")  # the password typed as user id
    for _ in range(6):  # an id-shaped one, until throttled
        refused(gw.auth.login, "summer2024abc", "summer2024abc", "10.0.0.3")
    refused(gw.auth.login, member.user_id, "wrong-password-42", "10.0.0.1")
    gw.auth.set_password(member, member.user_id, "second-password-77")
    key_id, key, _ = gw.auth.issue_api_key(gw.admin, "ningxia-oa", "yinchuan-office")
    gw.auth.authenticate({"X-API-Key": key})

    with gw.engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(sa.text("SELECT hash FROM auth_passwords"))]
        digests = [r[0] for r in conn.execute(sa.text("SELECT digest FROM auth_api_keys"))]
    assert all(h.startswith("$argon2id$") for h in hashes) and len(hashes) == 2
    secret_part = key.split("_", 2)[2]
    assert digests[0] != secret_part and len(digests[0]) == 64
    secrets_ = [PASSWORD, "summer2024abc", "wrong-password-42", "second-password-77", ADMIN_PASSWORD,
                key, secret_part, token, token.split(".")[2], SECRET, *hashes, *digests]
    stored = b"\n".join(e.to_json() for e in gw.store.read_all()).decode()
    assert stored and gw.store.head() >= 8
    for secret in secrets_:
        assert secret not in stored
        assert secret not in caplog.text
    assert member.user_id in caplog.text and "login refused" in caplog.text


# -- hashing -------------------------------------------------------------------------------------

def test_an_old_hash_is_upgraded_at_the_next_login(store, engine, clock):
    weak = Gateway(store, engine, clock)  # hashes with FAST
    member = weak.member()
    old_hash = weak.auth.credentials.password_hash(member.user_id)
    strong = Authenticator(store, Credentials(engine), Tokens(SECRET, clock), clock, hashing=PasswordHashing())
    strong.login(member.user_id, PASSWORD)
    new_hash = strong.credentials.password_hash(member.user_id)
    assert new_hash != old_hash and "m=32768,t=2,p=1" in new_hash
    assert not strong.hashing.needs_rehash(new_hash)
    assert [t for t, _ in events_of(store, acc.account_stream(member.user_id))].count("PasswordSet") == 1


def test_argon2_runs_off_the_eventlet_hub():
    assert ARGON2_PARAMETERS == {"time_cost": 2, "memory_cost": 32 * 1024, "parallelism": 1}
    hashing = PasswordHashing()
    hashed = hashing.hash(PASSWORD)
    ticks, running = [0], [True]

    def tick():
        while running[0]:
            eventlet.sleep(0)
            ticks[0] += 1

    ticker = eventlet.spawn(tick)
    eventlet.sleep(0)
    # Inline, a verify never yields: no other green thread could run while it lasts, however
    # fast or loaded the machine. Off the hub, the ticker runs while the caller waits. (A
    # condition, not a time: a busy machine stretches the gaps but cannot stop the ticks.)
    during = []
    for _ in range(3):
        before = ticks[0]
        assert hashing.verify(hashed, PASSWORD)
        during.append(ticks[0] - before)
    running[0] = False
    ticker.wait()
    assert all(n > 0 for n in during), during
