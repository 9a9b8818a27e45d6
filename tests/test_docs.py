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
