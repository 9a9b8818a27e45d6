"""A proposal's page 提案详情, for everyone inside the committee who may read it: its facts
and rounds as the service shows them to the visitor (ratings and units' texts only to whom the
service gives them), the commands its state allows the visitor, its history for staff and
auditors; and the commands sent from it."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from ..app import Visit, page
from .casework import allowed, command_forms, member_choices, run_command, timeline, unit_choices

INSIDE = ("staff", "auditor", "leader", "member", "unit")
PREFIX = "/api/proposals/<proposal_id>/"
# commands with forms of their own on the page (per comment), or on other pages
APART = ("moderate_comment", "answer_comment", "submit_comment")
# a Literal field's codes: which group of the proposals vocabulary words them
GROUPS = {"category": "categories", "kind": "kinds", "reply_class": "reply_classes",
          "reply_rating": "ratings", "attitude_rating": "ratings", "stage": "contact_stages",
          "conversion": "conversions", "mode": "supervision_modes", "type": "body_types"}


def words(v: Visit):
    def word(field: str, code: str) -> str:
        if field == "kind" and code in ("inspection", "meeting", "research", "other"):
            return v.word("proposals", "supervision_kinds", code)
        return v.word("proposals", GROUPS.get(field, field), code)
    return word


def _case(v: Visit, proposal_id: str) -> dict[str, Any]:
    case = v.get(f"/api/proposals/{proposal_id}")
    ids = [case.get("proposer"), *case.get("co_signers", []), *case.get("supervisors", []),
           *case.get("merged_proposers", [])]
    for r in case.get("rounds", []):
        ids += [r.get("lead_unit"), *r.get("co_units", [])]
        ids += [rating[0] for rating in r.get("ratings", []) or []]
    v.names(ids)
    return case


def show(v: Visit, proposal_id: str, refused=None, status: int = 200) -> Response:
    case = _case(v, proposal_id)
    routes = allowed(v, PREFIX, case.get("next_commands", []), skip=APART)
    needs = {f for r in routes if r.body for f in r.body.model_fields}
    choices = {}
    if needs & {"lead_unit", "co_units", "unit"}:
        units = unit_choices(v)
        choices.update(lead_unit=units, co_units=units)
        current = case["rounds"][-1] if case.get("rounds") else {}
        choices["unit"] = [(u, v.name(u)) for u in [current.get("lead_unit"), *current.get("co_units", [])] if u]
    forms = command_forms(v, routes, lambda r: f"/cases/{proposal_id}/do/{r.rpc}", words=words(v),
                          choices=choices, refused=refused,
                          label=lambda rpc: v.word("proposals", "commands", rpc))
    history = timeline(v, "proposals", case["stream"])
    comment_commands = {r.rpc for r in allowed(v, PREFIX, case.get("next_commands", [])) if r.rpc in APART}
    return v.render("case.html", status=status, title=case["title"], case=case, forms=forms, history=history,
                    comment_commands=comment_commands, word=words(v),
                    refused=refused if refused and refused[0] in APART else None)


@page("/cases/<proposal_id>", roles=INSIDE)
def case_page(v: Visit, proposal_id: str) -> Response:
    return show(v, proposal_id)


@page("/cases/<proposal_id>/do/<rpc>", methods=("POST",), roles=INSIDE)
def case_command(v: Visit, proposal_id: str, rpc: str) -> Response:
    return run_command(v, PREFIX, rpc, {"proposal_id": proposal_id}, f"/cases/{proposal_id}",
                       lambda refused: show(v, proposal_id, refused, status=refused[1].status))


@page("/cases/<proposal_id>/comments/<comment_id>/do/<rpc>", methods=("POST",), roles=("staff", "unit"))
def comment_command(v: Visit, proposal_id: str, comment_id: str, rpc: str) -> Response:
    if rpc not in ("moderate_comment", "answer_comment"):
        return v.error(404, v.t("没有这项操作", "No such command"), v.t("评论没有这项操作。", "No such command."))
    return run_command(v, "/api/proposals/<proposal_id>/comments/", rpc,
                       {"proposal_id": proposal_id, "comment_id": comment_id}, f"/cases/{proposal_id}#comments",
                       lambda refused: show(v, proposal_id, (rpc, refused[1], {**refused[2],
                                                                               "comment_id": comment_id}),
                                            status=refused[1].status))


__all__ = ["member_choices"]
