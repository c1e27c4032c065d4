"""mask(): every secret form of the corpus goes, ordinary text stays as it was."""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import iban, luhn
from stdnum.us import ssn

from octomem.sensitive import (
    mask,
    mask_across,
    mask_together,
    mask_value,
    replace_found,
    secret_key,
    secrets_in_value,
)
from tests.data.secret_corpus import NEGATIVES, SECRETS, Secret


def test_the_corpus_is_as_large_and_as_real_as_it_claims() -> None:
    assert len(SECRETS) >= 60 and len(NEGATIVES) >= 30
    kinds = {s.kind for s in SECRETS}
    vendors = {"aws", "github", "gitlab", "slack", "stripe", "openai", "anthropic", "google"}
    assert vendors <= kinds
    for secret in SECRETS:  # checksummed numbers in the corpus really pass their check
        value = unicodedata.normalize("NFKC", secret.value)
        digits = "".join(c for c in value if c.isalnum())
        if secret.kind == "card":
            assert luhn.is_valid(digits), secret.value
        if secret.kind == "iban":
            assert iban.is_valid(digits), secret.value
        if secret.kind == "ssn":
            assert ssn.is_valid(digits), secret.value


@pytest.mark.parametrize("secret", SECRETS, ids=lambda s: f"{s.kind}:{s.value[:16]}")
def test_every_secret_form_is_masked(secret: Secret) -> None:
    found = mask(secret.sentence)
    assert found.sensitive
    for leak in secret.leaks:
        assert leak not in found.text, found.text
    assert "[MASKED " in found.text
    assert mask(found.text).text == found.text


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_text_is_not_masked(text: str) -> None:
    found = mask(text)
    assert found.text == text and not found.sensitive


def test_masking_masked_text_changes_nothing() -> None:
    text = "\n".join(s.sentence for s in SECRETS)  # (a table's rows end at a line's end)
    once = mask(text)
    assert all(leak not in once.text for s in SECRETS for leak in s.leaks)
    assert mask(once.text).text == once.text


_PIECES = st.sampled_from(
    [s.sentence for s in SECRETS]
    + NEGATIVES
    + ["\u200b", "\u00ad", "ﾞ", "\u0301", "İ", "ﬁ", "４", " ", "\n", ", ", "password", "PIN"]
    + ["密码是", " is ", ": ", "to ", "seed phrase", "codes:", "curl -u a:b ", "[MASKED "]
)


@settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[*HealthCheck],
)
@given(st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=12).map("".join))
def test_masking_any_mix_of_secrets_and_text_twice_changes_nothing(text: str) -> None:
    once = mask(text).text
    assert mask(once).text == once


def test_text_that_only_looks_masked_does_not_shield_a_secret() -> None:
    """Only a masked form as masking writes it is left alone: "[MASKED " typed by a user,
    with no "]" after it or one far after, is text like any other."""
    key = "sk-ant-api03-Zx9QwErTyUiOpAsDfGhJkLzXcVbNm1234567890abcdEFGH"
    for text in (f"[MASKED note: my key is {key}", f"[MASKED {key}]", f"[MASKED [{key}]"):
        assert "Zx9QwErTyUiOpAsDfGh" not in mask(text).text, text
    assert mask_value({"password": "[MASKED Tulip-Harbor-88"}) == {"password": "[MASKED secret]"}


def test_the_masked_form_names_the_kind_and_keeps_only_a_card_or_keys_last_four() -> None:
    assert mask("card 4111-1111-1111-1111 ok").text == "card [MASKED card …1111] ok"
    assert mask("My PIN is 4821.").text == "My PIN is [MASKED pin]."
    assert mask("my password is hunter2").text == "my password is [MASKED password]"
    assert mask("iban DE89370400440532013000").text == "iban [MASKED iban …3000]"
    assert mask("key AKIAIOSFODNN7EXAMPLE").text == "key [MASKED key …MPLE]"


