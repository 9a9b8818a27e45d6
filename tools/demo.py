"""Demo data: a small working committee drawn from the seeds (石嘴山市政协, 2024).

The topics come from the source documents: 石嘴山's 2023 work on wetland ecology, industrial
heritage, food safety and forest and garden waste (seed 003), 鹿城's charging piles and fitness
services (seed 002), 公主岭's bus stops and gas safety (seed 004), and the opinion report
《打通惠企政策服务"最后一公里"》 (seed 003). The people and units are made up, and so are their
mailboxes: each has one on the reserved domain ``demo.invalid`` (which no real server delivers
to), so that a mail catcher (Mailpit, in docker-compose.yml) shows the notices the notify service
sends; nothing real is recorded.

Everything goes through the services' RPC commands, as the gateway's users would do it, so the
demo exercises the real stack: the events land in each service's store, the relays publish them,
the members service credits duty points and the notify service queues notices.

``load`` is idempotent: it does nothing when the demo's first member is already appointed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import Actor

STAFF = Actor("staff-szs-001", "staff", "proposal-committee")  # 提案委员会工作人员
OFFICE = ("proposal-committee", "提案委员会")   # staff's organisation: its inbox is the office's
MAIL_DOMAIN = "demo.invalid"   # reserved (RFC 2606): the demo's made-up mailboxes

MEMBERS = [  # (member id, name, sector 界别, roles, station 委员工作站)
    ("m-szs-001", "王建国", "经济界", ["standing_committee"], "大武口区长胜街道委员工作站"),
    ("m-szs-002", "李秀兰", "医药卫生界", [], "大武口区人民路街道委员工作站"),
    ("m-szs-003", "马志强", "农业农村界", [], "平罗县城关镇委员工作站"),
    ("m-szs-004", "张丽华", "教育界", ["chairs_meeting"], "惠农区北街街道委员工作站"),
    ("m-szs-005", "刘海涛", "科技界", [], "大武口区青山街道委员工作站"),
    ("m-szs-006", "赵文静", "民建", [], "惠农区南街街道委员工作站"),
]
TERM = "第十一届"

UNITS = {  # 承办单位: the organisation id a unit's users act in
    "u-szs-lcj": "市林业和草原局",
    "u-szs-zjj": "市住房和城乡建设局",
    "u-szs-scj": "市市场监督管理局",
    "u-szs-jtj": "市交通运输局",
    "u-szs-tyj": "市文化旅游体育广电局",
    "u-szs-ghj": "市自然资源局",
}


LEADER = Actor("leader-szs-01", "leader", "chairs-meeting")  # 主席会议成员, supervises key proposals
# The leader is a member of the committee too (主席会议成员): the proposals service names as
# supervisors only people its directory knows from the members service.
LEADER_MEMBER = ("leader-szs-01", "周卫东", "经济界", ["chairs_meeting"], None)
PUBLIC = Actor("pub-demo-01", "public", "public")
AUDITOR = Actor("auditor-szs-01", "auditor", "audit-office")  # 审计: reads every history, verifies the logs

# Each step: (who, command, arguments). Who: "staff", "proposer", "unit" (the current lead unit),
# "leader", "public", or "member:<id>".
Step = tuple[str, str, dict]


@dataclass
class DemoProposal:
    proposer: str
    title: str
    reasons: str
    suggestions: str
    category: str
    co_signers: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    publish_consent: bool = False
    lead_unit: str | None = None


def _assign(unit: str, *co_units: str) -> Step:
    return ("staff", "assign_proposal", {"lead_unit": unit, "co_units": list(co_units)})


FILE: Step = ("staff", "file_proposal", {})


def _rate(reply: str, attitude: str = "satisfied", who: str = "proposer") -> Step:
    return (who, "rate_reply", {"reply_rating": reply, "attitude_rating": attitude})


PROPOSALS = [
    DemoProposal(
        "m-szs-003", "关于提升星海湖湿地生态功能的提案",
        "星海湖湿地部分区域补水不足，水质波动，鸟类栖息地面积缩小。",
        "实施生态补水和退化湿地修复工程，建立湿地水质常态监测和公开制度。", "ecology",
        co_signers=["m-szs-005"], publish_consent=True, lead_unit="u-szs-lcj", steps=[
            ("member:m-szs-005", "confirm_co_signature", {}), FILE, _assign("u-szs-lcj", "u-szs-ghj"),
            ("staff", "designate_key_proposal", {"supervisors": [LEADER.user_id], "mode": "chairs_meeting"}),
            ("unit", "record_contact", {"stage": "before", "summary": "办前与提案人座谈，商定补水和修复方案"}),
            ("leader", "record_supervision", {"kind": "inspection", "note": "视察星海湖湿地修复现场"}),
            ("unit", "reply_to_proposal", {"reply_class": "A", "reply": "已完成生态补水2000万立方米，修复退化"
                                           "湿地300亩，水质监测数据按月公开。"}),
            _rate("satisfied"), _rate("satisfied", who="member:m-szs-005"),
            # The co-signer agrees to their own name being shown (the proposer did at submission).
            ("member:m-szs-005", "set_publication_consent", {"consent": True}),
            ("staff", "publish_proposal", {}),
            ("public", "submit_comment", {"display_name": "星海湖边的居民", "text": "湿地变美了，希望多建观鸟步道。",
                                          "comment_id": "demo-comment-1"}),
            ("staff", "moderate_comment", {"comment_id": "demo-comment-1", "approve": True}),
            ("unit", "answer_comment", {"comment_id": "demo-comment-1", "answer": "观鸟步道已列入明年计划。"}),
            ("staff", "close_proposal", {})]),
    DemoProposal(
        "m-szs-001", "关于加强工业遗存保护利用的提案",
        "我市老工业遗存较多，部分厂房闲置失修，缺乏统一的保护利用规划。",
        "开展工业遗存普查，编制保护利用规划，引入社会资本发展工业旅游。", "culture",
        publish_consent=True, lead_unit="u-szs-tyj", steps=[
            FILE, _assign("u-szs-tyj", "u-szs-zjj"),
            ("unit", "reply_to_proposal", {"reply_class": "B", "reply": "工业遗存普查已完成，保护利用规划已列入"
                                           "明年工作计划。"}),
            _rate("basically_satisfied"),
            ("unit", "record_follow_up", {"note": "规划编制已招标", "kept": False}),
            ("staff", "publish_proposal", {})]),
    DemoProposal(
        "m-szs-002", "关于提升食品安全治理水平的提案",
        "百花市场等农贸市场食品快检覆盖不全，小作坊监管存在薄弱环节。",
        "在农贸市场设立快检室并公示结果，推行小作坊“阳光厨房”和信用分级监管。", "society",
        lead_unit="u-szs-scj", steps=[
            FILE, _assign("u-szs-scj"),
            ("unit", "reply_to_proposal", {"reply_class": "C", "reply": "快检室建设需新增编制和经费，因条件"
                                           "限制暂不能全面铺开。"}),
            _rate("unsatisfied", "basically_satisfied")]),  # → handled again, round 2
    DemoProposal(
        "m-szs-005", "关于完善森林和园林垃圾处置的提案",
        "修剪枝条、落叶等园林垃圾多被填埋或焚烧，既浪费资源又污染环境。",
        "建设园林垃圾资源化处理站，推广粉碎还林和堆肥利用。", "ecology",
        lead_unit="u-szs-lcj", steps=[FILE, _assign("u-szs-lcj")]),
    DemoProposal(
        "m-szs-006", "关于住宅小区新能源汽车充电设施建设的提案",
        "老旧小区充电桩少、私拉电线现象多，存在消防隐患。",
        "将充电设施纳入老旧小区改造，统一规划公共充电车位，明确物业和供电企业责任。", "economy",
        co_signers=["m-szs-001", "m-szs-004"], lead_unit="u-szs-zjj", steps=[
            ("member:m-szs-001", "confirm_co_signature", {}),
            ("member:m-szs-004", "confirm_co_signature", {}), FILE, _assign("u-szs-zjj")]),
    DemoProposal(
        "m-szs-004", "关于构建全民健身服务体系的提案",
        "社区健身设施分布不均，学校体育场地向社会开放不足。",
        "推进学校体育场地错时开放，建设“15分钟健身圈”。", "society", steps=[FILE]),
    DemoProposal(
        "m-szs-001", "关于尽快完善市区公交站点的提案",
        "新建小区周边公交站点少，部分站台无候车亭。",
        "优化线路和站点布局，为主要站点加装候车亭和电子站牌。", "society"),
    DemoProposal(
        "m-szs-002", "关于加强燃气安全管理和管道更新改造的提案",
        "部分老旧小区燃气管道老化，餐饮场所燃气报警装置安装率低。",
        "开展燃气管道更新改造，推动餐饮场所全部安装燃气泄漏报警装置。", "society", steps=[
            ("staff", "return_proposal", {"reason": "一事一案：请将管道改造和报警装置分为两件提案"})]),
    DemoProposal(
        "m-szs-003", "关于解决某小区楼道灯不亮问题的提案",
        "某小区3号楼楼道灯长期不亮，老人夜间出行不便。",
        "请物业尽快维修楼道灯。", "society", steps=[
            ("staff", "not_file_proposal", {"reason": "反映个案问题，不符合立案标准，转社情民意信息",
                                            "conversion": "opinion_report"})]),
    DemoProposal(
        "m-szs-002", "关于加快老旧小区充电桩建设的提案",
        "老旧小区居民充电难，电动车飞线充电屡禁不止。",
        "加快建设小区公共充电桩，给予建设补贴。", "economy", steps=[
            ("staff", "merge_proposal", {"into": "@4"})]),  # 并案 into the charging-piles case
]

CHECKS = [("staff", "record_opinion_check", {"check": c, "passed": True, "note": note})
          for c, note in (("political", "导向正确"), ("facts", "情况属实"), ("content", "建议具体可行"),
                          ("wording", "文字规范"))]
OpinionStep = tuple[str, str, dict]  # (who: staff, leader or a unit id, command, arguments)


@dataclass
class DemoOpinion:
    submitter: str
    title: str
    content: str
    category: str
    steps: list[OpinionStep] = field(default_factory=list)
    upper: bool = False  # with an upper-level deployment (`xieshang up --with-upper`): reported there


OPINION_REPORTS = [  # 社情民意: every step records one event of the report's stream
    DemoOpinion("m-szs-006", "打通惠企政策服务“最后一公里”",
                "部分中小企业反映惠企政策分散在多个部门，申报流程复杂，建议建立一站式惠企政策服务平台，"
                "推行“免申即享”。", "economy", steps=[
                    *CHECKS, ("staff", "adopt_opinion_report", {"note": "反映问题具有普遍性"}),
                    ("staff", "report_opinion", {"party_committee": True, "government": True,
                                                 "leaders": [LEADER.user_id]}),
                    ("staff", "forward_opinion", {"units": ["u-szs-scj"], "deadline": "@+30"}),
                    ("u-szs-scj", "send_opinion_feedback",
                     {"text": "已在政务服务中心设立惠企政策专窗，12项政策实现免申即享。"}),
                    (LEADER.user_id, "record_leader_instruction",
                     {"text": "请市场监管局会同有关部门抓好落实。", "leader_level": "city",
                      "office": "committee"}),
                    ("staff", "inform_submitter", {"text": "您的信息已被采用，报送市委、市政府，获领导批示，"
                                                           "市市场监管局已书面反馈办理情况。"})]),
    DemoOpinion("m-szs-003", "关于加强黄河湿地保护的建议",
                "沙湖周边湿地退化，部分河段存在违规取砂现象，建议建立跨部门巡查机制，加大生态修复投入。",
                "ecology", steps=[*CHECKS, ("staff", "adopt_opinion_report", {})], upper=True),
    DemoOpinion("m-szs-002", "关于规范社区药店执业药师在岗的建议",
                "部分社区药店执业药师挂证不在岗，群众买药缺少用药指导，建议开展专项检查。", "society",
                steps=[("staff", "record_opinion_check", {"check": "political", "passed": True,
                                                          "note": "导向正确"}),
                       ("staff", "return_opinion_report", {"reason": "请补充调查涉及的药店数量和具体情况"})]),
]
# The upper level of `xieshang up --with-upper`: 宁夏回族自治区政协 above 石嘴山市政协.
DEPLOYMENT = ("640200", "city", "石嘴山市政协")
UPPER = ("640000", "province", "宁夏回族自治区政协")
UPPER_STAFF = Actor("staff-nx-001", "staff", "nx-office")
UPPER_LEADER = Actor("leader-nx-01", "leader", "nx-government")


# 协商议事 and 民主监督 (seeds 001, 002, 004): a street's 民生议事堂 consults on lifts for old
# residential buildings in eight steps, approved and decided by the street's party working
# committee; a supervision group goes to the market regulator on food safety around schools.
TOWNSHIP = ("tw-szs-csj", "大武口区长胜街道")
HALL = ("station-szs-msyst", "长胜街道民生议事堂")
PARTY_LEADER = Actor("leader-szs-csj", "leader", "csj-party-committee")  # 长胜街道党工委: 同级党组织
CONSULTATION_MEMBERS = ["m-szs-001", "m-szs-005"]
SUPERVISION = {"name": "校园周边食品安全民主监督组", "leader": "m-szs-002",
               "members": ["m-szs-005", "m-szs-006"], "department": "u-szs-scj",
               "topic": "校园及周边食品安全监管",
               "basis": "《中华人民共和国食品安全法》和市委、市政府食品安全工作部署"}
CONSULTATION_EVENTS = 13  # raised … closed: one event per step below
SUPERVISION_EVENTS = 5    # formed, fact finding, opinion, handling report, verified


def directory_events() -> int:
    """How many members-service events the feedback service's directory notes from the demo
    (members and the leader, units, the street, the stations)."""
    return len(MEMBERS) + 1 + len(UNITS) + 1 + len(MEMBERS) + 1


def feedback_events(with_upper: bool = False) -> int:
    """How many events the demo records in the feedback service (the converted proposal too;
    with the upper level: the reporting there and the three decisions that come back; the
    consultation, the supervision group and the directory entries)."""
    return (sum(1 + len(o.steps) + (4 if with_upper and o.upper else 0) for o in OPINION_REPORTS) + 1
            + CONSULTATION_EVENTS + SUPERVISION_EVENTS + directory_events())


def _consultation(rpc: Proxy) -> dict[str, Any]:
    """The eight steps 八步议事法 of one consultation at the street's 民生议事堂, to its close."""
    from datetime import date, timedelta

    today = date.today()
    staff, leader, unit = rpc(STAFF).feedback, rpc(PARTY_LEADER).feedback, rpc(_unit("u-szs-zjj")).feedback
    cid = staff.propose_consultation_topic(
        "老旧小区加装电梯", "长胜街道多个老旧小区居民多为老年人，上下楼困难，希望加装电梯，但费用分摊和"
        "低层住户意见不一。", "infrastructure", "resident", township=TOWNSHIP[0])["consultation_id"]
    staff.decide_consultation_topic(cid, note="群众反映集中，属可协商事项")
    leader.approve_consultation_topic(cid, note="同意开展协商")
    staff.plan_consultation(cid, today.isoformat(), HALL[0], members=CONSULTATION_MEMBERS,
                            departments=["u-szs-zjj"], residents=15, stakeholders=["物业服务企业", "电梯企业"],
                            agenda="一、介绍加装电梯政策；二、各方发言；三、议定费用分摊和施工安排。")
    staff.record_consultation_research(cid, "interview", today.isoformat(), CONSULTATION_MEMBERS[:1],
                                       "走访 3 个小区 60 户，八成以上住户支持加装。")
    staff.record_consultation_meeting(
        cid, today.isoformat(), CONSULTATION_MEMBERS, departments=["u-szs-zjj"], residents=15,
        stakeholders=["物业服务企业"], speakers=[CONSULTATION_MEMBERS[0], "u-szs-zjj"],
        opinions=["低层住户担心采光和噪音", "建议按楼层分摊费用"],
        outcomes=["按楼层系数分摊加装费用", "住建局年内完成 3 个小区试点审批"])
    staff.publish_consultation_results(cid, "notice_board", "议定：按楼层系数分摊费用，年内完成 3 个小区试点。",
                                       (today + timedelta(days=7)).isoformat())
    leader.decide_consultation(cid, [1, 2], "同意协商成果，由市住房和城乡建设局牵头落实。")
    task_id = staff.assign_follow_up_task(cid, "u-szs-zjj", 2, "完成 3 个小区加装电梯试点审批",
                                          (today + timedelta(days=60)).isoformat())["task_id"]
    unit.complete_follow_up_task(cid, task_id, "3 个小区加装电梯试点已审批，2 部电梯开工。")
    staff.record_follow_up_visit(cid, today.isoformat(), CONSULTATION_MEMBERS[1:], "居民对施工进度表示满意。")
    staff.record_satisfaction_survey(cid, 20, 16, 3, 1)
    receipt = staff.close_consultation(cid, "试点审批完成，群众满意率 95%。")
    return {"consultation_id": cid, "stream": receipt["stream"], "status": "closed"}


