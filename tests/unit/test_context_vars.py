"""What a call needs is passed as a value, not set in a context variable (issue 45): the
few that remain are listed here by module, each for a reason a signature cannot carry, so
that a new one is a decision, not a habit."""

from __future__ import annotations

import ast
from pathlib import Path

import octomem
from octomem.service import context
from octomem.service.readiness import Probes
from octomem.stores import causal

PACKAGE = Path(octomem.__file__).parent
KNOWN = {
    # the request: its id and audit line (logging) and its causal bookmarks, one value
    "stores/causal.py",
    # the reading libraries' warnings, routed from global loggers to the capture of a file
    "media/notices.py",
    # a lease holder's store calls: the deferred graph writes and the stuck-call watch
    "stores/holder.py",
}


def _context_vars(tree: ast.AST) -> int:
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "ContextVar")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "ContextVar")
        )
    )


def test_the_package_sets_only_the_context_variables_listed() -> None:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if count := _context_vars(ast.parse(path.read_text(encoding="utf-8"))):
            found[path.relative_to(PACKAGE).as_posix()] = count
    assert set(found) == KNOWN, found
    assert sum(found.values()) == len(KNOWN), found  # one each


class _Pinger:
    """An Orchestrator as the readiness probes see it: what context each ping ran in."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    async def aping(self, store: str) -> None:
        self.seen.append(causal.current())


async def test_a_probe_shared_by_requests_carries_none_of_the_one_that_started_it() -> None:
    # a caller's Octomem-Bookmark would make the shared probe wait for a write it names,
    # and every later /readyz report the graph as down
    causal.begin(context.RequestInfo(request_id="r1", after=("a-bookmark",)))
    pinger = _Pinger()
    checks = await Probes().check([("default", pinger)])  # type: ignore[list-item]
    assert set(checks.values()) == {"ok"} and pinger.seen and set(pinger.seen) == {None}
    assert context.request_id() == "r1"  # the request's own context is untouched


async def test_a_request_leaves_no_context_behind(tmp_path: Path) -> None:
    # the app called in this task, as an in-process host calls it (ASGITransport)
    import httpx

    from octomem.service.app import create_app
    from octomem.settings import load_settings

    app = create_app(load_settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answer = await client.get("/healthz", headers={"X-Request-Id": "r2"})
    assert answer.headers["x-request-id"] == "r2"
    assert causal.current() is None and context.current() is None


async def test_a_holders_renewal_never_sees_the_writes_it_gathers_later() -> None:
    # the watch and the gathering share one context variable: the lease's renewal task
    # starts inside the watch, before the writes are gathered, and must never flush them
    import asyncio

    from octomem.stores import gather, holder, stuck
    from octomem.stores.fence import Fence

    async def holds(tokens: object) -> bool:
        return True

    async def parts() -> tuple[object, object]:
        return gather.active(), holder.current().watch

    fence = Fence((), holds).with_token("lease:u", 7, user_id="u")
    with stuck.watching() as watch:
        ready = asyncio.Event()

        async def renewal() -> tuple[object, object]:
            await ready.wait()  # runs while the holder gathers
            return await parts()

        renewing = asyncio.ensure_future(renewal())
        async with gather.gathered(fence):
            gathering = gather.current(fence)
            assert gathering is not None
            started_within = asyncio.ensure_future(parts())
            ready.set()
            assert await renewing == (None, watch)
            assert await started_within == (gathering, watch)
        assert await parts() == (None, watch)
    assert await parts() == (None, None)
