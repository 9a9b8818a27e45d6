"""Accounts, hardened (issue 11, items 12–14, the residents' sign-up of 18, the API-key part of
20): passwords that are common or trivial are refused; every refused login answers alike;
logout revokes the token on every instance; the client address behind trusted proxies; a
resident opens their own account; the request schema and the checks behind it agree."""

from __future__ import annotations

import hashlib
import runpy
import typing
import uuid
from pathlib import Path

import pytest
import requests
from nameko.testing.utils import find_free_port
from pydantic import BaseModel, ValidationError

from services.gateway import api, openapi
from services.gateway import domain as acc
from services.gateway.auth import (BAD_CREDENTIALS, AuthError, LoginThrottle, PasswordPolicyError,
                                   TrustedProxies, check_password)
from services.gateway.service import GatewayService
from services.proposals import domain as proposals_domain
from services.proposals.domain import commands as proposal_commands
from xieshang.kernel.clock import FixedClock
from xieshang.kernel.config import ConfigError
from xieshang.kernel.domain import InvalidCommand, NotAllowed
from xieshang.kernel.envelope import Actor
from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

from .test_gateway_auth import ADMIN_PASSWORD, DEPLOYMENT, PASSWORD, SECRET, T0, Gateway, events_of, uid

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clock():
    return FixedClock(T0)


@pytest.fixture
def shared(tmp_path, clock):
    """One store and one credentials database, as two gateway instances share them."""
    engine = sqlite_engine(str(tmp_path / "gateway" / "views.sqlite"))
    store = SqlEventStore(sqlite_engine(str(tmp_path / "gateway" / "events.sqlite")), DEPLOYMENT,
                          clock=clock.now)
    yield store, engine
    store.close()
    engine.dispose()


def refused(call, *args, **kw):
    with pytest.raises((AuthError, InvalidCommand)) as info:
        call(*args, **kw)
    return info.value


# -- 13. passwords -------------------------------------------------------------------------------

WEAK = {  # password: what the refusal says (Chinese first)
    "1111111111": "重复", "aaaaabbbbb": "重复", "abcabcabca": "重复", "          ": "空格",
    "\u3000" * 10: "空格",  # ideographic spaces
    "password12": "常见", "Password2024!": "常见", "iloveyou1314": "常见", "qq123456789": "常见",
    "woaini1314520": "常见", "1qaz2wsx3edc": "连续", "admin@2024": "常见",
    "1234567890": "连续", "abcdefghij": "连续", "0987654321": "连续", "qwertyuiop": "连续",
    "ABCDEFGHIJKL": "连续", "ｑｗｅｒｔｙｕｉｏｐ": "连续",  # full width: the same after NFKC
}


@pytest.mark.parametrize("password, rule", WEAK.items())
def test_common_and_trivial_passwords_are_refused_naming_the_field(password, rule):
    with pytest.raises(PasswordPolicyError) as info:
        check_password("m-123", password, "王建国")
    reason = info.value.fields["password"]
    assert set(info.value.fields) == {"password"} and rule in reason
    assert reason.index(rule) < reason.index("(the password")  # Chinese first, then English
    assert rule in info.value.message_zh and "the password is not accepted" in str(info.value)


def test_the_user_id_and_the_name_are_not_a_password():
    for user_id, name, password, what in [("wangjg", "王建国", "WangJG-2024-spring", "用户名"),
                                          ("m-123", "王建国", "王建国的政协账户密码", "姓名"),
                                          ("m-123", "Zhang Xiaoming", "xiaoming-spring-24", "姓名")]:
        with pytest.raises(PasswordPolicyError, match="must not contain") as info:
            check_password(user_id, password, name)
        assert what in info.value.fields["password"]
    # short names and ids are not looked for: "li" is in "reliable"
    assert check_password("li", "reliable-horse-27", "Li") == "reliable-horse-27"
    for fine in ("绿水青山-correct-horse", "demo-password-2024", "correct-horse-battery", "ten chars!"):
        assert check_password("m-123", fine, "王建国") == fine


