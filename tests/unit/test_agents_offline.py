"""Offline (rule-based) extraction of the eight memory agents from ordinary conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from octomem.agents import (
    ContextualAgent,
    CoreAgent,
    EpisodicAgent,
    KnowledgeAgent,
    ProceduralAgent,
    ResourceAgent,
    SemanticAgent,
    WorkingAgent,
    default_agents,
)
from octomem.agents.base import BaseAgent, ConflictPolicy, ExtractionContext, MemoryAgent
from octomem.agents.core import rules as core
from octomem.agents.core.rules import fact_line, human_lines
from octomem.agents.knowledge.rules import fact_edge, triple_sentence
from octomem.models import (
    EpisodicMemory,
    KnowledgeMemory,
    MemoryBase,
    MemoryType,
    ProceduralMemory,
    ResourceMemory,
    Role,
    Scope,
    SemanticMemory,
    Turn,
    WorkingMemory,
    embedding_text,
)

TS = datetime(2024, 3, 15, 10, 30, tzinfo=UTC)  # a Friday
SCOPE = Scope(user_id="u1", agent_id="a1", session_id="s1")


def ctx(user_name: str | None = None, **kwargs: object) -> ExtractionContext:
    scope = kwargs.pop("scope", SCOPE)
    return ExtractionContext(scope=scope, now=TS, user_name=user_name, **kwargs)  # type: ignore[arg-type]


def turn(content: str, role: Role = "user", index: int = 0, ts: datetime = TS) -> Turn:
    return Turn(id=f"t{index}", role=role, content=content, timestamp=ts, index=index)


def run(agent: BaseAgent, *turns: Turn, context: ExtractionContext | None = None) -> list:
    return agent.extract(list(turns), context or ctx())


def by_attr(records: list[MemoryBase]) -> dict[str, SemanticMemory]:
    return {r.attribute: r for r in records if isinstance(r, SemanticMemory)}


# --- registry ------------------------------------------------------------------------


def test_default_agents_in_order_and_protocol() -> None:
    agents = default_agents()
    assert list(agents) == [
        MemoryType.CORE,
        MemoryType.EPISODIC,
        MemoryType.SEMANTIC,
        MemoryType.PROCEDURAL,
        MemoryType.WORKING,
        MemoryType.CONTEXTUAL,
        MemoryType.KNOWLEDGE,
        MemoryType.RESOURCE,
    ]
    policies = {mtype: agent.policy for mtype, agent in agents.items()}
    assert policies == {
        MemoryType.CORE: ConflictPolicy.UPDATE,
        MemoryType.EPISODIC: ConflictPolicy.APPEND,
        MemoryType.SEMANTIC: ConflictPolicy.SUPERSEDE,
        MemoryType.PROCEDURAL: ConflictPolicy.SUPERSEDE,
        MemoryType.WORKING: ConflictPolicy.UPDATE,
        MemoryType.CONTEXTUAL: ConflictPolicy.SUPERSEDE,
        MemoryType.KNOWLEDGE: ConflictPolicy.SUPERSEDE,
        MemoryType.RESOURCE: ConflictPolicy.UPDATE,
    }
    for mtype, agent in agents.items():
        assert isinstance(agent, MemoryAgent)
        assert agent.memory_type is mtype
        assert agent.record_type.model_fields["memory_type"].default is mtype


def test_every_agent_returns_nothing_for_an_empty_conversation() -> None:
    for agent in default_agents().values():
        assert agent.extract([], ctx()) == []


# --- semantic ------------------------------------------------------------------------

INTRO = (
    "Hi, I'm Alice and I live in Berlin with my husband. "
    "I'm a software engineer at Acme Corp. I'm 32 years old."
)


def test_semantic_intro_facts_use_the_stated_name() -> None:
    records = run(SemanticAgent(), turn(INTRO))
    facts = by_attr(records)
    assert {a: f.value for a, f in facts.items()} == {
        "name": "Alice",
        "lives_in": "Berlin",
        "works_at": "Acme Corp",
        "job": "software engineer",
        "age": "32",
    }
    assert facts["lives_in"].content == "Alice lives in Berlin."
    assert facts["works_at"].content == "Alice works at Acme Corp."
    assert facts["job"].content == "Alice works as a software engineer."
    assert facts["age"].content == "Alice is 32 years old."
    assert facts["name"].content == "The user's name is Alice."
    assert facts["lives_in"].subject == "user"
    assert facts["lives_in"].entities == ["Alice", "Berlin"]


def test_semantic_record_envelope() -> None:
    [record] = run(SemanticAgent(), turn("I live in Lisbon.", index=3))
    assert record.id.startswith("sem_")
    assert (record.user_id, record.agent_id, record.session_id) == ("u1", "a1", "s1")
    assert record.created_at == record.valid_from == TS
    assert record.source.turn_ids == ["t3"]
    assert record.source.message_ids == ["t3"]
    assert record.source.extractor == "offline:semantic"
    assert record.content == "The user lives in Lisbon."


def test_semantic_uses_context_user_name_and_external_message_id() -> None:
    message = Turn(
        id="t9", role="user", content="I work at Initech.", timestamp=TS, index=0, external_id="m9"
    )
    [record] = run(SemanticAgent(), message, context=ctx("Bob"))
    assert record.content == "Bob works at Initech."
    assert record.source.message_ids == ["m9"]


def test_semantic_ids_are_deterministic_and_values_conflict() -> None:
    agent = SemanticAgent()
    first = run(agent, turn("I live in Paris."))
    again = run(agent, turn("I live in Paris."))
    moved = run(agent, turn("I just moved to Berlin last month."))
    assert [r.id for r in first] == [r.id for r in again]
    [paris], [berlin] = first, moved
    assert berlin.value == "Berlin" and berlin.attribute == "lives_in"
    assert paris.id != berlin.id
    assert agent.conflict_key(paris) == agent.conflict_key(berlin) == "user|lives_in"
    assert agent.merges_near_duplicates(paris) is False


def test_semantic_preferences_conflict_on_the_object() -> None:
    agent = SemanticAgent()
    records = run(agent, turn("I love sushi but I hate cilantro. I'm a huge fan of Radiohead."))
    facts = by_attr(records)
    assert facts["preference:sushi"].value == "likes"
    assert facts["preference:sushi"].content == "The user likes sushi."
    assert facts["preference:cilantro"].value == "dislikes"
    assert facts["preference:radiohead"].value == "likes"
    [later] = run(agent, turn("Honestly I hate sushi now."))
    assert later.attribute == "preference:sushi" and later.value == "dislikes"
    assert agent.conflict_key(later) == agent.conflict_key(facts["preference:sushi"])
    assert later.id != facts["preference:sushi"].id


def test_semantic_favourites_family_and_health() -> None:
    text = (
        "My favourite colour is blue. My wife Sarah is a teacher. "
        "My sister is called Maria. I have two kids. My son Tom is 5. "
        "I'm allergic to peanuts and shellfish. I'm vegetarian."
    )
    agent = SemanticAgent()
    records = run(agent, turn(text), context=ctx("Alice"))
    got = {(r.subject, r.attribute, r.value) for r in records}
    assert got == {
        ("user", "favourite:colour", "blue"),
        ("user", "spouse", "Sarah"),
        ("Sarah", "job", "teacher"),  # a named relative's job
        ("user", "sibling", "Maria"),
        ("user", "num_children", "2"),
        ("user", "has_child", "Tom"),
        ("Tom", "age", "5"),
        ("user", "allergy", "peanuts"),
        ("user", "allergy", "shellfish"),
        ("user", "diet", "vegetarian"),
    }
    contents = {r.content for r in records}
    assert "Alice's wife is Sarah." in contents
    assert "Alice's sister is Maria." in contents
    assert "Alice is allergic to peanuts." in contents
    keys = {r.value: agent.conflict_key(r) for r in records}
    assert keys["Sarah"] == "user|spouse"
    assert keys["Maria"] is None and keys["peanuts"] is None  # multi-valued
    assert keys["5"] == "tom|age"


def test_semantic_third_person_fact_about_a_named_person() -> None:
    records = run(SemanticAgent(), turn("My sister Maria lives in Madrid."))
    got = {(r.subject, r.attribute, r.value) for r in records}
    assert got == {("user", "sibling", "Maria"), ("Maria", "lives_in", "Madrid")}
    madrid = next(r for r in records if r.subject == "Maria")
    assert madrid.content == "Maria lives in Madrid."
    assert madrid.entities == ["Maria", "Madrid"]
    assert SemanticAgent().conflict_key(madrid) == "maria|lives_in"


@pytest.mark.parametrize(
    "text",
    [
        "I'm tired.",
        "I'm going to bed soon.",
        "I'm Italian, by the way.",
        "I'm not sure about that.",
        "I'm So happy today!",
        "I'm OK, thanks.",
    ],
)
def test_semantic_no_name_from_ordinary_i_am_sentences(text: str) -> None:
    assert "name" not in by_attr(run(SemanticAgent(), turn(text)))


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("My name is Priya.", "Priya"),
        ("Call me Ishmael.", "Ishmael"),
        ("I'm Jean Luc, nice to meet you.", "Jean Luc"),
    ],
)
def test_semantic_names(text: str, name: str) -> None:
    assert by_attr(run(SemanticAgent(), turn(text)))["name"].value == name


def test_semantic_ignores_assistant_questions_and_hypotheticals() -> None:
    agent = SemanticAgent()
    assistant = turn("I live in Paris and my name is Claude. I love sushi.", role="assistant")
    assert run(agent, assistant) == []
    user = turn("Do I live in Berlin? If I lived in Rome I would be happy. I'd love to visit Oslo.")
    assert run(agent, user) == []


def test_semantic_age_variants_and_jobs() -> None:
    assert by_attr(run(SemanticAgent(), turn("I turned 40 last week.")))["age"].value == "40"
    assert by_attr(run(SemanticAgent(), turn("I am 27 years old.")))["age"].value == "27"
    assert "age" not in by_attr(run(SemanticAgent(), turn("I'm 5 minutes away.")))
    job = by_attr(run(SemanticAgent(), turn("I work as a nurse at the hospital.")))["job"]
    assert job.value == "nurse" and job.content == "The user works as a nurse."
    assert run(SemanticAgent(), turn("I'm a big believer in testing. I'm a bit stressed.")) == []


CHIT_CHAT = [
    "Hey, how are you doing today?",
    "I'm good, thanks! How about you?",
    "That's great to hear.",
    "Haha, that's hilarious.",
    "I love it! Thanks so much.",
    "I'm not sure, maybe later.",
    "Can you help me with something?",
    "I'm going to grab a coffee.",
    "Sounds good to me, see you soon!",
    "I think that makes sense. I like that idea.",
    "Well, I guess it depends on the weather.",
    "Yes, I know. I'm here. I'm Back!",
]


def test_chit_chat_produces_no_facts_or_graph_edges() -> None:
    turns = [turn(text, index=i) for i, text in enumerate(CHIT_CHAT)]
    for agent in (SemanticAgent(), KnowledgeAgent(), CoreAgent(), EpisodicAgent()):
        assert agent.extract(turns, ctx()) == [], type(agent).__name__
    assert ProceduralAgent().extract(turns, ctx()) == []
    assert ResourceAgent().extract(turns, ctx()) == []


# --- core ----------------------------------------------------------------------------


def _facts(text: str, context: ExtractionContext | None = None, index: int = 0) -> list:
    return [r for r in run(SemanticAgent(), turn(text, index=index), context=context) if r.subject]


def test_core_extracts_only_the_persona_the_human_block_is_a_projection() -> None:
    agent = CoreAgent()
    turns = [
        turn("You are a helpful travel agent named Tess. Keep answers short.", "system", 0),
        turn(INTRO, index=1),
    ]
    [persona] = run(agent, *turns)
    assert persona.label == "persona"
    assert persona.content == "You are a helpful travel agent named Tess."
    assert persona.id == ctx().memory_id(MemoryType.CORE, "persona")
    # the human block is rendered from the semantic facts (octomem.orchestrator.projections)
    assert human_lines(_facts(INTRO, ctx("Alice")), 2000) == [
        "Name: Alice",
        "Lives in: Berlin",
        "Works at: Acme Corp",
        "Job: software engineer",
        "Age: 32",
    ]


def test_human_lines_follow_the_facts_in_time_and_keep_one_line_per_prefix() -> None:
    old = _facts("I live in Paris. I love sushi.")
    new = [
        f.model_copy(update={"valid_from": TS + timedelta(days=1)})
        for f in _facts("I moved to Berlin. I'm a nurse.", index=1)
    ]
    paris = next(f for f in old if f.attribute == "lives_in")
    current = [f for f in old if f is not paris] + new  # Paris was superseded by Berlin
    assert human_lines(current, 2000) == [
        "Preference (sushi): likes",
        "Lives in: Berlin",
        "Job: nurse",
    ]
    # a fact about someone else has no line; one about the user by any attribute has one
    maria = _facts("My sister Maria works at Google.")
    assert human_lines(maria, 2000) == ["Sister: Maria"]
    assert fact_line(paris.model_copy(update={"attribute": "shoe_size", "value": "42"})) == (
        "Shoe size: 42"
    )


def test_human_lines_fit_the_char_limit_by_dropping_the_oldest() -> None:
    first = _facts("My name is Alice. I live in Paris. I work at Initech.")
    later = [
        f.model_copy(update={"valid_from": TS + timedelta(days=1)})
        for f in _facts("I'm a software engineer. I'm allergic to peanuts.", index=1)
    ]
    lines = human_lines(first + later, 60)
    assert len("\n".join(lines)) <= 60
    assert lines[-2:] == ["Job: software engineer", "Allergy: peanuts"]
    assert "Name: Alice" not in lines  # the oldest lines were dropped first


def test_human_lines_take_work_linear_in_the_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block is rendered from all of a user's facts at once (by every process call that
    changes one); each new line was compared with every line kept before it: N^2."""
    calls = []
    line_key = core._line_key
    monkeypatch.setattr(core, "_line_key", lambda line: calls.append(line) or line_key(line))
    made = [
        SemanticMemory(
            id=f"sem_{i}",
            content=f"The user likes dish {i}.",
            subject="user",
            attribute=f"preference:dish_{i}",
            value="likes",
            valid_from=TS + timedelta(minutes=i),
        )
        for i in range(2000)
    ]
    lines = human_lines(made, 1_000_000)
    assert lines[0] == "Preference (dish 0): likes" and len(lines) == 2000
    assert len(calls) <= 3 * len(made)


