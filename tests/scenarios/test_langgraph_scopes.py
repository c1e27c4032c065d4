"""Two `OctomemStore`s over one Orchestrator whose `NamespaceScope`s map one namespace to
different scopes (or a template changed while items exist): an item's id comes from its
namespace and key, so each would write the other's item without its user's lock. A put,
delete or batch reaching an item of another scope is `InvalidNamespace`, nothing stored;
reads through the other template never show it."""

from __future__ import annotations

import asyncio

import pytest
from langgraph.store.base import InvalidNamespaceError, PutOp

from octomem import InvalidInputError, Orchestrator
from octomem.langgraph import NamespaceScope, OctomemStore
from octomem.langgraph.checks import InvalidNamespace

NS = ("t", "acme", "bob")
BY_AGENT = NamespaceScope(("t", "{agent_id}", "{user_id}"))


def _stores(orch: Orchestrator) -> tuple[OctomemStore, OctomemStore]:
    """Store 1 (the default template: NS is nobody's, agent "langgraph") and store 2
    (NS is bob's, of agent acme)."""
    return OctomemStore(orch), OctomemStore(orch, namespace_scope=BY_AGENT)


def _history(orch: Orchestrator, store: OctomemStore) -> list[tuple[str, str | None]]:
    return [(e.operation.value, e.new_value) for e in orch.history(store.item_id(NS, "k"))]


def test_a_put_through_another_template_is_refused_and_changes_nothing(
    orch: Orchestrator,
) -> None:
    first, second = _stores(orch)
    first.put(NS, "k", {"content": "the first store's value"})
    with pytest.raises(InvalidNamespace) as refused:
        second.put(NS, "k", {"content": "the second store's value"})
    assert isinstance(refused.value, InvalidNamespaceError | InvalidInputError)
    message = str(refused.value)
    # the namespace and both templates, nothing of either value
    assert repr(NS) in message and "('memories', '{user_id}')" in message
    assert repr(BY_AGENT.template) in message
    assert "store's value" not in message

    item = first.get(NS, "k")
    assert item is not None and item.value == {"content": "the first store's value"}
    assert _history(orch, first) == [("ADD", "the first store's value")]
    # bob (store 2's user of NS) has nothing: his forget leaves store 1's item and history
    assert orch.forget(user_id="bob").total_memories == 0
    assert first.get(NS, "k") is not None
    assert _history(orch, first) == [("ADD", "the first store's value")]
    assert orch.check().consistent


def test_the_other_way_round_too_and_async(orch: Orchestrator) -> None:
    first, second = _stores(orch)

    async def run() -> None:
        await second.aput(NS, "k", {"content": "bob's value"})
        with pytest.raises(InvalidNamespace, match="template"):
            await first.aput(NS, "k", {"content": "nobody's value"})

    orch.run_sync(run())
    item = second.get(NS, "k")
    assert item is not None and item.value == {"content": "bob's value"}
    assert _history(orch, second) == [("ADD", "bob's value")]
    assert orch.forget(user_id="bob").total_memories == 1  # bob's, as store 2 put it
    assert second.get(NS, "k") is None


def test_a_delete_through_another_template_is_refused(orch: Orchestrator) -> None:
    first, second = _stores(orch)
    first.put(NS, "k", {"content": "kept"})
    with pytest.raises(InvalidNamespace):
        second.delete(NS, "k")
    with pytest.raises(InvalidNamespace):
        second.batch([PutOp(NS, "k", None)])
    item = first.get(NS, "k")
    assert item is not None and item.value == {"content": "kept"}
    assert [op for op, _ in _history(orch, first)] == ["ADD"]


def test_a_batch_reaching_another_scopes_item_stores_nothing(orch: Orchestrator) -> None:
    first, second = _stores(orch)
    first.put(NS, "k", {"content": "first"})
    other = ("t", "acme", "carol")
    with pytest.raises(InvalidNamespace):
        second.batch(
            [
                PutOp(other, "k", {"content": "carol's"}),
                PutOp(NS, "k", {"content": "second"}),
            ]
        )
    assert second.get(other, "k") is None
    assert orch.get_all(user_id="carol") == []
    item = first.get(NS, "k")
    assert item is not None and item.value == {"content": "first"}


def test_reads_through_another_template_never_show_the_item(orch: Orchestrator) -> None:
    first, second = _stores(orch)
    first.put(NS, "k", {"content": "owls hunt at night"})
    assert second.get(NS, "k") is None
    assert second.search(NS) == []
    assert second.search(("t",), query="owls") == []
    assert second.search(()) == []
    assert second.list_namespaces() == []
    assert [i.key for i in first.search(("t",), query="owls")] == ["k"]


def test_stores_of_one_template_share_items_as_before(orch: Orchestrator) -> None:
    """Same-scope puts, retries and deletes are unchanged: two stores of one template are
    one store."""
    one, two = (
        OctomemStore(orch, namespace_scope=BY_AGENT),
        OctomemStore(orch, namespace_scope=BY_AGENT),
    )
    one.put(NS, "k", {"content": "v1"})
    two.put(NS, "k", {"content": "v1"})  # a retry: nothing new
    two.put(NS, "k", {"content": "v2"})
    assert _history(orch, one) == [("ADD", "v1"), ("UPDATE", "v2")]
    one.delete(NS, "k")
    assert two.get(NS, "k") is None
    assert [op for op, _ in _history(orch, one)] == ["ADD", "UPDATE", "DELETE"]
    two.put(NS, "k", {"content": "v3"})  # put again after its delete
    item = one.get(NS, "k")
    assert item is not None and item.value == {"content": "v3"}


def test_concurrent_puts_of_one_scope_still_converge(orch: Orchestrator) -> None:
    store = OctomemStore(orch, namespace_scope=BY_AGENT)

    async def run() -> None:
        await asyncio.gather(*(store.aput(NS, "k", {"content": f"v{n}"}) for n in range(4)))

    orch.run_sync(run())
    assert len(orch.get_all(user_id="bob")) == 1


def test_one_template_with_other_defaults_is_another_scope(orch: Orchestrator) -> None:
    """A namespace the template does not match belongs to the defaults: a store whose
    defaults differ maps it elsewhere, and its put says so."""
    first = OctomemStore(orch)
    other = OctomemStore(orch, namespace_scope=NamespaceScope(default_agent_id="planner"))
    first.put(("notes",), "k", {"content": "first"})
    with pytest.raises(InvalidNamespace, match="other default_user_id/default_agent_id"):
        other.put(("notes",), "k", {"content": "other"})
    item = first.get(("notes",), "k")
    assert item is not None and item.value == {"content": "first"}
    assert other.get(("notes",), "k") is None
