"""Core agent: the "human" and "persona" blocks always given to the agent.

The human block has one line per key fact ("Lives in: Berlin"), built from the same
statements the semantic agent extracts. A newer line with the same prefix replaces the
old one; the block is kept within its character limit by dropping the oldest lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from octomem.agents.base import BaseAgent, ConflictPolicy, ExtractionContext
from octomem.agents.semantic import Fact, stated_name, user_facts
from octomem.agents.text import entities_in, record_fields, split_sentences
from octomem.models import CoreMemory, MemoryBase, MemoryType, SourceRef, Turn

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


def fact_line(fact: Fact) -> str | None:
    """The human-block line for a first-person fact ("Lives in: Berlin")."""
    if not fact.is_user:
        return None
    attr = fact.attribute
    if attr.startswith("preference:"):
        return f"Preference ({fact.relation}): {fact.value}"
    if attr.startswith("favourite:"):
        return f"Favourite {fact.relation}: {fact.value}"
    if fact.relation:
        return f"{fact.relation.capitalize()}: {fact.value}"
    prefix = _PREFIXES.get(attr)
    return f"{prefix}: {fact.value}" if prefix else None


def _line_key(line: str) -> str:
    prefix, sep, _ = line.partition(": ")
    if not sep or prefix in MULTI_PREFIXES:
        return line.strip().lower()
    return prefix.lower()


def merge_lines(old: Sequence[str], new: Sequence[str], char_limit: int) -> list[str]:
    """`old` updated by `new`: a same-prefix line is replaced (and becomes the newest),
    new lines are appended, and the oldest lines are dropped to fit `char_limit`."""
    lines = [line for line in old if line.strip()]
    for line in new:
        if not line.strip():
            continue
        key = _line_key(line)
        lines = [kept for kept in lines if _line_key(kept) != key]
        lines.append(line)
    while len(lines) > 1 and len("\n".join(lines)) > char_limit:
        lines.pop(0)
    if lines and len(lines[0]) > char_limit:
        lines[0] = lines[0][:char_limit]
    return lines


class CoreAgent(BaseAgent):
    memory_type = MemoryType.CORE
    record_type = CoreMemory
    policy = ConflictPolicy.UPDATE

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        records: list[MemoryBase] = []
        human: list[str] = []
        human_turns: list[Turn] = []
        names: list[str] = []
        persona: list[str] = []
        persona_turns: list[Turn] = []
        for turn in turns:
            if turn.role == "user":
                facts = user_facts(turn.content)
                lines = [line for fact in facts if (line := fact_line(fact))]
                if lines:
                    human = merge_lines(human, lines, ctx.core_char_limit)
                    human_turns.append(turn)
                    names += [e for f in facts if f.is_user for e in f.entities]
                    name = ctx.user_name or stated_name(facts)
                    names += [name] if name else []
            elif turn.role == "system":
                lines = [s for s in split_sentences(turn.content) if _PERSONA_START.match(s)]
                if lines:
                    persona = merge_lines(persona, lines, ctx.core_char_limit)
                    persona_turns.append(turn)
        if human:
            records.append(self._block(HUMAN, human, human_turns, ctx, names))
        if persona:
            names = entities_in(" ".join(persona))
            records.append(self._block(PERSONA, persona, persona_turns, ctx, names))
        return records

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
