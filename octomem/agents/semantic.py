"""Semantic agent: facts about the user and the people they name (subject, attribute, value).

The rules here are also the source of the core "human" block and the user's edges in the
knowledge graph, so a fact is recognised in exactly one place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from octomem.agents.base import RETRACTS, AgentPrompt, BaseAgent, ConflictPolicy, ExtractionContext
from octomem.agents.registry import register
from octomem.agents.text import (
    STOP_CAPS,
    article,
    clean_entity,
    entities_in,
    hedged,
    is_question,
    leading_entity,
    lowercase_name,
    norm_key,
    plain_talk,
    possessive,
    record_fields,
    split_sentences,
    trim_clause,
    uncapitalised,
    words,
)
from octomem.models import MemoryBase, MemoryType, SemanticMemory, Turn
from octomem.prompts import semantic as semantic_prompt

SINGLE_VALUED = words("name lives_in hometown works_at job age spouse partner mother father")
SINGLE_VALUED |= words("boss diet num_children")
SINGLE_PREFIXES = ("preference:", "favourite:", "num_")

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
_REL = "|".join(sorted(RELATION_ATTR, key=len, reverse=True))

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
    product owner economist physicist chemist biologist mathematician"""
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
_NUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_BAD_OBJECT = words(
    """it that this them you him her those these your how what when where why to be being
    doing so there everything anything something nothing my our"""
)
_NAME = r"([A-Z][a-z-]+(?: [A-Z][a-z-]+)?)"
_ADV = (
    r"(?:\s+(?:currently|now|still|actually|also|just|recently|really|absolutely|totally|"
    r"honestly|truly|kind of|sort of|definitely|originally|happily|officially|finally|"
    r"even|so|very|genuinely|particularly))*"
)
_IM = r"\bI(?:'m|’m| am)"


@dataclass(frozen=True)
class Fact:
    """One statement: `subject` is "user" for first-person facts, else the person's name.

    `relation` is the family word ("sister") or, for preferences and favourites, the thing
    liked or the category ("sushi", "colour").
    """

    subject: str
    attribute: str
    value: str
    sentence: str
    relation: str = ""
    entities: tuple[str, ...] = field(default=())

    @property
    def is_user(self) -> bool:
        return self.subject == "user"


