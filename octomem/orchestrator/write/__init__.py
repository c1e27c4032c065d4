"""The one write primitive: every write to the stores, whatever asked for it, is a list of
typed operations (`octomem.models.WriteIntent`) handed to `write` (or, for a body too large
for one journal row, `write_parts`; for a forget, `forget`), which journals them and
applies them to every store in one order, with history events, under the writer's
`Fence`. Fencing, erasure counts, idempotence and the journal live there once (`apply`;
`erase`, `blobs`; `recovery` completes what a crash, a failed store, a cancelled call or
a late write left). Only these modules call a store's mutating methods.
"""

from octomem.orchestrator.write.apply import forget, write, write_parts
from octomem.orchestrator.write.recovery import (
    heal_late,
    recover,
    restore_vectors,
)

__all__ = [
    "forget",
    "heal_late",
    "recover",
    "restore_vectors",
    "write",
    "write_parts",
]
