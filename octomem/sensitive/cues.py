"""Secrets named by the words around them: "my wifi password is ...", "PIN: 4821", "the
CVV is 123", "DB_PASSWORD=...", 'api key "..."', "I use ... as my password", "set my
email password to ...", "Mein Passwort ist ...", "我的密码是 ..." (the words of each
language: `cue_words`). The text is NFKC already (`normal`).

Five kinds of cue take five kinds of value:
- passwords and passphrases: everything up to the end of the clause, so a passphrase of
  several words ("correct horse battery staple") goes whole;
- PINs, CVVs, codes and numbers: one token with a digit (or digit groups: "123 456");
- lists of codes ("recovery codes: ..."): every code of the list;
- a list on the lines after a cue that ends its line with a colon or names several
  ("my passwords:\n1. X\n2. Y", "API keys\n- X\n- Y"): every item, its marker kept;
- seed phrases ("seed phrase: ..."): up to 24 words, numbered or not;
- keys, tokens and secrets: one token that looks generated (a digit, mixed case or _/-).
A value the cue only describes ("the password is on the fridge", "... is wrong") is kept.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from functools import partial

from octomem.sensitive.cue_words import (
    AS,
    CAPITAL_IDS,
    CHANGE,
    CHANGE_LOOSE,
    CHANGED_LAST,
    CJK_CODE,
    CJK_PASSWORD,
    CJK_SEED,
    CJK_VERB,
    CODE,
    CODE_LISTED,
    CODES,
    CONJUNCTION,
    FROM_LOOSE,
    HERE,
    KEY,
    KEY_LISTED,
    MY,
    NOT_A_PASSPHRASE_WORD,
    NOT_A_PASSWORD,
    NOT_A_PASSWORD_ENDINGS,
    NOT_A_VALUE,
    NOW,
    NOW_ABROAD,
    OWNER,
    PASSWORD,
    QUALIFIER,
    SEED,
    SUBJECT,
    TIME_COLON,
    TO,
    TO_LAST,
    TO_LOOSE,
    UNSET,
    USE,
    USED_FOR,
    USED_WITH,
    USED_WITH_NEXT,
    VERB,
    WHICH,
)
from octomem.sensitive.keys_named import secret_key
from octomem.sensitive.spans import MARK, Found

_KINDS = ("password", "codes", "seed", "code", "key")
_NAMED = (
    rf"(?P<password>{PASSWORD})|(?P<codes>{CODES})|(?P<seed>{SEED})|"
    rf"(?P<code>{CODE}|{CODE_LISTED})|(?P<key>{KEY}|{KEY_LISTED})"
)
# the cue words above that are cues only before a list on the lines after them
_LISTED = re.compile(rf"(?:{CODE_LISTED}|{KEY_LISTED})", re.I)
# a cue that names several: every item of a list after it is one (so is every item after
# a cue whose line ends with a colon: "password:\n- X\n- Y")
_PLURAL = re.compile(
    r".*(?:words|codes|phrases|keys|tokens|secrets|numbers|pins|contrase[ñn]as|w[öo]rter|"
    r"mots de passe|пароли)",
    re.I,
)
# the end of an HTML element around the cue: "<b>Password:</b> X", "<b>PIN</b>: 4821"
_CLOSE_TAG = r"</(?:b|strong|i|em|u|code|span|label|dt|th)>"
_FROMS = "|".join(("from", *FROM_LOOSE))
_TOS = "|".join(("to", "into", *TO_LOOSE))
_VERB = (
    r"(?P<verb>"
    rf"\s*{VERB}(?:\*{{1,3}}(?=\s)|{_CLOSE_TAG})?\s*"  # bold's end too: "**Password:** X"
    rf"|\s+(?P<to>{TO})\s+"  # "set my password to ...": checked for a change verb before
    rf"|\s+(?P<last>{TO_LAST})\s+(?=\S+\s+(?:{CHANGED_LAST})\b)"  # "Passwort auf X geändert"
    rf"|\s+(?P<from>{_FROMS})\s+(?=\S+\s+(?:{_TOS})\s)"  # "changed my password from X to
    # Y", "bytt lösenordet från X till Y", "zmieniłem hasło z X na Y"
    r"|[ \t\r]*\n\s*(?=\S)"  # a list on the next lines (codes and seed phrases only)
    r"|\s+(?=[\"'`])|\s+(?=[^\W\d_]{0,3}\d{3}|\d\d-\d\d-\d\d\b))"  # "X1234567", "20-00-00"
)
# the end of the cue's Markdown emphasis or code span, or of a quoted key: "**Password**:
# ...", "`pin`: ...", '{"pin": 4821}'
_MARKUP = rf"(?:\*{{1,3}}|`|{_CLOSE_TAG}|\\?[\"'](?=\s*:))?"
# an aside in brackets between the cue and its "is" or colon: "password (gmail): ...", or
# in quotes, three words or more: "my security question 'name of your first pet' is X"
_ASIDE = (
    r"(?:\s*\([^()\n:=\"'`\[\]]{1,40}\)"
    r"|[ \t]+['\"“‘](?=(?:[^'\"“”‘’\s]+[ \t]+){2})[^'\"“”‘’\n]{1,60}['\"”’]"  # (3 words or more)
    r"(?=[ \t]+(?:is|was)\b|[ \t]*:))?"
)
# a word of a qualifier or clause: no quote but a possessive's ("grandma's", "the kids'")
# or a French elision's ("de l'immeuble")
_WORDS = (  # (and a time's colon: "the door code at 15:30: X")
    r"(?:[^.!?,;\n:=\"'`\[]|(?<=\w)['’](?=s\b|[ \t])|(?<=\b[dlDL])['’](?=\w)"
    rf"|{TIME_COLON})"
)
# a clause between the cue and its "is": "the password I use for everything is X", "the
# password, which I never change, is X", "the wifi password here is X"; its verb says "is"
# ("the password we use to log in is X" has no "to" of a change)
_IN_COMMAS = (  # ", which I never change,", ", the blue one,", ", in case you need it:"
    rf"\s*,\s*(?:(?:{WHICH})\s+[^\s,]{_WORDS}{{0,39}}?,|the\s+[^\W\d_]{{1,20}}\s+one\s*,"
    rf"|(?:just\s+)?in\s+case(?:\s+[^\s,]{_WORDS}{{0,39}}?)?(?:,|(?=:)))"
)
# (after those two, a value must look generated: "my password, the work one, is expiring")
_AN_ASIDE = re.compile(r",\s*(?:the\s+[^\W\d_]{1,20}\s+one|(?:just\s+)?in\s+case)\b", re.I)
_RELATIVE = (
    rf"(?P<clause>\s+(?:that\s+|which\s+|(?:{SUBJECT})\s+)[^\s.!?,;:=\"'`\[]"
    rf"{_WORDS}{{0,39}}?|{_IN_COMMAS}"
    rf"|\s+(?:{HERE})|\s+(?P<abroad>{NOW_ABROAD}))"
    rf"(?!\s+(?:{TO}|{TO_LAST}|from)\s|[ \t\r]*\n|['’]s\b)"
)
# a cue word, its markup and an aside; and the first word of a qualifier after it ("for
# gmail") - the qualifier's words start after its spaces: each run of spaces is read one way
_CUE_HEAD = rf"\b(?:{_NAMED})(?:\b|(?<=\.)){_MARKUP}{_ASIDE}"  # ("passport no. X")
_QUALIFIED = rf"\s+(?:{QUALIFIER})\s+[^\s.!?,;:=\"'`\[]"
_CUE = re.compile(  # ("the password to the router, which I changed, is X")
    rf"{_CUE_HEAD}(?:{_QUALIFIED}{_WORDS}{{0,39}}?(?!['’]s\b)(?:{_IN_COMMAS})?|{_RELATIVE})?{_VERB}",
    re.I,
)
# the same with the first "'s" after a qualifier read as "is": "the password for gmail's X"
_CUE_IS = re.compile(rf"{_CUE_HEAD}{_QUALIFIED}[^.!?,;\n:=\"'`\[]{{0,39}}?(?=['’]s\b){_VERB}", re.I)
# the same without a qualifier: "set my password to X" when "to X ... card 4111..." could
# be read as a qualifier followed by a number
_CUE_PLAIN = re.compile(rf"{_CUE_HEAD}{_VERB}", re.I)
# the value before the cue: "I use X as my password", "X is my PIN"; the cue ends a clause
_CLAUSE_END = (  # (or a word that goes on: "X is my password dont tell anyone", "... lol")
    rf"(?=\s*(?:[.,;:!?)]|$)|[ \t]*\r?\n|\s+(?:{CONJUNCTION}|for|für|pour|para|для|"
    r"don['’]?t|dont|lol|haha|pls|plz)\b)"
)
_OWNED = (
    rf"(?:(?:{OWNER})\s+)?(?:[^\W\d_]+\s+){{0,2}}?(?:(?P<password>{PASSWORD})|(?P<code>{CODE}))"
    rf"{_CLAUSE_END}"
)
_ENDS_CLAUSE = re.compile(rf"\b(?:{PASSWORD}|{CODE}){_CLAUSE_END}", re.I)
_USED_AS = re.compile(
    rf"\b(?:{USE})\s+(?P<value>[\"'`][^\"'`\n]{{1,100}}[\"'`]"
    rf"|(?:(?!(?:{USE}|{AS})\b)\S+\s+){{0,5}}?(?!(?:{USE}|{AS})\b)\S+)"
    rf"\s+(?:{AS})\s+{_OWNED}",
    re.I,
)
_ADVICE = re.compile(r"\b(?:avoid|never)[ \t]+\Z", re.I)  # ... before `_USED_AS`'s verb
_IS_MY = re.compile(
    r"(?<!\S)(?P<value>[\"'`][^\"'`\n]{1,100}[\"'`]|\S+)\s+"
    rf"(?:is|was|ist|war|est|était|es|era|это|—|–)\s+{_OWNED}",
    re.I,
)
# ... or "that's my PIN" after it: "8362, that's my pin", "Bramble55 - that's the password"
# (a password there only where it looks generated: "Thanks, that's the password")
_THATS_MY = re.compile(
    r"(?<!\S)(?P<value>[\"'`][^\"'`\n]{1,100}[\"'`]|[^\s,]+)[ \t]*[,–—-]?[ \t]*"
    rf"(?:that['’]?s|thats|that\s+is|it['’]?s)\s+{_OWNED}",
    re.I,
)
_JUDGED = frozenset("correct right fine ok okay good bad accepted rejected working".split())
# a number, a time or an amount after "? it's": "it's 2024", "it's 10am", "Here: 3 steps"
_A_TIME = re.compile(r"\d+(?:[ap]m|h|hrs?|min|st|nd|rd|th|s|%)?", re.I)
# the national ids' cues that are also other words or abbreviations (CPR, a nursing BSN, a
# pension's CPF): their values have 6 digits or more
_NATIONAL_IDS = frozenset(
    {*(name.lower() for name in CAPITAL_IDS), *"bsn cpf pesel nric hkid dni curp".split()}
)
# a lock's number without "code": "the padlock is 0519", "the gate's 1928", and a plain
# "the code is 5516" - four to eight digits that end the clause (`_lock_numbers`)
_A_YEAR = r"(?:19|20)\d\d"
_CODIGOS = ("código", "codigo")  # "o código é 582019", "el código es 4821"
# "the code" in one word (Swedish, Norwegian, Danish; Finnish has no article): "koden är 3948"
_DEFINITE = ("koden", "koodi")
# ... and Dutch "de code is 8375": a code that opens something only where a word of a lock,
# a door or a key comes before it ("nyckeln ligger i boxen, koden är 3948"; not "Felet säger
# att koden är 5003", "Kurssin koodi on 4471", "Welke postcode? De code is 3511")
_DUTCH_OWNERS = frozenset({"de", "het", "mijn", "onze"})
_LOCK_WORD = re.compile(
    r"\b(?:dörr|dør|porten|portti|grind|box|boks|ovi|deur|poort|hek)"  # (not "Xbox", "kovin")
    r"|nyckel|nøgle|nøkkel|skåp|skab|larm|lås|avain|lukko|lukon|hälytys|sleutel|kastje|kluis",
    re.I,
)
_LOCKS = (
    "key box",
    *"code padlock lockbox keybox keypad gate garage door buzzer intercom safe locker".split(),
    *_CODIGOS,
    *_DEFINITE,
)
_CODES = ("code", *_CODIGOS, *_DEFINITE)  # (a code's: "123-456" too)
_YEARLESS = (*_CODIGOS, *_DEFINITE)  # a year is no value of theirs: "el código es 2024"
_KEYPADS = frozenset({"keypad", "lockbox", "keybox", "key box", "padlock", "buzzer", "intercom"})
# the rooms (and bags) a lock may be in: "the hotel room safe", "I set the safe in the closet
# to 1593", "my luggage padlock"
_ROOMS = (
    "room|bedroom|closet|wardrobe|office|study|hallway|kitchen|basement|attic|garage|shed|"
    "cabin|villa|apartment|flat|house|hotel|cupboard|car|boat|suite|luggage|suitcase|bike|gym"
)
_LOCK_OWNER = re.compile(
    r"(?:\b(?P<owner>the|my|our|your|his|her|their|o|el|mi|meu|minha|tu|su|seu|sua|de|het|mijn|"
    r"onze)[ \t]+"
    r"(?:(?:front|back|side)[ \t]+)?|^[ \t]*)"  # (or a line's first words: "Telegram code: X")
    r"(?:(?P<part>(?:door|gate|garage)[ \t]+)"
    r"|(?P<brand>(?:(?-i:[A-Z])[\w&'’.-]{1,20}[ \t]+){1,2})"
    rf"|(?P<room>(?:(?:{_ROOMS})[ \t]+){{1,2}}))?\Z",  # (a safe's: `_owned`)
    re.I | re.M,
)
# a service's one-time code as its text message reads: "Your Uber code is 6142", "834221 is
# your Instagram code", "Telegram code: 70915\nDo not give this code to anyone" - one or two
# capitalised words after "your" (or first on the line, before words of such a message)
# that name no public code
_NOT_A_BRAND = frozenset(
    "zip postal post area country dialing dialling calling promo promotional discount coupon "
    "voucher gift referral invite invitation error status exit product course class tax dress "
    "morse source qr bar colour color hex style airport flight booking reservation order "
    "tracking shipping item part model stock zone time region language iso currency swift bic "
    "department employee customer member membership cheat the plu ral pantone cpt hs hts sic "
    "naics fips mcc un unicode ascii sqlstate sql mysql http dewey isbn ean upc sku duns std "
    "obd hcpcs icd lego pokemon module unit subject exam centre center school branch store "
    "site project budget gl job fault reference ref room game event vendor batch lot date "
    "paint station tariff penal return cost revenue python java go javascript fire bonus "
    "offer deal rebate savings catalog conference stop procedure expense cohort warning "
    "payroll shelf team parking wifi bank class quiz fault".split()
)
# the words of a code's message after it: "Do not give this code to anyone", "expires in"
_A_CODE_MESSAGE = re.compile(
    r"\b(?:share|give|tell|send)\b[^.\n]{0,30}\bcode\b|(?:\bnever|\bnot|n['’]t)[ \t]+share\b"
    r"|\bexpires?[ \t]+in\b|\bone-time\b|\bverification\b|\bto[ \t]+(?:log|sign)[ \t]*in\b",
    re.I,
)
_IS_YOUR_CODE = re.compile(
    rf"(?<![\w-])(?<![^\W\d_][ \t])(?!{_A_YEAR}\b)"  # (not "Row 1234 is your code")
    r"(?P<value>\d{4,8}|\d{3}[- ]\d{3})[ \t]+is[ \t]+your[ \t]+"
    r"(?P<brand>(?:(?-i:[A-Z])[\w&'’.-]{1,20}[ \t]+){0,2})code\Z",
    re.I,
)
# a lock set to a number: "I set the hotel room safe to 1593", "changed our padlock to 4-7-1-9"
# (not a keypad's or a locker's: "programmed the keypad to 9600", "changed my locker to 1142";
# nor a round number: "I set the safe to 4500 btw, that's the budget")
_SETTABLE = frozenset({"safe", "padlock", "lockbox", "keybox", "key box"})
_SET_THE = re.compile(
    r"\b(?:set|reset|change[ds]?|changing|setting|program(?:med)?)[ \t]+"
    r"(?:the|my|our|your|his|her|their)[ \t]+(?:(?!of\b)[^\W\d_]+[ \t]+){0,2}\Z",
    re.I,
)
# what may follow a lock's number: the end of a clause, a dash, "and", "lol"...
_NUMBER_END = (
    r"(?=[ \t]*(?:[.,;!?)\]]|$)|[ \t]+[-–—](?:[ \t]|$)"
    r"|[ \t]+(?:and|but|so|then|btw|now|lol|haha|pls|plz|never|don['’]?t|dont"
    r"|och|og|men|ja|mutta|maar)\b)"  # ("koodi on 4170 ja avain on ylimmässä lokerossa")
)
_SINCE = r"[ \t]+(?:since|until|till)\b"  # a value's time after it: "X since May"
# ... or "the safe is now set to 4471", "Padlock changed to 8830" (`_SET_BY`: the words
# between the lock and its "to"); "I set the safe in the closet to 1593" (a room between)
_IN_ROOM = (
    r"(?:[ \t]+(?:in|at|on)[ \t]+(?:the|my|our|your|his|her|their)"
    rf"(?:[ \t]+(?:{_ROOMS})){{1,2}})?"
)
_SET_TO = re.compile(
    rf"{_IN_ROOM}"
    rf"[ \t]+(?:code[ \t]+)?to[ \t]+(?!{_A_YEAR}\b|\d\d00\b)(?P<value>\d{{4,8}}|\d(?:-\d){{3,7}})"
    + _NUMBER_END,
    re.I | re.M,
)
# a word before the lock's owner that makes it no owner's: "the price of the safe is 1299",
# (of a lock set to a number, any preposition: "the delivery for our safe is now set to 1630")
_OF = re.compile(r"\bof[ \t]+\Z", re.I)
_SENTENCE_START = re.compile(r"(?:^|[.!?])[ \t]*\Z", re.M)  # "... Padlock changed to 8830"
_BEFORE_SET = re.compile(r"\b(?:of|for|on|to|at|from|with|about|in)[ \t]+\Z", re.I)
_SET_BY = re.compile(  # ("the safe in our room is set to 5820")
    rf"{_IN_ROOM}(?:['’]s|[ \t]+(?:is|was|got|ha[sd]))?(?:[ \t]+(?:{NOW}|since))?(?:[ \t]+been)?"
    r"[ \t]+(?:re)?(?:set|changed|programmed)(?=[ \t]+(?:code[ \t]+)?to[ \t])",
    re.I,
)
_LOCK_NUMBER = re.compile(
    r"(?P<what>[ \t]+(?:from|to|for|of|on|at|in)[ \t]+[^.!?,;:=\n]{1,40}?"  # "the code to get in"
    r"|(?P<sender>[ \t]+[^\W\d_]{1,40}[ \t]+(?:just[ \t]+)?(?:sent|texted|emailed|gave)"
    r"(?:[ \t]+(?:me|us))?))?"  # "the code Chase texted me is X" (a code's only)
    r"(?:['’]s|[ \t]+(?:is|was|has[ \t]+been|é|es|era|foi|är|er|on)(?:[ \t]*:|[ \t]+now)?"
    r"|[ \t]*[:=?])[ \t]+"
    r"(?:it['’]?s[ \t]+)?[\"'“‘]?(?P<value>\d{4,8}|\d{3}[- ]\d{3}|(?P<short>\d{3}))"
    r"#?[\"'”’]?"
    rf"(?:{_NUMBER_END}|(?P<since>(?={_SINCE})))",  # a code's: "has been 4471 since May"
    re.I | re.M,
)
_CJK_CUE = re.compile(
    rf"(?:(?P<password>{CJK_PASSWORD})|(?P<seed>{CJK_SEED})|(?P<code>{CJK_CODE}))"
    rf"(?P<verb>{CJK_VERB})",
    re.I,
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")
_CJK_VALUE = re.compile(r"[「『\"'`]([^」』\"'`\n]{1,200})[」』\"'`]|[!-~]+")
_CHANGE = re.compile(CHANGE, re.I)
_CHANGE_LOOSE = re.compile(CHANGE_LOOSE, re.I)
_CYRILLIC = re.compile("[\u0400-\u04ff]")
# env-style names: DB_PASSWORD=..., MYSQL_ROOT_PASSWORD=..., stripe-secret-key: ...,
# "api_key": "..." (a password's name takes a password: "DB_PASSWORD=sunshine")
_ASSIGNED = re.compile(
    r"\b(?:[A-Za-z0-9]+[_.-]){0,4}[A-Za-z0-9]*(?:pass(?:word|wd|phrase|wort)|pwd|pw(?![a-z])|"
    r"kennwort|secret|"
    r"token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|psk|contrase[ñn]a|"
    r"mot_de_passe|парол[ьяю])"
    r"(?!s\b|s?[_-]?(?:count|usage|limit|budget|used|ids?|type)\b)"  # max_tokens=, token_count:
    r"[A-Za-z0-9_.-]{0,60}(?:\\?[\"'])?\s*[:=]\s*",  # JSON in a string too: \"password\": \"X\"
    re.I,
)
_REFERENCE = re.compile(r"[\"']?\$(?:[({]|[A-Z_][A-Z0-9_]*(?![^\s\"'`;]))")
_PASSWORD_NAME = re.compile(r"pass(?:word|wd|wort)|pwd", re.I)
_NAME = re.compile(r"[A-Za-z0-9_.-]*")
_NOT_SET = NOT_A_VALUE | UNSET
_QUOTED = re.compile(
    r"\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'|`([^`\n]{1,200})`|\\\"([^\"\\\n]{1,200})\\\""
)
# a passphrase ends at the end of the sentence or clause, or after 200 characters (each
# cue reads at most that far: a text of cues without a clause end costs no more per cue)
_CLAUSE = re.compile(
    r"\S.{0,200}?(?=[.!?;,]?(?:\s*$|[.!?;,](?:\s|$)|\s+(?:" + CONJUNCTION + r")\b|\s*[()\n]))"
    r"|\S.{0,200}\S*",
    re.I,
)
_TOKEN = re.compile(r"[^\s\"'`,;()<>\[\]]+")
# (4 characters or more, a letter or digit among them: not "(B7)", "(!!!)")
_A_HASH = re.compile(  # how a password is kept, not what it is
    r"(?:sha-?(?:1|224|256|384|512|3)|md5|aes-?\d+|rsa|bcrypt|scrypt|argon2(?:id|i|d)?|pbkdf2)"
    r"(?:-\d+)?$",
    re.I,
)
_BRACKETED = re.compile(r"\((?=[^\s()]*[^\W_])([^\s()]{4,100})\)")
# a value in Markdown bold or italics: "**Zq9xT!pw7**", "*Small Gift*"
_EMPHASIS = re.compile(r"(\*{1,3})(\S(?:[^*\n]{0,198}\S)?)\1(?![*\w])")
_IDENTIFIER = re.compile(r"[A-Za-z]+(?:[_.][A-Za-z]+)+$")  # api_key=api_key, ENV_VAR_NAME
_DIGITS = re.compile(r"\d[\d -]{0,30}\d|\d")
_GROUPED = re.compile(r"\d{3,4}(?:[ -]\d{3,4})+")  # a code in groups: "482 913"
_GROUPED_END = re.compile(rf"{_NUMBER_END}|{_SINCE}|[ \t]+(?:valid|ważny|wazny)\b", re.I | re.M)
# ... "has been X since May", "had been X until we moved": X alone, where it looks like a
# password: 6 characters or more with a digit and a small letter or a symbol, no slash or
# plus, a dash only between parts that each hold a digit ("7fK2-9xLp-Q3mZ since"; not "has
# been auto-filled since", "SHA256-hashed before", "16+ since", "iOS17")
_BEFORE_A_TIME = re.compile(
    r"(?:(?=\S*\d)(?=\S*[a-z!@$%&*?])[^\s/+-]{6,}|\d{8,}"  # (or 8 digits: "has been 83920174",
    r"|(?=\S*[a-z])[^\W_]*\d[^\W_]*(?:-[^\W_]*\d[^\W_]*)+)"  # a digit in each of its parts)
    rf"(?={_SINCE}|[ \t]+(?:for|before|ever)\b)"
)
# the number or bullet of a list item that starts the line after a cue: "password:\n3. X",
# "pin is:\n  - 4821", "api key:\n• X" give X, not the item's "3" or "-"
_ITEM_MARKER = re.compile(r"(?:\(?\d{1,2}[.)]|[-*+•‣◦▪●○–])[ \t]+(?=\S)")
# a list of codes: "1234-5678, 2345-6789 and 3456-7890", one per line, numbered or not
_LIST_ITEM = re.compile(r"(?:\d{1,2}[.)]\s+|[-*•]\s*)?([A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)")
_LIST_SEP = re.compile(r"\s*[,;]?\s*(?:(?:and|und|et|y|и)\s+)?")
# a seed phrase: words, numbered or not, separated by spaces, commas or line breaks
_SEED_WORD = re.compile(r"(?:\d{1,2}[.):]\s*)?([^\W\d_]+)")
_SEED_SEP = re.compile(r"[ \t]*[,;]?\s*")
_NOT_A_SEED_WORD = frozenset(
    "a an and are as at be but by for from i if in is it its my no not of on or our so "
    "the their to was we were which while with your".split()
)
_MAX_SEED_WORDS, _MAX_CODES = 24, 32
_MIN_SEED_WORDS = 12  # of a seed phrase given without "is" or a colon, or after "12 words"
_WORD_COUNT = re.compile(r"(?:12|24)[- ]words$", re.I)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while end > start and text[end - 1] in ".,;:!?)\"'`":
        end -= 1
    return start, end


def _looks_generated(value: str, symbols: str = "_-+/=$#@%&*!") -> bool:
    return (
        any(c.isdigit() for c in value)
        or (any(c.isupper() for c in value[1:]) and any(c.islower() for c in value))
        or any(c in symbols for c in value)
    )


def _codes(text: str, at: int, stop: int) -> int | None:
    """The end of a list of codes that starts at `at` (each with a digit), before `stop`."""
    end = None
    for _ in range(_MAX_CODES):
        item = _LIST_ITEM.match(text, at, stop)
        if item is None or not any(c.isdigit() for c in item.group(1)):
            break
        end = at = item.end()
        at = _LIST_SEP.match(text, at, stop).end()  # type: ignore[union-attr]
        if at == end:
            break
    return end


def _seed(text: str, at: int, stop: int | None = None) -> int | None:
    """The end of a seed phrase that starts at `at`: up to 24 words, numbered or not."""
    stop = len(text) if stop is None else stop
    end, lower = None, None
    for _ in range(_MAX_SEED_WORDS):
        word = _SEED_WORD.match(text, at, stop)
        if word is None or word.group(1).lower() in _NOT_A_SEED_WORD:
            break
        if lower is None:
            lower = word.group(1).islower()
        elif lower and not word.group(1).islower():
            break  # a capital after lower-case words: the next sentence
        end = word.end()
        at = _SEED_SEP.match(text, end, stop).end()  # type: ignore[union-attr]
        if at == end:
            break
    return end


# a length, not a value: "the PIN is 4 digits", "16 characters long", "4-stellig", "4桁"
_TIME = r"\d{1,2}:[0-5]\d(?::[0-5]\d)?(?!\w|:\d)"  # "15:30", "9:45:00"
_MEASURE = re.compile(
    r"\d{1,3}\+?(?:[ \t]+(?:or|to)[ \t]+\d{1,3})?(?:[ \t]*[-–][ \t]*|[ \t]+)?"
    r"(?:digits?|characters?|chars?|letters?|numbers?|symbols?|words?|long|stellig\w*|zeichen|"
    r"ziffern|caract[eè]res|chiffres|d[ií]gitos|caracteres|символ\w*|цифр\w*|знак\w*|"
    r"cifre|caratteri|tekens|cijfers|tecken|siffror|znak\w*|cyfr\w*)\b"
    r"|\d{1,3}[ \t]*(?:桁|位)"
    rf"|{_TIME}",  # a time of day: "Kod do drzwi: 15:30"
    re.I,
)


_PATH = re.compile(r"(?:~|\.{1,2})?/[^/\s]+/")
_YEAR = re.compile(_A_YEAR)


def _a_grouped_code(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is a code in groups of digits ("Kod blik to 482 913") that
    ends its clause: not years ("2024 2025"), a length or a count ("150 200 cm")."""
    return (
        _GROUPED.fullmatch(text, start, end) is not None
        and _GROUPED_END.match(text, end) is not None
        and not all(_YEAR.fullmatch(group) for group in re.split("[ -]", text[start:end]))
    )