def _supervision(rpc: Proxy) -> dict[str, Any]:
    """A supervision group's round, from forming to the verified effect."""
    from datetime import date, timedelta

    today = date.today()
    staff = rpc(STAFF).feedback
    g = SUPERVISION
    group_id = staff.form_supervision_group(g["name"], today.year, g["leader"], g["members"],
                                            g["department"], g["topic"], g["basis"])["group_id"]
    staff.record_fact_finding(group_id, "site_visit", today.isoformat(), [g["leader"], g["members"][0]],
                              "实地查看 4 所学校周边 12 家餐饮店，2 家未公示食品经营许可证。")
    opinion_id = staff.issue_supervision_opinion(
        group_id, "建议开展校园周边餐饮专项检查，督促经营者亮证经营。",
        (today + timedelta(days=30)).isoformat())["opinion_id"]
    rpc(_unit(g["department"])).feedback.report_supervision_handling(
        group_id, opinion_id, "已开展专项检查 2 次，督促 2 家经营者办证亮证。")
    receipt = staff.verify_supervision_effect(group_id, opinion_id, "carried_out", "复查均已亮证经营")
    return {"group_id": group_id, "stream": receipt["stream"]}


def _opinion(rpc: Proxy, o: DemoOpinion) -> dict[str, Any]:
    """Submit the demo report ``o`` and take its steps; what it made."""
    from datetime import date, timedelta

    receipt = rpc(_member(o.submitter)).feedback.submit_opinion_report(
        o.title, o.content, channel="member", category=o.category)
    report_id = receipt["report_id"]
    for who, command, kwargs in o.steps:
        actor = STAFF if who == "staff" else LEADER if who == LEADER.user_id else _unit(who)
        if kwargs.get("deadline", "").startswith("@+"):
            kwargs = {**kwargs, "deadline": (date.today() + timedelta(days=int(kwargs["deadline"][2:])))
                      .isoformat()}
        receipt = getattr(rpc(actor).feedback, command)(report_id, **kwargs)
    return {"report_id": report_id, "title": o.title, "stream": receipt["stream"],
            "position": receipt["position"], "upper": o.upper}


