"""The shared checks of callers' values: limits hold exactly at their edges, and nothing
a caller passes makes them fail with anything but InvalidInputError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from octomem import InvalidInputError, filters
from octomem.validation import (
    MAX_DEPTH,
    MAX_INT,
    check_json,
    check_name,
    clean_text,
    has_control,
    json_depth,
    parse_json,
    printable,
    shown,
    validate_scope_id,
)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"k": value}
    return value


def test_depth_and_integer_limits_hold_at_their_edges() -> None:
    assert check_json(_nested(MAX_DEPTH), name="v") == _nested(MAX_DEPTH)
    with pytest.raises(InvalidInputError, match="nested more than 16"):
        check_json(_nested(MAX_DEPTH + 1), name="v")
    assert check_json([MAX_INT, -MAX_INT], name="v") == [MAX_INT, -MAX_INT]
    for number in (MAX_INT + 1, -MAX_INT - 1):
        with pytest.raises(InvalidInputError, match="out of range"):
            check_json({"n": number}, name="v")


def test_size_is_refused_before_a_huge_value_is_walked() -> None:
    assert check_json({"a": "x" * 91}, name="v", max_chars=100)  # {"a": "x..."}: 100 chars
    with pytest.raises(InvalidInputError, match="limit is 100"):
        check_json({"a": "x" * 92}, name="v", max_chars=100)
    with pytest.raises(InvalidInputError, match="more than 100 characters"):
        check_json([0] * 10_000_000, name="v", max_chars=100)


def test_parse_json_bounds_depth_before_parsing_and_ignores_brackets_in_strings() -> None:
    text = json.dumps({"a": "[" * 1_000, "b": [[1]]})
    assert json_depth(text) == 3
    assert parse_json(text, "x") == json.loads(text)
    for bad, says in [
        ("[" * 65 + "]" * 65, "nested 65 levels"),
        ('{"n": ' + "1" * 101 + "}", "101 digits"),
        ("{", "not JSON"),
    ]:
        with pytest.raises(InvalidInputError, match=says):
            parse_json(bad, "x")


class _Broken:
    def __repr__(self) -> str:
        raise RuntimeError("no")


def test_shown_renders_anything_shortly() -> None:
    loop: list[Any] = []
    loop.append(loop)
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert "5,001 digits" in shown(10**5000)
    for value in (loop, deep, _Broken(), "x" * 1_000_000, {"k": 10**5000}):
        assert len(shown(value)) < 200


@pytest.mark.parametrize(
    ("first", "second"),
    [("caf\u00e9", "cafe\u0301"), ("a", "a\u200b"), ("x", "x\u00ad"), ("", "\ufeff")],
)
def test_keys_that_normalize_to_one_key_are_refused_not_merged(first: str, second: str) -> None:
    """Keys are cleaned as text is (NFC, invisible characters removed): two keys that
    become one would keep one value and silently drop the other."""
    for value in ({first: 1, second: 2}, {"outer": [{first: 1, second: 2}]}):
        with pytest.raises(InvalidInputError, match="one key"):
            check_json(value, name="metadata")
    assert check_json({first: 1, "other": 2}, name="metadata") == {
        check_json(first, name="k"): 1,
        "other": 2,
    }


# the explicit bidi controls: embeddings, overrides, their end (LRE RLE PDF LRO RLO) and
# isolates (LRI RLI FSI PDI)
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@pytest.mark.parametrize("control", list(BIDI_CONTROLS))
def test_a_bidi_control_is_removed_from_text_and_refused_in_ids_as_a_control_character_is(
    control: str,
) -> None:
    """ "Trojan Source": an override or isolate makes a memory display as other text (the
    inspector, the CLI, a prompt). Text drops them, as it drops ESC; an id, which must
    round-trip exactly, refuses them, as it refuses ESC; a name shown is escaped."""
    assert clean_text(f"pay {control}Paris\x1b{control} now", "text") == "pay Paris now"
    assert check_json({"note": f"a{control}b"}, name="metadata") == {"note": "ab"}
    assert has_control(f"a{control}b")
    for refuse in (
        lambda: validate_scope_id("user_id", f"alice{control}"),
        lambda: check_name(f"key{control}", "a key", limit=100),
        lambda: check_json({f"k{control}": 1}, name="metadata"),
    ):
        with pytest.raises(InvalidInputError, match="control character"):
            refuse()
    assert printable(f"a{control}b") == f"a\\u{ord(control):04x}b"


def test_the_bidi_marks_are_ordinary_text_and_kept() -> None:
    """LRM, RLM and ALM reorder nothing (each is one strong letter): right-to-left text
    needs them to place its digits and punctuation, and ids may hold them."""
    text = "\u05e9\u05dc\u05d5\u05dd 123\u200f! a\u200eb \u0645\u061c1"
    assert clean_text(text, "text") == text
    assert validate_scope_id("user_id", "\u05e9\u200f") == "\u05e9\u200f"
    assert not has_control(text) and printable(text) == text


@pytest.mark.parametrize("control", list(BIDI_CONTROLS))
def test_an_id_stored_before_it_refused_bidi_controls_is_still_named_by_reads_and_erasures(
    control: str,
) -> None:
    """Ids (and LangGraph namespace labels and keys) held the bidi controls before they
    were refused; a read or an erasure names what is stored (`existing`), so such an id
    passes there - and in a filter, which only selects - while C0 and C1, which no id ever
    held, are refused everywhere."""
    stored = f"bob{control}"
    assert validate_scope_id("user_id", stored, existing=True) == stored
    assert check_name(stored, "a key", limit=100, existing=True) == stored  # LangGraph's
    assert filters.validate({"user_id": {"in": [stored, "ann"]}}) == {
        "user_id": {"in": [stored, "ann"]}
    }
    for never in ("bob\x1b", "bob\x85", "bob\n"):
        with pytest.raises(InvalidInputError, match="control character"):
            validate_scope_id("user_id", never, existing=True)
        with pytest.raises(InvalidInputError, match="control character"):
            check_name(never, "a key", limit=100, existing=True)
        with pytest.raises(InvalidInputError, match="control character"):
            filters.validate({"user_id": never})