def test_core_persona_is_replaced_by_a_new_system_prompt() -> None:
    agent = CoreAgent()
    [old] = run(agent, turn("You are a travel agent.", "system"))
    [new] = run(agent, turn("You are a coding assistant. You always answer in English.", "system"))
    merged = agent.merge(old, new, TS)
    assert merged.content == "You are a coding assistant.\nYou always answer in English."


# --- episodic ------------------------------------------------------------------------


def test_raw_turn_record_keeps_the_full_text() -> None:
    agent = EpisodicAgent()
    long_text = "Here is a long message. " * 40
    message = Turn(id="t7", role="user", name="alice", content=long_text, timestamp=TS, index=7)
    record = agent.raw_turn_record(message, ctx())
    assert record.event_type == "message"
    assert record.actor == "alice"
    assert record.content == f"alice: {long_text}"
    assert record.details == long_text
    assert record.occurred_at == TS
    assert record.id == agent.raw_turn_record(message, ctx()).id
    assert record.id != agent.raw_turn_record(message.model_copy(update={"id": "t8"}), ctx()).id
    assert agent.merges_near_duplicates(record) is False
    assistant = agent.raw_turn_record(turn("Sure!", role="assistant"), ctx())
    assert assistant.actor == "assistant" and assistant.content == "assistant: Sure!"


