"""Secrets named by the words before them (English): "my wifi password is ...", "PIN:
4821", "the CVV is 123", "DB_PASSWORD=...", 'api key "..."'.

Three kinds of cue take three kinds of value:
- passwords and passphrases: everything up to the end of the clause, so a passphrase of
  several words ("correct horse battery staple") goes whole;
- PINs, CVVs, codes and numbers: one token with a digit (or digit groups: "123 456");
- keys, tokens and secrets: one token that looks generated (a digit, mixed case or _/-).
A value the cue only describes ("the password is on the fridge", "... is wrong") is kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from octomem.sensitive.spans import Found

_PASSWORD = (
    r"pass ?words?|passwd|pwd|pass ?phrases?|pass ?codes?|seed phrase|recovery phrase|"
    r"mnemonic(?: phrase)?|(?:wi-?fi|wlan|wpa2?|network|router) (?:key|pass)|"
    r"login password|unlock (?:pattern|phrase)|(?:lock|safe) combination"
)
_CODE = (
    r"pins?(?: code| number)?|cvv2?|cvc2?|cid|csc|security code|verification code|"
    r"confirmation code|one[- ]time (?:code|password|passcode)|otp|2fa code|mfa code|"
    r"backup codes?|recovery codes?|(?:door|alarm|gate|garage|safe|lock|entry|access) code|"
    r"ssn|social security(?: number)?|(?:bank )?account number|routing number|sort code|"
    r"card number|tax id|passport number"
)
_KEY = (
    r"api[ _-]?key|api[ _-]?token|access[ _-]?(?:key|token)|secret(?: access)?(?: key)?|"
    r"auth(?:entication)?[ _-]?token|bearer token|refresh token|session token|"
    r"client[ _-]secret|private key|token|app password|signing key|encryption key"
)
_QUALIFIER = r"(?:\s+(?:for|of|to|at|on|with|from)\s+[^.!?\n:=\"'`]{1,40}?)?"
_VERB = (
    r"\s*(?:(?:has\s+been\s+|was\s+|is\s+|got\s+)?(?:changed|set|updated|reset)\s+to"
    r"|(?:is|was|are|'s)(?:\s+(?:now|still|just|actually))?|will\s+be|:|=|->)\s*"
)
_CUE = re.compile(
    rf"\b(?:(?P<password>{_PASSWORD})|(?P<code>{_CODE})|(?P<key>{_KEY}))\b{_QUALIFIER}"
    rf"(?P<verb>{_VERB}|\s+(?=[\"'`])|\s+(?=\d{{3}}))",
    re.I,
)
# env-style names: DB_PASSWORD=..., stripe-secret-key: ..., "api_key": "..."
_ASSIGNED = re.compile(
    r"\b[A-Za-z0-9]*[_.-]?(?:pass(?:word|wd|phrase)|pwd|secret|token|api[_-]?key|"
    r"access[_-]?key|private[_-]?key|credentials?)"
    r"(?!s\b|s?[_-]?(?:count|usage|limit|budget|used|ids?|type)\b)"  # max_tokens=, token_count:
    r"[A-Za-z0-9_.-]*[\"']?\s*[:=]\s*",
    re.I,
)
_QUOTED = re.compile(r"\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'|`([^`\n]{1,200})`")
_CLAUSE = re.compile(  # a passphrase ends at the end of the sentence or clause
    r"\S.*?(?=[.!?;,]?(?:\s*$|[.!?;,](?:\s|$)|\s+(?:and|but|so|or|because|which|then|"
    r"if|when|while|though|although|please)\b|\s*[()\n]))",
    re.I,
)
_TOKEN = re.compile(r"[^\s\"'`,;()<>\[\]]+")
_IDENTIFIER = re.compile(r"[A-Za-z]+(?:[_.][A-Za-z]+)+$")  # api_key=api_key, ENV_VAR_NAME
_DIGITS = re.compile(r"\d[\d -]{0,30}\d|\d")
_NOT_A_VALUE = frozenset(
    "a an the my your his her our their its this that these those it on in at under "
    "inside behind written saved stored kept not no still too very so wrong incorrect "
    "expired changed same different missing required needed being reset weak strong long "
    "short easy hard simple complicated secure safe private hidden case-sensitive valid "
    "invalid there here below above attached encrypted unknown forgotten lost somewhere "
    "printed taped also now just actually".split()
)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in ".,;:!?)\"'`":
        end -= 1
    return start, end


def _looks_generated(value: str) -> bool:
    return (
        any(c.isdigit() for c in value)
        or (any(c.isupper() for c in value[1:]) and any(c.islower() for c in value))
        or any(c in "_-+/=$#@%&*!" for c in value)
    )


def _value(text: str, at: int, kind: str) -> tuple[int, int] | None:
    quoted = _QUOTED.match(text, at)
    if quoted:
        group = next(g for g in (1, 2, 3) if quoted.group(g) is not None)
        inside = quoted.group(group)
        if kind == "code" and not any(c.isdigit() for c in inside):
            return None
        if kind == "key" and _IDENTIFIER.match(inside):
            return None
        return quoted.span(group)
    if text.startswith("[MASKED", at):
        return None
    word = _TOKEN.match(text, at)
    if word is None or word.group().lower().strip(".,!?") in _NOT_A_VALUE:
        return None
    if kind == "password":
        clause = _CLAUSE.match(text, at)
        end = clause.end() if clause else word.end()
        return _trim(text, at, max(end, word.end()))
    if kind == "code":
        digits = _DIGITS.match(text, at)
        if digits and (digits.end() >= word.end() or not text[digits.end()].isalnum()):
            return _trim(text, at, digits.end())
        if any(c.isdigit() for c in word.group()):
            return _trim(text, at, word.end())
        return None
    start, end = _trim(text, at, word.end())
    value = text[start:end]
    if len(value) < 6 or _IDENTIFIER.match(value) or not _looks_generated(value):
        return None
    return start, end


def find_cued(text: str) -> Iterator[Found]:
    lowered = text.lower()
    if not any(c in lowered for c in _TRIGGERS):
        return
    for match in _CUE.finditer(text):
        kind = next(k for k in ("password", "code", "key") if match.group(k))
        if kind != "code" and match["verb"].isspace() and text[match.end()] not in "\"'`":
            continue  # "password 1234..." without is/:/= is a cue for numbers only
        span = _value(text, match.end(), kind)
        if span is not None:
            yield Found(*span, _kind(kind, match.group(kind)), tail=False)
    for match in _ASSIGNED.finditer(text):
        span = _value(text, match.end(), "key")
        if span is not None:
            yield Found(*span, "password", tail=False)


def _kind(kind: str, cue: str) -> str:
    cue = cue.lower()
    if kind == "code":
        for name in ("pin", "cvv", "cvc", "ssn", "social security", "account", "routing"):
            if cue.startswith(name):
                return {"cvc": "cvv", "social security": "ssn", "routing": "account"}.get(
                    name, name
                )
        return "code"
    return "password" if kind == "password" else "key"


# cheap pre-check: a text with none of these cannot hold a cue
_TRIGGERS = (
    "pass", "pwd", "phrase", "mnemonic", "key", "combination", "pin", "cv", "cid",
    "csc", "code", "otp", "ssn", "social", "account", "routing", "card", "tax", "token",
    "secret", "credential",
)  # fmt: skip
