"""Facts: what a user's message states about the user ("I live in Berlin", "my sister
Maria", "I'm allergic to nuts") and about the people they name, what it says is no longer
true, and each fact said again as a self-contained sentence."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from octomem.language.clauses import trim_clause
from octomem.language.entities import STOP_CAPS, entities_in, leading_entity
from octomem.language.informal import plain_talk, uncapitalised, with_subjects
from octomem.language.people import People, about_others
from octomem.language.reading import Fact, TurnReading
from octomem.language.retractions import retractions
from octomem.language.sentences import hedged, is_question, split_sentences
from octomem.language.speakers import as_said_by, other_speakers
from octomem.language.values import (
    ADV,
    DIETS,
    IM,
    NAME,
    NAME_STOP,
    REL,
    RELATION_ATTR,
    job_title,
    named_value,
)
from octomem.language.words import UPPER, article, norm_key, possessive, words

if TYPE_CHECKING:
    from octomem.models import Turn

_NUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_BAD_OBJECT = words(
    """it that this them you him her those these your how what when where why to be being
    doing so there everything anything something nothing my our me us myself yourself here
    everywhere anywhere"""
)

_AFTER_TO = words("think be know say believe see keep ask make point mention")


def _object(phrase: str) -> str | None:
    obj = trim_clause(phrase, preps=False, max_words=5, stops=["with", "over", "than", "rather"])
    parts = obj.lower().split()
    if parts[:1] == ["to"]:
        parts = parts[1:] if parts[1:2] and parts[1] not in _AFTER_TO else []
    if not parts or parts[0] in _BAD_OBJECT or "you" in parts:
        return None
    if parts[0] == "the" and not leading_entity(obj):
        return None
    return obj


_AGE = rf"{IM}(?: now| just)? (\d{{1,3}})(?: years? old| y/?o)?(?=\s*(?:[,.!;]|$|and\b|but\b))"
_LIVE = r"(?:live|living|reside|residing|based|moved|relocated)(?: back| over)? (?:in|to)"
_WORK = r"(work|working)(?: full[- ]time| part[- ]time| remotely)? (?:at|for)"
_JOIN = r"(?:joined|started (?:working )?at|started working for|(?:got|started|landed|took|"
_JOIN += r"began|accepted) (?:a |my )?(?:new )?(?:job|position|role) (?:at|with))"
_LIKE = (
    rf"\bI(?:(?:'m|’m| am){ADV} (?:(?P<fan>a (?:big |huge )?fan of|into|obsessed with|"
    r"crazy about|passionate about)|(?P<notfan>not (?:a (?:big |huge )?fan of|into|keen on)))"
    rf"|{ADV} (?:(?P<like>love|like|enjoy|adore|prefer)|(?P<dis>hate|dislike|detest|"
    r"can't stand|cannot stand|(?:don't|do not|no longer)(?: really)? (?:like|enjoy|love)|"
    r"stopped (?:liking|enjoying|loving))))"
    r"\s+(?=(?P<obj>.{1,200}))"
)
_FAV_FIRST = (
    r"(?:^|(?<=[,;:] )|(?<=\bsay )|(?<=\bthink )|(?<=\bguess ))"  # the value starts a clause
    r"([A-Za-z][\w-]*(?: [a-z][\w-]*)?) (?:is|are) (?:still |now )?my (?:all[- ]time |new )?"
    r"(?:favou?rite|fave) "
    r"([a-z]{2,20}(?: (?!now\b|these\b|again\b)[a-z]{2,20})?)"
    r"(?=\s*(?:now|these days|again)?\s*(?:[.!,;]|$))"
)
_REL_NAME = (
    rf"\b(?:[Mm]y|I have an?) (?:(?:older|younger|little|big|twin|best|oldest|youngest|eldest|"
    rf"new) )?({REL})(?:'s name is| is called| is named| called| named| is|,)? {NAME}\b"
)
_KIDS = r"(kids|children|sons|daughters|kid|child|son|daughter)"


def first_person_facts(sentence: str) -> list[Fact]:  # noqa: C901 - one rule per loop
    found: list[tuple[int, Fact]] = []
    lower = uncapitalised(sentence)

    def add(m: re.Match[str], attr: str, value: str | None, rel: str = "", who: str = "user"):
        if value and not hedged(sentence, m.start()):
            ents = tuple(entities_in(value)) if not attr.startswith("preference:") else ()
            at = sentence.find(value, m.start())  # order facts as they were said
            found.append(
                (at if at >= 0 else m.start(), Fact(who, attr, value, sentence, rel, ents))
            )

    for m in re.finditer(rf"(?i:\bmy name is|\bmy name's|\bcall me)\s+{NAME}", sentence):
        add(m, "name", m[1] if m[1].split()[0].lower() not in NAME_STOP else None)
    for m in re.finditer(r"(?i:\bmy name is)\s+([a-z]+)\b(?=\s*(?:[,.!]|$| and))", sentence):
        add(m, "name", m[1].capitalize() if m[1] not in NAME_STOP | {"not", "a"} else None)
    for m in re.finditer(rf"{IM} {NAME}(?=\s*(?:[,.!;:)]|$|(?:and|from|here)\b))", sentence):
        if not any(w.lower() in NAME_STOP | STOP_CAPS for w in m[1].split()):
            add(m, "name", m[1])
    for m in re.finditer(_AGE, sentence):
        add(m, "age", m[1] if 1 < int(m[1]) < 120 else None)
    for m in re.finditer(
        r"\bI (?:just |recently )?turned (\d{1,3})\b(?! ?(?:%|min|hour))", sentence
    ):
        add(m, "age", m[1] if 1 < int(m[1]) < 120 else None)
    for m in re.finditer(
        rf"\b(?:I|[Ww]e)(?:'m|’m| am|'ve| have)?{ADV} {_LIVE} (?=(.{{1,200}}))", sentence
    ):
        add(m, "lives_in", named_value(m[1], loose=True, keep=["near", "outside"], lower=lower))
    for m in re.finditer(
        rf"\bI(?:'ve| have)?{ADV} moved (?:away |out )?(?:from|of) [^,.;!?]{{1,60}}? to "
        r"(?=(.{1,200}))",
        sentence,
    ):
        add(m, "lives_in", named_value(m[1], loose=True, lower=lower))
    for m in re.finditer(rf"{IM}{ADV} from (?=(.{{1,200}}))", sentence):
        add(m, "hometown", named_value(m[1], lower=lower))
    for m in re.finditer(
        r"\bI (?:grew up|was born|was raised) in (?=(.{1,200}))|\b[Mm]y hometown is (?=(.{1,200}))",
        sentence,
    ):
        add(m, "hometown", named_value(m[1] or m[2], lower=lower))
    for m in re.finditer(rf"\bI(?:'m|’m| am)?{ADV} {_WORK} (?=(.{{1,200}}))", sentence):
        loose = trim_clause(m[2], max_words=4)
        plain = re.match(r"(?:an?|the) [a-z]+(?: [a-z]+)?$", loose) and "home" not in loose
        plain = plain and m[1] == "work"  # "I'm working at the weekend" names no employer
        add(m, "works_at", named_value(m[2], lower=lower) or (loose if plain else None))
    for m in re.finditer(rf"\bI(?:'ve| have)?{ADV} {_JOIN} (?=(.{{1,200}}))", sentence):
        add(m, "works_at", named_value(m[1], lower=lower))
    for m in re.finditer(
        rf"{IM}{ADV} (?:an?|the) ([\w -]+?) (?:at|for) (?=([{UPPER}].{{1,200}}))", sentence
    ):
        if job_title(m[1], strict=True):
            add(m, "works_at", named_value(m[2]))
    for m in re.finditer(rf"\bI{ADV} work(?:ing)? as (?=(an? .{{1,200}}))", sentence):
        add(m, "job", job_title(m[1], strict=False))
    for m in re.finditer(rf"{IM}{ADV} (an? [\w -]+)", sentence):
        add(m, "job", job_title(m[1], strict=True))
    for m in re.finditer(_LIKE, sentence):
        obj = _object(m["obj"])
        if obj:
            polarity = "likes" if m["like"] or m["fan"] else "dislikes"
            add(m, f"preference:{norm_key(re.sub(r'^to ', '', obj))}", polarity, rel=obj)
    fav = r"\b[Mm]y (?:all[- ]time )?(?:favou?rite|fave) ([a-z][a-z ]{1,30}?) (?:is|are) "
    fav += r"(?=(.{1,200}))"
    for m in re.finditer(fav, sentence):
        add(m, f"favourite:{norm_key(m[1])}", _object(m[2]), rel=m[1])
    for m in re.finditer(_FAV_FIRST, sentence):  # "(I'd say) red is my favourite colour"
        if m[1].lower() not in _BAD_OBJECT | STOP_CAPS:
            add(m, f"favourite:{norm_key(m[2])}", m[1], rel=m[2])
    for m in re.finditer(_REL_NAME, sentence):
        if m[2].split()[0].lower() not in NAME_STOP | STOP_CAPS:
            add(m, RELATION_ATTR[m[1].lower()], m[2], rel=m[1].lower())
            age = re.match(
                r",?\s+(?:who )?is (\d{1,2})(?: years? old)?(?=\s*(?:[,.!;]|$|and\b))",
                sentence[m.end() :],
            )
            if age:
                add(m, "age", age[1], who=m[2])
    for m in re.finditer(rf"\bI have (\d+|an?|one|two|three|four|five|six) {_KIDS}\b", sentence):
        add(m, "num_children", str(int(m[1]) if m[1].isdigit() else _NUM[m[1].lower()]))
    for m in re.finditer(
        rf"{IM}{ADV} (?:severely |very |deathly )?allergic to (?=(.{{1,200}}))", sentence
    ):
        obj = trim_clause(m[1], preps=False, keep=["and"], max_words=8)
        for part in re.split(r",\s*|\s+and\s+|\s+or\s+", obj):
            add(m, "allergy", part.strip() or None)
    for m in re.finditer(
        r"\bI have (?:an?|a severe|a bad) ([a-z]+(?: [a-z]+)?) allergy\b", sentence
    ):
        add(m, "allergy", m[1])
    for m in re.finditer(rf"{IM}(?: an?)?{ADV} ({DIETS})\b", sentence, re.IGNORECASE):
        add(m, "diet", m[1].lower())
    for m in re.finditer(rf"{IM}{ADV} (lactose|gluten) intolerant\b", sentence):
        add(m, "allergy", f"{m[1]} (intolerance)")
    return [fact for _, fact in sorted(found, key=lambda item: item[0])]


def read_facts(text: str, people: People | None = None) -> tuple[list[Fact], list[Fact]]:
    """What a user's message states (facts) and what it says is no longer true
    (retractions, value "" when not named: "I quit my job"). `people` carries the people
    named in earlier messages of the same call, for "he" and "she"."""
    people = people if people is not None else People()
    facts: list[Fact] = []
    retracted: list[Fact] = []
    for sentence in split_sentences(text):
        if is_question(sentence):
            continue
        sentence = with_subjects(plain_talk(sentence))
        gone = retractions(sentence)
        mine = first_person_facts(sentence)
        for fact in mine:
            if fact.relation in RELATION_ATTR:
                people.saw(fact.value, fact.relation)
        for fact in [*mine, *about_others(sentence, people)]:
            if fact not in facts and not any(_undoes(r, fact) for r in gone):
                facts.append(fact)
        retracted += [r for r in gone if r not in retracted]
    return facts, retracted


def user_facts(text: str, people: People | None = None) -> list[Fact]:
    """Every fact a user's message states about the user and the people they name."""
    return read_facts(text, people)[0]


