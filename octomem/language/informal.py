"""Informal chat text: the spellings the rules are written for, and whether a writer
capitalises names at all."""

from __future__ import annotations

import re

_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]+")
_CHAT_WORDS = {"i": "I", "im": "I'm", "Im": "I'm", "ive": "I've", "Ive": "I've", "cant": "can't"}
_CHAT_WORDS |= {"u": "you", "ur": "your", "rn": "right now"}
_CHAT = re.compile(
    r"\b(?:i|[Ii]m|[Ii]ve|cant|u(?!\.)|ur|rn|(?:do|does|did|is|are|was|were|have|has|would|"
    r"could)nt|(?i:lol|lmao|rofl|ha(?:ha)+|he(?:he)+|tbh|ngl|omg|xd|btw))\b"
)


def _chat_word(m: re.Match[str]) -> str:
    word = m[0]
    if word in _CHAT_WORDS:
        return _CHAT_WORDS[word]
    return word[:-2] + "n't" if word.endswith("nt") else ""  # "dont" -> "don't"; "lol" goes


def plain_talk(sentence: str) -> str:
    """Chat spellings the rules are written for: "i", "im", "dont", "u" become "I",
    "I'm", "don't", "you", and fillers ("lol", "btw") and emojis go, so "i live in berlin
    lol 😊" reads as a statement."""
    plain = _CHAT.sub(_chat_word, sentence)
    if not plain.isascii():
        plain = _EMOJI.sub(" ", plain)
    return plain if plain == sentence else " ".join(plain.split())


# "I live in Lisbon, and work at Acme": a verb after "and"/"but" whose subject is the "I"
# before it; the verbs the fact rules read with "I" in front
_ELIDED = re.compile(
    r"(?:,\s*|\s)(?:and|but)\s+(?:also\s+|now\s+|currently\s+|still\s+)?"
    r"(?=(?:work|live|moved|study|teach|own|have|love|like|hate|enjoy|prefer|grew up|"
    r"was born|am)\b)"
)
_SUBJECT_I = re.compile(r"\bI(?:['’](?:m|ve))?\s")


def with_subjects(sentence: str) -> str:
    """ "I live in Lisbon, and work at Acme" -> "I live in Lisbon, and I work at Acme": the
    "I" a clause after "and"/"but" leaves out, where an "I" leads the clause before."""
    out, start = [], 0
    for m in _ELIDED.finditer(sentence):
        if _SUBJECT_I.search(sentence, 0, m.start()):
            out += [sentence[start : m.end()], "I "]
            start = m.end()
    return "".join([*out, sentence[start:]]) if out else sentence


_PRONOUN_I = re.compile(r"I(?:['’](?:m|ve|d|ll))?$")


def uncapitalised(sentence: str) -> bool:
    """Whether the writer does not capitalise names: no word after the first is capitalised
    except "I". Only then may a lowercase object be a name ("i live in berlin")."""
    tokens = re.findall(r"[A-Za-z][\w'’-]*", sentence)[1:]
    return not any(t[0].isupper() and not _PRONOUN_I.match(t) for t in tokens)
