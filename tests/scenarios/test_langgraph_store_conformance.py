"""OctomemStore against LangGraph's own InMemoryStore: the same operations, the same results.

Every test runs on both stores, through the sync API (`batch`, `put`, ...) and the async
one (`abatch`, `aput`, ...), and asserts what each must return; the tests of scores run
both stores side by side with the same embedder and index, and assert the same keys,
order and scores. Where octomem differs on purpose (order of a search without query, a
query without an index, namespaces left empty, created_at of an updated item, filters
LangGraph cannot evaluate, vectors of an earlier put's paths) the test asserts each
store's documented behaviour.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)
from langgraph.store.memory import InMemoryStore

from octomem import InvalidInputError
from octomem.langgraph import OctomemStore

OCTOMEM, LANGGRAPH = "octomem", "langgraph"


class Api:
    """One store through its sync methods (run in a thread) or its async ones."""

    def __init__(self, store: BaseStore, kind: str, mode: str) -> None:
        self.store, self.kind, self.mode = store, kind, mode

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return await asyncio.to_thread(getattr(self.store, name), *args, **kwargs)
        return await getattr(self.store, f"a{name}")(*args, **kwargs)

    async def batch(self, ops: list[Any]) -> list[Any]:
        return await self.call("batch", ops)

    async def put(self, namespace: tuple[str, ...], key: str, value: Any, **kw: Any) -> None:
        await self.call("put", namespace, key, value, **kw)

    async def get(self, namespace: tuple[str, ...], key: str, **kw: Any) -> Item | None:
        return await self.call("get", namespace, key, **kw)

    async def delete(self, namespace: tuple[str, ...], key: str) -> None:
        await self.call("delete", namespace, key)

    async def search(self, prefix: tuple[str, ...], **kw: Any) -> list[Any]:
        return await self.call("search", prefix, **kw)

    async def keys(self, prefix: tuple[str, ...], **kw: Any) -> set[tuple[tuple[str, ...], str]]:
        """(namespace, key) of what a search returns, as a set (its order is the stores')."""
        found = await self.search(prefix, **kw)
        pairs = {(item.namespace, item.key) for item in found}
        assert len(pairs) == len(found)
        return pairs

    async def list_namespaces(self, **kw: Any) -> list[tuple[str, ...]]:
        return await self.call("list_namespaces", **kw)


@pytest.fixture(params=[OCTOMEM, LANGGRAPH])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, kind: str, make_orch: Any) -> Iterator[Api]:
    store: BaseStore = OctomemStore(make_orch()) if kind == OCTOMEM else InMemoryStore()
    yield Api(store, kind, str(request.param))


def view(item: Item | None) -> tuple[tuple[str, ...], str, Any] | None:
    return None if item is None else (item.namespace, item.key, item.value)


# --- get / put / delete ---------------------------------------------------------------


async def test_get_put_delete(api: Api) -> None:
    ns = ("users", "u1")
    value = {"color": "red", "n": 3, "x": 1.5, "ok": True, "none": None, "deep": {"l": [1, "a"]}}
    assert await api.get(ns, "k") is None
    await api.put(ns, "k", value)
    assert view(await api.get(ns, "k")) == (ns, "k", value)
    assert await api.get(ns, "other") is None
    assert await api.get(("users",), "k") is None  # only under its own namespace
    await api.put(ns, "k", {"color": "blue"})
    assert view(await api.get(ns, "k")) == (ns, "k", {"color": "blue"})
    await api.delete(ns, "k")
    assert await api.get(ns, "k") is None
    await api.delete(ns, "never-there")
    assert await api.search(("users",)) == []


async def test_invalid_namespaces_are_rejected(api: Api) -> None:
    for bad in [(), ("a.b",), ("a", ""), ("langgraph", "x")]:
        with pytest.raises(InvalidNamespaceError):
            await api.put(bad, "k", {"a": 1})


async def test_ttl_is_not_supported_and_refresh_ttl_is_accepted(api: Api) -> None:
    assert api.store.supports_ttl is False
    with pytest.raises(NotImplementedError):
        await api.put(("t",), "k", {"a": 1}, ttl=5)
    await api.put(("t",), "k", {"a": 1}, ttl=None)
    for refresh in (True, False, None):
        assert view(await api.get(("t",), "k", refresh_ttl=refresh)) == (("t",), "k", {"a": 1})
        assert len(await api.search(("t",), refresh_ttl=refresh)) == 1


