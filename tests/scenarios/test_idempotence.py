"""Retries change nothing: the same process() call made again - with or without
timestamps, right away or after later calls - adds no record, no history event and no
superseded copy."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from benchmarks.synthetic import memories
from octomem import Operation, Orchestrator
from octomem.agents.semantic.prompt import Fact, SemanticOutput
from octomem.demo import load_sample
from octomem.orchestrator.internals import services_of
from octomem.prompts.extraction import ExtractionOutput
from octomem.prompts.reconcile import Decision, DecisionOutput
from octomem.testing import ScriptedModel, from_extraction
from tests.conftest import T0

FACTS = [
    "Hi, I'm Dana. I live in Paris and I work at Acme.",
    "My favourite food lately is sushi.",
    "I moved to Berlin last week!",
    "My favourite food lately is ramen.",
    "I'm working on the tax report today.",
    "To deploy: 1. run the tests 2. build the image 3. push it",
]


def _conversation(count: int) -> list[dict[str, Any]]:
    said = memories(count, seed=5)
    for i, fact in enumerate(FACTS):
        said[i * (count // len(FACTS))] = fact
    return [{"role": "user", "content": text} for text in said]


def _everything(orch: Orchestrator, user: str) -> tuple[list[Any], Counter[str]]:
    records = sorted(
        (r.id, r.content_hash, r.valid_to, r.superseded_by, r.version, r.updated_at)
        for r in orch.get_all(user_id=user, include_superseded=True)
    )
    events = orch.run_sync(services_of(orch).history.for_user(user))
    return records, Counter(e.id for e in events)


def _homes(*said: tuple[str, str, int]) -> ExtractionOutput:
    """A model's reading: where the user lives, as (city, statement, turn) each."""
    facts = [
        Fact(subject="user", attribute="lives_in", value=city, statement=text, source_turns=[at])
        for city, text, at in said
    ]
    return ExtractionOutput(semantic=SemanticOutput(facts=facts))


@pytest.mark.parametrize("timestamps", [False, True], ids=["no-timestamps", "timestamps"])
def test_the_same_call_again_changes_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str], timestamps: bool
) -> None:
    orch, u = shared_orch, uid("u")
    messages = _conversation(300)
    kwargs: dict[str, Any] = {"user_id": u, "session_id": "s"}
    if timestamps:
        kwargs["timestamp"] = T0
    first = orch.process(messages, **kwargs)
    assert first.count(Operation.ADD) > 0
    after_first = _everything(orch, u)
    for _ in range(2):
        again = orch.process(messages, **kwargs)
        assert again.turn_memory_ids == first.turn_memory_ids
        assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
        assert _everything(orch, u) == after_first


def test_an_earlier_call_made_again_after_later_ones_changes_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """Sessions of the demo in order (a move supersedes, a block is rewritten), then each
    session again: what later sessions changed is not undone."""
    sample = load_sample()
    orch, user = shared_orch, uid(sample["user_id"])
    for session in sample["sessions"]:
        orch.process(session["messages"], user_id=user, session_id=session["session_id"])
    state = _everything(orch, user)
    for session in [*sample["sessions"], sample["sessions"][0]]:
        result = orch.process(session["messages"], user_id=user, session_id=session["session_id"])
        assert {op.operation.value for op in result.all_operations()} == {"NOOP"}
        assert _everything(orch, user) == state


@pytest.mark.parametrize("timestamps", [False, True], ids=["no-timestamps", "timestamps"])
def test_a_call_that_restated_a_fact_made_again_after_a_move_keeps_the_move(
    shared_orch: Orchestrator, uid: Callable[[str], str], timestamps: bool
) -> None:
    """The restatement was a NOOP against the fact current then; made again after a later
    call superseded that fact, it is still one (not a move back), and the same words in a
    new message are one."""
    orch, u = shared_orch, uid("u")

    def said(text: str, session: str, day: int) -> Any:
        at = {"timestamp": T0 + timedelta(days=day)} if timestamps else {}
        return orch.process(text, user_id=u, session_id=session, **at)

    def homes() -> list[tuple[str, bool]]:
        found = orch.get_all(user_id=u, memory_types=["semantic"], include_superseded=True)
        return sorted((r.value, r.is_current) for r in found if r.attribute == "lives_in")

    said("I live in Paris.", "a", 1)
    said("I live in Paris, by the way.", "b", 2)
    said("I moved to Kyoto.", "c", 3)
    state = _everything(orch, u)
    again = said("I live in Paris, by the way.", "b", 2)
    assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
    assert _everything(orch, u) == state
    assert homes() == [("Kyoto", True), ("Paris", False)]
    said("I live in Paris again.", "d", 4)  # said anew: true again
    assert ("Paris", True) in homes() and ("Kyoto", False) in homes()


