"""What every system under test reads of a LoCoMo turn."""

from __future__ import annotations

from typing import Any


def turn_text(turn: dict[str, Any]) -> str:
    """A turn's words; a shared image is represented by its caption, as in LoCoMo's code.
    A turn with nothing visible (LongMemEval has replies of a lone zero-width space, which
    octomem refuses as empty) is no turn: ""."""
    text = str(turn.get("text", "")).strip()
    if turn.get("blip_caption"):
        text = f"{text} [shares {turn['blip_caption']}]".strip()
    if not any(ch.isprintable() and not ch.isspace() for ch in text):
        return ""
    return text
