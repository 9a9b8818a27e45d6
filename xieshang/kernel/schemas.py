"""The integration contract, machine-readable: JSON Schemas and the AsyncAPI document (ADR 0012).

Generated from the services' publications (``PUBLICATION`` in each contract module), never
written by hand:

* one JSON Schema (draft 2020-12) of ``data`` per public event type and schema version, read
  from the event dataclass's type hints, minus the fields the type withholds; its ``$id`` is
  the CloudEvents ``dataschema`` of the type (``urn:cppcc:schema:<type>``). A field with a
  default may be missing (an event recorded before the field had a value); no other key may
  appear;
* the schema of the CloudEvents envelope (``cloudevent.json``): the attributes and our
  extensions, closed, so that nothing else (an actor's user id) can leave unnoticed;
* the AsyncAPI 3.0 document of the channel ``xieshang.integration``: one message per public type
  (the envelope with its ``type`` and ``data``), AMQP bindings, the subscriber's broker user.

``xieshang contract`` writes them to ``docs/integration/``; the gateway serves the AsyncAPI
document at ``/asyncapi.json``. A checked-in schema of a version is fixed: a change of an
event's shape is a new ``SCHEMA_VERSION`` with an upcaster, hence a new type and a new schema
(``shape_of`` is what must not change; titles and descriptions may).

The schemas use only keywords that mean the same in draft 2020-12 and in the AsyncAPI Schema
Object (a superset of draft 07), so the AsyncAPI document embeds them as they are.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import sys
import types
import typing
from typing import Any, Iterable, Mapping, Sequence

from .contracts import contract_of
from .envelope import LEVELS
from .integration import (CONTENT_TYPE, INTEGRATION_EXCHANGE, SPECVERSION, TYPE_PREFIX,
                          Publication, schema_of)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ASYNCAPI_VERSION = "3.0.0"
# The version of the document as a whole; each event type has its own (the .v<n> of its type).
CONTRACT_VERSION = "1.0.0"
ENVELOPE_ID = "urn:cppcc:schema:cloudevent"
ENVELOPE_FILE = "cloudevent.json"
ASYNCAPI_FILE = "asyncapi.json"
AMQP_BINDING_VERSION = "0.3.0"
CHANNEL = INTEGRATION_EXCHANGE
# Keywords that describe and do not constrain: they may change within a version.
ANNOTATIONS = frozenset({"title", "description", "$comment", "examples"})
NAMED = frozenset({"properties", "patternProperties", "$defs"})  # keys there are names


class SchemaError(TypeError):
    """An event field whose type hint has no JSON Schema here: the contract cannot describe it."""


# -- data schemas ---------------------------------------------------------------------------
def schema_of_hint(hint: Any, where: str = "") -> dict[str, Any]:
    """The JSON Schema of a value of type ``hint`` as ``to_data`` writes it (JSON: lists for
    tuples, objects with string keys for dicts). ``where`` names the field for errors."""
    if hint is Any:
        return {}
    if hint is None or hint is type(None):
        return {"type": "null"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is str:
        return {"type": "string"}
    if hint in (list, tuple, set, frozenset):
        return {"type": "array"}
    if hint is dict:
        return {"type": "object"}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return _union([schema_of_hint(a, where) for a in args])
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, set, frozenset) or (origin is tuple and len(args) == 2 and args[1] is Ellipsis):
        return {"type": "array", "items": schema_of_hint(args[0], where)} if args else {"type": "array"}
    if origin is dict:
        if args and args[0] is not str:
            raise SchemaError(f"{where}: JSON 对象的键须为字符串 (a dict's keys must be strings in "
                              f"JSON, not {args[0]!r})")
        value = schema_of_hint(args[1], where) if args else {}
        return {"type": "object", "additionalProperties": value} if value else {"type": "object"}
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _object(hint, frozenset(), where)
    raise SchemaError(f"{where}: 无法为该类型生成 JSON Schema (no JSON Schema for the type {hint!r}; "
                      f"use str, int, bool, float, lists, dicts with string keys or X | None)")


def _union(options: list[dict[str, Any]]) -> dict[str, Any]:
    if any(o == {} for o in options):
        return {}
    simple = [o for o in options if set(o) == {"type"}]
    if len(simple) == len(options):  # e.g. str | None: one "type" of several names
        names: list[str] = []
        for o in options:
            for name in (o["type"] if isinstance(o["type"], list) else [o["type"]]):
                if name not in names:
                    names.append(name)
        return {"type": names}
    nullable = [o for o in options if o == {"type": "null"}]
    others = [o for o in options if o != {"type": "null"}]
    if nullable and len(others) == 1 and isinstance(others[0].get("type"), str):
        return {**others[0], "type": [others[0]["type"], "null"]}
    return {"anyOf": options}


def _object(cls: type, withheld: frozenset[str], where: str) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for f in dataclasses.fields(cls):
        if f.name in withheld:
            continue
        properties[f.name] = schema_of_hint(hints[f.name], f"{where}.{f.name}" if where else f.name)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def data_schema(publication: Publication, type_name: str) -> dict[str, Any]:
    """The JSON Schema of the ``data`` of a public type, in its current version."""
    if not publication.is_public(type_name):
        raise SchemaError(f"{publication.service}: {type_name} 不公开，没有 Schema ({type_name} is "
                          f"not public: it has no schema)")
    cls = publication.registry.event_class(type_name)
    ce_type = publication.ce_type(type_name)
    body = _object(cls, frozenset(publication.public[type_name]), f"{publication.service}.{type_name}")
    head = {"$schema": DIALECT, "$id": schema_of(ce_type), "title": ce_type}
    doc = inspect.cleandoc(cls.__doc__ or "")
    if doc and not doc.startswith(f"{type_name}("):  # a dataclass without a docstring gets its signature
        head["description"] = doc
    withheld = sorted(publication.public[type_name])
    if withheld:
        head["$comment"] = f"withheld (never published): {', '.join(withheld)}"
    return {**head, **body}


def envelope_schema(services: Iterable[str] | None = None) -> dict[str, Any]:
    """The JSON Schema of our CloudEvents (structured mode), ``data`` left to the type's schema."""
    # RFC 3339 in UTC, as the log writes it (microseconds, "Z"); the pattern checks it where a
    # validator does not check formats
    iso = {"type": "string", "format": "date-time",
           "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$"}
    service = {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}
    if services is not None:
        service = {"enum": sorted(services)}
    return {
        "$schema": DIALECT,
        "$id": ENVELOPE_ID,
        "title": "A public event of xieshang (CloudEvents 1.0, structured JSON)",
        "description": ("A CloudEvent as it leaves a service, on the exchange, the feed and "
                        "webhooks. `id` is the event id (deduplicate on it); `data` is described "
                        "by the schema named in `dataschema`. No actor's user id, ever."),
        "type": "object",
        "properties": {
            "specversion": {"const": SPECVERSION},
            "id": {"type": "string", "minLength": 1, "description": "the event id"},
            "source": {"type": "string", "pattern": "^urn:cppcc:[^:]+$",
                       "description": "the committee: urn:cppcc:<committee code>"},
            "type": {"type": "string",
                     "pattern": "^" + TYPE_PREFIX.replace(".", r"\.") + r"\.[a-z][a-z0-9_]*\.[A-Z][A-Za-z0-9]*\.v[1-9][0-9]*$",
                     "description": "cn.gov.cppcc.<service>.<Event>.v<schema version>"},
            "subject": {"type": "string", "minLength": 1, "description": "the event's stream"},
            "time": {**iso, "description": "when it happened (RFC 3339, UTC)"},
            "datacontenttype": {"const": "application/json"},
            "dataschema": {"type": "string", "pattern": "^urn:cppcc:schema:",
                           "description": "the $id of the JSON Schema of data"},
            "xsservice": {**service, "description": "the service whose log holds the event"},
            "xsposition": {"type": "integer", "minimum": 1,
                           "description": "the event's position in its service's log"},
            "xshash": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                       "description": "the event's chain hash (see the checkpoints)"},
            "xslevel": {"enum": list(LEVELS), "description": "the committee's level"},
            "xsrecordedat": {**iso, "description": "when the log recorded it"},
            "xsrole": {"type": "string", "description": "the role the actor acted in"},
            "xsorganisation": {"type": "string", "description": "the organisation acted for"},
            "data": {"type": "object"},
        },
        "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype",
                     "dataschema", "xsservice", "xsposition", "xshash", "xslevel", "xsrecordedat",
                     "xsrole", "xsorganisation", "data"],
        "additionalProperties": False,
    }