# a cue that may name no value: a time in its qualifier ("Door code at 15:30: 20 minutes
# late", "The password after 3 attempts is temporarily locked"), a service or wifi after a
# French one ("Le mot de passe Apple est obligatoire")
_UNSURE = re.compile(
    rf"(?<!\d){_TIME}|\b(?:until|till|after|before|since)[ \t]+\d"
    r"|(?:passe|mdp)[ \t]+(?:(?-i:[A-Z])|wi-?fi)",
    re.I,
)


def _value(text: str, at: int, stop: int | None = None, *, kind: str) -> tuple[int, int] | None:
    """The value a cue of `kind` gives at `at`, if it gives one (before `stop`: the end
    of a list item's line); in Markdown emphasis, what is inside it ("**Small Gift**:
    ..." after "Token:**" is no key)."""
    stop = len(text) if stop is None else stop
    if (emphasis := _EMPHASIS.match(text, at, stop)) is not None:
        at, stop = emphasis.span(2)
    quoted = _QUOTED.match(text, at, stop)
    if quoted:
        group = next(g for g in (1, 2, 3, 4) if quoted.group(g) is not None)
        inside = quoted.group(group)
        if kind in ("code", "codes") and not any(c.isdigit() for c in inside):
            return None
        if kind == "key" and _IDENTIFIER.match(inside):
            return None
        return quoted.span(group)
    if text.startswith(MARK, at) or _MEASURE.match(text, at, stop):
        return None
    bracketed = _BRACKETED.match(text, at, stop)  # "my pin is (4096) btw": what is inside
    if (
        bracketed
        and bracketed[1].lower() not in NOT_A_VALUE
        and _looks_generated(bracketed[1])
        and not _A_HASH.match(bracketed[1])  # "the password is (SHA256) hashed"
    ):
        at, stop = bracketed.span(1)
    word = _TOKEN.match(text, at, stop)
    if word is None or word.group().lower().strip(".,!?") in NOT_A_VALUE:
        return None
    if _PATH.match(word.group()) or "://" in word.group():
        return None  # "pwd: /home/bob": a directory; a link
    if kind == "password":
        clause = _CLAUSE.match(text, at, stop)
        end = clause.end() if clause else word.end()
        span = _trim(text, at, max(end, word.end()))
        # a judgement that ends the clause: "my password is correct but it fails"
        return None if text[slice(*span)].lower() in _JUDGED else span
    if kind in ("seed", "codes"):
        last = (_seed if kind == "seed" else _codes)(text, at, stop)
        return None if last is None else (at, last)
    if kind == "code":
        digits = _DIGITS.match(text, at, stop)
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


