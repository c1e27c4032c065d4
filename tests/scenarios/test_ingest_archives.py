"""`ingest` of a Slack export zip and an MBOX mailbox: conversations with their speakers and
timestamps, recalled by what was said; a grown mailbox adds only its new mail; a zip bomb,
broken JSON and a non-mailbox are refused with a clear reason; broken mail encodings are
read with replacement characters, not refused."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import shutil
import signal
import zipfile
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

import pytest

from octomem import InvalidInputError
from octomem.media import archives
from tests.scenarios.test_media import files_holding


def slack_zip(extra: dict[str, bytes] | None = None, channel: str = "launch") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("users.json", json.dumps([
            {"id": "U1", "name": "pria", "real_name": "Pria Natarajan"},
            {"id": "U2", "name": "tom", "profile": {"real_name": "Tom Okafor"}},
        ]))  # fmt: skip
        z.writestr("channels.json", json.dumps([{"id": "C1", "name": channel}]))
        z.writestr(f"{channel}/2024-03-04.json", json.dumps([
            {"type": "message", "user": "U1", "text": "The launch moves to the Quillby venue.",
             "ts": "1709546400.000100"},
            {"type": "message", "subtype": "channel_join", "user": "U2", "text": "joined",
             "ts": "1709546401.0"},
            {"type": "message", "user": "U2", "text": "<@U1> I will book the Quillby caterer.",
             "ts": "1709546500.000200"},
        ]))  # fmt: skip
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return out.getvalue()


MAIL = (
    b"From alice@example.com Mon Mar  4 10:00:00 2024\n"
    b"From: Alice Varga <alice@example.com>\n"
    b"Subject: Dentist\n"
    b"Date: Mon, 04 Mar 2024 10:00:00 +0000\n"
    b"Message-ID: <m1@example.com>\n"
    b"Content-Type: text/plain; charset=utf-8\n\n"
    b"My dentist appointment with Dr. Fennimore is on Thursday.\n\n"
)
BROKEN = (
    b"From bob@example.com Tue Mar  5 10:00:00 2024\n"
    b"From: =?x-unknown?q?Bob?= <bob@example.com>\n"
    b"Subject: Boat\n"
    b"Date: not a date\n"
    b"Content-Type: text/plain; charset=no-such-charset\n\n"
    b"The sailboat is called Marigold \xff\xfe.\n\n"
)


def test_a_slack_export_and_a_mailbox_become_conversations(make_orch: Any, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "team.zip").write_bytes(slack_zip())
    (folder / "mail.mbox").write_bytes(MAIL)
    orch = make_orch(data_dir=tmp_path / "data")
    report = orch.ingest(folder, user_id="pria")
    assert sorted(report.added) == ["mail.mbox", "team.zip"] and not report.skipped
    turns = [r for r in orch.get_all(user_id="pria") if r.metadata.get("ingest_path")]
    said = {r.session_id for r in turns}
    assert {"slack:launch:2024-03-04", "mail:m1@example.com"} <= said
    hits = orch.recall("where is the launch?", user_id="pria", limit=5)
    assert any("Quillby" in hit.text for hit in hits.hits[:3])
    hits = orch.recall("when is the dentist appointment?", user_id="pria", limit=5)
    assert any("Fennimore" in hit.text for hit in hits.hits[:3])
    speakers = {(r.content.split(":")[0], r.created_at.isoformat()[:16]) for r in turns}
    assert ("Tom Okafor", "2024-03-04T10:01") in speakers  # the speaker and the time said
    assert ("Alice Varga", "2024-03-04T10:00") in speakers
    # a mailbox that grew: the old mail changes nothing, the new one (broken encodings) adds
    before = {r.id for r in orch.get_all(user_id="pria")}
    (folder / "mail.mbox").write_bytes(MAIL + BROKEN)
    grown = orch.ingest(folder, user_id="pria")
    assert grown.updated == ["mail.mbox"] and grown.unchanged == ["team.zip"]
    after = orch.get_all(user_id="pria")
    assert before <= {r.id for r in after}
    assert any("Marigold" in r.content for r in after)
    assert orch.ingest(folder, user_id="pria").counts()["unchanged"] == 2
    (folder / "mail.mbox").unlink()  # a deleted archive's memories go
    assert orch.ingest(folder, user_id="pria").removed == ["mail.mbox"]
    left = orch.get_all(user_id="pria")
    assert not any("Marigold" in r.content or "Fennimore" in r.content for r in left)
    assert any("Quillby" in r.content for r in left)
    orch.close()
    orch = make_orch(data_dir=tmp_path / "data")
    orch.forget(user_id="pria")
    orch.close()
    assert files_holding(tmp_path / "data", "Quillby") == []


def test_bad_archives_are_refused_with_a_reason(tmp_path: Path) -> None:
    bomb = slack_zip({"launch/2024-03-05.json": b"[" + b" " * 3_000_000 + b"]"})
    assert len(bomb) < 100_000  # it compresses ~100x
    with pytest.raises(InvalidInputError, match="zip bomb"):
        archives.slack_export(bomb, max_members=100, max_unpacked=1_000_000)
    broken = slack_zip({"launch/2024-03-05.json": b"[{not json"})
    with pytest.raises(InvalidInputError, match="not JSON"):
        archives.slack_export(broken, max_members=100, max_unpacked=1_000_000)
    with pytest.raises(InvalidInputError, match="files; the limit"):
        archives.slack_export(slack_zip(), max_members=2, max_unpacked=1_000_000)
    with pytest.raises(InvalidInputError, match="not an MBOX"):
        archives.mbox(b"hello", max_messages=10)
    with pytest.raises(InvalidInputError, match="the limit is 1"):
        archives.mbox(MAIL + BROKEN, max_messages=1)
    [mail] = archives.mbox(BROKEN, max_messages=10)
    assert "Marigold" in mail.messages[0]["content"] and mail.messages[0]["name"] == "Bob"
    assert mail.messages[0]["timestamp"].isoformat() == "2024-03-05T10:00:00+00:00"  # envelope


def test_a_zip_that_is_no_slack_export_is_skipped(make_orch: Any, tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.txt", "x")
    (folder / "other.zip").write_bytes(out.getvalue())
    (folder / "bomb.zip").write_bytes(slack_zip({"c/2024-01-01.json": b"[" + b" " * 600 + b"]"}))
    orch = make_orch(data_dir=tmp_path / "data", ingest={"max_unpacked_bytes": 500})
    reasons = dict(orch.ingest(folder, user_id="u").skipped)
    assert "not a Slack export" in reasons["other.zip"]
    assert "zip bomb" in reasons["bomb.zip"]
    assert orch.get_all(user_id="u") == []


def test_a_slack_export_nested_too_deep_or_holding_a_huge_number_is_skipped(
    make_orch: Any, tmp_path: Path
) -> None:
    """JSON a Python parser cannot take (nested 100,000 deep, an integer of 5,000 digits)
    is a reason to skip the file, not a RecursionError or ValueError ending the run."""
    folder = tmp_path / "f"
    folder.mkdir()
    deep = b"[" * 100_000 + b"]" * 100_000
    (folder / "deep.zip").write_bytes(slack_zip({"launch/2024-03-05.json": deep}))
    (folder / "long.zip").write_bytes(
        slack_zip({"launch/2024-03-05.json": b"[" + b"7" * 5000 + b"]"})
    )
    (folder / "note.md").write_text("The spare key is under the blue pot.", encoding="utf-8")
    orch = make_orch(data_dir=tmp_path / "data")
    report = orch.ingest(folder, user_id="u")
    assert report.added == ["note.md"]
    reasons = dict(report.skipped)
    assert "nested" in reasons["deep.zip"] and "launch/2024-03-05.json" in reasons["deep.zip"]
    assert "launch/2024-03-05.json" in reasons["long.zip"]


def test_mail_the_email_parser_chokes_on_is_read_or_refused_with_a_reason() -> None:
    """Headers Python's email parser raises IndexError or OverflowError on are read as
    they are written; a message nested thousands of multiparts deep is an
    InvalidInputError, not a RecursionError ending the run."""
    envelope = b"From a@b Tue Mar  5 10:00:00 2024\n"
    [odd] = archives.mbox(
        envelope + b"From: a@b@c@d, ,,, :;\nSubject: Keys\n\nThe keys are with Ines.\n",
        max_messages=10,
    )
    assert "Ines" in odd.messages[0]["content"] and odd.messages[0]["name"]
    [dated] = archives.mbox(
        envelope + b"Date: Mon, 01 Jan 99999999999 00:00:00 +0000\n\nThe boat is blue.\n",
        max_messages=10,
    )
    assert dated.messages[0]["timestamp"].isoformat() == "2024-03-05T10:00:00+00:00"
    depth = 5000
    nested = b"From: x <x@y>\nContent-Type: multipart/mixed; boundary=b0\n\n"
    nested += b"".join(
        b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth)
    )
    nested += b"--b%d\nContent-Type: text/plain\n\nhello\n--b%d--\n" % (depth, depth)
    nested += b"".join(b"--b%d--\n" % i for i in reversed(range(depth)))
    with pytest.raises(InvalidInputError, match="message 1 of the mailbox"):
        archives.mbox(envelope + nested, max_messages=10)


def test_damaged_archives_are_read_or_refused_never_a_crash() -> None:
    """Slack exports and mailboxes with bytes changed at random (a damaged download, a
    hostile file): each is read or refused with InvalidInputError, never zlib.error,
    EOFError, NotImplementedError, UnicodeDecodeError, AttributeError or ValueError from
    the zip or email parser, which would end the whole ingest run."""
    unnamed = io.BytesIO()
    with zipfile.ZipFile(unnamed, "w") as z:
        z.writestr("users.json", "[]")
        z.writestr(zipfile.ZipInfo(""), b"x")  # a member with no name
    assert archives.slack_export(unnamed.getvalue(), max_members=10, max_unpacked=1000) == []
    rng = random.Random(7)
    zipped, mail = slack_zip(), MAIL + BROKEN
    for _ in range(1500):
        damaged = bytearray(zipped)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        with contextlib.suppress(InvalidInputError):
            archives.slack_export(bytes(damaged), max_members=100, max_unpacked=1_000_000)
    for _ in range(1500):
        damaged = bytearray(mail)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(5, len(damaged))] = rng.choice(b'=?<>@,;:"\\()[]\n \x00\xff')
        with contextlib.suppress(InvalidInputError):
            archives.mbox(bytes(damaged), max_messages=100)


def test_a_slack_export_folder_is_read_like_its_zip(make_orch: Any, tmp_path: Path) -> None:
    """The folder a Slack export zip unpacks to is one export: the same conversations as
    the zip, not a dozen JSON files skipped as not a supported kind; read again when a
    day is added, not read at all when nothing changed."""
    zipped, unpacked = tmp_path / "zipped", tmp_path / "unpacked"
    zipped.mkdir()
    (zipped / "team.zip").write_bytes(slack_zip())
    with zipfile.ZipFile(zipped / "team.zip") as z:
        z.extractall(unpacked / "Team Slack export")
    (unpacked / "notes.md").write_text("The spare key is under the blue pot.", encoding="utf-8")
    orch = make_orch(data_dir=tmp_path / "data")
    from_zip = orch.ingest(zipped, user_id="zip")
    from_folder = orch.ingest(unpacked, user_id="dir")
    assert from_zip.added == ["team.zip"]
    assert from_folder.added == ["Team Slack export", "notes.md"] and not from_folder.skipped

    def said(user: str) -> set[tuple[str | None, str]]:
        turns = [r for r in orch.get_all(user_id=user) if r.metadata.get("ingest_path")]
        return {(r.session_id, r.content) for r in turns if r.session_id}

    assert said("zip") == said("dir") and len(said("dir")) == 2
    assert orch.ingest(unpacked, user_id="dir").unchanged == ["Team Slack export", "notes.md"]
    day = [{"type": "message", "user": "U2", "text": "The Quillby caterer confirmed.",
            "ts": "1709632800.0"}]  # fmt: skip
    (unpacked / "Team Slack export" / "launch" / "2024-03-05.json").write_text(json.dumps(day))
    grown = orch.ingest(unpacked, user_id="dir")
    assert grown.updated == ["Team Slack export"]
    assert any(s == "slack:launch:2024-03-05" and "caterer" in c for s, c in said("dir"))
    # the export folder itself, given as the path
    alone = orch.ingest(unpacked / "Team Slack export", user_id="alone")
    assert alone.added == ["Team Slack export"] and len(said("alone")) == 3
    # its limits hold: too many files, too many bytes
    small = make_orch(data_dir=tmp_path / "small", ingest={"max_unpacked_bytes": 300})
    reasons = dict(small.ingest(unpacked, user_id="u").skipped)
    assert "ingest.max_unpacked_bytes" in reasons["Team Slack export"]
    few = make_orch(data_dir=tmp_path / "few", ingest={"max_files": 3})
    assert "the limit is 3" in dict(few.ingest(unpacked, user_id="u").skipped)["Team Slack export"]


def test_a_secret_in_a_message_id_or_a_channel_name_is_not_stored(
    make_orch: Any, tmp_path: Path
) -> None:
    """A session id is named from what the file says: one that holds a secret becomes its
    kind and a keyed hash, as no secret may reach disk."""
    secret = "AKIAQZ7XK3MPL9WR4TBN"
    folder = tmp_path / "exports"
    folder.mkdir()
    mail = MAIL.split(b"\n", 1)[1].replace(b"<m1@example.com>", f"<{secret}@example.com>".encode())
    (folder / "dentist.eml").write_bytes(mail)
    (folder / "team.zip").write_bytes(slack_zip(channel=secret))
    orch = make_orch(data_dir=tmp_path / "data")
    report = orch.ingest(folder, user_id="ivo")
    assert sorted(report.added) == ["dentist.eml", "team.zip"] and not report.skipped
    sessions = {r.session_id or "" for r in orch.get_all(user_id="ivo")}
    assert {s.split(":")[0] for s in sessions} == {"mail", "slack"}
    assert all(len(s.split(":")[1]) == 32 for s in sessions)
    assert orch.ingest(folder, user_id="ivo").counts()["unchanged"] == 2
    orch.close()
    assert files_holding(tmp_path / "data", secret) == []


def test_a_control_character_in_a_message_id_or_a_channel_name_does_not_skip_it(
    make_orch: Any, tmp_path: Path
) -> None:
    """The session id named from a Message-ID or a channel holding ESC (the file's
    author's) is escaped, not refused: the mail and the channel are stored."""
    folder = tmp_path / "exports"
    folder.mkdir()
    mail = MAIL.split(b"\n", 1)[1].replace(b"<m1@example.com>", b"<m1\x1b\x07@example.com>")
    (folder / "dentist.eml").write_bytes(mail)
    (folder / "team.zip").write_bytes(slack_zip(channel="launch\x1b]0;x\x07"))
    orch = make_orch(data_dir=tmp_path / "data")
    report = orch.ingest(folder, user_id="ivo")
    assert sorted(report.added) == ["dentist.eml", "team.zip"] and not report.skipped
    sessions = {r.session_id for r in orch.get_all(user_id="ivo")}
    assert {"mail:m1\\x1b\\x07@example.com", "slack:launch\\x1b]0;x\\x07:2024-03-04"} <= sessions
    assert orch.ingest(folder, user_id="ivo").counts()["unchanged"] == 2


def test_eml_files_are_one_mail_each(make_orch: Any, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "dentist.eml").write_bytes(MAIL.split(b"\n", 1)[1])  # no mbox 'From ' line
    (folder / "boat.eml").write_bytes(BROKEN.split(b"\n", 1)[1])  # no Message-ID
    (folder / "blank.eml").write_bytes(b"X-Nothing: here\n\n")
    orch = make_orch(data_dir=tmp_path / "data")
    report = orch.ingest(folder, user_id="eve")
    assert report.added == ["boat.eml", "dentist.eml"]
    assert "holds no text" in dict(report.skipped)["blank.eml"]
    turns = [r for r in orch.get_all(user_id="eve") if r.metadata.get("ingest_path")]
    sessions = {r.session_id for r in turns}
    assert "mail:m1@example.com" in sessions
    assert any(s and s.startswith("mail:sha256-") for s in sessions)
    assert ("Alice Varga", "2024-03-04T10:00") in {
        (r.content.split(":")[0], r.created_at.isoformat()[:16]) for r in turns
    }
    hits = orch.recall("what is the sailboat called?", user_id="eve", limit=5)
    assert any("Marigold" in hit.text for hit in hits.hits[:3])
    assert orch.ingest(folder / "dentist.eml", user_id="solo").added == ["dentist.eml"]


def test_a_mail_both_an_eml_and_in_a_mailbox_of_the_folder_is_stored_once(
    make_orch: Any, tmp_path: Path
) -> None:
    """The same mail saved as an `.eml` beside the mailbox holding it (with its Message-ID
    or without one) is stored once: a second run adds nothing; once the mailbox is
    deleted, the `.eml` is read."""
    no_id = MAIL.replace(b"Message-ID: <m1@example.com>\n", b"").replace(b"Thursday", b"Friday")
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "box.mbox").write_bytes(MAIL + no_id)
    (folder / "dentist.eml").write_bytes(MAIL.split(b"\n", 1)[1])
    (folder / "friday.eml").write_bytes(no_id.split(b"\n", 1)[1])
    orch = make_orch(data_dir=tmp_path / "data")
    first = orch.ingest(folder, user_id="eve")
    assert first.added == ["box.mbox"]
    assert dict(first.skipped) == {
        "dentist.eml": "same conversations as box.mbox (stored once)",
        "friday.eml": "same conversations as box.mbox (stored once)",
    }
    turns = [r for r in orch.get_all(user_id="eve") if r.memory_type == "episodic"]
    assert len(turns) == 2 and {r.metadata["ingest_path"] for r in turns} == {"box.mbox"}
    stored = {r.id for r in orch.get_all(user_id="eve")}
    again = orch.ingest(folder, user_id="eve")
    assert again.added == [] and again.unchanged == ["box.mbox"] and again.memories == 0
    assert {r.id for r in orch.get_all(user_id="eve")} == stored
    (folder / "box.mbox").unlink()
    moved = orch.ingest(folder, user_id="eve")
    assert moved.removed == ["box.mbox"] and moved.added == ["dentist.eml", "friday.eml"]
    left = [r for r in orch.get_all(user_id="eve") if r.memory_type == "episodic"]
    assert sorted(r.metadata["ingest_path"] for r in left) == ["dentist.eml", "friday.eml"]


