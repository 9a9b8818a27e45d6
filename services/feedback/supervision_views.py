"""Read models of supervision groups 民主监督组 (TO BE WRITTEN)."""

from __future__ import annotations

from xieshang.kernel.projection import Projection


def PROJECTIONS() -> list[Projection]:  # noqa: N802 - as every views module
    return []