def test_a_passphrase_ends_with_its_clause() -> None:
    text = "My password is correct horse battery staple and my username is alice."
    assert mask(text).text == "My password is [MASKED password] and my username is alice."


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("seed phrase 'alpha beta gamma'", "seed phrase '[MASKED seed]'"),
        (
            "metamask phrase gorilla vacant thumb ribbon muffin cable zebra island frost idea "
            "clamp lunar",
            "metamask phrase [MASKED seed]",
        ),
        ("the seed phrase gorilla vacant", "the seed phrase gorilla vacant"),
    ],
)
def test_a_quoted_seed_phrase_goes_whatever_its_length_and_a_bare_one_needs_12_words(
    text: str, masked: str
) -> None:
    assert mask(text).text == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "The old password was Penguin12 and the new one is Penguin13.",
            "The old password was [MASKED password] and the new one is [MASKED password].",
        ),
        (
            "my pin's 3390 and my wife's is 7705",
            "my pin's [MASKED pin] and my wife's is [MASKED pin]",
        ),
        (
            "My password is Xk9!mm2 and the new one is coming soon.",
            "My password is [MASKED password] and the new one is coming soon.",
        ),
        (
            "My PIN is 4821, and my wife's is the same.",
            "My PIN is [MASKED pin], and my wife's is the same.",
        ),
    ],
)
def test_a_second_value_of_the_same_kind_goes_and_an_ordinary_clause_stays(
    text: str, masked: str
) -> None:
    assert mask(text).text == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my password is Summer2024!", "my password is [MASKED password]"),
        ("username bob, password Kq7mm2x!! ok?", "username bob, password [MASKED password] ok?"),
        (
            "my password is wrong! and my pin is 4821!",
            "my password is wrong! and my pin is [MASKED pin]!",
        ),
    ],
)
def test_the_exclamation_marks_ending_a_password_go_with_it(text: str, masked: str) -> None:
    assert mask(text).text == masked


def test_a_password_word_found_in_one_part_goes_from_the_others_where_it_stands_whole() -> None:
    pages = ["Log in with password sunshine, then open it.", "sunshine: x; sunshines, present"]
    assert mask_across(pages) == [
        "Log in with password [MASKED password], then open it.",
        "[MASKED password]: x; sunshines, present",
    ]
    # a generated value goes wherever it is, inside other text too
    assert mask_across(["the token is Qz7mN2xL9pK4", "idQz7mN2xL9pK4x"])[1] == "id[MASKED key]x"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "My wifi password is Zq9xT!pw7. Write Zq9xT!pw7 on the card.",
            "My wifi password is [MASKED password]. Write [MASKED password] on the card.",
        ),
        ("my pin is 4821, so 4821 it is", "my pin is [MASKED pin], so [MASKED pin] it is"),
        (  # a word, where it stands whole
            "Log in with password sunshine. sunshine, not sunshines.",
            "Log in with password [MASKED password]. [MASKED password], not sunshines.",
        ),
        # a number inside a longer one is another number
        ("My PIN is 4821; order 148210 shipped.", "My PIN is [MASKED pin]; order 148210 shipped."),
        # a value that is a cue's own word is masked where it is the value only
        (
            "password: 'password', then the password field",
            "password: '[MASKED password]', then the password field",
        ),
    ],
)
def test_a_value_named_once_is_masked_wherever_the_text_repeats_it(text: str, masked: str) -> None:
    """A cue names a value once; the text may give it again with no cue ("write X on the
    card"): there too it goes."""
    assert mask(text).text == masked
    assert mask(masked).text == masked


def test_a_value_found_is_not_replaced_inside_a_masked_form() -> None:
    """ "my password is password": replacing the value "password" wherever it stands whole
    would rewrite the masked forms themselves ("[MASKED [MASKED password]]")."""
    found = {"secret": "password", "Zq9xT": "key"}
    text = "[MASKED secret] keeps its secret; Zq9xT goes"
    assert (
        replace_found(text, found)
        == "[MASKED secret] keeps its [MASKED password]; [MASKED key] goes"
    )
    kinds: list[str] = []
    assert replace_found({"a": ["Zq9xT"]}, found, kinds) == {"a": ["[MASKED key]"]}
    assert kinds == ["key"]