def test_raw_turn_record_carries_the_turn_before_it() -> None:
    agent = EpisodicAgent()
    question = turn("Which instrument did your uncle teach you?", role="assistant")
    reply = agent.raw_turn_record(turn("Mostly old songs.", index=1), ctx(), question)
    assert reply.content == "user: Mostly old songs."  # what users see: the turn alone
    assert (
        reply.internal["previous_turn"] == "assistant: Which instrument did your uncle teach you?"
    )
    assert reply.internal["raw"] is True and reply.metadata == {}
    assert embedding_text(reply) == (
        "assistant: Which instrument did your uncle teach you?\nuser: Mostly old songs."
    )
    first = agent.raw_turn_record(question, ctx())
    assert first.internal["previous_turn"] == "" and embedding_text(first) == first.content
    long = agent.raw_turn_record(turn("ok", index=2), ctx(), turn("x " * 500))
    assert len(long.internal["previous_turn"]) == 300 and long.internal["previous_turn"].endswith(
        "..."
    )
    # only raw turns are embedded with a context, whatever the metadata of other records
    event = reply.model_copy(update={"event_type": "note", "internal": {"previous_turn": "zebra"}})
    assert embedding_text(event) == event.content
    # and a caller's metadata never stands in for octomem's own keys
    spoof = {"raw": True, "previous_turn": "zebra"}
    assert embedding_text(first.model_copy(update={"metadata": spoof})) == first.content