def read_conversation(
    turns: Sequence[Turn], user_name: str | None = None, user_id: str | None = None
) -> list[TurnReading]:
    """The reading of each of `turns` (one call's conversation): "he" and "she" may name a
    person from an earlier user turn, and the user's name at each turn is `user_name`, else
    the latest one the user turns so far stated. What another speaker said (a user turn
    named for someone else, `other_speakers`) is read as theirs (`as_said_by`)."""
    readings: list[TurnReading] = []
    known = user_name
    people = People()
    others = other_speakers(turns, user_id, user_name)
    for turn in turns:
        if turn.role != "user":
            readings.append(TurnReading(turn.id, known))
            continue
        facts, retracted = read_facts(turn.content, people)
        if speaker := others.get(turn.id):
            facts, retracted = as_said_by(facts, speaker), as_said_by(retracted, speaker)
        known = user_name or stated_name(facts) or known
        readings.append(TurnReading(turn.id, known, facts, retracted, speaker))
    return readings


def _undoes(retraction: Fact, fact: Fact) -> bool:
    """Whether `retraction` denies `fact` ("I broke up with my boyfriend Tom" names Tom as
    partner and ends it in one breath: the sentence states no partner)."""
    return (
        retraction.subject == fact.subject
        and retraction.attribute == fact.attribute
        and (not retraction.value or norm_key(retraction.value) == norm_key(fact.value))
    )


