"""`at_once`: independent awaits run together, and none is left running when one fails."""

from __future__ import annotations

import asyncio

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