def _named(match: re.Match[str]) -> tuple[str, str]:
    kind = next(k for k in _KINDS if match.groupdict().get(k))
    return kind, match.group(kind)


# exclamation marks after a password, which may be its own: "my password is Summer2024!"
_BANGS = re.compile(r"!+(?=[\s\"'`)\].,;:?]|$)")


def find_cued(text: str) -> Iterator[Found]:
    """The values the cues in `text` give; a password with the "!"s that end its word."""
    for found in _cued(text):
        if (
            found.kind == "password"
            and text[found.end - 1] not in ".!?"
            and (bangs := _BANGS.match(text, found.end)) is not None
        ):
            found = Found(found.start, bangs.end(), found.kind, found.tail)
        yield found


def _cued(text: str) -> Iterator[Found]:
    lowered = text.lower()
    # "İ" lowers to two characters, which would move the offsets
    hits = _TRIGGER.finditer(lowered) if len(lowered) == len(text) else _ANY_CASE.finditer(text)
    hits = itertools.chain(hits, _acronyms(text))
    # every cue holds one of the trigger words within its first 40 characters: the cue
    # regexes are tried only at the starts of the words just before one (a regex of
    # alternatives searched over the whole text costs far more)
    starts: set[int] = set()
    for hit in hits:
        at = max(0, hit.start() - 40)
        starts.update(m.start() for m in _WORD_START.finditer(text, at, hit.start() + 1))
    read: set[int] = set()  # the lines read as items of a list after a cue (`_items`)
    for start in sorted(starts):
        yield from _forward(text, start, read)
        yield from _bare(text, start, read)
        yield from _backward(text, start)
        assigned = _ASSIGNED.match(text, start)
        if assigned is not None:
            span = _assigned_value(text, assigned)
            if span is not None:
                yield Found(*span, "password", tail=False)
    yield from _lock_numbers(text, lowered)
    yield from _pairs(text)
    if not text.isascii() and _CJK.search(text):
        yield from _cjk(text, read)


