"""The sync API mirrors the async one, and only the orchestrator package reaches into the
private state of an Orchestrator, its Services or its Records (white-box tests go through
`octomem.orchestrator.internals.services_of`)."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from pathlib import Path

import pytest

import octomem
from octomem import Orchestrator
from octomem.embeddings import Embedder
from octomem.errors import InvalidInputError
from octomem.models import (
    MemoryType,
    Operation,
    SemanticMemory,
    SourceRef,
    make_memory_id,
    utcnow,
)
from octomem.orchestrator import engine, records, services
from octomem.orchestrator.events import history_event
from octomem.settings import load_settings

ROOT = Path(octomem.__file__).parent
TESTS = Path(__file__).parents[1]
ORCHESTRATOR_PACKAGE = ROOT / "orchestrator"


def async_methods() -> dict[str, object]:
    return {
        name: member
        for name, member in vars(Orchestrator).items()
        if name.startswith("a") and inspect.iscoroutinefunction(member)
    }


def test_every_async_method_has_a_sync_twin_with_its_signature() -> None:
    methods = async_methods()
    assert {"aprocess", "arecall", "aget_all", "aforget", "aclose"} <= set(methods)
    for name, amethod in methods.items():
        twin = getattr(Orchestrator, name.removeprefix("a"), None)
        assert twin is not None, f"{name} has no sync form"
        assert not inspect.iscoroutinefunction(twin), name
        assert inspect.signature(twin) == inspect.signature(amethod), name  # type: ignore[arg-type]


def test_sync_methods_are_named_and_documented_as_themselves() -> None:
    assert Orchestrator.get_all.__name__ == "get_all"
    assert Orchestrator.recall.__doc__ is not None
    assert Orchestrator.recall.__doc__.startswith("Blocking form of `arecall`.")
    assert Orchestrator.arecall.__doc__ is not None
    assert inspect.getdoc(Orchestrator.arecall) in Orchestrator.recall.__doc__


def test_run_sync_returns_the_result_on_the_orchestrators_own_loop(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, nobody = shared_orch, uid("nobody")

    async def where() -> object:
        import asyncio

        return asyncio.get_running_loop()

    first, second = orch.run_sync(where()), orch.run_sync(where())
    assert first is second  # one loop for the object's life: loop-bound clients keep working
    assert orch.run_sync(orch.aget_all(user_id=nobody)) == []


def test_a_sync_call_from_inside_its_own_loop_is_an_octomem_error(orch: Orchestrator) -> None:
    async def nested() -> object:
        return orch.stats()

    with pytest.raises(InvalidInputError, match="inside its own event loop"):
        orch.run_sync(nested())
    assert orch.stats().users == 0  # the Orchestrator still works


def test_running_call_is_refused_once_closed(orch: Orchestrator) -> None:
    async def tracked() -> str:
        async with orch.running_call():
            return "ran"

    assert orch.run_sync(tracked()) == "ran"
    orch.run_sync(orch.aclose())
    with pytest.raises(InvalidInputError, match="closed"):
        orch.run_sync(tracked())


def test_open_and_ping_reach_the_stores_and_are_refused_once_closed(
    orch: Orchestrator,
) -> None:
    orch.open()
    orch.open()  # once: a second open does nothing
    orch.ping()
    assert orch.stats().users == 0
    orch.run_sync(orch.aclose())
    with pytest.raises(InvalidInputError, match="closed"):
        orch.ping()


def test_records_write_and_read_what_an_integration_built(
    orch: Orchestrator, embedder: Embedder
) -> None:
    """`records`: ids keyed per data directory, reads by id and filter, a locked write."""
    records = orch.records
    record_id = records.memory_id(MemoryType.SEMANTIC, "sample", "ana", "color")
    assert record_id == records.memory_id(MemoryType.SEMANTIC, "sample", "ana", "color")
    assert record_id != make_memory_id(MemoryType.SEMANTIC, "sample", "ana", "color")
    now = utcnow()
    record = SemanticMemory(
        id=record_id,
        user_id="ana",
        content="Ana's favourite colour is green.",
        subject="ana",
        attribute="color",
        value="green",
        created_at=now,
        updated_at=now,
        valid_from=now,
        source=SourceRef(extractor="sample"),
    )
    event = history_event(record, Operation.ADD, actor="sample", at=now)

    async def write() -> None:
        async with orch.running_call():
            await orch.aopen()
            async with records.hold(["ana"]) as fence:
                await records.write(fence, [(record, event)], actor="sample")

    orch.run_sync(write())
    assert orch.get(record_id, user_id="ana").content == record.content
    assert [r.id for r in orch.run_sync(records.get(MemoryType.SEMANTIC, [record_id]))] == [
        record_id
    ]
    listed = orch.run_sync(records.list(MemoryType.SEMANTIC, where={"user_id": "ana"}))
    assert [r.id for r in listed] == [record_id]
    assert [e.operation for e in orch.history(record_id)] == [Operation.ADD]
    assert orch.embedder.dimension == embedder.dimension


def private_names(module: object, class_name: str) -> set[str]:
    """Private methods and attributes of one class: defined in its body or set on self."""
    tree = ast.parse(inspect.getsource(module))  # type: ignore[arg-type]
    [cls] = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == class_name]
    names: set[str] = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
    return {name for name in names if name.startswith("_") and not name.endswith("__")}


def private_uses(path: Path, private: set[str]) -> list[str]:
    """Uses of `private` names on anything but self/cls: `x._name` or getattr(x, "_name")."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        name: object = None
        if isinstance(node, ast.Attribute) and not (
            isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
        ):
            name = node.attr
        elif isinstance(node, ast.Call) and len(node.args) >= 2:
            func = node.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called in ("getattr", "setattr") and isinstance(node.args[1], ast.Constant):
                name = node.args[1].value
        if name in private:
            found.append(f"{path}:{getattr(node, 'lineno', 0)}: {name}")
    return sorted(found)


def test_private_state_of_the_orchestrator_stays_in_its_package() -> None:
    private = (
        private_names(engine, "Orchestrator")
        | private_names(services, "Services")
        | private_names(records, "Records")
    )
    assert {"_loop", "_calls", "_get", "_services", "_id_key"} <= private
    outside = [
        path
        for path in [*ROOT.rglob("*.py"), *TESTS.rglob("*.py")]
        if ORCHESTRATOR_PACKAGE not in path.parents
    ]
    uses = [use for path in outside for use in private_uses(path, private)]
    assert uses == []


def test_the_private_state_check_finds_a_use(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "orch._loop.run(x)\nself._loop.run(x)\ngetattr(orch, '_calls')\n", encoding="utf-8"
    )
    assert private_uses(sample, {"_loop", "_calls"}) == [
        f"{sample}:1: _loop",
        f"{sample}:3: _calls",
    ]


def test_the_typed_constructor_opens_what_its_settings_configure(
    tmp_path: Path, embedder: Embedder
) -> None:
    settings = load_settings(data_dir=tmp_path / "om")
    with Orchestrator(settings, embedder=embedder) as orch:
        orch.process("I live in Lisbon.", user_id="ana")
        assert orch.settings is settings
        assert "Lisbon" in " ".join(orch.recall("where do I live?", user_id="ana").texts())
    assert (tmp_path / "om").is_dir()  # where the settings said, not the default
    with Orchestrator.from_config(data_dir=tmp_path / "om", embedder=embedder) as again:
        assert again.get_all(user_id="ana")  # the same stores, by the config route
    with pytest.raises(TypeError):
        Orchestrator(settings, [])  # type: ignore[misc]  # agents and embedder by keyword