def test_the_secrets_of_a_value_are_those_of_its_strings_and_of_secret_named_keys() -> None:
    value = [
        ["My wifi password is Zq9xT!pw7.", None, {"note": "PIN: 4821", "pin": 7391}],
        {"card_pin": "5529", "Kennwort": ["Sonnenblume88"], "ok": "blue", "pw": ""},
    ]
    assert secrets_in_value(value) == {
        "Zq9xT!pw7": "password",
        "4821": "pin",
        "7391": "secret",
        "5529": "secret",
        "Sonnenblume88": "secret",
    }


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("- **Email**: ana@example.com\n- **Password**: Tulip-Harbor-88", "Tulip-Harbor-88"),
        ("My **wifi password** is Orchid4455Lake", "Orchid4455Lake"),
        ("**Password:**\n- Orchid4455Lake", "Orchid4455Lake"),
        ("- **Password:** Orchid4455Lake", "Orchid4455Lake"),
        ("**Bank card PIN**: 7391", "7391"),
        ("`password`: Mango77Sunset", "Mango77Sunset"),
        ("*API key*: abcd1234efgh5678", "abcd1234efgh5678"),
    ],
)
def test_a_cue_in_markdown_emphasis_or_code_is_a_cue(text: str, secret: str) -> None:
    """Notes pasted into a chat are Markdown: the cue's closing `**` or backtick stands
    between it and its "is" or colon."""
    found = mask(text)
    assert secret not in found.text and "[MASKED " in found.text, found.text
    described = "the **password** is on the fridge"
    assert mask(described).text == described


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("password:\n3. Zq9xT!pw7", "password:\n3. [MASKED password]"),
        ("password:\n- Zq9xT!pw7", "password:\n- [MASKED password]"),
        ("password:\n* Zq9xT!pw7", "password:\n* [MASKED password]"),
        ("password:\n1) Zq9xT!pw7", "password:\n1) [MASKED password]"),
        ("the pin is:\n  1. 4821", "the pin is:\n  1. [MASKED pin]"),
        ("api key:\n• a8F3kL9mQ2xV7nB4", "api key:\n• [MASKED key]"),
        ("api key:\n• sk-proj-a8F3kL9mQ2xV7nB4", "api key:\n• [MASKED key …7nB4]"),
        ("my password:\n\n3. Zq9xT!pw7", "my password:\n\n3. [MASKED password]"),
        ("wifi password is:\n(2) Zq9xT!pw7", "wifi password is:\n(2) [MASKED password]"),
        ("暗証番号は\n1. 4821", "暗証番号は\n1. [MASKED pin]"),
        ("Password\n- Zq9xT!pw7", "Password\n- [MASKED password]"),
        ("app password:\n1. abcd efgh ijkl mnop", "app password:\n1. [MASKED key]"),
        (
            "recovery codes:\n1. 1234-5678\n2. 2345-6789",
            "recovery codes:\n1. [MASKED code]\n2. [MASKED code]",
        ),
    ],
)
def test_a_value_given_as_a_list_item_after_its_cue_goes_and_its_marker_stays(
    text: str, masked: str
) -> None:
    """ "password:\n3. X": the secret is X, not the item's number (masking the "3" left X
    on disk) nor its bullet."""
    assert mask(text).text == masked
    for ordinary in ("Shopping list:\n1. milk\n2. eggs", "Notes:\n- Zq9xT\n* pw7"):
        assert mask(ordinary).text == ordinary


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "My passwords:\n1. Zq9xT!pw7\n2. Kp3$mmQ81",
            "My passwords:\n1. [MASKED password]\n2. [MASKED password]",
        ),
        (
            "wifi and bank passwords:\n- hunter2Xy\n- Bq7#lmn0\n- correct horse battery staple",
            "wifi and bank passwords:\n- [MASKED password]\n- [MASKED password]\n"
            "- [MASKED password]",
        ),
        (  # a cue of one that ends its line with a colon
            "my password:\n  * Zq9xT!pw7\n  * Kp3$mmQ81",
            "my password:\n  * [MASKED password]\n  * [MASKED password]",
        ),
        (  # a label before each value
            "Passwords:\n- Gmail: Zq9xT!pw7\n- Work email: sunshine",
            "Passwords:\n- [MASKED password]\n- [MASKED password]",
        ),
        (  # an aside after a value
            "My passwords:\n1. Zq9xT!pw7 (gmail)\n2. Kp3$mmQ81 (bank)",
            "My passwords:\n1. [MASKED password] (gmail)\n2. [MASKED password] (bank)",
        ),
        (  # the cue in bold with its colon, as a model writes notes
            "**Passwords:**\n- Zq9xT!pw7\n- Kp3$mmQ81",
            "**Passwords:**\n- [MASKED password]\n- [MASKED password]",
        ),
        (  # a line under an item, indented deeper, is the item's
            "passwords:\n- Zq9xT!pw7\n  - the old one\n- Kp3$mmQ81",
            "passwords:\n- [MASKED password]\n  - the old one\n- [MASKED password]",
        ),
        ("PIN codes:\n1) 4821\n2) 9912", "PIN codes:\n1) [MASKED pin]\n2) [MASKED pin]"),
        (
            "API keys\n• a8F3kL9mQ2xV7nB4\n• Qz7mN2xL9pK4wR",
            "API keys\n• [MASKED key]\n• [MASKED key]",
        ),
        ("密码:\n1. Zq9xT!pw7\n2. Kp3$mmQ81", "密码:\n1. [MASKED password]\n2. [MASKED password]"),
        (  # an item that is not a value is kept, and the list goes on past it
            "My passwords:\n1. Zq9xT!pw7\n2. the same as my gmail one\n3. Kp3$mmQ81",
            "My passwords:\n1. [MASKED password]\n2. the same as my gmail one\n"
            "3. [MASKED password]",
        ),
        (  # the list ends where its lines or its kind of marker do
            "My passwords:\n1. Zq9xT!pw7\n- milk\n\n2. eggs",
            "My passwords:\n1. [MASKED password]\n- milk\n\n2. eggs",
        ),
    ],
)
def test_every_item_of_a_list_after_a_cue_of_several_or_a_colon_goes(
    text: str, masked: str
) -> None:
    """ "My passwords:\n1. X\n2. Y": every item on the lines right after the cue with the
    same kind of marker is a value, not only the first; the markers stay."""
    assert mask(text).text == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # a cue of one without a colon gives one value, the list's first item
        ("Password\n- Zq9xT!pw7\n- Kp3$mmQ81", "Password\n- [MASKED password]\n- Kp3$mmQ81"),
        # a list of what to do, its first item taken already: read no further
        (
            "How to reset your password:\n1. Open settings.\n2. Tap Reset.",
            "How to reset your password:\n1. [MASKED password].\n2. Tap Reset.",
        ),
        (
            "Passwords:\n- Use a manager\n- Turn on 2FA",
            "Passwords:\n- [MASKED password]\n- Turn on 2FA",
        ),
    ],
)
def test_a_list_after_a_cue_is_read_no_further_than_its_values(text: str, masked: str) -> None:
    assert mask(text).text == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("password: **Zq9xT!pw7**", "password: **[MASKED password]**"),
        ("**Password:** Zq9xT!pw7", "**Password:** [MASKED password]"),
        ("API keys:\n- **a8F3kL9mQ2xV7nB4**", "API keys:\n- **[MASKED key]**"),
        # bold is no symbol of a key: "**Small" is a word
        (
            "**Gift or Small Token:**\n\n1. **Small Gift**: send a book",
            "**Gift or Small Token:**\n\n1. **Small Gift**: send a book",
        ),
    ],
)
def test_a_value_in_markdown_bold_is_what_is_inside_it(text: str, masked: str) -> None:
    assert mask(text).text == masked