def _lock_numbers(text: str, lowered: str) -> Iterator[Found]:
    """`_LOCK_NUMBER` after each lock's name that an owner word comes before (the names
    found with `str.find`: a regex of them searched over the whole text costs far more)."""
    if len(lowered) != len(text):  # "İ" lowers to two characters
        lowered = "".join(c if len(c.lower()) > 1 else c.lower() for c in text)
    for name in _LOCKS:
        at = lowered.find(name)
        while at >= 0:
            end = at + len(name)
            if at == 0 or not lowered[at - 1].isalnum():
                yield from _lock_number(text, at, name)
            at = lowered.find(name, end)


def _lock_number(text: str, at: int, name: str) -> Iterator[Found]:
    """The number of the lock `name` at `at` (`_LOCK_NUMBER`), or of "123456 is your code"."""
    end = at + len(name)
    if (
        (number := _LOCK_NUMBER.match(text, end)) is not None
        and (name == "code" or not number["sender"])  # ("the safe Dad gave us")
        and (number["value"].isdigit() or name in _CODES)  # ("my locker is 312-314")
        and (not number["short"] or name == "padlock")  # a padlock's of 3: "the padlock is 725"
        # before "since": a code's right after its name (not "The safe was 1875 until
        # Friday", "the code on the bus stop has been 50213 since")
        and (number["since"] is None or (name in _CODES and not number["what"]))
        and not (  # not a year: "es 2024", "the code was 2023 until"
            (name in _YEARLESS or number["since"] is not None) and _YEAR.fullmatch(number["value"])
        )
        and (
            (name in _DEFINITE and _a_lock_before(text, at))  # ("koden är 3948": no owner)
            or (
                (owner := _LOCK_OWNER.search(text, max(0, at - 40), at)) is not None
                and _owned(text, owner, name, end)
                and not _just_before(_OF, text, owner.start())
            )
        )
    ):
        yield Found(*number.span("value"), _kind("code", name), tail=False)
    elif (
        name == "code"
        and _ENDED.match(text, end)
        and (mine := _ending_at(_IS_YOUR_CODE, text, max(0, at - 50), end)) is not None
        and _a_brand(name, mine["brand"])
    ):
        yield Found(*mine.span("value"), "code", tail=False)
    elif name in _SETTABLE and (number := _set_to(text, at, end)) is not None:
        yield Found(*number.span("value"), "code", tail=False)


def _set_to(text: str, at: int, end: int) -> re.Match[str] | None:
    """The number a lock (`_SETTABLE`) at `at` was set to: "I set the safe to 1593" (a verb
    of setting before it), "the safe is now set to 4471" (the verb after it, and "the" or
    "my" or a sentence's start before it)."""
    if _ending_at(_SET_THE, text, max(0, at - 60), at) is not None:
        return _SET_TO.match(text, end)
    passive = _SET_BY.match(text, end)
    if passive is None:
        return None
    if not _just_before(_SENTENCE_START, text, at):
        owner = _LOCK_OWNER.search(text, max(0, at - 40), at)
        if not owner or owner["part"] or owner["brand"]:
            return None
        if _just_before(_BEFORE_SET, text, owner.start()):
            return None
    return _SET_TO.match(text, passive.end())


def _a_lock_before(text: str, at: int) -> bool:
    """Whether a word of a lock, door or key (`_LOCK_WORD`) comes in the 120 characters
    before `at`."""
    return _LOCK_WORD.search(text, max(0, at - 120), at) is not None


def _just_before(regex: re.Pattern[str], text: str, at: int, width: int = 9) -> bool:
    """Whether `regex` (one ending in \\Z) matches the `width` characters before `at`: "of"
    before a lock's owner word ("the price of the safe is 1299"), a sentence's start."""
    return regex.search(text, max(0, at - width), at) is not None


def _owned(text: str, owner: re.Match[str], lock: str, end: int) -> bool:
    """Whether the words before the lock (`_LOCK_OWNER`) make its number one: "the
    padlock", "our gate"; a service's name after "your" ("Your Uber code"), or first on its
    line before the words of a code's message ("Telegram code: 70915. Do not share it")."""
    if owner["part"] is not None and lock not in _KEYPADS:
        return False  # not "my garage door is 2015"
    if owner["room"] is not None and lock not in _SETTABLE:
        return False  # "the hotel safe is 4471", not "the office door is 1140"
    if owner["brand"] is None:
        if owner["owner"] is not None and owner["owner"].lower() in _DUTCH_OWNERS:
            return lock == "code" and _a_lock_before(text, owner.start())
        return owner["owner"] is not None
    if not _a_brand(lock, owner["brand"]):
        return False
    if owner["owner"] is None:
        return _A_CODE_MESSAGE.search(text, end, end + 120) is not None
    return owner["owner"].lower() == "your"


def _a_brand(lock: str, name: str) -> bool:
    """Whether `name`, capitalised before `lock`, is a service that sends codes."""
    return lock == "code" and not _NOT_A_BRAND.intersection(name.lower().split())


def _assigned_value(text: str, assigned: re.Match[str]) -> tuple[int, int] | None:
    """The value of `DB_PASSWORD=X`: quoted, or one token that looks generated - any
    token after a password's compound name on its line ("DB_PASSWORD=sunshine"); not a
    shell's reference to one (`$DB_PASSWORD`, `"$(pass show db)"`, `${DB_PASSWORD}`)."""
    at = assigned.end()
    if _REFERENCE.match(text, at):
        return None
    span = _value(text, at, kind="key")
    name = assigned.group()
    compound = _NAME.match(name).group()  # type: ignore[union-attr]
    if (
        span is None
        and _PASSWORD_NAME.search(compound)
        and not _PASSWORD_NAME.fullmatch(compound)  # "password: X" is a cue's (`_CUE`)
        and secret_key(compound)  # not PASSWORD_MIN_LENGTH=12, PASSWORD_RESET_ENABLED=true
        and "\n" not in name
    ):
        word = _TOKEN.match(text, at)
        if word and not text.startswith(MARK, at) and word.group().lower() not in _NOT_SET:
            span = _trim(text, *word.span())
    return span


def _forward(text: str, start: int, read: set[int]) -> Iterator[Found]:
    first = _CUE.match(text, start)  # (without it, no plain one)
    given = False  # (a value given by `_CUE`: "the password for mom's ipad is X" has no "'s X")
    for regex in (_CUE, _CUE_IS, _CUE_PLAIN) if first else (_CUE_IS,):
        match = first if regex is _CUE else regex.match(text, start)
        if match is None or (given and regex is _CUE_IS):
            continue
        kind, cue = _named(match)
        if not _taken(text, match, kind, cue):
            continue
        one_word = match["last"] or match["from"]
        item = None if one_word else _item(text, match.end(), match["verb"])
        if item is None and _LISTED.fullmatch(cue):  # "PIN codes", "API keys": only before a list
            if ":" in match["verb"]:  # of labelled values: "door codes:\nfront 5592\nback 7741"
                for begin, end in _labelled(text, match.end(), kind, read):
                    yield Found(begin, end, _kind(kind, cue), tail=False)
            continue
        if one_word:  # "Passwort auf X geändert", "from X to Y": one word
            word = _TOKEN.match(text, match.end())
            spans = []
            if word and word.group().lower() not in NOT_A_VALUE:  # (no token holds a "[")
                spans = [_trim(text, *word.span())]
        elif item is None or kind == "seed":  # (a seed phrase's words: numbered or not)
            at = match.end() if item is None else item.end()
            spans = [span] if (span := _value(text, at, kind=kind)) else []
            if (
                item is None
                and _PLURAL.fullmatch(cue)
                and not match["maybe"]
                and (":" in match["verb"] or kind == "code")  # "my pins: visa 4408, amex 6619"
            ):
                spans += _labelled(text, at, kind, read)
        else:  # a list item: its line's value, and those of the other items (`_items`)
            listed = ":" in match["verb"] or _PLURAL.fullmatch(cue) is not None
            valued = partial(_labelled_item if kind in ("code", "key") else _value, text, kind=kind)
            spans = list(_items(text, item, valued, listed, read))
        if kind == "seed" and _WORD_COUNT.match(cue):
            # a cue that counts words ("in 12 words: ..."): all 12 of them
            spans = [(a, b) for a, b in spans if len(text[a:b].split()) >= _MIN_SEED_WORDS]
        if (match["to"] or "").lower() in TO_LOOSE and not _FROM_LOOSE.search(
            text, match.start(), match.start("verb") + 1
        ):  # "bytt lösenordet till Netflix": without "från X" it may say what it is for
            spans = [
                (a, b) for a, b in spans if kind == "code" or _NOT_A_SERVICE.fullmatch(text, a, b)
            ]
        if match["from"]:  # not "from 8 to 12 characters", "z czterocyfrowego na ..."
            spans = [
                (a, b)
                for a, b in spans
                if b - a >= 4 and (match["from"].lower() == "from" or _looks_generated(text[a:b]))
            ]
        if (
            match["maybe"]
            or match.groupdict().get("abroad")  # "Mein Passwort jetzt ist Pflicht"
            or match["copula"]  # "Passordet er feil"
            or _COMPOUND.match(cue)  # "Routerlösenordet är fortfarande fabriksinställt"
            or (match["to"] or "").lower() in TO_LOOSE  # "från 8 till 14 tecken"
            or _AN_ASIDE.search(text, match.start(), match.end())
            or _UNSURE.search(text, match.start(), match.start("verb"))
        ):
            # "has been", "should be": not "compromised", "at least 12"; one token
            # ("password? Mine are all too short I think" is no mixed case); a code's of 4
            # digits or more, a password's with a letter after "? it's" ("it's 2am", "2024")
            spans = [
                (a, time.end() if (time := _BEFORE_A_TIME.match(text, a, b)) else b)
                for a, b in spans
            ]
            spans = [
                (a, b)
                for a, b in spans
                if _looks_generated(text[a:b])
                and (not any(c.isspace() for c in text[a:b]) or _a_grouped_code(text, a, b))
                and (kind != "code" or _digits(text[a:b]) >= 4)
                and not (match["later"] and kind == "password" and _A_TIME.fullmatch(text, a, b))
            ]
        if _WORD_LISTLESS.match(cue):  # "Heslo: viz níže", "Heslo: alespoň 8 znaků": one word
            spans = [(a, b) for a, b in spans if _one_word(text, a, b)]
        if match["now"]:  # "the code changed, now it's X", as after "but now it's"
            spans = [(a, b) for a, b in spans if _a_new_value(text, a, b, kind)]
        if kind == "code" and cue.lower() in _NATIONAL_IDS:  # not "BSN: 120 credits"
            spans = [(a, b) for a, b in spans if _digits(text[a:b]) >= 6]
        # both readings may give one: "set my password to X... is Y"
        given = given or bool(spans) or text.startswith(MARK, match.end())  # (masked before)
        for span in spans:
            yield Found(*span, _kind(kind, cue), tail=False)
            old = _OLD_VALUE.match(text, span[1])  # "password: X (old: Y)"
            if old is not None and old["value"].lower() not in NOT_A_VALUE:
                yield Found(*old.span("value"), _kind(kind, cue), tail=False)
            if (other := _ANOTHER.match(text, span[1])) is not None:
                also = _value(text, other.end(), kind=kind)  # ("... is coming": no password)
                if also is not None and (
                    _a_new_value(text, *also, kind)
                    if other["now"]
                    else kind != "password" or _looks_generated(text[slice(*also)])
                ):
                    yield Found(*also, _kind(kind, cue), tail=False)


