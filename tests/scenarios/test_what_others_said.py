"""What others said - a Slack channel's members, a mailbox's senders - becomes memories
offline: a dated plan is an event with its place and date, "Ana is the new on-call
engineer" a fact about Ana and an edge of the graph, each saying who said it; and what
another speaker says about themselves ("I moved to Lisbon") is theirs, never the user's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from octomem import Orchestrator
from octomem.models import EpisodicMemory, KnowledgeMemory, SemanticMemory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHANNEL = [
    ("Bob Tanaka", "The offsite will be held in Lisbon on 12 May."),
    ("Carla Mendes", "Ana is the new on-call engineer."),
    ("Bob Tanaka", "I moved to Lisbon last year, so I'm the local guide. I'm 41."),
    ("Carla Mendes", "I need to finish the budget by Friday. I'm at the office right now."),
    ("Pria Natarajan", "Great, see you all there!"),  # the user ("pria"), by the first name
]
MBOX = (
    b"From bob@example.com Mon Mar  2 09:00:00 2026\n"
    b"From: Bob Tanaka <bob@example.com>\n"
    b"Subject: Offsite\n"
    b"Date: Mon, 02 Mar 2026 09:00:00 +0000\n"
    b"Message-ID: <offsite@example.com>\n\n"
    b"Hi all, the offsite will be held in Lisbon on 12 May. I moved to Lisbon last year.\n\n"
    b"From carla@example.com Mon Mar  2 10:00:00 2026\n"
    b"From: Carla Mendes <carla@example.com>\n"
    b"Subject: Rota\n"
    b"Date: Mon, 02 Mar 2026 10:00:00 +0000\n"
    b"Message-ID: <rota@example.com>\n\n"
    b"Ana is the new on-call engineer.\n"
)


def _the_user_lives_in_berlin(orch: Orchestrator, user: str) -> None:
    orch.process("My name is Pria and I live in Berlin.", user_id=user, timestamp=T0)


def _heard(orch: Orchestrator, user: str) -> None:
    """What a user sees after hearing the channel or the mailbox."""
    offsite = orch.recall("where is the offsite?", user_id=user, limit=5).hits
    [event] = [
        h.memory
        for h in offsite[:3]
        if h.memory_type.value == "episodic" and h.memory.internal.get("place")
    ]
    assert isinstance(event, EpisodicMemory) and event.event_type == "plan"
    assert "Lisbon" in event.content and "12 May" in event.content
    assert event.occurred_at.date().isoformat() == "2026-05-12"
    assert (event.internal["place"], event.internal["said_by"]) == ("Lisbon", "Bob Tanaka")
    assert "said by Bob Tanaka" in event.content
    on_call = orch.recall("who is the on-call engineer?", user_id=user, limit=5).hits
    facts = [h.memory for h in on_call[:3] if isinstance(h.memory, SemanticMemory)]
    assert [(f.subject, f.attribute, f.value) for f in facts] == [
        ("Ana", "role", "on-call engineer")
    ]
    assert facts[0].content == "Ana is the on-call engineer (said by Carla Mendes)."
    edges = orch.get_all(user_id=user, memory_types=["knowledge"])
    edge = next(e for e in edges if isinstance(e, KnowledgeMemory) and e.subject == "Ana")
    assert (edge.predicate, edge.object) == ("HAS_ROLE", "on-call engineer")
    assert edge.internal["said_by"] == "Carla Mendes"
    # the user's own facts are as the user said them: Bob moved to Lisbon, the user did not
    semantic = orch.get_all(user_id=user, memory_types=["semantic"])
    current = {(f.subject, f.attribute, f.value) for f in semantic if isinstance(f, SemanticMemory)}
    assert ("user", "lives_in", "Berlin") in current
    assert ("Bob Tanaka", "lives_in", "Lisbon") in current
    assert not {f for f in current if f[0] == "user" and f[2] in {"Lisbon", "41"}}
    [core] = orch.get_all(user_id=user, memory_types=["core"])
    assert "Berlin" in core.content and "Lisbon" not in core.content


def test_a_multi_speaker_channel(shared_orch: Orchestrator, uid: Callable[[str], str]) -> None:
    orch, user = shared_orch, uid("pria")
    _the_user_lives_in_berlin(orch, user)
    messages = [{"role": "user", "name": name, "content": text} for name, text in CHANNEL]
    orch.process(messages, user_id=user, session_id="slack:general", timestamp=T0)
    _heard(orch, user)
    # nobody else's task or whereabouts is the user's
    assert orch.get_all(user_id=user, memory_types=["working", "contextual"]) == []
    moved = [
        m for m in orch.get_all(user_id=user, memory_types=["episodic"]) if "moved" in m.content
    ]
    assert [m.content for m in moved if m.internal.get("raw") is None] == [
        "In 2025 Bob Tanaka moved to Lisbon."
    ]


def test_an_ingested_mailbox(make_orch: Any, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "team.mbox").write_bytes(MBOX)
    orch = make_orch(data_dir=tmp_path / "data")
    _the_user_lives_in_berlin(orch, "pria")
    assert orch.ingest(folder, user_id="pria").added == ["team.mbox"]
    _heard(orch, "pria")


def test_a_role_handed_over_has_one_holder(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    """A new holder ("Ben is the new on-call engineer") ends Ana's turn: one current
    holder, Ana's kept in history; holding one role does not end another ("Ana is our
    team lead")."""
    orch, user = shared_orch, uid("pria")
    said = [
        ("Carla Mendes", "Ana is the on-call engineer."),
        ("Carla Mendes", "Ana is our team lead."),
        ("Bob Tanaka", "Ben is the new on-call engineer."),
    ]
    for name, text in said:
        orch.process([{"role": "user", "name": name, "content": text}], user_id=user)
    facts = orch.get_all(user_id=user, memory_types=["semantic"])
    roles = {(f.subject, f.value) for f in facts if isinstance(f, SemanticMemory)}
    assert roles == {("Ben", "on-call engineer"), ("Ana", "team lead")}
    edges = orch.get_all(user_id=user, memory_types=["knowledge"])
    held = {(e.subject, e.object) for e in edges if isinstance(e, KnowledgeMemory)}
    assert held == roles
    every = orch.get_all(user_id=user, memory_types=["semantic"], include_superseded=True)
    [ana] = [f for f in every if f.content.startswith("Ana is the on-call")]
    assert [e.operation.value for e in orch.history(ana.id)] == ["ADD", "SUPERSEDE"]
