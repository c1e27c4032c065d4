"""`octomem.stores.parsed`: records parsed once by the reads given one memo, never a stale
one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from octomem.models import MemoryBase, SemanticMemory, record_from_json
from octomem.stores import parsed


def _json(content: str) -> str:
    record = SemanticMemory(
        id="sem_1", user_id="u", content=content, subject="u", attribute="drink", value=content
    )  # the same fields, the same JSON
    record.created_at = record.updated_at = record.valid_from = datetime(2026, 1, 1, tzinfo=UTC)
    return record.model_dump_json()


def test_a_read_given_no_memo_parses() -> None:
    payload = _json("tea")
    first = parsed.record("sem_1", payload, record_from_json, None)
    assert parsed.record("sem_1", payload, record_from_json, None) is not first


def test_with_a_memo_the_same_json_is_parsed_once_and_changed_json_again() -> None:
    calls: list[str] = []

    def parse(payload: str) -> MemoryBase:
        calls.append(payload)
        return record_from_json(payload)

    old, new = _json("tea"), _json("coffee")
    memo = parsed.Memo()
    first = parsed.record("sem_1", old, parse, memo)
    assert parsed.record("sem_1", old, parse, memo) is first
    updated = parsed.record("sem_1", new, parse, memo)  # written meanwhile: parsed again
    assert updated.content == "coffee" and updated is not first
    assert parsed.record("sem_1", new, parse, memo) is updated
    assert calls == [old, new]
    assert parsed.record("sem_1", new, parse, parsed.Memo()) is not updated  # another memo


def test_a_memo_keeps_records_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsed, "MEMO_MAX", 2)
    memo = parsed.Memo()
    first = parsed.record("sem_1", _json("tea"), record_from_json, memo)
    assert parsed.record("sem_1", _json("tea"), record_from_json, memo) is first
    parsed.record("sem_2", _json("bike"), record_from_json, memo)
    memo.drop(lambda record: record.content == "bike")
    assert len(memo._records) == 1
    parsed.record("sem_2", _json("bike"), record_from_json, memo)
    parsed.record("sem_3", _json("oslo"), record_from_json, memo)  # past the bound: anew
    assert len(memo._records) == 1
    assert parsed.record("sem_1", _json("tea"), record_from_json, memo) is not first
