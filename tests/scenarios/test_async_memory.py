"""`AsyncMemory`, mem0's async facade: the calls of `Memory`, awaited, with the same results
and the same errors; concurrent calls side by side."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from octomem import AsyncMemory, InvalidInputError, Memory, NotFoundError, Orchestrator

# what differs between two runs of the same calls for two users: ids, times, the user
_VARYING = {"id", "memory_id", "user_id", "hash", "score", "derived_from"}
_VARYING |= {"created_at", "updated_at", "valid_from", "valid_to"}


def _shape(result: Any, user: str) -> Any:
    """A result without what differs between users and runs (the user's name in texts
    becomes "<user>")."""
    if isinstance(result, dict):
        return {k: _shape(v, user) for k, v in result.items() if k not in _VARYING}
    if isinstance(result, list):
        return [_shape(v, user) for v in result]
    if isinstance(result, str):
        return result.replace(user, "<user>")
    return result


def _listed(result: dict[str, Any]) -> dict[str, Any]:
    """A get_all result in an order of its texts: memories written by one call share their
    times, and among those the order follows their ids, which differ from user to user."""
    ordered = sorted(result["results"], key=lambda m: (m["memory_type"], m["memory"]))
    return {**result, "results": ordered}


async def _script(call: Callable[..., Any], user: str) -> list[Any]:
    """Memory's test calls, one after another; `call(name, *args, **kwargs)` runs a method
    of one facade and returns its result."""
    results = []
    added = await call(
        "add",
        [{"role": "user", "content": "I'm Bob. I live in Lisbon and I love surfing."}],
        user_id=user,
        metadata={"category": "profile"},
    )
    results.append(added)
    results.append(await call("add", "I work at Initech.", user_id=user, run_id="r1"))
    results.append(await call("add", "I work at Globex now.", user_id=user, run_id="r2"))
    results.append(await call("add", "Note: buy oat milk", user_id=user, infer=False))
    found = await call("search", "where does bob live", user_id=user, limit=5)
    results.append(found)
    first = found["results"][0]["id"]
    results.append(await call("get", first))
    results.append(await call("update", first, "Bob lives in Porto."))
    results.append(await call("history", first))
    results.append(_listed(await call("get_all", user_id=user, filters={"category": "profile"})))
    results.append(await call("search", "work", user_id=user, run_id="r2", threshold=0.1))
    results.append(await call("delete", first))
    results.append(await call("history", first))
    results.append(await call("delete_all", user_id=user, run_id="r1"))
    results.append(_listed(await call("get_all", user_id=user)))
    return results


async def test_the_same_calls_give_the_same_results(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    sync, amem = Memory(shared_orch), AsyncMemory(shared_orch)

    async def blocking(name: str, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(getattr(sync, name), *args, **kwargs)

    async def awaited(name: str, *args: Any, **kwargs: Any) -> Any:
        return await getattr(amem, name)(*args, **kwargs)

    one, other = uid("bob"), uid("rob")
    expected = await _script(blocking, one)
    got = await _script(awaited, other)
    assert _shape(got, other) == _shape(expected, one)
    assert any("Lisbon" in i["memory"] for i in got[0]["results"])
    assert [h["event"] for h in got[-3]][-2:] == ["UPDATE", "DELETE"]


def test_the_methods_and_signatures_are_memorys() -> None:
    public = {n for n in dir(Memory) if not n.startswith("_")} - {"close"}
    assert public <= {n for n in dir(AsyncMemory) if not n.startswith("_")}
    for name in public - {"from_config", "orchestrator"}:
        sync, coro = getattr(Memory, name), getattr(AsyncMemory, name)
        assert inspect.iscoroutinefunction(coro) and not inspect.iscoroutinefunction(sync)
        assert inspect.signature(sync) == inspect.signature(coro), name


async def test_concurrent_adds_for_different_users(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    memory = AsyncMemory(shared_orch)
    cities = ["Oslo", "Rome", "Lima", "Kyoto", "Quito", "Cairo"]
    users = [uid(f"user{i}") for i in range(len(cities))]
    added = await asyncio.gather(
        *[memory.add(f"I live in {c}.", user_id=u) for u, c in zip(users, cities, strict=True)]
    )
    assert all(a["results"] for a in added)
    found = await asyncio.gather(*[memory.search("where do I live", user_id=u) for u in users])
    for city, user, result in zip(cities, users, found, strict=True):
        texts = [i["memory"] for i in result["results"]]
        assert any(city in t for t in texts), (user, texts)
        assert not any(other in t for t in texts for other in cities if other != city)
        assert {i["user_id"] for i in result["results"]} == {user}


async def test_errors_are_the_same_octomem_errors(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    sync, amem = Memory(shared_orch), AsyncMemory(shared_orch)
    bob = uid("bob")
    missing = (await amem.add("Note: hello", user_id=bob, infer=False))["results"][0]["id"]
    await amem.delete(missing)
    cases: list[tuple[str, tuple[Any, ...], dict[str, Any], type[Exception]]] = [
        ("delete_all", (), {}, InvalidInputError),
        ("search", ("x",), {"user_id": bob, "threshold": 2}, InvalidInputError),
        ("search", ("x",), {"user_id": bob, "run_id": 7}, InvalidInputError),
        ("add", ("",), {"user_id": bob}, InvalidInputError),
        ("add", ("hi",), {"user_id": bob, "memory_type": "dream_memory"}, InvalidInputError),
        ("get", ("no-such-id",), {}, NotFoundError),
        ("get", ("",), {}, InvalidInputError),
        ("get", (missing,), {}, NotFoundError),
        ("update", (missing, "new"), {}, NotFoundError),
        ("get", (missing,), {"user_id": uid("eve")}, NotFoundError),
    ]
    for name, args, kwargs, error in cases:
        with pytest.raises(error) as from_sync:
            await asyncio.to_thread(getattr(sync, name), *args, **kwargs)
        with pytest.raises(error) as from_async:
            await getattr(amem, name)(*args, **kwargs)
        assert str(from_async.value) == str(from_sync.value), name


async def test_from_config_and_async_with(tmp_path: Any, embedder: Any) -> None:
    async with await AsyncMemory.from_config(data_dir=tmp_path / "om") as memory:
        await memory.add("I live in Oslo.", user_id="ann")
        assert (await memory.get_all(user_id="ann"))["results"]
        await memory.reset()
        assert (await memory.get_all(user_id="ann"))["results"] == []
    with pytest.raises(InvalidInputError):  # closed: refused, as the Orchestrator's calls
        await memory.get_all(user_id="ann")
