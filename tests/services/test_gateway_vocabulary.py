"""The gateway writes the services' vocabulary out in its request models (it imports no service):
these tests keep it equal to each domain's, so the two cannot drift. (The members vocabulary is
checked in test_gateway_http.py.) Pure: no broker, no database."""

from __future__ import annotations

import typing

import annotated_types
import pytest

from services.feedback.domain import vocabulary as feedback
from services.gateway import api, openapi
from services.proposals.domain import access as proposals_access
from services.proposals.domain import vocabulary as proposals
from xieshang.kernel.ids import ID_MAX_LENGTH, ID_PATTERN


def _values(annotation) -> set:
    """The values of a Literal, or of an Optional Literal."""
    args = typing.get_args(annotation)
    if args and typing.get_origin(annotation) is not typing.Literal:
        [literal] = [a for a in args if a is not type(None)]
        args = typing.get_args(literal)
    return set(args)


def _field(model, name):
    return model.model_fields[name]


def _bounds(field) -> tuple[int | None, int | None]:
    low = next((m.min_length for m in field.metadata if isinstance(m, annotated_types.MinLen)), None)
    high = next((m.max_length for m in field.metadata if isinstance(m, annotated_types.MaxLen)), None)
    return low, high


def _patterns(field) -> list[str]:
    return [m.pattern for m in field.metadata if getattr(m, "pattern", None)]


def _models() -> list[type]:
    found = {r.body for r in api.ROUTES if r.body} | {r.query for r in api.ROUTES if r.query}
    for model in list(found):
        for f in model.model_fields.values():
            for arg in (f.annotation, *typing.get_args(f.annotation)):
                if isinstance(arg, type) and hasattr(arg, "model_fields"):
                    found.add(arg)
    return sorted(found, key=lambda m: m.__name__)


def test_one_id_pattern_everywhere():
    assert api.Id.metadata and _patterns(api.Id) == [ID_PATTERN]
    assert _bounds(api.Id) == (1, ID_MAX_LENGTH)
    assert openapi.ID["pattern"] == ID_PATTERN
    others = {(m.__name__, n, p) for m in _models() for n, f in m.model_fields.items()
              for p in _patterns(f) if p != ID_PATTERN}
    # the one pattern that is not an id: a subscriber system's name, from the gateway's vocabulary
    from services.gateway.domain.vocabulary import SYSTEM_NAME_PATTERN
    others -= {("NewApiKey", "system", SYSTEM_NAME_PATTERN)}
    assert not others, f"fields with an id pattern of their own: {sorted(others)}"


def test_the_proposals_vocabulary_is_the_proposals_domains():
    assert _values(api.Category) == set(proposals.CATEGORIES)
    assert _values(api.Rating) == set(proposals.RATINGS)
    assert _values(_field(api.SubmitProposal, "kind").annotation) == set(proposals.KINDS)
    assert _values(_field(api.CollectiveBody, "type").annotation) == set(proposals.BODY_TYPES)
    assert _values(_field(api.NotFile, "conversion").annotation) == set(proposals.CONVERSIONS)
    assert _values(_field(api.Contact, "stage").annotation) == set(proposals.CONTACT_STAGES)
    assert _values(_field(api.Reply, "reply_class").annotation) == set(proposals.REPLY_CLASSES)
    assert _values(_field(api.KeyProposal, "mode").annotation) == set(proposals.SUPERVISION_MODES)
    assert _values(_field(api.Supervision, "kind").annotation) == set(proposals.SUPERVISION_KINDS)
    assert _values(_field(api.WorklistQuery, "status").annotation) == set(proposals.STATE_COMMANDS)


def _proposal_text_fields():
    for route in api.ROUTES:
        if route.service != "proposals" or route.body is None:
            continue
        for name, field in route.body.model_fields.items():
            if name == "reason":
                if route.rpc == "moderate_comment":
                    yield route.rpc, "rejection_reason", field
                elif route.rpc in api.TAKES_REASON:
                    yield route.rpc, "reason", field
            elif name in proposals.TEXT_LIMITS:
                yield route.rpc, name, field


