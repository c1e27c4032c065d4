"""A knowledge memory in the entity graph: the edge (subject)-[PREDICATE]->(object) it is
written as, with the same id, valid from when the statement held, invalid once the
memory is closed (`KnowledgeAgent.edge`, the `GraphProjection` role)."""

from __future__ import annotations

from octomem.models import Entity, KnowledgeMemory, Relation


def relation_of(record: KnowledgeMemory) -> Relation:
    """The graph edge a knowledge memory is written as (same id; invalid once closed)."""
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
