"""OctomemStore against LangGraph's BaseStore behaviour.

The installed langgraph ships no store conformance suite (langgraph-checkpoint-conformance
covers checkpointers only), so these are the InMemoryStore tests of LangGraph's
libs/checkpoint/tests/test_store.py that apply to any store, ported, plus octomem specifics.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from langgraph.graph import START, StateGraph
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    PutOp,
    SearchItem,
    SearchOp,
)
from typing_extensions import TypedDict

from octomem import ConfigurationError, InvalidInputError, NotFoundError, Orchestrator
from octomem.embeddings import LocalEmbedder
from octomem.langgraph import NamespaceScope, OctomemStore
from octomem.models import MemoryType
from octomem.orchestrator.internals import services_of
from octomem.settings import load_settings
from tests.closing import IN_ORDER, HeldClose


@pytest.fixture
def store(orch: Orchestrator) -> OctomemStore:
    return OctomemStore(orch)


def test_get_put_delete_round_trip_exactly(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    store = OctomemStore(orch)
    value = {
        "content": "Alice prefers dark mode.",
        "n": 3,
        "x": 1.5,
        "flag": True,
        "none": None,
        "nested": {"tags": ["a", "b"], "deep": {"k": [1, {"z": "ü"}]}},
    }
    ns = ("memories", alice)
    assert store.get(ns, "prefs") is None
    store.put(ns, "prefs", value)
    item = store.get(ns, "prefs")
    assert item is not None
    assert (item.namespace, item.key, item.value) == (ns, "prefs", value)
    created = item.created_at

    store.put(ns, "prefs", {"content": "Alice prefers light mode."})
    updated = store.get(ns, "prefs")
    assert updated is not None and updated.value == {"content": "Alice prefers light mode."}
    assert updated.created_at == created and updated.updated_at >= created

    # the item is an octomem memory of alice: recall finds it, history keeps both values
    hits = orch.recall("which mode does alice prefer?", user_id=alice)
    assert any(h.memory.content == "Alice prefers light mode." for h in hits.hits)
    record_id = next(h.id for h in hits.hits if h.memory.content.startswith("Alice prefers"))
    assert [e.operation.value for e in orch.history(record_id)] == ["ADD", "UPDATE"]

    store.delete(ns, "prefs")
    assert store.get(ns, "prefs") is None
    assert [e.operation.value for e in orch.history(record_id)][-1] == "DELETE"
    store.delete(ns, "never-there")  # deleting a missing key is fine


def test_a_key_is_found_by_exactly_itself(store: OctomemStore) -> None:
    """A key text cleaning would change (a zero-width space, an accent not in NFC) is got
    and deleted under itself: it is an identifier, compared exactly."""
    ns = ("memories", "amy")
    keys = ("note\u200b", "cafe\u0301")
    for n, key in enumerate(keys):
        store.put(ns, key, {"content": f"Amy's note {n}."})
    for n, key in enumerate(keys):
        item = store.get(ns, key)
        assert item is not None and (item.key, item.value) == (key, {"content": f"Amy's note {n}."})
    assert store.get(ns, "note") is None and store.get(ns, "caf\u00e9") is None
    store.put(ns, "note\u200b", {"content": "Amy's note, changed."})  # an update
    assert len(store.search(ns)) == 2
    store.delete(ns, "note\u200b")
    store.batch([PutOp(ns, "cafe\u0301", None)])
    assert store.search(ns) == [] and store.get(ns, "note\u200b") is None


def test_namespace_maps_to_scope(orch: Orchestrator) -> None:
    store = OctomemStore(
        orch, namespace_scope=NamespaceScope(("tenants", "{agent_id}", "{user_id}"))
    )
    store.put(("tenants", "bot", "carol", "notes"), "k", {"content": "Carol owns a cat."})
    store.put(("misc",), "k", {"content": "A global note."})
    [carol] = orch.get_all(user_id="carol")
    assert (carol.user_id, carol.agent_id) == ("carol", "bot")
    assert orch.get_all(agent_id="langgraph")[0].content == "A global note."
    default = OctomemStore(orch).namespace_scope
    assert default.scope(("memories", "dave")) == {
        "user_id": "dave",
        "agent_id": None,
        "session_id": None,
    }


def test_invalid_namespaces_are_rejected(store: OctomemStore) -> None:
    doc = {"foo": "bar"}
    for bad in [(), ("the", "thing.about"), ("some", "fun", ""), ("langgraph", "foo")]:
        with pytest.raises(InvalidNamespaceError):
            store.put(bad, "foo", doc)
    store.put(("foo", "langgraph", "foo"), "bar", doc)
    assert store.get(("foo", "langgraph", "foo"), "bar").value == doc  # type: ignore[union-attr]
    assert store.search(("foo", "langgraph", "foo"))[0].value == doc
    # past the public put api, as LangGraph's own test does
    store.batch([PutOp(("langgraph", "foo"), "bar", doc)])
    assert store.get(("langgraph", "foo"), "bar").value == doc  # type: ignore[union-attr]


def test_a_label_that_cannot_be_a_scope_id_is_an_invalid_namespace(store: OctomemStore) -> None:
    """A blank label where the template takes the user is a bad namespace, as LangGraph's
    callers catch one (`InvalidNamespaceError`), for a read as for a put; elsewhere it is a
    label like any other."""
    for blank in (" ", "\u3000"):
        with pytest.raises(InvalidNamespaceError, match="user_id is empty or whitespace"):
            store.put(("memories", blank), "k", {"content": "x"})
        with pytest.raises(InvalidNamespaceError):
            store.get(("memories", blank), "k")
        with pytest.raises(InvalidNamespaceError):
            store.search(("memories", blank, "notes"))
    store.put(("notes", " "), "k", {"content": "x"})
    assert store.get(("notes", " "), "k") is not None


async def test_a_page_size_of_none_is_refused(store: OctomemStore) -> None:
    """LangGraph's limit is an int: None is the caller's error, named, not a TypeError
    from slicing the page (nor "every item", unbounded)."""
    store.put(("paged",), "k", {"text": "tea"})
    with pytest.raises(InvalidInputError, match="limit must be a positive integer"):
        store.search(("paged",), limit=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="limit must be a positive integer"):
        await store.asearch(("paged",), query="tea", limit=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="limit must be a positive integer"):
        store.list_namespaces(limit=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("ranking", ["hybrid", "vector"])
def test_a_query_is_checked_as_recalls_before_anything_runs(
    orch: Orchestrator, ranking: Any
) -> None:
    """A query that is not valid text (a lone surrogate) is the caller's error, named - not
    a TypeError from the embedder's tokenizer - and one past `input.max_message_chars` is
    refused as recall refuses it, with ``ranking="vector"`` too (which recall never
    sees); a batch holding either writes nothing."""
    store = OctomemStore(orch, ranking=ranking)
    store.put(("q",), "k", {"text": "tea"})
    limit = orch.settings.input.max_message_chars
    for query, message in [("tea \ud800", "lone surrogate"), ("t" * (limit + 1), "the limit")]:
        with pytest.raises(InvalidInputError, match=message):
            store.search(("q",), query=query)
        with pytest.raises(InvalidInputError, match=message):
            store.batch([PutOp(("q",), "k2", {"text": "x"}), SearchOp(("q",), query=query)])
    assert store.get(("q",), "k2") is None
    assert [item.key for item in store.search(("q",), query=" ")] == ["k"]  # blank: scored


async def test_search_filters_and_pagination(store: OctomemStore) -> None:
    docs = [
        ("doc1", {"text": "red apple", "color": "red", "score": 4.5}),
        ("doc2", {"text": "red car", "color": "red", "score": 3.0}),
        ("doc3", {"text": "green apple", "color": "green", "score": 4.0}),
        ("doc4", {"text": "blue car", "color": "blue", "score": 3.5}),
    ]
    for key, value in docs:
        await store.aput(("test",), key, value)
    await store.aput(("other",), "doc5", {"text": "red apple", "color": "red"})

    assert len(await store.asearch(("test",))) == 4
    assert {r.key for r in await store.asearch(("test",), filter={"color": "red"})} == {
        "doc1",
        "doc2",
    }
    results = await store.asearch(("test",), query="apple", filter={"color": "red"})
    assert [r.key for r in results][0] == "doc1" and len(results) == 2
    results = await store.asearch(("test",), query="car", filter={"color": "red"})
    assert [r.key for r in results][0] == "doc2"
    results = await store.asearch(("test",), query="blue car", filter={"score": {"$gt": 3.2}})
    assert len(results) == 3 and results[0].key == "doc4"
    results = await store.asearch(
        ("test",), query="apple", filter={"score": {"$gte": 4.0}, "color": "green"}
    )
    assert [r.key for r in results] == ["doc3"]
    assert {r.key for r in await store.asearch(("test",), filter={"score": {"$ne": 3.0}})} == {
        "doc1",
        "doc3",
        "doc4",
    }
    assert results[0].score is not None

    page1 = await store.asearch(("test",), query="apple", limit=2)
    page2 = await store.asearch(("test",), query="apple", limit=2, offset=2)
    assert len(page1) == 2 and len(page2) == 2
    assert {r.key for r in page1}.isdisjoint({r.key for r in page2})
    for query in ["", None, "test " * 100, "test!@#$%^&*()"]:
        assert len(await store.asearch(("test",), query=query)) == 4
    assert [r.key for r in await store.asearch((), filter={"color": "red"})].count("doc5") == 1


async def test_index_false_and_index_fields(store: OctomemStore) -> None:
    await store.aput(("test",), "doc1", {"text": "zany zebra Xerxes"})
    await store.aput(("test",), "doc2", {"text": "something about dogs"})
    await store.aput(("test",), "doc3", {"text": "text about birds"})
    await store.aput(("test",), "doc4", {"text": "new text about dogs"}, index=False)
    results = await store.asearch(("test",), query="Zany Xerxes", limit=3)
    assert results[0].key == "doc1"
    results = await store.asearch(("test",), query="new text about dogs", limit=3)
    assert all(r.key != "doc4" for r in results)
    await store.aput(("test",), "doc5", {"title": "Kraków trip", "body": "x"}, index=["title"])
    results = await store.asearch(("test",), query="Krakow Kraków trip", limit=1)
    assert results[0].key == "doc5"


async def test_concurrent_async_ops(store: OctomemStore) -> None:
    await asyncio.gather(*[store.aput(("c",), f"k{i}", {"content": f"item {i}"}) for i in range(8)])
    items = await asyncio.gather(*[store.aget(("c",), f"k{i}") for i in range(8)])
    assert [item.value["content"] for item in items] == [f"item {i}" for i in range(8)]  # type: ignore[union-attr]
    results = await store.abatch(
        [
            PutOp(("c",), "k0", {"content": "first"}),
            PutOp(("c",), "k0", {"content": "last"}),
            GetOp(("c",), "k0"),
        ]
    )
    # a batch reads the store as it was before it; its last put of a key wins
    assert results[2].value == {"content": "item 0"}  # type: ignore[union-attr]
    assert (await store.aget(("c",), "k0")).value == {"content": "last"}  # type: ignore[union-attr]


def test_ttl_is_not_supported(store: OctomemStore) -> None:
    with pytest.raises(NotImplementedError):
        store.put(("t",), "k", {"a": 1}, ttl=5)


class _State(TypedDict):
    user_id: str
    note: str
    seen: list[str]


def test_compiled_graph_uses_it_as_its_store(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, erin = shared_orch, uid("erin")
    from langgraph.config import get_store

    def write(state: _State) -> dict[str, Any]:
        get_store().put(("memories", state["user_id"]), "note", {"content": state["note"]})
        return {}

    def read(state: _State) -> dict[str, Any]:
        store: BaseStore = get_store()
        found = store.search(("memories", state["user_id"]), query="what does she drink?")
        return {"seen": [item.value["content"] for item in found]}

    builder = StateGraph(_State)
    builder.add_node("write", write)
    builder.add_node("read", read)
    builder.add_edge(START, "write")
    builder.add_edge("write", "read")
    graph = builder.compile(store=OctomemStore(orch))
    out = graph.invoke({"user_id": erin, "note": "Erin drinks green tea.", "seen": []})
    assert out["seen"] == ["Erin drinks green tea."]
    assert orch.recall("green tea", user_id=erin).hits[0].memory.content == "Erin drinks green tea."


def test_close_waits_for_a_running_put_and_refuses_later_ones(
    tmp_path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A put is a call like any other: close() lets it finish, then refuses new ones."""
    orch = Orchestrator(load_settings(data_dir=tmp_path / "s"), embedder=embedder)
    store = OctomemStore(orch)
    store.put(("memories", "alice"), "warm", {"content": "Alice is here."})
    vector = services_of(orch).vector
    real = vector.upsert
    entered, release = threading.Event(), threading.Event()

    async def upsert(memory_type, records, embeddings, **kwargs):
        if any(r.internal.get("langgraph_key") == "prefs" for r in records):
            entered.set()
            while not release.is_set():
                await asyncio.sleep(0.01)
        return await real(memory_type, records, embeddings, **kwargs)

    monkeypatch.setattr(vector, "upsert", upsert)
    held = HeldClose(orch, monkeypatch)
    with ThreadPoolExecutor(2) as pool:
        aput = store.aput(("memories", "alice"), "prefs", {"content": "Dark mode."})
        put = pool.submit(held.run, aput)
        assert entered.wait(60)
        closing = held.close_then_release(pool, release)
        put.result(timeout=120)
        closing.result(timeout=120)
    assert held.order == IN_ORDER
    with pytest.raises(InvalidInputError, match="closed"):
        store.put(("memories", "alice"), "late", {"content": "Too late."})

    reopened = Orchestrator(load_settings(data_dir=tmp_path / "s"), embedder=embedder)
    try:
        item = OctomemStore(reopened).get(("memories", "alice"), "prefs")
        assert item is not None and item.value == {"content": "Dark mode."}
        assert OctomemStore(reopened).get(("memories", "alice"), "late") is None
        assert reopened.check().consistent
    finally:
        reopened.close()


