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
import uuid
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

from xieshang.kernel.clock import clock_from_config
from xieshang.kernel.config import Settings, make_views_engine
from xieshang.kernel.context import CommandContext
from xieshang.kernel.domain import DomainError
from xieshang.kernel.envelope import Actor
from xieshang.kernel.runtime import EventStoreDependency, StoreHolder

from . import api, openapi
from .auth import AuthError, Authenticator
from .problems import Problem, from_refusal, invalid_input

log = logging.getLogger(__name__)

SERVICES = ("proposals", "members", "notify", "feedback")
HEALTH_TIMEOUT = 3.0
RPC_TIMEOUT = 10.0  # seconds, unless config XIESHANG_RPC_TIMEOUT says otherwise
MAX_BODY = 1_000_000
_REQUEST_ID_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


class _ProblemWsgiApp(WsgiApp):
    """nameko's WSGI app, but a request no route matches (a path werkzeug cannot even route,
    such as one with an encoded newline) gets a problem+json answer, not werkzeug's HTML page."""

    def __call__(self, environ, start_response):
        try:
            self.url_map.bind_to_environ(environ).match()
        except HTTPException as exc:
            request_id = _request_id(Request(environ, shallow=True))
            headers = {"Allow": ", ".join(exc.valid_methods)} if isinstance(exc, MethodNotAllowed) \
                and exc.valid_methods else None
            problem = Problem(exc.code or 404, "no such route" if exc.code == 404 else exc.description,
                              headers=headers)
            return problem.response(environ.get("PATH_INFO", ""), request_id)(environ, start_response)
        return super().__call__(environ, start_response)


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
        self.auth = auth  # only now: workers see no accounts until the first admin exists

    def stop(self) -> None:
        if getattr(self, "engine", None) is not None:
            self.engine.dispose()

    def get_dependency(self, worker_ctx) -> Authenticator | None:
        # None until start() has finished: nameko starts extensions side by side, so the web
        # server may take a request before the accounts are ready (and the first admin exists)
        return getattr(self, "auth", None)