@pytest.mark.parametrize(
    "text",
    [
        "Shopping list:\n1. milk\n2. eggs\n3. Zq9xT",
        "PIN codes are printed on the letter.",
        "API keys: see the vault.",
        "Secrets:\n- MY_API_KEY\n- DB_URL",
        "Our door codes changed:\n- front door\n- back gate",
        "Keys:\n- Ctrl+C copies\n- Ctrl+V pastes",
    ],
)
def test_a_list_after_words_that_name_no_secret_is_kept(text: str) -> None:
    assert mask(text).text == text


def test_a_card_number_that_fails_its_checksum_is_kept() -> None:
    assert not mask("order 4111 1111 1111 1112 shipped").sensitive


@pytest.mark.parametrize(
    "number",
    [
        "4222222222222",  # Visa, 13 digits
        "2223003122003222",  # Mastercard's 2-series
        "30569309025904",  # Diners Club, 14
        "3530111333300000",  # JCB
        "6759649826438453",  # Maestro
        "6200000000000005",  # UnionPay
    ],
)
def test_a_card_number_of_each_network_is_masked(number: str) -> None:
    assert mask(f"card {number} ok").text == f"card [MASKED card …{number[-4:]}] ok"


@pytest.mark.parametrize(
    "number",
    [
        "525265914179580",  # 15 digits from a Mastercard range (16): an XMP Facebook id
        "371449635398431" + "4",  # an Amex range at 16 digits
        "2000000000000006",  # below Mastercard's 2-series
        "41111111111111113",  # Visa's range at 17 digits
        "555555555555444442",  # Mastercard's at 18
    ],
)
def test_a_luhn_number_of_no_networks_length_is_kept(number: str) -> None:
    assert luhn.is_valid(number)
    assert not mask(f"id {number} ok").sensitive


def test_metadata_strings_keys_and_secret_named_values_are_masked() -> None:
    kinds: list[str] = []
    value = {
        "note": "my PIN is 4821",
        "password": "hunter2",
        "pin": 4821,
        "card": 4111111111111111,
        "max_tokens": 512,
        "classname": "Sensor",  # not an "ssn"
        "nested": [{"url": "postgres://u:pw1234@db/app"}, 7, True, None],
        "AKIAIOSFODNN7EXAMPLE": "a key as a key",
    }
    masked = mask_value(value, kinds)
    text = repr(masked)
    for leak in ("4821", "hunter2", "4111111111111111", "pw1234", "AKIAIOSFODNN7EXAMPLE"):
        assert leak not in text
    assert masked["max_tokens"] == 512 and masked["nested"][1:] == [7, True, None]
    assert masked["classname"] == "Sensor"
    assert {"pin", "secret", "card", "password", "key"} <= set(kinds)
    assert mask_value(masked) == masked


def test_detection_sees_through_full_width_and_invisible_characters_but_keeps_them() -> None:
    # found on the NFKC text without invisible characters; replaced in the text as written
    text = "Ｍｙ ＰＩＮ ｉｓ ４８２１ ✓ x² café\u00ad\u200b ok"
    assert mask(text).text == "Ｍｙ ＰＩＮ ｉｓ [MASKED pin] ✓ x² café\u00ad\u200b ok"
    hidden = "card\u200b 4111\u200b1111\u200b1111\u200b1111\u200b, thanks \U0001f44d\u200d"
    assert mask(hidden).text == "card\u200b [MASKED card …1111]\u200b, thanks \U0001f44d\u200d"
    assert (
        mask("ｐａｓｓ\u00adｗｏｒｄ: ｈｕｎｔｅｒ２").text
        == "ｐａｓｓ\u00adｗｏｒｄ: [MASKED password]"
    )
    decomposed = "Mi contrasen\u0303a es girasol55."  # ñ as n + combining tilde
    assert mask(decomposed).text == "Mi contrasen\u0303a es [MASKED password]."


