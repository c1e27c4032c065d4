"""Review helper-78: what `Reconciler._prefetch` reads for a call made again.

A conversation sent again whole (a retry, or an integration that sends the whole history
each turn) gives the same candidates again, each already stored: deciding each takes its
stored record by id and stops there (a NOOP). `_prefetch` also reads, for every such fact,
its conflict-key rivals or nearest neighbours, which nothing then uses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from benchmarks.synthetic import facts
from octomem import Orchestrator
from octomem.orchestrator.internals import services_of
from tests.conftest import T0


def _messages(count: int, seed: int) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": text, "timestamp": T0 + timedelta(minutes=i)}
        for i, text in enumerate(facts(count, seed=seed))
    ]


def _count(services: Any, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    calls = Counter[str]()
    for name in ("get", "list", "query"):
        method = getattr(services.vector, name)

        def watched(*args: Any, _m: Any = method, _n: str = name, **kwargs: Any) -> Any:
            calls[_n] += 1
            return _m(*args, **kwargs)

        monkeypatch.setattr(services.vector, name, watched)
    return calls


def test_a_call_made_again_reads_no_rivals_for_facts_already_stored(
    shared_orch: Orchestrator, uid: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = uid("again")
    messages = _messages(40, seed=7)
    first = shared_orch.process(messages, user_id=user)
    assert first.operations
    calls = _count(services_of(shared_orch), monkeypatch)
    again = shared_orch.process(messages, user_id=user)
    changed = [op for op in again.all_operations() if op.operation.value != "NOOP"]
    assert not changed, changed  # a replay: nothing to write
    # nothing is decided from a rival or a neighbour: every candidate is stored by its id
    assert calls["list"] + calls["query"] <= 8, calls