def load_upper(rpc: Proxy, upper_rpc: Proxy, reports: list[dict[str, Any]],
               say: Callable[[str], None] = print, wait_seconds: float = 60.0) -> dict:
    """With an upper-level deployment (``upper_rpc``), linked: report the demo reports marked
    ``upper`` to it, let it adopt, report to its government and instruct, and wait until its
    decisions are back on our reports."""
    from nameko.exceptions import RemoteError

    going = [r for r in reports if r["upper"]]
    for r in going:
        rpc(STAFF).feedback.report_opinion(r["report_id"], upper=[UPPER[0]])
    say(f"reported {len(going)} opinion report(s) to {UPPER[2]}")
    staff = upper_rpc(UPPER_STAFF).feedback
    deadline = time.monotonic() + wait_seconds
    while staff.opinion_inbox()["total"] < len(going):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{UPPER[2]} has not received the reports after {wait_seconds:.0f} s: "
                               "is the link running (xieshang levels status)?")
        time.sleep(0.2)
    for item in staff.opinion_inbox()["items"]:
        rid = item["report_id"]
        for _, command, kwargs in CHECKS:
            getattr(staff, command)(rid, **kwargs)
        staff.adopt_opinion_report(rid, note="采用，报送自治区政府")
        staff.report_opinion(rid, government=True, leaders=[UPPER_LEADER.user_id])
        upper_rpc(UPPER_LEADER).feedback.record_leader_instruction(
            rid, "请自治区林草局会同石嘴山市研究湿地保护措施。", "province", "government")
    while True:
        try:
            back = [rpc(STAFF).feedback.get_opinion_report(r["report_id"])["decisions_above"] for r in going]
        except RemoteError:
            back = []
        if back and all(len(b) >= 3 for b in back):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{UPPER[2]}'s decisions have not come back after {wait_seconds:.0f} s")
        time.sleep(0.2)
    say(f"{UPPER[2]} adopted, reported and instructed on them; its decisions are back here")
    return {"reported_upward": len(going)}