def test_digits_of_other_scripts_are_read_as_the_digits_they_are() -> None:
    """NFKC keeps Arabic-Indic and Devanagari digits as they are: a card number or SSN
    typed on such a keyboard is found like its ASCII form, and kept as written around it."""
    arabic = "رقم بطاقتي ٤١١١ ١١١١ ١١١١ ١١١١ شكرا"
    assert mask(arabic).text == "رقم بطاقتي [MASKED card …١١١١] شكرا"
    hindi = "मेरा कार्ड नंबर ४१११-११११-११११-११११ है"
    assert mask(hindi).text == "मेरा कार्ड नंबर [MASKED card …११११] है"
    assert mask("my SSN ০৭৮-০৫-১১২০").text == "my SSN [MASKED ssn]"
    phone = "هاتفي ٠١٢٣٤٥٦٧٨٩ والسعر ٤٥٠ درهم"  # a phone number and a price stay
    assert mask(phone).text == phone


def test_every_code_of_a_list_and_every_word_of_a_seed_phrase_go() -> None:
    codes = "Backup codes: 1234 5678, 2345 6789; 3456 7890 and 4567 8901. Done."
    assert mask(codes).text == "Backup codes: [MASKED code]. Done."
    words = "legal winner thank year wave sausage worth useful legal winner thank yellow"
    masked = mask(f"My seed words are {words}. Keep it safe.").text
    assert masked == "My seed words are [MASKED seed]. Keep it safe."


@pytest.mark.parametrize(
    "name",
    [
        "password", "Password", "passwords", "db_password", "dbPassword", "DB-PASSWORD",
        "rootpassword", "pw", "user_pw", "pwd", "pass", "db_pass", "passwd", "passphrase",
        "passcode", "Passwort", "WLAN-Passwort", "Bankpasswort", "Kennwort", "mot_de_passe",
        "motDePasse", "mdp", "contraseña", "contrasena", "пароль", "密码", "支付密码",
        "パスワード", "pin", "PIN", "pin_code", "card_pin", "Geheimzahl", "暗証番号", "cvv",
        "ssn", "iban", "cardNumber", "card_number", "account_number", "social_security",
        "tax_id", "passport", "passport_number", "passportNo", "Reisepassnummer",
        "numero_de_pasaporte", "номер_паспорта", "护照号码", "secret", "client_secret",
        "api_key", "apiKey", "APIKey", "access_token", "auth_token", "token", "credentials",
        "authorization", "seed_phrase", "mnemonic", "recovery_codes", "backupCodes", "otp",
    ],
)  # fmt: skip
def test_a_key_that_names_a_secret_is_masked_whole(name: str) -> None:
    assert secret_key(name)
    assert mask_value({name: "x"}) == {name: "[MASKED secret]"}


@pytest.mark.parametrize(
    "name",
    [
        "passenger", "compass", "pinned", "spinner", "pinterest", "token_count", "max_tokens",
        "tokens", "prompt_tokens", "token_type", "secretary", "password_hint", "passwordHint",
        "password_policy", "password_length", "pin_length", "password_changed_at",
        "password_expires_at", "secret_name", "key", "keyboard", "boarding_pass", "passed",
        "bypass", "spw", "pwa", "capsule", "code", "zip_code", "seed", "random_seed",
        "passage", "typewriter", "author", "auth_method", "card", "account", "id",
    ],
)  # fmt: skip
def test_an_ordinary_key_keeps_its_value(name: str) -> None:
    assert not secret_key(name)
    assert mask_value({name: "blue"}) == {name: "blue"}


