"""`Orchestrator.browse`: a user's memories a page at a time, newest first, by status -
the same memories `get_all` reads whole, never another user's, in embedded and server
mode, and with writes of other callers in flight."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest

from octomem import Orchestrator
from octomem.errors import InvalidInputError
from octomem.models import MemoryBase, MemoryType
from tests.conftest import T0


@pytest.fixture(params=["embedded", "server"])
def either(request: pytest.FixtureRequest, make_orch: Any) -> Orchestrator:
    if request.param == "server":
        return make_orch(**request.getfixturevalue("server_stores"))  # type: ignore[no-any-return]
    return make_orch()  # type: ignore[no-any-return]


def newest_first(records: list[MemoryBase]) -> list[str]:
    return [r.id for r in sorted(records, key=lambda r: (r.created_at, r.id), reverse=True)]


def every_page(orch: Orchestrator, memory_type: str, status: str, size: int) -> list[str]:
    ids: list[str] = []
    while page := orch.browse(
        user_id="ana", memory_type=memory_type, status=status, offset=len(ids), limit=size
    ).records:
        ids += [r.id for r in page]
    return ids


def test_pages_hold_what_get_all_holds_newest_first_by_status(either: Orchestrator) -> None:
    orch = either
    said = ["I live in Paris.", "I work at Acme.", "I moved to Berlin.", "My dog is Rex."]
    for day, text in enumerate(said):
        orch.process(text, user_id="ana", timestamp=T0 + timedelta(days=day))
    orch.process("I live in Oslo and like jazz.", user_id="bob")
    current = orch.get_all(user_id="ana")
    everything = orch.get_all(user_id="ana", include_superseded=True)
    past = [r for r in everything if r.id not in {c.id for c in current}]
    assert past, "the move to Berlin supersedes Paris"
    for memory_type in ("episodic", "semantic"):
        mine = [r for r in current if r.memory_type == memory_type]
        old = [r for r in past if r.memory_type == memory_type]
        assert every_page(orch, memory_type, "current", 2) == newest_first(mine)
        assert every_page(orch, memory_type, "past", 1) == newest_first(old)
        assert every_page(orch, memory_type, "all", 3) == newest_first(mine) + newest_first(old)
    page = orch.browse(user_id="ana", memory_type="semantic", status="all", limit=1)
    kinds = {r.memory_type for r in everything}
    assert {t for t, c in page.counts.items() if c.current + c.past} == {t.value for t in kinds}
    for kind in kinds:
        counts = page.counts[kind.value]
        assert counts.current == sum(r.memory_type == kind for r in current)
        assert counts.past == sum(r.memory_type == kind for r in past)
    assert page.total == page.counts["semantic"].current + page.counts["semantic"].past
    assert len(page.records) == 1 and page.records[0].memory_type == MemoryType.SEMANTIC
    # bob's memories are his: ana's pages never hold one, and bob's hold none of hers
    bobs = orch.browse(user_id="bob", memory_type="episodic", status="all").records
    assert bobs and {r.user_id for r in bobs} == {"bob"}
    # a user forgotten has nothing left to page through
    orch.forget(user_id="ana")
    gone = orch.browse(user_id="ana", memory_type="semantic", status="all")
    assert gone.records == [] and gone.total == 0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"user_id": ""}, "user_id"),
        ({"user_id": 7}, "user_id"),
        ({"memory_type": "feelings"}, "feelings"),
        ({"memory_type": ["semantic", "episodic"]}, "one memory type"),
        ({"status": "deleted"}, "status"),
        ({"offset": -1}, "offset"),
        ({"offset": True}, "offset"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
    ],
)
def test_bad_arguments_are_refused_with_what_is_wrong(
    orch: Orchestrator, arguments: dict[str, Any], message: str
) -> None:
    given = {"user_id": "ana", "memory_type": "semantic", **arguments}
    with pytest.raises(InvalidInputError, match=message):
        orch.browse(**given)


def test_pages_read_while_others_write_hold_only_the_users_own(either: Orchestrator) -> None:
    """Writers for ana and bob run while ana's pages are read: every page holds ana's
    memories only, each at most once, newest first."""
    orch = either
    orch.process("I live in Paris.", user_id="ana")
    stop, errors = threading.Event(), []

    def write(user: str) -> None:
        n = 0
        while not stop.is_set() and n < 15:
            try:
                orch.process(f"Note {n}: I bought {n} apples.", user_id=user)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            n += 1

    writers = [threading.Thread(target=write, args=(u,)) for u in ("ana", "bob")]
    for thread in writers:
        thread.start()
    try:
        for _ in range(20):
            page = orch.browse(user_id="ana", memory_type="episodic", status="all", limit=10)
            ids = [r.id for r in page.records]
            assert {r.user_id for r in page.records} <= {"ana"}
            assert len(ids) == len(set(ids))
            assert [r.id for r in page.records if r.is_current] == newest_first(
                [r for r in page.records if r.is_current]
            )
    finally:
        stop.set()
        for thread in writers:
            thread.join()
    assert not errors
    final = every_page(orch, "episodic", "all", 7)
    assert final == newest_first(orch.get_all(user_id="ana", memory_types=["episodic"]))
