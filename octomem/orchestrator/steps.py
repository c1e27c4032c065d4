"""A pipeline's steps in their order, defined once: `run` calls them directly (what
`Orchestrator.process` and `recall` do, without the graph runtime's cost per step) and
`graph` wires them as a LangGraph graph (what LangGraph Studio shows). Both merge each
step's update into the state with the reducers of the state's type, so the two give the
same state by construction.

A step runs on the state, or, with `each`, once per task that `each(state, deps)` gives
(side by side; one Send each in the graph) - none: skipped; with `when`, only if
`when(state)` holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, get_type_hints

from octomem.orchestrator.services import Services

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph
    from langgraph.types import Send

Reducers = Mapping[str, Callable[[Any, Any], Any]]


@dataclass(frozen=True)
class Step:
    """One node: `run(state, deps)` returns its update."""

    name: str
    run: Callable[..., Awaitable[Mapping[str, Any]]]  # (state, deps=Services)
    each: Callable[[Any, Services], list[Any]] | None = None
    task: type[Any] | None = None  # the type of each task (the node's input schema)
    when: Callable[[Any], bool] | None = None

    @property
    def always(self) -> bool:
        """Runs once on every state: neither skipped (`when`) nor fanned out (`each`)."""
        return self.when is None and self.each is None


def reducers(state_type: type[Any]) -> dict[str, Callable[[Any, Any], Any]]:
    """How each key of `state_type` (a TypedDict) is merged: its reducer
    (`Annotated[..., reducer]`); a key without one is replaced."""
    return {
        key: hint.__metadata__[0]
        for key, hint in get_type_hints(state_type, include_extras=True).items()
        if hasattr(hint, "__metadata__")
    }


async def run(
    steps: Sequence[Step], merged: Reducers, state: Mapping[str, Any], deps: Services
) -> dict[str, Any]:
    """The steps called in order, a fanned-out step's runs side by side; each step gets a
    copy of the state so far (as a graph node does), its update merged in after it."""
    current: dict[str, Any] = dict(state)
    for step in steps:
        if step.when is not None and not step.when(current):
            continue
        if step.each is None:
            updates = [await step.run(dict(current), deps)]
        else:
            updates = await _side_by_side(step.run(task, deps) for task in step.each(current, deps))
        for update in updates:
            for key, value in update.items():
                reduce = merged.get(key)
                current[key] = reduce(current[key], value) if reduce and key in current else value
    return current


async def _side_by_side(runs: Iterable[Awaitable[Mapping[str, Any]]]) -> list[Mapping[str, Any]]:
    """The updates of `runs`, run side by side, in their order; if one fails, the others
    are cancelled (as the graph cancels a failed step's siblings) and its error raised."""
    tasks = [asyncio.ensure_future(run) for run in runs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        raise


def graph(
    name: str, steps: Sequence[Step], state_type: type[Any], input_type: type[Any], deps: Services
) -> CompiledStateGraph[Any, None, Any, Any]:
    """The steps as a compiled LangGraph graph: from each node on, an edge to the next
    step, or, where the next may be skipped or fanned out, a conditional edge to the first
    that runs (a Send per task of a fanned-out one)."""
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(state_type, input_schema=input_type)
    for step in steps:
        builder.add_node(step.name, partial(step.run, deps=deps), input_schema=step.task)
    for i, source in enumerate([START, *(step.name for step in steps)]):
        later = list(steps[i:])
        if not later:
            builder.add_edge(source, END)
        elif later[0].always:
            builder.add_edge(source, later[0].name)
        else:
            builder.add_conditional_edges(source, partial(_next, later, deps), _targets(later))
    return builder.compile(name=name)


def _targets(later: Sequence[Step]) -> list[str]:
    """The steps a conditional edge before `later` can lead to: each up to the first that
    always runs (or the end)."""
    from langgraph.graph import END

    targets = []
    for step in later:
        targets.append(step.name)
        if step.always:
            return targets
    return [*targets, END]


def _next(later: Sequence[Step], deps: Services, state: dict[str, Any]) -> list[Send] | str:
    """The first of `later` that runs on `state`: its name, or a Send per task."""
    from langgraph.graph import END
    from langgraph.types import Send

    for step in later:
        if step.when is not None and not step.when(state):
            continue
        if step.each is None:
            return step.name
        tasks = step.each(state, deps)
        if tasks:
            return [Send(step.name, task) for task in tasks]
    return END
