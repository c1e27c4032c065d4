"""What the project tests check on every backend: Orchestrators of several projects on the
same data directory (and, in server mode, the same servers) holding the same user and the
same texts, and none of them reaching, finding or changing another's memories.

`world` fills each project; the `assert_*` functions check one guarantee each and leave
the stores as they found them unless their name says otherwise.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable, Collection, Mapping

import pytest

from octomem import NotFoundError, Orchestrator
from octomem.models import MemoryBase, Relation
from octomem.orchestrator.internals import services_of

USER = "alice"
TALK = [
    {"role": "user", "content": "Hi, I'm Alice. I live in Paris and I love jazz."},
    {"role": "assistant", "content": "Nice to meet you, Alice!"},
]
WRITER = "writer"  # the user of `write_interleaved`
MOVE = "I moved to Lisbon."  # a superseded fact, and a relation invalidated in the graph


def fill(orchs: Mapping[str, Orchestrator], user: str = USER) -> None:
    """The same conversations, by the same user, in every project."""
    for orch in orchs.values():
        orch.process(TALK, user_id=user, session_id="s1")
        orch.process(MOVE, user_id=user, session_id="s2")


def everything(orch: Orchestrator, user: str = USER) -> dict[str, MemoryBase]:
    return {r.id: r for r in orch.get_all(user_id=user, include_superseded=True)}


def contents(orch: Orchestrator, user: str = USER) -> list[tuple[str, str, bool]]:
    """What a project holds for `user`, without ids: equal in projects given equal input."""
    return sorted(
        (r.memory_type.value, r.content, r.is_current)
        for r in orch.get_all(user_id=user, include_superseded=True)
    )


def snapshot(orch: Orchestrator, user: str = USER) -> tuple[object, ...]:
    """Everything a project shows of `user`: records, their history, stats, graph."""
    records = everything(orch, user)
    histories = {i: [e.model_dump() for e in orch.history(i)] for i in records}
    return (records, histories, orch.stats(user_id=user), _relations(orch, user))


def _relations(orch: Orchestrator, user: str) -> list[Relation]:
    graph = services_of(orch).graph
    return orch.run_sync(graph.relations(user))


def assert_same_content_other_ids(orchs: Mapping[str, Orchestrator]) -> None:
    ids = {name: set(everything(orch)) for name, orch in orchs.items()}
    held = {name: contents(orch) for name, orch in orchs.items()}
    first = next(iter(held.values()))
    assert first and all(value == first for value in held.values()), held
    names = list(ids)
    for i, name in enumerate(names):
        for other in names[i + 1 :]:
            assert not ids[name] & ids[other], (name, other)


def _unknown(memory_id: str) -> str:
    """An id of the same shape that no project holds."""
    return memory_id[:-4] + ("0000" if not memory_id.endswith("0000") else "1111")


def _by_id(orch: Orchestrator) -> dict[str, Callable[[str], object]]:
    """Every call that takes a memory id, with and without the user."""
    return {
        "get": lambda i: orch.get(i),
        "get as user": lambda i: orch.get(i, user_id=USER),
        "update": lambda i: orch.update(i, "Changed by another project."),
        "update as user": lambda i: orch.update(i, "Changed.", user_id=USER),
        "delete": lambda i: orch.delete(i),
        "delete as user": lambda i: orch.delete(i, user_id=USER),
        "history": lambda i: orch.history(i),
        "history as user": lambda i: orch.history(i, user_id=USER),
    }


def assert_no_reach_by_id(orchs: Mapping[str, Orchestrator]) -> None:
    """Every id of one project, given to another, answers exactly like an unknown id
    (same error type and message), with and without the user, and changes nothing."""
    before = {name: snapshot(orch) for name, orch in orchs.items()}
    reached = []
    for name, orch in orchs.items():
        for other, other_orch in orchs.items():
            if other == name:
                continue
            for memory_id in everything(other_orch):
                missing = _unknown(memory_id)
                for op, call in _by_id(orch).items():
                    with pytest.raises(NotFoundError) as unknown:
                        call(missing)
                    try:
                        call(memory_id)
                    except NotFoundError as exc:
                        assert str(exc) == str(unknown.value).replace(missing, memory_id), op
                    else:
                        reached.append((name, op, other, memory_id))
    assert reached == []
    assert {name: snapshot(orch) for name, orch in orchs.items()} == before


def assert_recall_finds_own(orchs: Mapping[str, Orchestrator]) -> None:
    for name, orch in orchs.items():
        own = set(everything(orch))
        result = orch.recall("Where does Alice live? What music does she like?", user_id=USER)
        found = {hit.memory.id for hit in result.hits} | {b.id for b in result.core}
        assert found and found <= own, name


def assert_export_is_own(orchs: Mapping[str, Orchestrator]) -> dict[str, str]:
    """Each project's export holds its own ids only; returns the exports."""
    exports = {}
    for name, orch in orchs.items():
        buffer = io.StringIO()
        orch.export_jsonl(buffer)
        exports[name] = buffer.getvalue()
        own = set(everything(orch))
        lines = [json.loads(line) for line in exports[name].splitlines() if line.strip()]
        assert lines[0]["type"] == "header"
        exported = {line["id"] for line in lines if line["type"] == "memory"}
        assert exported == own, name
        for other, other_orch in orchs.items():
            if other != name:
                assert not set(everything(other_orch)) & set(_ids_in(exports[name]))
    return exports