# --- batch semantics --------------------------------------------------------------------


async def test_reads_in_a_batch_see_the_store_as_it_was_before_it(api: Api) -> None:
    ns = ("b",)
    await api.put(ns, "old", {"v": 0})
    results = await api.batch(
        [
            GetOp(ns, "new"),
            PutOp(ns, "new", {"v": 1}),
            GetOp(ns, "new"),
            PutOp(ns, "old", {"v": 2}),
            GetOp(ns, "old"),
            SearchOp(ns, limit=10),
            ListNamespacesOp(match_conditions=(MatchCondition("prefix", ns),)),
        ]
    )
    assert len(results) == 7
    assert results[0] is None and results[1] is None and results[2] is None
    assert results[3] is None and view(results[4]) == (ns, "old", {"v": 0})
    assert [view(i) for i in results[5]] == [(ns, "old", {"v": 0})]
    assert results[6] == [ns]
    assert view(await api.get(ns, "new")) == (ns, "new", {"v": 1})
    assert view(await api.get(ns, "old")) == (ns, "old", {"v": 2})


async def test_the_last_put_of_a_key_in_a_batch_wins(api: Api) -> None:
    ns = ("b",)
    await api.put(ns, "gone", {"v": 0})
    results = await api.batch(
        [
            PutOp(ns, "k", {"v": 1}),
            PutOp(ns, "k", {"v": 2}),
            PutOp(ns, "gone", None),  # a delete
            GetOp(ns, "gone"),
            PutOp(ns, "back", None),
            PutOp(ns, "back", {"v": 3}),
            PutOp(ns, "twice", {"v": 4}),
            PutOp(ns, "twice", None),
        ]
    )
    assert [view(r) for r in results] == [None, None, None, (ns, "gone", {"v": 0})] + [None] * 4
    assert view(await api.get(ns, "k")) == (ns, "k", {"v": 2})
    assert await api.get(ns, "gone") is None
    assert view(await api.get(ns, "back")) == (ns, "back", {"v": 3})
    assert await api.get(ns, "twice") is None
    assert await api.keys(ns) == {(ns, "k"), (ns, "back")}


async def test_a_batch_returns_one_result_per_op_in_order(api: Api) -> None:
    await api.batch([PutOp(("x", str(i)), "k", {"i": i}) for i in range(3)])
    ops = [GetOp(("x", str(i)), "k") for i in (2, 0, 1)] + [
        ListNamespacesOp(match_conditions=None, max_depth=1),
        SearchOp(("x", "1")),
    ]
    results = await api.batch(ops)
    assert [r.value for r in results[:3]] == [{"i": 2}, {"i": 0}, {"i": 1}]
    assert results[3] == [("x",)]
    assert [view(i) for i in results[4]] == [(("x", "1"), "k", {"i": 1})]


# --- namespaces ---------------------------------------------------------------------------

NAMESPACES = [
    ("a", "b", "c"),
    ("a", "b", "d", "e"),
    ("a", "b", "d", "i"),
    ("a", "b", "f"),
    ("a", "c", "f"),
    ("b", "a", "f"),
    ("users", "123"),
    ("users", "456", "settings"),
    ("admin", "users", "789"),
]