def stated_name(facts: Sequence[Fact]) -> str | None:
    return next((f.value for f in reversed(facts) if f.is_user and f.attribute == "name"), None)


def fact_sentence(fact: Fact, user: str | None) -> str:
    """The fact as a self-contained sentence, naming the user when known."""
    who = (user or "The user") if fact.is_user else fact.subject
    poss, attr, value = possessive(who), fact.attribute, fact.value
    if attr == "name":
        return f"The user's name is {value}."
    if attr.startswith("preference:"):
        return f"{who} {value} {fact.relation}."  # "Alice likes sushi."
    if attr.startswith("favourite:"):
        return f"{poss} favourite {fact.relation} is {value}."
    if fact.relation:
        return f"{poss} {fact.relation} is {value}."
    templates = {
        "lives_in": "{w} lives in {v}.",
        "hometown": "{w} is from {v}.",
        "works_at": "{w} works at {v}.",
        "job": "{w} works as {a} {v}.",
        "age": "{w} is {v} years old.",
        "num_children": "{w} has {v} children.",
        "allergy": "{w} is allergic to {v}.",
        "diet": "{w} is {v}.",
        "spouse": "{w} is married to {v}.",
        "role": "{w} is the {v}.",
    }
    # an attribute without its own sentence (a retraction's "partner") still reads as one
    template = templates.get(attr, "{p} " + attr.replace("_", " ") + " is {v}.")
    return template.format(w=who, p=poss, v=value, a=article(value))
