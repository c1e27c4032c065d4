"""Core agent: the "human" and "persona" blocks always given to the agent.

The persona block is extracted here, from system prompts. The human block is a
projection: one line per current fact the user stated about themselves ("Lives in:
Berlin"), rendered from the semantic memories (the canonical records) by `human_lines`
and rewritten by `octomem.orchestrator.projections` whenever those facts change. Lines
follow the facts' order in time; the oldest are dropped to fit the character limit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from octomem.agents.base import (
    AgentPrompt,
    BaseAgent,
    ConflictPolicy,
    ExtractionContext,
    record_fields,
)
from octomem.agents.core import prompt as core_prompt
from octomem.agents.registry import register
from octomem.language import entities_in, split_sentences
from octomem.models import CoreMemory, MemoryBase, MemoryType, SemanticMemory, SourceRef, Turn

HUMAN = "human"
PERSONA = "persona"
_PREFIXES = {
    "name": "Name",
    "lives_in": "Lives in",
    "hometown": "From",
    "works_at": "Works at",
    "job": "Job",
    "age": "Age",
    "num_children": "Children",
    "diet": "Diet",
    "allergy": "Allergy",
}
# line prefixes that may repeat with different values ("Sister: Maria", "Sister: Ana")
MULTI_PREFIXES = {"Allergy", "Sister", "Brother", "Sibling", "Son", "Daughter", "Kid", "Child"}
MULTI_PREFIXES |= {"Friend", "Best friend", "Colleague", "Coworker", "Co-worker", "Dog", "Cat"}
MULTI_PREFIXES |= {"Cousin", "Aunt", "Uncle", "Niece", "Nephew", "Grandma", "Grandpa"}
_PERSONA_START = re.compile(
    r"^(?:you are|you're|your name is|your role is|you (?:speak|help|work|specialize|"
    r"specialise|always|never|should|must|can|answer|respond|reply)|act as|as an? |always |never )",
    re.IGNORECASE,
)


def fact_line(fact: SemanticMemory) -> str | None:
    """The human-block line for a fact about the user ("Lives in: Berlin"); None for a
    fact about someone else."""
    if fact.subject != "user":
        return None
    attr, value = fact.attribute, fact.value
    relation = str(fact.internal.get("relation") or "")
    if attr.startswith("preference:"):
        return f"Preference ({relation or attr.partition(':')[2].replace('_', ' ')}): {value}"
    if attr.startswith("favourite:"):
        return f"Favourite {relation or attr.partition(':')[2].replace('_', ' ')}: {value}"
    if relation:
        return f"{relation.capitalize()}: {value}"
    prefix = _PREFIXES.get(attr) or attr.replace("_", " ").strip().capitalize()
    return f"{prefix}: {value}" if prefix else None


def human_lines(facts: Sequence[SemanticMemory], char_limit: int) -> list[str]:
    """The human block rendered from the user's current facts, oldest first; a later fact
    with the same line prefix wins, and the oldest lines are dropped to fit `char_limit`."""
    rank = {attr: i for i, attr in enumerate(_PREFIXES)}  # facts of one turn: name first...
    ordered = sorted(facts, key=lambda f: (f.valid_from, rank.get(f.attribute, 99), f.id))
    return merge_lines([], [line for f in ordered if (line := fact_line(f))], char_limit)


def _line_key(line: str) -> str:
    prefix, sep, _ = line.partition(": ")
    if not sep or prefix in MULTI_PREFIXES:
        return line.strip().lower()
    return prefix.lower()


def merge_lines(old: Sequence[str], new: Sequence[str], char_limit: int) -> list[str]:
    """`old` updated by `new`: a same-prefix line is replaced (and becomes the newest),
    new lines are appended, and the oldest lines are dropped to fit `char_limit`."""
    # linear in the lines: a human block is rendered from all of a user's facts at once
    added = [line for line in new if line.strip()]
    last = {_line_key(line): i for i, line in enumerate(added)}  # a key's newest line wins
    lines = [line for line in old if line.strip() and _line_key(line) not in last]
    lines += [line for i, line in enumerate(added) if last[_line_key(line)] == i]
    size, first = sum(len(line) + 1 for line in lines) - 1, 0  # len("\n".join(lines))
    while len(lines) - first > 1 and size > char_limit:
        size -= len(lines[first]) + 1
        first += 1
    lines = lines[first:]
    if lines and len(lines[0]) > char_limit:
        lines[0] = lines[0][:char_limit]
    return lines


@register
class CoreAgent(BaseAgent):
    memory_type = MemoryType.CORE
    record_type = CoreMemory
    policy = ConflictPolicy.UPDATE
    always_recalled = True  # blocks come whole with every recall
    prompt = AgentPrompt(core_prompt.INSTRUCTIONS, core_prompt.CoreOutput, core_prompt.to_records)

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """The persona block from system prompts (the human block is a projection of the
        semantic facts, see `human_lines`)."""
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
        return [self._block(PERSONA, persona, persona_turns, ctx, names)]

    def _block(
        self,
        label: str,
        lines: list[str],
        turns: list[Turn],
        ctx: ExtractionContext,
        entities: list[str],
    ) -> CoreMemory:
        fields = record_fields(turns[-1], ctx, "core")
        fields["source"] = SourceRef(
            turn_ids=[t.id for t in turns],
            message_ids=[t.external_id or t.id for t in turns],
            extractor="offline:core",
        )
        return CoreMemory(
            id=ctx.memory_id(self.memory_type, label),
            label=label,
            content="\n".join(lines),
            char_limit=ctx.core_char_limit,
            entities=list(dict.fromkeys(entities)),
            **fields,
        )

    def conflict_key(self, record: MemoryBase) -> str | None:
        return record.label if isinstance(record, CoreMemory) else None

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        return False

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