async def test_list_namespaces(api: Api) -> None:
    await api.batch([PutOp(ns, f"id_{i}", {"i": i}) for i, ns in enumerate(NAMESPACES)])
    ls = api.list_namespaces
    assert await ls() == sorted(NAMESPACES)
    assert await ls(prefix=("a", "b")) == sorted(NAMESPACES[:4])
    assert await ls(prefix=("a",)) == sorted(NAMESPACES[:5])
    assert await ls(prefix=("a", "b", "d", "e", "x")) == []
    assert await ls(suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f"), ("b", "a", "f")]
    assert await ls(prefix=("a",), suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f")]
    assert await ls(prefix=("a", "*", "f")) == [("a", "b", "f"), ("a", "c", "f")]
    assert await ls(suffix=("*", "f")) == [("a", "b", "f"), ("a", "c", "f"), ("b", "a", "f")]
    assert await ls(prefix=("*", "users")) == [("admin", "users", "789")]
    assert await ls(prefix=("*", "users"), suffix=("*", "settings")) == []
    assert await ls(prefix=("nonexistent",)) == []
    assert await ls(prefix=("users", "123")) == [("users", "123")]
    assert await ls(prefix=("a", "b"), max_depth=3) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "b", "f"),
    ]
    assert await ls(max_depth=1) == [("a",), ("admin",), ("b",), ("users",)]
    assert await ls(max_depth=2) == [
        ("a", "b"),
        ("a", "c"),
        ("admin", "users"),
        ("b", "a"),
        ("users", "123"),
        ("users", "456"),
    ]
    assert await ls(suffix=("f",), max_depth=2) == [("a", "b"), ("a", "c"), ("b", "a")]
    assert await ls(prefix=("a", "b"), limit=2) == [("a", "b", "c"), ("a", "b", "d", "e")]
    assert await ls(prefix=("a", "b"), offset=2) == [("a", "b", "d", "i"), ("a", "b", "f")]
    assert await ls(prefix=("a", "b"), limit=1, offset=3) == [("a", "b", "f")]
    assert await ls(offset=100) == []
    pages = [await ls(limit=4, offset=start) for start in range(0, 12, 4)]
    assert [len(p) for p in pages] == [4, 4, 1]
    assert [ns for page in pages for ns in page] == sorted(NAMESPACES)


async def test_a_namespace_whose_items_are_all_deleted(api: Api) -> None:
    """Documented difference: InMemoryStore keeps listing a namespace once it is emptied;
    octomem lists the namespaces that hold items (as LangGraph's PostgresStore does)."""
    await api.put(("keep",), "k", {"a": 1})
    await api.put(("empty",), "k", {"a": 1})
    await api.delete(("empty",), "k")
    assert await api.search(("empty",)) == []
    expected = [("keep",)] if api.kind == OCTOMEM else [("empty",), ("keep",)]
    assert await api.list_namespaces() == expected


# --- search: prefixes, limit, offset, order ----------------------------------------------


async def test_search_takes_whole_labels_as_prefix(api: Api) -> None:
    for ns in [("a",), ("a", "b"), ("a", "b", "c"), ("ab",), ("b", "a")]:
        await api.put(ns, "k", {"ns": list(ns)})
    assert await api.keys(("a",)) == {(("a",), "k"), (("a", "b"), "k"), (("a", "b", "c"), "k")}
    assert await api.keys(("a", "b")) == {(("a", "b"), "k"), (("a", "b", "c"), "k")}
    assert await api.keys(("a", "b", "c")) == {(("a", "b", "c"), "k")}
    assert await api.keys(("a", "b", "c", "d")) == set()
    assert await api.keys(("ab",)) == {(("ab",), "k")}
    assert await api.keys(("b",)) == {(("b", "a"), "k")}
    assert len(await api.keys((), limit=100)) == 5
    [found] = await api.search(("ab",))
    assert (found.value, found.score) == ({"ns": ["ab"]}, None)


async def test_search_pages(api: Api) -> None:
    ns = ("p",)
    await api.batch([PutOp(ns, f"k{i}", {"i": i, "even": i % 2 == 0}) for i in range(7)])
    await api.put(("q",), "k0", {"i": 0, "even": True})
    assert len(await api.search(ns)) == 7  # the default limit is 10
    assert len(await api.search(ns, limit=3)) == 3
    for filter in (None, {"even": True}):
        pages = [await api.keys(ns, limit=2, offset=start, filter=filter) for start in (0, 2, 4, 6)]
        everything = await api.keys(ns, limit=100, filter=filter)
        assert set().union(*pages) == everything
        assert sum(len(p) for p in pages) == len(everything) == (7 if filter is None else 4)
    assert await api.search(ns, offset=7) == []


async def test_search_order_without_query(api: Api) -> None:
    """Documented difference: without a query InMemoryStore returns items in insertion
    order; octomem returns the most recently updated first (as PostgresStore does)."""
    ns = ("o",)
    for key in ("first", "second", "third"):
        await api.put(ns, key, {"k": key})
    await api.put(ns, "first", {"k": "first, updated"})
    order = [item.key for item in await api.search(ns)]
    if api.kind == OCTOMEM:
        assert order == ["first", "third", "second"]
    else:
        assert order == ["first", "second", "third"]


