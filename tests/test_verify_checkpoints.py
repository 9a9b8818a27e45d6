"""`xieshang verify --checkpoints FILE --public-key FILE`: a service's log and the gateway's,
sealed by signed checkpoints, checked against them and against the feed a subscriber kept; the
tampering the chain walk alone lets through (a rewrite with the chain recomputed, a tail deleted
and the head rewound) and a modified gateway row are each named by their first bad position, on
SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tools import catalog
from tools.cli import main
from xieshang.kernel.anchoring import CheckpointSigner, seal
from xieshang.kernel.config import Settings, make_event_store
from xieshang.kernel.store.sql import SqlEventStore

from .conftest import PG_URL, new_event, unique
from .kernel.test_anchoring import cloud_event, rechain

SERVICE = "fakesvc"
SEALED_AT = datetime(2026, 5, 1, 2, 0, tzinfo=timezone.utc)


class Deployment:
    """A data dir (or PostgreSQL schemas) with fakesvc's log and the gateway's: 12 events each,
    sealed after 5 and after 10 (the checkpoints at 6 and 12), then 2 more (14 rows); the feed a
    subscriber kept of both, and the checkpoints the upper level kept."""

    def __init__(self, root: Path, backend: str, monkeypatch):
        self.root = root
        self.data = root / "data"
        self.key = root / "keys" / "checkpoint-640200.key"
        monkeypatch.setenv("XIESHANG_DATA_DIR", str(self.data))
        monkeypatch.delenv("XIESHANG_CHECKPOINT_KEY", raising=False)
        monkeypatch.setattr(catalog, "SERVICES", [SERVICE])
        self.prefix = None
        if backend == "postgres":
            self.prefix = unique("xs") + "_"
            monkeypatch.setenv("EVENT_STORE", "postgres")
            monkeypatch.setenv("DATABASE_URL", PG_URL)
            monkeypatch.setenv("PG_SCHEMA_PREFIX", self.prefix)
        else:
            monkeypatch.delenv("EVENT_STORE", raising=False)
            monkeypatch.delenv("DATABASE_URL", raising=False)
        self.signer = CheckpointSigner.load(Settings.load(SERVICE))  # made at the default place
        feed, kept = [], []
        for svc in (SERVICE, "gateway"):
            store = self.open(svc)
            try:
                for batch in (5, 5, 2):
                    for i in range(batch):
                        store.append(unique("case"), None, [new_event("Noted", n=i)])
                    if batch == 5:
                        kept += [dict(e.data) for e in seal(store, self.signer, lambda: SEALED_AT,
                                                            service=svc)]
                assert store.head() == 14
                feed += [cloud_event(e, svc) for e in store.read_all()]
            finally:
                store.close()
        self.feed = self.write("feed.jsonl", feed)
        self.kept = self.write("upper.jsonl", kept)
        self.public_key = f"{self.key}.pub"

    def write(self, name: str, records: list) -> str:
        path = self.root / name
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        return str(path)

    def open(self, svc: str) -> SqlEventStore:
        store = make_event_store(Settings.load(svc))
        store.q = f'"{store.schema}".' if store.schema else ""
        return store

    def tamper(self, svc: str, *statements: str) -> None:
        store = self.open(svc)
        try:
            with store.engine.begin() as conn:
                for statement in statements:
                    conn.execute(sa.text(statement.format(t=f"{store.q}events")))
        finally:
            store.close()

    def rechain(self, svc: str, position: int, *, edit: bool = True, delete_after: int | None = None):
        store = self.open(svc)
        try:
            body = None
            if edit:
                with store.engine.connect() as conn:
                    body = bytes(conn.execute(sa.text(
                        f"SELECT body FROM {store.q}events WHERE position = :p"), {"p": position}).scalar_one())
                body = body.replace(b'"reason":"test"', b'"reason":"edit"')
            rechain(store, position, body, delete_after)
        finally:
            store.close()

    def drop(self) -> None:
        if self.prefix:
            engine = sa.create_engine(PG_URL)
            with engine.begin() as conn:
                for svc in (SERVICE, "gateway"):
                    conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.prefix}{svc}" CASCADE'))
            engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def deployment(request, tmp_path, monkeypatch):
    made = Deployment(tmp_path, request.param, monkeypatch)
    yield made
    made.drop()


def run(*args: str):
    return CliRunner().invoke(main, ["verify", *args])


def test_intact_logs_verify_against_their_checkpoints_and_the_feed(deployment):
    result = run("--checkpoints", deployment.feed, "--checkpoints", deployment.kept,
                 "--public-key", deployment.public_key)
    assert result.exit_code == 0, result.output
    for svc in (SERVICE, "gateway"):
        # its 2 checkpoints in the log, 2 in the feed and 2 kept upstairs; the feed's 14 copies
        assert (f"{svc}: ok: 14 events, last position 14; 6 signed checkpoints and 14 copies "
                "checked, anchored up to position 11") in result.stdout
    assert deployment.signer.key_id in result.stderr


def test_the_deployments_own_public_key_is_found_without_being_named(deployment):
    result = run(SERVICE)
    assert result.exit_code == 0, result.output
    assert "fakesvc: ok: 14 events, last position 14; 2 signed checkpoints" in result.stdout
    assert str(deployment.public_key) in result.stderr


def test_without_a_public_key_the_chain_is_walked_and_the_checkpoints_left_unchecked(deployment):
    Path(deployment.public_key).unlink()
    result = run("gateway")
    assert result.exit_code == 0, result.output
    assert ("gateway: ok: 14 events, last position 14; its 2 checkpoints not checked "
            "(no public key: --public-key)") in result.stdout
    refused = run("--checkpoints", deployment.feed)
    assert refused.exit_code == 2 and "--public-key" in refused.output


def test_rewrite_and_rechain_is_named_at_its_row(deployment):
    deployment.rechain(SERVICE, 8)
    assert run(SERVICE, "--public-key", str(deployment.root / "none.pub")).exit_code == 2
    # The checkpoint in the log at 12 sealed 11: the rows after the one at 6 are in doubt.
    own = run(SERVICE, "--public-key", deployment.public_key)
    assert own.exit_code == 1, own.output
    assert "fakesvc: BROKEN at position 6: a row between positions 6 and 11 was rewritten" in own.stdout
    assert "(5 events before it are intact)" in own.stdout
    # The feed a subscriber kept pins it to the row.
    pinned = run(SERVICE, "--checkpoints", deployment.feed, "--public-key", deployment.public_key)
    assert pinned.exit_code == 1
    assert "fakesvc: BROKEN at position 8: position 8 was rewritten" in pinned.stdout
    assert "feed.jsonl line 8" in pinned.stdout
    assert "verify failed for: fakesvc" in pinned.stderr


def test_truncate_and_rewind_is_named_by_the_checkpoints_kept_upstairs(deployment):
    deployment.rechain(SERVICE, 10, edit=False, delete_after=9)  # the checkpoint at 12 goes too
    alone = run(SERVICE, "--public-key", deployment.public_key)
    assert alone.exit_code == 0, alone.output  # what is left is sound, and sealed at 5
    kept = run(SERVICE, "--checkpoints", deployment.kept, "--public-key", deployment.public_key)
    assert kept.exit_code == 1, kept.output
    assert ("fakesvc: BROKEN at position 10: positions 10 to 11 are missing: the log ends at 9, "
            "but the checkpoint of upper.jsonl line 2 saw it reach position 11") in kept.stdout


def test_a_modified_gateway_row_is_named(deployment):
    deployment.tamper("gateway", "UPDATE {t} SET type = 'ApiKeyIssued' WHERE position = 3")
    result = run("--public-key", deployment.public_key)
    assert result.exit_code == 1, result.output
    assert "fakesvc: ok: 14 events" in result.stdout
    assert "gateway: BROKEN at position 3: position 3 was modified" in result.stdout
    assert "verify failed for: gateway" in result.stderr


def test_a_gateway_row_rewritten_with_the_chain_recomputed_is_named(deployment):
    deployment.rechain("gateway", 4)
    result = run("gateway", "--checkpoints", deployment.feed, "--public-key", deployment.public_key)
    assert result.exit_code == 1, result.output
    assert "gateway: BROKEN at position 4: position 4 was rewritten" in result.stdout
    # Its own checkpoints alone: the one at 6 (sealing 5) no longer matches.
    alone = run("gateway", "--public-key", deployment.public_key)
    assert "gateway: BROKEN at position 1: a row between positions 1 and 5" in alone.stdout


def test_a_log_gone_whole_is_named_when_checkpoints_name_it(deployment):
    if deployment.prefix:
        deployment.drop()
    else:
        for path in (deployment.data / "gateway").glob("events.sqlite*"):
            path.unlink()
    result = run("gateway", "--checkpoints", deployment.feed, "--public-key", deployment.public_key)
    assert result.exit_code == 1, result.output
    assert "gateway: BROKEN at position 1: there is no event store" in result.stdout


def test_a_checkpoints_file_that_is_not_one_is_refused_naming_the_line(deployment):
    bad = deployment.write("bad.jsonl", [{"hello": "world"}])
    result = run("--checkpoints", bad, "--public-key", deployment.public_key)
    assert result.exit_code == 2 and "bad.jsonl line 1" in result.output