def test_a_call_made_again_after_the_users_name_was_learned_changes_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """The restatement, made again once the rules know the user's name, would now read
    "Dana lives in Paris.": the rules read that turn before, so it is a NOOP, alone or in
    the whole thread sent again with a new message (which is read)."""
    orch, u = shared_orch, uid("u")
    thread = [
        {"role": "user", "content": text, "id": f"m{i}"}
        for i, text in enumerate(
            ["I live in Paris.", "I live in Paris, by the way.", "My name is Dana."]
        )
    ]
    for message in thread:
        orch.process([message], user_id=u)
    state = _everything(orch, u)
    again = orch.process([thread[1]], user_id=u)
    assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
    assert _everything(orch, u) == state
    whole = orch.process(
        [*thread, {"role": "user", "content": "I work at Acme.", "id": "m3"}], user_id=u
    )
    changed = [op for op in whole.all_operations() if op.operation is not Operation.NOOP]
    assert changed and all("Acme" in op.text for op in changed), changed
    semantic = {r.content for r in orch.get_all(user_id=u, memory_types=["semantic"])}
    assert "The user lives in Paris." in semantic and "Dana lives in Paris." not in semantic


def test_a_retraction_followed_by_the_fact_in_one_call_made_again_changes_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """ "I no longer live in Paris." then "I live in Paris.": the first call stores Paris
    (nothing to retract yet); the same call made again must not retract it."""
    orch, u = shared_orch, uid("u")
    call = [
        {"role": "user", "content": "I no longer live in Paris.", "id": "m1"},
        {"role": "user", "content": "I live in Paris.", "id": "m2"},
    ]
    orch.process(call, user_id=u)
    state = _everything(orch, u)
    for _ in range(2):
        again = orch.process(call, user_id=u)
        assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
        assert _everything(orch, u) == state
    assert [r.value for r in orch.get_all(user_id=u, memory_types=["semantic"])] == ["Paris"]


@pytest.mark.parametrize("order", ["new message first", "new message last"])
@pytest.mark.parametrize("since", ["deleted", "superseded"])
def test_a_fact_said_in_a_new_message_beside_its_old_turn_is_stored(
    shared_orch: Orchestrator, uid: Callable[[str], str], order: str, since: str
) -> None:
    """A new message says again what a deleted (or superseded) fact's turn said, sent
    with that turn: the new message is read, and dated, whichever of the two comes last
    in the call."""
    orch, u = shared_orch, uid("u")
    old = {"role": "user", "content": "I live in Paris.", "id": "m1"}
    new = {"role": "user", "content": "I live in Paris.", "id": "m5"}
    orch.process([old], user_id=u)
    if since == "deleted":
        orch.delete(orch.get_all(user_id=u, memory_types=["semantic"])[0].id)
    else:
        orch.process([{"role": "user", "content": "I live in Berlin.", "id": "m2"}], user_id=u)
    orch.process([new, old] if order == "new message first" else [old, new], user_id=u)
    (paris,) = orch.get_all(user_id=u, memory_types=["semantic"])
    assert paris.value == "Paris" and "m5" in paris.source.message_ids


@pytest.mark.parametrize("first", ["infer=False", "other memory_types"])
def test_a_turn_stored_without_an_agents_reading_is_read_by_it_when_sent_again(
    shared_orch: Orchestrator, uid: Callable[[str], str], first: str
) -> None:
    """Only the agents whose rules read a turn take it for a replay: stored by
    `infer=False` or a call for other memory types, the turn sent again gives its facts."""
    orch, u = shared_orch, uid("u")
    message = [{"role": "user", "content": "I live in Paris.", "id": "m1"}]
    kwargs: dict[str, Any] = (
        {"infer": False} if first == "infer=False" else {"memory_types": ["procedural"]}
    )
    orch.process(message, user_id=u, **kwargs)
    assert not orch.get_all(user_id=u, memory_types=["semantic"])
    full = orch.process(message, user_id=u)
    assert full.count(Operation.ADD) > 0
    assert [r.value for r in orch.get_all(user_id=u, memory_types=["semantic"])] == ["Paris"]
    state = _everything(orch, u)
    again = orch.process(message, user_id=u)  # now read by every agent: a replay
    assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
    assert _everything(orch, u) == state


