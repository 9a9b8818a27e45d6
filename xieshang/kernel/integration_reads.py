"""The catch-up feed's entry point on every service: its public events after a log position.

    class ProposalsService(IntegrationReads, ...):
        publication = events.PUBLICATION

The gateway's ``GET /api/feed`` merges the services' pages (services/gateway/feed.py). The page
is read from the log itself, never from a read model, so a position is a stable cursor: read
models are rebuilt, the log is not.
"""

from __future__ import annotations

from typing import Any

from .domain import InvalidCommand, NotAllowed
from .integration import FEED_LIMIT, Publication, feed_page
from .messages import only_roles
from .rpc import rpc
from .runtime import EXPECTED

FEED_READERS = ("subscriber", "auditor", "admin")
_WHAT = ("read the public feed", "读取公开事件流")


class IntegrationReads:
    """``public_feed``: the service's public events as CloudEvents (see the module)."""

    publication: Publication

    @rpc(expected_exceptions=EXPECTED)
    def public_feed(self, after: int = 0, types: list[str] | None = None,
                    limit: int = 100) -> dict[str, Any]:
        """Public events after log position ``after``, at most ``limit`` (1 to 1000), only of
        the CloudEvents ``types`` (or type prefixes) given; ``next``: where to go on."""
        actor = self.context.get().actor
        if actor.role not in FEED_READERS:
            raise NotAllowed(_WHAT[0], only_roles(FEED_READERS, _WHAT[0], actor.role))
        check_feed_arguments(after, types, limit)
        return feed_page(self.streams.store, self.publication, after, types, limit)


def check_feed_arguments(after: Any, types: Any, limit: Any) -> None:
    fields = {}
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        fields["after"] = "a log position: a whole number, 0 or more"
    if types is not None and (not isinstance(types, list)
                              or not all(isinstance(t, str) and t for t in types)):
        fields["types"] = "a list of CloudEvents types or type prefixes"
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= FEED_LIMIT:
        fields["limit"] = f"a whole number from 1 to {FEED_LIMIT}"
    if fields:
        raise InvalidCommand(("bad feed request", "事件流请求有误"), fields)
