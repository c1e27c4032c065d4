"""Secrets never reach a store: every secret form of the corpus, sent through each path
that writes text - process (content, message name, message and call metadata), update,
Memory.add, the LangGraph store, the LangChain tools and process node, the MCP tools,
import - is absent afterwards from every file under data_dir and from an export."""

from __future__ import annotations

import io
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.store.base import PutOp
from mcp.server.mcpserver.exceptions import ToolError

from octomem import Memory, Orchestrator
from octomem.langgraph import OctomemStore, create_manage_memory_tool, create_process_node
from octomem.mcp_server import build_server
from octomem.models import MemoryType
from tests.data.secret_corpus import SECRETS, Secret

_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
CANARY = "Zanzibarquux"  # ordinary text that must reach the files: the scan sees text
CANARY_TEXT = f"I visited {CANARY} in May."


def _needles(secret: Secret) -> list[str]:
    """What of a secret may not appear in raw bytes: long values whole; short ones (a PIN)
    with the words before them, which is how a leak of them would be stored; passphrases
    word pair by word pair; private keys line by line (stores escape newlines)."""
    if secret.kind == "private key":
        return [line for line in secret.value.splitlines() if len(line) >= 12]
    value = secret.value
    needles = [value] if len(value) >= 8 and not any(c.isspace() for c in value) else []
    at = secret.sentence.index(value)
    needles.append(secret.sentence[max(0, at - 10) : at + min(len(value), 12)])
    words = [w.strip(",") for w in value.split()]
    needles += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    needles += [w for w in secret.words if len(w) >= 8]
    return needles


def _encodings(needle: str) -> set[bytes]:
    """A needle as a file may hold it: as written and normalised (NFKC, no invisible
    characters), in UTF-8 and as JSON escapes them."""
    forms = {needle, _INVISIBLE.sub("", unicodedata.normalize("NFKC", needle))}
    out = {form.encode() for form in forms}
    out |= {json.dumps(form)[1:-1].encode() for form in forms}
    return {form for form in out if len(form) >= 4}


NEEDLES: dict[bytes, str] = {
    form: f"{s.kind}: {s.sentence[:40]!r}"
    for s in SECRETS
    for n in _needles(s)
    for form in _encodings(n)
}


def _leaks(raw: bytes) -> list[str]:
    return sorted({label for needle, label in NEEDLES.items() if needle in raw})


def _file_leaks(data_dir: Path) -> dict[str, list[str]]:
    """Each file's leaks, with the bytes around each (what wrote it: a record's JSON, a
    keyword posting, a page of something else)."""
    found: dict[str, list[str]] = {}
    for path in data_dir.rglob("*"):
        if path.is_file() and (hits := _leaks(raw := path.read_bytes())):
            found[str(path.relative_to(data_dir))] = (
                hits
                + [
                    repr(raw[max(0, at - 120) : at + 60])
                    for needle in NEEDLES
                    if (at := raw.find(needle)) >= 0
                ][:5]
            )
    return found


def _text_files_hold(data_dir: Path, text: str) -> bool:
    return any(text.encode() in p.read_bytes() for p in data_dir.rglob("*") if p.is_file())


def _chunks(size: int) -> Iterator[list[Secret]]:
    for start in range(0, len(SECRETS), size):
        yield SECRETS[start : start + size]


def _alone(secret: Secret) -> list[str]:
    """The value on its own, where it is recognisable without words around it."""
    return [secret.value] if secret.stands_alone else []


def _metadata(secrets: list[Secret]) -> dict[str, Any]:
    """Metadata holding every secret: in text, as values of secret-named keys (lists and
    dicts, at any depth), as keys."""
    return {
        "notes": [s.sentence for s in secrets],
        "password": [s.value for s in secrets],
        "nested": {"deeper": [{"Passwort": {"v": s.value}, "pw": s.value} for s in secrets]},
        "credentials": {"user": "alice", "mot_de_passe": secrets[0].value},
        "amount": 5555555555554444.0,  # a card number that a JSON number became
        **{value: i for i, s in enumerate(secrets) for value in _alone(s)},
    }


