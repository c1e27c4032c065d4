"""Semantic agent prompt: facts about people, things and concepts."""

from __future__ import annotations

from collections.abc import Sequence

from octomem.agents.base import ExtractionContext
from octomem.agents.prompting import USER_WORDS, Item, from_user, listing, record_fields, reply
from octomem.language import entities_in, norm_key
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


def to_record(fact: Fact, turns: Sequence[Turn], ctx: ExtractionContext) -> MemoryBase | None:
    subject = "user" if fact.subject.strip().lower() in USER_WORDS else fact.subject.strip()
    attribute = fact.attribute.strip().lower().replace(" ", "_")
    value = fact.value.strip()
    if not (attribute and value and fact.statement.strip()):
        return None
    if subject == "user" and not from_user(fact, turns):
        return None  # the assistant's words are never a fact about the user
    key = value if attribute == "age" else norm_key(value)
    entities = entities_in(fact.statement)
    if subject == "user" and ctx.user_name:
        entities.insert(0, ctx.user_name)
    return SemanticMemory(
        id=ctx.memory_id(MemoryType.SEMANTIC, subject.lower(), attribute, key),
        content=fact.statement.strip(),
        subject=subject,
        attribute=attribute,
        value=value,
        entities=list(dict.fromkeys(entities)),
        **record_fields(fact, turns, ctx, "semantic"),
    )


SemanticOutput = reply("SemanticOutput", facts=Fact)
PROMPT = listing(INSTRUCTIONS, SemanticOutput, to_record)
