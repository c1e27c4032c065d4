"""octomem's modules import each other without cycles, counting imports made inside
functions (deferred, but a cycle all the same) and leaving out `if TYPE_CHECKING:` ones."""

from __future__ import annotations

import ast
from pathlib import Path

import octomem

ROOT = Path(octomem.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """The octomem modules a module's code imports when it runs."""
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if _type_checking_only(node):
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in modules else node.module)
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {_module_name(path): path for path in ROOT.rglob("*.py")}
    modules = set(paths)
    return {
        name: _imports(ast.parse(path.read_text("utf-8")), modules) - {name}
        for name, path in paths.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (its modules in order, the first repeated at the end), or None."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        path.append(start)
        on_path.add(start)
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                on_path.discard(node)
                done.add(node)
                continue
            nxt = todo.pop()
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                stack.append((nxt, sorted(graph.get(nxt, ()))))
                path.append(nxt)
                on_path.add(nxt)
    return None


def test_octomem_has_no_import_cycles() -> None:
    assert find_cycle(import_graph()) is None


def test_the_check_sees_a_cycle_through_a_deferred_import() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    source = "def f():\n    from octomem.x import y\n"
    assert _imports(ast.parse(source), {"octomem.x", "octomem.x.y"}) == {"octomem.x.y"}
    typing_only = "if TYPE_CHECKING:\n    from octomem.x import y\n"
    assert _imports(ast.parse(typing_only), {"octomem.x"}) == set()


def test_the_language_layer_sits_below_the_agents() -> None:
    """`octomem.language` reads text for the agents: it imports none of them, nor the
    orchestrator, the stores or the surfaces above (only `octomem.models` below it)."""
    graph = import_graph()
    language = {name for name in graph if name.split(".")[:2] == ["octomem", "language"]}
    outside = {dep for name in language for dep in graph[name]} - language
    assert outside == {"octomem.models"}
