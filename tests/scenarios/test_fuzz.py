"""Property-based fuzzing of every public entry point: whatever a caller passes, a call
either works or raises an `OctomemError` subclass with a message, and a call that fails
leaves every store exactly as it was. Stored text never holds control characters.

The runs are derandomised (the same examples in every CI run); set OCTOMEM_FUZZ_EXAMPLES
to explore more, e.g. `OCTOMEM_FUZZ_EXAMPLES=2000 pytest tests/scenarios/test_fuzz.py`,
which also draws new random examples.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octomem import Memory, OctomemError, Orchestrator
from octomem.agents.semantic.prompt import Fact, SemanticOutput
from octomem.cli import run
from octomem.embeddings import Embedder
from octomem.models import CoreMemory
from octomem.prompts.extraction import ExtractionOutput
from octomem.settings import load_settings
from octomem.testing import ScriptedModel, ScriptedRequest, from_extraction

EXAMPLES = int(os.environ.get("OCTOMEM_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=EXAMPLES or 60,
    derandomize=not EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
CALLS: Counter[str] = Counter()  # examples run per entry point, reported at the end
# control characters, and the bidi embeddings, overrides and isolates
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# --- strategies ------------------------------------------------------------------------

# any code point, lone surrogates and control characters included
any_char = st.characters(codec=None, exclude_categories=())
any_text = st.text(any_char, max_size=40)
words = st.sampled_from(
    ["I live in Paris.", "My name is Ann.", "I love tea", "x", " ", "", "\x00", "I work at Acme"]
)
texts = st.one_of(any_text, words, st.builds(lambda a, b: a + b, words, any_text))


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


# values Python itself cannot handle, or the stores cannot hold: integers whose text is
# over 4,300 digits (ValueError) or beyond what Chroma and JSON readers hold exactly,
# nesting past the recursion limit (RecursionError), a value larger than a message
# (built by a function: hypothesis renders a strategy's constants, and repr() of 10**5000
# raises)
huge_ints = st.sampled_from([(10, 5000), (-10, 5001), (10, 400), (2, 64), (2, 63), (2, 53)]).map(
    lambda base_power: base_power[0] ** base_power[1]
)
extremes = st.one_of(
    huge_ints,
    st.sampled_from([2_000]).map(nested),
    st.sampled_from([2_000]).map(lambda depth: {"deep": nested(depth)}),
    st.sampled_from([200_000]).map(lambda size: "x" * size),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
    st.binary(max_size=8),
    st.datetimes(),
    extremes,
)
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(texts, st.integers()), inner, max_size=3),
        st.sets(st.integers(), max_size=2),
    ),
    max_leaves=8,
)
# dicts that hold the extremes more often than json_like does: metadata, store values
json_dicts = st.dictionaries(
    st.one_of(texts, st.integers(), huge_ints), st.one_of(extremes, json_like), max_size=3
)
metadatas = st.one_of(json_like, json_dicts)
scope_ids = st.one_of(st.none(), st.just("fuzz"), st.just("other"), texts, st.integers(), extremes)
limits = st.one_of(st.none(), st.integers(-3, 5), st.floats(), st.booleans(), texts, extremes)
stamps = st.one_of(
    st.none(),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.integers(),
    st.floats(),
    texts,
)
memory_types = st.one_of(
    st.none(),
    st.sampled_from(["semantic", "core", "episodic", "nope", ""]),
    st.lists(st.one_of(st.sampled_from(["semantic", "working"]), texts, st.none()), max_size=3),
    st.integers(),
)
message = st.one_of(
    texts,
    st.fixed_dictionaries(
        {"role": st.one_of(st.sampled_from(["user", "assistant", "tool", "robot"]), scalars)},
        optional={
            "content": st.one_of(texts, json_like),
            "name": st.one_of(texts, scalars),
            "metadata": metadatas,
            "timestamp": stamps,
            "id": st.one_of(texts, scalars),
        },
    ),
    json_like,
)
messages = st.one_of(message, st.lists(message, max_size=4))
field_names = st.one_of(
    st.sampled_from(["user_id", "created_at", "metadata", "source", "memory_type", "valid_to"]),
    texts,
    st.integers(),
    huge_ints,
)
operators = st.one_of(
    st.sampled_from(["eq", "$ne", "in", "nin", "gt", "lte", "contains", "icontains", "exists"]),
    texts,
)
leaf = st.one_of(
    st.dictionaries(field_names, st.one_of(extremes, json_like), max_size=2),
    st.dictionaries(
        field_names,
        st.dictionaries(operators, st.one_of(extremes, json_like), max_size=2),
        max_size=2,
    ),
)
filters = st.one_of(
    st.none(),
    json_like,
    st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.dictionaries(
                st.sampled_from(["AND", "OR", "$and", "$or", "$xor"]),
                st.lists(inner, max_size=3),
                min_size=1,
                max_size=1,
            ),
            st.dictionaries(st.sampled_from(["NOT", "$not"]), inner, min_size=1, max_size=1),
        ),
        max_leaves=10,
    ),
)


def deep_filter(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"user_id": "fuzz"}
    for _ in range(depth):
        node = {"NOT": {"AND": [node]}}
    return node


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Orchestrator]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    orch = Orchestrator(load_settings(data_dir=data_dir), embedder=embedder)
    orch.process("I'm Fuzz. I live in Paris and I love tea.", user_id="fuzz")
    yield orch
    report = orch.check()
    assert report.consistent, report
    _assert_no_control_characters(orch)
    orch.close()
    print(f"\nfuzz examples run: {dict(CALLS)} ({sum(CALLS.values())} in all)")


def _assert_no_control_characters(orch: Orchestrator) -> None:
    buffer = io.StringIO()
    orch.export_jsonl(buffer)

    def strings(value: Any) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield key
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)

    for line in buffer.getvalue().splitlines():
        for text in strings(json.loads(line)):
            assert not _CONTROL.search(text), f"stored text with a control character: {line}"


def _state(orch: Orchestrator) -> Any:
    return orch.stats(), sorted(
        (r.id, r.content_hash, r.updated_at)
        for user in ("fuzz", "other")
        for r in orch.get_all(user_id=user, include_superseded=True)
    )


def _call(orch: Orchestrator, name: str, fn: Callable[[], Any]) -> Any:
    """Run fn: it works, or raises an OctomemError and changes nothing."""
    CALLS[name] += 1
    before = _state(orch)
    try:
        return fn()
    except OctomemError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        assert _state(orch) == before, f"{name} failed with {exc!r} after a partial write"
    return None


# --- properties ----------------------------------------------------------------------------


@FUZZ
@given(messages, scope_ids, scope_ids, scope_ids, metadatas, stamps, memory_types, scalars)
def test_process(fuzzed, msgs, user, agent, session, metadata, stamp, types, infer) -> None:
    _call(
        fuzzed,
        "process",
        lambda: fuzzed.process(
            msgs,
            user_id=user,
            agent_id=agent,
            session_id=session,
            metadata=metadata,
            timestamp=stamp,
            memory_types=types,
            infer=infer,
        ),
    )


@FUZZ
@given(texts, scope_ids, limits, memory_types, filters, scalars, stamps)
def test_recall(fuzzed, query, user, limit, types, where, superseded, now) -> None:
    _call(
        fuzzed,
        "recall",
        lambda: fuzzed.recall(
            query,
            user_id=user,
            limit=limit,
            memory_types=types,
            filters=where,
            include_superseded=superseded,
            now=now,
        ),
    )


@FUZZ
@given(scope_ids, scope_ids, memory_types, filters, limits, scalars)
def test_get_all(fuzzed, user, session, types, where, limit, superseded) -> None:
    found = _call(
        fuzzed,
        "get_all",
        lambda: fuzzed.get_all(
            user_id=user,
            session_id=session,
            memory_types=types,
            filters=where,
            limit=limit,
            include_superseded=superseded,
        ),
    )
    if found is not None and isinstance(limit, int) and not isinstance(limit, bool):
        assert limit > 0 and len(found) <= limit


@FUZZ
@given(st.one_of(texts, scalars), texts, metadatas, st.booleans(), scope_ids, scope_ids)
def test_update_get_delete_history(fuzzed, memory_id, text, metadata, known, user, agent) -> None:
    if known:  # a real id, so the checks of text, metadata and owner are reached
        memory_id = fuzzed.get_all(user_id="fuzz")[0].id
    owner = {"user_id": user, "agent_id": agent}
    _call(fuzzed, "update", lambda: fuzzed.update(memory_id, text, metadata=metadata, **owner))
    _call(fuzzed, "get", lambda: fuzzed.get(memory_id, **owner))
    _call(fuzzed, "history", lambda: fuzzed.history(memory_id, **owner))
    if not known or user not in (None, "fuzz"):
        _call(fuzzed, "delete", lambda: fuzzed.delete(memory_id, **owner))


@FUZZ
@given(scope_ids.filter(lambda u: u != "fuzz"), scope_ids)
def test_forget(fuzzed, user, agent) -> None:
    _call(fuzzed, "forget", lambda: fuzzed.forget(user_id=user, agent_id=agent))


def test_filters_nested_too_deep_are_refused_not_a_recursion_error(fuzzed) -> None:
    with pytest.raises(OctomemError, match="nested more than"):
        fuzzed.get_all(user_id="fuzz", filters=deep_filter(5_000))
    with pytest.raises(OctomemError, match="nested more than"):
        fuzzed.recall("tea", user_id="fuzz", filters=deep_filter(50))
    assert fuzzed.get_all(user_id="fuzz", filters=deep_filter(6))  # NOT NOT ... is fine


def test_control_characters_are_stripped_from_text(fuzzed) -> None:
    result = fuzzed.process(
        [{"role": "user", "content": "I\x00 love\x07 cof\x1bfee.", "name": "A\x00nn"}],
        user_id="other",
        metadata={"note": "a\x00b"},
        infer=False,
    )
    (turn_id,) = result.turn_memory_ids
    turn = fuzzed.get(turn_id)
    assert "\x00" not in turn.content and "love coffee" in turn.content
    assert turn.metadata["note"] == "ab"
    with pytest.raises(OctomemError, match="control character"):
        fuzzed.process("hi", user_id="ot\x00her")


def test_bidi_overrides_are_stripped_from_stored_text_the_human_block_and_replies(
    make_orch: Any,
) -> None:
    """ "Trojan Source": U+202E shows "\u202eParis" reversed, so a memory would read as
    other text in the inspector, the CLI and the prompts built from it. The explicit bidi
    controls are removed as ESC is, from what is said and from what the model replies;
    the marks RLM and LRM stay; an id holding one is refused, as one holding ESC is."""
    orch = make_orch()
    shalom = "\u05e9\u05dc\u05d5\u05dd\u200f!"  # RLM: a mark, kept
    said = f"I live in \u202eParis\u202c and I love \u2067tea\u2069. Shalom {shalom}"
    result = orch.process(
        [{"role": "user", "content": said}],
        user_id="alice",
        metadata={"note": "a\u202eb"},
    )
    stored = orch.get_all(user_id="alice")
    [block] = [r for r in stored if isinstance(r, CoreMemory) and r.label == "human"]
    assert "Lives in: Paris" in block.content.splitlines(), block.content
    hits = orch.recall("Where does Alice live?", user_id="alice").hits
    (turn_id,) = result.turn_memory_ids
    turn = orch.get(turn_id)
    assert "Paris and I love tea." in turn.content and "\u200f!" in turn.content
    assert turn.metadata["note"] == "ab"
    for record in [*stored, *(hit.memory for hit in hits), turn]:
        assert not _CONTROL.search(record.model_dump_json()), record
    _assert_no_control_characters(orch)
    for bad in ({"user_id": "ali\u202ece"}, {"user_id": "alice", "agent_id": "\u2066bot"}):
        with pytest.raises(OctomemError, match="control character"):
            orch.process("hi", **bad)

    def extract(request: ScriptedRequest) -> ExtractionOutput:
        fact = Fact(
            subject="user",
            attribute="lives_in",
            value="\u202eBerlin\u202c",
            statement="The user lives in \u202eBerlin\u202c.",
            source_turns=[0],
        )
        return ExtractionOutput(semantic=SemanticOutput(facts=[fact]))

    with ScriptedModel(from_extraction(extract), name="bidi") as model:
        llm = make_orch(llm={"model": model.model, "max_retries": 0})
        llm.process("I moved to Berlin.", user_id="bob")
        [fact] = llm.get_all(user_id="bob", memory_types=["semantic"])
        assert fact.content == "The user lives in Berlin." and fact.value == "Berlin"
        [block] = llm.get_all(user_id="bob", memory_types=["core"])
        assert "Lives in: Berlin" in block.content.splitlines(), block.content
        _assert_no_control_characters(llm)


@FUZZ
@given(messages, scope_ids, texts, limits, filters, st.one_of(texts, scalars), scalars, scope_ids)
def test_mem0_facade(fuzzed, msgs, user, query, limit, where, memory_id, threshold, run) -> None:
    memory = Memory(fuzzed)
    _call(fuzzed, "Memory.add", lambda: memory.add(msgs, user_id=user, run_id=run))
    _call(
        fuzzed,
        "Memory.search",
        lambda: memory.search(
            query, user_id=user, run_id=run, limit=limit, filters=where, threshold=threshold
        ),
    )
    _call(fuzzed, "Memory.get_all", lambda: memory.get_all(user_id=user, limit=limit))
    _call(fuzzed, "Memory.get", lambda: memory.get(memory_id))
    _call(fuzzed, "Memory.update", lambda: memory.update(memory_id, query))
    _call(fuzzed, "Memory.history", lambda: memory.history(memory_id))


# --- the LangGraph store, the LangChain tools, the MCP tools, import --------------------

namespaces = st.one_of(
    st.tuples(st.just("memories"), st.one_of(st.just("fuzz"), texts)),
    st.lists(texts, max_size=3).map(tuple),
    st.lists(scalars, max_size=2).map(tuple),
    texts,
    scalars,
)
store_values = st.one_of(
    json_dicts,
    st.fixed_dictionaries({"content": texts}, optional={"n": scalars}),
    json_like,
)
indexes = st.one_of(st.none(), st.just(False), st.lists(texts, max_size=2), scalars)


@FUZZ
@given(
    namespaces, st.one_of(texts, scalars), store_values, indexes, filters, scalars, st.booleans()
)
def test_langgraph_store(fuzzed, namespace, key, value, index, where, query, use_async) -> None:
    from octomem.langgraph import OctomemStore

    store = OctomemStore(fuzzed)

    def run(name: str, *args: Any, **kwargs: Any) -> Any:
        if use_async:
            return fuzzed.run_sync(getattr(store, f"a{name}")(*args, **kwargs))
        return getattr(store, name)(*args, **kwargs)

    _call(fuzzed, "OctomemStore.put", lambda: run("put", namespace, key, value, index))
    _call(fuzzed, "OctomemStore.get", lambda: run("get", namespace, key))
    _call(
        fuzzed,
        "OctomemStore.search",
        lambda: run("search", namespace, query=query, filter=where, limit=3),
    )
    _call(fuzzed, "OctomemStore.list_namespaces", lambda: run("list_namespaces", prefix=namespace))
    _call(fuzzed, "OctomemStore.delete", lambda: run("delete", namespace, key))


@FUZZ
@given(st.one_of(texts, scalars), scalars, st.one_of(texts, scalars), scope_ids)
def test_langchain_tools(fuzzed, content, action, memory_id, user) -> None:
    """A tool reports octomem's errors to the model as text (ToolException); its arguments
    are checked by its schema first (pydantic's ValidationError, LangChain's contract).
    LangChain renders a tool's input with str() before it calls the tool, so arguments
    str() cannot render (10**5000, nesting past the recursion limit) fail in LangChain's
    code whatever the tool does; they are left out here."""
    from langchain_core.tools import ToolException
    from pydantic import ValidationError

    from octomem.langgraph import create_manage_memory_tool, create_search_memory_tool

    config = {"configurable": {"user_id": user}}
    tools = {
        "search_memory": (create_search_memory_tool(fuzzed), {"query": content, "limit": action}),
        "manage_memory": (
            create_manage_memory_tool(fuzzed),
            {"content": content, "action": action, "id": memory_id},
        ),
    }
    for name, (tool, args) in tools.items():
        try:
            str(args)
        except (ValueError, RecursionError):
            continue
        CALLS[name] += 1
        before = _state(fuzzed)
        try:
            result = tool.invoke(args, config=config)
        except (ValidationError, ToolException):
            result = "refused"
        if not str(result).startswith(("created", "updated", "deleted", "[")):
            assert _state(fuzzed) == before, f"{name} failed with {result!r} after a write"


mcp_messages = st.one_of(
    texts,
    st.lists(
        st.fixed_dictionaries(
            {"role": st.sampled_from(["user", "assistant"]), "content": texts},
            optional={"name": texts, "timestamp": texts},
        ),
        max_size=2,
    ),
    json_like,
)


@FUZZ
@given(mcp_messages, scope_ids, metadatas, filters, st.one_of(texts, scalars), limits)
def test_mcp_tools(fuzzed, msgs, user, metadata, where, text, limit) -> None:
    """Every tool call ends in a result or a ToolError with octomem's message (never the
    SDK's UnexpectedToolError, which wraps a crash), and a failed call writes nothing."""
    from mcp.server.mcpserver.exceptions import ToolError

    from octomem.mcp_server import build_server

    server = build_server(fuzzed)
    scope = {"user_id": user}
    calls = {
        "process_conversation": {"messages": msgs, "metadata": metadata, **scope},
        "search_memories": {"query": text, "filters": where, "limit": limit, **scope},
        "list_memories": {"filters": where, "limit": limit, **scope},
        "update_memory": {"memory_id": text, "text": text, **scope},
        "get_memory": {"memory_id": text, **scope},
    }
    for name, arguments in calls.items():
        CALLS[f"mcp.{name}"] += 1
        before = _state(fuzzed)
        try:
            fuzzed.run_sync(server.call_tool(name, arguments))
        except ToolError as exc:
            assert str(exc).strip() and type(exc) is ToolError, repr(exc)
            assert _state(fuzzed) == before, f"{name} failed with {exc!r} after a write"