# what "now it's" gives that is no secret: "2.4GHz", "11pm", "2FA", "v2.0", "$4,500"
_NOT_NOW = re.compile(r"[$€£]?\d[\d.,]*(?:[^\W\d_]{1,5})?|v?\d+(?:\.\d+)+", re.I)
_ENDS_NUMBER = re.compile(rf"[\"'`”’]?(?:{_NUMBER_END})", re.I | re.M)  # ('"8812"' too)


def _a_new_value(text: str, a: int, b: int, kind: str) -> bool:
    """Whether text[a:b] after "now it's" is a secret's new value: it ends its clause (not
    "1500 residents", "WPA3 only"); a code's of 4 digits or more and not a year, a
    password's one word that looks generated and is no amount, time or version (an
    8-digit number is)."""
    value = text[a:b]
    if _ENDS_NUMBER.match(text, b) is None:
        return False
    if kind == "password":
        return (
            not any(c.isspace() for c in value)
            and _looks_generated(value)
            and (_NOT_NOW.fullmatch(value) is None or (len(value) >= 8 and value.isdigit()))
        )
    return _digits(value) >= 4 and _YEAR.fullmatch(value) is None


# the value a secret had before, in brackets after the new one: "X (old: Y)", "X (was Y)"
_OLD_VALUE = re.compile(
    r"[ \t]*\((?:old|previous|former|was|previously|before)(?:[ \t]+(?:one|password|pin|code))?"
    r"[ \t]*[:=]?[ \t]*(?P<value>[^\s()]{1,100})\)",
    re.I,
)

# another value of the same kind in the same sentence: "... was X and the new one is Y",
# "my PIN's X and my husband's is Y", "my PIN was X (until May), but now it's Y"
_ANOTHER = re.compile(  # (after a password's "!" the value's trimmed of: "X! but now it's Y")
    r"!?(?:[ \t]+(?:until|till)[ \t]+[^\W\d_]{1,20}(?:[ \t]+[^\W\d_]{1,20})?)?"
    r"(?:(?:[ \t]*[,;]|[ \t]+(?:and|but)|(?P<stop>[ \t]*[.–—]|[ \t]+-))[ \t]+"
    r"|(?P<bracket>[ \t]*[([][ \t]*))"
    r"(?:(?:and|but)[ \t]+)?"
    r"(?:(?(stop)(?!))(?:the|my|his|her|their|our)[ \t]+"  # (not after a sentence's end)
    r"(?:(?:new|old|other|second|current|previous)(?:[ \t]+one)?|[^\W\d_]{1,30}['’]s)"
    r"[ \t]+(?:is|was|are)"
    # "... now it's Y", ". Now it's Y", " - these days it's Y", ", now: Y", " (now it's Y)"
    r"|(?P<now>(?:now|these[ \t]+days|currently|today)"
    r"(?:[ \t,]+(?:it['’]?s|its|it[ \t]+is)|[ \t]*:)|it['’]?s[ \t]+now|it[ \t]+is[ \t]+now"
    # " (now Y)", " (new one is Y)", " (changed to Y)": in brackets only
    r"|(?(bracket)(?:now|new[ \t]+one[ \t]+is|(?:changed|updated|reset)[ \t]+to)|(?!))))[ \t]+",
    re.I,
)

# a label before a value in a list after a cue that names several: "netflix - ", "visa "
# (a label ends with no space, so that a run of spaces after it is read one way)
_LABEL = re.compile(r"[^\W\d_][^\d\n:=,;]{0,30}?(?<![ \t])[ \t]*(?:[-–:=][ \t]*|[ \t])(?=\S)")
_CODE_LABEL = re.compile(r"(?:[^\W\d_][^\d\n:=,;]{0,30}?(?<![ \t])[ \t]*(?:[-–:=][ \t]*)?)?(?=\d)")
_NEXT_LABEL = re.compile(r"[ \t]*(?:[,;][ \t]*(?:and[ \t]+)?|\r?\n[ \t]*)|[ \t]+and[ \t]+")


_LABELLED_DIGITS = 3  # a labelled code's: "a 1, b 2" holds none


def _digits(value: str) -> int:
    return sum(map(str.isdigit, value))


def _labelled(text: str, at: int, kind: str, read: set[int]) -> list[tuple[int, int]]:
    """The values of a list of labelled values at `at` (up to 32, on one line or a line
    each), each label kept: "visa 4408, mastercard 6619", "netflix - popcorn88\nspotify -
    Jazzhands1"; a list ends where an item is no value alone (`_an_item`)."""
    spans: list[tuple[int, int]] = []
    for _ in range(_MAX_ITEMS):
        label = (_CODE_LABEL if kind == "code" else _LABEL).match(text, at)
        if label is None:
            break
        span = _value(text, label.end(), kind=kind)
        if span is None or not _an_item(value := text[span[0] : span[1]]):
            break
        if kind == "code" and _digits(value) < _LABELLED_DIGITS:
            break  # "a 1, b 2": no code
        spans.append(span)
        gap = _NEXT_LABEL.match(text, span[1])
        if gap is None or gap.end() == span[1] or gap.end() in read:
            break  # (each item is read once, however many cues a list holds)
        read.add(gap.end())
        at = gap.end()
    return spans


def _item(text: str, at: int, gap: str) -> re.Match[str] | None:
    """The number or bullet of a list item that the value after a cue starts with (at
    `at`, after `gap`), when it is on a line of its own ("password:\n3. X", "my
    password:\n\n- X"): the value is past it."""
    return _ITEM_MARKER.match(text, at) if "\n" in gap else None


# an item of a list: its indentation, and its number or bullet
_ITEM_LINE = re.compile(rf"(?P<indent>[ \t]*)(?P<marker>{_ITEM_MARKER.pattern})")
# what may follow the value of an item that is its item's whole text: punctuation, an
# aside in brackets ("Zq9xT!pw7 (gmail)")
_WHOLE_ITEM = re.compile(r"[.,;:!?)\"'`*_~ \t]*(?:\([^()\n]{0,40}\)[.,;:!? \t]*)?(?:\n|\Z)")
_MAX_ITEMS = 32
_MAX_LINES = 2 * _MAX_ITEMS  # the lines after the first read for its other items
_DEEPER = re.compile(r"[ \t]+\S")  # (after the list's indentation) a line of an item's
# the value of a list item (at, the end of its line), if it gives one
Valued = Callable[[int, int], "tuple[int, int] | None"]


def _labelled_item(text: str, at: int, stop: int, *, kind: str) -> tuple[int, int] | None:
    """A list item's code or key, or that after its label where it ends the item ("-
    front door 5592", "- prod: sk_live_..."; a code of 3 digits or more)."""
    if (span := _value(text, at, stop, kind=kind)) is not None:
        return span
    label = (_CODE_LABEL if kind == "code" else _LABEL).match(text, at, stop)
    span = None if label is None else _value(text, label.end(), stop, kind=kind)
    if span is None or _WHOLE_ITEM.match(text, span[1]) is None:
        return None
    return span if kind != "code" or _digits(text[slice(*span)]) >= _LABELLED_DIGITS else None


def _items(
    text: str, item: re.Match[str], value: Valued, listed: bool, read: set[int]
) -> Iterator[tuple[int, int]]:
    """The value of the list item whose number or bullet is `item`, and (`listed`: its
    cue names several, or ends its line with a colon) those of the items on the lines
    right after it with the same indentation and the same kind of marker ("1.", "(2)",
    "-"...), up to 32; their markers stay. Only a list whose first item is a value and
    nothing more is read past it ("Use a manager", "Open settings." and an item that goes
    on after its value begin no list of secrets), and of its other items those whose
    value may be a secret (`_an_item`: not "the same as my gmail one").
    Lines indented deeper than the list belong to its items (up to 64 lines in all). A
    line an earlier list of the text read (`read`: where each starts) ends the list: each
    line is read once, however many cues a list holds."""
    start, lines = item.end(), 0
    indent = text[text.rfind("\n", 0, item.start()) + 1 : item.start()]
    style = _style(item.group())
    for count in range(_MAX_ITEMS):
        stop = text.find("\n", start)
        stop = len(text) if stop < 0 else stop
        span = value(start, stop)
        if span is not None and (count == 0 or _an_item(text[span[0] : span[1]])):
            yield span
        if count == 0 and (
            span is None
            or _WHOLE_ITEM.match(text, span[1]) is None
            or not _an_item(text[span[0] : span[1]])
        ):
            return  # its first item is not a value alone: no list of secrets
        while True:  # the next line at the list's indentation (one deeper is an item's)
            if not listed or stop == len(text) or lines == _MAX_LINES:
                return
            lines, at = lines + 1, stop + 1
            if not (text.startswith(indent, at) and _DEEPER.match(text, at + len(indent))):
                break
            stop = text.find("\n", at)
            stop = len(text) if stop < 0 else stop
        if at in read:
            return
        read.add(at)
        line = _ITEM_LINE.match(text, at)
        if line is None or line["indent"] != indent or _style(line["marker"]) != style:
            return
        start = line.end()