def test_a_weak_password_changes_nothing_wherever_it_is_set(shared, clock):
    store, engine = shared
    gw = Gateway(store, engine, clock)
    user_id = uid("m")
    with pytest.raises(PasswordPolicyError):
        gw.auth.register(gw.admin, user_id, "member", "org-1", "王建国", "password12")
    with pytest.raises(PasswordPolicyError):
        gw.auth.sign_up(uid("r"), "居民", "1111111111", "198.51.100.1")
    assert store.stream_version(acc.account_stream(user_id)) == 0
    member = gw.member()
    with pytest.raises(PasswordPolicyError, match="name"):  # the name the account was opened with
        gw.auth.set_password(member, member.user_id, f"委员 {member.user_id}"[:2] + "我的新密码2024x")
    assert gw.auth.login(member.user_id, PASSWORD)[2] == member


def test_the_common_password_list_is_our_generated_compilation():
    listed = acc.passwords.common_passwords()
    assert 2000 <= len(listed) <= 20000
    assert {"password", "123456", "qwerty", "woaini1314", "password12", "iloveyou"} <= listed
    generator = runpy.run_path(str(ROOT / "infra" / "scripts" / "common_passwords.py"))
    assert acc.passwords.COMMON_PASSWORDS_FILE.read_text(encoding="utf-8") == generator["render"](), \
        "run python infra/scripts/common_passwords.py"


# -- 14. every refused login answers alike -------------------------------------------------------

def test_unknown_wrong_locked_and_disabled_answer_alike_after_the_same_work(shared, clock):
    store, engine = shared
    gw = Gateway(store, engine, clock, throttle=LoginThrottle(clock, per_user=100))  # the lockout, not the throttle
    locked, disabled, wrong = gw.member(), gw.member(), gw.member()
    for i in range(5):
        refused(gw.auth.login, locked.user_id, f"wrong-{i}-password", f"10.0.1.{i}")
    gw.auth.disable(gw.admin, disabled.user_id, "left the committee")
    verifies = []
    real = gw.auth.hashing.verify
    gw.auth.hashing.verify = lambda hashed, pw: verifies.append(hashed) or real(hashed, pw)
    answers = {
        "unknown": refused(gw.auth.login, "nobody-at-all", PASSWORD, "10.0.2.1"),
        "wrong password": refused(gw.auth.login, wrong.user_id, "wrong-password-9", "10.0.2.2"),
        "locked, right password": refused(gw.auth.login, locked.user_id, PASSWORD, "10.0.2.3"),
        "disabled, right password": refused(gw.auth.login, disabled.user_id, PASSWORD, "10.0.2.4"),
    }
    shapes = {what: (e.status, e.code, str(e), e.headers(), e.to_dict()) for what, e in answers.items()}
    assert len(set(map(repr, shapes.values()))) == 1, shapes
    assert shapes["unknown"][:3] == (401, "bad_credentials", BAD_CREDENTIALS)
    assert len(verifies) == 4  # an argon2 verify each time, the locked account's included
    # what the answer does not say is recorded, and an admin sees it
    assert gw.auth.account(locked.user_id).to_dict(clock.now())["status"] == "locked"
    assert gw.auth.account(disabled.user_id).status(clock.now()) == "disabled"
    reasons = [d["reason"] for t, d in events_of(store, acc.account_stream(locked.user_id)) if t == "LoginFailed"]
    assert reasons[-1] == "locked" and "AccountLocked" in [t for t, _ in events_of(
        store, acc.account_stream(locked.user_id))]


# -- 12. successes do not count against the throttle ----------------------------------------------

def test_correct_logins_in_a_row_are_never_throttled(shared, clock):
    store, engine = shared
    gw = Gateway(store, engine, clock)
    member = gw.member()
    for _ in range(3 * gw.auth.throttle.per_user):  # without advancing the clock
        assert gw.auth.login(member.user_id, PASSWORD, "10.0.0.1")[2] == member
    for i in range(gw.auth.throttle.per_user):
        refused(gw.auth.login, member.user_id, f"wrong-{i}-password", "10.0.0.1")
    assert refused(gw.auth.login, member.user_id, PASSWORD, "10.0.0.1").status == 429  # failures count


# -- 14. logout --------------------------------------------------------------------------------

