"""Semantic agent: facts about the user and the people they name (subject, attribute, value).

The facts are read by the language layer (`octomem.language.read_facts`), once per call
for every agent (`read_turns`), so the core "human" block and the user's edges in the
knowledge graph come from the same reading. This agent makes them records and holds
their conflict policy: one current value per subject and single-valued attribute.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from octomem.agents.base import (
    RETRACTS,
    BaseAgent,
    ConflictPolicy,
    ExtractionContext,
    NoNearMerge,
    StaleEvidence,
    keep_said,
    read_turns,
    record_fields,
    said_by,
)
from octomem.agents.registry import register
from octomem.agents.semantic import prompt as semantic_prompt
from octomem.agents.semantic.update import reread
from octomem.language import Fact, content_stems, fact_sentence, norm_key, possessive, words
from octomem.models import MemoryBase, MemoryType, SemanticMemory, Turn

SINGLE_VALUED = words("name lives_in hometown works_at job age spouse partner mother father")
SINGLE_VALUED |= words("boss diet num_children")
SINGLE_PREFIXES = ("preference:", "favourite:", "num_")


@register
class SemanticAgent(NoNearMerge, StaleEvidence, BaseAgent):
    memory_type = MemoryType.SEMANTIC
    record_type = SemanticMemory
    policy = ConflictPolicy.SUPERSEDE
    prompt = semantic_prompt.PROMPT

    def said(self, record: MemoryBase) -> set[str]:
        """Its attribute, value and sentence ("is 34 years old": age), without the words
        of whom it is about."""
        if not isinstance(record, SemanticMemory):
            return super().said(record)
        names = [e for e in [record.subject, *record.entities] if e not in record.value]
        who = set().union(*(content_stems(name) for name in names))
        text = f"{record.attribute} {record.value}"
        return content_stems(re.sub(r"[_:]", " ", text)) | (content_stems(record.content) - who)

    def user_name(self, record: MemoryBase) -> str | None:
        """The user's name is a fact about them (the caller reads the user's facts)."""
        if isinstance(record, SemanticMemory) and record.attribute == "name":
            return record.value
        return None

    def reread(self, record: MemoryBase, text: str, user_name: str | None) -> MemoryBase:
        """Its value (and relation) read again from the new text (`update.reread`)."""
        return reread(record, text, user_name) if isinstance(record, SemanticMemory) else record

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """Facts and retractions, a turn's retractions before its facts ("I quit my job
        and started at Globex" must not close Globex)."""
        records: dict[str, MemoryBase] = {}
        for turn, reading in zip(turns, read_turns(turns, ctx), strict=True):
            known, note = reading.user_name, said_by(reading)
            for record in [
                *(self.retraction(fact, turn, ctx, known) for fact in reading.retracted),
                *(self.record(fact, turn, ctx, known, reading.speaker) for fact in reading.facts),
            ]:
                record.internal.update(note)
                keep_said(records, record)
        return list(records.values())

    def retraction(
        self, fact: Fact, turn: Turn, ctx: ExtractionContext, user: str | None
    ) -> SemanticMemory:
        """A candidate that closes the current `fact.attribute` (of that value, if named);
        reconcile never stores it (see `RETRACTS`)."""
        who = (user or "The user") if fact.is_user else fact.subject
        said = fact_sentence(fact, user) if fact.value else f"{possessive(who)} {fact.attribute}."
        content = f"No longer true: {said}"
        return SemanticMemory(
            id=ctx.memory_id(
                self.memory_type,
                fact.subject.lower(),
                fact.attribute,
                "retracts",
                norm_key(fact.value),
            ),
            content=content,
            subject=fact.subject,
            attribute=fact.attribute,
            value=fact.value,
            entities=list(dict.fromkeys([*([user] if user else []), *fact.entities])),
            internal={RETRACTS: True},
            **record_fields(turn, ctx, "semantic"),
        )

    def record(
        self,
        fact: Fact,
        turn: Turn,
        ctx: ExtractionContext,
        user: str | None,
        speaker: str | None = None,
    ) -> SemanticMemory:
        """The fact as a record; one `speaker` (not the user) said about someone else
        names them ("Ana is the on-call engineer (said by Bob Tanaka).")."""
        content = fact_sentence(fact, user)
        entities = list(fact.entities)
        if speaker and speaker != fact.subject:
            content = f"{content[:-1]} (said by {speaker})."
            entities.append(speaker)
        if fact.is_user and user:
            entities.insert(0, user)
        elif not fact.is_user and fact.subject not in entities:
            entities.insert(0, fact.subject)
        key = norm_key(fact.value) if fact.attribute != "age" else fact.value
        return SemanticMemory(
            id=ctx.memory_id(self.memory_type, fact.subject.lower(), fact.attribute, key),
            content=content,
            subject=fact.subject,
            attribute=fact.attribute,
            value=fact.value,
            entities=list(dict.fromkeys(entities)),
            internal={"relation": fact.relation} if fact.relation else {},
            **record_fields(turn, ctx, "semantic"),
        )

    def conflict_key(self, record: MemoryBase) -> str | None:
        if not isinstance(record, SemanticMemory):
            return None
        attr = record.attribute
        if attr in SINGLE_VALUED or attr.startswith(SINGLE_PREFIXES):
            return f"{record.subject.lower()}|{attr}"
        if attr == "role":  # "the (new) on-call engineer": one holder, who may hold others
            return f"role|{norm_key(record.value)}"
        return None