def test_episodic_events_resolve_relative_dates() -> None:
    text = (
        "Yesterday I went to the Louvre with Tom. It was amazing! "
        "Last week I finished my thesis. I met Sarah for coffee this morning. "
        "Two days ago I bought a new bike."
    )
    agent = EpisodicAgent()
    records = run(agent, turn(text), context=ctx("Alice"))
    events = {r.event_type: r for r in records if isinstance(r, EpisodicMemory)}
    assert set(events) == {"visit", "milestone", "meeting", "purchase"}
    louvre = events["visit"]
    assert louvre.summary == "On 2024-03-14 Alice went to the Louvre with Tom."
    assert louvre.content == louvre.summary
    assert louvre.occurred_at == datetime(2024, 3, 14, tzinfo=UTC)
    assert louvre.details == "Yesterday I went to the Louvre with Tom."
    assert louvre.actor == "Alice"
    assert louvre.entities == ["Alice", "Louvre", "Tom"]
    assert events["milestone"].summary == "In the week of 2024-03-04 Alice finished their thesis."
    assert events["meeting"].summary == "On 2024-03-15 Alice met Sarah for coffee."
    assert events["purchase"].occurred_at == datetime(2024, 3, 13, tzinfo=UTC)
    assert all(agent.merges_near_duplicates(r) for r in records)
    assert [r.id for r in run(agent, turn(text), context=ctx("Alice"))] == [r.id for r in records]


