"""The core agent's rules: the line each fact about the user gives the human block
(`fact_line`, `human_lines`), how block lines merge, and which system-prompt sentences
make the persona."""

from __future__ import annotations

import re
from collections.abc import Sequence

from octomem.models import (
    SemanticMemory,
)

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
