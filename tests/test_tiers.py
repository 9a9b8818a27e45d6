"""The test tiers stay honest: ``-m "not rabbit"`` leaves out every test that needs RabbitMQ,
``-m "not postgres"`` every test that needs PostgreSQL, and ``-m unit`` is only what runs in
process without any server (the marks are given in tests/conftest.py; see "Test tiers" in the
README).

The patterns below live at module level on purpose: tests/conftest.py looks at the names a test
function's code uses (one using the broker's URI or client is taken to need the broker).
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
DUMP = "XIESHANG_TIERS_DUMP"

# Top-level imports that mean "talks to the broker": every test of such a module must be rabbit.
BROKER_IMPORTS = re.compile(r"^(kombu|nameko\.standalone)(\.|$)")
BROKER_CLIENTS = re.compile(r"kombu|nameko\.standalone")
# What a module whose containers are declared broker-free must never name.
BROKER_WORDS = re.compile(r"AMQP|rabbit|kombu|nameko\.(standalone|rpc|events|messaging)|\brpc_as\b")

# A few tests whose tier is known, each reaching its tier by a different route, in modules that
# are quick to collect. Checked by really selecting with -m in a pytest of its own.
SAMPLE_FILES = ["tests/kernel/test_clock.py", "tests/kernel/test_consumer.py",
                "tests/kernel/test_esdb_unit.py", "tests/kernel/test_projection.py",
                "tests/kernel/test_store_backends.py", "tests/kernel/test_tamper.py",
                "tests/services/test_reactions.py"]
NEEDS_RABBIT = [
    "tests/services/test_reactions.py::test_a_filed_proposal_earns_its_proposer_points_exactly_once",
    "tests/kernel/test_projection.py::test_read_models_serve_a_query_after_a_write",
    "tests/kernel/test_consumer.py::test_list_names_a_missing_queue",
]
NEEDS_POSTGRES = [
    "tests/kernel/test_tamper.py::test_intact_log_verifies[postgresql]",
    "tests/kernel/test_tamper.py::test_verify_while_appending_green_threads",
    "tests/kernel/test_projection.py::test_catch_up_writes_rows_and_checkpoint_per_batch[postgres]",
    "tests/kernel/test_store_backends.py::TestPostgresStore::test_any_version",
]
NEEDS_ESDB = ["tests/kernel/test_store_backends.py::TestEsdbStore::test_any_version"]
STARTS_PROCESSES = ["tests/kernel/test_esdb_unit.py::test_module_imports_without_grpc"]
UNITS = [
    "tests/kernel/test_tamper.py::test_intact_log_verifies[sqlite]",
    "tests/kernel/test_projection.py::test_catch_up_writes_rows_and_checkpoint_per_batch[sqlite]",
    "tests/kernel/test_store_backends.py::TestSqliteStore::test_any_version",
    "tests/kernel/test_clock.py::test_two_containers_have_their_own_clocks",
]


def pytest_collection_finish(session):
    """Only when this module is loaded as a plugin (``-p tests.test_tiers``) by the check below:
    write the selected tests and their marks to the file named by XIESHANG_TIERS_DUMP."""
    path = os.environ.get(DUMP)
    if path:
        marks = {item.nodeid: sorted({m.name for m in item.iter_markers()}) for item in session.items}
        Path(path).write_text(json.dumps(marks))


def _top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    text = path.read_text(encoding="utf-8")
    if not BROKER_CLIENTS.search(text):  # the quick answer for most modules: no need to parse
        return names
    for node in ast.parse(text).body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_tests_of_this_run_are_in_their_tiers(request):
    """Over whatever this run selected (everything, or ``-m unit``, or ``-m "not rabbit"``…)."""
    from .conftest import BROKERLESS_CONTAINER_MODULES, RABBIT_FIXTURES, TIER_EXCLUDES

    selected = request.session.items
    talks_to_broker: dict[Path, bool] = {}
    for item in selected:
        marks = {m.name for m in item.iter_markers()}
        assert ("unit" in marks) == (not marks & set(TIER_EXCLUDES)), (item.nodeid, sorted(marks))
        path = Path(item.path).resolve()
        if path not in talks_to_broker:
            talks_to_broker[path] = any(BROKER_IMPORTS.match(n) for n in _top_level_imports(path))
        if talks_to_broker[path]:
            assert "rabbit" in marks, f"{item.nodeid}: its module imports the broker's client"
        relative = path.relative_to(TESTS).as_posix() if TESTS in path.parents else ""
        if relative not in BROKERLESS_CONTAINER_MODULES and set(item.fixturenames) & RABBIT_FIXTURES:
            assert "rabbit" in marks, f"{item.nodeid} uses nameko's broker fixtures"
    if request.config.getoption("markexpr") == "unit":
        assert all(item.get_closest_marker("unit") for item in selected)


def test_the_broker_free_container_modules_never_name_the_broker():
    from .conftest import BROKERLESS_CONTAINER_MODULES

    for relative in BROKERLESS_CONTAINER_MODULES:
        text = (TESTS / relative).read_text(encoding="utf-8")
        found = BROKER_WORDS.search(text)
        assert not found, f"tests/{relative} names {found.group(0)!r}: take it out of BROKERLESS_CONTAINER_MODULES"


def test_every_slow_test_listed_still_exists():
    from .conftest import SLOW_TESTS

    for entry in SLOW_TESTS:
        relative, _, rest = entry.partition("::")
        path = TESTS / relative
        assert path.is_file(), f"SLOW_TESTS names {entry!r}, but there is no tests/{relative}"
        if rest:
            names = {node.name for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
            assert rest.split("::")[0].split("[")[0] in names, f"SLOW_TESTS names {entry!r}: no such test"


def test_selecting_by_mark_leaves_out_what_needs_each_server(tmp_path):
    """A pytest of its own, collecting only, with ``-m "not rabbit"``: the tests known to need
    the broker are not selected, and every other sample carries the marks of its tier."""
    dump = tmp_path / "marks.json"
    # Plugins that play no part in collecting these modules are left out, to keep this quick.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "tests.test_tiers",
         "-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:anyio",
         "-m", "not rabbit", *SAMPLE_FILES],
        cwd=ROOT, env={**os.environ, DUMP: str(dump)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    selected = json.loads(dump.read_text())

    for nodeid in NEEDS_RABBIT:
        assert nodeid not in selected, f'{nodeid} needs RabbitMQ but -m "not rabbit" selects it'
    for expected, nodeids in (("postgres", NEEDS_POSTGRES), ("esdb", NEEDS_ESDB),
                              ("subprocess", STARTS_PROCESSES), ("unit", UNITS)):
        for nodeid in nodeids:
            assert nodeid in selected, f"{nodeid} is missing: renamed? update tests/test_tiers.py"
            assert expected in selected[nodeid], f"{nodeid} is not marked {expected}: {selected[nodeid]}"
            if expected != "unit":
                assert "unit" not in selected[nodeid], f"{nodeid} is in the fast tier"
    assert not [n for n, marks in selected.items() if "rabbit" in marks]


@pytest.mark.parametrize("expression", ["unit", "not rabbit", "not postgres"])
def test_the_documented_tiers_are_registered_markers(expression, request):
    registered = {line.split(":")[0].strip() for line in request.config.getini("markers")}
    words = set(re.findall(r"\w+", expression)) - {"not", "and", "or"}
    assert words <= registered
