"""Realistic proposal events, made by the proposals service's own command code, and loaded in bulk.

``Driver`` runs the real ``ProposalsService`` methods in this process (nameko's
``worker_factory``, with the real store, a fixed clock and the caller's actor), so every event
is what the service records for that command. ``templates()`` drives four lifecycles once on
an in-memory store:

  A (40%) individual, filed, assigned with a co-unit, contact, co-unit opinion, reply A, rated,
          closed, published, a comment approved and answered               (13 events)
  B (30%) joint with two co-signers, key proposal with supervision, reply B, three ratings,
          follow-up kept, closed                                             (15 events)
  C (20%) returned and revised, reply C, unsatisfied: rehandled, reply A, closed (12 events)
  D (10%) not filed, converted to an opinion report                          (3 events)

``Replicator`` copies them with new proposal ids, members, units, sessions of 1,000 proposals
and gap-free case numbers, interleaving blocks of 100 proposals by lifecycle step (all
submissions of the block, then all filings, …) as a committee's year does. ``bulk_load``
writes them straight into a store as multi-stream batch appends: the same rows, positions and
hash chain as ``append`` would write (``verify()`` passes), without one transaction per command.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Iterator, Sequence

import orjson

from xieshang.kernel.clock import SHANGHAI, FixedClock
from xieshang.kernel.context import CommandContext
from xieshang.kernel.envelope import SYSTEM_ACTOR, Actor, Deployment, NewEvent
from xieshang.kernel.store.port import EventStore, seal, stamp

DEPLOYMENT = Deployment("640200", "city")
STAFF = Actor("staff-001", "staff", "proposal-committee")
LEADER = Actor("leader-001", "leader", "chairs-meeting")
PUBLIC = Actor("public-0001", "public", "public")
START = datetime(2024, 1, 10, 9, 0, tzinfo=SHANGHAI)
SESSION_SIZE = 1000
BLOCK = 100

# Placeholders the templates are made with, replaced in every copy.
P_MEMBERS = ("mzzz0", "mzzz1", "mzzz2")
P_UNITS = ("uzzz0", "uzzz1")
P_SESSION = "TPLSESSION"
MEMBERS = 2000
UNITS = 60

TITLE = "关于进一步加强城市老旧小区改造和社区养老服务设施建设的提案"
REASONS = ("近年来，我市老旧小区改造工作取得了积极成效，但仍存在改造标准不统一、配套设施不完善、"
           "居民参与度不高、后续管理跟不上等问题。部分小区建成年代久远，基础设施老化，排水管网、"
           "供暖管道、电力线路亟需更新；社区养老服务设施布局不均衡，日间照料中心覆盖率偏低，"
           "老年人助餐、助浴、助医等服务供给不足。") * 2
SUGGESTIONS = ("一、统筹规划，分类推进老旧小区改造；二、完善社区养老服务设施布局，推动嵌入式养老"
               "服务机构建设；三、建立居民议事协商机制，提高群众参与度；四、健全长效管理机制，"
               "落实物业管理和维修资金。")
REPLY = ("经研究，现答复如下：我局高度重视该提案，已将老旧小区改造纳入年度重点工作，制定了改造"
         "技术导则，统筹推进配套设施建设，并会同民政部门推进社区养老服务设施建设。") * 2


class _Context:
    """What ``RequestContext`` gives a worker: the call's CommandContext."""

    def __init__(self, ctx: CommandContext):
        self._ctx = ctx

    def get(self) -> CommandContext:
        return self._ctx

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


class Driver:
    """The proposals service's command methods, run in this process on ``store``."""

    def __init__(self, store: EventStore, clock: FixedClock | None = None, views: Any = None):
        from nameko.testing.services import worker_factory

        from services.proposals import domain
        from services.proposals.service import ProposalsService
        from xieshang.kernel.streams import Streams

        self.store = store
        self.clock = clock or FixedClock(START)
        self.service = worker_factory(ProposalsService, streams=Streams(store, domain.registry, self.clock),
                                      clock=self.clock, views=views, context=None)

    def know(self, members: Iterable[str] = (), units: Iterable[str] = ()) -> None:
        """Make members and units known to the proposals service's directory (which checks every
        id a command names), as its consumer of the members service's events would record them."""
        from services.proposals import domain

        fresh = [(i, "member") for i in members] + [(i, "handling_unit") for i in units]
        for n, (entry_id, kind) in enumerate(fresh):
            stream = domain.directory_stream(entry_id)
            if self.store.stream_version(stream):
                continue
            noted = domain.DirectoryEntryNoted(
                entry_id=entry_id, source_type="MemberAppointed" if kind == "member" else
                "OrganisationRegistered", source_event_id=f"bench-{entry_id}", source_position=n + 1,
                kind=kind, name=entry_id, active=True)
            self.store.append(stream, 0, [NewEvent(type=noted.type_name(), data=noted.to_data(),
                                                   actor=SYSTEM_ACTOR)])

    def as_(self, actor: Actor) -> Any:
        self.service.context = _Context(CommandContext(actor=actor))
        return self.service

    def on(self, days: int) -> None:
        self.clock.set(START + timedelta(days=days))


