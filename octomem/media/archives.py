"""Conversation archives: a Slack export (a zip, or the folder unpacked from it), an MBOX
mailbox and a single mail (`.eml`), read into conversations of messages with their
speakers and timestamps, within limits.

A Slack export is a zip of `users.json`, `channels.json` and one folder per channel with a
JSON file per day; each channel's day is one conversation. A mail is one conversation (the
sender speaks; the subject opens the text). Bad input gets an
`InvalidInputError` before anything is returned: a zip whose members unpack past
`max_unpacked` bytes (a zip bomb: checked against the headers, then again while reading,
since headers can lie), too many members, broken JSON; a file that is not a mailbox.
Broken encodings in mail (an unknown charset, bytes that are not what the charset says)
are decoded with replacement characters rather than refused.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import json
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import MessageError
from email.message import EmailMessage
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

from octomem.errors import InvalidInputError
from octomem.validation import parse_json

_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_DAY = re.compile(r"^(?P<channel>[^/]+)/(?P<day>\d{4}-\d{2}-\d{2})\.json$")
_FROM_LINE = re.compile(rb"^From .*$", re.MULTILINE)


@dataclass(frozen=True)
class Conversation:
    session: str  # "slack:<channel>:<day>" or "mail:<message id or number>"
    messages: list[dict[str, Any]]  # {"role", "name", "content", "timestamp"}


class HoldsNothing(InvalidInputError):
    """A file read to its end that holds no conversation (an `.eml` without text, a zip
    that is no Slack export): skipped, and no gone file's conversation can be in it."""


def is_slack_folder(path: Path) -> bool:
    """Whether a folder is a Slack export as unpacked from its zip: `users.json` or
    `channels.json`, and a channel folder holding a day (`2024-03-04.json`)."""
    try:
        if not any((path / name).is_file() for name in _INDEXES):
            return False
        return any(
            sub.is_dir()
            and not sub.is_symlink()
            and any(_DAY_FILE.match(f) for f in os.listdir(sub))
            for sub in path.iterdir()
        )
    except OSError:
        return False


_INDEXES = frozenset({"users.json", "channels.json"})
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")

# what zipfile raises on a damaged archive: its own error, and those of what it calls
# (zlib, a read past the end, an unknown version or compression, a name not UTF-8)
_BROKEN_ZIP = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    RuntimeError,  # NotImplementedError: a zip version or compression it cannot read
    ValueError,  # UnicodeDecodeError: a member name not UTF-8
)


class _Members(Protocol):
    """The files of a Slack export, by their names inside it (`channel/2024-03-04.json`)."""

    too_large: str  # the reason when it holds more than the limit: {size}, {limit}

    def sizes(self) -> dict[str, int]: ...

    def read(self, name: str, size: int) -> bytes:
        """At most `size` bytes of the member; KeyError if there is none by that name."""
        ...


class _Zip:
    too_large = (
        "unpacks to {:,} bytes; the limit is {:,} (ingest.max_unpacked_bytes): refused as "
        "a possible zip bomb"
    )

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def sizes(self) -> dict[str, int]:
        # a member with an empty name (a damaged header) is no file of the export
        members = self.archive.infolist()
        return {m.filename: m.file_size for m in members if m.filename and not m.is_dir()}

    def read(self, name: str, size: int) -> bytes:
        with self.archive.open(name) as handle:
            return handle.read(size)


class _Folder:
    too_large = "holds {:,} bytes; the limit is {:,} (ingest.max_unpacked_bytes)"

    def __init__(self, root: Path, max_members: int, below: Path | None = None) -> None:
        self.below = below  # see `read_regular`
        self.files: dict[str, Path] = {}
        for top, dirs, names in os.walk(root, followlinks=False):
            dirs.sort()
            for name in names:
                path = Path(top) / name
                if not path.is_symlink():
                    self.files[path.relative_to(root).as_posix()] = path
            if len(self.files) > max_members:  # not walked to its end
                raise InvalidInputError(
                    f"the Slack export holds more than {max_members:,} files; the limit is "
                    f"{max_members:,}"
                )

    def sizes(self) -> dict[str, int]:
        return {name: path.stat().st_size for name, path in self.files.items()}

    def read(self, name: str, size: int) -> bytes:
        return read_regular(self.files[name], size, self.below)


