"""The gateway: the system's HTTP front door, a nameko service calling the others by RPC.

Every request goes through one path (``handle``): a request id (``X-Request-ID``, made up when
absent, returned, and the correlation id of the events the request causes); the route from
the table in api.py; who is calling (a bearer token or an API key, none for public routes); the
route's roles; the input validated by the route's models; one RPC with the caller as the
actor and a timeout; the answer as JSON, or a problem+json error (problems.py). The services
check rights again themselves. The OpenAPI document is served at ``/openapi.json``.

Accounts, tokens and API keys are the gateway's own (auth.py); their events stay in the
gateway's private log and are never published (``publish_events = False``).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from itertools import accumulate
from typing import Any

import eventlet
from nameko.dependency_providers import Config
from nameko.exceptions import RemoteError, UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from xieshang.kernel import anchoring
from xieshang.kernel.clock import clock_from_config
from xieshang.kernel.config import Settings, make_views_engine
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainError
from xieshang.kernel.envelope import Actor
from xieshang.kernel.integration import feed_page
from xieshang.kernel.messages import preferred_language
from xieshang.kernel.runtime import EventStoreDependency, StoreHolder

from . import api, domain, openapi
from .feed import FEED_SERVICES, BadCursor, read_feed
from .auth import AuthError, Authenticator, parse_api_key
from .idempotency import NOT_KEPT, SECRET_ANSWERS, Answer, Claim, IdempotencyKeys, fingerprint
from .problems import PROBLEM_TYPE, Problem, auth_problem, forbidden, from_refusal, invalid_input, route_action

log = logging.getLogger(__name__)

SERVICES = ("proposals", "members", "notify", "feedback")
HEALTH_TIMEOUT = 3.0
RPC_TIMEOUT = 10.0  # seconds, unless config XIESHANG_RPC_TIMEOUT says otherwise
MAX_BODY = 1_000_000
MAX_DEPTH = 32  # how deeply a body's arrays and objects may nest
_REQUEST_ID_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")
# On every answer (a JSON API: nothing to render, frame, sniff or refer from).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
PUBLIC_CACHE = "public, max-age=60"
HEALTH_READERS = frozenset({api.STAFF, api.ADMIN, api.AUDITOR})  # see each service's log head


class _ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, but a request no route matches (a path werkzeug cannot even route,
    such as one with an encoded newline) gets a problem+json answer, not werkzeug's HTML page;
    and every answer carries the security headers (and ``Cache-Control: no-store`` unless it
    says otherwise)."""

    def __call__(self, environ, start_response):
        start_response = _with_security_headers(start_response)
        try:
            self.url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            request_id = _request_id(Request(environ, shallow=True))
            headers = {"Allow": ", ".join(exc.valid_methods)} if isinstance(exc, MethodNotAllowed) \
                and exc.valid_methods else None
            problem = Problem(exc.code or 404, "no such route" if exc.code == 404 else exc.description,
                              detail_zh="没有这个路由" if exc.code == 404 else None, headers=headers)
            return problem.response(environ.get("PATH_INFO", ""), request_id,
                                    preferred_language(environ.get("HTTP_ACCEPT_LANGUAGE")))(environ, start_response)
        return super().__call__(environ, start_response)


def _with_security_headers(start_response):
    def start(status, headers, exc_info=None):
        # a console page sets its own policy (its stylesheet, its forms); the rest are the API's
        own = [(k, v) for k, v in headers if k == "Content-Security-Policy"]
        headers = [(k, v) for k, v in headers if k not in SECURITY_HEADERS]
        headers += [(k, v) for k, v in SECURITY_HEADERS.items() if not (own and k == "Content-Security-Policy")]
        headers += own
        if not any(k.lower() == "cache-control" for k, _ in headers):
            headers.append(("Cache-Control", "no-store"))
        return start_response(status, headers, exc_info)
    return start


class _ProblemWebServer(WebServer):
    def get_wsgi_app(self):
        return _ProblemWsgiApp(self)


class _Http(HttpRequestHandler):
    server = _ProblemWebServer()


http = _Http.decorator


class CallContext(DependencyProvider):
    """Lets a worker say who the RPCs it makes are for: the actor and correlation id travel as
    nameko context data (xieshang.kernel.context)."""

    def get_dependency(self, worker_ctx):
        def act_as(ctx: CommandContext) -> None:
            worker_ctx.data.update(ctx.to_context_data())
        return act_as


