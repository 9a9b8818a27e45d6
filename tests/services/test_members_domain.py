"""The members domain, pure: every transition and every refusal, no broker, no database."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from services.members import domain as d
from services.members.domain import OrgIndex
from services.members.domain import commands as c
from xieshang.kernel.domain import InvalidCommand, NotAllowed, NotFound, WrongState
from xieshang.kernel.envelope import Actor

STAFF = Actor("staff-001", "staff", "committee-office")
MEMBER = Actor("m-001", "member", "经济界")
OTHER = Actor("m-002", "member", "教育界")
TODAY = date(2024, 3, 1)


# The decisions take their command; these build it from the arguments a caller names (the id
# from the state decided on), as the service's RPC methods do with Command.parse.

def register_organisation(actor, state, index, **kw):
    return d.register_organisation(actor, state, c.RegisterOrganisation(org_id=state.org_id, **kw), index)


def define_station(actor, state, index, **kw):
    return d.define_station(actor, state, c.DefineStation(station_id=state.org_id, **kw), index)


def set_station_communities(actor, state, index, **kw):
    return d.set_station_communities(actor, state, c.SetStationCommunities(station_id=state.org_id, **kw),
                                     index)


def rename_organisation(actor, state, index, **kw):
    return d.rename_organisation(actor, state, c.RenameOrganisation(org_id=state.org_id, **kw), index)


def close_organisation(actor, state, **kw):
    return d.close_organisation(actor, state, c.CloseOrganisation(org_id=state.org_id, **kw))


def appoint_member(actor, state, index=None, **kw):
    return d.appoint_member(actor, state, c.AppointMember(member_id=state.member_id, **kw), index)


def assign_to_station(actor, state, index=None, **kw):
    return d.assign_to_station(actor, state, c.AssignToStation(member_id=state.member_id, **kw), index)


def change_roles(actor, state, index=None, **kw):
    return d.change_roles(actor, state, c.ChangeRoles(member_id=state.member_id, **kw), index)


def end_term(actor, state, **kw):
    return d.end_term(actor, state, c.EndTerm(member_id=state.member_id, **kw), TODAY)


def resign_member(actor, state, **kw):
    return d.resign_member(actor, state, c.ResignMember(member_id=state.member_id, **kw), TODAY)


def set_point_rules(actor, rules, **kw):
    return d.set_point_rules(actor, rules, c.SetPointRules(year=rules.year, **kw))


def conclude_assessment(actor, member, ledger, rules, **kw):
    command = c.ConcludeAssessment(member_id=member.member_id, year=rules.year, **kw)
    return d.conclude_assessment(actor, ledger, command, member, rules)


def record_activity(actor, state, members, **kw):
    return d.record_activity(actor, state, c.RecordActivity(activity_id=state.activity_id, **kw), members)


def publish_menu(actor, state, index=None, **kw):
    return d.publish_menu(actor, state, c.PublishMenu(menu_id=state.menu_id, **kw), index)


def sign_up_for_menu(actor, menu, member, **kw):
    command = c.SignUpForMenu(menu_id=menu.menu_id, member_id=member.member_id, **kw)
    return d.sign_up_for_menu(actor, menu, command, member)


def org(org_id: str, events) -> d.Organisation:
    return d.fold_organisation(org_id, events)


def tree() -> OrgIndex:
    """A small committee: a sector, a special committee, a street with two communities, a work
    station on the street covering both, and a liaison point in one community."""
    orgs: dict[str, d.Organisation] = {}

    def add(org_id, decide):
        orgs[org_id] = org(org_id, decide(d.Organisation(org_id), OrgIndex(dict(orgs))))

    add("lc", lambda s, i: register_organisation(STAFF, s, i, kind="committee", name="鹿城区政协", level="county"))
    add("jjj", lambda s, i: register_organisation(STAFF, s, i, kind="sector", name="经济界", parent="lc"))
    add("jyj", lambda s, i: register_organisation(STAFF, s, i, kind="sector", name="教育界"))
    add("taw", lambda s, i: register_organisation(STAFF, s, i, kind="special_committee", name="提案委"))
    add("wm", lambda s, i: register_organisation(STAFF, s, i, kind="township", name="五马街道", parent="lc"))
    add("wm-1", lambda s, i: register_organisation(STAFF, s, i, kind="community", name="墨池社区", parent="wm"))
    add("wm-2", lambda s, i: register_organisation(STAFF, s, i, kind="community", name="府前社区", parent="wm"))
    add("st-wm", lambda s, i: define_station(STAFF, s, i, name="五马街道委员工作站", station_type="work_station",
                                               level="township", location="wm", communities=["wm-1", "府前社区"]))
    add("lp-wm1", lambda s, i: define_station(STAFF, s, i, name="墨池社区委员联系点", station_type="liaison_point",
                                                level="community", location="wm-1"))
    return OrgIndex(orgs)


def appointed(member_id="m-001", **kw) -> d.Member:
    args = dict(name="王丽", sector="经济界", term="第十届", index=tree())
    args.update(kw)
    return d.fold_member(member_id, appoint_member(STAFF, d.Member(member_id), **args))


# -- organisations ---------------------------------------------------------------------------------

def test_the_tree_is_registered_renamed_and_closed():
    index = tree()
    station = index.get("st-wm")
    assert (station.kind, station.station_type, station.station_level, station.location) == (
        "station", "work_station", "township", "wm")
    assert station.communities == ("wm-1", "wm-2")            # by id or by name
    assert index.get("lp-wm1").communities == ("wm-1",)        # a community station covers its own
    assert index.get("wm-1").parent == "wm" and index.get("lc").level == "county"

    [renamed] = rename_organisation(STAFF, index.get("jjj"), index, name="经济界别")
    state = org("jjj", [d.OrganisationRegistered("jjj", "sector", "经济界"), renamed])
    assert (state.name, renamed.previous_name) == ("经济界别", "经济界")
    assert rename_organisation(STAFF, state, index, name="经济界别") == []   # already so
    [closed] = close_organisation(STAFF, state, reason="界别调整")
    state = org("jjj", [d.OrganisationRegistered("jjj", "sector", "经济界"), closed])
    assert state.status == d.CLOSED
    for command in (lambda: close_organisation(STAFF, state, reason="再次撤销"),
                    lambda: rename_organisation(STAFF, state, index, name="新名")):
        with pytest.raises(WrongState) as err:
            command()
        assert err.value.state == "closed" and err.value.allowed == []


def test_station_communities_change_with_what_was_added_and_removed():
    index = tree()
    [changed] = set_station_communities(STAFF, index.get("st-wm"), index, communities=["wm-2"])
    assert (changed.communities, changed.added, changed.removed) == (["wm-2"], [], ["wm-1"])
    assert set_station_communities(STAFF, index.get("st-wm"), index, communities=["wm-1", "wm-2"]) == []
    with pytest.raises(InvalidCommand) as err:
        set_station_communities(STAFF, index.get("jjj"), index, communities=[])
    assert "org_id" in err.value.fields
    with pytest.raises(NotFound):
        set_station_communities(STAFF, d.Organisation("nope"), index, communities=[])


def test_organisation_refusals_name_the_fields():
    index = tree()
    with pytest.raises(NotAllowed):
        register_organisation(MEMBER, d.Organisation("x"), index, kind="sector", name="农业界")
    with pytest.raises(WrongState) as err:
        register_organisation(STAFF, index.get("jjj"), index, kind="sector", name="经济界")
    assert err.value.state == "open" and "rename_organisation" in err.value.allowed
    with pytest.raises(InvalidCommand) as err:
        register_organisation(STAFF, d.Organisation("bad id!"), index, kind="planet", name="")
    assert set(err.value.fields) == {"org_id", "kind", "name"}
    with pytest.raises(InvalidCommand) as err:
        register_organisation(STAFF, d.Organisation("c9"), index, kind="community", name="无主社区")
    assert set(err.value.fields) == {"parent"}
    with pytest.raises(InvalidCommand) as err:
        register_organisation(STAFF, d.Organisation("c9"), index, kind="community", name="错挂社区", parent="jjj")
    assert "乡镇/街道" in err.value.fields["parent"] and "'jjj'" in err.value.fields["parent"]
    with pytest.raises(InvalidCommand) as err:   # names are unique among the open ones of a kind
        register_organisation(STAFF, d.Organisation("jjj2"), index, kind="sector", name="经济界", level="city")
    assert set(err.value.fields) == {"name", "level"}
    with pytest.raises(InvalidCommand) as err:
        register_organisation(STAFF, d.Organisation("x"), index, kind="committee", name="某政协")
    assert set(err.value.fields) == {"level"}
    with pytest.raises(InvalidCommand) as err:
        register_organisation(STAFF, d.Organisation("x"), index, kind="station", name="站")
    assert "define_station" in err.value.fields["kind"]
    with pytest.raises(NotFound):
        rename_organisation(STAFF, d.Organisation("nowhere"), index, name="某处")
    with pytest.raises(NotAllowed):
        close_organisation(MEMBER, index.get("jjj"), reason="撤销界别")
    with pytest.raises(NotAllowed):
        rename_organisation(MEMBER, index.get("jjj"), index, name="新名")
    with pytest.raises(InvalidCommand) as err:
        close_organisation(STAFF, index.get("jjj"), reason="")
    assert set(err.value.fields) == {"reason"}
    with pytest.raises(InvalidCommand) as err:   # two open sectors may not share a name
        rename_organisation(STAFF, index.get("jyj"), index, name="经济界")
    assert set(err.value.fields) == {"name"}


def test_station_refusals():
    index = tree()
    with pytest.raises(NotAllowed):
        define_station(MEMBER, d.Organisation("s"), index, name="站", station_type="studio", level="township")
    with pytest.raises(InvalidCommand) as err:
        define_station(STAFF, d.Organisation("s"), index, name="五马街道委员工作站", station_type="office",
                         level="province", location="wm")
    assert set(err.value.fields) == {"name", "station_type", "level"}
    with pytest.raises(InvalidCommand) as err:   # at township level it stands in a township
        define_station(STAFF, d.Organisation("s"), index, name="站2", station_type="work_station",
                         level="township", location="wm-1")
    assert set(err.value.fields) == {"location"}
    with pytest.raises(InvalidCommand) as err:
        define_station(STAFF, d.Organisation("s"), index, name="站3", station_type="reception_room",
                         level="township", communities=["火星社区", "jjj"])
    assert "火星社区" in err.value.fields["communities"] and "jjj" in err.value.fields["communities"]
    outside = OrgIndex({**index.orgs, "sf": d.Organisation("sf", d.OPEN, "township", "山福镇"),
                        "sf-1": d.Organisation("sf-1", d.OPEN, "community", "驿头村", "sf")})
    with pytest.raises(InvalidCommand) as err:   # a street's station covers that street's communities
        define_station(STAFF, d.Organisation("s"), outside, name="站4", station_type="work_station",
                         level="township", location="wm", communities=["sf-1"])
    assert "lies in sf" in err.value.fields["communities"]
    [studio] = define_station(STAFF, d.Organisation("studio-jj"), index, name="经济界委员工作室",
                                station_type="studio", level="township")
    assert studio.location is None and studio.communities == []


def test_a_closed_or_ambiguous_reference_is_refused_with_the_reason():
    index = tree()
    closed = OrgIndex({**index.orgs, "jjj": dataclasses.replace(index.get("jjj"), status=d.CLOSED)})
    assert closed.find(("sector",), "jjj") == (None, "界别 'jjj' is closed")
    assert closed.find(("sector",), "经济界")[1] == "no 界别 '经济界' is registered"
    twice = OrgIndex({**index.orgs, "jjj-b": d.Organisation("jjj-b", d.OPEN, "sector", "经济界")})
    assert "several" in twice.find(("sector",), "经济界")[1] and "jjj-b" in twice.find(("sector",), "经济界")[1]
    assert twice.find(("sector",), "jjj-b")[0].org_id == "jjj-b"   # the id always works


# -- members -----------------------------------------------------------------------------------------

def test_appointment_resolves_references_and_keeps_ids():
    member = appointed(roles=["standing_committee"], special_committees=["提案委"], levels=["national", "county"],
                       station="五马街道委员工作站", communities=["墨池社区"], cpc_member=True)
    assert (member.status, member.sector, member.station, member.communities) == (
        "active", "jjj", "st-wm", ("wm-1",))
    assert member.special_committees == ("taw",) and member.levels == ("national", "county")
    assert member.menu_minimum == 2 and appointed().menu_minimum == 1
    assert appoint_member(STAFF, d.Member("m-9"), name="李", sector="经济界", term="第十届")[0].sector == "经济界"


def test_appointment_refusals():
    with pytest.raises(NotAllowed):
        appoint_member(MEMBER, d.Member("m-001"), name="王丽", sector="经济界", term="第十届")
    with pytest.raises(WrongState) as err:
        appoint_member(STAFF, appointed(), name="王丽", sector="经济界", term="第十届")
    assert err.value.state == "active" and "end_term" in err.value.allowed
    with pytest.raises(InvalidCommand) as err:
        appoint_member(STAFF, d.Member("m 1"), name="", sector="农业界", term="", roles=["king"],
                         levels=["galactic"], special_committees=["不存在委"], station="火星站",
                         index=tree())
    assert set(err.value.fields) == {"member_id", "name", "sector", "term", "roles", "levels",
                                     "special_committees", "station"}
    with pytest.raises(InvalidCommand) as err:
        appoint_member(STAFF, d.Member("m-1"), name="王丽", sector="经济界", term="第十届",
                         station="墨池社区委员联系点", communities=["府前社区"], index=tree())
    assert set(err.value.fields) == {"communities"} and "does not cover" in err.value.fields["communities"]
    with pytest.raises(InvalidCommand) as err:
        appoint_member(STAFF, d.Member("m-1"), name="王丽", sector="经济界", term="第十届",
                         communities=["墨池社区"], index=tree())
    assert "station" in err.value.fields["communities"]


def test_station_assignment_and_reassignment():
    member = appointed()
    [first] = assign_to_station(STAFF, member, station="墨池社区委员联系点", index=tree())
    member = d.fold_member("m-001", [first], member)
    assert (first.station, first.previous_station, member.station) == ("lp-wm1", None, "lp-wm1")
    assert assign_to_station(STAFF, member, station="lp-wm1", index=tree()) == []   # already there
    [moved] = assign_to_station(STAFF, member, station="st-wm", communities=["wm-2"], index=tree())
    assert (moved.station, moved.previous_station, moved.communities) == ("st-wm", "lp-wm1", ["wm-2"])
    with pytest.raises(NotAllowed):
        assign_to_station(MEMBER, member, station="st-wm", index=tree())
    with pytest.raises(InvalidCommand) as err:
        assign_to_station(STAFF, member, station="jjj", index=tree())
    assert set(err.value.fields) == {"station"}
    with pytest.raises(NotFound):
        assign_to_station(STAFF, d.Member("m-404"), station="st-wm", index=tree())


def test_role_changes_and_the_ends_of_service():
    member = appointed()
    [changed] = change_roles(STAFF, member, roles=["chairs_meeting"], special_committees=["taw"],
                               levels=["provincial", "county"], cpc_member=True, index=tree())
    member = d.fold_member("m-001", [changed], member)
    assert (member.roles, member.special_committees, member.levels, member.cpc_member) == (
        ("chairs_meeting",), ("taw",), ("provincial", "county"), True)
    assert change_roles(STAFF, member, roles=["chairs_meeting"], index=tree()) == []
    with pytest.raises(InvalidCommand) as err:
        change_roles(STAFF, member, roles="常委", cpc_member="yes", index=tree())
    assert set(err.value.fields) == {"roles", "cpc_member"}

    [ended] = end_term(STAFF, member, ended_on="2027-01-10")
    gone = d.fold_member("m-001", [ended], member)
    assert (gone.status, ended.term) == ("term_ended", "第十届")
    for command in (lambda: end_term(STAFF, gone, ended_on="2027-01-11"),
                    lambda: change_roles(STAFF, gone, roles=[]),
                    lambda: assign_to_station(STAFF, gone, station="st-wm")):
        with pytest.raises(WrongState) as err:
            command()
        assert err.value.allowed == ["appoint_member"]
    with pytest.raises(InvalidCommand) as err:   # a new appointment is for a new term
        appoint_member(STAFF, gone, name="王丽", sector="经济界", term="第十届")
    assert set(err.value.fields) == {"term"}
    [again] = appoint_member(STAFF, gone, name="王丽", sector="jjj", term="第十一届")
    assert d.fold_member("m-001", [again], gone).status == "active"

    with pytest.raises(InvalidCommand) as err:
        resign_member(STAFF, member, reason="", resigned_on="someday")
    assert set(err.value.fields) == {"reason", "resigned_on"}
    [resigned] = resign_member(STAFF, member, reason="工作调动，辞去委员", resigned_on="2025-05-01")
    assert d.fold_member("m-001", [resigned], member).status == "resigned"
    with pytest.raises(NotAllowed):
        resign_member(MEMBER, member, reason="个人原因", resigned_on="2025-05-01")
    with pytest.raises(InvalidCommand):
        end_term(STAFF, member, ended_on="2025-13-01")


def test_contact_details_are_checked_without_echoing_them_and_only_their_change_is_an_event():
    details = d.check_contact_details(" 139-0577-1234 ", "wang@example.cn", "温州市鹿城区五马街1号")
    assert details.phone == "13905771234" and "13905771234" not in repr(details) + str(details)
    assert d.check_contact_details("+86 13905771234").phone == "13905771234"
    assert d.check_contact_details("0577-88886666").phone == "0577-88886666"
    with pytest.raises(InvalidCommand) as err:
        d.check_contact_details("12345", "not-an-email", "x", where={"phone": "row 3, 手机"})
    assert set(err.value.fields) == {"row 3, 手机", "email", "address"}
    assert "12345" not in str(err.value.to_dict()) and "not-an-email" not in str(err.value.to_dict())

    member = appointed()
    [changed] = d.change_contact_details(STAFF, member, None, details)
    assert changed.fields == ["phone", "email", "address"]
    assert "13905771234" not in repr(changed.to_data())
    assert d.change_contact_details(MEMBER, member, details, details) == []   # the member themselves
    [phone] = d.change_contact_details(STAFF, member, details, dataclasses.replace(details, phone="13800000000"))
    assert phone.fields == ["phone"]
    with pytest.raises(NotAllowed):
        d.change_contact_details(OTHER, member, None, details)
    erasure = c.EraseContactDetails(member_id=member.member_id, reason=" 委员本人申请删除 ")
    [erased] = d.erase_contact_details(STAFF, member, details, erasure)
    assert isinstance(erased, d.ContactDetailsErased)
    assert (erased.fields, erased.reason) == (["phone", "email", "address"], "委员本人申请删除")
    assert "13905771234" not in repr(erased.to_data())
    assert d.erase_contact_details(MEMBER, member, None, erasure) == []
    with pytest.raises(NotFound):
        d.erase_contact_details(STAFF, d.Member("m-404"), details, erasure)


def test_an_erasure_of_contact_details_says_why():
    member, details = appointed(), d.ContactDetails(phone="13905771234")
    for reason in ("", " ", "x", "长" * 501):
        with pytest.raises(InvalidCommand) as err:
            d.erase_contact_details(STAFF, member, details, c.EraseContactDetails(member_id="m-001",
                                                                                  reason=reason))
        assert set(err.value.fields) == {"reason"} and "理由" in err.value.fields["reason"]
    with pytest.raises(InvalidCommand) as err:   # the RPC edge: a reason is required
        c.EraseContactDetails.parse(member_id="m-001")
    assert set(err.value.fields) == {"reason"}
    # Emptying every field by an edit would be an erasure without its reason or its event
    with pytest.raises(InvalidCommand) as err:
        d.change_contact_details(STAFF, member, details, d.ContactDetails())
    assert set(err.value.fields) == {"phone", "email", "address"} and "DELETE" in str(err.value)
    assert d.change_contact_details(STAFF, member, None, d.ContactDetails()) == []  # nothing to erase


# -- duty points ---------------------------------------------------------------------------------------

def credit(member="m-001", activity="proposal_filed", event="e1", year=2024, key=None) -> d.Credit:
    return d.Credit(member, activity, "proposals", event, "proposal-p1", year, key or event)


def test_rules_are_data_per_committee_and_year():
    rules = d.fold_point_rules("330302", 2024, [])
    assert (rules.version, rules.points_for("proposal_filed")) == (0, 5)     # the defaults
    [first] = set_point_rules(STAFF, rules, points={"proposal_filed": 8, "meeting_attended": 1},
                                caps={"meeting_attended": 10})
    rules = d.fold_point_rules("330302", 2024, [first])
    assert (rules.version, rules.points_for("proposal_filed"), rules.points_for("plenary_speech")) == (1, 8, 0)
    assert set_point_rules(STAFF, rules, points={"proposal_filed": 8, "meeting_attended": 1},
                             caps={"meeting_attended": 10}) == []
    [second] = set_point_rules(STAFF, rules, points={"proposal_filed": 6})
    assert second.version == 2 and second.committee == "330302" and second.year == 2024
    with pytest.raises(NotAllowed):
        set_point_rules(MEMBER, rules, points={})
    with pytest.raises(InvalidCommand) as err:
        set_point_rules(STAFF, rules, points={"proposal_filed": -1}, caps={"flying": 3})
    assert set(err.value.fields) == {"points", "caps"} and "flying" in err.value.fields["caps"]
    with pytest.raises(InvalidCommand) as err:
        set_point_rules(STAFF, d.PointRules("330302", 1900), points={})
    assert set(err.value.fields) == {"year"}


def test_credits_are_once_per_key_priced_by_the_year_and_capped():
    rules = d.fold_point_rules("c", 2024, set_point_rules(
        STAFF, d.PointRules("c", 2024), points={"meeting_attended": 4, "proposal_filed": 5},
        caps={"meeting_attended": 10}))
    ledger = d.Ledger("m-001")
    events = d.award(ledger, [credit(activity="meeting_attended", event=f"m{n}") for n in range(4)]
                     + [credit(event="f1"), credit(event="f1")], rules)
    assert [e.points for e in events] == [4, 4, 4, 4, 5]      # f1 once
    ledger = d.fold_ledger("m-001", events)
    assert ledger.total == 21 and ledger.year_total(2024, rules.caps) == 15   # meetings capped at 10
    assert d.award(ledger, [credit(event="f1")], rules) == []
    [zero] = d.award(ledger, [credit(activity="plenary_speech", event="s1")], rules)
    assert zero.points == 0 and zero.rules_version == 1        # recorded, for a later rule change
    assert d.award(ledger, [credit(activity="no_such_activity", event="x")], rules) == []


def test_a_rule_change_recomputes_the_year_and_a_concluded_assessment_stays():
    v1 = d.fold_point_rules("c", 2024, [])
    events = d.award(d.Ledger("m-001"), [credit(event="f1"), credit(event="f2"),
                                         credit(activity="reply_rated", event="r1"),
                                         credit(event="f3", year=2023)], v1)
    member = appointed()
    ledger = d.fold_ledger("m-001", events)
    [assessed] = conclude_assessment(STAFF, member, ledger, v1, outcome="commended", note="年度优秀")
    assert (assessed.points, assessed.rules_version, assessed.year) == (11, 0, 2024)
    ledger = d.fold_ledger("m-001", events + [assessed])
    with pytest.raises(WrongState) as err:
        conclude_assessment(STAFF, member, ledger, v1, outcome="normal")
    assert err.value.state == "active" and "commended" in str(err.value)  # the real state; why in the message

    v2 = d.fold_point_rules("c", 2024, set_point_rules(STAFF, v1, points={"proposal_filed": 3,
                                                                            "reply_rated": 1}))
    [recomputed] = d.recompute_year(ledger, v2)
    assert recomputed.rules_version == 1 and recomputed.total == 7
    assert [(c["credit_key"], c["before"], c["after"]) for c in recomputed.changes] == [("f1", 5, 3), ("f2", 5, 3)]
    after = d.fold_ledger("m-001", events + [assessed, recomputed])
    assert after.year_total(2024) == 7 and after.year_total(2023) == 5      # 2023 untouched
    assert after.assessments[2024].points == 11                              # as concluded
    assert d.recompute_year(after, v2) == []                                 # once per version
    [late] = d.award(after, [credit(event="f4")], v1)                        # priced by stale rules...
    [again] = d.recompute_year(d.fold_ledger("m-001", events + [assessed, recomputed, late]), v2)
    assert again.changes == [{"credit_key": "f4", "activity": "proposal_filed", "before": 5, "after": 3}]


def test_a_ledger_folded_on_from_any_point_equals_the_whole_fold():
    v1 = d.fold_point_rules("c", 2024, [])
    events = d.award(d.Ledger("m-001"), [credit(event="f1"), credit(event="f2"),
                                         credit(activity="reply_rated", event="r1"),
                                         credit(event="f3", year=2023)], v1)
    [assessed] = conclude_assessment(STAFF, appointed(), d.fold_ledger("m-001", events), v1,
                                     outcome="commended")
    v2 = d.fold_point_rules("c", 2024, set_point_rules(STAFF, v1, points={"proposal_filed": 3}))
    [recomputed] = d.recompute_year(d.fold_ledger("m-001", events + [assessed]), v2)
    again = d.award(d.Ledger("m-001"), [credit(event="f1"), credit(event="f9")], v1)  # f1 repeated
    history = events + [assessed, recomputed] + again
    whole = d.fold_ledger("m-001", history)
    for split in range(len(history) + 1):
        kept = d.fold_ledger("m-001", history[:split])
        assert d.fold_ledger_on(kept, history[split:]) == whole, split
    assert d.fold_ledger_on(whole, []) is whole


def test_assessment_refusals():
    rules = d.PointRules("c", 2024)
    with pytest.raises(NotAllowed):
        conclude_assessment(MEMBER, appointed(), d.Ledger("m-001"), rules, outcome="normal")
    with pytest.raises(NotFound):
        conclude_assessment(STAFF, d.Member("m-404"), d.Ledger("m-404"), rules, outcome="normal")
    with pytest.raises(InvalidCommand) as err:
        conclude_assessment(STAFF, appointed(), d.Ledger("m-001"), rules, outcome="excellent")
    assert set(err.value.fields) == {"outcome"}
    [talked] = conclude_assessment(STAFF, appointed(), d.Ledger("m-001"), rules, outcome="talked_to")
    assert talked.points == 0


def test_proposal_events_credit_the_people_they_name():
    def credits(event_type, **data):
        return [(c.member_id, c.activity) for c in d.proposal_credits(event_type, data, event_id="e",
                                                                       stream="proposal-p", year=2024)]
    assert credits("ProposalSubmitted", proposer="m1", title="t") == [("m1", "proposal_submitted")]
    assert credits("ProposalFiled", proposer="m1", case_number="2024-001") == [("m1", "proposal_filed")]
    assert credits("CoSignatureConfirmed", co_signer="m2") == [("m2", "proposal_co_signed")]
    assert credits("MergedProposalAdded", proposers=["m3", "m4", "m3"]) == [("m3", "proposal_merged"),
                                                                           ("m4", "proposal_merged")]
    assert credits("ReplyRated", rater="m5", round=2) == [("m5", "reply_rated")]
    assert credits("ProposalAssigned", proposer="m1") == []


@pytest.mark.parametrize("order", ["designation_first", "proposers_first"])
def test_a_key_designation_credits_every_proposer_whatever_the_order(order):
    submitted = ("ProposalSubmitted", {"proposal_id": "p", "proposer": "m1"}, "e1")
    merged = ("MergedProposalAdded", {"proposal_id": "p", "proposers": ["m2"]}, "e2")
    key = ("ProposalDesignatedKey", {"proposal_id": "p"}, "e3")
    sequence = [key, submitted, merged] if order == "designation_first" else [submitted, merged, key]
    case, events = d.CaseNotes("p"), []
    for event_type, data, event_id in sequence:
        events += d.note_case(case, event_type, data, event_id=event_id, stream="proposal-p", year=2024)
        case = d.fold_case("p", events)
    credits = d.key_credits(case)
    assert [(c.member_id, c.activity, c.credit_key, c.source_event_id) for c in credits] == [
        ("m1", "proposal_made_key", "key:p", "e3"), ("m2", "proposal_made_key", "key:p", "e3")]
    assert d.note_case(case, *key[:2], event_id="e4", stream="proposal-p", year=2024) == []
    assert d.note_case(case, *submitted[:2], event_id="e1", stream="proposal-p", year=2024) == []
    assert d.key_credits(d.CaseNotes("q", ("m1",))) == []


def test_recorded_activities_credit_participants_and_excused_members():
    members = {"m-001": appointed(), "m-002": appointed("m-002"),
               "m-003": d.fold_member("m-003", end_term(STAFF, appointed("m-003"), ended_on="2024-01-01"),
                                      appointed("m-003"))}
    [meeting] = record_activity(STAFF, d.Activity("a1"), members, kind="meeting", title="常委会第三次会议",
                                  held_on="2024-04-18", participants=["m-001"], excused=["m-002"])
    got = d.activity_credits(meeting, event_id="e", stream="activity-a1", service="members")
    assert [(c.member_id, c.activity, c.year) for c in got] == [("m-001", "meeting_attended", 2024),
                                                                ("m-002", "meeting_excused", 2024)]
    with pytest.raises(WrongState):
        record_activity(STAFF, d.fold_activity("a1", [meeting]), members, kind="meeting", title="再记",
                          held_on="2024-04-18", participants=["m-001"])
    with pytest.raises(NotAllowed):
        record_activity(MEMBER, d.Activity("a2"), members, kind="inspection", title="视察",
                          held_on="2024-04-18", participants=["m-001"])
    with pytest.raises(InvalidCommand) as err:
        record_activity(STAFF, d.Activity("a2"), members, kind="party", title="x", held_on="April",
                          participants=["m-001", "m-003", "m-404"], excused=["m-001"])
    assert set(err.value.fields) == {"kind", "title", "held_on", "participants", "excused"}
    assert "m-003" in err.value.fields["participants"] and "m-404" in err.value.fields["participants"]
    with pytest.raises(InvalidCommand) as err:
        record_activity(STAFF, d.Activity("a3"), members, kind="inspection", title="视察老旧小区改造",
                          held_on="2024-05-01", participants=[], excused=["m-002"])
    assert "meeting" in err.value.fields["excused"]


def test_menu_sign_ups_hold_the_yongjia_minimums():
    menu = d.fold_menu("menu-2024", publish_menu(STAFF, d.Menu("menu-2024"), year=2024, title="经济界履职菜单",
                                                   sector="jjj", items=[
        {"item_id": "i1", "title": "助力经济稳进提质调研", "form": "research"},
        {"item_id": "i2", "title": "全域旅游环境整治协商", "form": "consultation"},
        {"item_id": "i3", "title": "营商环境民主评议", "form": "review"}]))
    plain, standing, party = appointed("m-001"), appointed("m-002", roles=["standing_committee"]), \
        appointed("m-003", cpc_member=True)
    [signed] = sign_up_for_menu(Actor("m-001", "member", "经济界"), menu, plain, item_ids=["i1"])
    assert (signed.designated, signed.year) == (False, 2024)
    # 政协常委和党员委员 至少选择两个菜单: over the year, so one item at a time is a sign-up too
    [first] = sign_up_for_menu(Actor("m-003", "member", "经济界"), menu, party, item_ids=["i1"])
    assert (first.member_id, first.item_ids) == ("m-003", ["i1"])
    with pytest.raises(InvalidCommand) as err:
        sign_up_for_menu(STAFF, menu, party, item_ids=[])
    assert set(err.value.fields) == {"item_ids"}
    [designated] = sign_up_for_menu(STAFF, menu, standing, item_ids=["i1", "i3"])
    assert designated.designated
    menu = d.fold_menu("menu-2024", [*publish_menu(STAFF, d.Menu("menu-2024"), year=2024, title="经济界履职菜单",
                                                     sector="jjj", items=[dict(i) for i in menu.published.items]),
                                     signed, designated])
    assert menu.sign_ups == {"m-001": ("i1",), "m-002": ("i1", "i3")}
    assert sign_up_for_menu(STAFF, menu, plain, item_ids=["i1"]) == []            # already
    [more] = sign_up_for_menu(STAFF, menu, standing, item_ids=["i2", "i3"])       # 增选: one more
    assert more.item_ids == ["i2"]
    got = d.menu_credits(more, event_id="e", stream="menu-menu-2024", service="members")
    assert [(c.activity, c.credit_key) for c in got] == [("menu_signup", "menu:menu-2024:i2")]

    with pytest.raises(NotAllowed):
        sign_up_for_menu(OTHER, menu, plain, item_ids=["i2"])
    with pytest.raises(InvalidCommand) as err:
        sign_up_for_menu(STAFF, menu, plain, item_ids=["i9"])
    assert "not on the menu" in err.value.fields["item_ids"]
    with pytest.raises(InvalidCommand) as err:
        sign_up_for_menu(STAFF, menu, appointed("m-004", sector="教育界"), item_ids=["i1"])
    assert set(err.value.fields) == {"member_id"}
    with pytest.raises(NotFound):
        sign_up_for_menu(STAFF, d.Menu("nope"), plain, item_ids=["i1"])
    with pytest.raises(WrongState):
        publish_menu(STAFF, menu, year=2024, title="再发", items=[])
    with pytest.raises(InvalidCommand) as err:
        publish_menu(STAFF, d.Menu("m2"), year=1999, title="", items=[
            {"item_id": "a", "title": "x", "form": "party"}, {"item_id": "a", "title": "调研", "form": "research"}])
    assert set(err.value.fields) == {"year", "title", "items[1]"}
    with pytest.raises(NotAllowed):
        publish_menu(MEMBER, d.Menu("m3"), year=2024, title="菜单", items=[])


def test_every_event_is_registered_and_none_has_a_contact_field():
    assert {"OrganisationRegistered", "StationDefined", "MemberAppointed", "MemberAssignedToStation",
            "MemberRolesChanged", "MemberTermEnded", "MemberResigned", "ContactDetailsChanged",
            "ContactDetailsErased", "PointRulesSet", "DutyPointsAwarded", "DutyPointsRecomputed", "AnnualAssessmentConcluded",
            "ActivityRecorded", "DutyMenuPublished", "MenuSignedUp", "RosterImported"} <= set(d.registry.names())
    for name in d.registry.names():
        cls = d.registry._classes[name]
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
        assert not {f.name for f in dataclasses.fields(cls)} & {"phone", "email", "address", "contact"}


# -- commands --------------------------------------------------------------------------------------

def test_commands_are_parsed_once_and_keep_contact_details_out_of_their_repr():
    command = c.AppointMember.parse(member_id="m-001", name="王丽", sector="经济界", term="第十届",
                                    roles=["standing_committee"], contact={"phone": "13812345678"})
    assert command.roles == ("standing_committee",) and command.levels is None
    assert "13812345678" not in repr(command)
    assert "13812345678" not in repr(c.SetContactDetails.parse(member_id="m-001", phone="13812345678"))
    with pytest.raises(InvalidCommand) as err:
        c.AppointMember.parse(member_id="m 1", name="王丽", sector="经济界", term="第十届", roles="常委",
                              cpc_member="yes")
    assert set(err.value.fields) == {"member_id", "roles", "cpc_member"}
    [event] = d.appoint_member(STAFF, d.Member("m-001"), command, tree(), default_levels=["county"])
    assert (event.sector, event.roles, event.levels) == ("jjj", ["standing_committee"], ["county"])


def test_the_end_of_a_term_and_a_resignation_default_to_today():
    [ended] = end_term(STAFF, appointed())
    [resigned] = resign_member(STAFF, appointed(), reason="工作调动")
    assert ended.ended_on == resigned.resigned_on == TODAY.isoformat()


def test_a_menu_for_a_sector_names_it_by_id_or_name():
    items = [{"item_id": "i1", "title": "助力经济稳进提质调研", "form": "research"}]
    [menu] = publish_menu(STAFF, d.Menu("m1"), tree(), year=2024, title="经济界履职菜单", sector="经济界",
                          items=items)
    assert menu.sector == "jjj"
    with pytest.raises(InvalidCommand) as err:
        publish_menu(STAFF, d.Menu("m2"), tree(), year=2024, title="农业界履职菜单", sector="农业界", items=items)
    assert set(err.value.fields) == {"sector"}
