"""Images shown to a vision model inside an extraction call, and the descriptions its reply
carries (`media.vision`, docs/llm.md#images-vision).

The images of a chunk's turns are numbered 1, 2, ... in the call; they follow the text of
the user message as OpenAI-style `image_url` parts (data: URLs), which litellm translates
for every provider. The reply model gains an `images` list: one `{image, description}`
per image, within the strict schema subset. Descriptions that do not fit (a wrong number,
no text, a malformed item) are left out, never failing the reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from pydantic import BaseModel, Field, create_model, field_validator

from octomem.llm_schema import LLMOutput
from octomem.models import AttachedImage, Turn

Out = TypeVar("Out", bound=LLMOutput)
Messages = list[dict[str, Any]]

ASK = (
    "Images: {listing}. They follow this text in that order. In `images`, describe each "
    "by its number: what it shows and any text in it, in one to three plain sentences a "
    "person could later search for. Never copy a password, key or other secret from an "
    "image."
)


class ImageDescription(LLMOutput):
    image: int = Field(description="the image's number, as listed")
    description: str = Field(description="what the image shows, and the text in it")


class Described(LLMOutput):
    """The `images` a reply to a call that showed images carries."""

    images: list[ImageDescription] = Field(
        default_factory=list, description="one description per image shown, by its number"
    )

    @field_validator("images", mode="before")
    @classmethod
    def _usable(cls, value: Any) -> list[Any]:
        """Only the well-formed items: a garbled description costs that description, not
        the memories of the rest of the reply."""
        if not isinstance(value, list):
            return []
        return [
            item
            for item in value
            if isinstance(item, dict)
            and isinstance(item.get("image"), int)
            and not isinstance(item.get("image"), bool)
            and isinstance(item.get("description"), str)
        ]


@dataclass(frozen=True)
class Shown:
    """One image shown in a call: its number there, the turn (and its position in the
    chunk's transcript) it was attached to."""

    number: int
    position: int
    turn: Turn
    image: AttachedImage


def described(output: type[Out]) -> type[Out]:
    """`output` with the `images` list of `Described` (same name: the schema's name)."""
    return _described(output)  # type: ignore[return-value]


@cache
def _described(output: type[LLMOutput]) -> type[LLMOutput]:
    model: Any = create_model(output.__name__, __base__=(output, Described))
    return model  # type: ignore[return-value]


def shown_images(turns: Sequence[Turn], limit: int) -> list[Shown]:
    """The images of `turns` (a chunk) to show, at most `limit`, numbered from 1."""
    found = [(i, turn, image) for i, turn in enumerate(turns) for image in turn.images]
    return [Shown(n, i, turn, image) for n, (i, turn, image) in enumerate(found[:limit], 1)]


def with_images(messages: Messages, shown: Sequence[Shown]) -> Messages:
    """The call's messages with the images after the text of the last (user) message."""
    if not shown:
        return messages
    listing = ", ".join(
        f"image {s.number} attached to message [{s.position}] (part {s.image.part})" for s in shown
    )
    last = messages[-1]
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": f"{last['content']}\n\n{ASK.format(listing=listing)}"}
    ]
    parts += [{"type": "image_url", "image_url": {"url": s.image.url}} for s in shown]
    return [*messages[:-1], {"role": last["role"], "content": parts}]


def descriptions(output: BaseModel, shown: Sequence[Shown]) -> list[tuple[Shown, str]]:
    """Each shown image the reply described, with its description (the first one given)."""
    by_number = {s.number: s for s in shown}
    found: dict[int, str] = {}
    for item in getattr(output, "images", None) or []:
        text = " ".join(item.description.split())
        if item.image in by_number and text and item.image not in found:
            found[item.image] = text
    return [(by_number[n], text) for n, text in sorted(found.items())]
