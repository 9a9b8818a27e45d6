"""Duty points 履职积分: the year's points rules (stream ``pointrules-<committee>-<year>``) and a
member's ledger (stream ``ledger-<member id>``): credits priced by the year's rules, priced
again when the rules change, capped per activity and year."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from xieshang.kernel.domain import DomainEvent, InvalidCommand
from xieshang.kernel.envelope import Actor

from .access import require_staff
from .checks import is_year
from .commands import SetPointRules
from .events import AnnualAssessmentConcluded, DutyPointsAwarded, DutyPointsRecomputed, PointRulesSet
from .vocabulary import ACTIVITIES, DEFAULT_POINT_RULES, MAX_CAP, MAX_POINTS


@dataclass(frozen=True)
class PointRules:
    """The points rules of one committee and year. Version 0 is the defaults."""

    committee: str
    year: int
    version: int = 0
    points: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_POINT_RULES))
    caps: Mapping[str, int] = field(default_factory=dict)

    def points_for(self, activity: str) -> int:
        return int(self.points.get(activity, 0))

    def to_dict(self) -> dict[str, Any]:
        return {"committee": self.committee, "year": self.year, "version": self.version,
                "points": dict(self.points), "caps": dict(self.caps)}


def fold_point_rules(committee: str, year: int, events: Iterable[DomainEvent]) -> PointRules:
    rules = PointRules(committee, year)
    for e in events:
        if isinstance(e, PointRulesSet):
            rules = PointRules(committee, year, e.version, dict(e.points), dict(e.caps))
    return rules


def set_point_rules(actor: Actor, current: PointRules, cmd: SetPointRules) -> list[DomainEvent]:
    """Staff set the year's whole points table: an activity it does not list earns 0; ``caps``
    limit an activity's points in the year. The year's ledgers are then recomputed."""
    require_staff(actor, "set_point_rules", "only committee staff set the duty points rules")
    points, caps = cmd.points, cmd.caps
    problems: dict[str, str] = {}
    if not is_year(current.year):
        problems["year"] = "a year, e.g. 2024"
    table = _activity_numbers(problems, "points", points, 0, MAX_POINTS)
    limits = _activity_numbers(problems, "caps", caps or {}, 1, MAX_CAP)
    if problems:
        raise InvalidCommand(("the points rules are malformed", "积分规则格式有误"), problems)
    if current.version and (table, limits) == (dict(current.points), dict(current.caps)):
        return []
    return [PointRulesSet(committee=current.committee, year=current.year, version=current.version + 1,
                          points=table, caps=limits)]


def _activity_numbers(problems: dict[str, str], key: str, table: Any, lo: int, hi: int) -> dict[str, int]:
    if not isinstance(table, Mapping):
        problems[key] = "a mapping of activity to a whole number"
        return {}
    unknown = sorted(str(a) for a in table if a not in ACTIVITIES)
    bad = sorted(str(a) for a, n in table.items()
                 if a in ACTIVITIES and (isinstance(n, bool) or not isinstance(n, int) or not lo <= n <= hi))
    if unknown:
        problems[key] = f"unknown activities {', '.join(unknown)}; known: {', '.join(ACTIVITIES)}"
    elif bad:
        problems[key] = f"{', '.join(bad)}: whole numbers from {lo} to {hi}"
    return {a: int(table[a]) for a in ACTIVITIES if a in table}


@dataclass(frozen=True)
class Credit:
    """An activity to credit to a member, and the event that earned it."""

    member_id: str
    activity: str
    source_service: str
    source_event_id: str
    source_stream: str
    year: int
    credit_key: str = ""
    note: str = ""


@dataclass(frozen=True)
class Ledger:
    """A member's duty points: the entries as they are now priced, the recomputations and the
    concluded assessments."""

    member_id: str
    entries: tuple[DutyPointsAwarded, ...] = ()
    recomputations: tuple[DutyPointsRecomputed, ...] = ()
    assessments: Mapping[int, AnnualAssessmentConcluded] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """The points of every entry, without caps."""
        return sum(e.points for e in self.entries)

    def credited_for(self, credit_key: str) -> bool:
        return any(e.credit_key == credit_key for e in self.entries)

    def years(self) -> list[int]:
        return sorted({e.year for e in self.entries})

    def year_entries(self, year: int) -> list[DutyPointsAwarded]:
        return [e for e in self.entries if e.year == year]

    def year_total(self, year: int, caps: Mapping[str, int] | None = None) -> int:
        return capped_total(((e.activity, e.points) for e in self.year_entries(year)), caps or {})

    def to_dict(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "total": self.total,
                "entries": [e.to_data() for e in self.entries],
                "recomputations": [r.to_data() for r in self.recomputations],
                "assessments": [a.to_data() for _, a in sorted(self.assessments.items())]}


def capped_total(points: Iterable[tuple[str, int]], caps: Mapping[str, int]) -> int:
    """Sum per activity, each activity's sum held to its cap."""
    per: dict[str, int] = {}
    for activity, n in points:
        per[activity] = per.get(activity, 0) + n
    return sum(min(n, caps[a]) if a in caps else n for a, n in per.items())


