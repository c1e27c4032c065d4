"""One large `process` call: its work grows linearly with its messages, and it holds no
store for longer than a slice of its writes (so another user's recall waits at most that).

Work is counted (filter evaluations, records per store call), never timed; the time is
measured by `python -m benchmarks.process_cost` (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from benchmarks.synthetic import facts
from octomem import Orchestrator, filters
from octomem.orchestrator.internals import services_of
from octomem.orchestrator.write.apply import WRITE_SLICE
from tests.conftest import T0


def _messages(count: int, seed: int) -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": text, "timestamp": T0 + timedelta(minutes=i)}
        for i, text in enumerate(facts(count, seed=seed))
    ]


def test_reconcile_work_grows_linearly_with_the_messages_of_one_call(
    shared_orch: Orchestrator, uid: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each candidate was checked against every record the call had decided before it
    (N^2 filter evaluations); now only against the records of its own conflict key."""
    evaluations = Counter[int]()  # fields of records read by filters
    reader = filters._record_reader

    def counted(field: str) -> Callable[[Any], Any]:
        read = reader(field)

        def reading(record: Any) -> Any:
            evaluations[size] += 1
            return read(record)

        return reading

    monkeypatch.setattr(filters, "_record_reader", counted)
    for size in (100, 200):
        result = shared_orch.process(_messages(size, seed=size), user_id=uid(f"big-{size}"))
        assert len(result.operations) >= 2  # facts and their edges: the call did its work
    # linear: twice the messages, about twice the work (it was four times)
    assert evaluations[200] < 2.5 * evaluations[100], evaluations