def member(m: str) -> Actor:
    return Actor(m, "member", "界别")


def unit(u: str) -> Actor:
    return Actor(f"{u}-handler", "unit", u)


# Each lifecycle: a list of steps; each step is one command. Day offsets keep deadlines real.
def _lifecycle_a(d: Driver) -> Iterator[None]:
    m, (lead, co) = P_MEMBERS[0], P_UNITS
    d.on(0)
    pid = d.as_(member(m)).submit_proposal(TITLE, REASONS, SUGGESTIONS, "society",
                                           session=P_SESSION, publish_consent=True)["proposal_id"]
    yield
    d.on(5)
    d.as_(STAFF).file_proposal(pid)
    yield
    d.on(10)
    d.as_(STAFF).assign_proposal(pid, lead, co_units=[co])
    yield
    d.on(20)
    d.as_(unit(lead)).record_contact(pid, "before", "与提案委员面商办理方案，听取意见。")
    yield
    d.as_(unit(co)).send_co_unit_opinion(pid, "会办意见：同意主办单位的办理方案，将配合落实。")
    yield
    d.on(50)
    d.as_(unit(lead)).reply_to_proposal(pid, "A", REPLY)
    yield
    d.on(60)
    d.as_(member(m)).rate_reply(pid, "satisfied", "satisfied")
    yield
    d.on(65)
    d.as_(STAFF).close_proposal(pid)
    yield
    d.as_(STAFF).publish_proposal(pid)  # under the consenting proposers' names
    yield
    d.on(70)
    comment = d.as_(PUBLIC).submit_comment(pid, "希望尽快落实，小区居民很期待。", "市民")["comment_id"]
    yield
    d.as_(STAFF).moderate_comment(pid, comment, True)
    yield
    d.as_(unit(lead)).answer_comment(pid, comment, "感谢关注，改造工程将于年内启动。")
    yield


def _lifecycle_b(d: Driver) -> Iterator[None]:
    m, c1, c2 = P_MEMBERS
    lead = P_UNITS[0]
    d.on(0)
    pid = d.as_(member(m)).submit_proposal(TITLE, REASONS, SUGGESTIONS, "economy", co_signers=[c1, c2],
                                           session=P_SESSION)["proposal_id"]
    yield
    d.on(2)
    d.as_(member(c1)).confirm_co_signature(pid)
    yield
    d.as_(member(c2)).confirm_co_signature(pid)
    yield
    d.on(5)
    d.as_(STAFF).file_proposal(pid)
    yield
    d.on(10)
    d.as_(STAFF).assign_proposal(pid, lead)
    yield
    d.as_(STAFF).designate_key_proposal(pid, [LEADER.user_id], "chairs_meeting")
    yield
    d.on(30)
    d.as_(LEADER).record_supervision(pid, "inspection", "实地视察改造现场，听取办理情况汇报。")
    yield
    d.as_(unit(lead)).record_contact(pid, "during", "办理过程中与提案人沟通进展。")
    yield
    d.on(50)
    d.as_(unit(lead)).reply_to_proposal(pid, "B", REPLY)
    yield
    d.on(60)
    for who in (m, c1, c2):
        d.as_(member(who)).rate_reply(pid, "basically_satisfied", "satisfied")
        yield
    d.on(90)
    d.as_(unit(lead)).record_follow_up(pid, "承诺事项已列入年度计划并落实。", True)
    yield
    d.as_(STAFF).close_proposal(pid)
    yield


