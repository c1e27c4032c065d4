from __future__ import annotations

import base64
import re
import sys
import types
from datetime import UTC, datetime, timedelta, timezone

import pytest
from langchain_core.messages import (
    AIMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from octomem.errors import InvalidInputError
from octomem.messages import (
    MAX_MESSAGE_CHARS,
    normalize_messages,
    validate_scope_id,
)
from octomem.models import Turn

NOW = datetime(2024, 5, 8, 12, 0, tzinfo=UTC)


def norm(messages, **kwargs) -> list[Turn]:
    kwargs.setdefault("session_id", "s1")
    return normalize_messages(messages, now=NOW, **kwargs)


def error_of(messages, **kwargs) -> str:
    with pytest.raises(InvalidInputError) as info:
        norm(messages, **kwargs)
    return str(info.value)


# --- accepted shapes -------------------------------------------------------------------


def test_string_is_one_user_message():
    [turn] = norm("I moved to Berlin.")
    assert turn.role == "user"
    assert turn.content == "I moved to Berlin."
    assert turn.index == 0
    assert turn.session_id == "s1"
    assert turn.timestamp == NOW
    assert turn.id.startswith("turn_") and len(turn.id) == len("turn_") + 24


def test_single_dict():
    [turn] = norm({"role": "assistant", "content": "Noted.", "name": "bot"})
    assert (turn.role, turn.content, turn.name) == ("assistant", "Noted.", "bot")


def test_list_of_dicts_and_strings_keeps_order_and_indexes():
    turns = norm(
        [
            {"role": "system", "content": "be brief"},
            "hello",
            {"role": "assistant", "content": "hi"},
            {"role": "tool", "content": "42"},
        ]
    )
    assert [t.role for t in turns] == ["system", "user", "assistant", "tool"]
    assert [t.index for t in turns] == [0, 1, 2, 3]
    assert len({t.id for t in turns}) == 4


def test_tuple_is_accepted():
    assert len(norm(("a", "b"))) == 2


@pytest.mark.parametrize(
    ("given", "role"), [("human", "user"), ("ai", "assistant"), ("User", "user")]
)
def test_role_aliases(given, role):
    assert norm({"role": given, "content": "x"})[0].role == role


def test_external_id_metadata_and_extra_keys():
    [turn] = norm(
        {
            "role": "user",
            "content": "hi",
            "id": "D1:3",
            "metadata": {"speaker": "Caroline"},
            "img_url": "http://x/y.png",
        }
    )
    assert turn.external_id == "D1:3"
    assert turn.metadata == {"speaker": "Caroline", "img_url": "http://x/y.png"}


def test_integer_external_id_becomes_string():
    assert norm({"role": "user", "content": "hi", "id": 7})[0].external_id == "7"


@pytest.mark.parametrize("given", ["a\x00b", "m1\x1b[31m", "line\nbreak", "a\x85b", "m\u202e1"])
def test_external_id_with_a_control_character_is_refused_not_changed(given):
    """An id names one message: "a\x00b" stored as "ab" would name another."""
    msg = error_of({"role": "user", "content": "hi", "id": given})
    assert msg.startswith("messages: 'id' contains a control character"), msg
    assert norm({"role": "user", "content": "hi", "id": "ab"})[0].external_id == "ab"


def test_external_id_length_is_bounded():
    assert len(norm({"role": "user", "content": "hi", "id": "m" * 1_000})[0].external_id) == 1_000
    assert "the limit is 1,000" in error_of({"role": "user", "content": "hi", "id": "m" * 1_001})
    assert "the limit is 1,000" in error_of([HumanMessage("hi", id="m" * 5_000)])


def test_content_whitespace_stripped_and_crlf_normalised_otherwise_verbatim():
    [turn] = norm({"role": "user", "content": "  line one\r\n  line  two\t\n\n"})
    assert turn.content == "line one\n  line  two"


def test_utf8_bytes_content_is_decoded():
    assert norm({"role": "user", "content": "café".encode()})[0].content == "café"
    assert norm("naïve".encode())[0].content == "naïve"


@pytest.mark.parametrize(
    "name", ["a\x1b[31mb.txt", "n\x00ul.txt", "bell\x07.txt", "c1\x9bm.txt", "rlo\u202etxt.exe"]
)
def test_a_file_parts_name_reaches_the_text_without_control_characters(name):
    """The marker line of a file part quotes its name as given: it joins the turn's text,
    which holds no control character (an ESC would drive a terminal that prints it)."""
    data = "data:text/plain;base64," + base64.b64encode(b"I live in Paris.").decode()
    part = {"type": "file", "file": {"filename": name, "file_data": data}}
    [turn] = norm({"role": "user", "content": [{"type": "text", "text": "notes"}, part]})
    bidi = "\u202a-\u202e\u2066-\u2069"  # embeddings, overrides, isolates
    assert not re.search(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{bidi}]", turn.content), repr(turn.content)
    assert re.sub(f"[\x00-\x1f\x7f-\x9f{bidi}]", "", name) in turn.content


def test_list_of_text_parts_in_dict_is_joined():
    [turn] = norm({"role": "user", "content": [{"type": "text", "text": "a"}, "b"]})
    assert turn.content == "ab"


# --- LangChain -------------------------------------------------------------------------


def test_langchain_messages():
    turns = norm(
        [
            SystemMessage("You are helpful."),
            HumanMessage("I love hiking.", name="alice", id="m1"),
            AIMessage("Great!", id="m2"),
            ToolMessage("sunny", tool_call_id="call_1"),
        ]
    )
    assert [t.role for t in turns] == ["system", "user", "assistant", "tool"]
    assert turns[1].name == "alice"
    assert turns[1].external_id == "m1"
    assert turns[2].external_id == "m2"
    assert turns[3].metadata["tool_call_id"] == "call_1"


def test_messages_are_read_while_another_thread_imports_langchain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first import of LangChain in another thread (the LangGraph store, the tools) leaves
    its modules half-initialised in `sys.modules` until it ends: plain messages are read all
    the same, not failed with the import's AttributeError."""
    for name in ("langchain_core.messages", "langchain_core.messages.base"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))  # as an import leaves them
    [turn] = norm([{"role": "user", "content": "I moved to Berlin."}])
    assert turn.content == "I moved to Berlin."