def _ids_in(export: str) -> set[str]:
    found: set[str] = set()
    for line in export.splitlines():
        if line.strip():
            _collect(json.loads(line), found)
    return found


def _collect(value: object, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and isinstance(item, str):
                found.add(item)
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)


def assert_clean(orchs: Mapping[str, Orchestrator], shared: Collection[str] = ()) -> None:
    """The doctor of each project finds its stores in agreement: no memory of another
    project shows up as an orphan (extra) anywhere. The projects named in `shared` hold a
    namespace that other tests on the same servers use too (the default project's): their
    graph may hold those tests' memories, never ours."""
    ids = {name: _all_ids(orch) for name, orch in orchs.items()}
    for name, orch in orchs.items():
        report = orch.check()
        problems = {s.store: (s.missing, s.extra, s.stale) for s in report.stores}
        assert report.remaining == 0, (name, problems)
        for store, (missing, extra, stale) in problems.items():
            assert missing == stale == [], (name, store, problems)
            foreign = set().union(*(found for other, found in ids.items() if other != name))
            assert not set(extra) & foreign, (name, store, extra)
            assert name in shared or extra == [], (name, store, extra)


def _all_ids(orch: Orchestrator) -> set[str]:
    return {i for user in (USER, WRITER) for i in everything(orch, user)}


def assert_erasing_one_leaves_others(
    orchs: Mapping[str, Orchestrator], erase: str, how: str, shared: Collection[str] = ()
) -> None:
    """`how` ("delete_all", "forget", "reset") in project `erase`: it holds nothing of the
    user afterwards, every other project exactly what it held."""
    others = {name: snapshot(orch) for name, orch in orchs.items() if name != erase}
    target = orchs[erase]
    if how == "delete_all":
        target.delete_all(user_id=USER)
        assert not [r for r in everything(target).values() if r.is_current]
    elif how == "forget":
        target.forget(user_id=USER)
        assert everything(target) == {}
        assert _relations(target, USER) == []
    else:
        target.reset()
        assert everything(target) == {}
        assert _relations(target, USER) == []
    assert {name: snapshot(orch) for name, orch in orchs.items() if name != erase} == others
    assert_clean(orchs, shared)


def write_interleaved(orchs: Mapping[str, Orchestrator], notes: int = 4) -> None:
    """Threads writing to every project at once: each its own notes, tagged with the
    project; then each project holds exactly its own."""
    errors: list[BaseException] = []

    def work(name: str, orch: Orchestrator, thread: int) -> None:
        try:
            for n in range(notes):
                text = f"Note {name}-{thread}-{n}: the {name} kettle number {thread}{n}."
                orch.process(text, user_id=WRITER, session_id=f"{name}-{thread}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(name, orch, t))
        for name, orch in orchs.items()
        for t in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert errors == []
    for name, orch in orchs.items():
        held = everything(orch, WRITER).values()
        tags = {tag for r in held for tag in re.findall(r"Note (\S+):", r.content)}
        expected = {f"{name}-{t}-{n}" for t in range(2) for n in range(notes)}
        assert tags == expected, (name, tags)