def _a_memory_id(orch: Orchestrator) -> str:
    orch.process(f"I love hiking. {CANARY_TEXT}", user_id="alice")
    return orch.get_all(user_id="alice", memory_types=["semantic"])[0].id


# --- the write paths: each sends every secret form of the corpus


def _process_content(orch: Orchestrator, make_orch: Any) -> None:
    for chunk in _chunks(45):
        orch.process(
            [{"role": "user", "content": CANARY_TEXT}]
            + [
                {"role": "assistant" if i % 2 else "user", "content": s.sentence}
                for i, s in enumerate(chunk)
            ],
            user_id="alice",
            session_id="s1",
        )
    resources = orch.get_all(user_id="alice", memory_types=["resource"])
    assert any(r.sensitive and "[MASKED " in r.content for r in resources)


def _process_names_and_metadata(orch: Orchestrator, make_orch: Any) -> None:
    for n, chunk in enumerate(_chunks(45)):
        orch.process(
            [{"role": "user", "content": CANARY_TEXT}]
            + [
                {
                    "role": "assistant" if i % 2 else "user",
                    "content": f"Noted, item {n}.{i}.",
                    "name": s.value if s.stands_alone else None,
                    "metadata": _metadata([s]),
                }
                for i, s in enumerate(chunk)
            ],
            user_id="alice",
            session_id=f"s{n}",
            metadata=_metadata(chunk) | {"pin": 4821},
        )


def _joined(secrets: Iterable[Secret]) -> str:
    """The sentences a line each: a table's row ends at its line's end."""
    return "\n".join(s.sentence for s in secrets)


def _update(orch: Orchestrator, make_orch: Any) -> None:
    memory_id = _a_memory_id(orch)
    for chunk in _chunks(10):
        # each value also bare in the text: named in the metadata, masked there too
        text = "\n".join(f"{s.sentence} ({s.value})" for s in chunk)
        orch.update(memory_id, text, metadata=_metadata(chunk))


def _memory_add(orch: Orchestrator, make_orch: Any) -> None:
    memory = Memory(orch)
    memory.add(CANARY_TEXT, user_id="alice")
    for chunk in _chunks(45):
        memory.add(
            [{"role": "user", "content": s.sentence} for s in chunk],
            user_id="alice",
            metadata=_metadata(chunk),
        )


def _langgraph_store(orch: Orchestrator, make_orch: Any) -> None:
    store = OctomemStore(orch)
    store.put(("memories", "alice"), "canary", {"content": CANARY_TEXT})
    puts = []
    for i, secret in enumerate(SECRETS):
        value: dict[str, Any] = {"content": secret.sentence, "raw": _alone(secret)}
        value["nested"] = {"list": [1, *_alone(secret)], "api_key": secret.value}
        value["deep"] = [{"Kennwort": [secret.value]}, {"pin": {"a": secret.value}}]
        value["copy"] = f"again: {secret.value}"  # named in `content`, bare here
        puts.append(PutOp(("memories", "alice"), f"item-{i}", value))
    store.put(*puts[0][:3])
    store.batch(puts[1:])
    item = store.get(("memories", "alice"), "item-1")
    assert item is not None and item.value["nested"]["api_key"] == "[MASKED secret]"


def _langchain_tools(orch: Orchestrator, make_orch: Any) -> None:
    tool = create_manage_memory_tool(orch, user_id="alice")
    tool.invoke({"action": "create", "content": CANARY_TEXT})
    for chunk in _chunks(10):
        tool.invoke({"action": "create", "content": _joined(chunk)})
    memory_id = _a_memory_id(orch)  # a memory of process(), updated through the tool
    for chunk in _chunks(20):
        text = _joined(chunk)
        tool.invoke({"action": "update", "id": memory_id, "content": text})
    node = create_process_node(orch, user_id="alice")
    for chunk in _chunks(45):
        turn = [HumanMessage(CANARY_TEXT)] + [AIMessage(s.sentence) for s in chunk]
        node.invoke({"messages": turn})


