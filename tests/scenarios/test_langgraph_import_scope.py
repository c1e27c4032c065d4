"""An item belongs to the scope its namespace maps to: a record imported for mallory
under the namespace ("memories", "bob") is not one of bob's items - not in a wide search,
not in list_namespaces - and each one's forget leaves the other's items as they were."""

from __future__ import annotations

import io
import json
from typing import Any

from octomem import Orchestrator
from octomem.langgraph import OctomemStore


def _planted(make_orch: Any) -> Orchestrator:
    """Mallory's own item, its namespace edited to bob's in her export, imported."""
    source = make_orch()
    OctomemStore(source).put(("memories", "mallory"), "diet", {"content": "mallory eats fish"})
    out = io.StringIO()
    source.export_jsonl(out)
    mine, bobs = json.dumps(["memories", "mallory"]), json.dumps(["memories", "bob"])
    assert mine in out.getvalue()
    target = make_orch()
    summary = target.import_jsonl(io.StringIO(out.getvalue().replace(mine, bobs)))
    assert summary.memories == 1
    assert [r.user_id for r in target.get_all(user_id="mallory")] == ["mallory"]
    return target


def _seen(store: OctomemStore) -> tuple[list[Any], list[Any], list[Any]]:
    return (
        sorted((i.namespace, i.key, i.value["content"]) for i in store.search(())),
        sorted((i.namespace, i.key) for i in store.search(("memories",), query="eats")),
        store.list_namespaces(),
    )


def test_an_imported_item_under_another_users_namespace_is_not_theirs(make_orch: Any) -> None:
    target = _planted(make_orch)
    store = OctomemStore(target)
    store.put(("memories", "bob"), "food", {"content": "bob eats rice"})
    bobs = (
        [(("memories", "bob"), "food", "bob eats rice")],
        [(("memories", "bob"), "food")],
        [("memories", "bob")],
    )
    assert _seen(store) == bobs
    assert store.get(("memories", "bob"), "diet") is None
    target.forget(user_id="mallory")
    assert _seen(store) == bobs
    target.forget(user_id="bob")
    assert _seen(store) == ([], [], [])
    assert target.stats().totals.memories == 0


def test_bobs_forget_leaves_mallorys_record_and_hides_nothing_of_bob(make_orch: Any) -> None:
    target = _planted(make_orch)
    store = OctomemStore(target)
    store.put(("memories", "bob"), "food", {"content": "bob eats rice"})
    target.forget(user_id="bob")
    assert _seen(store) == ([], [], [])
    assert [r.user_id for r in target.get_all(user_id="mallory")] == ["mallory"]
    assert target.check().consistent
