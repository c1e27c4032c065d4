"""The offline language layer: the rules that read plain English without a model.

Sentences (`sentences`, `informal`), named entities (`entities`), clauses (`clauses`),
relative dates (`dates`), people and pronouns (`people`), and facts: their values
(`values`), what a message states (`facts`) and takes back (`retractions`), as plain data
(`reading`). Below the agents, which read turns through it; it imports nothing of
`octomem` but `octomem.models`. Precision over recall.
"""

from __future__ import annotations

from octomem.language.clauses import DANGLING, remove_span, trim_clause
from octomem.language.dates import TimeRef, find_time, find_times
from octomem.language.entities import (
    ENTITY_PATTERN,
    clean_entity,
    entities_in,
    leading_entity,
    lowercase_name,
)
from octomem.language.facts import fact_sentence, read_conversation, read_facts, user_facts
from octomem.language.informal import plain_talk, uncapitalised
from octomem.language.people import People, third_person
from octomem.language.reading import Fact, TurnReading
from octomem.language.sentences import (
    MAX_SENTENCE,
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
    "MAX_SENTENCE",
    "RELATIONS",
    "RELATION_ATTR",
    "STOPWORDS",
    "UPPER",
    "WORD",
    "Fact",
    "People",
    "TimeRef",
    "TurnReading",
    "clean_entity",
    "content_stems",
    "content_words",
    "entities_in",
    "fact_sentence",
    "find_time",
    "find_times",
    "has_content",
    "hedged",
    "is_first_person",
    "is_question",
    "job_title",
    "leading_entity",
    "lowercase_name",
    "norm_key",
    "normalize_uri",
    "plain_talk",
    "possessive",
    "read_conversation",
    "read_facts",
    "remove_span",
    "sentence_case",
    "split_sentences",
    "third_person",
    "trim_clause",
    "uncapitalised",
    "user_facts",
    "words",
]
