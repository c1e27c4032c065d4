"""Many callers at once, for one user: one current truth, no lost update, no duplicate turn.

Each trial starts N >= 8 callers on the same user at once (threads through the sync API,
or asyncio tasks through the async API) and checks the invariants; trials repeat so that
the races these tests guard against (two current facts, a core block losing lines) would
show. Different users must still run side by side.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.models import CoreMemory
from octomem.orchestrator import lifecycle, locks
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.locks import scope_key
from tests.invariants import assert_one_current_home

CITIES = "Lisbon Berlin Kyoto Oslo Toronto Nairobi Lima Seoul Porto Vienna Austin Dublin".split()
LIKES = (
    "tea jazz chess hiking sushi opera tennis poetry salsa kayaking origami baking "
    "cycling pottery skiing karaoke"
).split()


def _together(callers: list[Callable[[], Any]]) -> list[Any]:
    """Run the callers in threads, released at the same moment."""
    start = threading.Barrier(len(callers))

    def run(caller: Callable[[], Any]) -> Any:
        start.wait()
        return caller()

    with ThreadPoolExecutor(len(callers)) as pool:
        return list(pool.map(run, callers))


def _raw_turns(orch: Orchestrator, user: str) -> list[str]:
    turns = orch.get_all(user_id=user, memory_types=["episodic"], include_superseded=True)
    return [t.content for t in turns if getattr(t, "event_type", None) == "message"]


@pytest.mark.parametrize("trial", range(5))
def test_threads_moving_one_user_leave_one_current_home(orch: Orchestrator, trial: int) -> None:
    user = f"mover{trial}"
    cities = CITIES[:8]
    _together([lambda c=c: orch.process(f"I moved to {c}.", user_id=user) for c in cities])

    assert_one_current_home(orch, user, set(cities))
    turns = _raw_turns(orch, user)
    assert sorted(turns) == sorted(f"user: I moved to {c}." for c in cities)


@pytest.mark.parametrize("trial", range(3))
async def test_asyncio_moves_leave_one_current_home(orch: Orchestrator, trial: int) -> None:
    user = f"async-mover{trial}"
    cities = CITIES[trial : trial + 10]
    await asyncio.gather(*[orch.aprocess(f"I moved to {c}.", user_id=user) for c in cities])

    assert_one_current_home(orch, user, set(cities))
    assert len(_raw_turns(orch, user)) == len(cities)


@pytest.mark.parametrize("trial", range(3))
def test_concurrent_likes_keep_every_core_line(orch: Orchestrator, trial: int) -> None:
    user = f"liker{trial}"
    _together([lambda w=w: orch.process(f"I like {w}.", user_id=user) for w in LIKES])

    [human] = [c for c in orch.get_all(user_id=user, memory_types=["core"]) if c.label == "human"]
    assert isinstance(human, CoreMemory)
    lines = set(human.content.splitlines())
    assert lines == {f"Preference ({w}): likes" for w in LIKES}
    assert len(orch.history(human.id)) == len(LIKES)  # one ADD, then one UPDATE per caller


def test_the_same_call_made_at_once_stores_each_turn_once(orch: Orchestrator) -> None:
    messages = [
        {"role": "user", "content": "I live in Porto and I work at Initech."},
        {"role": "assistant", "content": "Nice!"},
        {"role": "user", "content": "I like surfing."},
    ]
    results = _together([lambda: orch.process(messages, user_id="dup")] * 8)

    assert len({tuple(r.turn_memory_ids) for r in results}) == 1
    assert len(_raw_turns(orch, "dup")) == 3
    stored = orch.get_all(user_id="dup", include_superseded=True)
    assert len(stored) == len({r.id for r in stored})
    assert all(r.is_current for r in stored)  # nothing superseded by a copy of itself


def test_other_users_do_not_wait_for_a_busy_user(orch: Orchestrator, monkeypatch) -> None:
    """While one user's commit is held up, another user's process() completes."""
    services = services_of(orch)
    orch.process("warm up", user_id="warm")
    entered, release = threading.Event(), threading.Event()
    real = services.history.record

    async def slow_record(events, **kwargs):
        if events and events[0].user_id == "slow":
            entered.set()
            await asyncio.to_thread(release.wait, 30)
        return await real(events, **kwargs)

    monkeypatch.setattr(services.history, "record", slow_record)
    with ThreadPoolExecutor(2) as pool:
        slow = pool.submit(orch.process, "I live in Oslo.", user_id="slow")
        assert entered.wait(30)
        orch.process("I live in Lima.", user_id="fast")
        assert not slow.done()  # finished while the slow user is still inside its write
        release.set()
        slow.result(timeout=60)
    assert [r.value for r in orch.get_all(user_id="fast", memory_types=["semantic"])] == ["Lima"]


def test_a_second_orchestrator_on_the_same_data_is_serialised_too(make_orch, tmp_path) -> None:
    """Two Orchestrators in one process share a data directory (and so its locks)."""
    first = make_orch(data_dir=tmp_path / "shared")
    second = make_orch(data_dir=tmp_path / "shared")
    cities = CITIES[:8]
    _together(
        [
            lambda c=c, o=o: o.process(f"I moved to {c}.", user_id="both")
            for c, o in zip(cities, [first, second] * 4, strict=True)
        ]
    )
    assert_one_current_home(first, "both", set(cities))


def test_first_calls_from_two_event_loops_both_open_the_stores(orch: Orchestrator, monkeypatch):
    """The first calls on an Orchestrator, made at once through its sync API (its own loop)
    and from another thread's event loop, both wait for one opening of the stores and
    complete: the second is woken on its own loop when the first has opened them."""
    services = services_of(orch)
    opening, arrivals = lifecycle.Opening.__call__, []
    waiting = threading.Event()  # the second caller is queued for the opening lock

    class Queue(deque):  # the opening lock's waiters: the second caller's arrival is seen
        def append(self, item: Any) -> None:
            super().append(item)
            waiting.set()

    name = ("octomem.open", str(services.settings.store_dir.resolve()))
    monkeypatch.setitem(locks._LOCKS, name, locks._LocalLock(waiters=Queue()))

    async def open_once(self: lifecycle.Opening) -> None:
        arrivals.append(asyncio.get_running_loop())
        await opening(self)

    journal_init = services.journal.init

    async def slow_journal_init() -> None:  # inside the first caller's opening
        assert await asyncio.to_thread(waiting.wait, 60), "the second caller never waited"
        await journal_init()

    monkeypatch.setattr(lifecycle.Opening, "__call__", open_once)
    monkeypatch.setattr(services.journal, "init", slow_journal_init)
    results: dict[str, Any] = {}

    def run(name: str, call: Callable[[], Any]) -> None:
        try:
            results[name] = call()
        except BaseException as exc:
            results[name] = exc

    callers = [
        threading.Thread(
            target=run, args=("sync", lambda: orch.process("I live in Oslo.", user_id="a"))
        ),
        threading.Thread(
            target=run,
            args=("async", lambda: asyncio.run(orch.aprocess("I live in Lima.", user_id="b"))),
        ),
    ]
    for caller in callers:
        caller.daemon = True  # a hung caller must not hang the test run
        caller.start()
    for caller in callers:
        caller.join(timeout=120)
    assert set(results) == {"sync", "async"}, f"a first call never finished: {results}"
    assert not [r for r in results.values() if isinstance(r, BaseException)], results
    assert len({id(loop) for loop in arrivals}) == 2
    assert [r.value for r in orch.get_all(user_id="b", memory_types=["semantic"])] == ["Lima"]


async def test_a_caller_cancelled_while_its_lease_claim_lands_leaves_no_lease(
    orch: Orchestrator,
) -> None:
    """A lease claim the graph has taken but whose answer the caller never saw (cancelled
    in between, e.g. by a timeout) is given back: the user's next writer, in any process,
    does not wait out the lease's TTL."""
    await orch.aprocess("warm up", user_id="warm")
    graph = services_of(orch).graph
    real = graph.acquire_lease
    landed = asyncio.Event()

    async def slow_answer(key: str, owner: str, ttl_s: float) -> bool:
        taken = await real(key, owner, ttl_s)
        landed.set()
        await asyncio.sleep(60)  # the claim is in the graph; the answer is on its way
        return taken

    graph.acquire_lease = slow_answer  # type: ignore[method-assign]
    try:
        task = asyncio.ensure_future(orch.aprocess("I live in Oslo.", user_id="claimer"))
        await asyncio.wait_for(landed.wait(), 60)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        graph.acquire_lease = real  # type: ignore[method-assign]
    assert await graph.acquire_lease(scope_key("claimer"), "another-process", 30)
