"""Knowledge agent prompt: (subject)-[PREDICATE]->(object) edges between named entities."""

from __future__ import annotations

import re
from collections.abc import Sequence

from octomem.agents.base import ExtractionContext
from octomem.agents.context import SAID_BY
from octomem.agents.prompting import (
    USER_WORDS,
    Item,
    from_user,
    listing,
    record_fields,
    reply,
    speaker,
)
from octomem.language import norm_key
from octomem.models import KnowledgeMemory, MemoryBase, MemoryType, Turn
from octomem.sensitive import mask_text

INSTRUCTIONS = (
    "knowledge: relations between named entities (people, organisations, places, products) "
    "as (subject, PREDICATE, object) with an UPPER_SNAKE_CASE predicate (LIVES_IN, WORKS_AT, "
    "MARRIED_TO, SISTER, FOUNDED, CEO_OF, LOCATED_IN, ...) and the fact sentence. Name the "
    "user by their name when known, else 'User'."
)


class Triple(Item):
    subject: str
    predicate: str
    object: str
    fact: str


def to_record(triple: Triple, turns: Sequence[Turn], ctx: ExtractionContext) -> MemoryBase | None:
    predicate = re.sub(r"[^A-Z0-9]+", "_", triple.predicate.strip().upper()).strip("_")
    subject, obj = triple.subject.strip(), triple.object.strip()
    if not (predicate and subject and obj):
        return None
    user_words = USER_WORDS | ({ctx.user_name.lower()} if ctx.user_name else set())
    said = speaker(triple, turns, ctx)
    if said and subject.lower() in USER_WORDS:  # another speaker's "I": theirs
        subject = said
    is_user = subject.lower() in user_words
    if is_user and not from_user(triple, turns, ctx):
        # an edge about the user becomes the user's fact (`view.canonical`): the assistant's
        # words are never one, as the semantic agent's are not (`from_user`)
        return None
    # of the masked name: the key is stored as it is (in internal and the conflict key),
    # and the model may name anything a subject, a key it was shown masked included
    subject_key = "user" if is_user else norm_key(mask_text(subject))
    if is_user:
        subject = ctx.user_name or "User"
    fields = record_fields(triple, turns, ctx, "knowledge")
    return KnowledgeMemory(
        id=ctx.memory_id(MemoryType.KNOWLEDGE, subject_key, predicate, norm_key(obj)),
        content=triple.fact.strip() or f"{subject} {predicate} {obj}.",
        subject=subject,
        predicate=predicate,
        object=obj,
        valid_at=fields["valid_from"],
        entities=[subject, obj],
        internal={"subject_key": subject_key, **({SAID_BY: said} if said else {})},
        **fields,
    )


KnowledgeOutput = reply("KnowledgeOutput", triples=Triple)
PROMPT = listing(INSTRUCTIONS, KnowledgeOutput, to_record)
