"""What a report's page shows of what was said on it: each unit's written feedback and what the
submitters were told 情况通报 stay in the report's state, in order (its page reads the state)."""

from __future__ import annotations

from datetime import date

import pytest

from xieshang.kernel.envelope import Actor

from services.feedback import domain
from services.feedback.domain import access, commands as c

pytestmark = pytest.mark.unit

MEMBER = Actor("m-1", "member", "经济界")
STAFF = Actor("s-1", "staff", "office")
UNIT = Actor("u-1", "unit", "mzj")
TODAY = date(2024, 5, 6)


def _adopted() -> list:
    events = domain.submit_opinion_report(MEMBER, "r1", c.SubmitOpinionReport(
        title="关于社区助餐的建议", content="社区养老服务网点覆盖不足，老人就近助餐难。"))
    for check in domain.CHECKS:
        events += domain.record_opinion_check(STAFF, domain.fold("r1", events),
                                              c.RecordOpinionCheck("r1", check, True, "通过审核"))
    return events + domain.adopt_opinion_report(STAFF, domain.fold("r1", events), c.AdoptOpinionReport("r1"))


def test_the_feedback_text_and_the_notices_are_kept_in_order():
    events = _adopted()
    events += domain.forward_opinion(STAFF, domain.fold("r1", events),
                                     c.ForwardOpinion("r1", ("mzj", "wjw"), "2024-06-30"), today=TODAY)
    events += domain.send_opinion_feedback(UNIT, domain.fold("r1", events),
                                           c.SendOpinionFeedback("r1", "已增设助餐点 12 个。"), today=TODAY)
    for text in ("您的信息已被采用。", "民政局已书面反馈。"):
        events += domain.inform_submitter(STAFF, domain.fold("r1", events), c.InformSubmitter("r1", text))
    seen = access.report_as_seen_by(MEMBER, domain.fold("r1", events))
    assert [(f["unit"], f["text"]) for f in seen["forwards"]] == [("mzj", "已增设助餐点 12 个。"), ("wjw", None)]
    assert seen["notices"] == ["您的信息已被采用。", "民政局已书面反馈。"] and seen["informed"] == 2
    as_unit = access.report_as_seen_by(UNIT, domain.fold("r1", events))
    assert "notices" not in as_unit and "forwards" not in as_unit   # a unit: the report and its own forwarding
