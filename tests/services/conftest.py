"""Fixtures for service tests on the real RabbitMQ.

Every test runs in its own RabbitMQ virtual host (nameko's ``rabbit_config`` fixture), so the
services keep their real names ("proposals", "members", …) and their real exchanges and
queues, and tests that run at the same time on the shared broker never see each other.
Each test's stores live under its own ``tmp_path``.
"""

from __future__ import annotations

import contextlib
import time
from typing import Callable

import eventlet
import pytest

from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import Actor
from xieshang.kernel.runtime import StoreHolder

STAFF = Actor("staff-001", "staff", "proposal-committee")
MEMBER = Actor("m-test-001", "member", "经济界")
UNIT = Actor("u-mzj-001", "unit", "mzj")


@pytest.fixture
def config(rabbit_config, tmp_path) -> dict:
    return {"AMQP_URI": rabbit_config["AMQP_URI"], "XIESHANG_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def rpc_as(config):
    """``rpc_as(actor, reason=None)``: a ClusterRpcProxy whose calls carry that actor."""
    from nameko.standalone.rpc import ClusterRpcProxy

    with contextlib.ExitStack() as stack:
        def open_as(actor: Actor, reason: str | None = None):
            ctx = CommandContext(actor=actor, reason=reason)
            return stack.enter_context(ClusterRpcProxy(config, context_data=ctx.to_context_data(),
                                                       timeout=15))
        yield open_as


def store_of(container):
    """The event store of a running container."""
    holder = next(e for e in container.extensions if isinstance(e, StoreHolder))
    return holder.store


def entrypoint_of(container, method_name: str):
    return next(e for e in container.entrypoints if e.method_name == method_name)


def wait_until(check: Callable[[], object], timeout: float = 10.0, what: str = "the condition"):
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what} (last value: {value!r})")
        eventlet.sleep(0.05)