def schema_files(publications: Sequence[Publication]) -> dict[str, dict[str, Any]]:
    """File name -> schema: the envelope's, then each public type's current version's."""
    files = {ENVELOPE_FILE: envelope_schema(p.service for p in publications)}
    for publication in sorted(publications, key=lambda p: p.service):
        for name in publication.public_types():
            files[f"{publication.ce_type(name)}.json"] = data_schema(publication, name)
    return files


def shape_of(schema: Any, names: bool = False) -> Any:
    """The schema without its annotations (titles, descriptions, comments): what a version
    fixes. ``names``: ``schema`` maps names to schemas (``properties``), so a field called
    ``title`` stays."""
    if isinstance(schema, dict):
        return {k: shape_of(v, not names and k in NAMED) for k, v in schema.items()
                if names or k not in ANNOTATIONS}
    if isinstance(schema, list):
        return [shape_of(v) for v in schema]
    return schema


def version_of_file(name: str) -> tuple[str, int] | None:
    """(type without version, version) of a schema file's name, None for another file."""
    stem = name[:-5] if name.endswith(".json") else None
    if not stem or not stem.startswith(TYPE_PREFIX + "."):
        return None
    base, _, v = stem.rpartition(".v")
    return (base, int(v)) if v.isdigit() and base else None