_EXPORT: list[str] = []


def _export_lines(orch: Orchestrator) -> list[str]:
    if not _EXPORT:
        buffer = io.StringIO()
        orch.export_jsonl(buffer, user_id="fuzz")
        _EXPORT.append(buffer.getvalue())
    return _EXPORT[0].splitlines()


raw_lines = st.one_of(
    texts.map(lambda t: t.replace("\n", " ")),
    st.sampled_from(
        [
            '{"type": "entity", "id": ' + "9" * 5_000 + "}",
            "[" * 5_000 + "]" * 5_000,
            '{"type": "memory", "record": ' + '{"a": ' * 100 + "1" + "}" * 100 + "}",
            '{"type": "relation", "id": 1e999}',
        ]
    ),
)


@FUZZ
@given(
    st.one_of(json_like, store_values),
    st.sampled_from(["metadata", "content", "user_id", "id"]),
    st.lists(raw_lines, max_size=2),
    st.booleans(),
)
def test_import(fuzzed, value, field, extra, skip_invalid) -> None:
    """An export with a field of a record replaced by any value, or with lines of any
    text added: imported, or refused with an OctomemError and nothing written."""
    lines = _export_lines(fuzzed)
    memory = next(
        i for i, line in enumerate(lines) if '"type": "memory"' in line and '"record": {' in line
    )
    data = json.loads(lines[memory])
    data["record"][field] = value
    try:
        changed = json.dumps(data, default=str)
    except (ValueError, TypeError, RecursionError):
        changed = lines[memory]  # a value JSON cannot write: the raw lines are fuzzed then
    text = "\n".join([*lines[:memory], changed, *lines[memory + 1 :], *extra]) + "\n"
    _call(
        fuzzed,
        "import_jsonl",
        lambda: fuzzed.import_jsonl(io.StringIO(text), skip_invalid=skip_invalid),
    )