class GatewayService:
    """HTTP: the API of api.ROUTES, ``/openapi.json`` and ``/health``."""

    name = "gateway"
    publish_events = False

    proposals = RpcProxy("proposals")
    members = RpcProxy("members")
    notify = RpcProxy("notify")
    feedback = RpcProxy("feedback")
    act_as = CallContext()
    config = Config()
    store = EventStoreDependency()   # the gateway's own, private log (accounts, API keys)
    accounts = Accounts()

    _map = Map([Rule(r.path, methods=[r.method], endpoint=i) for i, r in enumerate(api.ROUTES)],
               strict_slashes=False)
    _openapi = json.dumps(openapi.document(), ensure_ascii=False)

    # -- plain endpoints ------------------------------------------------------------------
    @http("GET", "/health")
    def health(self, request: Request) -> Response:
        """Asks every service for its health in parallel; 200 if all answer in time, else 503."""
        pool = eventlet.GreenPool(len(SERVICES))
        checks = dict(zip(SERVICES, pool.imap(self._check, SERVICES)))
        checks["gateway"] = {"ok": self.accounts is not None, **(
            {} if self.accounts is not None else {"error": "starting: accounts not ready"})}
        ok = all(c["ok"] for c in checks.values())
        return _json({"status": "ok" if ok else "degraded", "services": checks}, 200 if ok else 503)

    @http("GET", "/openapi.json")
    def openapi_document(self, request: Request) -> Response:
        return Response(self._openapi, content_type="application/json; charset=utf-8")

    @http("GET,POST,PUT,DELETE,PATCH", "/api/<path:path>")
    def api(self, request: Request, path: str) -> Response:
        return self.handle(request)

    # -- the one path every API request takes -------------------------------------------------
    def handle(self, request: Request) -> Response:
        request_id = _request_id(request)
        try:
            try:
                index, params = self._map.bind_to_environ(request.environ).match()
            except NotFound:
                raise Problem(404, f"no such route: {request.method} {request.path}") from None
            except MethodNotAllowed as exc:
                raise Problem(405, f"{request.method} is not allowed on {request.path}; use "
                                   f"{', '.join(exc.valid_methods or [])}",
                              headers={"Allow": ", ".join(exc.valid_methods or [])}) from None
            route = api.ROUTES[index]
            actor = self._caller(request, route)
            kwargs = {**params, **self._input(request, route)}
            for old, new in route.rename:
                if old in kwargs:
                    value = kwargs.pop(old)
                    if value is not None:
                        kwargs[new] = value
            reason = on_behalf_of = None
            if route.body is not None and issubclass(route.body, api.Body):  # a service command
                reason, on_behalf_of = kwargs.pop("reason", None), kwargs.pop("on_behalf_of", None)
                if route.rpc in api.TAKES_REASON:  # the decision itself needs the reason too
                    kwargs["reason"] = reason
            if actor is not None:
                self.act_as(CommandContext(actor=actor, reason=reason, on_behalf_of=on_behalf_of,
                                           correlation_id=request_id))
            if route.service == "gateway":
                result = self._local(route.rpc, actor, request, kwargs)
            else:
                result = self._call(route.service, route.rpc, kwargs)
            response = _json(result, route.status, request_id)
            if route.roles is not None:  # answers for a signed-in caller: never kept by caches
                response.headers["Cache-Control"] = "no-store"
            return response
        except Problem as problem:
            return problem.response(request.path, request_id)
        except Exception:  # a bug here must not leak a traceback to the caller
            log.exception("request %s %s failed (request id %s)", request.method, request.path, request_id)
            return Problem(500, "the gateway failed to handle this request; quote the request id "
                                "when reporting it").response(request.path, request_id)

    def _caller(self, request: Request, route: api.Route) -> Actor | None:
        actor = self._authenticate(request)
        if route.roles is None:
            return actor
        if actor is None:
            raise Problem(401, "sign in first: send Authorization: Bearer <token> from "
                               "POST /api/auth/login, or an X-API-Key", headers={"WWW-Authenticate": "Bearer"})
        if actor.role not in route.roles:
            raise Problem(403, f"a {actor.role} may not {route.summary[0].lower() + route.summary[1:]}",
                          missing=f"one of the roles {', '.join(sorted(route.roles))}")
        return actor

    def _authenticate(self, request: Request) -> Actor | None:
        if self.accounts is None:
            raise Problem(503, "the gateway is starting; try again in a moment", headers={"Retry-After": "1"})
        try:
            return self.accounts.authenticate(request.headers)
        except AuthError as exc:
            raise Problem(exc.status, str(exc), code=exc.code, headers=exc.headers()) from None

    # -- the gateway's own routes: accounts, tokens, API keys ---------------------------------
    def _local(self, handler: str, actor: Actor | None, request: Request, kwargs: dict[str, Any]) -> Any:
        auth = self.accounts
        if auth is None:
            raise Problem(503, "the gateway is starting; try again in a moment", headers={"Retry-After": "1"})
        try:
            if handler == "login":
                token, expires_at, who = auth.login(kwargs["user_id"], kwargs["password"],
                                                    request.remote_addr)
                return {"token": token, "token_type": "Bearer", "expires_at": expires_at.isoformat(),
                        "actor": who.to_dict()}
            if handler == "me":
                return actor.to_dict()
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
            raise Problem(exc.status, str(exc), code=exc.code, headers=exc.headers()) from None
        except DomainError as exc:
            raise from_refusal(type(exc).__name__, str(exc), exc.to_dict()) from None

    def _input(self, request: Request, route: api.Route) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if route.query is not None:
            values.update(_validated(route.query, _query_dict(request, route.query), "query"))
        elif request.args:
            raise Problem(422, f"{request.path} takes no query parameters",
                          invalid_params=[{"name": k, "reason": "unknown parameter"} for k in request.args])
        if route.body is not None:
            values.update(_validated(route.body, _json_body(request), "request body"))
        return values

    def _call(self, service: str, method: str, kwargs: dict[str, Any]) -> Any:
        proxy = getattr(self, service)
        timeout = float(self.config.get("XIESHANG_RPC_TIMEOUT") or RPC_TIMEOUT)
        try:
            with eventlet.Timeout(timeout):
                return getattr(proxy, method)(**kwargs)
        except eventlet.Timeout:
            raise Problem(503, f"the {service} service did not answer within {timeout:g} s; "
                               "try again shortly", headers={"Retry-After": "5"}) from None
        except UnknownService:
            raise Problem(503, f"the {service} service is not running", headers={"Retry-After": "5"}) from None
        except RemoteError as exc:
            if exc.exc_type in ("MethodNotFound", "IncorrectSignature", "MalformedRequest"):
                log.error("gateway and %s disagree on %s: %s", service, method, exc.value)
                raise Problem(500, f"the {service} service does not understand this request") from None
            if exc.exc_type not in _REFUSALS:
                log.error("%s.%s failed: %s", service, method, exc.exc_type)
                raise Problem(500, f"the {service} service failed on this request") from None
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
    if 8 <= len(given) <= 128 and set(given) <= _REQUEST_ID_OK:
        return given
    return str(uuid.uuid4())


def _query_dict(request: Request, model: type[BaseModel]) -> dict[str, Any]:
    unknown = [k for k in request.args if k not in model.model_fields]
    if unknown:
        raise Problem(422, f"unknown query parameter(s): {', '.join(unknown)}",
                      invalid_params=[{"name": k, "reason": "unknown parameter"} for k in unknown])
    repeated = [k for k in request.args if len(request.args.getlist(k)) > 1]
    if repeated:
        raise Problem(422, f"query parameter(s) given twice: {', '.join(repeated)}",
                      invalid_params=[{"name": k, "reason": "given more than once"} for k in repeated])
    return dict(request.args)


def _json_body(request: Request) -> Any:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise Problem(413, f"the body is larger than {MAX_BODY} bytes")
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise Problem(415 if mimetype else 400, "send the body as application/json")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        raise Problem(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, f"the body is not valid JSON: {exc}") from None


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

