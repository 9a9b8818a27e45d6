"""The web console: server-rendered pages (Jinja2) on the gateway's port, for the same accounts.

A page is a function of a ``Visit`` (the request, who is signed in, their language) registered
with ``@page``; it reads and writes only through the API's routes (``Visit.get``/``Visit.post``,
i.e. GatewayService.call_route): the same roles, validation, RPCs and refusals as a request to
``/api``, and the services check rights again. Every page works without JavaScript.

Sessions: logging in puts the gateway's own token in an HttpOnly, Secure, SameSite=Lax cookie
(the same lockout and throttles as ``POST /api/auth/login``); logging out ends the token's
session everywhere. Every form carries a CSRF token: an HMAC, under a key derived from the
gateway's token secret, of a random per-browser cookie and the session, checked on every POST.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import urlencode, urlsplit

import jinja2
from markupsafe import Markup
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from xieshang.kernel.envelope import Actor
from xieshang.kernel.messages import role_label

from ..auth import AuthError
from ..problems import Problem, auth_problem
from . import forms
from .words import FLASH, field_label, t, when

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION, CSRF, LANG, FLASH_COOKIE = "xs_session", "xs_csrf", "xs_lang", "xs_flash"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
                ".ico": "image/x-icon"}
ROLE_HOMES = {"staff": "/worklist", "member": "/mine", "unit": "/inbox", "leader": "/supervision",
              "auditor": "/audit", "public": "/public", "informant": "/opinions/mine", "admin": "/account"}
SERVICES = ("proposals", "members", "feedback", "notify")
NAME_READERS = frozenset({"staff", "auditor", "leader", "member", "unit"})  # the directory's readers


@dataclass(frozen=True)
class Page:
    rule: str
    methods: tuple[str, ...]
    roles: frozenset[str] | None       # None: anyone, signed in or not
    view: Callable[..., Response]


PAGES: list[Page] = []
# The menu of each role: (path, Chinese, English); pages add theirs with ``nav``
NAV: dict[str, list[tuple[str, str, str]]] = {}


def page(rule: str, *, methods: Iterable[str] = ("GET",), roles: Iterable[str] | None = None):
    """Register a page: ``view(visit, **rule_params) -> Response``; ``roles`` who may open it
    (others are sent to log in, or told they may not)."""
    def register(view: Callable[..., Response]) -> Callable[..., Response]:
        PAGES.append(Page(rule, tuple(methods), frozenset(roles) if roles is not None else None, view))
        return view
    return register


def nav(roles: Iterable[str], path: str, zh: str, en: str) -> None:
    for role in roles:
        entries = NAV.setdefault(role, [])
        if all(p != path for p, _, _ in entries):
            entries.append((path, zh, en))


class Refused(Exception):
    """A form's input refused (by the console's own check of the route's model, or by the
    service): the page shows ``message`` and each field's reason beside it."""

    def __init__(self, message: str, fields: dict[str, str] | None = None, status: int = 422):
        super().__init__(message)
        self.message, self.fields, self.status = message, fields or {}, status