def test_episodic_dates_and_companions() -> None:
    text = (
        "My wife and I flew to Rome last Friday. On Monday I started a new job at Initech. "
        "I visited my parents on May 3rd. I got promoted in March."
    )
    records = run(EpisodicAgent(), turn(text))
    summaries = {r.summary for r in records}
    assert summaries == {
        "On 2024-03-08 the user and their wife flew to Rome.",
        "On 2024-03-11 the user started a new job at Initech.",
        "On 2023-05-03 the user visited their parents.",
        "In March 2024 the user got promoted.",
    }
    types = {r.event_type for r in records}
    assert types == {"travel", "milestone", "visit"}


def test_episodic_event_without_a_time_expression_uses_the_message_date() -> None:
    [record] = run(EpisodicAgent(), turn("I've just graduated from university!"))
    assert record.summary == "On 2024-03-15 the user has just graduated from university."
    assert record.occurred_at == TS
    assert record.event_type == "milestone"


def test_episodic_ignores_states_questions_and_assistant_turns() -> None:
    text = (
        "I think I need a break. I was wondering about that. I had a question. "
        "I wanted to ask you something. Did I go to Rome last year? I used to live in Paris."
    )
    assert run(EpisodicAgent(), turn(text)) == []
    assistant = turn("Yesterday I went to the store and bought milk.", role="assistant")
    assert run(EpisodicAgent(), assistant) == []


def test_episodic_events_told_as_a_relative_clause_keep_their_object() -> None:
    """ "This pride parade I went to last week" tells that the user went to the parade;
    without its object ("I went to", "I attended") an event says nothing, and would rank
    on the speaker's name alone: none is kept. A verb that needs no object is an event.
    The object is the nearest phrase before the "I", and not one that says when, why or
    how ("the reason I went to", "the first time I visited", "the way I made it")."""
    text = (
        "One special memory was this pride parade I went to last week. "
        "I got help from an adoption group I attended. Here's something I just finished! "
        "I started playing guitar about five years ago. I graduated in May. "
        "That was the reason I went to last week. Remember the first time I visited last "
        "year? This is the way I made it. This lake I visited yesterday was calm."
    )
    summaries = [r.summary for r in run(EpisodicAgent(), turn(text))]
    assert summaries == [
        "In the week of 2024-03-04 the user went to this pride parade.",
        "By 2024-03-15 the user attended an adoption group.",
        "In May 2023 the user graduated.",
        "On 2024-03-14 the user visited this lake.",
    ]


def test_episodic_same_event_retold_gets_the_same_id() -> None:
    agent = EpisodicAgent()
    [first] = run(agent, turn("Yesterday I went to the Louvre with Tom."))
    [again] = run(agent, turn("I went to the Louvre with Tom yesterday!", index=4))
    assert first.id == again.id
    [other_day] = run(agent, turn("Two days ago I went to the Louvre with Tom."))
    assert other_day.id != first.id