def test_the_earlier_words_of_an_edit_sent_again_after_the_name_was_learned_change_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """The rules' reading of each wording of a message is kept: after an edit and the
    user's name, neither the edit nor the words before it sent again write anything."""
    orch, u = shared_orch, uid("u")
    first = {"role": "user", "content": "I live in Paris, by the way.", "id": "m1"}
    edit = {**first, "content": "I live in Paris, honestly."}
    orch.process([{"role": "user", "content": "I live in Paris.", "id": "m0"}], user_id=u)
    orch.process([first], user_id=u)
    orch.process([edit], user_id=u)
    orch.process([{"role": "user", "content": "My name is Dana.", "id": "m2"}], user_id=u)
    state = _everything(orch, u)
    raw = services_of(orch).turn_log.memory_type
    turns = sorted((r.id, r.internal) for r in orch.get_all(user_id=u, memory_types=[raw.value]))
    for message in (edit, first, edit, first):
        again = orch.process([message], user_id=u)
        assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
        assert _everything(orch, u) == state
    # nor is a raw turn rewritten: each wording's reading is kept beside the others
    assert (
        sorted((r.id, r.internal) for r in orch.get_all(user_id=u, memory_types=[raw.value]))
        == turns
    )


def test_an_edit_sent_with_a_turn_that_said_the_same_before_is_read(orch: Orchestrator) -> None:
    """A call that holds an edit is read as before the rules' marks: the edit's fact,
    deleted since, comes back though another turn of the call, read before, says it too.
    The edit keeps the time the message was first said, inside the time of the Rome that
    the deleted Paris closed: Rome ends where it begins (`validity.in_turn`)."""
    u = "u"
    said = "I live in Paris, by the way."

    def send(*pairs: tuple[str, str]) -> None:
        orch.process([{"role": "user", "content": c, "id": i} for i, c in pairs], user_id=u)

    send(("m4", said), ("m1", "I live in Paris."), ("m3", "I live in Rome."))
    send(("m2", said))
    paris = [r for r in orch.get_all(user_id=u, memory_types=["semantic"]) if r.value == "Paris"]
    orch.delete(paris[0].id)
    send(("m1", said), ("m4", said))  # m1 edited to the words m4 was read with
    assert "Paris" in [r.value for r in orch.get_all(user_id=u, memory_types=["semantic"])]
    assert orch.check().consistent


