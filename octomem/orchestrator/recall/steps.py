"""The recall steps in their order (`orchestrator.steps`): `run` calls them directly
(what `Orchestrator.recall` does) and `build_recall_graph` wires them as a LangGraph graph
(what LangGraph Studio shows), with the same state by construction.

plan_recall -> search_shared -> search_agent (one per agent: a Send each) -> rank_hits
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from octomem.orchestrator import steps
from octomem.orchestrator.recall.plan import plan_recall
from octomem.orchestrator.recall.rank import rank_hits
from octomem.orchestrator.recall.search import agent_searches, search_agent, search_shared
from octomem.orchestrator.recall.state import RecallInput, RecallState, RetrieveTask
from octomem.orchestrator.services import Services
from octomem.orchestrator.steps import Step

if TYPE_CHECKING:
    from octomem.orchestrator.recall.state import RecallGraph

STEPS = (
    Step("plan_recall", plan_recall),
    Step("search_shared", search_shared),
    Step("search_agent", search_agent, each=agent_searches, task=RetrieveTask),
    Step("rank_hits", rank_hits),
)
REDUCERS = steps.reducers(RecallState)


async def run(state: RecallInput, deps: Services) -> RecallState:
    """The recall steps called directly."""
    return cast(RecallState, await steps.run(STEPS, REDUCERS, state, deps))


def build_recall_graph(deps: Services) -> RecallGraph:
    """The recall steps as a LangGraph graph, for Studio: a fanned-out step is one Send per
    task, and the state shows the plan, every retriever's ranked list and the result."""
    return cast("RecallGraph", steps.graph("recall", STEPS, RecallState, RecallInput, deps))
