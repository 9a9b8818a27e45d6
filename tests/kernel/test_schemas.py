"""The integration contract's JSON Schemas (xieshang.kernel.schemas, docs/integration/schemas).

* The checked-in files are what the event dataclasses make: an event whose shape changed without
  a new SCHEMA_VERSION fails here (and ``xieshang contract`` refuses to overwrite its schema).
* Real events, made by the services' own code, validate against the schemas of their types.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from datetime import date
from dataclasses import field
from typing import Any, Literal

import pytest

from services.feedback.domain.events import PUBLICATION as FEEDBACK
from services.gateway.domain.events import PUBLICATION as GATEWAY
from services.members.domain.events import PUBLICATION as MEMBERS
from services.notify.domain.events import PUBLICATION as NOTIFY
from services.proposals.domain.events import PUBLICATION as PROPOSALS
from tests.contract import validation
from tools import contract
from xieshang.kernel import schemas
from xieshang.kernel.anchoring import CheckpointSigner, seal
from xieshang.kernel.domain import DomainEvent, EventRegistry
from xieshang.kernel.envelope import Actor, Deployment, NewEvent
from xieshang.kernel.integration import NOTHING_WITHHELD, Publication
from xieshang.kernel.store.memory import MemoryEventStore

ALL = [PROPOSALS, MEMBERS, FEEDBACK, NOTIFY, GATEWAY]
DEPLOYMENT = Deployment("640200", "city")
STAFF = Actor("staff-001", "staff", "proposal-committee")


# -- the files in the repository --------------------------------------------------------------
def test_the_checked_in_schemas_and_asyncapi_document_are_what_the_events_make():
    plan = contract.plan(contract.DOCS, ALL)
    assert not plan.reshaped, contract.reshaped_message(plan.reshaped)
    assert not plan.changes, (
        "docs/integration/ is out of date (not a change of shape: descriptions, or a new public "
        "type or version): run `xieshang contract` and check the files in. Out of date: "
        + ", ".join([*plan.write, *plan.remove]))


def test_every_public_type_and_version_has_a_schema_file_and_nothing_private_has_one():
    names = {p.name for p in (contract.DOCS / "schemas").glob("*.json")}
    for publication in ALL:
        for type_name in publication.public:
            assert f"{publication.ce_type(type_name)}.json" in names
        for type_name in publication.private:
            assert not any(n.startswith(f"cn.gov.cppcc.{publication.service}.{type_name}.v") for n in names)
    for schema in validation.schemas().values():
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_service_publications_are_found_through_the_contract_loader():
    import services  # noqa: F401 - registers the loader, as any service's import does

    assert schemas.publication_of("proposals") is PROPOSALS
    assert schemas.publication_of("gateway") is GATEWAY
    assert schemas.publication_of("nowhere") is None
    assert json.loads(schemas.asyncapi_text(("proposals", "members", "feedback", "notify", "gateway"))) \
        == json.loads((contract.DOCS / schemas.ASYNCAPI_FILE).read_text(encoding="utf-8"))


# -- the schemas of type hints ---------------------------------------------------------------
def test_type_hints_become_json_schemas():
    assert schemas.schema_of_hint(str) == {"type": "string"}
    assert schemas.schema_of_hint(int) == {"type": "integer"}
    assert schemas.schema_of_hint(bool | None) == {"type": ["boolean", "null"]}
    assert schemas.schema_of_hint(list[str]) == {"type": "array", "items": {"type": "string"}}
    assert schemas.schema_of_hint(tuple[int, ...]) == {"type": "array", "items": {"type": "integer"}}
    assert schemas.schema_of_hint(dict[str, int]) == {"type": "object",
                                                      "additionalProperties": {"type": "integer"}}
    assert schemas.schema_of_hint(dict[str, Any]) == {"type": "object"}
    assert schemas.schema_of_hint(dict[str, str] | None) == {
        "type": ["object", "null"], "additionalProperties": {"type": "string"}}
    assert schemas.schema_of_hint(list[dict[str, Any]]) == {"type": "array", "items": {"type": "object"}}
    assert schemas.schema_of_hint(Literal["a", "b"]) == {"enum": ["a", "b"]}
    assert schemas.schema_of_hint(int | str) == {"type": ["integer", "string"]}
    assert schemas.schema_of_hint(Any | None) == {}
    with pytest.raises(schemas.SchemaError, match="ProposalX.when"):
        import datetime
        schemas.schema_of_hint(datetime.datetime, "ProposalX.when")
    with pytest.raises(schemas.SchemaError, match="keys must be strings"):
        schemas.schema_of_hint(dict[int, str], "x")


def test_a_public_type_schema_withholds_what_it_withholds_and_requires_the_fields_without_default():
    schema = schemas.data_schema(MEMBERS, "MemberAppointed")
    assert "cpc_member" not in schema["properties"] and "cpc_member" in schema["$comment"]
    assert schema["$id"] == "urn:cppcc:schema:cn.gov.cppcc.members.MemberAppointed.v1"
    assert schema["additionalProperties"] is False
    filed = schemas.data_schema(PROPOSALS, "ProposalFiled")
    assert filed["required"] == ["proposal_id", "case_number", "proposer", "title", "category"]
    assert filed["properties"]["co_signers"] == {"type": "array", "items": {"type": "string"}}
    assert filed["description"].startswith("The proposal committee filed the proposal 立案")
    with pytest.raises(schemas.SchemaError, match="not public"):
        schemas.data_schema(PROPOSALS, "ReplyRated")


def test_the_envelope_is_closed_so_no_other_attribute_leaves():
    store = MemoryEventStore(DEPLOYMENT)
    store.append("proposal-1", 0, [NewEvent("ProposalFiled", {
        "proposal_id": "p1", "case_number": "1", "proposer": "m1", "title": "t", "category": "economy"},
        STAFF)])
    event = PROPOSALS.cloud_event(store.read_all()[0])
    validation.check(event)
    assert any("xsuserid" in p for p in validation.problems({**event, "xsuserid": "staff-001"}))
    assert validation.problems({**event, "data": {**event["data"], "rating": "satisfied"}})
    assert validation.problems({**event, "data": {k: v for k, v in event["data"].items() if k != "title"}})
    assert validation.problems({**event, "xsposition": "2"})
    assert validation.problems({**event, "dataschema": "urn:cppcc:schema:cn.gov.cppcc.proposals.ProposalClosed.v1"})


# -- a change of shape needs a new version -------------------------------------------------------
def _publication(version: int, *, with_note: bool, doc: str = "A thing happened.") -> Publication:
    registry = EventRegistry()
    fields: list[Any] = [("thing_id", str), ("count", int, field(default=0))]
    if with_note:
        fields.append(("note", str, field(default="")))
    cls = dataclasses.make_dataclass("ThingHappened", fields, bases=(DomainEvent,), frozen=True)
    cls.SCHEMA_VERSION, cls.__doc__ = version, doc
    registry.register(cls)
    return Publication("things", registry, public={"ThingHappened": NOTHING_WITHHELD}, private={})


def _write(folder, pubs):
    plan = contract.plan(folder, pubs)
    for path, text in plan.write.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    for path in plan.remove:
        (folder / path).unlink()
    return plan


def test_a_field_added_without_a_new_schema_version_is_refused_and_a_new_version_is_a_new_file(tmp_path):
    _write(tmp_path, [_publication(1, with_note=False)])
    v1 = tmp_path / "schemas" / "cn.gov.cppcc.things.ThingHappened.v1.json"
    assert json.loads(v1.read_text())["properties"] == {"thing_id": {"type": "string"},
                                                         "count": {"type": "integer"}}
    # the same version, another shape: refused, with what to do
    changed = contract.plan(tmp_path, [_publication(1, with_note=True)])
    assert changed.reshaped == ["schemas/cn.gov.cppcc.things.ThingHappened.v1.json"]
    message = contract.reshaped_message(changed.reshaped)
    assert "SCHEMA_VERSION" in message and "upcaster" in message and "xieshang contract" in message
    # only the words changed: no new version needed, the file is rewritten
    reworded = contract.plan(tmp_path, [_publication(1, with_note=False, doc="Something happened.")])
    assert not reworded.reshaped and "schemas/cn.gov.cppcc.things.ThingHappened.v1.json" in reworded.write
    # a new version: its own file; the old version's schema is kept
    bumped = _write(tmp_path, [_publication(2, with_note=True)])
    assert not bumped.reshaped and bumped.kept == ["schemas/cn.gov.cppcc.things.ThingHappened.v1.json"]
    assert v1.exists() and (tmp_path / "schemas" / "cn.gov.cppcc.things.ThingHappened.v2.json").exists()
    assert not contract.plan(tmp_path, [_publication(2, with_note=True)]).changes
    # a type no longer published: its schemas go
    gone = _write(tmp_path, [])
    assert set(gone.remove) == {"schemas/cn.gov.cppcc.things.ThingHappened.v1.json",
                                "schemas/cn.gov.cppcc.things.ThingHappened.v2.json"}


def test_the_contract_command_refuses_a_reshaped_version_and_checks(tmp_path, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setattr(contract, "publications", lambda: [_publication(1, with_note=False)])
    runner = CliRunner()
    assert runner.invoke(contract.contract, ["--out", str(tmp_path), "--check"]).exit_code == 1
    assert runner.invoke(contract.contract, ["--out", str(tmp_path)]).exit_code == 0
    assert runner.invoke(contract.contract, ["--out", str(tmp_path), "--check"]).exit_code == 0
    monkeypatch.setattr(contract, "publications", lambda: [_publication(1, with_note=True)])
    refused = runner.invoke(contract.contract, ["--out", str(tmp_path)])
    assert refused.exit_code == 1 and "SCHEMA_VERSION" in refused.output and "ThingHappened.v1" in refused.output
    assert runner.invoke(contract.contract, ["--out", str(tmp_path), "--rewrite"]).exit_code == 0


def test_shape_ignores_descriptions_but_not_a_field_named_title():
    schema = {"title": "x", "description": "y", "type": "object",
              "properties": {"title": {"type": "string", "description": "z"}}}
    assert schemas.shape_of(schema) == {"type": "object", "properties": {"title": {"type": "string"}}}


# -- real events validate --------------------------------------------------------------------
def test_the_events_of_four_proposal_lifecycles_and_a_checkpoint_validate():
    """The proposals service's own command code (bench/events.py drives it in this process, on a
    memory store) makes every event of four lifecycles; each public one, as a CloudEvent,
    validates against its schema, and so does the log's checkpoint."""
    from bench.events import LEADER, LIFECYCLES, P_MEMBERS, P_UNITS, Driver

    seen = set()
    for lifecycle, _ in LIFECYCLES.values():
        store = MemoryEventStore(DEPLOYMENT)
        driver = Driver(store)
        driver.know([*P_MEMBERS, LEADER.user_id], P_UNITS)
        for _ in lifecycle(driver):
            pass
        seal(store, CheckpointSigner.generate(), service="proposals")
        events = [PROPOSALS.cloud_event(env) for env in store.read_all()]
        seen |= validation.check_all(e for e in events if e is not None)
    assert {"cn.gov.cppcc.proposals.ProposalFiled.v1", "cn.gov.cppcc.proposals.ProposalAssigned.v1",
            "cn.gov.cppcc.proposals.ProposalReplied.v1", "cn.gov.cppcc.proposals.ProposalClosed.v1",
            "cn.gov.cppcc.proposals.LogCheckpointed.v1"} <= seen