async def test_search_with_a_query(api: Api) -> None:
    """Documented difference: with a query, octomem ranks the items by its hybrid recall
    and gives each indexed item a score; InMemoryStore without an embedding index ignores
    the query (no scores). Both return the same items: those under the prefix that match
    the filter, and nothing of a sibling namespace."""
    docs = {
        "apple": "a red apple on the table",
        "car": "a fast red car",
        "tea": "green tea in the morning",
    }
    for key, text in docs.items():
        await api.put(
            ("kb", "fruit"), key, {"text": text, "color": "red" if "red" in text else "green"}
        )
    for i in range(12):  # a sibling namespace full of better matches
        await api.put(("kb", "other"), f"apple{i}", {"text": f"apple apple red apple {i}"})
    found = await api.search(("kb", "fruit"), query="red apple")
    assert {i.key for i in found} == set(docs)
    assert all(i.namespace == ("kb", "fruit") for i in found)
    filtered = await api.search(("kb", "fruit"), query="red apple", filter={"color": "red"})
    assert {i.key for i in filtered} == {"apple", "car"}
    if api.kind == OCTOMEM:
        assert found[0].key == "apple" and filtered[0].key == "apple"
        assert all(i.score is not None for i in [*found, *filtered])
        assert found[0].score >= found[-1].score  # type: ignore[operator]
    else:
        assert all(i.score is None for i in [*found, *filtered])
    page = await api.search(("kb", "fruit"), query="red apple", limit=1, offset=1)
    assert len(page) == 1 and page[0].key in docs


async def test_created_at_of_an_updated_item(api: Api) -> None:
    """Documented difference: octomem keeps an item's created_at when it is updated;
    InMemoryStore sets it anew on every put. Both move updated_at forward."""
    await api.put(("t",), "k", {"v": 1})
    first = await api.get(("t",), "k")
    await asyncio.sleep(0.01)
    await api.put(("t",), "k", {"v": 2})
    second = await api.get(("t",), "k")
    assert first is not None and second is not None
    assert second.updated_at > first.updated_at
    assert (second.created_at == first.created_at) is (api.kind == OCTOMEM)


# --- filters ------------------------------------------------------------------------------

FILTER_DOCS = {
    "d1": {"color": "red", "n": 1, "x": 4.5, "tags": ["a", "b"], "meta": {"lang": "en", "v": 2}},
    "d2": {"color": "red", "n": 2, "x": 3.0, "tags": ["a"], "meta": {"lang": "de", "v": 3}},
    "d3": {"color": "green", "n": 3, "x": 4.0, "tags": [], "meta": {"lang": "en"}},
    "d4": {"color": "blue", "n": 4, "x": 3.5, "tags": ["b", "a"], "meta": None, "a.b": 1},
    "d5": {"color": None, "n": 5, "x": 0, "items": [{"k": 1, "z": 2}, {"k": 2}]},
}

