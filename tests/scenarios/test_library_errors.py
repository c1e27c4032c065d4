"""Errors of octomem's integrations are octomem's own, in the shape their host library
documents: LangGraph's stores raise ValueError for a bad operator or operation, and
InvalidInputError is one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from langgraph.store.memory import InMemoryStore

from octomem import InvalidInputError, Orchestrator
from octomem.langgraph import OctomemStore


def test_an_unknown_filter_operator_is_invalid_input_as_for_langgraphs_own_store(
    shared_orch: Orchestrator,
    uid: Callable[[str], str],
) -> None:
    orch, alice = shared_orch, uid("alice")
    ns, bad = ("memories", alice), {"n": {"$near": 1}}
    reference = InMemoryStore()
    reference.put(ns, "k", {"content": "Alice likes tea.", "n": 1})
    with pytest.raises(ValueError, match=r"Unsupported operator: \$near"):
        reference.search(ns, filter=bad)
    store = OctomemStore(orch)
    store.put(ns, "k", {"content": "Alice likes tea.", "n": 1})
    with pytest.raises(InvalidInputError, match=r"unknown operator .\$near. for key .n."):
        store.search(ns, filter=bad)


def test_an_unknown_operation_is_invalid_input_as_for_langgraphs_own_store(
    shared_orch: Orchestrator,
) -> None:
    with pytest.raises(ValueError, match="Unknown operation type"):
        InMemoryStore().batch([object()])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="Unknown operation type"):
        OctomemStore(shared_orch).batch([object()])  # type: ignore[list-item]
