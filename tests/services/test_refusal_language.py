"""Refusals people can read (issue 11, item 17): every refusal is a sentence, names the real
state, and exists in Chinese (the default) and English (``Accept-Language: en``).

Before: the gateway's 403 pasted the route's summary after "may not" ("a public may not a case
as the caller may see it", "a member may not staff worklist with filters"); a second co-sign
confirmation said "in state 'answered'" while the case was submitted; and no refusal had Chinese.
"""

from __future__ import annotations

import ast
import pathlib
import re
from datetime import date

import pytest

from services.feedback.domain import submission as feedback_reports
from services.gateway import api
from services.gateway.domain import accounts as gateway_accounts
from services.gateway.domain.vocabulary import ACCOUNT_ROLES, ROUTE_ACTIONS, SUBSCRIBER
from services.gateway.problems import forbidden, route_action
from services.members.domain import access as members_access
from services.members.domain import vocabulary as members_vocabulary
from services.notify.domain import vocabulary as notify_vocabulary  # noqa: F401 (registers labels)
from services.proposals import domain as d
from services.proposals.domain import vocabulary as proposals_vocabulary
from xieshang.kernel.domain import InvalidCommand, NotAllowed, WrongState
from xieshang.kernel.envelope import Actor
from xieshang.kernel.messages import has_command_label, command_label, state_label

from . import test_gateway_http as http
from . import test_proposals_domain as pd

ROOT = pathlib.Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese(s: str) -> bool:
    return bool(CJK.search(s))


def english_sentence(s: str) -> bool:
    return bool(s) and not chinese(s) and bool(re.search(r"[a-z]{3,}", s))


# -- the wrong state: a second co-sign confirmation --------------------------------------------

def test_a_second_co_sign_confirmation_names_the_cases_real_state():
    s = pd.joint()
    s = pd.advance(s, pd.do(d.confirm_co_signature, pd.CO1, s, today=pd.DAY))
    with pytest.raises(WrongState) as err:
        pd.do(d.confirm_co_signature, pd.CO1, s, today=pd.DAY)
    assert err.value.state == "submitted"          # the case's state, not "answered"
    assert "in state 'submitted'" in str(err.value) and "already confirmed" in str(err.value)
    assert err.value.message_zh.startswith("当前状态为“已提交”，您已确认附议，不能确认附议")
    s = pd.advance(s, pd.do(d.decline_co_signature, pd.CO2, s, today=pd.DAY))
    with pytest.raises(WrongState) as declined:
        pd.do(d.confirm_co_signature, pd.CO2, s, today=pd.DAY)
    assert declined.value.state == "submitted" and "您已拒绝附议" in declined.value.message_zh


# -- a sample of refusals from every service, in both languages --------------------------------

def _refusals():
    s = pd.submitted()
    filed = pd.filed()
    yield "proposals WrongState", lambda: pd.do(d.file_proposal, pd.STAFF, filed, case_number="2024-002",
                                                today=pd.DAY)
    yield "proposals NotAllowed", lambda: pd.do(d.return_proposal, pd.MEMBER, s, reason="退回重写。")
    yield "proposals InvalidCommand", lambda: pd.submit(pd.MEMBER, None, "p9", **{**pd.SUBMISSION, "title": ""},
                                                        today=pd.DAY)
    yield "proposals access", lambda: d.require_cases_reader(pd.STRANGER, "m-001")
    yield "members NotAllowed", lambda: members_access.require_staff(
        Actor("m-001", "member", "经济界"), "appoint_member", "only committee staff appoint members")
    yield "members dossier", lambda: members_access.require_dossier_reader(Actor("u-1", "unit", "mzj"), "m-001")
    yield "gateway WrongState", lambda: gateway_accounts.register_account(
        Actor("admin", "admin", "admin"), gateway_accounts.Account(user_id="m-001", registered=True),
        "m-001", "member", "经济界", "王丽")
    yield "gateway NotAllowed", lambda: gateway_accounts.register_account(
        Actor("staff-1", "staff", "pc"), gateway_accounts.Account(user_id="a-1"), "a-1", "admin", "pc", "A")
    yield "feedback NotAllowed", lambda: feedback_reports.submit_opinion_report(
        Actor("u-1", "unit", "mzj"), "r1", None)


