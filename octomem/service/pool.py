"""One Orchestrator per project, opened on a project's first request and closed with the
service. They share one loaded embedder; each keeps to its own project's stores (the
library's `project` setting), so tenancy is enforced below the HTTP layer."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from octomem.embeddings import CachedEmbedder, Embedder
from octomem.logs import get_logger
from octomem.orchestrator.engine import Orchestrator
from octomem.orchestrator.lifecycle import build_embedder
from octomem.service import context, outcome, readiness
from octomem.settings import Settings

T = TypeVar("T")
log = get_logger(__name__)


class ProjectPool:
    """Open Orchestrators, at most `service.max_open_projects`: opening one more closes
    the least recently used that no request is using (its stores release their files and
    memory; its next request opens it again)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limit = settings.service.max_open_projects
        self._embedder: Embedder | None = None
        self._open: OrderedDict[str, Orchestrator] = OrderedDict()
        self._in_use: Counter[str] = Counter()
        self._idle = asyncio.Event()  # set while no request holds any project
        self._idle.set()
        self._opening: dict[str, asyncio.Future[Orchestrator]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Future[None] | None = None
        self.closing = False
        self._probes = readiness.Probes()

    def _settings_for(self, project: str) -> Settings:
        if project == self.settings.project:
            return self.settings
        return Settings.model_validate({**self.settings.model_dump(), "project": project})

    async def start(self) -> None:
        """Load the embedder before the first request needs it; start `_sweep`."""
        self._embedder = await asyncio.to_thread(build_embedder, self.settings)
        await self._embedder.embed(["warm up"])
        self._sweeper = asyncio.ensure_future(self._sweep())

    async def _sweep(self) -> None:
        """Every lease period, complete the writes dead callers left in each open project's
        journal (in server mode it is shared, so a host that dies mid-write is not needed),
        and undo the late vector writes of those it completed (`Orchestrator.arecover`)."""
        period = max(1.0, self.settings.concurrency.lease_ttl_s)
        while not self.closing:
            await asyncio.sleep(period)
            for project in list(self._open):
                if self.closing or project not in self._open:
                    continue
                try:
                    async with self.using(project) as orch:
                        await orch.arecover()
                except Exception as exc:  # the next round tries again
                    log.warning(
                        "sweep of unfinished writes failed", project=project, error=str(exc)
                    )

    @asynccontextmanager
    async def using(self, project: str) -> AsyncIterator[Orchestrator]:
        """The project's Orchestrator, kept open while the block runs: never evicted, and
        `close` waits for the block (within its grace)."""
        self._in_use[project] += 1
        self._idle.clear()
        try:
            yield await self._get(project)
        finally:
            self._in_use[project] -= 1
            if not self._in_use[project]:
                del self._in_use[project]
            if not self._in_use:
                self._idle.set()

    async def _get(self, project: str) -> Orchestrator:
        orch = self._open.get(project)
        if orch is None:
            # opened in a task of its own: a request cut off while waiting (its deadline,
            # its client gone) leaves the open to finish for the next one, never half-done
            opening = self._opening.get(project)
            if opening is None:
                opening = context.detached(self._open_project(project))
                self._opening[project] = opening
                opening.add_done_callback(lambda _: self._opening.pop(project, None))
            orch = await asyncio.shield(opening)
        self._open.move_to_end(project)
        return orch

    def _embedder_for(self, project: str) -> Embedder | None:
        """The one loaded model, with a cache partition of the project's own (and, through
        `embeddings.embed_for`, of each user): a call's timing never tells it what another
        project or user stored."""
        shared = self._embedder
        return shared.partition(project) if isinstance(shared, CachedEmbedder) else shared

    async def _open_project(self, project: str) -> Orchestrator:
        orch = await asyncio.to_thread(
            Orchestrator,
            self._settings_for(project),
            embedder=self._embedder_for(project),
        )
        try:
            await orch.aopen()
        except BaseException:
            await self._close(orch, 0)
            raise
        self._open[project] = orch
        self._evict()
        return orch

    def _evict(self) -> None:
        idle = [p for p in self._open if not self._in_use[p]]
        while len(self._open) > self.limit and idle:
            project = idle.pop(0)
            orch = self._open.pop(project)
            self.finish_in_background(self._close(orch, self.settings.service.shutdown_grace_s))

    @staticmethod
    async def _close(orch: Orchestrator, grace_s: float) -> None:
        await orch.aclose(timeout=grace_s)  # on this loop, which its clients are bound to
        await asyncio.to_thread(orch.close)  # then stop its private loop

    @property
    def open_projects(self) -> int:
        return len(self._open)

    async def ready(self) -> dict[str, str]:
        """Reach every open project's stores, answering within about a second: "ok" or what
        is wrong, per store (`readiness`). Projects are not named: anyone may ask."""
        if self._embedder is None:
            return {"embedder": "loading"}
        return {"embedder": "ok", **await self._probes.check(list(self._open.items()))}

    def finish_in_background(self, work: Awaitable[T]) -> asyncio.Future[T]:
        """Run a write to its end even if the request waiting for it is cancelled; `close`
        waits for it."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        outcome.started(task)  # the request's: its end logged, its error always read
        return asyncio.shield(task)

    async def close(self, grace_s: float) -> None:
        """Wait for the requests holding a project and the writes still finishing, then
        close every project, all within `grace_s` (past it, a write is cut and completed
        from the journal on the next open)."""
        self.closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        deadline = asyncio.get_running_loop().time() + grace_s

        def left() -> float:
            return max(0.0, deadline - asyncio.get_running_loop().time())

        if not self._idle.is_set():
            held = sum(self._in_use.values())
            log.info("closing: waiting for the requests holding a project", requests=held)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), left())
        if self._opening:
            await asyncio.wait(set(self._opening.values()), timeout=left())
        if self._background:
            await asyncio.wait(set(self._background), timeout=left())
        for orch in list(self._open.values()):
            await self._close(orch, left())
        self._open.clear()