def test_the_whole_value_of_a_secret_named_key_goes_whatever_its_type_and_depth() -> None:
    kinds: list[str] = []
    value = {
        "password": ["hunter2", "Tr0ub4dor&3"],
        "outer": [{"inner": {"Passwort": {"gmail": "Sonnenblume88", "bank": 1234}}}],
        "pw": 4821,
        "pin": [7, 3, 9, 5],
        "credentials": {"user": "alice", "key": "Zx9Yw8Vu7"},
        "mot_de_passe": "",  # says nothing: kept
        "pin_code": None,
        "token": [],
    }
    masked = mask_value(value, kinds)
    assert masked == {
        "password": "[MASKED secret]",
        "outer": [{"inner": {"Passwort": "[MASKED secret]"}}],
        "pw": "[MASKED secret]",
        "pin": "[MASKED secret]",
        "credentials": "[MASKED secret]",
        "mot_de_passe": "",
        "pin_code": None,
        "token": [],
    }
    assert kinds == ["secret"] and mask_value(masked) == masked


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("password (gmail): Cobalt39Finch", "Cobalt39Finch"),
        ("My password (gmail) is Cobalt 39 Finch.", "Cobalt 39 Finch"),
        ("**Password** (work): Tulip-Harbor-88", "Tulip-Harbor-88"),
        ("PIN (bank card): 7391", "7391"),
        ("api key (prod) = abcd1234efgh5678", "abcd1234efgh5678"),
    ],
)
def test_an_aside_in_brackets_between_a_cue_and_its_value_is_a_cue(text: str, secret: str) -> None:
    found = mask(text)
    assert secret not in found.text and "[MASKED " in found.text, found.text
    for described in (
        "the password (see above) is on the fridge",
        "The password (see above) is wrong.",
        "Passwords (all of them) are stored in a manager.",
        "Enter the password (case-sensitive) when asked.",
        "the token (see docs) is required",
    ):
        assert mask(described).text == described


def test_a_url_password_holding_an_at_sign_goes_whole() -> None:
    found = mask("db: postgres://admin:Tr0ub@dor99@db.internal:5432/app")
    assert found.text == "db: postgres://admin:[MASKED password]@db.internal:5432/app"
    for kept in (
        "https://example.com:8080/path?u=a@b.com",
        "ssh://git@github.com:22/x and mail a@b.com",
        "http://host:8080/@foo",
    ):
        assert mask(kept).text == kept
    query = mask("https://user:pw1234@host.com?next=a@b.com").text
    assert query == "https://user:[MASKED password]@host.com?next=a@b.com"


def test_cyrillic_and_greek_lookalikes_in_a_latin_word_are_read_as_latin() -> None:
    key = "sk-ant-api03-Zx9QwErTyUiOpAsDfGhJkLzXcVbNm1234567890abcdEFGH"
    for text in (
        "key " + key.replace("a", "\u0430"),  # Cyrillic a
        key.replace("a", "а").replace("e", "е").replace("o", "ο"),  # and a Greek o
    ):
        found = mask(text)
        assert found.kinds == ("key",) and "bcdEFGH" not in found.text, found.text
        assert "Zx9QwErT" not in found.text, found.text
    found = mask("pаssword: S3cr3tPassw0rd")
    assert "S3cr3tPassw0rd" not in found.text and found.text.startswith("pаssword: ")
    for kept in (
        "Купил iPhone-а за 500 евро, Wi-Fi-сеть работает.",
        "ТОКЕН: abc, Пароль неверный, попробуйте ещё раз.",
    ):
        assert mask(kept).text == kept


def test_texts_found_clean_are_remembered_within_a_bound() -> None:
    """A text the detectors found nothing in is not read again (the write primitive's check
    sees every text a second time); the memory of them is bounded and holds digests, not
    texts, and a text with a secret is never remembered as clean."""
    from octomem.sensitive import _Clean, mask

    clean = _Clean(size=3)
    for text in ("one", "two", "three", "four"):
        clean.add(text)
    assert "one" not in clean and all(t in clean for t in ("two", "three", "four"))
    assert not any(isinstance(key, str) or b"two" in key for key in clean._digests)
    said = "my PIN is 4921 and nothing else"
    assert mask(said).text != said and mask(said).kinds
    assert mask(said).kinds  # asked again: still found, never taken for clean


