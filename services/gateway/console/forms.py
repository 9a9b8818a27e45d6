"""HTML forms made from the API's request models (api.py), so a form asks for exactly what its
route takes: a pydantic model's fields become inputs (a choice of codes a select or radio
buttons, a boolean a checkbox, a date a date input, a list of ids checkboxes), a submitted form
becomes the JSON body the route validates, and a refusal is shown beside the field it names,
in the visitor's language, with what they typed kept.

Nothing here does I/O.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable, Literal, Mapping

from pydantic import BaseModel, ValidationError

from .words import FIELD_LABELS, field_label

Choices = list[tuple[str, str]]  # (value, label)
# Fields no form shows: how lists page, and what the console fills in itself
HIDDEN = frozenset({"wait_for", "cursor", "limit", "on_behalf_of"})
LONG_TEXT = 300  # a str field allowing more characters than this is a textarea


@dataclass
class Input:
    """One input of a form, ready for the template (templates/_forms.html)."""

    name: str
    label: str
    widget: str                      # text, textarea, select, radio, checkbox, checkboxes, date, number, hidden
    required: bool = False
    value: Any = None                # what the visitor typed, or the default
    choices: Choices = field(default_factory=list)
    error: str | None = None
    hint: str | None = None
    max_length: int | None = None
    min_length: int | None = None
    id_prefix: str | None = None     # the element id's prefix (default "f-"): forms side by side differ

    @property
    def values(self) -> set[str]:  # for checkboxes: the chosen ones
        if isinstance(self.value, (list, tuple, set)):
            return {str(v) for v in self.value}
        return {str(self.value)} if self.value not in (None, "") else set()


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the annotation without None, whether None is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _literal_codes(annotation: Any) -> list[str] | None:
    if typing.get_origin(annotation) is Literal:
        return [str(a) for a in typing.get_args(annotation)]
    return None


def _limits(info: Any) -> tuple[int | None, int | None]:
    low = high = None
    for m in info.metadata:
        low = getattr(m, "min_length", low)
        high = getattr(m, "max_length", high)
    return low, high


def inputs(model: type[BaseModel], lang: str, *, values: Mapping[str, Any] | None = None,
           errors: Mapping[str, str] | None = None, choices: Mapping[str, Choices] | None = None,
           words: Callable[[str, str], str] | None = None, only: Iterable[str] | None = None,
           skip: Iterable[str] = ()) -> list[Input]:
    """The inputs of ``model``: ``choices`` for fields whose codes are ids (units, members),
    ``words(field, code)`` the label of a Literal's code, ``only``/``skip`` to choose fields."""
    values, errors, choices = values or {}, errors or {}, choices or {}
    words = words or (lambda _f, code: code)
    wanted = list(only) if only is not None else [n for n in model.model_fields if n not in HIDDEN]
    found: list[Input] = []
    for name in wanted:
        if name in skip or name not in model.model_fields:
            continue
        info = model.model_fields[name]
        annotation, optional = _unwrap(info.annotation)
        required = info.is_required()
        label = field_label(name, lang)
        default = None if info.default is None or not isinstance(info.default, (str, int, bool, date)) \
            else info.default
        value = values.get(name, default)
        low, high = _limits(info)
        entry = Input(name, label, "text", required=required, value=value, error=errors.get(name),
                      max_length=high, min_length=low)
        codes = _literal_codes(annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # nested: flattened
            for sub in inputs(annotation, lang, values={k.split(".", 1)[1]: v for k, v in values.items()
                                                          if k.startswith(name + ".")},
                              errors={k.split(".", 1)[1]: v for k, v in errors.items()
                                      if k.startswith(name + ".")}, words=words):
                sub.name, sub.required = f"{name}.{sub.name}", False
                sub.label = f"{label}：{sub.label}"
                found.append(sub)
            continue
        if codes is not None:
            entry.widget = "radio" if len(codes) <= 3 and required else "select"
            entry.choices = [(c, words(name, c)) for c in codes]
        elif annotation is bool:
            entry.widget = "checkbox"
        elif annotation is date:
            entry.widget = "date"
        elif annotation is int:
            entry.widget = "number"
        elif origin in (list, tuple):
            (item,) = typing.get_args(annotation)[:1] or (str,)
            item_codes = _literal_codes(_unwrap(item)[0])
            if item_codes is not None:
                entry.widget, entry.choices = "checkboxes", [(c, words(name, c)) for c in item_codes]
            elif name in choices:
                entry.widget, entry.choices = "checkboxes", list(choices[name])
            else:
                entry.widget = "textarea"
                entry.hint = "每行一项" if lang == "zh" else "one per line"
                if isinstance(value, (list, tuple)):
                    entry.value = "\n".join(str(v) for v in value)
        elif origin is dict:
            continue  # rules and point tables have pages of their own
        elif name in choices:
            entry.widget, entry.choices = "select", list(choices[name])
        elif high is not None and high > LONG_TEXT:
            entry.widget = "textarea"
        if name in choices and entry.widget in ("select", "radio"):
            entry.widget, entry.choices = "select", list(choices[name])
        if optional and entry.widget == "select":
            entry.choices = [("", "—")] + [c for c in entry.choices if c[0] != ""]
        found.append(entry)
    return found


def body_from_form(model: type[BaseModel], form: Mapping[str, Any], getlist: Callable[[str], list[str]],
                   ) -> dict[str, Any]:
    """The JSON body a submitted form stands for: a checkbox absent is false, an empty optional
    field absent, a list from checkboxes or from the lines of a textarea, a nested model from
    its flattened fields (absent when all of them are empty)."""
    body: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation, _ = _unwrap(info.annotation)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested = {k.split(".", 1)[1]: v.strip() for k, v in form.items()
                      if k.startswith(name + ".") and isinstance(v, str) and v.strip()}
            if nested:
                body[name] = nested
            continue
        if annotation is bool:
            if name in form:
                body[name] = form.get(name) not in ("", "0", "false", "off")
            elif f"{name}.present" in form:  # the checkbox was on the form, and left unticked
                body[name] = False
            continue
        if origin in (list, tuple):
            picked = [v for v in getlist(name) if v is not None]
            if len(picked) == 1 and ("\n" in picked[0] or "," in picked[0] or "，" in picked[0]):
                picked = [p.strip() for line in picked[0].splitlines()
                          for p in line.replace("，", ",").split(",")]
            picked = [p.strip() for p in picked if p and p.strip()]
            if picked or f"{name}.present" in form:
                body[name] = picked
            continue
        raw = form.get(name)
        if raw is None:
            continue
        raw = raw.strip() if isinstance(raw, str) else raw
        if raw == "":
            continue
        body[name] = raw
    return body


def form_values(form: Mapping[str, Any], getlist: Callable[[str], list[str]]) -> dict[str, Any]:
    """What the visitor typed, to show it again with the refusal: a field's values as given."""
    kept: dict[str, Any] = {}
    for name in form:
        if name in ("csrf", "next") or name.endswith(".present"):
            continue
        many = getlist(name)
        kept[name] = many if len(many) > 1 else form.get(name)
    return kept


# pydantic's error types, as a person reads them
def _reason(error: Mapping[str, Any], lang: str) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    zh = lang == "zh"
    if kind == "missing":
        return "必填" if zh else "required"
    if kind == "string_too_short":
        n = ctx.get("min_length", 1)
        return (f"至少 {n} 个字" if zh else f"at least {n} characters") if n > 1 else ("必填" if zh else "required")
    if kind == "string_too_long":
        n = ctx.get("max_length")
        return f"最多 {n} 个字" if zh else f"at most {n} characters"
    if kind in ("too_short",):
        return f"至少 {ctx.get('min_length')} 项" if zh else f"at least {ctx.get('min_length')} items"
    if kind in ("too_long",):
        return f"最多 {ctx.get('max_length')} 项" if zh else f"at most {ctx.get('max_length')} items"
    if kind in ("literal_error", "enum"):
        return "请从所列选项中选择" if zh else "choose one of the options"
    if kind.startswith("date"):
        return "请填写有效日期，如 2024-06-28" if zh else "a valid date, e.g. 2024-06-28"
    if kind.startswith("int") or kind.startswith("float"):
        return "请填写数字" if zh else "a number"
    if kind.startswith("bool"):
        return "请勾选或不勾选" if zh else "tick it or not"
    if kind == "string_pattern_mismatch":
        return "格式不符合要求" if zh else "not in the expected form"
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于 {ctx.get('ge', ctx.get('gt'))}" if zh else f"at least {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}" if zh else f"at most {ctx.get('le', ctx.get('lt'))}"
    if kind == "extra_forbidden":
        return "不接受此项" if zh else "not accepted here"
    if kind == "value_error":
        return str(error.get("msg", "")).removeprefix("Value error, ")
    return "填写有误" if zh else str(error.get("msg", "invalid"))


def check(model: type[BaseModel], body: Mapping[str, Any], lang: str) -> dict[str, str]:
    """The fields of ``body`` that ``model`` refuses, each with why (in ``lang``); {} if none."""
    try:
        model.model_validate(dict(body))
    except ValidationError as exc:
        found: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            name = ".".join(str(p) for p in error.get("loc", ()) if not isinstance(p, int)) or "body"
            found.setdefault(name, _reason(error, lang))
        return found
    return {}


def refusal_fields(invalid_params: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """A service's refusal's fields (the problem's ``invalid_params``) by name."""
    return {str(p.get("name")): str(p.get("reason", "")) for p in invalid_params or ()}


def named_fields(errors: Mapping[str, str], lang: str) -> str:
    """The refused fields named in a sentence: "标题、案由"."""
    names = [field_label(n.split(".")[-1] if n.split(".")[-1] in FIELD_LABELS else n, lang) for n in errors]
    return ("、" if lang == "zh" else ", ").join(dict.fromkeys(names))
