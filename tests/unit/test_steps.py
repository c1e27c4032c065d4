"""`orchestrator.steps`: the steps run directly give the state the LangGraph graph built
from them gives; a fanned-out step's updates are merged in task order; a step whose
`when` does not hold is skipped; a failing task's siblings are cancelled."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from octomem.orchestrator import steps
from octomem.orchestrator.steps import Step


class Input(TypedDict, total=False):
    n: int
    double: bool


class State(Input, total=False):
    seen: Annotated[list[str], operator.add]
    total: int


class Task(TypedDict):
    n: int
    part: int


async def start(state: Input, deps: Any) -> dict[str, Any]:
    return {"seen": ["start"], "total": 0}


async def doubled(state: State, deps: Any) -> dict[str, Any]:
    return {"seen": ["double"], "n": 2 * state["n"]}


async def part(task: Task, deps: Any) -> dict[str, Any]:
    await asyncio.sleep(0.001 * (task["n"] - task["part"]))  # the last finishes first
    return {"seen": [f"part{task['part']}"]}


async def finish(state: State, deps: Any) -> dict[str, Any]:
    return {"total": len(state["seen"])}


STEPS = (
    Step("start", start),
    Step("double", doubled, when=lambda state: state.get("double", False)),
    Step(
        "part",
        part,
        each=lambda s, deps: [Task(n=s["n"], part=i) for i in range(s["n"])],
        task=Task,
    ),
    Step("finish", finish),
)
REDUCERS = steps.reducers(State)


@pytest.mark.parametrize(
    ("given", "seen"),
    [
        ({"n": 2}, ["start", "part0", "part1"]),
        ({"n": 2, "double": True}, ["start", "double", "part0", "part1", "part2", "part3"]),
        ({"n": 0}, ["start"]),  # no task: on to the next step
    ],
)
def test_run_and_the_graph_give_the_same_state(given: dict[str, Any], seen: list[str]) -> None:
    direct = asyncio.run(steps.run(STEPS, REDUCERS, given, deps=None))
    graph = steps.graph("toy", STEPS, State, Input, deps=None)
    through_graph = asyncio.run(graph.ainvoke(given))
    assert direct["seen"] == seen and direct["total"] == len(seen)
    assert through_graph == direct


def test_a_failing_task_cancels_its_siblings() -> None:
    cancelled: list[int] = []

    async def risky(task: Task, deps: Any) -> dict[str, Any]:
        if task["part"] == 0:
            raise ValueError("part 0 failed")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(task["part"])
            raise
        return {}

    fanned = (Step("part", risky, each=STEPS[2].each, task=Task),)

    async def go() -> None:
        with pytest.raises(ValueError, match="part 0 failed"):
            await steps.run(fanned, REDUCERS, {"n": 3}, deps=None)
        await asyncio.sleep(0)  # the cancellations delivered

    asyncio.run(go())
    assert sorted(cancelled) == [1, 2]