def test_a_message_id_makes_a_turn_the_same_turn(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, u = shared_orch, uid("u")
    first = orch.process([{"role": "user", "content": "I like tea.", "id": "m1"}], user_id=u)
    later = orch.process(
        [{"role": "user", "content": "I like tea.", "id": "m1", "timestamp": T0}], user_id=u
    )
    other = orch.process([{"role": "user", "content": "I like tea.", "id": "m2"}], user_id=u)
    assert later.turn_memory_ids == first.turn_memory_ids
    assert other.turn_memory_ids != first.turn_memory_ids


def test_an_edited_message_is_read_once_and_words_sent_before_change_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """A message sent again under its id with words never sent before (edited in a chat
    UI) is read: what it now says updates what its first words gave, where the rules
    would have taken it for a retry. Words sent before - the first ones, an earlier edit,
    the last edit - are a retry and change nothing, however often they come."""
    orch, u = shared_orch, uid("u")
    said = {"role": "user", "content": "I am working on the Q3 report.", "id": "m1"}

    def send(content: str) -> set[str]:
        result = orch.process([{**said, "content": content}], user_id=u)
        return {op.operation.value for op in result.all_operations()}

    def working() -> list[str]:
        return [m.content for m in orch.get_all(user_id=u, memory_types=["working"])]

    send("I am working on the Q3 report.")
    assert send("I am working on the Q4 report.") == {"UPDATE"}  # rules only: NOOP before
    assert send("I am working on the Q1 report.") == {"UPDATE"}
    assert working() == ["The user is currently working on the Q1 report."]
    state = _everything(orch, u)
    for stale in ("Q4", "Q3", "Q1", "Q4"):
        assert send(f"I am working on the {stale} report.") == {"NOOP"}, stale
        assert _everything(orch, u) == state


def test_a_raw_turn_changed_by_update_is_sent_again_as_a_retry(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """A message's stored text redacted by `update()`, and its fact corrected: the thread
    sent again with the message's words is a retry, not an edit that undoes both."""
    orch, u = shared_orch, uid("u")
    m1 = {"role": "user", "content": "I live in Paris.", "id": "m1"}
    first = orch.process([m1], user_id=u)
    [fact] = orch.get_all(user_id=u, memory_types=["semantic"])
    orch.update(fact.id, "The user lives in Lyon.")
    orch.update(first.turn_memory_ids[0], "I live in [redacted].")
    state = _everything(orch, u)
    again = orch.process([m1], user_id=u)
    assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
    assert _everything(orch, u) == state


def test_reprocess_leaves_a_message_edited_under_the_rules_alone(make_orch) -> None:
    """Edited before any model was configured: `reprocess` of every turn does not ask a
    model about the first words, which would bring back what the edit replaced."""
    said = {"role": "user", "content": "I live in Paris.", "id": "m1"}
    orch = make_orch()
    orch.process([said], user_id="u")
    orch.process([{**said, "content": "I live in Berlin."}], user_id="u")
    data_dir = orch.settings.data_dir
    orch.close()

    def extract(request: Any) -> ExtractionOutput:
        city = "Paris" if "Paris" in request.prompt else "Berlin"
        return _homes((city, f"The user lives in {city}.", 0))

    with ScriptedModel(from_extraction(extract)) as model:
        orch = make_orch(data_dir=data_dir, llm={"model": model.model})
        orch.reprocess(user_id="u", all_turns=True)
        assert not [r for r in model.requests if "Paris" in r.prompt]
        assert [m.value for m in orch.get_all(user_id="u", memory_types=["semantic"])] == ["Berlin"]


def test_a_fact_deleted_and_said_again_in_a_new_message_is_logged_again(
    orch: Orchestrator,
) -> None:
    """History ends with the new ADD, for the fact and for its knowledge edge (renamed in
    between): the same text stored again from new turns is not taken for a retry of the
    first ADD, and `check()` finds every store agreeing."""
    orch.process([{"role": "user", "content": "I moved to Berlin.", "id": "m1"}], user_id="u")
    orch.process([{"role": "user", "content": "My name is Dana.", "id": "m2"}], user_id="u")
    for fact in orch.get_all(user_id="u", memory_types=["semantic"]):
        orch.delete(fact.id)
    orch.process([{"role": "user", "content": "I live in Berlin.", "id": "m3"}], user_id="u")
    current = orch.get_all(user_id="u", memory_types=["semantic", "knowledge"])
    assert {r.content for r in current} == {"The user lives in Berlin."}
    for record in current:
        assert [e.operation.value for e in orch.history(record.id)][-2:] == ["DELETE", "ADD"]
    report = orch.check()
    assert not [s.store for s in report.stores if s.missing or s.extra or s.stale]


def test_a_deleted_memory_stays_deleted_when_its_conversation_is_sent_again(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """An agent that sends the whole conversation each call (a LangGraph thread) sends the
    turn a deleted memory came from again and again: the memory stays deleted, with what
    it rendered (the knowledge edge, the core block's line), while a new message is read
    as usual and the same fact said anew in a new message is stored anew."""
    orch, u = shared_orch, uid("u")
    m1 = {"role": "user", "content": "I live in Paris.", "id": "m1"}
    m2 = {"role": "user", "content": "I like tea.", "id": "m2"}
    m3 = {"role": "user", "content": "I live in Paris, as I said.", "id": "m3"}

    def paris() -> list[str]:
        found = orch.get_all(user_id=u)
        return sorted(f"{m.memory_type.value}: {m.content}" for m in found if "Paris" in m.content)

    orch.process([m1], user_id=u)
    [fact] = [m for m in orch.get_all(user_id=u, memory_types=["semantic"])]
    orch.delete(fact.id)
    assert paris() == ["episodic: user: I live in Paris."]
    state = _everything(orch, u)
    again = orch.process([m1], user_id=u)  # a retry
    assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
    assert _everything(orch, u) == state
    orch.process([m1, m2], user_id=u)  # the conversation, one message longer
    assert paris() == ["episodic: user: I live in Paris."]
    assert [m.content for m in orch.get_all(user_id=u, memory_types=["semantic"])] == [
        "The user likes tea."
    ]
    assert orch.check().consistent
    orch.process([m1, m2, m3], user_id=u)  # said anew: stored anew
    assert "semantic: The user lives in Paris." in paris()


def test_a_resent_thread_asks_the_history_only_about_what_was_deleted(
    shared_orch: Orchestrator, uid: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deletion check costs nothing on an ordinary resend: the history is asked only
    about a candidate with no record under its id."""
    orch, u = shared_orch, uid("u")
    history = services_of(orch).history
    asked: list[str] = []
    read = history.for_memory

    async def counted(memory_id: str) -> Any:
        asked.append(memory_id)
        return await read(memory_id)

    monkeypatch.setattr(history, "for_memory", counted)
    thread = _conversation(60)
    orch.process(thread, user_id=u)
    orch.process(thread, user_id=u)
    assert asked == []
    facts = orch.get_all(user_id=u, memory_types=["semantic"])
    fact = next(m for m in facts if "Acme" in m.content)
    orch.delete(fact.id)
    orch.process(thread, user_id=u)
    assert asked == [fact.id]


@pytest.mark.parametrize("deleted", ["an edit", "a return"])
def test_a_deleted_memory_read_in_an_edit_or_a_return_stays_deleted(
    shared_orch: Orchestrator, uid: Callable[[str], str], deleted: str
) -> None:
    """What an edited message said, and a value the user returned to (stored under an id
    of its own), stay deleted when the conversation is sent again."""
    orch, u = shared_orch, uid("u")
    m1 = {"role": "user", "content": "I live in Paris.", "id": "m1"}
    if deleted == "an edit":
        talk = [[m1], [{**m1, "content": "I live in Berlin."}]]
        gone = "The user lives in Berlin."
    else:
        m2 = {"role": "user", "content": "I moved to Berlin.", "id": "m2"}
        m3 = {"role": "user", "content": "I moved back to Paris.", "id": "m3"}
        talk = [[m1], [m1, m2], [m1, m2, m3]]
        gone = "The user lives in Paris."
    for call in talk:
        orch.process(call, user_id=u)
    current = orch.get_all(user_id=u, memory_types=["semantic"])
    assert [m.content for m in current] == [gone]
    orch.delete(current[0].id)
    state = _everything(orch, u)
    again = orch.process(talk[-1], user_id=u)
    assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
    assert _everything(orch, u) == state
    assert orch.check().consistent


def test_the_same_words_said_at_another_time_are_another_turn(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, u = shared_orch, uid("u")
    first = orch.process("Yes.", user_id=u, timestamp=T0)
    later = orch.process("Yes.", user_id=u, timestamp=T0 + timedelta(minutes=5))
    assert later.turn_memory_ids != first.turn_memory_ids


def test_llm_extraction_run_again_changes_nothing(make_orch) -> None:
    def extract(request):
        return _homes(("Paris", "Dana lives in Paris.", 0), ("Berlin", "Dana lives in Berlin.", 1))

    with ScriptedModel(from_extraction(extract)) as model:
        orch = make_orch(llm={"model": model.model})
        messages = ["I live in Paris.", "Now I live in Berlin."]
        orch.process([{"role": "user", "content": m} for m in messages], user_id="u")
        state = _everything(orch, "u")
        again = orch.process([{"role": "user", "content": m} for m in messages], user_id="u")
        assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
        assert _everything(orch, "u") == state


@pytest.mark.parametrize("verdict", ["UPDATE", "DELETE"])
def test_an_llm_reconcile_verdict_run_again_changes_nothing(make_orch, verdict: str) -> None:
    """A candidate the model merged into a stored memory (UPDATE, under the stored id) or
    that retracted one (DELETE: the old memory closed, the candidate not stored) is not
    applied a second time when the call is made again."""

    def extract(request):
        if "weekends" in request.prompt:
            fact = Fact(
                subject="user",
                attribute="hobby",
                value="chess on weekends" if verdict == "UPDATE" else "no chess",
                statement="Dana plays chess on weekends."
                if verdict == "UPDATE"
                else "Dana does not play chess.",
                source_turns=[0],
            )
        else:
            fact = Fact(
                subject="user",
                attribute="hobby",
                value="chess",
                statement="Dana plays chess.",
                source_turns=[0],
            )
        return ExtractionOutput(semantic=SemanticOutput(facts=[fact]))

    def decide(request):
        [alias] = {int(a) for a in re.findall(r"<(\d+)> \(", request.prompt)}
        text = "Dana plays chess on weekends." if verdict == "UPDATE" else None
        return DecisionOutput(
            decisions=[Decision(candidate=0, operation=verdict, target=alias, text=text)]
        )

    with ScriptedModel(from_extraction(extract, decide)) as model:
        orch = make_orch(llm={"model": model.model})
        orch.process("I play chess.", user_id="u", timestamp=T0)
        said = "Chess on weekends? No." if verdict == "DELETE" else "I play chess on weekends."
        later = T0 + timedelta(days=1)
        first = orch.process(said, user_id="u", timestamp=later)
        assert [
            op.operation.value
            for op in first.all_operations()
            if op.memory_type.value == "semantic"
        ] == [verdict]
        state = _everything(orch, "u")
        again = orch.process(said, user_id="u", timestamp=later)
        assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
        assert _everything(orch, "u") == state


def test_two_candidates_merged_into_one_memory_in_one_call_both_count(make_orch) -> None:
    """Two candidates of one call (two turns) that the model merges into the same stored
    memory: the second merges into what the first made of it (not into the stored copy,
    which would drop the first one's turns), so the call made again is a NOOP."""

    def extract(request):
        if "weekends" not in request.prompt:
            facts = [("chess", "Dana plays chess.", 0)]
        else:
            facts = [
                ("chess on weekends", "Dana plays chess on weekends.", 0),
                ("chess at the club", "Dana plays chess at the club.", 1),
            ]
        return ExtractionOutput(
            semantic=SemanticOutput(
                facts=[
                    Fact(subject="user", attribute="hobby", value=v, statement=s, source_turns=[t])
                    for v, s, t in facts
                ]
            )
        )

    def decide(request):
        aliases = sorted({int(a) for a in re.findall(r"<(\d+)> \(", request.prompt)})
        return DecisionOutput(
            decisions=[
                Decision(candidate=i, operation="UPDATE", target=aliases[0]) for i in range(2)
            ]
        )

    with ScriptedModel(from_extraction(extract, decide)) as model:
        orch = make_orch(llm={"model": model.model})
        orch.process("I play chess.", user_id="u", timestamp=T0)
        said = [
            {"role": "user", "content": "I play chess on weekends."},
            {"role": "user", "content": "At the club."},
        ]
        later = T0 + timedelta(days=1)
        result = orch.process(said, user_id="u", timestamp=later)
        merged = [op for op in result.all_operations() if op.memory_type.value == "semantic"]
        assert [op.operation.value for op in merged] == ["UPDATE", "UPDATE"]
        [chess] = orch.get_all(user_id="u", memory_types=["semantic"])
        assert chess.version == 3
        assert len(chess.source.turn_ids) == 3  # the first call's turn and both of these
        state = _everything(orch, "u")
        again = orch.process(said, user_id="u", timestamp=later)
        assert {op.operation.value for op in again.all_operations()} == {"NOOP"}
        assert _everything(orch, "u") == state


def test_an_update_made_again_changes_nothing(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, u = shared_orch, uid("u")
    orch.process("I live in Paris.", user_id=u)
    fact = orch.get_all(user_id=u, memory_types=["semantic"])[0]
    updated = orch.update(fact.id, "The user lives in Lyon.", metadata={"source": "form"})
    after_first = _everything(orch, u)
    for _ in range(2):
        again = orch.update(fact.id, "The user lives in Lyon.", metadata={"source": "form"})
        assert again == updated
        assert _everything(orch, u) == after_first
    assert [e.operation.value for e in orch.history(fact.id)] == ["ADD", "UPDATE"]
    orch.update(fact.id, "The user lives in Lyon.", metadata={"source": "call"})  # a change
    assert [e.operation.value for e in orch.history(fact.id)] == ["ADD", "UPDATE", "UPDATE"]


@pytest.mark.parametrize(
    "spelling", ["Zu\u0308rich", "Z\u00fcrich\u200b", "ZU\u0308RICH"], ids=["nfd", "zwsp", "upper"]
)
def test_the_same_value_in_another_unicode_form_is_not_a_new_fact(
    shared_orch: Orchestrator, uid: Callable[[str], str], spelling: str
) -> None:
    """Text is compared in composed form: "Zürich" typed with a combining diaeresis is the
    stored "Zürich", not a move that supersedes it."""
    orch, u = shared_orch, uid("u")
    orch.process("I live in Z\u00fcrich.", user_id=u)
    before = _everything(orch, u)[0]
    again = orch.process(f"I live in {spelling}.", user_id=u)
    assert Operation.SUPERSEDE not in {op.operation for op in again.all_operations()}
    facts = orch.get_all(user_id=u, memory_types=["semantic"], include_superseded=True)
    assert [f.valid_to for f in facts] == [None]
    assert [r for r in _everything(orch, u)[0] if r[0] in {b[0] for b in before}] == before