def _an_item(value: str) -> bool:
    """Whether the whole text of a list item may be a secret: one token, or one that looks
    generated among its words ("Gmail - Zq9xT!pw7"), or words of a passphrase (none a
    little word, a plural, a participle or a word that says what a password is for, as
    `_phrase` reads them: not "Use a manager", "Open settings"); after a label and a
    colon ("Work email: sunshine"), what follows it."""
    tokens = value.rsplit(":", 1)[-1].split()
    if len(tokens) <= 1 or any(_looks_generated(t.strip(".,;:!?()\"'`")) for t in tokens):
        return True
    words = [w.lower() for w in _PHRASE_WORD.findall(" ".join(tokens))]
    return all(_a_word(w) and w not in _NOT_IN_A_PHRASE for w in words)


def _style(marker: str) -> str:
    """A list marker's kind: "N." for "1." and "12.", "(N)", "-", "•"..."""
    return re.sub(r"\d+", "N", marker.strip())


# a cue's setting followed by what the secret is set to do, not by its value
_SET_TO_DO = re.compile(r"\b(?:set|changed|updated|reset|switched)\s+to\s*\Z", re.I)
_TO_DO = re.compile(
    r"(?:never[ \t]+)?(?:expire|rotate|require|renew|refresh|lock|unlock|change|reset|update|"
    r"sync|remind|prompt|ask|allow|accept|include|contain|use|be|have|time[ \t]+out)\b",
    re.I,
)


# the cue words of languages with no list of words that describe a password (`NOT_A_VALUE`)
_WORD_LISTLESS = re.compile(
    r"[^\W\d_]*-?(?:palavras?-passe|adgangskod|kodeord|passord|salasan|hesl|şifre|jelsz|κωδικ|"
    r"συνθηματ|kode|koodi)",
    re.I,
)
# a value that names a wifi's security or a second factor: "Passordet er WPA2-kryptert"
_SECURED = re.compile(r"(?:wpa[23]?|wep|2fa|mfa|aes)-[^\W\d_]", re.I)


# "from" before a Swedish, Norwegian, Danish or Polish "to": "bytt lösenordet från X till Y"
_FROM_LOOSE = re.compile(rf"\s(?:{'|'.join(FROM_LOOSE)})\s", re.I)
# ... and a password's new value after it alone: a digit or a symbol, not a service's
# compound ("bytt lösenordet till Sommar2024!", not "till PS5-kontot", "till Netflix")
_NOT_A_SERVICE = re.compile(r"(?=\S*[\d!#$%&*@?])(?!\S*-[^\W\d_]+$)\S{6,}")
# a Dutch or Nordic password word in a compound or with a possessive after it
# ("Wifilösenordet", "passordet mitt"): their lists of words that describe a password are
# thin, so what follows must look generated
_COMPOUND = re.compile(
    r"[^\W\d_]+(?=wachtwoord|l[öo]senord|passord|kodeord|adgangskod)"
    r"|(?:wachtwoord|l[öo]senord|passord|kodeord|adgangskod)\w*\s",
    re.I,
)
_CLAUSE_ENDS = re.compile(r"[ \t]*(?:[.,;!?)]|$)", re.M)


def _one_word(text: str, a: int, b: int) -> bool:
    """Whether text[a:b] is one word that names no security ("WPA2-kryptert")."""
    value = text[a:b]
    return not _SECURED.match(value) and not any(c.isspace() for c in value)


def _taken(text: str, match: re.Match[str], kind: str, cue: str) -> bool:
    """Whether the words between a cue and its value say that a value follows."""
    verb = match["verb"]
    if verb.isspace() and match.groupdict().get("clause"):
        return False  # "the code I entered 3 times": a clause's value follows "is" or ":"
    if verb.isspace():
        if "\n" in verb and kind in ("codes", "seed"):
            return True  # a list on the next lines
        if kind not in ("code", "codes") and text[match.end()] not in "\"'`":
            return False  # "password 1234..." without is/:/= is a cue for numbers only
    if match["copula"] and not _WORD_LISTLESS.match(cue):
        return False  # "er", "on", "je": a verb after those languages' own words only
    if verb.strip() == "#" and kind != "code":
        return False  # "password #1 rule": "#" before a number of a code's only
    if verb.strip() in ("—", "–") and not _CYRILLIC.search(cue):
        return False  # a dash says "is" in Russian; in English it starts an aside
    if (match["to"] or _SET_TO_DO.search(verb)) and _TO_DO.match(text, match.end()):
        return False  # "the password is now set to expire every 90 days": what it will do
    if match["to"] or match["from"]:  # "the password to ..." without "set"/"changed" before
        start = match.start()
        clause = max(text.rfind(c, max(0, start - 60), start) for c in ".!?;\n)]") + 1
        loose = (match["to"] or match["from"]).lower() in (*TO_LOOSE, *FROM_LOOSE)
        changed = _CHANGE_LOOSE if loose else _CHANGE
        return changed.search(text, max(clause, start - 60), start) is not None
    return True


# a cue followed straight by its value, without "is" or a colon: "log in with password
# hunter2", "my passcode Xk9!": one token, taken only when it looks generated
# ... also after a comma, a dash or a line break ("my password, X", "Password\nX"), and
# after one or two words that say what it opens ("my password for gmail X")
_BARE_CUE = rf"\b(?:(?P<password>{PASSWORD})|(?P<key>{KEY}|{KEY_LISTED}))\b{_MARKUP}"
# (each run of spaces read one way: "[ \t]*,?[ \t]*" would try every split of a long run)
_BARE_GAP = r"(?:(?:[ \t]*[,–—-])?[ \t]+|(?:[ \t]*,)?[ \t]*\n[ \t]*)(?=[^\s\"'`])"
_CUES_BARE = [  # (regex, whether words between say what it opens)
    # (Russian says "now" where no verb is: "Мой пароль теперь X")
    (re.compile(rf"{_BARE_CUE}(?:[ \t]{{1,3}}(?:теперь|сейчас)\b)?{_BARE_GAP}", re.I), False),
    # in brackets after it: "my password (hunter2) stopped working" - not an aside before
    # its value ("password (gmail): X")
    (
        re.compile(
            rf"{_BARE_CUE}[ \t]*\([ \t]*(?=[^\s()]{{4,100}}[ \t]*\)(?![ \t]*(?:[:=]|is\b)))",
            re.I,
        ),
        False,
    ),
    *(
        (
            re.compile(
                rf"{_BARE_CUE}[ \t]+(?:{QUALIFIER})(?:[ \t]+[^\W\d_]+){{{n}}}{_BARE_GAP}", re.I
            ),
            True,
        )
        for n in (1, 2)
    ),
    # short words taken for a cue only here: "pass: hunter22", "pass=X", "p/w X", "key Qz7..."
    (
        re.compile(
            r"\b(?P<password>pass|p/w)\b(?:\\?[\"'])?(?:[ \t]*[:=])?[ \t]*(?:\\?[\"'])?"
            r"(?<=[\s:=\"'])(?=[^\s\"'`])",
            re.I,
        ),
        False,
    ),
    (re.compile(r"\b(?P<key>(?:ssh )?key)\b[ \t]+(?=[^\s\"'`])", re.I), False),
    # "wifi is coconut99", "wifi: Kq7mm!x" (not a standard or a speed: `_NETWORK_SPEC`)
    (
        re.compile(r"\b(?P<password>wi-?fi|wlan)(?:[ \t]*[:=]|[ \t]+is)[ \t]+(?=[^\s\"'`])", re.I),
        False,
    ),
    # "my pass is m4rgarita" (one's own: "the pass is 5 km away" names a mountain's)
    (re.compile(r"(?<=\bmy )(?P<password>pass)[ \t]+is[ \t]+(?=[^\s\"'`])", re.I), False),
]
# the cue word alone, then a number of its shape: "passport X1234567", "combination 12-34-56",
# "account 40071823"
# (a lock's: one group of two digits at least, so a formation "4-4-2" is not one)
_BARE_NUMBER = re.compile(
    r"(?i:\b(?:(?P<passport>passport)|(?P<code>combination)|(?P<account>account)))"
    r"(?:[ \t]*:)?[ \t]+(?P<value>"
    r"(?(passport)(?!(?:19|20)\d\d(?:0[1-9]|1[0-2])[0-3]\d\b)[A-Z]{0,3}\d{6,9}"  # not a date
    r"|(?(account)(?!(?:19|20)\d\d(?:0[1-9]|1[0-2])[0-3]\d\b)\d{8,17}"  # "account 40071823"
    r"|(?=[\d-]*\d\d)\d{1,2}(?:-\d{1,2}){2,3})))\b(?![-/.,]\d)"
)
# a user and password after a cue of both: "Credentials: bob / X", "login for the NAS: admin/X"
# (the password where it looks generated: "The credentials are read/write" names none)
_USER_PASSWORD = re.compile(
    r"\b(?:credentials?|creds|logins?(?:[ \t]+(?:details|info))?|zugangsdaten|identifiants)"
    r"(?:[ \t]+(?:for|to|of|on)[ \t]+[^\s:=][^:=\n]{0,39}?)?(?:[ \t]*[:=]|[ \t]+(?:is|are))[ \t]*"
    r"(?P<user>[\w.@+-]{1,64})[ \t]*/[ \t]*(?P<value>[^\s/<>$*][^\s<>]{0,199})",
    re.I,
)
# a login given as a pair with no cue: a user name (lower case, with a dot, an underscore
# or an "@", or admin, root...) " / " a password of 8 characters or more ("emma.v /
# Pancake-Ferret9"; not "us-east-1 / us-west-2", "monthlyDebt / income2"); an e-mail
# address and a line of its own after it with a symbol ("bob@mail.com\nMaple&Rye1958"; not
# "Ticket#48213", "Bob-Smith2"): a password has letters, digits and mixed case or a symbol
_SLASHED = re.compile(
    r"(?<!\S)(?<![=(+*/][ \t])"
    r"(?P<user>[a-z][a-z0-9]*(?:[._@][a-z0-9]+)+|admin|root|user|guest|pi|ubuntu|administrator)"
    r"[ \t]+/[ \t]+(?P<value>[^\W_][\w!#$%&*+=-]{7,63})(?=[.,;:!?)]*(?:\s|$))"
)
_MAILED = re.compile(
    r"^[ \t]*[\w.+-]+@[\w-]+(?:\.[\w-]+)+[ \t]*\r?\n[ \t]*"
    r"(?P<value>(?=[^\s/?()=:#@]*[!$&*^~])[^\s/?()=:#@]{6,64})[ \t]*$",
    re.M,
)
# ... the " / " pair on a line that says what it logs into ("for the school portal its
# emma.v / X", "admin / X for the router"), its user no domain or file ("drive.google.com")
_LOGIN_CONTEXT = re.compile(
    r"\b(?:log[ \t]*in|login|portal|account|creds?|credentials|sign[ \t]*in|wi-?fi|router|vpn|"
    r"ssh|server|nas|admin[ \t]+(?:page|panel)|config[ \t]+page|password)\b",
    re.I,
)
_A_DOMAIN = re.compile(
    r"\.(?:com|org|net|io|co|uk|de|fr|es|it|nl|edu|gov|example|"
    r"md|txt|py|js|json|html?|pdf|docx?|xlsx?|csv)\b",
    re.I,
)
_VERSION = re.compile(r"\d+\.\d")
_PAIR_SYMBOLS = "!#$%&*+="  # a password's symbols ("_" and "-" join a name's words)


