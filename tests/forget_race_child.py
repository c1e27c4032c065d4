"""Run one write of a user in this process, paused at a chosen point until the test says
go, so that another process can forget the user meanwhile (server mode: both on the same
Chroma server and Bolt graph server).

    python tests/forget_race_child.py '{"data_dir": ..., "settings": {...},
        "call": "process" | "update" | "put" | "import", "user_id": ..., "text": ...,
        "source": ..., "memory_id": ...,
        "pauses": ["write", "extract"] (from "extract", "write", "sent",
        "erasures", "checked"), "type": "semantic", "go": <path>}'

A process() that pauses in "extract" runs with a scripted model
(`octomem.testing.ScriptedModel`) that extracts one fact of the text; the others with
octomem's rules (no model). Where it pauses (each point once, in the order the call reaches
them):

- "extract": in the model's extraction, between the call's two lock holds (its raw turns
  stored, nothing extracted written); the model runs in a thread, as one behind a network;
- "write": before the first vector upsert of memory type `type` (or before the vector
  writes of several types that a server's store sends together: `gather.drain`, their
  one fence check), inside the user's write lock, its lease held and renewed (the wait is
  on the event loop, which keeps running);
- "sent": the same, after the write's fence check (`fence.verify`), before its request
  goes to the Chroma server (the test stops the process there with SIGSTOP, its lease
  lapses, and its request lands late once it resumes); with "die_after_sent" the
  process kills itself (SIGKILL) once that request has landed, before it checks its
  lease again;
- "erasures": a LangGraph store put, after it read the scope's erasure counts and before
  it takes the lock;
- "checked": an import, after it read the erasure counts and checked the file, before it
  writes.

Once its stores are open it says "ready" and waits for the file `<go>.start` before the
call. At the i-th pause point it prints "paused" and waits for the file `<go>.<i>` (at most
120 s). Exit 0 ("finished") if the call succeeded; a call that fails prints
"error <type>: <message>" and exits 3.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from octomem import Orchestrator
from octomem.errors import OctomemError
from octomem.models import MemoryType
from octomem.orchestrator import transfer
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.records import Records
from octomem.prompts.extraction import ExtractionOutput
from octomem.stores import gather
from octomem.testing import ScriptedModel, ScriptedRequest, from_extraction

WAIT_S = 120.0


class Pauses:
    """The pause points of this run, each released by a file of its own."""

    def __init__(self, points: list[str], go: str) -> None:
        self.points = points
        self.go = go
        self.reached: set[str] = set()

    def __contains__(self, point: str) -> bool:
        return point in self.points

    def passed(self, point: str) -> bool:
        """Whether this point was reached already (each pauses once)."""
        return point in self.reached

    def _release(self, point: str) -> Path:
        self.reached.add(point)
        print("paused", flush=True)
        return Path(f"{self.go}.{self.points.index(point)}")

    def wait(self, point: str) -> None:
        release, deadline = self._release(point), time.monotonic() + WAIT_S
        while not release.exists():
            _give_up(deadline)
            time.sleep(0.01)

    async def await_(self, point: str) -> None:
        """As `wait`, without blocking the event loop: the lease renewals go on."""
        release, deadline = self._release(point), time.monotonic() + WAIT_S
        while not release.exists():
            _give_up(deadline)
            await asyncio.sleep(0.01)


def _give_up(deadline: float) -> None:
    if time.monotonic() > deadline:
        print("never released", flush=True)
        os._exit(4)


def _script(spec: dict[str, Any], pauses: Pauses) -> Any:
    from octomem.agents.semantic.prompt import Fact, SemanticOutput

    def extract(request: ScriptedRequest) -> ExtractionOutput:
        if "extract" in pauses:
            pauses.wait("extract")
        fact = Fact(
            subject="user",
            attribute="lives_in",
            value=spec["value"],
            statement=spec["text"],
            source_turns=[0],
        )
        return ExtractionOutput(agents=[MemoryType.SEMANTIC], semantic=SemanticOutput(facts=[fact]))

    return from_extraction(extract)


def _arm(orch: Orchestrator, spec: dict[str, Any], pauses: Pauses) -> None:
    vector = services_of(orch).vector
    if "write" in pauses:
        upsert = vector.upsert

        async def upserting(memory_type: MemoryType, *args: Any, **kwargs: Any) -> Any:
            if memory_type.value == spec["type"] and not pauses.passed("write"):
                print(f"writing {memory_type.value}", flush=True)
                await pauses.await_("write")
            return await upsert(memory_type, *args, **kwargs)

        vector.upsert = upserting  # type: ignore[method-assign]
        drain = gather.drain

        async def draining(fence: Any) -> None:
            # vector writes of several types sent together: the fence check (the flush of
            # the gathered writes) comes once, before all of them
            found = gather.current(fence)
            if found is not None and found.works and not pauses.passed("write"):
                print(f"writing {spec['type']}", flush=True)
                await pauses.await_("write")
            await drain(fence)

        gather.drain = draining  # type: ignore[assignment]
    if "sent" in pauses:
        send = vector._on

        async def sending(what: str, memory_type: MemoryType, *args: Any, **kwargs: Any) -> Any:
            if what == "upsert" and memory_type.value == spec["type"] and not pauses.passed("sent"):
                print(f"sending {memory_type.value}", flush=True)
                await pauses.await_("sent")
                result = await send(what, memory_type, *args, **kwargs)
                if spec.get("die_after_sent"):
                    print("landed", flush=True)
                    os.kill(os.getpid(), signal.SIGKILL)
                return result
            return await send(what, memory_type, *args, **kwargs)

        vector._on = sending  # type: ignore[method-assign]
    if "erasures" in pauses:
        read = Records.erasures

        async def erasures(self: Records, scopes: Any) -> Any:
            seen = await read(self, scopes)
            await pauses.await_("erasures")
            return seen

        Records.erasures = erasures  # type: ignore[method-assign]
    if "checked" in pauses:
        check = transfer.check_lines

        async def check_lines(*args: Any, **kwargs: Any) -> Any:
            checked = await check(*args, **kwargs)
            await pauses.await_("checked")
            return checked

        transfer.check_lines = check_lines  # type: ignore[assignment]


def main() -> None:
    spec = json.loads(sys.argv[1])
    pauses = Pauses(spec["pauses"], spec["go"])
    settings = spec.get("settings", {})
    with contextlib.ExitStack() as stack:
        if "extract" in pauses:  # else rules extract: litellm's import takes seconds
            model = ScriptedModel(_script(spec, pauses), name="forget-race", in_thread=True)
            stack.enter_context(model)
            settings = {**settings, "llm": {"model": model.model, "max_retries": 1}}
        orch = Orchestrator.from_config(data_dir=spec["data_dir"], **settings)
        orch.get_all(user_id=spec["user_id"])  # open the stores before the call
        _arm(orch, spec, pauses)
        print("ready", flush=True)
        _wait_for_start(Path(f"{spec['go']}.start"))
        try:
            _call(orch, spec)
        except OctomemError as exc:
            print(f"error {type(exc).__name__}: {exc}", flush=True)
            os._exit(3)
        orch.close()
    print("finished", flush=True)


def _wait_for_start(start: Path) -> None:
    deadline = time.monotonic() + WAIT_S
    while not start.exists():
        _give_up(deadline)
        time.sleep(0.01)


def _call(orch: Orchestrator, spec: dict[str, Any]) -> None:
    if spec["call"] == "process":
        orch.process(spec["text"], user_id=spec["user_id"], session_id="s1")
    elif spec["call"] == "update":
        orch.update(spec["memory_id"], spec["text"], user_id=spec["user_id"])
    elif spec["call"] == "put":
        from octomem.langgraph import OctomemStore

        store = OctomemStore(orch)
        store.put(("memories", spec["user_id"]), "home", {"content": spec["text"]})
    else:
        orch.import_jsonl(spec["source"])


if __name__ == "__main__":
    main()
