"""Core agent: the "human" and "persona" blocks always given to the agent.

The persona block is extracted here, from system prompts; the human block is a view of
the user's semantic facts (`view`), never extracted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from octomem.agents.base import (
    BaseAgent,
    ConflictPolicy,
    ExtractionContext,
    NoNearMerge,
    record_fields,
)
from octomem.agents.core import prompt as core_prompt
from octomem.agents.core import view
from octomem.agents.core.rules import (
    _PERSONA_START,
    HUMAN,
    PERSONA,
    merge_lines,
)
from octomem.agents.registry import register
from octomem.language import entities_in, split_sentences
from octomem.models import (
    CoreMemory,
    MemoryBase,
    MemoryType,
    SourceRef,
    Turn,
    make_memory_id,
)


@register
class CoreAgent(NoNearMerge, BaseAgent):
    memory_type = MemoryType.CORE
    record_type = CoreMemory
    policy = ConflictPolicy.UPDATE
    prompt = core_prompt.PROMPT

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        persona: list[str] = []
        persona_turns: list[Turn] = []
        for turn in turns:
            if turn.role == "system":
                lines = [s for s in split_sentences(turn.content) if _PERSONA_START.match(s)]
                if lines:
                    persona = merge_lines(persona, lines, ctx.core_char_limit)
                    persona_turns.append(turn)
        if not persona:
            return []
        names = entities_in(" ".join(persona))
        fields = record_fields(persona_turns[-1], ctx, "core")
        fields["source"] = SourceRef(
            turn_ids=[t.id for t in persona_turns],
            message_ids=[t.external_id or t.id for t in persona_turns],
            extractor="offline:core",
        )
        return [
            CoreMemory(
                id=ctx.memory_id(self.memory_type, PERSONA),
                label=PERSONA,
                content="\n".join(persona),
                char_limit=ctx.core_char_limit,
                entities=list(dict.fromkeys(names)),
                **fields,
            )
        ]

    projects = MemoryType.SEMANTIC  # the human block is a view of the user's facts (`view`)
    per_source = False  # one block per (user, agent) scope

    def view_id(
        self, user_id: str | None, agent_id: str | None, source_id: str | None, id_key: bytes | None
    ) -> str:
        return make_memory_id(self.memory_type, user_id, agent_id, HUMAN, id_key=id_key)

    render_view = staticmethod(view.human_block)
    view_at = staticmethod(view.block_at)

    def view_filter(self) -> dict[str, Any]:
        return {"label": HUMAN}  # by label: blocks stored before views were marked

    def canonical(self, candidates: Sequence[MemoryBase], id_key: bytes | None) -> list[MemoryBase]:
        return list(candidates)  # only the persona is extracted, never the human block

    def block(self, record: MemoryBase) -> CoreMemory | None:
        """Blocks come whole with every recall (`AlwaysRecalled`)."""
        return record if isinstance(record, CoreMemory) else None

    def conflict_key(self, record: MemoryBase) -> str | None:
        return record.label if isinstance(record, CoreMemory) else None

    def merge(self, existing: MemoryBase, candidate: MemoryBase, now: datetime) -> MemoryBase:
        """Rewrite the block: the persona is replaced, the human block merged line by line."""
        if not isinstance(existing, CoreMemory) or not isinstance(candidate, CoreMemory):
            return super().merge(existing, candidate, now)
        limit = candidate.char_limit
        if candidate.label == PERSONA:
            lines = merge_lines([], candidate.content.splitlines(), limit)
        else:
            lines = merge_lines(
                existing.content.splitlines(), candidate.content.splitlines(), limit
            )
        merged = candidate.model_copy(update={"content": "\n".join(lines)})
        return super().merge(existing, merged, now)
