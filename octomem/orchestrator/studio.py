"""Graphs for LangGraph Studio (`langgraph dev`), on the embedded default configuration.

`langgraph.json` points at the two factories below. They share one Orchestrator (the
embedded graph database allows one writer per process), built and opened from
`configs/default.yaml` plus OCTOMEM_* environment variables: on first use, or, when the
module is imported by a LangGraph server (`langgraph dev`), at once in a background thread,
so the server's first access to a graph finds it open (LangGraph logs a graph factory
slower than 250 ms as an error). Imported anywhere else, nothing happens at import.
Custom agents join the built-in ones from `OCTOMEM_STUDIO_AGENTS`: comma-separated
`module:factory` paths, each factory called with no arguments for one agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import sys
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from octomem.agents.base import MemoryAgent
from octomem.errors import ConfigurationError
from octomem.orchestrator.engine import Orchestrator
from octomem.settings import load_settings

if TYPE_CHECKING:
    from octomem.orchestrator.process.state import ProcessGraph
    from octomem.orchestrator.recall.state import RecallGraph

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "default.yaml"
AGENTS_VARIABLE = "OCTOMEM_STUDIO_AGENTS"


def studio_agents() -> list[MemoryAgent]:
    """The custom agents `OCTOMEM_STUDIO_AGENTS` names (none if unset)."""
    agents = []
    for path in filter(None, (p.strip() for p in os.environ.get(AGENTS_VARIABLE, "").split(","))):
        module, _, name = path.partition(":")
        try:
            factory = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ConfigurationError(
                f"{AGENTS_VARIABLE}: {path!r} is not an importable module:factory ({exc})"
            ) from exc
        agents.append(factory())
    return agents


_OPENING = threading.Lock()  # one Orchestrator, whichever thread asks first


def studio_orchestrator() -> Orchestrator:
    """The one Orchestrator of a Studio server, opened: its graphs (which run on open
    stores) and any agent that remembers through it (examples/langgraph_agent.py) share
    its stores."""
    with _OPENING:
        return _opened()


@cache
def _opened() -> Orchestrator:
    settings = load_settings(DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else None)
    return Orchestrator(settings, agents=studio_agents()).__enter__()  # closed if it fails


def _graphs() -> tuple[ProcessGraph, RecallGraph]:
    orch = studio_orchestrator()
    return orch.process_graph, orch.recall_graph  # compiled on first use


async def process_graph() -> ProcessGraph:
    """The `process` graph: normalize, store_turns, read_turns, route, llm_extract, agent
    (per agent), commit."""
    # building and opening the stores touches the disk: keep it off the server's event loop
    return (await asyncio.to_thread(_graphs))[0]


async def recall_graph() -> RecallGraph:
    """The `recall` graph: plan_recall, search_shared, search_agent (per agent), rank_hits."""
    return (await asyncio.to_thread(_graphs))[1]


def _open_early() -> None:
    """Under a LangGraph server, the Orchestrator opened and its graphs compiled now, off
    the importing thread; a failure is left for the first graph access to raise and the
    server to show."""

    def opening() -> None:
        with contextlib.suppress(Exception):  # raised again by the first access
            _graphs()

    threading.Thread(target=opening, name="octomem-studio-open", daemon=True).start()


if "langgraph_api" in sys.modules:
    _open_early()
