"""The MemoryAgent protocol and the shared base every agent builds on.

An agent owns one memory type: its record model, its offline extractor, the key that
makes two records the same memory (folded into the deterministic id), the key that makes
two records conflict, its conflict policy, and how a stored record absorbs a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from octomem.models import MemoryBase, MemoryType, Scope, Turn, make_memory_id

# internal key of a candidate that says a stored fact is no longer true: reconcile closes
# the fact it names (as an LLM DELETE would) and never stores the candidate itself
RETRACTS = "retracts"


class ConflictPolicy(StrEnum):
    SUPERSEDE = "supersede"  # a new value closes the old record (valid_to) and adds a new one
    UPDATE = "update"  # the stored record is rewritten in place; history keeps the old text
    APPEND = "append"  # no conflicts: every distinct record is kept (near-dups still merge)


class ExtractionContext(BaseModel):
    """What an extractor knows besides the turns themselves."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    scope: Scope
    now: datetime
    user_name: str | None = None
    working_ttl: timedelta = timedelta(hours=24)
    core_char_limit: int = 2000
    id_key: bytes | None = None  # the data directory's id key (`octomem.id_key`)

    def memory_id(self, memory_type: MemoryType, *key: object, session: bool = False) -> str:
        """Deterministic id within this context's user/agent (and session if asked)."""
        scope = self.scope
        parts: tuple[object, ...] = (scope.user_id, scope.agent_id)
        if session:
            parts += (scope.session_id,)
        return make_memory_id(memory_type, *parts, *key, id_key=self.id_key)


@runtime_checkable
class MemoryAgent(Protocol):
    memory_type: MemoryType
    record_type: type[MemoryBase]
    policy: ConflictPolicy

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """Offline (rule-based) extraction: candidate records with deterministic ids."""
        ...

    def conflict_key(self, record: MemoryBase) -> str | None:
        """Records of one scope with the same conflict key hold competing values."""
        ...

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        """Whether a near-duplicate (embedding similarity) of `record` updates it."""
        ...

    def merge(self, existing: MemoryBase, candidate: MemoryBase, now: datetime) -> MemoryBase:
        """The stored record `existing` updated in place (same id) by `candidate`."""
        ...


class BaseAgent:
    """Defaults shared by the agents; each agent overrides what differs."""

    memory_type: ClassVar[MemoryType]
    record_type: ClassVar[type[MemoryBase]]
    policy: ClassVar[ConflictPolicy] = ConflictPolicy.APPEND

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        return []

    def conflict_key(self, record: MemoryBase) -> str | None:
        return None

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        return True

    def merge(self, existing: MemoryBase, candidate: MemoryBase, now: datetime) -> MemoryBase:
        """Default: the newer wording wins, sources are united, created_at is kept; the
        candidate's metadata and internal keys win over the stored record's."""
        source = existing.source.model_copy(
            update={
                "turn_ids": _union(existing.source.turn_ids, candidate.source.turn_ids),
                "message_ids": _union(existing.source.message_ids, candidate.source.message_ids),
            }
        )
        data = candidate.model_dump()
        data.update(
            id=existing.id,
            created_at=existing.created_at,
            updated_at=now,
            valid_from=existing.valid_from,
            source=source,
            metadata={**existing.metadata, **candidate.metadata},
            internal={**existing.internal, **candidate.internal},
            entities=_union(existing.entities, candidate.entities),
            version=existing.version + 1,
            content_hash="",
        )
        return type(existing).model_validate(data)


def _union(first: Sequence[str], second: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))
