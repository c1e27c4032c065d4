"""Others' words through the LLM path: a channel's members and a mailbox's senders speak in
user-role turns, and what a model reads there as "I" is theirs, never the user's - even
when the model says "user" - and each record says who said it; the prompt tells the model
who they are."""

from __future__ import annotations

from typing import Any

from octomem import MemoryType
from octomem.agents.episodic.prompt import EpisodicOutput, Event
from octomem.agents.knowledge.prompt import KnowledgeOutput, Triple
from octomem.agents.semantic.prompt import Fact, SemanticOutput
from octomem.agents.working.prompt import Task, WorkingOutput
from octomem.models import EpisodicMemory, KnowledgeMemory, SemanticMemory
from octomem.prompts.extraction import ExtractionOutput
from octomem.testing import ScriptedModel, ScriptedRequest
from tests.conftest import T0

CHANNEL = [
    ("Pria Natarajan", "I live in Berlin."),  # the user ("pria"), by her first name
    ("Bob Tanaka", "I moved to Lisbon last year and I ran the Lisbon half marathon."),
    ("Carla Mendes", "Ana is the new on-call engineer. I need to finish the budget by Friday."),
]


def naive(request: ScriptedRequest) -> ExtractionOutput:
    """A model that reads every "I" as the user, whoever said it."""
    if request.purpose != "extract":
        raise AssertionError(request.purpose)

    def fact(turn: int, subject: str, attribute: str, value: str, statement: str) -> Fact:
        return Fact(
            subject=subject,
            attribute=attribute,
            value=value,
            statement=statement,
            source_turns=[turn],
        )

    return ExtractionOutput(
        agents=[MemoryType.SEMANTIC, MemoryType.EPISODIC, MemoryType.KNOWLEDGE],
        semantic=SemanticOutput(
            facts=[
                fact(0, "user", "lives_in", "Berlin", "The user lives in Berlin."),
                fact(1, "user", "lives_in", "Lisbon", "The user lives in Lisbon."),
                fact(1, "I", "name", "Bob", "The user's name is Bob."),
                fact(2, "Ana", "role", "on-call engineer", "Ana is the on-call engineer."),
            ]
        ),
        episodic=EpisodicOutput(
            events=[
                Event(summary="The user ran the Lisbon half marathon.", source_turns=[1]),
            ]
        ),
        knowledge=KnowledgeOutput(
            triples=[
                Triple(
                    subject="User",
                    predicate="LIVES_IN",
                    object="Lisbon",
                    fact="The user lives in Lisbon.",
                    source_turns=[1],
                )
            ]
        ),
        working=WorkingOutput(
            tasks=[Task(key="todo:budget", value="budget", statement="Finish the budget.")]
        ),
    )


def test_a_channel_read_by_a_model(make_orch: Any) -> None:
    with ScriptedModel(naive, name="speakers") as model:
        orch = make_orch(llm={"model": model.model, "max_retries": 1})
        messages = [{"role": "user", "name": name, "content": text} for name, text in CHANNEL]
        orch.process(messages, user_id="pria", session_id="slack:general", timestamp=T0)
        [prompt] = [r.prompt for r in model.requests if r.purpose == "extract"]
    assert "not the user: Bob Tanaka, Carla Mendes." in prompt

    facts = [f for f in orch.get_all(user_id="pria", memory_types=["semantic"])]
    held = {(f.subject, f.attribute, f.value, f.internal.get("said_by")) for f in facts}
    assert isinstance(facts[0], SemanticMemory)
    assert held == {
        ("user", "lives_in", "Berlin", None),
        ("Bob Tanaka", "lives_in", "Lisbon", "Bob Tanaka"),
        ("Ana", "role", "on-call engineer", "Carla Mendes"),
    }
    contents = {f.content for f in facts}
    assert "Bob Tanaka lives in Lisbon." in contents
    assert "Ana is the on-call engineer (said by Carla Mendes)." in contents

    edges = orch.get_all(user_id="pria", memory_types=["knowledge"])
    lisbon = [e for e in edges if isinstance(e, KnowledgeMemory) and e.object == "Lisbon"]
    assert lisbon and {e.subject for e in lisbon} == {"Bob Tanaka"}

    events = orch.get_all(user_id="pria", memory_types=["episodic"])
    [marathon] = [e for e in events if isinstance(e, EpisodicMemory) and e.internal.get("said_by")]
    assert (marathon.actor, marathon.internal["said_by"]) == ("Bob Tanaka", "Bob Tanaka")
    # Carla's todo is not the user's working memory
    assert orch.get_all(user_id="pria", memory_types=["working"]) == []
    [core] = orch.get_all(user_id="pria", memory_types=["core"])
    assert "Berlin" in core.content and "Lisbon" not in core.content
