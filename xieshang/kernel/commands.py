"""Commands parsed once at the edge: typed, frozen, and checked for shape before any decision.

A service's commands are frozen dataclasses deriving from ``Command``::

    @dataclass(frozen=True)
    class ReturnProposal(Command):
        proposal_id: Id
        reason: str

    command = ReturnProposal.parse(proposal_id=proposal_id, reason=reason)   # in the RPC method
    events = return_proposal(actor, case, command)                           # the decision

``parse`` checks each argument against its annotation (``str``, ``int``, ``bool``, ``float``,
``dict``, ``tuple[X, ...]`` from any list, ``X | None``, ``Literal[...]``, and ``Id`` for the one
id pattern) and refuses a bad shape with one ``InvalidCommand`` naming every bad field, in
Chinese and English. What a field means (a title's length, a deadline in the future) is the
domain's to decide; the shape is settled here, so the domain never sees a list where it
expects text.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import types
import typing
from typing import Annotated, Any, Literal, Mapping, Union

from .domain import InvalidCommand
from .ids import ID_RULE, is_id


class IdRule:
    """Marks a ``str`` field as an id (``Annotated[str, ID]``)."""

    def __repr__(self) -> str:
        return "ID"


ID = IdRule()
Id = Annotated[str, ID]

_MISSING = object()


class Command:
    """Base of a service's commands (frozen dataclasses)."""

    @classmethod
    def parse(cls, **raw: Any):
        hints = _hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        problems: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name in raw:
            if name not in fields:
                problems[name] = "unknown field 未知字段"
        for name, f in fields.items():
            if name not in raw:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    problems[name] = "required 必填"
                continue
            value, problem = _coerce(raw[name], hints[name])
            if problem:
                problems[name] = problem
            else:
                values[name] = value
        if problems:
            raise InvalidCommand((f"bad arguments of {_snake(cls.__name__)}", "命令参数有误"), problems)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


def _hints(cls: type) -> dict[str, Any]:
    cached = cls.__dict__.get("_command_hints")
    if cached is None:
        cached = typing.get_type_hints(cls, include_extras=True)
        setattr(cls, "_command_hints", cached)
    return cached


def _coerce(value: Any, hint: Any) -> tuple[Any, str | None]:
    """(value as the command keeps it, None) or (None, what is wrong)."""
    origin = typing.get_origin(hint)
    if origin is Annotated:
        base, *marks = typing.get_args(hint)
        value, problem = _coerce(value, base)
        if problem is None and ID in marks and not is_id(value):
            return None, f"an id 标识: {ID_RULE}"
        return value, problem
    if origin in (Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None, None
        problems = []
        for arg in args:
            if arg is type(None):
                continue
            coerced, problem = _coerce(value, arg)
            if problem is None:
                return coerced, None
            problems.append(problem)
        return None, " or ".join(problems) + (" or null" if type(None) in args else "")
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value in allowed and type(value) in {type(a) for a in allowed}:
            return value, None
        return None, "one of 取值之一: " + ", ".join(map(str, allowed))
    if origin in (tuple, list, collections.abc.Sequence):
        args = typing.get_args(hint)
        item = args[0] if args else Any
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
            return None, "a list 列表"
        out = []
        for i, v in enumerate(value):
            coerced, problem = _coerce(v, item)
            if problem:
                return None, f"item {i + 1}: {problem}"
            out.append(coerced)
        return tuple(out), None
    if origin in (dict, collections.abc.Mapping) or hint in (dict, Mapping):
        return (value, None) if isinstance(value, dict) else (None, "an object 对象")
    if hint is Any:
        return value, None
    if hint is bool:
        return (value, None) if isinstance(value, bool) else (None, "true or false 布尔值")
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return (value, None) if ok else (None, "an integer 整数")
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return (float(value), None) if ok else (None, "a number 数字")
    if hint is str:
        return (value, None) if isinstance(value, str) else (None, "text 文本")
    raise TypeError(f"a command field cannot be annotated {hint!r}")


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
