"""Which metadata keys name a secret, so that their whole value is masked:
{"password": ...}, {"db_pw": ...}, {"Passwort": ...}, {"mot_de_passe": ...},
{"cardNumber": ...}, {"пароль": ...}, {"密码": ...}.

A key is split into words (at `_`, `-`, `.`, spaces and camelCase); it names a secret
when one of its words is a secret's name, or two or three adjacent ones are ("api key",
"mot de passe") - unless its last word says it describes the secret rather than holds it:
`password_hint`, `password_policy`, `pin_length`, `token_count`, `token_type`,
`secret_name`. Ordinary words that contain a secret's name (`passenger`, `compass`,
`pinned`, `spinner`, `max_tokens`, `secretary`) are words of their own.
"""

from __future__ import annotations

import functools
import re

# one word that names a secret
_WORDS = frozenset(
    "password passwords passwd pwd pw passphrase passcode secret secrets token credential "
    "credentials authorization pin cvv cvc cvv2 ssn iban otp totp mnemonic "
    "passwort passwörter kennwort geheimzahl passnummer reisepassnummer mdp "
    "motdepasse contraseña contrasena pasaporte passeport passport "
    "пароль пин паспорт паспорта".split()
)
# adjacent words that together name one: api_key, mot_de_passe, card_number...
_COMPOUNDS = frozenset(
    "apikey accesskey privatekey secretkey signingkey encryptionkey clientsecret "
    "authtoken accesstoken refreshtoken sessiontoken bearertoken pincode pinnumber "
    "cardnumber accountnumber routingnumber socialsecurity taxid seedphrase seedwords "
    "recoveryphrase recoverycodes recoverycode backupcodes backupcode motdepasse "
    "motsdepasse codepin codesecret numerodepasaporte passportno "
    "wifikey wlankey wpakey".split()
)
# a secret's name inside a longer word: dbpassword, Bankpasswort, reisepassnummer
_ENDINGS = ("password", "passwort", "kennwort", "passwd", "passphrase", "geheimzahl",
            "passnummer", "пароль")  # fmt: skip
# keys in scripts written without spaces: a secret's name anywhere in them
_CJK = ("密码", "密碼", "口令", "パスワード", "暗証番号", "护照", "護照", "パスポート", "旅券",
        "助记词", "助記詞")  # fmt: skip
# a last word that describes the secret: its hint, rules, length, dates, count, kind, name
_DESCRIBES = frozenset(
    "hint hints policy policies rule rules length len strength expiry expires expired "
    "expiration changed updated created reset at date time manager required enabled "
    "count usage limit budget used id ids type types name names format version "
    "hinweis länge richtlinie indice longueur pista longitud подсказка длина".split()
)
# a pass that is not a password: boarding_pass, season_pass
_PASS = frozenset("boarding bus season ski day week train press hall backstage free".split())
_CAMEL = re.compile(r"(?<=[a-zà-ÿа-яё0-9])(?=[A-ZÀ-ÞА-ЯЁ])")
_SPLIT = re.compile(r"[\W_]+")


@functools.lru_cache(maxsize=4096)
def secret_key(name: str) -> bool:
    """Whether a metadata key names a secret (its whole value is masked)."""
    if any(word in name for word in _CJK):
        return True
    words = [w for w in _SPLIT.split(_CAMEL.sub(" ", name).lower()) if w]
    if not words:
        return False
    for size in (3, 2, 1):
        for at in range(len(words) - size + 1):
            if "".join(words[at : at + size]) in _COMPOUNDS:
                return True
    if len(words) > 1 and words[-1] in _DESCRIBES:
        return False
    if words[-1] == "pass" and (len(words) == 1 or words[-2] not in _PASS):
        return True
    return any(w in _WORDS or w.endswith(_ENDINGS) for w in words)
