"""Idempotency keys (issue 11, item 8): a command sent again with the same ``Idempotency-Key``
(or ``X-Request-ID``) and body gets the same answer and records nothing new; another body gets
422; a second request while the first runs gets 409; a login's token and an API key are never
kept; the answers are shared by gateway instances (one table, a unique key for the race)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
import sqlalchemy as sa

from services.gateway import api, openapi
from services.gateway.idempotency import Answer, IdempotencyKeys, fingerprint
from services.gateway.openapi import openapi_path
from xieshang.kernel.clock import FixedClock
from xieshang.kernel.store.sql import postgres_engine, sqlite_engine

from ..conftest import PG_URL
from .conftest import store_of
from .test_gateway_http import SECRET, SUBMISSION, gateway  # noqa: F401 - the fixture

T0 = datetime(2024, 3, 1, 1, 0, tzinfo=timezone.utc)
OK = Answer(201, "application/json; charset=utf-8", '{"proposal_id": "p-1"}')


@pytest.fixture
def keys(tmp_path):
    clock = FixedClock(T0)
    engine = sqlite_engine(str(tmp_path / "views.sqlite"))
    yield IdempotencyKeys(engine, clock, ttl_seconds=3600), clock
    engine.dispose()


# -- the table ---------------------------------------------------------------------------------------

def test_a_key_is_claimed_once_then_replayed_and_a_different_request_is_a_mismatch(keys):
    store, _ = keys
    first = store.claim("user:m-1", "key-00000001", "fp-a")
    assert first.outcome == "new"
    assert store.claim("user:m-1", "key-00000001", "fp-a").outcome == "running"  # still being handled
    store.finish(first, OK)
    again = store.claim("user:m-1", "key-00000001", "fp-a")
    assert (again.outcome, again.answer) == ("replay", OK)
    assert store.claim("user:m-1", "key-00000001", "fp-b").outcome == "mismatch"
    assert store.claim("user:m-2", "key-00000001", "fp-b").outcome == "new"  # keys are the caller's


def test_a_released_key_and_an_expired_answer_are_carried_out_again(keys):
    store, clock = keys
    store.release(store.claim("user:m-1", "key-00000001", "fp-a"))  # the request failed: retry it
    claim = store.claim("user:m-1", "key-00000001", "fp-a")
    assert claim.outcome == "new"
    store.finish(claim, OK)
    clock.advance(hours=1, seconds=1)  # past the TTL
    assert store.claim("user:m-1", "key-00000001", "fp-b").outcome == "new"
    assert store.purge() == 0 and store.claim("user:m-1", "key-00000001", "fp-b").outcome == "running"
    clock.advance(hours=2)
    assert store.purge() == 1


def test_a_pending_claim_left_by_a_dead_gateway_is_taken_over_after_its_lease(keys):
    store, clock = keys
    store.claim("user:m-1", "key-00000001", "fp-a")
    clock.advance(seconds=30)
    assert store.claim("user:m-1", "key-00000001", "fp-a").outcome == "running"
    clock.advance(seconds=31)
    assert store.claim("user:m-1", "key-00000001", "fp-a").outcome == "new"


def test_the_ttl_comes_from_the_config(tmp_path):
    engine = sqlite_engine(str(tmp_path / "views.sqlite"))
    assert IdempotencyKeys.from_config({}, engine, FixedClock(T0)).ttl == 24 * 3600
    assert IdempotencyKeys.from_config({"XIESHANG_IDEMPOTENCY_TTL": "600"}, engine, FixedClock(T0)).ttl == 600
    with pytest.raises(ValueError, match="XIESHANG_IDEMPOTENCY_TTL"):
        IdempotencyKeys.from_config({"XIESHANG_IDEMPOTENCY_TTL": "a day"}, engine, FixedClock(T0))
    engine.dispose()


def test_the_fingerprint_is_of_the_route_and_the_json_not_its_spelling():
    assert fingerprint("POST", "/api/proposals", {}, {"a": 1, "b": [1, 2]}) == \
        fingerprint("POST", "/api/proposals", {}, {"b": [1, 2], "a": 1})
    assert fingerprint("POST", "/api/proposals", {}, {"a": 1}) != fingerprint("POST", "/api/proposals", {}, {"a": 2})
    assert fingerprint("POST", "/api/x/file", {}, {}) != fingerprint("POST", "/api/y/file", {}, {})


def test_the_fingerprint_is_keyed_so_a_kept_phone_number_cannot_be_searched_back():
    import hashlib
    import json

    body = {"phone": "13812345678"}
    canonical = json.dumps({"method": "PUT", "path": "/api/members/m-1/contact-details", "query": {},
                            "body": body}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    one = fingerprint("PUT", "/api/members/m-1/contact-details", {}, body, b"k" * 32)
    assert one != hashlib.sha256(canonical.encode()).hexdigest()  # no plain hash to search
    assert one != fingerprint("PUT", "/api/members/m-1/contact-details", {}, body, b"j" * 32)
    assert one == fingerprint("PUT", "/api/members/m-1/contact-details", {}, body, b"k" * 32)


def test_gateway_instances_on_postgres_share_the_keys_and_one_wins_a_race(pg_schema):
    engine = postgres_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{pg_schema}"'))
    try:
        clock = FixedClock(T0)
        instances = [IdempotencyKeys(engine, clock, schema=pg_schema) for _ in range(2)]
        pool = eventlet.GreenPool(20)
        outcomes = list(pool.imap(lambda i: instances[i % 2].claim("user:m-1", "race-0001", "fp").outcome,
                                  range(20)))
        assert sorted(outcomes) == ["new"] + ["running"] * 19
        claim = instances[0].claim("user:m-1", "race-0002", "fp")
        instances[0].finish(claim, OK)
        assert instances[1].claim("user:m-1", "race-0002", "fp").answer == OK
        with engine.connect() as conn:
            assert conn.execute(sa.text(f'SELECT count(*) FROM "{pg_schema}".gateway_idempotency')).scalar() == 2
    finally:
        engine.dispose()


# -- over HTTP, on the real broker ------------------------------------------------------------------

def test_the_same_proposal_sent_twice_with_a_key_is_recorded_once(gateway):
    key = {"Idempotency-Key": "submit-0000000001"}
    first = gateway.call("POST", "/api/proposals", "member", json=SUBMISSION, headers=key)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers, first.text
    head = store_of(gateway.proposals).head()
    again = gateway.call("POST", "/api/proposals", "member", json=SUBMISSION, headers=key)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert store_of(gateway.proposals).head() == head  # nothing new recorded
    other = gateway.call("POST", "/api/proposals", "member", json={**SUBMISSION, "title": "另一件提案的标题"},
                         headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused", other.text
    assert other.json()["invalid_params"][0]["name"] == "Idempotency-Key"
    # the key is the caller's: staff may use the same one for their own command
    pid = first.json()["proposal_id"]
    staff = gateway.call("POST", f"/api/proposals/{pid}/file", "staff", json={}, headers=key)
    assert staff.status_code == 200 and "Idempotent-Replayed" not in staff.headers, staff.text
    assert staff.json()["event"] == "ProposalFiled"
    bad = gateway.call("POST", "/api/proposals", "member", json=SUBMISSION, headers={"Idempotency-Key": "x"})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_idempotency_key"


def test_a_repeated_request_id_is_a_key_too_and_refusals_are_replayed(gateway):
    rid = {"X-Request-ID": "retry-2024-000001"}
    first = gateway.call("POST", "/api/proposals", "member", json=SUBMISSION, headers=rid)
    again = gateway.call("POST", "/api/proposals", "member", json=SUBMISSION, headers=rid)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["X-Request-ID"] == "retry-2024-000001"
    pid = first.json()["proposal_id"]
    assert len(store_of(gateway.proposals).read_stream(first.json()["stream"])) == 1
    # a refusal by the service is an answer too
    key = {"Idempotency-Key": "merge-into-self-01"}
    refused = gateway.call("POST", f"/api/proposals/{pid}/merge", "staff", json={"into": "no-such"}, headers=key)
    assert 400 <= refused.status_code < 500 and refused.status_code not in (409, 429), refused.text
    replayed = gateway.call("POST", f"/api/proposals/{pid}/merge", "staff", json={"into": "no-such"}, headers=key)
    assert (replayed.status_code, replayed.json()) == (refused.status_code, refused.json())
    assert replayed.headers["Idempotent-Replayed"] == "true"


def test_a_second_request_while_the_first_runs_is_409(gateway, config):
    """The first request's pending claim is made here, in the gateway's own table."""
    engine = sqlite_engine(os.path.join(config["XIESHANG_DATA_DIR"], "gateway", "views.sqlite"))
    try:
        table = IdempotencyKeys(engine, FixedClock(T0))  # the gateway's clock stands at its START
        from services.gateway.auth import Tokens
        key = Tokens(SECRET, FixedClock(T0)).derived_key("idempotency-fingerprint")  # the gateway's
        table.claim("user:m-001", "running-000000001",
                    fingerprint("POST", "/api/proposals", {}, SUBMISSION, key))
        running = gateway.call("POST", "/api/proposals", "member", json=SUBMISSION,
                               headers={"Idempotency-Key": "running-000000001"})
        assert running.status_code == 409 and running.json()["code"] == "idempotency_key_in_progress"
        assert running.headers["Retry-After"]
    finally:
        engine.dispose()


def test_no_token_and_no_api_key_is_ever_kept(gateway, config):
    key = {"Idempotency-Key": "login-0000000001"}
    login = {"user_id": "m-001", "password": "correct-horse-battery"}
    answers = [gateway.call("POST", "/api/auth/login", json=login, headers=key) for _ in range(2)]
    assert all(a.status_code == 200 and "Idempotent-Replayed" not in a.headers for a in answers)
    tokens = [a.json()["token"] for a in answers]
    password = gateway.call("PUT", "/api/accounts/m-001/password", "admin", headers={
        "Idempotency-Key": "password-00000001"}, json={"password": "another-long-passphrase-42"})
    assert password.status_code == 200, password.text
    issue = {"Idempotency-Key": "issue-key-000001"}
    issued = gateway.call("POST", "/api/api-keys", "admin", json={"system": "档案", "organisation": "oa"},
                          headers=issue)
    assert issued.status_code == 201 and issued.json()["api_key"]
    again = gateway.call("POST", "/api/api-keys", "admin", json={"system": "档案", "organisation": "oa"},
                         headers=issue)
    assert again.status_code == 409 and again.json()["code"] == "already_issued", again.text
    assert again.json()["key_id"] == issued.json()["key_id"] and "api_key" not in again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    engine = sqlite_engine(os.path.join(config["XIESHANG_DATA_DIR"], "gateway", "views.sqlite"))
    try:
        with engine.connect() as conn:
            kept = " ".join(str(row) for row in conn.execute(sa.text("SELECT * FROM gateway_idempotency")))
    finally:
        engine.dispose()
    assert issued.json()["api_key"] not in kept and not any(t in kept for t in tokens)
    assert "login-0000000001" not in kept and "password-00000001" not in kept


def test_the_openapi_document_offers_the_header_on_every_command_of_a_signed_in_caller():
    doc = openapi.document()
    for route in api.ROUTES:
        op = doc["paths"][openapi_path(route.path)][route.method.lower()]
        names = {p["name"] for p in op["parameters"] if p["in"] == "header"}
        takes = route.is_command and route.roles is not None and route.rpc not in (
            "register", "set_password")  # their bodies carry a password: not even its hash is kept
        assert ("Idempotency-Key" in names) == takes, route.path
        if "Idempotency-Key" in names:
            assert "Idempotent-Replayed" in op["responses"][str(route.status)]["headers"]
