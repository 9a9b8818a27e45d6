"""A consultation's result taken up by the proposals service as a collective proposal: the link
back (TO BE WRITTEN)."""

from __future__ import annotations


class ConsultationLinks:
    """The proposals service's events that link a consultation to its proposal (mixed in)."""
