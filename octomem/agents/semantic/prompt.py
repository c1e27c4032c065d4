"""Semantic agent prompt: facts about people, things and concepts."""

from __future__ import annotations

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
from octomem.language import Fact as Said
from octomem.language import entities_in, fact_sentence, norm_key
from octomem.models import MemoryBase, MemoryType, SemanticMemory, Turn

INSTRUCTIONS = (
    "semantic: facts as (subject, attribute, value) plus a self-contained statement. The "
    "subject is 'user' for the user, else the person's or thing's name. Use these attribute "
    "names where they fit: name, lives_in, hometown, works_at, job, age, spouse, partner, "
    "sibling, has_child, allergy, diet, num_children, and 'preference:<thing>' with value "
    "'likes' or 'dislikes' for likes and dislikes; otherwise a short snake_case attribute."
)


class Fact(Item):
    subject: str
    attribute: str
    value: str
    statement: str


def names_user(subject: str, ctx: ExtractionContext) -> bool:
    """Whether a fact's subject is the user: `user`, or the user's name when it is known
    ("Alice, you live in the cloud now" is as much about the user as "you do")."""
    known = ctx.user_name
    return subject == "user" or (known is not None and subject.lower() == known.lower())


def to_record(fact: Fact, turns: Sequence[Turn], ctx: ExtractionContext) -> MemoryBase | None:
    subject = "user" if fact.subject.strip().lower() in USER_WORDS else fact.subject.strip()
    attribute = fact.attribute.strip().lower().replace(" ", "_")
    value = fact.value.strip()
    statement = fact.statement.strip()
    if not (attribute and value and statement):
        return None
    said = speaker(fact, turns, ctx)
    if subject == "user" and said:  # another speaker's "I": theirs, never the user's
        if attribute == "name":
            return None
        subject = said
        relation = attribute.partition(":")[2]
        statement = fact_sentence(Said(said, attribute, value, statement, relation), None)
    elif names_user(subject, ctx) and not from_user(fact, turns, ctx):
        return None  # the assistant's words are never a fact about the user
    key = value if attribute == "age" else norm_key(value)
    entities = entities_in(statement)
    if subject == "user" and ctx.user_name:
        entities.insert(0, ctx.user_name)
    if said and said != subject:
        statement = f"{statement.rstrip('.')} (said by {said})."
    return SemanticMemory(
        id=ctx.memory_id(MemoryType.SEMANTIC, subject.lower(), attribute, key),
        content=statement,
        subject=subject,
        attribute=attribute,
        value=value,
        entities=list(dict.fromkeys([*entities, *([said] if said else [])])),
        internal={SAID_BY: said} if said else {},
        **record_fields(fact, turns, ctx, "semantic"),
    )


SemanticOutput = reply("SemanticOutput", facts=Fact)
PROMPT = listing(INSTRUCTIONS, SemanticOutput, to_record)
