"""The recall steps in their order, defined once: `run` calls them directly (what
`Orchestrator.recall` does) and `build_recall_graph` wires them as a LangGraph graph (what
LangGraph Studio shows). Both merge each step's update into the state with the reducers
of `RecallState`, so the two give the same state by construction.

plan_recall -> search_shared -> search_agent (one per agent: a Send each) -> rank_hits

`run` does not pay the graph runtime's per-step cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, cast, get_type_hints

from octomem.orchestrator.recall.plan import plan_recall
from octomem.orchestrator.recall.rank import rank_hits
from octomem.orchestrator.recall.search import agent_searches, search_agent, search_shared
from octomem.orchestrator.recall.state import RecallInput, RecallState, RetrieveTask
from octomem.orchestrator.services import Services

if TYPE_CHECKING:
    from langgraph.types import Send

    from octomem.orchestrator.recall.state import RecallGraph


@dataclass(frozen=True)
class Step:
    """One node: `run(state, deps)` returns its update; with `each`, it runs once per task
    that `each(state)` gives (of type `task`), side by side, instead of once on the state."""

    name: str
    run: Callable[..., Awaitable[Mapping[str, Any]]]  # (state, deps=Services)
    each: Callable[[Any], list[Any]] | None = None
    task: type[Any] | None = None


STEPS = (
    Step("plan_recall", plan_recall),
    Step("search_shared", search_shared),
    Step("search_agent", search_agent, each=agent_searches, task=RetrieveTask),
    Step("rank_hits", rank_hits),
)

# how a key's updates are merged: its reducer (Annotated[..., reducer]), else replaced
REDUCERS: dict[str, Callable[[Any, Any], Any]] = {
    key: hint.__metadata__[0]
    for key, hint in get_type_hints(RecallState, include_extras=True).items()
    if hasattr(hint, "__metadata__")
}


async def run(state: RecallInput, deps: Services) -> RecallState:
    """The recall steps called directly, in order, a fanned-out step's runs side by side."""
    current: dict[str, Any] = dict(state)
    for step in STEPS:
        if step.each is None:
            updates = [await step.run(current, deps)]
        else:
            updates = await asyncio.gather(*(step.run(task, deps) for task in step.each(current)))
        for update in updates:
            for key, value in update.items():
                reduce = REDUCERS.get(key)
                current[key] = reduce(current[key], value) if reduce and key in current else value
    return cast(RecallState, current)


def build_recall_graph(deps: Services) -> RecallGraph:
    """The recall steps as a LangGraph graph, for Studio: a fanned-out step is one Send per
    task, and the state shows the plan, every retriever's ranked list and the result."""
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(RecallState, input_schema=RecallInput)
    names = [START, *(step.name for step in STEPS), END]
    for i, step in enumerate(STEPS):
        before, after = names[i], names[i + 2]
        builder.add_node(step.name, partial(step.run, deps=deps), input_schema=step.task)
        if step.each is None:
            builder.add_edge(before, step.name)
        else:  # no task: on to the step after it
            sends = partial(_sends, step.name, step.each, after)
            builder.add_conditional_edges(before, sends, [step.name, after])
    builder.add_edge(STEPS[-1].name, END)
    return builder.compile(name="recall")


def _sends(
    name: str, each: Callable[[Any], list[Any]], after: str, state: dict[str, Any]
) -> list[Send] | str:
    from langgraph.types import Send

    return [Send(name, task) for task in each(state)] or after
