"""A store written by a version that kept octomem's keys in `metadata` is brought up to
date when it is opened: records read back with `internal`, filters and recall work."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from octomem import Orchestrator
from octomem.langgraph import OctomemStore
from octomem.models import MemoryBase
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.lifecycle import upgrade_layout
from octomem.stores.chroma import ChromaVectorStore
from tests.conftest import T0
from tests.legacy import NEWER, chroma_entries, make_legacy_store

RAW_TURN_KEYS = ("role", "turn_index", "raw", "batch", "previous_turn")


def _fill(orch: Orchestrator) -> None:
    """Memories of every kind the older versions marked, with the caller's metadata."""
    orch.process(
        [
            {"role": "user", "name": "Caroline", "content": "I went to a pottery workshop."},
            {"role": "assistant", "name": "Melanie", "content": "Which glaze colour did you pick?"},
            {"role": "user", "name": "Caroline", "content": "A deep ocean blue, like the sea."},
            {"role": "assistant", "name": "Melanie", "content": "My dog fetches the paper now."},
        ],
        user_id="caro",
        session_id="d1",
        timestamp=T0,
        infer=False,
    )
    orch.process(
        [
            {
                "role": "user",
                "content": "I'm Alice. I live in Paris and work at Acme. Yesterday I visited "
                "the Louvre. My sister Maria likes sushi. Remind me to call Bob by Friday.",
                "metadata": {"source": "crm"},
            },
            {
                "role": "assistant",
                "content": "To bake bread: 1. mix flour 2. knead 3. bake. See "
                "https://example.org/bread.pdf",
            },
        ],
        user_id="alice",
        session_id="s1",
        metadata={"channel": "web"},
        timestamp=T0,
    )
    OctomemStore(orch).put(("memories", "alice"), "theme", {"content": "likes dark mode"})


def _everything(orch: Orchestrator) -> dict[str, MemoryBase]:
    return {
        r.id: r
        for user in ("alice", "caro")
        for r in orch.get_all(user_id=user, include_superseded=True)
    }


def _legacy_store(make_orch: Any) -> tuple[Path, dict[str, MemoryBase], dict[str, Any]]:
    """A store in the old layout, the records it holds and its entries before opening."""
    orch = make_orch()
    data_dir = Path(orch.settings.data_dir)
    _fill(orch)
    records = {  # as an older version could have written them
        i: r.model_copy(
            update={"internal": {k: v for k, v in r.internal.items() if k not in NEWER}}
        )
        for i, r in _everything(orch).items()
    }
    raw = [r for r in records.values() if r.internal.get("raw")]
    # the flag of turns whose LLM extraction is still owed
    orch.run_sync(
        services_of(orch).vector.rewrite(
            raw[0].memory_type,
            [raw[0].model_copy(update={"internal": {**raw[0].internal, "extraction": "fallback"}})],
        )
    )
    records[raw[0].id] = orch.get(raw[0].id)
    orch.close()
    make_legacy_store(data_dir / "chroma")
    return data_dir, records, chroma_entries(data_dir / "chroma")


def test_an_older_store_is_upgraded_on_open(make_orch: Any) -> None:
    data_dir, records, before = _legacy_store(make_orch)
    flagged = [i for i, r in records.items() if r.internal.get("extraction") == "fallback"]
    raw_ids = [i for i, r in records.items() if r.internal.get("raw")]
    assert all("_layout" not in e["meta"] for e in before.values())
    assert all(before[i]["meta"]["md.raw"] is True for i in raw_ids)
    assert before[flagged[0]]["meta"]["md.octomem_extraction"] == "fallback"

    orch = make_orch(data_dir=data_dir)
    # every record reads back as it was written: octomem's keys in internal, metadata clean
    assert _everything(orch) == records
    assert {r.metadata.get("channel") for r in records.values()} == {"web", None}
    paris = [r for r in records.values() if r.metadata]
    assert len(paris) > 5 and all(r.metadata["channel"] == "web" for r in paris)

    # the entries were rewritten in place: new flattened keys, same embeddings
    after = chroma_entries(data_dir / "chroma")
    assert after.keys() == before.keys()
    for entry_id, entry in after.items():
        meta = entry["meta"]
        assert meta["_layout"] == 2
        assert entry["embedding"] == before[entry_id]["embedding"]
        assert not {k for k in meta if k.startswith("md.")} - {"md.channel", "md.source"}
    for entry_id in raw_ids:
        meta = after[entry_id]["meta"]
        assert all(f"md.{key}" not in meta for key in RAW_TURN_KEYS)
        assert meta["in.raw"] is True and isinstance(meta["in.batch"], str)

    # filters: a caller's plain names never reach octomem's keys; octomem's own still work
    assert orch.get_all(user_id="alice", filters={"role": "user"}) == []
    assert orch.get_all(user_id="caro", filters={"raw": True}) == []
    assert len(orch.get_all(user_id="caro", filters={"internal.raw": True})) == 4
    owed = orch.get_all(user_id=records[flagged[0]].user_id, filters={"internal.extraction": "*"})
    assert [r.id for r in owed] == flagged

    # recall: the named speakers' reply joins through the question before it
    hits = orch.recall("which glaze colour did Melanie ask about", user_id="caro").hits
    [reply] = [h for h in hits if "ocean blue" in h.memory.content]
    assert any(p.retriever == "context" for p in reply.provenance)
    # the LangGraph store finds its item again
    item = OctomemStore(orch).get(("memories", "alice"), "theme")
    assert item is not None and item.value == {"content": "likes dark mode"}

    # once done, opening again has nothing left to do
    assert orch.run_sync(upgrade_layout(services_of(orch).vector)) == 0


def test_two_stores_upgrading_at_once_agree(make_orch: Any) -> None:
    data_dir, records, before = _legacy_store(make_orch)

    async def upgrade_twice() -> list[int]:
        stores = [ChromaVectorStore.embedded(data_dir / "chroma") for _ in range(2)]
        try:
            return await asyncio.gather(*(upgrade_layout(store) for store in stores))
        finally:
            for store in stores:
                await store.close()

    counts = asyncio.run(upgrade_twice())
    assert len(before) <= sum(counts) <= 2 * len(before)
    after = chroma_entries(data_dir / "chroma")
    assert all(entry["meta"]["_layout"] == 2 for entry in after.values())
    orch = make_orch(data_dir=data_dir)
    assert _everything(orch) == records
