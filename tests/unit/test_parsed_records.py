"""`octomem.stores.parsed`: records parsed once per read scope, never a stale one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from octomem.models import MemoryBase, SemanticMemory, record_from_json
from octomem.stores import parsed


def _json(content: str) -> str:
    record = SemanticMemory(
        id="sem_1", user_id="u", content=content, subject="u", attribute="drink", value=content
    )  # the same fields, the same JSON
    record.created_at = record.updated_at = record.valid_from = datetime(2026, 1, 1, tzinfo=UTC)
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


def test_a_memo_keeps_records_for_later_scopes_within_its_bound() -> None:
    memo = parsed.Memo(max_records=2)
    with parsed.sharing(memo):
        first = parsed.record("sem_1", _json("tea"), record_from_json)
    with parsed.sharing(memo):
        assert parsed.record("sem_1", _json("tea"), record_from_json) is first
        parsed.record("sem_2", _json("bike"), record_from_json)
        memo.drop(lambda record: record.content == "bike")
        assert len(memo) == 1
        parsed.record("sem_2", _json("bike"), record_from_json)
        parsed.record("sem_3", _json("oslo"), record_from_json)  # past the bound: anew
        assert len(memo) == 1
        assert parsed.record("sem_1", _json("tea"), record_from_json) is not first
