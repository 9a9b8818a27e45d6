"""Democratic supervision groups 民主监督组: the feedback service's commands and queries on them,
mixed into FeedbackService (TO BE WRITTEN)."""

from __future__ import annotations


class SupervisionCommands:
    """The RPCs of supervision groups (mixed into the service class)."""