FILTER_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({}, {"d1", "d2", "d3", "d4", "d5"}),
    ({"color": "red"}, {"d1", "d2"}),
    ({"color": {"$eq": "red"}}, {"d1", "d2"}),
    ({"color": {"$ne": "red"}}, {"d3", "d4", "d5"}),
    ({"color": None}, {"d5"}),
    ({"missing": None}, {"d1", "d2", "d3", "d4", "d5"}),
    ({"missing": {"$ne": 1}}, {"d1", "d2", "d3", "d4", "d5"}),
    ({"n": {"$gt": 3}}, {"d4", "d5"}),
    ({"n": {"$gte": 3}}, {"d3", "d4", "d5"}),
    ({"n": {"$lt": 2}}, {"d1"}),
    ({"n": {"$lte": 2}}, {"d1", "d2"}),
    ({"x": {"$gt": 3.2, "$lt": 4.2}}, {"d3", "d4"}),
    ({"n": 2.0}, {"d2"}),
    ({"n": {"$gte": 2}, "color": "red"}, {"d2"}),
    ({"meta": {"lang": "en"}}, {"d1", "d3"}),
    ({"color": "red", "meta": {"v": {"$gte": 3}}}, {"d2"}),
    ({"meta": {"lang": {"$ne": "en"}}}, {"d2"}),  # not d4 (meta is None) nor d5 (no meta)
    ({"meta": {"v": None}}, {"d3"}),
    ({"meta": {}}, {"d1", "d2", "d3"}),
    ({"meta": {"$eq": {"lang": "en"}}}, {"d3"}),
    ({"a.b": 1}, {"d4"}),
    ({"tags": ["a", "b"]}, {"d1"}),
    ({"tags": ["a"]}, {"d2"}),
    ({"tags": []}, {"d3"}),
    ({"tags": {"$ne": ["a"]}}, {"d1", "d3", "d4", "d5"}),
    ({"items": [{"k": 1}, {"k": {"$gt": 1}}]}, {"d5"}),
    ({"items": [{"k": 1}]}, set()),
    ({"items": [{"z": 2}, {}]}, {"d5"}),
    # bounds no JSON holds compare as numbers (InMemoryStore converts both sides to float)
    ({"n": {"$gt": float("-inf")}}, {"d1", "d2", "d3", "d4", "d5"}),
    ({"x": {"$lt": float("inf"), "$gte": 4}}, {"d1", "d3"}),
    ({"n": {"$gte": float("nan")}}, set()),
    ({"n": {"$lt": float("nan")}}, set()),
    ({"n": {"$ne": float("nan")}}, {"d1", "d2", "d3", "d4", "d5"}),
    ({"n": {"$eq": float("inf")}}, set()),
    ({"n": {"$lte": 1e308}}, {"d1", "d2", "d3", "d4", "d5"}),
    ({"n": {"$lt": 2**60}}, {"d1", "d2", "d3", "d4", "d5"}),  # past JSON's 2**53, within float
]


async def test_filters(api: Api) -> None:
    ns = ("f",)
    await api.batch([PutOp(ns, key, value) for key, value in FILTER_DOCS.items()])
    await api.put(("g",), "d1", FILTER_DOCS["d1"])
    for filter, keys in FILTER_CASES:
        expected = {(ns, key) for key in keys}
        assert await api.keys(ns, filter=filter) == expected, filter
        assert await api.keys(ns, filter=filter, query="red") == expected, filter
        assert await api.keys((), filter=filter) >= expected, filter


async def test_an_integer_past_64_bits_is_a_bound_like_any(api: Api) -> None:
    """InMemoryStore converts a bound to float, so 10**30 compares and 10**400 overflows;
    octomem compares integers as they are."""
    ns = ("f",)
    await api.put(ns, "num", {"n": 2})
    assert await api.keys(ns, filter={"n": {"$lt": 10**30}}) == {(ns, "num")}
    assert await api.keys(ns, filter={"n": {"$ne": 10**400}}) == {(ns, "num")}
    if api.kind == OCTOMEM:
        assert await api.keys(ns, filter={"n": {"$lt": 10**400}}) == {(ns, "num")}
    else:
        with pytest.raises(OverflowError):
            await api.search(ns, filter={"n": {"$lt": 10**400}})


async def test_filters_langgraph_cannot_evaluate(api: Api) -> None:
    """Documented difference: a range operator on a missing or non-numeric value is an
    error in InMemoryStore (it converts both sides to float); in octomem it does not match
    (numbers compare with numbers, strings with strings). Booleans never equal numbers in
    octomem (JSON's rule); in InMemoryStore True == 1."""
    ns = ("f",)
    await api.put(ns, "num", {"n": 2, "flag": True})
    await api.put(ns, "text", {"n": "two", "flag": 1})
    await api.put(ns, "none", {"flag": False})
    if api.kind == OCTOMEM:
        assert await api.keys(ns, filter={"n": {"$gt": 1}}) == {(ns, "num")}
        assert await api.keys(ns, filter={"n": {"$gte": "t"}}) == {(ns, "text")}
        assert await api.keys(ns, filter={"flag": 1}) == {(ns, "text")}
        assert await api.keys(ns, filter={"flag": True}) == {(ns, "num")}
    else:
        with pytest.raises((TypeError, ValueError)):
            await api.search(ns, filter={"n": {"$gt": 1}})
        assert await api.keys(ns, filter={"flag": 1}) == {(ns, "num"), (ns, "text")}


