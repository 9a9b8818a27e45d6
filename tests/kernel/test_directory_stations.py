"""The directory follows stations too: a consultation is planned at one (issue 17)."""

import pytest

from xieshang.kernel.directory import STATION_ENTRY, facts_of, fold_entry, note_fact

pytestmark = pytest.mark.unit


def test_a_station_is_noted_with_its_type_and_location_and_a_community_with_its_township():
    defined = facts_of("StationDefined", {"org_id": "st-1", "name": "东街民生议事堂",
                                          "station_type": "livelihood_hall", "level": "township",
                                          "location": "tw-1", "communities": []},
                       event_id="e1", position=3)
    entry = fold_entry("st-1", defined)
    assert (entry.kind, entry.name, entry.active) == (STATION_ENTRY, "东街民生议事堂", True)
    assert (entry.station_type, entry.location, entry.is_station) == ("livelihood_hall", "tw-1", True)
    # renamed, then closed: the type and location stay what the definition said
    later = [*facts_of("OrganisationRenamed", {"org_id": "st-1", "name": "东街议事堂"}, event_id="e2", position=7),
             *facts_of("OrganisationClosed", {"org_id": "st-1"}, event_id="e3", position=9)]
    entry = fold_entry("st-1", [*later, *defined])
    assert (entry.name, entry.active, entry.station_type, entry.location) == ("东街议事堂", False, "livelihood_hall", "tw-1")
    assert note_fact(entry, defined) == []  # a redelivery notes nothing

    community = facts_of("OrganisationRegistered", {"org_id": "cm-1", "kind": "community", "name": "东街社区",
                                                    "parent": "tw-1"}, event_id="e4", position=2)
    assert fold_entry("cm-1", community).parent == "tw-1"


def test_a_service_that_keeps_no_stations_notes_none():
    data = {"org_id": "st-1", "name": "东街民生议事堂", "station_type": "livelihood_hall", "level": "township"}
    assert facts_of("StationDefined", data, event_id="e1", position=3,
                    org_kinds=("handling_unit", "sector")) == []
    assert facts_of("StationDefined", data, event_id="e1", position=3, org_kinds=(STATION_ENTRY,)) != []
