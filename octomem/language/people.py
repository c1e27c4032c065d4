"""People and pronouns: the people a call names, "he" and "she" read as the person they
name where that is clear, facts about named people ("Maria lives in Madrid"), and a
first-person clause rewritten about someone ("I went" -> "Alice went")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from octomem.language.entities import clean_entity, entities_in
from octomem.language.reading import Fact
from octomem.language.sentences import hedged
from octomem.language.values import (
    NAME,
    NAME_STOP,
    REL,
    RELATION_ATTR,
    job_title,
    named_value,
)
from octomem.language.words import possessive, words

STOP_SUBJECTS = words("the this that it he she they we you my our everyone nobody someone")
_THIRD = re.compile(
    rf"\b{NAME} (?:(?:currently|now|still|also) )?(?P<verb>lives in|moved to|"
    rf"works at|works for|is from|is married to|works as|teaches|is an?(?= )|"
    rf"(?P<role>is (?:now |currently )?(?:the|our) (?:new |current |acting |interim )?)|"
    rf"is (?P<age>\d{{1,3}})(?: years old)?\b)"
    rf"(?=(?P<obj>.{{0,200}}))"
)
# "the best teacher", "the only doctor": a judgement, not a role
_RANKED = r"(?:\w+est|only|first|last|next|one|same|other)\b"
# people (relation word -> pronoun), for "he" and "she" in later sentences
HE = words("brother husband dad father son boyfriend fiance grandpa grandfather uncle nephew")
SHE = words(
    "sister wife mom mum mother daughter girlfriend fiancee fiancée grandma grandmother aunt niece"
)


_MAYBE = "?"  # a name that may be a person ("met Jordan"): only ever makes a pronoun unclear


@dataclass
class People:
    """The people named so far in one `process` call, oldest first, each with the pronoun
    their relation word gives ("my sister Maria" -> she) or None when only a name was said."""

    named: dict[str, str | None] = field(default_factory=dict)

    def saw(self, name: str, relation: str = "") -> None:
        pronoun = "he" if relation in HE else "she" if relation in SHE else None
        before = self.named.pop(name, None)
        self.named[name] = pronoun or (before if before != _MAYBE else None)

    def maybe(self, name: str) -> None:
        self.named.setdefault(name, _MAYBE)

    def who(self, pronoun: str) -> str | None:
        """The person `pronoun` (he/she) names: the newest one known to fit, or else the
        only person of unknown pronoun; None if anyone who might be meant was named after
        them ("my sister Maria met Laura. She ...")."""
        people = list(self.named.items())
        fits = [i for i, (_, known) in enumerate(people) if known == pronoun]
        unknown = [i for i, (_, known) in enumerate(people) if known is None]
        if fits:
            chosen = fits[-1]
        elif len(unknown) == 1:
            chosen = unknown[0]
        else:
            return None
        newer = (known for _, known in people[chosen + 1 :])
        return None if any(known in (None, _MAYBE) for known in newer) else people[chosen][0]


def third_person_facts(sentence: str, people: People | None = None) -> list[Fact]:
    """Simple facts about named people: "Maria lives in Madrid", "Tom is 5"; with `people`
    also what a known person is ("Anna is a doctor", "Sam teaches"), a rule too loose for
    any capitalised word ("Google is a competitor")."""
    facts = []
    for m in _THIRD.finditer(sentence):
        subject, verb = clean_entity(m[1]), m["verb"]
        if not subject or subject.lower() in STOP_SUBJECTS or hedged(sentence, m.start()):
            continue
        if m["age"]:
            if re.match(r"\s*(?:[,.!;]|$|and\b)", m["obj"]) and 0 < int(m["age"]) < 120:
                facts.append(Fact(subject, "age", m["age"], sentence, entities=(subject,)))
            continue
        if m["role"]:  # "Ana is the new on-call engineer", "Bo is our team lead"
            job = job_title(m["obj"], strict=True)
            if job and not re.match(_RANKED, job):
                facts.append(Fact(subject, "role", job, sentence, entities=(subject,)))
            continue
        if verb in {"teaches", "is a", "is an"}:
            known = people is not None and subject in people.named
            job = "teacher" if verb == "teaches" else job_title(verb[3:] + m["obj"], strict=True)
            if known and job:
                facts.append(Fact(subject, "job", job, sentence, entities=(subject,)))
            continue
        if verb == "works as":
            value = job_title(m["obj"], strict=False)
        else:
            value = named_value(m["obj"], loose=verb in {"lives in", "moved to"}, keep=["near"])
        attr = {"lives in": "lives_in", "moved to": "lives_in", "works at": "works_at"}.get(verb)
        attr = attr or {"works for": "works_at", "is from": "hometown"}.get(verb)
        attr = attr or {"is married to": "spouse", "works as": "job"}[verb]
        if value:
            ents = (subject, *(e for e in entities_in(value) if attr != "job"))
            facts.append(Fact(subject, attr, value, sentence, entities=ents))
    return facts


_PRONOUN = re.compile(r"\b([Hh]e|[Ss]he)(['’]s)?\b")
_POSS_REL = re.compile(
    rf"\b([Hh]is|[Hh]er) (?:(?:older|younger|little|big|twin|best|new) )?({REL})"
    rf"(?:'s name is| is called| is named|,)? {NAME}\b"
)
_WITH_ME = re.compile(rf"\b{NAME} and I\b|\b[Mm]e and {NAME}\b")
_MAYBE_PERSON = re.compile(rf"\b(?:met|meet|with|saw|called|told|asked|texted|and|or) {NAME}")


def _resolved(sentence: str, people: People) -> str:
    """`sentence` with "he"/"she" replaced by the person they name, where that is clear."""

    def name(m: re.Match[str]) -> str:
        who = people.who(m[1].lower())
        return m[0] if who is None else f"{who} is" if m[2] else who

    return _PRONOUN.sub(name, sentence)


def about_others(sentence: str, people: People) -> list[Fact]:
    """Facts about named people, "he" and "she" read as the person they name."""
    said = [(m.start(), m[1], False) for m in _MAYBE_PERSON.finditer(sentence)]
    said += [(m.start(), m[1] or m[2], True) for m in _WITH_ME.finditer(sentence)]
    for _, span, sure in sorted(said):  # in the order they were said
        name = clean_entity(span)
        if name and sure:
            people.saw(name)
        elif name:
            people.maybe(name)
    facts = third_person_facts(sentence, people)
    for fact in facts:
        people.saw(fact.subject)
    if not _PRONOUN.search(sentence) and not _POSS_REL.search(sentence):
        return facts
    resolved = _resolved(sentence, people)
    if resolved != sentence:
        facts = third_person_facts(resolved, people)
    for m in _POSS_REL.finditer(sentence):
        who, relation = people.who("he" if m[1].lower() == "his" else "she"), m[2].lower()
        if who and m[3].split()[0].lower() not in NAME_STOP and not hedged(sentence, m.start()):
            facts.append(Fact(who, RELATION_ATTR[relation], m[3], resolved, relation, (who, m[3])))
            people.saw(m[3], relation)
    return facts


_THIRD_PERSON = [
    *[(rf"\bI['’]{a}\b", f"{{n}} {b}") for a, b in [("m", "is"), ("ve", "has"), ("d", "would")]],
    (r"\bI am\b", "{n} is"),
    (r"\bI['’]ll\b", "{n} will"),
    (r"\bI\b", "{n}"),
    *[(rf"\b{a}\b", b) for a, b in [("myself", "themselves"), ("me", "them"), ("mine", "theirs")]],
    (r"^My\b", "{p}"),
    (r"\b[Mm]y\b", "their"),
]


def third_person(text: str, name: str) -> str:
    """A first-person clause rewritten about `name` ("I went" -> "Alice went")."""
    for pattern, repl in _THIRD_PERSON:
        text = re.sub(pattern, repl.format(n=name, p=possessive(name)), text)
    return text