async def test_unknown_filter_operators_are_rejected(api: Api) -> None:
    await api.put(("f",), "k", {"n": 1})
    error = InvalidInputError if api.kind == OCTOMEM else ValueError
    for bad in ({"n": {"$in": [1]}}, {"n": {"$gt": 0, "plain": 1}}):
        with pytest.raises(error):
            await api.search(("f",), filter=bad)


# --- index=: LangGraph's IndexConfig ----------------------------------------------------


@pytest.fixture(params=["sync", "async"])
def indexed(request: pytest.FixtureRequest, kind: str, make_orch: Any, embedder: Any) -> Api:
    """Each store with `index={"embed", "dims", "fields": ["title"]}`, embedding with the
    model octomem embeds with (so both stores rank by the same vectors)."""

    def embed(texts: Any) -> list[list[float]]:  # sync: LangGraph runs it in a thread
        return asyncio.run(embedder.embed(list(texts)))

    index: Any = {"embed": embed, "dims": embedder.dimension, "fields": ["title"]}
    if kind == OCTOMEM:
        store: BaseStore = OctomemStore(make_orch(), index=index)
    else:
        store = InMemoryStore(index=index)
    return Api(store, kind, str(request.param))


async def test_index_fields_choose_the_text_a_query_ranks(indexed: Api) -> None:
    """With fields=["title"], a query ranks items by their titles alone; an item without a
    title, and one put with index=False, are kept (get, filters) but never scored."""
    trip = {"title": "Our trip to Kyoto", "body": "we cooked sushi every night"}
    sushi = {"title": "Sushi recipes", "body": "bought at the Nishiki market"}
    await indexed.put(("docs",), "trip", trip)
    await indexed.put(("docs",), "sushi", sushi)
    await indexed.put(("docs",), "untitled", {"body": "Kyoto sushi"})
    await indexed.put(("docs",), "hidden", {"title": "Kyoto sushi"}, index=False)

    for query, best in [("a visit to Kyoto", "trip"), ("how to make sushi", "sushi")]:
        found = await indexed.search(("docs",), query=query)
        assert [i.key for i in found][:2] == [best, ({"trip", "sushi"} - {best}).pop()]
        assert found[0].score is not None and found[1].score is not None
        assert {i.key: i.score for i in found[2:]} == {"untitled": None, "hidden": None}
    hidden = await indexed.get(("docs",), "hidden")
    assert hidden is not None and hidden.value == {"title": "Kyoto sushi"}

    # a put's own index= replaces the fields: the body is what the query ranks now
    await indexed.put(("docs",), "sushi", sushi, index=["body"])
    found = await indexed.search(("docs",), query="Nishiki market", limit=1)
    assert [i.key for i in found] == ["sushi"]


# --- scores: both stores side by side, with the same embedder and index ----------------


@pytest.fixture(params=["sync", "async"])
def pair(request: pytest.FixtureRequest, make_orch: Any, embedder: Any) -> dict[str, Api]:
    """Both stores with `index={"embed", "dims", "fields": ["title", "tags[*]"]}` over the
    model octomem embeds with, through one API, octomem ordering by score as LangGraph does
    (`ranking="vector"`): a search must score and order alike."""

    def embed(texts: Any) -> list[list[float]]:
        return asyncio.run(embedder.embed(list(texts)))

    index: Any = {"embed": embed, "dims": embedder.dimension, "fields": ["title", "tags[*]"]}
    mode = str(request.param)
    return {
        OCTOMEM: Api(OctomemStore(make_orch(), index=index, ranking="vector"), OCTOMEM, mode),
        LANGGRAPH: Api(InMemoryStore(index=index), LANGGRAPH, mode),
    }


DOCS = {
    "kyoto": {"title": "Our trip to Kyoto", "tags": ["travel", "temples"], "n": 1},
    "sushi": {"title": "Sushi recipes", "tags": ["cooking", "fish", "rice"], "n": 2},
    "bikes": {"title": "Fixing a bicycle chain", "tags": ["repair"], "n": 3},
    "tagged": {"title": "Untitled note", "tags": ["japanese food", "ramen"], "n": 4},
    "plain": {"body": "no title and no tags here", "n": 5},
}


async def scored(api: Api, prefix: tuple[str, ...], **kw: Any) -> list[tuple[str, Any]]:
    return [(i.key, i.score) for i in await api.search(prefix, **kw)]


