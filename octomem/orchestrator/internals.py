"""White-box access to an Orchestrator's services - its stores, embedder, agents and
locks - for octomem's own tests and benchmarks, which check and measure what the public
API does not show (what each store holds, a backend's cache, one retriever alone).

Not an API: the library's surfaces (CLI, service, MCP, LangGraph, `Memory`, the demo)
never import this module (an import-linter contract in pyproject.toml), and outside
`octomem.orchestrator` nothing touches an Orchestrator's private attributes
(tests/unit/test_sync_api.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octomem.orchestrator.engine import Orchestrator
    from octomem.orchestrator.services import Services


def services_of(orchestrator: Orchestrator) -> Services:
    """The services `orchestrator` runs on (white-box tests and benchmarks only)."""
    return orchestrator._services
