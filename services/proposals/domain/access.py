"""Read rights: who may see which case, and which parts of it. Pure functions of the actor (and
the case); the service applies them to every query.

* A case is read by staff, auditors, leaders and subscriber systems (``READERS_OF_ALL``), by
  its proposers and co-signers, and by the units of any of its rounds.
* The ratings are confidential to the committee (背靠背): staff and auditors see them all, a
  member only their own, units, leaders and everyone else none.
* A comment's author (a user id) is shown only to staff and auditors; the public sees the
  display name.
* Worklists and statistics are for ``READERS_OF_ALL``; a unit's inbox for the unit itself,
  staff and auditors; a member's cases for the member, staff and auditors.
"""

from __future__ import annotations

from typing import Any

from xieshang.kernel.domain import NotAllowed, NotFound
from xieshang.kernel.envelope import Actor

from .state import Proposal
from .vocabulary import AUDITOR, LEADER, MEMBER, STAFF, SUBSCRIBER, UNIT

READERS_OF_ALL = (STAFF, AUDITOR, LEADER, SUBSCRIBER)  # subscriber systems read, never write
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


def may_see_comment_authors(actor: Actor) -> bool:
    return actor.role in SEE_EVERYTHING


def case_as_seen_by(actor: Actor, case: Proposal) -> dict[str, Any]:
    """The case as ``actor`` may read it (NotFound, NotAllowed otherwise)."""
    if not case.exists:
        raise NotFound(f"no proposal {case.proposal_id!r}")
    if not may_read_case(actor, case):
        raise NotAllowed("read this proposal", "it is not one of yours (staff, auditors, leaders, "
                                               "its proposers and its units read it)")
    seen = case.to_dict()
    for r in seen["rounds"]:
        ratings = visible_ratings(actor, r["ratings"])
        if ratings is None:
            r.pop("ratings")
        else:
            r["ratings"] = ratings
    if not may_see_comment_authors(actor):
        for c in seen["comments"]:
            c.pop("author")
    return seen


def require_reader(actor: Actor, what: str, roles: tuple[str, ...] = READERS_OF_ALL) -> None:
    """Worklists and statistics: only ``roles`` read them."""
    if actor.role not in roles:
        raise NotAllowed(what, f"only {', '.join(roles)} may; the actor's role is {actor.role!r}")


def require_inbox_reader(actor: Actor, unit: str) -> None:
    """A unit's inbox: the unit itself, staff and auditors."""
    if not (actor.role in SEE_EVERYTHING or (actor.role == UNIT and actor.organisation == unit)):
        raise NotAllowed("read this inbox", f"it belongs to unit {unit!r}")


def require_cases_reader(actor: Actor, member_id: str) -> None:
    """A member's own cases: the member, staff and auditors."""
    if not (actor.role in SEE_EVERYTHING or (actor.role == MEMBER and actor.user_id == member_id)):
        raise NotAllowed("read these cases", f"they are {member_id!r}'s")