def test_masking_leaves_the_applications_warnings_visible() -> None:
    """detect-secrets' import captures every warning into a logger with no handler: after
    octomem masked a vendor key, an application's warning still reaches stderr."""
    code = (
        "import warnings\n"
        "from octomem.sensitive import mask_text\n"
        "assert 'AKIA' not in mask_text('key AKIAIOSFODNN7EXAMPLE')\n"
        "warnings.warn('the application speaks')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "UserWarning: the application speaks" in done.stderr


@pytest.mark.parametrize(
    "written",
    [
        "4111 - 1111 - 1111 - 1111",
        "4111\u20131111\u20131111\u20131111",  # en dashes
        "4111\u20101111\u20101111\u20101111",  # Unicode's hyphen
        "4111-1111 1111-1111",  # one gap unlike another
        "4111 1111  1111 1111",
        "4111\t1111\t1111\t1111",
        "4111_1111_1111_1111",
    ],
)
def test_a_card_number_is_found_in_any_spacing(written: str) -> None:
    assert mask(f"card {written} ok").text == "card [MASKED card …1111] ok"


def test_a_card_numbers_expiry_after_a_slash_is_kept_and_the_number_masked() -> None:
    assert mask("4111 1111 1111 1111/12").text == "[MASKED card …1111]/12"
    assert mask("4111111111111111/09/27 ok").text == "[MASKED card …1111]/09/27 ok"
    assert not mask("row 4111111111111111/123 of the export").sensitive  # no month: a path


def test_a_whole_float_is_read_as_the_number_it_holds() -> None:
    masked = mask_value({"amount": 4111111111111111.0, "price": 12.5, "n": 3.0, "pin": 4821.0})
    assert masked == {
        "amount": "[MASKED card …1111]",
        "price": 12.5,
        "n": 3.0,
        "pin": "[MASKED secret]",
    }


def test_a_secret_named_in_one_field_is_masked_in_the_others() -> None:
    value = {"note": "my password is Zq9xT!pw7", "copy": "Zq9xT!pw7", "pin": 4821}
    assert mask_together(value) == {
        "note": "my password is [MASKED password]",
        "copy": "[MASKED password]",
        "pin": "[MASKED secret]",
    }
    text, metadata = mask_together(["now Kestrel-Pine-44", {"password": "Kestrel-Pine-44"}])
    assert text == "now [MASKED secret]" and metadata == {"password": "[MASKED secret]"}
    # a key is a field too: a secret named elsewhere is masked where it is a key
    assert mask_together({"Kiwi55Dune": 1, "notes": ["my password for gmail Kiwi55Dune"]}) == {
        "[MASKED password]": 1,
        "notes": ["my password for gmail [MASKED password]"],
    }


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ('{\\"user\\": \\"bob\\", \\"password\\": \\"Gull-Ferry-31\\"}', "Gull-Ferry-31"),
        ("<b>Password:</b> Orchid4455Lake", "Orchid4455Lake"),
        ("<b>PIN</b>: 7302", "7302"),
    ],
)
def test_a_cue_in_escaped_json_or_html_gives_its_value(text: str, secret: str) -> None:
    masked = mask(text).text
    assert secret not in masked and "[MASKED " in masked
    assert mask("the <b>password</b> field is required").text.endswith("is required")


