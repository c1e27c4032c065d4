"""Word lists and normal forms: keys, articles, possessives, calendar words, links."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from octomem.models import normalize_text


def norm_key(text: str) -> str:
    """Lower case, punctuation dropped, leading article dropped: a stable key part."""
    text = re.sub(r"[^\w\s'-]", " ", text.lower()).replace("'s ", " ")
    text = normalize_text(text)
    return re.sub(r"^(?:the|a|an|my|some)\s+", "", text)


def _letters(test: Callable[[str], bool]) -> str:
    """The letters of the Latin, Greek and Cyrillic scripts for which `test` holds, as
    ranges for a regex character class: `re` has no Unicode letter classes, and names
    such as "Zürich", "Åsa" or "Øyvind" are written with more than A-Z."""
    spans: list[list[int]] = []
    for low, high in ((0x41, 0x24F), (0x370, 0x52F), (0x1E00, 0x1FFF)):
        for code in range(low, high + 1):
            if not test(chr(code)):
                continue
            if spans and spans[-1][1] == code - 1:
                spans[-1][1] = code
            else:
                spans.append([code, code])
    return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in spans)


# inside a character class: `[{UPPER}]` a capital letter, `[{LOWER}]` a small one
UPPER = _letters(str.isupper)
LOWER = _letters(str.islower)
LETTER = _letters(str.isalpha)


def words(text: str) -> set[str]:
    """The whitespace-separated words of `text` as a set (for word lists)."""
    return set(text.split())


def article(noun: str) -> str:
    return "an" if noun[:1].lower() in "aeiou" else "a"


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august"]
MONTHS += ["september", "october", "november", "december"]


_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/?#@]*@", re.IGNORECASE)


def normalize_uri(url: str) -> str:
    """Scheme and host lower case without "www.", https for bare "www." links, no fragment
    or trailing slash: the same link always gives the same resource id."""
    if url.lower().startswith("www."):
        url = "https://" + url
    url = _USERINFO.sub(r"\1", url)  # a link's identity never holds a login (masked or not)
    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    return urlunsplit((parts.scheme.lower(), host, parts.path.rstrip("/"), parts.query, ""))
