"""The webhook secrets' private store (services/notify/webhooks.py, ADR 0005), the same contract on
SQLite and PostgreSQL: kept by subscription and secret id, forgotten on rotation; the SQLite file
is its owner's only; and the signature headers a delivery carries verify with the Standard
Webhooks library, one signature per secret in use."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from services.notify.domain.webhooks import new_secret
from services.notify.webhooks import (MemoryWebhookSecrets, SqlWebhookSecrets, WebhookSettings,
                                      make_webhook_secrets, signature_headers)
from xieshang.kernel.config import ConfigError, Settings
from xieshang.kernel.store.sql import sqlite_engine

from ..conftest import PG_URL

OLD, NEW = new_secret(b"\x01" * 32), new_secret(b"\x02" * 32)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def secrets(request, tmp_path, pg_schema):
    if request.param == "memory":
        yield MemoryWebhookSecrets()
        return
    if request.param == "sqlite":
        store = SqlWebhookSecrets(sqlite_engine(str(tmp_path / "notify" / "private.sqlite")))
    else:
        store = SqlWebhookSecrets(sa.create_engine(PG_URL, hide_parameters=True), schema=pg_schema)
    yield store
    store.close()


def test_secrets_are_kept_by_subscription_and_id_and_forgotten_on_rotation(secrets):
    secrets.put("wh-a", "s1", OLD)
    secrets.put("wh-a", "s2", NEW)
    secrets.put("wh-b", "s1", NEW)
    assert secrets.get("wh-a", ["s2", "s1", "s9"]) == {"s1": OLD, "s2": NEW}
    assert secrets.get("wh-a", []) == {}
    assert secrets.forget_others("wh-a", ["s2"]) == 1
    assert secrets.get("wh-a", ["s1", "s2"]) == {"s2": NEW}
    assert secrets.get("wh-b", ["s1"]) == {"s1": NEW}       # another subscription's untouched


def test_the_sqlite_store_is_beside_notifys_log_and_its_owners_only(tmp_path):
    store = make_webhook_secrets(Settings.load("notify", {"XIESHANG_DATA_DIR": str(tmp_path / "data")}))
    try:
        store.put("wh-a", "s1", OLD)
        path = tmp_path / "data" / "notify" / "private.sqlite"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
        assert store.engine.hide_parameters
    finally:
        store.close()


def test_the_signature_headers_verify_with_the_standard_webhooks_library():
    body = '{"id":"e-1","type":"cn.gov.cppcc.proposals.ProposalFiled.v1"}'
    now = datetime.now(timezone.utc)
    both = signature_headers("e-1", body, [NEW, OLD], now)
    assert both["webhook-id"] == "e-1" and both["webhook-timestamp"] == str(int(now.timestamp()))
    assert [s[:3] for s in both["webhook-signature"].split(" ")] == ["v1,", "v1,"]
    for secret in (NEW, OLD):
        assert Webhook(secret).verify(body, both)["id"] == "e-1"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret(b"\x03" * 32)).verify(body, both)
    with pytest.raises(WebhookVerificationError):
        Webhook(NEW).verify(body.replace("e-1", "e-2"), both)


def test_the_retry_settings_are_read_and_a_bad_one_is_named():
    settings = WebhookSettings.load({"XIESHANG_WEBHOOK_RETRY_SECONDS": "10", "XIESHANG_WEBHOOK_GIVE_UP_SECONDS": "7200"})
    assert (settings.policy.base_seconds, settings.policy.give_up_after_seconds) == (10.0, 7200.0)
    assert WebhookSettings.load({}).policy.give_up_after_seconds == 24 * 3600
    with pytest.raises(ConfigError) as bad:
        WebhookSettings.load({"XIESHANG_WEBHOOK_TIMEOUT_SECONDS": "soon"})
    assert "XIESHANG_WEBHOOK_TIMEOUT_SECONDS" in str(bad.value)