def read_regular(path: Path, size: int, below: Path | None = None) -> bytes:
    """At most `size` bytes of the file at `path`, opened without waiting (a named pipe
    has no end) and without following a link; InvalidInputError if it is not a regular
    file. With `below`, a folder `path` lies in, no folder between them is followed
    either: one swapped for a link (to a folder outside `below`) after the walk that
    found `path` is refused (InvalidInputError), not read through."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    if below is None or os.open not in os.supports_dir_fd:  # no `dir_fd`: the name whole
        fd = os.open(path, flags)
    else:
        fd = _open_below(Path(below), Path(path).relative_to(below).parts, flags)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InvalidInputError(NOT_REGULAR)
        return handle.read(size)


def _open_below(root: Path, parts: tuple[str, ...], flags: int) -> int:
    """`root/parts...` opened with `flags`, each folder on the way opened in the one
    before it without following a link."""
    folder = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    parent = os.open(root, folder)
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, folder | getattr(os, "O_NOFOLLOW", 0), dir_fd=parent)
            except OSError:
                if _is_link(part, parent):
                    raise InvalidInputError(SWAPPED.format(part)) from None
                raise
            os.close(parent)
            parent = inner
        return os.open(parts[-1], flags, dir_fd=parent)
    finally:
        os.close(parent)


def _is_link(name: str, folder: int) -> bool:
    """Whether `name` in the open folder `folder` is a symbolic link."""
    try:
        os.readlink(name, dir_fd=folder)
    except OSError:
        return False
    return True


SWAPPED = "the folder {} on its way is now a symbolic link (not followed): not read"
NOT_REGULAR = "not a regular file (a named pipe, socket or device): not read"


def slack_export(
    source: bytes | Path, *, max_members: int, max_unpacked: int, below: Path | None = None
) -> list[Conversation]:
    """The conversations of a Slack export, a zip (its bytes) or the folder unpacked from
    it (in folder `below`, whose folders on the way are not followed: `read_regular`);
    InvalidInputError for a bad or oversized one, HoldsNothing for a zip without
    `users.json` or `channels.json`."""
    if isinstance(source, Path):
        try:
            export = _Folder(source, max_members, below)
            return _conversations(export, max_members, max_unpacked)
        except OSError as exc:
            raise InvalidInputError(
                f"cannot read the Slack export: {exc.strerror or exc}"
            ) from None
    try:
        archive = zipfile.ZipFile(io.BytesIO(source))
    except _BROKEN_ZIP as exc:
        raise InvalidInputError(f"the Slack export is not a valid zip ({exc!r})") from None
    with archive:
        if not _INDEXES & set(archive.namelist()):
            raise HoldsNothing("a zip that is not a Slack export (no users.json, channels.json)")
        return _conversations(_Zip(archive), max_members, max_unpacked)


def _conversations(export: _Members, max_members: int, max_unpacked: int) -> list[Conversation]:
    sizes = export.sizes()
    if len(sizes) > max_members:
        raise InvalidInputError(
            f"the Slack export holds {len(sizes):,} files; the limit is {max_members:,}"
        )
    declared = sum(sizes.values())
    if declared > max_unpacked:
        raise InvalidInputError(
            "the Slack export " + export.too_large.format(declared, max_unpacked)
        )
    budget = [max_unpacked]
    users = _people(_json(export, "users.json", budget))
    conversations = []
    for name in sorted(sizes):
        day = _DAY.match(name)
        if not day:
            continue
        entries = _json(export, name, budget)
        messages = [m for entry in entries if (m := _slack_message(entry, users)) is not None]
        if messages:
            session = f"slack:{day['channel']}:{day['day']}"
            conversations.append(Conversation(session, messages))
    return conversations


def _json(export: _Members, name: str, budget: list[int]) -> list[Any]:
    try:
        raw = export.read(name, budget[0] + 1)
    except KeyError:  # no users.json
        return []
    except _BROKEN_ZIP as exc:
        raise InvalidInputError(f"cannot unpack {name!r} of the Slack export ({exc!r})") from None
    budget[0] -= len(raw)
    if budget[0] < 0:
        raise InvalidInputError(
            "the Slack export unpacks to more than ingest.max_unpacked_bytes (its headers "
            "said less): refused as a possible zip bomb"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{name!r} of the Slack export is not JSON ({exc})") from None
    # bounded depth and integers: Python's parser would end the run with a RecursionError
    value = parse_json(text, f"{name!r} of the Slack export")
    if not isinstance(value, list):
        raise InvalidInputError(f"{name!r} of the Slack export is not a JSON list")
    return value


def digest(conversations: list[Conversation]) -> str:
    """A sha256 of what the conversations say: what tells one version of an export (a
    folder of files) from another."""
    said = [[c.session, c.messages] for c in conversations]
    return hashlib.sha256(json.dumps(said, sort_keys=True, default=str).encode()).hexdigest()


def said_digest(conversation: Conversation) -> str:
    """A sha256 of what one conversation says, whatever file holds it: a mail's session
    name, where it has no Message-ID, is its file's (its number in a mailbox, its bytes'
    hash as an `.eml`), so a mail is what it says; a Slack day is also its channel's."""
    mail = conversation.session.startswith("mail:")
    return digest([Conversation("mail" if mail else conversation.session, conversation.messages)])


