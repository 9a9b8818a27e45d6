"""Logging in and out, the language, the visitor's own account, and where each role starts."""

from __future__ import annotations

from werkzeug.wrappers import Response

from ..app import ROLE_HOMES, Refused, Visit, page

EVERYONE = tuple(ROLE_HOMES)


@page("/")
def start(v: Visit) -> Response:
    return v.redirect(v.home())


@page("/login", methods=("GET", "POST"))
def login(v: Visit) -> Response:
    nxt = v.next_path("")
    if v.request.method == "GET":
        if v.actor is not None:
            return v.redirect(nxt or v.home())
        return v.render("login.html", title=v.t("登录", "Log in"), next=nxt, user_id="", errors={},
                        refusal=None)
    user_id = (v.request.form.get("user_id") or "").strip()
    password = v.request.form.get("password") or ""
    errors = {}
    if not user_id:
        errors["user_id"] = v.t("必填", "required")
    if not password:
        errors["password"] = v.t("必填", "required")
    try:
        if errors:
            raise Refused(v.t("请填写用户名和密码。", "Enter your user name and password."), errors)
        v.login(user_id, password)
    except Refused as refused:
        return v.render("login.html", status=refused.status, title=v.t("登录", "Log in"), next=nxt,
                        user_id=user_id, errors=refused.fields, refusal=refused.message)
    return v.redirect(nxt or v.home(), flash="logged_in")


@page("/logout", methods=("POST",))
def logout(v: Visit) -> Response:
    v.end_session()
    return v.redirect("/login", flash="logged_out")


@page("/language", methods=("POST",))
def language(v: Visit) -> Response:
    chosen = v.request.form.get("lang")
    if chosen in ("zh", "en"):
        v.set_cookie("xs_lang", chosen, max_age=365 * 24 * 3600)
    return v.redirect(v.next_path("/"), flash="language")


@page("/account", methods=("GET", "POST"), roles=EVERYONE)
def account(v: Visit) -> Response:
    """Who I am, and a new password (the API's set_password: every session ends)."""
    refusal, errors = None, {}
    if v.request.method == "POST":
        new, again = v.request.form.get("password") or "", v.request.form.get("password_again") or ""
        try:
            if new != again:
                raise Refused(v.t("两次输入的新密码不一致。", "The two new passwords differ."),
                              {"password_again": v.t("与新密码不一致", "differs from the new password")})
            v.submit(f"/api/accounts/{v.actor.user_id}/password", _password_model(), method="PUT")
        except Refused as refused:
            refusal, errors = refused.message, refused.fields
        else:
            v.end_session()
            return v.redirect("/login", flash="password")
    me = v.get("/api/auth/me")
    return v.render("account.html", title=v.t("我的账户", "My account"), me=me, refusal=refusal, errors=errors,
                    status=422 if refusal else 200)


def _password_model():
    from ... import api
    return api.NewPassword