# --- procedural ----------------------------------------------------------------------

DEPLOY = """Here's how to deploy the app:
1. Run the tests
2. Build the Docker image
3. Push it to the registry
4. Restart the service"""


def test_procedural_numbered_steps_with_a_lead_in() -> None:
    agent = ProceduralAgent()
    [record] = run(agent, turn(DEPLOY, role="assistant"))
    assert isinstance(record, ProceduralMemory)
    assert record.title == "Deploy the app"
    assert record.trigger == "how to deploy the app"
    assert record.steps == [
        "Run the tests",
        "Build the Docker image",
        "Push it to the registry",
        "Restart the service",
    ]
    assert record.content.splitlines()[:2] == ["Deploy the app:", "1. Run the tests"]
    assert record.entities == ["Docker"]
    assert agent.conflict_key(record) == "deploy the app"


def test_procedural_refined_version_supersedes_by_title() -> None:
    agent = ProceduralAgent()
    [old] = run(agent, turn(DEPLOY, role="assistant"))
    refined = DEPLOY.replace("4. Restart the service", "4. Run the migrations\n5. Restart")
    [new] = run(agent, turn(refined, role="assistant"))
    assert new.id != old.id
    assert agent.conflict_key(new) == agent.conflict_key(old)
    assert [r.id for r in run(agent, turn(DEPLOY, role="assistant"))] == [old.id]


def test_procedural_sequenced_prose_and_inline_lists() -> None:
    agent = ProceduralAgent()
    [router] = run(
        agent,
        turn("To reset the router, first unplug it, then wait 30 seconds, and finally plug it in."),
    )
    assert router.title == "Reset the router"
    assert router.steps == ["Unplug it", "Wait 30 seconds", "Plug it in"]
    [routine] = run(
        agent, turn("My morning routine is: first I make coffee, then I check email, then I run.")
    )
    assert routine.title == "Morning routine"
    assert routine.steps == ["Make coffee", "Check email", "Run"]
    [install] = run(
        agent,
        turn("To install it: 1. Open a terminal 2. Run pip install octomem 3. Import it.", "tool"),
    )
    assert install.title == "Install it"
    assert install.steps == ["Open a terminal", "Run pip install octomem", "Import it"]
    [bullets] = run(agent, turn("Steps to bake bread:\n\n* Mix flour and water\n* Knead\n* Bake"))
    assert bullets.title == "Bake bread" and len(bullets.steps) == 3


def test_procedural_ignores_lists_that_are_not_procedures() -> None:
    agent = ProceduralAgent()
    assert (
        run(agent, turn("Some restaurants:\n1. Chez Panisse\n2. Nopa\n3. Zuni", "assistant")) == []
    )
    assert run(agent, turn("Some ideas:\n- Visit the museum\n- Take a walk", "assistant")) == []
    narrative = "First we went to the museum, then we had lunch, and finally we went home."
    assert run(agent, turn(narrative)) == []


# --- working -------------------------------------------------------------------------


def test_working_tasks_todos_and_reminders_with_expiry() -> None:
    text = (
        "I'm working on the Q3 report. I need to finish the slides by Friday. "
        "Remind me to call Bob tomorrow. My goal for today is to fix the login bug."
    )
    agent = WorkingAgent()
    records = {r.key: r for r in run(agent, turn(text), context=ctx("Alice"))}
    assert set(records) == {"current_task", "todo:finish the slides", "reminder:call bob", "goal"}
    task = records["current_task"]
    assert isinstance(task, WorkingMemory)
    assert task.value == "the Q3 report"
    assert task.content == "Alice is currently working on the Q3 report."
    assert task.expires_at == TS + timedelta(hours=24)
    todo = records["todo:finish the slides"]
    assert todo.expires_at == datetime(2024, 3, 16, tzinfo=UTC)  # the end of Friday
    assert todo.content == "Alice needs to finish the slides by Friday (2024-03-15)."
    assert records["reminder:call bob"].expires_at == datetime(2024, 3, 17, tzinfo=UTC)
    assert records["goal"].value == "fix the login bug"
    assert records["goal"].expires_at == datetime(2024, 3, 16, tzinfo=UTC)  # end of today
    assert records["goal"].content == "Alice's goal for today is to fix the login bug."
    assert agent.conflict_key(task) == "current_task"


