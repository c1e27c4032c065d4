"""Keys, tokens and credentials recognised by their shape: vendor key formats (the
regexes of detect-secrets' plugins, plus formats it lacks), JWTs, private key blocks,
passwords in URLs, in `curl -u user:password` and in the password flags of mysql,
sshpass, docker login and redis-cli, Bearer/Basic tokens, session cookies of Cookie and
Set-Cookie headers, and long random-looking strings.

detect-secrets' scanning API (`scan_line`, settings, filters) is built for source files
and costs far more per call; its plugins' `denylist` regexes are used directly instead,
with `finditer`, which gives the span to replace.
"""

from __future__ import annotations

import functools
import math
import re
import string
from collections import Counter
from collections.abc import Iterator

from octomem.sensitive.plugins import plugin_patterns
from octomem.sensitive.spans import MARK, Found

_OWN = (  # formats the plugins miss or match only in part, and JWTs
    r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",  # OpenAI, Anthropic
    r"\b(?:sk|pk|rk)_(?:live|test)_[0-9A-Za-z]{10,}",  # Stripe, test keys too
    r"\bwhsec_[A-Za-z0-9]{20,}",  # Stripe webhook secret
    r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}",  # GitHub, any length
    r"\bgithub_pat_[A-Za-z0-9_]{22,}",  # GitHub fine-grained
    r"\bAIza[0-9A-Za-z_-]{30,}",  # Google API key
    r"\bya29\.[0-9A-Za-z_-]{20,}",  # Google OAuth access token
    r"\bGOCSPX-[0-9A-Za-z_-]{20,}",  # Google OAuth client secret
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack, mixed case
    r"\bxapp-\d-[A-Za-z0-9-]{10,}",  # Slack app token
    r"\bhf_[A-Za-z0-9]{30,}",  # Hugging Face
    r"\bnpm_[A-Za-z0-9]{30,}",  # npm
    r"\bdop_v1_[a-f0-9]{40,}",  # DigitalOcean
    r"\bshp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}",  # Shopify
    r"\bAKIA[0-9A-Z]{16}\b",
    r"\beyJ[\w-]{5,8192}\.[\w-]{5,8192}\.[\w-]{0,1024}",  # a JWT (its claims may be long)
)


# a key is read at most this far: an unbounded repeat in a shape ("[A-Za-z0-9]{20,}",
# "(?:\d+-)+") read from every "sk-" of "sk-sk-sk-..." to the token's end costs time
# quadratic in the token
_LONGEST = 1024
_UNBOUNDED = re.compile(r"(?:(?<=[\])])|(?<=\\[dw]))(?:\{(\d+),\}|([*+]))")


def _bounded(pattern: str) -> str:
    """`pattern` with each unbounded repeat of a class, group or digit bounded by `_LONGEST`."""
    return _UNBOUNDED.sub(
        lambda m: f"{{{m[1] or ('0' if m[2] == '*' else '1')},{_LONGEST}}}", pattern
    )


@functools.cache
def _compiled_shapes() -> list[re.Pattern[str]]:
    """detect-secrets' plugins' regexes (`plugins`) and our own, compiled at first use."""
    return [re.compile(_bounded(p)) for p in (*plugin_patterns(), *_OWN)]


_CHUNK = re.compile(r"[^\s\"'`<>()\[\]{},;]{15,}")
_TOKEN_CHARS = string.ascii_letters + string.digits + "_-"
_EDGE = " \t\n\"'=:"

