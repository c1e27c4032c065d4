"""`octomem.langgraph.ranking`: what the store remembers about its searches."""

from __future__ import annotations

from octomem.langgraph import ranking


def test_prefixes_that_did_not_cover_their_scope_are_remembered_within_a_bound() -> None:
    partial = ranking.Prefixes()
    partial.add(("memories", "alice"))
    assert ("memories", "alice") in partial and ("memories", "bob") not in partial
    for n in range(ranking.PARTIAL_MAX):
        partial.add(("memories", f"u{n}"))
    assert ("memories", "alice") not in partial  # forgotten: tried again