def _lifecycle_c(d: Driver) -> Iterator[None]:
    m = P_MEMBERS[0]
    lead = P_UNITS[0]
    d.on(0)
    pid = d.as_(member(m)).submit_proposal(TITLE, REASONS, SUGGESTIONS, "culture",
                                           session=P_SESSION)["proposal_id"]
    yield
    d.on(2)
    d.as_(STAFF).return_proposal(pid, "一事一案，请修改后重新提交")
    yield
    d.on(3)
    d.as_(member(m)).revise_proposal(pid, TITLE + "（修改稿）", REASONS, SUGGESTIONS, "culture")
    yield
    d.on(5)
    d.as_(STAFF).file_proposal(pid)
    yield
    d.on(10)
    d.as_(STAFF).assign_proposal(pid, lead)
    yield
    d.on(50)
    d.as_(unit(lead)).reply_to_proposal(pid, "C", REPLY)
    yield
    d.on(60)
    d.as_(member(m)).rate_reply(pid, "unsatisfied", "basically_satisfied")
    yield
    d.on(80)
    d.as_(unit(lead)).reply_to_proposal(pid, "A", REPLY)
    yield
    d.on(85)
    d.as_(member(m)).rate_reply(pid, "satisfied", "satisfied")
    yield
    d.as_(STAFF).close_proposal(pid)
    yield


def _lifecycle_d(d: Driver) -> Iterator[None]:
    m = P_MEMBERS[0]
    d.on(0)
    pid = d.as_(member(m)).submit_proposal(TITLE, REASONS, SUGGESTIONS, "other",
                                           session=P_SESSION)["proposal_id"]
    yield
    d.on(5)
    d.as_(STAFF).not_file_proposal(pid, "不属于提案受理范围", "opinion_report")
    yield


LIFECYCLES = {"A": (_lifecycle_a, 4), "B": (_lifecycle_b, 3), "C": (_lifecycle_c, 2), "D": (_lifecycle_d, 1)}


@dataclass
class Template:
    """One lifecycle's events: per event (step, stream, type, actor dict, occurred_at, data)."""

    name: str
    weight: int
    proposal_id: str
    files: bool
    comment_ids: list[str]
    events: list[dict[str, Any]]
    steps: int

    @property
    def json(self) -> str:
        return orjson.dumps(self.events).decode()


def templates() -> list[Template]:
    """Drive each lifecycle once on a memory store; record which command step made each event."""
    from xieshang.kernel.store.memory import MemoryEventStore

    out = []
    for name, (lifecycle, weight) in LIFECYCLES.items():
        store = MemoryEventStore(DEPLOYMENT)
        driver = Driver(store)
        driver.know([*P_MEMBERS, LEADER.user_id], P_UNITS)  # before the case: not in its template
        known = store.head()
        step = 0
        marks = []
        for _ in lifecycle(driver):
            marks.append((step, store.head()))
            step += 1
        events, previous = [], known
        for step_no, head in marks:
            for env in store.read_all(previous, head - previous):
                events.append({"step": step_no, "stream": env.stream, "type": env.type,
                               "schema_version": env.schema_version,
                               "actor": env.actor.to_dict(), "on_behalf_of": env.on_behalf_of,
                               "reason": env.reason,
                               "occurred_at": env.occurred_at.isoformat(), "data": dict(env.data)})
            previous = head
        pid = next(e["data"]["proposal_id"] for e in events if e["type"] == "ProposalSubmitted")
        comments = [e["data"]["comment_id"] for e in events if e["type"] == "CommentSubmitted"]
        files = any(e["type"] == "ProposalFiled" for e in events)
        out.append(Template(name, weight, pid, files, comments, events, step))
    return out


@dataclass
class Item:
    """One event to load: its stream, its version there, and the event."""

    stream: str
    version: int
    new: NewEvent


