"""The offline language layer: the rules that read plain English without a model.

Sentences (`sentences`, `informal`), named entities (`entities`), clauses (`clauses`),
relative dates (`dates`), people and pronouns (`people`), and facts: their values
(`values`), what a message states (`facts`) and takes back (`retractions`), as plain data
(`reading`). Below the agents, which read turns through it; it imports nothing of
`octomem` but `octomem.models`. Precision over recall.
"""

from __future__ import annotations

from octomem.language.clauses import DANGLING, remove_span, trim_clause
from octomem.language.dates import TimeRef, find_time
from octomem.language.entities import (
    ENTITY_PATTERN,
    clean_entity,
    entities_in,
    leading_entity,
)
from octomem.language.facts import fact_sentence, read_conversation, user_facts
from octomem.language.people import third_person
from octomem.language.reading import Fact, TurnReading
from octomem.language.sentences import (
    hedged,
    is_first_person,
    is_question,
    split_sentences,
)
from octomem.language.stems import STOPWORDS, WORD, content_stems, content_words, has_content
from octomem.language.values import RELATION_ATTR, RELATIONS, job_title
from octomem.language.words import (
    LOWER,
    UPPER,
    norm_key,
    normalize_uri,
    possessive,
    sentence_case,
    words,
)

__all__ = [
    "DANGLING",
    "ENTITY_PATTERN",
    "LOWER",
    "RELATIONS",
    "RELATION_ATTR",
    "STOPWORDS",
    "UPPER",
    "WORD",
    "Fact",
    "TimeRef",
    "TurnReading",
    "clean_entity",
    "content_stems",
    "content_words",
    "entities_in",
    "fact_sentence",
    "find_time",
    "has_content",
    "hedged",
    "is_first_person",
    "is_question",
    "job_title",
    "leading_entity",
    "norm_key",
    "normalize_uri",
    "possessive",
    "read_conversation",
    "remove_span",
    "sentence_case",
    "split_sentences",
    "third_person",
    "trim_clause",
    "user_facts",
    "words",
]
