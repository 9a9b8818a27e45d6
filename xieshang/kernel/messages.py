"""Refusals people can read, in Chinese and English.

A text for people is a pair ``(English, Chinese)``. A domain error carries both (``DomainError``
in ``domain.py``); the gateway answers in the language the caller prefers (``Accept-Language``,
Chinese unless the header prefers English) and puts both in the problem body.

Each service registers, from its ``domain/vocabulary.py``, the labels of its commands (what a
refusal says the caller tried: ``"confirm_co_signature": ("confirm co-signing", "确认附议")``)
and of its states (``"submitted": ("submitted", "已提交")``). ``WrongState`` and ``NotAllowed``
build their sentences from them, so a raise names the command and the state by their codes.
A state is looked up among the labels of the service that registered the command first (two
services may give one state code different words).

Nothing here does I/O.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

Text = tuple[str, str]  # (English, Chinese)

ZH, EN = "zh", "en"
LANGUAGES = (ZH, EN)

_COMMANDS: dict[str, Text] = {}
_SCOPE_OF_COMMAND: dict[str, str] = {}
_STATES: dict[tuple[str, str], Text] = {}
_ROLES: dict[str, Text] = {}
# Other words a service's interface shows (its events, categories, classes …): (scope, group) -> code -> label
_WORDS: dict[tuple[str, str], dict[str, Text]] = {}


def text(value: Any) -> Text:
    """``(English, Chinese)`` from a pair, or from one string: a text nobody translated yet is
    shown in English in both languages rather than not at all."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return str(value[0]), str(value[1])
    s = "" if value is None else str(value)
    return s, s


def register_labels(scope: str, commands: Mapping[str, Text],
                    states: Mapping[str, Text] | None = None,
                    roles: Mapping[str, Text] | None = None) -> None:
    """Make the commands, states and roles of ``scope`` (a service) known by their labels."""
    for name, label in commands.items():
        _COMMANDS[name] = text(label)
        _SCOPE_OF_COMMAND[name] = scope
    for name, label in (states or {}).items():
        _STATES[(scope, name)] = text(label)
    for name, label in (roles or {}).items():
        _ROLES.setdefault(name, text(label))


def register_words(scope: str, group: str, words: Mapping[str, Text]) -> None:
    """Make more of ``scope``'s words known: ``group`` (events, categories, …) maps codes to labels."""
    _WORDS.setdefault((scope, group), {}).update({k: text(v) for k, v in words.items()})


def vocabulary(scope: str) -> dict[str, dict[str, list[str]]]:
    """Every word ``scope`` registered, for an interface that shows its codes to people:
    ``{"commands": {code: [English, Chinese]}, "states": …, "roles": …, <group>: …}``."""
    words: dict[str, dict[str, list[str]]] = {
        "commands": {n: list(label) for n, label in _COMMANDS.items() if _SCOPE_OF_COMMAND.get(n) == scope},
        "states": {n: list(label) for (s, n), label in _STATES.items() if s == scope},
        "roles": {n: list(label) for n, label in _ROLES.items()},
    }
    for (s, group), labels in _WORDS.items():
        if s == scope:
            words[group] = {n: list(label) for n, label in labels.items()}
    return words


def has_command_label(name: str) -> bool:
    return name in _COMMANDS


def command_label(name: str) -> Text:
    """What the caller tried, as a verb phrase: ("confirm co-signing", "确认附议")."""
    if name in _COMMANDS:
        return _COMMANDS[name]
    plain = name.replace("_", " ")
    return plain, plain


def state_label(state: str, command: str | None = None) -> Text:
    """A state's name: ("submitted", "已提交"), in the words of the command's service if it has
    them, else of any service that knows the state."""
    scope = _SCOPE_OF_COMMAND.get(command or "")
    if scope is not None and (scope, state) in _STATES:
        return _STATES[(scope, state)]
    for (_, name), label in _STATES.items():
        if name == state:
            return label
    plain = state.replace("_", " ")
    return plain, plain


def role_label(role: str | None) -> Text:
    """A role's name: ("member", "委员")."""
    if role in _ROLES:
        return _ROLES[role]
    plain = str(role or "nobody")
    return plain, plain


def only_roles(roles: Iterable[str], command: str, actor_role: str | None,
               why: str | Text | None = None) -> Text:
    """Why an actor of ``actor_role`` may not: ``why`` if given in both languages, else
    "only staff may …" in both, and the actor's role."""
    r_en, r_zh = joined(role_label(r) for r in roles)
    a_en, a_zh = role_label(actor_role)
    en = (text(why)[0] if why is not None else f"only {r_en} may") + f"; the actor's role is {actor_role!r}"
    if isinstance(why, (tuple, list)):
        zh = f"{text(why)[1].rstrip('。')}；当前用户的身份是{a_zh}"
    else:
        zh = f"只有{r_zh.replace('、', '或')}可以{command_label(command)[1]}；当前用户的身份是{a_zh}"
    return en, zh


def joined(labels: Iterable[Text]) -> Text:
    """A list of labels, as English and Chinese write one: "a, b" and "甲、乙"."""
    pairs = list(labels)
    return ", ".join(en for en, _ in pairs), "、".join(zh for _, zh in pairs)


def sentence_en(s: str) -> str:
    s = s.strip()
    return s if not s or s[-1] in ".!?)" else s + "."


def sentence_zh(s: str) -> str:
    s = s.strip().rstrip("。；;.，,")
    return s + "。" if s else s


def preferred_language(accept_language: str | None) -> str:
    """``zh`` or ``en`` from an ``Accept-Language`` header: the language of highest quality
    among Chinese and English (the first named wins a tie); Chinese when the header names
    neither, or is absent or malformed."""
    best, best_q = ZH, -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        if lang not in LANGUAGES:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0 and q > best_q:
            best, best_q = lang, q
    return best