def _unit(unit_id: str) -> Actor:
    return Actor(f"{unit_id}-handler", "unit", unit_id)


def _actor(who: str, p: DemoProposal) -> Actor:
    if who.startswith("member:"):
        return _member(who.split(":", 1)[1])
    return {"staff": STAFF, "leader": LEADER, "public": PUBLIC}.get(who) or (
        _member(p.proposer) if who == "proposer" else _unit(p.lead_unit or ""))


def _member(member_id: str) -> Actor:
    sector = next(m[2] for m in MEMBERS if m[0] == member_id)
    return Actor(member_id, "member", sector)


Proxy = Callable[[Actor], Any]  # actor -> a ClusterRpcProxy whose calls carry that actor


def _wait_for_directory(staff: Any, ids: list[str], wait_seconds: float, service: str = "proposals") -> None:
    """Wait until ``service``'s directory knows ``ids`` (it follows the members service's events
    over the bus): a proposal, a consultation's plan or a supervision group may name only the
    members, units and stations it knows."""
    deadline = time.monotonic() + wait_seconds
    while True:
        known = getattr(staff, service).directory(ids)
        missing = [i for i in ids if not known[i]["kind"]]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the {service} service's directory does not know {', '.join(missing)} "
                               f"after {wait_seconds:.0f} s: is the members service's relay running?")
        time.sleep(0.2)