class Accounts(DependencyProvider):
    """One Authenticator per container (its throttle and account cache are per instance; the
    accounts themselves are events in the gateway's private log, shared by all instances)."""

    holder = StoreHolder()

    def start(self) -> None:
        # built in start(): the StoreHolder's store is ready only then
        config = self.container.config
        self.engine, schema = make_views_engine(Settings.load(self.container.service_name, config))
        auth = Authenticator.from_config(config, self.holder.store, self.engine,
                                         clock_from_config(config), schema=schema)
        auth.ensure_admin_from_config(config)
        # the kept answers of idempotent commands, in the same database (shared by instances)
        self.idempotency = IdempotencyKeys.from_config(config, self.engine, clock_from_config(config),
                                                       schema=schema)
        self.auth = auth  # only now: workers see no accounts until the first admin exists

    def stop(self) -> None:
        if getattr(self, "engine", None) is not None:
            self.engine.dispose()

    def get_dependency(self, worker_ctx) -> Authenticator | None:
        # None until start() has finished: nameko starts extensions side by side, so the web
        # server may take a request before the accounts are ready (and the first admin exists)
        return getattr(self, "auth", None)


class Replays(DependencyProvider):
    """The kept answers of commands sent with an idempotency key (idempotency.py), in the views
    database the container's ``Accounts`` opens; None until it has started."""

    def get_dependency(self, worker_ctx) -> IdempotencyKeys | None:
        accounts = next((d for d in self.container.dependencies if isinstance(d, Accounts)), None)
        return getattr(accounts, "idempotency", None) if getattr(accounts, "auth", None) else None


class ConsolePages(DependencyProvider):
    """The web console (console/): its templates and page map, once per container."""

    def setup(self) -> None:
        from .console.app import Console
        secure = str(self.container.config.get("XIESHANG_CONSOLE_SECURE_COOKIES", "true")).lower()
        self.console = Console(secure_cookies=secure not in ("0", "false", "no", "off"))

    def get_dependency(self, worker_ctx):
        return self.console


