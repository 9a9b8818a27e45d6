"""A commenter's own comments (``my_comments``, issue 15's public pages), through nameko on the
real RabbitMQ: a resident sees their pending, approved and rejected comments (with the
moderator's reason), never another person's; the public answer still shows approved ones only."""

from __future__ import annotations

import pytest
from nameko.exceptions import RemoteError

from services.proposals.service import ProposalsService
from xieshang.kernel.envelope import Actor

from .conftest import MEMBER, STAFF
from .test_proposals_directory import seed_directory

RESIDENT = Actor("pub-own-01", "public", "public")
NEIGHBOUR = Actor("pub-own-02", "public", "public")
AUDITOR = Actor("audit-001", "auditor", "inspection")
SUBMISSION = dict(title="关于完善社区食堂的提案", reasons="老年人就餐不便。", suggestions="每个街道建一个社区食堂。",
                  category="society")


@pytest.fixture
def proposals(container_factory, config):
    container = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": "2024-03-01T09:00:00+08:00"})
    container.start()
    seed_directory(container, members=[(MEMBER.user_id, "王建国")])
    return container


def refused(call, *args, **kwargs) -> RemoteError:
    with pytest.raises(RemoteError) as err:
        call(*args, **kwargs)
    return err.value


def test_a_commenter_sees_their_own_comments_in_every_state_and_nobody_elses(proposals, rpc_as):
    member, staff = rpc_as(MEMBER), rpc_as(STAFF)
    pid = member.proposals.submit_proposal(**SUBMISSION, publish_consent=True)["proposal_id"]
    staff.proposals.file_proposal(pid)
    # before publication: nothing to see (and nothing said of the case)
    assert refused(rpc_as(RESIDENT).proposals.my_comments, pid).exc_type == "NotFound"
    staff.proposals.publish_proposal(pid)
    resident, neighbour = rpc_as(RESIDENT).proposals, rpc_as(NEIGHBOUR).proposals
    assert resident.my_comments(pid) == {"proposal_id": pid, "items": []}
    first = resident.submit_comment(pid, "希望午餐提供软食", "社区居民")["comment_id"]
    second = resident.submit_comment(pid, "电话号码13912345678", "社区居民")["comment_id"]
    theirs = neighbour.submit_comment(pid, "赞成这个提案", "邻居")["comment_id"]
    staff.proposals.moderate_comment(pid, second, False, reason="含个人联系方式")
    mine = resident.my_comments(pid)["items"]
    assert [(c["comment_id"], c["status"], c["reason"]) for c in mine] == [
        (first, "pending", None), (second, "rejected", "含个人联系方式")]
    assert mine[0]["text"] == "希望午餐提供软食" and mine[0]["display_name"] == "社区居民"
    assert "author" not in str(mine) and RESIDENT.user_id not in str(mine)
    assert [c["comment_id"] for c in neighbour.my_comments(pid)["items"]] == [theirs]
    last = staff.proposals.moderate_comment(pid, first, True)
    assert resident.my_comments(pid)["items"][0]["status"] == "approved"
    public = member.proposals.public_proposals(after_position=last["position"])["items"][0]
    detail = member.proposals.public_proposal(public["case_number"])
    assert [c["comment_id"] for c in detail["comments"]] == [first]  # approved ones only
    # still their own after the case is withdrawn from publication
    staff.proposals.unpublish_proposal(pid, "提案人撤回同意")
    assert len(resident.my_comments(pid)["items"]) == 2
    assert refused(rpc_as(Actor("pub-own-03", "public", "public")).proposals.my_comments, pid
                   ).exc_type == "NotFound"


def test_only_those_who_comment_read_their_comments(proposals, rpc_as):
    pid = rpc_as(MEMBER).proposals.submit_proposal(**SUBMISSION)["proposal_id"]
    for actor in (STAFF, AUDITOR):
        assert refused(rpc_as(actor).proposals.my_comments, pid).exc_type == "NotAllowed"
    assert refused(rpc_as(RESIDENT).proposals.my_comments, "no such id!").exc_type == "InvalidCommand"
    assert refused(rpc_as(RESIDENT).proposals.my_comments, "p-none").exc_type == "NotFound"
