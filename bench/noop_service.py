"""The stack section's reference: nameko services that do nothing, run like the real ones.

    nameko run --config infra/nameko.yaml bench.noop_service:NoopService
    nameko run --config infra/nameko.yaml bench.noop_service:NoopHttpService

``bench_noop.noop`` is an RPC that returns at once. ``bench_noop_http`` answers ``GET /noop`` at
once, and ``GET /noop-rpc`` after one ``bench_noop.noop`` RPC: the shape of the gateway's
requests (HTTP in one process, RPC to a service in another).
"""

from __future__ import annotations

from nameko.rpc import RpcProxy, rpc
from nameko.web.handlers import http


class NoopService:
    name = "bench_noop"

    @rpc
    def noop(self) -> None:
        return None


class NoopHttpService:
    name = "bench_noop_http"

    noop_rpc = RpcProxy("bench_noop")

    @http("GET", "/noop")
    def http_noop(self, request) -> str:  # noqa: ANN001 - werkzeug request
        return ""

    @http("GET", "/noop-rpc")
    def http_noop_rpc(self, request) -> str:  # noqa: ANN001
        self.noop_rpc.noop()
        return ""
