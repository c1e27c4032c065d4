"""A lease holder whose store call is stuck past its bound stops renewing its lease, so
another host takes the scope once the lease's TTL has passed; a holder that is merely
slow keeps it."""

from __future__ import annotations

import asyncio

import pytest

from octomem import Orchestrator
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.locks import ScopeLocks, scope_key
from octomem.stores import stuck

TTL_S = 0.6


def _other_host_takes(orch: Orchestrator, *, stuck_call: bool) -> int:
    graph = services_of(orch).graph
    locks = ScopeLocks(graph, lease_ttl_s=TTL_S, timeout_s=5)
    key = graph.lease_key(scope_key("u"))

    async def scenario() -> int:
        async with locks.hold("u"):
            if stuck_call:
                with stuck.watched(0.1):  # a store call bounded by 0.1 s that never returns
                    await asyncio.sleep(6 * TTL_S)
            else:
                await asyncio.sleep(6 * TTL_S)  # slow work, no store call past its bound
            return await graph.acquire_lease(key, "another-host", TTL_S)

    return orch.run_sync(scenario())


def test_a_stuck_holder_lets_its_lease_expire(
    orch: Orchestrator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stuck, "MARGIN_S", 0.1)
    assert _other_host_takes(orch, stuck_call=True) > 0


def test_a_slow_holder_keeps_its_lease(orch: Orchestrator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stuck, "MARGIN_S", 0.1)
    assert _other_host_takes(orch, stuck_call=False) == 0