def already_loaded(rpc: Proxy) -> bool:
    from nameko.exceptions import RemoteError

    try:
        rpc(STAFF).members.get_member(MEMBERS[0][0])
    except RemoteError as exc:
        if exc.exc_type == "NotFound":
            return False
        raise
    return True


def load(rpc: Proxy, say: Callable[[str], None] = print, wait_seconds: float = 30.0) -> dict:
    """Load the demo through ``rpc`` and return what it made; nothing if it is already there."""
    if already_loaded(rpc):
        say("demo data is already loaded: nothing to do")
        return {"loaded": False}
    staff = rpc(STAFF)
    # The members service checks a member's sector and station against the committee's
    # organisation tree, so the tree comes first.
    staff.members.register_organisation("szs", "committee", "石嘴山市政协", level="city")
    for n, sector in enumerate(sorted({m[2] for m in MEMBERS}), 1):
        staff.members.register_organisation(f"sector-{n:02d}", "sector", sector, parent="szs")
    for n, station in enumerate((m[4] for m in MEMBERS), 1):
        staff.members.define_station(f"station-{n:02d}", station, "work_station", "township")
    staff.members.register_organisation(TOWNSHIP[0], "township", TOWNSHIP[1], parent="szs")
    staff.members.define_station(HALL[0], HALL[1], "livelihood_hall", "township", location=TOWNSHIP[0])
    for member_id, name, sector, roles, station in [*MEMBERS, LEADER_MEMBER]:
        staff.members.appoint_member(member_id, name, sector, TERM, roles=roles, station=station)
    say(f"appointed {len(MEMBERS)} members ({TERM}) and the leader {LEADER_MEMBER[1]}")
    for unit_id, name in UNITS.items():
        staff.members.register_organisation(unit_id, "handling_unit", name, parent="szs")
    say(f"registered {len(UNITS)} handling units")
    staff.members.register_organisation(OFFICE[0], "special_committee", OFFICE[1], parent="szs")
    for member_id, *_ in [*MEMBERS, LEADER_MEMBER]:
        staff.members.set_contact_details(member_id, email=f"{member_id}@{MAIL_DOMAIN}")
    for org_id in (*UNITS, OFFICE[0]):
        staff.members.set_organisation_contact(org_id, email=f"{org_id}@{MAIL_DOMAIN}")
    _wait_for_directory(staff, [*(m[0] for m in MEMBERS), LEADER_MEMBER[0], *UNITS], wait_seconds)

    made: list[dict[str, Any]] = []
    for p in PROPOSALS:
        receipt = rpc(_member(p.proposer)).proposals.submit_proposal(
            p.title, p.reasons, p.suggestions, p.category, co_signers=p.co_signers,
            publish_consent=p.publish_consent)
        pid = receipt["proposal_id"]
        for who, command, kwargs in p.steps:
            kwargs = {k: made[int(v[1:])]["proposal_id"] if isinstance(v, str) and v.startswith("@")
                      else v for k, v in kwargs.items()}
            done = getattr(rpc(_actor(who, p)).proposals, command)(pid, **kwargs)
            receipt = done if done.get("event") else receipt
        case = staff.proposals.get_proposal(pid)
        made.append({"proposal_id": pid, "stream": receipt["stream"], "title": p.title,
                     "status": case["status"], "case_number": case["case_number"],
                     "position": receipt["position"]})
        say(f"  {receipt['stream']}  {case['case_number'] or '-':<9} {case['status']:<10} {p.title}")
    say(f"recorded {len(PROPOSALS)} proposals, from submitted to closed")

    reports = [_opinion(rpc, o) for o in OPINION_REPORTS]
    say(f"recorded {len(reports)} opinion report(s)")
    # the feedback service's directory: every member, unit, the street and every station
    stations = [*(f"station-{n:02d}" for n in range(1, len(MEMBERS) + 1)), HALL[0]]
    _wait_for_directory(staff, [*(m[0] for m in MEMBERS), LEADER_MEMBER[0], *UNITS, TOWNSHIP[0], *stations],
                        wait_seconds, service="feedback")
    consultation = _consultation(rpc)
    say(f"held a consultation at {HALL[1]} in eight steps, closed ({consultation['stream']})")
    group = _supervision(rpc)
    say(f"sent the {SUPERVISION['name']} to {UNITS[SUPERVISION['department']]}: opinion handled and verified")

    # The members and notify services act on the proposals' events once the relay has published
    # them: wait until every filed proposal has earned its points, so the demo shows it.
    filed = sum(1 for m in made if m["case_number"])
    deadline = time.monotonic() + wait_seconds
    credited = 0
    while time.monotonic() < deadline:
        members = staff.members.list_members(limit=500)["items"]
        credited = sum(1 for m in members for entry in staff.members.get_member(m["member_id"])["ledger"]
                       if entry["activity"] == "proposal_filed")
        if credited >= filed:
            break
        time.sleep(0.2)
    if credited < filed:
        say(f"note: only {credited} of {filed} duty-point credits arrived within {wait_seconds:.0f} s "
            "(the members service catches up by itself)")
    else:
        say(f"credited duty points for {credited} filed proposals")
    return {"loaded": True, "proposals": made, "opinion_reports": reports, "credited": credited,
            "consultation": consultation, "supervision_group": group,
            "members": [m[0] for m in MEMBERS], "units": sorted(UNITS)}


