"""What every case page shares (proposals, opinion reports, and later consultations): the
commands the case allows in its state as forms, sent through the API's routes and shown again
with the refusal in place; and the case's history as a timeline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from werkzeug.wrappers import Response

from ... import api
from ..app import Refused, Visit
from ..forms import Input, inputs

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass
class CommandForm:
    """One command of a case, as a form: where it posts, its inputs, and a refusal if it was
    just refused (then it is shown open)."""

    rpc: str
    label: str
    action: str
    inputs: list[Input]
    refusal: str | None = None
    open: bool = False
    hidden: dict[str, str] = field(default_factory=dict)


def route_of(rpc: str, prefix: str) -> api.Route | None:
    """The command route of ``rpc`` whose path starts with ``prefix`` (/api/proposals/<proposal_id>/)."""
    for route in api.ROUTES:
        if route.rpc == rpc and route.is_command and route.path.startswith(prefix):
            return route
    return None


def api_path(route: api.Route, **params: str) -> str:
    return _PARAM.sub(lambda m: str(params[m.group(1)]), route.path)


def allowed(v: Visit, prefix: str, next_commands: Iterable[str], skip: Iterable[str] = ()) -> list[api.Route]:
    """The routes of the case's next commands the visitor's role may call."""
    found = []
    for rpc in next_commands:
        if rpc in skip:
            continue
        route = route_of(rpc, prefix)
        if route is not None and v.actor is not None and route.roles and v.actor.role in route.roles:
            found.append(route)
    return found


def command_forms(v: Visit, routes: Iterable[api.Route], action: Callable[[api.Route], str], *,
                  words: Callable[[str, str], str], choices: Mapping[str, list[tuple[str, str]]] | None = None,
                  refused: tuple[str, Refused, dict[str, Any]] | None = None,
                  label: Callable[[str], str] | None = None) -> list[CommandForm]:
    """A form per route; ``refused`` = (rpc, the refusal, what was typed) shows one again."""
    made = []
    for route in routes:
        is_refused = refused is not None and refused[0] == route.rpc
        model = route.body or api.Body
        skip = ("reason",) if model is api.Body else ()
        made.append(CommandForm(
            route.rpc, label(route.rpc) if label else route.rpc, action(route),
            inputs(model, v.lang, values=refused[2] if is_refused else None,
                   errors=refused[1].fields if is_refused else None, choices=choices, words=words, skip=skip),
            refusal=refused[1].message if is_refused else None, open=is_refused))
    return made


def run_command(v: Visit, prefix: str, rpc: str, params: Mapping[str, str], back: str,
                again: Callable[[tuple[str, Refused, dict[str, Any]]], Response]) -> Response:
    """Send the form posted for ``rpc`` (a command under ``prefix``) to its route; back to the
    case with a flash when done, else the case again with the refusal in place (``again``)."""
    route = route_of(rpc, prefix)
    if route is None:
        return v.error(404, v.t("没有这项操作", "No such command"),
                       v.t("此案件没有这项操作。", "The case has no such command."))
    try:
        v.submit(api_path(route, **params), route.body or api.Body)
    except Refused as refused:
        return again((rpc, refused, v.typed()))
    return v.redirect(back, flash="done")


def timeline(v: Visit, service: str, stream: str, until: str | None = None) -> dict[str, Any] | None:
    """The stream's history as the visitor may read it (staff and auditors), each event with
    its word, who (by name), when, on whose behalf and why; None for others."""
    if v.actor is None or v.actor.role not in api.AUDIT_READERS:
        return None
    found = v.get(f"/api/audit/{service}/streams/{stream}", until=until)
    v.names([e["actor"]["user_id"] for e in found["events"]] + [e["on_behalf_of"] for e in found["events"]])
    for e in found["events"]:
        e["word"] = v.word(service, "events", e["type"])
        e["role_word"] = v.word("proposals", "roles", e["actor"]["role"])
        e["who"] = v.name(e["actor"]["user_id"]) if e["actor"]["role"] != "system" else e["role_word"]
        e["for_whom"] = v.name(e["on_behalf_of"]) if e["on_behalf_of"] else None
    return found


def unit_choices(v: Visit) -> list[tuple[str, str]]:
    """The committee's open handling units, by name (for 交办 and the like)."""
    found = v.get("/api/organisations", kind="handling_unit", limit=500)
    return [(o["org_id"], o["name"]) for o in found["items"] if o.get("status") == "open"]


def member_choices(v: Visit, *, but: str | None = None) -> list[tuple[str, str]]:
    """The committee's active members, by name (co-signers and the like)."""
    if v.actor is None or v.actor.role not in ("staff", "member", "leader", "auditor"):
        return []
    found = v.get("/api/members", status="active", limit=500)
    return [(m["member_id"], m["name"]) for m in found["items"] if m["member_id"] != but]
