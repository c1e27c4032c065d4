"""`Judged`: what a store's searches judged of an entry, kept while its JSON is the same."""

from __future__ import annotations

import pytest

from octomem.models import MemoryBase, MemoryType, SemanticMemory, make_memory_id, record_from_json
from octomem.stores import judged as judged_module
from octomem.stores.judged import Judged


def _payload(user: str, value: str) -> tuple[str, str]:
    record = SemanticMemory(
        id=make_memory_id(MemoryType.SEMANTIC, "ana", "city"),
        user_id=user,
        content=f"lives in {value}",
        subject="ana",
        attribute="city",
        value=value,
    )
    return record.id, record.model_dump_json()


def test_each_entry_is_parsed_and_each_filter_checked_once_while_its_json_stays() -> None:
    judged = Judged()
    parses: list[str] = []
    entry_id, lisbon = _payload("ana", "Lisbon")

    def parse(payload: str) -> MemoryBase:
        parses.append(payload)
        return record_from_json(payload)

    def is_ana(record: MemoryBase) -> bool:
        return record.user_id == "ana"

    def is_bob(record: MemoryBase) -> bool:
        return record.user_id == "bob"

    assert judged.matches(entry_id, lisbon, lambda: parse(lisbon), "ana", is_ana) is not None
    assert judged.matches(entry_id, lisbon, lambda: parse(lisbon), "bob", is_bob) is None
    assert judged.matches(entry_id, lisbon, lambda: parse(lisbon), "ana", lambda r: False)
    assert len(parses) == 1  # the verdict of "ana" was kept: the check above never ran
    _, moved = _payload("bob", "Lisbon")  # rewritten: parsed and judged anew
    assert judged.matches(entry_id, moved, lambda: parse(moved), "ana", is_ana) is None
    assert judged.matches(entry_id, moved, lambda: parse(moved), "bob", is_bob) is not None
    assert len(parses) == 2
    judged.forget([entry_id])
    assert not judged._entries


def test_it_holds_at_most_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(judged_module, "JUDGED_MAX", 3)
    judged = Judged()
    for n in range(7):
        entry_id, payload = _payload(f"u{n}", str(n))
        judged.matches(f"{entry_id}{n}", payload, lambda p=payload: record_from_json(p), "k", bool)
        assert len(judged._entries) <= 3