DEMO_PASSWORD = "demo-password-2024"  # every demo account's; a demo is not a deployment


def demo_accounts() -> list[tuple[Actor, str]]:
    """(actor, display name) of every demo user who may log in through the gateway."""
    people = [(STAFF, "提案委工作人员"), (LEADER, "主席会议成员"), (AUDITOR, "审计人员"),
              (PUBLIC, "热心市民"), (PARTY_LEADER, "长胜街道党工委")]
    people += [(_member(m[0]), m[1]) for m in MEMBERS]
    people += [(_unit(u), name) for u, name in UNITS.items()]
    return people


def upper_accounts() -> list[tuple[Actor, str]]:
    """The demo users of the upper level (`xieshang up --with-upper`)."""
    return [(UPPER_STAFF, "自治区政协工作人员"), (UPPER_LEADER, "自治区政府领导")]


def create_accounts(gateway_url: str, admin: tuple[str, str], say: Callable[[str], None] = print,
                    people: list[tuple[Actor, str]] | None = None) -> int:
    """Open a gateway account (password DEMO_PASSWORD) for every demo user (``people``, by
    default ``demo_accounts()``) who has none yet."""
    import requests

    login = requests.post(f"{gateway_url}/api/auth/login", timeout=30,
                          json={"user_id": admin[0], "password": admin[1]})
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    made = 0
    for actor, name in people or demo_accounts():
        answer = requests.post(f"{gateway_url}/api/accounts", headers=headers, timeout=30, json={
            "user_id": actor.user_id, "role": actor.role, "organisation": actor.organisation,
            "display_name": name, "password": DEMO_PASSWORD})
        if answer.status_code == 201:
            made += 1
        elif not (answer.status_code == 409 and answer.json().get("state") == "registered"):
            raise RuntimeError(f"could not open the demo account {actor.user_id}: "
                               f"{answer.status_code} {answer.text}")
    if made:
        say(f"opened {made} demo accounts (password {DEMO_PASSWORD!r}), e.g. "
            f"{(people or demo_accounts())[0][0].user_id}")
    return made


def context_for(actor: Actor) -> dict[str, Any]:
    return CommandContext(actor=actor, reason="demo data").to_context_data()
