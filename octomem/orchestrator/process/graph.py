"""The process graph, built from the node functions with the services bound."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from langgraph.graph import END, START, StateGraph

from octomem.orchestrator.process.commit import commit
from octomem.orchestrator.process.extract import agent, llm_extract
from octomem.orchestrator.process.intake import normalize, read_turns, store_turns
from octomem.orchestrator.process.route import after_route, fan_out, route
from octomem.orchestrator.process.state import AgentTask, ProcessInput, ProcessState
from octomem.orchestrator.services import Services

if TYPE_CHECKING:
    from octomem.orchestrator.process.state import ProcessGraph


def build_process_graph(deps: Services) -> ProcessGraph:
    """normalize -> store_turns -> read_turns -> route -> [llm_extract] -> agent (one Send
    per agent) -> commit, each node its function with `deps` bound."""
    builder = StateGraph(ProcessState, input_schema=ProcessInput)
    builder.add_node("normalize", partial(normalize, deps=deps))
    builder.add_node("store_turns", partial(store_turns, deps=deps))
    builder.add_node("read_turns", partial(read_turns, deps=deps))
    builder.add_node("route", partial(route, deps=deps))
    builder.add_node("llm_extract", partial(llm_extract, deps=deps))
    builder.add_node("agent", partial(agent, deps=deps), input_schema=AgentTask)
    builder.add_node("commit", partial(commit, deps=deps))
    builder.add_edge(START, "normalize")
    builder.add_edge("normalize", "store_turns")
    builder.add_edge("store_turns", "read_turns")
    builder.add_edge("read_turns", "route")
    builder.add_conditional_edges(
        "route", partial(after_route, deps=deps), ["llm_extract", "agent", "commit"]
    )
    builder.add_conditional_edges("llm_extract", partial(fan_out, deps=deps), ["agent", "commit"])
    builder.add_edge("agent", "commit")
    builder.add_edge("commit", END)
    return builder.compile(name="process")
