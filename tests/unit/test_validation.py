"""The shared checks of callers' values: limits hold exactly at their edges, and nothing
a caller passes makes them fail with anything but InvalidInputError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from octomem import InvalidInputError
from octomem.validation import MAX_DEPTH, MAX_INT, check_json, json_depth, parse_json, shown


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
