"""Images for a vision model (`media.vision`, docs/llm.md#images-vision): whether this
Orchestrator shows them, which ones may be shown, and what becomes of what it says.

Masking cannot mask pixels. So an image is shown only when the text OCR read in it held
no secret, and, unless `media.vision` is `on`, only when OCR ran on it at all; a withheld
image keeps its OCR text and its provenance says why (`vision`). What the model replies is
masked like any text before it is stored (`reply_masking`).
"""

from __future__ import annotations

from collections.abc import Sequence

from octomem.agents.base import DescribesImages, ExtractionContext, MemoryAgent
from octomem.llm import LLMClient
from octomem.logs import get_logger
from octomem.media.parts import holds_secret
from octomem.models import MemoryBase, Turn
from octomem.prompts.vision import Shown

log = get_logger(__name__)
SECRET = "not sent: its text holds a secret"
UNCHECKED = "not sent: OCR did not run on it, so it was not checked for secrets"


def enabled(setting: str, llm: LLMClient | None) -> bool:
    """Whether images are shown to `llm`: `on` with any model, `auto` where litellm says
    the model supports vision, never `off` or without a model."""
    if llm is None or setting == "off":
        return False
    if setting == "on":
        return True
    probe = getattr(llm, "supports_vision", None)
    return bool(probe()) if callable(probe) else False


def screened(turn: Turn, setting: str) -> Turn:
    """`turn` (masked) with only the images that may be shown; the provenance of each
    withheld one says why."""
    if not turn.images:
        return turn
    pieces = turn.internal.get("media") or []
    withheld: dict[int, str] = {}
    for image in turn.images:
        own = [p for p in pieces if p.get("part") == image.part]
        if any(holds_secret(p) for p in own):
            withheld[image.part] = SECRET
        elif setting != "on" and not all(p.get("ocr") for p in own):
            withheld[image.part] = UNCHECKED
    if not withheld:
        return turn
    log.info("images withheld from the vision model", parts=sorted(withheld))
    media = [
        p | {"vision": withheld[p["part"]]} if p.get("part") in withheld else p for p in pieces
    ]
    kept = [image for image in turn.images if image.part not in withheld]
    marked = turn.model_copy(update={"internal": {**turn.internal, "media": media}})
    return marked.with_images(kept)


def describers(agents: Sequence[MemoryAgent]) -> list[MemoryAgent]:
    """The agents among `agents` that keep what a vision model says (the first one does)."""
    return [a for a in agents if isinstance(a, DescribesImages)]


def records_of(
    agent: MemoryAgent, described: Sequence[tuple[Shown, str]], ctx: ExtractionContext
) -> list[MemoryBase]:
    """`agent`'s records of what the model said each image shows, unmasked: the caller masks
    every record of the call as one reply (`reply_masking.masked_reply`)."""
    if not isinstance(agent, DescribesImages):
        return []
    out: list[MemoryBase] = []
    for shown, text in described:
        out += agent.image_records(shown.turn, shown.image, text, ctx)
    return out
