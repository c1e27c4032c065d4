"""Secrets in the forms of configuration and SQL that name them by structure rather than by
a cue before them ("password: X" is `cues`'):

- SQL: `CREATE USER 'bob'@'%' IDENTIFIED BY 'X'`, `ALTER USER bob IDENTIFIED WITH plugin
  BY 'X'`, `GRANT ... IDENTIFIED BY 'X'`, Oracle's unquoted `CREATE USER bob IDENTIFIED BY
  X`, `SET PASSWORD FOR bob = 'X'` (or `= PASSWORD('X')`); "identified by" only after
  CREATE / ALTER USER, ROLE or LOGIN, or GRANT ... TO, in the same statement, and an
  unquoted value only where it ends the statement or its keywords are in capitals;
- XML: `<password>X</password>`, `<add key="DbPassword" value="X" />`,
  `<property name="db.password">X</property>`;
- a line of PostgreSQL's `.pgpass`: `host:5432:db:bob:X`;
- name-value pairs of Kubernetes, compose or ECS: `- name: DB_PASSWORD\n  value: X`,
  `{"name": "DB_PASSWORD", "value": "X"}`.

The name must name a secret (`keys_named.secret_key`: not `password-policy`,
`PASSWORD_MIN_LENGTH`); under a password's name any value goes, under a key's or token's
only one that looks generated (`<token>hello</token>` stays), under a PIN's or code's
only one with a digit. Every pattern reads a bounded stretch from where it can start
(no quantifier inside another), so a text costs time linear in its length whatever it
holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from octomem.sensitive.cue_words import NOT_A_VALUE, UNSET
from octomem.sensitive.cues import _IDENTIFIER, _kind, _looks_generated
from octomem.sensitive.keys_named import secret_key
from octomem.sensitive.spans import MARK, Found

_QUOTED = r"'(?P<q1>[^'\n]{1,200})'|\"(?P<q2>[^\"\n]{1,200})\""
# IDENTIFIED [WITH plugin] BY 'X' (or X unquoted, as Oracle takes it: a word), after
# CREATE / ALTER USER, ROLE or LOGIN, or GRANT ... TO, in the same statement (no ";"
# between): "the suspect was identified by 'a witness'" is no statement
_IDENTIFIED = re.compile(
    r"\b(?:(?:CREATE|ALTER)\s{1,40}(?:USER|ROLE|LOGIN)|(?P<grant>GRANT))\b[^;]{0,300}?"
    r"\b(?P<identified>IDENTIFIED)\s{1,40}(?:WITH\s{1,40}\S{1,60}\s{1,40})?(?P<by>BY)\s{1,40}"
    r"(?:(?:PASSWORD|VALUES)\s{1,40})?"
    rf"(?!RANDOM\s+PASSWORD\b)(?:{_QUOTED}|(?P<bare>[^\W_][^\s'\";,)]{{0,199}}))",
    re.I,
)
_TO = re.compile(r"\bTO\b", re.I)
# a line of PostgreSQL's .pgpass: host:port:database:user:password (a host: localhost, *
# or a dotted name or address)
_PGPASS = re.compile(
    r"^[ \t]*(?:localhost|\*|[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}):(?:\d{1,5}|\*):[\w.*-]{1,63}:"
    r"[\w.*@-]{1,63}:(?P<value>\S{1,200})(?!\S)",  # (what may follow on its line: a note)
    re.M,
)
_STATEMENT_END = re.compile(r"[ \t]*(?:;|\r?\n|$)")
# SET PASSWORD [FOR user] = 'X', = PASSWORD('X')
_SET_PASSWORD = re.compile(
    r"\bSET[ \t]+PASSWORD\b[^;=\n]{0,200}=[ \t]*(?:(?:OLD_)?PASSWORD[ \t]*\([ \t]*)?"
    rf"(?:{_QUOTED})",
    re.I,
)
# an element holding only text, its tag a secret's name (or, in its attributes, the name
# of one: <property name="db.password">X</property>)
_ELEMENT = re.compile(
    r"<(?P<tag>[A-Za-z_][\w:.-]{0,59})(?P<attributes>\s[^<>]{0,200})?>"
    r"(?:<!\[CDATA\[(?P<cdata>[^\]\n]{1,200})\]\]>|(?P<value>[^<>\n]{1,200}))</(?P=tag)\s{0,20}>"
)
_NAME_ATTRIBUTE = re.compile(r"\b(?:name|key)\s{0,20}=\s{0,20}[\"']([^\"'<>\n]{1,80})[\"']", re.I)
# .NET appSettings and the like: key="DbPassword" value="X", name="password" value="X",
# either order
_ATTRIBUTE_NAME = (
    r"\b(?:key|name)[ \t]*=[ \t]*(?:\"(?P<n1>[^\"<>\n]{1,80})\"|'(?P<n2>[^'<>\n]{1,80})')"
)
_ATTRIBUTE_VALUE = r"\bvalue[ \t]*=[ \t]*(?:\"(?P<v1>[^\"<>\n]{1,400})\"|'(?P<v2>[^'<>\n]{1,400})')"
_ATTRIBUTES = (
    re.compile(rf"{_ATTRIBUTE_NAME}\s{{1,40}}{_ATTRIBUTE_VALUE}", re.I),
    re.compile(rf"{_ATTRIBUTE_VALUE}\s{{1,40}}{_ATTRIBUTE_NAME}", re.I),
)
# Kubernetes env, compose, Helm values: "- name: DB_PASSWORD\n  value: X", either order,
# up to three comment lines between
_NAME = r"(?P<nq>[\"']?)(?P<name>[\w.-]{1,80})(?P=nq)"
_COMMENTS = r"(?:[ \t]*#[^\n]{0,200}\n){0,3}"
_YAML_PAIRS = (
    re.compile(
        rf"\bname:[ \t]*{_NAME}[ \t]*\r?\n{_COMMENTS}[ \t]*(?:-[ \t]+)?value:[ \t]*"
        r"(?P<value>\S[^\n]{0,399})"
    ),
    re.compile(
        rf"\bvalue:[ \t]*(?P<value>\S[^\n]{{0,399}})\n{_COMMENTS}[ \t]*(?:-[ \t]+)?name:[ \t]*"
        rf"{_NAME}[ \t]*(?:\r?\n|$)"
    ),
)
# the same in JSON: {"name": "DB_PASSWORD", "value": "X"} (ECS, Kubernetes' JSON), either order
_JSON_STRING = r"\"(?P<{}>(?:[^\"\\\n]|\\.){{1,400}})\""
_JSON_NAME = r"\"(?:name|key|parameterkey)\"\s{0,20}:\s{0,20}" + _JSON_STRING.format("name")
_JSON_VALUE = r"\"(?:value|parametervalue)\"\s{0,20}:\s{0,20}" + _JSON_STRING.format("value")
_JSON_PAIRS = (
    re.compile(rf"{_JSON_NAME}\s{{0,20}},\s{{0,20}}{_JSON_VALUE}", re.I),
    re.compile(rf"{_JSON_VALUE}\s{{0,20}},\s{{0,20}}{_JSON_NAME}", re.I),
)
# a value that stands for one given elsewhere: ${DB_PASSWORD}, $(DB_PASSWORD), $PW,
# {{ .Values.pw }}, %(pw)s, %s, #{pw}, <password>
_PLACEHOLDER = re.compile(r"\$[{(]|\$[A-Z_][A-Z0-9_]*$|\{\{|%\(|%s$|#\{|<[^<>]*>$")
# a secret's name that holds a password (any value), or a PIN or code (one with a digit)
_PASSWORD_NAME = re.compile(r"pass|pwd|(?<![a-z])pw(?![a-z])|kennw|mdp|contrase|парол", re.I)
_CODE_NAME = re.compile(r"pin|cvv|cvc|ssn|otp|iban|card|account|routing|tax", re.I)
_YAML_COMMENT = re.compile(r"\s+#.*$")


def find_config(text: str) -> Iterator[Found]:
    lowered = text.lower()
    if "identified" in lowered:
        for match in _IDENTIFIED.finditer(text):
            if match["grant"] and _TO.search(text, match.end("grant"), match.start("by")) is None:
                continue  # "grant them access, identified by ...": no grantee
            if match["bare"] and (
                match["bare"].lower() in NOT_A_VALUE
                or not (
                    match["identified"].isupper() or _STATEMENT_END.match(text, match.end("bare"))
                )
            ):
                continue  # "... identified by their badge", "... by wristbands at the door"
            yield from _password(text, match, ("q1", "q2", "bare"))
    if "password" in lowered and "set" in lowered:
        for match in _SET_PASSWORD.finditer(text):
            yield from _password(text, match, ("q1", "q2"))
    if "</" in text:
        for match in _ELEMENT.finditer(text):
            names = [match["tag"]]
            if match["attributes"]:
                names += _NAME_ATTRIBUTE.findall(match["attributes"])
            group = "cdata" if match["cdata"] is not None else "value"
            found = _named_value(text, names, *match.span(group))
            if found is not None:
                yield found
    if ":" in text:
        for match in _PGPASS.finditer(text):
            yield from _password(text, match, ("value",))
    if "value" not in lowered:
        return
    for regex in _ATTRIBUTES:
        for match in regex.finditer(text):
            group = "v1" if match["v1"] is not None else "v2"
            found = _named_value(text, [match["n1"] or match["n2"]], *match.span(group))
            if found is not None:
                yield found
    if "name" in lowered:
        for regex in _YAML_PAIRS:
            for match in regex.finditer(text):
                found = _named_value(text, [match["name"]], *_yaml_value(text, match))
                if found is not None:
                    yield found
    if '"' in text:
        for regex in _JSON_PAIRS:
            for match in regex.finditer(text):
                found = _named_value(text, [match["name"]], *match.span("value"))
                if found is not None:
                    yield found


def _password(text: str, match: re.Match[str], groups: tuple[str, ...]) -> Iterator[Found]:
    group = next(g for g in groups if match[g] is not None)
    value = match[group]
    if not _PLACEHOLDER.match(value) and not value.startswith((":", "?", "&", MARK)):
        yield Found(*match.span(group), "password", tail=False)  # (":pw", "?": bound later)


def _yaml_value(text: str, match: re.Match[str]) -> tuple[int, int]:
    """The span of a YAML value: the rest of its line but a comment, inside its quotes."""
    start, end = match.span("value")
    line = text[start:end]
    if line[:1] in "\"'" and (close := line.find(line[0], 1)) > 0:
        return start + 1, start + close
    comment = _YAML_COMMENT.search(line)
    return start, end if comment is None else start + comment.start()


def _named_value(text: str, names: list[str], start: int, end: int) -> Found | None:
    """The value text[start:end] (stripped) held under the first of `names` that names a
    secret, if it may be one: a password's anything but a placeholder or a word that
    names no value; a code's, with a digit; a key's or token's, one token that looks
    generated."""
    name = next((n for n in names if secret_key(n)), None)
    if name is None:
        return None
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    value = text[start:end]
    if (
        not value
        or value.lower() in UNSET
        or value.lower() in NOT_A_VALUE
        or value.startswith(MARK)
        or _PLACEHOLDER.match(value)
    ):
        return None
    if _PASSWORD_NAME.search(name):
        return Found(start, end, "password", tail=False)
    if _CODE_NAME.search(name):
        if not any(c.isdigit() for c in value):
            return None
        return Found(start, end, _kind("code", re.sub(r"[\W_]+", " ", name)), tail=False)
    if (
        len(value) < 6
        or any(c.isspace() for c in value)  # "<secret>The answer is 42</secret>"
        or _IDENTIFIER.match(value)
        or not _looks_generated(value)
    ):
        return None
    return Found(start, end, "key", tail=False)
