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
from octomem.orchestrator.process.context import holding
from octomem.orchestrator.process.extract import agent, llm_extract
from octomem.orchestrator.process.intake import normalize, read_turns, store_turns
from octomem.orchestrator.process.route import agent_tasks, in_one_call, route
from octomem.orchestrator.process.state import AgentTask, ProcessInput, ProcessState
from octomem.orchestrator.services import Services
from octomem.orchestrator.steps import Step
from octomem.orchestrator.write import write

if TYPE_CHECKING:
    from octomem.orchestrator.process.state import Normalized, ProcessGraph

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
    """The process steps called directly. A call that asks no model anything (no LLM, or
    `infer=False`) runs the steps after normalize under one hold of the user's write lock
    (`held` in the state), and its raw turns are written in the commit's journaled write,
    with what was extracted from them and the keys they get from it: one lease and one
    write where there were two (on a graph server, 8 round trips for an add that extracts
    a fact instead of 15). If extraction fails, the turns are written before the error is
    raised: nothing said is lost. With a model (its calls may take seconds), store_turns
    writes the turns under the lock, extraction runs outside it, and commit takes it again,
    so the user's other callers wait only for the writes; so too for a new version of an
    ingested input (`closing`, whose old version is closed in the turns' write)."""
    asks_model = deps.llm is not None and inputs.get("infer", True)
    if asks_model or "closing" in inputs:
        return cast(ProcessState, await steps.run(STEPS, REDUCERS, inputs, deps))
    normalize, store, *extract, commit_ = STEPS
    state = await steps.run([normalize], REDUCERS, inputs, deps)
    async with holding(deps, cast("Normalized", state)) as fence:
        state = await steps.run([store], REDUCERS, {**state, "held": fence}, deps)
        try:
            state = await steps.run(extract, REDUCERS, state, deps)
        except Exception:
            if state["unwritten"]:  # the turns, before the error: nothing said is lost
                await write(deps, fence, changes=state["unwritten"])
            raise
        state = await steps.run([commit_], REDUCERS, state, deps)
    del state["held"], state["unwritten"]
    return cast(ProcessState, state)


def build_process_graph(deps: Services) -> ProcessGraph:
    """The process steps as a LangGraph graph, for Studio: one Send per agent that
    extracts on its own."""
    return cast("ProcessGraph", steps.graph("process", STEPS, ProcessState, ProcessInput, deps))
