"""`OctomemStore` items put before octomem refused the bidi controls (U+202A-U+202E,
U+2066-U+2069) in namespace labels and keys, as it refuses them in ids: such an item can
still be read, searched, listed and deleted, and its user forgotten completely, while
nothing new is put under such a namespace or key (test_ids_stored_earlier, for the store).

A label maps onto a scope id (`NamespaceScope`: ("memories", "zoe\u202e") is the user
"zoe\u202e"), so the same rule applies to both; the earlier build is `earlier_build`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import InvalidNamespaceError, PutOp

from octomem import InvalidInputError, Orchestrator
from octomem.langgraph import (
    OctomemStore,
    create_manage_memory_tool,
    create_search_memory_tool,
)
from tests.contract.test_write_primitive import _state
from tests.scenarios.test_ids_stored_earlier import NOTHING, _in_files, earlier_build

ZOE_ID = "zoe\u202e"
ZOE = ("memories", ZOE_ID)  # the user ZOE_ID's namespace
KAYAK = "kayak\u2066"  # a key an earlier build took
BOB = ("memories", "bob")
VALUE = {"content": "Zoe keeps her kayak at Quibbleton pier."}


def _put_earlier(store: OctomemStore) -> None:
    with earlier_build():
        store.put(ZOE, KAYAK, VALUE)
        store.put(ZOE, "bike", {"content": "Zoe parks her bike at Wobbleford station."})
    store.put(BOB, "home", {"content": "Bob lives in Bobtown."})


def test_an_item_put_earlier_under_a_bidi_namespace_and_key_is_read_and_deleted_completely(
    make_orch: Any, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    store = OctomemStore(orch)
    _put_earlier(store)

    item = store.get(ZOE, KAYAK)
    assert item is not None
    assert (tuple(item.namespace), item.key, item.value) == (ZOE, KAYAK, VALUE)
    assert {i.key for i in store.search(ZOE)} == {KAYAK, "bike"}
    assert [i.key for i in store.search(ZOE, query="where is the kayak?", limit=1)] == [KAYAK]
    assert {i.key for i in store.search(("memories",))} == {KAYAK, "bike", "home"}
    assert store.list_namespaces() == [BOB, ZOE]
    assert store.list_namespaces(prefix=ZOE) == [ZOE]
    assert {m.user_id for m in orch.get_all(user_id=ZOE_ID)} == {ZOE_ID}

    store.delete(ZOE, KAYAK)
    store.batch([PutOp(ZOE, "bike", None)])  # a batch's delete

    assert store.get(ZOE, KAYAK) is None and store.get(ZOE, "bike") is None
    assert store.search(ZOE) == [] and store.list_namespaces() == [BOB]
    assert orch.get_all(user_id=ZOE_ID, include_superseded=True) == []
    assert orch.forget(user_id=ZOE_ID).history_events == 4  # two puts, two deletes
    assert _state(orch, ZOE_ID) == NOTHING
    assert store.get(BOB, "home") is not None
    orch.close()
    assert _in_files(data_dir, ZOE_ID) == [] and _in_files(data_dir, "Quibbleton") == []
    assert _in_files(data_dir, "Bobtown")


def test_nothing_new_is_put_under_a_bidi_namespace_or_key_put_earlier(
    orch: Orchestrator,
) -> None:
    store = OctomemStore(orch)
    _put_earlier(store)
    before = store.get(ZOE, KAYAK)
    assert before is not None
    changed = {"content": "Zoe sold her kayak."}
    item_id = store.item_id(ZOE, KAYAK)
    for put in (
        lambda: store.put(ZOE, KAYAK, changed),
        lambda: store.put(ZOE, "boat", changed),
        lambda: store.batch([PutOp(ZOE, "boat", changed)]),
    ):
        with pytest.raises(InvalidNamespaceError, match="control character"):
            put()
    for put in (
        lambda: store.put(BOB, KAYAK, changed),
        lambda: store.batch([PutOp(BOB, KAYAK, changed)]),
        lambda: orch.run_sync(store.aedit(item_id, lambda value: changed)),
    ):
        with pytest.raises(InvalidInputError, match="control character"):
            put()
    after = store.get(ZOE, KAYAK)
    assert after is not None and (after.value, after.updated_at) == (VALUE, before.updated_at)
    assert store.get(BOB, KAYAK) is None and store.get(ZOE, "boat") is None
    assert len(orch.get_all(user_id=ZOE_ID)) == 2
    # C0 and C1 controls never were in a namespace or key: refused for a read too
    with pytest.raises(InvalidNamespaceError, match="control character"):
        store.get(("memories", "zoe\x1b"), "bike")
    with pytest.raises(InvalidInputError, match="control character"):
        store.delete(ZOE, "bike\x85")


def test_the_tools_search_and_delete_what_was_stored_earlier_and_create_nothing_under_it(
    make_orch: Any, tmp_path: Path
) -> None:
    """The LangChain tools of a run whose user is such an id: `search_memory` finds its
    items and memories; `manage_memory` deletes them (a delete erases: `existing`), but
    its create and update, which store, are refused, as a put is, and change nothing."""
    data_dir = tmp_path / "data"
    orch = make_orch(data_dir=data_dir)
    store = OctomemStore(orch)
    _put_earlier(store)
    with earlier_build():
        orch.process("I keep my canoe at Quibbleton lock.", user_id=ZOE_ID, infer=False)
    config = {"configurable": {"user_id": ZOE_ID}}
    search, manage = create_search_memory_tool(orch, limit=3), create_manage_memory_tool(orch)

    hits = json.loads(search.invoke({"query": "where is the kayak?"}, config))
    assert hits[0]["id"] == store.item_id(ZOE, KAYAK)
    canoe = next(m for m in orch.get_all(user_id=ZOE_ID) if "canoe" in m.content)
    before = {m.id: m.content for m in orch.get_all(user_id=ZOE_ID)}
    for call in (
        {"action": "create", "content": "Zoe sold her kayak."},
        {"action": "update", "id": store.item_id(ZOE, KAYAK), "content": "Zoe sold her kayak."},
        {"action": "update", "id": canoe.id, "content": "Zoe sold her canoe."},
    ):
        assert "control character" in manage.invoke(call, config)
    assert {m.id: m.content for m in orch.get_all(user_id=ZOE_ID)} == before

    deleted = [store.item_id(ZOE, KAYAK), store.item_id(ZOE, "bike"), canoe.id]
    for memory_id in deleted:
        answer = manage.invoke({"action": "delete", "id": memory_id}, config)
        assert answer == f"deleted memory {memory_id}"
    assert store.search(ZOE) == [] and store.list_namespaces() == [BOB]
    assert orch.get_all(user_id=ZOE_ID) == []
    assert json.loads(search.invoke({"query": "kayak canoe bike"}, config)) == []
    orch.forget(user_id=ZOE_ID)
    assert _state(orch, ZOE_ID) == NOTHING
    assert store.get(BOB, "home") is not None
    orch.close()
    assert _in_files(data_dir, ZOE_ID) == [] and _in_files(data_dir, "Quibbleton") == []
