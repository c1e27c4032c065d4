"""The knowledge agent's rules: the relations it reads in a sentence between named
entities, and the edge a semantic fact implies (`fact_edge`), shared by extraction and the
fact's view (`view`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from octomem.language import (
    ENTITY_PATTERN,
    RELATION_ATTR,
    RELATIONS,
    clean_entity,
    hedged,
    leading_entity,
    norm_key,
    possessive,
    trim_clause,
)
from octomem.models import (
    SemanticMemory,
)

FUNCTIONAL = {"LIVES_IN", "WORKS_AT", "MARRIED_TO", "PARTNER_OF", "LOCATED_IN", "BORN_IN"}
FUNCTIONAL |= {"FROM", "CEO_OF", "CTO_OF", "CFO_OF", "COO_OF", "PRESIDENT_OF", "CHAIR_OF"}
FUNCTIONAL |= {"MAYOR_OF", "CAPITAL_OF", "MOTHER", "FATHER", "BOSS", "PLAYS_FOR"}

ATTR_PREDICATE = {
    "role": "HAS_ROLE",  # "Ana is the on-call engineer": a role, named or not
    "lives_in": "LIVES_IN",
    "works_at": "WORKS_AT",
    "hometown": "FROM",
    "spouse": "MARRIED_TO",
    "partner": "PARTNER_OF",
}
# verb phrase -> predicate; an entity subject before and an entity object after
_VERBS = {
    "lives in|resides in|moved to|relocated to": "LIVES_IN",
    "works at|works for|joined|is employed by": "WORKS_AT",
    "is married to|married": "MARRIED_TO",
    "is based in|is located in|is headquartered in|has its headquarters in": "LOCATED_IN",
    "was born in": "BORN_IN",
    "is from|comes from": "FROM",
    "created": "CREATED",
    "invented": "INVENTED",
    "founded|co-founded|cofounded": "FOUNDED",
    "wrote|authored": "WROTE",
    "designed": "DESIGNED",
    "developed": "DEVELOPED",
    "directed": "DIRECTED",
    "acquired": "ACQUIRED",
    "owns": "OWNS",
    "is part of|is a subsidiary of|belongs to": "PART_OF",
    "studied at|studies at|graduated from|went to university at": "STUDIED_AT",
    "is a member of|is member of": "MEMBER_OF",
    "plays for": "PLAYS_FOR",
    "is the capital of": "CAPITAL_OF",
}
_ROLES = "CEO|CTO|CFO|COO|founder|co-founder|president|chair|chairman|chairwoman|mayor|owner"
_ROLES += "|head|director|captain|manager|lead|leader"
_TEMPLATES = {
    "LIVES_IN": "{s} lives in {o}.",
    "WORKS_AT": "{s} works at {o}.",
    "MARRIED_TO": "{s} is married to {o}.",
    "PARTNER_OF": "{o} is {p} partner.",
    "LOCATED_IN": "{s} is based in {o}.",
    "BORN_IN": "{s} was born in {o}.",
    "FROM": "{s} is from {o}.",
    "PART_OF": "{s} is part of {o}.",
    "STUDIED_AT": "{s} studied at {o}.",
    "MEMBER_OF": "{s} is a member of {o}.",
    "PLAYS_FOR": "{s} plays for {o}.",
    "CAPITAL_OF": "{s} is the capital of {o}.",
    "OWNS": "{s} owns {o}.",
    "HAS_ROLE": "{s} is the {o}.",
}
_ENT = rf"(?P<s>{ENTITY_PATTERN})"
_VERB_RE = re.compile(
    rf"{_ENT}(?:,[^,]{{1,40}},)? (?:(?:also|now|still|currently|originally) )?"
    rf"(?P<v>{'|'.join(_VERBS)}) (?=(?P<o>.{{1,200}}))"
)
_ROLE_RE = re.compile(
    rf"{_ENT} (?:is|was|became) (?:the |a )?(?P<r>{_ROLES}) of (?=(?P<o>.{{1,200}}))"
)
_JOB_AT_RE = re.compile(
    rf"{_ENT} (?:is|works as) an? (?:[a-z]+ ){{0,2}}[a-z]+ at (?=(?P<o>.{{1,200}}))"
)
_POSS_RE = re.compile(
    rf"{_ENT}['’]s (?P<r>wife|husband|sister|brother|son|daughter|mother|father|friend|boss)"
    rf" is (?=(?P<o>.{{1,200}}))"
)


@dataclass(frozen=True)
class Triple:
    subject: str
    predicate: str
    object: str
    subject_key: str
    relation: str = ""


_REL_PREDICATE = {"mom": "MOTHER", "mum": "MOTHER", "dad": "FATHER", "kid": "CHILD"}
_REL_PREDICATE |= {"coworker": "COLLEAGUE", "co-worker": "COLLEAGUE", "manager": "BOSS"}
_REL_PREDICATE |= {"wife": "MARRIED_TO", "husband": "MARRIED_TO", "spouse": "MARRIED_TO"}


def _object(text: str) -> str | None:
    """The named entity `text` consists of (after trimming), if it is one."""
    trimmed = trim_clause(text, keep=["of"])
    entity = leading_entity(trimmed)
    return entity if entity and re.sub(r"^the\s+", "", trimmed) == entity else None


def _subject(text: str) -> str | None:
    subject = clean_entity(text)
    return subject if subject and subject.lower() not in {"user", "you"} else None


def statement_triples(sentence: str) -> list[Triple]:
    """Third-party relations between named entities in one sentence."""
    triples: list[Triple] = []

    def add(m: re.Match[str], predicate: str, obj_text: str, relation: str = "") -> None:
        subject, obj = _subject(m["s"]), _object(obj_text)
        if subject and obj and subject != obj and not hedged(sentence, m.start()):
            triples.append(Triple(subject, predicate, obj, norm_key(subject), relation))

    for m in _VERB_RE.finditer(sentence):
        verb = m["v"]
        add(m, next(p for v, p in _VERBS.items() if verb in v.split("|")), m["o"], verb)
    for m in _ROLE_RE.finditer(sentence):
        role = m["r"] if m["r"].isupper() else m["r"].lower()
        add(m, re.sub(r"\W", "_", role).upper() + "_OF", m["o"], role)
    for m in _JOB_AT_RE.finditer(sentence):
        add(m, "WORKS_AT", m["o"])
    for m in _POSS_RE.finditer(sentence):
        rel = m["r"].lower()
        obj = leading_entity(trim_clause(m["o"]))
        if obj:
            add(m, _REL_PREDICATE.get(rel, rel.upper()), obj, rel)
    return triples


def fact_edge(fact: SemanticMemory, user: str | None) -> Triple | None:
    """The edge a semantic fact implies when its value is a named entity ("Alice lives in
    Berlin" -> Alice -[LIVES_IN]-> Berlin); None for names, ages, jobs, preferences."""
    attr = fact.attribute
    if attr in {"name", "age", "job"} or attr.startswith(("preference:", "favourite:")):
        return None
    obj = fact.value if attr == "role" else _object(fact.value)
    if obj is None:
        return None
    is_user = fact.subject == "user"
    subject = (user or "User") if is_user else fact.subject
    key = "user" if is_user else norm_key(fact.subject)
    relation = str(fact.internal.get("relation") or "")
    relation = relation or (attr if attr in RELATIONS or attr in RELATION_ATTR else "")
    predicate = ATTR_PREDICATE.get(attr)
    if predicate is None and relation:
        predicate = _REL_PREDICATE.get(relation, re.sub(r"\W", "_", relation.upper()))
    return Triple(subject, predicate, obj, key, relation) if predicate else None


def edge_key(subject_key: str, predicate: str, obj: str) -> tuple[str, str, str]:
    """What makes two edges the same relation, whoever extracted them."""
    return subject_key, predicate, norm_key(obj)


def triple_sentence(triple: Triple) -> str:
    s, o, pred = triple.subject, triple.object, triple.predicate
    if triple.subject_key == "user" and s == "User":
        s = "The user"
    poss = "the user's" if s == "The user" else possessive(s)
    template = _TEMPLATES.get(pred)
    if template:
        return template.format(s=s, o=o, p=poss)
    if pred.endswith("_OF"):
        return f"{s} is the {triple.relation or pred[:-3].lower()} of {o}."
    if triple.relation in RELATION_ATTR:
        return f"{o} is {poss} {triple.relation}."
    verb = triple.relation or pred.lower().replace("_", " ")
    return f"{s} {verb} {o}."
