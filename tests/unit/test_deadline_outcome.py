"""What an answer sent before a request's writes ended says of them: only what is true
(nothing started, stored, failed, or still running - then how to find out), and a write
that fails after its request was answered is logged, never left to asyncio's "Task
exception was never retrieved"."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from octomem.errors import StoreUnavailableError
from octomem.service import context, outcome
from octomem.stores import causal

WHY = "the request ran longer than 2 s"


async def _answer(write: object | None) -> tuple[str, asyncio.Future[object] | None]:
    """Start a request, maybe a write (a coroutine), and answer it at once."""
    info = context.RequestInfo(request_id="req-1")
    causal.begin(info)
    task = None
    if write is not None:
        task = asyncio.ensure_future(write)  # type: ignore[arg-type]
        outcome.started(task)
        await asyncio.sleep(0)  # it runs until it waits
    return outcome.cut_off(info, WHY), task


async def _stored() -> str:
    return "ok"


async def _fails() -> None:
    raise StoreUnavailableError("Chroma server at 127.0.0.1:1 did not answer")


def test_nothing_started_says_nothing_was_stored() -> None:
    detail, _ = asyncio.run(_answer(None))
    assert detail.startswith(WHY) and "nothing was stored" in detail


def test_a_finished_write_says_stored_and_a_failed_one_not_completed() -> None:
    detail, _ = asyncio.run(_answer(_stored()))
    assert "is stored" in detail
    detail, _ = asyncio.run(_answer(_fails()))
    assert "failed (StoreUnavailableError" in detail and "was not completed" in detail
    assert "is stored" not in detail


def test_a_running_write_is_unknown_and_its_failure_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> str:
        release = asyncio.Event()

        async def slow_then_fails() -> None:
            await release.wait()
            raise StoreUnavailableError("the graph server did not answer")

        detail, task = await _answer(slow_then_fails())
        release.set()
        assert task is not None
        await asyncio.wait([task])
        return detail

    caplog.set_level(logging.INFO)  # asyncio reports an unread exception at ERROR
    detail = asyncio.run(scenario())
    gc.collect()  # an unread task exception would be reported now
    assert "not known yet" in detail and "req-1" in detail and "completed" not in detail
    assert "same request again" in detail
    said = [r.getMessage() for r in caplog.records]
    assert any("failed; it was not completed" in line for line in said), said
    assert not any("never retrieved" in line for line in said), said
