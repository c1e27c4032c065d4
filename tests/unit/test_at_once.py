"""`at_once`: independent awaits run together, and none is left running when one fails."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import warnings

import pytest

from octomem.at_once import at_once, together


def test_results_come_in_order_and_at_most_limit_run_at_once() -> None:
    running, most = [0], [0]

    async def call(value: int) -> int:
        running[0] += 1
        most[0] = max(most[0], running[0])
        await asyncio.sleep(0)
        running[0] -= 1
        return value

    assert asyncio.run(at_once([call(i) for i in range(10)], limit=3)) == list(range(10))
    assert most[0] == 3
    assert asyncio.run(together(call(1), call(2), call(3))) == (1, 2, 3)
    assert most[0] == 3


def test_a_failure_is_raised_after_every_other_call_has_ended() -> None:
    ended: list[str] = []

    async def fails() -> None:
        raise ValueError("first")

    async def slow() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        ended.append("slow")

    with pytest.raises(ValueError, match="first"):
        asyncio.run(at_once([fails(), slow()]))
    assert ended == ["slow"]  # gather alone would have raised with it still running


def test_cancelling_the_caller_ends_every_call_and_closes_those_not_begun() -> None:
    """A call cancelled (a client gone, a timeout) while its reads are in flight: each read
    is cancelled with it, none keeps running after it, and those still waiting for the
    gate are closed, not left to warn "coroutine ... was never awaited"."""
    started: list[int] = []
    ended: list[int] = []

    async def read(i: int) -> int:
        started.append(i)
        try:
            await asyncio.sleep(10)
        finally:
            ended.append(i)
        return i

    async def main() -> None:
        task = asyncio.ensure_future(at_once([read(i) for i in range(5)], limit=2))
        for _ in range(5):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # nothing left: every started read ended, none started after the cancel
        assert sorted(ended) == sorted(started) == [0, 1], (started, ended)
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(main())
        gc.collect()
    never = [w for w in caught if "never awaited" in str(w.message)]
    assert never == [], [str(w.message) for w in never]
