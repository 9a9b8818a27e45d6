"""Who may see and do what in the members service: pure functions, no service, no broker."""

from __future__ import annotations

import pytest

from services.members.domain import access
from services.members.domain.vocabulary import READERS_OF_ALL
from xieshang.kernel.domain import NotAllowed
from xieshang.kernel.envelope import Actor

STAFF = Actor("staff-001", "staff", "committee-office")
WANG = Actor("m-wang", "member", "经济界")
LI = Actor("m-li", "member", "教育界")
LEADER = Actor("leader-001", "leader", "chairs-meeting")
AUDITOR = Actor("auditor-001", "auditor", "audit-office")
UNIT = Actor("u-mzj-001", "unit", "mzj")


def test_contact_details_are_for_staff_and_the_member_themselves_only():
    assert access.may_handle_contact_details(STAFF, "m-wang")
    assert access.may_handle_contact_details(WANG, "m-wang")
    for other in (LI, LEADER, AUDITOR, UNIT, Actor("m-wang", "unit", "mzj")):   # the id alone is not enough
        assert not access.may_handle_contact_details(other, "m-wang")
        with pytest.raises(NotAllowed) as err:
            access.require_contact_details_right(other, "m-wang", "read contact details")
        assert "staff or the member themselves" in str(err.value)


def test_a_dossier_is_for_staff_leaders_auditors_and_the_member():
    for reader in (STAFF, LEADER, AUDITOR, WANG):
        assert access.may_read_dossier(reader, "m-wang")
        access.require_dossier_reader(reader, "m-wang")
    for other in (LI, UNIT):
        assert not access.may_read_dossier(other, "m-wang")
        with pytest.raises(NotAllowed):
            access.require_dossier_reader(other, "m-wang")


def test_the_ranking_hides_assessments_from_all_but_the_readers_of_all():
    rows = [{"member_id": "m-wang", "points": 10, "rank": 1, "assessment": "talked_to"},
            {"member_id": "m-li", "points": 5, "rank": 2, "assessment": None}]
    for role in READERS_OF_ALL:
        assert access.sees_assessments(role)
        assert access.ranking_as_seen_by(role, rows) == rows
    for role in ("member", "unit", None):   # None: a query without an actor (the published ranking)
        assert not access.sees_assessments(role)
        shown = access.ranking_as_seen_by(role, rows)
        assert [r["member_id"] for r in shown] == ["m-wang", "m-li"]
        assert all("assessment" not in r for r in shown)
    assert rows[0]["assessment"] == "talked_to"   # the rows given are left as they were


def test_menu_sign_ups_are_the_members_own_or_designated_by_staff():
    assert access.may_sign_up(WANG, "m-wang") and access.may_sign_up(STAFF, "m-wang")
    assert not access.may_sign_up(LI, "m-wang") and not access.may_sign_up(LEADER, "m-wang")


def test_the_registry_is_kept_by_staff():
    access.require_staff(STAFF, "appoint_member", "only committee staff appoint members")
    for other in (WANG, LEADER, AUDITOR, UNIT):
        with pytest.raises(NotAllowed) as err:
            access.require_staff(other, "appoint_member", "only committee staff appoint members")
        assert f"the actor's role is {other.role!r}" in str(err.value)