@pytest.mark.parametrize("rpc,name,field", list(_proposal_text_fields()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_text_limits_are_the_domains(rpc, name, field):
    low, high = proposals.TEXT_LIMITS[name]
    if rpc == "moderate_comment":   # optional: only a rejection needs a reason
        assert _bounds(field)[1] == high
    else:
        assert _bounds(field) == (low, high), f"{rpc}.{name}"


def test_the_feedback_vocabulary_is_the_feedback_domains():
    assert _values(api.OpinionChannel) == set(feedback.CHANNELS)
    assert _values(api.OpinionCheck) == set(feedback.CHECKS)
    assert _values(api.OpinionStatus) == set(feedback.STATE_COMMANDS)
    assert _values(api.LeaderLevel) == set(feedback.LEVELS)
    assert _values(api.LeaderOffice) == set(feedback.LEADER_OFFICES)
    assert _values(api.Category) == set(feedback.CATEGORIES)
    assert _values(_field(api.SubmitOpinion, "channel").annotation) == set(feedback.CHANNELS)
    assert _values(_field(api.OpinionDeskQuery, "status").annotation) == set(feedback.STATE_COMMANDS)
    assert _values(_field(api.OpinionDeskQuery, "check_pending").annotation) == set(feedback.CHECKS)
    assert api.MAX_OPINION_SOURCES == feedback.MAX_SOURCES
    assert _bounds(_field(api.CombineOpinions, "sources")) == (2, feedback.MAX_SOURCES)


def _feedback_text_fields():
    for route in api.ROUTES:
        if route.service != "feedback" or route.body is None:
            continue
        for name, field in route.body.model_fields.items():
            if name == "reason":
                if route.rpc in api.TAKES_REASON:
                    yield route.rpc, "reason", field
            elif name in feedback.TEXT_LIMITS:
                yield route.rpc, name, field


def test_every_feedback_text_field_is_checked():
    checked = {(rpc, name) for rpc, name, _ in _feedback_text_fields()}
    assert {("submit_opinion_report", "title"), ("submit_opinion_report", "content"),
            ("revise_opinion_report", "content"), ("combine_opinion_reports", "title"),
            ("record_opinion_check", "note"), ("adopt_opinion_report", "note"),
            ("return_opinion_report", "reason"), ("not_adopt_opinion_report", "reason"),
            ("send_opinion_feedback", "text"), ("record_leader_instruction", "text"),
            ("inform_submitter", "text")} <= checked


@pytest.mark.parametrize("rpc,name,field", list(_feedback_text_fields()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_feedback_text_limits_are_the_domains(rpc, name, field):
    assert _bounds(field) == feedback.TEXT_LIMITS[name], f"{rpc}.{name}"


def test_the_gateway_knows_every_role_the_domains_act_on():
    domain_roles = {proposals.MEMBER, proposals.STAFF, proposals.UNIT, proposals.LEADER,
                    proposals.PUBLIC, proposals.AUDITOR, proposals.SUBSCRIBER}
    assert domain_roles <= set(api.ANYONE_SIGNED_IN)
    assert set(api.READERS) == set(proposals_access.READERS_OF_ALL)
    assert set(feedback.SUBMITTERS) | set(feedback.READERS) | {feedback.UNIT} <= set(api.ANYONE_SIGNED_IN)
    assert set(api.OPINION_READERS) == set(feedback.READERS)
    submit = next(r for r in api.ROUTES if r.rpc == "submit_opinion_report")
    assert submit.roles == set(feedback.SUBMITTERS)


def test_the_gateway_watches_every_service_the_tools_know():
    """The gateway's health check lists the services it calls; it cannot import the tools'
    catalogue (a service never imports a tool), so the two lists are compared here."""
    from services.gateway.service import SERVICES as GATEWAY_SERVICES
    from tools.catalog import SERVICES

    assert sorted(GATEWAY_SERVICES) == sorted(SERVICES)