def same_scores(mine: list[tuple[str, Any]], theirs: list[tuple[str, Any]]) -> None:
    """The same scored keys in the same order, each with the same score, then the same
    unscored ones (in each store's order without a query: `test_search_order_without_query`)."""
    assert [k for k, s in mine if s is not None] == [k for k, s in theirs if s is not None]
    assert {k for k, s in mine if s is None} == {k for k, s in theirs if s is None}
    assert [s for _, s in mine] == [
        None if s is None else pytest.approx(s, abs=1e-5) for _, s in theirs
    ]


async def test_a_query_scores_each_item_by_its_best_field(pair: dict[str, Api]) -> None:
    """Each of an item's texts (its title, each tag) is embedded on its own and the item
    scores as the best of them: a query about one tag finds the item by that tag alone.
    Scores are cosine similarities, the same on both stores, best first; items with no
    text at the fields come after the scored, without a score."""
    for api in pair.values():
        for key, value in DOCS.items():
            await api.put(("docs",), key, value)
    for query in ["japanese noodle soup", "temples", "how to cook fish", "bike repair"]:
        found = {kind: await scored(api, ("docs",), query=query) for kind, api in pair.items()}
        same_scores(found[OCTOMEM], found[LANGGRAPH])
        assert found[OCTOMEM][-1] == ("plain", None)
        assert all(-1 <= s <= 1 for _, s in found[OCTOMEM][:-1])
    found = await scored(pair[OCTOMEM], ("docs",), query="japanese noodle soup")
    assert found[0][0] == "tagged"  # by its tag "ramen", not its title


async def test_scores_with_pages_filters_and_a_puts_own_index(pair: dict[str, Api]) -> None:
    """Paging, a filter and a put's own `index=` (and `index=False`) score alike too."""
    for api in pair.values():
        for key, value in DOCS.items():
            await api.put(("docs",), key, value)
        await api.put(("docs",), "fish", DOCS["sushi"], index=["tags[1]"])  # "fish" alone
        await api.put(("docs",), "hidden", {"title": "Kyoto temples", "n": 6}, index=False)
    for kw in [
        {"query": "temples in Kyoto", "limit": 2},
        {"query": "temples in Kyoto", "limit": 2, "offset": 2},
        {"query": "rice", "filter": {"n": {"$gte": 2}}},
        {"query": "rice dishes", "limit": 10},
    ]:
        mine, theirs = [await scored(api, ("docs",), **kw) for api in pair.values()]
        same_scores(mine, theirs)
    found = dict(await scored(pair[OCTOMEM], ("docs",), query="rice dishes", limit=10))
    assert found["hidden"] is None and found["fish"] < found["sushi"]


async def test_a_put_again_with_other_fields_is_scored_by_them(pair: dict[str, Api]) -> None:
    """A put replaces what an item is scored by: put again with `index=False` it is no
    longer scored, with other paths it is scored by those. InMemoryStore keeps the vectors
    of the paths of earlier puts (it drops an item's vectors only when it is deleted), so
    it scores the item by the best of old and new texts."""
    for api in pair.values():
        await api.put(("docs",), "sushi", DOCS["sushi"])
        await api.put(("docs",), "bikes", DOCS["bikes"])
        await api.put(("docs",), "sushi", DOCS["sushi"], index=["tags[1]"])  # "fish" alone
        await api.put(("docs",), "bikes", DOCS["bikes"], index=False)
    mine, theirs = [dict(await scored(api, ("docs",), query="Sushi")) for api in pair.values()]
    alone = dict(await scored(pair[OCTOMEM], ("docs",), query="fish"))["sushi"]
    assert mine["bikes"] is None and theirs["bikes"] is not None
    assert mine["sushi"] == pytest.approx(await cosine(pair[OCTOMEM], "Sushi", "fish"))
    assert theirs["sushi"] > mine["sushi"] and alone > mine["sushi"]  # its old title's


async def cosine(api: Api, query: str, text: str) -> float:
    import numpy as np

    embedder = api.store.orchestrator.embedder  # type: ignore[attr-defined]
    q, t = (np.asarray(v) for v in await embedder.embed([query, text]))
    return float(q @ t / (np.linalg.norm(q) * np.linalg.norm(t)))
