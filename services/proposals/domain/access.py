"""Read rights: who may see which case, and which parts of it. Pure functions of the actor (and
the case); the service applies them to every query.

* A case is read by staff, auditors, leaders and subscriber systems (``READERS_OF_ALL``), by
  its proposers and co-signers, and by the units of any of its rounds.
* The ratings are confidential to the committee (背靠背): staff and auditors see them all, a
  member only their own, units, leaders and everyone else none.
* A comment's author (a user id) is shown only to staff and auditors; the public sees the
  display name.
* What units wrote in a round (contact records, co-units' opinions): staff and auditors, the
  round's lead unit all of them, a co-unit its own (``handling_texts_seen_by``).
* The year's satisfaction figures: see ``statistics_units`` and docs/proposals.md.
* Worklists and statistics are for ``READERS_OF_ALL``; a unit's inbox for the unit itself,
  staff and auditors; a member's cases for the member, staff and auditors.
"""

from __future__ import annotations

from typing import Any

from xieshang.kernel.domain import NotAllowed, NotFound
from xieshang.kernel.envelope import Actor
from xieshang.kernel.messages import only_roles

from .state import Proposal
from .vocabulary import AUDITOR, LEADER, MEMBER, STAFF, SUBSCRIBER, UNIT

READERS_OF_ALL = (STAFF, AUDITOR, LEADER, SUBSCRIBER)  # subscriber systems read, never write
# Who may learn the names of members, units and bodies by their ids (names are no secret inside the
# committee; the public reads the names a published case shows)
DIRECTORY_READERS = (*READERS_OF_ALL, MEMBER, UNIT)
SEE_EVERYTHING = (STAFF, AUDITOR)                       # ratings, comment authors, any inbox


def may_read_case(actor: Actor, case: Proposal) -> bool:
    return (actor.role in READERS_OF_ALL
            or (actor.role == MEMBER and actor.user_id in (*case.proposers, *case.co_signers))
            or (actor.role == UNIT and any(actor.organisation in r.units for r in case.rounds)))


def visible_ratings(actor: Actor, ratings: list) -> list | None:
    """The ratings ``(rater, reply rating, attitude rating)`` of a round that ``actor`` may see;
    None: not even that there are any."""
    if actor.role in SEE_EVERYTHING:
        return list(ratings)
    if actor.role == MEMBER:
        return [r for r in ratings if r[0] == actor.user_id]
    return None


def handling_texts_seen_by(actor: Actor, round_: dict[str, Any]) -> dict[str, list] | None:
    """What the units wrote in a round (``contact_records``: unit, stage, summary;
    ``opinion_texts``: unit, opinion) that ``actor`` may read; None: not even that there are
    any (the stages and the units that sent opinions show to every reader of the case).

    Staff and auditors read them all; the round's lead unit reads every one of its round (it
    writes the reply from the co-units' opinions); a co-unit reads its own; nobody else any."""
    contacts = [{"unit": u, "stage": stage, "summary": text}
                for u, stage, text in round_.get("contact_records") or ()]
    opinions = [{"unit": u, "opinion": text} for u, text in round_.get("opinion_texts") or ()]
    leads = actor.role == UNIT and actor.organisation == round_["lead_unit"]
    if actor.role in SEE_EVERYTHING or leads:
        return {"contact_records": contacts, "opinion_texts": opinions}
    if actor.role == UNIT:
        return {"contact_records": [c for c in contacts if c["unit"] == actor.organisation],
                "opinion_texts": [o for o in opinions if o["unit"] == actor.organisation]}
    return None


def may_see_comment_authors(actor: Actor) -> bool:
    return actor.role in SEE_EVERYTHING


def case_as_seen_by(actor: Actor, case: Proposal) -> dict[str, Any]:
    """The case as ``actor`` may read it (NotFound, NotAllowed otherwise)."""
    if not case.exists:
        raise NotFound((f"no proposal {case.proposal_id!r}", f"没有提案 {case.proposal_id!r}"))
    if not may_read_case(actor, case):
        raise NotAllowed("read this proposal", ("it is not one of yours (staff, auditors, leaders, "
                                                "its proposers and its units read it)",
                                                "这不是您的提案（工作人员、审计人员、领导、提案人和"
                                                "承办单位可以查看）"))
    seen = case.to_dict()
    for r in seen["rounds"]:
        ratings = visible_ratings(actor, r["ratings"])
        if ratings is None:
            r.pop("ratings")
        else:
            r["ratings"] = ratings
        texts = handling_texts_seen_by(actor, r)
        if texts is None:
            del r["contact_records"], r["opinion_texts"]
        else:
            r.update(texts)
    if not may_see_comment_authors(actor):
        for c in seen["comments"]:
            c.pop("author")
    return seen


def require_reader(actor: Actor, what: str, roles: tuple[str, ...] = READERS_OF_ALL) -> None:
    """Worklists and statistics: only ``roles`` read them."""
    if actor.role not in roles:
        raise NotAllowed(what, only_roles(roles, what, actor.role, f"only {', '.join(roles)} may"))


def statistics_units(actor: Actor) -> tuple[bool, frozenset[str] | None]:
    """What of the year's statistics ``actor`` reads (NotAllowed for those who read none):
    (disclosure control applies, the only units whose figures show or None for all).

    Staff and auditors read every figure as counted; leaders every figure except the
    satisfaction of too few ratings (views.disclose_statistics); a subscriber system the
    committee-wide figures so controlled and, of the units, only its own organisation's."""
    require_reader(actor, "read the statistics")
    if actor.role in SEE_EVERYTHING:
        return False, None
    if actor.role == SUBSCRIBER:
        return True, frozenset({actor.organisation})
    return True, None


def require_inbox_reader(actor: Actor, unit: str) -> None:
    """A unit's inbox: the unit itself, staff and auditors."""
    if not (actor.role in SEE_EVERYTHING or (actor.role == UNIT and actor.organisation == unit)):
        raise NotAllowed("read this inbox", (f"it belongs to unit {unit!r}", f"这是单位 {unit!r} 的待办"))


def require_cases_reader(actor: Actor, member_id: str) -> None:
    """A member's own cases: the member, staff and auditors."""
    if not (actor.role in SEE_EVERYTHING or (actor.role == MEMBER and actor.user_id == member_id)):
        raise NotAllowed("read these cases", (f"they are {member_id!r}'s", f"这些是 {member_id!r} 的提案"))