def test_every_row_of_a_long_table_is_masked_and_other_columns_kept() -> None:
    rows = [f"site{i},user{i},Tulip{i:05d}x" for i in range(5000)]
    text = "service,user,password\n" + "\n".join(rows)
    masked = mask(text).text
    assert "Tulip" not in masked and masked.count(",[MASKED password]\n") == 4999
    assert "site4999,user4999," in masked
    table = "| site | password |\n|---|---|\n" + "\n".join(
        f"| s{i} | P4ss{i}w |" for i in range(3000)
    )
    assert "P4ss" not in mask(table).text and "| s2999 |" in mask(table).text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mysql -u root -phunter2xyz app", "mysql -u root -p[MASKED password] app"),
        ("mysql -uroot -p'hunter2xyz'", "mysql -uroot -p'[MASKED password]'"),
        ('mysqldump -p"hunter2xyz" shop', 'mysqldump -p"[MASKED password]" shop'),
        (
            "sshpass -p hunter2xyz ssh -p 2222 bob@host",
            "sshpass -p [MASKED password] ssh -p 2222 bob@host",
        ),
        ("docker login -u bob -p hunter2xyz r.io", "docker login -u bob -p [MASKED password] r.io"),
        (
            "redis-cli -h db -p 6379 -a hunter2xyz ping",
            "redis-cli -h db -p 6379 -a [MASKED password] ping",
        ),
        # -p names the database after a space, -P is the port, $X is the shell's
        ("mysql -h db -P 3306 -u root -p shop", "mysql -h db -P 3306 -u root -p shop"),
        ('mysql -u root -p"$MYSQL_PWD" shop', 'mysql -u root -p"$MYSQL_PWD" shop'),
        ("docker login -u bob -p $TOKEN r.io", "docker login -u bob -p $TOKEN r.io"),
        ("sshpass -f ~/.pw ssh -p 2222 bob@host", "sshpass -f ~/.pw ssh -p 2222 bob@host"),
    ],
)
def test_a_commands_password_flag_gives_its_password(text: str, masked: str) -> None:
    """mysql -pX (glued only: "mysql -p shop" asks for the password and opens shop),
    sshpass -p X (before the command it runs), docker / podman / helm login -p X,
    redis-cli -a X."""
    assert mask(text).text == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "CREATE USER 'bob'@'%' IDENTIFIED BY 'hunter2xyz';",
            "CREATE USER 'bob'@'%' IDENTIFIED BY '[MASKED password]';",
        ),
        (
            "create user bob identified by sunshine;",
            "create user bob identified by [MASKED password];",
        ),
        (
            "GRANT CONNECT TO scott IDENTIFIED BY tiger; SELECT 1;",
            "GRANT CONNECT TO scott IDENTIFIED BY [MASKED password]; SELECT 1;",
        ),
        ("SET PASSWORD FOR bob = 'hunter2xyz';", "SET PASSWORD FOR bob = '[MASKED password]';"),
        (
            "ALTER USER bob IDENTIFIED BY RANDOM PASSWORD;",
            "ALTER USER bob IDENTIFIED BY RANDOM PASSWORD;",
        ),
        (
            'cur.execute("CREATE USER %s IDENTIFIED BY %s")',
            'cur.execute("CREATE USER %s IDENTIFIED BY %s")',
        ),
        # a statement ends at its semicolon: no user is created in the next one
        (
            "CREATE USER bob; He was identified by 'Ann'.",
            "CREATE USER bob; He was identified by 'Ann'.",
        ),
        ("<Password>sunshine</Password>", "<Password>[MASKED password]</Password>"),
        ("<apiKey>abc123def456</apiKey>", "<apiKey>[MASKED key]</apiKey>"),
        ("<pin>4821</pin>", "<pin>[MASKED pin]</pin>"),
        (
            '<property name="hibernate.connection.password">hunter2xyz</property>',
            '<property name="hibernate.connection.password">[MASKED password]</property>',
        ),
        (
            '<add name="DbPassword" value="sunshine"/>',
            '<add name="DbPassword" value="[MASKED password]"/>',
        ),
        ("<passwordHint>first pet</passwordHint>", "<passwordHint>first pet</passwordHint>"),
        (
            '- name: "DB_PASSWORD"\n  value: "hunter 2xyz"  # prod',
            '- name: "DB_PASSWORD"\n  value: "[MASKED password]"  # prod',
        ),
        (
            "- value: hunter2xyz\n  name: DB_PASSWORD\n",
            "- value: [MASKED password]\n  name: DB_PASSWORD\n",
        ),
        (
            '[{"value": "sunshine", "name": "DB_PASSWORD"}]',
            '[{"value": "[MASKED password]", "name": "DB_PASSWORD"}]',
        ),
        ("- name: API_TOKEN\n  value: enabled", "- name: API_TOKEN\n  value: enabled"),
        ("- name: DB_PASSWORD\n  value: $(DB_PW)", "- name: DB_PASSWORD\n  value: $(DB_PW)"),
    ],
)
def test_sql_xml_and_name_value_pairs_give_the_password_they_name(text: str, masked: str) -> None:
    """The value a statement or a configuration names by its structure: any value under a
    password's name, one that looks generated under a key's or token's, one with a digit
    under a PIN's; not a placeholder for a value given elsewhere."""
    assert mask(text).text == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Authorization: Bearer abc123def4", "Authorization: Bearer [MASKED token]"),
        (
            "Cookie: _ga=GA1.2.3; PHPSESSID=abc123def456xyz; lang=en",
            "Cookie: _ga=GA1.2.3; PHPSESSID=[MASKED token]; lang=en",
        ),
        ("curl -b 'sid=abc123def456xyz' https://x.io", "curl -b 'sid=[MASKED token]' https://x.io"),
        ("Set-Cookie: session_expiry=1700000000", "Set-Cookie: session_expiry=1700000000"),
        ("Bearer abc123def4 is short", "Bearer abc123def4 is short"),  # no header: 12+
    ],
)
def test_a_short_token_after_the_authorization_header_and_a_session_cookie_go(
    text: str, masked: str
) -> None:
    assert mask(text).text == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # a quote that opens the sentence is no quoted value: one mask, whole
        (
            "'G-720481 is your Google verification code.'",
            "'[MASKED code] is your Google verification code.'",
        ),
        ('"Tr0ub4dor&3" is my password', '"[MASKED password]" is my password'),
        # the words before the value stay, read with their possessive, masked once or twice
        (
            "the password for mom's ipad is Biscuit",
            "the password for mom's ipad is [MASKED password]",
        ),
        ("the password for gmail's Tr0ub4dor", "the password for gmail's [MASKED password]"),
        # what follows "password?" is a value only as one token that looks generated
        (
            "What makes a strong password? Mine are all too short I think",
            "What makes a strong password? Mine are all too short I think",
        ),
        ("my password? Zq9xT!pw7", "my password? [MASKED password]"),
    ],
)
def test_a_value_is_masked_as_far_as_it_goes(text: str, masked: str) -> None:
    assert mask(text).text == masked


def test_the_recovery_phrase_checksum_is_bip39s() -> None:
    """`seeds._valid` says what the reference implementation says, on phrases it made and
    on random words of its list (1 in 16 to 1 in 256 of which pass)."""
    import random

    from mnemonic import Mnemonic

    from octomem.sensitive.seeds import _valid

    reference = Mnemonic("english")
    rng = random.Random(7)
    for strength in (128, 160, 192, 224, 256):
        assert _valid(reference.generate(strength).split())
    for _ in range(2000):
        words = [rng.choice(reference.wordlist) for _ in range(rng.choice((12, 15, 18, 21, 24)))]
        assert _valid(words) == reference.check(" ".join(words)), words