def _people(users: list[Any]) -> dict[str, str]:
    out = {}
    for user in users:
        if isinstance(user, dict) and isinstance(user.get("id"), str):
            profile = _object(user.get("profile"))
            name = (
                user.get("real_name")
                or profile.get("real_name")
                or profile.get("display_name")
                or user.get("name")
            )
            if isinstance(name, str) and name.strip():
                out[user["id"]] = name.strip()[:100]
    return out


def _object(value: Any) -> dict[str, Any]:
    """A JSON object of the export, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _slack_message(entry: Any, users: dict[str, str]) -> dict[str, Any] | None:
    if not isinstance(entry, dict) or entry.get("type", "message") != "message":
        return None
    if entry.get("subtype") in ("channel_join", "channel_leave", "bot_add", "channel_topic"):
        return None
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        when = datetime.fromtimestamp(float(entry.get("ts", "")), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    user = entry.get("user")
    profile = _object(entry.get("user_profile"))
    name = users.get(user) if isinstance(user, str) else None
    name = name or profile.get("real_name") or entry.get("username") or user or "someone"
    text = _MENTION.sub(lambda m: "@" + users.get(m[1], m[1]), text)
    return {"role": "user", "name": str(name)[:100], "content": text, "timestamp": when}


def mbox(data: bytes, *, max_messages: int) -> list[Conversation]:
    """The messages of an MBOX mailbox, one conversation each; InvalidInputError if `data`
    is not a mailbox or holds more than `max_messages` messages."""
    if not data.startswith(b"From "):
        raise InvalidInputError("not an MBOX mailbox: it does not open with a 'From ' line")
    starts = [m.start() for m in _FROM_LINE.finditer(data)]
    if len(starts) > max_messages:
        raise InvalidInputError(
            f"the mailbox holds {len(starts):,} messages; the limit is {max_messages:,}"
        )
    conversations = []
    for number, (a, b) in enumerate(zip(starts, [*starts[1:], len(data)], strict=True), 1):
        head, _, raw = data[a:b].partition(b"\n")
        raw = raw.replace(b"\n>From ", b"\nFrom ")
        try:
            found = _mail(raw, str(number), _envelope_date(head))
        except RecursionError:  # multiparts nested thousands deep: the parser recurses
            raise InvalidInputError(
                f"message {number} of the mailbox is nested too deeply to be read"
            ) from None
        if found is not None:
            conversations.append(found)
    return conversations


def eml(data: bytes) -> list[Conversation]:
    """The one message of an `.eml` file as a conversation (named by its Message-ID, or
    by its bytes' hash when it has none); InvalidInputError if no text can be read."""
    try:
        found = _mail(data, "sha256-" + hashlib.sha256(data).hexdigest()[:16], None)
    except RecursionError:
        raise InvalidInputError("the mail is nested too deeply to be read") from None
    if found is None:
        raise HoldsNothing("the mail holds no text (no subject, no plain-text body)")
    return [found]


def _envelope_date(line: bytes) -> datetime | None:
    """The date of an mbox 'From ' line ("From a@b Tue Mar  5 10:00:00 2024"), for mail
    without a readable Date header: never the clock, so a re-read gives the same turns."""
    words = line.decode("latin-1").split()
    try:
        return datetime.strptime(" ".join(words[-5:]), "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
    except ValueError:
        return None


def _mail(raw: bytes, fallback: str, envelope: datetime | None) -> Conversation | None:
    """One mail as a conversation, named by its Message-ID or else `fallback`."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    name, address = parseaddr(_header(message, "From"))
    sender = name or address or "someone"
    subject = _header(message, "Subject")
    try:
        date = _header(message, "Date")
        when = parsedate_to_datetime(date) if date else None
        when = when.astimezone(UTC) if when and when.tzinfo else when and when.replace(tzinfo=UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    when = when or envelope
    body = _body(message)
    text = "\n\n".join(t for t in (f"Subject: {subject}" if subject else "", body) if t).strip()
    if not text:
        return None
    ident = _header(message, "Message-ID").strip("<>")[:200] or fallback
    entry: dict[str, Any] = {"role": "user", "name": sender[:100], "content": text}
    if when is not None:
        entry["timestamp"] = when
    return Conversation(f"mail:{ident}", [entry])


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
        return " ".join(str(value).split()) if value is not None else ""
    # a broken encoded word, an address the parser cannot take apart
    except (LookupError, ValueError, TypeError, IndexError, AttributeError, MessageError):
        # the header as written: parsing it again (get_all) raises again
        raw = [value for key, value in message.raw_items() if key.lower() == name.lower()]
        return " ".join(str(raw[0]).split()) if raw else ""


def _body(message: EmailMessage) -> str:
    try:
        part = message.get_body(preferencelist=("plain",))
    except (KeyError, LookupError, ValueError, IndexError, TypeError):
        part = None
    if part is None:
        return ""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except (LookupError, ValueError):  # an unknown charset name, one holding a NUL
        text = payload.decode("utf-8", errors="replace")
    return text.replace("\x00", "").strip()
