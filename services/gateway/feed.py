"""The catch-up feed (``GET /api/feed``): every service's public events as one CloudEvents batch.

A cursor is each log's position, so it means the same after any read model is rebuilt (the logs
are never rebuilt). A page asks every service for its events after its position, merges them by
the time they were recorded (then service, then position: a total order), and keeps the first
``limit``; the next cursor moves each service past what was given of it and past private events
it skipped, never past a public event not given. So a subscriber that follows ``next`` until
``caught_up`` gets every public event once, in each log's order, whatever it asks meanwhile.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable, Mapping, Sequence

import orjson

CURSOR_VERSION = "v1"
FEED_SERVICES = ("proposals", "members", "feedback", "notify", "gateway")


class BadCursor(ValueError):
    """A cursor that this gateway did not make."""


def encode_cursor(positions: Mapping[str, int]) -> str:
    raw = orjson.dumps({k: int(v) for k, v in sorted(positions.items()) if v}, option=orjson.OPT_SORT_KEYS)
    return f"{CURSOR_VERSION}.{base64.urlsafe_b64encode(raw).decode().rstrip('=')}"


def decode_cursor(cursor: str | None) -> dict[str, int]:
    """The positions of a cursor (none: from the start of every log)."""
    if not cursor:
        return {}
    version, _, text = cursor.partition(".")
    if version != CURSOR_VERSION or not text:
        raise BadCursor(cursor)
    try:
        positions = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise BadCursor(cursor) from None
    if not isinstance(positions, dict) or not all(
            k in FEED_SERVICES and type(v) is int and v >= 0 for k, v in positions.items()):
        raise BadCursor(cursor)
    return positions


def _order(event: Mapping[str, Any]) -> tuple:
    return (event["xsrecordedat"], event["xsservice"], event["xsposition"])


def merge_pages(positions: Mapping[str, int], pages: Sequence[Mapping[str, Any]],
                limit: int) -> dict[str, Any]:
    """One feed page from the services' pages (each: service, events in log order, next, head)."""
    candidates = sorted((e for page in pages for e in page["events"]), key=_order)
    given = candidates[:limit]
    last_given: dict[str, int] = {}
    for event in given:
        last_given[event["xsservice"]] = event["xsposition"]
    after = dict(positions)
    caught_up = True
    for page in pages:
        service = page["service"]
        if len(given) == len(candidates) or all(
                e["xsposition"] <= last_given.get(service, -1) for e in page["events"]):
            after[service] = page["next"]  # all of its page was given: past its skipped events too
            if page["next"] < page["head"]:
                caught_up = False
        else:
            caught_up = False
            if service in last_given:
                after[service] = last_given[service]
    return {"events": given, "next": encode_cursor(after), "caught_up": caught_up}


def read_feed(cursor: str | None, types: list[str] | None, limit: int,
              page_of: Callable[[str, int], Mapping[str, Any]],
              map_pages: Callable[[Callable, Sequence[str]], Sequence[Any]] = map) -> dict[str, Any]:
    """A feed page: ``page_of(service, after)`` asks one service (``types`` and ``limit`` are
    the caller's business), ``map_pages`` runs those asks (in parallel in the gateway)."""
    positions = decode_cursor(cursor)
    pages = list(map_pages(lambda s: page_of(s, positions.get(s, 0)), FEED_SERVICES))
    return merge_pages(positions, pages, limit)