def test_logout_revokes_the_token_on_every_instance(shared, clock):
    store, engine = shared
    one, two = Gateway(store, engine, clock), Gateway(store, engine, clock)
    member = one.member()
    phone, _, _ = one.auth.login(member.user_id, PASSWORD)
    laptop, _, _ = two.auth.login(member.user_id, PASSWORD)
    assert two.auth.authenticate(two.bearer(phone)) == member  # the instance caches the account
    receipt = one.auth.logout(one.bearer(phone))
    assert receipt.recorded and receipt.events == ("TokenRevoked",) and receipt.stream == f"account-{member.user_id}"
    for gw in (one, two):
        ended = refused(gw.auth.authenticate, gw.bearer(phone))
        assert (ended.status, ended.code) == (401, "session_ended") and "logged out" in str(ended)
        assert gw.auth.authenticate(gw.bearer(laptop)) == member  # the other session goes on
    assert refused(two.auth.logout, two.bearer(phone)).status == 401  # once is enough
    [(kind, data)] = [(t, d) for t, d in events_of(store, acc.account_stream(member.user_id))
                      if t == "TokenRevoked"]
    assert set(data) == {"user_id", "token_id", "expires_at", "at"} and phone not in str(data)
    key = one.auth.issue_api_key(one.admin, "ningxia-oa", "yinchuan-office")[1]
    assert refused(one.auth.logout, {"X-API-Key": key}).code == "not_a_session"


def test_revoked_tokens_are_forgotten_once_expired_or_when_every_session_ends():
    def revoked(token_id, expires, at):
        return acc.TokenRevoked("m-1", token_id, expires, at)
    base = [acc.AccountRegistered("m-1", "member", "org-1", "王"), acc.PasswordSet("m-1")]
    state = acc.fold_account("m-1", [*base, revoked("t1", "2024-09-27T09:00:00Z", "2024-09-27T01:00:00Z"),
                                     revoked("t2", "2024-09-27T18:00:00Z", "2024-09-27T10:00:00Z")])
    assert not state.is_revoked("t1") and state.is_revoked("t2")  # t1 had expired by then
    assert acc.fold_account("m-1", [acc.PasswordSet("m-1")], state).revoked_tokens == ()
    with pytest.raises(NotAllowed):
        acc.end_session(Actor("m-2", "member", "org-1"), state, "t3", T0, T0)


# -- 14. the client address behind trusted proxies -------------------------------------------------

def test_the_client_address_behind_trusted_proxies():
    proxies = TrustedProxies.from_config({"XIESHANG_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7 ::1"})
    assert proxies.client("203.0.113.9", ["198.51.100.1"]) == "203.0.113.9"  # not a proxy: its header is ignored
    assert proxies.client("10.1.2.3", ["198.51.100.1"]) == "198.51.100.1"
    # the right-most untrusted hop: what the client wrote to the left of it is not believed
    assert proxies.client("10.1.2.3", ["6.6.6.6, 198.51.100.1, 192.0.2.7"]) == "198.51.100.1"
    assert proxies.client("10.1.2.3", ["6.6.6.6", "198.51.100.1:5678, 10.9.9.9"]) == "198.51.100.1"
    assert proxies.client("::1", ["[2001:db8::1]:443"]) == "2001:db8::1"
    assert proxies.client("10.1.2.3", []) == "10.1.2.3"
    assert TrustedProxies.from_config({}).client("10.1.2.3", ["198.51.100.1"]) == "10.1.2.3"
    with pytest.raises(ConfigError, match="not an address or network: proxy.local"):
        TrustedProxies.from_config({"XIESHANG_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"})


def test_the_throttle_tells_apart_clients_behind_a_trusted_proxy(shared, clock):
    store, engine = shared
    gw = Gateway(store, engine, clock, proxies=TrustedProxies(["10.0.0.0/8"]))
    member = gw.member()

    def from_(client):
        return gw.auth.client_address("10.0.0.2", {"X-Forwarded-For": client})
    for i in range(gw.auth.throttle.per_ip):
        refused(gw.auth.login, f"guess-{i}", PASSWORD, from_("198.51.100.7"))
    assert refused(gw.auth.login, member.user_id, PASSWORD, from_("198.51.100.7")).status == 429
    assert gw.auth.login(member.user_id, PASSWORD, from_("198.51.100.8"))[2] == member


# -- 18. a resident opens their own account --------------------------------------------------------