@pytest.mark.parametrize("name, refuse", list(_refusals()), ids=[n for n, _ in _refusals()])
def test_a_refusal_of_every_service_reads_as_a_sentence_in_chinese_and_english(name, refuse):
    with pytest.raises((WrongState, NotAllowed, InvalidCommand)) as err:
        refuse()
    e = err.value
    en, zh = e.to_dict()["message_en"], e.to_dict()["message_zh"]
    assert english_sentence(en), en
    assert chinese(zh) and zh != en, zh
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", en.split(":")[0]), f"a code, not words: {en}"
    assert not re.search(r"[a-z]+_[a-z_]+", zh.split("：")[0]), f"a code, not words: {zh}"
    if isinstance(e, WrongState):
        assert e.state in (*proposals_vocabulary.STATE_LABELS, "registered")
        assert f"“{state_label(e.state, e.command)[1]}”" in zh


# -- every command named in a refusal has words in both languages (scan of the source) ---------

def _sources():
    return sorted((ROOT / "services").rglob("*.py"))


def _command_names() -> dict[str, str]:
    """Every command name a WrongState or NotAllowed is raised with, directly or through a helper
    that takes a ``command``/``what`` argument, and every command a state allows: name -> where."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in _sources()}
    takes: dict[str, int] = {"WrongState": 0, "NotAllowed": 0}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                names = [a.arg for a in node.args.args]
                passed = {c.args[0].id for c in ast.walk(node) if isinstance(c, ast.Call)
                          and getattr(c.func, "id", None) in ("WrongState", "NotAllowed")
                          and c.args and isinstance(c.args[0], ast.Name)}
                for param in ("command", "what"):
                    if param in names and param in passed:  # a helper that raises with it
                        takes.setdefault(node.name, names.index(param))
    found: dict[str, str] = {}
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            if fn not in takes:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            index = takes[fn]
            args = list(node.args)
            value = args[index] if index < len(args) else next(
                (k.value for k in node.keywords if k.arg in ("command", "what")), None)
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found[value.value] = where
            if fn == "WrongState" and len(args) > 2 and isinstance(args[2], (ast.Tuple, ast.List)):
                for a in args[2].elts:
                    if isinstance(a, ast.Constant):
                        found[a.value] = where
    for table in (proposals_vocabulary.STATE_COMMANDS,):
        for commands in table.values():
            for c in commands:
                found.setdefault(c, "a state's allowed commands")
    return found


def test_every_command_a_refusal_names_has_a_label_in_both_languages():
    from services.members import domain as m
    found = _command_names()
    for commands in (*m.MEMBER_COMMANDS.values(), *m.ORG_COMMANDS.values()):
        for c in commands:
            found.setdefault(c, "a member's or organisation's allowed commands")
    for c in ("record_supervision", "publish_proposal", "unpublish_proposal", "submit_comment",
              "moderate_comment", "answer_comment", "set_publication_consent"):  # next_commands()
        found.setdefault(c, "Proposal.next_commands")
    assert len(found) > 60
    missing = {c: where for c, where in found.items() if not has_command_label(c)}
    assert not missing, f"commands without a label (add them to the service's COMMAND_LABELS): {missing}"
    for c in found:
        en, zh = command_label(c)
        assert english_sentence(en) and chinese(zh) and "_" not in en, (c, en, zh)


def test_every_state_has_a_label_in_both_languages():
    for states in (proposals_vocabulary.STATE_LABELS, members_vocabulary.STATE_LABELS):
        for code, (en, zh) in states.items():
            assert en and "_" not in en and chinese(zh), code
    for code in proposals_vocabulary.STATE_COMMANDS:
        assert chinese(state_label(code, "file_proposal")[1])
    for code in (members_vocabulary.ACTIVE, members_vocabulary.TERM_ENDED, members_vocabulary.RESIGNED):
        assert chinese(state_label(code, "appoint_member")[1])


# -- the gateway's own 403, for every route and every role it refuses -------------------------

ALL_ROLES = (*ACCOUNT_ROLES, SUBSCRIBER)


def test_every_route_has_an_action_in_both_languages():
    lacking = [(r.service, r.rpc) for r in api.ROUTES if (r.service, r.rpc) not in ROUTE_ACTIONS]
    assert not lacking, f"routes without an action in ROUTE_ACTIONS: {lacking}"
    for (service, rpc), (en, zh) in ROUTE_ACTIONS.items():
        first = en.split()[0]
        assert first.islower() and first not in ("a", "an", "the", "staff", "yearly"), (rpc, en)
        assert chinese(zh) and not zh.startswith(("一个", "一份")), (rpc, zh)


def test_every_routes_403_is_a_sentence_in_both_languages():
    checked = 0
    for route in api.ROUTES:
        if route.roles is None:
            continue
        for role in ALL_ROLES:
            if role in route.roles:
                continue
            p = forbidden(role, route.roles, route_action(route.service, route.rpc, route.summary))
            en, zh = p.detail, p.detail_zh
            assert re.fullmatch(r"An? [a-z ]+ may not [a-z][^.]* only [^.]+ may\.", en), en
            assert " may not a " not in en and " may not staff " not in en, en
            assert chinese(zh) and zh.endswith("。") and "may not" not in zh and "无权" in zh, zh
            assert not re.search(r"[a-z]+_[a-z]+", en + zh), (en, zh)
            checked += 1
    assert checked > 100


# -- through HTTP: the language follows Accept-Language, both are in the body -------------------

gateway = http.gateway  # the gateway, proposals and members services on the real RabbitMQ
EN = {"Accept-Language": "en-US,en;q=0.9"}


def _both(client, method, path, role="anonymous", status=None, **kw):
    zh = client.call(method, path, role, **kw)
    en = client.call(method, path, role, headers=EN, **{k: v for k, v in kw.items() if k != "headers"})
    assert zh.status_code == en.status_code, (zh.text, en.text)
    if status is not None:
        assert zh.status_code == status, zh.text
    zb, eb = zh.json(), en.json()
    assert zb["detail"] == zb["detail_zh"] and eb["detail"] == eb["detail_en"], (zb, eb)
    assert zb["detail_zh"] == eb["detail_zh"] and zb["detail_en"] == eb["detail_en"]
    return zb


def test_refusals_over_http_are_chinese_by_default_and_english_when_asked(gateway):
    client = gateway
    # the gateway's own: 401, 403, 404, 405, 413, 422
    b = _both(client, "GET", "/api/worklist", status=401)
    assert chinese(b["detail"]) and "请先登录" in b["detail"] and "sign in first" in b["detail_en"]
    b = _both(client, "GET", "/api/worklist", "member", status=403)
    assert b["detail"] == "委员无权查看工作人员的工作清单，只有审计人员或领导或工作人员或订阅系统可以查看工作人员的工作清单。" \
        or b["detail"].startswith("委员无权查看工作人员的工作清单")
    assert b["detail_en"].startswith("A member may not read the staff worklist: only ")
    b = _both(client, "GET", "/api/proposals/p-none", "public", status=403)
    assert b["detail_en"].startswith("A public may not read a case") and "公众无权查看提案" in b["detail"]
    b = _both(client, "GET", "/api/nowhere", status=404)
    assert "没有这个路由" in b["detail"] and "no such route" in b["detail_en"]
    b = _both(client, "PATCH", "/api/worklist", "staff", status=405)
    assert chinese(b["detail"]) and "is not allowed on" in b["detail_en"]
    _both(client, "POST", "/api/proposals", "member", status=413, data=b"{" + b" " * 1_100_000 + b"}",
          headers={"Content-Type": "application/json"})
    b = _both(client, "POST", "/api/proposals", "member", status=422, json={**http.SUBMISSION, "title": 5})
    assert "请求体有误" in b["detail"] and "title" in b["detail"] and "is invalid" in b["detail_en"]
    # the services': WrongState, NotAllowed, InvalidCommand
    pid = client.call("POST", "/api/proposals", "member", json=http.SUBMISSION).json()["proposal_id"]
    assert client.call("POST", f"/api/proposals/{pid}/file", "staff", json={}).status_code == 200
    b = _both(client, "POST", f"/api/proposals/{pid}/file", "staff", status=409, json={})
    assert b["state"] == "filed" and b["detail"].startswith("当前状态为“已立案”，不能立案；此时可以：")
    assert b["detail_en"].startswith("cannot file the proposal in state 'filed'; allowed here: ")
    b = _both(client, "GET", "/api/members/m-999/proposals", "member", status=403)
    assert b["detail"].startswith("无权查看这些提案") and b["detail_en"].startswith("not allowed to read these cases")
    b = _both(client, "POST", f"/api/proposals/{pid}/merge", "staff", status=422, json={"into": pid})
    assert "提案不能并入自身" in b["detail"] and "cannot be merged into itself" in b["detail_en"]