def test_objections_reassignment_a_moved_deadline_reminders_and_unpublishing_validate():
    """A fifth lifecycle, through the same command code: what the four do not make."""
    from bench.events import (LEADER, P_MEMBERS, P_SESSION, P_UNITS, REASONS, REPLY, SUGGESTIONS,
                              TITLE, Driver, member, unit)
    from services.proposals import domain
    from xieshang.kernel.context import CommandContext
    from xieshang.kernel.envelope import SYSTEM_ACTOR

    store = MemoryEventStore(DEPLOYMENT)
    d = Driver(store)
    d.know([*P_MEMBERS, LEADER.user_id], P_UNITS)
    m, (lead, co) = P_MEMBERS[0], P_UNITS
    staff = d.as_(STAFF)
    staff.set_handling_rules({"counting": "working", "reply_days": 20})
    pid = d.as_(member(m)).submit_proposal(TITLE, REASONS, SUGGESTIONS, "society", session=P_SESSION,
                                           publish_consent=True)["proposal_id"]
    d.as_(STAFF).file_proposal(pid)
    d.on(1)
    d.as_(STAFF).assign_proposal(pid, lead, co_units=[co])
    d.on(2)
    d.as_(unit(co)).object_to_assignment(pid, "不属于本单位职责")
    d.as_(STAFF).dismiss_objection(pid, co, "属于会办职责")
    d.as_(unit(lead)).object_to_assignment(pid, "不属于本单位职责")
    d.as_(STAFF).reassign_proposal(pid, co, co_units=[lead])
    d.as_(unit(lead)).send_co_unit_opinion(pid, "会办意见：同意。")
    # The amendment is recorded first; its recount of open cases then reads the views, which this
    # driver has none of: the deadline check below recounts the case instead.
    with contextlib.suppress(AttributeError):
        d.as_(STAFF).amend_holiday_calendar(add_holidays=["2024-01-22"])

    def deadline_check() -> None:  # the timer's decision (check_deadlines), without its views query
        timing = d.service._timing()
        d.service._system_decision(CommandContext(actor=SYSTEM_ACTOR, reason="deadline check"), pid,
                                   lambda case: [*domain.recount_deadline(case, timing),
                                                 *domain.remind_or_escalate(case, timing)])
    for day in (3, 25, 60):
        d.on(day)
        deadline_check()
    d.as_(unit(co)).reply_to_proposal(pid, "A", REPLY)
    d.as_(member(m)).rate_reply(pid, "satisfied", "satisfied")
    d.as_(STAFF).close_proposal(pid)
    d.as_(STAFF).publish_proposal(pid)
    d.as_(STAFF).unpublish_proposal(pid, "涉及个人信息")
    events = [PROPOSALS.cloud_event(env) for env in store.read_all()]
    seen = validation.check_all(e for e in events if e is not None)
    assert {f"cn.gov.cppcc.proposals.{t}.v1" for t in (
        "HandlingRulesSet", "AssignmentObjected", "ObjectionDismissed", "ProposalReassigned",
        "CoUnitOpinionSent", "HolidayCalendarAmended", "ReplyDeadlineMoved", "ReplyDueSoon",
        "ReplyOverdue", "ProposalUnpublished")} <= seen


