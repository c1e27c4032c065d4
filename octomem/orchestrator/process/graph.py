"""The process steps in their order (`orchestrator.steps`): `run` calls them directly (what
`Orchestrator.process` does) and `build_process_graph` wires them as a LangGraph graph
(what LangGraph Studio shows), with the same state by construction.

normalize -> store_turns -> read_turns -> route -> [llm_extract] -> agent (one Send per
agent) -> commit
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from octomem.orchestrator import steps
from octomem.orchestrator.process.commit import commit
from octomem.orchestrator.process.extract import agent, llm_extract
from octomem.orchestrator.process.intake import normalize, read_turns, store_turns
from octomem.orchestrator.process.route import agent_tasks, in_one_call, route
from octomem.orchestrator.process.state import AgentTask, ProcessInput, ProcessState
from octomem.orchestrator.services import Services
from octomem.orchestrator.steps import Step

if TYPE_CHECKING:
    from octomem.orchestrator.process.state import ProcessGraph

STEPS = (
    Step("normalize", normalize),
    Step("store_turns", store_turns),
    Step("read_turns", read_turns),
    Step("route", route),
    Step("llm_extract", llm_extract, when=in_one_call),
    Step("agent", agent, each=agent_tasks, task=AgentTask),
    Step("commit", commit),
)
REDUCERS = steps.reducers(ProcessState)


async def run(inputs: ProcessInput, deps: Services) -> ProcessState:
    """The process steps called directly."""
    return cast(ProcessState, await steps.run(STEPS, REDUCERS, inputs, deps))


def build_process_graph(deps: Services) -> ProcessGraph:
    """The process steps as a LangGraph graph, for Studio: one Send per agent that
    extracts on its own."""
    return cast("ProcessGraph", steps.graph("process", STEPS, ProcessState, ProcessInput, deps))
