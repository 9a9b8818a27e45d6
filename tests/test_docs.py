"""The published contract in docs/events.md says what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from xieshang.kernel.envelope import Envelope
from xieshang.kernel.store.memory import MemoryEventStore

from .conftest import DEPLOYMENT, new_event

EVENTS_MD = (Path(__file__).resolve().parent.parent / "docs" / "events.md").read_text()


def test_the_envelope_table_lists_exactly_the_encoded_fields():
    table = EVENTS_MD.split("## The envelope", 1)[1].split("##", 1)[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, flags=re.M)
    [stored] = MemoryEventStore(DEPLOYMENT).append("doc-1", 0, [new_event()])
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(stored.to_dict())


def test_the_example_message_is_a_valid_envelope_in_canonical_encoding():
    example = re.search(r"```json\n(.*?)\n```", EVENTS_MD, flags=re.S).group(1)
    envelope = Envelope.from_json(example)
    assert envelope.type == "ProposalFiled" and envelope.deployment.level == "city"
    # keys sorted, no spaces: what the relay publishes byte for byte
    assert orjson.loads(envelope.to_json()) == orjson.loads(example)
    assert example == orjson.dumps(orjson.loads(example), option=orjson.OPT_SORT_KEYS).decode()


def test_the_catalogue_indexes_every_event_every_service_records():
    from tools.event_index import current, render

    assert current() == render(), "run `xieshang event-index --write`"


def test_the_notification_table_names_every_event_reacted_to_and_every_kind_of_notice():
    from services.notify.domain.templates import KINDS
    from services.notify.domain.vocabulary import REACTS_TO

    page = (Path(__file__).resolve().parent.parent / "docs" / "notifications.md").read_text()
    table = page.split("## Who is told what", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    named = {(row.split("|")[1].strip(), event) for row in rows
             for event in re.findall(r"`(\w+)`", row.split("|")[2])}
    assert {(s, e) for s, events in REACTS_TO.items() for e in events} == named
    kinds = {k for row in rows for k in re.findall(r"`(\w+)`", row.split("|")[4])}
    assert kinds == set(KINDS)
