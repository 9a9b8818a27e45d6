"""The README's first command: `infra/scripts/run.sh` brings up every service with the demo
committee on the real RabbitMQ, and the audit commands work on what it recorded.

It runs in its own RabbitMQ virtual host (nameko's ``rabbit_config``) and data directory, with
the gateway on a free port, so it shares the broker with the other tests safely.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from nameko.testing.utils import find_free_port

from tools.cli import main
from tools.demo import MEMBERS, PROPOSALS, feedback_events
from tools.stack import ADMIN_PASSWORD_FILE

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.rabbit, pytest.mark.slow]


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def wait_for_line(path: Path, text: str, proc: subprocess.Popen, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = path.read_text(errors="replace") if path.exists() else ""
        if text in out:
            return out
        if proc.poll() is not None:
            pytest.fail(f"run.sh exited with {proc.returncode} before printing {text!r}:\n{out}")
        time.sleep(0.2)
    pytest.fail(f"run.sh did not print {text!r} within {timeout} s:\n{path.read_text(errors='replace')}")


def started(command: list[str], amqp_uri: str, out: Path) -> subprocess.Popen:
    """``command`` (a stack's start) in the background against ``amqp_uri``, on its own SQLite
    stores whatever the caller's environment says, its output to ``out``."""
    env = {**os.environ, "AMQP_URI": amqp_uri}
    for key in ("EVENT_STORE", "DATABASE_URL", "XIESHANG_DATA_DIR"):
        env.pop(key, None)
    with open(out, "wb") as sink:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def stopped(proc: subprocess.Popen, timeout: float) -> None:
    """Ctrl-C, as a person stops it; a stack that does not stop within ``timeout`` fails."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise


@pytest.fixture
def stack(rabbit_config, tmp_path, monkeypatch):
    """run.sh in the background; yields (data dir, gateway base URL, its output so far)."""
    data = tmp_path / "data"
    port = find_free_port()
    out = tmp_path / "run.out"
    proc = started(["bash", "infra/scripts/run.sh", "--data-dir", str(data), "--web",
                    f"127.0.0.1:{port}"], rabbit_config["AMQP_URI"], out)
    try:
        text = wait_for_line(out, "READY", proc, timeout=120)
        monkeypatch.setenv("XIESHANG_DATA_DIR", str(data))
        monkeypatch.delenv("EVENT_STORE", raising=False)
        monkeypatch.delenv("DATABASE_URL", raising=False)
        yield data, f"http://127.0.0.1:{port}", text, proc, out
    finally:
        stopped(proc, 40)


def test_run_sh_brings_up_a_working_committee_and_stops_cleanly(stack):
    data, base, text, proc, out = stack
    anonymous = requests.get(f"{base}/health", timeout=10)
    assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}, anonymous.text
    # the first administrator's password: made up at the first start, kept owner-only, shown once
    kept = data / ADMIN_PASSWORD_FILE
    assert kept.stat().st_mode & 0o777 == 0o600 and kept.read_text().strip() in text
    admin = requests.post(f"{base}/api/auth/login", timeout=10,
                          json={"user_id": "admin", "password": kept.read_text().strip()})
    assert admin.status_code == 200, admin.text
    health = requests.get(f"{base}/health", timeout=10,
                          headers={"Authorization": f"Bearer {admin.json()['token']}"})
    assert health.status_code == 200, health.text
    services = health.json()["services"]
    assert set(services) == {"proposals", "members", "notify", "feedback", "gateway"}
    assert all(s["ok"] for s in services.values())
    services.pop("gateway")

    filed = [p for p in PROPOSALS if ("staff", "file_proposal", {}) in p.steps]
    published = [p for p in PROPOSALS if any(step[1] == "publish_proposal" for step in p.steps)]
    public = requests.get(f"{base}/api/public/proposals", timeout=10).json()["items"]
    assert sorted(r["title"] for r in public) == sorted(p.title for p in published)
    assert {r["reply_class"] for r in public} == {"A", "B"}
    assert not any("proposer" in r or "co_signers" in r for r in public)

    # Every service recorded the demo: the members service credited points for the filed
    # proposals and the notify service queued notices, both from the published events.
    assert services["proposals"]["head"] > len(PROPOSALS)
    assert services["members"]["head"] >= len(MEMBERS) + len(filed)
    assert services["notify"]["head"] > 0
    # the opinion reports with their steps, and the proposal converted into one (提案转社情民意)
    assert services["feedback"]["head"] == feedback_events()
    assert f"credited duty points for {len(filed)} filed proposals" in text

    # The README's first authenticated call: log in as the demo staff and read the worklist.
    from tools.demo import DEMO_PASSWORD, STAFF
    login = requests.post(f"{base}/api/auth/login", timeout=10,
                          json={"user_id": STAFF.user_id, "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.text
    worklist = requests.get(f"{base}/api/worklist", timeout=10,
                            headers={"Authorization": f"Bearer {login.json()['token']}"})
    assert worklist.status_code == 200 and worklist.json()["total"] == len(PROPOSALS)
    assert len(worklist.json()["items"]) == len(PROPOSALS) and worklist.json()["next_cursor"] is None

    # Ctrl-C stops every service process (run.sh execs `xieshang up`, whose children they are).
    children = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                               text=True).stdout.split()]
    assert len(children) == 5
    proc.send_signal(signal.SIGINT)
    assert proc.wait(40) == 0
    assert "stopped" in out.read_text()
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_audit_commands_work_on_the_demo_data(stack, tmp_path):
    data, _base, text, _proc, _out = stack
    stream = next(line.split()[0] for line in text.splitlines()
                  if line.strip().startswith("proposal-") and " closed " in line)

    history = cli("history", stream)
    assert history.exit_code == 0, history.output
    assert [t for t in ("ProposalSubmitted", "ProposalFiled", "ProposalAssigned", "ProposalReplied")
            if t in history.stdout] == ["ProposalSubmitted", "ProposalFiled", "ProposalAssigned",
                                        "ProposalReplied"]
    assert "staff-szs-001 (staff, proposal-committee)" in history.stdout and "demo data" in history.stdout

    as_json = cli("history", stream, "--json")
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    filed_at = next(e["recorded_at"] for e in events if e["type"] == "ProposalFiled")
    before_assignment = cli("as-of", stream, filed_at)
    assert before_assignment.exit_code == 0, before_assignment.output
    state = json.loads(before_assignment.stdout)
    assert state["status"] == "filed" and state["rounds"] == []
    now = cli("as-of", stream, "2100-01-01T00:00:00Z")
    assert json.loads(now.stdout)["status"] == "closed"

    verify = cli("verify")
    assert verify.exit_code == 0, verify.output
    for service in ("proposals", "members", "feedback", "notify"):
        assert f"{service}: ok:" in verify.stdout

    rebuild = cli("rebuild", "all")
    assert rebuild.exit_code == 0, rebuild.output
    assert "proposals: rebuilt worklist, unit_inbox" in rebuild.stdout and "events/s" in rebuild.stdout

    # The year-end report, internal and public (no proposer ids in the public one).
    from xieshang.kernel.clock import SHANGHAI, SystemClock
    this_year = str(SystemClock().today(SHANGHAI).year)
    for version in ("internal", "public"):
        made = cli("report", this_year, "--out", str(tmp_path / version),
                   *(["--public"] if version == "public" else []))
        assert made.exit_code == 0, made.output
        assert len(made.stdout.split()) == 5 and made.stdout.count(".png") == 2
    cases = (tmp_path / "public" / f"proposals-{this_year}-cases.csv").read_text(encoding="utf-8-sig")
    assert "关于提升星海湖湿地生态功能的提案" in cases and "m-szs-" not in cases
    assert "m-szs-003" in (tmp_path / "internal" / f"proposals-{this_year}-cases.csv").read_text(
        encoding="utf-8-sig")

    # A tampered copy of the proposals store fails verification, naming the position.
    copy = tmp_path / "tampered"
    shutil.copytree(data / "proposals", copy / "proposals", ignore=shutil.ignore_patterns("*.log"))
    db = sqlite3.connect(copy / "proposals" / "events.sqlite")
    position = db.execute("SELECT position FROM events WHERE stream = ? AND type = 'ProposalReplied'",
                          (stream,)).fetchone()[0]
    db.execute("UPDATE events SET body = replace(body, '\"on_time\":true', '\"on_time\":false') "
               "WHERE position = ?", (position,))
    assert db.total_changes == 1
    db.commit()
    db.close()
    broken = cli("verify", "proposals", "--data-dir", str(copy))
    assert broken.exit_code == 1
    assert f"BROKEN at position {position}" in broken.stdout


def test_operator_commands_on_the_running_demo(stack, rabbit_config, monkeypatch):
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    relay = cli("relay")
    assert relay.exit_code == 0, relay.output
    rows = {line.split()[0]: line.split() for line in relay.stdout.splitlines()[1:]}
    assert set(rows) == {"proposals", "members", "feedback", "notify"}
    for service, (_name, head, published, lag, *_state) in rows.items():
        assert int(head) > 0 and lag == "0" and published == head, relay.stdout

    queues = cli("dead-letters", "queues")
    assert queues.exit_code == 0, queues.output
    assert "evt-proposals-ProposalFiled--members.on_proposal_filed" in queues.stdout
    assert all(line.split()[-1] == "0" for line in queues.stdout.splitlines()[1:]), queues.stdout
    empty = cli("dead-letters", "list", "evt-proposals-ProposalFiled--members.on_proposal_filed")
    assert empty.exit_code == 0 and "0 dead letter(s)" in empty.stdout
    unknown = cli("dead-letters", "list", "no-such-queue")
    assert unknown.exit_code == 2 and "no dead-letter queue 'no-such-queue.dead'" in unknown.output


def test_up_without_a_broker_says_how_to_start_one(tmp_path, monkeypatch):
    port = find_free_port()  # nothing listens there
    monkeypatch.setenv("AMQP_URI", f"amqp://guest:secret@127.0.0.1:{port}/")
    result = cli("up", "--data-dir", str(tmp_path / "data"))
    assert result.exit_code == 3
    assert f"RabbitMQ is not reachable at amqp://guest:**@127.0.0.1:{port}" in result.output
    assert "rabbitmq-server -detached" in result.output and "AMQP_URI" in result.output
    assert "secret" not in result.output
    assert not (tmp_path / "data").exists()  # nothing was started or written


def test_up_with_upper_reports_up_and_the_instructions_come_back(rabbit_config, rabbit_manager, tmp_path):
    """`xieshang up --with-upper`: the region above the demo city runs as a deployment of its
    own (its own vhost and stores), linked by shovels; the demo's report goes up, is adopted,
    reported and instructed there, and the decisions come back to the city."""
    import uuid

    from tools.demo import DEMO_PASSWORD, STAFF, UPPER, UPPER_STAFF

    vhost = f"xieshang-upper-test-{uuid.uuid4().hex[:8]}"
    port, upper_port = find_free_port(), find_free_port()
    out = tmp_path / "up.out"
    proc = started([str(ROOT / ".venv" / "bin" / "xieshang"), "up", "--with-upper", "--data-dir",
                    str(tmp_path / "data"), "--web", f"127.0.0.1:{port}", "--upper-web",
                    f"127.0.0.1:{upper_port}", "--upper-vhost", vhost], rabbit_config["AMQP_URI"], out)
    try:
        text = wait_for_line(out, "READY", proc, timeout=180)
        assert "its decisions are back here" in text

        def statistics(base: str, user: str) -> dict:
            login = requests.post(f"{base}/api/auth/login", timeout=10,
                                  json={"user_id": user, "password": DEMO_PASSWORD})
            assert login.status_code == 200, login.text
            from datetime import datetime
            from zoneinfo import ZoneInfo
            year = datetime.now(ZoneInfo("Asia/Shanghai")).year
            answer = requests.get(f"{base}/api/opinion-statistics/{year}", timeout=10,
                                  headers={"Authorization": f"Bearer {login.json()['token']}"})
            assert answer.status_code == 200, answer.text
            return answer.json()

        city = statistics(f"http://127.0.0.1:{port}", STAFF.user_id)
        region = statistics(f"http://127.0.0.1:{upper_port}", UPPER_STAFF.user_id)
        assert city["reported"]["upper"] == {UPPER[0]: 1}
        outcomes = city["upper_outcomes"][UPPER[0]]
        assert (outcomes["adopted"], outcomes["reported"], outcomes["instructed"]) == (1, 1, 1)
        assert region["received_from_below"]["by_committee"] == {"640200": 1}
        assert (region["adopted"], region["instructed"]) == (1, 1)
        assert (tmp_path / "data" / "upper" / "feedback" / "events.sqlite").exists()
    finally:
        try:
            stopped(proc, 60)
        finally:
            rabbit_manager.delete_vhost(vhost)