def test_a_mail_stored_from_its_eml_is_kept_from_the_mailbox_once_the_eml_is_deleted(
    make_orch: Any, tmp_path: Path
) -> None:
    """The `.eml` read before the mailbox holds the mail they share; once it is deleted, the
    unchanged mailbox is read again for that mail, which no file's records held any more."""
    other = MAIL.replace(b"Message-ID: <m1@example.com>\n", b"").replace(b"Thursday", b"Friday")
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "a-dentist.eml").write_bytes(MAIL.split(b"\n", 1)[1])
    (folder / "box.mbox").write_bytes(MAIL + other)
    orch = make_orch(data_dir=tmp_path / "data")
    first = orch.ingest(folder, user_id="eve")
    assert first.added == ["a-dentist.eml", "box.mbox"]
    (folder / "a-dentist.eml").unlink()
    second = orch.ingest(folder, user_id="eve")
    assert second.removed == ["a-dentist.eml"] and second.updated == ["box.mbox"]
    turns = [r for r in orch.get_all(user_id="eve") if r.memory_type == "episodic"]
    assert len(turns) == 2 and {r.metadata["ingest_path"] for r in turns} == {"box.mbox"}
    third = orch.ingest(folder, user_id="eve")
    assert third.unchanged == ["box.mbox"] and third.memories == 0