def test_a_resident_signs_up_and_a_taken_id_says_only_so(shared, clock):
    store, engine = shared
    gw = Gateway(store, engine, clock)
    resident = uid("r")
    receipt = gw.auth.sign_up(resident, "张阿姨", "绿水青山-correct-horse", "198.51.100.1")
    assert receipt.events == ("PasswordSet",) and receipt.stream == acc.account_stream(resident)
    token, _, actor = gw.auth.login(resident, "绿水青山-correct-horse")
    assert actor == Actor(resident, "public", "public")
    [registered] = [e for e in store.read_stream(acc.account_stream(resident)) if e.type == "AccountRegistered"]
    assert registered.actor == actor  # the resident acted for themselves
    member = gw.member()
    for taken in (resident, member.user_id):
        error = refused(gw.auth.sign_up, taken, "某人", "another-good-passphrase", "198.51.100.2")
        assert error.fields == {"user_id": "此用户名已被使用，请换一个 (this user id is taken: choose another)"}
    assert gw.auth.account(member.user_id).role == "member"  # untouched
    for bad in ("system", "bad id!"):
        assert "user_id" in refused(gw.auth.sign_up, bad, "某人", "another-good-passphrase", "198.51.100.3").fields


def test_sign_ups_are_throttled_per_address(shared, clock):
    store, engine = shared
    gw = Gateway(store, engine, clock)
    for i in range(gw.auth.sign_ups.per_ip):  # refused ones count too
        gw.auth.sign_up(uid("r"), "居民", "another-good-passphrase", "198.51.100.9") if i % 2 else \
            refused(gw.auth.sign_up, "bad id!", "居民", "another-good-passphrase", "198.51.100.9")
    throttled = refused(gw.auth.sign_up, uid("r"), "居民", "another-good-passphrase", "198.51.100.9")
    assert (throttled.status, throttled.code) == (429, "too_many_attempts")
    gw.auth.sign_up(uid("r"), "居民", "another-good-passphrase", "198.51.100.10")  # another address


# -- 20. the request schema and the checks behind it agree -----------------------------------------

def _text(length: int, alphabet: str, seed: str) -> str:
    """``length`` characters of ``alphabet`` that repeat no pattern (a plausible name or password)."""
    out, block = [], seed.encode()
    while len(out) < length:
        block = hashlib.sha256(block).digest()
        out.extend(alphabet[b % len(alphabet)] for b in block)
    return "".join(out[:length])


LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CHINESE = "政协委员提案办理协商民主监督参政议政社情民意审计系统石嘴山宁夏银川界别经济教育科技文化卫生"


def _candidates(prop: dict, name: str) -> list[str]:
    """Values a string field's schema allows: at its maximum length, Latin and Chinese, and a
    short Chinese one (kept only if the request model accepts them: see the callers)."""
    longest = prop.get("maxLength", 200)
    return [_text(longest, LATIN, name), "A" + _text(longest - 1, LATIN + "_.-", name + "-"),
            _text(longest, CHINESE, name), "审计" + _text(max(prop.get("minLength", 1), 4) - 2, CHINESE, name)]


def _string_fields(model: type[BaseModel]) -> dict[str, dict]:
    """The string fields of a body model with a length or pattern bound, as the OpenAPI says."""
    schemas = openapi.document()["components"]["schemas"]
    props = schemas[model.__name__]["properties"]
    found = {}
    for name, prop in props.items():
        options = [prop, *prop.get("anyOf", [])]
        for option in options:
            if option.get("type") == "string" and ({"maxLength", "pattern"} & set(option)):
                found[name] = option
    return found


def _variants(model: type[BaseModel], base: dict) -> typing.Iterator[tuple[str, dict]]:
    for name, prop in _string_fields(model).items():
        for value in _candidates(prop, name):
            body = {**base, name: value}
            try:
                model.model_validate(body)
            except ValidationError:
                continue  # the schema does not allow it: nothing to agree on
            yield name, body


def fresh(user_id: str) -> str:
    """``user_id`` made unique, at the same length (a value at the maximum stays at it)."""
    tail = uuid.uuid4().hex[:6]
    return user_id + tail if len(user_id) <= 58 else user_id[:-6] + tail


