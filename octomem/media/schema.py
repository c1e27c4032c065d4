"""The content parts a message may hold, as pydantic models: what the HTTP service's
OpenAPI document and the MCP tool's input schema show a caller. `octomem.media.parts`
reads them (the library also takes them as plain dicts); these models only check their
shape, so a part with an unknown type or a misspelt key is refused before anything runs.

Where a URL is asked for, it is a ``data:`` URL (base64 or percent-encoded bytes), an
http(s) URL (fetched only with `media.fetch.enabled`, never from a private address), or,
in the library only, a local path or ``file://`` URL (`media.local_files`: always off in
`octomem serve` and MCP over HTTP).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Url = Annotated[
    str,
    Field(
        min_length=1,
        description="a data: URL (data:application/pdf;base64,...), or an http(s) URL "
        "(fetched only where media.fetch.enabled; never a private address). The service "
        "never reads local paths or file:// URLs",
    ),
]
Name = Annotated[str | None, Field(None, max_length=200, description="the file's name")]
Detail = Annotated[str | None, Field(None, description="OpenAI's image detail: ignored")]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Part):
    """Text, joined with the message's other text parts."""

    type: Literal["text"]
    text: str


class ImageUrl(_Part):
    url: Url
    detail: Detail = None


class ImageUrlPart(_Part):
    """OpenAI chat's and mem0's image: ``{"type": "image_url", "image_url": {"url": ...}}``."""

    type: Literal["image_url"]
    image_url: ImageUrl | Url


class InputImagePart(_Part):
    """OpenAI Responses' image: ``{"type": "input_image", "image_url": ...}``."""

    type: Literal["input_image"]
    image_url: Url
    detail: Detail = None


class FileSpec(_Part):
    file_data: str | None = Field(
        None, min_length=1, description="the file's bytes: base64, or a data: URL"
    )
    filename: Name = None
    file_name: Name = None
    url: Url | None = None
    file_id: str | None = Field(
        None, description="not readable: octomem has no file uploads (refused)"
    )


class FilePart(_Part):
    """OpenAI chat's file: ``{"type": "file", "file": {"file_data": ..., "filename": ...}}``
    (a PDF, or Markdown / plain text)."""

    type: Literal["file"]
    file: FileSpec


class InputFilePart(_Part):
    """OpenAI Responses' file: ``{"type": "input_file", "file_data" | "file_url": ...}``."""

    type: Literal["input_file"]
    file_data: str | None = Field(None, min_length=1, description="base64, or a data: URL")
    file_url: Url | None = None
    filename: Name = None
    file_id: str | None = Field(None, description="not readable: refused")


class DocumentUrl(_Part):
    url: str = Field(
        min_length=1,
        description="a data: URL, bare base64 (what mem0's docs send for a local file), "
        "or an http(s) URL (only where media.fetch.enabled)",
    )
    file_name: Name = None
    filename: Name = None


class PdfUrlPart(_Part):
    """mem0's PDF: ``{"type": "pdf_url", "pdf_url": {"url": ...}}``."""

    type: Literal["pdf_url"]
    pdf_url: DocumentUrl | Url


class MdxUrlPart(_Part):
    """mem0's text document (MDX, Markdown, TXT): ``{"type": "mdx_url", "mdx_url":
    {"url": ...}}``."""

    type: Literal["mdx_url"]
    mdx_url: DocumentUrl | Url


class ImageBlock(_Part):
    """LangChain's standard image block: ``{"type": "image", "base64": ...,
    "mime_type": ...}`` or ``"url"``."""

    type: Literal["image"]
    base64: str | None = Field(None, min_length=1)
    url: Url | None = None
    mime_type: str | None = None
    source_type: Literal["base64", "url"] | None = None
    data: str | None = Field(None, min_length=1, description="base64 (older blocks)")
    filename: Name = None
    id: str | None = None
    metadata: dict[str, Any] | None = None


ContentPart = Annotated[
    TextPart
    | ImageUrlPart
    | InputImagePart
    | FilePart
    | InputFilePart
    | PdfUrlPart
    | MdxUrlPart
    | ImageBlock,
    Field(discriminator="type"),
]
Content = Annotated[
    str | list[ContentPart] | ContentPart,
    Field(
        description="the message's text, or a list of content parts (text, images, PDFs, "
        "Markdown and text files), or one part (mem0 sends an image or document this way)"
    ),
]