def _named(
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


_AGE = rf"{_IM}(?: now| just)? (\d{{1,3}})(?: years? old| y/?o)?(?=\s*(?:[,.!;]|$|and\b|but\b))"
_LIVE = r"(?:live|living|reside|residing|based|moved|relocated)(?: back| over)? (?:in|to)"
_WORK = r"(work|working)(?: full[- ]time| part[- ]time| remotely)? (?:at|for)"
_JOIN = r"(?:joined|started (?:working )?at|started working for|(?:got|started|landed|took|"
_JOIN += r"began|accepted) (?:a |my )?(?:new )?(?:job|position|role) (?:at|with))"
_LIKE = (
    rf"\bI(?:(?:'m|’m| am){_ADV} (?:(?P<fan>a (?:big |huge )?fan of|into|obsessed with|"
    r"crazy about|passionate about)|(?P<notfan>not (?:a (?:big |huge )?fan of|into|keen on)))"
    rf"|{_ADV} (?:(?P<like>love|like|enjoy|adore|prefer)|(?P<dis>hate|dislike|detest|"
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
    rf"new) )?({_REL})(?:'s name is| is called| is named| called| named| is|,)? {_NAME}\b"
)
_KIDS = r"(kids|children|sons|daughters|kid|child|son|daughter)"


def _first_person(sentence: str) -> list[Fact]:  # noqa: C901 - one rule per loop
    found: list[tuple[int, Fact]] = []
    lower = uncapitalised(sentence)

    def add(m: re.Match[str], attr: str, value: str | None, rel: str = "", who: str = "user"):
        if value and not hedged(sentence, m.start()):
            ents = tuple(entities_in(value)) if not attr.startswith("preference:") else ()
            at = sentence.find(value, m.start())  # order facts as they were said
            found.append(
                (at if at >= 0 else m.start(), Fact(who, attr, value, sentence, rel, ents))
            )

    for m in re.finditer(rf"(?i:\bmy name is|\bmy name's|\bcall me)\s+{_NAME}", sentence):
        add(m, "name", m[1] if m[1].split()[0].lower() not in NAME_STOP else None)
    for m in re.finditer(r"(?i:\bmy name is)\s+([a-z]+)\b(?=\s*(?:[,.!]|$| and))", sentence):
        add(m, "name", m[1].capitalize() if m[1] not in NAME_STOP | {"not", "a"} else None)
    for m in re.finditer(rf"{_IM} {_NAME}(?=\s*(?:[,.!;:)]|$|(?:and|from|here)\b))", sentence):
        if not any(w.lower() in NAME_STOP | STOP_CAPS for w in m[1].split()):
            add(m, "name", m[1])
    for m in re.finditer(_AGE, sentence):
        add(m, "age", m[1] if 1 < int(m[1]) < 120 else None)
    for m in re.finditer(
        r"\bI (?:just |recently )?turned (\d{1,3})\b(?! ?(?:%|min|hour))", sentence
    ):
        add(m, "age", m[1] if 1 < int(m[1]) < 120 else None)
    for m in re.finditer(
        rf"\b(?:I|[Ww]e)(?:'m|’m| am|'ve| have)?{_ADV} {_LIVE} (?=(.{{1,200}}))", sentence
    ):
        add(m, "lives_in", _named(m[1], loose=True, keep=["near", "outside"], lower=lower))
    for m in re.finditer(
        rf"\bI(?:'ve| have)?{_ADV} moved (?:away |out )?(?:from|of) [^,.;!?]{{1,60}}? to "
        r"(?=(.{1,200}))",
        sentence,
    ):
        add(m, "lives_in", _named(m[1], loose=True, lower=lower))
    for m in re.finditer(rf"{_IM}{_ADV} from (?=(.{{1,200}}))", sentence):
        add(m, "hometown", _named(m[1], lower=lower))
    for m in re.finditer(
        r"\bI (?:grew up|was born|was raised) in (?=(.{1,200}))|\b[Mm]y hometown is (?=(.{1,200}))",
        sentence,
    ):
        add(m, "hometown", _named(m[1] or m[2], lower=lower))
    for m in re.finditer(rf"\bI(?:'m|’m| am)?{_ADV} {_WORK} (?=(.{{1,200}}))", sentence):
        loose = trim_clause(m[2], max_words=4)
        plain = re.match(r"(?:an?|the) [a-z]+(?: [a-z]+)?$", loose) and "home" not in loose
        plain = plain and m[1] == "work"  # "I'm working at the weekend" names no employer
        add(m, "works_at", _named(m[2], lower=lower) or (loose if plain else None))
    for m in re.finditer(rf"\bI(?:'ve| have)?{_ADV} {_JOIN} (?=(.{{1,200}}))", sentence):
        add(m, "works_at", _named(m[1], lower=lower))
    for m in re.finditer(
        rf"{_IM}{_ADV} (?:an?|the) ([\w -]+?) (?:at|for) (?=([A-Z].{{1,200}}))", sentence
    ):
        if job_title(m[1], strict=True):
            add(m, "works_at", _named(m[2]))
    for m in re.finditer(rf"\bI{_ADV} work(?:ing)? as (?=(an? .{{1,200}}))", sentence):
        add(m, "job", job_title(m[1], strict=False))
    for m in re.finditer(rf"{_IM}{_ADV} (an? [\w -]+)", sentence):
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
        rf"{_IM}{_ADV} (?:severely |very |deathly )?allergic to (?=(.{{1,200}}))", sentence
    ):
        obj = trim_clause(m[1], preps=False, keep=["and"], max_words=8)
        for part in re.split(r",\s*|\s+and\s+|\s+or\s+", obj):
            add(m, "allergy", part.strip() or None)
    for m in re.finditer(
        r"\bI have (?:an?|a severe|a bad) ([a-z]+(?: [a-z]+)?) allergy\b", sentence
    ):
        add(m, "allergy", m[1])
    for m in re.finditer(rf"{_IM}(?: an?)?{_ADV} ({DIETS})\b", sentence, re.IGNORECASE):
        add(m, "diet", m[1].lower())
    for m in re.finditer(rf"{_IM}{_ADV} (lactose|gluten) intolerant\b", sentence):
        add(m, "allergy", f"{m[1]} (intolerance)")
    return [fact for _, fact in sorted(found, key=lambda item: item[0])]


