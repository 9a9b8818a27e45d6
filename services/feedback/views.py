"""Read models of the feedback service.

None yet: a report is read by id, folded from its stream. The editors' work list comes with
the editing workflow (adoption, reporting upward, forwarding).
"""

from __future__ import annotations

from xieshang.kernel.projection import Projection


def PROJECTIONS() -> list[Projection]:  # noqa: N802 - the name every service's views module exports
    return []
