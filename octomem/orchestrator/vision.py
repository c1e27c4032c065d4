"""Images for a vision model (`media.vision`, docs/llm.md#images-vision): whether this
Orchestrator shows them, which ones may be shown, and what becomes of what it says.

Masking cannot mask pixels. So an image is shown only when the text OCR read in it held
no secret (the same masking that runs on every text found none), and, unless
`media.vision` is `on`, only when OCR ran on it at all; a withheld image keeps its OCR
text and its provenance says why (`vision`). What the model replies is masked like any
text before it is stored: its descriptions, and every memory it extracted in that call
(`masked`, which extraction applies to every call, with images or not).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from octomem.agents.base import ExtractionContext, MemoryAgent
from octomem.llm import LLMClient
from octomem.logs import get_logger
from octomem.media.parts import holds_secret
from octomem.models import MemoryBase, Turn, content_hash
from octomem.prompts.vision import Shown
from octomem.sensitive import mask, mask_value, replace_found, secrets_across

log = get_logger(__name__)
SECRET = "not sent: its text holds a secret"
UNCHECKED = "not sent: OCR did not run on it, so it was not checked for secrets"
# a record's fields that are not text: never masked
_STRUCTURE = frozenset(
    "id memory_type user_id agent_id session_id content_hash conflict_key superseded_by "
    "metadata internal source".split()
)


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
    return [a for a in agents if getattr(a, "describes_images", False)]


def records_of(
    agent: MemoryAgent, described: Sequence[tuple[Shown, str]], ctx: ExtractionContext
) -> list[MemoryBase]:
    """`agent`'s records of what the model said each image shows, masked."""
    hook = getattr(agent, "image_records", None)
    if hook is None:
        return []
    out: list[MemoryBase] = []
    for shown, text in described:
        out += hook(shown.turn, shown.image, mask(text).text, ctx)
    return out


def masked(records: Sequence[MemoryBase]) -> list[MemoryBase]:
    """`records` (all those of one model call) with every secret in their text masked: a
    model that saw pixels may have read one that OCR missed, and any model may give a cue
    to a value its input named without one ("what is your wifi password?" answered on a
    turn of its own: "the user's wifi password is X"). A secret
    found anywhere in the call's output (a fact's statement: "the wifi password is X") is
    masked in every field of every record of it (the fact's value, which alone has no cue;
    an image's description: "a sticker that reads X")."""
    texts = [_texts(record) for record in records]
    # each string on its own: joined, a field's name ("password") would be a cue for the
    # next field's text
    found = secrets_across((s for fields in texts for s in _strings(fields)), joined=False)
    if not found:
        return list(records)
    return [_masked(r, fields, found) for r, fields in zip(records, texts, strict=True)]


def _texts(record: MemoryBase) -> dict[str, Any]:
    return {name: value for name, value in record if name not in _STRUCTURE}


def _masked(record: MemoryBase, texts: dict[str, Any], found: dict[str, str]) -> MemoryBase:
    update = {}
    for name, value in texts.items():
        new = replace_found(mask_value(value), found)
        if new != value:
            update[name] = new
    if not update:
        return record
    if "content" in update:
        update["content_hash"] = content_hash(update["content"])
    if "sensitive" in type(record).model_fields:
        update["sensitive"] = True
    return record.model_copy(update=update)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in _strings(item)]
    return []