def _a_login(text: str, pair: re.Match[str]) -> bool:
    """Whether a " / " pair is a login: its user an e-mail address and its password with a
    symbol, or its line says what it logs into and its user is no domain or file."""
    start = text.rfind("\n", 0, pair.start()) + 1
    end = text.find("\n", pair.end())
    line = text[start : len(text) if end < 0 else end]
    user = pair.group("user")
    if "@" in user and any(c in _PAIR_SYMBOLS for c in pair.group("value")):
        return True  # an e-mail address and a password with a symbol
    return not _A_DOMAIN.search(user) and _LOGIN_CONTEXT.search(line) is not None


def _pairs(text: str) -> Iterator[Found]:
    """The passwords of logins given as pairs without a cue (`_SLASHED`, `_MAILED`)."""
    found: list[re.Match[str]] = []
    if " / " in text:
        found += (m for m in _SLASHED.finditer(text) if _a_login(text, m))
    if "@" in text and "\n" in text:
        found += _MAILED.finditer(text)
    for match in found:
        begin, end = _trim(text, *match.span("value"))
        value = text[begin:end]
        if (
            any(c.isdigit() for c in value)
            and any(c.isalpha() for c in value)
            # (mixed case or a symbol: not "y_train_2")
            and (value.lower() != value != value.upper() or any(c in _PAIR_SYMBOLS for c in value))
            and not (_VERSION.search(value) or "@" in value or "://" in value)
        ):
            yield Found(begin, end, "password", tail=False)


# a seed phrase's cue followed straight by its words (12 at least: `_bare`)
_BARE_SEED = re.compile(rf"\b(?:{SEED})\b[ \t]+(?=[^\W\d_])", re.I)
# a price is not a secret: "monthly pass: $156.00"
_PRICE = re.compile(r"[$€£¥₹]\d[\d.,]*|\d[\d.,]*[$€£¥₹]")
# a Google app password: 16 lower-case letters, in groups of four or not
_APP_PASSWORD = re.compile(
    r"(?i:\bapp[ -]?password\b)(?:\s*(?:(?i:is)|:|=)\s*|(?:[ \t]*[,–—-])?[ \t]+|\s*\n\s*)"
    rf"(?:{_ITEM_MARKER.pattern})?"  # "app password:\n1. abcd efgh ijkl mnop"
    r"[\"'`]?(?P<value>[a-z]{4}(?: ?[a-z]{4}){3})\b"
)


# a number and what it counts, not a secret: "secret 7-layer dip", "private key 2048-bit"
_COUNTED = re.compile(r"[\d.,]+(?:-[^\W\d_]+)+")
# what a network's value after a bare "wifi" may be that is no password: "wifi is 5GHz"
_NETWORK_SPEC = re.compile(
    r"(?:\d+(?:[.,]\d+)?[ \t]*(?:g|ghz|mhz|mbps|gbps|mb/s|mbit|mbit/s)|802\.11\w*|\d+e?)", re.I
)


# a password given by how it is used, an ordinary word: "connect with password sunshine",
# "enter passcode tulip and wait": one word that ends its clause (or comes before "and",
# "tonight"...), not one that says what the password is for ("with password manager")
_USED_WITH = re.compile(
    rf"\b(?:(?:{USED_WITH})[ \t]+(?:(?:{OWNER})[ \t]+)?|(?P<own>{MY})[ \t]+)"
    rf"(?:(?:{USED_FOR})[ \t]+)?"
    rf"(?P<password>{PASSWORD})\b[ \t]+"
    r"(?P<value>[^\W\d_]{4,40})(?=[ \t]*(?:[.,!?;)\n]|$)|[ \t]+(?:" + USED_WITH_NEXT + r")\b)",
    re.I,
)


# a number to type where a code is asked for: "type 639027 when it asks for the code"
_TYPE_WHEN = re.compile(
    r"\b(?:type|enter|use|put[ \t]+in|punch[ \t]+in|key[ \t]+in)[ \t]+"
    r"(?!(?:19|20)\d\d\b)(?P<value>\d{4,8})[ \t]+"
    r"(?:(?:[^.!?\n\d]{0,30}?[ \t])?(?:when|if|once|where)\b[^.!?\n\d]{0,30}?"
    r"\b(?:asks?|asking|prompts?|wants?)[ \t]+(?:you[ \t]+)?for[ \t]+"
    r"(?:(?:the|a|your)[ \t]+)?(?:(?P<what>[\w-]+)[ \t]+)?"
    r"(?P<code>code|pin|passcode|otp|password)\b"
    # "Use 9307 to verify your account"
    r"|to[ \t]+(?:(?:verify|confirm|activate|reset)[ \t]+your[ \t]+"
    r"(?:(?-i:[A-Z])[\w&'’.-]{1,20}[ \t]+){0,2}(?:new[ \t]+)?"  # ("your Deliveroo account")
    r"(?:account|identity|e-?mail|phone|number|mobile|login|device|payment|card|password)"
    r"|log[ \t]*in|sign[ \t]*in)\b)",
    re.I,
)
# the second half of a login given as a list, its password without "is" or a colon: "login:
# jsmith, password tacotuesday", "the wifi is CasaVerde and the password tacotuesday"
_PAIRED = re.compile(
    rf"(?P<password>{PASSWORD})[ \t]+(?P<value>[^\s\"'`,;()<>]{{4,64}})(?={_CLAUSE_END})", re.I
)
_PAIR_BEFORE = re.compile(
    r"\b(?:user ?(?:name|id)?|login|log-?in|e-?mail|wi-?fi|wlan|ssid|network|account|benutzer"
    r"(?:name)?|identifiant|usuario)(?:[ \t]*[:=]|[ \t]+(?:is|was|ist|est|es))?[ \t]+"
    r"(?!(?:and|und|et|y|or|oder|ou|o|names?|ids?|address|details|info|fields?)\b)"
    r"[^\s.!?,;]+[^.!?\n]{0,40}?(?:[,;/]|\band\b|\bund\b|\bet\b|\by\b)"
    r"[ \t]*(?:(?:the|das|le|la|el)[ \t]+)?\Z",
    re.I,
)


# "my password sunshine" gives it only as a clause of its own: after a verb ("keep my
# password safe", "is my password visible?") or before another word ("my password broke
# again") the word says what the password is like or did
_CLAUSE_START = re.compile(r"(?:^|[.,!?;:(\n\u2013\u2014-]|\b(?:and|but|so|also))[ \t]*\Z", re.I)
_ENDED = re.compile(_CLAUSE_END, re.I)


# a passphrase given straight after its cue: "pass phrase correct horse battery staple",
# "with passphrase correct-horse-battery-staple": three to eight words up to the end of
# the clause, none of which says what the passphrase is like, is for or did
_PHRASE = re.compile(
    rf"\b(?:(?:(?P<used>{USED_WITH})|(?P<own>{MY}))[ \t]+)?(?:(?:{USED_FOR})[ \t]+)?"
    r"(?P<password>pass ?phrase)[ \t]+"
    r"(?P<value>[^\W\d_]{3,20}(?:(?:[ \t]+|-)[^\W\d_]{3,20}){2,7}?)"
    rf"(?=[ \t]*(?:[.,!?;)\n]|$)|[ \t]+(?:{USED_WITH_NEXT})\b)",
    re.I,
)
_PHRASE_WORD = re.compile(r"[^\W\d_]+")
_NOT_IN_A_PHRASE = NOT_A_PASSPHRASE_WORD | _NOT_A_SEED_WORD


def _phrase(text: str, start: int) -> Found | None:
    """A passphrase given straight after its cue (`_PHRASE`); without a verb of use
    before the cue, only as a clause of its own."""
    match = _PHRASE.match(text, start)
    if match is None or (not match["used"] and not _own(text, match.start(), match.end())):
        return None
    words = [w.lower() for w in _PHRASE_WORD.findall(match["value"])]
    if all(_a_word(w) and w not in _NOT_IN_A_PHRASE for w in words):
        return Found(*match.span("value"), "password", tail=False)
    return None


def _own(text: str, start: int, end: int) -> bool:
    """Whether "my password X" from `start` to `end` is a clause of its own."""
    before = _CLAUSE_START.search(text, max(0, start - 12), start)
    return before is not None and _ENDED.match(text, end) is not None


def _a_password(cue: str, word: str) -> bool:
    """Whether `word`, after "with `cue`", is the password (not "passwords everywhere",
    "password manager", "password verification", "password salts")."""
    plural = cue.lower().endswith(("words", "codes", "phrases"))
    return not plural and _a_word(word) and word not in NOT_A_PASSWORD


def _a_word(word: str) -> bool:
    """Whether `word` may be (a word of) a password: not a noun, participle, plural or
    adverb by its ending, nor a word that names no value."""
    ending = (
        word.endswith(NOT_A_PASSWORD_ENDINGS)
        or (word.endswith("s") and not word.endswith(("ss", "us", "is")))
        or (word.endswith("ly") and len(word) > 5 and not word.endswith("fly"))  # "slowly"
    )
    return not ending and word not in NOT_A_VALUE


def _bare(text: str, start: int, read: set[int]) -> Iterator[Found]:
    if (phrase := _phrase(text, start)) is not None:
        yield phrase
        return
    used = _USED_WITH.match(text, start)
    if (
        used is not None
        and (not used["own"] or _own(text, start, used.end("value")))
        and _a_password(used["password"], used["value"].lower())
    ):
        yield Found(*used.span("value"), _kind("password", used["password"]), tail=False)
        return
    typed = _TYPE_WHEN.match(text, start)
    if typed is not None and (typed["what"] or "").lower() not in _NOT_A_BRAND:
        cue = typed["code"] if typed["code"] and typed["code"].lower() == "pin" else "code"
        yield Found(*typed.span("value"), _kind("code", cue), tail=False)
        return
    paired = _PAIRED.match(text, start)
    if (
        paired is not None
        and _a_password(paired["password"], paired["value"].lower().rstrip(".!?"))
        and _PAIR_BEFORE.search(text, max(0, start - 100), start) is not None
    ):
        yield Found(*_trim(text, *paired.span("value")), "password", tail=False)
        return
    app = _APP_PASSWORD.match(text, start)
    if app is not None:
        yield Found(*app.span("value"), "key", tail=False)
        return
    pair = _USER_PASSWORD.match(text, start)
    if pair is not None:
        begin, end = _trim(text, *pair.span("value"))
        value = text[begin:end]
        if _looks_generated(value) and not names_a_secret(value):
            yield Found(begin, end, "password", tail=False)
            return
    seed = _BARE_SEED.match(text, start)  # "metamask phrase gorilla vacant ...": 12 words
    if seed is not None:
        last = _seed(text, seed.end())
        if last is not None and len(text[seed.end() : last].split()) >= _MIN_SEED_WORDS:
            yield Found(seed.end(), last, "seed", tail=False)
            return
    number = _BARE_NUMBER.match(text, start)
    if number is not None:
        cue = number["passport"] or number["code"] or number["account"]
        yield Found(*number.span("value"), _kind("code", cue), tail=False)
        return
    for regex, qualified in _CUES_BARE:
        match = regex.match(text, start)
        found = [] if match is None else _bare_values(text, match, qualified, read)
        if found:
            yield from found
            return


