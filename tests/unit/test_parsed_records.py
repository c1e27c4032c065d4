"""`octomem.stores.parsed`: records parsed once per read scope, never a stale one."""

from __future__ import annotations

import asyncio

from octomem.models import MemoryBase, SemanticMemory, record_from_json
from octomem.stores import parsed


def _json(content: str) -> str:
    record = SemanticMemory(
        id="sem_1", user_id="u", content=content, subject="u", attribute="drink", value=content
    )
    return record.model_dump_json()


def test_outside_a_scope_every_read_parses() -> None:
    payload = _json("tea")
    first = parsed.record("sem_1", payload, record_from_json)
    assert parsed.record("sem_1", payload, record_from_json) is not first


async def test_within_a_scope_the_same_json_is_parsed_once_and_changed_json_again() -> None:
    calls: list[str] = []

    def parse(payload: str) -> MemoryBase:
        calls.append(payload)
        return record_from_json(payload)

    old, new = _json("tea"), _json("coffee")
    with parsed.sharing():
        first = parsed.record("sem_1", old, parse)

        async def read(payload: str) -> MemoryBase:  # a task the scope started shares it
            return parsed.record("sem_1", payload, parse)

        assert await asyncio.ensure_future(read(old)) is first
        updated = parsed.record("sem_1", new, parse)  # written meanwhile: parsed again
        assert updated.content == "coffee" and updated is not first
        assert parsed.record("sem_1", new, parse) is updated
    assert calls == [old, new]
    assert parsed.record("sem_1", new, parse) is not updated  # the scope is over
