"""Word lists and normal forms: keys, articles, possessives, calendar words, links."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from octomem.models import normalize_text


def norm_key(text: str) -> str:
    """Lower case, punctuation dropped, leading article dropped: a stable key part."""
    text = re.sub(r"[^\w\s'-]", " ", text.lower()).replace("'s ", " ")
    text = normalize_text(text)
    return re.sub(r"^(?:the|a|an|my|some)\s+", "", text)


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
