"""The offline language layer: the rules that read plain English without a model.

Sentences (`sentences`, `informal`), named entities (`entities`), clauses (`clauses`),
relative dates (`dates`), people and pronouns (`people`), and facts: their values
(`values`), what a message states (`facts`) and takes back (`retractions`), as plain data
(`reading`). Below the agents, which read turns through it; it imports nothing of
`octomem` but `octomem.models`. Precision over recall.
"""

from __future__ import annotations

from octomem.language.clauses import CLAUSE_WORDS, PREP_WORDS, remove_span, trim_clause
from octomem.language.dates import Direction, TimeRef, find_time, find_times
from octomem.language.entities import (
    ENTITY_PATTERN,
    STOP_CAPS,
    clean_entity,
    entities_in,
    leading_entity,
    lowercase_name,
)
from octomem.language.facts import (
    fact_sentence,
    first_person_facts,
    read_conversation,
    read_facts,
    stated_name,
    user_facts,
)
from octomem.language.informal import plain_talk, uncapitalised
from octomem.language.people import People, third_person, third_person_facts
from octomem.language.reading import Fact, TurnReading
from octomem.language.retractions import retractions
from octomem.language.sentences import (
    MAX_SENTENCE,
    hedged,
    is_first_person,
    is_question,
    split_sentences,
)
from octomem.language.stems import STOPWORDS, WORD, content_stems
from octomem.language.values import RELATION_ATTR, RELATIONS, job_title, named_value
from octomem.language.words import (
    MONTHS,
    WEEKDAYS,
    article,
    norm_key,
    normalize_uri,
    possessive,
    sentence_case,
    words,
)

__all__ = [
    "CLAUSE_WORDS",
    "ENTITY_PATTERN",
    "MAX_SENTENCE",
    "MONTHS",
    "PREP_WORDS",
    "RELATIONS",
    "RELATION_ATTR",
    "STOPWORDS",
    "STOP_CAPS",
    "WEEKDAYS",
    "WORD",
    "Direction",
    "Fact",
    "People",
    "TimeRef",
    "TurnReading",
    "article",
    "clean_entity",
    "content_stems",
    "entities_in",
    "fact_sentence",
    "find_time",
    "find_times",
    "first_person_facts",
    "hedged",
    "is_first_person",
    "is_question",
    "job_title",
    "leading_entity",
    "lowercase_name",
    "named_value",
    "norm_key",
    "normalize_uri",
    "plain_talk",
    "possessive",
    "read_conversation",
    "read_facts",
    "remove_span",
    "retractions",
    "sentence_case",
    "split_sentences",
    "stated_name",
    "third_person",
    "third_person_facts",
    "trim_clause",
    "uncapitalised",
    "user_facts",
    "words",
]
