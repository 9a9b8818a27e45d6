"""Read rights of the proposals domain, pure: who reads which case and which parts of it
(the confidential 背靠背 ratings, the comment authors), and who reads worklists, statistics,
inboxes and a member's cases. No service, no broker."""

from __future__ import annotations

import pytest

from services.proposals.domain import access
from xieshang.kernel.domain import NotAllowed, NotFound
from xieshang.kernel.envelope import Actor

from .test_proposals_domain import (CITIZEN, CO1, CO_UNIT, LEAD, LEADER, MEMBER, OTHER_UNIT, STAFF,
                                    STRANGER, T, advance, d, do, published, submitted)

AUDITOR = Actor("audit-001", "auditor", "inspection")
SUBSCRIBER = Actor("sys-news", "subscriber", "news-portal")


def rated_and_commented() -> d.Proposal:
    """A published joint case, replied, rated by both proposers, with an approved comment."""
    s = submitted(co_signers=["m-002"], publish_consent=True)
    s = advance(s, do(d.confirm_co_signature, CO1, s, today=T.today))
    s = advance(s, do(d.file_proposal, STAFF, s, case_number="2024-001", today=T.today))
    s = advance(s, do(d.assign_proposal, STAFF, s, lead_unit="mzj", co_units=["zjj"], timing=T))
    s = advance(s, do(d.reply_to_proposal, LEAD, s, reply_class="A", reply="已解决。", today=T.today))
    s = advance(s, do(d.rate_reply, MEMBER, s, reply_rating="satisfied",
                      attitude_rating="satisfied", timing=T))
    s = advance(s, do(d.rate_reply, CO1, s, reply_rating="basically_satisfied",
                      attitude_rating="unsatisfied", timing=T))
    from .test_proposals_domain import DIRECTORY  # the names the members service made known
    s = advance(s, do(d.set_publication_consent, CO1, s, consent=True))
    s = advance(s, do(d.publish_proposal, STAFF, s, directory=DIRECTORY))
    s = advance(s, do(d.submit_comment, CITIZEN, s, comment_id="c1", display_name="网友甲",
                      text="希望尽快落实"))
    return advance(s, do(d.moderate_comment, STAFF, s, comment_id="c1", approve=True))


def test_who_reads_a_case():
    s = rated_and_commented()
    for actor in (STAFF, AUDITOR, LEADER, SUBSCRIBER, MEMBER, CO1, LEAD, CO_UNIT):
        assert access.may_read_case(actor, s), actor
    for actor in (STRANGER, OTHER_UNIT, CITIZEN):
        assert not access.may_read_case(actor, s), actor
        with pytest.raises(NotAllowed, match="not one of yours"):
            access.case_as_seen_by(actor, s)


def test_a_co_signer_reads_the_case_before_confirming_and_a_unit_only_once_assigned():
    s = submitted(co_signers=["m-002"])
    assert access.may_read_case(CO1, s) and not access.may_read_case(LEAD, s)


def test_a_case_that_does_not_exist_is_not_found_for_anyone():
    with pytest.raises(NotFound):
        access.case_as_seen_by(STAFF, d.fold("nope", []))


def test_ratings_are_confidential_staff_and_auditors_see_all_a_member_their_own_units_none():
    s = rated_and_commented()
    every = [["m-001", "satisfied", "satisfied"], ["m-002", "basically_satisfied", "unsatisfied"]]

    def ratings(actor):
        r = access.case_as_seen_by(actor, s)["rounds"][0]
        return [list(x) for x in r["ratings"]] if "ratings" in r else None

    assert ratings(STAFF) == ratings(AUDITOR) == every
    assert ratings(MEMBER) == [every[0]] and ratings(CO1) == [every[1]]
    for actor in (LEAD, CO_UNIT, LEADER, SUBSCRIBER):
        assert ratings(actor) is None, actor
        assert "unsatisfied" not in str(access.case_as_seen_by(actor, s))


def test_comment_authors_only_for_staff_and_auditors():
    s = rated_and_commented()
    assert access.case_as_seen_by(STAFF, s)["comments"][0]["author"] == CITIZEN.user_id
    assert access.case_as_seen_by(AUDITOR, s)["comments"][0]["author"] == CITIZEN.user_id
    for actor in (MEMBER, LEAD, LEADER):
        [comment] = access.case_as_seen_by(actor, s)["comments"]
        assert "author" not in comment and comment["display_name"] == "网友甲"


def test_staff_see_every_part_of_the_case_a_unit_all_but_the_ratings():
    s = published()
    case = s.to_dict()
    assert access.case_as_seen_by(STAFF, s).keys() == case.keys()
    seen = access.case_as_seen_by(LEAD, s)
    assert seen["rounds"][0].keys() == case["rounds"][0].keys() - {"ratings"}
    assert {k: v for k, v in seen.items() if k != "rounds"} == {k: v for k, v in case.items()
                                                              if k != "rounds"}


