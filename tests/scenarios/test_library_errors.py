"""Errors of octomem's integrations are octomem's own, in the shape their host library
documents: LangGraph's stores raise ValueError for a bad operator or operation, and
InvalidInputError is one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langgraph.store.base import InvalidNamespaceError, SearchOp
from langgraph.store.memory import InMemoryStore

from octomem import ConfigurationError, InvalidInputError, Memory, Orchestrator
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


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


HUGE, DEEP = 10**5000, _deep(100_000)
STORE_CASES: dict[str, tuple[Callable[[OctomemStore, tuple[str, ...]], object], str]] = {
    "a value's integer": (lambda s, ns: s.put(ns, "k", {"n": HUGE}), "out of range"),
    "a value's nesting": (lambda s, ns: s.put(ns, "k", {"n": DEEP}), "nested"),
    "a 5 MB value": (
        lambda s, ns: s.put(ns, "k", {"content": "x" * 5_000_000}),
        "limit is 100,000",
    ),
    "a value that is a string": (lambda s, ns: s.put(ns, "k", "str"), "must be a dict"),  # type: ignore[arg-type]
    "index=5": (lambda s, ns: s.put(ns, "k", {"a": 1}, index=5), "index"),  # type: ignore[arg-type]
    "a namespace that is a string": (lambda s, ns: s.put("memories", "k", {"a": 1}), "tuple"),  # type: ignore[arg-type]
    "a key that is an int": (lambda s, ns: s.put(ns, HUGE, {"a": 1}), "key must be a string"),  # type: ignore[arg-type]
    "a key with a control character": (lambda s, ns: s.put(ns, "k\x00", {"a": 1}), "control"),
    "delete(5, 'k')": (lambda s, ns: s.delete(5, "k"), "tuple"),  # type: ignore[arg-type]
    "get(5, 'k')": (lambda s, ns: s.get(5, "k"), "tuple"),  # type: ignore[arg-type]
    "search(5)": (lambda s, ns: s.search(5), "tuple"),  # type: ignore[arg-type]
    "a search filter's integer": (lambda s, ns: s.search(ns, filter={"n": HUGE}), "out of range"),
    "a search filter's key": (lambda s, ns: s.search(ns, filter={HUGE: 1}), "keys must be strings"),
    "a query that is no string": (lambda s, ns: s.search(ns, query=5), "query"),  # type: ignore[arg-type]
    "list_namespaces(prefix=5)": (lambda s, ns: s.list_namespaces(prefix=5), "tuple"),  # type: ignore[arg-type]
    "a batch that is no list": (lambda s, ns: s.batch(5), "list of operations"),  # type: ignore[arg-type]
    "a batch's offset": (
        lambda s, ns: s.batch([SearchOp(ns, None, 10, HUGE)]),
        "offset",
    ),
}


@pytest.mark.parametrize("case", STORE_CASES)
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_what_the_langgraph_store_cannot_take_is_invalid_input_and_writes_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str], case: str, mode: str
) -> None:
    """Not a TypeError, ValueError or RecursionError from LangGraph's or Python's code, and
    not a value larger than a message may be: InvalidInputError, nothing written."""
    call, says = STORE_CASES[case]
    store, ns = OctomemStore(shared_orch), ("memories", uid("alice"))
    target: Any = store if mode == "sync" else _Async(store)
    before = shared_orch.stats()
    with pytest.raises(InvalidInputError, match=says):
        call(target, ns)
    assert shared_orch.stats() == before


class _Async:
    """The store's async methods, called from sync code (`aput` for `put`, ...)."""

    def __init__(self, store: OctomemStore) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, f"a{name}")
        return lambda *args, **kwargs: asyncio.run(method(*args, **kwargs))


def test_a_bad_namespace_is_both_octomems_error_and_langgraphs(shared_orch: Orchestrator) -> None:
    with pytest.raises(InvalidNamespaceError) as caught:
        OctomemStore(shared_orch).put(("memories", "a.b"), "k", {"a": 1})
    assert isinstance(caught.value, InvalidInputError)


@pytest.mark.parametrize("memory_type", [5, 2.5, DEEP])
def test_the_mem0_facade_refuses_a_memory_type_of_the_wrong_type(
    shared_orch: Orchestrator, uid: Callable[[str], str], memory_type: Any
) -> None:
    before = shared_orch.stats()
    with pytest.raises(InvalidInputError, match="memory"):
        Memory(shared_orch).add("I like tea.", user_id=uid("alice"), memory_type=memory_type)
    assert shared_orch.stats() == before


@pytest.mark.parametrize("wrong", ["./om-data", {"data_dir": "./om-data"}, 3])
def test_an_orchestrator_made_from_a_path_or_keys_points_to_from_config(wrong: object) -> None:
    """`Orchestrator("./om-data")` or a dict of settings: InvalidInputError naming
    `from_config`, which takes them, not an AttributeError from inside."""
    with pytest.raises(InvalidInputError, match=r"^Orchestrator\(\) takes octomem Settings.*"):
        Orchestrator(wrong)  # type: ignore[arg-type]


@pytest.mark.parametrize("wrong", [5, ["config.yaml"], b"config.yaml"])
def test_from_config_given_no_path_nor_dict_says_what_it_takes(wrong: object) -> None:
    with pytest.raises(ConfigurationError, match=r"^the config must be a YAML file's path"):
        Orchestrator.from_config(wrong)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"^from_config takes mem0's config dict"):
        Memory.from_config(wrong)  # type: ignore[arg-type]


def test_the_mcp_server_refuses_what_is_no_orchestrator_when_built(tmp_path: Any) -> None:
    """`build_server(settings)`, a path or a factory: InvalidInputError at once, not an
    AttributeError from inside a tool."""
    from octomem.mcp_server import build_server
    from octomem.settings import load_settings

    settings = load_settings(data_dir=tmp_path / "om")
    for wrong in (settings, str(tmp_path / "om"), lambda: settings):
        with pytest.raises(InvalidInputError, match=r"^build_server takes an octomem Orch"):
            build_server(wrong)  # type: ignore[arg-type]


def test_a_blocking_method_called_wrong_names_itself(shared_orch: Orchestrator) -> None:
    """`orch.forget("alice")` (its ids are keywords): Python's TypeError, naming the method
    called, not the async twin that runs it; nothing is forgotten."""
    before = shared_orch.stats()
    with pytest.raises(TypeError, match=r"^Orchestrator\.forget\(\): too many positional"):
        shared_orch.forget("alice")  # type: ignore[misc]
    with pytest.raises(TypeError, match=r"^Orchestrator\.recall\(\): missing a required"):
        shared_orch.recall(user_id="alice")  # type: ignore[call-arg]
    assert shared_orch.stats() == before
