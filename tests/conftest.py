"""Shared fixtures. Tests that need a server use the real one; each test makes its own ids."""

from __future__ import annotations

# Like `nameko test`: the services run on eventlet, so the tests do too.
import eventlet

eventlet.monkey_patch()

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
