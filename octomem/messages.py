"""Validate and normalise incoming conversation messages into `Turn` records.

Accepted input: a string (one user message), one dict ``{"role", "content"}``, a LangChain
``BaseMessage``, or a list/tuple of those. The whole input is validated before anything is
returned, so a caller either gets every turn or an `InvalidInputError` listing what is wrong.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from octomem.errors import InvalidInputError
from octomem.media.parts import Attachment, is_media, read_part
from octomem.models import Role, Turn, as_utc, stable_hash
from octomem.settings import MediaConfig
from octomem.validation import (
    check_int,
    check_json,
    check_metadata,
    check_name,
    check_timestamp,
    clean_text,
    shown,
    validate_scope_id,
)

if TYPE_CHECKING:
    from typing import TypeAlias

    from langchain_core.messages import BaseMessage

    # what `process()` accepts (checked at run time all the same: input is untrusted)
    Message: TypeAlias = Mapping[str, Any] | BaseMessage
    Messages: TypeAlias = str | Message | Sequence[Message]


MAX_MESSAGE_CHARS = 100_000
ROLES: tuple[Role, ...] = ("user", "assistant", "system", "tool")
ROLE_ALIASES: dict[str, Role] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
}
_DICT_KEYS = frozenset({"role", "content", "name", "timestamp", "id", "metadata"})
_MAX_LISTED_ERRORS = 20


_IMAGES = "images"  # the key of a message's images between _content_text and _to_turn


@dataclass(frozen=True)
class _Reading:
    """How content parts are read: the media limits, and whether images are kept for a
    vision model (`normalize_messages`'s `vision`)."""

    config: MediaConfig
    vision: bool


class _BadMessage(Exception):
    """One problem with one message; collected, with the InvalidInputErrors of the checks
    it calls, and re-raised as one InvalidInputError."""


def normalize_messages(
    messages: Any,
    *,
    session_id: str | None,
    timestamp: datetime | None = None,
    now: datetime,
    max_message_chars: int = MAX_MESSAGE_CHARS,
    media: MediaConfig | None = None,
    vision: bool = False,
) -> list[Turn]:
    """Turn `messages` into validated `Turn`s, or raise InvalidInputError naming every problem.

    A turn's timestamp is its message's own timestamp, else `timestamp`, else `now` (UTC).
    Image and file parts are read within `media`'s limits (default: `MediaConfig()`);
    with `vision`, each turn also holds its images as a vision model is sent them
    (`Turn.images`, in memory only).
    Turn ids never depend on the clock (`turn_id`), so the same call made twice gives the
    same turns.
    """
    validate_scope_id("session_id", session_id)
    given_ts = check_timestamp(timestamp, "timestamp") if timestamp is not None else None
    media = media or MediaConfig()
    if isinstance(messages, list | tuple):
        if not messages:
            raise InvalidInputError("messages is an empty list: pass at least one message")
        items = [(f"messages[{i}]", m) for i, m in enumerate(messages)]
    elif isinstance(messages, str | bytes | Mapping) or _is_langchain(messages):
        items = [("messages", messages)]
    else:
        raise InvalidInputError(
            f"messages must be a string, a dict with 'role' and 'content', a LangChain message "
            f"or a list of those; got {type(messages).__name__}"
        )
    turns: list[Turn] = []
    errors: list[str] = []
    said: dict[str, str] = {}  # message id -> where it was given first
    for index, (where, message) in enumerate(items):
        try:
            turn = _to_turn(
                message,
                index,
                session_id,
                given_ts,
                as_utc(now),
                max_message_chars,
                _Reading(media, vision),
            )
        except (_BadMessage, InvalidInputError) as exc:
            errors.append(f"{where}: {exc}")
            continue
        turns.append(turn)
        given = turn.external_id  # one id, one turn: else one hides the other
        if given is not None and (first := said.setdefault(given, where)) != where:
            errors.append(
                f"{where}: id {given!r} is also the id of {first}; give each message its "
                "own id (or none)"
            )
    if errors:
        raise InvalidInputError(_summarise(errors))
    return turns


# --- one message ---------------------------------------------------------------------


def turn_id(
    session_id: str | None,
    index: int,
    role: str,
    content: str,
    *,
    external_id: str | None = None,
    timestamp: datetime | None = None,
) -> str:
    """A turn's id: from the caller's message id when there is one, else from its position
    and content (and the timestamp the caller gave, if any) - never from the clock, so a
    retried call stores nothing twice. Raw-turn records add the user and agent to it."""
    if external_id is not None:
        return "turn_" + stable_hash(session_id, "id", external_id)[:24]
    stamp = timestamp.isoformat() if timestamp is not None else None
    return "turn_" + stable_hash(session_id, index, role, content, stamp)[:24]


def _to_turn(
    message: Any,
    index: int,
    session_id: str | None,
    given_ts: datetime | None,
    now: datetime,
    limit: int,
    media: _Reading,
) -> Turn:
    if isinstance(message, str | bytes):
        fields: dict[str, Any] = {"role": "user", "content": _decode(message, "message")}
    elif _is_langchain(message):
        fields = _from_langchain(message, media)
    elif isinstance(message, Mapping):
        fields = _from_dict(message, media)
    else:
        raise _BadMessage(
            f"expected a string, a dict with 'role' and 'content' or a LangChain message; "
            f"got {type(message).__name__}"
        )
    content = _normalise_content(fields["content"], limit)
    metadata = check_metadata(fields.get("metadata"), name="metadata", max_chars=limit) or {}
    ts = fields.get("timestamp") or given_ts
    role: Role = fields["role"]
    internal = fields.get("internal", {})
    images = internal.pop(_IMAGES, [])
    turn = Turn(
        id=turn_id(
            session_id, index, role, content, external_id=fields.get("external_id"), timestamp=ts
        ),
        role=role,
        content=content,
        name=fields.get("name"),
        timestamp=ts or now,
        index=index,
        session_id=session_id,
        external_id=fields.get("external_id"),
        metadata=metadata,
        internal=internal,
    )
    turn.originals.update(fields.get("originals") or {})
    return turn.with_images(images) if images else turn


def _from_dict(message: Mapping[Any, Any], media: _Reading) -> dict[str, Any]:
    missing = [key for key in ("role", "content") if key not in message]
    if missing:
        raise _BadMessage(
            f"missing key {' and '.join(repr(k) for k in missing)}; a message dict needs "
            f"'role' and 'content' (keys present: {shown(list(message))})"
        )
    metadata = message.get("metadata")
    if metadata is None:
        metadata = {}
    elif not isinstance(metadata, Mapping):
        raise _BadMessage(f"'metadata' must be a dict; got {type(metadata).__name__}")
    metadata = dict(metadata)
    for key, value in message.items():
        if key not in _DICT_KEYS:
            metadata.setdefault(_key_name(key), value)
    content = message["content"]
    if _is_blank(content) and message.get("tool_calls"):
        content = _render_tool_calls(message["tool_calls"])
    internal: dict[str, Any] = {}
    originals: dict[str, bytes] = {}
    return {
        "role": _role(message["role"]),
        "content": _content_text(content, internal, media, originals),
        "name": _optional_str(message.get("name"), "name"),
        "timestamp": _timestamp(message.get("timestamp")),
        "external_id": _external_id(message.get("id")),
        "metadata": metadata,
        "internal": internal,
        "originals": originals,
    }


def _key_name(key: Any) -> str:
    """A message key other than the known ones, as the metadata key it becomes."""
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        check_int(key, "a message key")
    elif not isinstance(key, float | bool | None):
        raise _BadMessage(f"a message key is a {type(key).__name__}: use strings")
    return str(key)


def _is_langchain(message: object) -> bool:
    """A LangChain message. Its classes are only looked up where LangChain is already
    imported (a caller that built one has imported it), so octomem does not import
    langchain_core with itself. The class is read from the module that defines it, and
    only if it is there yet: while another thread imports LangChain for the first time
    (the LangGraph store, the tools), its modules sit half-initialised in `sys.modules`,
    and no message can be an instance of a class not yet defined."""
    base = getattr(sys.modules.get("langchain_core.messages.base"), "BaseMessage", None)
    return isinstance(base, type) and isinstance(message, base)


def _from_langchain(message: BaseMessage, media: _Reading) -> dict[str, Any]:
    from langchain_core.messages import ChatMessage

    if isinstance(message, ChatMessage):
        role = _role(message.role)
    elif message.type.removesuffix("MessageChunk").lower() in ROLE_ALIASES:
        role = ROLE_ALIASES[message.type.removesuffix("MessageChunk").lower()]
    else:
        raise _BadMessage(f"LangChain message type {message.type!r} has no role octomem stores")
    metadata: dict[str, Any] = {}
    for attr in ("tool_call_id", "tool_calls"):
        value = getattr(message, attr, None)
        if value:
            metadata[attr] = [dict(v) for v in value] if attr == "tool_calls" else value
    content: Any = message.content
    if _is_blank(content) and metadata.get("tool_calls"):
        content = _render_tool_calls(metadata["tool_calls"])
    internal: dict[str, Any] = {}
    originals: dict[str, bytes] = {}
    return {
        "role": role,
        "content": _content_text(content, internal, media, originals),
        "name": _optional_str(message.name, "name"),
        "external_id": _external_id(message.id),
        "metadata": metadata,
        "internal": internal,
        "originals": originals,
    }


# --- fields --------------------------------------------------------------------------


def _role(value: Any) -> Role:
    if isinstance(value, str) and value.strip().lower() in ROLE_ALIASES:
        return ROLE_ALIASES[value.strip().lower()]
    raise _BadMessage(f"role {shown(value)} is not one of {', '.join(ROLES)}")


def _content_text(
    content: Any, internal: dict[str, Any], media: _Reading, originals: dict[str, bytes]
) -> str:
    """A content value as text: a string, UTF-8 bytes, or a list of parts (mem0's single
    part dict too). Text parts are joined; image and file parts (`octomem.media.parts`)
    are read, each leaving a marker line in the text and its pieces of text, with their
    provenance, in `internal["media"]`; the types of other parts left out are noted in
    `internal["non_text_parts"]`."""
    if isinstance(content, str | bytes):
        return _decode(content, "content")
    if isinstance(content, Mapping) and isinstance(content.get("type"), str):
        content = [content]  # mem0: {"type": "image_url", "image_url": {...}} as the content
    if isinstance(content, list):
        texts: list[str] = []
        skipped: list[str] = []
        attachments: list[Attachment] = []
        for i, part in enumerate(content):
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and part.get("type") == "text":
                if not isinstance(part.get("text"), str):
                    raise _BadMessage(f"content part {i} is a text part without a 'text' string")
                texts.append(part["text"])
            elif isinstance(part, Mapping) and is_media(part):
                attachments.append(_attachment(part, i, attachments, media))
            elif isinstance(part, Mapping) and isinstance(part.get("type"), str):
                skipped.append(part["type"])
            else:
                raise _BadMessage(
                    f"content part {i} must be a string or a dict with a 'type'; "
                    f"got {type(part).__name__}"
                )
        if skipped:
            internal["non_text_parts"] = skipped
            if not "".join(texts).strip() and not attachments:
                raise _BadMessage(
                    f"content has no text, only {', '.join(skipped)} parts; store images and "
                    f"files as a resource instead"
                )
        text = _decode("".join(texts), "content").strip()
        if attachments:
            internal["media"] = [chunk for a in attachments for chunk in a.chunks]
            if media.vision:  # taken out again by _to_turn: never in a turn's internal
                internal[_IMAGES] = [a.image for a in attachments if a.image is not None]
            # the bytes of the parts (only read with media.keep_originals), by sha256
            originals.update({a.chunks[0]["sha256"]: a.data for a in attachments if a.data})
            kinds = [k for a in attachments for k in a.masked]
            if kinds:  # masked as the parts were read (whole, before they were cut)
                internal["masked"] = list(dict.fromkeys(kinds))
            markers = "\n".join(a.marker for a in attachments)
            text = f"{text}\n{markers}" if text else markers
        return text
    raise _BadMessage(
        f"content must be a string or a list of parts (text, image_url, file); "
        f"got {type(content).__name__}"
    )


def _attachment(
    part: Mapping[str, Any], index: int, before: list[Attachment], reading: _Reading
) -> Attachment:
    """One image or file part, read within the media limits."""
    media = reading.config
    if len(before) >= media.max_parts:
        raise _BadMessage(
            f"content has more than {media.max_parts} image and file parts (media.max_parts)"
        )
    try:
        attachment = read_part(part, index, media, vision=reading.vision)
    except InvalidInputError as exc:
        raise _BadMessage(f"content part {index} ({part.get('type')}): {exc}") from None
    total = attachment.chars + sum(a.chars for a in before)
    if total > media.max_text_chars:
        raise _BadMessage(
            f"content part {index}: the parts of this message hold {total:,} characters of "
            f"text; the limit is {media.max_text_chars:,} (media.max_text_chars)"
        )
    return attachment


def _normalise_content(content: str, limit: int) -> str:
    text = content.replace("\r\n", "\n").strip()
    if not text:
        raise _BadMessage("content is empty or only whitespace")
    if len(text) > limit:
        raise _BadMessage(
            f"content is {len(text):,} characters; the limit is {limit:,} per message "
            f"(max_message_chars). Split it into several messages or store it as a resource"
        )
    return text


def _timestamp(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        stamp = value  # made UTC by check_timestamp, which refuses one that has no UTC time
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise _BadMessage(f"timestamp {value!r} is not a finite epoch number")
        try:
            stamp = datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise _BadMessage(f"timestamp {shown(value)} is out of range as epoch seconds") from exc
    elif isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise _BadMessage(
                f"timestamp {value!r} is not an ISO 8601 date-time (e.g. '2024-05-08T13:56:00Z')"
            ) from exc
    else:
        raise _BadMessage(
            f"timestamp must be a datetime, an ISO 8601 string or epoch seconds; "
            f"got {type(value).__name__}"
        )
    return check_timestamp(stamp, "timestamp")


MAX_MESSAGE_ID_CHARS = 1_000  # a message's own id, like an OctomemStore key


def _external_id(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(check_int(value, "'id'"))
    if isinstance(value, str) and value.strip():
        # an id names one message (its turn's id is made from it): a control character is
        # refused rather than dropped ("a\x00b" is not "ab"), and its length bounded, as
        # it is copied into the source of every record derived from the message
        return _decode(check_name(value, "'id'", limit=MAX_MESSAGE_ID_CHARS), "id")
    raise _BadMessage(f"'id' must be a non-empty string or an integer; got {shown(value)}")


def _optional_str(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _BadMessage(f"{key!r} must be a string; got {type(value).__name__}")
    return _decode(value, key) or None


def _decode(value: str | bytes, what: str) -> str:
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _BadMessage(
                f"{what} is not valid UTF-8 (invalid byte at position {exc.start}); "
                f"decode it with the right encoding before passing it"
            ) from exc
    return clean_text(value, what)


def _is_blank(content: Any) -> bool:
    return content is None or content == [] or (isinstance(content, str) and not content.strip())


def _render_tool_calls(tool_calls: Any) -> str:
    """An assistant message that only calls tools is stored as a text rendering of the calls."""
    calls = tool_calls if isinstance(tool_calls, list) else [tool_calls]
    lines = []
    for item in calls:
        call: Mapping[str, Any] = item if isinstance(item, Mapping) else {}
        inner = call.get("function")
        fn: Mapping[str, Any] = inner if isinstance(inner, Mapping) else call
        args = fn.get("args", fn.get("arguments", ""))
        if not isinstance(args, str):
            args = json.dumps(check_json(args, name="tool call arguments"), sort_keys=True)
        name = fn.get("name", "?")
        lines.append(f"[tool call] {name if isinstance(name, str) else shown(name)}({args})")
    return "\n".join(lines)


def _summarise(errors: list[str]) -> str:
    if len(errors) == 1:
        return f"{errors[0]}. Nothing was stored."
    shown = errors[:_MAX_LISTED_ERRORS]
    more = len(errors) - len(shown)
    tail = f"\n... and {more} more" if more else ""
    return f"{len(errors)} messages are invalid; nothing was stored:\n" + "\n".join(shown) + tail