_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?"
    r"(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)"
    r"|PuTTY-User-Key-File-\d.*?(?:Private-MAC:\s*\S+|\Z)",
    re.DOTALL,
)
# the password runs to the last "@" before the host: an unescaped "@" inside it is its own
_URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]*:(?P<secret>[^\s/?#]+)@", re.I)
_URL_PARAM = re.compile(
    r"[?&][\w.-]*(?:token|key|secret|password|passwd|pwd|sig|signature|auth|credential)"
    r"[\w.-]*=(?P<secret>[^&\s#\"']+)",
    re.I,
)
# curl -u user:pass, curl --user "user:pass", wget --user=..., httpie -a user:pass
# (as gitleaks' curl-auth-user rule; the flag within 500 characters of the command, so a
# line of many commands costs no more per command)
_COMMAND_USER = re.compile(
    r"\b(?:curl|wget|http|https|xh)\b[^\n]{0,500}?\s(?:-u|--user|--http-user|--proxy-user|-a|--auth)(?:\s+|=)"
    r"[\"']?[^\s:\"']*:(?P<secret>[^\s\"']+)",
    re.I,
)
# a command's password flag that takes the password itself. mysql, mariadb and their tools
# (mysqldump, mariadb-dump...): only glued to -p ("mysql -p app" asks for it and opens the
# database app; -P is the port) or given to --password=; not a shell variable ("-p$PW"),
# nor a port mapping of a docker run on the same line ("--name mysql -p3306:3306")
_MYSQL_PASSWORD = re.compile(
    r"\b(?i:mysql|mariadb)[\w-]{0,12}\b[^\n|;&]{0,200}?\s(?:-p|--password=)"
    r"(?:'(?P<q1>[^'\n]{1,200})'|\"(?P<q2>[^\"\n]{1,200})\"|(?P<bare>[^\s'\"`]{1,200}))"
)
# sshpass -p X (before the command it runs: "sshpass -f file ssh -p 2222" is ssh's port);
# docker, podman... login -p X / --password X (not --password-stdin); redis-cli -a X
_TOOL_PASSWORD = re.compile(
    r"\b(?:(?i:sshpass)[ \t]+(?:-v[ \t]+)?(?:-P[ \t]*\S{1,40}[ \t]+)?(?:-v[ \t]+)?-p[ \t]*"
    r"|(?i:(?:docker|podman|nerdctl|buildah|skopeo|oras|helm(?:[ \t]+registry)?)[ \t]+login)\b"
    r"[^\n|;&]{0,200}?\s(?:-p|--password)(?:[ \t]+|=)"
    r"|(?i:redis-cli)\b[^\n|;&]{0,200}?\s(?:-a|--pass)(?:[ \t]+|=))"
    r"(?:'(?P<q1>[^'\n]{1,200})'|\"(?P<q2>[^\"\n]{1,200})\"|(?P<bare>[^\s'\"`]{1,200}))"
)
_PORTS = re.compile(r"\d+(?::\d+)+(?:/\w+)?")  # -p3306:3306, -p8080:80/tcp
_AUTH = re.compile(
    r"\b(?:Bearer|Basic|Token|Authorization:)\s+(?P<secret>[A-Za-z0-9._~+/=-]{12,})", re.I
)
# after the header's own name a token of 8 characters is one too
_AUTH_HEADER = re.compile(
    r"\bAuthorization:[ \t]*(?:Bearer|Basic|Token)[ \t]+(?P<secret>[A-Za-z0-9._~+/=-]{8,})", re.I
)
# a cookie header's (or curl -b's) pairs: name=value; name=value
_COOKIES = re.compile(r"\b(?:Set-)?Cookie:[ \t]*|\s(?:-b|--cookie)(?:[ \t]+|=)[\"']?", re.I)
_COOKIE = re.compile(r"(?P<name>[^=;,\s\"']{1,80})=(?P<value>[^;,\s\"']{1,4096})(?:;[ \t]*)?")
# a cookie that holds a session or a credential: sessionid, PHPSESSID, connect.sid, auth_token
_SESSION_COOKIE = re.compile(r"sess|(?<![a-z])sid(?![a-z])|token|auth|jwt|remember", re.I)
_NOT_A_SESSION = re.compile(r"(?:expir\w*|max-?age|timeout|ttl|length|count|type|name)$", re.I)
_RANDOM = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{32,}")


def _extend(text: str, start: int, end: int) -> tuple[int, int]:
    """The span widened to the whole token (a regex may stop short of a key's end), by at
    most `_LONGEST` characters each way."""
    before, after = text[max(0, start - _LONGEST) : start], text[end : end + _LONGEST]
    start -= len(before) - len(before.rstrip(_TOKEN_CHARS))
    return start, end + len(after) - len(after.lstrip(_TOKEN_CHARS))


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _random_token(value: str) -> bool:
    """A long string of upper- and lower-case letters and digits with high entropy (the
    threshold of detect-secrets' base64 plugin): not a word, a hash or a uuid."""
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
        and _entropy(value) > 4.5
    )


def _in_url(text: str, at: int) -> bool:
    """Whether `at` is inside a URL: paths and ids there are long and random-looking, and
    the parts of URLs that are secrets (passwords, key parameters) are found apart."""
    start = max(text.rfind(" ", 0, at), text.rfind("\n", 0, at)) + 1
    return "://" in text[start:at] or text.startswith("www.", start)


def find_keys(text: str) -> Iterator[Found]:
    if "PRIVATE KEY" in text or "PuTTY" in text:
        for match in _PRIVATE_KEY.finditer(text):
            yield Found(match.start(), match.end(), "private key")
    # every key shape is one run of 15+ characters without spaces: the shapes are only
    # tried on such runs (with the character either side), and most messages have none
    for chunk in _CHUNK.finditer(text):
        yield from _shapes(text, max(0, chunk.start() - 1), min(len(text), chunk.end() + 1))
    if "://" in text:
        for regex in (_URL_PASSWORD, _URL_PARAM):
            for match in regex.finditer(text):
                yield Found(*match.span("secret"), "password", tail=False)
    lowered = text.lower()
    if " -" in text and any(w in lowered for w in ("curl", "wget", "http", "xh")):
        for match in _COMMAND_USER.finditer(text):
            yield Found(*match.span("secret"), "password", tail=False)
    if " -" in text:
        yield from _command_passwords(text, lowered)
    if "cookie" in lowered or " -b" in text:
        yield from _cookies(text)
    if not any(w in lowered for w in ("bearer", "basic", "token", "authorization")):
        return
    for regex in (_AUTH, _AUTH_HEADER) if "authorization" in lowered else (_AUTH,):
        for match in regex.finditer(text):
            value = match["secret"]
            if any(c.isdigit() for c in value) or len(value) >= 24:
                yield Found(*match.span("secret"), "token", tail=False)


def _command_passwords(text: str, lowered: str) -> Iterator[Found]:
    """The password a command's flag gives: mysql -pX, sshpass -p X, docker login -p X,
    redis-cli -a X (`_MYSQL_PASSWORD`, `_TOOL_PASSWORD`)."""
    regexes = []
    if "mysql" in lowered or "mariadb" in lowered:
        regexes.append(_MYSQL_PASSWORD)
    if any(w in lowered for w in ("sshpass", " login", "redis-cli")):
        regexes.append(_TOOL_PASSWORD)
    for regex in regexes:
        for match in regex.finditer(text):
            group = next(g for g in ("q1", "q2", "bare") if match[g] is not None)
            value = match[group]
            if value.startswith(("$", "<", "-", MARK)) or (
                group == "bare" and _PORTS.fullmatch(value)
            ):
                continue  # a shell variable, a placeholder, the next flag, a port mapping
            yield Found(*match.span(group), "password", tail=False)


def _cookies(text: str) -> Iterator[Found]:
    """The values of the session and credential cookies of a Cookie or Set-Cookie header
    (or curl -b): "Cookie: theme=dark; sessionid=X" gives X; a value with a digit, 8
    characters or more (not "deleted"), or 20 and more."""
    at = 0
    for header in _COOKIES.finditer(text):
        if header.start() < at:
            continue  # (inside the pairs of the header before: each character read once)
        at = header.end()
        for _ in range(64):
            pair = _COOKIE.match(text, at)
            if pair is None:
                break
            name, value = pair["name"], pair["value"]
            if (
                _SESSION_COOKIE.search(name)
                and not _NOT_A_SESSION.search(name)
                and len(value) >= 8
                and (any(c.isdigit() for c in value) or len(value) >= 20)
                and not value.startswith(("$", "<", MARK))
            ):
                yield Found(*pair.span("value"), "token", tail=False)
            at = pair.end()


def _shapes(text: str, pos: int, endpos: int) -> Iterator[Found]:
    for regex in _compiled_shapes():
        for match in regex.finditer(text, pos, endpos):
            group = 1 if regex.groups and match.group(1) else 0
            start, end = match.span(group)
            while start < end and text[start] in _EDGE:
                start += 1
            while end > start and text[end - 1] in _EDGE:
                end -= 1
            yield Found(*_extend(text, start, end), "key")
    for match in _RANDOM.finditer(text, pos, endpos):
        if _random_token(match.group()) and not _in_url(text, match.start()):
            yield Found(match.start(), match.end(), "key")