class Replicator:
    """Copies of the templates in their weighted mix, with fresh ids, members, units and case
    numbers; ``items(n)`` yields about ``n`` events in load order (whole lifecycles)."""

    def __init__(self, seed_templates: Sequence[Template] | None = None, session_prefix: str = "s"):
        self.templates = list(seed_templates or templates())
        self.mix = [t for t in self.templates for _ in range(t.weight)]
        self.session_prefix = session_prefix
        self.proposals = 0
        self.filed_in_session: dict[str, int] = {}
        self.session_versions: dict[str, int] = {}
        self._actors: dict[str, Actor] = {}

    @property
    def mean_events(self) -> float:
        return sum(len(t.events) for t in self.mix) / len(self.mix)

    def _copy(self, k: int) -> tuple[Template, list[dict[str, Any]]]:
        t = self.mix[k % len(self.mix)]
        session = f"{self.session_prefix}{k // SESSION_SIZE:04d}"
        text = t.json.replace(t.proposal_id, str(uuid.uuid4()))
        for cid in t.comment_ids:
            text = text.replace(cid, str(uuid.uuid4()))
        if t.files:
            seq = self.filed_in_session.get(session, 0) + 1
            self.filed_in_session[session] = seq
            text = text.replace(f"{P_SESSION}-001", f"{session}-{seq:03d}")
            text = text.replace('"sequence":1', f'"sequence":{seq}')
        text = text.replace(P_SESSION, session)
        for i, placeholder in enumerate(P_MEMBERS):
            text = text.replace(placeholder, f"m-{(k * 3 + i) % MEMBERS:04d}")
        for i, placeholder in enumerate(P_UNITS):
            text = text.replace(placeholder, f"u-{(k * 2 + i) % UNITS:02d}")
        return t, orjson.loads(text)

    def _actor(self, d: dict[str, str]) -> Actor:
        key = d["user_id"]
        actor = self._actors.get(key)
        if actor is None:
            actor = self._actors[key] = Actor.from_dict(d)
        return actor

    def items(self, n: int) -> Iterator[Item]:
        """About ``n`` events (stopping after the block that reaches it), in load order."""
        made = 0
        while made < n:
            block = []
            for _ in range(BLOCK):
                block.append(self._copy(self.proposals))
                self.proposals += 1
            steps = max(t.steps for t, _ in block)
            versions: dict[str, int] = {}
            for step in range(steps):
                for _t, events in block:
                    for e in events:
                        if e["step"] != step:
                            continue
                        stream = e["stream"]
                        if stream.startswith("casenumbers-"):
                            version = self.session_versions.get(stream, 0) + 1
                            self.session_versions[stream] = version
                        else:
                            version = versions.get(stream, 0) + 1
                            versions[stream] = version
                        made += 1
                        yield Item(stream, version, NewEvent(
                            type=e["type"], data=e["data"], actor=self._actor(e["actor"]),
                            schema_version=e["schema_version"],
                            occurred_at=datetime.fromisoformat(e["occurred_at"]),
                            on_behalf_of=e["on_behalf_of"], reason=e["reason"]))


def bulk_load(store: EventStore, items: Iterator[Item], *, batch: int = 5000) -> int:
    """Append ``items`` to a SqlEventStore in multi-stream batches of ``batch`` events: one
    transaction each, holding the chain head as ``append`` does, with the same rows and hashes.
    Returns how many were written."""
    from xieshang.kernel.store.sql import SqlEventStore

    if not isinstance(store, SqlEventStore):
        raise TypeError("bulk_load writes SQL stores")
    tables = store.metadata.tables
    prefix = f"{store.schema}." if store.schema else ""
    events, head = tables[f"{prefix}events"], tables[f"{prefix}chain_head"]
    pg = store.dialect == "postgresql"
    ph = "%s" if pg else "?"
    q = (lambda t: f'"{store.schema}".{t.name}') if store.schema else (lambda t: t.name)
    insert = (f"INSERT INTO {q(events)} (position, event_id, stream, version, type, body, prev_hash, hash) "
              f"VALUES ({', '.join([ph] * 8)})")
    lock = f"SELECT position, hash FROM {q(head)} WHERE id = 1" + (" FOR UPDATE" if pg else "")
    move = f"UPDATE {q(head)} SET position = {ph}, hash = {ph} WHERE id = 1"
    total = 0
    pending: list[Item] = []

    def flush() -> None:
        raw = store.engine.raw_connection()
        try:
            cur = raw.cursor()
            if not pg:
                cur.execute("BEGIN IMMEDIATE")
            cur.execute(lock)
            position, prev = cur.fetchone()
            position = int(position)
            recorded_at = store.clock()
            rows = []
            for it in pending:
                position += 1
                env = stamp(it.new, it.stream, it.version, recorded_at, store.deployment)
                body, digest = seal(env.body(), prev, position)
                rows.append((position, env.event_id, it.stream, it.version, env.type, body, prev, digest))
                prev = digest
            cur.executemany(insert, rows)
            cur.execute(move, (position, prev))
            if pg:
                raw.commit()
            else:
                cur.execute("COMMIT")
        finally:
            raw.close()

    for it in items:
        pending.append(it)
        if len(pending) >= batch:
            flush()
            total += len(pending)
            pending = []
    if pending:
        flush()
        total += len(pending)
    return total




__all__ = ["Driver", "Template", "templates", "Replicator", "Item", "bulk_load", "DEPLOYMENT",
           "STAFF", "LEADER", "PUBLIC", "member", "unit"]