@pytest.mark.parametrize("step", ["one", "take_over", "remove"])
def test_a_run_stopped_after_the_eml_is_removed_loses_no_mail(
    make_orch: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """A run stopped (kill -9) after the gone `.eml` files are removed - before any file is
    read, as the mailbox takes a mail of theirs over, or as the mail no archive holds is
    deleted last - leaves each mail in a file's records: the next run ends as a whole one
    would have, the mailbox holding the mail it shared, nothing stored twice."""
    from octomem.orchestrator import ingest

    other = MAIL.replace(b"Message-ID: <m1@example.com>\n", b"").replace(b"Thursday", b"Friday")
    lone = MAIL.replace(b"<m1@", b"<m2@").replace(b"Thursday", b"Saturday")
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "a-dentist.eml").write_bytes(MAIL.split(b"\n", 1)[1])
    (folder / "box.mbox").write_bytes(MAIL + other)
    (folder / "z-lone.eml").write_bytes(lone.split(b"\n", 1)[1])
    orch = make_orch(data_dir=tmp_path / "data")
    orch.ingest(folder, user_id="eve")
    kept = {r.id for r in orch.get_all(user_id="eve") if r.metadata["ingest_path"] != "z-lone.eml"}
    (folder / "a-dentist.eml").unlink()
    (folder / "z-lone.eml").unlink()
    real = getattr(ingest._Run, step)

    async def killed(run: Any, *args: Any, **kwargs: Any) -> Any:
        if step == "remove" and not args[0]:  # what the gone files said waits for the end
            return await real(run, *args, **kwargs)
        raise RuntimeError("killed")

    with monkeypatch.context() as patch:
        patch.setattr(ingest._Run, step, killed)
        with pytest.raises(RuntimeError, match="killed"):
            orch.ingest(folder, user_id="eve")
    again = orch.ingest(folder, user_id="eve")
    if step == "remove":  # the mailbox took its mail over before the run stopped
        assert again.removed == ["z-lone.eml"] and again.unchanged == ["box.mbox"]
    else:
        assert again.removed == ["a-dentist.eml", "z-lone.eml"] and again.updated == ["box.mbox"]
    turns = [r for r in orch.get_all(user_id="eve") if r.memory_type == "episodic"]
    assert len(turns) == 2 and {r.metadata["ingest_path"] for r in turns} == {"box.mbox"}
    assert {r.id for r in orch.get_all(user_id="eve")} == kept  # handed over, none twice
    last = orch.ingest(folder, user_id="eve")
    assert last.unchanged == ["box.mbox"] and last.memories == 0 and not last.removed


