"""Secrets (passwords, PINs, keys, tokens, card numbers, IBANs, SSNs...) are masked before
anything is embedded, indexed, logged, sent to an LLM or stored: only the masked form
exists.

`mask(text)` runs three detectors over the text and replaces what they find:
- `keys`: vendor key and token formats (detect-secrets' plugin regexes and more), JWTs,
  private key blocks, passwords in URLs, Bearer tokens, long random strings;
- `numbers`: payment cards, IBANs, US SSNs, each confirmed by its checksum (python-stdnum);
- `cues`: values named by the words before them ("my PIN is ...", "password: ...").
`mask_value` does the same for every string of a JSON-like value (metadata), keys too,
and masks the whole value of a key that names a secret ({"password": ...}).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from octomem.sensitive.cues import find_cued
from octomem.sensitive.keys import find_keys
from octomem.sensitive.numbers import find_numbers
from octomem.sensitive.spans import MARK, Found, apply, placeholder

__all__ = ["MARK", "Masked", "mask", "mask_text", "mask_value"]


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: tuple[str, ...]

    @property
    def sensitive(self) -> bool:
        return bool(self.kinds)


def mask(text: str) -> Masked:
    """The text with every secret found replaced by `[MASKED <kind>]`, or by
    `[MASKED <kind> …<last 4>]` for cards, IBANs and long keys. Masking masked text
    changes nothing."""
    if len(text) < 3:
        return Masked(text, ())
    found: list[Found] = [*find_keys(text), *find_numbers(text), *find_cued(text)]
    if not found:
        return Masked(text, ())
    masked, kinds = apply(text, found)
    return Masked(masked, tuple(dict.fromkeys(kinds)))


def mask_text(text: str) -> str:
    return mask(text).text


# metadata keys whose whole value is a secret: {"password": "..."}, {"card_number": 4111...}
_SECRET_KEY = re.compile(
    r"pass(?:word|wd|phrase|code)|pwd|secret(?!ary)|"
    r"(?<![a-z])token(?![a-z]|[_ -]?(?:count|usage|limit|budget|ids?|type))|"
    r"api[_ -]?key|access[_ -]?key|"
    r"private[_ -]?key|credential|^pin$|pin[_ -]?code|(?<![a-z])(?:cvv|cvc|ssn|iban)(?![a-z])|"
    r"social[_ -]?security|card[_ -]?number|account[_ -]?number|routing[_ -]?number|"
    r"authorization",
    re.I,
)


def secret_key(name: str) -> bool:
    """Whether a metadata key names a secret (its whole value is masked)."""
    return bool(_SECRET_KEY.search(name))


def mask_value(
    value: Any, kinds: list[str] | None = None, *, keep: frozenset[str] = frozenset()
) -> Any:
    """`value` (a JSON-like value: metadata) with every string masked, keys included; the
    whole value of a key that names a secret is masked (numbers too); numbers that are
    card numbers become masked strings. Found kinds are appended to `kinds`. The values
    of keys in `keep` (ids, hashes, times of a record) are left as they are, at any depth.
    """
    if isinstance(value, str):
        found = mask(value)
        if kinds is not None:
            kinds.extend(k for k in found.kinds if k not in kinds)
        return found.text
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        masked = mask_value(str(value), kinds)
        return value if masked == str(value) else masked
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if key in keep:
                out[key] = item
                continue
            name = mask_value(key, kinds) if isinstance(key, str) else key
            if isinstance(key, str) and secret_key(key) and _scalar(item):
                if kinds is not None and "secret" not in kinds:
                    kinds.append("secret")
                out[name] = placeholder("secret", "", tail=False)
            else:
                out[name] = mask_value(item, kinds, keep=keep)
        return out
    if isinstance(value, list | tuple):
        return [mask_value(item, kinds, keep=keep) for item in value]
    return value


def _scalar(item: Any) -> bool:
    """A value worth masking whole: a non-empty string that is not already masked, or a
    number (a PIN given as 4821). False, None and empty strings say nothing."""
    if isinstance(item, str):
        return bool(item.strip()) and not item.startswith(MARK)
    return isinstance(item, int | float) and not isinstance(item, bool)
