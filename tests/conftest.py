"""Shared fixtures. Tests that need a server use the real one; each test makes its own ids."""

from __future__ import annotations

# Like `nameko test`: the services run on eventlet, so the tests do too.
import eventlet
import eventlet.debug

eventlet.monkey_patch()
# A green thread left waiting on a PostgreSQL connection that another one closed (libpq closes the
# socket without telling eventlet's hub) keeps that descriptor's number registered, and the next
# connection given the number was refused as a "second simultaneous read" (seen now and then in
# the kernel's PostgreSQL tests). The stale waiter only polls its own closed connection and ends
# with that error, so a second reader of the number is harmless here.
eventlet.debug.hub_prevent_multiple_readers(False)

import os  # noqa: E402
import uuid

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from xieshang.kernel.greening import cooperate_with_eventlet  # noqa: E402
from xieshang.kernel.envelope import Actor, Deployment, NewEvent

cooperate_with_eventlet()

PG_URL = os.environ.get("XIESHANG_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
AMQP_URI = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")

DEPLOYMENT = Deployment("640200", "city")
STAFF = Actor("staff-001", "staff", "proposal-committee")


def unique(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def new_event(type_: str = "Something", **data) -> NewEvent:
    return NewEvent(type=type_, data=data or {"n": 1}, actor=STAFF, reason="test")


@pytest.fixture
def pg_schema():
    """A fresh PostgreSQL schema, dropped afterwards."""
    schema = unique("xs")
    yield schema
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def views_engine(request, tmp_path):
    """A views database on SQLite or on PostgreSQL (a fresh schema, dropped afterwards), for the
    tests that must hold on both: (engine, schema; None on SQLite)."""
    from xieshang.kernel.store.sql import postgres_engine, sqlite_engine

    schema = None
    if request.param == "sqlite":
        engine = sqlite_engine(str(tmp_path / "views.sqlite"))
    else:
        engine, schema = postgres_engine(PG_URL), unique("xs")
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield engine, schema
    if schema:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


# -- test tiers ----------------------------------------------------------------------------------
# Every test is marked by what it needs (see the markers in pyproject.toml and "Test tiers" in the
# README), so that ``-m "not rabbit"`` / ``-m "not postgres"`` run without that server and
# ``-m unit`` is the fast in-process tier. The marks come from:
#   1. the fixtures a test uses (``item.fixturenames`` is the transitive closure, so the services'
#      ``config`` and ``rpc_as``, which take nameko's ``rabbit_config``, count as rabbit);
#   2. the parameter a test runs with (a "postgres"/"postgresql" store backend);
#   3. the names the code of the test function and of the unparametrized fixtures it uses (those
#      defined under tests/) refers to: AMQP_URI, kombu, nameko.standalone → rabbit; PG_URL,
#      psycopg2, postgres_engine → postgres; ESDB_URI → esdb; subprocess, Popen → subprocess
#      (CODE_SIGNS);
#   4. SLOW_TESTS below → slow;
#   5. explicit ``pytestmark``/decorator marks, for what none of that can see (a helper that
#      connects or starts a process).
# ``unit`` is then every test with none of the marks below in TIER_EXCLUDES.

import inspect  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

TESTS_DIR = Path(__file__).resolve().parent

RABBIT_FIXTURES = frozenset({
    "rabbit_config", "rabbit_manager", "vhost_pipeline", "rabbit_ssl_config", "amqp_uri",
    "get_message_from_queue", "container_factory", "runner_factory",
})
POSTGRES_FIXTURES = frozenset({"pg_schema"})
POSTGRES_PARAMS = frozenset({"postgres", "postgresql"})
# Modules whose nameko containers have only in-process entrypoints (``dummy``) and get no
# AMQP_URI: ``container_factory`` there needs no broker. tests/test_tiers.py checks that these
# modules never name the broker.
BROKERLESS_CONTAINER_MODULES = frozenset({"kernel/test_clock.py"})
# Names a test's code (or a fixture's) uses that mean it needs a server or starts processes.
CODE_SIGNS = {
    "rabbit": re.compile(r"AMQP_URI|kombu(\..*)?|nameko\.standalone(\..*)?|(Cluster|Service)RpcProxy"),
    "postgres": re.compile(r"PG_URL|psycopg2?(\..*)?|postgres_engine"),
    "esdb": re.compile(r"ESDB_URI"),
    "subprocess": re.compile(r"subprocess|Popen|multiprocessing(\..*)?|fork|posix_spawnp?"),
}
TIER_EXCLUDES = ("rabbit", "postgres", "esdb", "slow", "subprocess")
# Tests (node ids relative to tests/, or a prefix of them) that are genuinely slow although they
# need no server: they stay as they are and leave the fast tier. tests/test_tiers.py checks that
# every entry still names a test.
SLOW_TESTS = (
    # Each builds the 305-member 鹿城 committee (its tree, then the roster written to XLSX and
    # read back), 1-2 s a test.
    "services/test_members_views.py::",
    # Each renders a year's report (matplotlib charts as PNG, an XLSX workbook, CSVs) from the
    # year scenario's read models: 0.3-0.8 s a test, 3 s the module.
    "services/test_proposals_report.py::",
)

_code_signs_cache: dict[object, frozenset[str]] = {}


def _names_in(code) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if inspect.iscode(const):
            names |= _names_in(const)
    return names


def _signs_in(func) -> frozenset[str]:
    """The CODE_SIGNS among the names ``func``'s code uses (none for code outside tests/)."""
    code = getattr(inspect.unwrap(getattr(func, "__func__", func)), "__code__", None)
    if code is None:
        return frozenset()
    if code not in _code_signs_cache:
        names = _names_in(code) if TESTS_DIR in Path(code.co_filename).resolve().parents else set()
        _code_signs_cache[code] = frozenset(sign for sign, pattern in CODE_SIGNS.items()
                                            if any(pattern.fullmatch(name) for name in names))
    return _code_signs_cache[code]


def tier_marks(item) -> set[str]:
    """The tier marks ``item`` needs, from its fixtures, parameters and code (not its explicit marks)."""
    marks: set[str] = set()
    names = set(getattr(item, "fixturenames", ()))
    rabbit_fixtures = names & RABBIT_FIXTURES
    module = Path(item.path).resolve()
    relative = module.relative_to(TESTS_DIR).as_posix() if TESTS_DIR in module.parents else ""
    in_module = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else ""
    if relative and f"{relative}::{in_module}".startswith(SLOW_TESTS):
        marks.add("slow")
    if relative in BROKERLESS_CONTAINER_MODULES:
        rabbit_fixtures -= {"container_factory", "runner_factory"}
    if rabbit_fixtures:
        marks.add("rabbit")
    if names & POSTGRES_FIXTURES:
        marks.add("postgres")
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        values = {v for v in callspec.params.values() if isinstance(v, str)} | set(callspec.id.split("-"))
        if values & POSTGRES_PARAMS:
            marks.add("postgres")
    functions = [getattr(item, "obj", None)]
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    for name in names:
        for fixturedef in (getattr(fixtureinfo, "name2fixturedefs", {}) or {}).get(name, ()):
            # A parametrized fixture names every backend it can give ("sqlite" or PG_URL): its
            # parameter says which one this test gets (see above), not its code.
            if getattr(fixturedef, "params", None) is None:
                functions.append(getattr(fixturedef, "func", None))
    for func in functions:
        if func is not None:
            marks |= _signs_in(func)
    return marks


@pytest.hookimpl(tryfirst=True)  # before pytest's own hook deselects by -m
def pytest_collection_modifyitems(config, items):
    for item in items:
        have = {m.name for m in item.iter_markers()}
        for name in sorted(tier_marks(item) - have):
            item.add_marker(name)
            have.add(name)
        if not have.intersection(TIER_EXCLUDES):
            item.add_marker("unit")