OTHER = MAIL.replace(b"Message-ID: <m1@example.com>\n", b"").replace(b"Thursday", b"Friday")
LATER = MAIL.replace(b"<m1@", b"<m3@").replace(b"Thursday", b"Sunday " + b"padding " * 40)
DEPTH = 5000  # multiparts nested deeper than the email parser can recurse
NESTED = (
    b"From x@y Wed Mar  6 10:00:00 2024\nFrom: x <x@y>\n"
    b"Content-Type: multipart/mixed; boundary=b0\n\n"
    + b"".join(
        b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(DEPTH)
    )
    + b"--b%d\nContent-Type: text/plain\n\nhello\n--b%d--\n" % (DEPTH, DEPTH)
    + b"".join(b"--b%d--\n" % i for i in reversed(range(DEPTH)))
)


def shared_mail(make_orch: Any, tmp_path: Path, **settings: Any) -> tuple[Any, Path, set[str]]:
    """A folder whose mail `a-dentist.eml` is in `box.mbox` too, ingested: the mail stored
    from the `.eml` (read first), the mailbox storing its other mail only. The ids stored."""
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "a-dentist.eml").write_bytes(MAIL.split(b"\n", 1)[1])
    (folder / "box.mbox").write_bytes(MAIL + OTHER)
    orch = make_orch(data_dir=tmp_path / "data", **settings)
    first = orch.ingest(folder, user_id="eve")
    assert first.added == ["a-dentist.eml", "box.mbox"] and not first.skipped
    return orch, folder, {r.id for r in orch.get_all(user_id="eve")}