def test_a_members_term_validates_without_its_party_membership():
    from services.members import domain as members

    cmd = members.commands
    store, state = MemoryEventStore(DEPLOYMENT), members.Member("m-001")

    def record(decided):
        nonlocal state
        store.append("member-m-001", store.stream_version("member-m-001"), [
            NewEvent(e.type_name(), e.to_data(), STAFF, schema_version=e.SCHEMA_VERSION) for e in decided])
        state = members.fold_member("m-001", members.registry.decode_all(store.read_stream("member-m-001")))

    record(members.appoint_member(STAFF, state, cmd.AppointMember(
        member_id="m-001", name="王丽", sector="医药卫生界", term="第十届", roles=("standing_committee",),
        cpc_member=True)))
    record(members.change_roles(STAFF, state, cmd.ChangeRoles(member_id="m-001", roles=(), cpc_member=False)))
    record(members.resign_member(STAFF, state, cmd.ResignMember(member_id="m-001", reason="工作调动"),
                                 date(2024, 6, 1)))
    events = [MEMBERS.cloud_event(env) for env in store.read_all()]
    assert validation.check_all(e for e in events if e is not None) == {
        f"cn.gov.cppcc.members.{t}.v1" for t in ("MemberAppointed", "MemberRolesChanged", "MemberResigned")}
    assert all("cpc_member" not in e["data"] and "reason" not in e["data"] for e in events if e)