def test_a_large_call_writes_each_store_in_bounded_slices(
    shared_orch: Orchestrator, uid: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store call holds that store (the graph connection, Chroma's writer, a SQLite
    connection) for its whole length, and another user's recall waits for it: the writes
    of one call of 300 messages (over 1,000 records) come in slices of WRITE_SLICE."""
    services = services_of(shared_orch)
    sizes: list[tuple[str, int]] = []

    def spy(store: Any, name: str, size: Callable[..., int]) -> None:
        method = getattr(store, name)

        async def spied(*args: Any, **kwargs: Any) -> Any:
            sizes.append((name, size(*args, **kwargs)))
            return await method(*args, **kwargs)

        monkeypatch.setattr(store, name, spied)

    spy(services.vector, "upsert", lambda memory_type, records, embeddings, **_: len(records))
    spy(services.keyword, "upsert", lambda records, **_: len(records))
    spy(services.history, "record", lambda events, **_: len(events))
    spy(services.graph, "link_memories", lambda links, **_: len(links))
    spy(services.graph, "upsert_relations", lambda relations, **_: len(relations))

    shared_orch.process(_messages(300, seed=3), user_id=uid("big"))

    assert sum(n for name, n in sizes if name == "record") > 1000  # history events
    assert max(n for _, n in sizes) <= WRITE_SLICE, sorted(sizes, key=lambda s: -s[1])[:5]


def test_the_reads_a_call_makes_before_its_commit_go_out_together(
    shared_orch: Orchestrator, uid: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deciding each candidate reads its stored record by id, then its conflict-key rivals
    (or its nearest neighbours). On a Chroma server each read waits a round trip, and they
    went one after another: two a candidate. The records by id now come in one read per
    memory type, in flight with the rivals' reads; so too for a call of one fact. The user's
    name, which the turns are read with, is read beside the turns' records by id."""
    services = services_of(shared_orch)
    calls, most, in_flight = Counter[str](), Counter[str](), [0]
    flying, beside = Counter[str](), set[tuple[str, str]]()

    def watch(name: str) -> None:
        method = getattr(services.vector, name)

        async def watched(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            in_flight[0] += 1
            most[name] = max(most[name], in_flight[0])
            flying[name] += 1
            beside.update((name, other) for other in flying if other != name and flying[other])
            await asyncio.sleep(0)  # what was sent with it, sent before it is answered
            try:
                return await method(*args, **kwargs)
            finally:
                in_flight[0] -= 1
                flying[name] -= 1

        monkeypatch.setattr(services.vector, name, watched)

    for name in ("get", "list", "query"):
        watch(name)
    assert shared_orch.process(_messages(20, seed=5), user_id=uid("reads")).operations
    # the turns' and the candidates' records by id: a read a memory type (it was 37)
    assert calls["get"] <= 4, calls
    assert most["list"] >= 2, (calls, most)  # rivals read together (one at a time before)
    beside.clear()
    one = [{"role": "user", "content": "I live in Lisbon.", "timestamp": T0}]
    assert shared_orch.process(one, user_id=uid("one")).operations
    assert ("list", "get") in beside, beside  # the fact's rivals, beside its record by id
    beside.clear()  # a call with no fact: its turn by id, beside the user's name
    plain = "Elif recommended a sushi place near the station in Dublin."
    assert not shared_orch.process(plain, user_id=uid("one")).operations  # the raw turn only
    assert beside, calls


def _count(services: Any, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    calls = Counter[str]()
    for name in ("get", "list", "query"):
        method = getattr(services.vector, name)

        def watched(*args: Any, _m: Any = method, _n: str = name, **kwargs: Any) -> Any:
            calls[_n] += 1
            return _m(*args, **kwargs)

        monkeypatch.setattr(services.vector, name, watched)
    return calls


def test_a_call_made_again_reads_no_rivals_for_facts_already_stored(
    shared_orch: Orchestrator, uid: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conversation sent again whole (a retry, or an integration that sends the whole
    history each turn) gives the same candidates, each stored: each is decided by its
    record by id, so no rival or neighbour is read for it beforehand."""
    user = uid("again")
    messages = _messages(40, seed=7)
    first = shared_orch.process(messages, user_id=user)
    assert first.operations
    calls = _count(services_of(shared_orch), monkeypatch)
    again = shared_orch.process(messages, user_id=user)
    changed = [op for op in again.all_operations() if op.operation.value != "NOOP"]
    assert not changed, changed  # a replay: nothing to write
    # nothing is decided from a rival or a neighbour: every candidate is stored by its id
    assert calls["list"] + calls["query"] <= 8, calls


def test_a_new_fact_waits_on_two_rounds_of_reads_before_its_commit(
    shared_orch: Orchestrator, uid: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a Chroma server each round of reads is a round trip the call waits on. Before a
    new fact's commit there are two: the turn with the user's name, then the fact's record
    and rivals with what its views are rendered from (the facts about the user, the stored
    core block and the fact's knowledge view), read while it is decided; the views' reads
    were a third round of their own. (Rounds are counted, not timed.)"""
    services = services_of(shared_orch)
    ended: list[int] = []  # the round of each read that has come back
    before: list[int] = []  # the round of each read begun before the first write
    writing = [False]

    def watch(name: str) -> None:
        method = getattr(services.vector, name)

        async def watched(*args: Any, **kwargs: Any) -> Any:
            # the round trips it waited on: one more than any read back before it began
            depth = 1 + max(ended, default=0)
            if name == "upsert":
                writing[0] = True
            elif not writing[0]:
                before.append(depth)
            await asyncio.sleep(0.05)  # a server's round trip, longer than the work beside it
            try:
                return await method(*args, **kwargs)
            finally:
                ended.append(depth)

        monkeypatch.setattr(services.vector, name, watched)

    for name in ("get", "list", "query", "upsert"):
        watch(name)
    one = [{"role": "user", "content": "My sister Nora Moreau works at Fiat.", "timestamp": T0}]
    result = shared_orch.process(one, user_id=uid("rounds"))
    written = {op.memory_type.value for op in result.all_operations()}
    assert {"semantic", "knowledge", "core"} <= written, written  # a fact and its views
    assert writing[0]
    assert max(before) == 2, before
