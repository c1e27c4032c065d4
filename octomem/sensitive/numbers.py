"""Numbers that carry a checksum, checked with python-stdnum: payment cards (Luhn, in any
spacing), IBANs (mod 97 and each country's length, compact or in groups of four), US
social security numbers (the SSA's rules), Canada's SIN right after its name, Italy's
codice fiscale and Spain's NIE (their check letters), Brazil's CPF in its dotted form;
and the UK's NI number spaced by its shape. A number that fails its check is left as it
is, so dates, prices, order and version numbers pass through."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from stdnum import iban, luhn
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.es import nie
from stdnum.it import codicefiscale
from stdnum.us import ssn

from octomem.sensitive.spans import Found

# 13-19 digits: groups of four, or the 4-6-5 / 4-6-4 grouping of Amex and Diners cards,
# each gap a space or two, a tab, or a dash, dot or underscore (Unicode's dashes too),
# spaces around it or not, one gap unlike another ("4111 - 1111 1111-1111"), or none; an
# expiry may follow ("4111...1111/12"). Numbers are ASCII here (the text is NFKC) and
# stand apart from Latin letters and digits only: Chinese and Japanese write them between
# words without spaces ("カード番号は5555...です").
_GAP = r"(?:[ \t]{0,2}[._\-\u2010-\u2015\u2212][ \t]{0,2}|[ \t]{1,2})?"
_CARD = re.compile(
    rf"(?<![A-Za-z0-9_.,/-])(?:\d{{4}}{_GAP}\d{{4}}{_GAP}\d{{4}}(?:{_GAP}\d{{1,4}}){{0,2}}"
    rf"(?:\d{{1,3}})?|\d{{4}}{_GAP}\d{{6}}{_GAP}\d{{4,5}})"
    r"(?![A-Za-z0-9_-]|[.,]\d|/(?!(?:0?[1-9]|1[0-2])(?:/\d\d(?:\d\d)?)?(?![\d/]))\d)",
    re.A,
)
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Za-z0-9])",
    re.I | re.A,
)
# Canada's SIN, grouped 3-3-3, right after "sin" or "social insurance" in any case ("my sin
# is ...", "SIN: ...")
_SIN = re.compile(r"(?<![\w.-])\d{3}(?P<s>[- ])\d{3}(?P=s)\d{3}(?![\w-]|[.,]\d)", re.A)
_SIN_CUE = re.compile(  # (right before the number: "sin dudas, llamame: 612 345 678" is none)
    r"\b(?:sin|social insurance)(?:[ \t]+(?:number|no\.?|#))?"
    r"(?:[ \t]+(?:is|was)|[ \t]*[:#=])?[ \t]*\Z",
    re.I,
)
_SSN = re.compile(
    r"(?<![A-Za-z0-9_.-])\d{3}(?P<s>[- ])\d{2}(?P=s)\d{4}(?![A-Za-z0-9_-]|[.,]\d)", re.A
)

# national ids of a shape no other number has, found by their digits (a regex that starts
# with a letter would try every letter): Italy's codice fiscale ("RSSMRA85T10A562S", six
# letters before), Spain's NIE ("X1234567L", "X-1234567-L": X, Y or Z before), Brazil's
# CPF ("529.982.247-25") and the UK's NI number spaced ("JK 48 29 61 B": two letters before)
_ID_TAIL = re.compile(  # (a digit first: sre then skips to the digits)
    r"\d(?:(?P<cf>\d[A-EHLMPRST]\d\d[A-Z]\d{3}[A-Z])|\d{6}-?[A-Z]|(?P<cpf>\d\d\.\d{3}\.\d{3}-\d\d)"
    r"|(?P<nino>\d(?: \d\d){2} [A-D]))"
    r"(?![A-Za-z0-9])",
    re.I | re.A,
)


def _ids(text: str) -> Iterator[Found]:
    for match in _ID_TAIL.finditer(text):
        start, end = match.span()
        valid: Callable[[str], bool]
        if match["nino"]:
            start -= 3
            valid = _nino
        elif match["cpf"]:
            valid = cpf.is_valid
        elif match["cf"]:
            start, valid = start - 6, codicefiscale.is_valid
        else:
            start, valid = start - 1 - (text[start - 1 : start] == "-"), nie.is_valid
        if start < 0 or (start and text[start - 1].isascii() and text[start - 1].isalnum()):
            continue
        if valid(text[start:end]):
            yield Found(start, end, "id", tail=False)


# the UK's National Insurance number: two letters of those issued, six digits in pairs, A
# to D, in capitals ("JK 48 29 61 B"); it has no check digit, so compact ("JK482961B", as a
# model number "TX123456B") it needs its cue
_NINO = re.compile(r"(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] \d")


def _nino(value: str) -> bool:
    return _NINO.match(value) is not None and value[-1] in "ABCD"


def _card(digits: str) -> bool:
    """A number of a card network's length for its issuer range, passing Luhn: this keeps
    millisecond timestamps, ISBN-13s and ids (a 15-digit id beginning 52) that pass it."""
    size, two, four = len(digits), int(digits[:2]), int(digits[:4])
    if not 13 <= size <= 19 or not luhn.is_valid(digits):
        return False
    if digits[0] == "4":  # Visa
        return size in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:  # Mastercard
        return size == 16
    if two in (34, 37):  # American Express
        return size == 15
    if digits[0] == "3":  # Diners Club 14-19, JCB 16-19
        return size >= 14
    return digits[0] in "56"  # Maestro 12-19, Discover and UnionPay 16-19


def _iban_end(text: str, start: int, end: int) -> int | None:
    """The end of the longest valid IBAN starting at `start` within [start, end): the
    regex may have taken in a word after it ("... 32 and")."""
    for stop in range(end, start + 14, -1):
        if text[stop - 1] == " ":
            continue
        if stop < len(text) and text[stop].isalnum() and stop != end:
            continue
        if iban.is_valid(text[start:stop]):
            return stop
    return None


def find_numbers(text: str) -> Iterator[Found]:
    digits = sum(map(text.count, "0123456789"))
    if digits < 6:  # every form below has 6 digits or more
        return
    yield from _ids(text)
    if digits < 9:  # and those below 9
        return
    for match in _CARD.finditer(text):
        if _card(re.sub(r"\D", "", match.group())):
            yield Found(match.start(), match.end(), "card")
    for match in _IBAN.finditer(text):
        stop = _iban_end(text, match.start(), match.end())
        if stop is not None:
            yield Found(match.start(), stop, "iban")
    for match in _SIN.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        if sin.is_valid(match.group()) and _SIN_CUE.search(before):
            yield Found(match.start(), match.end(), "id", tail=False)
    for match in _SSN.finditer(text):
        if ssn.is_valid(match.group().replace(" ", "-")):
            yield Found(match.start(), match.end(), "ssn", tail=False)