def test_a_put_made_again_changes_nothing(store: OctomemStore, orch: Orchestrator) -> None:
    """A retried put of the same value keeps the item as it is: no new version, no
    history event, the same updated_at."""
    ns, value = ("memories", "alice"), {"content": "Alice prefers dark mode.", "n": 1}
    store.put(ns, "prefs", value)
    [record] = orch.get_all(user_id="alice", include_superseded=True)
    for _ in range(2):
        store.put(ns, "prefs", dict(value))
    assert orch.get_all(user_id="alice", include_superseded=True) == [record]
    assert [e.operation.value for e in orch.history(record.id)] == ["ADD"]
    store.put(ns, "prefs", {**value, "n": 2})  # a new value is an update
    assert [e.operation.value for e in orch.history(record.id)] == ["ADD", "UPDATE"]


def test_a_put_reads_its_items_slot_and_nothing_of_the_users_facts(
    store: OctomemStore, orch: Orchestrator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An item is no fact about its user: its put leaves the user's core block alone, so
    it reads neither the facts the block is rendered from nor the block (only the item's
    own slot and the view a fact may have)."""
    orch.process("My name is Alice and I live in Lisbon.", user_id="alice")
    [block] = orch.recall("where does Alice live", user_id="alice").core
    vector = services_of(orch).vector
    listed: list[object] = []
    real = vector.list

    async def counted(*args: Any, **kwargs: Any) -> Any:
        listed.append((args[0], kwargs.get("where")))
        return await real(*args, **kwargs)

    monkeypatch.setattr(vector, "list", counted)
    store.put(("memories", "alice"), "prefs", {"content": "Alice prefers dark mode."})
    assert MemoryType.CORE not in {memory_type for memory_type, _ in listed}, listed
    assert "'subject'" not in repr(listed), listed  # the facts about the user
    monkeypatch.undo()
    assert orch.recall("where does Alice live", user_id="alice").core == [block]
    assert store.get(("memories", "alice"), "prefs").value == {  # type: ignore[union-attr]
        "content": "Alice prefers dark mode."
    }


@pytest.mark.parametrize(
    "bad", [{"content": "half a surrogate \ud800"}, {"content": "x", "when": object()}]
)
def test_a_batch_with_a_value_that_cannot_be_stored_writes_nothing(
    store: OctomemStore, bad: dict[str, Any]
) -> None:
    ns = ("memories", "alice")
    store.put(ns, "kept", {"content": "Alice likes tea."})
    with pytest.raises(InvalidInputError, match="'bad'"):
        store.batch([PutOp(ns, "kept", None), PutOp(ns, "bad", bad)])
    kept = store.get(ns, "kept")
    assert kept is not None and kept.value == {"content": "Alice likes tea."}
    assert store.get(ns, "bad") is None


async def test_items_with_the_same_text_rank_in_each_namespace(store: OctomemStore) -> None:
    # recall shows one hit per distinct text; the store must still rank every item with it
    for namespace in (("a",), ("b",)):
        await store.aput(namespace, "same", {"text": "red apple"})
        await store.aput(namespace, "other", {"text": "blue car"})
    for namespace in (("a",), ("b",)):
        results = await store.asearch(namespace, query="apple")
        assert [(r.namespace, r.key) for r in results][0] == (namespace, "same")
        assert results[0].score is not None


def test_items_imported_from_another_data_dir_keep_their_ids(make_orch: Any) -> None:
    """Each data directory keys its ids with its own secret: an item restored into another
    one is still found by namespace and key, and a put updates it instead of adding a twin."""
    import io

    source = make_orch()
    OctomemStore(source).put(("memories", "alice"), "diet", {"content": "vegetarian"})
    export = io.StringIO()
    source.export_jsonl(export)
    target = make_orch()
    target.import_jsonl(io.StringIO(export.getvalue()))
    store = OctomemStore(target)
    item = store.get(("memories", "alice"), "diet")
    assert item is not None and item.value == {"content": "vegetarian"}
    store.put(("memories", "alice"), "diet", {"content": "vegan"})
    items = store.search(("memories", "alice"))
    assert [(i.key, i.value) for i in items] == [("diet", {"content": "vegan"})]
    assert store.get(("memories", "other"), "diet") is None
    store.delete(("memories", "alice"), "diet")
    assert store.get(("memories", "alice"), "diet") is None


def test_index_that_disagrees_with_the_orchestrators_embedder_is_refused(
    orch: Orchestrator,
) -> None:
    """The Orchestrator embeds every memory of its project; an `index` whose dims or embed
    would give other vectors is a ConfigurationError that says what to do instead."""
    dimension = orch.embedder.dimension
    with pytest.raises(ConfigurationError, match="dims is 1536 .* gives 384-dimensional"):
        OctomemStore(orch, index={"dims": 1536, "fields": ["text"]})

    def other_model(texts: Any) -> list[list[float]]:
        return [[1.0] + [0.0] * (dimension - 1) for _ in texts]

    store = OctomemStore(orch, index={"embed": other_model, "dims": dimension})
    with pytest.raises(ConfigurationError, match="other vectors than the Orchestrator's"):
        store.put(("docs",), "k", {"text": "never stored"})
    with pytest.raises(ConfigurationError, match="other vectors"):
        store.get(("docs",), "k")
    assert orch.get_all(agent_id="langgraph") == []

    def same_model(texts: Any) -> list[list[float]]:
        return asyncio.run(orch.embedder.embed(list(texts)))

    agreeing = OctomemStore(orch, index={"embed": same_model, "dims": dimension})
    agreeing.put(("docs",), "k", {"text": "stored"})
    assert agreeing.get(("docs",), "k") is not None

    for bad, error in [
        ({"fields": "title"}, InvalidInputError),
        ({"fields": []}, InvalidInputError),
        ({"dims": "384"}, InvalidInputError),
        ({"embedding": same_model}, InvalidInputError),
        (["title"], InvalidInputError),
        ({"embed": "no-such-provider:model"}, ConfigurationError),
    ]:
        with pytest.raises(error):
            OctomemStore(orch, index=bad)  # type: ignore[arg-type]


async def cosine(orch: Orchestrator, query: str, text: str) -> float:
    import numpy as np

    q, t = (np.asarray(v) for v in await orch.embedder.embed([query, text]))
    return float(q @ t / (np.linalg.norm(q) * np.linalg.norm(t)))


@pytest.mark.parametrize("mode", ["vector", "hybrid"])
async def test_a_search_of_a_whole_scope_ranks_as_a_search_by_ids(
    orch: Orchestrator, mode: str
) -> None:
    """Every ranked item's score is the cosine similarity of the query to its text, as
    LangGraph's stores score; "vector" orders by it, "hybrid" as the recall among the
    items' ids orders them, its fused score on `hybrid_score`. An item left out of
    ranking, another namespace under the prefix and a filter follow the same rules."""
    from octomem.langgraph import ranking

    store = OctomemStore(orch, ranking=mode)  # type: ignore[arg-type]
    alice = ("memories", "alice")
    texts = ["I drink green tea", "my sister lives in Oslo", "tea with lemon", "bikes"]
    for n, text in enumerate(texts):
        await store.aput(alice, f"k{n}", {"text": text, "n": n})
    await store.aput(("memories", "bob"), "k0", {"text": "tea tea tea"})  # not alice's

    query = "which tea do I drink?"
    found = await store.asearch(alice, query=query)
    cosines = {f"k{n}": await cosine(orch, query, text) for n, text in enumerate(texts)}
    assert {i.key: i.score for i in found} == {
        key: pytest.approx(value, abs=1e-5) for key, value in cosines.items()
    }
    if mode == "vector":
        assert [i.key for i in found] == sorted(cosines, key=cosines.__getitem__, reverse=True)
        assert all(type(i) is SearchItem for i in found)
    else:
        records = [await store._record(alice, f"k{n}") for n in range(len(texts))]
        by_ids = await ranking.rank(orch, query, records)  # type: ignore[arg-type]
        assert [(i.key, i.hybrid_score) for i in found] == [  # type: ignore[attr-defined]
            (r.internal["langgraph_key"], pytest.approx(score)) for r, score in by_ids
        ]
        assert found[0].dict()["hybrid_score"] == found[0].hybrid_score  # type: ignore[attr-defined]
    assert found[0].key == "k0"

    await store.aput(alice, "hidden", {"text": "tea"}, index=False)
    await store.aput(alice + ("work",), "desk", {"text": "tea at my desk"})
    found = await store.asearch(alice, query="tea", limit=10)
    scores = {i.key: i.score for i in found}
    assert scores["hidden"] is None and scores["desk"] is not None
    assert found[-1].key == "hidden"
    assert {i.namespace for i in found} == {alice, alice + ("work",)}
    filtered = await store.asearch(alice, query="tea", filter={"n": 2})
    assert [(i.key, i.score is not None) for i in filtered] == [("k2", True)]
    blank = await store.asearch(alice, query="  ", filter={"n": 2})  # embedded as it is
    assert [(i.key, i.score is not None) for i in blank] == [("k2", True)]


class CountingModel:
    """An embedder that counts the texts it is asked to embed, taking `delay` seconds
    (`fail`: refusing them)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.texts, self.fail = inner, inner.name, [], False
        self.delay = 0.0

    @property
    def dimension(self) -> int:
        return int(self.inner.dimension)

    async def embed(self, texts: Any) -> list[list[float]]:
        self.texts += list(texts)
        await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("the model is down")
        return list(await self.inner.embed(texts))


@pytest.mark.parametrize("mode", ["vector", "hybrid"])
async def test_a_search_embeds_its_query_once(tmp_path: Any, embedder: Any, mode: str) -> None:
    """The batch embeds its queries while it reads the items; a search awaits that call
    rather than embedding its query again while it runs, and scores as before. A failed
    call recurs in the search, with its error."""
    from octomem.embeddings import CachedEmbedder

    model = CountingModel(embedder.inner)
    orch = Orchestrator(load_settings(data_dir=tmp_path / "s"), embedder=CachedEmbedder(model))
    try:
        store = OctomemStore(orch, ranking=mode)  # type: ignore[arg-type]
        alice = ("memories", "alice")
        texts = ["I drink green tea", "my sister lives in Oslo", "bikes"]
        for n, text in enumerate(texts):
            await store.aput(alice, f"k{n}", {"text": text})
        model.texts.clear()
        model.delay = 0.5  # the items are read before the query's vector is there
        query = "which tea do I drink?"
        found = await store.asearch(alice, query=query)
        assert model.texts == [query]
        cosines = {f"k{n}": await cosine(orch, query, text) for n, text in enumerate(texts)}
        assert {i.key: i.score for i in found} == {
            key: pytest.approx(value, abs=1e-5) for key, value in cosines.items()
        }
        model.fail = True
        with pytest.raises(Exception, match="the model is down"):
            await store.asearch(alice, query="a query never embedded")
    finally:
        orch.close()


def test_index_embed_of_the_same_model_on_sentence_transformers_agrees(orch: Orchestrator) -> None:
    """LangGraph's docs configure `embed` with the model's own library: all-MiniLM-L6-v2 in
    float32 on sentence-transformers agrees with the Orchestrator's int8 graph of it."""
    pytest.importorskip("sentence_transformers", reason="install octomem[torch]")
    float32 = LocalEmbedder(backend="torch")

    def same_model_in_float32(texts: Any) -> list[list[float]]:
        return asyncio.run(float32.embed(list(texts)))

    dims = orch.embedder.dimension
    store = OctomemStore(orch, index={"embed": same_model_in_float32, "dims": dims})
    store.put(("docs",), "k", {"text": "stored"})
    assert store.get(("docs",), "k") is not None
    assert [i.key for i in store.search(("docs",), query="what was stored")] == ["k"]


def test_a_ranking_it_does_not_know_is_refused(orch: Orchestrator) -> None:
    with pytest.raises(InvalidInputError, match="ranking must be one of"):
        OctomemStore(orch, ranking="bm25")  # type: ignore[arg-type]


def test_an_items_text_is_changed_through_the_store_only(
    store: OctomemStore, orch: Orchestrator
) -> None:
    """`update()` (and so `Memory.update`, MCP's update_memory, the service's update
    routes) of a store item's text is refused: it would change the text octomem recalls
    but not the value the store returns, two truths for one item. Metadata may change."""
    from octomem import Memory

    ns = ("memories", "ula")
    store.put(ns, "prefs", {"content": "Ula prefers dark mode.", "n": 1})
    item_id = store.item_id(ns, "prefs")
    for update in (
        lambda: orch.update(item_id, "Ula prefers light mode."),
        lambda: Memory(orch).update(item_id, "Ula prefers light mode.", user_id="ula"),
    ):
        with pytest.raises(InvalidInputError, match="OctomemStore"):
            update()
    assert orch.get(item_id).content == "Ula prefers dark mode."
    assert store.get(ns, "prefs").value == {"content": "Ula prefers dark mode.", "n": 1}
    assert orch.update(item_id, None, metadata={"seen": True}).metadata == {"seen": True}
    store.put(ns, "prefs", {"content": "Ula prefers light mode.", "n": 1})
    assert orch.get(item_id).content == "Ula prefers light mode."


async def test_aedit_changes_the_item_of_that_id_only(store: OctomemStore) -> None:
    ns = ("memories", "eda")
    await store.aput(ns, "a", {"content": "Eda reads."})
    for wrong in ("*", "sem_nope"):  # an id is a literal, never a pattern
        with pytest.raises(NotFoundError):
            await store.aedit(wrong, lambda value: {"content": "changed"})
    with pytest.raises(InvalidInputError):
        await store.aedit(None, lambda value: None)  # type: ignore[arg-type]
    await store.aedit(store.item_id(ns, "a"), lambda value: {**value, "content": "Eda writes."})
    assert (await store.aget(ns, "a")).value == {"content": "Eda writes."}


def test_a_key_of_star_is_a_key_like_any_other(store: OctomemStore) -> None:
    """ "*" is a literal key: it never reads, overwrites or deletes another key's item."""
    ns = ("memories", "sta")
    store.put(ns, "prefs", {"content": "Sta prefers dark mode."})
    assert store.get(ns, "*") is None
    store.put(ns, "*", {"content": "a star"})
    assert store.get(ns, "prefs").value == {"content": "Sta prefers dark mode."}
    assert store.get(ns, "*").value == {"content": "a star"}
    store.delete(ns, "*")
    assert [item.key for item in store.search(ns)] == ["prefs"]


def test_a_put_in_flight_when_its_user_is_forgotten_stores_nothing(
    orch: Orchestrator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose put began before a forget of its user, and reaches the write lock after
    it, stores nothing (ConflictError), as `process()` does: the forget is not undone."""
    from octomem import ConflictError

    store = OctomemStore(orch)
    ns = ("memories", "zoe")
    store.put(ns, "before", {"content": "Zoe lives in Quibbleton."})
    began, release = threading.Event(), threading.Event()
    check = store.index.check

    async def held(*args: Any, **kwargs: Any) -> Any:
        began.set()  # the batch has begun; the loop stays free for the forget
        assert await asyncio.to_thread(release.wait, 60)
        return await check(*args, **kwargs)

    monkeypatch.setattr(store.index, "check", held)
    outcome: dict[str, Any] = {}

    def put() -> None:
        try:
            store.put(ns, "after", {"content": "Zoe works at Flumberdyne."})
        except Exception as exc:  # noqa: BLE001 - the outcome is the test's subject
            outcome["error"] = exc

    thread = threading.Thread(target=put)
    thread.start()
    assert began.wait(60)
    orch.forget(user_id="zoe")
    release.set()
    thread.join(60)

    assert isinstance(outcome.get("error"), ConflictError), outcome
    monkeypatch.undo()
    assert store.get(ns, "after") is None and store.get(ns, "before") is None
    assert orch.get_all(user_id="zoe", include_superseded=True) == []
    # a put that begins after the forget stores as usual
    store.put(ns, "later", {"content": "Zoe is back."})
    assert store.get(ns, "later") is not None


def test_an_item_whose_namespace_and_key_look_like_secrets_survives_export_and_import(
    make_orch: Any,
) -> None:
    """Namespaces and keys are identifiers, stored as put (not masked): a restore keeps
    them, so the item is found where it was put and a put updates it, no twin."""
    import io

    source = make_orch()
    ns, key = ("memories", "alice", "AKIAIOSFODNN7EXAMPLE"), "AKIAIOSFODNN7EXAMPLE"
    OctomemStore(source).put(ns, key, {"content": "vegetarian"})
    export = io.StringIO()
    source.export_jsonl(export)
    target = make_orch()
    target.import_jsonl(io.StringIO(export.getvalue()))
    store = OctomemStore(target)
    item = store.get(ns, key)
    assert item is not None and item.value == {"content": "vegetarian"}
    assert store.list_namespaces() == [ns]
    store.put(ns, key, {"content": "vegan"})
    assert [(i.key, i.value) for i in store.search(ns)] == [(key, {"content": "vegan"})]


async def test_a_search_sees_what_changed_since_the_last_one(
    store: OctomemStore, orch: Orchestrator
) -> None:
    """Searches keep the records they parsed (their memo), never a stale one: an
    item updated, deleted or forgotten since the last search is read as it is now, and a
    value changed by the caller is not the stored one."""
    ns = ("memories", "vic")
    await store.aput(ns, "a", {"text": "Vic drinks green tea", "tags": ["tea"]})
    await store.aput(ns, "b", {"text": "Vic rides a bike"})
    first = await store.asearch(ns, query="tea")
    assert {i.key for i in first} == {"a", "b"}
    first[0].value["tags"].append("changed")
    first[0].value["text"] = "changed"
    again = {i.key: i.value for i in await store.asearch(ns, query="tea")}
    assert again["a"] == {"text": "Vic drinks green tea", "tags": ["tea"]}
    await store.aput(ns, "a", {"text": "Vic drinks black coffee"})
    await store.adelete(ns, "b")
    found = await store.asearch(ns, query="coffee")
    assert [(i.key, i.value) for i in found] == [("a", {"text": "Vic drinks black coffee"})]
    await orch.aforget(user_id="vic")
    assert await store.asearch(ns, query="coffee") == []
    assert await store.asearch(("memories",), query="coffee") == []


async def test_a_forget_drops_the_users_records_the_store_kept_parsed(
    store: OctomemStore, orch: Orchestrator
) -> None:
    """The records a store's searches keep parsed (their memo) are the user's
    words: a forget in this process drops the forgotten user's at once, not when the store
    next lists their namespace or evicts them."""
    for user, text in (("vic", "Vic drinks green tea"), ("ana", "Ana rides a bike")):
        await store.aput(("memories", user), "a", {"text": text})
        await store.aput(("memories", user), "b", {"text": text + " daily"})
        assert len(await store.asearch(("memories", user), query="tea")) == 2
    [memo] = services_of(orch).memos
    assert len(memo._records) == 4
    await orch.aforget(user_id="vic")
    assert len(memo._records) == 2  # ana's
    assert {i.value["text"] for i in await store.asearch(("memories", "ana"))} == {
        "Ana rides a bike",
        "Ana rides a bike daily",
    }


async def test_a_search_made_again_parses_none_of_its_items_again(
    store: OctomemStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search's listing and the recall among its items read them with the memo the store
    keeps (`octomem.stores.parsed`): searched again, unchanged, no item is parsed again -
    neither by the listing nor by the recall's reads - and one changed since is."""
    from octomem.memory_types import TypeRegistry

    ns = ("memories", "ivy")
    for n, text in enumerate(["Ivy drinks green tea", "Ivy rides a bike", "tea in Oslo"]):
        await store.aput(ns, f"k{n}", {"text": text})
    keys = {f"k{n}" for n in range(3)}
    parsed_keys: list[str] = []
    parse = TypeRegistry.record_from_json

    def counting(self: TypeRegistry, payload: str | bytes, memory_type: Any = None) -> Any:
        record = parse(self, payload, memory_type)
        if record.internal.get("langgraph_namespace") == list(ns):
            parsed_keys.append(record.internal["langgraph_key"])
        return record

    monkeypatch.setattr(TypeRegistry, "record_from_json", counting)
    first = await store.asearch(ns, query="tea")
    assert {i.key for i in first} == keys and set(parsed_keys) == keys
    parsed_keys.clear()
    assert [(i.key, i.score) for i in await store.asearch(ns, query="tea")] == [
        (i.key, i.score) for i in first
    ]
    assert parsed_keys == []
    await store.aput(ns, "k1", {"text": "Ivy drinks black tea"})
    parsed_keys.clear()
    assert "k1" in {i.key for i in await store.asearch(ns, query="black tea")}
    assert set(parsed_keys) == {"k1"}


def test_index_config_says_what_is_embedded(orch: Orchestrator) -> None:
    assert OctomemStore(orch).index_config == {"dims": orch.embedder.dimension}
    fields = OctomemStore(orch, index={"fields": ["text"]}).index_config
    assert fields == {"fields": ["text"], "dims": orch.embedder.dimension}


async def test_an_item_stored_before_its_paths_were_kept_is_not_rewritten_by_a_retry(
    orch: Orchestrator,
) -> None:
    """Items written before `langgraph_fields` existed have none: the same put again is
    still a retry (no new version, no history event)."""
    from octomem.models import Operation
    from octomem.orchestrator.events import history_event

    store = OctomemStore(orch, index={"fields": ["title", "tags[*]"]})
    value = {"title": "Trip to Kyoto", "tags": ["travel", "food"]}
    await store.aput(("docs",), "d1", value)
    record = await store._record(("docs",), "d1")
    assert record is not None and record.internal["langgraph_fields"] == ["title", "tags[*]"]
    older = record.model_copy(
        update={"internal": {k: v for k, v in record.internal.items() if k != "langgraph_fields"}}
    )
    async with orch.records.hold([record.user_id]) as fence:  # as an older octomem wrote it
        event = history_event(older, Operation.UPDATE, old=record, actor="test")
        await orch.records.write(fence, [(older, event)], actor="test")
    before = await store._record(("docs",), "d1")
    assert before is not None and "langgraph_fields" not in before.internal
    await store.aput(("docs",), "d1", dict(value))
    after = await store._record(("docs",), "d1")
    assert after is not None and (after.version, after.updated_at) == (
        before.version,
        before.updated_at,
    )
