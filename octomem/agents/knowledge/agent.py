"""Knowledge agent: (subject)-[PREDICATE]->(object) edges between named entities.

The agent extracts third-party statements from any turn ("Guido created Python", "Sarah
is the CEO of Initech"); those edges are canonical here. Edges that a semantic fact
implies are views of that fact (`view`), never extracted twice. Functional predicates
(one object at a time) conflict on subject+predicate, so a new object invalidates the old
edge.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from octomem.agents.base import (
    BaseAgent,
    ConflictPolicy,
    ExtractionContext,
    NoNearMerge,
    StaleEvidence,
    ViewContext,
    read_turns,
    record_fields,
    said_by,
)
from octomem.agents.knowledge import prompt as knowledge_prompt
from octomem.agents.knowledge import view
from octomem.agents.knowledge.rules import (
    FUNCTIONAL,
    Triple,
    statement_triples,
    triple_sentence,
)
from octomem.agents.registry import register
from octomem.language import (
    content_stems,
    is_question,
    norm_key,
    split_sentences,
)
from octomem.models import (
    Entity,
    KnowledgeMemory,
    MemoryBase,
    MemoryType,
    Relation,
    Turn,
    make_memory_id,
)


@register
class KnowledgeAgent(NoNearMerge, StaleEvidence, BaseAgent):
    memory_type = MemoryType.KNOWLEDGE
    record_type = KnowledgeMemory
    policy = ConflictPolicy.SUPERSEDE
    prompt = knowledge_prompt.PROMPT

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """Third-party statements of every turn (a fact's edge is its view)."""
        records: dict[str, MemoryBase] = {}
        for turn, reading in zip(turns, read_turns(turns, ctx), strict=True):
            for sentence in split_sentences(turn.content):
                if is_question(sentence):
                    continue
                for triple in statement_triples(sentence):
                    record = self._record(triple, turn, ctx)
                    record.internal.update(said_by(reading))
                    records.setdefault(record.id, record)
        return list(records.values())

    def _record(self, triple: Triple, turn: Turn, ctx: ExtractionContext) -> KnowledgeMemory:
        return KnowledgeMemory(
            id=ctx.memory_id(
                self.memory_type, triple.subject_key, triple.predicate, norm_key(triple.object)
            ),
            content=triple_sentence(triple),
            subject=triple.subject,
            predicate=triple.predicate,
            object=triple.object,
            valid_at=turn.timestamp,
            entities=[triple.subject, triple.object],
            internal={"subject_key": triple.subject_key},
            **record_fields(turn, ctx, "knowledge"),
        )

    projects = MemoryType.SEMANTIC  # a fact's edge is a view of the fact (`view`)
    per_source = True

    def view_id(
        self, user_id: str | None, agent_id: str | None, source_id: str | None, id_key: bytes | None
    ) -> str:
        """One edge per fact record, in the fact's scope."""
        return make_memory_id(self.memory_type, user_id, agent_id, "fact", source_id, id_key=id_key)

    render_view = staticmethod(view.edge_view)

    def view_at(
        self, sources: Sequence[MemoryBase], view_id: str, at: datetime, ctx: ViewContext
    ) -> MemoryBase | None:
        return None  # per-source views: an edge keeps its own past

    def view_filter(self) -> dict[str, Any]:
        return {}  # per-source views: found by their source (`projection_of`)

    canonical = staticmethod(view.canonical)

    def linked_names(self, record: MemoryBase) -> list[str]:
        """Its subject and object are entities of the graph, besides its other entities."""
        if isinstance(record, KnowledgeMemory):
            return [record.subject, record.object, *record.entities]
        return list(record.entities)

    def edge(self, record: MemoryBase) -> Relation | None:
        """The edge (subject)-[PREDICATE]->(object) it is written as: same id, valid from
        when the statement held, invalid once the record is closed."""
        if not isinstance(record, KnowledgeMemory):
            return None
        return Relation(
            id=record.id,
            user_id=record.user_id,
            subject_id=Entity.make_id(record.user_id, record.subject),
            predicate=record.predicate,
            object_id=Entity.make_id(record.user_id, record.object),
            fact=record.content,
            memory_id=record.id,
            valid_at=record.valid_at or record.valid_from,
            invalid_at=record.invalid_at or record.valid_to,
            created_at=record.created_at,
        )

    def said(self, record: MemoryBase) -> set[str]:
        """Its predicate and object ("works at Studio Lumen"), not its subject."""
        if not isinstance(record, KnowledgeMemory):
            return super().said(record)
        return content_stems(re.sub(r"[_:]", " ", f"{record.predicate} {record.object}"))

    def held_name(self, record: MemoryBase) -> str | None:
        """Its object: an entity of the graph."""
        return record.object if isinstance(record, KnowledgeMemory) else super().held_name(record)

    def closing(self, record: MemoryBase, at: datetime) -> dict[str, Any]:
        return {"invalid_at": at}  # an edge's own validity closes with its record

    def conflict_key(self, record: MemoryBase) -> str | None:
        if not isinstance(record, KnowledgeMemory) or record.predicate not in FUNCTIONAL:
            return None
        if record.internal.get("projection_of"):
            return None  # a fact's edge changes with its fact, never by a rival edge
        subject_key = record.internal.get("subject_key") or norm_key(record.subject)
        return f"{subject_key}|{record.predicate}"
