"""Secrets in conversation (passwords, API keys, card numbers) are masked before anything
is embedded, indexed, logged, sent to an LLM or stored: only the masked form exists."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_KEY = re.compile(r"\b(?:sk|pk|rk|ghp|gho|ghu|xox[abpr]|AKIA|AIza|glpat)[-_A-Za-z0-9]{12,}\b")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\b")
_SECRET_PHRASE = re.compile(
    r"(?P<lead>\b(?:password|passcode|passwd|pwd|pin|api[ _-]?key|secret[ _-]key|token|"
    r"access[ _-]?key)\b(?:\s+(?:for|of|to)\s+[\w .'-]{1,40}?)?\s*(?:is|was|=|:)\s*)"
    r"(?P<value>[\"']?[^\s\"',;]*[^\s\"',;.!?][\"']?)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: tuple[str, ...]

    @property
    def sensitive(self) -> bool:
        return bool(self.kinds)


def _luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for index, char in enumerate(digits):
        value = int(char)
        if index % 2 == parity:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def mask(text: str) -> Masked:
    """The text with every secret replaced by `[MASKED <kind> …<last 2-4 chars>]`."""
    kinds: list[str] = []

    def card(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if not (13 <= len(digits) <= 19 and _luhn(digits)):
            return match.group(0)
        kinds.append("card")
        return f"[MASKED card …{digits[-4:]}]"

    def key(match: re.Match[str]) -> str:
        kinds.append("key")
        return f"[MASKED key …{match.group(0)[-4:]}]"

    def phrase(match: re.Match[str]) -> str:
        value = match["value"].strip("\"'")
        if value.startswith("[MASKED"):
            return match.group(0)
        kinds.append("password")
        return f"{match['lead']}[MASKED password …{value[-2:]}]"

    text = _CARD.sub(card, text)
    text = _JWT.sub(key, text)
    text = _KEY.sub(key, text)
    text = _SECRET_PHRASE.sub(phrase, text)
    return Masked(text, tuple(dict.fromkeys(kinds)))