_NOT = r"(?:don't|do not|no longer|never|used to)"  # "I ___ live in Paris"
_NOT_IM = rf"{_IM} (?:not|no longer)"  # "I'm not ___ vegan"
_ANY_MORE = re.compile(r"\b(?:any ?more|any longer|no longer|no more)\b")
_PARTNER = r"(?:girlfriend|boyfriend|partner|fianc[eé]e?)"
_RETRACT_VALUE = [  # (attribute, pattern with the retracted value in group 1, how it is read)
    ("lives_in", rf"\bI {_NOT}{_ADV} (?:live|lived) (?:in|at) (?=(.{{1,200}}))", "place"),
    ("lives_in", rf"{_NOT_IM} (?:living|based) in (?=(.{{1,200}}))", "place"),
    (
        "lives_in",
        rf"\bI(?:'ve| have)?{_ADV} moved (?:out of|away from|from) (?=(.{{1,200}}))",
        "place",
    ),
    ("hometown", rf"{_IM} not from (?=(.{{1,200}}))", "place"),
    ("works_at", rf"\bI {_NOT}{_ADV} work (?:at|for) (?=(.{{1,200}}))", "org"),
    ("works_at", rf"{_NOT_IM} (?:working|employed) (?:at|for) (?=(.{{1,200}}))", "org"),
    (
        "works_at",
        rf"\bI(?:'ve| have)?{_ADV} (?:left|quit) (?:my (?:job|position|role) (?:at|with) )?"
        rf"(?=(.{{1,200}}))",
        "org",
    ),
    ("job", rf"{_NOT_IM} (an? [\w -]+)", "job"),
    ("job", r"\bI (?:used to be|(?:stopped|quit) being) (an? [\w -]+)", "job"),
    ("diet", rf"(?i:{_NOT_IM}(?: an?)? ({DIETS})\b)", "diet"),
    (
        "diet",
        rf"(?i:\bI (?:used to be|(?:stopped|quit|gave up) being)(?: an?)? ({DIETS})\b)",
        "diet",
    ),
    ("allergy", rf"{_NOT_IM} allergic to (?=(.{{1,200}}))", "thing"),
    ("partner", rf"\bI{_ADV} broke up with (?:my {_PARTNER},? )?{_NAME}", "name"),
    (
        "spouse",
        rf"\bI{_ADV} (?:divorced|separated from) (?:my (?:wife|husband),? )?{_NAME}",
        "name",
    ),
]
_RETRACT_ANY = [  # (attribute, pattern): the current value, whatever it is, is no longer true
    ("lives_in", rf"\bI {_NOT} live there\b(?=.*{_ANY_MORE.pattern})"),
    ("works_at", rf"\bI(?:'ve| have)?{_ADV} (?:left|quit|lost) my job\b(?! (?:at|with))"),
    ("works_at", r"\bI(?:'ve| have)? (?:got|was|been|just got) (?:fired|laid off|let go|sacked)\b"),
    ("works_at", rf"{_IM}{_ADV} (?:unemployed|between jobs|out of work|retired)\b"),
    ("works_at", rf"\bI{_ADV} retired\b"),
    (
        "works_at",
        rf"(?:{_NOT_IM} working|\bI {_NOT} work)\b(?! (?:at|for|on|as))(?=.*{_ANY_MORE.pattern})",
    ),
    ("partner", rf"\b(?:[Ww]e|[Mm]y {_PARTNER} and I){_ADV} (?:broke up|split up|split)\b"),
    ("partner", rf"\bI{_ADV} broke up with (?:my {_PARTNER}|him|her|them)\b(?!,? [A-Z])"),
    ("spouse", rf"\b[Ww]e(?:'re| are)?{_ADV} (?:got )?(?:divorced|separated)\b"),
    (
        "spouse",
        rf"\b[Mm]y (?:wife|husband) and I{_ADV} (?:got divorced|separated|broke up|split up)\b",
    ),
    ("spouse", rf"{_IM}{_ADV} (?:divorced|separated)\b|\bI{_ADV} got divorced\b"),
]