def test_langchain_list_content_text_parts_joined():
    msg = HumanMessage(
        content=[{"type": "text", "text": "Hello "}, {"type": "text", "text": "you"}]
    )
    assert norm([msg])[0].content == "Hello you"


def test_langchain_non_text_parts_recorded_not_stored():
    """Parts octomem does not read (audio) are noted and left out; image and file parts
    are read (tests/unit/test_media_parts.py)."""
    msg = HumanMessage(
        content=[{"type": "text", "text": "look"}, {"type": "input_audio", "input_audio": {}}]
    )
    [turn] = norm([msg])
    assert turn.content == "look"
    assert turn.internal["non_text_parts"] == ["input_audio"]
    assert turn.metadata == {}  # octomem's note, not the caller's metadata


def test_langchain_audio_only_is_rejected_with_hint():
    msg = HumanMessage(content=[{"type": "input_audio", "input_audio": {}}])
    assert "store images and files as a resource" in error_of([msg])


def test_langchain_image_that_cannot_be_read_says_which_part():
    msg = HumanMessage(content=[{"type": "image_url", "image_url": {"url": "no/such.png"}}])
    assert "content part 0 (image_url): 'no/such.png' is not a file that exists" in error_of([msg])


def test_langchain_chat_message_role():
    assert norm([ChatMessage(role="assistant", content="x")])[0].role == "assistant"
    assert "role 'robot'" in error_of([ChatMessage(role="robot", content="x")])


def test_assistant_tool_call_without_content_is_rendered():
    msg = AIMessage(
        content="", tool_calls=[{"name": "weather", "args": {"city": "Oslo"}, "id": "c"}]
    )
    [turn] = norm([msg])
    assert turn.content == '[tool call] weather({"city": "Oslo"})'
    assert turn.metadata["tool_calls"][0]["name"] == "weather"
    openai_style = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": '{"a": 1}'}}],
    }
    assert norm(openai_style)[0].content == '[tool call] f({"a": 1})'


# --- timestamps ------------------------------------------------------------------------


def test_timestamp_precedence():
    explicit = datetime(2023, 1, 1, tzinfo=UTC)
    arg = datetime(2022, 6, 1, tzinfo=UTC)
    turns = norm(
        [{"role": "user", "content": "a", "timestamp": explicit}, "b"],
        timestamp=arg,
    )
    assert turns[0].timestamp == explicit
    assert turns[1].timestamp == arg
    assert norm("c")[0].timestamp == NOW


@pytest.mark.parametrize(
    "value",
    [
        "2023-05-08T13:56:00Z",
        "2023-05-08T15:56:00+02:00",
        "2023-05-08 13:56:00",
        datetime(2023, 5, 8, 13, 56),
        datetime(2023, 5, 8, 15, 56, tzinfo=timezone(timedelta(hours=2))),
        1683554160,
        1683554160.0,
    ],
)
def test_timestamp_forms_are_utc(value):
    ts = norm({"role": "user", "content": "x", "timestamp": value})[0].timestamp
    assert ts == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert ts.tzinfo is not None and ts.utcoffset() == timedelta(0)


