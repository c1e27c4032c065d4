"""The `octomem` command line as a subprocess, the way a person or a script runs it.

Each run loads the embedder (~5 s), so several checks share one data directory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

COMMANDS = [
    "demo",
    "process",
    "search",
    "get",
    "list",
    "history",
    "update",
    "delete",
    "forget",
    "export",
    "import",
    "ingest",
    "stats",
    "mcp",
    "serve",
]


def octomem(*args: str, stdin: str | None = None, cwd: Path | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "octomem", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env=None,
    )


def ok_json(*args: str, stdin: str | None = None) -> Any:
    done = octomem(*args, "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_help_lists_every_command() -> None:
    done = octomem("--help")
    assert done.returncode == 0
    for command in COMMANDS:
        assert command in done.stdout, command


def test_cli_end_to_end(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    conversation = tmp_path / "chat.json"
    conversation.write_text(
        json.dumps(
            [
                {"role": "user", "content": "Hi, I'm Alice. I live in Paris."},
                {"role": "assistant", "content": "Nice to meet you!"},
            ]
        )
    )
    processed = ok_json("process", str(conversation), "--user", "alice", "--session", "s1", *data)
    assert len(processed["turns"]) == 2
    moved = ok_json("process", "-", "-u", "alice", *data, stdin="I moved to Berlin.")
    superseded = [
        op for ops in moved["operations"].values() for op in ops if op["operation"] == "SUPERSEDE"
    ]
    assert superseded and "Paris" in superseded[0]["previous_text"]

    found = ok_json("search", "where does alice live?", "-u", "alice", "-n", "3", *data)
    assert "Berlin" in found["hits"][0]["memory"]["content"]
    memories = ok_json("list", "-u", "alice", "--type", "semantic", "--include-superseded", *data)
    paris = next(m for m in memories if "Paris" in m["content"])
    assert paris["valid_to"] is not None
    events = ok_json("history", paris["id"], *data)
    assert [e["operation"] for e in events] == ["ADD", "SUPERSEDE"]
    # --user on a by-id command: another user's id is unknown (exit 1), nothing changes
    assert ok_json("history", paris["id"], "-u", "alice", *data) == events
    for command in (["get"], ["history"], ["update", paris["id"], "x"], ["delete"]):
        args = command if len(command) > 1 else [*command, paris["id"]]
        refused = octomem(*args, "--user", "bob", *data)
        assert refused.returncode == 1 and "no memory with id" in refused.stderr
    assert ok_json("get", paris["id"], *data)["content"] == paris["content"]
    stats = ok_json("stats", *data)
    assert stats["memories"]["semantic"]["superseded"] >= 1

    export = tmp_path / "export.jsonl"
    summary = ok_json("export", str(export), *data)
    assert (
        summary["memories"]
        == len(export.read_text().splitlines())
        - 1
        - summary["entities"]
        - summary["relations"]
        - summary["deleted_memories"]
    )
    restored = ["--data-dir", str(tmp_path / "restored")]
    assert ok_json("import", str(export), *restored)["memories"] == summary["memories"]

    # people get tables; errors are one line on stderr with exit code 1
    human = octomem("history", paris["id"], *restored)
    assert human.returncode == 0 and "SUPERSEDE" in human.stdout
    missing = octomem("get", "sem_doesnotexist", *restored)
    assert missing.returncode == 1
    assert (
        missing.stderr.strip().startswith("error:")
        and len(missing.stderr.strip().splitlines()) == 1
    )
    bad_filter = octomem("search", "x", "-u", "alice", "--filter", "{nope", *restored)
    assert bad_filter.returncode == 1 and "--filter is not JSON" in bad_filter.stderr
    assert octomem("search", "--bogus").returncode == 1
    assert octomem("process", str(tmp_path / "nope.json"), "-u", "a").returncode == 1


def test_forget_needs_yes_then_removes_the_user(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    ok_json("process", "-", "-u", "zoe", *data, stdin="I live in Quixotica.")
    ok_json("process", "-", "-u", "bob", *data, stdin="I live in Bobtown.")

    refused = octomem("forget", "--user", "zoe", *data)
    assert refused.returncode != 0
    assert "--yes" in refused.stderr and "cannot be undone" in refused.stderr
    assert ok_json("list", "-u", "zoe", *data), "nothing is forgotten without --yes"

    report = ok_json("forget", "--user", "zoe", "--yes", *data)
    assert report["user_id"] == "zoe" and report["total_memories"] >= 2
    assert report["history_events"] >= report["total_memories"]
    assert ok_json("list", "-u", "zoe", "--include-superseded", *data) == []
    assert ok_json("list", "-u", "bob", *data)

    human = octomem("forget", "-u", "zoe", "--yes", *data)  # again: nothing left
    assert human.returncode == 0 and "forgot zoe: 0 memories" in human.stdout


def test_a_wildcard_user_is_one_literal_user(tmp_path: Path) -> None:
    """`--user '*'` names the user "*": list finds only theirs, forget removes only theirs."""
    data = ["--data-dir", str(tmp_path / "data")]
    ok_json("process", "-", "-u", "zoe", *data, stdin="I live in Quixotica.")
    assert ok_json("list", "-u", "*", *data) == []
    ok_json("process", "-", "-u", "*", *data, stdin="I live in Starville.")
    report = ok_json("forget", "--user", "*", "--yes", *data)
    assert report["user_id"] == "*" and report["total_memories"] >= 1
    assert {m["user_id"] for m in ok_json("list", "-u", "zoe", *data)} == {"zoe"}


def test_a_command_without_a_scope_names_its_flags(tmp_path: Path) -> None:
    """The command line says which of its flags to give, not the Python argument
    (`user_id=`) the call underneath needed; nothing is stored."""
    data = str(tmp_path / "data")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("The boat is moored at pier nine.\n")
    for args in (
        ("process", "-"),
        ("search", "where is the boat"),
        ("list",),
        ("ingest", str(notes)),
    ):
        done = octomem(*args, "--data-dir", data, stdin="I live in Paris")
        assert done.returncode == 1, args
        assert done.stderr.strip() == (
            "error: give --user (or --agent): memories are always someone's"
        ), args
    stats = ok_json("stats", "--data-dir", data)
    assert stats["users"] == 0
    assert all(n == {"current": 0, "superseded": 0} for n in stats["memories"].values())


def test_a_key_limit_or_expiry_past_what_can_be_stored_is_an_error_not_a_crash(
    tmp_path: Path,
) -> None:
    data = str(tmp_path / "data")
    for flags, says in (
        (("--rate-limit", "9" * 23), "--rate-limit must be 1-1,000,000,000 a minute"),
        (("--expires", "99999999999d"), "--expires 99999999999d is too far away"),
        (("--expires", "999999999h"), "--expires 999999999h is too far away"),
    ):
        done = octomem("keys", "create", "--data-dir", data, *flags)
        assert done.returncode == 1 and done.stderr.startswith(f"error: {says}"), flags
    listed = octomem("keys", "list", "--data-dir", data)
    assert listed.returncode == 0 and "om_" not in listed.stdout  # no key was made


def test_ingest_a_folder_then_again_then_an_edit(tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "boat.md").write_text("# Boat\n\nThe dinghy is moored at pier 9.\n", "utf-8")
    (notes / "bad.md").write_bytes(b"\xff\xfe not utf-8 \x00\x81")
    data = ["--data-dir", str(tmp_path / "data")]
    first = ok_json("ingest", str(notes), "-u", "rob", *data)
    assert (first["added"], first["skipped"], first["memories"]) == (1, 1, 1)
    [skip] = first["files"]["skipped"]
    assert skip["path"] == "bad.md" and "UTF-8" in skip["reason"]
    again = ok_json("ingest", str(notes), "-u", "rob", *data)
    assert (again["added"], again["unchanged"]) == (0, 1)
    (notes / "boat.md").write_text("# Boat\n\nThe dinghy moved to pier 12.\n", "utf-8")
    done = octomem("ingest", str(notes), "-u", "rob", *data)
    assert done.returncode == 0, done.stderr
    assert "1 updated" in " ".join(done.stdout.split()) and "skipped bad.md" in done.stderr
    # stderr is a pipe here, where a bar draws nothing: a line names each file as it starts
    assert "ingesting 1/2 bad.md" in done.stderr and "ingesting 2/2 boat.md" in done.stderr
    hits = ok_json("search", "where is the dinghy moored?", "-u", "rob", *data)
    assert "pier 12" in hits["hits"][0]["memory"]["content"]
    missing = octomem("ingest", str(tmp_path / "nope"), "-u", "rob", *data)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_control_characters_in_the_names_a_reason_gives_are_not_printed(tmp_path: Path) -> None:
    """A skipped or kept file's reason may name another file of the folder or a link
    (`same content as ...`, `... is now a symbolic link`): a terminal escape in that name
    is printed as its escape, as the file's own name is, not sent to the terminal."""
    notes = tmp_path / "notes"
    (notes / "old\x1b]0;x\x07").mkdir(parents=True)
    (notes / "old\x1b]0;x\x07" / "boat.md").write_text("The dinghy is at pier 9.\n", "utf-8")
    (notes / "a\x1b[2J.md").write_text("The kayak is red.\n", "utf-8")
    (notes / "b.md").write_text("The kayak is red.\n", "utf-8")
    data = ["--data-dir", str(tmp_path / "data")]
    assert octomem("ingest", str(notes), "-u", "rob", *data).returncode == 0
    (notes / "old\x1b]0;x\x07").rename(tmp_path / "away")
    (notes / "old\x1b]0;x\x07").symlink_to(tmp_path / "away", target_is_directory=True)
    done = octomem("ingest", str(notes), "-u", "rob", *data)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stderr.split())
    assert "same content as a\\x1b[2J.md" in said and "old\\x1b]0;x\\x07 is now a symbolic" in said
    assert "\x1b" not in done.stderr + done.stdout and "\x07" not in done.stderr