# a word every retraction pattern has: most sentences skip the patterns at once
_RETRACT_CUE = re.compile(
    r"n't|\b(?:not|no|never|used|moved|left|quit|lost|fired|laid|let|sacked|unemployed|"
    r"between|out|retired|broke|split|divorced|separated|stopped|gave)\b"
)


def _retractions(sentence: str) -> list[Fact]:
    """What `sentence` says is no longer (or never was) true of the user: "I left Google",
    "I'm not vegan anymore", "we broke up". Value "" means whatever the current one is."""
    if not _RETRACT_CUE.search(sentence):
        return []
    lower = uncapitalised(sentence)
    found: list[Fact] = []
    for attr, pattern, kind in _RETRACT_VALUE:
        for m in re.finditer(pattern, sentence):
            value = _retracted_value(m[1], kind, lower)
            if value and not hedged(sentence, m.start()):
                found.append(
                    Fact("user", attr, value, sentence, entities=tuple(entities_in(value)))
                )
    for attr, pattern in _RETRACT_ANY:
        hit = re.search(pattern, sentence)
        if hit and not hedged(sentence, hit.start()) and all(f.attribute != attr for f in found):
            found.append(Fact("user", attr, "", sentence))
    return found


def _retracted_value(obj: str, kind: str, lower: bool) -> str | None:
    if kind == "place":
        return _named(obj, loose=True, keep=["near", "outside"], lower=lower)
    if kind == "org":
        return _named(obj, lower=lower)
    if kind == "job":
        return job_title(obj, strict=True)
    if kind == "diet":
        return obj.lower()
    if kind == "thing":
        return trim_clause(obj, preps=False, max_words=4) or None
    return obj if obj.split()[0].lower() not in NAME_STOP else None


STOP_SUBJECTS = words("the this that it he she they we you my our everyone nobody someone")
_THIRD = re.compile(
    rf"\b{_NAME} (?:(?:currently|now|still|also) )?(?P<verb>lives in|moved to|"
    rf"works at|works for|is from|is married to|works as|teaches|is an?(?= )|"
    rf"is (?P<age>\d{{1,3}})(?: years old)?\b)"
    rf"(?=(?P<obj>.{{0,200}}))"
)
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
        if verb in {"teaches", "is a", "is an"}:
            known = people is not None and subject in people.named
            job = "teacher" if verb == "teaches" else job_title(verb[3:] + m["obj"], strict=True)
            if known and job:
                facts.append(Fact(subject, "job", job, sentence, entities=(subject,)))
            continue
        if verb == "works as":
            value = job_title(m["obj"], strict=False)
        else:
            value = _named(m["obj"], loose=verb in {"lives in", "moved to"}, keep=["near"])
        attr = {"lives in": "lives_in", "moved to": "lives_in", "works at": "works_at"}.get(verb)
        attr = attr or {"works for": "works_at", "is from": "hometown"}.get(verb)
        attr = attr or {"is married to": "spouse", "works as": "job"}[verb]
        if value:
            ents = (subject, *(e for e in entities_in(value) if attr != "job"))
            facts.append(Fact(subject, attr, value, sentence, entities=ents))
    return facts


_PRONOUN = re.compile(r"\b([Hh]e|[Ss]he)(['’]s)?\b")
_POSS_REL = re.compile(
    rf"\b([Hh]is|[Hh]er) (?:(?:older|younger|little|big|twin|best|new) )?({_REL})"
    rf"(?:'s name is| is called| is named|,)? {_NAME}\b"
)
_WITH_ME = re.compile(rf"\b{_NAME} and I\b|\b[Mm]e and {_NAME}\b")
_MAYBE_PERSON = re.compile(rf"\b(?:met|meet|with|saw|called|told|asked|texted|and|or) {_NAME}")


def _resolved(sentence: str, people: People) -> str:
    """`sentence` with "he"/"she" replaced by the person they name, where that is clear."""

    def name(m: re.Match[str]) -> str:
        who = people.who(m[1].lower())
        return m[0] if who is None else f"{who} is" if m[2] else who

    return _PRONOUN.sub(name, sentence)


