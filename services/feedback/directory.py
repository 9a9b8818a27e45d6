"""The feedback service's directory 名录: the members, handling units, townships, communities and
stations a consultation's plan or a supervision group names, learnt from the members service's
events (the kernel's follower and entries, xieshang.kernel.directory_views).

Commands look the ids they name up in the entries' streams (current as soon as recorded) and
refuse one the directory does not know, naming the field; the directory lags behind the members
service (its events arrive over the bus), so a refusal says so.
"""

from __future__ import annotations

from xieshang.kernel import directory_views
from xieshang.kernel.directory import LAG, MEMBER_ENTRY, STATION_ENTRY, UNIT_ENTRY
from xieshang.kernel.directory_views import Directory, entries, names_of  # noqa: F401 - re-exported

# The organisations kept here (members are always kept).
ORG_KINDS = (UNIT_ENTRY, STATION_ENTRY, "township", "community")

__all__ = ["DirectoryFollower", "Directory", "entries", "names_of", "ORG_KINDS", "LAG",
           "MEMBER_ENTRY", "STATION_ENTRY", "UNIT_ENTRY"]


class DirectoryFollower(directory_views.DirectoryFollower):
    """The members service's events that make the feedback service's directory."""

    DIRECTORY_ORG_KINDS = ORG_KINDS