def fold_ledger(member_id: str, events: Iterable[DomainEvent]) -> Ledger:
    return fold_ledger_on(Ledger(member_id), events)


def fold_ledger_on(ledger: Ledger, events: Iterable[DomainEvent]) -> Ledger:
    """``ledger`` brought up to date with the member's ``events`` recorded after it (what
    ``fold_ledger`` of all the events gives): a service folds only the credits since its last one."""
    events = list(events)
    if not events:
        return ledger
    entries: dict[str, DutyPointsAwarded] = {e.credit_key: e for e in ledger.entries}
    recomputations: list[DutyPointsRecomputed] = list(ledger.recomputations)
    assessments: dict[int, AnnualAssessmentConcluded] = dict(ledger.assessments)
    for e in events:
        if isinstance(e, DutyPointsAwarded):
            key = e.credit_key or e.source_event_id   # entries recorded before credit keys
            entries.setdefault(key, dataclasses.replace(e, credit_key=key))
        elif isinstance(e, DutyPointsRecomputed):
            after = {c["credit_key"]: int(c["after"]) for c in e.changes}
            for key, entry in entries.items():
                if entry.year == e.year:
                    entries[key] = dataclasses.replace(entry, points=after.get(key, entry.points),
                                                       rules_version=e.rules_version)
            recomputations.append(e)
        elif isinstance(e, AnnualAssessmentConcluded):
            assessments.setdefault(e.year, e)
    return Ledger(ledger.member_id, tuple(entries.values()), tuple(recomputations), assessments)


def award_points(ledger: Ledger, *, activity: str, source_service: str, source_event_id: str,
                 source_stream: str, note: str = "",
                 rules: PointRules | Mapping[str, int] = DEFAULT_POINT_RULES, year: int = 0,
                 credit_key: str | None = None) -> list[DomainEvent]:
    """Credit ``activity`` once per credit key (by default the source event): nothing if the
    ledger has it already or the activity is unknown. An activity the rules give no points is
    still recorded (with 0), so that a later change of the year's rules can price it."""
    if activity not in ACTIVITIES:
        return []
    key = credit_key or source_event_id
    if ledger.credited_for(key):
        return []
    priced = rules if isinstance(rules, PointRules) else PointRules("", year, 0, dict(rules))
    return [DutyPointsAwarded(member_id=ledger.member_id, activity=activity,
                              points=priced.points_for(activity), source_service=source_service,
                              source_event_id=source_event_id, source_stream=source_stream, note=note,
                              year=year, credit_key=key, rules_version=priced.version)]


def award(ledger: Ledger, credits: Iterable[Credit], rules: PointRules) -> list[DomainEvent]:
    """``award_points`` for several credits of one member (of the rules' year)."""
    out: list[DomainEvent] = []
    for c in credits:
        decided = award_points(ledger, activity=c.activity, source_service=c.source_service,
                               source_event_id=c.source_event_id, source_stream=c.source_stream,
                               note=c.note, rules=rules, year=c.year, credit_key=c.credit_key or None)
        if decided:
            out += decided
            ledger = dataclasses.replace(ledger, entries=(*ledger.entries, *decided))  # type: ignore[arg-type]
    return out


def recompute_year(ledger: Ledger, rules: PointRules) -> list[DomainEvent]:
    """Price the entries of the rules' year again, by replaying them under ``rules``: nothing
    if every entry of the year is priced by this version already."""
    entries = ledger.year_entries(rules.year)
    if all(e.rules_version == rules.version for e in entries):
        return []
    changes = [{"credit_key": e.credit_key, "activity": e.activity, "before": e.points,
                "after": rules.points_for(e.activity)}
               for e in entries if e.points != rules.points_for(e.activity)]
    total = capped_total(((e.activity, rules.points_for(e.activity)) for e in entries), rules.caps)
    return [DutyPointsRecomputed(member_id=ledger.member_id, year=rules.year,
                                 rules_version=rules.version, changes=changes, total=total)]

