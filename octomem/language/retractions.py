"""Retractions: what a user's sentence says is no longer (or never was) true of them
("I left Google", "I'm not vegan anymore", "we broke up")."""

from __future__ import annotations

import re

from octomem.language.clauses import trim_clause
from octomem.language.entities import entities_in
from octomem.language.informal import uncapitalised
from octomem.language.reading import Fact
from octomem.language.sentences import hedged
from octomem.language.values import ADV, DIETS, IM, NAME, NAME_STOP, job_title, named_value
from octomem.language.words import UPPER

_NOT = r"(?:don't|do not|no longer|never|used to)"  # "I ___ live in Paris"
_NOT_IM = rf"{IM} (?:not|no longer)"  # "I'm not ___ vegan"
_ANY_MORE = re.compile(r"\b(?:any ?more|any longer|no longer|no more)\b")
_PARTNER = r"(?:girlfriend|boyfriend|partner|fianc[eé]e?)"
_RETRACT_VALUE = [  # (attribute, pattern with the retracted value in group 1, how it is read)
    ("lives_in", rf"\bI {_NOT}{ADV} (?:live|lived) (?:in|at) (?=(.{{1,200}}))", "place"),
    ("lives_in", rf"{_NOT_IM} (?:living|based) in (?=(.{{1,200}}))", "place"),
    (
        "lives_in",
        rf"\bI(?:'ve| have)?{ADV} moved (?:out of|away from|from) (?=(.{{1,200}}))",
        "place",
    ),
    ("hometown", rf"{IM} not from (?=(.{{1,200}}))", "place"),
    ("works_at", rf"\bI {_NOT}{ADV} work (?:at|for) (?=(.{{1,200}}))", "org"),
    ("works_at", rf"{_NOT_IM} (?:working|employed) (?:at|for) (?=(.{{1,200}}))", "org"),
    (
        "works_at",
        rf"\bI(?:'ve| have)?{ADV} (?:left|quit) (?:my (?:job|position|role) (?:at|with) )?"
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
    ("partner", rf"\bI{ADV} broke up with (?:my {_PARTNER},? )?{NAME}", "name"),
    (
        "spouse",
        rf"\bI{ADV} (?:divorced|separated from) (?:my (?:wife|husband),? )?{NAME}",
        "name",
    ),
]
_RETRACT_ANY = [  # (attribute, pattern): the current value, whatever it is, is no longer true
    ("lives_in", rf"\bI {_NOT} live there\b(?=.*{_ANY_MORE.pattern})"),
    ("works_at", rf"\bI(?:'ve| have)?{ADV} (?:left|quit|lost) my job\b(?! (?:at|with))"),
    ("works_at", r"\bI(?:'ve| have)? (?:got|was|been|just got) (?:fired|laid off|let go|sacked)\b"),
    ("works_at", rf"{IM}{ADV} (?:unemployed|between jobs|out of work|retired)\b"),
    ("works_at", rf"\bI{ADV} retired\b"),
    (
        "works_at",
        rf"(?:{_NOT_IM} working|\bI {_NOT} work)\b(?! (?:at|for|on|as))(?=.*{_ANY_MORE.pattern})",
    ),
    ("partner", rf"\b(?:[Ww]e|[Mm]y {_PARTNER} and I){ADV} (?:broke up|split up|split)\b"),
    ("partner", rf"\bI{ADV} broke up with (?:my {_PARTNER}|him|her|them)\b(?!,? [{UPPER}])"),
    ("spouse", rf"\b[Ww]e(?:'re| are)?{ADV} (?:got )?(?:divorced|separated)\b"),
    (
        "spouse",
        rf"\b[Mm]y (?:wife|husband) and I{ADV} (?:got divorced|separated|broke up|split up)\b",
    ),
    ("spouse", rf"{IM}{ADV} (?:divorced|separated)\b|\bI{ADV} got divorced\b"),
]


# a word every retraction pattern has: most sentences skip the patterns at once
_RETRACT_CUE = re.compile(
    r"n't|\b(?:not|no|never|used|moved|left|quit|lost|fired|laid|let|sacked|unemployed|"
    r"between|out|retired|broke|split|divorced|separated|stopped|gave)\b"
)


def retractions(sentence: str) -> list[Fact]:
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
        return named_value(obj, loose=True, keep=["near", "outside"], lower=lower)
    if kind == "org":
        return named_value(obj, lower=lower)
    if kind == "job":
        return job_title(obj, strict=True)
    if kind == "diet":
        return obj.lower()
    if kind == "thing":
        return trim_clause(obj, preps=False, max_words=4) or None
    return obj if obj.split()[0].lower() not in NAME_STOP else None
