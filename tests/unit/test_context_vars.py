"""What a call needs is passed as a value, not set in a context variable (issue 45): the
few that remain are listed here by module, each for a reason a signature cannot carry, so
that a new one is a decision, not a habit."""

from __future__ import annotations

import ast
from pathlib import Path

import octomem

PACKAGE = Path(octomem.__file__).parent
KNOWN = {
    # the request: its id and audit line (logging) and its causal bookmarks, one value
    "stores/causal.py",
    # the reading libraries' warnings, routed from global loggers to the capture of a file
    "media/notices.py",
    # a lease holder's store calls: the deferred graph writes and the stuck-call watch
    "stores/gather.py",
    "stores/stuck.py",
}


def _context_vars(tree: ast.AST) -> int:
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "ContextVar")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "ContextVar")
        )
    )


def test_the_package_sets_only_the_context_variables_listed() -> None:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if count := _context_vars(ast.parse(path.read_text(encoding="utf-8"))):
            found[path.relative_to(PACKAGE).as_posix()] = count
    assert set(found) == KNOWN, found
    assert sum(found.values()) == len(KNOWN), found  # one each
