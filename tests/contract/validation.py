"""Validate CloudEvents against the checked-in JSON Schemas (docs/integration/schemas).

``problems(event)`` lists what is wrong with one event (its envelope against ``cloudevent.json``,
its ``data`` against the schema its ``dataschema`` names); ``check(event)`` fails with them.
Other tests that see published messages may use it: ``from tests.contract.validation import check``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parent.parent.parent
SCHEMAS = ROOT / "docs" / "integration" / "schemas"
ASYNCAPI = ROOT / "docs" / "integration" / "asyncapi.json"
ENVELOPE_ID = "urn:cppcc:schema:cloudevent"


@functools.lru_cache(maxsize=4)
def schemas(folder: Path = SCHEMAS) -> dict[str, dict[str, Any]]:
    """$id -> schema of every file in ``folder``."""
    found = {}
    for path in sorted(folder.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        found[schema["$id"]] = schema
    return found


@functools.lru_cache(maxsize=4)
def _validators(folder: Path = SCHEMAS) -> dict[str, Draft202012Validator]:
    known = schemas(folder)
    registry = Registry().with_resources((i, Resource.from_contents(s)) for i, s in known.items())
    return {i: Draft202012Validator(s, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)
            for i, s in known.items()}


def problems(event: Mapping[str, Any], folder: Path = SCHEMAS) -> list[str]:
    validators = _validators(folder)
    found = [f"envelope {'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}"
             for e in validators[ENVELOPE_ID].iter_errors(event)]
    schema_id = event.get("dataschema")
    if schema_id not in validators or schema_id == ENVELOPE_ID:
        return found + [f"no schema {schema_id!r} for the type {event.get('type')!r}"]
    if schema_id != f"urn:cppcc:schema:{event.get('type')}":
        found.append(f"dataschema {schema_id!r} is not the schema of the type {event.get('type')!r}")
    found += [f"data {'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}"
              for e in validators[schema_id].iter_errors(event.get("data"))]
    return found


def check(event: Mapping[str, Any], folder: Path = SCHEMAS) -> None:
    found = problems(event, folder) + asyncapi_problems(event)
    assert not found, f"{event.get('type')} {event.get('id')}: " + "; ".join(found)


@functools.lru_cache(maxsize=2)
def _asyncapi(path: Path = ASYNCAPI) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def asyncapi_problems(event: Mapping[str, Any], path: Path = ASYNCAPI) -> list[str]:
    """What is wrong with ``event`` by the payload of its message in the AsyncAPI document (an
    AsyncAPI Schema Object: draft 07), so the document says what the schema files say."""
    document = _asyncapi(path)
    message = document["components"]["messages"].get(event.get("type"))
    if message is None:
        return [f"no message {event.get('type')!r} in the AsyncAPI document"]
    schema = {**message["payload"], "components": document["components"]}  # its $refs resolve here
    return [f"payload {'/'.join(map(str, e.absolute_path)) or '.'}: {e.message}"
            for e in Draft7Validator(schema).iter_errors(event)]


def check_all(events: Iterable[Mapping[str, Any]], folder: Path = SCHEMAS) -> set[str]:
    """Check every event; the types seen."""
    seen = set()
    for event in events:
        check(event, folder)
        seen.add(event["type"])
    return seen