GATEWAY_BODIES = {  # rpc -> a valid body, and how the gateway decides it (the same calls as service.py)
    "register": ({"user_id": "m-x", "role": "member", "organisation": "经济界", "display_name": "王建国",
                  "password": "绿水青山-correct-horse"},
                 lambda gw, b: gw.auth.register(gw.admin, fresh(b["user_id"]), b["role"], b["organisation"],
                                                b["display_name"], b["password"])),
    "sign_up": ({"user_id": "r-x", "display_name": "张阿姨", "password": "绿水青山-correct-horse"},
                lambda gw, b: gw.auth.sign_up(fresh(b["user_id"]), b["display_name"], b["password"])),
    "set_password": ({"password": "绿水青山-correct-horse"},
                     lambda gw, b: (lambda m: gw.auth.set_password(m, m.user_id, b["password"]))(gw.member())),
    "disable": ({"reason": "离任"}, lambda gw, b: gw.auth.disable(gw.admin, gw.member().user_id, b["reason"])),
    "issue_api_key": ({"system": "审计OA", "organisation": "审计局"},
                      lambda gw, b: gw.auth.issue_api_key(gw.admin, b["system"], b["organisation"])),
    "revoke_api_key": ({"reason": "系统停用"}, lambda gw, b: gw.auth.revoke_api_key(
        gw.admin, gw.auth.issue_api_key(gw.admin, "OA", "oa")[0], b["reason"])),
}


def test_the_gateways_checks_accept_what_its_schema_accepts(shared, clock):
    """For every body field of the gateway's own routes with a length or pattern bound in the
    OpenAPI document: a value at the maximum length, and a Chinese one where the schema allows
    it, is not refused by the check behind the route (the 422 "system": "审计OA" got)."""
    store, engine = shared
    gw = Gateway(store, engine, clock, sign_ups=LoginThrottle(clock, per_ip=10_000))
    routes = {r.rpc: r for r in api.ROUTES if r.service == "gateway" and r.body is not None and r.rpc != "login"}
    assert set(routes) == set(GATEWAY_BODIES), "a gateway route with a body is missing here"
    tried = 0
    for rpc, route in routes.items():
        base, decide = GATEWAY_BODIES[rpc]
        route.body.model_validate(base)
        for name, body in _variants(route.body, base):
            try:
                decide(gw, body)
            except InvalidCommand as exc:
                pytest.fail(f"{route.method} {route.path}: the schema accepts {name}={body[name]!r} "
                            f"but the check refuses it: {exc} {exc.fields}")
            tried += 1
    assert tried >= 20


def test_the_proposal_submission_accepts_what_its_schema_accepts():
    """The same for POST /api/proposals (the proposals service's parse and decision)."""
    member = Actor("m-001", "member", "经济界")
    [route] = [r for r in api.ROUTES if r.rpc == "submit_proposal"]
    base = {"title": "关于增设社区养老服务点的提案", "reasons": "老年人口增多。", "suggestions": "每个社区设一个服务点。",
            "category": "society"}
    tried = 0
    for name, body in _variants(route.body, base):
        if name == "on_behalf_of":  # an id the service looks up (staff only): not a shape
            continue
        data = route.body.model_validate(body).model_dump(mode="json", exclude={"reason", "on_behalf_of"})
        try:
            command = proposal_commands.SubmitProposal.parse(**data)
            proposals_domain.submit_proposal(member, None, "p-1", command, today=T0.date())
        except InvalidCommand as exc:
            pytest.fail(f"POST /api/proposals: the schema accepts {name}={body[name]!r} but the "
                        f"service refuses it: {exc} {exc.fields}")
        tried += 1
    assert tried >= 8


# -- over HTTP, on the real broker ----------------------------------------------------------------

