"""`octomem process`'s input: JSON or plain text, and a `.json` file that must be JSON."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from octomem.cli_support import read_messages
from octomem.errors import InvalidInputError


def test_a_json_file_that_does_not_parse_is_refused_with_where(tmp_path: Path) -> None:
    """A truncated export is an error naming the spot, not stored as one user message."""
    path = tmp_path / "export.json"
    path.write_text('[{"role": "user", "content": "I moved to Porto"},\n {"role": "us')
    with pytest.raises(InvalidInputError, match=r"export\.json is not valid JSON .* line 2"):
        read_messages(str(path))


def test_plain_text_and_json_are_read_by_what_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("[draft] I moved to Porto\n")
    assert read_messages(str(text)) == "[draft] I moved to Porto"
    listed = tmp_path / "chat.JSON"
    listed.write_text('{"messages": [{"role": "user", "content": "hi"}]}')
    assert read_messages(str(listed)) == [{"role": "user", "content": "hi"}]
    monkeypatch.setattr("sys.stdin", io.StringIO('{"not json'))
    assert read_messages("-") == '{"not json'  # stdin has no name: text that looks like JSON
