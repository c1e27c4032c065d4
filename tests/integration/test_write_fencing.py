"""The one write primitive on shared servers: a writer whose lease passed to another
writer (it stalled past it) writes nothing, whatever the kind of operation
(`tests/contract/test_write_primitive.py` runs the other cases)."""

from __future__ import annotations

from typing import Any

import pytest

from octomem.orchestrator.internals import services_of
from octomem.stores.fence import LeaseLostError
from tests.contract.test_write_primitive import KINDS, _damage, _run, _seed, _state

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", KINDS)
def test_a_writer_whose_lease_passed_on_writes_nothing(
    kind: str, make_orch: Any, server_stores: dict[str, Any]
) -> None:
    """On shared servers: a write under a lease another writer has taken since (the writer
    stalled past it) is refused whole - nothing of it reaches any store, its journal
    entry included - and the newer holder's writes go through."""
    orch = make_orch(**server_stores, concurrency={"lease_ttl_s": 0.5})
    _seed(orch, "ada")
    _damage(orch, kind, "ada")
    services = services_of(orch)
    before = _state(orch, "ada")

    async def stale_then_live() -> None:
        async with services.locks.hold("ada") as stale:
            pass  # released: another writer takes the lease next
        async with services.locks.hold("ada"):
            with pytest.raises(LeaseLostError):
                await KINDS[kind](services, stale, "ada")

    orch.run_sync(stale_then_live())
    assert _state(orch, "ada") == before
    assert orch.run_sync(services.journal.pending()) == []
    _run(orch, kind, "ada")
    assert _state(orch, "ada") != before
    assert orch.check().consistent
