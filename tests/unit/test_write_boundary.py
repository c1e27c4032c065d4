"""Every write reaches the stores through the one write primitive: outside `octomem/stores/`,
only the modules of `octomem.orchestrator.write` call a store's mutating methods (so that
fencing, erasure counts, idempotence and journaling are written, and tested, once)."""

from __future__ import annotations

import ast
from pathlib import Path

import octomem

PACKAGE = Path(octomem.__file__).parent
ALLOWED = {
    "orchestrator/write/apply.py",
    "orchestrator/write/erase.py",
    "orchestrator/write/blobs.py",
}
STORES = {"vector", "keyword", "history", "graph", "journal"}
MUTATING = {
    "upsert",
    "rewrite",
    "delete",
    "delete_foreign",
    "purge_deleted",
    "reset",
    "record",
    "discard",
    "compact",
    "upsert_entities",
    "upsert_relations",
    "invalidate_relation",
    "link_memories",
    "delete_memory",
    "forget",
    "begin",
    "add_part",
    "finish",
}
BLOB_WRITES = {"put", "remove", "remove_user", "clear"}


def _receiver(node: ast.expr) -> str | None:
    """The last name of what a method is called on: `services.vector` -> "vector"."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _writes(tree: ast.AST) -> list[str]:
    """The store writes a module makes: `<x>.<store>.<mutating>(...)`, a store of
    `services.stores` reset or compacted, and the blob store's writes (through a name bound
    to `<x>.blobs`)."""
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        blob_names = {"blobs"}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and _receiver(node.value) == "blobs":
                blob_names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
            looped = isinstance(node, ast.For) and _receiver(node.iter) == "stores"
            if looped and isinstance(node.target, ast.Name):
                found += [
                    f"{node.target.id}.{call.func.attr}"
                    for call in ast.walk(node)
                    if isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and _receiver(call.func.value) == node.target.id
                    and call.func.attr in MUTATING
                ]
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver, method = _receiver(node.func.value), node.func.attr
            store_write = receiver in STORES and method in MUTATING
            if store_write or (receiver in blob_names and method in BLOB_WRITES):
                found.append(f"{receiver}.{method}")
    return found


def test_only_the_write_primitive_calls_a_stores_mutating_methods() -> None:
    writers: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = path.relative_to(PACKAGE).as_posix()
        if name.startswith("stores/"):
            continue
        if calls := _writes(ast.parse(path.read_text(), filename=str(path))):
            writers[name] = sorted(set(calls))
    assert set(writers) <= ALLOWED, {k: v for k, v in writers.items() if k not in ALLOWED}
    assert len(ALLOWED) <= 3


def test_the_scan_sees_a_store_write() -> None:
    """The scan above finds each shape of write it looks for (else it passes vacuously)."""
    source = """
async def f(services):
    await services.vector.upsert(t, [r], [e])
    store = services.blobs
    store.put(u, sha, data)
    for each in services.stores:
        await each.reset()
    await services.vector.get(t, ids)
"""
    assert sorted(_writes(ast.parse(source))) == ["each.reset", "store.put", "vector.upsert"]
