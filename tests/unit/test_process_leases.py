"""The leases of an embedded graph (`ProcessLeases`): their fencing tokens are compared
across runs by repair, so a later process's must be larger than an earlier one's."""

from __future__ import annotations

from octomem.stores.graph_common import ProcessLeases


def test_tokens_grow_within_a_process_and_across_processes() -> None:
    first = ProcessLeases()
    tokens = []
    for owner in ("a", "b", "c"):
        tokens.append(first.acquire("user-key", owner, 60))
        assert first.acquire("user-key", owner, 60) == tokens[-1]  # extended: same token
        first.release("user-key", owner)
    later = ProcessLeases()  # the next run on the same files
    tokens.append(later.acquire("user-key", "d", 60))
    assert tokens == sorted(set(tokens)) and all(tokens)
    assert later.holds([("user-key", tokens[-1])])
    assert not later.holds([("user-key", tokens[-2])])