def failing_read(monkeypatch: pytest.MonkeyPatch, name: str, error: Exception) -> None:
    """Reading the file `name` raises `error` (a root test process reads a chmod 000 file)."""
    real = archives.read_regular

    def read(path: Path, size: int, below: Path | None = None) -> bytes:
        if Path(path).name == name:
            raise error
        return real(path, size, below)

    monkeypatch.setattr(archives, "read_regular", read)


def growing_read(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The file `name` grows while it is read: more bytes come than its size said."""
    real = archives.read_regular
    monkeypatch.setattr(
        archives,
        "read_regular",
        lambda path, size, below=None: (
            real(path, size, below) + b"x" * size * (Path(path).name == name)
        ),
    )


def stopped(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    def parse(data: bytes, **limits: Any) -> Any:
        raise error

    monkeypatch.setattr(archives, "mbox", parse)


def refused_take_over(monkeypatch: pytest.MonkeyPatch) -> None:
    from octomem.orchestrator import ingest

    async def refuse(run: Any, *args: Any) -> None:
        raise InvalidInputError("refused")

    monkeypatch.setattr(ingest._Run, "take_over", refuse)


LATIN = "box\udce9.mbox"  # os.fsdecode(b"box\xe9.mbox"): a name that is not UTF-8
# how the mailbox that also holds the gone `.eml`'s mail is not read in a run: (settings,
# what puts it there, what makes it read fine again; both given the folder and monkeypatch)
UNREAD: dict[str, tuple[dict[str, Any], Any, Any]] = {
    "unreadable": (
        {},
        lambda f, mp: failing_read(mp, "box.mbox", PermissionError(13, "Permission denied")),
        lambda f, mp: None,
    ),
    "over-max_file_bytes": (
        {"ingest": {"max_file_bytes": len(MAIL + OTHER) + 100}},
        lambda f, mp: (f / "box.mbox").write_bytes(MAIL + OTHER + LATER),
        lambda f, mp: (f / "box.mbox").write_bytes(MAIL + OTHER),
    ),
    "grew-while-read": ({}, lambda f, mp: growing_read(mp, "box.mbox"), lambda f, mp: None),
    "over-max_total_bytes": (
        {"ingest": {"max_total_bytes": len(MAIL + OTHER) * 2}},
        lambda f, mp: (f / "a-note.md").write_text("Parked on level 4. " * 30, encoding="utf-8"),
        lambda f, mp: None,  # the note, unchanged, is not read again
    ),
    "over-max_messages": (
        {"ingest": {"max_messages": 2}},
        lambda f, mp: (f / "box.mbox").write_bytes(MAIL + OTHER + LATER),
        lambda f, mp: (f / "box.mbox").write_bytes(MAIL + OTHER),
    ),
    "a-mail-the-parser-cannot-read": (
        {},
        lambda f, mp: (f / "box.mbox").write_bytes(MAIL + OTHER + NESTED),
        lambda f, mp: (f / "box.mbox").write_bytes(MAIL + OTHER),
    ),
    "no-longer-an-mbox": (
        {},
        lambda f, mp: (f / "box.mbox").write_bytes(b"\n" + MAIL + OTHER),
        lambda f, mp: (f / "box.mbox").write_bytes(MAIL + OTHER),
    ),
    "name-not-utf8": (
        {},
        lambda f, mp: (f / "box.mbox").rename(f / LATIN),
        lambda f, mp: (f / LATIN).rename(f / "box.mbox"),
    ),
    "its-take-over-refused": ({}, lambda f, mp: refused_take_over(mp), lambda f, mp: None),
    "stopped": ({}, lambda f, mp: stopped(mp, RuntimeError("stopped")), lambda f, mp: None),
    "cancelled": ({}, lambda f, mp: stopped(mp, asyncio.CancelledError()), lambda f, mp: None),
}


@pytest.mark.parametrize("path", sorted(UNREAD))
def test_a_gone_eml_keeps_its_mail_while_the_mailbox_holding_it_is_not_read(
    make_orch: Any, tmp_path: Path, path: str
) -> None:
    """The `.eml` of a mail the mailbox beside it holds too is deleted in a run that does
    not read that mailbox to its end (unreadable, over a limit, a mail it cannot parse, a
    name that is not UTF-8, the take-over refused, the run stopped): the mail's memories
    stay, kept by the gone `.eml` and reported, until a run reads the mailbox, which takes
    them over (the same ids, none stored twice), the stores consistent at each step."""
    settings, unread, fine = UNREAD[path]
    orch, folder, stored = shared_mail(make_orch, tmp_path, **settings)
    (folder / "a-dentist.eml").unlink()
    with pytest.MonkeyPatch.context() as patch:
        unread(folder, patch)
        if path in ("stopped", "cancelled"):
            with pytest.raises((RuntimeError, asyncio.CancelledError, CancelledError)):
                orch.ingest(folder, user_id="eve")
        else:
            report = orch.ingest(folder, user_id="eve")
            gone = ["a-dentist.eml"] + ["box.mbox"] * (path == "name-not-utf8")  # renamed
            assert not report.removed and [p for p, _ in report.kept] == gone
            assert "kept until" in dict(report.kept)["a-dentist.eml"]
        fine(folder, patch)
    assert {r.id for r in orch.get_all(user_id="eve")} >= stored  # the mail's memories
    assert any("Fennimore" in r.content for r in orch.get_all(user_id="eve"))
    assert orch.check().consistent
    later = orch.ingest(folder, user_id="eve")
    assert later.removed == ["a-dentist.eml"] and not later.kept and not later.skipped
    assert later.memories == 0
    turns = [r for r in orch.get_all(user_id="eve") if (r.session_id or "").startswith("mail:")]
    turns = [r for r in turns if r.memory_type == "episodic"]
    assert len(turns) == 2 and {r.metadata["ingest_path"] for r in turns} == {"box.mbox"}
    now = {r.id for r in orch.get_all(user_id="eve")}
    assert stored <= now and not [
        r for r in orch.get_all(user_id="eve") if r.metadata.get("ingest_path") == "a-dentist.eml"
    ]
    assert orch.check().consistent
    settled = orch.ingest(folder, user_id="eve")
    assert settled.memories == 0 and not settled.removed and not settled.kept


def test_a_renamed_mailbox_takes_over_the_mail_of_an_eml_deleted_in_the_same_run(
    make_orch: Any, tmp_path: Path
) -> None:
    """`box.mbox` renamed `box2.mbox` in the run where the `.eml` of a mail it holds is
    deleted: the new name takes over both gone files' records (the same ids, none stored
    twice); renamed to a name that cannot be read, both wait for it."""
    orch, folder, stored = shared_mail(make_orch, tmp_path)
    (folder / "a-dentist.eml").unlink()
    (folder / "box.mbox").rename(folder / "box2.mbox")
    with pytest.MonkeyPatch.context() as patch:
        failing_read(patch, "box2.mbox", PermissionError(13, "Permission denied"))
        waiting = orch.ingest(folder, user_id="eve")
    assert [p for p, _ in waiting.kept] == ["a-dentist.eml", "box.mbox"]
    assert not waiting.removed and "box2.mbox" in dict(waiting.skipped)
    assert {r.id for r in orch.get_all(user_id="eve")} == stored
    assert orch.check().consistent
    renamed = orch.ingest(folder, user_id="eve")
    assert renamed.removed == ["a-dentist.eml", "box.mbox"] and renamed.added == ["box2.mbox"]
    assert renamed.memories == 0 and not renamed.kept
    turns = [r for r in orch.get_all(user_id="eve") if r.memory_type == "episodic"]
    assert len(turns) == 2 and {r.metadata["ingest_path"] for r in turns} == {"box2.mbox"}
    assert {r.id for r in orch.get_all(user_id="eve")} == stored
    assert orch.check().consistent
    assert orch.ingest(folder, user_id="eve").unchanged == ["box2.mbox"]
    # and renamed again in one run that reads it fine
    (folder / "box2.mbox").rename(folder / "box3.mbox")
    again = orch.ingest(folder, user_id="eve")
    assert again.removed == ["box2.mbox"] and again.added == ["box3.mbox"] and not again.kept
    assert {r.id for r in orch.get_all(user_id="eve")} == stored
    assert orch.check().consistent


def test_a_gone_mail_no_file_holds_is_removed_only_by_a_run_that_reads_every_mailbox(
    make_orch: Any, tmp_path: Path
) -> None:
    """A deleted `.eml` whose mail no other file holds is kept while a mailbox of the folder
    is not read (it might hold it) and removed by the run that reads it; an archive that
    cannot hold a mail (a Slack export), one that holds nothing (an `.eml` without text) and
    a link the run never follows do not keep it."""
    lone = MAIL.replace(b"<m1@", b"<m2@").replace(b"Thursday", b"Saturday")
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "box.mbox").write_bytes(OTHER)
    (folder / "lone.eml").write_bytes(lone.split(b"\n", 1)[1])
    (folder / "team.zip").write_bytes(slack_zip())
    (folder / "blank.eml").write_bytes(b"X-Nothing: here\n\n")
    outside = tmp_path / "elsewhere.mbox"
    outside.write_bytes(lone)
    (folder / "linked.mbox").symlink_to(outside)
    orch = make_orch(data_dir=tmp_path / "data")
    assert orch.ingest(folder, user_id="eve").added == ["box.mbox", "lone.eml", "team.zip"]
    (folder / "lone.eml").unlink()
    with pytest.MonkeyPatch.context() as patch:
        failing_read(patch, "box.mbox", PermissionError(13, "Permission denied"))
        waiting = orch.ingest(folder, user_id="eve")
    assert [p for p, _ in waiting.kept] == ["lone.eml"] and not waiting.removed
    assert "box.mbox" in dict(waiting.kept)["lone.eml"]
    assert any("Saturday" in r.content for r in orch.get_all(user_id="eve"))
    assert orch.check().consistent
    done = orch.ingest(folder, user_id="eve")
    assert done.removed == ["lone.eml"] and not done.kept
    assert not any("Saturday" in r.content for r in orch.get_all(user_id="eve"))
    assert orch.check().consistent
    # a Slack export that cannot be read keeps no mail; the export's day a gone copy of it
    # holds waits for it
    (folder / "lone.eml").write_bytes(lone.split(b"\n", 1)[1])
    with zipfile.ZipFile(folder / "team.zip") as z:
        z.extractall(folder / "A Slack export")
    (folder / "team.zip").rename(tmp_path / "team.zip")
    assert orch.ingest(folder, user_id="eve").added == ["A Slack export", "lone.eml"]
    (tmp_path / "team.zip").rename(folder / "team.zip")
    assert "stored once" in dict(orch.ingest(folder, user_id="eve").skipped)["team.zip"]
    (folder / "lone.eml").unlink()
    shutil.rmtree(folder / "A Slack export")
    stored = {r.id for r in orch.get_all(user_id="eve") if "Quillby" in r.content}
    with pytest.MonkeyPatch.context() as patch:
        failing_read(patch, "team.zip", PermissionError(13, "Permission denied"))
        mixed = orch.ingest(folder, user_id="eve")
    assert mixed.removed == ["lone.eml"] and [p for p, _ in mixed.kept] == ["A Slack export"]
    assert stored and {r.id for r in orch.get_all(user_id="eve")} >= stored
    assert orch.check().consistent
    read = orch.ingest(folder, user_id="eve")
    assert read.removed == ["A Slack export"] and not read.kept
    assert {r.id for r in orch.get_all(user_id="eve") if "Quillby" in r.content} == stored
    assert orch.check().consistent


THIRD = MAIL.replace(b"<m1@", b"<m4@").replace(b"Thursday", b"Tuesday")


@pytest.mark.parametrize("grown", [False, True], ids=["new", "grown"])
def test_a_mailbox_killed_between_its_mails_is_read_to_its_end_by_the_next_run(
    make_orch: Any, tmp_path: Path, grown: bool
) -> None:
    """Each mail of a mailbox new to the store is a journaled write of its own: a run
    killed (SIGKILL) after the first of them (a new mailbox, or one grown by two mails)
    leaves the file's version part stored. The next run reads the rest of it, not taking
    the version for read because some of its mail is stored; the run after that finds it
    unchanged."""
    from tests.scenarios.test_crash import _child

    folder, data = tmp_path / "mail", tmp_path / "data"
    folder.mkdir()
    box = folder / "box.mbox"
    box.write_bytes(MAIL)
    orch = make_orch(data_dir=data)
    if grown:
        orch.ingest(folder, user_id="eve")
    orch.close()
    box.write_bytes(MAIL + OTHER + THIRD)
    spec = {"data_dir": str(data), "call": "ingest", "path": str(folder), "user_id": "eve"}
    child = _child({**spec, "store": "journal", "method": "finish", "nth": 1, "when": "after"})
    output, _ = child.communicate(timeout=600)
    assert child.returncode == -signal.SIGKILL, f"the kill point was not reached:\n{output}"

    orch = make_orch(data_dir=data)
    assert orch.check().consistent

    def days() -> list[str]:
        turns = [r.content for r in orch.get_all(user_id="eve") if r.memory_type == "episodic"]
        said = ("Thursday", "Friday", "Tuesday")
        return sorted(day for text in turns for day in said if day in text)

    assert len(days()) == (2 if grown else 1)  # killed after that mail, before the next
    again = orch.ingest(folder, user_id="eve")
    assert again.counts()["skipped"] == 0
    assert days() == ["Friday", "Thursday", "Tuesday"]
    last = orch.ingest(folder, user_id="eve")
    assert last.unchanged == ["box.mbox"] and last.memories == 0
    assert days() == ["Friday", "Thursday", "Tuesday"] and orch.check().consistent


def test_a_mailbox_whose_last_mail_is_refused_is_read_once(make_orch: Any, tmp_path: Path) -> None:
    """The write that marks a mailbox's version read to its end is its last new mail's: a
    mail refused there (longer than a message may be) leaves the rest stored and the
    version marked all the same, so the next run finds it unchanged, not part read."""
    folder = tmp_path / "mail"
    folder.mkdir()
    huge = THIRD.replace(b"Tuesday.", b"Tuesday. " + b"zz " * 40_000)
    (folder / "box.mbox").write_bytes(MAIL + OTHER + huge)
    orch = make_orch(data_dir=tmp_path / "data")
    first = orch.ingest(folder, user_id="eve")
    assert first.added == ["box.mbox"] and [p for p, _ in first.skipped] == [
        "box.mbox#mail:m4@example.com"
    ]
    turns = [r.content for r in orch.get_all(user_id="eve") if r.memory_type == "episodic"]
    assert len(turns) == 2 and not any("Tuesday" in text for text in turns)
    again = orch.ingest(folder, user_id="eve")
    assert again.unchanged == ["box.mbox"] and not again.skipped and again.memories == 0
    assert orch.check().consistent