def test_worklists_and_statistics_are_for_staff_auditors_leaders_and_subscribers():
    for actor in (STAFF, AUDITOR, LEADER, SUBSCRIBER):
        access.require_reader(actor, "read the worklist")
    for actor in (MEMBER, LEAD, CITIZEN):
        with pytest.raises(NotAllowed, match="only staff, auditor, leader, subscriber may"):
            access.require_reader(actor, "read the worklist")


def test_a_units_inbox_is_for_the_unit_staff_and_auditors():
    for actor in (LEAD, STAFF, AUDITOR):
        access.require_inbox_reader(actor, "mzj")
    for actor in (CO_UNIT, LEADER, MEMBER):
        with pytest.raises(NotAllowed, match="it belongs to unit 'mzj'"):
            access.require_inbox_reader(actor, "mzj")


def test_a_members_cases_are_for_the_member_staff_and_auditors():
    for actor in (MEMBER, STAFF, AUDITOR):
        access.require_cases_reader(actor, MEMBER.user_id)
    for actor in (CO1, LEAD, LEADER):
        with pytest.raises(NotAllowed, match="not allowed to read these cases"):
            access.require_cases_reader(actor, MEMBER.user_id)


def handled_by_three_units() -> d.Proposal:
    """Filed, assigned to mzj with co-units zjj and wjw; contacts by mzj and zjj, opinions of both
    co-units."""
    s = submitted()
    s = advance(s, do(d.file_proposal, STAFF, s, case_number="2024-009", today=T.today))
    s = advance(s, do(d.assign_proposal, STAFF, s, lead_unit="mzj", co_units=["zjj", "wjw"], timing=T))
    s = advance(s, do(d.record_contact, LEAD, s, stage="before", summary="办前电话沟通，提案人希望先试点。"))
    s = advance(s, do(d.record_contact, CO_UNIT, s, stage="during", summary="会办单位现场走访。"))
    s = advance(s, do(d.send_co_unit_opinion, CO_UNIT, s, opinion="建议由住建部门统筹改造资金。"))
    return advance(s, do(d.send_co_unit_opinion, OTHER_UNIT, s, opinion="卫健部门配合做好适老化评估。"))


def texts(actor, s):
    r = access.case_as_seen_by(actor, s)["rounds"][0]
    if "contact_records" not in r:
        return None
    return ([(c["unit"], c["stage"], c["summary"][:4]) for c in r["contact_records"]],
            [(o["unit"], o["opinion"][:4]) for o in r["opinion_texts"]])


def test_the_lead_unit_reads_its_co_units_opinions_and_every_contact_record_of_its_round():
    s = handled_by_three_units()
    everything = ([("mzj", "before", "办前电话"), ("zjj", "during", "会办单位")],
                  [("zjj", "建议由住"), ("wjw", "卫健部门")])
    assert texts(LEAD, s) == texts(STAFF, s) == everything
    # A co-unit reads what it wrote itself, not the others'.
    assert texts(CO_UNIT, s) == ([("zjj", "during", "会办单位")], [("zjj", "建议由住")])
    assert texts(OTHER_UNIT, s) == ([], [("wjw", "卫健部门")])
    # Members, leaders and subscriber systems see the stages and who sent opinions, no text.
    for actor in (MEMBER, LEADER, SUBSCRIBER):
        r = access.case_as_seen_by(actor, s)["rounds"][0]
        assert texts(actor, s) is None and list(r["contacts"]) == ["before", "during"]
        assert list(r["opinions"]) == ["zjj", "wjw"] and "提案人希望" not in str(r) and "统筹" not in str(r)


def test_a_unit_that_leads_a_later_round_reads_only_that_rounds_texts_in_full():
    s = handled_by_three_units()
    s = advance(s, do(d.reassign_proposal, STAFF, s, lead_unit="zjj", co_units=["mzj"], timing=T))
    # The round was reassigned: zjj now leads it and reads every text of it, mzj only its own.
    assert texts(CO_UNIT, s)[1] == [("zjj", "建议由住"), ("wjw", "卫健部门")]
    assert texts(LEAD, s) == ([("mzj", "before", "办前电话")], [])


def test_who_reads_which_statistics():
    assert access.statistics_units(STAFF) == access.statistics_units(AUDITOR) == (False, None)
    assert access.statistics_units(LEADER) == (True, None)
    assert access.statistics_units(SUBSCRIBER) == (True, frozenset({"news-portal"}))
    for actor in (MEMBER, LEAD, CITIZEN):
        with pytest.raises(NotAllowed):
            access.statistics_units(actor)
