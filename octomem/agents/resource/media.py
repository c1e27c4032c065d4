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
    records = []
    for piece in turn.internal.get("media") or []:
        records.append(_record(piece, turn, actor, ctx))
    return records


def _record(
    piece: dict[str, Any], turn: Turn, actor: str, ctx: ExtractionContext
) -> ResourceMemory:
    where = [piece.get("page") or piece.get("section") or 0, piece.get("chunk") or 0]
    key = f"media:{piece['sha256']}:{where[0]}:{where[1]}"
    header, text, kind = piece["header"], piece["text"].strip(), piece["kind"]
    read = "text read in it" if kind == "image" else "it says"
    content = (
        f"{actor} shared {header}; {read}: {text}"
        if text
        else (f"{actor} shared {header}; no text was read in it.")
    )
    title = piece.get("name") or f"{kind} {piece['sha256'][:12]}"
    if piece.get("page"):
        title += f", page {piece['page']}"
    elif piece.get("title"):
        title += f", {piece['title']}"
    provenance = {k: piece[k] for k in _PROVENANCE if piece.get(k) is not None}
    return ResourceMemory(
        id=ctx.memory_id(MemoryType.RESOURCE, key),
        content=content,
        title=title[:200],
        resource_type=kind,
        uri=piece.get("uri") or f"sha256:{piece['sha256']}",
        summary=f"{actor} shared {header}.",
        excerpt=text[:500],
        sensitive="[MASKED " in content,
        internal={
            "resource_key": key,
            "shared_by": actor,
            "media": {"message": turn.index, **provenance},
        },
        **record_fields(turn, ctx, "resource"),
    )


def description_record(
    turn: Turn, image: AttachedImage, description: str, actor: str, ctx: ExtractionContext
) -> ResourceMemory | None:
    """What a vision model said `image` shows, as a resource memory with the provenance of
    the image's own record (None if the turn holds no record of that image)."""
    piece = next((p for p in turn.internal.get("media") or [] if p.get("part") == image.part), None)
    if piece is None or not description.strip():
        return None
    key = f"media:{image.sha256}:vision"
    header = piece["header"]
    content = f"{actor} shared {header}; it shows: {description.strip()}"
    provenance = {k: piece[k] for k in _PROVENANCE if piece.get(k) is not None}
    provenance.pop("chunk", None)  # it describes the whole image
    title = piece.get("name") or f"image {image.sha256[:12]}"
    fields = record_fields(turn, ctx, "resource")
    fields["source"] = fields["source"].model_copy(update={"extractor": "vision:resource"})
    return ResourceMemory(
        id=ctx.memory_id(MemoryType.RESOURCE, key),
        content=content,
        title=title[:200],
        resource_type="image",
        uri=piece.get("uri") or f"sha256:{image.sha256}",
        summary=f"{actor} shared {header}.",
        excerpt=description.strip()[:500],
        sensitive="[MASKED " in content,
        internal={
            "resource_key": key,
            "shared_by": actor,
            "media": {"message": turn.index, **provenance, "read_by": "vision"},
        },
        **fields,
    )
