"""Every code a page shows has words: each service's vocabulary (xieshang.kernel.messages.vocabulary)
labels every event type of its registry and every code of the groups its pages show, in English
and Chinese, never with the code itself."""

from __future__ import annotations

import importlib
import re
from typing import Any, Iterable

import pytest

from xieshang.kernel.messages import vocabulary

SERVICES = ("proposals", "members", "feedback", "notify")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _vocabulary_module(service: str) -> Any:
    return importlib.import_module(f"services.{service}.domain.vocabulary")


def _codes(service: str, source: str) -> Iterable[str]:
    """The codes of ``source``: a tuple or map of the service's vocabulary module (or, for
    ``templates.TEMPLATES``, of its templates module)."""
    module_name, _, name = source.rpartition(".")
    module = importlib.import_module(f"services.{service}.domain.{module_name or 'vocabulary'}")
    return tuple(getattr(module, name))


# (service, group, the tuples or maps whose codes the group labels)
GROUPS = [
    ("proposals", "categories", ("CATEGORIES",)),
    ("proposals", "kinds", ("KINDS",)),
    ("proposals", "body_types", ("BODY_TYPES",)),
    ("proposals", "reply_classes", ("REPLY_CLASSES",)),
    ("proposals", "ratings", ("RATINGS",)),
    ("proposals", "contact_stages", ("CONTACT_STAGES",)),
    ("proposals", "conversions", ("CONVERSIONS",)),
    ("proposals", "supervision_modes", ("SUPERVISION_MODES",)),
    ("proposals", "supervision_kinds", ("SUPERVISION_KINDS",)),
    ("members", "org_kinds", ("ORG_KINDS",)),
    ("members", "station_types", ("STATION_TYPES",)),
    ("members", "station_levels", ("STATION_LEVELS",)),
    ("members", "levels", ("LEVELS", "COMMITTEE_LEVELS")),
    ("members", "member_roles", ("ROLES",)),
    ("members", "activities", ("ACTIVITIES", "DEFAULT_POINT_RULES")),
    ("members", "activity_kinds", ("ACTIVITY_KINDS",)),
    ("members", "menu_forms", ("MENU_FORMS",)),
    ("members", "outcomes", ("OUTCOMES",)),
    ("feedback", "channels", ("CHANNELS",)),
    ("feedback", "categories", ("CATEGORIES",)),
    ("feedback", "checks", ("CHECKS",)),
    ("feedback", "levels", ("LEVELS",)),
    ("feedback", "leader_offices", ("LEADER_OFFICES",)),
    ("feedback", "upper_decisions", ("UPPER_DECISIONS",)),
    ("notify", "channels", ("CHANNELS",)),
    ("notify", "cadences", ("CADENCES",)),
    ("notify", "kinds", ("templates.TEMPLATES", "templates.KINDS")),
]


def _assert_words(service: str, group: str, code: str, label: Any) -> None:
    where = f"{service} {group} {code!r}"
    assert isinstance(label, list) and len(label) == 2, f"{where}: {label!r}"
    en, zh = label
    assert isinstance(en, str) and en.strip(), f"{where}: no English label"
    assert isinstance(zh, str) and CJK.search(zh), f"{where}: the Chinese label {zh!r} is not Chinese"
    assert en not in (code, code.replace("_", " ")), f"{where}: the English label is the code"
    assert zh != code, f"{where}: the Chinese label is the code"
    assert en.strip() == en and zh.strip() == zh, f"{where}: blanks around a label"


@pytest.mark.parametrize("service", SERVICES)
def test_every_event_type_has_words(service: str) -> None:
    _vocabulary_module(service)
    registry = importlib.import_module(f"services.{service}.domain.events").registry
    events = vocabulary(service).get("events", {})
    names = registry.names()
    assert names, service
    missing = sorted(set(names) - set(events))
    assert not missing, f"{service}: events without words: {missing}"
    for name in names:
        _assert_words(service, "events", name, events[name])


@pytest.mark.parametrize("service", SERVICES)
def test_no_words_for_events_that_do_not_exist(service: str) -> None:
    _vocabulary_module(service)
    registry = importlib.import_module(f"services.{service}.domain.events").registry
    extra = sorted(set(vocabulary(service).get("events", {})) - set(registry.names()))
    assert not extra, f"{service}: words for unknown events: {extra}"


def test_the_directory_event_has_words_wherever_it_is_registered() -> None:
    for service in SERVICES:
        _vocabulary_module(service)
        registry = importlib.import_module(f"services.{service}.domain.events").registry
        if "DirectoryEntryNoted" in registry.names():
            _assert_words(service, "events", "DirectoryEntryNoted",
                          vocabulary(service)["events"]["DirectoryEntryNoted"])


@pytest.mark.parametrize(("service", "group", "sources"), GROUPS,
                         ids=[f"{s}-{g}" for s, g, _ in GROUPS])
def test_every_code_of_a_group_has_words(service: str, group: str, sources: tuple[str, ...]) -> None:
    _vocabulary_module(service)
    words = vocabulary(service).get(group)
    assert words, f"{service}: no group {group!r}"
    codes = {code for source in sources for code in _codes(service, source)}
    assert codes, (service, group)
    missing = sorted(codes - set(words))
    assert not missing, f"{service} {group}: codes without words: {missing}"
    for code in codes:
        _assert_words(service, group, code, words[code])
    extra = sorted(set(words) - codes)
    assert not extra, f"{service} {group}: words for unknown codes: {extra}"


def test_the_words_of_each_group_are_distinct() -> None:
    """Two codes of one group never read the same (a page could not tell them apart)."""
    for service in SERVICES:
        _vocabulary_module(service)
        for group, words in vocabulary(service).items():
            if group in ("commands", "states", "roles"):
                continue  # refusals' words (register_labels), not the groups of register_words
            for language in (0, 1):
                seen: dict[str, str] = {}
                for code, label in words.items():
                    other = seen.setdefault(label[language], code)
                    assert other == code, f"{service} {group}: {other!r} and {code!r} read alike"


def test_the_members_words_keep_the_chinese_of_the_domain() -> None:
    members = _vocabulary_module("members")
    words = vocabulary("members")
    for group, source in (("org_kinds", members.ORG_KINDS), ("station_types", members.STATION_TYPES),
                          ("activities", members.ACTIVITIES), ("outcomes", members.OUTCOMES)):
        assert {code: zh for code, (_, zh) in words[group].items()} == dict(source), group
