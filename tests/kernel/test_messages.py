"""Refusals carry Chinese and English (xieshang.kernel.messages, xieshang.kernel.domain): the
sentences come from the labels of commands and states, survive the trip across RPC, and the
language is chosen from Accept-Language (Chinese unless English is preferred)."""

from __future__ import annotations

import pytest

from xieshang.kernel.domain import DomainError, InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.messages import (command_label, preferred_language, register_labels,
                                      state_label, text)
from xieshang.kernel.runtime import RemoteRefusal, _rebuilder

register_labels("test-messages", {"brew_tea": ("brew the tea", "泡茶"), "pour_tea": ("pour the tea", "倒茶")},
                {"cold": ("cold", "已凉")}, {"guest": ("guest", "客人")})


@pytest.mark.parametrize("header, language", [
    (None, "zh"), ("", "zh"), ("zh-CN,zh;q=0.9", "zh"), ("en", "en"), ("en-US,en;q=0.9", "en"),
    ("en-GB;q=0.8, zh-CN;q=0.9", "zh"), ("fr, en;q=0.5", "en"), ("fr", "zh"), ("de, *;q=0.1", "zh"),
    ("zh;q=0, en;q=0.2", "en"), ("en;q=nonsense", "zh"), ("EN", "en"), ("en, zh", "en"),
])
def test_the_language_comes_from_accept_language_and_is_chinese_unless_english_is_preferred(header, language):
    assert preferred_language(header) == language


def test_wrong_state_names_the_command_the_real_state_and_what_is_allowed_in_both_languages():
    err = WrongState("brew_tea", "cold", ["pour_tea"], ("the pot is empty", "茶壶空了"))
    assert err.state == "cold" and err.allowed == ["pour_tea"]
    assert str(err) == "cannot brew the tea in state 'cold' (the pot is empty); allowed here: pour the tea"
    assert err.message_zh == "当前状态为“已凉”，茶壶空了，不能泡茶；此时可以：倒茶。"
    d = err.to_dict()
    assert d["message"] == d["message_en"] == str(err) and d["message_zh"] == err.message_zh
    nothing = WrongState("brew_tea", "cold", ())
    assert nothing.message_zh == "当前状态为“已凉”，不能泡茶；此时没有可以办理的事项。"
    assert str(nothing).endswith("allowed here: nothing")


def test_not_allowed_says_what_was_refused_and_why_in_both_languages():
    err = NotAllowed("brew_tea", ("only the host brews", "只有主人可以泡茶"))
    assert str(err) == "not allowed to brew the tea: only the host brews"
    assert err.message_zh == "无权泡茶：只有主人可以泡茶。"
    assert err.to_dict()["missing"] == "only the host brews" and err.to_dict()["missing_zh"] == "只有主人可以泡茶"


def test_a_text_nobody_translated_yet_falls_back_to_english():
    for err in (NotFound("no tea 'x'"), DomainError("plain"), InvalidCommand("bad cup", {"cup": "a cup"})):
        assert err.to_dict()["message_zh"] == str(err)
    assert NotAllowed("brew_tea", "only the host").message_zh == "无权泡茶：only the host。"
    assert command_label("never_registered") == ("never registered", "never registered")
    assert state_label("never_registered") == ("never registered", "never registered")
    assert text(["a", "甲"]) == ("a", "甲") and text(None) == ("", "")


@pytest.mark.parametrize("err", [
    WrongState("brew_tea", "cold", ["pour_tea"], ("the pot is empty", "茶壶空了")),
    WrongState("brew_tea", "cold", ()),
    NotAllowed("brew_tea", ("only the host brews", "只有主人可以泡茶")),
    InvalidCommand(("the cup is malformed", "茶杯格式有误"), {"cup": "a cup"}),
    NotFound(("no tea 'x'", "没有茶 'x'")),
])
def test_both_languages_cross_rpc_unchanged(err):
    """nameko sends the constructor's arguments (tuples become lists) and the caller rebuilds the
    error: in a process that knows no labels at all, the sentences must still be the same."""
    wire = [list(a) if isinstance(a, tuple) else a for a in err.args]
    rebuilt = _rebuilder(type(err))(*wire)
    assert isinstance(rebuilt, RemoteRefusal)
    assert rebuilt.details == err.to_dict()
    assert rebuilt.value == str(err)
