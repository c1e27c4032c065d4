"""Resource agent prompt: documents, links, files and images."""

from __future__ import annotations

from collections.abc import Sequence

from octomem.agents.base import ExtractionContext
from octomem.agents.prompting import Item, listing, record_fields, reply
from octomem.language import norm_key, normalize_uri
from octomem.models import MemoryBase, MemoryType, ResourceMemory, Turn, content_hash

INSTRUCTIONS = (
    "resource: documents, links, files, images and other shared material: title, "
    "resource_type (link, pdf, document, spreadsheet, code, image, video, repo, secret...), "
    "the uri or file name exactly as written, a summary of what it is and who shared it, "
    "and a short excerpt. Secrets (passwords, keys, card numbers) appear as [MASKED ...]: "
    "record them as resource_type 'secret' with the masked value, never the real one."
)


class Resource(Item):
    title: str
    resource_type: str = "document"
    uri: str | None = None
    summary: str
    excerpt: str = ""


def to_record(res: Resource, turns: Sequence[Turn], ctx: ExtractionContext) -> MemoryBase | None:
    if not (res.title.strip() and res.summary.strip()):
        return None
    uri = res.uri.strip() if res.uri else None
    if uri and (uri.startswith(("http://", "https://", "www."))):
        key = f"uri:{normalize_uri(uri)}"
    elif uri:
        key = f"file:{content_hash(uri)}"
    else:
        key = f"title:{norm_key(res.title)}"
    sensitive = res.resource_type == "secret" or "[MASKED" in res.summary + res.excerpt
    return ResourceMemory(
        id=ctx.memory_id(MemoryType.RESOURCE, key),
        content=res.summary.strip(),
        title=res.title.strip(),
        resource_type=res.resource_type,
        uri=uri,
        summary=res.summary.strip(),
        excerpt=res.excerpt,
        sensitive=sensitive,
        **record_fields(res, turns, ctx, "resource"),
    )


ResourceOutput = reply("ResourceOutput", resources=Resource)
PROMPT = listing(INSTRUCTIONS, ResourceOutput, to_record)