def _mcp_tools(orch: Orchestrator, make_orch: Any) -> None:
    server = build_server(orch, user_id="alice")

    def call(name: str, arguments: dict[str, Any]) -> Any:
        return orch.run_sync(server.call_tool(name, arguments))

    for chunk in _chunks(45):
        messages = [{"role": "user", "content": CANARY_TEXT}] + [
            {"role": "user", "content": s.sentence, "name": s.value if s.stands_alone else None}
            for s in chunk
        ]
        call("process_conversation", {"messages": messages, "metadata": _metadata(chunk)})
    memory_id = _a_memory_id(orch)
    for chunk in _chunks(20):
        call("update_memory", {"memory_id": memory_id, "text": _joined(chunk)})


def _import(orch: Orchestrator, make_orch: Any) -> None:
    source = make_orch()
    source.process(
        [
            {"role": "user", "content": CANARY_TEXT},
            {"role": "user", "content": "Alice works at Acme. I live in Lisbon."},
            {"role": "user", "content": "I love hiking and my sister is Maria."},
        ],
        user_id="alice",
    )
    tampered = _tampered_export(source)
    assert _leaks(tampered.encode())  # the export given to import does hold secrets
    orch.import_jsonl(io.StringIO(tampered))


def _tampered_export(orch: Orchestrator) -> str:
    """An export of `orch` with every secret form written into the texts it carries and,
    under names that are structure at a line's top level (id, type, source, user_id...),
    into metadata at any depth, and into the free text among a line's structure (a
    history event's actor, a record's extractor), as an export made by another tool, or
    edited by hand, might."""
    out = io.StringIO()
    orch.export_jsonl(out)
    lines = [json.loads(raw) for raw in out.getvalue().splitlines()]
    used: set[int] = set()
    count = iter(range(10**6))

    def some() -> list[Secret]:
        at = next(count) * 3
        chosen = [SECRETS[(at + k) % len(SECRETS)] for k in range(3)]
        used.update((at + k) % len(SECRETS) for k in range(3))
        return chosen

    def text() -> str:
        return _joined(some())

    def structured() -> dict[str, Any]:
        a, b, c = some()
        return {
            "source": a.value if a.stands_alone else a.sentence,
            "note": {"id": b.value if b.stands_alone else b.sentence, "type": [c.sentence]},
            "deep": [{"user_id": {"content_hash": c.value if c.stands_alone else c.sentence}}],
        }

    contents: dict[str, str] = {}  # memory id -> its record's text: its edge's fact
    while len(used) < len(SECRETS):
        for line in lines:
            if line["type"] == "memory" and line["record"] is not None:
                record = line["record"]
                named = some()  # in the record and in the history event that logs it
                added = "\n" + _joined(named)
                record["content"] += added
                record["metadata"] |= {"note": text(), "structure": structured()}
                # the values named in the content (not a seed's: its value is a few of the
                # words of the phrase the content names, which alone name nothing)
                bare = [s.value for s in named if s.kind != "seed"]
                record["metadata"]["bare"] = bare
                record["internal"]["note"] = text()
                record["source"]["extractor"] = text()  # free text, not an id
                for event in line["history"]:
                    event["new_value"] = (event["new_value"] or "") + "\n" + text()
                    # (the values on a line of their own: after "it's X" on its line
                    # they would make X one of several words, no longer the form tested)
                    event["old_value"] = text() + "\n" + " ".join(bare)
                    event["actor"] = text()
                    if event.get("record"):
                        last = event is line["history"][-1]
                        event["record"]["content"] += added if last else "\n" + text()
                        event["record"]["metadata"] = structured()
                        event["record"]["source"]["extractor"] = text()
                contents[line["id"]] = record["content"]
            elif line["type"] == "relation":  # its record's text (an edge of none: its own)
                line["fact"] = contents.get(line["memory_id"], line["fact"] + "\n" + text())
    return "\n".join(json.dumps(line) for line in lines)


WRITE_PATHS: dict[str, Callable[[Orchestrator, Any], None]] = {
    "process content": _process_content,
    "process names and metadata": _process_names_and_metadata,
    "update": _update,
    "Memory.add": _memory_add,
    "LangGraph store": _langgraph_store,
    "LangChain tools": _langchain_tools,
    "MCP tools": _mcp_tools,
    "import": _import,
}


