"""`/readyz`'s checks: each store reached with one cheap read, answered within about a
second whatever the stores do, naming the store that does not answer.

A probe of a stalled server would wait for its store's bound (`vector.retry_s`,
`graph.timeout_s`); the check waits `ANSWER_S` and says "no answer". The probe goes on in
the background - one per project and store at a time, so probes every second of a stall
do not pile up worker threads - and the next check reads how it ended. Projects are not
named (anyone may ask): a store's check is its worst answer over the open projects.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Literal

from octomem.logs import get_logger
from octomem.orchestrator.engine import Orchestrator
from octomem.service import context

log = get_logger(__name__)

ANSWER_S = 0.8  # a check's wait for the probes; the answer goes out within about a second
STORES: tuple[Literal["vector", "graph"], ...] = ("vector", "graph")
OK = "ok"


class Probes:
    def __init__(self) -> None:
        # (project, store) -> the probe under way or last ended, and when it began
        self._probes: dict[tuple[str, str], tuple[asyncio.Task[None], float]] = {}

    async def check(self, projects: Iterable[tuple[str, Orchestrator]]) -> dict[str, str]:
        """{"vector": ..., "graph": ...}: "ok", or what is wrong."""
        keys: list[tuple[str, str]] = []
        for project, orch in projects:
            for store in STORES:
                key = (project, store)
                keys.append(key)
                found = self._probes.get(key)
                if found is None or found[0].done():
                    task = context.detached(orch.aping(store))  # later probes share it
                    task.add_done_callback(_read)
                    self._probes[key] = (task, time.monotonic())
        for stale in set(self._probes) - set(keys):  # a project closed meanwhile
            del self._probes[stale]
        running = [self._probes[key][0] for key in keys if not self._probes[key][0].done()]
        if running:
            await asyncio.wait(running, timeout=ANSWER_S)
        checks: dict[str, str] = dict.fromkeys(STORES, OK)
        for probed in keys:
            said = _said(*self._probes[probed])
            if said != OK and checks[probed[1]] == OK:
                checks[probed[1]] = said
        return checks


def _said(task: asyncio.Task[None], began: float) -> str:
    if not task.done():
        waited = time.monotonic() - began
        return f"no answer for {waited:.1f} s: the server is stalled, overloaded or unreachable"
    if task.cancelled():
        return "the check was cancelled"
    exc = task.exception()
    if exc is None:
        return OK
    # its message may name a project's collections: in the log only
    return f"unavailable ({type(exc).__name__}; the reason is in the service log)"


def _read(task: asyncio.Task[None]) -> None:
    """A probe ended: its failure logged (read, so asyncio never reports it)."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("readiness probe failed", error=f"{type(exc).__name__}: {exc}")