def test_working_ids_are_per_session_and_key() -> None:
    agent = WorkingAgent()
    [first] = run(agent, turn("I'm working on the Q3 report."))
    [second] = run(agent, turn("Let's focus on the database migration.", index=2))
    assert first.id == second.id  # the same key is rewritten in place
    assert second.value == "the database migration"
    other = ctx(scope=Scope(user_id="u1", agent_id="a1", session_id="s2"))
    [elsewhere] = run(agent, turn("I'm working on the Q3 report."), context=other)
    assert elsewhere.id != first.id


def test_working_expiry_this_week_ttl_and_todo_list() -> None:
    agent = WorkingAgent()
    [week] = run(agent, turn("I'm currently trying to deploy the app to AWS this week."))
    assert week.value == "deploy the app to AWS"
    assert week.expires_at == TS + timedelta(days=7)
    [todo] = run(
        agent, turn("todo: update the README"), context=ctx(working_ttl=timedelta(hours=2))
    )
    assert todo.key == "todo:update the readme"
    assert todo.expires_at == TS + timedelta(hours=2)
    chatter = "I need to know what time it is. I'm in the middle of something. I have to go."
    assert run(agent, turn(chatter)) == []
    assert run(agent, turn("I'm working on the Q3 report.", role="assistant")) == []


# --- contextual ----------------------------------------------------------------------


def test_contextual_kinds_from_one_message() -> None:
    text = (
        "I'm at the airport and I'm on my phone right now. I'm so excited! "
        "Let's talk about my trip to Japan. I'm using VS Code for this."
    )
    agent = ContextualAgent()
    records = {r.kind: r for r in run(agent, turn(text), context=ctx("Alice"))}
    assert {k: r.value for k, r in records.items()} == {
        "location": "the airport",
        "device": "phone",
        "mood": "excited",
        "topic": "their trip to Japan",
        "app": "VS Code",
    }
    assert records["location"].content == "Alice is at the airport."
    assert records["device"].content == "Alice is using their phone."
    assert records["mood"].content == "Alice is feeling excited."
    assert records["topic"].content == "Alice wants to talk about their trip to Japan."
    assert all(agent.conflict_key(r) == kind for kind, r in records.items())


def test_contextual_latest_statement_of_a_kind_wins() -> None:
    text = "I'm in Tokyo this week. I'm feeling stressed. I'm currently in the office."
    records = run(ContextualAgent(), turn(text))
    locations = [r for r in records if r.kind == "location"]
    assert [r.value for r in locations] == ["the office"]
    assert {r.kind for r in records} == {"location", "mood"}
    [tokyo] = run(ContextualAgent(), turn("I'm in Tokyo this week."))
    assert tokyo.value == "Tokyo" and tokyo.entities == ["Tokyo"]


def test_contextual_ignores_idioms_and_assistant_turns() -> None:
    text = "I'm in a hurry. I'm at a loss. I'm not tired. I'm in love with this. I'm happy to help."
    assert run(ContextualAgent(), turn(text)) == []
    assert run(ContextualAgent(), turn("I'm at the airport.", role="assistant")) == []
    [topic] = run(ContextualAgent(), turn("I have a question about Python decorators."))
    assert (topic.kind, topic.value) == ("topic", "Python decorators")


# --- knowledge -----------------------------------------------------------------------


def test_knowledge_third_party_triples_from_any_turn() -> None:
    text = (
        "Guido van Rossum created Python in 1991. Sarah is the CEO of Initech. "
        "Acme is based in Berlin. Tom is married to Anna. Maria works at Google as an engineer."
    )
    agent = KnowledgeAgent()
    records = run(agent, turn(text, role="assistant"))
    triples = {(r.subject, r.predicate, r.object) for r in records}
    assert triples == {
        ("Guido van Rossum", "CREATED", "Python"),
        ("Sarah", "CEO_OF", "Initech"),
        ("Acme", "LOCATED_IN", "Berlin"),
        ("Tom", "MARRIED_TO", "Anna"),
        ("Maria", "WORKS_AT", "Google"),
    }
    by_pred = {r.predicate: r for r in records if isinstance(r, KnowledgeMemory)}
    assert by_pred["CEO_OF"].content == "Sarah is the CEO of Initech."
    assert by_pred["CREATED"].content == "Guido van Rossum created Python."
    assert by_pred["WORKS_AT"].entities == ["Maria", "Google"]
    assert by_pred["WORKS_AT"].valid_at == TS
    assert agent.conflict_key(by_pred["WORKS_AT"]) == "maria|WORKS_AT"
    assert agent.conflict_key(by_pred["CEO_OF"]) == "sarah|CEO_OF"
    assert agent.conflict_key(by_pred["CREATED"]) is None


