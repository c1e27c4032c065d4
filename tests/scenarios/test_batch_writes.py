"""`update_many` and `delete_many`: a batch is one write - every item checked before any
changes, one journaled intent, so a refused batch changes nothing and one cut short by a
failure is completed, whole, when the Orchestrator opens again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from octomem import InvalidInputError, NotFoundError, Orchestrator, StoreError
from octomem.langgraph import OctomemStore
from octomem.orchestrator.internals import services_of


def _facts(orch: Orchestrator, user: str, *texts: str) -> list[str]:
    """The semantic fact `process` extracted from each text, by id."""
    ids = []
    for text in texts:
        orch.process(text, user_id=user)
        [fact] = [
            m for m in orch.get_all(user_id=user, memory_types=["semantic"]) if m.id not in ids
        ]
        ids.append(fact.id)
    return ids


def _texts(orch: Orchestrator, ids: list[str]) -> list[str]:
    return [orch.get(memory_id).content for memory_id in ids]


def test_update_many_changes_every_memory_in_one_journaled_write(
    shared_orch: Orchestrator, uid: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    orch, user = shared_orch, uid("u")
    city, food = _facts(orch, user, "I live in Paris.", "My favourite food is sushi.")
    journal = services_of(orch).journal
    begun: list[Any] = []
    begin = journal.begin

    async def counted(intent: Any, **kw: Any) -> None:
        begun.append(intent)
        await begin(intent, **kw)

    monkeypatch.setattr(journal, "begin", counted)
    updated = orch.update_many(
        [
            (city, "The user lives in Lyon.", None),
            (food, None, {"checked": True}),
        ],
        user_id=user,
    )
    assert [m.id for m in updated] == [city, food]
    assert len(begun) == 1  # one intent: all of it or, after a crash, all of it again
    assert _texts(orch, [city, food])[0] == "The user lives in Lyon."
    assert orch.get(food).metadata["checked"] is True
    assert [e.operation.value for e in orch.history(city)] == ["ADD", "UPDATE"]
    again = orch.update_many([(city, "The user lives in Lyon.", None)], user_id=user)
    assert again[0].version == updated[0].version  # a retry changes nothing


BAD = {  # a second change that refuses the batch, given (city, food)
    "unknown": lambda city, food: ("sem_" + "0" * 24, "x", None),
    "too-long": lambda city, food: (city, "x" * 200_000, None),
    "empty": lambda city, food: (city, None, None),
    "twice": lambda city, food: (food, "The user likes pho.", None),
}


@pytest.mark.parametrize("bad", list(BAD))
def test_a_batch_refused_anywhere_changes_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str], bad: str
) -> None:
    orch, user = shared_orch, uid("u")
    city, food = _facts(orch, user, "I live in Paris.", "My favourite food is sushi.")
    before = _texts(orch, [city, food])
    batch = [(food, "The user likes ramen.", None), BAD[bad](city, food)]
    with pytest.raises((InvalidInputError, NotFoundError)) as refused:
        orch.update_many(batch, user_id=user)
    if bad == "too-long":
        assert f"memory {city}" in str(refused.value)
    assert _texts(orch, [city, food]) == before


def test_a_fact_and_its_edge_are_one_memory_to_a_batch(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """The knowledge edge rendered from a fact changes with the fact: named beside it in an
    update, the fact would change twice (refused); in a delete, both go once."""
    orch, user = shared_orch, uid("u")
    [city] = _facts(orch, user, "I live in Paris.")
    edges = [m for m in orch.get_all(user_id=user, memory_types=["knowledge"])]
    assert edges, "the fact renders a knowledge edge"
    edge = edges[0].id
    with pytest.raises(InvalidInputError, match="changed twice"):
        orch.update_many([(city, "The user lives in Lyon.", None), (edge, "x", None)])
    assert orch.get(city).content != "The user lives in Lyon."
    assert orch.delete_many([edge, city], user_id=user) == 1
    for memory_id in (city, edge):
        with pytest.raises(NotFoundError):
            orch.get(memory_id)


def test_delete_many_finds_every_id_before_deleting_any(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, user, other = shared_orch, uid("u"), uid("v")
    city, food = _facts(orch, user, "I live in Paris.", "My favourite food is sushi.")
    [theirs] = _facts(orch, other, "I live in Oslo.")
    with pytest.raises(NotFoundError):
        orch.delete_many([city, theirs], user_id=user)  # another user's: not found for this one
    with pytest.raises(NotFoundError):
        orch.delete_many([city, "sem_" + "0" * 24])
    assert len(_texts(orch, [city, food, theirs])) == 3
    with pytest.raises(InvalidInputError, match="list of ids"):
        orch.delete_many(city)  # type: ignore[arg-type]
    assert orch.delete_many([city, food], user_id=user) == 2


def test_a_batch_cut_short_is_completed_whole_when_reopened(
    make_orch: Callable[..., Orchestrator], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    orch = make_orch(data_dir=tmp_path / "om")
    city, food = _facts(orch, "ada", "I live in Paris.", "My favourite food is sushi.")
    vectors = services_of(orch).vector
    upsert = vectors.upsert

    async def failing(*args: Any, **kwargs: Any) -> None:
        raise StoreError("the vector store went away")

    monkeypatch.setattr(vectors, "upsert", failing)
    changes = [(city, "The user lives in Lyon.", None), (food, "The user likes ramen.", None)]
    with pytest.raises(StoreError):
        orch.update_many(changes, user_id="ada")
    monkeypatch.setattr(vectors, "upsert", upsert)
    orch.close()
    again = make_orch(data_dir=tmp_path / "om")
    assert _texts(again, [city, food]) == ["The user lives in Lyon.", "The user likes ramen."]


def test_a_store_items_text_is_refused_in_a_batch_too(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, user = shared_orch, uid("u")
    [city] = _facts(orch, user, "I live in Paris.")
    store = OctomemStore(orch)
    store.put(("memories", user), "prefs", {"content": "dark mode"})
    item = store.item_id(("memories", user), "prefs")
    with pytest.raises(InvalidInputError, match="item of OctomemStore"):
        orch.update_many([(city, "The user lives in Lyon.", None), (item, "light mode", None)])
    assert orch.get(city).content != "The user lives in Lyon."
    orch.update_many([(item, None, {"seen": True})])  # metadata may change
    assert orch.get(item).metadata == {"seen": True}