@pytest.mark.parametrize("publication", ALL, ids=lambda p: p.service)
def test_every_services_checkpoint_validates(publication):
    store = MemoryEventStore(DEPLOYMENT)
    store.append("thing-1", 0, [NewEvent("Anything", {}, STAFF)])
    [sealed] = seal(store, CheckpointSigner.generate(), service=publication.service)
    event = publication.cloud_event(sealed)
    validation.check(event)
    assert event["type"] == f"cn.gov.cppcc.{publication.service}.LogCheckpointed.v1"


def test_the_organisation_tree_and_a_members_station_validate():
    from services.members import domain as members
    from services.members.domain.organisations import OrgIndex

    cmd, store = members.commands, MemoryEventStore(DEPLOYMENT)

    def record(stream, decided):
        store.append(stream, store.stream_version(stream), [
            NewEvent(e.type_name(), e.to_data(), STAFF, schema_version=e.SCHEMA_VERSION) for e in decided])

    def org(org_id):
        return members.fold_organisation(org_id, members.registry.decode_all(store.read_stream(f"org-{org_id}")))

    def index():
        return OrgIndex.of(org(o) for o in ("sec-1", "tw-1", "com-1", "st-1"))

    for org_id, kind, name, parent in (("sec-1", "sector", "经济界", None), ("tw-1", "township", "长胜街道", None),
                                       ("com-1", "community", "长胜社区", "tw-1")):
        record(f"org-{org_id}", members.register_organisation(STAFF, org(org_id), cmd.RegisterOrganisation(
            org_id=org_id, kind=kind, name=name, parent=parent), index()))
    record("org-st-1", members.define_station(STAFF, org("st-1"), cmd.DefineStation(
        station_id="st-1", name="长胜街道委员工作站", station_type="work_station", level="township",
        location="tw-1"), index()))
    record("org-st-1", members.set_station_communities(STAFF, org("st-1"), cmd.SetStationCommunities(
        station_id="st-1", communities=("com-1",)), index()))
    member = members.Member("m-001")
    [appointed] = members.appoint_member(STAFF, member, cmd.AppointMember(
        member_id="m-001", name="王丽", sector="sec-1", term="第十届"), index())
    record("member-m-001", [appointed])
    record("member-m-001", members.assign_to_station(STAFF, members.fold_member("m-001", [appointed]),
                                                     cmd.AssignToStation(member_id="m-001", station="st-1"), index()))
    record("org-sec-1", members.rename_organisation(STAFF, org("sec-1"), cmd.RenameOrganisation(
        org_id="sec-1", name="经济界别"), index()))
    record("org-sec-1", members.close_organisation(STAFF, org("sec-1"), cmd.CloseOrganisation(
        org_id="sec-1", reason="界别调整")))
    events = [MEMBERS.cloud_event(env) for env in store.read_all()]
    assert validation.check_all(e for e in events if e is not None) >= {
        f"cn.gov.cppcc.members.{t}.v1" for t in (
            "OrganisationRegistered", "StationDefined", "StationCommunitiesSet", "MemberAssignedToStation",
            "OrganisationRenamed", "OrganisationClosed")}


def test_the_asyncapi_payloads_refuse_what_the_schema_files_refuse():
    store = MemoryEventStore(DEPLOYMENT)
    store.append("proposal-1", 0, [NewEvent("ProposalFiled", {
        "proposal_id": "p1", "case_number": "1", "proposer": "m1", "title": "t", "category": "economy"},
        STAFF)])
    event = PROPOSALS.cloud_event(store.read_all()[0])
    assert validation.asyncapi_problems(event) == []
    assert validation.asyncapi_problems({**event, "xsuserid": "staff-001"})
    assert validation.asyncapi_problems({**event, "data": {**event["data"], "rating": "satisfied"}})
    assert validation.asyncapi_problems({**event, "type": "cn.gov.cppcc.proposals.ProposalClosed.v1"})
    assert validation.asyncapi_problems({**event, "xsservice": "members"})