@pytest.fixture
def http_gateway(container_factory, config):
    port = find_free_port()
    container_factory(GatewayService, {
        **config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "XIESHANG_TOKEN_SECRET": SECRET,
        "XIESHANG_ADMIN_USER": "admin", "XIESHANG_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "XIESHANG_TRUSTED_PROXIES": "127.0.0.1"}).start()
    return f"http://127.0.0.1:{port}"


def test_over_http_logout_sign_up_proxies_and_the_same_answer(http_gateway):
    base = http_gateway

    def post(path, body=None, token=None, client=None):
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}),
                   **({"X-Forwarded-For": client} if client else {})}
        return requests.post(base + path, json=body if body is not None else {}, headers=headers, timeout=30)

    admin = post("/api/auth/login", {"user_id": "admin", "password": ADMIN_PASSWORD}).json()["token"]
    key = post("/api/api-keys", {"system": "审计OA", "organisation": "审计局"}, admin)
    assert key.status_code == 201 and key.json()["system"] == "审计OA", key.text

    resident = uid("r")
    signed = post("/api/public/accounts", {"user_id": resident, "display_name": "张阿姨",
                                           "password": "绿水青山-correct-horse"}, client="198.51.100.1")
    assert signed.status_code == 201 and signed.json()["role"] == "public", signed.text
    weak = post("/api/public/accounts", {"user_id": uid("r"), "display_name": "李", "password": "password12"},
                client="198.51.100.1")
    assert weak.status_code == 422 and weak.json()["invalid_params"][0]["name"] == "password", weak.text
    taken = post("/api/public/accounts", {"user_id": resident, "display_name": "某人",
                                          "password": "another-good-passphrase"}, client="198.51.100.1")
    assert taken.status_code == 422 and "taken" in taken.text

    token = post("/api/auth/login", {"user_id": resident, "password": "绿水青山-correct-horse"}).json()["token"]
    me = requests.get(base + "/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert me.status_code == 200
    out = post("/api/auth/logout", None, token)
    assert out.status_code == 200 and out.json()["events"] == ["TokenRevoked"], out.text
    again = requests.get(base + "/api/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert again.status_code == 401 and again.json()["code"] == "session_ended"

    # the attempt that locks the account answers as an unknown id does; the admin sees the lock
    failures = [post("/api/auth/login", {"user_id": resident, "password": f"wrong-{i}-password"},
                     client=f"203.0.113.{i}") for i in range(5)]
    unknown = post("/api/auth/login", {"user_id": "nobody-at-all", "password": "绿水青山-correct-horse"},
                   client="203.0.113.50")
    assert [a.status_code for a in (*failures, unknown)] == [401] * 6
    assert {(a.json()["code"], a.json()["detail"], a.headers.get("Retry-After")) for a in (failures[-1], unknown)} \
        == {("bad_credentials", unknown.json()["detail"], None)}
    status = requests.get(f"{base}/api/accounts/{resident}", headers={"Authorization": f"Bearer {admin}"},
                          timeout=30)
    assert status.status_code == 200 and status.json()["status"] == "locked", status.text
    for i in range(10):
        post("/api/auth/login", {"user_id": f"guess-{i}", "password": "x"}, client="203.0.113.60")
    assert post("/api/auth/login", {"user_id": "admin", "password": ADMIN_PASSWORD},
                client="203.0.113.60").status_code == 429
    assert post("/api/auth/login", {"user_id": "admin", "password": ADMIN_PASSWORD},
                client="203.0.113.61").status_code == 200


# -- 13. `xieshang up` makes up the first administrator's password -----------------------------------

def test_the_local_admin_password_is_made_up_once_and_kept_owner_only(tmp_path, monkeypatch):
    from tools.stack import Stack

    monkeypatch.delenv("XIESHANG_ADMIN_USER", raising=False)
    monkeypatch.delenv("XIESHANG_ADMIN_PASSWORD", raising=False)
    first = Stack(tmp_path / "data", "amqp://unused", "127.0.0.1:0")
    user, password = first.admin()
    assert user == "admin" and first.admin_password_made and len(password) >= 20
    assert check_password(user, password) == password  # passes the gateway's own rules
    kept = first.admin_password_file()
    assert kept.stat().st_mode & 0o777 == 0o600 and kept.read_text().strip() == password
    assert first.admin() == (user, password) and first.admin_password_made  # said once, still so
    later = Stack(tmp_path / "data", "amqp://unused", "127.0.0.1:0")
    assert later.admin() == (user, password) and not later.admin_password_made
    assert Stack(tmp_path / "other", "amqp://unused", "127.0.0.1:0").admin()[1] != password
    monkeypatch.setenv("XIESHANG_ADMIN_PASSWORD", "chosen-by-the-operator")
    assert later.admin() == ("admin", "chosen-by-the-operator")