# --- the command line -------------------------------------------------------------------

cli_values = st.one_of(
    texts.filter(lambda t: "\x00" not in t),  # argv cannot carry NUL
    st.sampled_from(["0", "-1", "3", "abc", "{}", '{"AND": 5}', "[1]", "sem_x", "-"]),
    # JSON that Python's own parser fails on: an integer over 4,300 digits, deep nesting
    st.sampled_from(['{"n": ' + "1" * 5_000 + "}", "[" * 5_000 + "]" * 5_000, "9" * 5_000]),
)
cli_args = st.tuples(
    st.sampled_from(
        ["search", "list", "get", "history", "update", "delete", "stats", "process", "import"]
    ),
    st.lists(
        st.one_of(
            cli_values,
            st.tuples(st.sampled_from(["--user", "--limit", "--filter", "--type"]), cli_values),
        ),
        max_size=4,
    ),
)


@settings(FUZZ, max_examples=EXAMPLES or 25)
@given(cli_args)
def test_cli(tmp_path_factory: pytest.TempPathFactory, args: tuple[str, list[Any]]) -> None:
    """Any command line ends with a one-line message and exit code 0, 1 (your input) or 3
    (something left to do), never a traceback or an internal error (exit 2)."""
    command, rest = args
    argv = [command]
    for part in rest:
        argv += list(part) if isinstance(part, tuple) else [part]
    argv += ["--data-dir", str(_cli_data_dir(tmp_path_factory))]
    CALLS["cli"] += 1
    code, printed = _run_cli(argv, "I love tea.\n")
    assert code in (0, 1, 3), (argv, printed)
    assert "Traceback" not in printed, argv