# -- the AsyncAPI document ------------------------------------------------------------------
def _embedded(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k not in ("$schema", "$id")}


def _summary(schema: Mapping[str, Any]) -> str | None:
    first = (schema.get("description") or "").split("\n\n")[0].replace("\n", " ").strip()
    return first or None


def asyncapi_document(publications: Sequence[Publication]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the channel ``xieshang.integration`` (see the module)."""
    publications = sorted(publications, key=lambda p: p.service)
    services = [p.service for p in publications]
    components_schemas: dict[str, Any] = {"CloudEvent": _embedded(envelope_schema(services))}
    messages: dict[str, Any] = {}
    for publication in publications:
        for name in publication.public_types():
            ce_type = publication.ce_type(name)
            schema = data_schema(publication, name)
            components_schemas[ce_type] = _embedded(schema)
            message: dict[str, Any] = {
                "name": name,
                "title": ce_type,
                "contentType": CONTENT_TYPE,
                "headers": {"$ref": "#/components/schemas/AmqpHeaders"},
                "payload": {"allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {"type": "object", "properties": {
                        "type": {"const": ce_type},
                        "dataschema": {"const": schema_of(ce_type)},
                        "xsservice": {"const": publication.service},
                        "data": {"$ref": f"#/components/schemas/{ce_type}"}}}]},
                "bindings": {"amqp": {"messageType": ce_type,
                                      "bindingVersion": AMQP_BINDING_VERSION}},
                "tags": [{"name": publication.service}],
            }
            summary = _summary(schema)
            if summary:
                message["summary"] = summary
            messages[ce_type] = message
    components_schemas["AmqpHeaders"] = {
        "type": "object",
        "description": ("The AMQP application headers. In structured mode the CloudEvent is the "
                        "body; the AMQP properties are content_type "
                        f"`{CONTENT_TYPE}`, message_id = the event id, type = the "
                        "CloudEvents type, delivery_mode 2 (persistent)."),
        "properties": {"cloudEvents:specversion": {"const": SPECVERSION}},
        "required": ["cloudEvents:specversion"],
    }
    channel_messages = {key: {"$ref": f"#/components/messages/{key}"} for key in messages}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "xieshang 协商: public events",
            "version": CONTRACT_VERSION,
            "description": (
                "What other government systems get of a committee's casework: the public "
                "events of its services as CloudEvents 1.0 (structured JSON), one message per "
                "event type and schema version. The same events come on the catch-up feed "
                "(GET /api/feed) and on signed webhooks. Private events (ratings given 背靠背, "
                "comments, contact details, accounts, notices to people) never leave a "
                "service. Delivery is at least once: deduplicate on `id`."),
            "license": {"name": "Apache-2.0",
                        "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "committee": {
                "host": "{host}:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": ("The committee's RabbitMQ. Subscribers log in as the broker user "
                                "xieshang-subscriber: it reads only xieshang.integration, through "
                                "queues of its own named subscriber.<system>…"),
                "variables": {"host": {"default": "rabbitmq",
                                       "description": "the broker's host name"}},
                "security": [{"$ref": "#/components/securitySchemes/subscriber"}],
            },
        },
        "channels": {
            CHANNEL: {
                "address": TYPE_PREFIX + ".{service}.{event}.{version}",
                "title": "The integration exchange",
                "description": ("A durable topic exchange; the routing key is the CloudEvents "
                                "type, so cn.gov.cppcc.proposals.# is every event of the "
                                "proposals service and #.ProposalReplied.* every reply. Each "
                                "service publishes its public events from its log, in log order."),
                "parameters": {
                    "service": {"enum": services, "description": "the publishing service"},
                    "event": {"description": "the event type's name, e.g. ProposalFiled"},
                    "version": {"description": "v<schema version> of the event's data, e.g. v1"},
                },
                "messages": channel_messages,
                "bindings": {"amqp": {
                    "is": "routingKey",
                    "exchange": {"name": INTEGRATION_EXCHANGE, "type": "topic", "durable": True,
                                 "autoDelete": False, "vhost": "/"},
                    "bindingVersion": AMQP_BINDING_VERSION}},
            },
        },
        "operations": {
            "publishPublicEvents": {
                "action": "send",
                "title": "A service publishes its public events",
                "summary": "from its log by position, by a relay of its own, after commit",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": [{"$ref": f"#/channels/{CHANNEL}/messages/{key}"} for key in messages],
                "bindings": {"amqp": {"deliveryMode": 2, "mandatory": False,
                                      "bindingVersion": AMQP_BINDING_VERSION}},
            },
        },
        "components": {
            "schemas": components_schemas,
            "messages": messages,
            "securitySchemes": {
                "subscriber": {"type": "userPassword",
                               "description": ("the broker user xieshang-subscriber (its "
                                               "password: XIESHANG_SUBSCRIBER_AMQP_PASSWORD)")},
            },
        },
    }


def dumps(document: Any) -> str:
    """The text of a generated file: stable, readable, UTF-8 (Chinese as it is)."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


# -- the publications of the services -------------------------------------------------------
def publication_of(service: str) -> Publication | None:
    """The publication a service declares beside its registry in its contract module, found
    through the registered contract loader (the kernel knows no service by name)."""
    registry = contract_of(service)
    if registry is None:
        return None
    for name in registry.names():
        module = sys.modules.get(registry.event_class(name).__module__)
        publication = getattr(module, "PUBLICATION", None)
        if isinstance(publication, Publication) and publication.registry is registry:
            return publication
    return None


def publications_of(services: Iterable[str]) -> list[Publication]:
    found = []
    for service in services:
        publication = publication_of(service)
        if publication is None:
            raise LookupError(f"找不到服务 {service!r} 的公开声明 (no publication found for the "
                              f"service {service!r})")
        found.append(publication)
    return found


@functools.lru_cache(maxsize=8)
def asyncapi_text(services: tuple[str, ...]) -> str:
    """The AsyncAPI document of ``services`` as served (``/asyncapi.json``), made once."""
    return dumps(asyncapi_document(publications_of(services)))
