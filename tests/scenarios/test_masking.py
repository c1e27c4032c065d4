"""Secrets never reach a store: every secret form of the corpus, sent through every path
that writes text (process content, message name, message and call metadata, update,
the LangGraph store and its manage-memory tool, import), is absent afterwards from every
file under data_dir, from export_jsonl and from recall / get_all."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.store.base import PutOp

from octomem import Orchestrator
from octomem.langgraph import OctomemStore, create_manage_memory_tool
from octomem.models import MemoryType
from tests.data.secret_corpus import SECRETS, Secret

CANARY = "Zanzibarquux"  # ordinary text that must reach the files: the scan sees text


def _needles(secret: Secret) -> list[str]:
    """What of a secret may not appear in raw bytes: long values whole; short ones (a PIN)
    with the words before them, which is how a leak of them would be stored; passphrases
    word pair by word pair; private keys line by line (stores escape newlines)."""
    if secret.kind == "private key":
        return [line for line in secret.value.splitlines() if len(line) >= 12]
    needles = [secret.value] if len(secret.value) >= 10 and " " not in secret.value else []
    at = secret.sentence.index(secret.value)
    needles.append(secret.sentence[max(0, at - 10) : at + min(len(secret.value), 12)])
    words = secret.value.split()
    needles += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    return needles


NEEDLES = sorted({n for s in SECRETS for n in _needles(s)})


def _leaks(text: str) -> list[str]:
    return [n for n in NEEDLES if n in text]


def _file_leaks(data_dir: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in data_dir.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            hits = [n for n in NEEDLES if n.encode() in raw]
            if hits:
                found[str(path.relative_to(data_dir))] = hits
    return found


def _text_files_hold(data_dir: Path, text: str) -> bool:
    return any(text.encode() in p.read_bytes() for p in data_dir.rglob("*") if p.is_file())


def _write_through_every_path(orch: Orchestrator) -> None:
    half = len(SECRETS) // 2
    orch.process(
        [{"role": "user", "content": f"I visited {CANARY} in May."}]
        + [{"role": "user", "content": s.sentence} for s in SECRETS[:half]],
        user_id="alice",
        session_id="s1",
    )
    orch.process(  # as assistant turns, with names and per-message metadata
        [
            {
                "role": "assistant" if i % 2 else "user",
                "content": "Noted." if i % 3 == 0 else s.sentence,
                "name": s.value if i % 3 == 0 and s.stands_alone else None,
                "metadata": {"note": s.sentence, "password": s.value}
                | ({s.value: i} if s.stands_alone else {}),
            }
            for i, s in enumerate(SECRETS[half:])
        ],
        user_id="alice",
        session_id="s2",
        metadata={"ticket": " ".join(s.sentence for s in SECRETS[:10]), "pin": 4821},
    )
    orch.process("I love hiking.", user_id="alice")
    memory = orch.get_all(user_id="alice", memory_types=["semantic"])[0]
    orch.update(
        memory.id,
        " ".join(s.sentence for s in SECRETS[10:30]),
        metadata={"why": " ".join(s.sentence for s in SECRETS[30:50]), "token": "x"},
    )
    store = OctomemStore(orch)
    for i, secret in enumerate(SECRETS):
        value: dict[str, Any] = {"content": secret.sentence}
        alone = [secret.value] if secret.stands_alone else []
        if i % 2:
            value["nested"] = {"list": [1, *alone], "api_key": secret.value}
        else:
            value["raw"] = alone
        store.batch([PutOp(("memories", "alice"), f"item-{i}", value)])
    tool = create_manage_memory_tool(orch, user_id="alice")
    for secret in SECRETS[50:60]:
        tool.invoke({"action": "create", "content": secret.sentence})


def _tampered_export(orch: Orchestrator) -> str:
    """An export of `orch` with secrets written into every text it carries (as an export
    made by another tool, or edited by hand, might)."""
    out = io.StringIO()
    orch.export_jsonl(out)
    lines = [json.loads(raw) for raw in out.getvalue().splitlines()]
    secrets = iter(SECRETS * 20)
    for line in lines:
        if line["type"] == "memory" and line["record"] is not None:
            record = line["record"]
            record["content"] += " " + next(secrets).sentence
            record["metadata"]["note"] = next(secrets).sentence
            for event in line["history"]:
                event["new_value"] = (event["new_value"] or "") + " " + next(secrets).sentence
                event["old_value"] = next(secrets).sentence
                if event.get("record"):
                    event["record"]["content"] += " " + next(secrets).sentence
        elif line["type"] == "relation":
            line["fact"] += " " + next(secrets).sentence
    return "\n".join(json.dumps(line) for line in lines)


def test_no_secret_survives_any_write_path(make_orch: Any, tmp_path: Path) -> None:
    orch = make_orch(data_dir=tmp_path / "a")
    _write_through_every_path(orch)
    restored = make_orch(data_dir=tmp_path / "b")
    restored.import_jsonl(io.StringIO(_tampered_export(orch)))
    assert _leaks(_tampered_export(orch))  # the export given to import does hold secrets

    for current in (orch, restored):
        export = io.StringIO()
        current.export_jsonl(export)
        assert _leaks(export.getvalue()) == []
        assert CANARY in export.getvalue()
        records = current.get_all(user_id="alice", include_superseded=True)
        assert len(records) > len(SECRETS)
        assert _leaks(" ".join(r.model_dump_json() for r in records)) == []
        for query in ("password", "card number", "api key token", "IBAN", "PIN code"):
            hits = current.recall(query, user_id="alice").model_dump_json()
            assert _leaks(hits) == [] and "[MASKED " in hits
        store = OctomemStore(current)
        item = store.get(("memories", "alice"), "item-1")
        assert item is not None and item.value["nested"]["api_key"] == "[MASKED secret]"

    secrets = [r for r in orch.get_all(user_id="alice", memory_types=["resource"]) if r.sensitive]
    assert secrets and all("[MASKED " in r.content for r in secrets)
    for current in (orch, restored):
        current.close()
    for data_dir in (tmp_path / "a", tmp_path / "b"):
        assert _text_files_hold(data_dir, CANARY)
        assert _file_leaks(data_dir) == {}


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


def test_a_turns_name_and_metadata_and_the_calls_metadata_are_masked(
    shared_orch: Orchestrator, uid: Callable[[str], str]
) -> None:
    orch, alice = shared_orch, uid("alice")
    orch.process(
        {
            "role": "user",
            "content": "Remember this.",
            "name": "AKIAIOSFODNN7EXAMPLE",
            "metadata": {"card": "4111 1111 1111 1111", "ok": "blue"},
        },
        user_id=alice,
        metadata={"wifi": "the wifi password is sleepy otter river", "channel": "web"},
    )
    (raw,) = [
        r
        for r in orch.get_all(user_id=alice, memory_types=["episodic"])
        if "Remember this" in r.content
    ]
    text = raw.model_dump_json()
    for leak in ("AKIAIOSFODNN7EXAMPLE", "4111 1111 1111 1111", "sleepy otter"):
        assert leak not in text
    assert raw.metadata == {
        "card": "[MASKED card …1111]",
        "ok": "blue",
        "wifi": "the wifi password is [MASKED password]",
        "channel": "web",
    }
    assert "[MASKED key …MPLE]" in raw.content and set(raw.internal["masked"]) >= {"key", "card"}


async def test_the_mcp_tools_store_only_masked_text(make_orch: Any) -> None:
    from octomem.mcp_server import build_server

    orch = make_orch()
    server = build_server(orch, user_id="alice")
    sentences = [s.sentence for s in SECRETS[:40]]
    await server.call_tool(
        "process_conversation",
        {
            "messages": [
                {"role": "user", "content": text, "name": "AKIAIOSFODNN7EXAMPLE"}
                for text in sentences
            ],
            "metadata": {"ticket": SECRETS[40].sentence, "password": "hunter2"},
        },
    )
    await orch.aprocess("I love hiking.", user_id="alice")
    memory = (await orch.aget_all(user_id="alice", memory_types=["semantic"]))[0]
    await server.call_tool(
        "update_memory",
        {"memory_id": memory.id, "text": " ".join(s.sentence for s in SECRETS[41:70])},
    )
    stored = " ".join(
        r.model_dump_json() for r in await orch.aget_all(user_id="alice", include_superseded=True)
    )
    assert "[MASKED " in stored and "I love hiking" in stored
    assert _leaks(stored) == [] and "AKIAIOSFODNN7EXAMPLE" not in stored