def _about_others(sentence: str, people: People) -> list[Fact]:
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
        sentence = plain_talk(sentence)
        gone = _retractions(sentence)
        mine = _first_person(sentence)
        for fact in mine:
            if fact.relation in RELATION_ATTR:
                people.saw(fact.value, fact.relation)
        for fact in [*mine, *_about_others(sentence, people)]:
            if fact not in facts and not any(_undoes(r, fact) for r in gone):
                facts.append(fact)
        retracted += [r for r in gone if r not in retracted]
    return facts, retracted


def user_facts(text: str, people: People | None = None) -> list[Fact]:
    """Every fact a user's message states about the user and the people they name."""
    return read_facts(text, people)[0]


@dataclass(frozen=True)
class TurnReading:
    """What the semantic parser read in one turn of a call: the facts and retractions a
    user's turn states (none for other roles) and the user's name as known at that turn
    (the context's, else the latest one the call's user turns stated)."""

    turn_id: str
    user_name: str | None
    facts: list[Fact] = field(default_factory=list)
    retracted: list[Fact] = field(default_factory=list)


def read_turns(turns: Sequence[Turn], ctx: ExtractionContext) -> list[TurnReading]:
    """The reading of each of `turns`, parsed once per context and kept in
    `ctx.readings`: every agent extracting from the same turns shares it. "he" and
    "she" may name a person from an earlier user turn of the call."""
    if ctx.readings is not None and [r.turn_id for r in ctx.readings] == [t.id for t in turns]:
        return ctx.readings
    readings: list[TurnReading] = []
    known = ctx.user_name
    people = People()
    for turn in turns:
        if turn.role != "user":
            readings.append(TurnReading(turn.id, known))
            continue
        facts, retracted = read_facts(turn.content, people)
        known = ctx.user_name or stated_name(facts) or known
        readings.append(TurnReading(turn.id, known, facts, retracted))
    ctx.readings = readings
    return readings


def user_turns(turns: Sequence[Turn], ctx: ExtractionContext) -> list[tuple[Turn, TurnReading]]:
    """The user's turns among `turns`, each with its reading (`read_turns`)."""
    pairs = zip(turns, read_turns(turns, ctx), strict=True)
    return [(turn, reading) for turn, reading in pairs if turn.role == "user"]


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
    }
    return templates[attr].format(w=who, v=value, a=article(value))


@register
class SemanticAgent(BaseAgent):
    memory_type = MemoryType.SEMANTIC
    record_type = SemanticMemory
    policy = ConflictPolicy.SUPERSEDE
    prompt = AgentPrompt(
        semantic_prompt.INSTRUCTIONS, semantic_prompt.SemanticOutput, semantic_prompt.to_records
    )

    def extract(self, turns: Sequence[Turn], ctx: ExtractionContext) -> list[MemoryBase]:
        """Facts and retractions, a turn's retractions before its facts ("I quit my job
        and started at Globex" must not close Globex)."""
        records: dict[str, MemoryBase] = {}
        for turn, reading in zip(turns, read_turns(turns, ctx), strict=True):
            known = reading.user_name
            for record in [
                *(self.retraction(fact, turn, ctx, known) for fact in reading.retracted),
                *(self.record(fact, turn, ctx, known) for fact in reading.facts),
            ]:
                records[record.id] = record
        return list(records.values())

    def retraction(
        self, fact: Fact, turn: Turn, ctx: ExtractionContext, user: str | None
    ) -> SemanticMemory:
        """A candidate that closes the current `fact.attribute` (of that value, if named);
        reconcile never stores it (see `RETRACTS`)."""
        who = user or "The user"
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
        self, fact: Fact, turn: Turn, ctx: ExtractionContext, user: str | None
    ) -> SemanticMemory:
        entities = list(fact.entities)
        if fact.is_user and user:
            entities.insert(0, user)
        elif not fact.is_user and fact.subject not in entities:
            entities.insert(0, fact.subject)
        key = norm_key(fact.value) if fact.attribute != "age" else fact.value
        return SemanticMemory(
            id=ctx.memory_id(self.memory_type, fact.subject.lower(), fact.attribute, key),
            content=fact_sentence(fact, user),
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
        return None

    def merges_near_duplicates(self, record: MemoryBase) -> bool:
        return False  # structured facts: ids dedupe, conflict keys supersede