def test_naive_arguments_taken_as_utc():
    [turn] = normalize_messages("x", session_id=None, now=datetime(2024, 1, 1, 9))
    assert turn.timestamp == datetime(2024, 1, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize("value", ["yesterday", "1:56 pm on 8 May, 2023", float("nan"), 1e20, [1]])
def test_bad_timestamps(value):
    msg = error_of(
        [{"role": "user", "content": "x"}, {"role": "user", "content": "y", "timestamp": value}]
    )
    assert msg.startswith("messages[1]: timestamp")


# --- ids -------------------------------------------------------------------------------


def test_ids_are_deterministic_and_depend_on_inputs():
    a = norm(["x", "y"])
    assert [t.id for t in a] == [t.id for t in norm(["x", "y"])]
    assert a[0].id != norm(["x", "y"], session_id="s2")[0].id
    assert a[0].id != norm(["x", "y"], timestamp=datetime(2020, 1, 1))[0].id
    assert a[0].id != norm([{"role": "assistant", "content": "x"}])[0].id
    assert a[1].id != norm(["y"])[0].id  # index matters


# --- validation ------------------------------------------------------------------------


def test_empty_list():
    assert "empty list" in error_of([])


@pytest.mark.parametrize("content", ["", "   \n\t "])
def test_empty_content(content):
    assert error_of([{"role": "user", "content": content}]).startswith(
        "messages[0]: content is empty or only whitespace"
    )
    assert "content is empty" in error_of(content)


@pytest.mark.parametrize(("content", "kind"), [(5, "int"), (None, "NoneType"), ({"a": 1}, "dict")])
def test_non_string_content(content, kind):
    msg = error_of([{"role": "user", "content": content}])
    assert msg.startswith("messages[0]: content must be a string")
    assert kind in msg


def test_unknown_role_names_position():
    msg = error_of(["a", "b", {"role": "robot", "content": "beep"}])
    assert msg.startswith("messages[2]: role 'robot' is not one of user, assistant, system, tool")
    assert "Nothing was stored" in msg


@pytest.mark.parametrize("role", [None, 3, "function", "developer"])
def test_other_roles_rejected(role):
    assert "is not one of user, assistant, system, tool" in error_of({"role": role, "content": "x"})


def test_missing_keys():
    assert "missing key 'role'" in error_of([{"content": "x"}])
    assert "missing key 'content'" in error_of([{"role": "user"}])
    assert "missing key 'role' and 'content'" in error_of([{"text": "x"}])


def test_bad_top_level_and_item_types():
    assert "got int" in error_of(42)
    assert "messages[1]: expected a string" in error_of(["ok", 3.5])


def test_bad_metadata_name_id():
    assert "'metadata' must be a dict" in error_of(
        {"role": "user", "content": "x", "metadata": [1]}
    )
    assert "'name' must be a string" in error_of({"role": "user", "content": "x", "name": 1})
    assert "'id' must be" in error_of({"role": "user", "content": "x", "id": {"a": 1}})


def test_one_megabyte_message_is_rejected_with_advice():
    big = "a" * 1_000_000
    msg = error_of(["fine", big])
    assert msg.startswith("messages[1]: content is 1,000,000 characters")
    assert f"{MAX_MESSAGE_CHARS:,}" in msg
    assert "Split it" in msg and "resource" in msg


def test_size_limit_is_configurable_and_inclusive():
    assert norm("a" * 10, max_message_chars=10)[0].content == "a" * 10
    assert "limit is 9" in error_of("a" * 10, max_message_chars=9)
    assert len(norm("a" * MAX_MESSAGE_CHARS)[0].content) == MAX_MESSAGE_CHARS


def test_lone_surrogate_rejected():
    msg = error_of([{"role": "user", "content": "ok \ud800 no"}])
    assert msg.startswith("messages[0]: content contains a lone surrogate")
    assert "position 3" in msg


def test_invalid_utf8_bytes_rejected():
    msg = error_of([{"role": "user", "content": b"ok \xff\xfe"}])
    assert msg.startswith("messages[0]: content is not valid UTF-8")


def test_all_or_nothing_lists_every_problem():
    msg = error_of(["fine", {"role": "robot", "content": "x"}, "", {"role": "user"}])
    assert msg.startswith("3 messages are invalid; nothing was stored")
    assert "messages[1]: role 'robot'" in msg
    assert "messages[2]: content is empty" in msg
    assert "messages[3]: missing key 'content'" in msg
    assert "messages[0]" not in msg


def test_session_id_is_validated():
    assert "session_id" in error_of("x", session_id="bad\nid")


# --- scope ids -------------------------------------------------------------------------


def test_validate_scope_id():
    assert validate_scope_id("agent_id", None) is None
    assert validate_scope_id("agent_id", "planner-1") == "planner-1"
    assert validate_scope_id("session_id", "s" * 256) == "s" * 256
    with pytest.raises(
        InvalidInputError, match="session_id is 257 characters long; the limit is 256"
    ):
        validate_scope_id("session_id", "s" * 257)
    with pytest.raises(InvalidInputError, match="agent_id must be a string"):
        validate_scope_id("agent_id", 3)
    with pytest.raises(InvalidInputError, match="agent_id contains a control character '\\\\t'"):
        validate_scope_id("agent_id", "a\tb")
    with pytest.raises(InvalidInputError, match="agent_id is empty"):
        validate_scope_id("agent_id", " ")
    with pytest.raises(InvalidInputError, match="lone surrogate"):
        validate_scope_id("agent_id", "a\udfffb")
