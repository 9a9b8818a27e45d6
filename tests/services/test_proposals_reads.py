"""What the proposals service's queries answer, through nameko on the real RabbitMQ: the
calendar warnings for staff, wait_for on every query, the statistics by who asks."""

from __future__ import annotations

import logging

import pytest

from services.gateway import api
from services.proposals.service import ProposalsService
from xieshang.kernel.envelope import Actor

from .conftest import MEMBER, STAFF, UNIT, wait_until

LEADER = Actor("leader-001", "leader", "chairs-meeting")
MZJ_KEY = Actor("key-mzj-oa", "subscriber", "mzj")
SUBMISSION = dict(title="关于完善社区食堂的提案", reasons="老年人就餐不便。", suggestions="每个街道建一个社区食堂。",
                  category="society")


def started(container_factory, config, now: str):
    container = container_factory(ProposalsService, {**config, "XIESHANG_FIXED_TIME": now})
    container.start()
    return container


def test_staff_are_warned_of_a_year_without_holiday_calendar(container_factory, config, rpc_as, caplog):
    # 20 November 2026: 2027's notice is not shipped, so next year has no calendar.
    caplog.set_level(logging.WARNING, logger="services.proposals.service")
    started(container_factory, config, "2026-11-20T09:00:00+08:00")
    logged = wait_until(lambda: [r for r in caplog.records if "2027" in r.getMessage()],
                        what="the calendar warning logged at start")
    assert "holiday calendar" in logged[0].getMessage() and "2027年" in logged[0].getMessage()

    rules = rpc_as(STAFF).proposals.handling_rules()
    [warning] = rules["warnings"]
    assert (warning["year"], warning["code"]) == (2027, "holiday_calendar_missing")
    assert "2027年" in warning["message"] and "2027" in warning["message_en"]
    assert "2026-10-01" in rules["calendar"]["holidays"]  # 2026 is shipped
    assert rpc_as(STAFF).proposals.worklist()["warnings"] == [warning]
    # Only staff enter the calendar: the others get no warning.
    assert rpc_as(UNIT).proposals.handling_rules()["warnings"] == []
    assert rpc_as(LEADER).proposals.worklist()["warnings"] == []


def test_no_warning_while_this_and_next_year_are_shipped(container_factory, config, rpc_as):
    started(container_factory, config, "2025-03-01T09:00:00+08:00")
    assert rpc_as(STAFF).proposals.handling_rules()["warnings"] == []


def test_the_case_and_the_rules_take_wait_for(container_factory, config, rpc_as):
    started(container_factory, config, "2025-03-01T09:00:00+08:00")
    member = rpc_as(MEMBER)
    receipt = member.proposals.submit_proposal(**SUBMISSION)
    case = member.proposals.get_proposal(receipt["proposal_id"], after_position=receipt["position"])
    assert case["status"] == "submitted"
    rules = rpc_as(STAFF).proposals.set_handling_rules({"reply_days": 60})
    assert rpc_as(STAFF).proposals.handling_rules(after_position=rules["position"])["rules"][
        "reply_days"] == 60


def test_every_proposals_query_route_takes_wait_for():
    for route in api.ROUTES:
        # (the log's own reads, histories and verification, and the words read no read model)
        if route.service == "proposals" and route.method == "GET" \
                and route.rpc not in ("stream_history", "verify_log", "vocabulary"):
            assert route.query is not None and "wait_for" in route.query.model_fields, route.path
            assert ("wait_for", "after_position") in route.rename, route.path


def test_the_statistics_as_staff_leaders_and_an_organisations_key_read_them(container_factory, config,
                                                                            rpc_as):
    started(container_factory, config, "2025-03-01T09:00:00+08:00")
    staff = rpc_as(STAFF).proposals.statistics(2025)
    assert "disclosure" not in staff  # as counted
    leader = rpc_as(LEADER).proposals.statistics(2025)
    assert leader["disclosure"] == {"min_ratings": 3, "units": "all"}
    key = rpc_as(MZJ_KEY).proposals.statistics(2025)
    assert key["disclosure"] == {"min_ratings": 3, "units": ["mzj"]} and key["units"] == {}
    with pytest.raises(Exception, match="NotAllowed"):
        rpc_as(MEMBER).proposals.statistics(2025)
