"""The backend-neutral filter language: validation, normalisation, evaluation, splitting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from octomem import filters
from octomem.errors import InvalidInputError
from octomem.models import CoreMemory, EpisodicMemory, MemoryType, ResourceMemory, SemanticMemory
from octomem.stores.chroma_layout import flat_key, plan

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def sem(**overrides: Any) -> SemanticMemory:
    fields: dict[str, Any] = {
        "id": "sem_1",
        "user_id": "alice",
        "content": "Alice drinks Coffee every morning",
        "subject": "alice",
        "attribute": "drink",
        "value": "coffee",
        "confidence": 0.8,
        "created_at": T0,
        "entities": ["Alice", "Coffee"],
        "metadata": {
            "topic": "food",
            "priority": 3,
            "pinned": True,
            "tags": ["morning", "habit"],
            "seen": "2024-02-01T00:00:00+00:00",
            "label": "from-metadata",
        },
    }
    fields.update(overrides)
    return SemanticMemory(**fields)


REC = sem()


def ok(where: Any, record: Any = REC) -> bool:
    return filters.matches(where, record)


# --- operators ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"user_id": "alice"}, True),
        ({"user_id": "bob"}, False),
        ({"user_id": {"eq": "alice"}}, True),
        ({"user_id": {"ne": "alice"}}, False),
        ({"user_id": {"ne": "bob"}}, True),
        ({"user_id": {"in": ["bob", "alice"]}}, True),
        ({"user_id": {"in": []}}, False),
        ({"user_id": {"nin": ["bob", "carol"]}}, True),
        ({"user_id": {"nin": ["alice"]}}, False),
        ({"confidence": {"gt": 0.8}}, False),
        ({"confidence": {"gte": 0.8}}, True),
        ({"confidence": {"lt": 0.8}}, False),
        ({"confidence": {"lte": 0.8}}, True),
        ({"confidence": {"gt": 0.5, "lt": 0.9}}, True),
        ({"confidence": {"gt": 0.5, "lt": 0.7}}, False),
        ({"content": {"contains": "Coffee"}}, True),
        ({"content": {"contains": "coffee"}}, False),  # contains is case-sensitive
        ({"content": {"icontains": "COFFEE"}}, True),
        ({"entities": {"contains": "Alice"}}, True),
        ({"entities": {"contains": "Bob"}}, False),
        ({"entities": {"icontains": "alice"}}, True),
        ({"tags": {"contains": "habit"}}, True),
        ({"tags": {"contains": "hab"}}, False),  # list membership, not substring
        ({"priority": {"contains": 3}}, False),  # neither string nor list
        ({"subject": "alice", "attribute": "drink"}, True),
        ({"subject": "alice", "attribute": "food"}, False),
    ],
)
def test_operators(where: dict[str, Any], expected: bool) -> None:
    assert ok(where) is expected


def test_mem0_spellings() -> None:
    assert ok({"$and": [{"user_id": {"$eq": "alice"}}, {"confidence": {"$gte": 0.5}}]})
    assert ok({"$or": [{"user_id": "bob"}, {"topic": {"$in": ["food"]}}]})
    assert not ok({"$not": {"user_id": "alice"}})
    assert ok({"user_id": {"$ne": "bob"}, "priority": {"$lt": 4}})
    assert ok({"topic": "*"})
    assert not ok({"nothing_here": "*"})
    assert ok({"AND": [{"OR": [{"NOT": {"topic": "work"}}]}]})


def test_logical_combinations() -> None:
    assert ok({"AND": [{"user_id": "alice"}, {"topic": "food"}]})
    assert not ok({"AND": [{"user_id": "alice"}, {"topic": "work"}]})
    assert ok({"OR": [{"user_id": "bob"}, {"topic": "food"}]})
    assert not ok({"OR": [{"user_id": "bob"}, {"topic": "work"}]})
    assert ok({"NOT": {"OR": [{"user_id": "bob"}, {"topic": "work"}]}})
    assert not ok({"NOT": {"AND": [{"user_id": "alice"}, {"topic": "food"}]}})
    assert ok({"NOT": {"NOT": {"user_id": "alice"}}})
    assert ok({"NOT": {"content": {"contains": "tea"}}})
    assert ok({"AND": []}) and ok({}) and ok(None)
    assert not ok({"OR": []})
    assert not ok({"NOT": {}})


# --- fields ------------------------------------------------------------------------------


def test_record_fields_win_over_metadata_keys() -> None:
    core = CoreMemory(id="core_1", content="c", label="human", metadata={"label": "other"})
    assert ok({"label": "human"}, core)
    assert ok({"metadata.label": "other"}, core)
    # a semantic record has no `label` field, so the name falls through to its metadata
    assert ok({"label": "from-metadata"})
    assert ok({"metadata": {"topic": "food", "priority": 3}})
    assert not ok({"metadata": {"topic": "food", "priority": 4}})


def test_internal_keys_are_reached_only_by_name() -> None:
    turn = EpisodicMemory(
        id="epi_1",
        content="user: hi",
        occurred_at=T0,
        actor="user",
        event_type="message",
        summary="user: hi",
        metadata={"role": "caller-role", "batch": 7},
        internal={"role": "user", "batch": "b1", "turn_index": 2, "raw": True},
    )
    # a caller's plain names are their own metadata keys, never octomem's bookkeeping
    assert ok({"role": "caller-role"}, turn) and not ok({"role": "user"}, turn)
    assert ok({"batch": 7}, turn) and not ok({"batch": "b1"}, turn)
    assert not ok({"turn_index": 2}, turn) and not ok({"raw": True}, turn)
    assert ok({"raw": {"exists": False}}, turn)
    # octomem's own queries name them: internal.key, or the {"internal": {...}} shorthand
    assert ok({"internal.role": "user"}, turn) and not ok({"internal.role": "caller-role"}, turn)
    assert ok({"internal.turn_index": {"in": [1, 2, 3]}}, turn)
    assert ok({"internal": {"batch": "b1", "raw": True}}, turn)
    assert not ok({"internal": {"batch": 7}}, turn)
    assert ok({"metadata.batch": 7}, turn) and ok({"NOT": {"internal.batch": 7}}, turn)
    assert filters.resolve_field("internal.batch", type(turn).model_fields) == (
        "internal",
        "batch",
    )
    assert filters.resolve_field("batch", type(turn).model_fields) == ("metadata", "batch")
    assert filters.resolve_field("actor", type(turn).model_fields) == ("record", "actor")


def test_internal_keys_push_down_to_chroma_like_metadata_keys() -> None:
    # recall's neighbour lookup and reprocess's flag are evaluated by Chroma, not in Python
    near = {
        "AND": [
            {"session_id": "s1"},
            {"internal.batch": "b1"},
            {"internal.turn_index": {"in": [1, 3]}},
        ]
    }
    where, residual = plan(EpisodicMemory, near, None)
    assert residual is None
    assert where == {
        "$and": [
            {"session_id": {"$eq": "s1"}},
            {flat_key(None, "internal", "batch"): {"$eq": "b1"}},
            {flat_key(None, "internal", "turn_index"): {"$in": [1.0, 3.0]}},
        ]
    }
    where, residual = plan(EpisodicMemory, {"internal.extraction": "fallback"}, None)
    assert residual is None and where == {
        flat_key(None, "internal", "extraction"): {"$eq": "fallback"}
    }
    where, residual = plan(EpisodicMemory, {"role": "user"}, None, b"k" * 32)
    assert residual is None and where == {flat_key(b"k" * 32, "metadata", "role"): {"$eq": "user"}}
    # a key's name is never stored: Chroma keeps every key it saw, where no forget reaches
    assert "role" not in flat_key(b"k" * 32, "metadata", "role")
    assert flat_key(b"k" * 32, "metadata", "role") != flat_key(b"j" * 32, "metadata", "role")


def test_missing_fields_read_as_none() -> None:
    assert ok({"valid_to": None})
    assert not ok({"valid_to": None}, sem(valid_to=T0))
    assert ok({"unknown": None})
    assert ok({"unknown": {"ne": "x"}})
    assert ok({"unknown": {"nin": ["x"]}})
    assert not ok({"unknown": {"gt": 1}})
    assert not ok({"unknown": {"contains": "x"}})
    assert ok({"agent_id": {"exists": False}})
    assert ok(
        {"uri": "*"}, ResourceMemory(id="r", content="c", title="t", resource_type="pdf", uri="u")
    )
    assert not ok({"uri": "*"}, ResourceMemory(id="r", content="c", title="t", resource_type="pdf"))


def test_memory_type_enum_and_string() -> None:
    assert ok({"memory_type": "semantic"})
    assert ok({"memory_type": MemoryType.SEMANTIC})
    assert ok({"memory_type": {"in": ["episodic", MemoryType.SEMANTIC]}})


def test_booleans_are_not_numbers() -> None:
    assert ok({"pinned": True})
    assert not ok({"pinned": 1})
    assert not ok({"priority": True})
    assert not ok({"pinned": {"gt": 0}})
    assert ok({"priority": 3.0})  # ints and floats compare as numbers


def test_mismatched_types_do_not_match_or_raise() -> None:
    assert not ok({"topic": {"gt": 5}})
    assert not ok({"priority": {"lt": "z"}})
    assert not ok({"priority": "3"})


# --- datetimes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        T0,
        "2024-03-01T12:00:00Z",
        "2024-03-01T12:00:00+00:00",
        "2024-03-01T13:00:00+01:00",
        datetime(2024, 3, 1, 12, 0),  # naive is UTC
        datetime(2024, 3, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_datetimes_compare_as_utc(value: Any) -> None:
    assert ok({"created_at": value})
    assert ok({"created_at": {"gte": value, "lte": value}})
    assert not ok({"created_at": {"gt": value}})
    assert ok({"created_at": {"in": [value]}})


def test_datetime_ranges_and_iso_metadata() -> None:
    assert ok({"created_at": {"gt": "2024-01-01", "lt": T0 + timedelta(seconds=1)}})
    assert not ok({"created_at": {"lt": "2024-01-01T00:00:00Z"}})
    assert ok({"seen": {"lt": T0}})  # an ISO string in metadata against a datetime
    assert ok({"seen": {"gt": datetime(2024, 1, 31, tzinfo=UTC)}})
    for bound in ("not a date", "2026", "tomorrow", 1767225600):  # would match nothing: refused
        with pytest.raises(InvalidInputError, match="created_at"):
            ok({"created_at": {"gte": bound}})
        with pytest.raises(InvalidInputError, match="created_at"):
            ok({"created_at": {"ne": bound}})
        # as a bare value, in a list, or to contain: matching nothing (nin: everything)
        for where in (bound, {"in": [bound]}, {"nin": [bound]}, {"contains": bound}):
            with pytest.raises(InvalidInputError, match="created_at"):
                ok({"created_at": where})
    assert ok({"created_at": {"exists": True}})


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"user_id": {"like": "a%"}}, "'like'"),
        ({"user_id": {"$regex": ".*"}}, "'\\$regex'"),
        ({"$xor": []}, "'\\$xor'"),
        ({"AND": {"user_id": "a"}}, "'AND' needs a list"),
        ({"OR": "x"}, "'OR' needs a list"),
        ({"NOT": ["x"]}, "must be a dict"),
        ({"AND": [1]}, "must be a dict"),
        ({"user_id": {"in": "alice"}}, "'in' on field 'user_id' needs a list"),
        ({"user_id": {"nin": 3}}, "'nin'"),
        ({"confidence": {"gt": None}}, "'gt' on field 'confidence'"),
        ({"confidence": {"lte": [1]}}, "'lte'"),
        ({"confidence": {"gte": True}}, "'gte'"),
        ({"content": {"contains": None}}, "'contains'"),
        ({"content": {"icontains": 3}}, "'icontains'"),
        ({"topic": {"exists": "yes"}}, "'exists'"),
        ({"topic": {}}, "empty operator dict for field 'topic'"),
        ({"": 1}, "non-empty strings"),
        ("user_id = 'alice'", "must be a dict"),
    ],
)
def test_invalid_filters_name_the_problem(where: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        filters.validate(where)
    with pytest.raises(ValueError):  # InvalidInputError is also a ValueError
        filters.matches(where, REC)


def test_validate_normalises() -> None:
    assert filters.validate(None) == {"AND": []}
    assert filters.validate({}) == {"AND": []}
    assert filters.validate({"a": 1}) == {"a": {"eq": 1}}
    assert filters.validate({"a": 1, "b": {"$gt": 2, "lt": 5}}) == {
        "AND": [{"a": {"eq": 1}}, {"b": {"gt": 2}}, {"b": {"lt": 5}}]
    }
    assert filters.validate({"a": "*"}) == {"a": {"exists": True}}
    assert filters.validate({"$or": [{"a": 1}, {"$or": [{"b": 2}]}]}) == {
        "OR": [{"a": {"eq": 1}}, {"b": {"eq": 2}}]
    }
    # negations are pushed down to the leaves where an exact complement exists
    assert filters.validate({"NOT": {"AND": [{"a": 1}, {"b": {"in": [1]}}, {"c": "*"}]}}) == {
        "OR": [{"a": {"ne": 1}}, {"b": {"nin": [1]}}, {"c": {"exists": False}}]
    }
    assert filters.validate({"NOT": {"a": {"gt": 1}}}) == {"NOT": {"a": {"gt": 1}}}
    assert filters.validate({"NOT": {"NOT": {"a": 1}}}) == {"a": {"eq": 1}}
    normal = filters.validate({"$not": {"$or": [{"x": {"$contains": "q"}}, {"y": 2}]}})
    assert filters.validate(normal) == normal  # idempotent


def test_fields_named_like_words_are_fields() -> None:
    record = sem(metadata={"and": "x", "ID": "y"})
    assert ok({"and": "x"}, record)
    assert ok({"ID": "y"}, record)


def test_predicate_validates_once() -> None:
    check = filters.predicate({"topic": "food"})
    assert check(REC) and not check(sem(metadata={"topic": "work"}))
    with pytest.raises(InvalidInputError):
        filters.predicate({"topic": {"bogus": 1}})


# --- splitting ---------------------------------------------------------------------------


def _only_eq_on_user(field: str, op: str, value: Any) -> bool:
    return field == "user_id" and op in ("eq", "ne")


@pytest.mark.parametrize(
    ("where", "pushed", "residual"),
    [
        ({"user_id": "a"}, {"user_id": {"eq": "a"}}, None),
        ({"topic": "x"}, None, {"topic": {"eq": "x"}}),
        ({"user_id": "a", "topic": "x"}, {"user_id": {"eq": "a"}}, {"topic": {"eq": "x"}}),
        (
            {"OR": [{"user_id": "a"}, {"user_id": "b"}]},
            {"OR": [{"user_id": {"eq": "a"}}, {"user_id": {"eq": "b"}}]},
            None,
        ),
        (
            {"OR": [{"user_id": "a"}, {"topic": "x"}]},
            None,
            {"OR": [{"user_id": {"eq": "a"}}, {"topic": {"eq": "x"}}]},
        ),
        ({"NOT": {"user_id": "a"}}, {"user_id": {"ne": "a"}}, None),
        ({"user_id": {"in": ["a"]}}, None, {"user_id": {"in": ["a"]}}),
        ({}, None, None),
        ({"OR": []}, None, {"OR": []}),
    ],
)
def test_split(where: Any, pushed: Any, residual: Any) -> None:
    assert filters.split(where, _only_eq_on_user) == (pushed, residual)


def test_split_parts_recombine_to_the_same_answer() -> None:
    where = {
        "$and": [
            {"user_id": {"$ne": "bob"}},
            {"$not": {"$or": [{"topic": "work"}, {"confidence": {"$lt": 0.3}}]}},
        ]
    }
    pushed, residual = filters.split(where, _only_eq_on_user)
    assert pushed == {"user_id": {"ne": "bob"}}
    records = [REC, sem(user_id="bob"), sem(metadata={"topic": "work"}), sem(confidence=0.1)]
    for record in records:
        recombined = ok(pushed, record) and ok(residual, record)
        assert recombined == ok(where, record)


# --- documents: LangGraph's store syntax over JSON values -------------------------------

DOC = {"n": 2, "tags": ["a", "b"], "meta": {"lang": "en", "v": [1, {"k": 3}]}, "none": None}


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (None, True),
        ({}, True),
        ({"n": 2}, True),
        ({"n": {"$gt": 1, "$lte": 2}}, True),
        ({"n": {"$ne": 2}}, False),
        ({"n": True}, False),  # booleans never equal numbers
        ({"absent": None, "none": None}, True),
        ({"meta": {"lang": "en"}}, True),
        ({"meta": {"v": [1, {"k": {"$gte": 3}}]}}, True),
        ({"meta": {"v": [1]}}, False),  # a list matches one of its own length
        ({"meta": {"v": [1, {"k": 3}, None]}}, False),
        ({"n": {"lang": None}}, False),  # a nested key of a number: nothing to read
        ({"none": {}}, False),  # {} asks for a dict
        ({"meta": {}}, True),
        ({"tags": {"$eq": ["a", "b"]}}, True),
        ({"meta.lang": "en"}, False),  # a key with a dot is that key, not a path
    ],
)
def test_document_predicate(where: Any, expected: bool) -> None:
    assert filters.document_predicate(where)(DOC) is expected


@pytest.mark.parametrize(
    "where",
    [
        {"n": {"$in": [1]}},  # octomem's operators are not LangGraph's
        {"n": {"$gt": 1, "lang": "en"}},
        {"n": {"$gt": None}},
        ["n"],
    ],
)
def test_document_predicate_rejects_what_it_cannot_evaluate(where: Any) -> None:
    with pytest.raises(InvalidInputError):
        filters.document_predicate(where)


def test_document_predicate_depth_is_bounded() -> None:
    deep: dict[str, Any] = {"k": 1}
    for _ in range(filters.MAX_DEPTH + 1):
        deep = {"k": deep}
    with pytest.raises(InvalidInputError, match="nested"):
        filters.document_predicate(deep)


def test_in_over_many_strings_matches_as_equality_does() -> None:
    """`in` / `nin` look strings up in a set; a value that equals a string only after
    conversion (a datetime beside an ISO string) is still found, a number or a boolean
    never equals a string."""
    ids = [f"sem_{n}" for n in range(1_000)]
    assert ok({"id": {"in": ids}}) and not ok({"id": {"nin": ids}})
    assert not ok({"id": {"in": ids[2:]}}) and ok({"id": {"nin": ids[2:]}})
    assert ok({"seen": {"in": [1, True, datetime(2024, 2, 1, tzinfo=UTC)]}})
    assert not ok({"seen": {"in": [1, True, datetime(2024, 2, 2, tzinfo=UTC)]}})
    assert not ok({"priority": {"in": ["3"]}}) and ok({"priority": {"in": ["3", 3]}})
    assert ok({"OR": [{"NOT": {"user_id": {"nin": ["x", "alice"]}}}, {"id": "none"}]})


def test_pinned_ids_are_those_an_id_condition_confines_the_filter_to() -> None:
    from octomem.stores.chroma_layout import pinned_ids

    assert pinned_ids({"id": {"in": ["a", "b", "a"]}}) == ["a", "b"]
    assert pinned_ids({"AND": [{"user_id": "u"}, {"id": {"in": ["a"]}}]}) == ["a"]
    assert pinned_ids({"user_id": "u", "id": {"in": []}}) == []
    for unpinned in (None, {}, {"user_id": "u"}, {"OR": [{"id": {"in": ["a"]}}, {"x": 1}]}):
        assert pinned_ids(unpinned) is None
    assert pinned_ids({"id": {"nin": ["a"]}}) is None


def test_a_long_list_of_ids_is_checked_as_any_value() -> None:
    """A list of plain ids skips the cleaning copy (`_plain_ids`), not the checks: ids are
    kept as given, and control characters, lone surrogates and size are still refused."""
    ids = [f"sem_{n:04d}" for n in range(500)]
    assert filters.validate({"id": {"in": tuple(ids)}}) == {"id": {"in": ids}}
    assert filters.validate({"user_id": {"nin": ["a b", "Zoë"]}}) == {
        "user_id": {"nin": ["a b", "Zoë"]}
    }
    for bad in (["ok", "bad\x01"], ["\ud800"], ["x" * 1000] * 120):
        with pytest.raises(InvalidInputError):
            filters.validate({"id": {"in": bad}})


def test_not_over_a_list_is_none_of_them_as_mem0_writes_it() -> None:
    records = [sem(metadata={"category": c, "n": n}) for c, n in (("x", 1), ("y", 2), ("z", 3))]
    check = filters.predicate({"NOT": [{"category": "x"}, {"n": {"gte": 3}}]})
    assert [r.metadata["category"] for r in records if check(r)] == ["y"]
    assert filters.validate({"NOT": []}) == {"AND": []}  # none of nothing: everything
    with pytest.raises(InvalidInputError, match=r"at filter\.NOT\[1\]"):
        filters.validate({"NOT": [{"category": "x"}, "y"]})


def test_a_filter_of_too_many_conditions_is_refused_even_when_built_of_checked_parts() -> None:
    """A validated filter is not walked again when it is validated inside another (a recall
    validates its filter in each step), but its conditions still count: two halves that
    pass alone are refused together."""
    half = filters.validate({"OR": [{"topic": f"t{i}"} for i in range(600)]})
    assert filters.validate({"AND": [half, {"user_id": "alice"}]})["AND"][0] == half
    with pytest.raises(InvalidInputError, match="more than 1000 conditions"):
        filters.validate({"AND": [half, half]})
    with pytest.raises(InvalidInputError, match="more than 1000 conditions"):
        filters.validate({"OR": [{"topic": f"t{i}"} for i in range(1200)]})


def test_a_validated_filter_validated_again_selects_the_same_records() -> None:
    raw = {"user_id": "alice", "metadata": {"topic": "food"}, "NOT": {"confidence": {"lt": 0.5}}}
    once = filters.validate(raw)
    twice = filters.validate({"AND": [once]})
    assert twice == once
    assert filters.matches(twice, sem()) and filters.matches(once, sem())
    assert not filters.matches(twice, sem(confidence=0.2))
    pushed, rest = filters.split(once, lambda field, op, value: field == "user_id")
    assert pushed == {"user_id": {"eq": "alice"}}
    assert filters.matches(rest, sem()) and not filters.matches(rest, sem(confidence=0.2))