@pytest.mark.parametrize("path", WRITE_PATHS)
def test_no_secret_form_reaches_disk_on_any_write_path(
    path: str, make_orch: Any, tmp_path: Path
) -> None:
    data_dir = tmp_path / "target"
    orch = make_orch(data_dir=data_dir)
    WRITE_PATHS[path](orch, make_orch)
    export = io.StringIO()
    orch.export_jsonl(export)
    assert CANARY in export.getvalue()
    assert _leaks(export.getvalue().encode()) == []
    stored = orch.get_all(user_id="alice", memory_types=list(MemoryType), include_superseded=True)
    assert "[MASKED " in " ".join(r.model_dump_json() for r in stored)
    orch.close()
    assert _text_files_hold(data_dir, CANARY)
    leaks = _file_leaks(data_dir)
    assert leaks == {}, json.dumps(leaks, indent=1, ensure_ascii=False)


def test_import_recomputes_the_hash_of_content_it_masked(make_orch: Any) -> None:
    source = make_orch()
    source.process("I live in Lisbon.", user_id="alice")
    target = make_orch()
    target.import_jsonl(io.StringIO(_tampered_export(source)))
    for record in target.get_all(user_id="alice", memory_types=list(MemoryType)):
        # the human block and a fact's edge are rendered again from the imported facts
        assert "[MASKED " in record.content or record.internal.get("projection_of")
        assert (
            record.content_hash
            == type(record)(**{**record.model_dump(), "content_hash": ""}).content_hash
        )


def test_import_keeps_the_structure_of_a_line_and_masks_the_same_names_in_metadata(
    make_orch: Any,
) -> None:
    source = make_orch()
    source.process("I live in Lisbon.", user_id="alice")
    out = io.StringIO()
    source.export_jsonl(out)
    lines = [json.loads(raw) for raw in out.getvalue().splitlines()]
    key = "sk-proj-Xb4Ti9Kq2Lm7Np3Rs8Vw1Yz6Ac5Df0Gh4Jk9Mn2Pq7Rt3Uv8Wx"
    for line in lines:
        if line["type"] == "memory" and line["record"] is not None:
            line["record"]["metadata"] = {"source": key, "note": {"id": "4111 1111 1111 1111"}}
    target = make_orch()
    target.import_jsonl(io.StringIO("\n".join(json.dumps(line) for line in lines)))
    imported = target.get_all(user_id="alice", memory_types=list(MemoryType))
    original = source.get_all(user_id="alice", memory_types=list(MemoryType))
    assert {r.id for r in imported} == {r.id for r in original}  # ids kept as they were
    by_id = {r.id: r for r in original}
    for record in imported:
        assert record.source == by_id[record.id].source and record.user_id == "alice"
        if "projection_of" not in record.internal:
            assert record.metadata == {
                "source": "[MASKED key …v8Wx]",
                "note": {"id": "[MASKED card …1111]"},
            }