def test_knowledge_edges_of_facts_are_projections_not_extracted() -> None:
    agent = KnowledgeAgent()
    text = "I live in Berlin and I work at Acme. My sister Maria lives in Madrid."
    # only the third-party statement; the facts' edges are projections (and a statement
    # that repeats a fact is dropped before reconcile: projections.canonical_candidates)
    extracted = run(agent, turn(text), context=ctx("Alice"))
    assert [(r.subject, r.predicate, r.object) for r in extracted] == [
        ("Maria", "LIVES_IN", "Madrid")
    ]
    facts = _facts(text, ctx("Alice"))
    named = {fact_edge(f, "Alice") for f in facts} - {None}
    assert {(t.subject, t.predicate, t.object) for t in named if t} == {
        ("Alice", "LIVES_IN", "Berlin"),
        ("Alice", "WORKS_AT", "Acme"),
        ("Alice", "SISTER", "Maria"),
        ("Maria", "LIVES_IN", "Madrid"),
    }
    anonymous = {triple_sentence(t) for f in facts if (t := fact_edge(f, None))}
    assert "The user lives in Berlin." in anonymous and "Maria is the user's sister." in anonymous
    keys = {(t.subject_key, t.predicate) for f in facts if (t := fact_edge(f, "Alice"))}
    assert ("user", "LIVES_IN") in keys and ("maria", "LIVES_IN") in keys
    [name] = _facts("My name is Alice.")
    assert fact_edge(name, "Alice") is None  # no entity value: no edge


def test_knowledge_ignores_pronouns_and_assistant_first_person() -> None:
    text = "He works at Google. The company is based in Berlin. Everyone lives in fear."
    assert run(KnowledgeAgent(), turn(text)) == []
    assert run(KnowledgeAgent(), turn("I live in Paris.", role="assistant")) == []


# --- resource ------------------------------------------------------------------------


def test_resource_links_files_and_titled_documents() -> None:
    text = (
        "Here's the report: https://example.com/reports/q3-results.pdf about the Q3 numbers. "
        "I also attached notes.md. Can you summarise the document 'Q3 plan'?"
    )
    agent = ResourceAgent()
    records = {r.title: r for r in run(agent, turn(text), context=ctx("Alice"))}
    assert set(records) == {"q3 results (example.com)", "notes.md", "Q3 plan"}
    pdf = records["q3 results (example.com)"]
    assert isinstance(pdf, ResourceMemory)
    assert (pdf.resource_type, pdf.uri) == ("pdf", "https://example.com/reports/q3-results.pdf")
    assert pdf.summary == "Alice shared the PDF q3 results (example.com) about the Q3 numbers."
    assert pdf.excerpt.startswith("Here's the report:")
    assert pdf.sensitive is False
    notes = records["notes.md"]
    assert (notes.resource_type, notes.uri) == ("document", None)
    assert records["Q3 plan"].resource_type == "document"
    assert agent.merges_near_duplicates(pdf) is False


def test_resource_ids_follow_the_normalised_uri() -> None:
    agent = ResourceAgent()
    [bare] = run(agent, turn("See www.github.com/langchain-ai/langgraph for the code."))
    [full] = run(agent, turn("https://GitHub.com/langchain-ai/langgraph/", role="assistant"))
    assert bare.id == full.id
    assert bare.uri == "https://github.com/langchain-ai/langgraph"
    assert (bare.resource_type, bare.title) == ("repo", "langchain-ai/langgraph")
    assert full.summary.startswith("The assistant mentioned the repository")
    [video] = run(agent, turn("Watch https://www.youtube.com/watch?v=abc123 later."))
    assert video.resource_type == "video"
    [again] = run(agent, turn("Let me re-send notes.md."))
    [first] = run(agent, turn("I attached notes.md."))
    assert again.id == first.id and again.uri is None


def test_resource_ignores_emails_and_framework_names() -> None:
    text = "Email me at bob@example.com. I build it with Node.js and Vue.js."
    assert run(ResourceAgent(), turn(text)) == []