def _bare_values(text: str, match: re.Match[str], qualified: bool, read: set[int]) -> list[Found]:
    """The value after a bare cue (`_bare_value`); as a list's first item, with those of
    the list's other items if the cue names several ("API keys\n- X\n- Y": `_items`)."""
    kind, cue = _named(match)
    value = partial(_bare_value, text, kind=kind, cue=cue, qualified=qualified)
    item = _item(text, match.end(), match.group())
    if item is not None:
        spans = list(_items(text, item, value, _PLURAL.fullmatch(cue) is not None, read))
    elif _LISTED.fullmatch(cue):
        spans = []  # "API keys": a cue only before a list
    else:
        spans = [span] if (span := value(match.end())) else []
    return [Found(*span, _kind(kind, cue), tail=False) for span in spans]


def _bare_value(
    text: str, at: int, stop: int | None = None, *, kind: str, cue: str, qualified: bool
) -> tuple[int, int] | None:
    """The value at `at` after a bare cue, if it looks generated; after words that say
    what it opens, only with a digit or a symbol ("my password for my iPhone" names no
    value)."""
    word = _TOKEN.match(text, at, len(text) if stop is None else stop)
    if word is None:
        return None
    begin, end = _trim(text, *word.span())
    while end > begin and text[end - 1] in "*_~:":  # Markdown: "**Password manager**:"
        end -= 1
    value = text[begin:end]
    if (
        len(value) >= (4 if kind == "password" else 8)
        and not _COUNTED.fullmatch(value)
        and not _PRICE.fullmatch(value)
        and not _YEAR.fullmatch(value)  # "season pass 2024"
        and not (cue.lower().startswith(("wi", "wl")) and _NETWORK_SPEC.fullmatch(value))
        # a key or token: letters and digits both ("token USDC/ETH" is a pair of coins)
        and (
            kind == "password"
            or (any(c.isdigit() for c in value) and any(c.isalpha() for c in value))
        )
        and not value.startswith(MARK)
        and value.lower() not in NOT_A_VALUE
        and not _IDENTIFIER.match(value)
        and _looks_generated(value, symbols="_+/=$#@%&*!")  # a hyphen joins ordinary words
        and (not qualified or _looks_generated(value.lower(), symbols="_+/=$#@%&*!"))
        # a language's own words no list describes: right after the cue, ending the clause
        # ("A jelszavam Nyar2024!", not "Jelszavam iPhone 15-ön van elmentve")
        and not (
            _WORD_LISTLESS.match(cue)
            and (qualified or _SECURED.match(value) or not _CLAUSE_ENDS.match(text, end))
        )
    ):
        return begin, end
    return None


def _backward(text: str, start: int) -> Iterator[Found]:
    """ "I use X as my password", "X is my PIN": the value comes first."""
    cue = _ENDS_CLAUSE.match(text, start)
    if cue is None:
        return
    for regex in (_USED_AS, _IS_MY, _THATS_MY):
        match = _ending_at(regex, text, max(0, start - 160), cue.end())
        if match is None:
            continue
        if regex is _USED_AS and _just_before(_ADVICE, text, match.start(), width=8):
            continue  # "Avoid using 1234 or 0000 as a PIN": examples, not one's own
        begin, end = match.span("value")
        value = match["value"]
        if value[0] in "\"'`":  # (a quote that opens a sentence: "'G-720481 is your code")
            begin, end = begin + 1, end - (len(value) > 1 and value[-1] == value[0])
        elif value.lower().strip(".,!?") in NOT_A_VALUE or value.startswith(MARK):
            continue
        kind, name = _named(match)
        if kind == "code" and not any(c.isdigit() for c in value):
            continue
        if (
            (regex is _THATS_MY or _COMPOUND.match(name))  # ("X is nog het standaardwachtwoord")
            and kind != "code"
            and not _looks_generated(value)
        ):
            continue
        yield Found(*_trim(text, begin, end), _kind(kind, name), tail=False)


def _ending_at(regex: re.Pattern[str], text: str, pos: int, end: int) -> re.Match[str] | None:
    """The first match of `regex` in text[pos:end] that ends at `end` (at this cue, not at
    an earlier one)."""
    while (match := regex.search(text, pos, end)) is not None:
        if match.end() == end:
            return match
        pos = match.start() + 1
    return None


def _cjk(text: str, read: set[int]) -> Iterator[Found]:
    for match in _CJK_CUE.finditer(text):
        kind, cue = _named(match)
        item = _item(text, match.end(), match["verb"])
        if kind == "seed":  # Chinese and Japanese seed words are words of their script
            at = match.end() if item is None else item.end()
            stop = _seed(text, at)
            if stop is not None:
                yield Found(at, stop, "seed", tail=False)
            continue
        value = partial(_cjk_value, text, kind=kind)
        if item is None:
            spans = [span] if (span := value(match.end())) else []
        else:  # "密码:\n1. X\n2. Y": every item of the list (`_items`)
            spans = list(_items(text, item, value, ":" in match["verb"], read))
        yield from (Found(*span, _kind(kind, cue), tail=False) for span in spans)


def _cjk_value(text: str, at: int, stop: int | None = None, *, kind: str) -> tuple[int, int] | None:
    """The value at `at` after a Chinese or Japanese cue: quoted, or a run of Latin
    letters, digits and symbols."""
    value = _CJK_VALUE.match(text, at, len(text) if stop is None else stop)
    if value is None or _MEASURE.match(text, at):
        return None
    start, end = value.span(1) if value.group(1) is not None else value.span()
    start, end = _trim(text, start, end)
    secret = text[start:end]
    if kind == "code" and not any(c.isdigit() for c in secret):
        return None
    if kind == "password" and len(secret) < 4:
        return None
    return start, end


# a cue's own words: "password", "API key", "PIN code", "Passwort" ...
_CUE_WORD = re.compile(
    rf"(?:{PASSWORD}|{CODES}|{SEED}|{CODE}|{CODE_LISTED}|{KEY}|{KEY_LISTED}|pass|key)", re.I
)


_NAMED_ALONE = re.compile(_NAMED, re.I)


def cue_named(words: str) -> tuple[str, str] | None:
    """(kind, cue word) when `words` are a cue word and nothing else ("DB password": no)."""
    match = _NAMED_ALONE.fullmatch(words)
    return None if match is None else _named(match)


def cued_value(text: str, start: int, stop: int, kind: str, cue: str) -> Found | None:
    """The secret a cue of `kind` (`cue_named`) would give between `start` and `stop`."""
    span = _value(text, start, stop, kind=kind)
    return None if span is None else Found(*span, _kind(kind, cue), tail=False)


def names_a_secret(value: str) -> bool:
    """Whether `value` is a word (or words) that names a secret, as a cue does."""
    return _CUE_WORD.fullmatch(value) is not None


# a code's kind by how its cue starts, the first that fits
_CODE_KINDS = {
    "pin": ("pin", "geheimzahl", "пин", "暗証番号", "code pin", "código pin", "kod pin"),
    "passport": (
        "passport", "pass", "reisepass", "numéro de passeport", "número de pasaporte",
        "numero de pasaporte", "номер паспорта", "护照", "護照", "パスポート", "旅券",
    ),
    "cvv": ("cvv", "cvc"),
    "ssn": ("ssn", "social security"),
    "account": ("account", "routing"),
}  # fmt: skip


def _kind(kind: str, cue: str) -> str:
    if kind == "code":
        return next((k for k, v in _CODE_KINDS.items() if cue.lower().startswith(v)), "code")
    return {"codes": "code", "seed": "seed", "key": "key"}.get(kind, "password")


# every cue holds one of these (in lower case) within its first 40 characters
_TRIGGERS = (
    "pass", "pw", "p/w", "psw", "psk", "rase", "mnemonic", "key", "combin", "unlock", "pin",
    "cv", "cid", "csc", "cod", "otp", "ssn", "social", "num", "núm", "pasap", "tax", "token",
    "secret", "cred", "seed", "wallet", "answer", "login", "pasw", "pssw", "memorable", "acct",
    "maiden", "puk", "zugangsdaten", "identifiants", "wifi", "wi-fi", "wlan", "ledger",
    "metamask", "trezor", "12 word", "24 word", "12-word", "24-word",
    "account", "combo", "insurance", "aadhaar", "national id", "licen", "steuer", "dni",
    "curp", "codice", "bsn", "pan card", "pan n", "pesel", "nric", "hkid", "cpf", "wachtwoord",
    "senha", "hasł", "hasl", "lösenord", "losenord", "снилс", "инн", "routing", "bsb", "nino",
    "tfn", "itin", "kennw", "kod", "koodi",
    "geheim", "mdp", "contrase", "clave", "cód", "schlüssel", "clé", "парол", "пин", "паспорт",
    "код", "фраз", "adgangskod", "kodeord", "salasan", "hesl", "şifre", "jelsz", "κωδικ",
    "συνθηματ",
)  # fmt: skip

_Node = dict[str, "_Node"]


def _trie(words: tuple[str, ...]) -> str:
    """A regex of any of `words`, a branch per character ("p(?:ass|w|sw)..."): sre tries
    each word at each position of an alternation, which cost half of the cue search."""
    root: _Node = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: _Node) -> str:
        alternatives = [re.escape(c) + branch(child) for c, child in sorted(node.items()) if c]
        if not alternatives:
            return ""
        body = "(?:" + "|".join(alternatives) + ")" if len(alternatives) > 1 else alternatives[0]
        return f"(?:{body})?" if "" in node else body

    return branch(root)


# (a lookahead: every place a trigger starts, however they overlap)
_TRIGGER = re.compile(f"(?={_trie(_TRIGGERS)})")
_ANY_CASE = re.compile(_TRIGGER.pattern, re.I)
# the cues in capitals (`CAPITAL_IDS`: words in lower case), found with `str.find` (a regex
# of them searched over the whole text costs more than `_TRIGGER`)
_CAPITALS = re.compile(r"\b[A-Z]+\b")


def _acronyms(text: str) -> Iterator[re.Match[str]]:
    for name in CAPITAL_IDS:
        at = text.find(name)
        while at >= 0:
            if (word := _CAPITALS.match(text, at)) is not None and word.end() == at + len(name):
                yield word
            at = text.find(name, at + 1)


_WORD_START = re.compile(r"\b\w")
