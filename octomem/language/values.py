"""The values of facts: how the phrase after a verb becomes a place, an employer or a job,
and the word lists and patterns the fact rules share (relations, names, diets)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from octomem.language.clauses import trim_clause
from octomem.language.entities import entities_in, leading_entity, lowercase_name
from octomem.language.words import LOWER, UPPER, words

RELATIONS = {
    "spouse": "wife husband spouse",
    "partner": "partner girlfriend boyfriend fiance fiancé fiancee fiancée",
    "sibling": "sister brother sibling",
    "has_child": "son daughter kid child",
    "mother": "mom mum mother",
    "father": "dad father",
    "friend": "friend",
    "colleague": "colleague coworker co-worker",
    "boss": "boss manager",
    "relative": "grandma grandmother grandpa grandfather aunt uncle cousin niece nephew",
    "pet": "dog cat",
}
RELATION_ATTR = {word: attr for attr, names in RELATIONS.items() for word in names.split()}
# the relation words as one regex alternation, longest first
REL = "|".join(sorted(RELATION_ATTR, key=len, reverse=True))

NAME_STOP = words(
    """ok okay fine good great sorry back here ready done sure not new sick tired home free
    happy glad american british english french german italian spanish canadian chinese
    japanese indian russian dutch swiss irish scottish mexican brazilian australian polish
    korean turkish greek swedish christian muslim jewish catholic buddhist hindu atheist
    vegan vegetarian"""
)
JOB_NOUNS = words(
    """nurse doctor teacher engineer developer designer manager student lawyer accountant
    chef cook writer artist architect scientist researcher consultant analyst programmer
    pilot firefighter officer dentist pharmacist therapist journalist photographer
    musician professor lecturer electrician plumber carpenter mechanic farmer baker waiter
    waitress barista cashier clerk secretary assistant surgeon veterinarian vet paramedic
    librarian editor translator intern founder ceo cto entrepreneur freelancer contractor
    product owner economist physicist chemist biologist mathematician lead"""
)
NOT_JOBS = words(
    """fan lover beginner believer member user customer vegetarian vegan parent native
    romantic mother father brother sister daughter son monster winner loser smoker dreamer
    optimist pessimist perfectionist introvert extrovert person newcomer foreigner stranger
    regular subscriber reader runner swimmer gamer lot bit little big huge fool mess
    night morning early learner listener talker sleeper eater drinker thinker worker player
    partner owl"""
)
_JOB_SUFFIX = re.compile(r"(?:er|or|ist|ian|ant|ent|ect|ic|eon|ive)$")
DIETS = "vegetarian|vegan|pescatarian|pescetarian|keto|kosher|halal|gluten[- ]free|dairy[- ]free"
# a capitalised first name, with an optional capitalised surname
NAME = rf"([{UPPER}][{LOWER}-]+(?: [{UPPER}][{LOWER}-]+)?)"
# adverbs that may stand between "I" (or "I'm") and the verb of a fact
ADV = (
    r"(?:\s+(?:currently|now|still|actually|also|just|recently|really|absolutely|totally|"
    r"honestly|truly|kind of|sort of|definitely|originally|happily|officially|finally|"
    r"even|so|very|genuinely|particularly))*"
)
IM = r"\bI(?:'m|’m| am)"


def named_value(
    obj: str, *, loose: bool = False, keep: Sequence[str] = (), lower: bool = False
) -> str | None:
    """A proper-noun value at the start of `obj` ("Berlin", "the Netherlands"); with
    `lower` (a writer who does not capitalise) also a lowercase name ("berlin")."""
    trimmed = trim_clause(obj, keep=keep)
    entity = leading_entity(trimmed)
    if entity and re.sub(r"^the\s+", "", trimmed) == entity:
        return trimmed
    if loose and len(trimmed.split()) <= 6 and entities_in(trimmed):
        return trimmed
    return lowercase_name(trim_clause(obj)) if lower else None


def job_title(phrase: str, *, strict: bool) -> str | None:
    job = trim_clause(re.sub(r"^(?:an?|the)\s+", "", phrase.strip()), max_words=4)
    parts = job.lower().split()
    if not parts or "of" in parts or not all(w.replace("-", "").isalpha() for w in parts):
        return None
    head = parts[-1]
    if head in NOT_JOBS or re.match(DIETS, head):
        return None
    if strict and head not in JOB_NOUNS and not _JOB_SUFFIX.search(head):
        return None
    return job