def _run_cli(argv: list[str], stdin: str) -> tuple[object, str]:
    """`octomem ARGV` with `stdin`: its exit code and what it printed."""
    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        pytest.raises(SystemExit) as ended,
    ):
        patch.setattr(sys, "argv", ["octomem", *argv])
        patch.setattr(sys, "stdin", io.StringIO(stdin))
        run()
    return ended.value.code, err.getvalue() + out.getvalue()


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["search", "tea", "--user", "fuzz", "--filter", '{"n": ' + "1" * 5_000 + "}"], ""),
        (["list", "--user", "fuzz", "--filter", "[" * 5_000 + "]" * 5_000], ""),
        (
            ["process", "-", "--user", "fuzz"],
            '[{"role": "user", "content": "hi", "n": 1' + "0" * 5_000 + "}]",
        ),
        (["process", "-", "--user", "fuzz"], "[" * 5_000 + "]" * 5_000),
    ],
)
def test_cli_json_python_cannot_parse_is_a_usage_error(
    tmp_path_factory: pytest.TempPathFactory, argv: list[str], stdin: str
) -> None:
    """JSON on which json.loads itself fails (an integer over 4,300 digits: ValueError;
    deep nesting: RecursionError) is the caller's error: exit 1 with a message."""
    code, printed = _run_cli([*argv, "--data-dir", str(_cli_data_dir(tmp_path_factory))], stdin)
    assert code == 1 and printed.startswith("error: "), printed


