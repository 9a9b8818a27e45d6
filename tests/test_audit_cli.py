"""The audit commands on a temporary data dir holding a fake service's SQLite store."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tools import catalog
from tools.cli import main
from xieshang.kernel.envelope import Actor, NewEvent
from xieshang.kernel.store import verify as verify_module
from xieshang.kernel.store.sql import SqlEventStore, sqlite_engine

from .conftest import DEPLOYMENT, STAFF
from .kernel.test_projection import Tally

SERVICE = "fakesvc"
CHAIR = Actor("chair-007", "chair", "standing-committee")
# recorded_at of the three events (UTC): 10:00, 11:00 and 12:00 in Beijing time
TIMES = [datetime(2026, 5, 1, h, 0, tzinfo=timezone.utc) for h in (2, 3, 4)]


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("EVENT_STORE", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("XIESHANG_DATA_DIR", str(tmp_path / "data"))  # restored after the test
    monkeypatch.setattr(catalog, "SERVICES", [SERVICE, "emptysvc"])
    monkeypatch.setattr(catalog, "projections", lambda svc: [Tally()] if svc == SERVICE else [])
    monkeypatch.setattr(catalog, "state_folders", lambda svc: {})

    clock = iter(TIMES)
    store = SqlEventStore(sqlite_engine(str(tmp_path / "data" / SERVICE / "events.sqlite")), DEPLOYMENT,
                          clock=lambda: next(clock))
    store.append("motion-1", 0, [NewEvent("Drafted", {"title": "路灯维修", "status": "draft"}, STAFF,
                                          reason="citizen request")])
    store.append("motion-1", 1, [NewEvent("Amended", {"title": "路灯与人行道维修"}, CHAIR,
                                          on_behalf_of="member-042", reason="merged duplicate")])
    store.append("motion-1", 2, [NewEvent("Closed", {"status": "closed"}, CHAIR, reason="done")])
    store.close()
    return tmp_path / "data"


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_history_lists_every_event_with_who_and_why(data_dir):
    result = run("history", "motion-1", "--data-dir", str(data_dir))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["POSITION", "VERSION", "RECORDED_AT", "(UTC+8)"]
    assert "Drafted" in lines[1] and "citizen request" in lines[1] and "路灯维修" in lines[1]
    assert "2026-05-01 10:00:00" in lines[1]  # shown in Beijing time
    assert "chair-007 (chair, standing-committee)" in lines[2] and "member-042" in lines[2]
    assert "3 events of motion-1 in fakesvc" in result.stdout

    as_json = run("history", "motion-1", "--json", "--service", SERVICE)
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [(e["position"], e["version"], e["type"]) for e in events] == [
        (1, 1, "Drafted"), (2, 2, "Amended"), (3, 3, "Closed")]
    assert events[1]["actor"] == CHAIR.to_dict() and events[1]["on_behalf_of"] == "member-042"
    assert events[1]["recorded_at"] == "2026-05-01T03:00:00.000000Z"


def test_history_of_an_unknown_stream_exits_2(data_dir):
    result = run("history", "motion-404")
    assert result.exit_code == 2
    assert "no stream 'motion-404'" in result.output and "fakesvc" in result.output
    assert run("history", "motion-1", "--service", "nosuch").exit_code == 2


def test_as_of_replays_up_to_the_time(data_dir, monkeypatch):
    now = run("as-of", "motion-1", "2030-01-01")
    assert now.exit_code == 0, now.output
    state_now = json.loads(now.stdout)
    assert state_now["status"] == "closed" and state_now["version"] == 3

    # 11:30 without a zone is Beijing time: after the amendment, before closing.
    then = run("as-of", "motion-1", "2026-05-01T11:30")
    state_then = json.loads(then.stdout)
    assert state_then != state_now
    assert state_then == {**state_then, "title": "路灯与人行道维修", "status": "draft", "version": 2}
    assert state_then["last_event"]["type"] == "Amended"
    assert "2 of 3 events" in then.stderr

    # The same instant written in UTC; an instant exactly at an event includes it.
    assert json.loads(run("as-of", "motion-1", "2026-05-01T03:30Z").stdout) == state_then
    assert json.loads(run("as-of", "motion-1", "2026-05-01T10:00+08:00").stdout)["version"] == 1

    before = run("as-of", "motion-1", "2026-05-01T09:00")
    assert before.exit_code == 0 and before.stdout.strip() == "null"
    assert "did not exist yet" in before.stderr

    assert run("as-of", "motion-1", "yesterday").exit_code == 2


def test_as_of_uses_the_services_fold_when_it_has_one(data_dir, monkeypatch):
    monkeypatch.setattr(catalog, "state_folders", lambda svc: {
        "motion": lambda events: {"types": [e.type for e in events]}})
    result = run("as-of", "motion-1", "2026-05-01T11:30")
    assert json.loads(result.stdout) == {"types": ["Drafted", "Amended"]}


def test_verify_ok_and_on_a_tampered_copy(data_dir, tmp_path):
    ok = run("verify")
    assert ok.exit_code == 0, ok.output
    assert "fakesvc: ok: 3 events, last position 3" in ok.stdout
    assert "emptysvc: ok: 0 events" in ok.stdout
    assert run("verify", SERVICE).exit_code == 0

    copy = tmp_path / "tampered"
    shutil.copytree(data_dir, copy)
    db = sqlite3.connect(copy / SERVICE / "events.sqlite")
    db.execute("UPDATE events SET body = CAST(replace(CAST(body AS TEXT), '人行道', '广场') AS BLOB) "
               "WHERE position = 2")
    db.commit()
    db.close()

    bad = run("verify", "--data-dir", str(copy))
    assert bad.exit_code == 1
    assert "fakesvc: BROKEN at position 2" in bad.stdout
    assert "verify failed for: fakesvc" in bad.stderr
    assert run("verify", "nosuch").exit_code == 2


@pytest.mark.subprocess
def test_verify_in_several_processes(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(verify_module, "MIN_CHUNK", 1)  # three events: a process for each
    ok = run("verify", SERVICE, "--jobs", "3")
    assert ok.exit_code == 0, ok.output
    assert "fakesvc: ok: 3 events, last position 3" in ok.stdout

    copy = tmp_path / "tampered"
    shutil.copytree(data_dir, copy)
    db = sqlite3.connect(copy / SERVICE / "events.sqlite")
    db.execute("UPDATE events SET stream = 'motion-2' WHERE position = 3")
    db.commit()
    db.close()
    bad = run("verify", "--data-dir", str(copy), "-j", "2")
    assert bad.exit_code == 1
    assert "fakesvc: BROKEN at position 3: position 3 was modified: its indexed columns" in bad.stdout
    assert "(2 events before it are intact)" in bad.stdout

    refused = run("verify", "--jobs", "0")
    assert refused.exit_code == 2 and "--jobs" in refused.output


def test_rebuild_replays_the_projections_and_reports_speed(data_dir):
    result = run("rebuild")
    assert result.exit_code == 0, result.output
    assert "fakesvc: rebuilt tally: 3 events" in result.stdout and "events/s" in result.stdout
    assert "rebuilding tally [" in result.stderr and "100%" in result.stderr

    views = sa.create_engine(f"sqlite:///{data_dir / SERVICE / 'views.sqlite'}")
    with views.connect() as conn:
        assert conn.execute(sa.text("SELECT position FROM projection_checkpoints")).scalar() == 3
    views.dispose()

    assert run("rebuild", "tally", "--service", SERVICE).exit_code == 0
    missing = run("rebuild", "nosuch")
    assert missing.exit_code == 2 and "known: tally (fakesvc)" in missing.output
