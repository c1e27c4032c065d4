"""Secrets (passwords, PINs, keys, tokens, card numbers, IBANs, SSNs...) are masked before
anything is embedded, indexed, logged, sent to an LLM or stored: only the masked form
exists.

`mask(text)` runs five detectors over the text and replaces what they find:
- `keys`: vendor key and token formats (detect-secrets' plugin regexes and more), JWTs,
  private key blocks, passwords in URLs, `curl -u` and command flags (`mysql -pX`), Bearer
  tokens, session cookies, long random strings;
- `numbers`: payment cards, IBANs, US SSNs, Canadian SINs, codice fiscale, NIE and CPF, each
  confirmed by its checksum (python-stdnum), and the UK NI number by its shape;
- `cues`: values named by the words around them ("my PIN is ...", "password: ...", "I use
  ... as my password", "Mein Passwort ist ...", "我的密码是 ..."; `cue_words`);
- `config_forms`: SQL's `IDENTIFIED BY`, XML elements and attributes, name/value pairs;
- `tables`: the cells of a table's column whose header names a secret.
They see the text in NFKC with invisible characters removed (`normal`); what they find is
replaced in the text as it was written, and so is every other place the text gives the
same value without a cue ("my PIN is 4821, so 4821 it is": `_repeats`).
`mask_value` does the same for every string of a JSON-like value (metadata), keys too,
and masks the whole value of a key that names a secret ({"password": ...}, `keys_named`).
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from octomem.sensitive.keys_named import secret_key
from octomem.sensitive.spans import MARK, MASKED, Found, apply, placeholder

if TYPE_CHECKING:
    from octomem.sensitive.normal import Normal

__all__ = [
    "MARK",
    "Masked",
    "mask",
    "mask_across",
    "mask_text",
    "mask_together",
    "mask_value",
    "replace_found",
    "replaceable",
    "secret_key",
    "secrets_across",
    "secrets_in_value",
]


@dataclass(frozen=True)
class Masked:
    text: str
    kinds: tuple[str, ...]

    @property
    def sensitive(self) -> bool:
        return bool(self.kinds)


def mask(text: str) -> Masked:
    """The text with every secret found replaced by `[MASKED <kind>]`, or by
    `[MASKED <kind> …<last 4>]` for cards, IBANs and long keys, wherever it stands whole
    in the text (its cue named it once). Masking masked text changes nothing: a text
    where something was found is masked again until nothing more is (a masked span can
    free a cue it was glued to: "...TK1234567Номер паспорта: ...")."""
    if len(text) < 3 or text in _clean:
        return Masked(text, ())
    kinds: list[str] = []
    for _ in range(_ROUNDS):
        found = _found(text)
        if not found:
            _clean.add(text)
            break
        masked, more = apply(text, [*found, *_repeats(text, found)])
        kinds += more
        if masked == text:
            break
        text = masked
    return Masked(text, tuple(dict.fromkeys(kinds)))


_ROUNDS = 4


class _Clean:
    """Texts the detectors found nothing in, remembered by digest (the last `size`) so
    that a text masked once is not read again when it reaches the write primitive's check
    (`orchestrator.write.guard`) or a later record: the rules are fixed for the process,
    and a text they find nothing in holds no secret. Digests, not texts: nothing a user
    said stays here after they are forgotten."""

    def __init__(self, size: int = 4096) -> None:
        self._digests: dict[bytes, None] = {}
        self._size = size
        self._lock = threading.Lock()

    @staticmethod
    def _digest(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def __contains__(self, text: str) -> bool:
        return self._digest(text) in self._digests

    def add(self, text: str) -> None:
        digest = self._digest(text)
        with self._lock:
            self._digests[digest] = None
            if len(self._digests) > self._size:
                del self._digests[next(iter(self._digests))]


_clean = _Clean()


Detector = Callable[[str], Iterator[Found]]


@functools.cache
def _detectors() -> tuple[Callable[[str], Normal | None], tuple[Detector, ...]]:
    """The normaliser and the detectors, imported on first use: compiling their patterns
    (and loading python-stdnum) costs a command that masks nothing, a search, about a
    twentieth of a second."""
    from octomem.sensitive.config_forms import find_config
    from octomem.sensitive.cues import find_cued
    from octomem.sensitive.keys import find_keys
    from octomem.sensitive.normal import normalise
    from octomem.sensitive.numbers import find_numbers
    from octomem.sensitive.seeds import find_seeds
    from octomem.sensitive.tables import find_tables

    detectors = (find_keys, find_numbers, find_cued, find_config, find_tables, find_seeds)
    return normalise, detectors


def _found(text: str) -> list[Found]:
    """What the detectors find in `text` read normalised, as spans of `text` as written."""
    normalise, detectors = _detectors()
    normal = normalise(text)
    seen = text if normal is None else normal.text
    found: list[Found] = [f for detect in detectors for f in detect(seen)]
    if normal is not None:
        found = [Found(*normal.original(f.start, f.end), f.kind, f.tail) for f in found]
    return found


_MIN_SECRET = 4  # shorter values found are not replaced wherever they appear
_MAX_REPEATED = 64  # distinct values of one text looked for elsewhere in it (`_repeats`)


def _repeats(text: str, found: Sequence[Found]) -> list[Found]:
    """The other places in `text` where a value found in it (`replaceable`) stands whole:
    "My wifi password is Zq9xT!pw7. Write Zq9xT!pw7 on the card." gives it twice, named
    once. Whole: not inside a longer word or number (unlike `replace_found`, which masks
    a generated value wherever it is in texts it was not found in). The first 64
    distinct values (each a scan of the text)."""
    values: dict[str, Found] = {}
    for f in found:
        secret = text[f.start : f.end].strip()
        if replaceable(secret) and len(values) < _MAX_REPEATED:
            values.setdefault(secret, f)
    out = []
    for secret, f in values.items():
        if text.count(secret) < 2:
            continue
        for match in _standing(secret).finditer(text):
            out.append(Found(match.start(), match.end(), f.kind, f.tail))
    return out


def _standing(secret: str) -> re.Pattern[str]:  # (not cached: no secret kept past its call)
    """`secret` not inside a longer word or number ("4821", not "14821" nor "4821a")."""
    return re.compile(rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])")


def replaceable(secret: str) -> bool:
    """Whether a secret found (stripped) is replaced wherever it appears in the texts it
    was found across: long enough not to hit ordinary words, not a mask already, and not
    a word that names a secret ("password: 'password'": masked where it is the value, not
    where it is the cue)."""
    if len(secret) < _MIN_SECRET or MARK in secret:
        return False
    from octomem.sensitive.cues import names_a_secret  # (on first use, as `_detectors`)

    return not names_a_secret(secret)


def secrets_across(texts: Iterable[str], *, joined: bool = True) -> dict[str, str]:
    """The secrets `mask` finds in any of `texts`, or (`joined`) in all of them read
    together, one after the other a line apart: each as written -> its kind. For texts
    that are parts of one whole (the pages of a document, the records of one model reply),
    where a value found in one, or across two, is to be masked wherever it appears."""
    texts = [t for t in texts if t]
    found: dict[str, str] = {}
    for text in [*texts, "\n".join(texts)] if joined and len(texts) > 1 else texts:
        if text in _clean:  # masked before: nothing found in it
            continue
        for f in _found(text):
            secret = text[f.start : f.end].strip()
            if replaceable(secret):
                found.setdefault(secret, f.kind)
    return found


def _whole(secret: str) -> re.Pattern[str]:  # (not cached: no secret kept past its call)
    """`secret` where it stands whole: a word ("sunshine") not inside another one
    ("sunshines"), a generated value anywhere."""
    pattern = re.escape(secret)
    return re.compile(rf"(?<!\w){pattern}(?!\w)" if secret.isalpha() else pattern)


def replace_found(value: Any, found: Mapping[str, str], kinds: list[str] | None = None) -> Any:
    """`value` (a string, or a list or dict of them, its keys too) with every secret of
    `found` replaced wherever it is, longest first, except inside a masked form (the value
    "secret" is not replaced in "[MASKED secret]"). The kinds replaced are appended to
    `kinds`."""
    if isinstance(value, str):
        if not found or not any(secret in value for secret in found):
            return value
        masks = [m.span() for m in MASKED.finditer(value)] if MARK in value else []
        ends = [0, *(at for span in masks for at in span), len(value)]
        parts = [value[a:b] for a, b in zip(ends[::2], ends[1::2], strict=True)]
        shields = [value[a:b] for a, b in masks]
        for secret in sorted(found, key=len, reverse=True):
            if any(secret in part for part in parts):
                masked = placeholder(found[secret], secret, tail=False).replace("\\", "\\\\")
                pattern = _whole(secret)  # (a backslash kept as one)
                replaced = [pattern.sub(masked, part) for part in parts]
                if kinds is not None and replaced != parts and found[secret] not in kinds:
                    kinds.append(found[secret])
                parts = replaced
        return "".join(p + m for p, m in zip(parts, [*shields, ""], strict=True))
    if isinstance(value, list | tuple):
        return [replace_found(item, found, kinds) for item in value]
    if isinstance(value, Mapping):  # keys too: {"Zq9xT!pw7": 1, "note": "my password is ..."}
        out = {}
        for key, item in value.items():
            name = replace_found(key, found, kinds) if isinstance(key, str) else key
            out[name] = replace_found(item, found, kinds)
        return out
    return value


def mask_across(texts: Sequence[str], kinds: list[str] | None = None) -> list[str]:
    """`texts` each masked, and every secret found in any of them or across them
    (`secrets_across`) masked in every one. Found kinds are appended to `kinds`."""
    found = secrets_across(texts)
    out = [mask_value(text, kinds) for text in texts]
    if kinds is not None:
        kinds.extend(k for k in found.values() if k not in kinds)
    return [replace_found(text, found) for text in out]


def mask_text(text: str) -> str:
    return mask(text).text


# a word of a secret found with words around it ("Gmail: Lm3*xRt9w") that is a secret on
# its own wherever it stands: 8 characters or more, holding a digit and no space
_GENERATED = re.compile(r"(?<!\S)(?=\S*\d)[^\s\"'`]{8,}(?!\S)")


def secrets_in_value(value: Any) -> dict[str, str]:
    """The secrets of a JSON-like value (metadata) as written -> their kinds: those
    `mask` finds in each of its strings (keys too), read alone, and the whole value of a
    key that names a secret (`{"wifi_password": "Zq9xT!pw7"}`, `{"pin": 4821}`: "secret"),
    each `replaceable`."""
    strings: list[str] = []
    named: list[str] = []

    def walk(item: Any, under_secret: bool) -> None:
        if isinstance(item, str):
            (named if under_secret else strings).append(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            if under_secret:
                named.append(_number_text(item))
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                if isinstance(key, str):
                    strings.append(key)
                walk(inner, under_secret or (isinstance(key, str) and secret_key(key)))
        elif isinstance(item, list | tuple):
            for inner in item:
                walk(inner, under_secret)

    walk(value, False)
    found = secrets_across(strings, joined=False)
    for secret, kind in list(found.items()):  # "Gmail: Lm3*xRt9w", a list item: its key
        for word in _GENERATED.findall(secret) if " " in secret else ():
            found.setdefault(word, kind)
    for text in named:
        if replaceable(text.strip()):
            found.setdefault(text.strip(), "secret")
    return found


def mask_value(value: Any, kinds: list[str] | None = None) -> Any:
    """`value` (a JSON-like value: metadata) with every string masked, keys included; the
    whole value of a key that names a secret is masked, whatever its type (a string, a
    number, a list, a dict: `[MASKED secret]`); numbers that are card numbers become
    masked strings. Found kinds are appended to `kinds`."""
    if isinstance(value, str):
        found = mask(value)
        if kinds is not None:
            kinds.extend(k for k in found.kinds if k not in kinds)
        return found.text
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):  # 4111111111111111 or 4111111111111111.0
        masked = mask_value(text := _number_text(value), kinds)
        return value if masked == text else masked
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            name = mask_value(key, kinds) if isinstance(key, str) else key
            if isinstance(key, str) and secret_key(key) and _holds_something(item):
                if kinds is not None and "secret" not in kinds:
                    kinds.append("secret")
                out[name] = placeholder("secret", "", tail=False)
            else:
                out[name] = mask_value(item, kinds)
        return out
    if isinstance(value, list | tuple):
        return [mask_value(item, kinds) for item in value]
    return value


def mask_together(value: Any, kinds: list[str] | None = None) -> Any:
    """`value` (a JSON-like value: a put's value, an update's text and metadata) masked
    (`mask_value`), and every secret found in any part of it (`secrets_in_value`) masked
    wherever else it stands: {"note": "my password is X", "copy": "X"} masks both."""
    return replace_found(mask_value(value, kinds), secrets_in_value(value), kinds)


def _number_text(number: float) -> str:
    """A number's digits as a text holding it would give them: 4821.0 as "4821"."""
    whole = isinstance(number, float) and number.is_integer() and abs(number) < 1e19
    return str(int(number)) if whole else str(number)


def _holds_something(item: Any) -> bool:
    """Whether a value under a secret's name is worth masking whole: a string that is not
    blank nor masked already, a number (a PIN given as 4821), a list or dict holding one.
    False, None, empty strings and empty lists say nothing."""
    if isinstance(item, str):
        return bool(item.strip()) and MASKED.fullmatch(item.strip()) is None
    if isinstance(item, Mapping):
        return any(_holds_something(v) for v in item.values())
    if isinstance(item, list | tuple):
        return any(_holds_something(v) for v in item)
    return isinstance(item, int | float) and not isinstance(item, bool)