@pytest.mark.parametrize(
    "argv",
    [["process", "{file}", "--user", "fuzz"], ["stats", "--config", "{file}"]],
    ids=["conversation", "config"],
)
def test_cli_file_that_is_not_utf8_is_a_usage_error(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, argv: list[str]
) -> None:
    """A conversation or config file saved in another encoding (UTF-16, Latin-1) is the
    caller's error: exit 1 with a message naming the file, not an internal error (exit 2)."""
    file = tmp_path / "saved-elsewhere.json"
    file.write_bytes('[{"role": "user", "content": "caf\u00e9"}]'.encode("utf-16"))
    argv = [part.replace("{file}", str(file)) for part in argv]
    code, printed = _run_cli([*argv, "--data-dir", str(_cli_data_dir(tmp_path_factory))], "")
    assert code == 1 and printed.startswith("error: "), printed
    assert "not UTF-8" in printed and str(file) in printed, printed


def test_cli_ingest_prints_a_file_names_control_characters_as_escapes(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A file name is the folder's author's: an ESC sequence in it is shown as ``\\x1b``,
    never sent to the terminal, in the progress lines and the skipped ones alike."""
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "title\x1b]0;owned\x07.md").write_text("I live in Paris.", encoding="utf-8")
    (folder / "red\x1b[31m.docx").write_bytes(b"PK not read")
    (folder / "invoice\u202etxt.md").write_text("I work at Acme.", encoding="utf-8")  # bidi
    argv = ["ingest", str(folder), "--user", "fuzz"]
    code, printed = _run_cli([*argv, "--data-dir", str(_cli_data_dir(tmp_path_factory))], "")
    assert code == 0, printed
    assert "\x1b" not in printed and "\x07" not in printed, repr(printed)
    assert "title\\x1b]0;owned\\x07.md" in printed and "red\\x1b[31m.docx" in printed
    assert "\u202e" not in printed and "invoice\\u202etxt.md" in printed, repr(printed)


_CLI_DIR: list[Path] = []


def _cli_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _CLI_DIR:
        _CLI_DIR.append(tmp_path_factory.mktemp("fuzz-cli"))
    return _CLI_DIR[0]


def test_datetime_edges_are_rejected_not_overflowing(fuzzed) -> None:
    for stamp in (datetime.min, datetime.max, datetime(1, 1, 1, tzinfo=UTC)):
        with pytest.raises(OctomemError, match="out of range"):
            fuzzed.process("I love tea.", user_id="fuzz", timestamp=stamp)