def test_a_secret_in_a_file_name_an_id_or_an_import_line_is_not_printed(tmp_path: Path) -> None:
    """What the command line prints (a file's name as it ingests, an error quoting an id, an
    import's rejected lines) is masked, as what is stored is: stderr is often logged."""
    secret = "Zq9xT4wLm2Kp"
    data = str(tmp_path / "data")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / f"password={secret}.md").write_text("The boat is moored at pier nine.\n")
    ingested = octomem("ingest", str(notes), "--user", "ana", "--data-dir", data)
    assert ingested.returncode == 0, ingested.stderr
    assert "ingesting 1/1 password=[MASKED" in ingested.stderr  # a pipe: a line per file
    asked = octomem("get", f"password={secret}", "--data-dir", data)
    assert asked.returncode == 1 and "error: no memory with id" in asked.stderr
    lines = tmp_path / "lines.jsonl"
    assert octomem("export", str(lines), "--user", "nobody", "--data-dir", data).returncode == 0
    with lines.open("a") as out:
        out.write(json.dumps({"type": f"password={secret}"}) + "\n")
    imported = octomem("import", str(lines), "--skip-invalid", "--data-dir", data)
    assert "rejected line 2" in imported.stderr
    for done in (ingested, asked, imported):
        assert secret not in done.stdout + done.stderr