class Console:
    """One per gateway container: the templates, the page map, the services' words."""

    def __init__(self, secure_cookies: bool = True):
        from . import pages  # noqa: F401 - the pages register themselves
        self.secure_cookies = secure_cookies
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                      autoescape=True, trim_blocks=True, lstrip_blocks=True)
        self.env.globals.update(field_label=field_label, when=when, t=t)
        self.map = Map([Rule(p.rule, methods=list(p.methods), endpoint=i) for i, p in enumerate(PAGES)],
                       strict_slashes=False)
        self._vocabulary: dict[str, dict[str, Any]] = {}

    # -- the services' words, asked once ------------------------------------------------------
    def vocabulary(self, gateway: Any, service: str) -> dict[str, Any]:
        if service not in self._vocabulary:
            try:
                words = gateway._call(service, "vocabulary", {})
            except Problem:  # not running yet: codes until it answers (never cached)
                return {}
            self._vocabulary[service] = words
        return self._vocabulary[service]

    # -- one request ---------------------------------------------------------------------
    def handle(self, gateway: Any, request: Request) -> Response:
        visit = Visit(self, gateway, request)
        try:
            if request.path.startswith("/static/"):
                return self.static(request.path[len("/static/"):])
            try:
                index, params = self.map.bind_to_environ(request.environ).match()
            except NotFound:
                return visit.error(404, t(visit.lang, "页面不存在", "No such page"),
                                   t(visit.lang, "没有这个页面，请从菜单进入。", "There is no such page: use the menu."))
            except MethodNotAllowed:
                return visit.error(405, t(visit.lang, "不支持此操作", "Not allowed"),
                                   t(visit.lang, "此页面不接受这种请求。", "This page does not take this request."))
            found = PAGES[index]
            if found.roles is not None:
                if visit.actor is None:
                    return visit.redirect("/login?" + urlencode({"next": request.full_path.rstrip("?")}))
                if visit.actor.role not in found.roles:
                    return visit.error(403, t(visit.lang, "无权访问", "Not allowed"),
                                       t(visit.lang, f"{visit.role_name}无权查看此页面。",
                                         f"A {visit.role_name} may not open this page."))
            if request.method == "POST" and not visit.csrf_ok():
                return visit.error(400, t(visit.lang, "表单已过期", "The form has expired"),
                                   t(visit.lang, "表单已过期或来源不明，请返回、刷新页面后重试。",
                                     "The form expired or did not come from this site: go back, reload "
                                     "the page and try again."))
            return visit.finish(found.view(visit, **params))
        except Problem as problem:
            if problem.status == 401:
                return visit.signed_out()
            return visit.problem_page(problem)
        except Exception:  # a bug must not show a traceback
            log.exception("console page %s %s failed (request id %s)", request.method, request.path,
                          visit.request_id)
            return visit.error(500, t(visit.lang, "出错了", "Something went wrong"),
                               t(visit.lang, f"页面处理失败，报告时请附上请求编号 {visit.request_id}。",
                                 f"The page failed; quote the request id {visit.request_id}."))

    def static(self, name: str) -> Response:
        path = (HERE / "static" / name).resolve()
        if HERE / "static" not in path.parents or not path.is_file() or path.suffix not in STATIC_TYPES:
            return Response("not found", status=404, content_type="text/plain; charset=utf-8")
        return Response(path.read_bytes(), content_type=STATIC_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=3600"})


class Visit:
    """One request to the console: who, in which language, and the ways to answer."""

    def __init__(self, console: Console, gateway: Any, request: Request):
        self.console, self.gateway, self.request = console, gateway, request
        self.request_id = str(uuid.uuid4())
        chosen = request.cookies.get(LANG)
        self.lang = chosen if chosen in ("zh", "en") else "zh"
        self._set_cookies: list[tuple[str, str, dict[str, Any]]] = []
        self.token = request.cookies.get(SESSION) or None
        self.actor: Actor | None = None
        self._ended = False
        if self.token and gateway.accounts is not None:
            try:
                self.actor = gateway.accounts.authenticate({"Authorization": f"Bearer {self.token}"})
            except AuthError:
                self.token, self._ended = None, True  # expired or ended: log in again
        self.browser_key = request.cookies.get(CSRF) or ""
        if len(self.browser_key) < 32:
            self.browser_key = secrets.token_urlsafe(32)
            self.set_cookie(CSRF, self.browser_key, samesite="Strict")
        self._names: dict[str, str] = {}

    # -- who and in which words ------------------------------------------------------------
    @property
    def role_name(self) -> str:
        en, zh = role_label(self.actor.role if self.actor else "public")
        return zh if self.lang == "zh" else en

    @property
    def me(self) -> str:
        """The signed-in person's name, as their account gives it."""
        if self.actor is None:
            return ""
        try:
            return self.gateway.accounts.account(self.actor.user_id).display_name or self.actor.user_id
        except Exception:  # an API key's system, or an account gone meanwhile
            return self.actor.user_id

    def t(self, zh: str, en: str) -> str:
        return t(self.lang, zh, en)

    def word(self, service: str, group: str, code: Any) -> str:
        """The word of a service's code (a state, an event, a category …), the code if unknown."""
        if code in (None, ""):
            return ""
        label = self.console.vocabulary(self.gateway, service).get(group, {}).get(str(code))
        if label is None:
            return str(code)
        return label[1] if self.lang == "zh" else label[0]

    def words_of(self, service: str, group: str) -> Callable[[str, str], str]:
        return lambda _field, code: self.word(service, group, code)

    def names(self, ids: Iterable[str | None]) -> dict[str, str]:
        """The names of members, units and bodies by id (the proposals service's directory, as
        the visitor may read it), else of the account (staff, leaders: their display name);
        an id known to neither is left out (``name`` words it)."""
        wanted = sorted({i for i in ids if i and i not in self._names})
        if wanted and self.actor is not None and self.actor.role in NAME_READERS:
            for start in range(0, len(wanted), 400):
                found = self.get("/api/directory", ids=",".join(wanted[start:start + 400]))
                self._names.update({k: e["name"] for k, e in found.items() if e.get("name")})
            for i in wanted:
                if i not in self._names:
                    try:
                        account = self.gateway.accounts.account(i)
                    except Exception:  # no such account: not a person this console knows
                        continue
                    if account.display_name:
                        self._names[i] = account.display_name
        return self._names

    def name(self, some_id: str | None) -> str:
        """A member's, unit's or person's name; never their id."""
        if not some_id:
            return ""
        return self.names([some_id]).get(some_id) or self.t("相关单位或人员", "(unnamed)")

    # -- the API, as the visitor -------------------------------------------------------------
    def get(self, path: str, **query: Any) -> Any:
        return self.gateway.call_route(self.request, self.actor, "GET", path, query=query,
                                       request_id=self.request_id)

    def post(self, path: str, body: dict[str, Any] | None = None, method: str = "POST") -> Any:
        return self.gateway.call_route(self.request, self.actor, method, path, body=body or {},
                                       request_id=self.request_id)

    def submit(self, path: str, model: type, *, extra: dict[str, Any] | None = None,
               method: str = "POST") -> Any:
        """A form sent to the command at ``path`` (its body model ``model``): checked by the
        model first (Refused naming the fields, nothing sent), then sent; a service's refusal
        becomes Refused with its message and fields."""
        body = {**forms.body_from_form(model, self.request.form, self.request.form.getlist), **(extra or {})}
        errors = forms.check(model, body, self.lang)
        if errors:
            raise Refused(self.t(f"请检查：{forms.named_fields(errors, 'zh')}。",
                                 f"Check: {forms.named_fields(errors, 'en')}."), errors)
        try:
            return self.post(path, body, method)
        except Problem as problem:
            if problem.status == 401:
                raise
            fields = forms.refusal_fields(problem.extra.get("invalid_params"))
            message = problem.detail_zh if self.lang == "zh" else problem.detail
            raise Refused(message, fields, problem.status) from None

    def typed(self) -> dict[str, Any]:
        """What the visitor typed in the form just sent."""
        return forms.form_values(self.request.form, self.request.form.getlist)

    # -- answers ------------------------------------------------------------------------------
    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        flash = self.request.cookies.get(FLASH_COOKIE)
        if flash:
            self.set_cookie(FLASH_COOKIE, "", max_age=0)
        message = FLASH.get(flash or "", FLASH["done"]) if flash else None
        menu = NAV.get(self.actor.role, []) if self.actor else NAV.get("anonymous", [])
        menu = sorted(menu, key=lambda entry: entry[0] != self.home())  # where the role starts, first
        html = self.console.env.get_template(template).render(
            v=self, lang=self.lang, actor=self.actor, menu=menu, flash=self.t(*message) if message else None,
            csrf=Markup(f'<input type="hidden" name="csrf" value="{self.csrf_token()}">'),
            path=self.request.path, **context)
        return Response(html, status=status, content_type="text/html; charset=utf-8")

    def redirect(self, location: str, flash: str | None = None) -> Response:
        if flash:
            self.set_cookie(FLASH_COOKIE, flash, max_age=60)
        return Response("", status=303, headers={"Location": location})

    def error(self, status: int, title: str, message: str) -> Response:
        return self.finish(self.render("error.html", status=status, title=title, message=message))

    def problem_page(self, problem: Problem) -> Response:
        titles = {403: ("无权操作", "Not allowed"), 404: ("未找到", "Not found"), 409: ("状态已变化", "Conflict"),
                  422: ("填写有误", "Invalid input"), 429: ("请求过多", "Too many requests"),
                  503: ("服务暂不可用", "Service unavailable")}
        title = self.t(*titles.get(problem.status, ("出错了", "Error")))
        return self.error(problem.status, title, problem.detail_zh if self.lang == "zh" else problem.detail)

    def signed_out(self) -> Response:
        self.set_cookie(SESSION, "", max_age=0)
        return self.finish(self.redirect("/login?" + urlencode({"next": self.request.full_path.rstrip("?")})))

    def finish(self, response: Response) -> Response:
        for name, value, options in self._set_cookies:
            response.set_cookie(name, value, httponly=True, secure=self.console.secure_cookies, path="/",
                                **{"samesite": "Lax", **options})
        self._set_cookies.clear()
        if self._ended and self.actor is None and not any(c.startswith(f"{SESSION}=") for c in
                                                          response.headers.getlist("Set-Cookie")):
            response.delete_cookie(SESSION, path="/", secure=self.console.secure_cookies, httponly=True)
        response.headers["Content-Security-Policy"] = CSP
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def set_cookie(self, name: str, value: str, **options: Any) -> None:
        self._set_cookies.append((name, value, options))

    # -- sessions and CSRF -------------------------------------------------------------------
    def csrf_token(self) -> str:
        key = self.gateway.accounts.tokens.derived_key("console-csrf") if self.gateway.accounts else b"starting"
        return hmac.new(key, f"{self.browser_key}|{self.token or ''}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self) -> bool:
        origin = self.request.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc != self.request.host:
            return False
        sent = self.request.form.get("csrf", "")
        return bool(self.request.cookies.get(CSRF)) and hmac.compare_digest(sent, self.csrf_token())

    def begin_session(self, token: str) -> None:
        self.token = token
        self.set_cookie(SESSION, token)
        self.browser_key = secrets.token_urlsafe(32)  # a fresh CSRF secret for the new session
        self.set_cookie(CSRF, self.browser_key, samesite="Strict")

    def end_session(self) -> None:
        if self.token:
            try:
                self.gateway.accounts.logout({"Authorization": f"Bearer {self.token}"})
            except AuthError:
                pass  # already ended
        self.token, self.actor = None, None
        self.set_cookie(SESSION, "", max_age=0)

    def login(self, user_id: str, password: str) -> Actor:
        auth = self.gateway.accounts
        try:
            token, _expires, who = auth.login(user_id, password,
                                              auth.client_address(self.request.remote_addr, self.request.headers))
        except AuthError as exc:
            problem = auth_problem(exc)
            raise Refused(problem.detail_zh if self.lang == "zh" else problem.detail, {}, problem.status) from None
        self.begin_session(token)
        self.actor = who
        return who

    # -- helpers for pages -------------------------------------------------------------------
    def next_path(self, default: str) -> str:
        """A local path to go on to (never another site)."""
        wanted = self.request.values.get("next") or ""
        if wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted \
                and not wanted.startswith("/login"):
            return wanted
        return default

    def home(self) -> str:
        return ROLE_HOMES.get(self.actor.role, "/account") if self.actor else "/public"

    def query(self, name: str, default: str | None = None) -> str | None:
        value = self.request.args.get(name)
        return value if value not in (None, "") else default
