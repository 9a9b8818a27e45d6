"""Make blocking drivers cooperate with nameko's eventlet hub.

psycopg2 waits on its socket through psycogreen's wait callback, so one slow query yields
to other green threads instead of stalling the whole service.
"""

from __future__ import annotations

_done = False


def eventlet_is_patched() -> bool:
    try:
        import eventlet.patcher
    except ImportError:  # pragma: no cover - eventlet is a dependency
        return False
    return eventlet.patcher.is_monkey_patched("socket")


def cooperate_with_eventlet(force: bool = False) -> bool:
    """Install psycogreen's wait callback when running under eventlet. Idempotent."""
    global _done
    if _done:
        return True
    if not (force or eventlet_is_patched()):
        return False
    from psycogreen.eventlet import patch_psycopg

    patch_psycopg()
    _done = True
    return True