class GatewayService:
    """HTTP: the API of api.ROUTES, ``/openapi.json``, ``/health`` and the web console (every
    other path: console/)."""

    name = "gateway"
    publish_events = False
    # this log's checkpoints to the upper level, where one is linked (ADR 0012)
    checkpoints_up = anchoring.checkpoint_outbox()
    publication = domain.events.PUBLICATION  # only its checkpoints leave it (ADR 0012)

    proposals = RpcProxy("proposals")
    members = RpcProxy("members")
    notify = RpcProxy("notify")
    feedback = RpcProxy("feedback")
    act_as = CallContext()
    config = Config()
    store = EventStoreDependency()   # the gateway's own, private log (accounts, API keys)
    accounts = Accounts()
    replays = Replays()
    console = ConsolePages()

    _map = Map([Rule(r.path, methods=[r.method], endpoint=i) for i, r in enumerate(api.ROUTES)],
               strict_slashes=False)
    _openapi = json.dumps(openapi.document(), ensure_ascii=False)

    # -- plain endpoints ------------------------------------------------------------------
    @http("GET", "/health")
    def health(self, request: Request) -> Response:
        """Asks every service for its health in parallel; 200 if all answer in time, else 503.
        Only the status, unless the caller signs in as staff, an administrator or an auditor:
        then each service's log head and errors too."""
        pool = eventlet.GreenPool(len(SERVICES))
        checks = dict(zip(SERVICES, pool.imap(self._check, SERVICES)))
        checks["gateway"] = {"ok": True, "head": self.store.head()} if self.accounts is not None \
            else {"ok": False, "error": "starting: accounts not ready"}
        ok = all(c["ok"] for c in checks.values())
        answer: dict[str, Any] = {"status": "ok" if ok else "degraded"}
        if self._may_read_health(request):
            answer["services"] = checks
        return _json(answer, 200 if ok else 503)

    def _may_read_health(self, request: Request) -> bool:
        if self.accounts is None:
            return False
        try:
            actor = self.accounts.authenticate(request.headers)
        except AuthError:  # a bad token here is no error: the status is public
            return False
        return actor is not None and actor.role in HEALTH_READERS

    @http("GET", "/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return Response(self._openapi, content_type="application/json; charset=utf-8",
                        headers={"Cache-Control": PUBLIC_CACHE})

    @http("GET", "/asyncapi.json")
    def asyncapi_document(self, request: Request) -> Response:
        """The AsyncAPI 3 document of the public events: the same as docs/integration/asyncapi.json
        (xieshang.kernel.schemas, ADR 0012)."""
        from xieshang.kernel.schemas import asyncapi_text
        return Response(asyncapi_text(FEED_SERVICES), content_type="application/json; charset=utf-8",
                        headers={"Cache-Control": PUBLIC_CACHE})

    @http("GET,POST,PUT,DELETE,PATCH", "/api/<path:path>")
    def api(self, request: Request, path: str) -> Response:
        return self.handle(request)

    @http("GET,POST", "/")
    def console_start(self, request: Request) -> Response:
        return self.console.handle(self, request)

    @http("GET,POST", "/<path:path>")
    def console_page(self, request: Request, path: str) -> Response:
        """The web console's pages (console/): every path that is not the API's."""
        return self.console.handle(self, request)

    # -- the one path every API request takes -------------------------------------------------
    def handle(self, request: Request) -> Response:
        request_id = _request_id(request)
        try:
            try:
                index, params = self._map.bind_to_environ(request.environ).match()
            except NotFound:
                raise Problem(404, f"no such route: {request.method} {request.path}",
                              detail_zh=f"没有这个路由：{request.method} {request.path}") from None
            except MethodNotAllowed as exc:
                raise Problem(405, f"{request.method} is not allowed on {request.path}; use "
                                   f"{', '.join(exc.valid_methods or [])}",
                              detail_zh=f"{request.path} 不接受 {request.method}，请使用 "
                                        f"{'、'.join(exc.valid_methods or [])}",
                              headers={"Allow": ", ".join(exc.valid_methods or [])}) from None
            route = api.ROUTES[index]
            actor = self._caller(request, route)
            body = _request_body(request, route)
            kwargs = {**params, **self._input(request, route, body)}
            claim = self._claim(request, route, actor, body)
        except Problem as problem:
            return problem.response(request.path, request_id, _language(request))
        except Exception:  # a bug here must not leak a traceback to the caller
            return _failed(request, request_id)
        if claim is not None and claim.outcome == "replay":
            return _replayed(claim.answer, request_id)
        response = self._answer(request, route, actor, kwargs, request_id)
        if claim is not None:
            self._keep(claim, route, request, response, request_id)
        return response

    def _answer(self, request: Request, route: api.Route, actor: Actor | None, kwargs: dict[str, Any],
                request_id: str) -> Response:
        try:
            response = _json(self._result(request, route, actor, kwargs, request_id), route.status, request_id)
            if route.roles is None and actor is None and not route.is_command:
                # the same for every anonymous caller: shared caches may keep it a minute
                response.headers["Cache-Control"] = PUBLIC_CACHE
                response.headers["Vary"] = "Authorization, X-API-Key, Accept-Language"
            else:  # answers for a signed-in caller, and commands: never kept by caches
                response.headers["Cache-Control"] = "no-store"
            return response
        except Problem as problem:
            return problem.response(request.path, request_id, _language(request))
        except Exception:  # a bug here must not leak a traceback to the caller
            return _failed(request, request_id)

    def _result(self, request: Request, route: api.Route, actor: Actor | None, kwargs: dict[str, Any],
                request_id: str) -> Any:
        """What the route answers, its input validated: one RPC (or the gateway's own handler)
        with the caller as the actor and the body's reason and on-whose-behalf; a Problem when
        it is refused."""
        for old, new in route.rename:
            if old in kwargs:
                value = kwargs.pop(old)
                if value is not None:
                    kwargs[new] = value
        for name in route.for_caller:  # "mine" unless the caller names another (the service checks)
            if kwargs.get(name) is None and actor is not None:
                kwargs[name] = actor.user_id
        reason = on_behalf_of = None
        if route.body is not None and issubclass(route.body, api.Body):  # a service command
            reason, on_behalf_of = kwargs.pop("reason", None), kwargs.pop("on_behalf_of", None)
            if route.rpc in api.TAKES_REASON:  # the decision itself needs the reason too
                kwargs["reason"] = reason
        if actor is not None:
            self.act_as(CommandContext(actor=actor, reason=reason, on_behalf_of=on_behalf_of,
                                       correlation_id=request_id))
        if route.service == "gateway":
            return self._local(route.rpc, actor, request, kwargs)
        return self._call(route.service, route.rpc, kwargs)

    def call_route(self, request: Request, actor: Actor | None, method: str, path: str, *,
                   query: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
                   request_id: str) -> Any:
        """The web console's way into the API: the route of ``method path`` taken exactly as a
        request to it would be (its roles, its models' validation, its RPC, its refusals), for
        the console's signed-in ``actor``. Raises Problem; query values that are empty are
        left out (an HTML form sends every field)."""
        try:
            index, params = self._map.bind("console").match(path, method)
        except NotFound:
            raise Problem(404, f"no such route: {method} {path}", detail_zh=f"没有这个路由：{method} {path}") from None
        route = api.ROUTES[index]
        self._check_role(route, actor)
        values: dict[str, Any] = {}
        if route.query is not None:
            values.update(_validated(route.query, {k: v for k, v in (query or {}).items()
                                                   if v not in (None, "")}, "query"))
        if route.body is not None:
            values.update(_validated(route.body, body or {}, "request body"))
        return self._result(request, route, actor, {**params, **values}, request_id)

    # -- idempotency keys (idempotency.py) --------------------------------------------------------
    def _claim(self, request: Request, route: api.Route, actor: Actor | None, body: Any) -> Claim | None:
        """The key this command was sent with, claimed for the caller; None when there is none
        (no key, not a command, no caller, or a login or a password in the body: NOT_KEPT)."""
        if not route.is_command or route.rpc in NOT_KEPT or actor is None:
            return None
        key, header = _idempotency_key(request)
        if key is None:
            return None
        keys = self.replays
        if keys is None:
            raise Problem(503, "the gateway is starting; try again in a moment",
                          detail_zh="网关正在启动，请稍后再试", headers={"Retry-After": "1"})
        claim = keys.claim(_scope(request, actor), key,
                           fingerprint(request.method, request.path, request.args.to_dict(flat=False), body,
                                       self._fingerprint_key()))
        if claim.outcome == "mismatch":
            raise Problem(422, f"this {header} was already used for a different request (another route "
                               "or body): use a new one", code="idempotency_key_reused",
                          detail_zh=f"该 {header} 已用于另一个请求（另一路由或另一请求体），请换一个新的。",
                          invalid_params=[{"name": header, "reason": "already used for another request"}])
        if claim.outcome == "running":
            raise Problem(409, f"a request with this {header} is still being handled; retry in a moment",
                          detail_zh=f"使用同一 {header} 的请求仍在处理中，请稍后重试。",
                          code="idempotency_key_in_progress",
                          headers={"Retry-After": "1"})
        return claim

    def _keep(self, claim: Claim, route: api.Route, request: Request, response: Response,
              request_id: str) -> None:
        """Keep the answer for the key, or forget the key when the answer says "try again"
        (a conflict, a throttle, a failure or a service that did not answer): the retry is then
        carried out. An answer carrying a secret is kept as "already issued" only."""
        keys = self.replays
        status = response.status_code
        try:
            if status >= 500 or status in (409, 429):
                keys.release(claim)
            elif route.rpc in SECRET_ANSWERS and status < 300:
                issued = json.loads(response.get_data())
                problem = Problem(409, "already issued; the key was shown once: if it was lost, revoke it "
                                       "and issue a new one", code="already_issued", key_id=issued.get("key_id"),
                                  detail_zh="已签发：密钥只在签发时显示一次；如已遗失，请吊销后重新签发。")
                keys.finish(claim, Answer(409, f"{PROBLEM_TYPE}; charset=utf-8",
                                          json.dumps(problem.body(request.path, request_id, _language(request)),
                                                     ensure_ascii=False)))
            else:
                keys.finish(claim, Answer(status, response.content_type, response.get_data(as_text=True)))
        except Exception:  # the answer stands; the key is retried once its lease runs out
            log.exception("could not keep the answer of request %s for its idempotency key", request_id)

    def _caller(self, request: Request, route: api.Route) -> Actor | None:
        actor = self._authenticate(request)
        self._check_role(route, actor)
        return actor

    @staticmethod
    def _check_role(route: api.Route, actor: Actor | None) -> None:
        if route.roles is None:
            return
        if actor is None:
            raise Problem(401, "sign in first: send Authorization: Bearer <token> from "
                               "POST /api/auth/login, or an X-API-Key",
                          detail_zh="请先登录：发送 POST /api/auth/login 所得的令牌（Authorization: Bearer <token>），"
                                    "或发送 X-API-Key", headers={"WWW-Authenticate": "Bearer"})
        if actor.role not in route.roles:
            raise forbidden(actor.role, route.roles, route_action(route.service, route.rpc, route.summary))

    def _fingerprint_key(self) -> bytes:
        return self.accounts.tokens.derived_key("idempotency-fingerprint")

    def _authenticate(self, request: Request) -> Actor | None:
        if self.accounts is None:
            raise Problem(503, "the gateway is starting; try again in a moment",
                          detail_zh="网关正在启动，请稍后再试", headers={"Retry-After": "1"})
        try:
            return self.accounts.authenticate(request.headers)
        except AuthError as exc:
            raise auth_problem(exc) from None

    # -- the gateway's own routes: accounts, tokens, API keys ---------------------------------
    def _local(self, handler: str, actor: Actor | None, request: Request, kwargs: dict[str, Any]) -> Any:
        auth = self.accounts
        if auth is None:
            raise Problem(503, "the gateway is starting; try again in a moment",
                          detail_zh="网关正在启动，请稍后再试", headers={"Retry-After": "1"})
        try:
            if handler == "login":
                token, expires_at, who = auth.login(kwargs["user_id"], kwargs["password"],
                                                    auth.client_address(request.remote_addr, request.headers))
                return {"token": token, "token_type": "Bearer", "expires_at": expires_at.isoformat(),
                        "actor": who.to_dict()}
            if handler == "me":
                return actor.to_dict()
            if handler == "verify_log":  # the gateway's own log, like every service's verify_log
                report = self.store.verify()
                return {"service": self.name, "ok": report.ok, "checked": report.checked,
                        "last_position": report.last_position,
                        "first_bad_position": report.first_bad_position, "problem": report.problem}
            if handler == "feed":
                return self._feed(kwargs)
            if handler == "get_account":  # an admin's view: status, lockout, recent failures
                return auth.account(kwargs["user_id"]).to_dict(auth.clock.now())
            if handler == "logout":
                return auth.logout(request.headers).to_dict()
            if handler == "sign_up":  # a resident opens their own account (no login)
                receipt = auth.sign_up(kwargs["user_id"], kwargs["display_name"], kwargs["password"],
                                       auth.client_address(request.remote_addr, request.headers))
                who = Actor(kwargs["user_id"], "public", "public")
                return {**receipt.to_dict(), **who.to_dict()}
            # Every account command answers the receipt of the stream it changed (in the
            # gateway's private log), with what it changed.
            if handler == "register":
                receipt = auth.register(actor, kwargs["user_id"], kwargs["role"], kwargs["organisation"],
                                        kwargs["display_name"], kwargs["password"])
                who = Actor(kwargs["user_id"], kwargs["role"], kwargs["organisation"])
                return {**receipt.to_dict(), **who.to_dict()}
            if handler == "issue_api_key":
                key_id, key, receipt = auth.issue_api_key(actor, kwargs["system"], kwargs["organisation"])
                return {**receipt.to_dict(), "key_id": key_id, "api_key": key, "system": kwargs["system"]}
            if handler == "revoke_api_key":
                return auth.revoke_api_key(actor, kwargs["key_id"], kwargs["reason"]).to_dict()
            if handler == "set_password":
                receipt = auth.set_password(actor, kwargs["user_id"], kwargs["password"])
            elif handler == "unlock":
                receipt = auth.unlock(actor, kwargs["user_id"])
            elif handler == "disable":
                receipt = auth.disable(actor, kwargs["user_id"], kwargs["reason"])
            else:
                raise KeyError(f"no gateway handler {handler!r}")
            return receipt.to_dict()
        except AuthError as exc:
            raise auth_problem(exc) from None
        except DomainError as exc:
            raise from_refusal(type(exc).__name__, str(exc), exc.to_dict()) from None

    def _feed(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``GET /api/feed``: every service's page of public events, merged (feed.py)."""
        types = [t.strip() for t in kwargs["types"].split(",") if t.strip()] if kwargs.get("types") else None
        limit = kwargs["limit"]

        def page_of(service: str, after: int) -> dict[str, Any]:
            if service == self.name:
                return feed_page(self.store, domain.events.PUBLICATION, after, types, limit)
            return self._call(service, "public_feed", {"after": after, "types": types, "limit": limit})

        try:
            return read_feed(kwargs.get("after"), types, limit, page_of,
                             eventlet.GreenPool(len(FEED_SERVICES)).imap)
        except BadCursor:
            raise Problem(422, "the cursor is not one this feed gave", detail_zh="after 不是本事件流给出的游标",
                          invalid_params=[{"name": "after", "reason": "not a cursor of this feed "
                                           "(use the next of a page) 不是有效游标"}]) from None

    def _input(self, request: Request, route: api.Route, body: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if route.query is not None:
            values.update(_validated(route.query, _query_dict(request, route.query), "query"))
        elif request.args:
            raise Problem(422, f"{request.path} takes no query parameters",
                          detail_zh=f"{request.path} 不接受查询参数",
                          invalid_params=[{"name": k, "reason": "unknown parameter"} for k in request.args])
        if route.body is not None:
            values.update(_validated(route.body, body, "request body"))
        return values

    def _call(self, service: str, method: str, kwargs: dict[str, Any]) -> Any:
        proxy = getattr(self, service)
        timeout = float(self.config.get("XIESHANG_RPC_TIMEOUT") or RPC_TIMEOUT)
        try:
            with eventlet.Timeout(timeout):
                return getattr(proxy, method)(**kwargs)
        except eventlet.Timeout:
            raise Problem(503, f"the {service} service did not answer within {timeout:g} s; "
                               "try again shortly", detail_zh=f"{service} 服务在 {timeout:g} 秒内未应答，请稍后再试", headers={"Retry-After": "5"}) from None
        except UnknownService:
            raise Problem(503, f"the {service} service is not running", detail_zh=f"{service} 服务未运行",
                          headers={"Retry-After": "5"}) from None
        except RemoteError as exc:
            if exc.exc_type in ("MethodNotFound", "IncorrectSignature", "MalformedRequest"):
                log.error("gateway and %s disagree on %s: %s", service, method, exc.value)
                raise Problem(500, f"the {service} service does not understand this request",
                              detail_zh=f"{service} 服务无法理解此请求") from None
            if exc.exc_type not in _REFUSALS:
                log.error("%s.%s failed: %s", service, method, exc.exc_type)
                raise Problem(500, f"the {service} service failed on this request",
                              detail_zh=f"{service} 服务处理此请求失败") from None
            details = dict(getattr(exc, "details", None) or {})
            if "after_position" in details.get("fields", {}):  # the caller knows it as wait_for
                details["fields"] = {("wait_for" if k == "after_position" else k): v
                                     for k, v in details["fields"].items()}
            raise from_refusal(exc.exc_type, exc.value, details) from None

    def _check(self, service: str) -> dict[str, Any]:
        proxy = getattr(self, service)
        try:
            with eventlet.Timeout(HEALTH_TIMEOUT):
                answer = proxy.health()
        except eventlet.Timeout:
            return {"ok": False, "error": f"no answer within {HEALTH_TIMEOUT:.0f} s"}
        except UnknownService:
            return {"ok": False, "error": "not running (no RPC queue)"}
        except Exception as exc:  # whatever went wrong is what the operator needs to read
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"ok": True, **answer}


_REFUSALS = {"InvalidCommand", "NotAllowed", "MissingActor", "WrongState", "ConcurrencyError",
             "NotFound", "NotYet", "DomainError"}


def _request_id(request: Request) -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if _valid_request_id(given) else str(uuid.uuid4())


def _valid_request_id(value: str) -> bool:
    return 8 <= len(value) <= 128 and set(value) <= _REQUEST_ID_OK


def _idempotency_key(request: Request) -> tuple[str | None, str | None]:
    """The command's idempotency key and the header it came in: ``Idempotency-Key``, else the
    caller's own ``X-Request-ID`` (one the gateway made up is no key)."""
    given = request.headers.get("Idempotency-Key")
    if given is not None:
        if not _valid_request_id(given):
            raise Problem(400, "the Idempotency-Key header must be 8 to 128 letters, digits or - _ . :",
                          detail_zh="Idempotency-Key 格式无效：须为 8 到 128 个字母、数字或 - _ . :",
                          code="bad_idempotency_key",
                          invalid_params=[{"name": "Idempotency-Key", "reason": "8 to 128 letters, digits "
                                                                                "or - _ . :"}])
        return given, "Idempotency-Key"
    request_id = request.headers.get("X-Request-ID", "")
    return (request_id, "X-Request-ID") if _valid_request_id(request_id) else (None, None)


def _scope(request: Request, actor: Actor) -> str:
    """Whose keys: an API key's (by its id), else the signed-in person's."""
    key_id, _ = parse_api_key(request.headers.get("X-API-Key", ""))
    return f"key:{key_id}" if key_id else f"user:{actor.user_id}"


def _replayed(answer: Answer, request_id: str) -> Response:
    return Response(answer.body, status=answer.status, content_type=answer.content_type,
                    headers={"X-Request-ID": request_id, "Idempotent-Replayed": "true",
                             "Cache-Control": "no-store"})


def _language(request: Request) -> str:
    """zh or en: the language of refusals, from Accept-Language (Chinese unless it prefers English)."""
    return preferred_language(request.headers.get("Accept-Language"))


def _failed(request: Request, request_id: str) -> Response:
    log.exception("request %s %s failed (request id %s)", request.method, request.path, request_id)
    return Problem(500, "the gateway failed to handle this request; quote the request id when reporting it",
                   detail_zh="网关处理此请求失败，报告时请附上请求编号。"
                   ).response(request.path, request_id, _language(request))


def _query_dict(request: Request, model: type[BaseModel]) -> dict[str, Any]:
    unknown = [k for k in request.args if k not in model.model_fields]
    if unknown:
        raise Problem(422, f"unknown query parameter(s): {', '.join(unknown)}",
                      detail_zh=f"未知的查询参数：{'、'.join(unknown)}",
                      invalid_params=[{"name": k, "reason": "unknown parameter"} for k in unknown])
    repeated = [k for k in request.args if len(request.args.getlist(k)) > 1]
    if repeated:
        raise Problem(422, f"query parameter(s) given twice: {', '.join(repeated)}",
                      detail_zh=f"查询参数重复：{'、'.join(repeated)}",
                      invalid_params=[{"name": k, "reason": "given more than once"} for k in repeated])
    return dict(request.args)


def _request_body(request: Request, route: api.Route) -> Any:
    """A command's body as a JSON object, read whatever its framing (Content-Length or chunked),
    strictly: at most MAX_BODY bytes of UTF-8 JSON (no byte order mark, no duplicate key, no
    NaN, nested at most MAX_DEPTH deep). A route with a body model needs an object (``{}`` when
    every field is optional); a command without one takes no body (or ``{}``). None for a query."""
    if not route.is_command:
        return None
    raw = _read_body(request)
    if route.body is None:
        if raw and _json_value(request, raw) != {}:
            raise Problem(400, f"{request.method} {request.path} takes no body: send none (or {{}})",
                          detail_zh=f"{request.method} {request.path} 不接受请求体：请不要发送（或发送 {{}}）",
                          code="unexpected_body")
        return {}
    if not raw:
        raise Problem(400, "the body is empty: send a JSON object ({} when every field is optional)",
                      detail_zh="请求体为空：请发送一个 JSON 对象（各字段均可省略时发送 {}）", code="empty_body", invalid_params=[{"name": "body", "reason": "empty"}])
    value = _json_value(request, raw)
    if not isinstance(value, dict):
        raise Problem(400, f"the body must be a JSON object, not {_json_kind(value)}",
                      detail_zh="请求体必须是 JSON 对象",
                      code="body_not_an_object",
                      invalid_params=[{"name": "body", "reason": "not a JSON object"}])
    return value


def _read_body(request: Request) -> bytes:
    """The body's bytes, at most MAX_BODY of them (413 beyond): never more than MAX_BODY + 1
    bytes are read from the stream, also when the length is not announced (chunked)."""
    too_large = Problem(413, f"the body is larger than {MAX_BODY} bytes", detail_zh=f"请求体超过 {MAX_BODY} 字节",
                        invalid_params=[{"name": "body", "reason": f"more than {MAX_BODY} bytes"}])
    length = request.content_length  # None when chunked or not given
    if length is not None and length > MAX_BODY:
        raise too_large
    stream = request.environ.get("wsgi.input")
    streaming = "chunked" in request.headers.get("Transfer-Encoding", "").lower() \
        or request.environ.get("wsgi.input_terminated")
    if stream is None or (length is None and not streaming):
        return b""  # neither a length nor chunks: no body (RFC 9112, 6.3)
    budget = MAX_BODY + 1 if length is None else length
    pieces, read = [], 0
    while read < budget:
        piece = stream.read(min(65536, budget - read))
        if not piece:
            break
        pieces.append(piece)
        read += len(piece)
    if read > MAX_BODY:
        raise too_large
    return b"".join(pieces)


class _DuplicateKey(Exception):
    pass


class _NotANumber(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return value


def _refuse_constant(name: str) -> Any:
    raise _NotANumber(name)


# JSON strings (escapes included), and what is not a bracket: dropped to count nesting. An
# unterminated string runs to the end (the closing quote is optional): required, a body of
# repeated '"\\' would be scanned to its end from every quote, quadratic time before any sign-in.
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _deeper_than(text: str, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` deep, counted without recursion
    (brackets inside strings do not count). Where the count dips below 0 the parser fails
    anyway, before it goes deeper, so the highest count bounds the parser's depth."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return len(brackets) > limit and max(accumulate(map(_STEP.__getitem__, brackets))) > limit


def _json_value(request: Request, raw: bytes) -> Any:
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise Problem(415 if mimetype else 400, "send the body as application/json (UTF-8)",
                      detail_zh="请以 application/json（UTF-8）发送请求体")
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise Problem(415, f"only UTF-8 JSON is accepted, not charset={charset[:40]}",
                      detail_zh=f"只接受 UTF-8 编码的 JSON，不接受 charset={charset[:40]}")
    if raw.startswith(b"\xef\xbb\xbf"):
        raise Problem(400, "the body starts with a byte order mark (BOM): send UTF-8 JSON without one",
                      detail_zh="请求体以字节序标记（BOM）开头：请发送不带 BOM 的 UTF-8 JSON", code="bad_encoding",
                      invalid_params=[{"name": "body", "reason": "starts with a byte order mark"}])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, f"the body is not UTF-8 (byte {exc.start}): send UTF-8 JSON",
                      detail_zh=f"请求体不是 UTF-8 编码（第 {exc.start} 字节）：请发送 UTF-8 JSON", code="bad_encoding",
                      invalid_params=[{"name": "body", "reason": "not UTF-8"}]) from None
    if _deeper_than(text, MAX_DEPTH):
        raise Problem(400, f"the body nests arrays and objects more than {MAX_DEPTH} deep",
                      detail_zh=f"请求体嵌套过深（数组和对象最多 {MAX_DEPTH} 层）", code="too_deep",
                      invalid_params=[{"name": "body", "reason": f"nested more than {MAX_DEPTH} deep"}])
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_refuse_constant)
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # a lone surrogate (\ud800) fails here
    except _DuplicateKey as exc:
        key = str(exc.args[0])[:100]
        raise Problem(400, f"the key \"{key}\" appears more than once in an object of the body",
                      detail_zh=f"请求体的同一对象中键 \"{key}\" 出现了不止一次", code="duplicate_key",
                      invalid_params=[{"name": key, "reason": "given more than once"}]) from None
    except _NotANumber as exc:
        raise Problem(400, f"{exc.args[0]} is not a JSON number", detail_zh=f"{exc.args[0]} 不是 JSON 数值",
                      code="not_json", invalid_params=[{"name": "body", "reason": f"{exc.args[0]}"}]) from None
    except UnicodeEncodeError:
        raise Problem(400, "the body contains an unpaired surrogate (\\ud800-\\udfff): not text",
                      detail_zh="请求体含有不成对的代理码位（\\ud800-\\udfff），不是有效文本", code="bad_encoding",
                      invalid_params=[{"name": "body", "reason": "unpaired surrogate"}]) from None
    except RecursionError:  # the count above should have caught it: never a 500 for a body
        raise Problem(400, f"the body nests too deep (at most {MAX_DEPTH})",
                      detail_zh=f"请求体嵌套过深（最多 {MAX_DEPTH} 层）",
                      code="too_deep") from None
    except ValueError as exc:
        raise Problem(400, f"the body is not valid JSON: {exc}", detail_zh=f"请求体不是有效的 JSON：{exc}",
                      code="not_json",
                      invalid_params=[{"name": "body", "reason": "not valid JSON"}]) from None
    return value


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _validated(model: type[BaseModel], data: Any, where: str) -> dict[str, Any]:
    if data is None:
        data = {}
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise invalid_input(exc.errors(include_url=False, include_context=False), where) from None
    return parsed.model_dump(mode="json", exclude_unset=False)


def _json(payload: Any, status: int = 200, request_id: str | None = None) -> Response:
    headers = {"X-Request-ID": request_id} if request_id else {}
    return Response(json.dumps(payload, ensure_ascii=False, default=str), status=status,
                    content_type="application/json; charset=utf-8", headers=headers)

