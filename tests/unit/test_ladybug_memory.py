"""The embedded graph's memory does not grow with the number of writes.

ladybug keeps every committed change in memory until a checkpoint, and an update of an
existing node costs a whole column chunk there (~100 KB for an entity's four string
properties) against a few hundred bytes of log. At ladybug's default checkpoint (every
16 MB of log) a long-running process grew by gigabytes before the first one; the store
checkpoints every 128 KB of log (`octomem.stores.ladybug._CHECKPOINT_BYTES`).

Measured as glibc's bytes in use (ladybug allocates with malloc, not through Python).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from benchmarks.memory_growth import malloc_mb
from octomem.models import Entity
from octomem.stores.ladybug import LadybugGraphStore

pytestmark = pytest.mark.skipif(
    math.isnan(malloc_mb()[0]), reason="needs glibc's mallinfo2 to see native memory"
)


async def test_updating_nodes_again_and_again_does_not_accumulate_memory(tmp_path: Path) -> None:
    store = LadybugGraphStore(tmp_path / "graph")
    people = [
        Entity(id=Entity.make_id("alice", f"person {n}"), user_id="alice", name=f"Person {n}")
        for n in range(50)
    ]
    try:
        await store.upsert_entities(people)
        before = malloc_mb()[0]
        for n in range(1500):  # one transaction each, as `process` writes them
            # a value that changes: a node upserted as it is stored is not written again
            person = people[n % len(people)]
            await store.upsert_entities([person.model_copy(update={"entity_type": f"k{n}"})])
        grown = malloc_mb()[0] - before
        # a checkpoint every 128 KB of log: at most ~40 MB; before, ~150 MB here
        assert grown < 75, f"{grown:.0f} MB more in use after 1,500 updates"
        assert len(await store.find_entities("alice", ["Person 7"])) == 1
    finally:
        await store.close()
