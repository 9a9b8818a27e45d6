"""Consultations 协商议事 (the eight steps 八步议事法): the feedback service's commands and queries
on them, mixed into FeedbackService (TO BE WRITTEN)."""

from __future__ import annotations


class ConsultationCommands:
    """The RPCs of consultations (mixed into the service class)."""