def test_a_turns_name_and_metadata_and_the_calls_metadata_are_masked(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process(
        {
            "role": "user",
            "content": "Remember this.",
            "name": "AKIAIOSFODNN7EXAMPLE",
            "metadata": {
                "card": "4111 1111 1111 1111",
                "ok": "blue",
                "pw": ["Ab12cd34", "Xy98wv76"],
            },
        },
        user_id=alice,
        metadata={
            "wifi": "the wifi password is sleepy otter river",
            "channel": "web",
            # a key that is a secret named in another field of the call
            "Kiwi55Dune": {"note": "my password for gmail Kiwi55Dune"},
        },
    )
    (raw,) = [
        r
        for r in orch.get_all(user_id=alice, memory_types=["episodic"])
        if "Remember this" in r.content
    ]
    text = raw.model_dump_json()
    for leak in (
        "AKIAIOSFODNN7EXAMPLE",
        "4111 1111 1111 1111",
        "sleepy otter",
        "Ab12cd34",
        "Xy98wv76",
        "Kiwi55Dune",
    ):
        assert leak not in text
    assert raw.metadata == {
        "card": "[MASKED card …1111]",
        "ok": "blue",
        "pw": "[MASKED secret]",
        "wifi": "the wifi password is [MASKED password]",
        "channel": "web",
        # (its masked name then names a password: its whole value is masked)
        "[MASKED password]": "[MASKED secret]",
    }
    assert "[MASKED key …MPLE]" in raw.content and set(raw.internal["masked"]) >= {"key", "card"}


def test_an_mcp_tool_error_does_not_quote_a_secret_the_caller_sent(
    orch: Orchestrator, caplog: pytest.LogCaptureFixture
) -> None:
    """The MCP SDK logs a tool error's text (where clients keep a server's stderr), and
    octomem's errors quote what was sent: a secret given as a memory id is masked there."""
    server = build_server(orch, user_id="alice")
    secret = "sk-proj-MCPerrQ7xZ2mN4pL8vR3tY6wK9"
    caplog.set_level(logging.INFO)
    for tool, arguments in (
        ("get_memory", {"memory_id": secret}),
        ("update_memory", {"memory_id": secret, "text": "x"}),
        ("memory_history", {"memory_id": secret}),
    ):
        with pytest.raises(ToolError) as raised:
            orch.run_sync(server.call_tool(tool, arguments))
        assert secret not in str(raised.value) and "[MASKED key" in str(raised.value), tool
    assert secret not in caplog.text


def test_an_mcp_tool_call_whose_arguments_do_not_validate_does_not_quote_them(
    orch: Orchestrator, caplog: pytest.LogCaptureFixture
) -> None:
    """The SDK's error for arguments that do not fit a tool's schema quotes them
    (pydantic's ``input_value={'content': 'pwd=...'}``): octomem's says where and what is
    wrong, never the values - not even one masking would not find - and masks the rest."""
    server = build_server(orch, user_id="alice")
    secret, plain = "Zq9xT4wLm2Kp", "Quokkaberry"  # plain: no shape or cue to find
    caplog.set_level(logging.INFO)
    for tool, arguments, where in (
        ("process_conversation", {"content": f"pwd={secret}", "note": plain}, "messages"),
        (
            "process_conversation",
            {"messages": [{"role": f"my password is {secret}", "content": plain}]},
            "role",
        ),
        ("search_memories", {"query": plain, "limit": f"pwd={secret}"}, "limit"),
        ("get_memory", {"memory_id": [f"pwd={secret}", plain]}, "memory_id"),
    ):
        with pytest.raises(ToolError) as raised:
            orch.run_sync(server.call_tool(tool, arguments))
        text = str(raised.value)
        assert secret not in text and plain not in text and where in text, (tool, text)
    assert secret not in caplog.text and plain not in caplog.text


def test_an_error_that_cuts_a_long_secret_short_does_not_show_its_tail(
    orch: Orchestrator, caplog: pytest.LogCaptureFixture
) -> None:
    """An error quotes a long value cut in its middle ('sk-ant-api03-R7vQ...o0Pa-bcdEF'):
    what is left of a key is no longer found by masking the error's text, so the value is
    cut from its masked form - in the MCP tool error and the service's problem detail."""
    from octomem.errors import InvalidInputError
    from octomem.service.problems import for_error

    secret = "sk-ant-api03-" + "R7vQm2XpL9sT4wKc8JfN1bYd6HgZ3eUa5oMi0lPqWxEr7tYuIoPa" * 2
    tail = secret[-20:]
    server = build_server(orch, user_id="alice")
    caplog.set_level(logging.INFO)
    for filters in ({"metadata.api_key": {"in": secret}}, {"metadata.api_key": {secret: 1}}):
        with pytest.raises(ToolError) as raised:
            orch.run_sync(server.call_tool("search_memories", {"query": "x", "filters": filters}))
        assert tail not in str(raised.value) and "[MASKED key" in str(raised.value)
        with pytest.raises(InvalidInputError) as caught:
            orch.recall("x", user_id="alice", filters=filters)
        detail = json.loads(for_error(caught.value).body)["detail"]
        assert tail not in detail and "[MASKED key" in detail
    assert tail not in caplog.text
