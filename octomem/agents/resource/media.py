"""Resource memories of the images, PDFs and documents attached to a message.

`octomem.messages` reads each image or file part into pieces of text (a page, a section,
or a chunk of either) kept in the turn's `internal["media"]`, already masked; each piece
becomes one resource memory that says what was read, with its provenance (message, part,
page or section, chunk) and the sha256 of the file - with `media.keep_originals`, also
what became of its bytes (`original`: `octomem.orchestrator.originals`). The same file
sent again gives the same ids, so it updates what is stored instead of adding it twice.

With a vision model (`media.vision`), what the model says an image shows is one more
record of that image (`description_record`), beside the text OCR read in it: OCR gives the
exact characters (codes, numbers, names), the model what the picture is; each is recalled
by its own words and neither overwrites the other. Its provenance says `read_by: vision`.
"""

from __future__ import annotations

from typing import Any

from octomem.agents.base import ExtractionContext, record_fields
from octomem.models import AttachedImage, MemoryType, ResourceMemory, Turn

MARKER = "[attached "  # the line `octomem.messages` leaves in the text for each part
_PROVENANCE = (
    "part", "kind", "sha256", "bytes", "origin", "pages", "page", "section", "chunk",
    "format", "width", "height", "taken_at", "ocr", "vision", "original",
)  # fmt: skip


def without_markers(text: str) -> str:
    """The turn's text without the marker lines of its attachments."""
    return "\n".join(line for line in text.split("\n") if not line.startswith(MARKER))


def actor_of(turn: Turn, user_name: str | None) -> str:
    """Who a turn's resources were shared by, as the summaries name them."""
    if turn.role == "user":
        return user_name or "The user"
    return {"assistant": "The assistant", "system": "The system"}.get(
        turn.role, turn.name or "A tool"
    )


def media_records(turn: Turn, actor: str, ctx: ExtractionContext) -> list[ResourceMemory]:
    return [_record(piece, turn, actor, ctx) for piece in turn.internal.get("media") or []]


def _record(
    piece: dict[str, Any], turn: Turn, actor: str, ctx: ExtractionContext
) -> ResourceMemory:
    where = [piece.get("page") or piece.get("section") or 0, piece.get("chunk") or 0]
    key = f"media:{piece['sha256']}:{where[0]}:{where[1]}"
    text, kind = piece["text"].strip(), piece["kind"]
    read = "text read in it" if kind == "image" else "it says"
    title = piece.get("name") or f"{kind} {piece['sha256'][:12]}"
    if piece.get("page"):
        title += f", page {piece['page']}"
    elif piece.get("title"):
        title += f", {piece['title']}"
    said = f"{read}: {text}" if text else "no text was read in it."
    return _shared(piece, key, kind, title, said, text, turn, actor, ctx)


def description_record(
    turn: Turn, image: AttachedImage, description: str, actor: str, ctx: ExtractionContext
) -> ResourceMemory | None:
    """What a vision model said `image` shows, as a resource memory with the provenance of
    the image's own record (None if the turn holds no record of that image)."""
    piece = next((p for p in turn.internal.get("media") or [] if p.get("part") == image.part), None)
    if piece is None or not description.strip():
        return None
    key, text = f"media:{image.sha256}:vision", description.strip()
    title = piece.get("name") or f"image {image.sha256[:12]}"
    return _shared(piece, key, "image", title, f"it shows: {text}", text, turn, actor, ctx)


def _shared(
    piece: dict[str, Any],
    key: str,
    kind: str,
    title: str,
    said: str,
    text: str,
    turn: Turn,
    actor: str,
    ctx: ExtractionContext,
) -> ResourceMemory:
    """The record of `piece` (`key`: "media:<sha256>:<where>"): "<actor> shared <its
    header>; <said>", with `text` as its excerpt; a key ending ":vision" says what a
    vision model said the whole image shows."""
    content = f"{actor} shared {piece['header']}; {said}"
    provenance = {k: piece[k] for k in _PROVENANCE if piece.get(k) is not None}
    fields = record_fields(turn, ctx, "resource")
    if key.endswith(":vision"):
        provenance.pop("chunk", None)  # it describes the whole image
        provenance["read_by"] = "vision"
        fields["source"] = fields["source"].model_copy(update={"extractor": "vision:resource"})
    return ResourceMemory(
        id=ctx.memory_id(MemoryType.RESOURCE, key),
        content=content,
        title=title[:200],
        resource_type=kind,
        uri=piece.get("uri") or f"sha256:{key.split(':')[1]}",
        summary=f"{actor} shared {piece['header']}.",
        excerpt=text[:500],
        sensitive="[MASKED " in content,
        internal={
            "resource_key": key,
            "shared_by": actor,
            "media": {"message": turn.index, **provenance},
        },
        **fields,
    )
