"""The proposals service's directory 名录 of members, handling units and bodies.

The members service publishes who is appointed, which organisations are registered, renamed or
closed (``members.events``); the kernel's ``DirectoryFollower`` (mixed into the service) records
what the proposals service needs of each as ``DirectoryEntryNoted`` on the entry's own stream
``directory-<id>`` (xieshang.kernel.directory_views). Commands look ids up in those streams
(current as soon as recorded); a collective proposal's body is found by name in the
``Directory`` read model.
"""

from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa

from xieshang.kernel import directory_views
from xieshang.kernel.directory_views import Directory, entries, names_of  # noqa: F401 - re-exported

from .domain.directory import BODY_TYPE_KINDS, ORG_KINDS


class DirectoryFollower(directory_views.DirectoryFollower):
    """The members service's events that make the proposals service's directory: members,
    handling units and bodies (ORG_KINDS)."""

    DIRECTORY_ORG_KINDS = ORG_KINDS


def body_exists(conn: sa.Connection, projection: Directory, body: Mapping[str, Any]) -> bool:
    """An open organisation of the body's type is registered under the body's name."""
    t = projection.entries
    kinds = BODY_TYPE_KINDS.get(str(body.get("type")), ())
    name = str(body.get("name", "")).strip()
    return conn.execute(sa.select(t.c.entry_id).where(
        t.c.kind.in_(kinds), t.c.name == name, t.c.active.is_(True)).limit(1)).first() is not None
