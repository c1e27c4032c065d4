"""mask(): every secret form of the corpus goes, ordinary text stays as it was."""

from __future__ import annotations

import pytest
from stdnum import iban, luhn
from stdnum.us import ssn

from octomem.sensitive import mask, mask_value
from tests.data.secret_corpus import NEGATIVES, SECRETS, Secret


def test_the_corpus_is_as_large_and_as_real_as_it_claims() -> None:
    assert len(SECRETS) >= 60 and len(NEGATIVES) >= 30
    kinds = {s.kind for s in SECRETS}
    vendors = {"aws", "github", "gitlab", "slack", "stripe", "openai", "anthropic", "google"}
    assert vendors <= kinds
    for secret in SECRETS:  # checksummed numbers in the corpus really pass their check
        digits = "".join(c for c in secret.value if c.isalnum())
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
    text = " ".join(s.sentence for s in SECRETS)
    once = mask(text)
    assert all(leak not in once.text for s in SECRETS for leak in s.leaks)
    assert mask(once.text).text == once.text


def test_the_masked_form_names_the_kind_and_keeps_only_a_card_or_keys_last_four() -> None:
    assert mask("card 4111-1111-1111-1111 ok").text == "card [MASKED card …1111] ok"
    assert mask("My PIN is 4821.").text == "My PIN is [MASKED pin]."
    assert mask("my password is hunter2").text == "my password is [MASKED password]"
    assert mask("iban DE89370400440532013000").text == "iban [MASKED iban …3000]"
    assert mask("key AKIAIOSFODNN7EXAMPLE").text == "key [MASKED key …MPLE]"


def test_a_passphrase_ends_with_its_clause() -> None:
    text = "My password is correct horse battery staple and my username is alice."
    assert mask(text).text == "My password is [MASKED password] and my username is alice."


def test_a_card_number_that_fails_its_checksum_is_kept() -> None:
    assert not mask("order 4111 1111 1111 1112 shipped").sensitive


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
